#!/usr/bin/env bats
# imapd's header cache (imapd/hcache.c): the fields SEARCH, SORT and THREAD
# read are kept for the session after the first look at each message.  The
# same script of searches, sorts and threads, with messages delivered,
# removed behind the session's back and expunged between the rounds, gives
# the same transcript with the cache (default), with a cache too small for
# the folder (--header-cache 2K) and with none (--header-cache 0: every
# field read from the whole header in the file and matched as before the
# cache, where the cache keeps only some fields and matches texts it
# derived from them once).  And a second SEARCH FROM
# opens no message file: it still answers once the files are unreadable,
# where a search of the body (which must read them) finds nothing.

load helpers
PORT_BASE=41000

setup() {
	cd "$BATS_TEST_TMPDIR"
	if [ "$(id -u)" = 0 ]; then IDS=65534:65534; else IDS=$(id -u):$(id -g); fi
	/usr/bin/python3 - "$BATS_TEST_TMPDIR/src" <<-'EOF_'
	import os, sys
	d = sys.argv[1]
	for s in ("cur", "new", "tmp"):
	    os.makedirs(os.path.join(d, s))
	who = ["Ann <ann@example.org>", "=?UTF-8?Q?J=C3=BCrgen?= <jurgen@example.org>",
	       "<user-from (comment)@ (comment) domain.org>", "bob@example.org (Bob)",
	       '"Smith, Carol" <carol@example.net>']
	subj = ["hello", "Re: hello", "Fwd: [list] hello", "=?ISO-8859-1?Q?caf=E9?= time",
	        "a very long\n subject folded\n\tover lines", "RE: re: Hello"]
	for i in range(40):
	    h = ["From: %s" % who[i % 5], "To: team%d@example.org" % (i % 3),
	         "Subject: %s" % subj[i % 6],
	         "Date: %s, %d Jan 2024 %02d:%02d:00 %s" % ("Mon", 1 + i % 28, i % 24, i % 60,
	                                                 ["+0000", "-0500", "+0130"][i % 3]),
	         "Message-ID: <m%d@example.org>" % i]
	    if i % 4 == 1:
	        h.append("References: <m%d@example.org>\n <m%d@example.org>" % (i // 2, i - 1))
	    if i % 4 == 2:
	        h.append("In-Reply-To: <m%d@example.org>" % (i - 1))
	    if i % 7 == 0:
	        h.append("Cc: dave@example.com, Eve <eve@example.com>")
	        h.append("X-Foo: marker%d" % i)
	    if i % 9 == 0:
	        h.append("Subject: second subject field")
	    body = "body of message %d\n" % i
	    if i == 13:      # no blank line: a line that is not a field ends the header
	        text = "\n".join(h) + "\nnot a header line\n" + body
	    elif i == 17:    # CRLF line ends
	        text = "\r\n".join(h) + "\r\n\r\n" + body.replace("\n", "\r\n")
	    else:
	        text = "\n".join(h) + "\n\n" + body
	    name = "%d.M%dP1.test:2,%s" % (1700000000 + i, i, "S" if i % 2 else "")
	    with open(os.path.join(d, "cur", name), "w") as f:
	        f.write(text)
	open(os.path.join(d, "cur", "1700000099.M99P1.test:2,"), "w").close()   # empty file
	EOF_
	# the files a while old: imapd trusts directory times only then
	find src -exec touch -d '-1 minute' {} +
}

teardown() {
	stop_all || true
	for f in imapd-*.log; do [ ! -f "$f" ] || no_sanitizer_report "$f"; done
}

# A home with its own copy of the folder for user bob, and an imapd on it.
start_one() {
	local name=$1
	shift
	mkdir -p "home/$name"
	cp -a src "home/$name/Maildir"
	echo "bob:{PLAIN}secret:$IDS::$BATS_TEST_TMPDIR/home/$name::" > "$name.users"
	chmod 644 "$name.users"
	fix_perms
	local port
	port=$(free_port)
	start_bg imapd -l "127.0.0.1:$port" --users "$name.users" --auth-delay 0 "$@" \
		>/dev/null 2>"imapd-$name.log"
	wait_port "$port"
	echo "$port"
}

# The script: two rounds of searches, sorts and threads; between them a
# message removed behind the session's back, one delivered, one expunged.
client() {
	cat > client.py <<-'EOF_'
	import imaplib, os, sys, glob
	port, md = int(sys.argv[1]), sys.argv[2]
	m = imaplib.IMAP4("127.0.0.1", port)
	m.login("bob", "secret")
	n = [0]
	def cmd(text):
	    n[0] += 1
	    tag = b"T%d" % n[0]
	    m.send(tag + b" " + text.encode("utf-8") + b"\r\n")
	    out = []
	    while True:
	        line = m.readline()
	        assert line, "connection closed"
	        if line.startswith(tag + b" "):
	            assert line.startswith(tag + b" OK"), (text, line)
	            return out
	        out.append(line.decode("utf-8", "replace").rstrip("\r\n"))
	QUERIES = ["SEARCH FROM ann", "SEARCH FROM user-from@domain.org", "SEARCH FROM jurgen@",
	    "SEARCH CHARSET UTF-8 FROM {7+}\r\nJ\u00fcrgen",
	    "SEARCH TO team1", "SEARCH CC eve", "SEARCH BCC x", "SEARCH SUBJECT folded",
	    "SEARCH SUBJECT \"second subject\"", "SEARCH CHARSET UTF-8 SUBJECT {5+}\r\ncaf\u00e9",
	    "SEARCH HEADER Message-ID m7@", "SEARCH HEADER References m4@", "SEARCH HEADER In-Reply-To \"\"",
	    "SEARCH HEADER X-Foo marker", "SEARCH HEADER from carol", "SEARCH SENTSINCE 10-Jan-2024",
	    "SEARCH SENTON 3-Jan-2024", "SEARCH OR FROM bob SUBJECT hello", "SEARCH NOT FROM ann SEEN",
	    "SEARCH RETURN (MIN MAX COUNT) FROM example", "SORT (DATE) UTF-8 ALL",
	    "SORT (REVERSE SUBJECT) UTF-8 ALL", "SORT (FROM TO CC) UTF-8 ALL",
	    "SORT (DISPLAYFROM DISPLAYTO) UTF-8 ALL", "SORT (ARRIVAL SIZE) UTF-8 FROM ann",
	    "THREAD REFERENCES UTF-8 ALL", "THREAD ORDEREDSUBJECT UTF-8 ALL", "UID SEARCH FROM carol",
	    "SEARCH FROM \"<bob@\"", "SEARCH HEADER FROM \"<bob@\"", "SEARCH HEADER From \"<bob@\"",
	    "SEARCH FROM \"smith, carol\"", "SEARCH FROM \"carol <carol\"", "SEARCH TO \"\"",
	    "SEARCH HEADER Subject \"\"", "SEARCH HEADER BCC \"\"", "SEARCH FROM \"bob)\"",
	    "SEARCH NOT HEADER X-Foo \"\" FROM ann"]
	def round_():
	    for q in QUERIES:
	        print(q.replace("\r\n", " "), "->", " | ".join(cmd(q)))
	print(cmd("SELECT INBOX")[0])
	round_()
	# behind the session's back: one file goes, one arrives (stored as
	# another server would), then this session expunges a third
	os.unlink(glob.glob(os.path.join(md, "cur", "1700000005.*"))[0])
	t = os.path.join(md, "tmp", "new1")
	with open(t, "w") as f:
	    f.write("From: Ann <ann@example.org>\nSubject: Re: late\nDate: Tue, 2 Jan 2024 08:00:00 +0000\n"
	            "Message-ID: <late@example.org>\nReferences: <m1@example.org>\n\nlate\n")
	os.rename(t, os.path.join(md, "new", "1700000100.M100P1.test"))
	print("NOOP ->", " | ".join(cmd("NOOP")))
	round_()
	cmd("STORE 1 +FLAGS.SILENT (\\Deleted)")
	print("EXPUNGE ->", " | ".join(cmd("EXPUNGE")))
	round_()
	m.logout()
	EOF_
}

@test "a second search, sort and thread answer as the first, with the cache, a small one, or none" {
	client
	p1=$(start_one full)
	p2=$(start_one small --header-cache 2K)
	p3=$(start_one none --header-cache 0)
	/usr/bin/python3 client.py "$p1" home/full/Maildir > full.out
	/usr/bin/python3 client.py "$p2" home/small/Maildir > small.out
	/usr/bin/python3 client.py "$p3" home/none/Maildir > none.out
	# not vacuous: the searches found what the folder holds
	grep -qx 'SEARCH FROM ann -> \* SEARCH 1 6 11 16 21 26 31 36' full.out
	grep -q '^SEARCH FROM user-from@domain.org -> \* SEARCH 3 8 ' full.out
	grep -q '^SEARCH CHARSET UTF-8 FROM {7+} Jürgen -> \* SEARCH 2 7 ' full.out
	grep -q '^SEARCH SUBJECT folded -> \* SEARCH 5 11 ' full.out
	grep -q '^THREAD REFERENCES UTF-8 ALL -> \* THREAD (' full.out
	grep -qx 'SEARCH FROM ann -> \* SEARCH 1 10 15 20 25 30 35 41' full.out   # after the changes
	grep -qx 'SEARCH FROM ann -> \* SEARCH 9 14 19 24 29 34 40' full.out
	[ "$(grep -c '' full.out)" -eq 117 ]
	diff -u none.out full.out
	diff -u none.out small.out
}

@test "a second SEARCH FROM reads no message file" {
	p=$(start_one one)
	cat > second.py <<-'EOF_'
	import imaplib, sys, os, glob
	m = imaplib.IMAP4("127.0.0.1", int(sys.argv[1]))
	m.login("bob", "secret")
	m.select("INBOX")
	first = m.search(None, "FROM", "ann")[1]
	# from now on the session cannot read any message file
	for f in glob.glob(os.path.join(sys.argv[2], "cur", "*")):
	    os.chmod(f, 0)
	body = m.search(None, "BODY", "message")[1]
	second = m.search(None, "FROM", "ann")[1]
	print(first, body, second)
	assert first == [b"1 6 11 16 21 26 31 36"], first
	assert body == [b""], body          # the files are unreadable indeed
	assert second == first, second      # the header search did not need them
	m.logout()
	EOF_
	run /usr/bin/python3 second.py "$p" home/one/Maildir
	echo "$output"
	[ "$status" -eq 0 ]
	# without the cache the same session finds nothing the second time
	p0=$(start_one zero --header-cache 0)
	run /usr/bin/python3 second.py "$p0" home/zero/Maildir
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"[b''] [b'']"* ]]
}

@test "--header-cache takes a size and refuses anything else" {
	run "$BIN/imapd" --header-cache 12Q
	[ "$status" -eq 64 ]
	[[ "$output" == *"--header-cache 12Q: expected BYTES"* ]]
	run "$BIN/imapd" --help
	[[ "$output" == *"--header-cache BYTES"* ]]
}
