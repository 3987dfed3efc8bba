#!/usr/bin/env bats
# mimecat --route reads the Received: chain oldest hop first, and -e
# explains an mbox "From " line.  Messages: the course-style example
# (five hops through Postfix and amavisd-new on 127.0.0.1:10024), fields
# in the formats of Exim, Sendmail, Postfix's pickup and Gmail, and a
# chain our own smtpd and smtp-send produce over TCP.

load helpers
load smtpd-common
PORT_BASE=45000

CORPUS="$ROOT/tests/corpus/route"

setup() {
	smtpd_setup
}

teardown() {
	stop_all
	[ ! -f "$W/postfix" ] || postfix -c "$(cat "$W/postfix")" stop >/dev/null 2>&1 || true
	no_sanitizer_report "$W/a.log"
	no_sanitizer_report "$W/b.log"
}

# cell HOP COLUMN: one cell of the table in $output (columns are separated
# by two or more spaces; the header names them).
cell() {
	awk -F '  +' -v hop="$1" -v col="$2" '
		NR == 1 { for (i = 1; i <= NF; i++) idx[$i] = i; next }
		$1 == hop { print $(idx[col]); exit }' <<< "$output"
}

@test "mimecat --route: --help names it, man page, -r excludes other modes" {
	run mimecat --help
	assert_output --partial "-r, --route"
	run mimecat -r -t "$CORPUS/course-imag.eml"
	assert_failure 64
	run mandoc -Tlint -W warning "$ROOT/mimecat/mimecat.1"
	assert_success
}

@test "mimecat --route: the course's five hops, Postfix and amavisd-new on port 10024" {
	run mimecat --route "$CORPUS/course-imag.eml"
	assert_success
	assert_line --index 0 --regexp '^hop +from +by +via +with +id +for +time +delay +TLS/auth$'
	[ "${#lines[@]}" -ge 6 ]
	# hop 1: the author's MUA submits, authenticated, over TLS
	[ "$(cell 1 from)" = "[203.0.113.40] (unknown [203.0.113.40])" ]
	[ "$(cell 1 by)" = "smtp.example.com (Postfix)" ]
	[ "$(cell 1 with)" = "ESMTPSA" ]
	[ "$(cell 1 id)" = "7F2A31C0042" ]
	[ "$(cell 1 'TLS/auth')" = "TLS + auth jdupont" ]
	[ "$(cell 1 delay)" = "-" ]
	# hop 2: MX routing to the recipient domain, TLS version and cipher
	[ "$(cell 2 from)" = "smtp.example.com [198.51.100.25]" ]
	[ "$(cell 2 by)" = "ms.imag.fr (Postfix)" ]
	[ "$(cell 2 'TLS/auth')" = "TLSv1.3 TLS_AES_256_GCM_SHA384" ]
	[ "$(cell 2 delay)" = "+5s" ]
	# hops 3 and 4: out to the content filter and back in
	[ "$(cell 3 from)" = "ms.imag.fr [127.0.0.1]" ]
	[ "$(cell 3 by)" = "localhost (ms.imag.fr [127.0.0.1]) (amavisd-new, port 10024)" ]
	[ "$(cell 3 id)" = "kQm2vX8bLw1T" ]
	[ "$(cell 4 from)" = "localhost [127.0.0.1]" ]
	[ "$(cell 4 by)" = "ms.imag.fr (Postfix)" ]
	[ "$(cell 4 delay)" = "+3s" ]
	# hop 5: to the mail store
	[ "$(cell 5 by)" = "mailhost.imag.fr (8.15.2/8.15.2)" ]
	[ "$(cell 5 for)" = "marie.martin@imag.fr" ]
	[ "$(cell 5 time)" = "2026-12-07 10:00:09 +0100" ]
	[ "$(cell 5 'TLS/auth')" = "-" ]
	assert_line "5 hops, 11s from the first to the last."
	assert_line "Date: 2026-12-07 09:59:57 +0100 (the author's clock); the first hop +1s after it."
}

