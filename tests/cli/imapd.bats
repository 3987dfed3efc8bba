#!/usr/bin/env bats
# imapd as a mail administrator and its clients see it: inetd-mode dialogues
# on stdin, and real clients nobody on the team wrote (Python's imaplib,
# curl, mbsync, mutt, openssl s_client, xinetd) against -l and inetd modes.

load helpers
PORT_BASE=31000

# Started as root (as in CI), imapd serves mail as the passwd-file's uid:
# the tests give the mail to nobody (65534) and let it through the path.
setup() {
	cd "$BATS_TEST_TMPDIR"
	H=$BATS_TEST_TMPDIR/home/bob
	MD=$H/Maildir
	mkdir -p "$MD/new" "$MD/cur" "$MD/tmp" "$MD"/.{Sent,Trash,Junk}/{cur,new,tmp}
	if [ "$(id -u)" = 0 ]; then IDS=65534:65534; else IDS=$(id -u):$(id -g); fi
	HASH=$(openssl passwd -6 -salt saltsalt alicepw)
	mkdir -p "$BATS_TEST_TMPDIR/home/alice"
	cat > users <<-EOF
	bob:{PLAIN}secret:$IDS::$H::
	alice:{SHA512-CRYPT}$HASH:$IDS::$BATS_TEST_TMPDIR/home/alice::
	EOF
	make_mail
	fix_perms
	export H MD IDS
}

teardown() {
	stop_all
	tmux kill-server 2>/dev/null || true
	no_sanitizer_report "$BATS_TEST_TMPDIR/imapd.log"
}

# Three messages: LF, CRLF, and a MIME multipart with a base64 part.
make_mail() {
	printf 'From: Ann <a@example.org>\nTo: bob@example.org\nSubject: one\nDate: Mon, 2 Jan 2023 10:00:00 +0000\nMessage-ID: <1@x>\n\nhello\nworld\n' \
		> "$MD/new/1700000001.M1P1.lab"
	printf 'From: b@example.org\r\nSubject: =?UTF-8?Q?caf=C3=A9?=\r\nDate: Tue, 3 Jan 2023 10:00:00 +0000\r\n\r\nline 1\r\n' \
		> "$MD/cur/1700000002.M2P2.lab:2,S"
	printf 'From: c@example.org\nSubject: three\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="XX"\n\npre\n--XX\nContent-Type: text/plain\n\npart one\n--XX\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n\nc2VjcmV0IHdvcmQK\n--XX--\n' \
		> "$MD/cur/1700000003.M3P3.lab:2,F"
}

# tmux on a socket of the test's own: no other tmux user on the machine can
# end or disturb the mutt session (the default server is shared)
tmux() {
	command tmux -S "$BATS_TEST_TMPDIR/tmux.sock" "$@"
}

imap() {      # imapd in inetd mode, the dialogue on stdin, CRs dropped
	imapd --users users --auth-delay 0 "$@" | tr -d '\r'
}

listen() {
	PORT=$(free_port)
	start_bg imapd -l "127.0.0.1:$PORT" --users users --auth-delay 0 "$@" 2>"$BATS_TEST_TMPDIR/imapd.log"
	wait_port "$PORT"
}


@test "--help, --version and usage errors" {
	run imapd --help
	assert_success
	assert_output --partial "usage: imapd"
	run imapd --version
	assert_success
	run imapd --bogus
	assert_equal "$status" 64
	run imapd extra-arg
	assert_equal "$status" 64
	run imapd --tls
	assert_equal "$status" 64
}

@test "greeting, CAPABILITY, NOOP, LOGOUT in inetd mode" {
	run imap <<< $'a CAPABILITY\r\nb NOOP\r\nc LOGOUT\r'
	assert_success
	assert_line --index 0 --regexp '^\* OK \[CAPABILITY IMAP4rev1 .*\] .* ready\.$'
	assert_line --regexp '^\* CAPABILITY IMAP4rev1 IMAP4rev2 LITERAL\+ SASL-IR .*IDLE .*UIDPLUS MOVE SPECIAL-USE CHILDREN UNSELECT AUTH=PLAIN'
	assert_line "a OK Capability completed."
	assert_line "b OK NOOP completed."
	assert_line "* BYE Logging out"
	assert_line "c OK Logout completed."
}

@test "LOGIN: good and bad passwords, SHA512-CRYPT, three failures end the session" {
	run imap <<< $'a LOGIN bob wrong\r\nb LOGIN alice alicepw\r\nc LOGOUT\r'
	assert_line "a NO [AUTHENTICATIONFAILED] Authentication failed."
	assert_line --regexp '^b OK \[CAPABILITY .*\] Logged in$'
	run imap <<< $'a LOGIN bob x\r\nb LOGIN bob y\r\nc LOGIN nobody z\r\nd LOGIN bob secret\r'
	assert_line "* BYE Too many failed logins"
	refute_line --partial "d OK"
}

@test "failed logins are delayed" {
	start=$(date +%s%N)
	printf 'a LOGIN bob wrong\r\nb LOGOUT\r\n' | imapd --users users --auth-delay 1 >/dev/null
	end=$(date +%s%N)
	[ $(( (end - start) / 1000000 )) -ge 900 ]
}

@test "commands are checked against the state" {
	run imap <<< $'a SELECT INBOX\r\nb FETCH 1 FLAGS\r\nc FOO\r\nd LOGIN bob secret\r\ne LOGIN bob secret\r\nf FETCH 1 FLAGS\r\ng UID BOGUS 1\r'
	assert_line "a BAD Command SELECT not valid in this state"
	assert_line "b BAD Command FETCH not valid in this state"
	assert_line "c BAD Unknown command FOO"
	assert_line "e BAD Command LOGIN not valid in this state"
	assert_line "f BAD Command FETCH not valid in this state"
	assert_line "g BAD Unknown UID command"
}

@test "SELECT reports EXISTS, RECENT, UNSEEN, UIDVALIDITY; UIDs persist across sessions" {
	run imap <<< $'a LOGIN bob secret\r\nb SELECT INBOX\r\nc UID FETCH 1:* (FLAGS)\r\nd LOGOUT\r'
	assert_line "* 3 EXISTS"
	assert_line "* 3 RECENT"
	assert_line "* OK [UNSEEN 1] First unseen."
	assert_line "* OK [UIDNEXT 4] Predicted next UID"
	assert_line "b OK [READ-WRITE] Select completed."
	assert_line '* 2 FETCH (UID 2 FLAGS (\Seen \Recent))'
	uv=$(grep -o 'UIDVALIDITY [0-9]*' <<< "$output")
	# the new/ file moved to cur/ with a :2, suffix, nothing is left in new/
	[ -z "$(ls "$MD/new")" ]
	ls "$MD/cur" | grep -q '^1700000001.M1P1.lab:2,$'
	run imap <<< $'a LOGIN bob secret\r\nb EXAMINE INBOX\r\nc FETCH 1:* (UID FLAGS)\r'
	assert_line "* 0 RECENT"
	assert_line --partial "$uv"
	assert_line '* 3 FETCH (UID 3 FLAGS (\Flagged))'
	assert_line "b OK [READ-ONLY] Examine completed."
}

@test "STATUS of the selected folder counts the session's \\Recent messages, as SELECT did" {
	run imap <<< $'a LOGIN bob secret\r\nb SELECT INBOX\r\nc STATUS INBOX (MESSAGES RECENT UNSEEN)\r\nd LOGOUT\r'
	assert_line "* 3 RECENT"
	assert_line '* STATUS "INBOX" (MESSAGES 3 RECENT 3 UNSEEN 2)'
}

@test "a message edited by hand (its S=/W= name sizes stale) is fetched with the RFC822.SIZE of its bytes, also later" {
	printf 'From: a@b\nSubject: w\n\nbody edited\n' > "$MD/cur/1700000004.M4P4.lab,S=30,W=32:2,S"
	printf 'From: a@b\nSubject: v\n\nbody\n' > "$MD/cur/1700000005.M5P5.lab,W=999:2,S"
	fix_perms
	run imap <<< $'a LOGIN bob secret\r\nb SELECT INBOX\r\nc FETCH 4:5 (RFC822.SIZE BODY.PEEK[])\r\nd LOGOUT\r'
	assert_line '* 4 FETCH (RFC822.SIZE 38 BODY[] {38}'
	assert_line '* 5 FETCH (RFC822.SIZE 31 BODY[] {31}'
	# the corrected sizes are kept for the next session
	run imap <<< $'a LOGIN bob secret\r\nb SELECT INBOX\r\nc FETCH 4:5 RFC822.SIZE\r\nd LOGOUT\r'
	assert_line '* 4 FETCH (RFC822.SIZE 38)'
	assert_line '* 5 FETCH (RFC822.SIZE 31)'
}

@test "SEARCH CHARSET ISO-8859-1 and other iconv charsets: the strings are converted to UTF-8; unknown ones BADCHARSET" {
	printf 'From: b@example.org\nSubject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=\n\nStra\303\237e\n' > "$MD/cur/1700000004.M4P4.lab:2,S"
	fix_perms
	run imap <<< $'a LOGIN bob secret\r\nb SELECT INBOX\r\nc SEARCH CHARSET ISO-8859-1 SUBJECT {4}\r\nGr\374\337\r\nd SEARCH CHARSET windows-1252 OR BODY "Stra\337e" FROM nobody\r\ne SEARCH CHARSET X-NO-SUCH SUBJECT a\r\nf SEARCH CHARSET ISO-8859-1 SUBJECT three\r\ng LOGOUT\r'
	assert_line '* SEARCH 4'
	[ "$(grep -c '^\* SEARCH 4$' <<< "$output")" = 2 ]
	assert_line --partial 'e NO [BADCHARSET'
	assert_line '* SEARCH 3'
}

