#!/usr/bin/env bats
# imapd's COMPRESS=DEFLATE (RFC 4978): Python's imaplib with its socket
# wrapped by hand in zlib's raw DEFLATE (wbits -15), plain, after STARTTLS
# and under implicit TLS; a decompression bomb; and real clients that
# speak COMPRESS (mbsync, offlineimap).

load helpers
PORT_BASE=39000

setup() {
	cd "$BATS_TEST_TMPDIR"
	H=$BATS_TEST_TMPDIR/home/bob
	MD=$H/Maildir
	mkdir -p "$MD/new" "$MD/cur" "$MD/tmp" "$MD"/.Sent/{cur,new,tmp}
	if [ "$(id -u)" = 0 ]; then IDS=65534:65534; else IDS=$(id -u):$(id -g); fi
	echo "bob:{PLAIN}secret:$IDS::$H::" > users
	printf 'From: Ann <a@example.org>\nSubject: one\n\nhello\nworld\n' > "$MD/new/1700000001.M1P1.lab"
	printf 'From: b@example.org\r\nSubject: two\r\n\r\nline 1\r\n' > "$MD/cur/1700000002.M2P2.lab:2,S"
	fix_perms
	# zimap.Z: imaplib with COMPRESS DEFLATE done by hand, both ways
	cat > zimap.py <<-'EOF'
	import imaplib, zlib

	imaplib.Commands["COMPRESS"] = ("AUTH", "SELECTED")

	class Z(imaplib.IMAP4):
	    z = None

	    def compress(self):
	        typ, dat = self._simple_command("COMPRESS", "DEFLATE")
	        if typ == "OK" and self.z is None:
	            self.z = (zlib.compressobj(6, zlib.DEFLATED, -15), zlib.decompressobj(-15))
	            self.zin = b""
	        return typ, dat

	    def send(self, data):
	        if self.z:
	            data = self.z[0].compress(data) + self.z[0].flush(zlib.Z_SYNC_FLUSH)
	        self.sock.sendall(data)

	    def _more(self):
	        raw = self.file.read1(65536)
	        if not raw:
	            raise self.abort("EOF inside the compressed stream")
	        self.zin += self.z[1].decompress(raw)

	    def read(self, size):
	        if not self.z:
	            return super().read(size)
	        while len(self.zin) < size:
	            self._more()
	        r, self.zin = self.zin[:size], self.zin[size:]
	        return r

	    def readline(self):
	        if not self.z:
	            return super().readline()
	        while b"\n" not in self.zin:
	            self._more()
	        i = self.zin.index(b"\n") + 1
	        r, self.zin = self.zin[:i], self.zin[i:]
	        return r

	class ZSSL(Z, imaplib.IMAP4_SSL):
	    pass
	EOF
}

teardown() {
	stop_all
	no_sanitizer_report "$BATS_TEST_TMPDIR/imapd.log"
}

