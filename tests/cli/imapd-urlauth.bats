#!/usr/bin/env bats
# imapd's URLAUTH (RFC 4467) and URLAUTH=BINARY (RFC 5524): GENURLAUTH,
# URLFETCH and RESETKEY sent raw by Python's imaplib over loopback, with two
# users sharing one uid (virtual users), so one may fetch the other's URLs.

load helpers
PORT_BASE=34500

setup() {
	cd "$BATS_TEST_TMPDIR"
	MD=$BATS_TEST_TMPDIR/home/bob/Maildir
	mkdir -p "$MD"/{cur,new,tmp} "$MD"/.Sent/{cur,new,tmp} "$BATS_TEST_TMPDIR/home/alice"
	if [ "$(id -u)" = 0 ]; then IDS=65534:65534; else IDS=$(id -u):$(id -g); fi
	cat > users <<-EOF_
	bob:{PLAIN}secret:$IDS::$BATS_TEST_TMPDIR/home/bob::
	alice:{PLAIN}alicepw:$IDS::$BATS_TEST_TMPDIR/home/alice::
	EOF_
	printf 'From: a@example.org\nSubject: one\n\nhello\nworld\n' > "$MD/cur/1700000001.M1P1.lab:2,S"
	printf 'From: c@example.org\nSubject: two\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="XX"\n\npre\n--XX\nContent-Type: text/plain\n\npart one\n--XX\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n\nc2VjcmV0AHdvcmQK\n--XX--\n' \
		> "$MD/cur/1700000002.M2P2.lab:2,S"
	fix_perms
	start_imapd
	export MD
}

teardown() {
	stop_all || true
	no_sanitizer_report "$BATS_TEST_TMPDIR/imapd.log"
}