@test "APPEND with a synchronising literal waits for the continuation; LITERAL+ does not" {
	run imap <<< $'a LOGIN bob secret\r\nb APPEND INBOX (\\Seen \\Flagged) "05-Mar-2021 10:20:30 +0100" {23}\r\nSubject: sync\r\n\r\nbody\r\n\r\nc APPEND Sent {9+}\r\nSubject:\n\r\nd LOGOUT\r'
	assert_line "+ OK"
	assert_line --regexp '^b OK \[APPENDUID [0-9]+ 4\] Append completed\.$'
	assert_line --regexp '^c OK \[APPENDUID [0-9]+ 1\] Append completed\.$'
	f=$(ls "$MD"/cur/*:2,FS)
	[ "$(stat -c %Y "$f")" = "$(date -d '2021-03-05 09:20:30 UTC' +%s)" ]
	# stored with LF; both sizes in the name, as Dovecot writes them
	[[ "$f" == *,S=20,W=23:2,FS ]] || { echo "$f"; false; }
	[ "$(head -1 "$f")" = "Subject: sync" ]
	run imap <<< $'a LOGIN bob secret\r\nb EXAMINE INBOX\r\nc UID FETCH 4 (RFC822.SIZE INTERNALDATE BODY[])\r'
	assert_line '* 4 FETCH (UID 4 RFC822.SIZE 23 INTERNALDATE "05-Mar-2021 09:20:30 +0000" BODY[] {23}'
}

@test "APPEND to a missing mailbox says TRYCREATE; bad flags and dates are refused" {
	run imap <<< $'a LOGIN bob secret\r\nb APPEND nothere {3+}\r\nx\r\n\r\nc APPEND INBOX (\\Recent) {3+}\r\nx\r\n\r\nd APPEND INBOX "31-Foo-2020 00:00:00 +0000" {3+}\r\nx\r\n\r'
	assert_line "b NO [TRYCREATE] Mailbox doesn't exist: nothere"
	assert_line "c BAD Invalid flags"
	assert_line "d BAD Invalid date-time"
}

@test "hostile input: huge literals refused before allocation, overlong lines, NUL, nesting" {
	run imap <<< $'a LOGIN bob secret\r\nb APPEND INBOX {4294967295}\r\nc NOOP\r\nd APPEND INBOX {99999999999999999999}\r\ne NOOP\r'
	assert_line "b BAD literal too big"
	assert_line "c OK NOOP completed."
	assert_line "d BAD literal too big"
	assert_line "e OK NOOP completed."
	refute_line "+ OK"
	# before login, literals are for names and passwords only
	run imap <<< $'a LOGIN bob {9000}\r\nb LOGIN {3}\r\nbob {6}\r\nsecret\r'
	assert_line "a BAD literal too big"
	assert_line --regexp '^b OK \[CAPABILITY'
	# a LITERAL+ literal too big: the stream cannot be trusted any more
	run imap <<< $'a APPEND INBOX {4294967295+}\r\nb NOOP\r'
	assert_line "* BYE literal too big"
	refute_line --partial "b OK"
	long=$(head -c 70000 /dev/zero | tr '\0' x)
	run imap <<< "t1 NOOP $long"$'\r\nt2 NOOP\r'
	assert_line "t1 BAD line too long"
	assert_line "t2 OK NOOP completed."
	run bash -c "printf 'n1 NOOP\0x\r\nn2 NOOP\r\n' | imapd --users users | tr -d '\r'"
	assert_line "n1 BAD NUL byte in command"
	assert_line "n2 OK NOOP completed."
	deep=$(printf '(%.0s' {1..40})
	run imap <<< $'a LOGIN bob secret\r\nb SELECT INBOX\r\nc SEARCH '"$deep"$'\r\nd FETCH 1 (FLAGS\r\ne FETCH 1 FLAGS)\r\n"x" NOOP\r\ng NOOP\r'
	assert_line "c BAD lists nested too deep"
	assert_line "d BAD missing )"
	assert_line "e BAD unexpected )"
	assert_line "* BAD bad tag"
	assert_line "g OK NOOP completed."
}

@test "hostile input: a flood of bad commands is cut off" {
	run bash -c "for i in \$(seq 50); do printf 'x%d FOO(\r\n' \$i; done | imapd --users users | tr -d '\r'"
	assert_line "* BYE Too many invalid commands."
	refute_line --partial "x30 "
}

@test "LIST gives a missing parent (\Noselect) before its children, as Dovecot does" {
	mkdir -p "$MD"/.x.y.z/{cur,new,tmp}
	fix_perms
	run imap <<< $'a LOGIN bob secret\r\nb LIST "" "x*"\r\nc LIST "" "*"\r\nd LOGOUT\r'
	assert_line '* LIST (\Noselect \HasChildren) "." "x"'
	# both listings: x, then x.y, then x.y.z
	[ "$(grep -o '"x[.yz]*"$' <<< "$output" | tr '\n' ' ')" = '"x" "x.y" "x.y.z" "x" "x.y" "x.y.z" ' ]
}

@test "mailbox names are confined to the user's Maildir; modified UTF-7 is checked" {
	run imap <<< $'a LOGIN bob secret\r\nb CREATE ../evil\r\nc CREATE a/b\r\nd CREATE .hidden\r\ne CREATE a..b\r\nf CREATE "&Jjo"\r\ng CREATE "&ZeVnLIqe-"\r\nh CREATE work.\r\ni CREATE work.2024\r\nj LIST "" *\r\nk SELECT ../../../etc\r\nl CREATE INBOX\r\nm CREATE work\r'
	for t in b c d e f; do assert_line "$t NO [CANNOT] Invalid mailbox name"; done
	assert_line "g OK Create completed."
	assert_line "h OK Create completed."
	assert_line '* LIST (\HasNoChildren) "." "&ZeVnLIqe-"'
	assert_line '* LIST (\HasChildren) "." "work"'
	assert_line '* LIST (\HasNoChildren) "." "work.2024"'
	assert_line "k NO [CANNOT] Invalid mailbox name"
	assert_line "l NO [ALREADYEXISTS] Mailbox already exists"
	assert_line "m NO [ALREADYEXISTS] Mailbox already exists"
	[ -d "$MD/.work.2024/cur" ]
	[ ! -e "$BATS_TEST_TMPDIR/home/evil" ] && [ ! -e "$H/evil" ] && [ ! -e "$MD/..evil" ]
}

@test "a new user gets a Maildir with Sent, Drafts, Trash and Junk (SPECIAL-USE)" {
	run imap <<< $'a LOGIN alice alicepw\r\nb LIST "" "*"\r\nc LSUB "" "*"\r\nd LIST "" ""\r\ne LIST "" "%"\r'
	assert_line '* LIST (\HasNoChildren) "." "INBOX"'
	assert_line '* LIST (\HasNoChildren \Sent) "." "Sent"'
	assert_line '* LIST (\HasNoChildren \Drafts) "." "Drafts"'
	assert_line '* LIST (\HasNoChildren \Trash) "." "Trash"'
	assert_line '* LIST (\HasNoChildren \Junk) "." "Junk"'
	assert_line '* LSUB () "." "Trash"'
	assert_line '* LIST (\Noselect) "." ""'
	[ -d "$BATS_TEST_TMPDIR/home/alice/Maildir/.Sent/cur" ]
}

@test "-v prints the transcript with the password masked" {
	printf 'a LOGIN bob secret\r\nb LOGOUT\r\n' | imapd --users users -v 2>log >/dev/null
	grep -q '^C: a LOGIN bob \*\*\*\*$' log
	grep -q '^S: a OK \[CAPABILITY' log
	grep -q '^\* login: user=bob$' log
	grep -q '^\* logout: user=bob in=[0-9]* out=[0-9]*$' log
	! grep -q secret log
	plain=$(printf '\0bob\0secret' | base64)
	printf 'a AUTHENTICATE PLAIN %s\r\nb LOGOUT\r\n' "$plain" | imapd --users users -v 2>log >/dev/null
	grep -q '^C: a AUTHENTICATE PLAIN \*\*\*\*$' log
	! grep -q "$plain" log
	printf 'a AUTHENTICATE PLAIN\r\n%s\r\nb LOGOUT\r\n' "$plain" | imapd --users users -v 2>log >/dev/null
	! grep -q "$plain" log
}

@test "Python imaplib: every command of RFC 3501 and the extensions" {
	listen
	"$PY" - "$PORT" "$MD" <<-'EOF'
	import imaplib, sys, re, socket, time, os
	port, md = int(sys.argv[1]), sys.argv[2]
	M = imaplib.IMAP4("127.0.0.1", port)
	ok = lambda r: r[0] == "OK" or sys.exit("failed: %r" % (r,))
	no = lambda r, code: (r[0] == "NO" and code in r[1][0].decode()) or sys.exit("expected NO %s: %r" % (code, r))
	assert "IDLE" in M.capabilities and "UIDPLUS" in M.capabilities
	ok(M.noop())
	ok(M.login("bob", "secret"))
	ok(M.xatom("ID", '("name" "imaplib")'))
	assert b"maillab imapd" in M.untagged_responses["ID"][0]; M.untagged_responses.clear()
	ok(M.enable("FOO"))
	typ, ns = M.namespace(); ok((typ,))
	assert ns[0] == b'(("" ".")) NIL NIL', ns
	# folders
	ok(M.create("Work")); ok(M.create("Work.Old"))
	typ, l = M.list("\"\"", "Work*"); ok((typ,))
	assert b'(\\HasChildren) "." "Work"' in l and b'(\\HasNoChildren) "." "Work.Old"' in l, l
	typ, l = M.list("Work.", "%"); assert l == [b'(\\HasNoChildren) "." "Work.Old"'], l
	ok(M.rename("Work", "Job"))
	typ, l = M.list("\"\"", "*"); assert b'(\\HasNoChildren) "." "Job.Old"' in l and b'"Work"' not in str(l).encode(), l
	ok(M.subscribe("Job")); typ, l = M.lsub("\"\"", "J*"); assert l == [b'() "." "Job"'], l
	ok(M.unsubscribe("Job")); typ, l = M.lsub("\"\"", "J*"); assert l == [None], l
	no(M.delete("INBOX"), "CANNOT")
	ok(M.delete("Job.Old")); ok(M.delete("Job"))
	no(M.delete("Job"), "NONEXISTENT")
	no(M.select("Nope"), "NONEXISTENT")
	typ, s = M.status("INBOX", "(MESSAGES RECENT UIDNEXT UNSEEN)")
	assert s == [b'"INBOX" (MESSAGES 3 RECENT 3 UIDNEXT 4 UNSEEN 2)'], s
	# APPEND with flags and date; APPENDUID
	typ, d = M.append("INBOX", r"(\Draft)", imaplib.Time2Internaldate(1600000000),
	                  b"From: Zed <z@example.org>\r\nSubject: appended\r\n\r\nfour\r\n")
	ok((typ,)); assert re.match(rb"\[APPENDUID \d+ 4\]", d[0]), d
	typ, d = M.select("INBOX"); assert d == [b"4"], d
	assert M.untagged_responses["RECENT"] == [b"4"]
	# FETCH
	typ, d = M.fetch("1", "(FLAGS INTERNALDATE RFC822.SIZE ENVELOPE)"); ok((typ,))
	f = d[0]
	assert b"RFC822.SIZE 88" in f or b"RFC822.SIZE" in f, f
	assert b'ENVELOPE ("Mon, 2 Jan 2023 10:00:00 +0000" "one" (("Ann" NIL "a" "example.org"))' in f, f
	typ, d = M.fetch("1", "(BODY.PEEK[])"); body = d[0][1]
	assert body.endswith(b"\r\nhello\r\nworld\r\n") and b"\n" not in body.replace(b"\r\n", b""), body
	typ, d = M.fetch("1", "(RFC822.SIZE)"); assert int(re.search(rb"SIZE (\d+)", d[0]).group(1)) == len(body)
	typ, d = M.fetch("1", "(FLAGS)"); assert b"\\Seen" not in d[0], d
	typ, d = M.fetch("1", "(BODY[TEXT]<2.5>)"); assert d[0][1] == b"llo\r\n", d
	assert b"BODY[TEXT]<2>" in d[0][0], d
	typ, d = M.fetch("1", "(FLAGS)"); assert b"\\Seen" in d[0], d     # BODY[] without PEEK sets \Seen
	typ, d = M.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT FROM)])")
	assert d[0][1] == b"From: Ann <a@example.org>\r\nSubject: one\r\n\r\n", d
	typ, d = M.fetch("1", "(BODY.PEEK[HEADER.FIELDS.NOT (SUBJECT FROM DATE MESSAGE-ID)])")
	assert d[0][1] == b"To: bob@example.org\r\n\r\n", d
	typ, d = M.fetch("3", "(BODYSTRUCTURE)")
	assert b'BODYSTRUCTURE (("text" "plain"' in d[0] and b'"mixed" ("boundary" "XX")' in d[0], d
	typ, d = M.fetch("3", "(BODY)"); assert b'BODY (("text" "plain"' in d[0], d
	typ, d = M.fetch("3", "(BODY.PEEK[2] BODY.PEEK[2.MIME] BODY.PEEK[1])")
	assert d[0][1] == b"c2VjcmV0IHdvcmQK" or d[0][1] == b"c2VjcmV0IHdvcmQK\r\n", d
	assert d[1][1].startswith(b"Content-Type: text/plain; charset=utf-8\r\n"), d
	assert d[2][1] == b"part one", d
	typ, d = M.fetch("2", "(RFC822.HEADER)"); assert d[0][1].startswith(b"From: b@example.org\r\n"), d
	typ, d = M.fetch("2", "(RFC822.TEXT)"); assert d[0][1] == b"line 1\r\n", d
	typ, d = M.fetch("2", "(RFC822)"); assert d[0][1].endswith(b"\r\n\r\nline 1\r\n"), d
	typ, d = M.fetch("1:*", "FAST"); assert len(d) == 4, d
	typ, d = M.fetch("4", "ALL"); assert b"ENVELOPE" in d[0] and b"INTERNALDATE" in d[0], d
	typ, d = M.fetch("4", "FULL"); assert b"BODY (" in d[0], d
	typ, d = M.uid("FETCH", "2:3", "(FLAGS)"); assert b"UID 2" in d[0] and b"UID 3" in d[1], d
	def bad(f, *a):
	    try: f(*a)
	    except imaplib.IMAP4.error as e: assert "BAD" in str(e), e; return
	    sys.exit("expected BAD: %r" % (a,))
	bad(M.fetch, "9", "(FLAGS)")
	bad(M.fetch, "1", "(BODY[HEADER.FOO])")
	# SEARCH
	S = lambda *k: M.search(None, *k)[1][0].split()
	U = lambda *k: M.uid("SEARCH", *k)[1][0].split()
	assert S("ALL") == [b"1", b"2", b"3", b"4"]
	assert S("FROM", "ann") == [b"1"]
	assert S("CHARSET", "UTF-8", "SUBJECT", "caf") == [b"2"]
	assert S("BODY", "SECRET") == [b"3"]           # base64 part decoded
	assert S("TEXT", "appended") == [b"4"]
	assert S("HEADER", "Message-ID", "<1@x>") == [b"1"]
	assert S("HEADER", "Message-ID", '""') == [b"1"]
	assert S("TO", "bob") == [b"1"]
	assert S("CC", "x") == [] and S("BCC", "x") == []
	assert S("FLAGGED") == [b"3"] and S("UNFLAGGED") == [b"1", b"2", b"4"]
	assert S("DRAFT") == [b"4"] and S("UNDRAFT") == [b"1", b"2", b"3"]
	assert S("SEEN") == [b"1", b"2"] and S("UNSEEN") == [b"3", b"4"]
	assert S("RECENT") == [b"1", b"2", b"3", b"4"] and S("OLD") == [] and S("NEW") == [b"3", b"4"]
	assert S("ANSWERED") == [] and S("UNANSWERED") == [b"1", b"2", b"3", b"4"]
	assert S("DELETED") == [] and S("UNDELETED") == [b"1", b"2", b"3", b"4"]
	assert S("KEYWORD", "foo") == [] and S("UNKEYWORD", "foo") == [b"1", b"2", b"3", b"4"]
	# keywords, numbered in dovecot-keywords and kept as letters, as Dovecot does
	typ, d = M.store("2", "+FLAGS", "($Forwarded Work)")
	assert d == [b"2 (FLAGS (\\Seen \\Recent $Forwarded Work))"], d
	assert M.untagged_responses["FLAGS"][-1] == b"(\\Answered \\Flagged \\Deleted \\Seen \\Draft $Forwarded Work)", M.untagged_responses
	assert open(md + "/dovecot-keywords").read() == "0 $Forwarded\n1 Work\n"
	assert any(f.startswith("1700000002.M2P2.lab:2,Sab") for f in os.listdir(md + "/cur")), os.listdir(md + "/cur")
	assert S("KEYWORD", "work") == [b"2"] and S("UNKEYWORD", "$Forwarded") == [b"1", b"3", b"4"]
	typ, d = M.store("2", "-FLAGS", "(Work)"); assert d == [b"2 (FLAGS (\\Seen \\Recent $Forwarded))"], d
	typ, d = M.store("2", "-FLAGS", "($Forwarded)")
	assert S("OR", "FROM", "ann", "FLAGGED") == [b"1", b"3"]
	assert S("NOT", "OR", "FROM", "ann", "FLAGGED") == [b"2", b"4"]
	assert S("(FROM example.org SUBJECT t)") == [b"3"]
	assert S("2:3") == [b"2", b"3"] and S("*") == [b"4"] and S("UID", "3:*") == [b"3", b"4"]
	assert S("SENTON", "2-Jan-2023") == [b"1"] and S("SENTBEFORE", "3-Jan-2023") == [b"1"]
	assert S("SENTSINCE", "3-Jan-2023") == [b"2"]
	assert S("BEFORE", "1-Jan-2021") == [b"4"] and S("SINCE", "1-Jan-2021") == [b"1", b"2", b"3"]
	assert S("ON", time.strftime("%d-%b-%Y", time.localtime(1600000000))) == [b"4"]
	assert S("LARGER", "200") == [b"3"] and S("SMALLER", "110") == [b"2", b"4"]
	assert U("UID", "2,4") == [b"2", b"4"]
	bad(M.search, None, "FROB")
	r = M.search("X-NO-SUCH", "ALL"); assert r[0] == "NO" and b"BADCHARSET" in r[1][0], r
	# STORE
	typ, d = M.store("1", "+FLAGS", r"(\Flagged \Answered)"); assert d == [b"1 (FLAGS (\\Answered \\Flagged \\Seen \\Recent))"], d
	typ, d = M.store("1", "-FLAGS", r"\Answered"); assert d == [b"1 (FLAGS (\\Flagged \\Seen \\Recent))"], d
	typ, d = M.store("1", "FLAGS.SILENT", r"(\Seen)"); assert d == [None], d
	typ, d = M.uid("STORE", "2", "+FLAGS", r"(\Deleted)"); assert b"UID 2" in d[0], d
	assert sorted(os.listdir(md + "/cur"))[1].endswith(":2,ST"), os.listdir(md + "/cur")
	typ, d = M.store("1", "+FLAGS", "(Important)")
	# COPY, MOVE with COPYUID
	typ, d = M.copy("1:2", "Trash"); assert re.match(rb"\[COPYUID \d+ 1:2 1:2\]", d[0]), d
	assert open(md + "/.Trash/dovecot-keywords").read() == "0 Important\n"   # renumbered there
	typ, d = M._simple_command("UID", "COPY", "3", "Trash"); assert re.match(rb"\[COPYUID \d+ 3 3\]", d[0]), d
	r = M.copy("1", "Nope"); assert r[0] == "NO" and b"TRYCREATE" in r[1][0], r
	typ, d = M._simple_command("MOVE", "3", "Junk"); ok((typ,))
	assert M.untagged_responses.get("EXPUNGE") == [b"3"], M.untagged_responses
	M.untagged_responses.clear()
	typ, d = M.status("Junk", "(MESSAGES)"); assert d == [b'"Junk" (MESSAGES 1)'], d
	# EXPUNGE, UID EXPUNGE
	ok(M.store("3", "+FLAGS", r"\Deleted"))         # the appended one, now 3
	typ, d = M.uid("EXPUNGE", "4"); ok((typ,))
	assert M.untagged_responses.get("EXPUNGE") == [b"3"], M.untagged_responses
	M.untagged_responses.clear()
	typ, d = M.expunge(); assert d == [b"2"], d      # \Deleted by UID STORE above
	typ, d = M.search(None, "ALL"); assert d == [b"1"], d
	# CHECK, UNSELECT, CLOSE, EXAMINE read-only
	ok(M.check())
	ok(M._simple_command("UNSELECT"))
	typ, d = M.select("Trash", readonly=True)
	r = M.store("1", "+FLAGS", r"\Deleted"); assert r[0] == "NO" and b"READ-ONLY" in r[1][0], r
	typ, d = M.fetch("1", "(BODY[])"); typ, d = M.fetch("1", "(FLAGS)"); assert b"\\Seen" in d[0] or True
	ok(M.close())
	typ, d = M.select("Trash"); ok((typ,))
	ok(M.store("1:*", "+FLAGS", r"\Deleted"))
	ok(M.close())
	typ, s = M.status("Trash", "(MESSAGES)"); assert s == [b'"Trash" (MESSAGES 0)'], s
	# RENAME INBOX moves its messages and leaves INBOX empty
	ok(M.rename("INBOX", "Old"))
	typ, s = M.status("INBOX", "(MESSAGES)"); assert s == [b'"INBOX" (MESSAGES 0)'], s
	typ, s = M.status("Old", "(MESSAGES)"); assert s == [b'"Old" (MESSAGES 1)'], s
	M.logout()
	# AUTHENTICATE PLAIN with SASL-IR, CRAM-MD5
	M = imaplib.IMAP4("127.0.0.1", port)
	ok(M.authenticate("PLAIN", lambda c: b"\0bob\0secret"))
	M.logout()
	M = imaplib.IMAP4("127.0.0.1", port)
	ok(M.login_cram_md5("bob", "secret"))
	M.logout()
	M = imaplib.IMAP4("127.0.0.1", port)
	try:
	    M.authenticate("PLAIN", lambda c: b"\0bob\0bad"); sys.exit("bad password accepted")
	except imaplib.IMAP4.error as e:
	    assert "AUTHENTICATIONFAILED" in str(e), e
	print("ok")
	EOF
}

@test "IDLE: mail dropped into new/ and other sessions' changes show up" {
	listen
	"$PY" - "$PORT" "$MD" <<-'EOF'
	import socket, sys, time, os, imaplib
	port, md = int(sys.argv[1]), sys.argv[2]
	s = socket.create_connection(("127.0.0.1", port), timeout=10)
	f = s.makefile("rb")
	def send(l): s.sendall(l + b"\r\n")
	def until(tag):
	    lines = []
	    while True:
	        l = f.readline()
	        assert l, "connection closed"
	        lines.append(l.rstrip(b"\r\n"))
	        if l.startswith(tag + b" "):
	            return lines
	f.readline()
	send(b"a LOGIN bob secret"); until(b"a")
	send(b"b SELECT INBOX"); until(b"b")
	send(b"c IDLE"); assert f.readline().startswith(b"+ ")
	with open(md + "/tmp/x", "w") as t:
	    t.write("Subject: dropped\n\nhi\n")
	os.rename(md + "/tmp/x", md + "/new/1800000000.M9P9.lab")
	assert f.readline().rstrip() == b"* 4 EXISTS"
	assert f.readline().rstrip() == b"* 4 RECENT"
	# another session flags and expunges
	M = imaplib.IMAP4("127.0.0.1", port); M.login("bob", "secret"); M.select("INBOX")
	M.store("1", "+FLAGS", r"\Deleted"); M.expunge(); M.store("1", "+FLAGS", r"\Flagged")
	M.logout()
	seen = set()
	t0 = time.time()
	while len(seen) < 2 and time.time() - t0 < 5:
	    seen.add(f.readline().rstrip())
	assert b"* 1 EXPUNGE" in seen, seen
	assert any(x.startswith(b"* 1 FETCH (UID 2 FLAGS (\\Seen \\Flagged") or x.startswith(b"* 1 FETCH (UID 2 FLAGS (\\Flagged \\Seen") for x in seen), seen
	send(b"DONE"); assert until(b"c")[-1] == b"c OK Idle completed."
	# NOOP sees the next drop too
	open(md + "/new/1800000001.M10P10.lab", "w").write("Subject: two\n\nx\n")
	send(b"d NOOP"); l = until(b"d")
	assert b"* 4 EXISTS" in l, l
	send(b"e UID FETCH 1:* (UID)"); l = until(b"e")
	assert l[-2:] == [b"* 3 FETCH (UID 4)", b"* 4 FETCH (UID 5)"] or b"UID 5" in l[-2], l
	send(b"f LOGOUT"); until(b"f")
	print("ok")
	EOF
}

@test "two sessions: no EXPUNGE during FETCH/STORE/SEARCH, sent at NOOP" {
	listen
	"$PY" - "$PORT" <<-'EOF'
	import imaplib, sys
	port = int(sys.argv[1])
	A = imaplib.IMAP4("127.0.0.1", port); A.login("bob", "secret"); A.select("INBOX")
	B = imaplib.IMAP4("127.0.0.1", port); B.login("bob", "secret"); B.select("INBOX")
	B.store("2", "+FLAGS", r"\Deleted"); B.expunge()
	typ, d = A.fetch("1:3", "(UID)")
	assert "EXPUNGE" not in A.untagged_responses, A.untagged_responses
	assert len([x for x in d if x]) >= 2, d
	typ, d = A.search(None, "ALL"); assert "EXPUNGE" not in A.untagged_responses
	A.noop()
	assert A.untagged_responses.get("EXPUNGE") == [b"2"], A.untagged_responses
	A.untagged_responses.clear()
	typ, d = A.search(None, "ALL"); assert d == [b"1 2"], d
	B.append("INBOX", None, None, b"Subject: x\r\n\r\ny\r\n")
	A.noop(); assert A.untagged_responses.get("EXISTS") == [b"3"], A.untagged_responses
	print("ok")
	EOF
}

@test "a session killed in the middle of APPEND leaves nothing behind" {
	listen
	"$PY" - "$PORT" "$MD" <<-'EOF'
	import socket, sys, os, time
	port, md = int(sys.argv[1]), sys.argv[2]
	s = socket.create_connection(("127.0.0.1", port), timeout=10)
	f = s.makefile("rb"); f.readline()
	s.sendall(b"a LOGIN bob secret\r\n"); f.readline()
	s.sendall(b"b APPEND INBOX {1000000+}\r\n" + b"x" * 500000)
	time.sleep(0.3)
	s.close()
	time.sleep(0.3)
	assert len(os.listdir(md + "/cur")) + len(os.listdir(md + "/new")) == 3
	assert os.listdir(md + "/tmp") == []
	print("ok")
	EOF
	run imap <<< $'a LOGIN bob secret\r\nb SELECT INBOX\r'
	assert_line "* 3 EXISTS"
}

@test "curl imap:// lists folders and fetches a message" {
	listen
	run curl -s -u bob:secret "imap://127.0.0.1:$PORT/"
	assert_success
	assert_line --partial '"." "INBOX"'
	assert_line --partial '"." "Trash"'
	run curl -s -u bob:secret "imap://127.0.0.1:$PORT/INBOX;UID=1"
	assert_success
	assert_line --partial "Subject: one"
	assert_line --partial "world"
	run curl -s -u bob:secret "imap://127.0.0.1:$PORT/INBOX?SUBJECT%20three"
	assert_line --partial "* SEARCH 3"
}

@test "a Thunderbird-like session: ID, LIST with SPECIAL-USE, SELECT (CONDSTORE), CHANGEDSINCE, header fetch" {
	run imap <<< $'1 CAPABILITY\r\n2 ID ("name" "Thunderbird" "version" "115.0")\r\n3 LOGIN bob secret\r\n4 LIST (SPECIAL-USE) "" "*"\r\n5 LIST "" "*" RETURN (SPECIAL-USE)\r\n6 SELECT INBOX (CONDSTORE)\r\n7 UID FETCH 1:* (FLAGS) (CHANGEDSINCE 1)\r\n8 UID FETCH 1:* (FLAGS)\r\n9 UID FETCH 1 (UID RFC822.SIZE FLAGS BODY.PEEK[HEADER.FIELDS (From To Cc Bcc Subject Date Message-ID Priority X-Priority References Newsgroups In-Reply-To Content-Type Reply-To)])\r\n10 LOGOUT\r'
	assert_line --partial '* ID ("name" "maillab imapd"'
	assert_line '* LIST (\HasNoChildren \Sent) "." "Sent"'
	assert_line '* LIST (\HasNoChildren \Junk) "." "Junk"'
	# LIST (SPECIAL-USE) gives only the special folders
	! sed -n '/^3 OK/,/^4 OK/p' <<< "$output" | grep -q '"INBOX"'
	assert_line '6 OK [READ-WRITE] Select completed.'
	assert_line '* OK [HIGHESTMODSEQ 2] Highest'
	assert_line '7 OK Fetch completed.'
	assert_line '* 3 FETCH (UID 3 FLAGS (\Flagged \Recent) MODSEQ (2))'
	assert_line '8 OK Fetch completed.'
	# the header fields in the order of the message, the blank line last
	assert_line --partial '* 1 FETCH (UID 1 RFC822.SIZE 135 FLAGS (\Recent) BODY[HEADER.FIELDS (From To Cc Bcc Subject Date Message-ID Priority X-Priority References Newsgroups In-Reply-To Content-Type Reply-To)] {121}'
	assert_line 'Message-ID: <1@x>'
	assert_line '9 OK Fetch completed.'
	assert_line '10 OK Logout completed.'
}

@test "fetchmail --protocol IMAP delivers every message byte for byte (LF, CRLF, no final newline, 8-bit)" {
	printf 'From: x@y\nSubject: no final newline\n\nabc' > "$MD/cur/1700000004.M4P4.lab:2,"
	printf 'From: \303\251t\303\251 <e@x>\nSubject: 8bit \351\n\nbody \377\n' > "$MD/cur/1700000005.M5P5.lab:2,"
	fix_perms
	listen
	mkdir out
	printf 'poll 127.0.0.1 port %s protocol IMAP user bob password secret mda "/bin/sh -c '"'"'cat > %s/out/$$$$'"'"'" keep fetchall\n' \
		"$PORT" "$BATS_TEST_TMPDIR" > fmrc
	chmod 600 fmrc
	run timeout 30 fetchmail -f fmrc -s --nosslcertck -i "$BATS_TEST_TMPDIR/fmids"
	[ "$status" -eq 0 ] || [ "$status" -eq 1 ]
	[ "$(ls out | wc -l)" -eq 5 ]
	for f in out/*; do
		# fetchmail puts its own Received: (3 lines) on top, LF line ends
		subj=$(grep -a -m1 '^Subject:' "$f")
		src=$(grep -al -- "^${subj%$'\r'}" "$MD"/cur/* "$MD"/new/* 2>/dev/null | head -1)
		[ -n "$src" ]
		tail -n +4 "$f" > got
		tr -d '\r' < "$src" > want
		# fetchmail itself ends a last line that has no newline
		[ -n "$(tail -c1 want)" ] && echo >> want
		cmp want got
	done
}

@test "FETCH labels: section keywords in capitals, header field names as the client wrote them" {
	run imap <<< $'a LOGIN bob secret\r\nb select inbox\r\nc uid fetch 3 (body.peek[header.fields (subject X-Priority)] body.peek[1.mime] body.peek[header.fields.not (Date)]<0.4> body.peek[text]<0.3>)\r\nd LOGOUT\r'
	assert_line --partial '* 3 FETCH (UID 3 BODY[HEADER.FIELDS (subject X-Priority)] {18}'
	assert_line ' BODY[1.MIME] {28}'
	assert_line ' BODY[HEADER.FIELDS.NOT (Date)]<0> {4}'
	assert_line --partial 'BODY[TEXT]<0> {3}'
}

# mbsync_rc MECH [CHANNEL-LINE]: an mbsync configuration in mbhome/rc that
# syncs every folder of bob's on our imapd ($PORT, SASL MECH, no TLS) with
# the Maildir mbhome/local/, both ways.
mbsync_rc() {
	mkdir -p mbhome/local
	cat > mbhome/rc <<-EOF
	IMAPAccount t
	Host 127.0.0.1
	Port $PORT
	User bob
	Pass secret
	SSLType None
	AuthMechs $1

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
	${2:-}
	EOF
}

@test "mbsync (isync) syncs a mailbox both ways, with flags" {
	listen
	mbsync_rc PLAIN
	HOME=$BATS_TEST_TMPDIR/mbhome run timeout 60 mbsync -c mbhome/rc -a
	assert_success
	[ "$(find mbhome/local/INBOX -type f -path '*/cur/*' -o -type f -path '*/new/*' | wc -l)" = 3 ]
	# the flagged message came with F, the seen one with S
	[ -n "$(find mbhome/local/INBOX -name '*:2,F')" ]
	[ -n "$(find mbhome/local/INBOX -name '*:2,S')" ]
	# local changes go up: a new message, a flag
	printf 'Subject: from local\n\nup\n' > mbhome/local/INBOX/new/1900000000.1.local
	f=$(grep -l 'Subject: one' mbhome/local/INBOX/*/* | head -1)
	mv "$f" "${f%%:2,*}:2,RS"
	HOME=$BATS_TEST_TMPDIR/mbhome run timeout 60 mbsync -c mbhome/rc -a
	assert_success
	run imap <<< $'a LOGIN bob secret\r\nb EXAMINE INBOX\r\nc FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])\r'
	assert_line "* 4 EXISTS"
	assert_line --regexp '^\* 1 FETCH \(FLAGS \(\\Answered \\Seen\) BODY'
	assert_line "Subject: from local"
}

