#!/usr/bin/env bats
# imapd's IMAP4rev2 (RFC 9051) beside IMAP4rev1, over loopback with Python's
# imaplib for the connection and the login and raw command lines after it
# (imaplib of Python 3.11 knows nothing of IMAP4rev2): a session that has
# not sent ENABLE IMAP4rev2 gets IMAP4rev1's answers, one that has gets no
# \Recent nor RECENT, a LIST response at SELECT, ESEARCH for SEARCH and
# STATUS SIZE and DELETED.

load helpers
PORT_BASE=38300

setup() {
	cd "$BATS_TEST_TMPDIR"
	H=$BATS_TEST_TMPDIR/home/bob
	MD=$H/Maildir
	mkdir -p "$MD/new" "$MD/cur" "$MD/tmp" "$MD/.Trash/cur" "$MD/.Trash/new" "$MD/.Trash/tmp"
	touch "$MD/.Trash/maildirfolder"
	if [ "$(id -u)" = 0 ]; then IDS=65534:65534; else IDS=$(id -u):$(id -g); fi
	echo "bob:{PLAIN}secret:$IDS::$H::" > users
	# 1 seen, 2 seen and deleted, 3 and 4 new (so \Recent for the first SELECT)
	printf 'From: a@example.org\nSubject: m1\n\nbody 1\n' > "$MD/cur/1700000001.M1P1.lab:2,S"
	printf 'From: a@example.org\nSubject: m2\n\nbody two\n' > "$MD/cur/1700000002.M2P2.lab:2,ST"
	printf 'From: a@example.org\nSubject: m3\n\nbody three\n' > "$MD/new/1700000003.M3P3.lab"
	printf 'From: a@example.org\nSubject: m4\n\nbody four!\n' > "$MD/new/1700000004.M4P4.lab"
	fix_perms
	start_imapd
}

teardown() {
	stop_all
	no_sanitizer_report "$BATS_TEST_TMPDIR/imapd.log"
}

# Log in with imaplib, then send each argument as a raw command line and
# print every response line up to its tagged reply, in order.  "!deliver
# name" puts a new message into new/ (another program delivering).
session() {
	python3 - "$@" <<-'EOF'
	import imaplib, os, sys
	M = imaplib.IMAP4("127.0.0.1", int(os.environ["PORT"]))
	print("* GREETING", M.welcome.decode())
	assert M.login("bob", "secret")[0] == "OK"
	for line in sys.argv[1:]:
	    if line.startswith("!deliver "):
	        name = line.split()[1]
	        p = os.path.join(os.environ["MD"], "tmp", name)
	        with open(p, "w") as f:
	            f.write("From: c@example.org\nSubject: late\n\nlate\n")
	        os.rename(p, os.path.join(os.environ["MD"], "new", name))
	        continue
	    tag = line.split()[0]
	    M.send(line.encode() + b"\r\n")
	    while True:
	        r = M.readline()
	        assert r, "connection closed"
	        r = r.decode().rstrip("\r\n")
	        print(r)
	        if r.startswith(tag + " "):
	            break
	M.logout()
	EOF
}

@test "rev2: CAPABILITY lists IMAP4rev1 and IMAP4rev2; ENABLE answers ENABLED IMAP4rev2" {
	export MD
	run session 'a CAPABILITY' 'b ENABLE IMAP4rev2' 'c ENABLE CONDSTORE imap4rev2 X-FOO'
	assert_success
	assert_line --regexp '^\* GREETING .*\[CAPABILITY IMAP4rev1 IMAP4rev2 '
	assert_line --regexp '^\* CAPABILITY IMAP4rev1 IMAP4rev2 .*ESEARCH'
	assert_line '* ENABLED IMAP4rev2'
	assert_line '* ENABLED CONDSTORE IMAP4rev2'
	assert_line 'c OK Enabled.'
}

