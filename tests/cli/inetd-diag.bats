#!/usr/bin/env bats
# The servers' own diagnostics as a client and an administrator meet them:
# under a real xinetd (which gives the server the client's socket as fd 2
# too) no diagnostic reaches the client's connection, only a reply of its
# protocol; --plaintext-auth=never refuses passwords before TLS even from
# loopback; a --greylist or --queue directory the server cannot write
# stops it at start with the fix, instead of running without it.

load helpers
PORT_BASE=33000

setup() {
	cd "$BATS_TEST_TMPDIR"
	H=$BATS_TEST_TMPDIR/home/bob
	mkdir -p "$H/Maildir/new" "$H/Maildir/cur" "$H/Maildir/tmp"
	printf 'Subject: hi\n\nhello\n' > "$H/Maildir/new/1700000001.M1P1.lab"
	if [ "$(id -u)" = 0 ]; then IDS=65534:65534; else IDS=$(id -u):$(id -g); fi
	echo "bob:{PLAIN}secret:$IDS::$H::" > users
	fix_perms
}

teardown() {
	stop_all
}

# Connect to 127.0.0.1:$1, send the remaining arguments as CRLF lines, and
# print what comes back (the greeting is awaited first) until the server closes (10 s at most), CRs dropped.
talk() {
	"$PY" - "$@" <<-'EOF'
	import socket, sys
	s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
	data = s.recv(65536)            # the greeting first, as a client waits for it
	try:
	    for line in sys.argv[2:]:
	        s.sendall(line.encode() + b"\r\n")
	    while True:
	        chunk = s.recv(65536)
	        if not chunk:
	            break
	        data += chunk
	except socket.timeout:
	    data += b"<timeout>\n"
	except (BrokenPipeError, ConnectionResetError):
	    pass                        # it said goodbye and closed: what it said is in data
	sys.stdout.write(data.decode("utf-8", "replace").replace("\r", ""))
	EOF
}

# As inetd starts a server (one socket as fds 0, 1 and 2), but with a
# syslog of our own: in a private mount namespace /dev is a fresh tmpfs
# holding null, zero, urandom, random and a /dev/log datagram socket we
# read.  Prints what the client received, then the syslog lines.  Root only.
# with_syslog SEND CMD...: SEND is the client's lines, "|"-separated.
with_syslog() {
	unshare --mount --fork "$PY" - "$BATS_TEST_TMPDIR" "$@" <<-'EOF'
	import os, socket, subprocess, sys
	T, send, cmd = sys.argv[1], sys.argv[2], sys.argv[3:]
	def sh(*a): subprocess.run(a, check=True)
	sh("mount", "--make-rprivate", "/")
	os.makedirs(T + "/olddev", exist_ok=True)
	sh("mount", "--rbind", "/dev", T + "/olddev")
	sh("mount", "-t", "tmpfs", "tmpfs", "/dev")
	for n in ("null", "zero", "urandom", "random"):
	    open("/dev/" + n, "w").close()
	    sh("mount", "--bind", T + "/olddev/" + n, "/dev/" + n)
	log = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
	log.bind("/dev/log")
	os.chmod("/dev/log", 0o666)
	a, b = socket.socketpair()
	p = subprocess.Popen(cmd, stdin=b, stdout=b, stderr=b)
	b.close()
	a.settimeout(10)
	data = b""
	try:
	    data = a.recv(65536)
	    a.sendall("".join(l + "\r\n" for l in send.split("|")).encode())
	    while True:
	        c = a.recv(65536)
	        if not c:
	            break
	        data += c
	except (socket.timeout, ConnectionResetError, BrokenPipeError):
	    pass
	p.wait(10)
	log.settimeout(1)
	print(data.decode("utf-8", "replace").replace("\r", ""), end="")
	try:
	    while True:
	        print("SYSLOG " + log.recv(4096).decode("utf-8", "replace"))
	except socket.timeout:
	    pass
	EOF
}

@test "inetd socket as stderr: pop3d's diagnostic goes to syslog (mail.err), naming the fix" {
	[ "$(id -u)" = 0 ] || skip "needs root (a private /dev with our own /dev/log)"
	echo "bob:{PLAIN}secret:0:0::$H::" > users
	run with_syslog "USER bob|PASS secret|QUIT" pop3d --users users
	assert_success
	assert_line --regexp '^-ERR \[SYS/PERM\] '
	refute_line --regexp '^pop3d:'
	# <19>: facility mail (2) * 8 + priority err (3)
	assert_line --regexp '^SYSLOG <19>.* pop3d\[[0-9]+\]: refusing to access mail as root \(uid 0\): .*maillab-user add'
}

