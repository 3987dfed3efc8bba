#!/usr/bin/env bats
# Every lab's check against its own reference solution (must pass) and against
# an empty work dir (must fail and say what is missing), so the labs never rot.
# A check exits 3 when a program or tool it needs is not there: the test is
# then skipped with the check's own message, never counted as a pass.
load helpers
PORT_BASE=27000

setup() {
	export LAB_PORT_BASE=$((PORT_BASE + 100 * (RANDOM % 7)))   # 27000-27899
	export MAILLAB_BIN="$BIN"
	export RUN_SHEET_LOCK="$BATS_TEST_TMPDIR/run-sheet.lock"   # its sheets use no fixed port: do not wait for a lab run
}
teardown() { stop_all; }

LABS=(01-smtp-by-hand 02-mime-by-hand 03-pop3-imap 04-inetd 05-dns-mx 06-tls-auth 07-spam-virus 08-whole-chain 09-end-to-end 10-mail-auth 11-addresses 12-esmtp 13-commands-replies 14-lmtp 15-mbox-maildir 16-decoding 17-webmail)

solve_and_check() {
	local lab=$ROOT/labs/$1 work=$BATS_TEST_TMPDIR/work
	run timeout 120 "$lab/solution" "$work"
	if [ "$status" -eq 3 ]; then skip "$1 solution: $output"; fi
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	run timeout 120 "$lab/check" "$work"
	if [ "$status" -eq 3 ]; then skip "$1 check: $output"; fi
	echo "$output"
	assert_success
	assert_output --regexp "✔ [0-9]+/[0-9]+"
	refute_output --partial "✘"
}

check_empty() {
	local lab=$ROOT/labs/$1 work=$BATS_TEST_TMPDIR/empty
	mkdir -p "$work"
	run timeout 120 "$lab/check" "$work"
	if [ "$status" -eq 3 ]; then skip "$1 check: $output"; fi
	echo "$output"
	assert_failure 1
	assert_output --partial "✘"
	assert_output --regexp "[0-9]+ of [0-9]+ checks failed"
}

@test "every lab has its README sections, an executable check and solution, and is listed" {
	local l
	for l in "${LABS[@]}"; do
		[ -x "$ROOT/labs/$l/check" ] || { echo "$l/check"; false; }
		[ -x "$ROOT/labs/$l/solution" ] || { echo "$l/solution"; false; }
		for s in '^# Lab' '^## Background' '^## Steps' '^## What you should see' '^## Questions'; do
			grep -q "$s" "$ROOT/labs/$l/README.md" || { echo "$l: no $s"; false; }
		done
		grep -q "($l/)" "$ROOT/labs/README.md" || { echo "labs/README.md does not link $l"; false; }
		bash -n "$ROOT/labs/$l/check" && bash -n "$ROOT/labs/$l/solution"
	done
}

@test "a check without a work dir is a usage error" {
	run "$ROOT/labs/02-mime-by-hand/check"
	assert_failure 64
	assert_output --partial usage
}

@test "a check takes its work dir from LAB_DIR too" {
	local work=$BATS_TEST_TMPDIR/work
	run "$ROOT/labs/02-mime-by-hand/solution" "$work"
	[ "$status" -ne 3 ] || skip "$output"
	LAB_DIR=$work run "$ROOT/labs/02-mime-by-hand/check"
	[ "$status" -ne 3 ] || skip "$output"
	assert_success
	assert_output --partial "✔ message.eml is there"
}

@test "a check on a dir that does not exist says so" {
	run "$ROOT/labs/02-mime-by-hand/check" "$BATS_TEST_TMPDIR/nope"
	[ "$status" -eq 1 ] || [ "$status" -eq 3 ]
	assert_output --partial "✘"
}