@test "rev2: without ENABLE, SELECT, FETCH, SEARCH and STATUS answer as IMAP4rev1" {
	export MD
	run session 'a SELECT INBOX' 'b FETCH 1:* (FLAGS)' 'c SEARCH ALL' 'd UID SEARCH DELETED' \
		'e STATUS Trash (SIZE)' 'f STATUS Trash (MESSAGES DELETED)' '!deliver 1700000005.M5P5.lab' 'g NOOP'
	assert_success
	assert_line '* 4 EXISTS'
	assert_line '* 4 RECENT'
	assert_line --regexp '^\* OK \[UNSEEN 3\]'
	refute_line --regexp '^\* LIST'
	assert_line '* 3 FETCH (FLAGS (\Recent))'
	assert_line '* 2 FETCH (FLAGS (\Deleted \Seen \Recent))'
	assert_line '* SEARCH 1 2 3 4'
	assert_line '* SEARCH 2'
	refute_line --regexp '^\* ESEARCH'
	assert_line --regexp '^e BAD '
	# DELETED is QUOTA's too (RFC 9208 5.2), offered to IMAP4rev1 as well
	assert_line '* STATUS "Trash" (MESSAGES 0 DELETED 0)'
	assert_line '* 5 EXISTS'
	assert_line '* 5 RECENT'
}

@test "rev2: after ENABLE, SELECT has no RECENT and names the mailbox in LIST" {
	export MD
	run session 'a ENABLE IMAP4rev2' 'b SELECT INBOX' 'c EXAMINE Trash' 'd SELECT "Nope"'
	assert_success
	assert_line '* 4 EXISTS'
	refute_line --regexp 'RECENT|Recent|UNSEEN'
	assert_line '* LIST (\HasNoChildren) "." "INBOX"'
	assert_line --regexp '^\* OK \[UIDVALIDITY [0-9]+\]'
	assert_line --regexp '^\* OK \[UIDNEXT 5\]'
	assert_line --regexp '^\* OK \[PERMANENTFLAGS \(\\Answered \\Flagged \\Deleted \\Seen \\Draft \\\*\)\]'
	assert_line '* FLAGS (\Answered \Flagged \Deleted \Seen \Draft)'
	assert_line 'b OK [READ-WRITE] Select completed.'
	assert_line --regexp '^\* OK \[CLOSED\]'
	assert_line '* LIST (\HasNoChildren \Trash) "." "Trash"'
	assert_line '* 0 EXISTS'
	assert_line --regexp '^d NO \[NONEXISTENT\]'
}

@test "rev2: after ENABLE, no \\Recent in FETCH and no RECENT for new mail" {
	export MD
	run session 'a ENABLE IMAP4rev2' 'b SELECT INBOX' 'c FETCH 1:* (FLAGS)' \
		'!deliver 1700000005.M5P5.lab' 'd NOOP' 'e STORE 3 +FLAGS (\Flagged)' 'f FETCH 5 FAST'
	assert_success
	refute_line --regexp 'RECENT|Recent'
	assert_line '* 3 FETCH (FLAGS ())'
	assert_line '* 2 FETCH (FLAGS (\Deleted \Seen))'
	assert_line '* 5 EXISTS'
	assert_line '* 3 FETCH (FLAGS (\Flagged))'
	assert_line --regexp '^\* 5 FETCH \(FLAGS \(\) INTERNALDATE '
}

@test "rev2: after ENABLE, SEARCH and UID SEARCH answer with ESEARCH" {
	export MD
	run session 'a ENABLE IMAP4rev2' 'b SELECT INBOX' 'c SEARCH ALL' 'd UID SEARCH DELETED' \
		'e SEARCH SUBJECT nothing-like-this' 'f SEARCH RETURN (COUNT) ALL' 'g UID SEARCH RETURN () 3:4'
	assert_success
	refute_line --regexp '^\* SEARCH'
	assert_line '* ESEARCH (TAG "c") ALL 1:4'
	assert_line '* ESEARCH (TAG "d") UID ALL 2'
	assert_line '* ESEARCH (TAG "e")'
	assert_line '* ESEARCH (TAG "f") COUNT 4'
	assert_line '* ESEARCH (TAG "g") UID ALL 3:4'
	assert_line 'e OK Search completed.'
}

