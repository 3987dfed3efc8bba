#!/usr/bin/env bats
# pop3d as a mail administrator and its clients see it: inetd-mode dialogues
# on stdin, and real clients nobody on the team wrote (Python's poplib, curl,
# fetchmail, openssl s_client, xinetd) against -l and inetd modes.

load helpers
PORT_BASE=28000

# Started as root (as in CI), pop3d serves mail as the passwd-file's uid:
# the tests give the mail to nobody (65534) and let it through the path.
setup() {
	cd "$BATS_TEST_TMPDIR"
	H=$BATS_TEST_TMPDIR/home/bob
	MD=$H/Maildir
	mkdir -p "$MD/new" "$MD/cur" "$MD/tmp"
	if [ "$(id -u)" = 0 ]; then IDS=65534:65534; else IDS=$(id -u):$(id -g); fi
	HASH=$(openssl passwd -6 -salt saltsalt alicepw)
	mkdir -p "$BATS_TEST_TMPDIR/home/alice/Maildir/new"
	cat > users <<-EOF
	bob:{PLAIN}secret:$IDS::$H::
	alice:{SHA512-CRYPT}$HASH:$IDS::$BATS_TEST_TMPDIR/home/alice::
	EOF
	make_mail
	fix_perms
	export H MD IDS
}

teardown() {
	stop_all
	no_sanitizer_report "$BATS_TEST_TMPDIR/pop3d.log"
}

# Five messages: LF, CRLF, a ,W= name, no final newline, dots and From_.
make_mail() {
	printf 'From: a@example.org\nSubject: one\n\nhello\n.dot line\n..two dots\n' \
		> "$MD/new/1700000001.M1P1.lab"
	printf 'From: b@example.org\r\nSubject: two\r\n\r\nline 1\r\nline 2\r\nline 3\r\n' \
		> "$MD/cur/1700000002.M2P2.lab:2,S"
	printf 'Subject: three\n\nbody\n' > "$MD/new/1700000003.M3P3.lab,S=21,W=24"
	printf 'Subject: four\n\nno newline at end' > "$MD/new/1700000004.M4P4.lab"
	printf 'Subject: five\n\n.\nFrom me\n.\n' > "$MD/cur/1700000005.M5P5.lab:2,"
}