@test "lab 1 (SMTP by hand): reference solution passes"  { solve_and_check 01-smtp-by-hand; }
@test "lab 1 (SMTP by hand): empty work dir fails"       { check_empty 01-smtp-by-hand; }
@test "lab 2 (MIME by hand): reference solution passes"  { solve_and_check 02-mime-by-hand; }
@test "lab 2 (MIME by hand): empty work dir fails"       { check_empty 02-mime-by-hand; }
@test "lab 3 (POP3 and IMAP): reference solution passes" { solve_and_check 03-pop3-imap; }
@test "lab 3 (POP3 and IMAP): empty work dir fails"      { check_empty 03-pop3-imap; }
@test "lab 4 (inetd): reference solution passes"         { solve_and_check 04-inetd; }
@test "lab 4 (inetd): empty work dir fails"              { check_empty 04-inetd; }
@test "lab 5 (DNS and MX): reference solution passes"    { solve_and_check 05-dns-mx; }
@test "lab 5 (DNS and MX): empty work dir fails"         { check_empty 05-dns-mx; }
@test "lab 6 (TLS and AUTH): reference solution passes"  { solve_and_check 06-tls-auth; }
@test "lab 6 (TLS and AUTH): empty work dir fails"       { check_empty 06-tls-auth; }
@test "lab 7 (spam and viruses): reference solution passes" { solve_and_check 07-spam-virus; }
@test "lab 7 (spam and viruses): empty work dir fails"   { check_empty 07-spam-virus; }
@test "lab 8 (the whole chain): reference solution passes (root: lab network)" { solve_and_check 08-whole-chain; }
@test "lab 8 (the whole chain): empty work dir fails"    { check_empty 08-whole-chain; }
@test "lab 9 (end-to-end security): reference solution passes" { solve_and_check 09-end-to-end; }
@test "lab 9 (end-to-end security): empty work dir fails" { check_empty 09-end-to-end; }
@test "lab 10 (domain authentication): reference solution passes" { solve_and_check 10-mail-auth; }
@test "lab 10 (domain authentication): empty work dir fails" { check_empty 10-mail-auth; }
@test "lab 11 (addresses): reference solution passes"   { solve_and_check 11-addresses; }
@test "lab 11 (addresses): empty work dir fails"        { check_empty 11-addresses; }
@test "lab 12 (ESMTP): reference solution passes"       { solve_and_check 12-esmtp; }
@test "lab 12 (ESMTP): empty work dir fails"            { check_empty 12-esmtp; }
@test "lab 13 (commands and replies): reference solution passes" { solve_and_check 13-commands-replies; }
@test "lab 13 (commands and replies): empty work dir fails"      { check_empty 13-commands-replies; }
@test "lab 14 (LMTP against SMTP): reference solution passes" { solve_and_check 14-lmtp; }
@test "lab 14 (LMTP against SMTP): empty work dir fails" { check_empty 14-lmtp; }
@test "lab 15 (mbox against Maildir): reference solution passes" { solve_and_check 15-mbox-maildir; }
@test "lab 15 (mbox against Maildir): empty work dir fails" { check_empty 15-mbox-maildir; }
@test "lab 16 (decoding a message): reference solution passes" { solve_and_check 16-decoding; }
@test "lab 16 (decoding a message): empty work dir fails" { check_empty 16-decoding; }
@test "lab 17 (webmail): reference solution passes"      { solve_and_check 17-webmail; }
@test "lab 17 (webmail): empty work dir fails"           { check_empty 17-webmail; }

@test "lab 2: a message with a broken attachment is caught" {
	local work=$BATS_TEST_TMPDIR/work
	run "$ROOT/labs/02-mime-by-hand/solution" "$work"
	[ "$status" -ne 3 ] || skip "$output"
	head -c 10 /dev/urandom >> "$work/data.bin"
	run "$ROOT/labs/02-mime-by-hand/check" "$work"
	[ "$status" -ne 3 ] || skip "$output"
	assert_failure 1
	assert_output --partial "✘ part 2 decodes to exactly the bytes of data.bin"
}

# Each check must see a broken result, not only an empty dir.
# mutate LAB 'SHELL TO BREAK THE RESULT' 'EXPECTED ✘ TEXT'
mutate() {
	local work=$BATS_TEST_TMPDIR/work
	run timeout 120 "$ROOT/labs/$1/solution" "$work"
	[ "$status" -ne 3 ] || skip "$output"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	(cd "$work" && eval "$2")
	run timeout 120 "$ROOT/labs/$1/check" "$work"
	[ "$status" -ne 3 ] || skip "$output"
	echo "$output"
	assert_failure 1
	assert_output --partial "✘ $3"
}

@test "lab 1: a message whose envelope sender is its From: is not enough" {
	mutate 01-smtp-by-hand 'for f in home/student/Maildir/*/*; do sed -i "s/^Return-Path: .*/Return-Path: <alice@example.org>/" "$f"; done' \
		"no message whose envelope sender"
}
@test "lab 3: the welcome message without its \\Flagged flag is caught" {
	mutate 03-pop3-imap 'for f in home/student/Maildir/cur/*F*; do mv "$f" "${f%%:2,*}:2,S"; done' \
		"the welcome message is not \\Flagged"
}
@test "lab 4: a socket unit without Accept=yes is caught" {
	mutate 04-inetd 'sed -i s/Accept=yes/Accept=no/ systemd/maillab-pop3d.socket' \
		"maillab-pop3d.socket: needs Accept=yes"
}
@test "lab 4: a comment after a value in xinetd.conf is caught" {
	mutate 04-inetd 'sed -i "s/^\(\twait *= no\)\$/\1   # nowait/" xinetd.conf' \
		"xinetd.conf: a comment after a value"
}
@test "lab 5: a backup MX with a better preference than the primary is caught" {
	mutate 05-dns-mx 'sed -i s/mx.alpha.test,20/mx.alpha.test,5/ dns.conf' \
		"beta.test's primary and backup MX"
}
@test "lab 6: a world-readable private key is caught" {
	mutate 06-tls-auth 'chmod 644 mail.key' "mail.key has mode 644"
}
@test "lab 6: a certificate from another CA is caught" {
	mutate 06-tls-auth 'openssl req -x509 -newkey rsa:2048 -nodes -keyout other.key -out ca.crt -days 1 -subj /CN=Other 2>/dev/null' \
		"openssl verify -CAfile ca.crt mail.crt fails"
}
@test "lab 7: spam left in INBOX is caught" {
	mutate 07-spam-virus 'mv home/student/Maildir/.Junk/new/* home/student/Maildir/new/' \
		"no message with X-Spam-Flag: YES in .Junk"
}