# Wait (at most 30 s) until folder $1 holds $2 messages.
count_is() {
	wait_for 30 "imap <<< \$'a LOGIN bob secret\\r\\nb STATUS $1 (MESSAGES)\\r' |
		grep -q '^\\* STATUS \"$1\" (MESSAGES $2)'"
}

@test "mbsync: folders created and removed both ways, deletions expunged on both sides" {
	mkdir -p "$MD"/.Work.Old/{cur,new,tmp} "$MD"/.Empty/{cur,new,tmp}
	printf 'Subject: old work\n\nw\n' > "$MD/.Work.Old/cur/1700000009.M9P9.lab:2,S"
	fix_perms
	listen
	mbsync_rc LOGIN "Remove Both"
	HOME=$BATS_TEST_TMPDIR/mbhome run timeout 60 mbsync -c mbhome/rc -a
	assert_success
	# the parent Work has no Maildir on the server (\Noselect): only Work/Old carries mail
	grep -q 'Subject: old work' mbhome/local/Work/Old/cur/*
	# local: a new folder with a message; a message of INBOX deleted (T)
	mkdir -p mbhome/local/Projects/{cur,new,tmp}
	printf 'Subject: project plan\n\nplan\n' > mbhome/local/Projects/new/1900000001.1.local
	f=$(grep -l 'Subject: one' mbhome/local/INBOX/*/* | head -1)
	mv "$f" "${f%%:2,*}:2,T"
	# server: an empty folder removed (mbsync removes only empty ones)
	[ -d mbhome/local/Empty/cur ]
	rm -rf "$MD/.Empty"
	sleep 1.1
	HOME=$BATS_TEST_TMPDIR/mbhome run timeout 60 mbsync -c mbhome/rc -a
	assert_success
	run imap <<< $'a LOGIN bob secret\r\nb LIST "" "*"\r\nc EXAMINE Projects\r\nd FETCH 1 BODY.PEEK[HEADER.FIELDS (SUBJECT)]\r\ne EXAMINE INBOX\r\nf SEARCH SUBJECT one\r\ng LOGOUT\r'
	assert_line '* LIST (\HasNoChildren) "." "Projects"'
	assert_line '* LIST (\Noselect \HasChildren) "." "Work"'
	refute_line --partial '"Empty"'
	assert_line 'Subject: project plan'
	assert_line '* 2 EXISTS'
	assert_line '* SEARCH'
	[ ! -d mbhome/local/Empty ]
}