# The message files in order, as pop3d numbers them.
msgfiles() {
	for f in "$MD"/new/* "$MD"/cur/*; do
		[ -f "$f" ] && echo "$(basename "$f" | cut -d. -f1) $f"
	done | sort -n | cut -d' ' -f2-
}

pop() {       # pop3d in inetd mode, the dialogue on stdin, CRs dropped
	pop3d --users users "$@" | tr -d '\r'
}

crlf() {      # a file as it goes on the wire: CRLF lines, final CRLF
	"$PY" -c 'import sys,re; d=open(sys.argv[1],"rb").read(); d=re.sub(rb"(?<!\r)\n",b"\r\n",d)
if d and not d.endswith(b"\r\n"): d+=b"\r\n"
sys.stdout.buffer.write(d)' "$1"
}

start_pop3d() {
	PORT=$(free_port)
	start_bg pop3d -l "127.0.0.1:$PORT" --users users "$@" 2>"$BATS_TEST_TMPDIR/pop3d.log"
	wait_port "$PORT"
}


@test "pop3d --help, --version, bad options, man page" {
	run pop3d --help
	assert_success
	assert_output --partial "usage: pop3d"
	run pop3d --version
	assert_success
	assert_output --partial "maillab"
	run pop3d --bogus
	assert_equal "$status" 64
	run pop3d --tls
	assert_equal "$status" 64
	run pop3d --cert x.pem
	assert_equal "$status" 64
	run pop3d extra-arg
	assert_equal "$status" 64
	for bad in 10x 0 -5 99999999999; do
		run pop3d --idle "$bad"
		assert_equal "$status" 64
	done
	run mandoc -Tlint -W warning "$ROOT/pop3d/pop3d.8"
	assert_success
}

@test "inetd dialogue: STAT LIST UIDL with exact CRLF sizes, RETR dot-stuffed" {
	run pop <<<$'USER bob\r\nPASS secret\r\nSTAT\r\nLIST\r\nLIST 4\r\nUIDL\r\nUIDL 3\r\nRETR 1\r\nQUIT\r'
	assert_success
	assert_line --index 0 --regexp '^\+OK .* POP3 server ready <[0-9]+\.[0-9]+@.+>$'
	assert_line --index 2 "+OK Maildrop has 5 messages (220 octets)"
	assert_line --index 3 "+OK 5 220"
	assert_line --index 5 "1 67"
	assert_line --index 6 "2 61"
	assert_line --index 7 "3 24"
	assert_line --index 8 "4 36"
	assert_line --index 9 "5 32"
	assert_line --index 11 "+OK 4 36"
	assert_line --index 13 "1 1700000001.M1P1.lab"
	assert_line --index 14 "2 1700000002.M2P2.lab"
	assert_line --index 15 "3 1700000003.M3P3.lab,S=21,W=24"
	assert_line --index 19 "+OK 3 1700000003.M3P3.lab,S=21,W=24"
	assert_line --index 20 "+OK 67 octets"
	assert_line --index 23 "hello"
	assert_line --index 24 "..dot line"
	assert_line --index 25 "...two dots"
	assert_line --index 26 "."
	# every size is the CRLF size of the file, as a byte count shows
	for f in $(msgfiles); do
		case $f in *W=*) continue ;; esac
		n=$(crlf "$f" | wc -c)
		grep -qx "[0-9] $n" <<<"$output" || { echo "no size $n for $f"; return 1; }
	done
}

@test "inetd dialogue: TOP, LAST, DELE, RSET, NOOP and their errors" {
	run pop <<<$'USER bob\r\nPASS secret\r\nTOP 2 1\r\nLAST\r\nDELE 2\r\nDELE 2\r\nRETR 2\r\nSTAT\r\nRSET\r\nLAST\r\nSTAT\r\nNOOP\r\nRETR 9\r\nRETR 0\r\nRETR x\r\nTOP 1\r\nTOP 4 0\r\nQUIT\r'
	assert_success
	# (bats drops empty lines from $lines)
	assert_line --index 3 "+OK Top of message follows"
	assert_line --index 5 "Subject: two"
	assert_line --index 6 "line 1"
	assert_line --index 7 "."
	assert_line --index 8 "+OK 2"
	assert_line --index 9 "+OK Message 2 deleted"
	assert_line --index 10 "-ERR Message 2 already deleted"
	assert_line --index 11 "-ERR Message 2 already deleted"
	assert_line --index 12 "+OK 4 159"
	assert_line --index 13 "+OK Maildrop has 5 messages (220 octets)"
	assert_line --index 14 "+OK 0"
	assert_line --index 15 "+OK 5 220"
	assert_line --index 16 "+OK"
	assert_line --index 17 "-ERR No such message"
	assert_line --index 18 "-ERR No such message"
	assert_line --index 19 "-ERR Invalid message number"
	assert_line --index 20 "-ERR Usage: TOP msg n"
	assert_line --index 21 "+OK Top of message follows"
	assert_line --index 22 "Subject: four"
	assert_line --index 23 "."
	assert_line --index 24 --partial "signing off (5 messages left)"
	# RSET undid the DELE: nothing removed
	[ -f "$MD/cur/1700000002.M2P2.lab:2,S" ]
}

@test "CAPA lists the extensions; AUTH lists mechanisms; APOP logs in" {
	run pop <<<$'CAPA\r\nAUTH\r\nQUIT\r'
	assert_success
	for c in TOP UIDL RESP-CODES AUTH-RESP-CODE PIPELINING USER "EXPIRE NEVER" \
		"SASL PLAIN LOGIN CRAM-MD5" "IMPLEMENTATION maillab-pop3d 0.1.0"; do
		assert_line "$c"
	done
	refute_line "STLS"
	assert_line "CRAM-MD5"
	# APOP: MD5 of the greeting's timestamp and the secret, on a live session
	"$PY" - "$BIN/pop3d" <<-'EOF'
	import subprocess, sys, re, hashlib
	p = subprocess.Popen([sys.argv[1], "--users", "users"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
	g = p.stdout.readline().decode()
	ts = re.search(r"<[^>]+>", g).group(0)
	d = hashlib.md5((ts + "secret").encode()).hexdigest()
	p.stdin.write(f"APOP bob {d}\r\nSTAT\r\nQUIT\r\n".encode()); p.stdin.close()
	out = p.stdout.read().decode()
	assert out.startswith("+OK Maildrop has 5 messages"), out
	assert "+OK 5 220" in out, out
	EOF
}

@test "SASL PLAIN, LOGIN, CRAM-MD5 and a hashed password through USER/PASS" {
	plain=$(printf '\0bob\0secret' | base64)
	run pop <<<"AUTH PLAIN $plain"$'\r\nSTAT\r\nQUIT\r'
	assert_line --index 1 --partial "+OK Maildrop has 5 messages"
	run pop <<<$'AUTH PLAIN\r\n'"$plain"$'\r\nQUIT\r'
	assert_line --index 1 "+ "
	assert_line --index 2 --partial "+OK Maildrop has 5"
	run pop <<<$'AUTH LOGIN\r\n'"$(printf bob | base64)"$'\r\n'"$(printf secret | base64)"$'\r\nQUIT\r'
	assert_line --index 1 "+ VXNlcm5hbWU6"
	assert_line --index 2 "+ UGFzc3dvcmQ6"
	assert_line --index 3 --partial "+OK Maildrop has 5"
	run pop <<<$'USER alice\r\nPASS alicepw\r\nSTAT\r\nQUIT\r'
	assert_line --index 2 "+OK Maildrop has 0 messages (0 octets)"
	"$PY" - "$BIN/pop3d" <<-'EOF'
	import subprocess, sys, base64, hmac, hashlib
	p = subprocess.Popen([sys.argv[1], "--users", "users"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
	p.stdout.readline()
	p.stdin.write(b"AUTH CRAM-MD5\r\n"); p.stdin.flush()
	ch = p.stdout.readline().decode().rstrip("\r\n")
	assert ch.startswith("+ "), ch
	c = base64.b64decode(ch[2:])
	r = b"bob " + hmac.new(b"secret", c, hashlib.md5).hexdigest().encode()
	p.stdin.write(base64.b64encode(r) + b"\r\nQUIT\r\n"); p.stdin.close()
	out = p.stdout.read().decode()
	assert out.startswith("+OK Maildrop has 5"), out
	EOF
	run pop <<<$'AUTH PLAIN\r\n*\r\nAUTH BOGUS\r\nQUIT\r'
	assert_line --index 2 "-ERR Authentication cancelled"
	assert_line --index 3 --partial "-ERR Unsupported mechanism"
}

@test "wrong passwords: -ERR [AUTH], delayed, hang-up after the third" {
	start=$SECONDS
	run pop <<<$'USER bob\r\nPASS wrong\r\nUSER bob\r\nPASS wrong again\r\nUSER nobody\r\nPASS x\r\nNOOP\r'
	assert_line --index 2 "-ERR [AUTH] Authentication failed"
	assert_line --index 4 "-ERR [AUTH] Authentication failed"
	assert_line --index 6 --partial "too many failures, closing connection"
	refute_line --partial "Command not valid"
	[ $((SECONDS - start)) -ge 5 ]
}

@test "hostile names: path tricks and NUL in USER never reach a path" {
	for u in ../bob /etc/passwd bob/../bob .bob; do
		run pop <<<"USER $u"$'\r\nPASS secret\r\nQUIT\r'
		assert_line --index 2 "-ERR [AUTH] Authentication failed"
	done
	printf 'USER b\0ob\r\nUSER bob\r\nPASS secret\r\nQUIT\r\n' | pop3d --users users | tr -d '\r' > out
	assert_equal "$(sed -n 2p out)" "-ERR NUL byte in command"
	assert_equal "$(sed -n 4p out | cut -c1-27)" "+OK Maildrop has 5 messages"
}

@test "hostile input: overlong line, commands out of state, flood" {
	long=$(head -c 3000 /dev/zero | tr '\0' A)
	run pop <<<"$long"$'\r\nSTAT\r\nUSER bob\r\nPASS secret\r\nUSER bob\r\nAPOP x y\r\nUSER '"$(head -c 41 /dev/zero | tr '\0' b)"$'\r\nLIST 1 2\r\nQUIT\r'
	assert_line --index 1 "-ERR Line too long"
	assert_line --index 2 "-ERR Command not valid before login"
	assert_line --index 4 --partial "+OK Maildrop has 5"
	assert_line --index 5 "-ERR Command not valid after login"
	assert_line --index 6 "-ERR Command not valid after login"
	assert_line --index 7 "-ERR Command not valid after login"
	assert_line --index 8 "-ERR Invalid message number"
	assert_line --index 9 --partial "signing off"
	# an unknown-command flood is cut after POP3_ERRORS_MAX (10)
	run pop < <(for i in $(seq 1 50); do printf 'XYZZY %d\r\n' "$i"; done)
	assert_equal "${#lines[@]}" 11
	assert_line --index 10 "-ERR Unknown command; too many errors, closing connection"
	# a bare LF ends a typed command
	run pop <<<$'CAPA\nQUIT'
	assert_line --index 1 "+OK Capability list follows"
	assert_line --partial "signing off"
}

@test "a user name longer than 40 characters (RFC 2449: 255-octet commands) logs in with USER and APOP" {
	long=christopher.montgomery-smith@engineering.example.org
	printf '%s:{PLAIN}pw:%s::%s::\n' "$long" "$IDS" "$H" >> users
	run pop <<<"USER $long"$'\r\nPASS pw\r\nSTAT\r\nQUIT\r'
	assert_line --index 2 "+OK Maildrop has 5 messages (220 octets)"
	"$PY" - "$long" <<-'EOF'
	import hashlib, re, subprocess, sys
	user = sys.argv[1]
	p = subprocess.Popen(["pop3d", "--users", "users"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
	stamp = re.search(rb"<[^>]*>", p.stdout.readline()).group(0)
	d = hashlib.md5(stamp + b"pw").hexdigest()
	out, _ = p.communicate(b"APOP %s %s\r\nQUIT\r\n" % (user.encode(), d.encode()))
	assert out.startswith(b"+OK Maildrop has 5 messages"), out
	EOF
	# still bounded: a name longer than a passwd-file holds is refused
	run pop <<<"USER $(printf 'a%.0s' {1..300})"$'\r\nQUIT\r'
	assert_line --index 1 "-ERR Line too long"
}

@test "UTF8 (RFC 6856): CAPA announces it, poplib's utf8() enables it, a UTF-8 user name logs in" {
	printf 'zo\xc3\xab@example.org:{PLAIN}pw:%s::%s::\n' "$IDS" "$H" >> users
	start_pop3d
	"$PY" - "$PORT" <<-'EOF'
	import poplib, sys
	p = poplib.POP3("127.0.0.1", int(sys.argv[1]), timeout=10)
	assert p.capa()["UTF8"] == ["USER"], p.capa()
	assert p.utf8().startswith(b"+OK"), "utf8"
	p.user("zoë@example.org"); p.pass_("pw")
	assert p.stat() == (5, 220)
	try:
	    p.utf8()
	    raise SystemExit("UTF8 accepted after login")
	except poplib.error_proto:
	    pass
	p.quit()
	EOF
}

@test "TOP with a line count of any size; trailing blanks after an argument" {
	run pop <<<$'USER bob\r\nPASS secret\r\nTOP 2 4294967295\r\nLIST 1 \r\nUIDL 2\t\r\nSTAT \r\nQUIT\r'
	assert_line --index 3 "+OK Top of message follows"
	assert_line --index 8 "line 3"
	assert_line --index 9 "."
	assert_line --index 10 "+OK 1 67"
	assert_line --index 11 "+OK 2 1700000002.M2P2.lab"
	assert_line --index 12 "+OK 5 220"
}

@test "as root: a template without maildir:/mbox: is resolved as the owner (an mbox in a 0700 home)" {
	[ "$(id -u)" = 0 ] || skip "needs root"
	printf 'From a@b Mon Nov 23 10:00:00 2026\nSubject: in mbox\n\nhello\n\n' > "$H/mbox"
	chown 65534:65534 "$H/mbox"
	chmod 700 "$H"
	run pop --mailbox '%h/mbox' <<<$'USER bob\r\nPASS secret\r\nSTAT\r\nRETR 1\r\nQUIT\r'
	assert_line --index 2 "+OK Maildrop has 1 messages (27 octets)"
	assert_line "Subject: in mbox"
}

@test "a client that stalls in the TLS handshake (pop3s, or after STLS) is dropped after --idle" {
	make_cert
	start_pop3d --cert cert.pem --key key.pem --idle 1
	port1=$PORT
	start_pop3d --cert cert.pem --key key.pem --tls --idle 1
	"$PY" - "$port1" "$PORT" <<-'EOF'
	import socket, sys, time
	def dropped(port, first):
	    s = socket.create_connection(("127.0.0.1", port), timeout=10)
	    t = time.time()
	    if first:
	        s.recv(512)
	        s.sendall(first)
	        assert s.recv(512).startswith(b"+OK Begin TLS")
	    s.sendall(b"\x16\x03\x01\x00")     # half a TLS record, then nothing
	    while s.recv(512):
	        pass
	    return time.time() - t
	assert dropped(int(sys.argv[1]), b"STLS\r\n") < 8
	assert dropped(int(sys.argv[2]), None) < 8
	EOF
}

@test "UPDATE: a dropped connection deletes nothing; QUIT deletes and moves to cur/ with S" {
	before=$(find "$MD" -type f ! -name "pop3d.*" | sort)
	run pop <<<$'USER bob\r\nPASS secret\r\nRETR 1\r\nDELE 1\r\nDELE 2\r'
	assert_line --index 3 "+OK 67 octets"
	assert_equal "$(find "$MD" -type f ! -name "pop3d.*" | sort)" "$before"
	run pop <<<$'USER bob\r\nPASS secret\r\nRETR 1\r\nDELE 2\r\nDELE 3\r\nQUIT\r'
	assert_line --partial "signing off (3 messages left)"
	run ls "$MD/new"
	assert_output ""
	run ls "$MD/cur"
	assert_output $'1700000001.M1P1.lab:2,S\n1700000004.M4P4.lab:2,\n1700000005.M5P5.lab:2,'
	# the unique ids did not change with the move
	run pop <<<$'USER bob\r\nPASS secret\r\nUIDL\r\nQUIT\r'
	assert_line --index 4 "1 1700000001.M1P1.lab"
	assert_line --index 5 "2 1700000004.M4P4.lab"
	assert_line --index 6 "3 1700000005.M5P5.lab"
}

@test "IN-USE: a second session on the same maildrop is refused" {
	mkfifo in1
	( pop3d --users users < in1 > out1 ) &
	exec 7>in1
	printf 'USER bob\r\nPASS secret\r\n' >&7
	wait_for 30 'grep -q "Maildrop has" out1 2>/dev/null'
	run pop <<<$'USER bob\r\nPASS secret\r\nQUIT\r'
	assert_line --index 2 "-ERR [IN-USE] Maildrop is locked by another session"
	# another user's maildrop is not locked
	run pop <<<$'USER alice\r\nPASS alicepw\r\nQUIT\r'
	assert_line --index 2 --partial "+OK Maildrop has 0"
	printf 'QUIT\r\n' >&7
	exec 7>&-
	wait
	run pop <<<$'USER bob\r\nPASS secret\r\nQUIT\r'
	assert_line --index 2 --partial "+OK Maildrop has 5"
}

@test "mbox IN-USE: the fcntl lock of a session refuses a second one at once" {
	printf 'From a@x Mon Nov 23 10:00:00 2026\nSubject: m1\n\nx\n\n' > "$H/mbox"
	fix_perms
	mkfifo in1
	( pop3d --users users --mailbox 'mbox:%h/mbox' < in1 > out1 ) &
	exec 7>in1
	printf 'USER bob\r\nPASS secret\r\n' >&7
	wait_for 30 'grep -q "Maildrop has" out1 2>/dev/null'
	[ -e "$H/mbox.lock" ]
	start=$SECONDS
	run pop --mailbox 'mbox:%h/mbox' <<<$'USER bob\r\nPASS secret\r\nQUIT\r'
	assert_line --index 2 "-ERR [IN-USE] Maildrop is locked by another session"
	[ $((SECONDS - start)) -le 2 ]
	printf 'QUIT\r\n' >&7
	exec 7>&-
	wait
	[ ! -e "$H/mbox.lock" ]
}

@test "mbox: a session killed by SIGTERM leaves a dot-lock that blocks neither the next login nor delivery" {
	printf 'From a@x Mon Nov 23 10:00:00 2026\nSubject: m1\n\nx\n\n' > "$H/mbox"
	fix_perms
	mkfifo in1
	( exec pop3d --users users --mailbox 'mbox:%h/mbox' < in1 > out1 ) &
	pid=$!
	exec 7>in1
	printf 'USER bob\r\nPASS secret\r\n' >&7
	wait_for 30 'grep -q "Maildrop has" out1 2>/dev/null'
	grep -qx "pop3d $pid" "$H/mbox.lock"
	kill -TERM "$pid"
	wait "$pid" || true
	exec 7>&-
	[ -e "$H/mbox.lock" ]          # left behind: SIGTERM is not caught
	start=$SECONDS
	run pop --mailbox 'mbox:%h/mbox' <<<$'USER bob\r\nPASS secret\r\nSTAT\r\nQUIT\r'
	assert_line --index 3 "+OK 1 18"
	[ $((SECONDS - start)) -le 2 ]
	printf 'Subject: m2\n\ny\n' | maildeliver --users users --mailbox 'mbox:%h/mbox' --lock-wait 1 bob
	run pop --mailbox 'mbox:%h/mbox' <<<$'USER bob\r\nPASS secret\r\nSTAT\r\nQUIT\r'
	assert_line --index 2 --partial "Maildrop has 2 messages"
}

@test "privileges: as root, input is read by a login process that is nobody, mail as the owner; as a user, as that user" {
	[ "$(id -u)" = 0 ] || skip "needs root"
	mkfifo in1
	( exec pop3d --users users < in1 > out1 ) &
	pid=$!
	exec 7>in1
	wait_for 30 '[ -s out1 ]'
	# real, effective, saved, fs: all nobody's in the login process (the
	# helper, $pid, holds no client descriptor; privsep.bats says more)
	login=$(grep -l "^PPid:[[:space:]]*$pid\$" /proc/[0-9]*/status 2>/dev/null | cut -d/ -f3)
	run awk '/^Uid:/ {print $2, $3, $4, $5}' /proc/$login/status
	assert_output "65534 65534 65534 65534"
	printf 'USER bob\r\nPASS secret\r\n' >&7
	wait_for 30 'grep -q "Maildrop has" out1'
	run awk '/^Uid:/ {print $2, $3, $4, $5}' /proc/$pid/status
	assert_output "65534 65534 65534 65534"
	printf 'QUIT\r\n' >&7
	exec 7>&-
	wait
	# an ordinary user (no uid fields needed) serves its own mail
	printf 'bob:{PLAIN}secret::::%s::\n' "$H" > users2
	run bash -c "printf 'USER bob\r\nPASS secret\r\nSTAT\r\nQUIT\r\n' | setpriv --reuid=65534 --regid=65534 --clear-groups $BIN/pop3d --users users2 | tr -d '\r'"
	assert_line --index 3 "+OK 5 220"
	# and root refuses a passwd-file entry without ids (never mail as root)
	run pop3d --users users2 <<<$'USER bob\r\nPASS secret\r\nQUIT\r'
	assert_line --partial "-ERR [SYS/PERM] Cannot access this maildrop"
}