@test "inetd socket as stderr: smtpd that cannot start says 421 to the client and why to syslog" {
	[ "$(id -u)" = 0 ] || skip "needs root (a private /dev with our own /dev/log)"
	mkdir grey
	chmod 755 grey
	run with_syslog "QUIT" smtpd --greylist grey
	assert_success
	assert_line --index 0 "421 4.3.0 smtpd: service not available, see the mail log"
	assert_line --regexp "^SYSLOG <19>.* smtpd\[[0-9]+\]: greylist dir grey: not writable by uid [0-9]+ \(mail\).*fix: chown -R mail: grey"
}

@test "xinetd, pop3d as root and a user with uid 0: -ERR [SYS/PERM] on the wire, the diagnostic off it" {
	[ "$(id -u)" = 0 ] || skip "pop3d refuses uid 0 only when started as root"
	echo "bob:{PLAIN}secret:0:0::$H::" > users
	start_xinetd pop3-diag "$BIN/pop3d" --users "$BATS_TEST_TMPDIR/users"
	run talk "$PORT" "USER bob" "PASS secret" "QUIT"
	assert_success
	assert_line --index 0 --regexp '^\+OK '
	assert_line --regexp '^-ERR \[SYS/PERM\] '
	refute_output --partial "pop3d:"
	refute_output --partial "refusing"
	run grep -v -E '^(\+OK|-ERR)' <<< "$output"
	assert_output ""
}

@test "xinetd, smtpd with a greylist dir it cannot write: one 421 line, nothing else" {
	mkdir grey
	if [ "$(id -u)" = 0 ]; then chmod 755 grey; else chmod 555 grey; fi
	start_xinetd smtp-diag "$BIN/smtpd" --greylist "$BATS_TEST_TMPDIR/grey"
	run talk "$PORT" "EHLO me" "QUIT"
	assert_success
	assert_output "421 4.3.0 smtpd: service not available, see the mail log"
}

@test "xinetd, imapd with a bad option: * BYE, not the usage text" {
	start_xinetd imap-diag "$BIN/imapd" --plaintext-auth=sometimes
	run talk "$PORT" "a LOGOUT"
	assert_success
	assert_output "* BYE imapd: service not available, see the mail log"
}

@test "xinetd, pop3d with a bad option: -ERR [SYS/TEMP], not the usage text" {
	start_xinetd pop3-diag "$BIN/pop3d" --no-such-option
	run talk "$PORT" "QUIT"
	assert_success
	assert_output "-ERR [SYS/TEMP] pop3d: service not available, see the mail log"
}

@test "xinetd, smtpd -v: the transcript goes to the log, the client sees only SMTP" {
	start_xinetd smtp-diag "$BIN/smtpd" -v --hostname mx.test
	run talk "$PORT" "EHLO me" "NOOP" "QUIT"
	assert_success
	assert_line --index 0 "220 mx.test ESMTP maillab smtpd"
	assert_line "221 2.0.0 Bye"
	refute_output --regexp '(^|\n)[CS]: '
	run grep -v -E '^[0-9]{3}[ -]' <<< "$output"
	assert_output ""
}

@test "a stderr that is not the client's socket keeps the diagnostics" {
	mkdir grey
	if [ "$(id -u)" = 0 ]; then chmod 755 grey; else chmod 555 grey; fi
	run smtpd --greylist grey < /dev/null
	assert_equal "$status" 78
	assert_output --regexp "^smtpd: greylist dir grey: not writable by uid [0-9]+ \([^)]*\)"
	assert_output --partial "fix: ch"
}

@test "smtpd --plaintext-auth=never: no AUTH before STARTTLS, then 530, even on a pipe" {
	make_cert
	run smtpd --users users --cert cert.pem --key key.pem --plaintext-auth=never \
		<<< $'EHLO me\r\nAUTH PLAIN AGJvYgBzZWNyZXQ=\r\nQUIT\r'
	assert_success
	assert_line --partial "250-STARTTLS"
	refute_line --partial "AUTH"
	assert_line "530 5.7.0 Must issue a STARTTLS command first"$'\r'
	# After STARTTLS the same server offers and accepts AUTH.
	start_bg smtpd -l "127.0.0.1:${P:=$(free_port)}" --users users --cert cert.pem \
		--key key.pem --plaintext-auth=never
	wait_port "$P"
	run "$PY" - "$P" <<-'EOF'
	import smtplib, ssl, sys
	s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=10)
	s.ehlo()
	assert not s.has_extn("auth"), s.esmtp_features
	ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
	s.starttls(context=ctx); s.ehlo()
	assert s.has_extn("auth"), s.esmtp_features
	print(s.login("bob", "secret")[0])
	s.quit()
	EOF
	assert_success
	assert_output "235"
}

