#!/usr/bin/env bats
# smtp-send as a sendmail-style submitter: what it does with standard
# input (a lone dot) and how it reports a server's multi-line answers.

load helpers
load smtpd-common

PORT_BASE=33000

setup_file() {
	# a scripted SMTP server on stdin/stdout for --pipe: answers DATA with
	# the reply given as data=..., logs the message it got into log=...
	cat > "$BATS_FILE_TMPDIR/fake.py" <<'PYEOF'
import sys
args = dict(a.split('=', 1) for a in sys.argv[1:])
inp, out = sys.stdin.buffer, sys.stdout.buffer
log = open(args.get('log', '/dev/null'), 'ab')
def send(s): out.write(s.replace('\\r\\n', '\r\n').encode()); out.flush()
send('220 fake ESMTP\\r\\n')
for l in inp:
    u = l.upper()
    if u.startswith(b'EHLO'): send('250-fake\\r\\n250 8BITMIME\\r\\n')
    elif u.startswith(b'DATA'):
        send('354 go\\r\\n')
        for d in inp:
            if d == b'.\r\n': break
            log.write(d); log.flush()
        send(args['data'])
    elif u.startswith(b'QUIT'): send('221 bye\\r\\n'); break
    else: send('250 ok\\r\\n')
PYEOF
}

fake() { echo "$PY $BATS_FILE_TMPDIR/fake.py log=$BATS_TEST_TMPDIR/got '$1'"; }

teardown() {
	stop_all
	[ -z "${W:-}" ] || no_sanitizer_report "$W/smtpd.log"
}

# The links a mail administrator makes (make install-sendmail), in $W/sbin,
# and a listening smtpd for example.org (bob's Maildir is $NEW) that
# relays for loopback into $W/q without running the queue.
sendmail_setup() {
	smtpd_setup
	mkdir -p "$W/sbin" "$W/q"
	[ "$(id -u)" != 0 ] || chown "$IDS" "$W/q"
	ln -s "$BIN/smtp-send" "$W/sbin/sendmail"
	ln -s "$BIN/smtp-send" "$W/sbin/mailq"
	start_smtpd --relay-from 127.0.0.0/8 --queue "$W/q" --smtp-send ''
	export MAILLAB_SMTP=127.0.0.1:$PORT MAILLAB_QUEUE=$W/q
}

@test "a lone dot before more input: nothing sent, the line named, exit 65" {
	run bash -c "printf 'Subject: x\n\nbefore\n.\nafter\n' | smtp-send --pipe \"$(fake 'data=250 ok\r\n')\" x@example.net"
	assert_equal "$status" 65
	assert_output --partial "line 4: a line with a single dot ends the message before the end of input"
	[ ! -s "$BATS_TEST_TMPDIR/got" ]
	# -i, -oi: every line goes
	run bash -c "printf 'Subject: x\n\nbefore\n.\nafter\n' | smtp-send -i --pipe \"$(fake 'data=250 ok\r\n')\" x@example.net"
	assert_success
	grep -q '^after' "$BATS_TEST_TMPDIR/got"
	grep -q '^\.\.' "$BATS_TEST_TMPDIR/got"
}

@test "a lone dot as the last line (then only empty lines) ends the message quietly" {
	run bash -c "printf 'Subject: x\n\nbody\n.\n\n\n' | smtp-send --pipe \"$(fake 'data=250 ok\r\n')\" x@example.net"
	assert_success
	assert_output ""
	run cat "$BATS_TEST_TMPDIR/got"
	assert_output "$(printf 'Subject: x\r\n\r\nbody\r')"
}

@test "the summary quotes every line of a multi-line reply" {
	run bash -c "printf 'Subject: x\n\nx\n' | smtp-send -v --pipe \"$(fake 'data=250- 4 byte chunk, total 4\r\n250 OK id=1kZ2x3-0004Ab-9Q\r\n')\" x@example.net 2>&1 >/dev/null | grep -v '^[CS]:'"
	assert_success
	assert_output --partial "<x@example.net>: accepted"
	assert_output --partial "4 byte chunk, total 4 / OK id=1kZ2x3-0004Ab-9Q"
	run bash -c "printf 'Subject: x\n\nx\n' | smtp-send --pipe \"$(fake 'data=554-5.6.0 first line\r\n554 5.6.0 the reason is here\r\n')\" x@example.net"
	assert_equal "$status" 65
	assert_output --partial "5.6.0 first line / the reason is here"
}