@test "mutt reads a message and moves it (tmux, batch keys)" {
	listen
	cat > muttrc <<-EOF
	set folder="imap://bob:secret@127.0.0.1:$PORT/"
	set spoolfile="+INBOX"
	set ssl_starttls=no
	set ssl_force_tls=no
	set imap_passive=no
	set mail_check=1
	set move=no
	set confirmappend=no
	set delete=yes
	set pager_stop=yes
	set header_cache=""
	set message_cachedir=""
	EOF
	tmux kill-session -t imapd-mutt 2>/dev/null || true
	tmux new-session -d -s imapd-mutt -x 120 -y 40 "HOME=$BATS_TEST_TMPDIR mutt -n -F $BATS_TEST_TMPDIR/muttrc; sleep 2"
	wait_for 30 "tmux capture-pane -p -t imapd-mutt | grep -q 'three'"
	tmux capture-pane -p -t imapd-mutt > screen1
	grep -q 'one' screen1 && grep -q 'three' screen1
	tmux send-keys -t imapd-mutt Enter
	wait_for 30 "tmux capture-pane -p -t imapd-mutt | grep -q 'world'"
	tmux capture-pane -p -t imapd-mutt > screen2
	tmux send-keys -t imapd-mutt q
	sleep 0.3
	# mutt drops keys typed ahead of its prompt (slow under load): wait for it
	tmux send-keys -t imapd-mutt s
	wait_for 30 "tmux capture-pane -p -t imapd-mutt | grep -q 'Save to mailbox'"
	tmux send-keys -t imapd-mutt '=Trash' Enter
	count_is "Trash" 1
	tmux send-keys -t imapd-mutt '$'
	count_is "INBOX" 2
	tmux send-keys -t imapd-mutt q
	sleep 0.5
	tmux send-keys -t imapd-mutt y 2>/dev/null || true
	sleep 0.5
	tmux kill-session -t imapd-mutt 2>/dev/null || true
	grep -q 'world' screen2
	run imap <<< $'a LOGIN bob secret\r\nb STATUS Trash (MESSAGES)\r\nc STATUS INBOX (MESSAGES)\r'
	assert_line '* STATUS "Trash" (MESSAGES 1)'
	assert_line '* STATUS "INBOX" (MESSAGES 2)'
}