@test "mimecat --route: Exim, Gmail, Sendmail (relay and submit) and Postfix pickup fields" {
	run mimecat -r "$CORPUS/other-mtas.eml"
	assert_success
	# Postfix's pickup: no "from" at all
	[ "$(cell 1 from)" = "-" ]
	[ "$(cell 1 by)" = "client.example.net (Postfix, from userid 1000)" ]
	[ "$(cell 1 id)" = "3A1B2C3D4E" ]
	# Sendmail: the submit program, then a relay with TLS and AUTH
	[ "$(cell 2 from)" = "(from alice@localhost)" ]
	[ "$(cell 3 'TLS/auth')" = "TLSv1.2 ECDHE-RSA-AES256-GCM-SHA384 + auth yes" ]
	[ "$(cell 3 with)" = "ESMTPSA" ]
	# Gmail-like: the for clause has no ';' before its comment; -0800 zone
	[ "$(cell 4 'TLS/auth')" = "Google Transport Security" ]
	[ "$(cell 4 for)" = "bob@example.org" ]
	[ "$(cell 4 time)" = "2026-12-08 00:00:01 -0800" ]
	[ "$(cell 4 delay)" = "+2s" ]
	# Exim: "(TLS1.3) tls CIPHER", envelope-from, id after the software
	[ "$(cell 5 'TLS/auth')" = "TLS1.3 TLS_AES_256_GCM_SHA384" ]
	[ "$(cell 5 with)" = "esmtps" ]
	[ "$(cell 5 id)" = "1kXyZq-0001Ab-Cd" ]
	[ "$(cell 5 by)" = "store.example.org (Exim 4.96)" ]
	[ "$(cell 5 from)" = "mx.example.org ([192.0.2.80] helo=mx.example.org) (envelope-from <alice@example.net>)" ]
	[ "$(cell 5 time)" = "2026-12-08 08:00:02 +0000" ]
	assert_line "5 hops, 5s from the first to the last."
}