@test "sendmail: cron's own command line (Debian cron: -FCronDaemon -i -B8BITMIME -oem)" {
	sendmail_setup
	printf 'Subject: Cron <root@host> run-parts\n\nit ran\n.\nstill the report\n' |
		"$W/sbin/sendmail" -FCronDaemon -i -B8BITMIME -oem bob@example.org
	[ "$(nmsg "$NEW")" = 1 ]
	grep -q '^still the report$' "$NEW"/*
}

@test "sendmail -t -i -f: recipients from the header, Bcc removed; -oX options ignored" {
	sendmail_setup
	printf 'From: me@example.org\nTo: bob@example.org\nBcc: alice@example.net\nSubject: t\n\nx\n' > m
	run "$W/sbin/sendmail" -t -i -odi -oem -f me@example.org < m
	assert_success
	[ "$(nmsg "$NEW")" = 1 ]
	[ "$(nmsg "$W/home/alice/Maildir/new")" = 1 ]
	! grep -q '^Bcc:' "$NEW"/*
	run head -1 "$NEW"/*
	assert_output "Return-Path: <me@example.org>"
	# -r is the old -f, attached arguments too
	run "$W/sbin/sendmail" -rold@example.org -oi bob@example.org < m
	assert_success
	grep -l '^Return-Path: <old@example.org>' "$NEW"/*
	run "$W/sbin/sendmail" -Z bob@example.org < m
	assert_equal "$status" 64
	assert_output --partial "unknown option -Z"
	# -bs: an SMTP session (see below); at once EOF, the greeting only
	run "$W/sbin/sendmail" -bs < /dev/null
	assert_success
	assert_line --index 0 --regexp "^220 mx.example.org ESMTP"
}

@test "mutt sends through sendmail (set sendmail) in batch mode" {
	command -v mutt >/dev/null || skip "mutt is not installed"
	sendmail_setup
	cat > muttrc <<-EOF
	set sendmail="$W/sbin/sendmail -oem -oi"
	set from="carol@example.org"
	set use_from=yes
	set realname="Carol"
	set record=""
	EOF
	printf 'Bonjour Bob\n.\nfin\n' > body
	HOME=$W run mutt -n -F muttrc -s 'via mutt' bob@example.org < body
	assert_success
	[ "$(nmsg "$NEW")" = 1 ]
	grep -q '^Subject: via mutt$' "$NEW"/*
	grep -q '^From: Carol <carol@example.org>$' "$NEW"/*
	grep -q '^fin$' "$NEW"/*
}

@test "mailq and sendmail -bp list the queue; smtp-send --queue DIR --list; -q runs it" {
	sendmail_setup
	run "$W/sbin/mailq"
	assert_success
	assert_output "Mail queue is empty"
	printf 'Subject: far\n\nx\n' | "$W/sbin/sendmail" -f me@example.org carol@remote.invalid
	run "$W/sbin/sendmail" -bp
	assert_success
	assert_line --index 0 --partial "-Queue ID-"
	assert_output --regexp "[0-9]+ [A-Z][a-z]{2} [A-Z][a-z]{2} [ 0-9][0-9] [0-9:]{8}  me@example.org"
	assert_line --regexp "^ +carol@remote.invalid$"
	assert_line --partial "in 1 Request."
	run smtp-send --queue "$W/q" --list
	assert_output --partial "carol@remote.invalid"
	# -q: one run; .invalid has no MX (RFC 2606), so it fails for good and
	# the bounce to me@example.org waits in the queue in its place
	run "$W/sbin/sendmail" -q
	run "$W/sbin/mailq"
	refute_output --partial "carol@remote.invalid"
	run smtp-send --list
	assert_equal "$status" 64
}

@test "sendmail -bs: Python's smtplib drives an SMTP session through a pipe (socketpair), swaks through --pipe" {
	sendmail_setup
	cat > "$W/bs.py" <<-'EOF2'
	import smtplib, socket, subprocess, sys
	a, b = socket.socketpair()
	p = subprocess.Popen([sys.argv[1], "-bs"], stdin=b, stdout=b)
	b.close()
	s = smtplib.SMTP()
	s.sock = a
	print("greeting", s.getreply()[0])
	s.ehlo("client.example")
	print("dsn", s.has_extn("dsn"))
	msg = "From: me@example.org\r\nTo: bob@example.org\r\nSubject: via -bs\r\n\r\nsent through sendmail -bs\r\n"
	print("refused", s.sendmail("me@example.org", ["bob@example.org", "nobody@example.org"], msg))
	print("quit", s.quit()[0])
	print("exit", p.wait(timeout=30))
	EOF2
	run "$PY" "$W/bs.py" "$W/sbin/sendmail"
	assert_success
	assert_line "greeting 220"
	assert_line "dsn True"
	assert_line --regexp "^refused \{'nobody@example.org': \(550, b'5\.1\.1 "
	assert_line "quit 221"
	assert_line "exit 0"
	[ "$(nmsg "$NEW")" = 1 ]
	grep -q "^Subject: via -bs" "$NEW"/*
	run swaks --pipe "$W/sbin/sendmail -bs" --from me@example.org --to bob@example.org \
		--header "Subject: swaks -bs" --body "x"
	assert_success
	assert_line --regexp "^<- +250 2\.0\.0 "
	[ "$(nmsg "$NEW")" = 2 ]
}

@test "sendmail -bs with no server to reach: the client gets 421, exit 75" {
	smtpd_setup
	mkdir -p "$W/sbin"
	ln -s "$BIN/smtp-send" "$W/sbin/sendmail"
	MAILLAB_SMTP=127.0.0.1:$(free_port) run "$W/sbin/sendmail" -bs < /dev/null
	assert_equal "$status" 75
	assert_line --regexp "^421 4\.4\.1 sendmail -bs: cannot reach the mail server: "
	run smtp-send --bs -s "127.0.0.1:$(free_port)" bob@example.org < /dev/null
	assert_equal "$status" 64
}
