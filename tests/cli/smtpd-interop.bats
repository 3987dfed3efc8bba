#!/usr/bin/env bats
# smtpd against senders nobody on the team wrote, as a reviewer sees it:
# Python's smtplib and email, swaks with its many options, curl, openssl
# s_client and Postfix relaying to it; reply codes checked exactly
# (RFC 5321, RFC 3463) and messages checked in the Maildir.

load helpers
load smtpd-common
PORT_BASE=32000

setup() {
	smtpd_setup
}

teardown() {
	stop_all
	# the private Postfix of a test (bats owns the EXIT trap: stop it here)
	[ ! -f "$W/pf/main.cf" ] || postfix -c "$W/pf" stop >/dev/null 2>&1 || true
	no_sanitizer_report "$W/smtpd.log"
}

@test "postmaster without a domain and Postmaster@local domain are accepted (RFC 5321 4.5.1) and reach the first user" {
	start_smtpd
	run timeout 20 "$PY" -c '
import smtplib, sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=10)
s.ehlo("client.example")
s.mail("")
for r in ("postmaster", "PostMaster", "Postmaster@Example.ORG"):
    code, text = s.docmd("RCPT TO:<%s>" % r)
    print(code, text.decode())
print(s.data(b"Subject: to the postmaster\r\n\r\nhello\r\n")[0])
s.quit()' "$PORT"
	assert_success
	assert_equal "$(grep -c '^250 2.1.5' <<< "$output")" 3
	assert_line "250"
	assert_equal "$(nmsg "$NEW")" 3
	grep -q 'Subject: to the postmaster' "$NEW"/*
}

@test "a quoted local part that needs no quotes and a mixed-case local part reach the user" {
	run sm <<< "$(printf 'EHLO c\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<"bob"@example.org>\r\nRCPT TO:<Bob@Example.Org>\r\nRCPT TO:<BOB+Work@example.org>\r\nRCPT TO:<"b o b"@example.org>\r\nDATA\r\nSubject: q\r\n\r\nx\r\n.\r\nQUIT\r\n')"
	assert_equal "$(grep -c '^250 2.1.5 Ok' <<< "$output")" 3
	assert_line '550 5.1.1 <"b o b"@example.org>: Recipient address rejected: User unknown'
	assert_line --regexp '^250 2\.0\.0 Ok'
	assert_equal "$(nmsg "$NEW")" 3
	grep -q '^Delivered-To: bob@example.org$' "$NEW"/*
}

# postfix_relay PFPORT SMTPDPORT: a private Postfix (postfix -c DIR, no
# chroot) listening on 127.0.0.1:PFPORT that relays all mail to our smtpd
# on SMTPDPORT (relayhost, opportunistic STARTTLS).  Needs root.
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
	myhostname = relay.test
	mydestination =
	inet_interfaces = loopback-only
	inet_protocols = ipv4
	mynetworks = 127.0.0.0/8
	smtpd_relay_restrictions = permit_mynetworks reject
	relayhost = [127.0.0.1]:$2
	smtp_tls_security_level = may
	smtp_tls_loglevel = 1
	alias_maps =
	alias_database =
	local_recipient_maps =
	biff = no
	maillog_file = $pf/maillog
	maillog_file_prefixes = $pf
	EOF2
	awk -v port="$1" '
		/^smtp +inet/ { print "127.0.0.1:" port " inet n - n - - smtpd"; next }
		/^[a-z0-9.:-]+ +(inet|unix|unix-dgram|fifo|pass) / && NF >= 8 { $5 = "n" }
		{ print }' /etc/postfix/master.cf > "$pf/master.cf"
	postfix -c "$pf" check >/dev/null 2>&1 || true
	postfix -c "$pf" start >"$pf/start.log" 2>&1 || { cat "$pf/start.log"; return 1; }
	PFDIR=$pf
	wait_port "$1" 20
}

@test "Postfix relays to smtpd (relayhost, STARTTLS): delivered, its bounce for an unknown user, Received fields parse" {
	command -v postfix >/dev/null && id postfix >/dev/null 2>&1 || skip "Postfix is not installed"
	[ "$(id -u)" -eq 0 ] || skip "a private Postfix needs root to start its master"
	local pfp i
	make_cert
	start_smtpd --cert cert.pem --key key.pem
	pfp=$(free_port)
	postfix_relay "$pfp" "$PORT"
	run timeout 20 "$PY" -c '
import smtplib, sys
from email.message import EmailMessage
m = EmailMessage()
m["From"] = "alice@relay.test"; m["To"] = "bob@example.org"; m["Subject"] = "via postfix"
m.set_content("caf\u00e9 \u2013 8-bit\n.leading dot\n", cte="8bit")
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=10)
print(s.send_message(m, to_addrs=["bob@example.org", "Postmaster@example.org", "nobody@example.org"]))
s.quit()' "$pfp"
	assert_success
	wait_for 60 '[ "$(nmsg "$NEW")" -ge 2 ] && grep -q "status=bounced" "$PFDIR/maillog" 2>/dev/null' || true
	postfix -c "$W/pf" stop >/dev/null 2>&1 || true
	assert_equal "$(nmsg "$NEW")" 2
	run grep -h 'to=<' "$PFDIR/maillog"
	assert_output --regexp 'to=<bob@example.org>.*status=sent \(250 2\.0\.0'
	assert_output --regexp 'to=<nobody@example.org>.*status=bounced \(host 127\.0\.0\.1\[127\.0\.0\.1\] said: 550 5\.1\.1 <nobody@example.org>: Recipient address rejected: User unknown'
	grep -q 'Trusted TLS connection established\|Untrusted TLS connection established\|Anonymous TLS connection established' "$PFDIR/maillog"
	run "$PY" - "$NEW" <<-'EOF2'
	import email, email.policy, glob, re, sys
	for f in sorted(glob.glob(sys.argv[1] + "/*")):
	    m = email.message_from_binary_file(open(f, "rb"), policy=email.policy.default)
	    r = m.get_all("Received")
	    assert len(r) >= 2, r
	    top = str(r[0])
	    assert re.match(r"from relay\.test \(\S+ \[127\.0\.0\.1\]\)\s+\(using TLS", top), top
	    assert " by mx.example.org (maillab smtpd) with ESMTPS id " in " ".join(top.split()), top
	    assert m["Subject"] == "via postfix" and not m.defects, m.defects
	    assert "café" in m.get_content() and "\n.leading dot" in m.get_content()
	print("ok")
	EOF2
	assert_success
	assert_output "ok"
}

@test "swaks: STARTTLS with AUTH PLAIN, LOGIN and CRAM-MD5, implicit TLS, pipelining, --quit-after, LMTP" {
	make_cert
	start_smtpd --cert cert.pem --key key.pem
	local a p2 p3
	for a in PLAIN LOGIN CRAM-MD5; do
		run swaks -s "127.0.0.1:$PORT" --tls -a "$a" -au bob -ap secret -f a@example.com \
			-t bob@example.org --h-Subject "auth $a" --timeout 10
		assert_success
		assert_line --regexp "^<~  235 2\.7\.0 Authentication successful"
		assert_line --regexp "^<~  250 2\.0\.0 <bob@example.org> Ok: delivered"
	done
	run swaks -s "127.0.0.1:$PORT" -a PLAIN -au bob -ap wrong -f a@example.com -t bob@example.org --timeout 10
	assert_failure
	assert_line --regexp "^<\*\* 535 5\.7\.8 "
	p2=$(free_port)
	start_bg "${SM[@]}" -l "127.0.0.1:$p2" --tls --cert cert.pem --key key.pem 2>/dev/null
	wait_port "$p2"
	run swaks -s "127.0.0.1:$p2" --tls-on-connect --pipeline -a CRAM-MD5 -au bob -ap secret \
		-f a@example.com -t bob@example.org,postmaster --timeout 10
	assert_success
	assert_line "<~  250 2.0.0 Ok: 2 recipients, id $(sed -n 's/.*Ok: 2 recipients, id \(\S*\)$/\1/p' <<< "$output")"
	run swaks -s "127.0.0.1:$PORT" --pipeline -f a@example.com -t bob@example.org,nobody@example.org --quit-after RCPT --timeout 10
	assert_line "<-  250 2.1.5 Ok"
	assert_line "<** 550 5.1.1 <nobody@example.org>: Recipient address rejected: User unknown"
	assert_line "<-  221 2.0.0 Bye"
	p3=$(free_port)
	start_bg smtpd --lmtp --hostname mx.example.org --users "$W/users" -l "127.0.0.1:$p3" 2>/dev/null
	wait_port "$p3"
	run swaks -s "127.0.0.1:$p3" --protocol LMTP -f a@example.com -t bob@example.org,nobody@example.org,alice@example.net --timeout 10
	assert_line "<-  220 mx.example.org LMTP maillab smtpd"
	assert_line "<-  250 2.0.0 <bob@example.org> Ok: delivered"
	assert_line "<-  250 2.0.0 <alice@example.net> Ok: delivered"
	# 3 AUTH, 2 (bob and postmaster) over implicit TLS, 1 by LMTP
	assert_equal "$(nmsg "$NEW")" 6
	assert_equal "$(nmsg "$W/home/alice/Maildir/new")" 1
}

@test "swaks: 8-bit body without BODY=, a 998-octet line is taken, a 999-octet line refused 500 5.5.0" {
	start_smtpd
	local l
	l=$(head -c 998 /dev/zero | tr '\0' x)
	run swaks -s "127.0.0.1:$PORT" -f a@example.com -t bob@example.org --timeout 10 \
		--body "$(printf 'caf\xc3\xa9\n%s\n' "$l")"
	assert_success
	run swaks -s "127.0.0.1:$PORT" -f a@example.com -t bob@example.org --timeout 10 --body "${l}y"
	assert_failure
	assert_line "<** 500 5.5.0 Error: message line longer than 1000 octets"
	assert_equal "$(nmsg "$NEW")" 1
	grep -q "^$l\$" "$NEW"/*
	grep -q $'^caf\xc3\xa9$' "$NEW"/*
}

@test "msmtp: STARTTLS and AUTH, two recipients; LMTP to --lmtp" {
	command -v msmtp >/dev/null || skip "msmtp is not installed"
	make_cert
	start_smtpd --cert cert.pem --key key.pem
	printf 'secret\n' > pw
	run bash -c "printf 'Subject: msmtp\n\nbody \xc3\xa9\n' | msmtp -v --host=127.0.0.1 --port=$PORT --tls=on \
		--tls-starttls=on --tls-certcheck=off --auth=on --user=bob --passwordeval='cat $W/pw' \
		--from=a@example.com bob@example.org alice@example.net 2>&1 | tr -d '\r'"
	assert_success
	assert_line "<-- 235 2.7.0 Authentication successful"
	assert_line --regexp "^<-- 250 2\.0\.0 Ok: 2 recipients, id "
	local p3
	p3=$(free_port)
	start_bg smtpd --lmtp --hostname mx.example.org --users "$W/users" -l "127.0.0.1:$p3" 2>/dev/null
	wait_port "$p3"
	run bash -c "printf 'Subject: lmtp\n\nx\n' | msmtp --host=127.0.0.1 --port=$p3 --protocol=lmtp \
		--from=a@example.com bob@example.org"
	assert_success
	assert_equal "$(nmsg "$NEW")" 2
	assert_equal "$(nmsg "$W/home/alice/Maildir/new")" 1
}

@test "curl: several --mail-rcpt, one unknown (--mail-rcpt-allowfails); smtplib send_message with SMTPUTF8" {
	start_smtpd
	printf 'From: a@example.com\r\nSubject: curl\r\n\r\nhi\r\n' > m.txt
	run bash -c "curl -sS -v --max-time 10 smtp://127.0.0.1:$PORT --mail-from a@example.com \
		--mail-rcpt bob@example.org --mail-rcpt alice@example.net --mail-rcpt nobody@example.org \
		--mail-rcpt-allowfails -T m.txt 2>&1 | tr -d '\r'"
	assert_success
	assert_line "< 550 5.1.1 <nobody@example.org>: Recipient address rejected: User unknown"
	assert_line --regexp "^< 250 2\.0\.0 Ok: 2 recipients, id "
	run timeout 20 "$PY" -c '
import smtplib, sys
from email.message import EmailMessage
m = EmailMessage(); m["From"] = "jös\u00e9@exämple.com"; m["To"] = "bob@example.org"
m["Subject"] = "\u00fcn\u00efcode"; m.set_content("\u00f1\n")
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=10)
print(s.send_message(m)); s.quit()' "$PORT"
	assert_success
	assert_output "{}"
	run grep -l 'with UTF8SMTP' "$NEW"/*
	assert_success
	run grep -h '^Return-Path' $output
	assert_output "Return-Path: <jösé@exämple.com>"
	assert_equal "$(nmsg "$NEW")" 2
}

@test "reply codes (RFC 5321, RFC 3463): source route stripped, parameters, RSET, DATA after failed RCPT, VRFY, HELP, any case" {
	run sm <<< "$(printf 'ehlo c\r\nmail from:<a@example.com> SIZE=100 BODY=8BITMIME SMTPUTF8 AUTH=<>\r\nRcPt To:<@a.example,@b.example:bob@example.org>\r\nrset\r\nDATA\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<nobody@example.org>\r\nDATA\r\nMAIL FROM:<a@example.com>\r\nRSET\r\nMAIL FROM:<a@example.com> BODY=BINARYMIME\r\nMAIL FROM:<a@example.com> SIZE=x\r\nMAIL FROM:<a@example.com> FOO=1\r\nVRFY bob\r\nEXPN list\r\nhelp\r\nnoop\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<@x.example:bob@example.org> NOTIFY=NEVER\r\nquit\r\n')"
	assert_success
	assert_line --index 0 "220 mx.example.org ESMTP maillab smtpd"
	assert_line --index 9 "250 DSN"
	assert_line --index 10 "250 2.1.0 Ok"
	assert_line --index 11 "250 2.1.5 Ok"
	assert_line --index 12 "250 2.0.0 Ok"
	assert_line --index 13 "503 5.5.1 Error: need RCPT command"
	assert_line --index 14 "250 2.1.0 Ok"
	assert_line --index 15 "550 5.1.1 <nobody@example.org>: Recipient address rejected: User unknown"
	assert_line --index 16 "503 5.5.1 Error: need RCPT command"
	assert_line --index 17 "503 5.5.1 Error: nested MAIL command"
	assert_line --index 18 "250 2.0.0 Ok"
	assert_line --index 19 "555 5.5.4 Unsupported BODY type"
	assert_line --index 20 "501 5.5.4 Bad SIZE parameter"
	assert_line --index 21 "555 5.5.4 Unsupported option: FOO"
	assert_line --index 22 --regexp "^252 2\.5\.2 "
	assert_line --index 23 --regexp "^502 5\.5\.1 "
	assert_line --index 24 --regexp "^214 2\.0\.0 "
	assert_line --index 25 "250 2.0.0 Ok"
	assert_line --index 26 "250 2.1.0 Ok"
	assert_line --index 27 "250 2.1.5 Ok"   # NOTIFY: RFC 3461, dsn.bats
	assert_line --index 28 "221 2.0.0 Bye"
}

@test "Postfix against smtpd --greylist: deferred on 451 4.7.1, delivered once flushed after the delay" {
	command -v postfix >/dev/null && id postfix >/dev/null 2>&1 || skip "Postfix is not installed"
	[ "$(id -u)" -eq 0 ] || skip "a private Postfix needs root to start its master"
	local pfp i
	# started as root, smtpd keeps the greylist as --user (mail)
	mkdir grey
	[ "$(id -u)" != 0 ] || chown "$IDS" grey
	start_smtpd --greylist "$W/grey" --greylist-delay 2
	pfp=$(free_port)
	postfix_relay "$pfp" "$PORT"
	printf 'Subject: greylisted\n\nhi\n' | timeout 10 swaks -s "127.0.0.1:$pfp" -f alice@relay.test \
		-t bob@example.org --data - >/dev/null
	wait_for 60 'grep -q status=deferred "$PFDIR/maillog" 2>/dev/null' || true
	run grep -h 'status=deferred' "$PFDIR/maillog"
	assert_output --regexp 'said: 451 4\.7\.1 <bob@example.org>: Recipient address rejected: Greylisted'
	assert_equal "$(nmsg "$NEW")" 0
	sleep 2
	postqueue -c "$PFDIR" -f
	wait_for 60 '[ "$(nmsg "$NEW")" -ge 1 ]' || true
	postfix -c "$PFDIR" stop >/dev/null 2>&1 || true
	assert_equal "$(nmsg "$NEW")" 1
	grep -q '^Subject: greylisted' "$NEW"/*
	run grep -h 'to=<bob@example.org>.*status=sent' "$PFDIR/maillog"
	assert_success
}

@test "--greylist with a store it cannot write: smtpd refuses to start and says how to fix it" {
	mkdir ro
	chmod 555 ro
	[ "$(id -u)" = 0 ] || [ ! -w ro ] || skip "ro is writable"
	run bash -c "printf 'EHLO c\r\nQUIT\r\n' | ${SM[*]} --greylist $W/ro 2>err | tr -d '\r'"
	assert_equal "$status" 0        # tr's status; smtpd said nothing on stdout
	assert_output ""
	run cat err
	assert_output --regexp "^smtpd: greylist dir .*/ro: not writable by uid [0-9]+ \([^)]*\).*fix: ch"
}