# A Python script run with a raw IMAP client: login(user, pw) gives a
# connection c; c.cmd("...") sends one command and returns its responses
# as one bytes string (literals inline), failing unless it ends in OK.
pyimap() {
	{ imap_pylib; cat <<-'EOF_'; } > client.py
	import re, sys, time
	class C:
	    def __init__(self, user, pw):
	        self.m = session(user, pw)
	        self.n = 0
	    def cmd(self, text, want=b"OK"):
	        self.n += 1
	        tag = b"T%d" % self.n
	        self.m.send(tag + b" " + text.encode() + b"\r\n")
	        out = b""
	        while True:
	            line = self.m.readline()
	            assert line, "connection closed"
	            out += line
	            lit = re.search(rb"\{(\d+)\}\r\n$", line)
	            if lit:
	                out += self.m.read(int(lit.group(1)))
	                continue
	            if line.startswith(tag + b" "):
	                assert line[len(tag) + 1:].startswith(want), (text, out)
	                return out
	def login(user="bob", pw="secret"):
	    return C(user, pw)
	def gen(c, url):
	    r = c.cmd('GENURLAUTH "%s" INTERNAL' % url)
	    m = re.search(rb'^\* GENURLAUTH "([^"]+)"', r, re.M)
	    assert m, r
	    return m.group(1).decode()
	def fetch(c, url, params=""):
	    arg = '("%s" %s)' % (url, params) if params else '"%s"' % url
	    return c.cmd("URLFETCH " + arg)
	EOF_
	cat client.py - > run.py
	run "$PY" run.py
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "imapd-urlauth: URLAUTH and URLAUTH=BINARY are advertised after login, not before" {
	pyimap <<-'EOF_'
	c = login()
	r = c.cmd("CAPABILITY")
	assert b" URLAUTH " in r and b" URLAUTH=BINARY" in r, r
	print(c.m.welcome)
	assert b"URLAUTH" not in c.m.welcome
	EOF_
}

@test "imapd-urlauth: a generated URL fetches its message, part, binary content and structure" {
	pyimap <<-'EOF_'
	c = login()
	u1 = gen(c, "imap://bob@127.0.0.1/INBOX/;uid=1;urlauth=user+bob")
	assert re.fullmatch(r"imap://bob@127\.0\.0\.1/INBOX/;uid=1;urlauth=user\+bob:internal:[0-9a-f]{40}", u1), u1
	r = fetch(c, u1)
	assert b'* URLFETCH "%s" {51}\r\nFrom: a@example.org\r\nSubject: one\r\n\r\nhello\r\nworld\r\n' % u1.encode() in r, r
	u2 = gen(c, "imap://bob@127.0.0.1/INBOX/;uid=2/;section=2;urlauth=authuser")
	r = fetch(c, u2)
	assert b"{16}\r\nc2VjcmV0AHdvcmQK\r\n" in r, r
	r = fetch(c, u2, "BINARY BODYPARTSTRUCTURE")
	assert b'(BODYPARTSTRUCTURE ("application" "octet-stream" NIL NIL NIL "base64" 12 NIL NIL NIL NIL) BINARY ~{12}\r\nsecret\0word\n)' in r, r
	# the structure alone is of the part as stored; with BINARY, of the data sent
	r = fetch(c, u2, "BODYPARTSTRUCTURE")
	assert b'(BODYPARTSTRUCTURE ("application" "octet-stream" NIL NIL NIL "base64" 16 NIL NIL NIL NIL))\r\n' in r, r
	# the whole message as BINARY: the base64 part decoded and relabelled
	u3 = gen(c, "imap://bob@127.0.0.1/INBOX/;uid=2;urlauth=anonymous")
	r = fetch(c, u3, "BINARY")
	assert b"Content-Transfer-Encoding: binary\r\n\r\nsecret\0word\n\r\n--XX--" in r, r
	u4 = gen(c, "imap://bob@127.0.0.1/INBOX/;uid=1/;partial=6.5;expire=2999-01-01T00:00:00Z;urlauth=user+bob")
	r = fetch(c, u4)
	assert b"{5}\r\na@exa" in r, r
	# a folder name is UTF-8 in a URL (RFC 5092), modified UTF-7 in IMAP
	c.cmd('CREATE "Caf&AOk-"')
	c.cmd('APPEND "Caf&AOk-" {11+}\r\nSubject: \xe9')
	uc = gen(c, "imap://bob@127.0.0.1/Caf%C3%A9/;uid=1;urlauth=user+bob")
	assert "{11}\r\nSubject: \xe9".encode() in fetch(c, uc), fetch(c, uc)
	# several URLs in one command: one response each
	r = c.cmd('URLFETCH "%s" ("%s" BODY)' % (u1, u2))
	assert r.count(b"* URLFETCH ") == 2, r
	EOF_
}

@test "imapd-urlauth: a changed token, another user's URL, an expired URL, a message gone give NIL" {
	pyimap <<-'EOF_'
	c = login()
	a = login("alice", "alicepw")
	u = gen(c, "imap://bob@127.0.0.1/INBOX/;uid=1;urlauth=user+bob")
	def nil(conn, url, p=""):
	    r = fetch(conn, url, p)
	    return r.count(b"* URLFETCH ") == 1 and b" NIL\r\nT" in r
	bad = u[:-1] + ("0" if u[-1] != "0" else "1")
	assert nil(c, bad)
	assert nil(c, u.replace("uid=1", "uid=2"))              # token bound to the whole URL
	assert nil(c, u.replace(":internal:", ":INTERNAL:")[:-2]) # too short
	# bob's user+bob URL is not alice's to fetch; a URL naming alice's mailbox
	# cannot be made by bob, nor made up with bob's token
	assert nil(a, u)
	c.cmd('GENURLAUTH "imap://alice@127.0.0.1/INBOX/;uid=1;urlauth=anonymous" INTERNAL', want=b"NO")
	assert nil(a, u.replace("imap://bob@", "imap://alice@"))
	# authuser: any logged-in user of this server
	ua = gen(c, "imap://bob@127.0.0.1/INBOX/;uid=1;urlauth=authuser")
	assert b"{51}" in fetch(a, ua)
	us = gen(c, "imap://bob@127.0.0.1/INBOX/;uid=1;urlauth=submit+bob")
	assert nil(c, us) and nil(a, us)                        # only for --submit-user
	old = gen(c, "imap://bob@127.0.0.1/INBOX/;uid=1;expire=2001-01-01T00:00:00Z;urlauth=user+bob")
	assert nil(c, old)
	assert nil(c, old.replace("2001", "2999"))              # the date is under the token
	# the message gone
	u2 = gen(c, "imap://bob@127.0.0.1/INBOX/;uid=2;urlauth=user+bob")
	c.cmd("SELECT INBOX"); c.cmd("UID STORE 2 +FLAGS (\\Deleted)"); c.cmd("EXPUNGE")
	assert nil(c, u2)
	c.cmd("URLFETCH", want=b"BAD")
	c.cmd('URLFETCH ("%s" FOO)' % u, want=b"BAD")
	# hostile or malformed URLs: NIL, and the session goes on
	for junk in ["/INBOX/;uid=1", "imap://", "imap://bob@127.0.0.1/INBOX/;uid=1;urlauth=user+bob:internal:" + "0" * 4000,
	             u.replace("INBOX", "%00INBOX"), u.replace("INBOX", "..%2F..%2Fetc"), u.replace("uid=1", "uid=99999999999"),
	             u.replace("user+bob", "user+bob%"), "imap://bob@127.0.0.1/INBOX;uidvalidity=0/;uid=1;urlauth=anonymous:internal:" + "0" * 40]:
	    assert nil(c, junk), junk
	c.cmd("NOOP")
	c.cmd('GENURLAUTH "imap://bob@127.0.0.1/INBOX/;uid=1" INTERNAL', want=b"BAD")
	c.cmd('GENURLAUTH "imap://bob@127.0.0.1/INBOX/;uid=1;urlauth=user+bob" XYZ', want=b"BAD")
	# EXPIRE is an RFC 3339 date-time: a day its month has, digits where it has DIGITs (fuzz_urlauth)
	for when in ["2999-02-30T00:00:00Z", "2999-02-29T00:00:00Z", "+999-01-01T00:00:00Z", "2999-+1-01T00:00:00Z",
	             "2999-01-01T00:00:00.Z", "2999-01-01T00:00:00+-1:-1", "2999-01-01T00:00:00", "2999-01-01 00:00:00Z",
	             "2999-01-01T00:00:00+0100", "2999-01-01T00:00:00+01:00Z", "29999-01-01T00:00:00Z", "2999-1-01T00:00:00Z",
	             "2999-01-01T24:00:00Z", "2999-01-01T00:00:00+24:00"]:
	    c.cmd('GENURLAUTH "imap://bob@127.0.0.1/INBOX/;uid=1;expire=%s;urlauth=user+bob" INTERNAL' % when, want=b"BAD")
	gen(c, "imap://bob@127.0.0.1/INBOX/;uid=1;expire=2996-02-29T23:59:60.5+01:00;urlauth=user+bob")
	gen(c, "imap://bob@127.0.0.1/INBOX/;uid=1;expire=2999-12-31t00:00:00z;urlauth=user+bob")
	EOF_
}

@test "imapd-urlauth: RESETKEY makes old URLs give NIL; the key file is the owner's alone" {
	pyimap <<-'EOF_'
	c = login()
	u = gen(c, "imap://bob@127.0.0.1/INBOX/;uid=1;urlauth=user+bob")
	s = gen(c, "imap://bob@127.0.0.1/Sent/;uid=1;urlauth=user+bob")
	st = os.stat(os.environ["MD"] + "/maillab-urlauth-keys")
	assert st.st_mode & 0o777 == 0o600, oct(st.st_mode)
	c.cmd("RESETKEY Sent INTERNAL")
	assert b"{51}" in fetch(c, u)                          # INBOX's key kept
	r = c.cmd("RESETKEY INBOX")
	assert b"T" in r
	assert b" NIL\r\n" in fetch(c, u)
	u2 = gen(c, "imap://bob@127.0.0.1/INBOX/;uid=1;urlauth=user+bob")
	assert u2 != u and b"{51}" in fetch(c, u2)
	c.cmd("RESETKEY")
	assert b" NIL\r\n" in fetch(c, u2)
	c.cmd("RESETKEY Nosuch", want=b"NO")
	EOF_
}

@test "imapd-urlauth: submit+ URLs are for the --submit-user alone" {
	stop_all || true
	echo "relay:{PLAIN}relaypw:$IDS::$BATS_TEST_TMPDIR/home/relay::" >> users
	mkdir -p "$BATS_TEST_TMPDIR/home/relay"
	fix_perms
	start_imapd --submit-user relay
	pyimap <<-'EOF_'
	c, a, r = login(), login("alice", "alicepw"), login("relay", "relaypw")
	us = gen(c, "imap://bob@127.0.0.1/INBOX/;uid=1;urlauth=submit+bob")
	assert b"{51}" in fetch(r, us)
	for conn in (c, a):
	    assert b" NIL\r\n" in fetch(conn, us)
	EOF_
	run imapd --submit-user "a/b"
	assert_failure 64
}

@test "imapd-urlauth: CATENATE takes an absolute URL of one's own message and a URLAUTH URL" {
	pyimap <<-'EOF_'
	c = login()
	a = login("alice", "alicepw")
	u = gen(c, "imap://bob@127.0.0.1/INBOX/;uid=1/;section=TEXT;urlauth=authuser")
	a.cmd('APPEND INBOX CATENATE (TEXT {14+}\r\nSubject: x\r\n\r\n URL "%s")' % u.replace("\r\n", ""))
	r = a.cmd("SELECT INBOX"); r = a.cmd("FETCH 1 BODY[]")
	assert b"Subject: x\r\n\r\nhello\r\nworld\r\n" in r, r
	c.cmd('APPEND Sent CATENATE (URL "imap://bob@127.0.0.1/INBOX/;uid=1")')
	a.cmd('APPEND INBOX CATENATE (URL "imap://bob@127.0.0.1/INBOX/;uid=1")', want=b"NO")
	a.cmd('APPEND INBOX CATENATE (URL "%s")' % (u[:-1] + ("0" if u[-1] != "0" else "1")), want=b"NO")
	EOF_
}