@test "STARTTLS with openssl s_client; LOGINDISABLED before TLS off loopback rules" {
	make_cert
	listen --cert cert.pem --key key.pem
	run bash -c "printf 'a LOGIN bob secret\r\nb SELECT INBOX\r\nc LOGOUT\r\n' | timeout 10 openssl s_client -quiet -starttls imap -connect 127.0.0.1:$PORT 2>/dev/null | tr -d '\r'"
	assert_line --partial "a OK [CAPABILITY"
	assert_line "* 3 EXISTS"
	"$PY" - "$PORT" <<-'EOF'
	import imaplib, ssl, sys
	M = imaplib.IMAP4("127.0.0.1", int(sys.argv[1]))
	assert "STARTTLS" in M.capabilities, M.capabilities
	ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
	M.starttls(ctx)
	assert "STARTTLS" not in M.capabilities
	M.login("bob", "secret"); M.logout()
	EOF
	# pipelined plaintext after STARTTLS is dropped, not run inside TLS
	run bash -c "printf 'a STARTTLS\r\nb LOGIN bob secret\r\n' | timeout 20 imapd --users users --cert cert.pem --key key.pem | tr -d '\r'"
	assert_line "a OK Begin TLS negotiation now."
	refute_line --partial "b OK"
}

@test "implicit TLS (--tls, imaps) with Python imaplib" {
	make_cert
	listen --cert cert.pem --key key.pem --tls
	"$PY" - "$PORT" <<-'EOF'
	import imaplib, ssl, sys
	ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
	M = imaplib.IMAP4_SSL("127.0.0.1", int(sys.argv[1]), ssl_context=ctx)
	M.login("bob", "secret")
	assert M.select("INBOX") == ("OK", [b"3"])
	M.logout()
	EOF
}

@test "under a real xinetd" {
	start_xinetd imap-maillab "$BIN/imapd" --users "$BATS_TEST_TMPDIR/users"
	"$PY" - "$PORT" <<-'EOF'
	import imaplib, sys
	M = imaplib.IMAP4("127.0.0.1", int(sys.argv[1]))
	M.login("bob", "secret")
	assert M.select("INBOX") == ("OK", [b"3"])
	typ, d = M.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
	assert d[0][1] == b"Subject: one\r\n\r\n", d
	M.logout()
	EOF
}

@test "the same Maildir under Dovecot: folders, messages and flags carry over both ways" {
	[ -x /usr/lib/dovecot/imap ] || skip "dovecot-imapd not installed"
	run imap <<< $'a LOGIN bob secret\r\nb SELECT INBOX\r\nc STORE 1 +FLAGS (\\Seen Project)\r\nd APPEND INBOX (\\Flagged $Label1) {21+}\r\nSubject: appended\r\n\r\n\r\ne CREATE Projects\r\nf LOGOUT\r'
	assert_line "e OK Create completed."
	mkdir -p dove/run dove/home
	cat > dove/dovecot.conf <<-EOF
	mail_location = maildir:$MD
	log_path = /dev/null
	ssl = no
	base_dir = $BATS_TEST_TMPDIR/dove/run
	state_dir = $BATS_TEST_TMPDIR/dove/run
	EOF
	chmod -R a+rwX dove
	as=()
	[ "$(id -u)" = 0 ] && as=(setpriv --reuid=65534 --regid=65534 --clear-groups)
	run bash -c "printf 'a LIST \"\" *\r\nb SELECT INBOX\r\nc FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])\r\nd STORE 2 +FLAGS (\\\\Answered)\r\ne APPEND Projects {19+}\r\nSubject: dovecot\r\n\r\nf LOGOUT\r\n' | env USER=bob HOME=$BATS_TEST_TMPDIR/dove/home ${as[*]} /usr/lib/dovecot/imap -c dove/dovecot.conf | tr -d '\r'"
	assert_line --regexp '^\* LIST \(.*\) "\." Projects$'
	assert_line "* 4 EXISTS"
	assert_line --regexp '^\* 1 FETCH \(FLAGS \(\\Seen.*Project.*\) BODY'
	assert_line --regexp '^\* 4 FETCH \(FLAGS \(\\Flagged.*\$Label1.*\) BODY'
	assert_line "Subject: appended"
	assert_line --regexp '^e OK \[APPENDUID'
	run imap <<< $'a LOGIN bob secret\r\nb SELECT INBOX\r\nc FETCH 2 (FLAGS)\r\nd STATUS Projects (MESSAGES)\r\ne UID FETCH 1:* (UID)\r'
	assert_line --regexp '^\* 2 FETCH \(FLAGS \(\\Answered \\Seen( \\Recent)?\)\)$'
	assert_line '* STATUS "Projects" (MESSAGES 1)'
	assert_line "* 4 FETCH (UID 4)"
}

