#!/usr/bin/env bats
# imapd's CONDSTORE and QRESYNC (RFC 7162) as Python's imaplib sees them
# over loopback: two sessions (and a program renaming files by hand) whose
# changes come with MODSEQs, a conditional STORE that meets a conflict, a
# QRESYNC resynchronisation after flag changes and expunges, MOD-SEQUENCEs
# that outlive imapd, and a uidlist written before mod-sequences existed.

load helpers
PORT_BASE=36000

setup() {
	cd "$BATS_TEST_TMPDIR"
	H=$BATS_TEST_TMPDIR/home/bob
	MD=$H/Maildir
	mkdir -p "$MD/new" "$MD/cur" "$MD/tmp"
	if [ "$(id -u)" = 0 ]; then IDS=65534:65534; else IDS=$(id -u):$(id -g); fi
	echo "bob:{PLAIN}secret:$IDS::$H::" > users
	for i in 1 2 3 4; do
		printf 'From: a@example.org\nSubject: m%s\n\nbody %s\n' "$i" "$i" \
			> "$MD/cur/170000000$i.M${i}P$i.lab:2,"
	done
	fix_perms
	export MD
}

teardown() {
	stop_all
	no_sanitizer_report "$BATS_TEST_TMPDIR/imapd.log"
}

# The Python helpers every test uses: cmd() runs one command and returns
# its tagged reply with the untagged responses it brought; modseqs() maps
# UID -> MODSEQ out of FETCH responses.
pylib() {
	imap_pylib
	cat <<-'EOF'
	import re, sys
	imaplib.Commands.setdefault("ENABLE", ("AUTH", "SELECTED"))
	def cmd(M, name, *args, want="OK"):
	    M.untagged_responses.clear()
	    try:
	        typ, dat = M._simple_command(name, *args)
	    except M.error as e:
	        typ, dat = "BAD", [str(e).encode()]
	    ut = {k: list(v) for k, v in M.untagged_responses.items()}
	    M.untagged_responses.clear()
	    if name in ("SELECT", "EXAMINE") and typ == "OK":
	        M.state = "SELECTED"
	    assert typ == want, (name, args, typ, dat, ut)
	    return (dat[0] or b"").decode(), ut
	def modseqs(ut):
	    out = {}
	    for f in ut.get("FETCH", []):
	        f = f.decode() if isinstance(f, bytes) else f[0].decode()
	        u, m = re.search(r"UID (\d+)", f), re.search(r"MODSEQ \((\d+)\)", f)
	        assert u and m, f
	        out[int(u.group(1))] = int(m.group(1))
	    return out
	def highest(ut):
	    return int(ut["HIGHESTMODSEQ"][-1])
	EOF
}

@test "condstore: CONDSTORE and QRESYNC are offered; ENABLE answers ENABLED" {
	run sh -c "printf 'a LOGIN bob secret\r\nb ENABLE CONDSTORE QRESYNC X-FOO\r\nc LOGOUT\r\n' |
		imapd --users users --auth-delay 0 | tr -d '\r'"
	assert_success
	assert_line --regexp '^a OK \[CAPABILITY .* CONDSTORE QRESYNC .*\] Logged in'
	assert_line "* ENABLED CONDSTORE QRESYNC"
}

# found by fuzz_imapsession: STORE with no argument at all took &args[1]
# of a NULL array before looking at the count (UBSan stops there)
@test "condstore: STORE without arguments, or with a set alone, is BAD and the session goes on" {
	run sh -c "printf 'a LOGIN bob secret\r\nb SELECT INBOX\r\nc STORE\r\nd STORE 1\r\ne UID STORE\r\nf NOOP\r\ng LOGOUT\r\n' |
		imapd --users users --auth-delay 0 2>err | tr -d '\r'"
	assert_success
	assert_line --regexp '^c BAD '
	assert_line --regexp '^d BAD '
	assert_line --regexp '^e BAD '
	assert_line 'f OK NOOP completed.'
	no_sanitizer_report err
}

