#!/usr/bin/env bats
# smtpd as a mail administrator and its clients see it: inetd-mode dialogues
# piped on stdin, and real clients nobody on the team wrote (Python's
# smtplib, swaks, curl, openssl s_client, xinetd, dnsmasq) against -l and
# inetd modes; messages checked byte for byte in the Maildir.

load helpers
load smtpd-common
PORT_BASE=23000

setup() {
	smtpd_setup
	cat > chk.py <<-'EOF'
	# chk.py FILE SENDER RCPT EXPECTED: the delivered file is exactly
	# Return-Path, Delivered-To, our Received: field, then EXPECTED's bytes.
	import re, sys
	d = open(sys.argv[1], "rb").read()
	exp = open(sys.argv[4], "rb").read()
	m = re.match(rb"Return-Path: <(.*)>\nDelivered-To: (.*)\n"
	    rb"(Received: from \S+ \([^\n]*\)\n(?:\t\([^\n]*\)\n)*"
	    rb"\tby mx\.example\.org \(maillab smtpd\) with (\S+) id (\S+)\n"
	    rb"(?:\tfor <[^>\n]*>)?; [A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d [+-]\d{4}\n)", d)
	assert m, "bad trace fields: %r" % d[:400]
	assert m.group(1) == sys.argv[2].encode(), m.group(1)
	assert m.group(2) == sys.argv[3].encode(), m.group(2)
	rest = d[m.end():]
	assert rest == exp, "body differs:\n%r\n%r" % (rest, exp)
	sys.stdout.write(m.group(3).decode())
	EOF
}

teardown() {
	stop_all
	no_sanitizer_report "$W/smtpd.log"
}

HDR='EHLO client.example\r\nMAIL FROM:<alice@example.org>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n'

@test "smtpd --help, --version, bad options, man page" {
	run smtpd --help
	assert_success
	assert_output --partial "usage: smtpd"
	run smtpd --version
	assert_success
	assert_output --partial "smtpd (maillab)"
	run smtpd --bogus
	assert_failure 64
	run smtpd --max-rcpt zero
	assert_failure 64
	run smtpd --tls
	assert_failure 64
	run smtpd extra-arg
	assert_failure 64
	run mandoc -Tlint -W warning "$ROOT/smtpd/smtpd.8"
	assert_success
}