@test "mbox: From_ separation, >From unquoting, DELE rewrites the file at QUIT" {
	printf 'From a@x Mon Nov 23 10:00:00 2026\nSubject: m1\n\n>From the start\n>>From kept once\n\nFrom b@x Mon Nov 23 10:01:00 2026\nSubject: m2\n\nbody two\n\nFrom c@x Mon Nov 23 10:02:00 2026\nSubject: m3\n\nbody three\n\n' > "$H/mbox"
	fix_perms
	run pop --mailbox 'mbox:%h/mbox' <<<$'USER bob\r\nPASS secret\r\nLIST\r\nRETR 1\r\nUIDL 2\r\nDELE 2\r\nQUIT\r'
	assert_line --index 2 "+OK Maildrop has 3 messages (100 octets)"
	assert_line --index 4 "1 48"
	assert_line --index 5 "2 25"
	assert_line --index 10 "From the start"
	assert_line --index 11 ">From kept once"
	assert_line --index 12 "."
	assert_line --index 13 --regexp '^\+OK 2 [0-9a-f]{32}$'
	assert_equal "$(cat "$H/mbox")" "$(printf 'From a@x Mon Nov 23 10:00:00 2026\nSubject: m1\n\n>From the start\n>>From kept once\n\nFrom c@x Mon Nov 23 10:02:00 2026\nSubject: m3\n\nbody three\n\n')"
	[ ! -e "$H/mbox.lock" ]
	# Python's mailbox module reads what is left as two messages
	run "$PY" -c 'import mailbox,sys; print([m["Subject"] for m in mailbox.mbox(sys.argv[1])])' "$H/mbox"
	assert_output "['m1', 'm3']"
}

