#!/usr/bin/env bats
# imapd's CONTEXT=SEARCH and CONTEXT=SORT (RFC 5267) and PARTIAL (RFC 9394)
# seen from Python's imaplib: result windows, updating searches that a
# second session's APPEND, STORE and EXPUNGE change, CANCELUPDATE, and the
# limit on live searches.  Session A records every line it reads, so the
# order of untagged responses (REMOVEFROM before EXPUNGE) can be checked.

load helpers
PORT_BASE=37000

setup() {
	cd "$BATS_TEST_TMPDIR"
	H=$BATS_TEST_TMPDIR/home/bob
	mkdir -p "$H"
	if [ "$(id -u)" = 0 ]; then IDS=65534:65534; else IDS=$(id -u):$(id -g); fi
	echo "bob:{PLAIN}secret:$IDS::$H::" > users
	fix_perms
	start_imapd
	# the client side every test shares: A records its lines; five messages
	# of sizes growing with their number (so SORT (SIZE) is arrival order)
	cat > lib.py <<-'EOF'
	import imaplib, sys
	imaplib.Commands["CANCELUPDATE"] = ("SELECTED",)
	PORT = int(sys.argv[1])

	class Rec(imaplib.IMAP4):
	    def __init__(self, *args):
	        self.lines = []
	        super().__init__(*args)

	    def _get_line(self):
	        line = super()._get_line()
	        self.lines.append(line.decode())
	        return line

	def session(rec=False):
	    m = Rec("127.0.0.1", PORT) if rec else imaplib.IMAP4("127.0.0.1", PORT)
	    m.sock.settimeout(20)
	    m.lines = []
	    m.login("bob", "secret")
	    return m

	def run(m, *args):
	    """Send a command, return (tagged status, untagged lines) it got."""
	    m.lines = []
	    tag = m._command(*args)
	    try:
	        typ, _ = m._command_complete(args[0], tag)
	    except imaplib.IMAP4.error:       # imaplib raises on BAD only
	        typ = "BAD"
	    return typ, tag.decode(), [l for l in m.lines if l.startswith("* ")]

	def esearch(lines):
	    return [l for l in lines if l.startswith("* ESEARCH")]

	B = session()
	for i in range(1, 6):
	    B.append("INBOX", None, None, b"Subject: m%d\r\n\r\n%s\r\n" % (i, b"x" * (10 * i)))
	B.select("INBOX")
	A = session(rec=True)
	A.select("INBOX")
	EOF
}

teardown() {
	stop_all
	no_sanitizer_report "$BATS_TEST_TMPDIR/imapd.log"
}

@test "CONTEXT=SEARCH and CONTEXT=SORT are offered" {
	"$PY" - "$PORT" <<-'EOF'
	exec(open("lib.py").read())
	caps = A.capabilities
	assert "CONTEXT=SEARCH" in caps and "CONTEXT=SORT" in caps and "ESORT" in caps, caps
	print("ok")
	EOF
}

