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