@test "a client that stops reading is dropped after the idle time and frees the maildrop" {
	head -c 3000000 /dev/zero | tr '\0' x | fold -w 70 | sed '1i Subject: big\n' > "$MD/new/1700000009.M9P9.lab"
	fix_perms
	start_pop3d --idle 2
	"$PY" - "$PORT" <<-'EOF'
	import socket, sys, time, poplib
	port = int(sys.argv[1])
	s = socket.create_connection(("127.0.0.1", port))
	s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
	s.sendall(b"USER bob\r\nPASS secret\r\n" + b"RETR 6\r\n" * 4)
	# never read: the server's writes block, then time out (each blocked
	# write gets the idle time), and the session ends, lock released
	for t in range(30):
	    time.sleep(1)
	    p = poplib.POP3("127.0.0.1", port, timeout=10)
	    p.user("bob")
	    try:
	        p.pass_("secret")
	        break
	    except poplib.error_proto as e:
	        assert b"IN-USE" in e.args[0], e
	        p.close()
	else:
	    raise SystemExit("the stalled session never ended")
	assert p.stat()[0] == 6
	p.quit()
	EOF
}

@test "the chain: what maildeliver wrote (Maildir and mbox) comes back exact" {
	[ -x "$BIN/maildeliver" ] || skip "maildeliver not built"
	rm -rf "$MD"
	fix_perms
	AS=""
	[ "$(id -u)" = 0 ] && AS="setpriv --reuid=65534 --regid=65534 --clear-groups"
	printf 'Subject: a\n\nFrom here\n>From there\n.dot\n' > m1
	printf 'Subject: b\n\nbody\n' > m2
	for m in m1 m2; do
		$AS "$BIN/maildeliver" -f s@example.org -m "maildir:$MD" < $m
		$AS "$BIN/maildeliver" -f s@example.org -m "mbox:$H/mbox" < $m
	done
	want=$'+OK 74 octets\nReturn-Path: <s@example.org>\nSubject: a\n\nFrom here\n>From there\n..dot\n.\n+OK 50 octets\nReturn-Path: <s@example.org>\nSubject: b\n\nbody\n.'
	for mb in 'maildir:%h/Maildir' 'mbox:%h/mbox'; do
		pop --mailbox "$mb" <<<$'USER bob\r\nPASS secret\r\nRETR 1\r\nRETR 2\r\nQUIT\r' > out
		assert_equal "$(sed -n 3p out)" "+OK Maildrop has 2 messages (124 octets)"
		assert_equal "$(sed -n '4,$p' out | sed '$d')" "$want"
	done
}