# ---- the sheet runner and the lab tools ------------------------------------

# sheet DIR: DIR/README.md from stdin.
sheet() { mkdir -p "$1" && cat > "$1/README.md"; }

@test "run-sheet: a sheet whose shown output comes passes (… wildcards, sh, console, session)" {
	local port d=$BATS_TEST_TMPDIR/good
	port=$(free_port)
	sheet "$d" <<SHEET
\`\`\`sh
mkdir -p ~/w && cd ~/w
cat > f.txt <<'END'
one
two
END
false # fails
/usr/bin/python3 -Sc "import socket, time; s = socket.create_server(('127.0.0.1', $port)); c, _ = s.accept(); c.send(b'220 hi\r\n'); c.recv(99); c.send(b'250 ok\r\n'); time.sleep(30)" &
timeout 5 sh -c 'until ss -ltn | grep -q ":$port "; do sleep 0.1; done'
\`\`\`
\`\`\`console
\$ cat f.txt
one
two
\$ printf 'a\nb\nc\n'
…
c
\$ echo "id=\$RANDOM."
id=….
\`\`\`
\`\`\`session
\$ nc -C 127.0.0.1 $port
S: 220 hi
C: HELLO
S: 250 …
^C
\`\`\`
SHEET
	run timeout 60 "$ROOT/labs/run-sheet" "$d"
	echo "$output"
	assert_success
	assert_output --partial "ok   good"
}

@test "run-sheet: a wrong shown line fails with the file, line and a diff" {
	local d=$BATS_TEST_TMPDIR/bad
	sheet "$d" <<'SHEET'
# title
```console
$ printf 'a\nb\n'
a
c
```
SHEET
	run timeout 60 "$ROOT/labs/run-sheet" "$d"
	echo "$output"
	assert_failure 1
	assert_output --partial "README.md:3: the output differs from the sheet for: \$ printf"
	assert_output --partial "-c"
	assert_output --partial "+b"
}

@test "run-sheet: a failing sh command fails, and so does a '# fails' command that succeeds" {
	local d=$BATS_TEST_TMPDIR/bad
	printf '```sh\ntrue\nls /nonexistent\n```\n' | sheet "$d"
	run timeout 60 "$ROOT/labs/run-sheet" "$d"
	assert_failure 1
	assert_output --partial "this command exited 2: ls /nonexistent"
	printf '```sh\ntrue # fails\n```\n' | sheet "$d"
	run timeout 60 "$ROOT/labs/run-sheet" "$d"
	assert_failure 1
	assert_output --partial "should fail"
}

