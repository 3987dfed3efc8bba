#!/usr/bin/env bats
# smtpd against senders nobody on the team wrote, as a reviewer sees it:
# Python's smtplib and email, swaks with its many options, curl, openssl
# s_client and Postfix relaying to it; reply codes checked exactly
# (RFC 5321, RFC 3463) and messages checked in the Maildir.

load helpers
PORT_BASE=32000

setup() {
	cd "$BATS_TEST_TMPDIR"
	W=$BATS_TEST_TMPDIR
	if [ "$(id -u)" = 0 ]; then IDS=$(id -u mail):$(id -g mail); else IDS=$(id -u):$(id -g); fi
	mkdir -p home/bob home/alice
	cat > users <<-EOF2
	bob:{PLAIN}secret:$IDS::$W/home/bob::
	alice@example.net:{PLAIN}alicepw:$IDS::$W/home/alice::
	EOF2
	chmod 644 users
	NEW=$W/home/bob/Maildir/new
	SM=(smtpd --hostname mx.example.org --domains example.org,example.net --users "$W/users")
	if [ "$(id -u)" = 0 ]; then
		chown -R "$IDS" "$W/home"
		local d=$W
		while [ "$d" != / ]; do chmod o+x "$d"; d=$(dirname "$d"); done
	fi
}

teardown() {
	stop_all
	# the private Postfix of a test (bats owns the EXIT trap: stop it here)
	[ ! -f "$W/pf/main.cf" ] || postfix -c "$W/pf" stop >/dev/null 2>&1 || true
}

sm() {
	"${SM[@]}" "$@" | tr -d '\r'
}

nmsg() {
	find "$1" -type f 2>/dev/null | wc -l
}

start_smtpd() {
	PORT=$(free_port)
	start_bg "${SM[@]}" -l "127.0.0.1:$PORT" "$@" 2>"$W/smtpd.log"
	wait_port "$PORT"
}

make_cert() {
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost \
		-keyout key.pem -out cert.pem 2>/dev/null
	chmod 644 key.pem cert.pem
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
	for ((i = 0; i < 100; i++)); do
		[ "$(nmsg "$NEW")" -ge 2 ] && grep -q 'status=bounced' "$PFDIR/maillog" 2>/dev/null && break
		sleep 0.1
	done
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