@test "-v transcript masks the password and SASL responses; idle timeout" {
	plain=$(printf '\0bob\0secret' | base64)
	printf 'USER bob\r\nPASS secret\r\nQUIT\r\n' | pop3d --users users -v 2>log >/dev/null
	grep -qx 'C: PASS \*\*\*\*' log
	! grep -q secret log
	printf 'AUTH PLAIN\r\n%s\r\nQUIT\r\n' "$plain" | pop3d --users users -v 2>log >/dev/null
	grep -qx 'C: \*\*\*\*' log
	! grep -q "$plain" log
	# a hostile user name cannot put control characters into the log
	printf 'USER a\033[2Jb\rX\r\nPASS x\r\nQUIT\r\n' | pop3d --users users -v 2>log >/dev/null
	grep -qx '\* login failed for a?\[2Jb?X' log
	! grep -q $'\033' log
	run bash -c "sleep 3 | pop3d --users users --idle 1 | tr -d '\r'"
	assert_line --index 1 "-ERR Autologout; idle for too long"
}

@test "poplib: every command on -l, RETR byte-exact against the files" {
	start_pop3d
	"$PY" - "$PORT" $(msgfiles) <<-'EOF'
	import poplib, sys, re
	port, files = int(sys.argv[1]), sys.argv[2:]
	def wire(f):
	    d = open(f, "rb").read()
	    d = re.sub(rb"(?<!\r)\n", b"\r\n", d)
	    return d if d.endswith(b"\r\n") else d + b"\r\n"
	p = poplib.POP3("127.0.0.1", port, timeout=10)
	assert p.getwelcome().startswith(b"+OK")
	caps = p.capa()
	for c in ("TOP", "UIDL", "USER", "SASL", "RESP-CODES", "PIPELINING"):
	    assert c in caps, caps
	p.user("bob"); p.pass_("secret")
	n, size = p.stat()
	assert n == len(files) == 5, (n, files)
	assert size == sum(len(wire(f)) for f in files)
	_, listing, _ = p.list()
	for i, f in enumerate(files):
	    assert listing[i] == b"%d %d" % (i + 1, len(wire(f)))
	    _, lines, octets = p.retr(i + 1)
	    got = b"\r\n".join(lines) + b"\r\n"
	    assert got == wire(f), (f, got, wire(f))
	    assert p.list(i + 1).split()[2] == str(len(got)).encode()
	_, uids, _ = p.uidl()
	assert uids[0] == b"1 1700000001.M1P1.lab", uids
	_, top, _ = p.top(2, 2)
	assert top == [b"From: b@example.org", b"Subject: two", b"", b"line 1", b"line 2"], top
	p.noop()
	p.dele(5)
	assert p._shortcmd("LAST") == b"+OK 5"
	p.rset()
	p.dele(3)
	assert p.stat()[0] == 4
	p.quit()
	p = poplib.POP3("127.0.0.1", port, timeout=10)
	p.apop("bob", "secret")
	assert p.stat()[0] == 4
	p.dele(1)
	try:
	    p.uidl(1)
	    raise SystemExit("UIDL of a deleted message answered")
	except poplib.error_proto as e:
	    assert b"already deleted" in e.args[0], e
	p.rset()
	p.quit()
	EOF
	[ ! -e "$MD/new/1700000003.M3P3.lab,S=21,W=24" ]
	[ -f "$MD/cur/1700000001.M1P1.lab:2,S" ]
}

