#!/usr/bin/env bats
# imapd's QUOTA (RFC 9208) on the Maildir++ maildirsize file, driven by
# Python's imaplib over loopback: the figures against the Maildir's real
# bytes and count, APPEND/COPY over quota refused with nothing left behind,
# SETQUOTA refused, a maildirsize written by hand as Dovecot writes it,
# STATUS DELETED and DELETED-STORAGE, and a user's own quota rule in the
# passwd-file's extra field (Dovecot's userdb_quota_rule).

load helpers
PORT_BASE=39000

setup() {
	cd "$BATS_TEST_TMPDIR"
	MD=$BATS_TEST_TMPDIR/home/bob/Maildir
	mkdir -p "$MD"/{cur,new,tmp} "$MD"/.Sent/{cur,new,tmp}
	if [ "$(id -u)" = 0 ]; then IDS=65534:65534; else IDS=$(id -u):$(id -g); fi
	echo "bob:{PLAIN}secret:$IDS::$BATS_TEST_TMPDIR/home/bob::" > users
	# one file named with its size, one without (sized by stat)
	printf 'From: a@example.org\nSubject: one\n\nhello\n' > "$MD/cur/1700000001.M1P1.lab,S=41:2,S"
	head -c 3000 /dev/zero | tr '\0' x | { printf 'Subject: two\n\n'; cat; echo; } > "$MD/.Sent/cur/1700000002.M2P2.lab:2,S"
	export MD
}

teardown() {
	stop_all || true
	[ ! -f imapd.log ] || no_sanitizer_report imapd.log
}

