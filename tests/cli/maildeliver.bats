#!/usr/bin/env bats
# maildeliver as Postfix, smtpd or a shell pipe runs it.  Python's mailbox
# module (mailbox.Maildir, mailbox.mbox) is the independent reader.

load helpers
PORT_BASE=28500

setup() {
	# Our own tree, reachable by the unprivileged delivery user when we
	# run as root (bats' own tmpdir is mode 0700 root).
	T=$(mktemp -d /tmp/maildeliver-bats.XXXXXX)
	chmod 755 "$T"
	if [ "$(id -u)" = 0 ]; then U=65534 G=65534; else U=$(id -u) G=$(id -g); fi
	mkdir -p "$T/home/alice" "$T/home/bob"
	cat > "$T/passwd" <<-EOF
	# maildeliver test users
	alice:{PLAIN}pw:$U:$G::$T/home/alice::
	bob@example.org:{PLAIN}pw:$U:$G::$T/home/bob::
	EOF
	chown -R "$U:$G" "$T/home"
	export T U G
	MD=(maildeliver --users "$T/passwd")
	printf 'From: Ann <ann@example.net>\r\nTo: alice@example.org\r\nSubject: hello\r\n\r\nline one\r\nFrom here on\r\n>From quoted\r\nlast line\r\n' > "$T/msg"
}

teardown() {
	stop_all
	postfix_stop
	rm -rf "$T"
}