@test "curl pop3:// lists and retrieves byte-exact" {
	start_pop3d
	run curl -s --max-time 10 -u bob:secret "pop3://127.0.0.1:$PORT/"
	assert_success
	assert_equal "$(tr -d '\r' <<<"$output")" $'1 67\n2 61\n3 24\n4 36\n5 32'
	i=1
	for f in $(msgfiles); do crlf "$f" > "want.$i"; i=$((i + 1)); done
	for i in 1 2 3 4 5; do
		curl -s --max-time 10 -u bob:secret "pop3://127.0.0.1:$PORT/$i" > got
		cmp got "want.$i"
	done
}

@test "fetchmail fetches every message byte-exact into an mbox and deletes them" {
	start_pop3d
	export HOME=$BATS_TEST_TMPDIR/fmhome
	mkdir -p "$HOME"
	cat > "$HOME/rc" <<-EOF
	set no bouncemail
	set idfile "$HOME/ids"
	poll 127.0.0.1 service $PORT protocol pop3 auth password timeout 10
	  user "bob" there with password "secret" is "$(id -un)" here
	  sslproto '' no rewrite
	  mda "cat >> $HOME/fetched"
	EOF
	chmod 600 "$HOME/rc"
	mkdir want
	files=$(for f in $(msgfiles); do cp "$f" want/; echo "want/$(basename "$f")"; done)
	run fetchmail -f "$HOME/rc" --nodetach
	echo "$output"
	assert_success
	# fetchmail adds one Received: line per message and passes LF lines
	"$PY" - "$HOME/fetched" $files <<-'EOF'
	import sys, re
	got = open(sys.argv[1], "rb").read()
	parts = re.split(rb"(?m)^(?=Received: from 127\.0\.0\.1)", got)
	parts = [p for p in parts if p]
	assert len(parts) == 5, len(parts)
	for p, f in zip(parts, sys.argv[2:]):
	    body = re.sub(rb"^Received:.*\n(\s.*\n)*", b"", p, count=1)
	    want = open(f, "rb").read().replace(b"\r\n", b"\n")
	    if not want.endswith(b"\n"):
	        want += b"\n"
	    assert body == want, (f, body, want)
	EOF
	run find "$MD/new" "$MD/cur" -type f
	assert_output ""
}