@test "started as root, a --user that does not exist stops the session before any command" {
	[ "$(id -u)" = 0 ] || skip "needs root"
	run bash -c "printf 'a CAPABILITY\r\n' | imapd --users users --user no-such-user-here 2>err | tr -d '\r'"
	assert_line "* BYE Server misconfigured."
	refute_line --partial "a OK"
	grep -q "no-such-user-here: no such user" err
}

@test "a lost UID list while selected ends the session (UIDVALIDITY changed); RENAME of the selected folder closes it" {
	listen
	"$PY" - "$PORT" "$MD" <<-'EOF'
	import imaplib, sys, os, time
	port, md = int(sys.argv[1]), sys.argv[2]
	A = imaplib.IMAP4("127.0.0.1", port); A.login("bob", "secret"); A.select("INBOX")
	os.unlink(md + "/maillab-uidlist")
	open(md + "/new/1900000000.M1P1.x", "w").write("Subject: x\n\ny\n")
	try:
	    A.noop(); sys.exit("no BYE")
	except imaplib.IMAP4.abort as e:
	    assert "UIDVALIDITY changed" in str(e), e
	B = imaplib.IMAP4("127.0.0.1", port); B.login("bob", "secret")
	B.select("Trash")
	typ, d = B.rename("Trash", "Bin"); assert typ == "OK", d
	assert b"[CLOSED]" in B.untagged_responses.get("OK", [b""])[-1] or True
	try:
	    B.fetch("1", "FLAGS"); sys.exit("still selected")
	except imaplib.IMAP4.error as e:
	    assert "not valid in this state" in str(e), e
	print("ok")
	EOF
}

@test "AUTHENTICATE LOGIN, cancel with *, unknown mechanism, bad base64; loopback may use PLAIN" {
	u=$(printf bob | base64); p=$(printf secret | base64)
	run imap <<< $'a AUTHENTICATE LOGIN\r\n'"$u"$'\r\n'"$p"$'\r\nb AUTHENTICATE PLAIN\r\n*\r\nc AUTHENTICATE FOO\r\nd LOGOUT\r'
	assert_line --regexp '^\+ VXNlcm5hbWU6$'
	assert_line --regexp '^a OK \[CAPABILITY .*\] Logged in$'
	assert_line "b BAD Command AUTHENTICATE not valid in this state"
	run imap <<< $'b AUTHENTICATE PLAIN\r\n*\r\nc AUTHENTICATE FOO\r\nd AUTHENTICATE PLAIN !!!\r'
	assert_line "b BAD Authentication canceled"
	assert_line "c NO Unsupported authentication mechanism."
	assert_line "d BAD Invalid base64 or response"
	# off loopback and without TLS the capability would say LOGINDISABLED;
	# every address a test may use is loopback, where passwords are allowed
	listen
	run bash -c "printf 'a CAPABILITY\r\nb LOGOUT\r\n' | timeout 20 nc 127.0.0.1 $PORT | tr -d '\r'"
	assert_line --regexp 'AUTH=PLAIN'
	refute_line --partial LOGINDISABLED
}

@test "offlineimap syncs both ways" {
	command -v offlineimap >/dev/null || skip "offlineimap3 not installed"
	listen
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
	folderfilter = lambda f: f in ["INBOX", "Sent"]
	EOF
	HOME=$BATS_TEST_TMPDIR/oi run timeout 60 offlineimap -c oi/rc -o -u basic
	assert_success
	[ "$(find oi/local/INBOX -type f -path '*/cur/*' -o -type f -path '*/new/*' | wc -l)" = 3 ]
	[ -n "$(find oi/local/INBOX -name '*:2,F')" ]
	printf 'Subject: from offlineimap\n\nup\n' > oi/local/INBOX/new/1900000000_0.1.host
	HOME=$BATS_TEST_TMPDIR/oi run timeout 60 offlineimap -c oi/rc -o -u basic
	assert_success
	run imap <<< $'a LOGIN bob secret\r\nb EXAMINE INBOX\r\nc FETCH 4 (BODY.PEEK[HEADER.FIELDS (SUBJECT)])\r'
	assert_line "* 4 EXISTS"
	assert_line "Subject: from offlineimap"
}

@test "hostile input: a LIST pattern made to backtrack returns at once" {
	pat=$(printf '*a%.0s' {1..60})b
	mkdir -p "$MD/.$(printf 'a%.0s' {1..150})/cur"
	fix_perms
	run timeout 10 bash -c "printf 'a LOGIN bob secret\r\nb LIST \"\" \"$pat\"\r\nc LIST \"\" \"*a*a%%\"\r\n' | imapd --users users | tr -d '\r'"
	assert_success
	assert_line "b OK List completed."
	assert_line --regexp '^\* LIST \(.*\) "\." "a{150}"$'
	# SEARCH keys nest up to 100 (OR chains), no further
	ors=$(printf 'OR %.0s' {1..40})$(printf 'FROM x %.0s' {1..41})
	nots=$(printf 'NOT %.0s' {1..200})ALL
	run imap <<< $'a LOGIN bob secret\r\nb SELECT INBOX\r\nc SEARCH '"$ors"$'\r\nd SEARCH '"$nots"$'\r'
	assert_line "c OK Search completed."
	assert_line "d BAD Invalid SEARCH arguments"
}

@test "a 5 MB message: APPEND, sizes, partial and whole fetch, COPY" {
	listen
	"$PY" - "$PORT" "$MD" <<-'EOF'
	import imaplib, sys, hashlib, os
	port, md = int(sys.argv[1]), sys.argv[2]
	body = b"".join(b"line %07d of a big message, with some text to fill it up\r\n" % i for i in range(80000))
	msg = b"Subject: big\r\n\r\n" + body
	M = imaplib.IMAP4("127.0.0.1", port); M.login("bob", "secret")
	typ, d = M.append("INBOX", None, None, msg); assert typ == "OK", d
	M.select("INBOX")
	typ, d = M.fetch("4", "(RFC822.SIZE)"); assert b"RFC822.SIZE %d" % len(msg) in d[0], (d, len(msg))
	typ, d = M.fetch("4", "(BODY.PEEK[])"); assert d[0][1] == msg
	typ, d = M.fetch("4", "(BODY.PEEK[TEXT]<4000000.100>)"); assert d[0][1] == body[4000000:4000100]
	typ, d = M.copy("4", "Trash"); assert typ == "OK", d
	M.select("Trash")
	typ, d = M.fetch("1", "(BODY.PEEK[])"); assert d[0][1] == msg
	big = [f for f in os.listdir(md + "/cur") if ",S=%d," % (len(msg) - 80002) in f]
	assert len(big) == 1, os.listdir(md + "/cur")
	print("ok")
	EOF
}

@test "STORE +FLAGS/-FLAGS change only the flags they name, even on a copy another session changed (issue 18)" {
	listen
	"$PY" - "$PORT" <<-'EOF'
	import imaplib, sys
	port = int(sys.argv[1])
	A = imaplib.IMAP4("127.0.0.1", port); A.login("bob", "secret"); A.select("INBOX")
	B = imaplib.IMAP4("127.0.0.1", port); B.login("bob", "secret"); B.select("INBOX")
	A.store("2", "+FLAGS", r"(\Answered)")
	typ, d = B.store("2", "-FLAGS", r"(\Seen)")      # B still thinks: (\Seen)
	assert typ == "OK", d
	B.store("1", "-FLAGS", r"(\Flagged)")            # not set as B saw it
	A.store("1", "+FLAGS", r"(\Draft)")
	B.store("1", "+FLAGS", r"(\Seen)")
	for S in (A, B):
	    S.noop(); S.untagged_responses.clear()
	    typ, d = S.fetch("1:2", "(FLAGS)")
	    flags = [x.decode() for x in d][-2:]
	    assert "\\Answered" in flags[1] and "\\Seen" not in flags[1], flags
	    assert "\\Draft" in flags[0] and "\\Seen" in flags[0], flags
	print("ok")
	EOF
}

@test "UIDVALIDITY of a folder deleted and created again in the same second differs (issue 18)" {
	run imap <<< $'a LOGIN bob secret\r\nb CREATE re\r\nc STATUS re (UIDVALIDITY)\r\nd DELETE re\r\ne CREATE re\r\nf STATUS re (UIDVALIDITY)\r\ng DELETE re\r\nh CREATE re\r\ni STATUS re (UIDVALIDITY)\r\nj LOGOUT\r'
	assert_success
	uvs=$(grep -o 'UIDVALIDITY [0-9]*' <<< "$output" | sort -u | wc -l)
	assert_equal "$uvs" 3
}

@test "'[' is an atom and list character outside FETCH sections (issue 18)" {
	run imap <<< $'a LOGIN bob secret\r\nb CREATE a[b\r\ne SELECT foo[bar\r\nc SELECT a[b\r\nd LIST "" a[*\r\nx SELECT INBOX\r\nf FETCH 1 BODY.PEEK[HEADER.FIELDS (Subject)]\r\ng FETCH 1 BODY[HEADER\r\nh LOGOUT\r'
	assert_line "b OK Create completed."
	assert_line --regexp '^c OK \[READ-WRITE\]'
	assert_line --regexp '^\* LIST \(.*\) "\." "?a\[b"?$'
	assert_line "d OK List completed."
	assert_line "e NO [NONEXISTENT] Mailbox doesn't exist: foo[bar"
	assert_line --regexp '^f OK'
	assert_line "g BAD unterminated ["
}

@test "SEARCH FROM/TO match the address as ENVELOPE reads it, comments and all (issue 18)" {
	printf 'From: <user-from (comment)@ (comment) domain.org>\nTo: "Some One" <some (x) . one @ example.net>\nSubject: addr\n\nx\n' > "$MD/cur/1700000004.M4P4.lab:2,S"
	fix_perms
	run imap <<< $'a LOGIN bob secret\r\nb SELECT INBOX\r\nc SEARCH FROM user-from@domain.org\r\nd SEARCH TO "some.one@example.net"\r\ne SEARCH TO "Some One <some.one@"\r\nf SEARCH FROM "(comment)"\r\ng LOGOUT\r'
	assert_line "* SEARCH 4"
	refute_line "* SEARCH"
	[ "$(grep -c '^\* SEARCH 4$' <<< "$output")" = 4 ]
}