# found reading fuzz_imapsession's coverage: with CONDSTORE the rescan that
# gives a STORE its MODSEQs told each stored message a second time, flags
# and all, even after FLAGS.SILENT; and a FETCH that set \Seen answered the
# MODSEQ from before the change, the new one following in another FETCH
@test "condstore: one FETCH per stored message, none with flags after .SILENT; a FETCH that sets Seen gives the new MODSEQ" {
	run sh -c "printf 'a LOGIN bob secret\r\nb ENABLE CONDSTORE\r\nc SELECT INBOX\r\nd STORE 1 +FLAGS.SILENT (\\\\Deleted)\r\ne UID STORE 2 +FLAGS (\\\\Answered)\r\nf FETCH 3 (BODY[HEADER.FIELDS (Subject)])\r\ng FETCH 3 (MODSEQ)\r\nh FETCH 4 (RFC822.TEXT MODSEQ)\r\ni FETCH 4 (MODSEQ)\r\nj LOGOUT\r\n' |
		imapd --users users --auth-delay 0 2>err | tr -d '\r'"
	assert_success
	no_sanitizer_report err
	# the untagged FETCH lines each command brought, by tag
	per() { printf '%s\n' "$output" | awk -v t="$1" '/^[a-z] /{ if ($1 == t) { printf "%s", b; exit } b = ""; next } /^\* [0-9]+ FETCH/{ b = b $0 "\n" }'; }
	[ "$(per d | wc -l)" -eq 1 ]
	[[ "$(per d)" =~ ^\*\ 1\ FETCH\ \(MODSEQ\ \([0-9]+\)\)$ ]]
	[ "$(per e | wc -l)" -eq 1 ]
	[[ "$(per e)" == *'\Answered'*'UID 2 MODSEQ ('* ]]
	[ "$(per f | wc -l)" -eq 1 ]
	got=$(printf '%s\n' "$output" | sed -n 's/^ FLAGS (\\Seen \\Recent) MODSEQ (\([0-9]*\)))$/\1/p' | head -1)
	now=$(per g | sed -n 's/.*MODSEQ (\([0-9]*\)).*/\1/p')
	[ -n "$got" ] && [ "$got" = "$now" ]
	[ "$(per h | wc -l)" -eq 1 ]
	assert_line --regexp '^ MODSEQ \([0-9]+\) FLAGS \(\\Seen \\Recent\)\)$'
	got=$(printf '%s\n' "$output" | sed -n 's/^ MODSEQ (\([0-9]*\)) FLAGS.*/\1/p')
	now=$(per i | sed -n 's/.*MODSEQ (\([0-9]*\)).*/\1/p')
	[ -n "$got" ] && [ "$got" = "$now" ] && [ "$now" -gt "$(per g | sed -n 's/.*MODSEQ (\([0-9]*\)).*/\1/p')" ]
}

@test "condstore: another session's and another program's changes come with a higher MODSEQ" {
	start_imapd
	export PORT
	"$PY" - <<-EOF
	$(pylib)
	A, B = session(), session()
	_, ut = cmd(A, "SELECT", "INBOX", "(CONDSTORE)")
	h0 = highest(ut)
	_, ut = cmd(A, "UID", "FETCH", "1:*", "(MODSEQ)")
	m0 = modseqs(ut)
	assert sorted(m0) == [1, 2, 3, 4] and max(m0.values()) <= h0, (m0, h0)
	cmd(B, "SELECT", "INBOX")
	cmd(B, "STORE", "2", "+FLAGS", r"(\Flagged)")
	_, ut = cmd(A, "NOOP")
	m1 = modseqs(ut)
	assert list(m1) == [2] and m1[2] > h0, (m1, h0)
	assert "\\\\Flagged" in ut["FETCH"][0].decode(), ut
	_, ut = cmd(B, "STATUS", "INBOX", "(HIGHESTMODSEQ)")
	assert re.search(r"HIGHESTMODSEQ (\d+)", ut["STATUS"][0].decode()).group(1) == str(m1[2]), ut
	# a program renaming the file by hand (flags live in the name)
	cur = os.path.join(os.environ["MD"], "cur")
	old = [n for n in os.listdir(cur) if n.startswith("1700000003.")][0]
	os.rename(os.path.join(cur, old), os.path.join(cur, "1700000003.M3P3.lab:2,S"))
	_, ut = cmd(A, "NOOP")
	m2 = modseqs(ut)
	assert list(m2) == [3] and m2[3] > m1[2], (m2, m1)
	# CHANGEDSINCE: only what changed after the MODSEQ given
	_, ut = cmd(A, "UID", "FETCH", "1:*", "(FLAGS)", "(CHANGEDSINCE %d)" % m1[2])
	assert list(modseqs(ut)) == [3], ut
	_, ut = cmd(A, "UID", "FETCH", "1:*", "(FLAGS)", "(CHANGEDSINCE %d)" % h0)
	assert sorted(modseqs(ut)) == [2, 3], ut
	# SEARCH MODSEQ, and the MODSEQ of its result
	_, ut = cmd(A, "SEARCH", "MODSEQ", str(m1[2]))
	assert ut["SEARCH"][0].decode() == "2 3 (MODSEQ %d)" % m2[3], ut
	_, ut = cmd(A, "UID", "SEARCH", "RETURN", "(MIN)", "MODSEQ", '"/flags/%sflagged"' % (chr(92) * 2), "all", str(m1[2]))
	assert ut["ESEARCH"][0].decode().endswith("UID MIN 2 MODSEQ %d" % m1[2]), ut
	# its own STORE: the new MODSEQ in the answer
	_, ut = cmd(A, "STORE", "1", "+FLAGS", r"(\Answered)")
	f = ut["FETCH"][0].decode()
	assert re.search(r"MODSEQ \((\d+)\)", f) and int(re.search(r"MODSEQ \((\d+)\)", f).group(1)) > m2[3], f
	A.logout(); B.logout()
	EOF
}