@test "STLS with openssl s_client; plaintext refused before TLS; pipelined commands dropped" {
	make_cert
	start_pop3d --cert cert.pem --key key.pem --require-tls
	run pop --cert cert.pem --key key.pem --require-tls <<<$'CAPA\r\nUSER bob\r\nAUTH PLAIN AGJvYgBzZWNyZXQ=\r\nQUIT\r'
	assert_line "STLS"
	refute_line "USER"
	assert_line "SASL CRAM-MD5"
	assert_line --partial "-ERR [AUTH] Plaintext authentication disallowed"
	run bash -c "printf 'CAPA\r\nUSER bob\r\nPASS secret\r\nSTAT\r\nQUIT\r\n' | timeout 10 openssl s_client -quiet -starttls pop3 -connect 127.0.0.1:$PORT 2>/dev/null | tr -d '\r'"
	assert_line "USER"
	refute_line "STLS"
	assert_line "+OK 5 220"
	"$PY" - "$PORT" <<-'EOF'
	import socket, ssl, sys
	s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
	f = s.makefile("rb")
	f.readline()
	# a command injected after STLS in the same packet must not run under TLS
	s.sendall(b"STLS\r\nUSER evil\r\n")
	assert f.readline().startswith(b"+OK Begin TLS")
	ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
	t = ctx.wrap_socket(s)
	t.sendall(b"PASS secret\r\n")
	tf = t.makefile("rb")
	line = tf.readline()
	assert line.startswith(b"-ERR USER first"), line
	t.sendall(b"STLS\r\nQUIT\r\n")
	assert tf.readline().startswith(b"-ERR Already under TLS")
	EOF
}

