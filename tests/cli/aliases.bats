#!/usr/bin/env bats
# --aliases: the aliases(5) table of sendmail and Postfix in smtpd and
# maildeliver: normalised names, lists with owner-NAME, |command and
# /file members run as the table's owner, EXPN only with --expn, and the
# hostile cases (loops, a foreign :include: file).  Postfix's postalias
# reads the very same file as the oracle of its syntax.

load helpers
load smtpd-common

PORT_BASE=33600

setup() {
	smtpd_setup
	Q=$W/q
	mkdir -p "$Q"
	cat > aliases <<-EOF
	# a Postfix-style table
	postmaster: bob
	Prenom.Nom: bob
	staff: bob, alice@example.net,
	    carol@remote.example,
	    "|cat > $W/home/pipe.out", $W/home/staff.mbox
	owner-staff: bob
	team:   staff, bob
	loop1: loop2
	loop2: loop1
	EOF
	if [ "$(id -u)" = 0 ]; then chown "$IDS" aliases "$Q"; fi
	chmod 644 aliases
	SM+=(--aliases "$W/aliases" --queue "$Q" --smtp-send '')
}

teardown() {
	stop_all
	no_sanitizer_report "$W/smtpd.log"
}

# dialogue RCPT...: one message from a@example.net to each RCPT, in inetd mode
dialogue() {
	local r
	printf 'EHLO c.example\r\nMAIL FROM:<a@example.net>\r\n'
	for r; do printf 'RCPT TO:<%s>\r\n' "$r"; done
	printf 'DATA\r\nSubject: to %s\r\n\r\nhello\r\n.\r\nQUIT\r\n' "$1"
}

