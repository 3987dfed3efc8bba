#!/usr/bin/env bats
# Dovecot's IMAP compliance tester, imaptest, against imapd on loopback: its
# scripted tests (one group per file of src/tests), built from the source in
# ../shared/tools by tests/lib/imaptest.sh into build/imaptest (once).
#
# imaptest counts a group whose "capabilities:" header names a capability
# the server lacks as passed.  So the groups are sorted here first: those
# imapd can run are run, and any failure fails the test; those it cannot run
# yet are listed (on fd 3, so bats shows them) and do not fail it.

load helpers
PORT_BASE=33000

setup_file() {
	local rc=0
	IMAPTEST=$("$ROOT/tests/lib/imaptest.sh") || rc=$?
	export IMAPTEST IMAPTEST_RC=$rc
}

setup() {
	[ "$IMAPTEST_RC" = 77 ] && skip "imaptest cannot be built here (no source or no dovecot-dev)"
	[ "$IMAPTEST_RC" = 0 ] || fail "imaptest did not build: see $ROOT/build/imaptest.log"
	cd "$BATS_TEST_TMPDIR"
	mkdir -p home/bob
	if [ "$(id -u)" = 0 ]; then IDS=65534:65534; else IDS=$(id -u):$(id -g); fi
	echo "bob:{PLAIN}secret:$IDS::$BATS_TEST_TMPDIR/home/bob::" > users
	fix_perms
}

teardown() {
	stop_all
	no_sanitizer_report "$BATS_TEST_TMPDIR/imapd.log"
}

# The capabilities imapd offers after login, upper-cased, one a line.
capabilities() {
	printf 'a LOGIN bob secret\r\nb LOGOUT\r\n' | imapd --users users --auth-delay 0 |
		tr -d '\r' | sed -n 's/^a OK \[CAPABILITY \([^]]*\)\].*/\1/p' | tr ' ' '\n' |
		tr '[:lower:]' '[:upper:]'
}

@test "imaptest: every scripted group imapd has the capabilities for passes; the others are listed" {
	local src tests=$BATS_TEST_TMPDIR/tests caps name need c missing skipped=""
	src=$(dirname "$IMAPTEST")/tests
	caps=$(capabilities)
	[ -n "$caps" ]
	mkdir "$tests"
	cp "$src"/*.mbox "$tests"/
	for f in "$src"/*; do
		name=${f##*/}
		[ -f "$f" ] && [ "${name%.mbox}" = "$name" ] || continue
		[ "$name" = urlauth2 ] && continue     # a test of its own, below
		need=$(sed -n '1,/^$/s/^capabilities:[[:space:]]*//Ip' "$f" | tr '[:lower:]' '[:upper:]')
		missing=""
		for c in $need; do
			grep -qxF "$c" <<< "$caps" || missing="$missing $c"
		done
		if [ -n "$missing" ]; then
			skipped="$skipped $name(${missing# })"
		else
			cp "$f" "$tests"/
		fi
	done
	if [ -n "$skipped" ]; then
		echo "# imaptest groups not run, capability missing:$skipped" >&3
	fi
	PORT=$(free_port)
	start_bg imapd -l "127.0.0.1:$PORT" --users users --auth-delay 0 2>"$BATS_TEST_TMPDIR/imapd.log"
	wait_port "$PORT"
	run timeout 120 "$IMAPTEST" host=127.0.0.1 "port=$PORT" user=bob pass=secret "test=$tests"
	echo "# imaptest: $(grep 'test groups:' <<< "$output")" >&3
	assert_success
	assert_line --regexp '^[0-9]+ test groups: 0 failed'
	refute_line --partial "*** Test"
	# every group copied was run: imaptest skipped none behind our back
	local want=$(ls "$tests" | grep -vc '\.mbox$')
	assert_line --regexp "^$want test groups: 0 failed, 0 skipped"
}

# urlauth2 has a second user fetch the first one's URLs; it appends nothing
# ("messages:" unset) and its mailbox is emptied first, so it runs on an
# INBOX filled here (imaptest cannot delete INBOX), with user2 a second
# virtual user of the same uid, who reads bob's Maildir to fetch his URLs.
@test "imaptest: urlauth2 (a second user fetches the first one's URLAUTH URLs)" {
	local src tests=$BATS_TEST_TMPDIR/tests2 md=$BATS_TEST_TMPDIR/home/bob/Maildir
	src=$(dirname "$IMAPTEST")/tests
	mkdir -p "$tests" "$md"/{cur,new,tmp} "$BATS_TEST_TMPDIR/home/alice"
	cp "$src/urlauth2" "$tests"/
	printf 'From: a@example.org\nSubject: one\n\nhello\n' > "$md/cur/1.M1.lab:2,S"
	printf 'From: b@example.org\nSubject: two\n\nworld\n' > "$md/cur/2.M2.lab:2,S"
	echo "alice:{PLAIN}secret:$IDS::$BATS_TEST_TMPDIR/home/alice::" >> users
	fix_perms
	PORT=$(free_port)
	start_bg imapd -l "127.0.0.1:$PORT" --users users --auth-delay 0 2>"$BATS_TEST_TMPDIR/imapd.log"
	wait_port "$PORT"
	run timeout 60 "$IMAPTEST" host=127.0.0.1 "port=$PORT" user=bob user2=alice pass=secret box=INBOX \
		"test=$tests"
	assert_success
	assert_line "1 test groups: 0 failed, 0 skipped due to missing capabilities"
	refute_line --partial "*** Test"
}