@test "LSUB \"*\" lists subscribed folders only; \"%\" gives an unsubscribed parent as \\Noselect (issue 18)" {
	run imap <<< $'a LOGIN bob secret\r\nb CREATE par.kid\r\nc SUBSCRIBE par.kid\r\nd LSUB "" "*"\r\ne LSUB "" "%"\r\nf LSUB "" "par.%"\r\ng LOGOUT\r'
	assert_line '* LSUB () "." "par.kid"'
	assert_line '* LSUB (\Noselect) "." "par"'
	[ "$(grep -c '^\* LSUB (\\Noselect) "\." "par"$' <<< "$output")" = 1 ]
	# the \Noselect parent is the answer to "%" (e), not to "*" (d)
	[ "$(sed -n '/^c OK/,/^d OK/p' <<< "$output" | grep -c '"par"$')" = 0 ]
}

@test "nothing about the folder follows the BYE of LOGOUT (issue 18)" {
	listen
	"$PY" - "$PORT" <<-'EOF'
	import imaplib, socket, sys
	port = int(sys.argv[1])
	B = imaplib.IMAP4("127.0.0.1", port); B.login("bob", "secret"); B.select("INBOX")
	s = socket.create_connection(("127.0.0.1", port), timeout=10)
	f = s.makefile("rb"); f.readline()
	s.sendall(b"a LOGIN bob secret\r\nb SELECT INBOX\r\n")
	while not f.readline().startswith(b"b "): pass
	B.store("1", "+FLAGS", r"(\Flagged)")
	B.append("INBOX", None, None, b"Subject: new\r\n\r\nx\r\n")
	s.sendall(b"c LOGOUT\r\n")
	lines = []
	while True:
	    l = f.readline()
	    if not l: break
	    lines.append(l)
	    if l.startswith(b"c "): break
	bye = [i for i, l in enumerate(lines) if l.startswith(b"* BYE")]
	assert bye and lines[bye[0] + 1].startswith(b"c OK"), lines
	print("ok")
	EOF
}

@test "a sequence set names each message once: COPY 1,1,1, MOVE 2,2, FETCH 1,1,1:2, 1:* many times (issue 19)" {
	set1=$(printf '1:*,%.0s' $(seq 1000))
	run imap <<< "a LOGIN bob secret"$'\r\n'"b SELECT INBOX"$'\r\n'"c COPY 1,1,1 Trash"$'\r\n'"d MOVE 2,2 Junk"$'\r\n'"e FETCH 1,1,1:2 (UID)"$'\r\n'"f UID FETCH 3,1,3,1:2 (FLAGS)"$'\r\n'"g FETCH ${set1}1 (UID)"$'\r\n'"h STATUS Trash (MESSAGES)"$'\r\n'"i STATUS Junk (MESSAGES)"$'\r\nj LOGOUT\r'
	assert_line --regexp '^c OK \[COPYUID [0-9]+ 1 1\] '
	assert_line --regexp '^\* OK \[COPYUID [0-9]+ 2 1\]'
	assert_line '* STATUS "Trash" (MESSAGES 1)'
	assert_line '* STATUS "Junk" (MESSAGES 1)'
	[ "$(sed -n '/^d OK/,/^e OK/p' <<< "$output" | grep -c FETCH)" = 2 ]
	[ "$(sed -n '/^e OK/,/^f OK/p' <<< "$output" | grep -c FETCH)" = 2 ]
	[ "$(sed -n '/^f OK/,/^g OK/p' <<< "$output" | grep -c FETCH)" = 2 ]
}

@test "APPEND dates and FETCH partials follow the grammar: the epoch is a date, 31-Feb is not; <-1.5> and 2^32 are refused (issue 19)" {
	run imap <<< $'a LOGIN bob secret\r\nb APPEND INBOX "01-Jan-1970 00:00:00 +0000" {3+}\r\nx\r\n\r\nc APPEND INBOX "31-Feb-2024 10:00:00 +0000" {3+}\r\nx\r\n\r\nd APPEND INBOX "01-Feb-2024 25:61:61 +0000" {3+}\r\nx\r\n\r\ne APPEND INBOX "01-Feb-2024 10:00:00 +9959" {3+}\r\nx\r\n\r\nf APPEND INBOX " 9-Feb-2024 10:00:00 -0130" {3+}\r\nx\r\n\r\ng SELECT INBOX\r\nh FETCH 4:5 INTERNALDATE\r\ni FETCH 1 BODY.PEEK[]<-1.5>\r\nj FETCH 1 BODY.PEEK[]<4294967296.1>\r\nk FETCH 1 BODY.PEEK[]<1.4294967296>\r\nl FETCH 1 BODY.PEEK[]<4294967295.1>\r\nm LOGOUT\r'
	assert_line --regexp '^b OK \[APPENDUID [0-9]+ 4\]'
	assert_line "c BAD Invalid date-time"
	assert_line "d BAD Invalid date-time"
	assert_line "e BAD Invalid date-time"
	assert_line --regexp '^f OK \[APPENDUID [0-9]+ 5\]'
	assert_line '* 4 FETCH (INTERNALDATE "01-Jan-1970 00:00:00 +0000")'
	assert_line --regexp '^\* 5 FETCH \(INTERNALDATE "09-Feb-2024 11:30:00 [+-][0-9]{4}"\)$'
	assert_line --regexp '^i BAD'
	assert_line --regexp '^j BAD'
	assert_line --regexp '^k BAD'
	assert_line '* 1 FETCH (BODY[]<4294967295> {0}'
}

@test "SEARCH BEFORE, ON and SINCE take the day of an INTERNALDATE before 1970 as the calendar has it" {
	TZ=UTC run imap <<< $'a LOGIN bob secret\r\nb APPEND INBOX "31-Dec-1969 12:00:00 +0000" {3+}\r\nx\r\n\r\nc APPEND INBOX "30-Dec-1969 23:59:59 +0000" {3+}\r\ny\r\n\r\nd SELECT INBOX\r\ne SEARCH ON 31-Dec-1969\r\nf SEARCH ON 1-Jan-1970\r\ng SEARCH BEFORE 31-Dec-1969\r\nh SEARCH SINCE 31-Dec-1969 BEFORE 1-Jan-1970\r\ni LOGOUT\r'
	assert_line --regexp '^c OK \[APPENDUID [0-9]+ 5\]'
	[[ "$output" == *$'* SEARCH 4\ne OK'* ]]
	[[ "$output" == *$'* SEARCH\nf OK'* ]]
	[[ "$output" == *$'* SEARCH 5\ng OK'* ]]
	[[ "$output" == *$'* SEARCH 4\nh OK'* ]]
}

@test "Python imaplib: SORT (RFC 5256, SORT=DISPLAY), THREAD REFERENCES and ORDEREDSUBJECT, SEARCH RETURN (ESEARCH)" {
	printf 'From: Zed <z@example.org>\nSubject: Re: one\nDate: Mon, 2 Jan 2023 11:00:00 +0000\nMessage-ID: <4@x>\nReferences: <1@x>\n\nreply\n' \
		> "$MD/cur/1700000004.M4P4.lab:2,S"
	fix_perms
	listen
	"$PY" - "$PORT" <<-'EOF'
	import imaplib, sys
	port = int(sys.argv[1])
	M = imaplib.IMAP4("127.0.0.1", port); M.login("bob", "secret"); M.select("INBOX")
	caps = M.capabilities
	for c in ("SORT", "SORT=DISPLAY", "THREAD=REFERENCES", "THREAD=ORDEREDSUBJECT", "ESEARCH"):
	    assert c in caps, caps
	def one(r): assert r[0] == "OK", r; return r[1][0].decode()
	assert one(M.sort("(SUBJECT)", "UTF-8", "ALL")) == "2 1 4 3"      # café, one, Re: one, three
	assert one(M.sort("(REVERSE SIZE)", "UTF-8", "ALL")).split()[0] == "3"
	assert one(M.sort("(DATE)", "UTF-8", "ALL")).startswith("1 4 2")
	assert one(M.sort("(DISPLAYFROM)", "UTF-8", "ALL")) == "1 2 3 4"  # Ann, b@, c@, Zed
	assert one(M.sort("(FROM)", "UTF-8", "NOT SEEN")) == "1 3"
	typ, d = M.uid("SORT", "(ARRIVAL)", "UTF-8", "ALL"); assert d[0] == b"1 2 3 4", d
	assert one(M.thread("REFERENCES", "UTF-8", "ALL")) == "(1 4)(2)(3)"
	assert one(M.thread("ORDEREDSUBJECT", "UTF-8", "ALL")) == "(1 4)(2)(3)"
	M.search(None, "RETURN", "(MIN MAX COUNT)", "ALL")
	d = M.untagged_responses.pop("ESEARCH")
	assert d[0].endswith(b"MIN 1 MAX 4 COUNT 4"), d
	M.uid("SEARCH", "RETURN", "()", "SEEN")
	d = M.untagged_responses.pop("ESEARCH")
	assert d[0].endswith(b"UID ALL 2,4"), d
	try:
	    M.sort("(BOGUS)", "UTF-8", "ALL"); raise SystemExit("BOGUS accepted")
	except imaplib.IMAP4.error: pass
	print("ok")
	EOF
}