@test "PARTIAL: ranges from the start and from the end, in either order, for SEARCH, UID SEARCH and SORT" {
	"$PY" - "$PORT" <<-'EOF'
	exec(open("lib.py").read())
	def one(*args):
	    typ, tag, lines = run(A, *args)
	    assert typ == "OK", (args, typ, lines)
	    e = esearch(lines)
	    assert len(e) == 1, (args, lines)
	    return e[0].split(") ", 1)[1]
	assert one("SEARCH", "RETURN", "(PARTIAL 1:1)", "ALL") == "PARTIAL (1:1 1)"
	assert one("SEARCH", "RETURN", "(PARTIAL 2:4)", "ALL") == "PARTIAL (2:4 2:4)"
	assert one("SEARCH", "RETURN", "(PARTIAL 4:2)", "ALL") == "PARTIAL (2:4 2:4)"
	assert one("SEARCH", "RETURN", "(PARTIAL 3:99)", "ALL") == "PARTIAL (3:99 3:5)"
	assert one("SEARCH", "RETURN", "(PARTIAL 6:9)", "ALL") == "PARTIAL (6:9 NIL)"
	# RFC 9394: negative ranges count from the end of the result
	assert one("SEARCH", "RETURN", "(PARTIAL -1:-2)", "ALL") == "PARTIAL (-1:-2 4:5)"
	assert one("SEARCH", "RETURN", "(PARTIAL -2:-1)", "ALL") == "PARTIAL (-1:-2 4:5)"
	assert one("SEARCH", "RETURN", "(PARTIAL -1:-100)", "ALL") == "PARTIAL (-1:-100 1:5)"
	assert one("SEARCH", "RETURN", "(PARTIAL -6:-9)", "ALL") == "PARTIAL (-6:-9 NIL)"
	assert one("SEARCH", "RETURN", "(PARTIAL 2:3)", "1:2,4:5") == "PARTIAL (2:3 2,4)"
	assert one("SEARCH", "RETURN", "(COUNT PARTIAL 1:2)", "ALL") == "COUNT 5 PARTIAL (1:2 1:2)"
	# CONTEXT is a hint (RFC 5267 4.2): alone, it asks for ALL
	assert one("SEARCH", "RETURN", "(CONTEXT)", "2:3") == "ALL 2:3"
	assert one("SEARCH", "RETURN", "(CONTEXT COUNT)", "2:3") == "COUNT 2"
	assert one("UID", "SEARCH", "RETURN", "(PARTIAL -1:-1)", "ALL") == "UID PARTIAL (-1:-1 5)"
	# SORT: the window is of the sorted result
	assert one("SORT", "RETURN", "(PARTIAL 1:2)", "(REVERSE SIZE)", "UTF-8", "ALL") == "PARTIAL (1:2 5,4)"
	assert one("SORT", "RETURN", "(PARTIAL -1:-2)", "(REVERSE SIZE)", "UTF-8", "ALL") == "PARTIAL (-1:-2 2,1)"
	for bad in ["(PARTIAL 1)", "(PARTIAL 1:*)", "(PARTIAL *:1)", "(PARTIAL 0:3)", "(PARTIAL -1:3)",
	            "(PARTIAL)", "(PARTIAL 1:2 ALL)", "(PARTIAL 1:2 PARTIAL 3:4)", "(PARTIAL 1:99999999999)",
	            "(PARTIAL 01:2)", "(PARTIAL -1:-02)", "(PARTIAL 1:+2)", "(PARTIAL 1:2x)"]:
	    typ, tag, lines = run(A, "SEARCH", "RETURN", bad, "ALL")
	    assert typ == "BAD" and not esearch(lines), (bad, typ, lines)
	    typ, tag, lines = run(A, "SORT", "RETURN", bad, "(SIZE)", "UTF-8", "ALL")
	    assert typ == "BAD" and not esearch(lines), (bad, typ, lines)
	    A.noop()    # imapd ends a session after 20 BAD in a row
	print("ok")
	EOF
}

@test "UPDATE: another session's STORE, APPEND and EXPUNGE reach the first as ADDTO and REMOVEFROM" {
	"$PY" - "$PORT" <<-'EOF'
	exec(open("lib.py").read())
	typ, t, lines = run(A, "SEARCH", "RETURN", "(UPDATE ALL)", "SEEN")
	assert typ == "OK" and esearch(lines) == ['* ESEARCH (TAG "%s")' % t], lines
	typ, u, lines = run(A, "UID", "SEARCH", "RETURN", "(UPDATE)", "SEEN")
	assert esearch(lines) == ['* ESEARCH (TAG "%s") UID' % u], lines
	B.store("2,4", "+FLAGS", r"\Seen")
	typ, _, lines = run(A, "NOOP")
	e = esearch(lines)
	assert '* ESEARCH (TAG "%s") ADDTO (0 2,4)' % t in e, lines
	assert '* ESEARCH (TAG "%s") UID ADDTO (0 2,4)' % u in e, lines
	# a flag change that does not touch the criteria: nothing
	B.store("1", "+FLAGS", r"\Flagged")
	typ, _, lines = run(A, "NOOP")
	assert not esearch(lines), lines
	# own STORE: the update comes with the STORE
	typ, _, lines = run(A, "STORE", "4", "-FLAGS", r"(\Seen)")
	assert '* ESEARCH (TAG "%s") REMOVEFROM (0 4)' % t in esearch(lines), lines
	# a new message that matches
	B.append("INBOX", r"(\Seen)", None, b"Subject: new\r\n\r\nnew\r\n")
	typ, _, lines = run(A, "NOOP")
	assert "* 6 EXISTS" in lines and '* ESEARCH (TAG "%s") ADDTO (0 6)' % t in lines, lines
	assert lines.index("* 6 EXISTS") < lines.index('* ESEARCH (TAG "%s") ADDTO (0 6)' % t), lines
	# expunged: REMOVEFROM before the EXPUNGE, with the number it had
	B.store("2", "+FLAGS", r"\Deleted"); B.expunge()
	typ, _, lines = run(A, "NOOP")
	rm = '* ESEARCH (TAG "%s") REMOVEFROM (0 2)' % t
	assert rm in lines and "* 2 EXPUNGE" in lines, lines
	assert lines.index(rm) < lines.index("* 2 EXPUNGE"), lines
	assert '* ESEARCH (TAG "%s") UID REMOVEFROM (0 2)' % u in lines, lines
	# the result as kept matches a fresh search
	typ, _, lines = run(A, "SEARCH", "RETURN", "(ALL)", "SEEN")
	assert esearch(lines)[0].endswith(" ALL 5"), lines
	# sequence numbers move with an expunge: "1" is then another message
	typ, q, lines = run(A, "SEARCH", "RETURN", "(UPDATE ALL)", "1")
	assert esearch(lines) == ['* ESEARCH (TAG "%s") ALL 1' % q], lines
	B.store("1", "+FLAGS", r"\Deleted"); B.expunge()
	typ, _, lines = run(A, "NOOP")
	seq = [l for l in lines if q in l or "EXPUNGE" in l]
	assert seq == ['* ESEARCH (TAG "%s") REMOVEFROM (0 1)' % q, "* 1 EXPUNGE",
	               '* ESEARCH (TAG "%s") ADDTO (0 1)' % q], lines
	print("ok")
	EOF
}

