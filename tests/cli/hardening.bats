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
