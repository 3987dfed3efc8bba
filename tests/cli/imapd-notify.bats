#!/usr/bin/env bats
# imapd's NOTIFY (RFC 5465) over loopback, with raw commands from Python:
# session 1 asks to be told about another mailbox and IDLEs, session 2
# (Python's imaplib) appends, flags, expunges, creates, renames and
# subscribes there; session 1 must see the STATUS and LIST responses.
# NOTIFY NONE stops them; unknown or unsupported events get BADEVENT.

load helpers
PORT_BASE=36600

setup() {
	cd "$BATS_TEST_TMPDIR"
	H=$BATS_TEST_TMPDIR/home/bob
	MD=$H/Maildir
	mkdir -p "$MD/new" "$MD/cur" "$MD/tmp" "$MD/.Other/cur" "$MD/.Other/new" "$MD/.Other/tmp"
	if [ "$(id -u)" = 0 ]; then IDS=65534:65534; else IDS=$(id -u):$(id -g); fi
	echo "bob:{PLAIN}secret:$IDS::$H::" > users
	printf 'From: a@example.org\nSubject: one\n\nbody\n' > "$MD/cur/1700000001.M1P1.lab:2,"
	fix_perms
	export MD
}

teardown() {
	stop_all
	no_sanitizer_report "$BATS_TEST_TMPDIR/imapd.log"
}

# Raw(): one session typed by hand.  cmd() sends a command and returns its
# lines up to the tagged reply; idle_until() IDLEs until a line matches
# (at most 20 s), then sends DONE.  session() is a second client, imaplib.
pylib() {
	imap_pylib
	cat <<-'EOF'
	import re, socket, time
	class Raw:
	    def __init__(self):
	        self.s = socket.create_connection(("127.0.0.1", port), timeout=20)
	        self.f = self.s.makefile("rb")
	        self.n = 0
	        self.line()
	        self.cmd("LOGIN bob secret")
	    def line(self):
	        l = self.f.readline()
	        assert l, "connection closed"
	        return l.decode().rstrip("\r\n")
	    def cmd(self, text, want="OK"):
	        self.n += 1
	        tag = "t%d" % self.n
	        self.s.sendall(("%s %s\r\n" % (tag, text)).encode())
	        out = []
	        while True:
	            l = self.line()
	            if l.startswith(tag + " "):
	                assert l.split()[1] == want, (text, l, out)
	                return out, l
	            out.append(l)
	    def idle_until(self, pattern):
	        self.n += 1
	        tag = "t%d" % self.n
	        self.s.sendall(("%s IDLE\r\n" % tag).encode())
	        assert self.line().startswith("+")
	        seen, end = [], time.monotonic() + 20
	        while time.monotonic() < end:
	            l = self.line()
	            seen.append(l)
	            if re.search(pattern, l):
	                break
	        else:
	            raise AssertionError("not seen: %s in %s" % (pattern, seen))
	        self.s.sendall(b"DONE\r\n")
	        while True:
	            l = self.line()
	            if l.startswith(tag + " "):
	                assert " OK " in l, l
	                return seen
	            seen.append(l)
	EOF
}

py() {
	run env PORT="$PORT" python3 -c "$(pylib)
$1"
	echo "$output"
	assert_success
}

@test "notify: NOTIFY is offered; SET STATUS sends each watched mailbox's STATUS" {
	start_imapd
	py '
r = Raw()
out, l = r.cmd("CAPABILITY")
assert " NOTIFY" in out[0], out
out, l = r.cmd("NOTIFY SET STATUS (mailboxes Other (MessageNew MessageExpunge))")
assert out == ["* STATUS \"Other\" (MESSAGES 0 UIDNEXT 1 UIDVALIDITY %s)" %
    out[0].split()[-1].rstrip(")")], out
out, l = r.cmd("NOTIFY SET STATUS (mailboxes Other (FlagChange))")
assert re.match(r"\* STATUS \"Other\" \(UIDVALIDITY \d+ HIGHESTMODSEQ \d+\)$", out[0]), out
out, l = r.cmd("NOTIFY SET (mailboxes Other (MessageNew MessageExpunge))")
assert out == [], out
'
}

@test "notify: another session appends, flags and expunges; the IDLEing one gets STATUS" {
	start_imapd
	py '
r = Raw()
r.cmd("SELECT INBOX")
r.cmd("NOTIFY SET (selected (MessageNew MessageExpunge FlagChange)) "
      "(mailboxes Other (MessageNew MessageExpunge FlagChange))")
M = session()
assert M.append("Other", None, None, b"From: b@example.org\r\nSubject: two\r\n\r\nhi\r\n")[0] == "OK"
seen = r.idle_until(r"^\* STATUS \"Other\" \(MESSAGES 1 UIDNEXT 2 ")
M.select("Other")
m0 = int(re.search(r"HIGHESTMODSEQ (\d+)", seen[-1]).group(1))
assert M.store("1", "+FLAGS", "(\\Flagged)")[0] == "OK"
seen = r.idle_until(r"^\* STATUS \"Other\" ")
m1 = int(re.search(r"HIGHESTMODSEQ (\d+)", seen[-1]).group(1))
assert m1 > m0, seen
assert M.store("1", "+FLAGS", "(\\Deleted)")[0] == "OK"
assert M.expunge()[0] == "OK"
seen = r.idle_until(r"^\* STATUS \"Other\" \(MESSAGES 0 ")
# the selected mailbox still tells of its own changes
M.select("INBOX")
assert M.store("1", "+FLAGS", "(\\Answered)")[0] == "OK"
seen = r.idle_until(r"^\* 1 FETCH .*Answered")
'
}