@test "a normalised name (Prenom.Nom, any case) reaches its login; postmaster through the table" {
	run sm <<<"$(dialogue PRENOM.nom@example.org)"
	assert_line "250 2.0.0 <PRENOM.nom@example.org> Ok: delivered"
	[ "$(nmsg "$NEW")" = 1 ]
	grep -q '^Subject: to PRENOM.nom@example.org' "$NEW"/*
	run sm <<<"$(dialogue postmaster)"
	assert_line --partial "Ok: delivered"
	[ "$(nmsg "$NEW")" = 2 ]
	run sm <<<"$(dialogue nosuch@example.org)"
	assert_line --partial "550 5.1.1 <nosuch@example.org>: Recipient address rejected"
}

@test "a list: every member once per sender, owner-staff as envelope sender, |command and /file as the table's owner" {
	run sm <<<"$(dialogue staff@example.org)"
	assert_line "250 2.0.0 <staff@example.org> Ok: delivered"
	[ "$(nmsg "$NEW")" = 1 ]
	run head -1 "$NEW"/*
	assert_output "Return-Path: <owner-staff@example.org>"
	[ "$(nmsg "$W/home/alice/Maildir/new")" = 1 ]
	grep -q '^Subject: to staff@example.org' "$W/home/pipe.out"
	grep -q '^From owner-staff@example.org ' "$W/home/staff.mbox"
	[ "$(stat -c %u:%g "$W/home/pipe.out")" = "$IDS" ]
	[ "$(stat -c %u:%g "$W/home/staff.mbox")" = "$IDS" ]
	# carol is in another domain: queued, with the owner as sender
	run bash -c "cat $Q/*/* 2>/dev/null | tr '\0' '\n'"
	assert_output --partial "carol@remote.example"
	assert_output --partial "owner-staff@example.org"
	# team holds the list staff and bob: as with Postfix's local(8), bob gets
	# staff's copy (sender owner-staff) and team's own (the author's)
	rm -f "$NEW"/*
	run sm <<<"$(dialogue team@example.org)"
	assert_line "250 2.0.0 <team@example.org> Ok: delivered"
	[ "$(nmsg "$NEW")" = 2 ]
	run bash -c "head -qn1 $NEW/* | sort"
	assert_output $'Return-Path: <a@example.net>\nReturn-Path: <owner-staff@example.org>'
}

@test "--list-headers: a list's copies (local and queued) get List-Id (RFC 2919), List-Post, List-Help, List-Owner (RFC 2369); an alias that is no list does not" {
	run sm <<<"$(dialogue staff@example.org)"
	assert_line "250 2.0.0 <staff@example.org> Ok: delivered"
	! grep -q "^List-" "$NEW"/*
	rm -f "$NEW"/* "$Q"/env/* "$Q"/msg/*
	run sm --list-headers <<<"$(dialogue staff@example.org)"
	assert_line "250 2.0.0 <staff@example.org> Ok: delivered"
	run "$PY" -c '
import email, sys, glob
for f in sorted(glob.glob(sys.argv[1] + "/*")):
    m = email.message_from_binary_file(open(f, "rb"))
    print(m["List-Id"], m["List-Post"], m["List-Help"], m["List-Owner"], m["Subject"])' "$NEW"
	assert_output "<staff.example.org> <mailto:staff@example.org> <mailto:owner-staff@example.org?subject=help> <mailto:owner-staff@example.org> to staff@example.org"
	grep -q "^List-Id: <staff.example.org>" "$W/home/alice/Maildir/new"/*
	grep -q "^List-Id: <staff.example.org>" "$Q"/msg/*
	# the fields come after our Received: line, before the author's
	run grep -n -m1 "^List-Id" "$NEW"/*
	[ "${output%%:*}" -lt "$(grep -n -m1 '^Subject' "$NEW"/* | cut -d: -f1)" ]
	# a user and an alias without owner-NAME (Prenom.Nom): no list, no fields
	rm -f "$NEW"/*
	run sm --list-headers <<<"$(dialogue bob@example.org Prenom.Nom@example.org)"
	! grep -q "^List-" "$NEW"/*
}

@test "hostile: an alias loop is refused at RCPT (550 5.4.6); so is an :include: of a foreign file (451)" {
	run sm <<<"$(dialogue loop1@example.org)"
	assert_line "550 5.4.6 <loop1@example.org>: Alias loop"
	[ "$(id -u)" = 0 ] || skip "needs root to make a file owned by someone else"
	echo bob > "$W/members"
	chown 65534:65534 "$W/members"
	chmod 644 "$W/members"
	echo "inc: :include:$W/members" >> aliases
	run sm <<<"$(dialogue inc@example.org)"
	assert_line "451 4.3.0 <inc@example.org>: Temporary alias lookup failure"
	[ "$(nmsg "$NEW")" = 0 ]
	chown "$IDS" "$W/members"
	run sm <<<"$(dialogue inc@example.org)"
	assert_line --partial "Ok: delivered"
	[ "$(nmsg "$NEW")" = 1 ]
}

@test "EXPN: 502 by default (RFC 5321 7.3); --expn lists a list's members" {
	run sm <<<"$(printf 'EHLO c\r\nEXPN staff\r\nQUIT\r\n')"
	assert_line "502 5.5.1 EXPN not available"
	run sm --expn <<<"$(printf 'EHLO c\r\nEXPN <staff@example.org>\r\nEXPN bob\r\nQUIT\r\n')"
	assert_line "250-2.1.5 <bob@example.org>"   # the list's domain, an address this server takes (not the host name)
	assert_line "250-2.1.5 <alice@example.net>"
	assert_line "250-2.1.5 <|cat > $W/home/pipe.out>"
	assert_line "250-2.1.5 <carol@remote.example>"
	assert_line "250 2.1.5 <$W/home/staff.mbox>"
	assert_line "550 5.1.1 <bob>: not a mailing list"
}

@test "Postfix's postalias reads the same table: same names, same members" {
	command -v postalias >/dev/null || skip "postalias (postfix) is not installed"
	cp aliases pf
	mkdir pfconf
	touch pfconf/main.cf
	postalias -c pfconf pf
	run postalias -c pfconf -q staff pf
	assert_output "bob, alice@example.net, carol@remote.example, \"|cat > $W/home/pipe.out\", $W/home/staff.mbox"
	run postalias -c pfconf -q prenom.nom pf
	assert_output "bob"
	# each member postalias gives for staff is one EXPN gives
	run sm --expn <<<"$(printf 'EHLO c\r\nEXPN staff\r\nQUIT\r\n')"
	for m in bob@example.org alice@example.net carol@remote.example "$W/home/staff.mbox" "|cat > $W/home/pipe.out"; do
		assert_line --partial "<$m>"
	done
}

@test "maildeliver --aliases: members delivered, a member in another domain is reported, not relayed" {
	printf 'Subject: md\n\nx\n' > m
	run maildeliver --users "$W/users" --aliases "$W/aliases" -f s@example.net Prenom.Nom < m
	assert_success
	[ "$(nmsg "$NEW")" = 1 ]
	run maildeliver --users "$W/users" --aliases "$W/aliases" --domains example.org,example.net -f s@example.net staff < m
	assert_equal "$status" 0
	assert_output --partial "member carol@remote.example is not local: maildeliver does not relay"
	[ "$(nmsg "$NEW")" = 2 ]
	[ "$(nmsg "$W/home/alice/Maildir/new")" = 1 ]
	run maildeliver --users "$W/users" --aliases "$W/aliases" -f s@example.net loop1 < m
	assert_equal "$status" 65
	assert_output --partial "alias loop"
}

@test "--mda maildeliver gets --aliases: the same list delivery; remote members still queued by smtpd" {
	run sm --mda "$BIN/maildeliver" <<<"$(dialogue staff@example.org)"
	assert_line "250 2.0.0 <staff@example.org> Ok: delivered"
	[ "$(nmsg "$NEW")" = 1 ]
	[ "$(nmsg "$W/home/alice/Maildir/new")" = 1 ]
	run head -1 "$NEW"/*
	assert_output "Return-Path: <owner-staff@example.org>"
	grep -q '^Subject: to staff@example.org' "$W/home/pipe.out"
	run bash -c "cat $Q/*/* 2>/dev/null | tr '\0' '\n'"
	assert_output --partial "carol@remote.example"
}

