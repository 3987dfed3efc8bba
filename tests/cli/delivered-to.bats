#!/usr/bin/env bats
# Delivered-To: written by the MTA that hands us the message (above every
# Received:) is not a mail loop; one below a Received: is.  Direct cases
# against maildeliver and smtpd --lmtp, then a private OpenSMTPD (its lmtp
# and mda actions prepend the field) handing mail to them.

load helpers
load smtpd-common

PORT_BASE=33300
OSMTPD=/opt/maillab/opensmtpd     # unpacked by tests/deps.sh

setup() {
	smtpd_setup
}

teardown() {
	stop_all
	no_sanitizer_report "$W/smtpd.log"
}

# How many "Delivered-To: ADDR" lines file F has, and that the first is line 2.
one_dt() {
	local f=$1 addr=$2
	[ "$(grep -c "^Delivered-To: $addr\$" "$f")" = 1 ] || { cat "$f"; return 1; }
	[ "$(sed -n 2p "$f")" = "Delivered-To: $addr" ] || { cat "$f"; return 1; }
}

@test "maildeliver: the handing MTA's Delivered-To on top is kept once; one below Received: is a loop" {
	printf 'Delivered-To: bob\nReceived: from a by b; Sun, 6 Dec 2026 04:00:00 +0000\nSubject: handed\n\nx\n' > in1
	run maildeliver --users "$W/users" bob < in1
	assert_success
	one_dt "$NEW"/* bob
	printf 'Received: from c by d; Sun, 6 Dec 2026 04:01:00 +0000\nDelivered-To: bob\nReceived: from a by b; Sun, 6 Dec 2026 04:00:00 +0000\nSubject: back\n\nx\n' > in2
	run maildeliver --users "$W/users" bob < in2
	assert_equal "$status" 65
	assert_output --partial "mail loop"
	[ "$(nmsg "$NEW")" = 1 ]
	# another recipient's field is no loop for bob
	printf 'Received: from c by d; Sun, 6 Dec 2026 04:01:00 +0000\nDelivered-To: alice@example.net\nSubject: other\n\nx\n' > in3
	run maildeliver --users "$W/users" bob < in3
	assert_success
	[ "$(nmsg "$NEW")" = 2 ]
}

@test "smtpd --lmtp: Delivered-To above every Received: is delivered (one field, ours); below: 554 loop" {
	local d='LHLO mta.example\r\nMAIL FROM:<a@example.net>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n'
	run sm --lmtp <<<"$(printf "$d"'Return-Path: <a@example.net>\r\nDelivered-To: bob@example.org\r\nReceived: from x by mta.example; Sun, 6 Dec 2026 04:00:00 +0000\r\nSubject: handed\r\n\r\nx\r\n.\r\nQUIT\r\n')"
	assert_line --regexp '^250 2\.0\.0 <bob@example.org> Ok: delivered'
	one_dt "$NEW"/* bob@example.org
	grep -q '^Subject: handed$' "$NEW"/*
	# the handed field went, our Received: is right under our own
	[ "$(sed -n 3p "$NEW"/*)" = "Received: from mta.example (unknown)" ] || sed -n 1,4p "$NEW"/*
	run sm --lmtp <<<"$(printf "$d"'Received: from y by mta.example; Sun, 6 Dec 2026 04:02:00 +0000\r\nDelivered-To: bob@example.org\r\nReceived: from x by mx.example.org; Sun, 6 Dec 2026 04:00:00 +0000\r\nSubject: back\r\n\r\nx\r\n.\r\nQUIT\r\n')"
	assert_line --regexp '^554 5\.3\.0 <bob@example.org>: delivery failed: .*mail loop'
	[ "$(nmsg "$NEW")" = 1 ]
	# plain SMTP, two recipients: each copy has its own single field
	run sm <<<"$(printf 'EHLO mta.example\r\nMAIL FROM:<a@example.net>\r\nRCPT TO:<bob@example.org>\r\nRCPT TO:<alice@example.net>\r\nDATA\r\nDelivered-To: bob@example.org\r\nSubject: two\r\n\r\nx\r\n.\r\nQUIT\r\n')"
	assert_line --regexp '^250 2\.0\.0 Ok: 2 recipients'
	f=$(grep -l '^Subject: two' "$NEW"/*)
	one_dt "$f" bob@example.org
	f=$(grep -l '^Subject: two' "$W"/home/alice/Maildir/new/*)
	one_dt "$f" alice@example.net
	grep -q '^Delivered-To: bob@example.org$' "$f"
}

# A private OpenSMTPD on loopback: its own config, spool, chroot and user
# database in a mount namespace of its own (the Debian package conflicts
# with postfix, so it is only unpacked, and its paths are compiled in).
# osmtpd PORT CONF: start it; users opensmtpd, opensmtpq and bob (uid 64952).
osmtpd() {
	local o=$W/osm
	mkdir -p "$o/spool" "$o/varlib/opensmtpd/empty" "$o/run" "$o/libexec"
	cp -a "$OSMTPD/usr/libexec/opensmtpd" "$o/libexec/"
	cp /etc/passwd "$o/passwd"; cp /etc/group "$o/group"
	cat >> "$o/passwd" <<-EOF2
	opensmtpd:x:64950:64950::/var/lib/opensmtpd/empty:/usr/sbin/nologin
	opensmtpq:x:64951:64951::/var/lib/opensmtpd/empty:/usr/sbin/nologin
	bob:x:64952:64952::$W/home/bobsys:/bin/sh
	EOF2
	printf 'opensmtpd:x:64950:\nopensmtpq:x:64951:\nbob:x:64952:\n' >> "$o/group"
	chmod 644 "$o/passwd" "$o/group"
	"$OSMTPD/usr/sbin/smtpd" -n -f "$2" >/dev/null
	start_bg unshare -m --propagation private sh -c "
		mount --bind $o/passwd /etc/passwd && mount --bind $o/group /etc/group &&
		mount --bind $o/spool /var/spool && mount --bind $o/libexec /usr/libexec &&
		mount --bind $o/varlib /var/lib && mount --bind $o/run /run &&
		exec $OSMTPD/usr/sbin/smtpd -d -v -f $2" 2>"$W/osmtpd.log"
	wait_port "$1" 20
}

# Wait (at most 30 s) until directory $1 holds a file.
wait_file() {
	local i
	for ((i = 0; i < 300; i++)); do
		[ -n "$(ls -A "$1" 2>/dev/null)" ] && return 0
		sleep 0.1
	done
	echo "no file in $1; OpenSMTPD said:" >&2
	tail -30 "$W/osmtpd.log" >&2
	return 1
}

@test "OpenSMTPD's lmtp action hands mail to smtpd --lmtp, its mda action to maildeliver" {
	[ -x "$OSMTPD/usr/sbin/smtpd" ] || skip "OpenSMTPD is not unpacked in $OSMTPD (tests/deps.sh test)"
	[ "$(id -u)" = 0 ] || skip "a private OpenSMTPD needs root (a mount namespace)"
	local op lp
	op=$(free_port)
	start_smtpd --lmtp
	lp=$PORT
	mkdir -p "$W/home/bobsys"
	chown 64952:64952 "$W/home/bobsys"
	cat > "$W/smtpd.conf" <<-EOF
	listen on 127.0.0.1 port $op
	action "lmtp" lmtp "127.0.0.1:$lp" rcpt-to
	action "mda" mda "$BIN/maildeliver --mailbox maildir:%h/Maildir %{rcpt}"
	match from any for domain "example.org" action "lmtp"
	match from any for domain "mda.example" action "mda"
	EOF
	osmtpd "$op" "$W/smtpd.conf"
	printf 'Subject: via opensmtpd lmtp\n\nhello\n' > m1
	run smtp-send -s "127.0.0.1:$op" -f a@example.net bob@example.org < m1
	assert_success
	wait_file "$NEW"
	one_dt "$NEW"/* bob@example.org
	grep -q 'by .* (OpenSMTPD) with ESMTP' "$NEW"/*
	grep -q 'with LMTP id' "$NEW"/*
	printf 'Subject: via opensmtpd mda\n\nhello\n' > m2
	run smtp-send -s "127.0.0.1:$op" -f a@example.net bob@mda.example < m2
	assert_success
	wait_file "$W/home/bobsys/Maildir/new"
	f=$(echo "$W"/home/bobsys/Maildir/new/*)
	one_dt "$f" bob@mda.example
	[ "$(stat -c %u "$f")" = 64952 ]
	grep -q 'result=Ok stat=Delivered' "$W/osmtpd.log"
	! grep -q 'mail loop' "$W/osmtpd.log"
}