@test "inetd mode: greeting, EHLO extensions, delivery byte-exact with dot-unstuffing" {
	run sm <<< "$(printf "${HDR}Subject: hi\r\nFrom: alice@example.org\r\n\r\n..leading dot\r\nbody\r\n\tend\r\n.\r\nQUIT\r\n")"
	assert_success
	assert_line --index 0 "220 mx.example.org ESMTP maillab smtpd"
	assert_line "250-PIPELINING"
	assert_line "250-SIZE 10485760"
	assert_line "250-8BITMIME"
	assert_line "250-ENHANCEDSTATUSCODES"
	assert_line "250-SMTPUTF8"
	assert_line "250-CHUNKING"
	assert_line "250-AUTH PLAIN LOGIN CRAM-MD5"
	refute_line "250-STARTTLS"
	assert_line "354 End data with <CR><LF>.<CR><LF>"
	assert_line --regexp "^250 2.0.0 <bob@example.org> Ok: delivered$"
	assert_line "221 2.0.0 Bye"
	[ "$(nmsg "$NEW")" = 1 ]
	printf 'Subject: hi\nFrom: alice@example.org\n\n.leading dot\nbody\n\tend\n' > exp
	run "$PY" chk.py "$NEW"/* alice@example.org bob@example.org exp
	assert_success
	assert_output --regexp "^Received: from client.example \(unknown\)"
	assert_output --partial "with ESMTP id"
	assert_output --partial "for <bob@example.org>;"
}

@test "commands: HELO, NOOP, RSET, VRFY 252, EXPN, HELP, bad sequence 503, unknown 500" {
	run sm <<< "$(printf 'MAIL FROM:<a@b.c>\r\nHELO c\r\nRCPT TO:<bob@example.org>\r\nDATA\r\nNOOP\r\nVRFY bob\r\nEXPN list\r\nHELP\r\nMAIL FROM:<a@b.c>\r\nMAIL FROM:<a@b.c>\r\nRSET\r\nRCPT TO:<bob@example.org>\r\nXYZZY\r\nQUIT\r\n')"
	assert_line --index 1 "503 5.5.1 Error: send HELO/EHLO first"
	assert_line --index 2 "250 mx.example.org"
	assert_line --index 3 "503 5.5.1 Error: need MAIL command"
	assert_line --index 4 "503 5.5.1 Error: need RCPT command"
	assert_line --index 5 "250 2.0.0 Ok"
	assert_line --index 6 --regexp "^252 2.5.2 "
	assert_line --index 7 --regexp "^502 5.5.1 "
	assert_line --index 8 --regexp "^214 2.0.0 Commands: HELO EHLO MAIL"
	assert_line --index 9 "250 2.1.0 Ok"
	assert_line --index 10 "503 5.5.1 Error: nested MAIL command"
	assert_line --index 11 "250 2.0.0 Ok"
	assert_line --index 12 "503 5.5.1 Error: need MAIL command"
	assert_line --index 13 "500 5.5.2 Error: command not recognized"
	assert_line --index 14 "221 2.0.0 Bye"
}

@test "RCPT: unknown user 550 at RCPT time, user@domain entries, postmaster, bad syntax" {
	run sm <<< "$(printf 'EHLO c\r\nMAIL FROM:<>\r\nRCPT TO:<nobody@example.org>\r\nRCPT TO:<alice@example.net>\r\nRCPT TO:<alice@example.org>\r\nRCPT TO:bob@example.org\r\nRCPT TO:<bob@@example.org>\r\nRCPT TO:<>\r\nRCPT TO:<bob+box@example.org>\r\nRCPT TO: <bob@EXAMPLE.ORG>\r\nQUIT\r\n')"
	assert_line "250 2.1.0 Ok"
	assert_line "550 5.1.1 <nobody@example.org>: Recipient address rejected: User unknown"
	assert_line --index 12 "250 2.1.5 Ok"
	assert_line "550 5.1.1 <alice@example.org>: Recipient address rejected: User unknown"
	assert_line --regexp "^501 5.1.3 Bad recipient address syntax: address must be in"
	assert_line --regexp "^501 5.1.3 Bad recipient address syntax: bad character in local part"
	assert_line --regexp "^501 5.1.3 Bad recipient address syntax: null address"
	assert_line --index 17 "250 2.1.5 Ok"
	assert_line --index 18 "250 2.1.5 Ok"
}

@test "open relay attempt: 550 5.7.1 for other domains, from a pipe and from loopback" {
	run sm --queue "$W/q" <<< "$(printf 'EHLO c\r\nMAIL FROM:<spammer@evil.example>\r\nRCPT TO:<victim@elsewhere.example>\r\nRCPT TO:<victim@[192.0.2.1]>\r\nRCPT TO:<@example.org:victim@elsewhere.example>\r\nQUIT\r\n')"
	assert_line "550 5.7.1 <victim@elsewhere.example>: Relay access denied"
	assert_line "550 5.7.1 <victim@[192.0.2.1]>: Relay access denied"
	refute_line --regexp "^250 2.1.5"
	start_smtpd --queue "$W/q"
	run "$PY" -c '
import smtplib, sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]))
print(s.ehlo("c")[0])
print(s.mail("a@b.example")[0])
print(*s.rcpt("victim@elsewhere.example"))
' "$PORT"
	assert_line "550 b'5.7.1 <victim@elsewhere.example>: Relay access denied'"
	[ "$(nmsg "$W/q")" = 0 ]
}

@test "relay from --relay-from: queued atomically with envelope, smtp-send --queue started" {
	cat > fake-send <<-EOF
	#!/bin/sh
	echo "\$@" > $W/out/runner.args
	EOF
	chmod 755 fake-send
	mkdir out && chmod 777 out
	mkdir q && chmod 777 q
	start_smtpd --relay-from 10.0.0.0/8,127.0.0.0/8 --queue "$W/q" --smtp-send "$W/fake-send"
	run "$PY" -c '
import smtplib, sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]))
r = s.sendmail("alice@example.org", ["carol@remote.example", "dave@remote.example", "bob@example.org"],
    b"Subject: relayed\r\n\r\nhello\r\n.dot\r\n")
print("refused", r)
s.quit()
' "$PORT"
	assert_success
	assert_output "refused {}"
	[ "$(nmsg q/env)" = 1 ]
	[ "$(nmsg q/msg)" = 1 ]
	[ "$(nmsg q/tmp)" = 0 ]
	[ "$(nmsg "$NEW")" = 1 ]
	id=$(ls q/env)
	run grep -v "^local-arg " "q/env/$id"       # smtpd's own settings: store-forward.bats
	assert_line --index 0 "version 1"
	assert_line --index 1 "from <alice@example.org>"
	assert_line --index 2 --regexp "^created [0-9]+$"
	assert_line --index 3 "attempts 0"
	assert_line --index 4 --regexp "^next [0-9]+$"
	assert_line --index 5 "rcpt <carol@remote.example> pending"
	assert_line --index 6 "rcpt <dave@remote.example> pending"
	[ "${#lines[@]}" = 7 ]
	run tail -n 4 "q/msg/$id"
	assert_output "$(printf 'Subject: relayed\n\nhello\n.dot')"
	grep -q "^Received: from c\|^Received: from " "q/msg/$id"
	wait_for 30 '[ -f out/runner.args ]'
	run cat out/runner.args
	assert_output "--queue $W/q"
}

@test "SMTP smuggling: <LF>.<LF>, <CR><LF>.<LF> and <LF>.<CR><LF> never end DATA" {
	for end in '\n.\n' '\r\n.\n' '\n.\r\n' '\r.\r\n' '\r\n.\r'; do
		run sm <<< "$(printf "${HDR}Subject: first\r\n\r\nx${end}MAIL FROM:<evil@example.org>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\nSubject: smuggled\r\n\r\nsmuggled\r\n.\r\nQUIT\r\n")"
		assert_line --index 12 "354 End data with <CR><LF>.<CR><LF>"
		assert_line --index 13 --regexp "^550 5.5.2 Error: bare <CR> or <LF>"
		assert_line --index 14 "221 2.0.0 Bye"
		[ "${#lines[@]}" = 15 ]
		[ "$(nmsg "$NEW")" = 0 ]
	done
	# the session goes on after a refused message
	run sm <<< "$(printf "${HDR}a\nb\r\n.\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\nok\r\n.\r\nQUIT\r\n")"
	assert_line --regexp "^550 5.5.2"
	assert_line --regexp "^250 2.0.0 <bob@example.org> Ok: delivered"
	[ "$(nmsg "$NEW")" = 1 ]
}

@test "overlong lines: command over 512 and text line over 1000 refused, nothing delivered" {
	long=$(head -c 600 /dev/zero | tr '\0' a)
	run sm <<< "$(printf "EHLO c\r\nNOOP $long\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n$(head -c 1500 /dev/zero | tr '\0' x)\r\n.\r\nRCPT TO:<x@$long.example.org>\r\nQUIT\r\n")"
	assert_line --index 10 "500 5.5.2 Error: line too long"
	assert_line --index 14 "500 5.5.0 Error: message line longer than 1000 octets"
	assert_line --index 15 --regexp "^(500 5.5.2|503 5.5.1)"
	[ "$(nmsg "$NEW")" = 0 ]
	# 998 characters + CRLF is the longest legal line
	ok=$(head -c 998 /dev/zero | tr '\0' y)
	run sm <<< "$(printf "${HDR}$ok\r\n.\r\nQUIT\r\n")"
	assert_line --regexp "^250 2.0.0"
	[ "$(nmsg "$NEW")" = 1 ]
}

@test "NUL bytes in a command are refused" {
	run sh -c "printf 'EHLO c\r\nMAIL FROM:<a@b.c>\0x\r\nQUIT\r\n' | ${SM[*]} | tr -d '\r'"
	assert_line "500 5.5.2 Error: NUL character in command"
}

@test "error flood: the 20th error is followed by 421 and the connection closes" {
	run sh -c "(printf 'EHLO c\r\n'; for i in \$(seq 30); do printf 'XYZZY\r\n'; done; printf 'QUIT\r\n') | ${SM[*]} | tr -d '\r'"
	assert_success
	[ "$(grep -c '^500 5.5.2' <<< "$output")" = 20 ]
	assert_line --index 30 "421 4.7.0 mx.example.org Error: too many errors"
	refute_line "221 2.0.0 Bye"
}

@test "timeouts: silent client gets 421 4.4.2 after --timeout, also inside DATA" {
	run sh -c "(printf 'EHLO c\r\n'; sleep 6) | (s=\$(date +%s%N); ${SM[*]} --timeout 1; echo elapsed \$(( (\$(date +%s%N) - s) / 1000000 ))) | tr -d '\r'"
	assert_line "421 4.4.2 mx.example.org Error: timeout exceeded"
	ms=$(sed -n 's/^elapsed //p' <<< "$output")
	[ "$ms" -ge 900 ] && [ "$ms" -lt 4500 ]
	run sh -c "(printf '${HDR}partial'; sleep 4) | ${SM[*]} --timeout 1 | tr -d '\r'"
	assert_line "421 4.4.2 mx.example.org Error: timeout exceeded"
	[ "$(nmsg "$NEW")" = 0 ]
}

@test "SIZE and --max-size, --max-rcpt" {
	run sm --max-size 200 --max-rcpt 2 <<< "$(printf "EHLO c\r\nMAIL FROM:<a@b.c> SIZE=1000\r\nMAIL FROM:<a@b.c> SIZE=100 BODY=8BITMIME\r\nRCPT TO:<bob@example.org>\r\nRCPT TO:<bob@example.org>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n$(head -c 300 /dev/zero | tr '\0' z)\r\n.\r\nMAIL FROM:<a@b.c> FOO=bar\r\nQUIT\r\n")"
	assert_line "250-SIZE 200"
	assert_line "552 5.3.4 Message size exceeds fixed limit"
	assert_line "452 4.5.3 Error: too many recipients"
	assert_line "552 5.3.4 Error: message file too big"
	assert_line "555 5.5.4 Unsupported option: FOO"
	[ "$(nmsg "$NEW")" = 0 ]
}

@test "SMTPUTF8: UTF-8 addresses only with the SMTPUTF8 parameter; Received says UTF8SMTP" {
	run sm <<< "$(printf 'EHLO c\r\nMAIL FROM:<jörg@example.org>\r\nMAIL FROM:<jörg@bücher.example> SMTPUTF8\r\nRCPT TO:<bob@example.org>\r\nDATA\r\nSubject: ü\r\n\r\nx\r\n.\r\nQUIT\r\n')"
	assert_line --index 10 "553 5.6.7 Non-ASCII address needs SMTPUTF8"
	assert_line --index 11 "250 2.1.0 Ok"
	assert_line --regexp "^250 2.0.0 <bob@example.org> Ok: delivered"
	grep -q "with UTF8SMTP id" "$NEW"/*
	grep -q "^Return-Path: <jörg@bücher.example>" "$NEW"/*
}

@test "CHUNKING: BDAT chunks, BDAT 0 LAST, BDAT without RCPT is read and refused" {
	run sh -c "printf 'EHLO c\r\nBDAT 5\r\nhelloMAIL FROM:<a@b.c>\r\nRCPT TO:<bob@example.org>\r\nBDAT 12\r\nSubject: x\r\nBDAT 9\r\n\r\nline.\r\nBDAT 0 LAST\r\nQUIT\r\n' | ${SM[*]} | tr -d '\r'"
	assert_line --index 10 "503 5.5.1 Error: need RCPT command"
	assert_line --index 13 "250 2.0.0 Ok: 12 octets received"
	assert_line --index 14 "250 2.0.0 Ok: 9 octets received"
	assert_line --index 15 --regexp "^250 2.0.0 <bob@example.org> Ok: delivered"
	printf 'Subject: x\n\nline.\n' > exp
	run "$PY" chk.py "$NEW"/* a@b.c bob@example.org exp
	assert_success
}

@test "LMTP: LHLO, one reply per recipient after DATA, MDA temporary failure is 451" {
	cat > mda <<-EOF
	#!/bin/sh
	for last; do :; done
	case "\$last" in alice*) echo "mailbox locked" >&2; exit 75 ;; esac
	exec $BIN/maildeliver "\$@"
	EOF
	chmod 755 mda
	run sm --lmtp --mda "$W/mda" <<< "$(printf 'EHLO c\r\nLHLO c\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<bob@example.org>\r\nRCPT TO:<alice@example.net>\r\nRCPT TO:<nobody@example.org>\r\nDATA\r\nSubject: l\r\n\r\nx\r\n.\r\nQUIT\r\n')"
	assert_line --index 0 "220 mx.example.org LMTP maillab smtpd"
	assert_line --index 1 "500 5.5.2 Error: command not recognized"
	assert_line --index 14 "550 5.1.1 <nobody@example.org>: Recipient address rejected: User unknown"
	assert_line --index 15 "354 End data with <CR><LF>.<CR><LF>"
	assert_line --index 16 "250 2.0.0 <bob@example.org> Ok: delivered"
	assert_line --index 17 "451 4.2.0 <alice@example.net>: temporary delivery failure: mailbox locked"
	assert_line --index 18 "221 2.0.0 Bye"
	grep -q "with LMTP id" "$NEW"/*
	# SMTP folds the two outcomes into one 451: the client retries both
	run sm --mda "$W/mda" <<< "$(printf 'EHLO c\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<bob@example.org>\r\nRCPT TO:<alice@example.net>\r\nDATA\r\nx\r\n.\r\nQUIT\r\n')"
	assert_line --regexp "^451 4.2.0 <alice@example.net>"
}

@test "AUTH PLAIN/LOGIN over a pipe (loopback), transcript masks secrets, failure 535" {
	plain=$(printf '\0bob\0secret' | base64)
	run sh -c "printf 'EHLO c\r\nAUTH PLAIN $plain\r\nAUTH PLAIN $plain\r\nMAIL FROM:<bob@example.org>\r\nRCPT TO:<x@remote.example>\r\nQUIT\r\n' | ${SM[*]} -v 2>err | tr -d '\r'"
	assert_line "235 2.7.0 Authentication successful"
	assert_line "503 5.5.1 Error: already authenticated"
	assert_line "550 5.7.1 <x@remote.example>: Relay access denied"   # no --queue
	run cat err
	assert_line "C: AUTH PLAIN ****"
	refute_output --partial "$plain"
	run sh -c "printf 'EHLO c\r\nAUTH LOGIN\r\n$(printf bob | base64)\r\n$(printf wrong | base64)\r\nQUIT\r\n' | ${SM[*]} | tr -d '\r'"
	assert_line "334 VXNlcm5hbWU6"
	assert_line "535 5.7.8 Error: authentication failed"
	assert_line "221 2.0.0 Bye"
}

@test "--submission: MAIL needs AUTH; Message-ID and Date added when missing" {
	plain=$(printf '\0bob\0secret' | base64)
	run sm --submission <<< "$(printf "EHLO c\r\nMAIL FROM:<bob@example.org>\r\nAUTH PLAIN $plain\r\nMAIL FROM:<bob@example.org>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\nSubject: s\r\n\r\nx\r\n.\r\nQUIT\r\n")"
	assert_line "530 5.7.0 Authentication required"
	assert_line --regexp "^250 2.0.0 <bob@example.org> Ok: delivered"
	run cat "$NEW"/*
	assert_line --regexp "^Message-ID: <[0-9]+\.M[0-9]+P[0-9]+R[0-9a-f]+@mx\.example\.org>$"
	assert_line --regexp "^Date: [A-Z][a-z]{2}, [0-9]{2} "
	assert_line --partial "(Authenticated sender: bob)"
	assert_line --partial "with ESMTPA id"
}

@test "-l mode with Python smtplib (CRAM-MD5 login): every 250 means the file is in new/" {
	start_smtpd
	run "$PY" -c '
import os, smtplib, sys
port, new = int(sys.argv[1]), sys.argv[2]
s = smtplib.SMTP("127.0.0.1", port)
s.ehlo("pyclient")
print("auth", s.login("bob", "secret")[0])
for i in range(10):
    s.sendmail("alice@example.org", ["bob@example.org"], ("Subject: %d\r\n\r\nmessage %d\r\n" % (i, i)).encode())
    print(len(os.listdir(new)))
s.quit()
' "$PORT" "$NEW"
	assert_success
	assert_line --index 0 "auth 235"
	assert_line --index 10 "10"
	[ "$(nmsg "$NEW")" = 10 ]
	f=$(grep -l "^message 3$" "$NEW"/*)
	printf 'Subject: 3\n\nmessage 3\n' > exp
	run "$PY" chk.py "$f" alice@example.org bob@example.org exp
	assert_success
	assert_output --partial "(unknown [127.0.0.1])"
	assert_output --partial "(Authenticated sender: bob)"
}

@test "swaks: pipelining over -l, AUTH LOGIN, and inetd mode through --pipe" {
	start_smtpd
	run swaks --server "127.0.0.1:$PORT" --pipeline --from alice@example.org --to bob@example.org \
		--auth LOGIN --auth-user bob --auth-password secret --header "Subject: swaks" --body "pipelined"
	assert_success
	refute_output --partial "<** "
	assert_output --partial "<-  250 2.0.0 <bob@example.org> Ok: delivered"
	run swaks --pipe "${SM[*]}" --from alice@example.org --to bob@example.org --body "through a pipe"
	assert_success
	assert_output --partial "250 2.0.0 <bob@example.org> Ok: delivered"
	[ "$(nmsg "$NEW")" = 2 ]
	grep -q "^pipelined" "$NEW"/*
}

@test "curl smtp:// upload delivers byte-exact" {
	start_smtpd
	printf 'From: alice@example.org\r\nSubject: curl\r\n\r\n.hidden dot\r\nline2\r\n' > m.txt
	run curl -sS --max-time 10 "smtp://127.0.0.1:$PORT" --mail-from alice@example.org \
		--mail-rcpt bob@example.org -T m.txt
	assert_success
	printf 'From: alice@example.org\nSubject: curl\n\n.hidden dot\nline2\n' > exp
	run "$PY" chk.py "$NEW"/* alice@example.org bob@example.org exp
	assert_success
}

@test "STARTTLS with openssl s_client; Received shows the cipher; --tls implicit TLS" {
	make_cert
	start_smtpd --cert cert.pem --key key.pem
	run sh -c "printf 'EHLO again\nMAIL FROM:<alice@example.org>\nRCPT TO:<bob@example.org>\nDATA\nSubject: tls\n\nsecret\n.\nQUIT\n' |
		timeout 10 openssl s_client -starttls smtp -crlf -quiet -connect 127.0.0.1:$PORT 2>/dev/null | tr -d '\r'"
	assert_line "250-PIPELINING"
	refute_line "250-STARTTLS"
	assert_line --regexp "^250 2.0.0 <bob@example.org> Ok: delivered"
	grep -q "^	(using TLSv1.[23] with cipher " "$NEW"/*
	grep -q "with ESMTPS id" "$NEW"/*
	PORT2=$(free_port)
	start_bg "${SM[@]}" -l "127.0.0.1:$PORT2" --tls --cert cert.pem --key key.pem
	wait_port "$PORT2"
	run sh -c "printf 'EHLO c\nQUIT\n' | timeout 10 openssl s_client -crlf -quiet -connect 127.0.0.1:$PORT2 2>/dev/null | tr -d '\r'"
	assert_line --index 0 "220 mx.example.org ESMTP maillab smtpd"
	refute_line "250-STARTTLS"
	assert_line "221 2.0.0 Bye"
}

@test "STARTTLS injection: commands pipelined after STARTTLS in plaintext are discarded" {
	make_cert
	start_smtpd --cert cert.pem --key key.pem
	run "$PY" -c '
import socket, ssl, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
def lines(sock, until):
    data = b""
    while not data.endswith(until):
        c = sock.recv(4096)
        if not c: break
        data += c
    return data.decode()
print(lines(s, b"\r\n").strip())
s.sendall(b"EHLO x\r\n"); lines(s, b"250 DSN\r\n")
s.sendall(b"STARTTLS\r\nMAIL FROM:<injected@evil.example>\r\n")
print(lines(s, b"\r\n").strip())
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
t = ctx.wrap_socket(s)
t.settimeout(1)
try:
    print("unexpected:", t.recv(4096))
except (socket.timeout, TimeoutError):
    print("nothing pending")
t.settimeout(5)
t.sendall(b"MAIL FROM:<a@b.c>\r\n")
print(lines(t, b"\r\n").strip())
' "$PORT"
	assert_success
	assert_line --index 1 "220 2.0.0 Ready to start TLS"
	assert_line --index 2 "nothing pending"
	assert_line --index 3 "503 5.5.1 Error: send HELO/EHLO first"
}

@test "under a real xinetd on a loopback port" {
	start_xinetd smtpd-test "$BIN/smtpd" --hostname mx.example.org --domains example.org --users "$W/users"
	run "$PY" -c '
import smtplib, sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]))
print(s.sendmail("alice@example.org", ["bob@example.org"], b"Subject: xinetd\r\n\r\nvia xinetd\r\n"))
s.quit()
' "$PORT"
	assert_success
	assert_output "{}"
	printf 'Subject: xinetd\n\nvia xinetd\n' > exp
	run "$PY" chk.py "$NEW"/* alice@example.org bob@example.org exp
	assert_success
	assert_output --partial "(unknown [127.0.0.1])"
}

@test "durability: smtpd killed mid-DATA or the MDA killed mid-delivery leaves nothing in new/" {
	mkfifo in
	"${SM[@]}" < in > out &
	pid=$!
	exec 5> in
	printf "${HDR}Subject: partial\r\n\r\nhalf of the body" >&5
	sleep 0.3
	kill -9 "$pid"
	exec 5>&-
	wait "$pid" || true
	[ "$(nmsg "$NEW")" = 0 ]
	[ "$(nmsg "$W/home/bob/Maildir/tmp")" = 0 ]
	cat > mda <<-EOF
	#!/bin/sh
	{ head -c 3000; sleep 2; } | $BIN/maildeliver "\$@" &
	sleep 0.5; kill -9 \$!; exit 75
	EOF
	chmod 755 mda
	{ printf "${HDR}Subject: killed\r\n\r\n"
	  "$PY" -c 'import sys; sys.stdout.write(("k" * 70 + "\r\n") * 8000)'; printf '.\r\nQUIT\r\n'; } > big
	run sm --mda "$W/mda" < big
	assert_line --regexp "^451 4.2.0 <bob@example.org>: temporary delivery failure"
	[ "$(nmsg "$NEW")" = 0 ]
}

@test "--filter: spamc-like X-Spam headers added (Junk folder), exit 1 is 550, other 451" {
	cat > spamc <<-'EOF'
	#!/bin/sh
	t=$(mktemp) || exit 2
	cat > "$t"
	if grep -q 'XJS\*C4JDBQADN1.NSBN3\*2IDNEN\*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL\*C.34X' "$t"; then
		printf 'X-Spam-Flag: YES\nX-Spam-Status: Yes, score=1000.0 required=5.0\n\ttests=GTUBE\n'
	else
		printf 'X-Spam-Flag: NO\n'
	fi
	cat "$t"; rm -f "$t"
	EOF
	printf '#!/bin/sh\ngrep -q EICAR-STANDARD-ANTIVIRUS-TEST-FILE && exit 1\nexit 0\n' > clam
	printf '#!/bin/sh\ncat >/dev/null\nexit 2\n' > broken
	chmod 755 spamc clam broken
	mkdir -p home/bob/Maildir/.Junk/new home/bob/Maildir/.Junk/cur home/bob/Maildir/.Junk/tmp home/bob/Maildir/new home/bob/Maildir/cur home/bob/Maildir/tmp
	fix_perms "$IDS"
	run sm --filter "$W/spamc" <<< "$(printf "${HDR}Subject: ham\r\n\r\nhello\r\n.\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\nSubject: spam\r\n\r\nXJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X\r\n.\r\nQUIT\r\n")"
	[ "$(grep -c '^250 2.0.0 <bob@example.org> Ok: delivered' <<< "$output")" = 2 ]
	[ "$(nmsg "$NEW")" = 1 ]
	[ "$(nmsg home/bob/Maildir/.Junk/new)" = 1 ]
	grep -q '^X-Spam-Flag: NO$' "$NEW"/*
	run cat home/bob/Maildir/.Junk/new/*
	assert_line "X-Spam-Flag: YES"
	assert_line "	tests=GTUBE"
	run sm --filter "$W/clam" <<< "$(printf "${HDR}X5O!P%%@AP[4\\PZX54(P^)7CC)7}\$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!\$H+H*\r\n.\r\nQUIT\r\n")"
	assert_line "550 5.7.1 Error: message content rejected"
	run sm --filter "$W/broken" <<< "$(printf "${HDR}x\r\n.\r\nQUIT\r\n")"
	assert_line --regexp "^451 4.3.0 Error: content filter failed"
	[ "$(nmsg "$NEW")" = 1 ]
}

@test "--greylist: unknown triplet gets 451 4.7.1, accepted after --greylist-delay" {
	# The triplet's first sight is kept in whole seconds, so a delay of
	# 1 can pass between two RCPTs a millisecond apart across a second's
	# edge; 2 cannot, and 2.2 s later it has passed.
	mkdir grey && chmod 777 grey
	run sm --greylist "$W/grey" --greylist-delay 2 <<< "$(printf "EHLO c\r\nMAIL FROM:<alice@example.org>\r\nRCPT TO:<bob@example.org>\r\nRCPT TO:<bob@example.org>\r\nQUIT\r\n")"
	assert_line "451 4.7.1 <bob@example.org>: Recipient address rejected: Greylisted, try again in 2 seconds"
	refute_line "250 2.1.5 Ok"
	sleep 2.2
	run sm --greylist "$W/grey" --greylist-delay 2 <<< "$(printf "${HDR}x\r\n.\r\nQUIT\r\n")"
	assert_line "250 2.1.5 Ok"
	assert_line --regexp "^250 2.0.0 <bob@example.org> Ok: delivered"
	# another sender is another triplet
	run sm --greylist "$W/grey" --greylist-delay 2 <<< "$(printf "EHLO c\r\nMAIL FROM:<z@b.c>\r\nRCPT TO:<bob@example.org>\r\nQUIT\r\n")"
	assert_line --regexp "^451 4.7.1"
}

@test "--dnsbl: listed clients get 554 with the TXT reason (dnsmasq on loopback)" {
	DP=$(free_port)
	start_bg dnsmasq --no-daemon --port="$DP" --listen-address=127.0.0.1 --bind-interfaces \
		--no-resolv --no-hosts --user="$(id -un)" --pid-file= \
		--host-record=1.0.0.127.bl.test,127.0.0.2 \
		--txt-record=1.0.0.127.bl.test,"Listed in bl.test see https://bl.test/q?127.0.0.1" 2>/dev/null
	for i in $(seq 100); do
		[ -n "$(dig +short +time=1 +tries=1 -p "$DP" @127.0.0.1 1.0.0.127.bl.test A 2>/dev/null)" ] && break
		sleep 0.1
	done
	start_smtpd --dnsbl bl.test --dns "127.0.0.1:$DP"
	run "$PY" -c '
import smtplib, sys
for src in ("127.0.0.1", "127.0.0.3"):
    s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), source_address=(src, 0))
    s.ehlo("c"); s.mail("a@b.c")
    print(src, *s.rcpt("bob@example.org"))
    s.quit()
' "$PORT"
	assert_success
	assert_line --index 0 "127.0.0.1 554 b'5.7.1 Service unavailable; Client host [127.0.0.1] blocked using bl.test; Listed in bl.test see https://bl.test/q?127.0.0.1'"
	assert_line --index 1 "127.0.0.3 250 b'2.1.5 Ok'"
}

@test "started as root: the protocol runs as --user, the MDA writes as each recipient" {
	[ "$(id -u)" = 0 ] || skip "needs root"
	mkdir -p home/carol
	echo "carol:{PLAIN}x:65534:65534::$W/home/carol::" >> users
	chown 65534:65534 home/carol
	run sm -v <<< "$(printf 'EHLO c\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<carol@example.org>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\nSubject: two owners\r\n\r\nx\r\n.\r\nQUIT\r\n')"
	assert_line --regexp "^250 2.0.0 Ok: 2 recipients"
	[ "$(stat -c %u home/carol/Maildir/new/*)" = 65534 ]
	[ "$(stat -c %u "$NEW"/*)" = "$(id -u mail)" ]
	# and the protocol half is not root
	start_smtpd
	exec 4<>"/dev/tcp/127.0.0.1/$PORT"
	read -r -t 5 greeting <&4
	pids=$(pgrep -f "smtpd --hostname mx.example.org" | tr '\n' ' ')
	users_=$(for p in $pids; do ps -o user= -p "$p"; done | sort -u | tr '\n' ' ')
	exec 4>&-
	[[ "$users_" == *mail* ]]
	[[ "$greeting" == 220* ]]
}

@test "started as root: no fork per delivery; each file is written as its owner (uid and gid), and a failed delivery leaves the root half with root's ids" {
	[ "$(id -u)" = 0 ] || skip "needs root"
	mkdir -p home/carol home/dave
	echo "carol:{PLAIN}x:65534:100::$W/home/carol::" >> users
	echo "dave:{PLAIN}x:65533:65533::$W/home/dave::" >> users
	chown 65534:100 home/carol
	chown root:root home/dave
	chmod 755 home/dave
	start_smtpd
	LISTENER=$(tail -n 1 "$W/pids")
	run timeout 60 "$PY" - "$PORT" "$LISTENER" <<-'EOF'
	import os, smtplib, sys
	port, listener = int(sys.argv[1]), sys.argv[2]
	def status(pid):
	    d = {}
	    for l in open("/proc/%s/status" % pid):
	        k, _, v = l.partition(":")
	        d[k] = v.split()
	    return d
	def root_half():
	    # the session's parent half: the listener's child that stays root
	    for p in os.listdir("/proc"):
	        if p.isdigit():
	            try:
	                st = status(p)
	            except OSError:
	                continue
	            if st["PPid"] == [listener]:
	                return p, st
	s = smtplib.SMTP("127.0.0.1", port)
	s.ehlo("c")
	pid, before = root_half()
	assert before["Uid"] == ["0"] * 4 and before["Gid"] == ["0"] * 4, before
	for rcpt in ("dave", "carol", "dave", "bob"):
	    try:
	        s.sendmail("a@b.c", [rcpt + "@example.org"], "Subject: to %s\r\n\r\nx\r\n" % rcpt)
	        print(rcpt, "250")
	    except smtplib.SMTPException as e:
	        print(rcpt, getattr(e, "recipients", e))
	    _, now = root_half()
	    for k in ("Uid", "Gid", "Groups", "CapEff"):
	        assert now[k] == before[k], (rcpt, k, now[k], before[k])
	    # no delivery child left behind, no other child than the protocol half
	    kids = []
	    for p in os.listdir("/proc"):
	        try:    # any process may exit between listdir and open
	            if p.isdigit() and status(p).get("PPid") == [pid]:
	                kids.append(p)
	        except OSError:
	            pass
	    assert len(kids) == 1, kids
	s.quit()
	EOF
	assert_success
	assert_line --index 0 --regexp "^dave .*554.*create Maildir $W/home/dave/Maildir: Permission denied"
	assert_line --index 1 "carol 250"
	assert_line --index 2 --regexp "^dave .*554"
	assert_line --index 3 "bob 250"
	f=$(ls home/carol/Maildir/new/*)
	[ "$(stat -c %u:%g:%a "$f")" = 65534:100:600 ]
	[ "$(stat -c %u:%g home/carol/Maildir/new)" = 65534:100 ]
	[ "$(stat -c %u:%g "$NEW"/*)" = "$IDS" ]
	[ ! -e home/dave/Maildir ]
}

@test "-v: transcript and one Postfix-style log line per message and per refusal" {
	run sh -c "printf '${HDR}x\r\n.\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<x@elsewhere.example>\r\nQUIT\r\n' | ${SM[*]} -v 2>&1 >/dev/null"
	assert_line "C: EHLO client.example"
	assert_line "S: 220 mx.example.org ESMTP maillab smtpd"
	assert_line "* state GREET -> MAIL"
	assert_line --regexp "^smtpd: [0-9]+\.M[0-9]+P[0-9]+R[0-9a-f]+: client=unknown\[stdin\], helo=<client.example>, from=<alice@example.org>, size=[0-9]+, nrcpt=1, proto=ESMTP, to=<bob@example.org> relay=local status=sent \(250 2.0.0 <bob@example.org> Ok: delivered\)$"
	assert_line "smtpd: NOQUEUE: reject: RCPT from unknown[stdin]: 550 5.7.1 <x@elsewhere.example>: Relay access denied; from=<a@b.c> to=<x@elsewhere.example> helo=<client.example>"
}

@test "relay end to end: authenticated client, queue, smtp-send --queue, a second smtpd" {
	[ -x "$BIN/smtp-send" ] || skip "smtp-send not built"
	mkdir -p q home/carol && chmod 777 q
	echo "carol@remote.example:{PLAIN}x:$IDS::$W/home/carol::" >> users
	fix_perms "$IDS"
	PORTB=$(free_port)
	start_bg smtpd -l "127.0.0.1:$PORTB" --hostname mx.remote.example --domains remote.example \
		--users "$W/users" 2>"$W/b.log"
	wait_port "$PORTB"
	plain=$(printf '\0bob\0secret' | base64)
	run sm --queue "$W/q" --smtp-send "$BIN/smtp-send -s 127.0.0.1:$PORTB" <<< "$(printf "EHLO c\r\nAUTH PLAIN $plain\r\nMAIL FROM:<bob@example.org>\r\nRCPT TO:<carol@remote.example>\r\nDATA\r\nSubject: far away\r\n\r\nrelayed\r\n.\r\nQUIT\r\n")"
	assert_line --regexp "^250 2.0.0 Ok: queued as [0-9]+\.M"
	for i in $(seq 100); do [ "$(nmsg home/carol/Maildir/new)" = 1 ] && break; sleep 0.1; done
	[ "$(nmsg home/carol/Maildir/new)" = 1 ]
	for i in $(seq 50); do [ "$(nmsg q/env)" = 0 ] && break; sleep 0.1; done
	[ "$(nmsg q/env)" = 0 ]
	[ "$(nmsg q/msg)" = 0 ]
	run cat home/carol/Maildir/new/*
	assert_line "Delivered-To: carol@remote.example"
	assert_line --regexp "^Received: from .* by mx\.remote\.example|^	by mx\.remote\.example \(maillab smtpd\) with ESMTP"
	assert_line --partial "(Authenticated sender: bob)"
	assert_line "relayed"
}

@test "-l [::1]:PORT: IPv6 client, Received: shows an IPv6 address literal" {
	"$PY" -c 'import socket; socket.socket(socket.AF_INET6).bind(("::1", 0))' 2>/dev/null || skip "no IPv6 loopback"
	PORT=$(free_port)
	start_bg "${SM[@]}" -l "[::1]:$PORT" 2>"$W/smtpd.log"
	for i in $(seq 100); do "$PY" -c 'import socket,sys; socket.create_connection(("::1", int(sys.argv[1])), 1)' "$PORT" 2>/dev/null && break; sleep 0.05; done
	run "$PY" -c '
import smtplib, sys
s = smtplib.SMTP("::1", int(sys.argv[1]))
print(s.sendmail("alice@example.org", ["bob@example.org"], b"Subject: v6\r\n\r\nover IPv6\r\n"))
s.quit()
' "$PORT"
	assert_output "{}"
	grep -q "(unknown \[IPv6:::1\])" "$NEW"/*
}

@test "--syslog: one mail.info line per message (a private /dev/log in a mount namespace)" {
	[ "$(id -u)" = 0 ] || skip "needs root for a mount namespace"
	unshare -m --propagation private true 2>/dev/null || skip "no mount namespaces"
	mkdir d && mknod d/null c 1 3 && chmod 666 d/null
	timeout 20 "$PY" -c '
import os, socket
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.bind("d/log"); os.chmod("d/log", 0o666)
open("ready", "w").close()
s.settimeout(10)
with open("syslog.out", "wb") as f:
    while True:
        d = s.recv(4096); f.write(d + b"\n"); f.flush()
        if b"status=" in d: break
' &
	for i in $(seq 100); do [ -f ready ] && break; sleep 0.05; done
	printf "${HDR}x\r\n.\r\nQUIT\r\n" | unshare -m --propagation private \
		sh -c "mount --bind '$W/d' /dev && exec ${SM[*]} --syslog" > out
	wait
	grep -q "^250 2.0.0" out
	run cat syslog.out
	assert_output --regexp "^<22>[A-Z][a-z]{2} [ 0-9]{2} [0-9:]{8} smtpd\[[0-9]+\]: [0-9]+\.M[0-9]+P[0-9]+R[0-9a-f]+: client=unknown\[stdin\], helo=<client.example>, from=<alice@example.org>, size=[0-9]+, nrcpt=1, proto=ESMTP, to=<bob@example.org> relay=local status=sent \(250 2.0.0 <bob@example.org> Ok: delivered\)$"
}

@test "option-like addresses reach the MDA as data, never as options" {
	run sm <<< "$(printf "EHLO c\r\nMAIL FROM:<-oQ/tmp/x@evil.example>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\nx\r\n.\r\nQUIT\r\n")"
	assert_line --regexp "^250 2.0.0 <bob@example.org> Ok: delivered"
	run head -n 1 "$NEW"/*
	assert_output "Return-Path: <-oQ/tmp/x@evil.example>"
}

# As an ordinary user: started as root, the test runs smtpd as "mail" (the
# lab case, in-process delivery without a fork); otherwise as ourselves.
sm_user() {
	if [ "$(id -u)" = 0 ]; then
		setpriv --reuid=mail --regid=mail --clear-groups "${SM[@]}" "$@" | tr -d '\r'
	else
		"${SM[@]}" "$@" | tr -d '\r'
	fi
}

# Each delivered file, minus our Return-Path: and Delivered-To:, fed to
# maildeliver for the same recipient must give the same bytes.
same_as_maildeliver() {     # FILE SENDER RCPT USER-IN-FILE
	local f=$1 out=$W/md-check
	rm -rf "$out"; mkdir -p "$out"/Maildir/{cur,new,tmp} "$out"/Maildir/.lists/{cur,new,tmp}
	echo "$4:{PLAIN}x:$IDS::$out::" > "$W/users-md"
	chmod 644 "$W/users-md"
	fix_perms "$IDS"; [ "$(id -u)" = 0 ] && chown -R "$IDS" "$out"
	tail -n +3 "$f" | "$BIN/maildeliver" -f "$2" --users "$W/users-md" -- "$3"
	local g
	g=$(find "$out/Maildir" -type f -path '*/new/*')
	[ -n "$g" ] && [ "$(echo "$g" | wc -l)" = 1 ]
	# the same folder (INBOX, .Junk, .+detail) below each Maildir
	[ "${f#"$W"/home/bob/Maildir}" != "$f" ]
	[ "$(dirname "${f#"$W"/home/bob/Maildir}")" = "$(dirname "${g#"$out"/Maildir}")" ]
	cmp "$f" "$g"
}

@test "in-process delivery (no --mda) stores exactly what maildeliver stores: INBOX, .Junk, +folder; as root and unprivileged" {
	mkdir -p home/bob/Maildir/.lists/{cur,new,tmp} home/bob/Maildir/{cur,new,tmp}
	fix_perms "$IDS"
	msg='Subject: same\r\nReturn-Path: <forged@evil.example>\r\nFrom: a@b.c\r\n\r\nline\r\n..dot\r\ntab\there\r\n'
	spam='Subject: buy\r\nX-Spam-Flag: YES\r\n\r\nspam\r\n'
	for how in sm sm_user; do
		rm -rf home/bob/Maildir/new/* home/bob/Maildir/.lists/new/* home/bob/Maildir/.Junk
		run $how <<< "$(printf "EHLO c\r\nMAIL FROM:<s@x.example>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n${msg}.\r\nMAIL FROM:<>\r\nRCPT TO:<bob+lists@example.org>\r\nDATA\r\n${msg}.\r\nMAIL FROM:<s@x.example>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n${spam}.\r\nQUIT\r\n")"
		assert_success
		[ "$(echo "$output" | grep -c '^250 2.0.0 <bob.*Ok: delivered$')" = 3 ]
		f1=$(ls "$NEW"/*); f2=$(ls "$W"/home/bob/Maildir/.lists/new/*); f3=$(ls "$W"/home/bob/Maildir/.Junk/new/*)
		[ "$(head -n 2 "$f1")" = "$(printf 'Return-Path: <s@x.example>\nDelivered-To: bob@example.org')" ]
		[ "$(head -n 2 "$f2")" = "$(printf 'Return-Path: <>\nDelivered-To: bob+lists@example.org')" ]
		! grep -q forged "$f1"
		same_as_maildeliver "$f1" s@x.example bob@example.org bob
		same_as_maildeliver "$f2" "" bob+lists@example.org bob
		same_as_maildeliver "$f3" s@x.example bob@example.org bob
		[ "$(stat -c %a "$f1")" = 600 ]
		[ "$(stat -c %u "$f1")" = "${IDS%:*}" ]
	done
}

@test "in-process delivery: a failure reaches the reply with maildeliver's reason; mbox template" {
	[ "$(id -u)" = 0 ] && chown root:root home/bob
	chmod 555 home/bob
	for how in sm sm_user; do
		run $how <<< "$(printf "${HDR}x\r\n.\r\nQUIT\r\n")"
		assert_line --regexp "^554 5.3.0 <bob@example.org>: delivery failed: bob@example.org: create Maildir $W/home/bob/Maildir: Permission denied \(delivering as uid [0-9]+ gid [0-9]+: .*chown -R [0-9]+:[0-9]+ $W/home/bob/Maildir.*\)$"
	done
	chmod 755 home/bob
	fix_perms "$IDS"
	for how in sm sm_user; do
		run $how --mailbox "mbox:%h/mbox" <<< "$(printf "${HDR}Subject: m\r\n\r\nFrom here\r\n.\r\nQUIT\r\n")"
		assert_line --regexp "^250 2.0.0 <bob@example.org> Ok: delivered$"
	done
	[ "$(grep -c '^From alice@example.org ' home/bob/mbox)" = 2 ]
	[ "$(grep -c '^>From here$' home/bob/mbox)" = 2 ]
	[ "$(stat -c %u home/bob/mbox)" = "${IDS%:*}" ]
}

@test "--mda CMD still runs the external command, with -f, --users, -- RCPT" {
	cat > mda <<-EOF
	#!/bin/sh
	printf '%s\n' "\$@" > "$W/argv"
	exec $BIN/maildeliver "\$@"
	EOF
	chmod 755 mda
	run sm --mda "$W/mda" <<< "$(printf "${HDR}x\r\n.\r\nQUIT\r\n")"
	assert_line --regexp "^250 2.0.0 <bob@example.org> Ok: delivered$"
	[ "$(nmsg "$NEW")" = 1 ]
	run cat argv
	assert_output "$(printf -- '-f\nalice@example.org\n--users\n%s\n--\nbob@example.org' "$W/users")"
	# an MDA that fails temporarily: 451 with its first line of stderr
	printf '#!/bin/sh\necho "disk on fire" >&2\nexit 75\n' > mda
	run sm --mda "$W/mda" <<< "$(printf "${HDR}x\r\n.\r\nQUIT\r\n")"
	assert_line "451 4.2.0 <bob@example.org>: temporary delivery failure: disk on fire"
	[ "$(nmsg "$NEW")" = 1 ]
}

@test "--mda NAME is found in PATH at start; a command that is not there stops smtpd (78), it does not bounce mail" {
	PATH="$BIN:/usr/bin:/bin" run sm --mda maildeliver <<< "$(printf "${HDR}x\r\n.\r\nQUIT\r\n")"
	assert_line --regexp "^250 2.0.0 <bob@example.org> Ok: delivered$"
	[ "$(nmsg "$NEW")" = 1 ]
	run env PATH=/usr/bin:/bin "$BIN/smtpd" --mda maildelivr < /dev/null
	assert_failure 78
	assert_output --partial "--mda maildelivr: no such command in PATH"
	run "$BIN/smtpd" --mda "$W/nonexistent" < /dev/null
	assert_failure 78
	[ "$(nmsg "$NEW")" = 1 ]
}

# --max-use: which worker served a message is the P<pid> of its id in the
# log (the id is made by the process that speaks SMTP).
workers_py() {
	cat > workers.py <<-'EOF'
	import os, re, smtplib, socket, ssl, sys, time
	LOG = os.environ["W"] + "/smtpd.log"
	def pids():
	    """The worker pid of each message logged so far, in order."""
	    return re.findall(r"^smtpd: \d+\.M\d+P(\d+)R\S*: client=", open(LOG).read(), re.M)
	def settle():
	    """Give the last worker time to be waiting again: a client that
	    comes sooner rightly gets a new worker from the listener.  Nothing
	    outside the server shows that state (this sandbox's /proc has no
	    wchan), so this is a time, chosen for ASan on two busy cores."""
	    time.sleep(1.0)
	def send(port, subj):
	    settle()
	    n = len(pids())
	    s = smtplib.SMTP("127.0.0.1", port)
	    s.sendmail("a@b.c", ["bob@example.org"], "Subject: %s\r\n\r\nx\r\n" % subj)
	    s.quit()
	    return wait_logged(n + 1)
	def wait_logged(n):
	    for _ in range(600):
	        p = pids()
	        if len(p) >= n:
	            return p[-1]
	        time.sleep(0.05)
	    raise AssertionError("message not logged")
	def tree(root):
	    """Every descendant of process root."""
	    kids = {}
	    for p in os.listdir("/proc"):
	        try:
	            st = open("/proc/%s/stat" % p).read() if p.isdigit() else ""
	        except OSError:
	            continue
	        if st:
	            kids.setdefault(int(st.rsplit(")", 1)[1].split()[1]), []).append(int(p))
	    out, todo = [], [int(root)]
	    while todo:
	        for k in kids.get(todo.pop(), []):
	            out.append(k)
	            todo.append(k)
	    return out
	def state(p):
	    """A process's state letter, None once it is gone (it may go
	    between any two reads of /proc: no exists-then-open)."""
	    try:
	        return open("/proc/%d/stat" % p).read().rsplit(")", 1)[1].split()[0]
	    except (OSError, IndexError):
	        return None
	def alive(pids):
	    return [p for p in pids if state(p) not in (None, "Z")]
	EOF
}

@test "--max-use: one worker serves several sessions; TLS, AUTH, an aborted transaction and descriptors do not carry over" {
	make_cert
	workers_py
	# 5: wait_port's probe, the three sessions below and a last one, after
	# which the worker exits normally (and a sanitizer build checks it for
	# leaks: the teardown reads the log).
	start_smtpd -v --max-use 5 --cert cert.pem --key key.pem
	W=$W run timeout 60 "$PY" - "$PORT" <<-'EOF'
	import os, smtplib, ssl, sys, time
	sys.path.insert(0, ".")
	from workers import *
	port = int(sys.argv[1])
	def nfds(pid):
	    return len(os.listdir("/proc/%s/fd" % pid))
	ctx = ssl._create_unverified_context()
	settle()
	s = smtplib.SMTP("127.0.0.1", port)
	s.starttls(context=ctx)
	s.login("bob", "secret")
	s.sendmail("a@b.c", ["bob@example.org"], "Subject: first\r\n\r\nx\r\n")
	s.quit()
	w1 = wait_logged(1)
	settle()
	fds1 = nfds(w1)
	# session 2: a transaction the client drops after RCPT
	s = smtplib.SMTP("127.0.0.1", port)
	s.ehlo("two")
	s.mail("a@b.c")
	s.rcpt("alice@example.net")
	s.close()
	settle()
	# session 3: plain text again, nobody logged in, no recipient left over
	s = smtplib.SMTP("127.0.0.1", port)
	s.ehlo("three")
	assert s.has_extn("starttls"), s.esmtp_features
	assert s.docmd("MAIL FROM:<a@b.c>")[0] == 250
	assert s.docmd("DATA")[0] == 503
	s.rset()
	s.sendmail("a@b.c", ["bob@example.org"], "Subject: third\r\n\r\nx\r\n")
	s.quit()
	w3 = wait_logged(2)
	settle()
	assert w1 == w3, (w1, w3)
	assert nfds(w3) == fds1, (fds1, nfds(w3))
	s = smtplib.SMTP("127.0.0.1", port)
	s.quit()
	for _ in range(600):
	    if not alive([int(w1)]):
	        break
	    time.sleep(0.05)
	assert not alive([int(w1)]), "the worker outlived its --max-use"
	EOF
	assert_success
	[ "$(nmsg home/bob/Maildir/new)" = 2 ]
	[ "$(nmsg home/alice)" = 0 ]
	grep -l "Subject: first" "$NEW"/* | xargs grep -q "with ESMTPSA"
	grep -l "Subject: third" "$NEW"/* | xargs grep -q "with ESMTP id"
	run grep -E "client=.*helo=<" "$W/smtpd.log"
	[ "${#lines[@]}" = 2 ]
	[[ "${lines[0]}" == *"sasl_username=bob"* ]]
	[[ "${lines[1]}" != *sasl_username* ]]
}

@test "--max-use N: a worker ends after N sessions and the next client gets a new one; 1 is a process per session" {
	workers_py
	# wait_port's probe is the first worker's first session.
	start_smtpd -v --max-use 3
	W=$W run timeout 60 "$PY" - "$PORT" <<-'EOF'
	import sys
	sys.path.insert(0, ".")
	from workers import *
	w = [send(int(sys.argv[1]), "m%d" % i) for i in range(4)]
	assert w[0] == w[1] != w[2] == w[3], w
	EOF
	assert_success
	stop_all || true
	: > "$W/smtpd.log"
	start_smtpd -v --max-use 1
	W=$W run timeout 60 "$PY" - "$PORT" <<-'EOF'
	import sys
	sys.path.insert(0, ".")
	from workers import *
	w = [send(int(sys.argv[1]), "n%d" % i) for i in range(3)]
	assert len(set(w)) == 3, w
	EOF
	assert_success
	[ "$(nmsg home/bob/Maildir/new)" = 7 ]
}

@test "--max-use: 300 connections from 15 clients at once, each message delivered once, by few workers" {
	workers_py
	start_smtpd --max-use 100
	W=$W run timeout 120 "$PY" - "$PORT" <<-'EOF'
	import smtplib, sys, threading
	sys.path.insert(0, ".")
	from workers import *
	port, errs = int(sys.argv[1]), []
	def client(k):
	    try:
	        for i in range(20):
	            s = smtplib.SMTP("127.0.0.1", port, timeout=30)
	            s.sendmail("a@b.c", ["bob@example.org"], "Subject: c%d-%d\r\n\r\nx\r\n" % (k, i))
	            s.quit()
	    except Exception as e:
	        errs.append(repr(e))
	ts = [threading.Thread(target=client, args=(k,)) for k in range(15)]
	for t in ts: t.start()
	for t in ts: t.join()
	assert not errs, errs
	# the worker is in each message's id (Received: ... id <time>.M<usec>P<pid>R...)
	new = os.environ["W"] + "/home/bob/Maildir/new/"
	w = [re.search(r"with ESMTP id <\d+\.M\d+P(\d+)R", open(new + f).read()).group(1)
	     for f in os.listdir(new)]
	assert len(w) == 300, len(w)
	assert len(set(w)) <= 100, len(set(w))   # without reuse: 300
	EOF
	assert_success
	[ "$(nmsg home/bob/Maildir/new)" = 300 ]
	[ "$(cat "$NEW"/* | grep -c '^Subject: c')" = 300 ]
	[ "$(cat "$NEW"/* | grep '^Subject: c' | sort -u | wc -l)" = 300 ]
}

@test "--max-use: the listener's SIGTERM ends every worker; after a SIGKILL idle workers leave and the port closes" {
	workers_py
	for sig in TERM KILL; do
		start_smtpd --max-use 100
		LISTENER=$(tail -n 1 "$W/pids")
		W=$W run timeout 60 "$PY" - "$PORT" "$LISTENER" "$sig" <<-'EOF'
		import os, signal, socket, sys, time
		sys.path.insert(0, ".")
		from workers import *
		port, listener, sig = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
		# three sessions at once: three workers, idle once the clients leave
		cs = [socket.create_connection(("127.0.0.1", port)) for _ in range(3)]
		for c in cs:
		    assert c.recv(512).startswith(b"220"), "no greeting"
		for c in cs:
		    c.sendall(b"QUIT\r\n"); c.recv(512); c.close()
		time.sleep(0.3)
		procs = tree(listener)
		assert len(procs) >= 3, procs
		os.kill(listener, getattr(signal, "SIG" + sig))
		for _ in range(600):
		    if not alive(procs):
		        break
		    time.sleep(0.05)
		assert not alive(procs), ("left running", alive(procs))
		try:
		    socket.create_connection(("127.0.0.1", port), timeout=2).recv(512)
		    raise AssertionError("still accepting")
		except ConnectionRefusedError:
		    pass
		EOF
		assert_success
		stop_all || true
	done
}