@test "notify: MessageNew with a fetch-att: each new message of the selected mailbox is fetched" {
	start_imapd
	py '
r = Raw()
r.cmd("SELECT INBOX")
r.cmd("NOTIFY SET (selected (MessageNew (UID BODY.PEEK[HEADER.FIELDS (Subject)]) MessageExpunge))")
M = session()
assert M.append("INBOX", None, None, b"From: b@example.org\r\nSubject: fresh\r\n\r\nhi\r\n")[0] == "OK"
seen = r.idle_until(r"^Subject: fresh$")
assert "* 2 EXISTS" in seen, seen
assert any(re.match(r"\* 2 FETCH \(UID 2 BODY\[HEADER\.FIELDS \(SUBJECT\)\] \{", x, re.I) for x in seen), seen
assert not any(" 1 FETCH" in x for x in seen), seen
'
}

@test "notify: with CONDSTORE, a fetch-att that sets the Seen flag gives the MODSEQ of that change" {
	start_imapd
	py '
r = Raw()
r.cmd("SELECT INBOX (CONDSTORE)")
r.cmd("NOTIFY SET (selected (MessageNew (UID BODY[HEADER.FIELDS (Subject)]) MessageExpunge))")
M = session()
assert M.append("INBOX", None, None, b"From: b@example.org\r\nSubject: fresh\r\n\r\nhi\r\n")[0] == "OK"
seen = r.idle_until(r"^Subject: fresh$")
told = [x for x in seen if re.search(r"\bMODSEQ \(\d+\)\)$", x)]
assert len(told) == 1 and "\\Seen" in told[0], seen
# what the server holds now, and nothing else to tell about message 2
out, l = r.cmd("FETCH 2 (MODSEQ FLAGS)")
assert len(out) == 1 and "\\Seen" in out[0], out
assert re.search(r"MODSEQ \((\d+)\)", told[0]).group(1) == \
    re.search(r"MODSEQ \((\d+)\)", out[0]).group(1), (told, out)
'
}

@test "notify: creation, rename and subscription are told by LIST" {
	start_imapd
	py '
r = Raw()
r.cmd("NOTIFY SET (personal (MailboxName SubscriptionChange))")
M = session()
assert M.create("Projects")[0] == "OK"
seen = r.idle_until(r"^\* LIST \(\) \"\.\" \"Projects\"$")
assert M.rename("Projects", "Done")[0] == "OK"
seen = r.idle_until(r"^\* LIST \(\) \"\.\" \"Done\"$")
seen += r.cmd("NOOP")[0]
assert "* LIST (\\NonExistent) \".\" \"Projects\"" in seen, seen
assert M.subscribe("Done")[0] == "OK"
seen = r.idle_until(r"^\* LIST \(\\Subscribed\) \"\.\" \"Done\"$")
assert M.unsubscribe("Done")[0] == "OK"
seen = r.idle_until(r"^\* LIST \(\) \"\.\" \"Done\"$")
'
}

@test "notify: NOTIFY NONE stops the notifications" {
	start_imapd
	py '
r = Raw()
r.cmd("NOTIFY SET (mailboxes Other (MessageNew MessageExpunge))")
M = session()
assert M.append("Other", None, None, b"Subject: a\r\n\r\nx\r\n")[0] == "OK"
out, l = r.cmd("NOOP")
assert any(x.startswith("* STATUS \"Other\" (MESSAGES 1 ") for x in out), out
r.cmd("NOTIFY NONE")
assert M.append("Other", None, None, b"Subject: b\r\n\r\ny\r\n")[0] == "OK"
assert M.create("Later")[0] == "OK"
out, l = r.cmd("NOOP")
assert out == [], out
'
}

@test "notify: unknown and unsupported events get BADEVENT, bad syntax BAD" {
	start_imapd
	py '
r = Raw()
for ev in ("AnnotationChange", "MailboxMetadataChange", "ServerMetadataChange", "NoSuchEvent"):
    out, l = r.cmd("NOTIFY SET (personal (%s))" % ev, want="NO")
    assert "[BADEVENT (" in l, l
for bad in ("NOTIFY", "NOTIFY SET", "NOTIFY SET (nowhere (MessageNew))",
            "NOTIFY SET (mailboxes (MessageNew))", "NOTIFY SET (personal MessageNew)",
            "NOTIFY SET (personal (MessageNew (UID)))",
            "NOTIFY SET (selected (MessageNew (NOSUCH)))",
            "NOTIFY SET (selected (MessageNew)) (selected-delayed (MessageNew))"):
    r.cmd(bad, want="BAD")
r.cmd("NOTIFY SET (selected (MessageNew (UID FLAGS) MessageExpunge))")
'
}

@test "notify: more mailboxes than imapd polls: NOTIFICATIONOVERFLOW" {
	for i in $(seq 1 101); do mkdir -p "$MD/.f$i/cur" "$MD/.f$i/new" "$MD/.f$i/tmp"; done
	fix_perms
	start_imapd
	py '
r = Raw()
out, l = r.cmd("NOTIFY SET (personal (MessageNew MessageExpunge))")
assert any("[NOTIFICATIONOVERFLOW]" in x for x in out), out
out, l = r.cmd("NOTIFY SET (subtree f1 (MessageNew MessageExpunge))")
assert out == [], out
'
}