# The one file in a directory (fails when there is not exactly one).
only_file() {
	local f=("$1"/*)
	[ "${#f[@]}" = 1 ] && [ -f "${f[0]}" ] || { echo "expected one file in $1: ${f[*]}" >&2; return 1; }
	echo "${f[0]}"
}

expected() {   # sender rcpt: the stored form of $T/msg
	printf 'Return-Path: <%s>\n' "$1"
	[ -n "$2" ] && printf 'Delivered-To: %s\n' "$2"
	printf 'From: Ann <ann@example.net>\nTo: alice@example.org\nSubject: hello\n\nline one\nFrom here on\n>From quoted\nlast line\n'
}

@test "maildeliver --help, --version, usage errors exit 64" {
	run maildeliver --help
	assert_success
	assert_output --partial "usage: maildeliver"
	run maildeliver --version
	assert_success
	assert_output --partial "maillab"
	run maildeliver --bogus
	assert_equal "$status" 64
	run maildeliver -m "$T/x" alice < /dev/null
	assert_equal "$status" 64
	run maildeliver -f $'a@b\r\nX-Evil: 1' -m "$T/x" < /dev/null
	assert_equal "$status" 64
	run maildeliver --lock-wait -1 alice < /dev/null
	assert_equal "$status" 64
}

@test "Maildir delivery is byte-exact, LF-only, with Return-Path and Delivered-To" {
	run "${MD[@]}" -f ann@example.net alice < "$T/msg"
	assert_success
	f=$(only_file "$T/home/alice/Maildir/new")
	expected ann@example.net alice > "$T/want"
	cmp "$f" "$T/want"
	# time.M<usec>P<pid>R<random>.host,S=<size>,W=<size with CRLF>
	size=$(stat -c %s "$f")
	vsize=$(( size + $(wc -l < "$f") ))
	[[ "$(basename "$f")" =~ ^[0-9]+\.M[0-9]{6}P[0-9]+R[0-9a-f]{16}\.[^/:]+,S=${size},W=${vsize}$ ]]
	[ -z "$(ls -A "$T/home/alice/Maildir/tmp")" ]
	[ "$(stat -c %u "$f")" = "$U" ]
	[ "$(stat -c %a "$f")" = 600 ]
	# An independent reader sees one message with our headers.
	run "$PY" -c '
import mailbox, sys
md = mailbox.Maildir(sys.argv[1], factory=None, create=False)
msgs = list(md)
assert len(msgs) == 1, len(msgs)
m = msgs[0]
print(m["Return-Path"], m["Delivered-To"], m["Subject"], m.get_subdir())
print(m.get_payload(), end="")' "$T/home/alice/Maildir"
	assert_success
	assert_output $'<ann@example.net> alice hello new\nline one\nFrom here on\n>From quoted\nlast line'
}

@test "an existing Return-Path is replaced; a leading From_ line gives the sender" {
	{ printf 'From bounce@example.com Mon Nov 23 10:00:00 2026\n'
	  printf 'Return-Path: <forged@evil>\nSubject: s\n\nbody\n'; } > "$T/m2"
	run "${MD[@]}" alice < "$T/m2"
	assert_success
	f=$(only_file "$T/home/alice/Maildir/new")
	run cat "$f"
	assert_output $'Return-Path: <bounce@example.com>\nDelivered-To: alice\nSubject: s\n\nbody'
	# -f wins over the From_ line; -f "<>" is the null sender.
	rm "$f"
	run "${MD[@]}" -f '<>' alice < "$T/m2"
	assert_success
	run head -1 "$(only_file "$T/home/alice/Maildir/new")"
	assert_output "Return-Path: <>"
}

@test "a From_ line sender with a CR, '<' or '>' is not taken (Return-Path and From_ stay one clean line)" {
	printf 'From <evil>\rX-Injected:_yes Mon Nov 23 10:00:00 2026\nSubject: s\n\nbody\n' > "$T/m3"
	run "${MD[@]}" alice < "$T/m3"
	assert_success
	f=$(only_file "$T/home/alice/Maildir/new")
	run head -1 "$f"
	assert_output "Return-Path: <>"
	! grep -q $'\r' "$f"
	run "${MD[@]}" --mailbox 'mbox:%h/mbox' alice < "$T/m3"
	assert_success
	run head -1 "$T/home/alice/mbox"
	assert_output --regexp '^From MAILER-DAEMON [A-Z][a-z]{2} '
}

@test "\$SENDER is the default sender (Postfix mailbox_command)" {
	SENDER=env@example.com run "${MD[@]}" alice < "$T/msg"
	assert_success
	run head -1 "$(only_file "$T/home/alice/Maildir/new")"
	assert_output "Return-Path: <env@example.com>"
}

@test "binary-ish content: NUL bytes, a lone CR, a 100 kB line are kept byte for byte" {
	{ printf 'Subject: raw\r\n\r\na\0b\rc\r\n'; head -c 100000 /dev/zero | tr '\0' x; printf '\r\nend'; } > "$T/raw"
	run "${MD[@]}" -f s@x alice < "$T/raw"
	assert_success
	{ printf 'Return-Path: <s@x>\nDelivered-To: alice\nSubject: raw\n\na\0b\rc\n'; head -c 100000 /dev/zero | tr '\0' x; printf '\nend'; } > "$T/want"
	cmp "$(only_file "$T/home/alice/Maildir/new")" "$T/want"
}

@test "--max-size: a larger message is refused for good (65), the limit itself passes" {
	{ printf 'Subject: size\n\n'; head -c 4000 /dev/zero | tr '\0' y; } > "$T/sized"
	n=$(stat -c %s "$T/sized")
	run "${MD[@]}" --max-size $((n - 1)) alice < "$T/sized"
	assert_equal "$status" 65
	assert_output --partial "larger than $((n - 1)) bytes"
	[ ! -e "$T/home/alice/Maildir" ]
	run "${MD[@]}" --max-size "$n" alice < "$T/sized"
	assert_success
	only_file "$T/home/alice/Maildir/new"
	for bad in 0 -1 x 1k 99999999999999; do
		run "${MD[@]}" --max-size "$bad" alice < /dev/null
		assert_equal "$status" 64
	done
}

@test "an empty message is delivered with our two header lines" {
	run "${MD[@]}" -f s@x alice < /dev/null
	assert_success
	run cat "$(only_file "$T/home/alice/Maildir/new")"
	assert_output $'Return-Path: <s@x>\nDelivered-To: alice'
}

@test "user@domain: the passwd-file entry name@domain, else the local part" {
	run "${MD[@]}" -f s@x bob@example.org alice@example.org < "$T/msg"
	assert_success
	only_file "$T/home/bob/Maildir/new"
	f=$(only_file "$T/home/alice/Maildir/new")
	grep -qx 'Delivered-To: alice@example.org' "$f"
	run "${MD[@]}" bob@EXAMPLE.ORG < "$T/msg"
	assert_success
	[ "$(ls "$T/home/bob/Maildir/new" | wc -l)" = 2 ]
}

@test "unknown user exits 67, others still get the message" {
	run "${MD[@]}" nosuch < "$T/msg"
	assert_equal "$status" 67
	assert_output --partial "nosuch: no such user"
	run "${MD[@]}" alice nosuch < "$T/msg"
	assert_equal "$status" 67
	only_file "$T/home/alice/Maildir/new"
}

@test "path tricks in user names are refused with 67 and touch nothing" {
	for u in ../alice alice/../../x .alice ./alice .. 'a:b' 'al ice' '-alice' $'al\nice' 'ali\\ce'; do
		run "${MD[@]}" -- "$u" < "$T/msg"
		assert_equal "$status" 67
	done
	[ ! -e "$T/home/alice/Maildir" ]
	[ -z "$(find "$T" -newer "$T/passwd" -not -path "$T" -not -path "$T/home*" -not -name msg)" ]
}

@test "73 when the mailbox cannot be created, 77 when it may not be written, 75 with no home" {
	: > "$T/home/alice/afile"; chown "$U:$G" "$T/home/alice/afile"
	run "${MD[@]}" --mailbox 'maildir:%h/afile/Maildir' alice < "$T/msg"
	assert_equal "$status" 73
	assert_output --partial "Not a directory"
	mkdir "$T/home/alice/ro"; chown "$U:$G" "$T/home/alice/ro"; chmod 500 "$T/home/alice/ro"
	run "${MD[@]}" --mailbox 'maildir:%h/ro/Maildir' alice < "$T/msg"
	assert_equal "$status" 77
	assert_output --partial "Permission denied"
	run "${MD[@]}" --mailbox 'mbox:%h/ro/mbox' alice < "$T/msg"
	assert_equal "$status" 77
	echo "nohome:{PLAIN}x:$U:$G::::" >> "$T/passwd"
	run "${MD[@]}" nohome < "$T/msg"
	assert_equal "$status" 75
	assert_output --partial "no home directory"
	run "${MD[@]}" --mailbox 'maildir:%h/%q' alice < "$T/msg"
	assert_equal "$status" 75
	assert_output --partial "unknown %-sequence"
}

@test "user+folder goes to the Maildir++ folder .folder when it exists, else INBOX" {
	mkdir -p "$T/home/alice/Maildir/.lists/"{cur,new,tmp}
	chown -R "$U:$G" "$T/home/alice/Maildir"
	run "${MD[@]}" alice+lists@example.org < "$T/msg"
	assert_success
	f=$(only_file "$T/home/alice/Maildir/.lists/new")
	grep -qx 'Delivered-To: alice+lists@example.org' "$f"
	[ -z "$(ls -A "$T/home/alice/Maildir/new")" ]
	run "${MD[@]}" alice+nofolder < "$T/msg"
	assert_success
	only_file "$T/home/alice/Maildir/new"
	[ ! -e "$T/home/alice/Maildir/.nofolder" ]
	# A detail is never a path.
	run "${MD[@]}" 'alice+..' < "$T/msg"
	assert_success
	[ "$(ls "$T/home/alice/Maildir/new" | wc -l)" = 2 ]
}

@test "X-Spam-Flag: YES is filed to .Junk (created), unless --no-junk" {
	printf 'Subject: buy\nX-Spam-Flag:   yes  \nX-Spam-Status: Yes, score=9\n\nspam\n' > "$T/spam"
	run "${MD[@]}" alice < "$T/spam"
	assert_success
	f=$(only_file "$T/home/alice/Maildir/.Junk/new")
	[ -f "$T/home/alice/Maildir/.Junk/maildirfolder" ]
	[ "$(stat -c %u "$T/home/alice/Maildir/.Junk")" = "$U" ]
	[ -z "$(ls -A "$T/home/alice/Maildir/new")" ]
	run "${MD[@]}" --no-junk alice < "$T/spam"
	assert_success
	only_file "$T/home/alice/Maildir/new"
	# NO, or the flag in the body, is not spam.
	rm "$T"/home/alice/Maildir/new/*
	printf 'X-Spam-Flag: NO\nSubject: ham\n\nX-Spam-Flag: YES\n' | "${MD[@]}" alice
	only_file "$T/home/alice/Maildir/new"
	# -m files spam the same way
	run maildeliver -m "maildir:$T/home/alice/other" < "$T/spam"
	assert_success
	only_file "$T/home/alice/other/.Junk/new"
	# Python sees the Junk folder as a Maildir++ folder.
	run "$PY" -c '
import mailbox, sys
md = mailbox.Maildir(sys.argv[1], factory=None, create=False)
print(md.list_folders(), len(md.get_folder("Junk")))' "$T/home/alice/Maildir"
	assert_output "['Junk'] 1"
}

@test "a message that already has our Delivered-To is a loop: 65" {
	printf 'Received: from a by b; Sun, 6 Dec 2026 04:00:00 +0000\nDelivered-To: alice\nSubject: loop\n\nx\n' > "$T/loop"
	run "${MD[@]}" alice < "$T/loop"
	assert_equal "$status" 65
	assert_output --partial "mail loop"
	[ ! -e "$T/home/alice/Maildir/new" ] || [ -z "$(ls -A "$T/home/alice/Maildir/new")" ]
}

@test "mbox: From_ line, mboxrd quoting, read back by Python's mailbox.mbox" {
	printf 'Subject: two\n\nFrom start\n>>From deep\nFrom\nend' > "$T/m2"
	run "${MD[@]}" --mailbox 'mbox:%h/mbox' -f ann@example.net alice < "$T/msg"
	assert_success
	run "${MD[@]}" --mailbox 'mbox:%h/mbox' -f '' alice < "$T/m2"
	assert_success
	mb="$T/home/alice/mbox"
	[ "$(stat -c %u "$mb")" = "$U" ]
	[ ! -e "$mb.lock" ]
	run "$PY" -c '
import mailbox, re, sys
mb = mailbox.mbox(sys.argv[1], factory=None, create=False)
msgs = list(mb)
assert len(msgs) == 2, len(msgs)
for m in msgs:
    print(m.get_from().split()[0], m["Return-Path"], m["Delivered-To"], m["Subject"])
    # mboxrd: drop one ">" from each /^>+From / line to get the original back
    print(re.sub(r"(?m)^>(>*From )", r"\1", m.get_payload()), end="|\n")' "$mb"
	assert_success
	assert_output "$(printf '%s\n' 'ann@example.net <ann@example.net> alice hello' \
	    'line one' 'From here on' '>From quoted' 'last line' '|' \
	    'MAILER-DAEMON <> alice two' 'From start' '>>From deep' 'From' 'end' '|')"
	grep -qx '>From here on' "$mb"
	grep -qx '>>From quoted' "$mb"
	grep -qx '>>>From deep' "$mb"
	# each message ends with a blank line
	[ "$(tail -c 2 "$mb" | od -An -c | tr -d ' ')" = '\n\n' ]
}

@test "-m delivers straight into a Maildir or an mbox, no user lookup" {
	run maildeliver -f s@x -m "maildir:$T/home/alice/direct" < "$T/msg"
	assert_success
	expected s@x '' > "$T/want"
	cmp "$(only_file "$T/home/alice/direct/new")" "$T/want"
	touch "$T/home/alice/box"; chown "$U:$G" "$T/home/alice/box"
	run maildeliver -f s@x -m "$T/home/alice/box" < "$T/msg"     # existing file: mbox
	assert_success
	head -1 "$T/home/alice/box" | grep -q '^From s@x '
}

@test "a held fcntl lock on the mbox gives 75 (try again), then delivery works" {
	mb="$T/home/alice/mbox"
	: > "$mb"; chown "$U:$G" "$mb"
	start_bg "$PY" -c '
import fcntl, os, sys, time
f = open(sys.argv[1], "r+")
fcntl.lockf(f, fcntl.LOCK_EX)
open(sys.argv[2], "w").close()
for i in range(600):
    if os.path.exists(sys.argv[3]):
        break
    time.sleep(0.05)' "$mb" "$T/locked" "$T/release"
	wait_for 30 '[ -e "$T/locked" ]'
	run "${MD[@]}" --mailbox 'mbox:%h/mbox' --lock-wait 1 alice < "$T/msg"
	assert_equal "$status" 75
	assert_output --partial "try again later"
	[ ! -s "$mb" ]
	touch "$T/release"
	# the lock holder lets go within the wait: delivered
	run "${MD[@]}" --mailbox 'mbox:%h/mbox' --lock-wait 5 alice < "$T/msg"
	assert_success
	[ -s "$mb" ]
}

@test "30 deliveries at once into one mbox and one Maildir: all intact, none lost" {
	for i in $(seq 30); do
		{ printf 'Subject: parallel %s\n\n' "$i"; for j in $(seq 200); do printf 'From line %s of message %s\n' "$j" "$i"; done; } > "$T/p$i"
	done
	for i in $(seq 30); do
		"${MD[@]}" --mailbox 'mbox:%h/mbox' -f "p$i@x" alice < "$T/p$i" &
		"${MD[@]}" -f "p$i@x" alice < "$T/p$i" &
	done
	wait
	run "$PY" - "$T/home/alice" <<-'EOF'
	import mailbox, sys
	home = sys.argv[1]
	for box in (mailbox.mbox(home + "/mbox", create=False), mailbox.Maildir(home + "/Maildir", factory=None, create=False)):
	    subjects = sorted(int(m["Subject"].split()[1]) for m in box)
	    assert subjects == list(range(1, 31)), subjects
	    for m in box:
	        i = m["Subject"].split()[1]
	        lines = m.get_payload().splitlines()
	        want = [f"From line {j} of message {i}" for j in range(1, 201)]
	        if isinstance(box, mailbox.mbox):
	            want = [">" + w for w in want]
	        assert lines == want, (i, lines[:3])
	print("ok")
	EOF
	assert_success
	assert_output ok
	[ ! -e "$T/home/alice/mbox.lock" ]
}

@test "a fresh foreign dot-lock gives 75; a stale one (10 minutes) is broken" {
	mb="$T/home/alice/mbox"
	: > "$mb"; chown "$U:$G" "$mb"
	echo 12345 > "$mb.lock"
	run "${MD[@]}" --mailbox 'mbox:%h/mbox' --lock-wait 1 alice < "$T/msg"
	assert_equal "$status" 75
	[ ! -s "$mb" ]
	touch -d '10 minutes ago' "$mb.lock"
	run "${MD[@]}" --mailbox 'mbox:%h/mbox' --lock-wait 1 alice < "$T/msg"
	assert_success
	[ -s "$mb" ]
	[ ! -e "$mb.lock" ]
}

@test "a failed write (file size limit) leaves the mbox as it was and exits 75" {
	mb="$T/home/alice/mbox"
	run "${MD[@]}" --mailbox 'mbox:%h/mbox' -f s@x alice < "$T/msg"
	assert_success
	cp "$mb" "$T/before"
	head -c 300000 /dev/urandom | base64 > "$T/big"
	run bash -c 'ulimit -f 64; exec "$@"' _ "${MD[@]}" --mailbox 'mbox:%h/mbox' alice < "$T/big"
	assert_equal "$status" 75
	assert_output --partial "File too large"
	cmp "$mb" "$T/before"
	# Maildir: nothing in new/, nothing left in tmp/
	run bash -c 'ulimit -f 64; exec "$@"' _ "${MD[@]}" alice < "$T/big"
	assert_equal "$status" 75
	[ -z "$(ls -A "$T/home/alice/Maildir/new")" ]
	[ -z "$(ls -A "$T/home/alice/Maildir/tmp")" ]
}

# Start maildeliver on a big message in its own process group, wait until
# the file it writes has grown past 1 MB, then SIGKILL the whole group.
kill_mid_write() {  # watched-dir-or-file -- command...
	"$PY" - "$@" <<-'EOF'
	import os, signal, subprocess, sys, time
	watch, cmd = sys.argv[1], sys.argv[3:]
	big = os.environ["BIG"]
	def size():
	    if os.path.isdir(watch):
	        fs = os.listdir(watch)
	        return os.path.getsize(os.path.join(watch, fs[0])) if fs else 0
	    return os.path.getsize(watch) if os.path.exists(watch) else 0
	start = size()
	p = subprocess.Popen(cmd, stdin=open(big, "rb"), start_new_session=True)
	end = time.time() + 60
	while size() < start + (1 << 20) and p.poll() is None and time.time() < end:
	    pass
	os.killpg(p.pid, signal.SIGKILL)
	p.wait()
	print("killed at", size() - start, "of", os.path.getsize(big))
	EOF
}

@test "kill -9 in the middle of a big Maildir delivery leaves nothing in new/" {
	export BIG="$T/big"
	"$PY" -c 'import sys; sys.stdout.write("Subject: big\n\n" + "From the line of a big message.\n" * 3000000)' > "$BIG"
	mkdir -p "$T/home/alice/Maildir/"{cur,new,tmp}; chown -R "$U:$G" "$T/home/alice/Maildir"
	run kill_mid_write "$T/home/alice/Maildir/tmp" -- "${MD[@]}" alice
	assert_success
	echo "$output"
	[ -z "$(ls -A "$T/home/alice/Maildir/new")" ]
	# it was killed mid-write: a partial file in tmp/ (readers ignore tmp/)
	part=$(only_file "$T/home/alice/Maildir/tmp")
	[ "$(stat -c %s "$part")" -lt "$(stat -c %s "$BIG")" ]
	run "$PY" -c 'import mailbox, sys; print(len(mailbox.Maildir(sys.argv[1], create=False)))' "$T/home/alice/Maildir"
	assert_output 0
}

@test "kill -9 in the middle of a big mbox append: the next delivery cuts it back" {
	export BIG="$T/big"
	"$PY" -c 'import sys; sys.stdout.write("Subject: big\n\n" + "From the line of a big message.\n" * 3000000)' > "$BIG"
	mb="$T/home/alice/mbox"
	run "${MD[@]}" --mailbox 'mbox:%h/mbox' -f first@x alice < "$T/msg"
	assert_success
	cp "$mb" "$T/before"
	run kill_mid_write "$mb" -- "${MD[@]}" --mailbox 'mbox:%h/mbox' alice
	assert_success
	echo "$output"
	# killed mid-append: a partial tail and our dot-lock are left behind
	[ "$(stat -c %s "$mb")" -gt "$(stat -c %s "$T/before")" ]
	[ "$(stat -c %s "$mb")" -lt "$(( $(stat -c %s "$T/before") + $(stat -c %s "$BIG") ))" ]
	grep -q '^maildeliver ' "$mb.lock"
	run "${MD[@]}" --mailbox 'mbox:%h/mbox' -f second@x alice < "$T/msg"
	assert_success
	cmp -n "$(stat -c %s "$T/before")" "$mb" "$T/before"
	run "$PY" -c '
import mailbox, sys
print([m.get_from().split()[0] for m in mailbox.mbox(sys.argv[1], create=False)])' "$mb"
	assert_output "['first@x', 'second@x']"
	[ ! -e "$mb.lock" ]
}

@test "as root: delivery runs as the recipient's uid/gid, never as root" {
	[ "$(id -u)" = 0 ] || skip "needs root"
	run "${MD[@]}" alice < "$T/msg"
	assert_success
	f=$(only_file "$T/home/alice/Maildir/new")
	[ "$(stat -c %u:%g "$f")" = "$U:$G" ]
	# A user whose mailbox is root's own is refused (75: the admin can fix it).
	mkdir -p "$T/roothome"
	echo "toor:{PLAIN}x:0:0::$T/roothome::" >> "$T/passwd"
	run "${MD[@]}" toor < "$T/msg"
	assert_equal "$status" 75
	assert_output --partial "refusing to deliver as root"
	[ ! -e "$T/roothome/Maildir" ]
	# Without uid fields: the mailbox owner's ids; root-owned is refused.
	echo "noids:{PLAIN}x::::$T/home/bob::" >> "$T/passwd"
	run "${MD[@]}" noids < "$T/msg"
	assert_success
	[ "$(stat -c %u "$(only_file "$T/home/bob/Maildir/new")")" = "$U" ]
	# A user cannot write where they could not: root-owned dir, mode 755.
	mkdir -p "$T/rootonly"; chmod 755 "$T/rootonly"
	echo "carol:{PLAIN}x:$U:$G::$T/rootonly::" >> "$T/passwd"
	run "${MD[@]}" carol < "$T/msg"
	assert_equal "$status" 77
	[ ! -e "$T/rootonly/Maildir" ]
}

@test "as Postfix's mailbox_command: runs as the user, \$SENDER and \$EXTENSION" {
	[ "$(id -u)" = 0 ] || skip "needs root to become another user"
	command -v setpriv >/dev/null || skip "no setpriv"
	run env SENDER=pf@example.com EXTENSION=lists setpriv --reuid="$U" --regid="$G" --clear-groups \
	    "$BIN/maildeliver" --mailbox "maildir:$T/home/alice/Maildir" < "$T/msg"
	assert_success
	mkdir -p "$T/home/alice/Maildir/.lists/"{cur,new,tmp}; chown -R "$U:$G" "$T/home/alice/Maildir"
	f=$(only_file "$T/home/alice/Maildir/new")
	head -2 "$f" | grep -qx 'Return-Path: <pf@example.com>'
	run env SENDER=pf@example.com EXTENSION=lists setpriv --reuid="$U" --regid="$G" --clear-groups \
	    "$BIN/maildeliver" --mailbox "maildir:$T/home/alice/Maildir" < "$T/msg"
	assert_success
	only_file "$T/home/alice/Maildir/.lists/new"
}

@test "from a shell pipe, to several users, with -v saying where it went" {
	run bash -c 'printf "Subject: pipe\n\nhi\n" | "$@"' _ "${MD[@]}" -v -f p@x alice bob@example.org
	assert_success
	assert_output --partial "alice: delivered to $T/home/alice/Maildir/new/"
	assert_output --partial "bob@example.org: delivered to $T/home/bob/Maildir/new/"
}

# A private Postfix instance (its own config, queue and log under $T) on a
# loopback port, with maildeliver as its mailbox_command.
postfix_start() {
	local pf="$T/pf" port=$1
	mkdir -p "$pf/etc" "$pf/spool" "$pf/data"
	chown postfix "$pf/data"
	cat > "$pf/etc/main.cf" <<-EOF
	compatibility_level = 3.6
	queue_directory = $pf/spool
	data_directory = $pf/data
	maillog_file = $pf/maillog
	maillog_file_prefixes = $T
	myhostname = mx.test.example
	mydomain = test.example
	myorigin = test.example
	mydestination = test.example
	inet_interfaces = 127.0.0.1
	inet_protocols = ipv4
	mynetworks = 127.0.0.0/8
	alias_maps =
	alias_database =
	local_recipient_maps = unix:passwd.byname
	recipient_delimiter = +
	smtputf8_enable = no
	biff = no
	mailbox_command = $BIN/maildeliver -f "\$SENDER" --mailbox maildir:$T/home/alice/Maildir
	EOF
	# Our port for smtpd, and no chroot (the queue is not the usual one).
	awk -v port="$port" '/^#/ || /^[ \t]/ || NF < 8 { print; next }
	    { if ($1 == "smtp" && $2 == "inet") $1 = "127.0.0.1:" port; $5 = "n"; print }' \
	    /etc/postfix/master.cf > "$pf/etc/master.cf"
	postfix -c "$pf/etc" start 2>&1
}

postfix_stop() {
	[ -d "$T/pf/etc" ] || return 0
	postfix -c "$T/pf/etc" stop >/dev/null 2>&1 || true
}

@test "Postfix delivers through maildeliver as mailbox_command (SMTP in, Maildir out)" {
	[ "$(id -u)" = 0 ] || skip "a private Postfix instance needs root"
	command -v postfix >/dev/null && id postfix >/dev/null 2>&1 || skip "no Postfix"
	port=$(free_port)
	mkdir -p "$T/home/alice/Maildir/.lists/"{cur,new,tmp}; chown -R "$U:$G" "$T/home/alice"
	run postfix_start "$port"
	wait_port "$port" 20 || { postfix_stop; cat "$T/pf/maillog"; false; }
	run timeout 20 "$PY" - "$port" <<-'EOF'
	import smtplib, sys
	s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=15)
	s.sendmail("ann@example.net", ["nobody@test.example", "nobody+lists@test.example"],
	           b"Subject: via postfix\r\n\r\nFrom the MTA\r\nbody\r\n")
	s.quit()
	EOF
	assert_success
	wait_for 60 '[ -n "$(ls -A "$T/home/alice/Maildir/new")" ] && [ -n "$(ls -A "$T/home/alice/Maildir/.lists/new")" ]' || true
	postfix_stop
	cat "$T/pf/maillog"
	f=$(only_file "$T/home/alice/Maildir/new")
	g=$(only_file "$T/home/alice/Maildir/.lists/new")
	[ "$(stat -c %u "$f")" = 65534 ]          # Postfix runs the command as the recipient
	head -1 "$f" | grep -qx 'Return-Path: <ann@example.net>'
	# Postfix already wrote Delivered-To: we add no second one.
	[ "$(grep -c '^Delivered-To:' "$f")" = 1 ]
	grep -qx 'Delivered-To: nobody@test.example' "$f"
	grep -qx 'Delivered-To: nobody+lists@test.example' "$g"
	tail -2 "$f" | diff - <(printf 'From the MTA\nbody\n')
	grep -q 'status=sent (delivered to command' "$T/pf/maillog"
}