@test "run-sheet: a session line that never comes fails (bounded) and leaves no process behind" {
	local port d=$BATS_TEST_TMPDIR/bad
	port=$(free_port)
	sheet "$d" <<SHEET
\`\`\`sh
sleep 1001 &
(printf '220 hi\r\n'; sleep 30) | nc -l 127.0.0.1 $port >/dev/null &
timeout 5 sh -c 'until ss -ltn | grep -q ":$port "; do sleep 0.1; done'
\`\`\`
\`\`\`session
\$ nc -C 127.0.0.1 $port
S: 220 bye
C: QUIT
^C
\`\`\`
SHEET
	run timeout 60 "$ROOT/labs/run-sheet" "$d"
	echo "$output"
	assert_failure 1
	assert_output --partial "README.md:8: waited 10 s"
	assert_output --partial "+220 hi"
	run pgrep -f "sleep 1001"
	assert_failure
}

@test "run-sheet --same: the two languages must hold the same runnable blocks" {
	local d=$BATS_TEST_TMPDIR/two
	printf '# A\n```sh\necho one\n```\nprose\n' | sheet "$d"
	printf '# B\n```sh\necho one\n```\nautre prose\n' > "$d/README.fr.md"
	run "$ROOT/labs/run-sheet" --same "$d"
	assert_success
	printf '# B\n```sh\necho un\n```\n' > "$d/README.fr.md"
	run "$ROOT/labs/run-sheet" --same "$d"
	assert_failure 1
	assert_output --partial "+echo un"
}

@test "run-sheet: <!-- requires: root --> skips the sheet for another user, saying so; <!-- cleanup: CMD --> runs after a failure" {
	local d=$BATS_TEST_TMPDIR/marks
	printf '<!-- requires: root -->\n```sh\ntrue\n```\n' | sheet "$d"
	if [ "$(id -u)" = 0 ]; then
		run timeout 60 "$ROOT/labs/run-sheet" --as nobody "$d"
	else
		run timeout 60 "$ROOT/labs/run-sheet" "$d"
	fi
	echo "$output"
	assert_success
	assert_output --partial "skip marks: SKIPPED: this lab needs root"
	refute_output --partial "ok   marks"
	if [ "$(id -u)" = 0 ]; then
		run timeout 60 "$ROOT/labs/run-sheet" "$d"
		assert_success
		assert_output --partial "ok   marks: en sheet typed as root"
	fi
	printf '<!-- cleanup: touch %s/cleaned -->\n```sh\nfalse\n```\n' "$d" | sheet "$d"
	run timeout 60 "$ROOT/labs/run-sheet" "$d"
	assert_failure 1
	[ -f "$d/cleaned" ]
}

@test "maillab-user: a mail user with your ids, or the mail account's as root" {
	cd "$BATS_TEST_TMPDIR"
	run maillab-user add users student secret
	assert_success
	if [ "$(id -u)" -eq 0 ]; then
		assert_output --partial "the servers never touch mail as uid 0"
		grep -q "^student:{PLAIN}secret:$(id -u mail):$(id -g mail)::$PWD/home/student::\$" users
		[ "$(stat -c %U home/student/Maildir/new)" = mail ]
	else
		grep -q "^student:{PLAIN}secret:$(id -u):$(id -g)::$PWD/home/student::\$" users
	fi
	run maillab-user add users student other
	[ "$(grep -c '^student:' users)" -eq 1 ]
	LANG=fr_FR.UTF-8 run maillab-user dir queue
	assert_success
	assert_output --partial "queue créé"
	[ "$(stat -c %a queue)" = 700 ]
	run maillab-user add users
	assert_failure 64
}

@test "maillab-check: grades lab N from any directory, in French when LANG says so" {
	cd "$BATS_TEST_TMPDIR"
	mkdir lab2
	HOME=$BATS_TEST_TMPDIR run maillab-check 2
	assert_failure 1
	assert_output --regexp "[0-9]+ of [0-9]+ checks failed"
	HOME=$BATS_TEST_TMPDIR LANG=fr_FR.UTF-8 run maillab-check 2 "$BATS_TEST_TMPDIR/lab2"
	assert_failure 1
	assert_output --regexp "vérifications sur [0-9]+ ont échoué"
	run maillab-check 99
	assert_failure 64
}

@test "run-sheet --mistakes: a planted mistake the check does not name fails" {
	local d=$BATS_TEST_TMPDIR/fake
	mkdir -p "$d"
	printf '#!/bin/bash\nmkdir -p "$1" && echo right > "$1/f"\n' > "$d/solution"
	printf '#!/bin/bash\nif [ "$(cat "$1/f" 2>/dev/null)" = right ]; then echo "✔ 1/1"; exit 0; fi\necho "✘ f is not right"; exit 1\n' > "$d/check"
	chmod +x "$d/solution" "$d/check"
	{
		printf 'mistake: f emptied\nplant: : > f\nen: ✘ f is not right\nfr: ✘ f is not right\n\n'
		printf 'mistake: f removed\nplant: rm f\nen: ✘ f\nfr: ✘ f\n\n'
		printf 'mistake: f changed\nplant: echo wrong > f\nen: ✘ f is not right\nfr: ✘ f is not right\n'
	} > "$d/tests"
	run timeout 60 "$ROOT/labs/run-sheet" --mistakes "$d"
	echo "$output"
	assert_success
	printf '\nmistake: nothing planted\nplant: true\nen: ✘ f\nfr: ✘ f\n' >> "$d/tests"
	run timeout 60 "$ROOT/labs/run-sheet" --mistakes "$d"
	echo "$output"
	assert_failure 1
	assert_output --partial 'planted mistake "nothing planted": the en check should exit 1'
}

@test "run-sheet: a session whose command ends before its S: lines fails at once" {
	local port d=$BATS_TEST_TMPDIR/bad
	port=$(free_port)
	printf '```session\n$ nc -C 127.0.0.1 %s\nS: 220 hi\nC: QUIT\n^C\n```\n' "$port" | sheet "$d"
	run timeout 30 "$ROOT/labs/run-sheet" "$d"
	echo "$output"
	assert_failure 1
	assert_output --partial "README.md:3: the command ended (exit 1) before"
}