# Run Python with c, a logged-in imaplib connection; c.cmd("...") sends one
# command raw and returns its responses, failing unless the reply is want.
pyimap() {
	{ imap_pylib; cat <<-'EOF_'; } > client.py
	import re, math
	MD = os.environ["MD"]
	class C:
	    def __init__(self, user="bob", pw="secret"):
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
	            if line.startswith(tag + b" "):
	                assert line[len(tag) + 1:].startswith(want), (text, out)
	                return out
	    def append(self, box, msg, want=b"OK"):
	        typ, data = self.m.append(box, None, None, msg)
	        assert typ == want.decode(), (typ, data)
	        return data
	def real():
	    """Bytes and count of every message file in the Maildir."""
	    b = n = 0
	    for folder in [MD] + [os.path.join(MD, d) for d in os.listdir(MD) if d.startswith(".")]:
	        for sub in ("cur", "new"):
	            for f in os.listdir(os.path.join(folder, sub)):
	                b += os.path.getsize(os.path.join(folder, sub, f)); n += 1
	    return b, n
	def quota(c, box="INBOX"):
	    r = c.cmd("GETQUOTAROOT " + box)
	    assert re.search(rb'^\* QUOTAROOT "?%s"? ""\r$' % box.encode(), r, re.M), r
	    m = re.search(rb'^\* QUOTA "" \(STORAGE (\d+) (\d+) MESSAGE (\d+) (\d+)\)\r$', r, re.M)
	    assert m, r
	    return tuple(int(x) for x in m.groups())
	def lit(msg):
	    return "{%d+}\r\n%s" % (len(msg), msg)
	def tmp_empty():
	    for folder in [MD] + [os.path.join(MD, d) for d in os.listdir(MD) if d.startswith(".")]:
	        assert os.listdir(os.path.join(folder, "tmp")) == [], folder
	c = C()
	EOF_
	cat client.py - > run.py
	run "$PY" run.py
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "imapd-quota: QUOTA capabilities after login only" {
	fix_perms
	start_imapd
	pyimap <<-'EOF_'
	r = c.cmd("CAPABILITY")
	assert b" QUOTA QUOTA=RES-STORAGE QUOTA=RES-MESSAGE" in r, r
	assert b"QUOTA" not in c.m.welcome, c.m.welcome
	EOF_
}

@test "imapd-quota: without a limit a mailbox has no quota root" {
	fix_perms
	start_imapd
	pyimap <<-'EOF_'
	r = c.cmd("GETQUOTAROOT INBOX")
	assert re.search(rb'^\* QUOTAROOT "?INBOX"?\r$', r, re.M) and b"* QUOTA " not in r, r
	c.cmd('GETQUOTA ""', want=b"NO")
	c.cmd("GETQUOTAROOT nosuch", want=b"NO")
	assert not os.path.exists(MD + "/maildirsize")
	EOF_
}

@test "imapd-quota: --quota figures are the Maildir's real bytes and count, kept up to date" {
	fix_perms
	start_imapd --quota 100K,10
	pyimap <<-'EOF_'
	b, n = real()
	assert quota(c) == (math.ceil(b / 1024), 100, n, 10), (quota(c), b, n)
	assert quota(c, "Sent") == quota(c)
	# the file Maildir++ tools read, with the limit line of --quota
	assert open(MD + "/maildirsize").readline() == "102400S,10C\n"
	c.append("INBOX", b"Subject: three\r\n\r\n" + b"y" * 5000 + b"\r\n")
	b, n = real()
	assert quota(c) == (math.ceil(b / 1024), 100, n, 10), (quota(c), b, n)
	c.cmd("SELECT Sent")
	c.cmd("COPY 1 INBOX")
	c.cmd("STORE 1 +FLAGS (\\Deleted)")
	c.cmd("EXPUNGE")
	b, n = real()
	assert n == 3 and quota(c) == (math.ceil(b / 1024), 100, n, 10), (quota(c), b, n)
	r = c.cmd('GETQUOTA ""')
	assert b'* QUOTA "" (STORAGE ' in r, r
	c.cmd('GETQUOTA "other"', want=b"NO")
	EOF_
}

@test "imapd-quota: APPEND and COPY over quota get NO [OVERQUOTA] and leave nothing behind" {
	fix_perms
	start_imapd --quota 6K,4
	pyimap <<-'EOF_'
	before = real()
	r = c.cmd("APPEND INBOX " + lit("Subject: big\r\n\r\n" + "z" * 6000), want=b"NO")
	assert b"[OVERQUOTA]" in r, r
	assert real() == before, (real(), before)
	tmp_empty()
	# the count: 2 messages, 2 more fit, a third does not
	c.append("INBOX", b"Subject: a\r\n\r\na\r\n")
	c.append("INBOX", b"Subject: b\r\n\r\nb\r\n")
	before = real()
	r = c.cmd("APPEND INBOX " + lit("Subject: c\r\n\r\nc\r\n"), want=b"NO")
	assert b"[OVERQUOTA]" in r and real() == before, r
	c.cmd("SELECT INBOX")
	r = c.cmd("COPY 1 Sent", want=b"NO")
	assert b"[OVERQUOTA]" in r and real() == before, r
	tmp_empty()
	# a MOVE leaves the usage as it was: allowed
	c.cmd("MOVE 1 Sent")
	assert quota(c)[2] == 4
	c.cmd("EXPUNGE")
	c.cmd("STORE 1 +FLAGS (\\Deleted)")
	c.cmd("EXPUNGE")
	assert quota(c)[2] == 3
	c.append("INBOX", b"Subject: d\r\n\r\nd\r\n")
	EOF_
}

@test "imapd-quota: SETQUOTA is refused" {
	fix_perms
	start_imapd --quota 1M
	pyimap <<-'EOF_'
	r = c.cmd('SETQUOTA "" (STORAGE 512)', want=b"NO")
	c.cmd('SETQUOTA ""', want=b"BAD")
	r = c.cmd("GETQUOTAROOT INBOX")
	assert re.search(rb'^\* QUOTA "" \(STORAGE \d+ 1024\)\r$', r, re.M), r
	EOF_
}

@test "imapd-quota: a maildirsize written by hand as Dovecot writes it is read, and recounted when too long" {
	printf '2048S,10C\n100 2\n50 1\n-20 -1\n' > "$MD/maildirsize"
	fix_perms
	start_imapd --quota 1G,1000
	pyimap <<-'EOF_'
	# the file's limit line wins over --quota; its usage is the sum of its lines
	assert quota(c) == (1, 2, 2, 10), quota(c)
	r = c.cmd("APPEND INBOX " + lit("Subject: big\r\n\r\n" + "z" * 3000), want=b"NO")
	assert b"[OVERQUOTA]" in r, r
	# past 5120 bytes the file is counted again from the folders (Maildir++)
	with open(MD + "/maildirsize", "a") as f:
	    f.write("1 1\n" * 2000)
	b, n = real()
	assert quota(c) == (math.ceil(b / 1024), 2, n, 10), (quota(c), b, n)
	assert os.path.getsize(MD + "/maildirsize") < 100
	assert open(MD + "/maildirsize").readline() == "2048S,10C\n"
	EOF_
}

@test "imapd-quota: maildeliver honours the quota imapd wrote, and imapd sees its deliveries" {
	fix_perms
	start_imapd --quota 8K,4
	pyimap <<-'EOF_'
	b, n = real()
	assert quota(c) == (math.ceil(b / 1024), 8, n, 4), quota(c)
	EOF_
	printf 'Subject: by maildeliver\n\nhello\n' > small.eml
	run maildeliver -m "maildir:$MD" < small.eml
	[ "$status" -eq 0 ]
	pyimap <<-'EOF_'
	b, n = real()
	assert n == 3 and quota(c) == (math.ceil(b / 1024), 8, n, 4), (quota(c), b, n)
	EOF_
	{ printf 'Subject: big\n\n'; head -c 6000 /dev/zero | tr '\0' z; echo; } > big.eml
	run maildeliver -m "maildir:$MD" < big.eml
	echo "$output"
	[ "$status" -eq 75 ]
	[[ "$output" == *"quota exceeded (4.2.2)"* ]]
	run maildeliver --quota-bounce -m "maildir:$MD" < big.eml
	[ "$status" -eq 69 ]
	[[ "$output" == *"5.2.2"* ]]
	[ "$(ls "$MD/new" | wc -l)" -eq 1 ]
	run maildeliver -m "maildir:$MD" < small.eml
	[ "$status" -eq 0 ]
	# the fifth message is one too many
	run maildeliver -m "maildir:$MD" < small.eml
	[ "$status" -eq 75 ]
	[ "$(ls "$MD/new" | wc -l)" -eq 2 ]
	[ -z "$(ls "$MD/tmp")" ]
}

@test "imapd-quota: an expunge is counted off a Maildir named .maildir too" {
	mv "$MD" "$BATS_TEST_TMPDIR/home/bob/.maildir"
	MD=$BATS_TEST_TMPDIR/home/bob/.maildir
	export MD
	fix_perms
	start_imapd --quota 1M,10 --mailbox 'maildir:%h/.maildir'
	pyimap <<-'EOF_'
	c.append("INBOX", b"Subject: x\r\n\r\nx\r\n")
	c.cmd("SELECT INBOX")
	c.cmd("STORE 1:* +FLAGS (\\Deleted)")
	c.cmd("EXPUNGE")
	b, n = real()
	assert n == 1 and quota(c) == (math.ceil(b / 1024), 1024, n, 10), (quota(c), b, n)
	EOF_
}

@test "imapd-quota: STATUS DELETED and DELETED-STORAGE (RFC 9208 4.2) say what an EXPUNGE gives back" {
	fix_perms
	start_imapd --quota 100K,10
	pyimap <<-'EOF_'
	# an IMAP4rev1 session: no ENABLE needed, QUOTA=RES-* asks for them
	typ, data = c.m.status("INBOX", "(DELETED DELETED-STORAGE)")
	assert typ == "OK" and data == [b'"INBOX" (DELETED 0 DELETED-STORAGE 0)'], data
	c.append("INBOX", b"Subject: big\r\n\r\n" + b"y" * 5000 + b"\r\n")
	c.append("INBOX", b"Subject: small\r\n\r\nsmall\r\n")
	c.cmd("SELECT INBOX")
	c.cmd("STORE 1:2 +FLAGS.SILENT (\\Deleted)")
	# the stored bytes of the two \Deleted files, in KiB rounded up
	files = sorted(os.listdir(MD + "/cur") + os.listdir(MD + "/new"))
	sizes = []
	for sub in ("cur", "new"):
	    for f in os.listdir(os.path.join(MD, sub)):
	        if re.search(r":2,[A-Z]*T", f):
	            sizes.append(os.path.getsize(os.path.join(MD, sub, f)))
	assert len(sizes) == 2, files
	want = math.ceil(sum(sizes) / 1024)
	r = c.cmd("STATUS INBOX (MESSAGES DELETED DELETED-STORAGE)")
	assert b'* STATUS "INBOX" (MESSAGES 3 DELETED 2 DELETED-STORAGE %d)' % want in r, (r, want)
	assert want == 5, want         # 5,043 bytes
	r = c.cmd("STATUS Sent (deleted-storage deleted)")
	assert b'* STATUS "Sent" (DELETED-STORAGE 0 DELETED 0)' in r, r
	before = quota(c)[0]
	c.cmd("EXPUNGE")
	after = quota(c)[0]
	assert before - after in (want - 1, want), (before, after, want)
	r = c.cmd("STATUS INBOX (DELETED DELETED-STORAGE)")
	assert b'(DELETED 0 DELETED-STORAGE 0)' in r, r
	c.cmd("STATUS INBOX (DELETED-STORAGES)", want=b"BAD")
	EOF_
}

@test "imapd-quota: a user's quota rule in the passwd-file wins over --quota and maildirsize; maildeliver and imapd agree" {
	AMD=$BATS_TEST_TMPDIR/home/alice/Maildir
	mkdir -p "$AMD"/{cur,new,tmp}
	echo "alice:{PLAIN}alicepw:$IDS::$BATS_TEST_TMPDIR/home/alice::" >> users
	fix_perms
	start_imapd --quota 100K,10
	# before bob has a rule: --quota's limits, written into his maildirsize
	pyimap <<-'EOF_'
	b, n = real()
	assert quota(c) == (math.ceil(b / 1024), 100, n, 10), quota(c)
	assert open(MD + "/maildirsize").readline() == "102400S,10C\n"
	EOF_
	# Dovecot's passwd-file extra field; the file is read at each login
	sed -i "s|^bob:.*|&userdb_quota_rule=*:storage=5K userdb_quota_rule2=*:messages=3 userdb_mail=ignored|" users
	grep -q 'quota_rule2' users
	pyimap <<-'EOF_'
	b, n = real()
	assert quota(c) == (math.ceil(b / 1024), 5, n, 3), (quota(c), b, n)
	r = c.cmd('GETQUOTA ""')
	assert b'* QUOTA "" (STORAGE %d 5 MESSAGE %d 3)' % (math.ceil(b / 1024), n) in r, r
	# the rule is in the file now, for every Maildir++ tool, usage kept
	assert open(MD + "/maildirsize").readline() == "5120S,3C\n"
	before = real()
	r = c.cmd("APPEND INBOX " + lit("Subject: big\r\n\r\n" + "z" * 3000), want=b"NO")
	assert b"[OVERQUOTA]" in r and real() == before, r
	c.append("INBOX", b"Subject: a\r\n\r\na\r\n")
	r = c.cmd("APPEND INBOX " + lit("Subject: b\r\n\r\nb\r\n"), want=b"NO")
	assert b"[OVERQUOTA]" in r, r
	tmp_empty()
	# alice has no rule: --quota's limits, and room for the big message
	a = C("alice", "alicepw")
	r = a.cmd("GETQUOTAROOT INBOX")
	assert re.search(rb'^\* QUOTA "" \(STORAGE 0 100 MESSAGE 0 10\)\r$', r, re.M), r
	a.append("INBOX", b"Subject: big\r\n\r\n" + b"z" * 3000 + b"\r\n")
	r = a.cmd("GETQUOTAROOT INBOX")
	assert re.search(rb'^\* QUOTA "" \(STORAGE 3 100 MESSAGE 1 10\)\r$', r, re.M), r
	EOF_
	# maildeliver reads the same rule: bob (3 messages of 3) is full, alice is not
	printf 'Subject: by maildeliver\n\nhello\n' > small.eml
	run maildeliver --users users bob < small.eml
	echo "$output"
	[ "$status" -eq 75 ]
	[[ "$output" == *"quota exceeded (4.2.2)"* ]]
	run maildeliver --users users --quota-bounce bob < small.eml
	[ "$status" -eq 69 ]
	run maildeliver --users users alice < small.eml
	[ "$status" -eq 0 ]
	[ "$(ls "$AMD/new" | wc -l)" -eq 1 ]
	# storage=0 is no limit at all (Dovecot's), over --quota too; a rule for
	# one mailbox only is not ours; a malformed one is left out, with a warning
	sed -i "s|^bob:.*|bob:{PLAIN}secret:$IDS::$BATS_TEST_TMPDIR/home/bob::|; s|^alice:.*|&quota_rule=*:storage=0 quota_rule2=Trash:storage=+1M|" users
	echo "carol:{PLAIN}carolpw:$IDS::$BATS_TEST_TMPDIR/home/carol::userdb_quota_rule=*:storage=lots" >> users
	mkdir -p "$BATS_TEST_TMPDIR/home/carol/Maildir"/{cur,new,tmp}
	fix_perms
	pyimap <<-'EOF_'
	a = C("alice", "alicepw")
	r = a.cmd("GETQUOTAROOT INBOX")
	assert re.search(rb'^\* QUOTAROOT "?INBOX"?\r$', r, re.M) and b"* QUOTA " not in r, r
	k = C("carol", "carolpw")
	r = k.cmd("GETQUOTAROOT INBOX")
	assert re.search(rb'^\* QUOTA "" \(STORAGE 0 100 MESSAGE 0 10\)\r$', r, re.M), r
	EOF_
	grep -q 'carol: quota rule userdb_quota_rule=\*:storage=lots: not understood' imapd.log
}