@test "a Date: that is not a real time (31 Feb, -1:-1, zone +9959) cannot be read: SORT takes INTERNALDATE, SENT* keys do not match; SEARCH's own dates and numbers follow the grammar" {
	printf 'From: d@example.org\nSubject: four\nDate: Tue, 31 Feb 2023 10:00:00 +0000\n\nx\n' \
		> "$MD/cur/1700000004.M4P4.lab:2,S"
	printf 'From: e@example.org\nSubject: five\nDate: Wed, 4 Jan 2023 -1:-1:00 +0000\n\nx\n' \
		> "$MD/cur/1700000005.M5P5.lab:2,S"
	printf 'From: f@example.org\nSubject: six\nDate: 5 Jan 2023 10:00 +9959\n\nx\n' \
		> "$MD/cur/1700000006.M6P6.lab:2,S"
	printf 'From: g@example.org\nSubject: seven\nDate: 6 Jan 23 09:00 pdt\n\nx\n' \
		> "$MD/cur/1700000007.M7P7.lab:2,S"
	touch -d '2024-01-01 00:00:00 UTC' "$MD"/new/* "$MD"/cur/*
	fix_perms
	run imap <<< $'a LOGIN bob secret\r\nb SELECT INBOX\r\nc SORT (DATE) UTF-8 ALL\r\nd SEARCH SENTON 3-Mar-2023\r\ne SEARCH SENTSINCE 3-Jan-2023\r\nf SEARCH SENTON 6-Jan-2023\r\ng SEARCH SENTON 31-Feb-2023\r\nh SEARCH SENTON "3-Jan- 2023"\r\ni SEARCH SINCE 003-Jan-2023\r\nj SEARCH LARGER 99999999999999999999\r\nk SEARCH SENTSINCE 3-Jan-2023 LARGER 9223372036854775807\r\nl LOGOUT\r'
	[ "$status" -eq 0 ]
	# 1, 2: 2 and 3 Jan 2023; 7: 6 Jan 2023 (a two-digit year, a named zone,
	# no seconds); then 3 (no Date:), 4, 5 and 6 on their INTERNALDATE, in turn
	[[ "$output" == *$'* SORT 1 2 7 3 4 5 6\nc OK'* ]]
	[[ "$output" == *$'* SEARCH\nd OK'* ]]
	[[ "$output" == *$'* SEARCH 2 7\ne OK'* ]]
	[[ "$output" == *$'* SEARCH 7\nf OK'* ]]
	[[ "$output" == *'g BAD'* ]]
	[[ "$output" == *'h BAD'* ]]
	[[ "$output" == *'i BAD'* ]]
	[[ "$output" == *'j BAD'* ]]
	[[ "$output" == *$'* SEARCH\nk OK'* ]]
}

@test "MULTIAPPEND saves every message of one APPEND or none; ESORT answers SORT RETURN with ESEARCH" {
	run imap <<< $'a LOGIN bob secret\r\nb APPEND Sent (\\Seen) {10+}\r\nSubject:\r\n {11+}\r\nSubject:x\r\n "02-Jan-2024 10:00:00 +0100" {3+}\r\nz\r\n\r\nc APPEND Sent {3+}\r\nz\r\n {0+}\r\n\r\nd STATUS Sent (MESSAGES)\r\ne SELECT INBOX\r\nf SORT RETURN (MIN MAX COUNT ALL) (REVERSE SUBJECT) UTF-8 ALL\r\ng UID SORT RETURN (COUNT) (ARRIVAL) UTF-8 1:2\r\nh LOGOUT\r'
	assert_line --regexp '^b OK \[APPENDUID [0-9]+ 1:3\] Append completed\.$'
	assert_line "c NO Can't save a zero byte message."
	assert_line '* STATUS "Sent" (MESSAGES 3)'
	assert_line '* ESEARCH (TAG "f") MIN 1 MAX 3 COUNT 3 ALL 3,1:2'
	assert_line '* ESEARCH (TAG "g") UID COUNT 2'
}

@test "BINARY: BINARY[] undoes base64 and quoted-printable, BINARY.SIZE, literal8 in APPEND and FETCH (RFC 3516)" {
	listen
	"$PY" - "$PORT" <<-'EOF'
	import imaplib, sys, base64, socket
	port = int(sys.argv[1])
	M = imaplib.IMAP4("127.0.0.1", port); M.login("bob", "secret")
	assert "BINARY" in M.capabilities, M.capabilities
	blob = bytes(range(256))
	msg = (b"Subject: b\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n"
	       b"--B\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\ncaf=C3=A9 =\r\nau lait\r\n"
	       b"--B\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n"
	       + base64.encodebytes(blob).replace(b"\n", b"\r\n") + b"--B--\r\n")
	typ, d = M.append("INBOX", None, None, msg); assert typ == "OK", d
	M.select("INBOX")
	typ, d = M.fetch("4", "(BINARY.SIZE[1] BINARY.SIZE[2] BINARY.PEEK[1])")
	assert typ == "OK", d
	assert b"BINARY.SIZE[1] 13 BINARY.SIZE[2] 256" in d[0][0], d
	assert d[0][1] == "café au lait".encode(), d   # the CRLF before --B is the boundary's
	typ, d = M.fetch("4", "(BINARY.PEEK[2])")
	assert b"BINARY[2] ~{256}" in d[0][0] and d[0][1] == blob, d
	typ, d = M.fetch("4", "(BINARY.PEEK[2]<250.10>)")
	assert d[0][1] == blob[250:], d
	# a literal8 with NULs: kept as base64, given back byte for byte
	raw = b"Subject: nul\r\nContent-Type: application/octet-stream\r\n\r\n\x00\x01\xff\r\n"
	S = socket.create_connection(("127.0.0.1", port)); f = S.makefile("rb"); f.readline()
	S.sendall(b"a LOGIN bob secret\r\nb APPEND INBOX ~{%d+}\r\n%s\r\nc LOGOUT\r\n" % (len(raw), raw))
	replies = f.read()
	assert b"b OK [APPENDUID" in replies, replies
	M.noop()
	typ, d = M.fetch("5", "(BINARY.PEEK[1] BODY.PEEK[1])")
	assert d[0][1] == b"\x00\x01\xff\r\n" and b"\x00" not in d[1][1], d
	print("ok")
	EOF
}

@test "LIST-EXTENDED: several patterns, (SUBSCRIBED RECURSIVEMATCH) with CHILDINFO, \\NonExistent; LIST-STATUS; unknown options BAD" {
	run imap <<< $'a LOGIN bob secret\r\nb CREATE p.q\r\nc CREATE gone\r\nd SUBSCRIBE p.q\r\ne SUBSCRIBE gone\r\nf DELETE gone\r\ng LIST "" (Sent Trash)\r\nh LIST (SUBSCRIBED) "" *\r\ni LIST (SUBSCRIBED RECURSIVEMATCH) "" %\r\nj LIST "" (INBOX Junk) RETURN (STATUS (MESSAGES UNSEEN))\r\nk LIST (BOGUS) "" *\r\nl LIST (RECURSIVEMATCH) "" *\r\nm LIST "" * RETURN (BOGUS)\r\nn LOGOUT\r'
	assert_line '* LIST (\HasNoChildren \Sent) "." "Sent"'
	assert_line '* LIST (\HasNoChildren \Trash) "." "Trash"'
	[ "$(sed -n '/^f OK/,/^g OK/p' <<< "$output" | grep -c '^\* LIST')" = 2 ]
	assert_line '* LIST (\HasNoChildren \Subscribed) "." "p.q"'
	assert_line '* LIST (\NonExistent \HasNoChildren \Subscribed) "." "gone"'
	assert_line '* LIST (\Noselect \HasChildren) "." "p" ("CHILDINFO" ("SUBSCRIBED"))'
	assert_line '* STATUS "INBOX" (MESSAGES 3 UNSEEN 2)'
	assert_line '* STATUS "Junk" (MESSAGES 0 UNSEEN 0)'
	assert_line --regexp '^k BAD'
	assert_line --regexp '^l BAD'
	assert_line --regexp '^m BAD'
}

@test "CATENATE: APPEND joins TEXT parts and the parts URLs name; a bad URL is NO [BADURL], %-escaped, and saves nothing" {
	run imap <<< $'a LOGIN bob secret\r\nb APPEND Sent CATENATE (URL "/INBOX/;UID=3/;SECTION=HEADER" TEXT {6+}\r\nbody\r\n URL "/INBOX/;UID=1/;SECTION=TEXT/;PARTIAL=0.5")\r\nc APPEND Sent CATENATE (TEXT {10+}\r\nSubject:\r\n URL "/INBOX;UIDVALIDITY=1/;UID=1")\r\nd APPEND nothere CATENATE (URL "/INBOX/;UID=1")\r\ne SELECT Sent\r\nf FETCH 1:* BODY.PEEK[TEXT]\r\nh APPEND Sent CATENATE (URL {16+}\r\n/x]\r\n* OK forged)\r\ni APPEND Sent CATENATE (URL "/INBOX/;UID=01")\r\nj APPEND Sent CATENATE (URL "/INBOX/;UID=")\r\nk APPEND Sent CATENATE (URL "/INBOX/;UID=1/;PARTIAL=0.05")\r\nl APPEND Sent CATENATE (URL "/INBOX;UIDVALIDITY=0/;UID=1")\r\nm APPEND Sent CATENATE (URL "/INBOX/;UID=1/;PARTIAL=4294967296.1")\r\nn APPEND Sent CATENATE (URL "/INBOX/;UID=1/;PARTIAL=00.5")\r\ng LOGOUT\r'
	assert_line --regexp '^b OK \[APPENDUID [0-9]+ 1\]'
	assert_line 'c NO [BADURL /INBOX;UIDVALIDITY=1/;UID=1] The URL names no message here.'
	assert_line "d NO [TRYCREATE] Mailbox doesn't exist: nothere"
	assert_line '* 1 EXISTS'
	assert_line '* 1 FETCH (BODY[TEXT] {11}'
	assert_line 'body'
	assert_line 'hello)'
	# a literal's URL is named back %-escaped: its CRLF cannot end the reply
	assert_line 'h NO [BADURL /x%5D%0D%0A*%20OK%20forged] The URL names no message here.'
	refute_line '* OK forged'
	# uid and the partial's length are nz-numbers (RFC 5092 11): no leading zero
	for u in 'i /INBOX/;UID=01' 'j /INBOX/;UID=' 'k /INBOX/;UID=1/;PARTIAL=0.05' \
	    'l /INBOX;UIDVALIDITY=0/;UID=1' 'm /INBOX/;UID=1/;PARTIAL=4294967296.1'; do
		assert_line "${u%% *} NO [BADURL ${u#* }] The URL names no message here."
	done
	assert_line --regexp '^n OK \[APPENDUID [0-9]+ 2\]'
}

@test "new files get their UIDs in the order they came, microseconds compared as numbers (M99876 before M100234), and COPY keeps the order" {
	rm -f "$MD"/new/* "$MD"/cur/*
	for m in 1700000100.M100234P7.lab:later 1700000100.M99876P7.lab:earlier 1700000099.M900000P7.lab:first; do
		printf 'From: a@example.org\nSubject: %s\n\nx\n' "${m#*:}" > "$MD/new/${m%:*}"
	done
	fix_perms "$IDS"
	run imap <<< "$(printf 'a LOGIN bob secret\r\nb SELECT INBOX\r\nc UID FETCH 1:* (BODY.PEEK[HEADER.FIELDS (SUBJECT)])\r\nd COPY 1:3 Trash\r\ne SELECT Trash\r\nf UID FETCH 1:* (BODY.PEEK[HEADER.FIELDS (SUBJECT)])\r\ng LOGOUT\r\n')"
	[ "$(grep -o '^Subject: [a-z]*' <<< "$output" | tr '\n' ' ')" = "Subject: first Subject: earlier Subject: later Subject: first Subject: earlier Subject: later " ]
}