@test "mimecat --route: a chain our smtp-send and two smtpd produced (AUTH, queue, address literal)" {
	mkdir -p q && chmod 777 q
	echo secret > pw
	PORTA=$(free_port)
	PORTB=$(free_port)
	[ "$PORTA" != "$PORTB" ] || PORTB=$((PORTA + 1))
	start_bg smtpd -l "127.0.0.1:$PORTB" --hostname mx.example.test --domains '[127.0.0.1]' \
		--users "$W/users" 2>"$W/b.log"
	wait_port "$PORTB"
	start_bg smtpd -l "127.0.0.1:$PORTA" --hostname mta.example.org --domains example.org \
		--users "$W/users" --queue "$W/q" --smtp-send "$BIN/smtp-send --port $PORTB" 2>"$W/a.log"
	wait_port "$PORTA"
	run smtp-send -s "127.0.0.1:$PORTA" --auth bob --password-file pw --helo mua.example.org \
		-f bob@example.org 'bob@[127.0.0.1]' <<< $'Date: Mon, 7 Dec 2026 10:00:00 +0100\nSubject: chain\n\nthrough two MTAs'
	assert_success
	for i in $(seq 100); do [ "$(nmsg "$NEW")" = 1 ] && break; sleep 0.1; done
	[ "$(nmsg "$NEW")" = 1 ]
	run mimecat --route "$NEW"/*
	assert_success
	[ "${#lines[@]}" -ge 3 ]
	[ "$(cell 1 from)" = "mua.example.org (localhost [127.0.0.1])" ] ||
		[ "$(cell 1 from)" = "mua.example.org (unknown [127.0.0.1])" ]
	[ "$(cell 1 by)" = "mta.example.org (maillab smtpd)" ]
	[ "$(cell 1 with)" = "ESMTPA" ]
	[ "$(cell 1 'TLS/auth')" = "auth bob" ]
	[ "$(cell 1 for)" = "bob@[127.0.0.1]" ]
	[ "$(cell 2 by)" = "mx.example.test (maillab smtpd)" ]
	[ "$(cell 2 with)" = "ESMTP" ]
	[[ "$(cell 2 id)" == "<"*"@mx.example.test>" ]]
	[[ "$(cell 2 delay)" =~ ^\+[0-9]+s$ ]]
	[ -z "${lines[3]:-}" ] || [[ "${lines[3]}" != 3* ]]
}

# A private Postfix on 127.0.0.1:$1 relaying everything to [127.0.0.1]:$2
# (the pattern of smtp-send.bats: no chroot, a queue in the test dir).
postfix_relay() {
	local pf=$W/pf p
	mkdir -p "$pf/queue" "$pf/data"
	p=$pf
	while [ "$p" != / ]; do chmod o+x "$p"; p=$(dirname "$p"); done
	chown postfix "$pf/data"
	cat > "$pf/main.cf" <<-EOF2
	compatibility_level = 3.6
	queue_directory = $pf/queue
	data_directory = $pf/data
	mail_owner = postfix
	setgid_group = postdrop
	myhostname = postfix.test
	mydestination =
	inet_interfaces = loopback-only
	inet_protocols = ipv4
	mynetworks = 127.0.0.0/8
	smtpd_relay_restrictions = permit_mynetworks reject_unauth_destination
	relayhost = [127.0.0.1]:$2
	alias_maps =
	alias_database =
	local_recipient_maps =
	biff = no
	smtpd_tls_cert_file = $W/cert.pem
	smtpd_tls_key_file = $W/key.pem
	smtpd_tls_security_level = may
	smtpd_tls_received_header = yes
	smtp_tls_security_level = none
	maillog_file = /dev/stdout
	EOF2
	awk -v port="$1" '
		/^smtp +inet/ { print "127.0.0.1:" port " inet n - n - - smtpd"; next }
		/^[a-z0-9.:-]+ +(inet|unix|unix-dgram|fifo|pass) / && NF >= 8 { $5 = "n" }
		{ print }' /etc/postfix/master.cf > "$pf/master.cf"
	postfix -c "$pf" start >"$pf/start.log" 2>&1 || { cat "$pf/start.log"; return 1; }
	echo "$pf" > "$W/postfix"
	wait_port "$1" 20
}

@test "mimecat --route: a real Postfix (STARTTLS in, relayhost out) then our smtpd" {
	command -v postfix >/dev/null && id postfix >/dev/null 2>&1 || skip "Postfix is not installed"
	[ "$(id -u)" -eq 0 ] || skip "a private Postfix needs root to start its master"
	make_cert
	PORTB=$(free_port)
	start_bg smtpd -l "127.0.0.1:$PORTB" --hostname mx.example.org --domains example.org \
		--users "$W/users" 2>"$W/b.log"
	wait_port "$PORTB"
	PORTP=$(free_port)
	[ "$PORTP" != "$PORTB" ] || PORTP=$((PORTB + 1))
	postfix_relay "$PORTP" "$PORTB"
	run smtp-send --starttls=required --cafile "$W/cert.pem" -s "localhost:$PORTP" --helo mua.example.org \
		-f alice@example.net bob@example.org <<< $'Subject: via postfix\n\nhello'
	assert_success
	for i in $(seq 200); do [ "$(nmsg "$NEW")" = 1 ] && break; sleep 0.1; done
	[ "$(nmsg "$NEW")" = 1 ]
	run mimecat --route "$NEW"/*
	assert_success
	[ "$(cell 1 from)" = "mua.example.org (localhost [127.0.0.1])" ]
	[ "$(cell 1 by)" = "postfix.test (Postfix)" ]
	[ "$(cell 1 with)" = "ESMTPS" ]
	[ "$(cell 1 for)" = "bob@example.org" ]
	[[ "$(cell 1 id)" =~ ^[0-9A-Za-z]+$ ]]
	[[ "$(cell 1 'TLS/auth')" =~ ^TLSv1\.[23]\ [A-Z0-9_-]+$ ]]
	[[ "$(cell 2 from)" == "postfix.test ("*"[127.0.0.1])" ]]
	[ "$(cell 2 by)" = "mx.example.org (maillab smtpd)" ]
	[ "$(cell 2 with)" = "ESMTP" ]
	[[ "$(cell 2 delay)" =~ ^\+[0-9]+s$ ]]
}

@test "mimecat --route: no Received:, a looping message, hostile fields" {
	printf 'Subject: local\n\nx\n' > none.eml
	run mimecat --route none.eml
	assert_success
	assert_output "no Received: fields: this message has not crossed any MTA"
	for ((i = 0; i < 1200; i++)); do printf 'Received: from a%d by b%d; Mon, 7 Dec 2026 10:00:00 +0100\n' $i $i; done > loop.eml
	printf 'Subject: loop\n\nx\n' >> loop.eml
	run mimecat --route loop.eml
	assert_success
	assert_line --index 0 "(200 older Received: fields not shown)"
	assert_line --regexp '^1000 +a0 +b0 '
	assert_line --regexp '^1 +a999 +b999 '
	{ printf 'Received: from ((((( by \033[31mred (x\n'
	  printf 'Received: (unclosed by <no end ; 99 Foo 99999 99:99:99 +9999\n'
	  printf 'Received: ;;;;\nReceived:\nReceived: from x\001y by z; Mon, 7 Dec 2026 10:00:00 +0100\n\nbody\n'; } > bad.eml
	run mimecat --route bad.eml
	assert_success
	refute_output --partial $'\033'
	assert_line --regexp '^1 +x\?y +z '
	assert_line --regexp '^5 +\(\(\(\(\( by \?\[31mred'
}

@test "mimecat -e explains the mbox From line and >From quoting" {
	run mimecat -e "$CORPUS/course-imag.eml"
	assert_success
	assert_line --index 0 "     1| From jean.dupont@example.com  Mon Dec  7 10:00:09 2026"
	assert_line --index 1 --partial "<- mbox separator line (RFC 4155), not a header field: envelope sender <jean.dupont@example.com>"
	printf 'From a@b.example Mon Dec  7 10:00:00 2026\nFrom: A <a@b.example>\n\n>From here\nFrom: not a header\n' > m.mbox
	run mimecat -e m.mbox
	assert_line --partial '<- ">From " in mbox'
	[ "$(grep -c 'mbox separator' <<< "$output")" = 1 ]
	# a message that does not start with "From " gets no such note
	run mimecat -e "$CORPUS/other-mtas.eml"
	refute_output --partial 'mbox separator'
}