@test "~/.forward: \\user keeps a copy, other users and |command as the user; --no-forward ignores it" {
	printf '# to the lab group\n\\bob, alice@example.net\n"|cat > %s/home/fwd.out"\n' "$W" > "$W/home/bob/.forward"
	chmod 644 "$W/home/bob/.forward"
	[ "$(id -u)" != 0 ] || chown "$IDS" "$W/home/bob/.forward"
	run sm <<<"$(dialogue bob@example.org)"
	assert_line "250 2.0.0 <bob@example.org> Ok: delivered"
	[ "$(nmsg "$NEW")" = 1 ]
	[ "$(nmsg "$W/home/alice/Maildir/new")" = 1 ]
	grep -q '^Delivered-To: bob@example.org$' "$W/home/fwd.out"
	[ "$(stat -c %u:%g "$W/home/fwd.out")" = "$IDS" ]
	rm -f "$W/home/fwd.out"
	run sm --no-forward <<<"$(dialogue bob@example.org)"
	assert_line --partial "Ok: delivered"
	[ "$(nmsg "$NEW")" = 2 ]
	[ "$(nmsg "$W/home/alice/Maildir/new")" = 1 ]
	[ ! -e "$W/home/fwd.out" ]
}

@test "hostile: a .forward writable by others, or owned by another user, runs nothing (deferred in the queue, kept for retry)" {
	printf '"|touch %s/home/pwned"\n' "$W" > "$W/home/bob/.forward"
	[ "$(id -u)" != 0 ] || chown "$IDS" "$W/home/bob/.forward"
	chmod 666 "$W/home/bob/.forward"
	run sm <<<"$(dialogue bob@example.org)"
	assert_line --regexp '^250 2\.0\.0 <bob@example.org> Ok: queued as .*\(delivery deferred: temporary failure\)'
	grep -q "^rcpt <bob@example.org> pending 451 4\.2\.0 .*writable by its owner only" "$Q"/env/*
	[ ! -e "$W/home/pwned" ]
	[ "$(id -u)" = 0 ] || skip "needs root to give the file to another user"
	chmod 644 "$W/home/bob/.forward"
	chown 65534:65534 "$W/home/bob/.forward"
	rm -f "$Q"/env/*
	run sm <<<"$(dialogue bob@example.org)"
	assert_line --regexp '^250 2\.0\.0 <bob@example.org> Ok: queued as '
	grep -q "^rcpt <bob@example.org> pending 451 4\.2\.0 .*owned by uid 65534, not by bob" "$Q"/env/*
	# the retry through the queue runs nothing either
	run smtp-send --queue "$Q" --retry-now
	grep -q "owned by uid 65534, not by bob" "$Q"/env/*
	[ ! -e "$W/home/pwned" ]
	[ "$(nmsg "$NEW")" = 0 ]
}