@test "condstore: flags set and reset elsewhere still bring the new MODSEQ (imaptest's checkpoint)" {
	start_imapd
	"$PY" - <<-EOF
	$(pylib)
	A, B, C = session(), session(), session()
	_, ut = cmd(A, "SELECT", "INBOX", "(CONDSTORE)")
	cmd(B, "SELECT", "INBOX")
	cmd(C, "SELECT", "INBOX")
	# B flags message 2 and takes the flag back before A looks again: A's
	# flags are right, but its MODSEQ must move on like B's
	cmd(B, "STORE", "2", "+FLAGS.SILENT", r"(\Flagged)")
	cmd(B, "STORE", "2", "-FLAGS.SILENT", r"(\Flagged)")
	_, ut = cmd(B, "UID", "FETCH", "2", "(MODSEQ)")
	want = modseqs(ut)[2]
	_, ut = cmd(A, "NOOP")
	assert modseqs(ut) == {2: want}, (ut, want)
	assert "Flagged" not in ut["FETCH"][0].decode(), ut
	# a session without CONDSTORE is not told a change it cannot see
	_, ut = cmd(C, "NOOP")
	assert "FETCH" not in ut, ut
	A.logout(); B.logout(); C.logout()
	EOF
}

@test "condstore: STORE UNCHANGEDSINCE leaves a message changed meanwhile and names it in [MODIFIED]" {
	start_imapd
	export PORT
	"$PY" - <<-EOF
	$(pylib)
	A, B = session(), session()
	cmd(A, "ENABLE", "CONDSTORE")
	_, ut = cmd(A, "SELECT", "INBOX")
	h0 = highest(ut)
	cmd(B, "SELECT", "INBOX")
	cmd(B, "STORE", "1", "+FLAGS", r"(\Seen)")        # A has not seen this yet
	text, ut = cmd(A, "UID", "STORE", "1:2", "(UNCHANGEDSINCE %d)" % h0, "+FLAGS", r"(\Deleted)")
	assert "[MODIFIED 1]" in text, text
	f = [x.decode() for x in ut["FETCH"]]
	assert any("UID 2" in x and "\\\\Deleted" in x and "MODSEQ" in x for x in f), f
	assert not any(re.search(r"UID 1\b", x) and "\\\\Deleted" in x for x in f), f
	cmd(B, "NOOP")
	_, ut = cmd(B, "FETCH", "1:2", "(FLAGS)")
	f = [x.decode() for x in ut["FETCH"]]
	assert "\\\\Deleted" not in f[0] and "\\\\Seen" in f[0] and "\\\\Deleted" in f[1], f
	# UNCHANGEDSINCE 0 changes nothing
	text, ut = cmd(A, "STORE", "3", "(UNCHANGEDSINCE 0)", "+FLAGS.SILENT", r"(\Flagged)")
	assert "[MODIFIED 3]" in text, text
	cmd(A, "STORE", "3", "(UNCHANGEDSINCE x)", "+FLAGS", r"(\Flagged)", want="BAD")
	A.logout(); B.logout()
	EOF
}

