#!/usr/bin/env bats
# What a hostile client, a full disk or a dying process used to break
# (issue 19): each test failed before its fix.

load helpers
load smtpd-common
PORT_BASE=47000

setup() {
	smtpd_setup
}

teardown() {
	stop_all
	no_sanitizer_report "$W/smtpd.log"
}

@test "smtpd: a quoted local part with a control byte (TAB, or CR/ESC after a backslash) is refused at MAIL" {
	run sm <<< "$(printf 'EHLO c\r\nMAIL FROM:<"a\\\rX-Injected: yes"@c.example>\r\nMAIL FROM:<"a\tb"@c.example>\r\nMAIL FROM:<"a\\\033"@c.example>\r\nMAIL FROM:<"a\\ b"@c.example>\r\nQUIT\r\n')"
	assert_line --index 10 --regexp "^501 5.1.7 Bad sender address syntax: bad quoted local part"
	assert_line --index 11 --regexp "^501 5.1.7 Bad sender address syntax: bad quoted local part"
	assert_line --index 12 --regexp "^501 5.1.7 Bad sender address syntax: bad quoted local part"
	assert_line --index 13 "250 2.1.0 Ok"
}

@test "smtpd: BDAT with a size over the limit is refused at once, without reading the chunk" {
	# The client sends no chunk and keeps the connection open: the reply
	# must come at once, not after the chunk or the timeout.
	run timeout 10 "$PY" - "${SM[@]}" <<-'EOF'
	import subprocess, sys, time
	p = subprocess.Popen(sys.argv[1:], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
	p.stdin.write(b"EHLO c\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<bob@example.org>\r\nBDAT 99999999999999999999\r\n")
	p.stdin.flush()
	t = time.time()
	lines = []
	while not lines or not lines[-1].startswith(b"250 2.1.5"):
	    lines.append(p.stdout.readline())
	print(p.stdout.readline().decode().rstrip("\r\n"))
	print("after %.1f s" % (time.time() - t))
	p.kill()
	EOF
	assert_line --index 0 --regexp "^552 5.3.4 "
	assert_line --regexp "^after [0-4]\."
}

@test "smtpd: a second SIZE= (or BODY=, SMTPUTF8) parameter is refused" {
	run sm <<< "$(printf 'EHLO c\r\nMAIL FROM:<a@b.c> SIZE=10 SIZE=20\r\nMAIL FROM:<a@b.c> BODY=8BITMIME BODY=7BIT\r\nMAIL FROM:<a@b.c> SMTPUTF8 SMTPUTF8\r\nMAIL FROM:<a@b.c> SIZE=10 BODY=8BITMIME\r\nQUIT\r\n')"
	assert_line --index 10 --regexp "^501 5.5.4 "
	assert_line --index 11 --regexp "^501 5.5.4 "
	assert_line --index 12 --regexp "^501 5.5.4 "
	assert_line --index 13 "250 2.1.0 Ok"
}

@test "smtpd: a DEL byte the client sent is not echoed in a reply (found by fuzz_smtpsession)" {
	run sm <<< "$(printf 'EHLO c\r\nMAIL FROM:<a@b.c> X\177Y=1\r\nQUIT\r\n')"
	assert_line --index 10 "555 5.5.4 Unsupported option: X Y"
	refute_output --partial "$(printf '\177')"
}

@test "smtpd started as root: a recipient with uid 0 is refused with 5xx at RCPT, not 451 after DATA" {
	[ "$(id -u)" = 0 ] || skip "needs root"
	mkdir -p home/toor
	echo "toor:{PLAIN}x:0:0::$W/home/toor::" >> users
	run sm <<< "$(printf 'EHLO c\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<toor@example.org>\r\nRCPT TO:<bob@example.org>\r\nQUIT\r\n')"
	assert_line --index 11 --regexp "^550 5\.7\.1 <toor@example.org>: .*uid 0"
	assert_line --index 12 "250 2.1.5 Ok"
}

@test "maildeliver as root: a passwd-file user with gid 0 is refused like uid 0, naming the fix" {
	[ "$(id -u)" = 0 ] || skip "needs root"
	mkdir -p home/grp
	chown 65534:0 home/grp
	echo "grp:{PLAIN}x:65534:0::$W/home/grp::" >> users
	printf 'Subject: x\n\nhi\n' > msg
	run maildeliver --users "$W/users" grp < msg
	assert_equal "$status" 75
	assert_output --partial "gid 0"
	assert_output --partial "passwd-file"
	[ ! -e home/grp/Maildir/new ] || [ -z "$(ls home/grp/Maildir/new)" ]
}

@test "smtpd -l as root: a protocol half whose root half was killed mid-delivery serves no more clients" {
	[ "$(id -u)" = 0 ] || skip "needs root"
		# carol is not the protocol's user (mail): her root half's death,
	# with her uid as its effective one, sends no PR_SET_PDEATHSIG.
	mkdir -p home/carol
	echo "carol:{PLAIN}x:65534:65534::$W/home/carol::" >> users
	: > home/carol/mbox
	chown -R 65534:65534 home/carol
	start_smtpd --mailbox 'mbox:%h/mbox'
	LISTENER=$(tail -n 1 "$W/pids")
	run timeout 60 "$PY" - "$PORT" "$LISTENER" "$W/home/carol/mbox" 65534 <<-'EOF2'
	import fcntl, os, smtplib, sys, threading, time
	port, listener, mbox, mailuid = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
	def status(pid):
	    d = {}
	    for l in open("/proc/%s/status" % pid):
	        k, _, v = l.partition(":")
	        d[k] = v.split()
	    return d
	def kids(ppid):
	    out = []
	    for p in os.listdir("/proc"):
	        if p.isdigit():
	            try:
	                if status(p)["PPid"] == [ppid]:
	                    out.append(p)
	            except OSError:
	                pass
	    return out
	lock = open(mbox, "r+")
	fcntl.lockf(lock, fcntl.LOCK_EX)   # the delivery waits on it, as bob
	res = {}
	def first():
	    try:
	        smtplib.SMTP("127.0.0.1", port).sendmail("a@b.c", ["carol@example.org"], "Subject: 1\r\n\r\nx\r\n")
	        res["first"] = "250"
	    except smtplib.SMTPException as e:
	        res["first"] = repr(e)
	t = threading.Thread(target=first)
	t.start()
	root = None
	for _ in range(200):
	    for k in kids(listener):
	        st = status(k)
	        if st["Uid"][0] == "0" and st["Uid"][1] == mailuid:
	            root = k
	    if root:
	        break
	    time.sleep(0.05)
	assert root, "no root half delivering as the recipient"
	os.kill(int(root), 9)
	t.join(30)
	print("first", res.get("first"))
	fcntl.lockf(lock, fcntl.LOCK_UN)
	for i in range(6):
	    try:
	        smtplib.SMTP("127.0.0.1", port, timeout=20).sendmail("a@b.c", ["carol@example.org"], "Subject: %d\r\n\r\nx\r\n" % i)
	        print("again 250")
	    except smtplib.SMTPException as e:
	        print("again", repr(e))
	EOF2
	echo "$output"
	refute_line --regexp "^again .*451"
	assert_line --regexp "^first .*451.*the delivering process has gone"
	[ "$(grep -c '^again 250' <<< "$output")" = 6 ]
}

@test "pop3d: the time before login is a whole deadline, not per command: commands every half second do not hold it" {
	run timeout 20 "$PY" - pop3d --idle 2 --users "$W/users" <<-'EOF2'
	import subprocess, sys, time
	p = subprocess.Popen(sys.argv[1:], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
	t = time.time()
	print(p.stdout.readline().decode().rstrip())
	for i in range(16):
	    try:
	        p.stdin.write(b"NOOP\r\n")
	        p.stdin.flush()
	    except BrokenPipeError:
	        break
	    time.sleep(0.5)
	    if p.poll() is not None:
	        break
	try:
	    p.stdin.close()     # a NOOP the dead server never read may still be buffered
	except BrokenPipeError:
	    pass
	out = p.stdout.read().decode()
	print(out)
	print("ended after %.1f s" % (time.time() - t))
	EOF2
	echo "$output"
	assert_line --partial "-ERR Autologout"
	assert_line --regexp "^ended after [2-4]\."
}

# 300 connections from one address (slow writers among them) against each
# server in -l mode: a client from another address still gets its greeting
# within a second, and the flood beyond --max-per-client is turned away.
flood() {
	run timeout 60 "$PY" "$ROOT/tests/cli/flood.py" "$PORT"
	echo "$output"
	assert_line --regexp "^greeting b'$1.* after 0\.[0-9]+ s"
	assert_line --regexp "^turned away (2[0-9][0-9])$"
}

@test "flood: smtpd -l serves a second client within a second while one address opens 300 connections" {
	start_smtpd
	flood 220
}

@test "flood: pop3d -l serves a second client within a second while one address opens 300 connections" {
	PORT=$(free_port)
	start_bg pop3d -l "127.0.0.1:$PORT" --users users --max-per-client 20 -v 2>"$W/smtpd.log"
	wait_port "$PORT"
	flood '\+OK'
	grep -q "limits: 100 sessions at once, 20 from one address" "$W/smtpd.log"
	grep -q "too many connections (20 at once from one address); refused" "$W/smtpd.log"
}

@test "flood: imapd -l serves a second client within a second while one address opens 300 connections" {
	PORT=$(free_port)
	start_bg imapd -l "127.0.0.1:$PORT" --users users 2>"$W/smtpd.log"
	wait_port "$PORT"
	flood '\* OK'
}

@test "smtpd: --timeout bounds a whole command line: one byte every half second does not hold the session" {
	run timeout 20 "$PY" - "${SM[@]}" --timeout 2 <<-'EOF2'
	import subprocess, sys, time
	p = subprocess.Popen(sys.argv[1:], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
	t = time.time()
	print(p.stdout.readline().decode().rstrip())
	for c in b"NOOP NOOP NOOP NOOP NOOP\r\n":
	    try:
	        p.stdin.write(bytes([c]))
	        p.stdin.flush()
	    except BrokenPipeError:
	        break
	    time.sleep(0.5)
	    if p.poll() is not None:
	        break
	print(p.stdout.read().decode().rstrip())
	print("ended after %.1f s" % (time.time() - t))
	EOF2
	echo "$output"
	assert_line --regexp "^421 4.4.2 .*timeout"
	assert_line --regexp "^ended after [2-4]\."
}