@test "--tls: pop3s with s_client and curl pop3s://" {
	make_cert
	start_pop3d --cert cert.pem --key key.pem --tls
	run bash -c "printf 'USER bob\r\nPASS secret\r\nSTAT\r\nQUIT\r\n' | timeout 10 openssl s_client -quiet -connect 127.0.0.1:$PORT 2>/dev/null | tr -d '\r'"
	assert_line --index 0 --partial "POP3 server ready"
	assert_line "+OK 5 220"
	run curl -s -k --max-time 10 -u bob:secret "pop3s://127.0.0.1:$PORT/2"
	assert_success
	assert_equal "$output" "$(crlf "$MD/cur/1700000002.M2P2.lab:2,S")"
}

@test "SIGTERM stops the listener with status 0, its TLS context freed (SAN=1: no leak report)" {
	make_cert
	PORT=$(free_port)
	pop3d -l "127.0.0.1:$PORT" --users users --cert cert.pem --key key.pem 2>stop.log &
	pid=$!
	wait_port "$PORT"
	kill -TERM "$pid"
	st=0
	wait "$pid" || st=$?
	assert_equal "$st" 0
	run grep -E "Sanitizer|runtime error" stop.log
	assert_failure
}

@test "under a real xinetd" {
	start_xinetd pop3-maillab "$BIN/pop3d" --users "$BATS_TEST_TMPDIR/users"
	"$PY" - "$PORT" <<-'EOF'
	import poplib, sys
	p = poplib.POP3("127.0.0.1", int(sys.argv[1]), timeout=10)
	p.user("bob"); p.pass_("secret")
	assert p.stat() == (5, 220), p.stat()
	assert p.retr(1)[1][-1] == b"..two dots"
	p.quit()
	EOF
}