@test "UPDATE: changes come during IDLE" {
	"$PY" - "$PORT" <<-'EOF'
	exec(open("lib.py").read())
	typ, t, lines = run(A, "SEARCH", "RETURN", "(UPDATE)", "FLAGGED")
	A.send(b"i IDLE\r\n")
	assert A.readline().startswith(b"+"), "no continuation"
	B.store("3", "+FLAGS", r"\Flagged")
	want = '* ESEARCH (TAG "%s") ADDTO (0 3)' % t
	for _ in range(50):               # bounded by the socket's timeout per line
	    line = A.readline().decode().rstrip("\r\n")
	    if line == want:
	        break
	else:
	    raise AssertionError("no ADDTO during IDLE")
	A.send(b"DONE\r\n")
	while not A.readline().startswith(b"i OK"):
	    pass
	print("ok")
	EOF
}

@test "UPDATE with SORT: ADDTO and REMOVEFROM give the place in the sorted result" {
	"$PY" - "$PORT" <<-'EOF'
	exec(open("lib.py").read())
	A.store("1,4", "+FLAGS", r"\Flagged")
	typ, t, lines = run(A, "SORT", "RETURN", "(UPDATE ALL)", "(REVERSE SIZE)", "UTF-8", "FLAGGED")
	assert esearch(lines) == ['* ESEARCH (TAG "%s") ALL 4,1' % t], lines
	B.store("2,5", "+FLAGS", r"\Flagged")      # sorted: 5 4 2 1
	typ, _, lines = run(A, "NOOP")
	assert esearch(lines) == ['* ESEARCH (TAG "%s") ADDTO (1 5)' % t,
	                          '* ESEARCH (TAG "%s") ADDTO (3 2)' % t], lines
	B.store("4", "-FLAGS", r"\Flagged")        # sorted: 5 2 1
	typ, _, lines = run(A, "NOOP")
	assert esearch(lines) == ['* ESEARCH (TAG "%s") REMOVEFROM (2 4)' % t], lines
	B.store("5", "+FLAGS", r"\Deleted"); B.expunge()
	typ, _, lines = run(A, "NOOP")
	assert esearch(lines) == ['* ESEARCH (TAG "%s") REMOVEFROM (1 5)' % t], lines
	assert lines.index(esearch(lines)[0]) < lines.index("* 5 EXPUNGE"), lines
	print("ok")
	EOF
}