@test "rev2: after ENABLE, STATUS SIZE and DELETED, also in LIST RETURN (STATUS)" {
	export MD
	run session 'a ENABLE IMAP4rev2' 'b STATUS INBOX (MESSAGES SIZE DELETED)' 'c STATUS Trash (SIZE DELETED)' \
		'd LIST "" Trash RETURN (STATUS (deleted size))' 'e SELECT INBOX' 'f FETCH 1:* (RFC822.SIZE)' \
		'g STATUS INBOX (size)' 'h STATUS INBOX (SIZE BOGUS)'
	assert_success
	# the wire size has CRLF line ends: each file's bytes plus one per line
	local want
	want=$(find "$MD/cur" "$MD/new" -type f -exec cat {} + | awk '{ n += length($0) + 2 } END { print n }')
	assert_line "* STATUS \"INBOX\" (MESSAGES 4 SIZE $want DELETED 1)"
	assert_line '* STATUS "Trash" (SIZE 0 DELETED 0)'
	assert_line '* STATUS "Trash" (DELETED 0 SIZE 0)'
	assert_line "* STATUS \"INBOX\" (SIZE $want)"
	local sum
	sum=$(printf '%s\n' "${lines[@]}" | sed -n 's/^\* [0-9]* FETCH (RFC822.SIZE \([0-9]*\))$/\1/p' | awk '{ s += $1 } END { print s }')
	[ "$sum" = "$want" ]
	assert_line --regexp '^h BAD '
}

@test "rev2: SEARCHRES: SEARCH RETURN (SAVE) keeps \$ for FETCH, STORE and SEARCH; SELECT empties it" {
	export MD
	run session 'a ENABLE IMAP4rev2' 'b SELECT INBOX' 'c SEARCH RETURN (SAVE) SUBJECT m3' \
		'd FETCH $ (UID FLAGS)' 'e SEARCH RETURN (SAVE MIN MAX) OR SUBJECT m1 OR SUBJECT m2 SUBJECT m4' \
		'f UID SEARCH $' 'g SEARCH NOT $' 'h STORE $ +FLAGS.SILENT (\Answered)' 'i UID SEARCH ANSWERED' \
		'j SEARCH RETURN (SAVE SAVE) ALL' 'k SEARCH UID $' 'l SELECT INBOX' 'm FETCH $ (UID)' 'n SEARCH $'
	assert_success
	refute_line --regexp '^\* ESEARCH \(TAG "c"\)'
	assert_line 'c OK Search completed.'
	assert_line '* 3 FETCH (UID 3 FLAGS ())'
	assert_line '* ESEARCH (TAG "e") MIN 1 MAX 4'
	assert_line '* ESEARCH (TAG "f") UID ALL 1,4'
	assert_line '* ESEARCH (TAG "g") ALL 2:3'
	assert_line '* ESEARCH (TAG "i") UID ALL 1,4'
	assert_line --regexp '^j BAD '
	assert_line '* ESEARCH (TAG "k")'
	assert_line 'm OK Fetch completed.'
	refute_line --regexp '^\* [0-9]+ FETCH \(UID [0-9]+\)$'
	assert_line '* ESEARCH (TAG "n")'
}

@test "rev2: SEARCHRES: UID EXPUNGE \$ expunges the saved messages that are \\Deleted" {
	export MD
	run session 'a SELECT INBOX' 'b SEARCH RETURN (SAVE) 1:3' 'c STORE 1 +FLAGS.SILENT (\Deleted)' \
		'd UID EXPUNGE $' 'e UID SEARCH ALL' 'f SEARCH RETURN (SAVE) SUBJECT nothing-like-this' \
		'g STORE 1 +FLAGS.SILENT (\Deleted)' 'h UID EXPUNGE $' 'i SEARCH DELETED'
	assert_success
	[ "$(printf '%s\n' "${lines[@]}" | grep -c '^\* 1 EXPUNGE$')" = 2 ]
	refute_line '* 2 EXPUNGE'
	assert_line '* SEARCH 3 4'
	assert_line 'h OK Expunge completed.'
	assert_line '* SEARCH 1'
}
