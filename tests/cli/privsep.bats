#!/usr/bin/env bats
# Privilege separation in pop3d and imapd (issue 19 item 6): started as
# root, every client byte before login (the TLS handshake included) is read
# by a process whose uids and gids are all unprivileged, with no_new_privs;
# a root helper answers its requests, checks each, and after a login runs
# the session as the mail owner.  The tests look at the kernel's view of
# the processes (/proc), and forge requests on the helper socket with a
# descriptor taken from the login process (pidfd_getfd).

load helpers
PORT_BASE=36000

setup_file() {
	cd "$BATS_FILE_TMPDIR"
	make_cert
}

setup() {
	cd "$BATS_TEST_TMPDIR"
	H=$BATS_TEST_TMPDIR/home/bob
	MD=$H/Maildir
	mkdir -p "$MD/new" "$MD/cur" "$MD/tmp" "$BATS_TEST_TMPDIR/home/alice/Maildir/new"
	printf 'Subject: one\n\nhello\n' > "$MD/new/1700000001.M1P1.lab"
	# the mail owner is neither root nor the login account (nobody)
	if [ "$(id -u)" = 0 ]; then IDS=4242:4243; else IDS=$(id -u):$(id -g); fi
	cat > users <<-EOF
	bob:{PLAIN}secret:$IDS::$H::
	alice:{PLAIN}alicepw:$IDS::$BATS_TEST_TMPDIR/home/alice::
	EOF
	chmod 600 users
	fix_perms "$IDS"
	cp "$BATS_FILE_TMPDIR"/*.pem .
	write_probe
	export H MD IDS
}

teardown() {
	stop_all
	no_sanitizer_report "$BATS_TEST_TMPDIR/server.log"
}

start_server() {     # start_server pop3d|imapd ARGS...
	local prog=$1
	shift
	PORT=$(free_port)
	start_bg "$prog" -l "127.0.0.1:$PORT" --users users --cert cert.pem --key key.pem "$@" \
		2>"$BATS_TEST_TMPDIR/server.log"
	wait_port "$PORT"
}

# probe.py: a client that stops at a given point and reports, from /proc,
# the processes holding the server's end of its connection.
write_probe() {
	cat > probe.py <<-'EOF'
	import os, re, select, socket, ssl, struct, sys, ctypes, time

	def holders(port, cport):
	    """pids holding the server's socket 127.0.0.1:port <-> 127.0.0.1:cport"""
	    want = "0100007F:%04X" % port, "0100007F:%04X" % cport
	    inode = None
	    for line in open("/proc/net/tcp").read().splitlines()[1:]:
	        f = line.split()
	        if (f[1], f[2]) == want:
	            inode = f[9]
	    assert inode, "no server socket"
	    pids = set()
	    for pid in filter(str.isdigit, os.listdir("/proc")):
	        try:
	            for fd in os.listdir("/proc/%s/fd" % pid):
	                if os.readlink("/proc/%s/fd/%s" % (pid, fd)) == "socket:[%s]" % inode:
	                    pids.add(int(pid))
	        except OSError:
	            pass
	    return sorted(pids)

	def status(pid):
	    d = {}
	    for line in open("/proc/%d/status" % pid):
	        k, _, v = line.partition(":")
	        d[k] = v.split()
	    return d

	def ids(pid):
	    s = status(pid)
	    return s["Uid"], s["Gid"], s["Groups"], s["NoNewPrivs"]

	def wait_holders(port, cport, n=1):
	    for _ in range(200):
	        h = holders(port, cport)
	        if len(h) == n:
	            return h
	        time.sleep(0.05)
	    return holders(port, cport)

	class Client:
	    def __init__(self, proto, port, mode):
	        self.proto, self.port = proto, port
	        self.s = socket.create_connection(("127.0.0.1", port), timeout=10)
	        self.cport = self.s.getsockname()[1]
	        ctx = ssl.create_default_context()
	        ctx.check_hostname = False
	        ctx.verify_mode = ssl.CERT_NONE
	        if mode == "tls":
	            self.s = ctx.wrap_socket(self.s)
	        self.f = self.s.makefile("rb")
	        self.greeting = self.line()
	        if mode == "starttls":
	            self.cmd(b"STLS" if proto == "pop3d" else b"t STARTTLS")
	            self.s = ctx.wrap_socket(self.s)
	            self.f = self.s.makefile("rb")
	    def line(self):
	        return self.f.readline()
	    def cmd(self, c):
	        self.s.sendall(c + b"\r\n")
	        if self.proto == "imapd":
	            tag = c.split(b" ")[0]
	            out = []
	            while True:
	                l = self.line()
	                out.append(l)
	                if not l or l.startswith(tag + b" "):
	                    return b"".join(out)
	        return self.line()
	    def login(self, user=b"bob", pw=b"secret"):
	        if self.proto == "pop3d":
	            self.cmd(b"USER " + user)
	            return self.cmd(b"PASS " + pw)
	        return self.cmd(b"a LOGIN " + user + b" " + pw)

	# The request as lib/privsep.h lays it out (host order, x86-64).
	MSG = "<II256s1024s64sIIII256s16384s"
	REP = "<III256s"
	MAGIC = 0x6d6c7073
	def msg(t, user=b"", secret=b"", digest=b"", tls=0, nfds=0, state=b"", pending=b""):
	    return struct.pack(MSG, MAGIC, t, user, secret, digest, tls, nfds, len(state),
	                       len(pending), state, pending)

	def helper_socket(pid):
	    """a duplicate of the login process's end of its helper socket"""
	    seq = {l.split()[6] for l in open("/proc/net/unix").read().splitlines()[1:]
	           if l.split()[4] == "0005"}
	    for fd in os.listdir("/proc/%d/fd" % pid):
	        m = re.match(r"socket:\[(\d+)\]", os.readlink("/proc/%d/fd/%s" % (pid, fd)))
	        if m and m.group(1) in seq:
	            libc = ctypes.CDLL(None, use_errno=True)
	            pidfd = os.pidfd_open(pid)
	            dup = libc.syscall(438, pidfd, int(fd), 0)     # pidfd_getfd
	            assert dup >= 0, os.strerror(ctypes.get_errno())
	            os.close(pidfd)
	            return socket.socket(fileno=dup)
	    raise SystemExit("no helper socket in %d" % pid)

	def ask(sock, data, fds=()):
	    # blocking, and no settimeout: O_NONBLOCK would be the login
	    # process's too (one open file), and its own reads would fail
	    sock.setblocking(True)
	    if fds:
	        socket.send_fds(sock, [data], list(fds))
	    else:
	        sock.send(data)
	    assert select.select([sock], [], [], 10)[0], "no answer"
	    r = sock.recv(4096)
	    if not r:
	        return None
	    magic, t, ok, text = struct.unpack(REP, r)
	    assert magic == MAGIC
	    return ok
	EOF
}

@test "not root: -v says there is nothing to separate, and the session works as before" {
	if [ "$(id -u)" = 0 ]; then
		run_as="setpriv --reuid=65534 --regid=65534 --clear-groups"
		chmod 644 users
	else
		run_as=""
	fi
	for prog in pop3d imapd; do
		run bash -c "printf 'QUIT\r\na LOGOUT\r\n' | $run_as $BIN/$prog -v --users users 2>&1 >/dev/null"
		assert_output --partial "privilege separation: off (not started as root"
	done
}

# The processes holding the client's socket before login: each must have
# every uid and gid unprivileged, no groups, no_new_privs; root's helper
# holds none.
check_prelogin() {   # check_prelogin pop3d|imapd plain|tls|starttls
	"$PY" - "$1" "$PORT" "$2" <<-'EOF'
	import sys; sys.path.insert(0, ".")
	from probe import *
	proto, port, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
	c = Client(proto, port, mode)
	h = holders(port, c.cport)
	assert len(h) == 1, h
	uid, gid, groups, nnp = ids(h[0])
	assert uid == ["65534"] * 4, uid
	assert gid == ["65534"] * 4, gid
	assert groups == [], groups
	assert nnp == ["1"], nnp
	# and a client byte before login is read there too: a bad command
	r = c.cmd(b"BOGUS" if proto == "pop3d" else b"x BOGUS")
	assert b"-ERR" in r or b"BAD" in r, r
	assert holders(port, c.cport) == h
	print("ok", mode)
	EOF
}

@test "pop3d as root: before login (plain, STLS, pop3s) the socket is held only by a nobody process with no_new_privs" {
	[ "$(id -u)" = 0 ] || skip "needs root (nothing to separate otherwise)"
	start_server pop3d
	check_prelogin pop3d plain
	check_prelogin pop3d starttls
	start_server pop3d --tls
	check_prelogin pop3d tls
}

# After login: the session runs with the owner's uids (4242), never root;
# under TLS the login process (nobody) keeps the TLS session and relays.
check_postlogin() {  # check_postlogin pop3d|imapd plain|tls
	"$PY" - "$1" "$PORT" "$2" <<-'EOF'
	import sys; sys.path.insert(0, ".")
	from probe import *
	proto, port, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
	c = Client(proto, port, mode)
	login = holders(port, c.cport)[0]
	r = c.login()
	assert b"+OK Maildrop has 1" in r or b"a OK" in r, r
	h = wait_holders(port, c.cport)
	assert len(h) == 1, h
	if mode == "plain":
	    # the socket was handed over: the login process is gone
	    assert h[0] != login
	    session = h[0]
	else:
	    # the login process relays; the session is its sibling, the helper
	    assert h[0] == login
	    session = int(status(login)["PPid"][0])
	    assert ids(login)[0] == ["65534"] * 4
	uid, gid, groups, nnp = ids(session)
	assert uid == ["4242"] * 4, uid
	assert gid == ["4243"] * 4, gid
	assert groups == ["4243"], groups
	r = c.cmd(b"STAT" if proto == "pop3d" else b"b SELECT INBOX")
	assert b"+OK 1 " in r or b"b OK" in r, r
	r = c.cmd(b"QUIT" if proto == "pop3d" else b"c LOGOUT")
	assert b"+OK" in r or b"c OK" in r, r
	print("ok", mode)
	EOF
}

@test "pop3d as root: after login the session has the owner's uids and gid; under TLS nobody relays" {
	[ "$(id -u)" = 0 ] || skip "needs root"
	start_server pop3d --mailbox 'maildir:%h/Maildir'
	check_postlogin pop3d plain
	start_server pop3d --mailbox 'maildir:%h/Maildir' --tls
	check_postlogin pop3d tls
}

# Forged requests on the helper socket, from a descriptor taken out of the
# login process: each is refused, and the session ends.
check_forged() {     # check_forged pop3d|imapd
	"$PY" - "$1" "$PORT" <<-'EOF'
	import sys; sys.path.insert(0, ".")
	from probe import *
	proto, port = sys.argv[1], int(sys.argv[2])

	def forged(what):
	    c = Client(proto, port, "plain")
	    login = holders(port, c.cport)[0]
	    h = helper_socket(login)
	    ok = what(h, c)
	    # refused, and the login process is gone with its client
	    c.s.settimeout(10)
	    assert c.s.recv(100) == b"", "session still open"
	    h.close()
	    return ok

	# wrong format: short, long, bad magic, unknown type, a field without NUL
	assert forged(lambda h, c: ask(h, b"PASS bob secret")) in (0, None)
	assert forged(lambda h, c: ask(h, msg(1, b"bob", b"secret") + b"x")) in (0, None)
	assert forged(lambda h, c: ask(h, b"\0" * 4 + msg(1, b"bob", b"secret")[4:])) in (0, None)
	assert forged(lambda h, c: ask(h, msg(9, b"bob"))) in (0, None)
	assert forged(lambda h, c: ask(h, msg(1, b"b" * 256, b"secret"))) in (0, None)
	assert forged(lambda h, c: ask(h, msg(1, b"../bob", b"secret"))) in (0, None)
	# no prior login: START for bob with the client's own socket
	assert forged(lambda h, c: ask(h, msg(5, b"bob", nfds=1), [c.s.fileno()])) in (0, None)
	# another user: a yes for bob, then START for alice
	def other(h, c):
	    assert ask(h, msg(1, b"bob", b"secret")) == 1
	    return ask(h, msg(5, b"alice", nfds=1), [c.s.fileno()])
	assert forged(other) in (0, None)
	# a wrong password is a plain no, and the session goes on
	c = Client(proto, port, "plain")
	h = helper_socket(holders(port, c.cport)[0])
	assert ask(h, msg(1, b"bob", b"wrong")) == 0
	r = c.login()
	assert b"+OK Maildrop" in r or b"a OK" in r, r
	print("ok")
	EOF
	grep -q "refused request: start for another user" "$BATS_TEST_TMPDIR/server.log"
	grep -q "refused request: start without a login" "$BATS_TEST_TMPDIR/server.log"
}

@test "pop3d as root: forged requests on the helper socket (wrong format, no prior login, another user) are refused" {
	[ "$(id -u)" = 0 ] || skip "needs root"
	start_server pop3d --mailbox 'maildir:%h/Maildir'
	check_forged pop3d
}

@test "imapd as root: before login (plain, STARTTLS, imaps) the socket is held only by a nobody process with no_new_privs" {
	[ "$(id -u)" = 0 ] || skip "needs root (nothing to separate otherwise)"
	start_server imapd
	check_prelogin imapd plain
	check_prelogin imapd starttls
	start_server imapd --tls
	check_prelogin imapd tls
}

@test "imapd as root: after login the session has the owner's uids and gid; under TLS nobody relays" {
	[ "$(id -u)" = 0 ] || skip "needs root"
	start_server imapd --mailbox 'maildir:%h/Maildir'
	check_postlogin imapd plain
	start_server imapd --mailbox 'maildir:%h/Maildir' --tls
	check_postlogin imapd tls
}

@test "imapd as root: forged requests on the helper socket (wrong format, no prior login, another user) are refused" {
	[ "$(id -u)" = 0 ] || skip "needs root"
	start_server imapd --mailbox 'maildir:%h/Maildir' --auth-delay 0
	check_forged imapd
}

# inetd mode: the client is a pair of pipes; the process reading them is
# nobody's, and after login the helper ($pid) serves as the owner.  SASL
# (CRAM-MD5, whose challenge the helper makes) and pipelined commands after
# the login go across too.
@test "inetd mode as root: pop3d and imapd read the pipes as nobody, then serve as the owner; CRAM-MD5 and pipelining cross the login" {
	[ "$(id -u)" = 0 ] || skip "needs root"
	for prog in pop3d imapd; do
		rm -f in1 out1
		mkfifo in1
		( exec "$prog" --users users --mailbox 'maildir:%h/Maildir' < in1 > out1 2>>server.log ) &
		pid=$!
		exec 7>in1
		wait_for 30 '[ -s out1 ]'
		login=$(grep -l "^PPid:[[:space:]]*$pid\$" /proc/[0-9]*/status 2>/dev/null | cut -d/ -f3)
		run awk '/^(Uid|Gid):/ {print $2, $3, $4, $5} /^NoNewPrivs/ {print $2}' /proc/$login/status
		assert_output $'65534 65534 65534 65534\n65534 65534 65534 65534\n1'
		if [ "$prog" = pop3d ]; then
			printf 'AUTH CRAM-MD5\r\n' >&7
			wait_for 30 'grep -q "^+ " out1'
			chal=$(grep '^+ ' out1 | tr -d '\r' | cut -c3- | base64 -d)
		else
			printf 'a AUTHENTICATE CRAM-MD5\r\n' >&7
			wait_for 30 'grep -q "^+ " out1'
			chal=$(grep '^+ ' out1 | tr -d '\r' | cut -c3- | base64 -d)
		fi
		mac=$(printf '%s' "$chal" | openssl dgst -md5 -hmac secret -r | cut -d' ' -f1)
		if [ "$prog" = pop3d ]; then
			printf '%s\r\nSTAT\r\n' "$(printf 'bob %s' "$mac" | base64 -w0)" >&7
			wait_for 30 'grep -q "^+OK 1 " out1'
		else
			printf '%s\r\nb SELECT INBOX\r\n' "$(printf 'bob %s' "$mac" | base64 -w0)" >&7
			wait_for 30 'grep -q "^b OK" out1'
			grep -q '^a OK .*Logged in' out1
		fi
		run awk '/^(Uid|Gid):/ {print $2, $3, $4, $5}' /proc/$pid/status
		assert_output $'4242 4242 4242 4242\n4243 4243 4243 4243'
		if [ "$prog" = pop3d ]; then printf 'QUIT\r\n' >&7; else printf 'c LOGOUT\r\n' >&7; fi
		exec 7>&-
		wait "$pid"
	done
}