# The session through compression: SELECT, FETCH, APPEND, a second COMPRESS.
# $1: plain, starttls or tls.
session() {
	PYTHONPATH=$BATS_TEST_TMPDIR "$PY" - "$PORT" "$1" <<-'EOF'
	import ssl, sys, zimap
	port, mode = int(sys.argv[1]), sys.argv[2]
	ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
	if mode == "tls":
	    M = zimap.ZSSL("127.0.0.1", port, ssl_context=ctx)
	else:
	    M = zimap.Z("127.0.0.1", port)
	assert "COMPRESS=DEFLATE" not in M.capabilities, M.capabilities   # after login only
	if mode == "starttls":
	    M.starttls(ctx)
	M.login("bob", "secret")
	typ, dat = M.capability()
	assert b"COMPRESS=DEFLATE" in dat[0].split(), dat
	assert M.compress() == ("OK", [b"DEFLATE active"])
	typ, d = M.select("INBOX")
	assert typ == "OK", d
	n = int(d[0])
	typ, d = M.fetch("1:2", "(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
	assert typ == "OK" and d[0][1] == b"Subject: one\r\n\r\n" and d[2][1] == b"Subject: two\r\n\r\n", d
	big = b"Subject: big\r\n\r\n" + b"".join(b"line %06d of a message that compresses well\r\n" % i for i in range(20000))
	typ, d = M.append("INBOX", None, None, big)
	assert typ == "OK", d
	typ, d = M.fetch(str(n + 1), "(BODY.PEEK[])")
	assert typ == "OK" and d[0][1] == big, len(d[0][1])
	# a second COMPRESS: NO [COMPRESSIONACTIVE], and the stream goes on
	typ, d = M._simple_command("COMPRESS", "DEFLATE")
	assert typ == "NO" and d[0].startswith(b"[COMPRESSIONACTIVE]"), (typ, d)
	try:
	    M._simple_command("COMPRESS", "LZ4")
	    raise SystemExit("COMPRESS LZ4 taken")
	except M.error as e:
	    assert "Unknown compression" in str(e), e
	assert M.noop()[0] == "OK"
	M.logout()
	print("session ok")
	EOF
}

@test "COMPRESS DEFLATE: offered after login only; SELECT, FETCH, APPEND compressed; COMPRESSIONACTIVE" {
	start_imapd
	run session plain
	assert_success
	assert_output "session ok"
	[ -n "$(find "$MD/new" "$MD/cur" -type f -size +500k)" ]
	# not before login (RFC 4978 3); one argument
	run bash -c "printf 'a COMPRESS DEFLATE\r\nb LOGIN bob secret\r\nc COMPRESS\r\n' | timeout 20 imapd --users users --auth-delay 0 | tr -d '\r'"
	assert_line "a BAD Command COMPRESS not valid in this state"
	assert_line "c BAD COMPRESS takes one algorithm"
}

@test "COMPRESS DEFLATE after STARTTLS and under implicit TLS (compressed, then encrypted)" {
	make_cert
	start_imapd --cert cert.pem --key key.pem
	run session starttls
	assert_success
	assert_output "session ok"
	start_imapd --cert cert.pem --key key.pem --tls
	run session tls
	assert_success
	assert_output "session ok"
}

# A bomb: about 1 MB of DEFLATE that inflates to 1 GiB of one line.  imapd
# must answer the line with BAD (its line limit) and go on, its memory
# bounded: the peak (VmHWM) of every imapd process stays under 64 MB.
@test "a decompression bomb meets the line limit, not memory" {
	start_imapd
	PYTHONPATH=$BATS_TEST_TMPDIR run timeout 120 "$PY" - "$PORT" "$(tail -1 pids)" <<-'EOF'
	import os, sys, zlib, zimap
	port, listener = int(sys.argv[1]), sys.argv[2]
	M = zimap.Z("127.0.0.1", port)
	M.login("bob", "secret")
	assert M.compress()[0] == "OK"
	# after a full flush a block refers to nothing before it: one 16 MiB
	# block of "a", repeated, is a valid stream of any length
	co = zlib.compressobj(9, zlib.DEFLATED, -15)
	co.compress(b"")
	M.sock.sendall(co.compress(b"x NOOP ") + co.flush(zlib.Z_FULL_FLUSH))
	block = co.compress(b"a" * (16 << 20)) + co.flush(zlib.Z_FULL_FLUSH)
	for _ in range(64):
	    M.sock.sendall(block)
	M.sock.sendall(co.compress(b"\r\ny NOOP\r\n") + co.flush(zlib.Z_SYNC_FLUSH))
	print("sent", 66 * len(block))
	line = M.readline()
	print(line)
	assert line.startswith(b"x BAD"), line
	line = M.readline()
	assert line.startswith(b"y OK"), line
	# every imapd under the listener (the login process, the mail owner's)
	kids, peak = {listener}, 0
	for _ in range(3):
	    for p in os.listdir("/proc"):
	        if p.isdigit():
	            try:
	                st = open(f"/proc/{p}/stat").read()
	            except OSError:
	                continue
	            if st[st.rindex(")") + 2:].split()[1] in kids:
	                kids.add(p)
	for p in kids:
	    for l in open(f"/proc/{p}/status"):
	        if l.startswith("VmHWM:"):
	            peak = max(peak, int(l.split()[1]))
	print("peak kB", peak, "processes", len(kids))
	assert 0 < peak < 64 * 1024, peak
	M.logout()
	EOF
	echo "$output"
	assert_success
}

# mbsync (isync 1.4) turns COMPRESS DEFLATE on by itself when offered.
# $1: SSLType (None or IMAPS).
mbsync_rc() {
	mkdir -p mbhome/local
	cat > mbhome/rc <<-EOF
	IMAPAccount t
	Host 127.0.0.1
	Port $PORT
	User bob
	Pass secret
	SSLType $1
	CertificateFile $BATS_TEST_TMPDIR/cert.pem
	AuthMechs PLAIN

	IMAPStore remote
	Account t

	MaildirStore local
	Path $BATS_TEST_TMPDIR/mbhome/local/
	Inbox $BATS_TEST_TMPDIR/mbhome/local/INBOX
	SubFolders Verbatim

	Channel c
	Far :remote:
	Near :local:
	Patterns *
	Create Both
	Expunge Both
	SyncState *
	EOF
}

@test "mbsync syncs both ways through COMPRESS DEFLATE, plain and under TLS" {
	# mbsync checks the name it connected to against the certificate's
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
		-addext subjectAltName=DNS:127.0.0.1,IP:127.0.0.1 -keyout key.pem -out cert.pem 2>/dev/null
	chmod 644 key.pem cert.pem
	n=2     # the messages on the server
	for ssl in None IMAPS; do
		rm -rf mbhome
		if [ $ssl = IMAPS ]; then start_imapd --cert cert.pem --key key.pem --tls; else start_imapd; fi
		mbsync_rc $ssl
		HOME=$BATS_TEST_TMPDIR/mbhome run timeout 60 mbsync -D -c mbhome/rc -a
		assert_success
		assert_line --partial ">>> 2 COMPRESS DEFLATE"
		assert_line --partial "2 OK DEFLATE active"
		[ "$(find mbhome/local/INBOX -type f -path '*/cur/*' -o -type f -path '*/new/*' | wc -l)" = $n ]
		n=$((n + 1))
		printf 'Subject: up %s\n\nup\n' $ssl > mbhome/local/INBOX/new/1900000000.1.local
		HOME=$BATS_TEST_TMPDIR/mbhome run timeout 60 mbsync -c mbhome/rc -a
		assert_success
		grep -rq "Subject: up $ssl" "$MD/new" "$MD/cur"
	done
}

@test "offlineimap (imaplib2) with usecompression" {
	command -v offlineimap >/dev/null || skip "offlineimap3 not installed"
	start_imapd -v
	mkdir -p oi/local
	cat > oi/rc <<-EOF
	[general]
	accounts = t
	metadata = $BATS_TEST_TMPDIR/oi/meta
	[Account t]
	localrepository = L
	remoterepository = R
	[Repository L]
	type = Maildir
	localfolders = $BATS_TEST_TMPDIR/oi/local
	[Repository R]
	type = IMAP
	remotehost = 127.0.0.1
	remoteport = $PORT
	remoteuser = bob
	remotepass = secret
	ssl = no
	starttls = no
	usecompression = yes
	folderfilter = lambda f: f in ["INBOX", "Sent"]
	EOF
	HOME=$BATS_TEST_TMPDIR/oi run timeout 60 offlineimap -c oi/rc -o -u basic
	assert_success
	[ "$(find oi/local/INBOX -type f -path '*/cur/*' -o -type f -path '*/new/*' | wc -l)" = 2 ]
	printf 'Subject: from offlineimap\n\nup\n' > oi/local/INBOX/new/1900000000_0.1.host
	HOME=$BATS_TEST_TMPDIR/oi run timeout 60 offlineimap -c oi/rc -o -u basic
	assert_success
	grep -rq "Subject: from offlineimap" "$MD/new" "$MD/cur"
	grep -q "OK DEFLATE active" imapd.log
	grep -q "DEFLATE started" imapd.log
}

# Compressed bytes pipelined right behind COMPRESS (in the same segment as
# the plain LOGIN) are taken as compressed; IDLE waits and ends through the
# compressed stream.
@test "COMPRESS pipelined behind LOGIN, then IDLE ... DONE compressed" {
	start_imapd
	run timeout 60 "$PY" - "$PORT" <<-'EOF'
	import socket, sys, zlib
	s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=20)
	co, do = zlib.compressobj(6, zlib.DEFLATED, -15), zlib.decompressobj(-15)
	s.sendall(b"a LOGIN bob secret\r\nb COMPRESS DEFLATE\r\n" +
	          co.compress(b"c SELECT INBOX\r\nd IDLE\r\n") + co.flush(zlib.Z_SYNC_FLUSH))
	plain = b""
	while b"b OK DEFLATE active\r\n" not in plain:
	    r = s.recv(4096)
	    assert r, plain
	    plain += r
	head, rest = plain.split(b"b OK DEFLATE active\r\n", 1)
	assert b"a OK" in head, head
	out = do.decompress(rest)
	def until(what):
	    global out
	    while what not in out:
	        r = s.recv(4096)
	        assert r, out
	        out += do.decompress(r)
	until(b"+ idling\r\n")
	assert b"c OK [READ-WRITE]" in out, out
	s.sendall(co.compress(b"DONE\r\ne LOGOUT\r\n") + co.flush(zlib.Z_SYNC_FLUSH))
	until(b"e OK Logout completed.\r\n")
	assert b"d OK Idle completed." in out, out
	print("ok")
	EOF
	assert_success
	assert_output "ok"
}