@test "condstore: QRESYNC after changes and expunges reports VANISHED (EARLIER) and the changed flags" {
	start_imapd
	export PORT
	"$PY" - <<-EOF
	$(pylib)
	A = session()
	cmd(A, "ENABLE", "QRESYNC")
	_, ut = cmd(A, "SELECT", "INBOX")
	uv, h0 = int(ut["UIDVALIDITY"][0]), highest(ut)
	A.logout()
	B = session()
	cmd(B, "SELECT", "INBOX")
	cmd(B, "STORE", "2", "+FLAGS", r"(\Answered)")
	cmd(B, "STORE", "1,3", "+FLAGS", r"(\Deleted)")
	cmd(B, "EXPUNGE")
	B.logout()
	C = session()
	cmd(C, "ENABLE", "QRESYNC")
	cmd(C, "SELECT", "INBOX", "(QRESYNC (%d %d 1:4))" % (uv + 1, h0))   # stale UIDVALIDITY
	_, ut = cmd(C, "SELECT", "INBOX", "(QRESYNC (%d %d 1:4 (1:4 1:4)))" % (uv, h0))
	assert ut["VANISHED"] == [b"(EARLIER) 1,3"], ut
	assert sorted(modseqs(ut)) == [2], ut
	assert "\\\\Answered" in ut["FETCH"][0].decode(), ut
	h1 = highest(ut)
	assert h1 > h0, (h0, h1)
	# without known UIDs the same; and UID FETCH ... VANISHED
	_, ut = cmd(C, "UID", "FETCH", "1:*", "(FLAGS)", "(CHANGEDSINCE %d VANISHED)" % h0)
	assert ut["VANISHED"] == [b"(EARLIER) 1,3"] and sorted(modseqs(ut)) == [2], ut
	# with QRESYNC every FETCH carries the UID, even without UID FETCH/STORE
	_, ut = cmd(C, "FETCH", "1", "(FLAGS)")
	assert re.search(r"UID 2\b.*MODSEQ", ut["FETCH"][0].decode()), ut
	_, ut = cmd(C, "STORE", "1", "+FLAGS", r"(\Seen)")
	assert list(modseqs(ut)) == [2], ut
	# an expunge in this session: VANISHED, never EXPUNGE
	cmd(C, "UID", "STORE", "2", "+FLAGS.SILENT", r"(\Deleted)")
	_, ut = cmd(C, "EXPUNGE")
	assert ut.get("VANISHED") == [b"2"] and "EXPUNGE" not in ut, ut
	# QRESYNC needs ENABLE QRESYNC first
	D = session()
	cmd(D, "SELECT", "INBOX", "(QRESYNC (%d %d))" % (uv, h0), want="BAD")
	C.logout(); D.logout()
	EOF
}

@test "condstore: MODSEQs outlive imapd; a uidlist of an older imapd is still read" {
	start_imapd
	export PORT
	"$PY" - <<-EOF
	$(pylib)
	A = session()
	cmd(A, "SELECT", "INBOX")
	cmd(A, "STORE", "4", "+FLAGS", r"(\Seen)")
	_, ut = cmd(A, "UID", "FETCH", "1:*", "(MODSEQ)")
	open("before", "w").write(repr(sorted(modseqs(ut).items())))
	A.logout()
	EOF
	stop_all || true
	grep -q '^maillab-uidlist 1$' "$MD/maillab-uidlist"
	sed -n 2p "$MD/maillab-uidlist" | grep -Eq ' H[0-9]+ E0$'
	start_imapd
	export PORT
	"$PY" - <<-EOF
	$(pylib)
	A = session()
	cmd(A, "SELECT", "INBOX")
	_, ut = cmd(A, "UID", "FETCH", "1:*", "(MODSEQ)")
	assert repr(sorted(modseqs(ut).items())) == open("before").read(), (ut, open("before").read())
	A.logout()
	EOF
	stop_all || true
	# a list as imapd wrote it before mod-sequences: UIDs 5 7 9 11 kept
	local names
	names=$(cd "$MD/cur" && ls | sort)
	{
		echo 'maillab-uidlist 1'
		echo 'V1234 N12 R12 C0 D0 S0 M4 U4 F1 Q0 X0'
		set -- $names
		echo "5 :$1"; echo "7 :$2"; echo "9 :$3"; echo "11 :$4"
	} > "$MD/maillab-uidlist"
	fix_perms
	start_imapd
	export PORT
	"$PY" - <<-EOF
	$(pylib)
	A = session()
	_, ut = cmd(A, "SELECT", "INBOX", "(CONDSTORE)")
	assert int(ut["UIDVALIDITY"][0]) == 1234 and highest(ut) == 1, ut
	_, ut = cmd(A, "UID", "FETCH", "1:*", "(MODSEQ)")
	assert modseqs(ut) == {5: 1, 7: 1, 9: 1, 11: 1}, ut
	_, ut = cmd(A, "UID", "STORE", "7", "+FLAGS", r"(\Flagged)")
	assert modseqs(ut) == {7: 2}, ut
	A.logout()
	EOF
}