@test "smtpd: the default and the bare --plaintext-auth still allow AUTH on loopback" {
	for opt in "" --plaintext-auth --plaintext-auth=loopback --plaintext-auth=always; do
		run smtpd --users users $opt <<< $'EHLO me\r\nAUTH PLAIN AGJvYgBzZWNyZXQ=\r\nQUIT\r'
		assert_line --partial "250-AUTH"
		assert_line --partial "235 2.7.0"
	done
	run smtpd --plaintext-auth=sometimes < /dev/null
	assert_equal "$status" 64
	assert_output --partial "expected never, loopback or always"
}

@test "smtpd --plaintext-auth=never without a certificate: 538, no AUTH offered" {
	run smtpd --users users --plaintext-auth=never <<< $'EHLO me\r\nAUTH PLAIN AGJvYgBzZWNyZXQ=\r\nQUIT\r'
	refute_line --partial "AUTH"
	assert_line --partial "538 5.7.11"
}

@test "pop3d --plaintext-auth=never: USER and AUTH PLAIN refused before TLS, even on a pipe" {
	run pop3d --users users --plaintext-auth=never <<< $'CAPA\r\nUSER bob\r\nAUTH PLAIN AGJvYgBzZWNyZXQ=\r\nQUIT\r'
	assert_success
	refute_line --regexp '^USER'
	assert_line --regexp '^-ERR \[AUTH\] Plaintext authentication disallowed'
	refute_line --regexp '^\+OK.*(logged|maildrop)'
	run pop3d --users users --plaintext-auth <<< $'USER bob\r\nPASS secret\r\nQUIT\r'
	assert_line --regexp '^\+OK .*1 message'
}

@test "imapd --plaintext-auth=never: LOGINDISABLED and NO [PRIVACYREQUIRED] before TLS" {
	run imapd --users users --plaintext-auth=never <<< $'a CAPABILITY\r\nb LOGIN bob secret\r\nc LOGOUT\r'
	assert_success
	assert_line --regexp '^\* CAPABILITY .*LOGINDISABLED'
	assert_line --regexp '^b NO \[PRIVACYREQUIRED\]'
	run imapd --users users <<< $'a CAPABILITY\r\nb LOGIN bob secret\r\nc LOGOUT\r'
	refute_line --partial LOGINDISABLED
	assert_line --regexp '^b OK'
}

@test "smtpd as root: a missing greylist or queue dir is made for the mail account; root's is refused" {
	[ "$(id -u)" = 0 ] || skip "the ownership rules apply when started as root"
	chmod 755 "$BATS_TEST_TMPDIR"
	run smtpd --greylist newgrey --queue newq < /dev/null
	assert_success
	assert_equal "$(stat -c %U newgrey) $(stat -c %U newq)" "mail mail"
	mkdir q
	run smtpd --queue q < /dev/null
	assert_equal "$status" 78
	assert_output --partial "queue dir q: not writable by uid $(id -u mail) (mail)"
	assert_output --partial "chown -R mail: q"
	chown mail: q
	mkdir q/env
	run smtpd --queue q < /dev/null
	assert_equal "$status" 78
	assert_output --partial "queue dir q/env: not writable"
	chown mail: q/env
	run smtpd --queue q < /dev/null
	assert_success
}

@test "smtpd as root: a greylist dir of the mail account's under a parent it cannot search is refused" {
	[ "$(id -u)" = 0 ] || skip "the ownership rules apply when started as root"
	mkdir -p locked/grey
	chown mail: locked/grey
	chmod 700 locked
	run smtpd --greylist "$BATS_TEST_TMPDIR/locked/grey" < /dev/null
	assert_equal "$status" 78
	assert_output --partial "cannot reach it: $BATS_TEST_TMPDIR/locked is not searchable; fix: chmod o+x $BATS_TEST_TMPDIR/locked"
	cd locked
	run smtpd --greylist grey < /dev/null
	assert_equal "$status" 78
	assert_output --partial "cannot reach it: $BATS_TEST_TMPDIR/locked is not searchable"
	chmod 711 .
	run smtpd --greylist grey < /dev/null
	assert_success
}