@test "CANCELUPDATE stops the updates; leaving the folder ends them; past the limit, NOUPDATE" {
	"$PY" - "$PORT" <<-'EOF'
	exec(open("lib.py").read())
	typ, t, lines = run(A, "SEARCH", "RETURN", "(UPDATE)", "SEEN")
	typ, _, lines = run(A, "CANCELUPDATE", '"%s"' % t)
	assert typ == "OK", lines
	B.store("1", "+FLAGS", r"\Seen")
	typ, _, lines = run(A, "NOOP")
	assert "* 1 FETCH" in " ".join(lines) and not esearch(lines), lines
	typ, _, lines = run(A, "CANCELUPDATE", '"%s"' % t)
	assert typ == "BAD", (typ, lines)
	typ, _, lines = run(A, "CANCELUPDATE")
	assert typ == "BAD", (typ, lines)
	# five live searches at most (IMAP_UPDATES_MAX); the sixth is refused
	tags = []
	for i in range(5):
	    typ, t, lines = run(A, "SEARCH", "RETURN", "(UPDATE)", "DELETED")
	    assert typ == "OK", (i, typ, lines)
	    tags.append(t)
	# the sixth search is done, its updates refused (RFC 5267 4.3.1)
	typ, t6, lines = run(A, "SEARCH", "RETURN", "(UPDATE ALL)", "ALL")
	assert typ == "OK" and esearch(lines) == ['* ESEARCH (TAG "%s") ALL 1:5' % t6], (typ, lines)
	assert '* NO [NOUPDATE "%s"] Too many updating searches; CANCELUPDATE one first' % t6 in lines, lines
	typ, ts, lines = run(A, "SORT", "RETURN", "(UPDATE)", "(SIZE)", "UTF-8", "DELETED")
	assert typ == "OK" and any(l.startswith('* NO [NOUPDATE "%s"]' % ts) for l in lines), (typ, lines)
	B.store("3", "+FLAGS", r"\Deleted")
	typ, _, lines = run(A, "NOOP")
	assert len(esearch(lines)) == 5 and not any(t6 in l or ts in l for l in lines), lines
	B.store("3", "-FLAGS", r"\Deleted")
	typ, _, lines = run(A, "NOOP")
	assert len(esearch(lines)) == 5, lines
	typ, _, lines = run(A, "CANCELUPDATE", '"%s"' % t6)
	assert typ == "BAD", (typ, lines)
	# a search without UPDATE still works at the limit
	typ, _, lines = run(A, "SEARCH", "RETURN", "(COUNT)", "ALL")
	assert typ == "OK" and esearch(lines)[0].endswith("COUNT 5"), lines
	typ, _, lines = run(A, "CANCELUPDATE", '"%s"' % tags[0], '"%s"' % tags[1])
	assert typ == "OK", lines
	typ, t, lines = run(A, "SEARCH", "RETURN", "(UPDATE)", "DELETED")
	assert typ == "OK", lines
	# UPDATE does not go with PARTIAL, nor twice; a tag can be live only once
	for bad in ["(UPDATE PARTIAL 1:2)", "(UPDATE UPDATE)"]:
	    typ, _, lines = run(A, "SEARCH", "RETURN", bad, "ALL")
	    assert typ == "BAD", (bad, typ, lines)
	typ, _, lines = run(A, "CANCELUPDATE", '"%s"' % t)
	A.send(b"dup SEARCH RETURN (UPDATE MIN) SEEN\r\n")
	assert A.readline() == b'* ESEARCH (TAG "dup") MIN 1\r\n'
	assert A.readline().startswith(b"dup OK")
	A.send(b"dup SEARCH RETURN (UPDATE) SEEN\r\n")
	assert A.readline().startswith(b"dup BAD")
	typ, _, lines = run(A, "CANCELUPDATE", "dup")
	assert typ == "OK", lines
	# SELECT again: every updating search is gone, and five may start
	A.select("INBOX")
	B.store("2", "+FLAGS", r"\Deleted")
	typ, _, lines = run(A, "NOOP")
	assert not esearch(lines), lines
	for i in range(5):
	    typ, t, lines = run(A, "SEARCH", "RETURN", "(UPDATE)", "DELETED")
	    assert typ == "OK", (i, typ, lines)
	print("ok")
	EOF
}

@test "CANCELUPDATE of a literal holding CRLF answers one line: the client cannot write a reply of its own" {
	# found by fuzz_imapsession: the tag was named back as it came, so a
	# literal's CRLF ended the BAD and the rest was read as a server reply
	"$PY" - "$PORT" <<-'EOF'
	exec(open("lib.py").read())
	forged = b"y\r\n* OK [ALERT] forged"
	A.send(b"x CANCELUPDATE {%d+}\r\n%s\r\n" % (len(forged), forged))
	A.send(b"n NOOP\r\n")
	got = []
	while not got or not got[-1].startswith(b"n "):
	    got.append(A.readline())
	assert got[0] == b"x BAD No updating search with that tag\r\n", got
	assert not any(b"forged" in l for l in got), got
	# a string that can be a tag is still named back
	A.send(b'z CANCELUPDATE "nosuch"\r\n')
	assert A.readline() == b"z BAD No updating search with tag nosuch\r\n"
	print("ok")
	EOF
}
