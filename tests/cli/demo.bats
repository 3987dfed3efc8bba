#!/usr/bin/env bats
# make demo: tests/demo.sh with the binaries under test.  It must run what is
# built, say clearly what it skips, stop every process it started, and fail
# when a step fails.
load helpers
PORT_BASE=27000

setup() {
	export DEMO_PORT_BASE=$((PORT_BASE + 800 + RANDOM % 50))   # 27800-27999
	export MAILLAB_BIN="$BIN"
}
teardown() { stop_all; }

# Every program the demo uses either did its job or was skipped by name.
@test "make demo: the whole chain runs, or says what it skips" {
	run timeout 180 "$ROOT/tests/demo.sh"
	echo "$output"
	assert_success
	assert_output --partial "== 1. Set up a mail user"
	assert_output --partial "demo complete"
	refute_output --partial "FAILED"
	assert_output --partial "ok: delivered:"
	if [ -x "$BIN/smtpd" ] && [ -x "$BIN/maildeliver" ]; then
		assert_output --partial "ok: smtpd listens on 127.0.0.1:"
	else
		assert_output --regexp "SKIP: (smtpd|maildeliver) is not built yet"
	fi
	if [ -x "$BIN/smtp-send" ] && [ -x "$BIN/smtpd" ] && [ -x "$BIN/maildeliver" ]; then
		assert_output --partial "ok: smtp-send: message accepted"
	fi
	if [ -x "$BIN/mimecat" ]; then
		assert_output --partial "ok: mimecat -p 2 gives back chart.png byte for byte"
	else
		assert_output --partial "SKIP: mimecat is not built yet"
	fi
	if [ -x "$BIN/pop3d" ]; then
		assert_output --partial "ok: RETR 1 brought the message back"
	else
		assert_output --partial "SKIP: pop3d is not built yet"
	fi
	if [ -x "$BIN/imapd" ]; then
		assert_output --partial "ok: IMAP gave back the attachment byte for byte"
	else
		assert_output --partial "SKIP: imapd is not built yet"
	fi
}

@test "make demo: the delivered message is the composed one, and nothing is left running" {
	export TMPDIR=$BATS_TEST_TMPDIR DEMO_KEEP=1
	run timeout 180 "$ROOT/tests/demo.sh"
	echo "$output"
	assert_success
	local scratch
	scratch=$(ls -d "$BATS_TEST_TMPDIR"/maillab-demo.* | head -1)
	[ -d "$scratch" ]
	local f
	f=$(find "$scratch/home/demo/Maildir/new" "$scratch/home/demo/Maildir/cur" -type f | head -1)
	[ -n "$f" ]
	# Python's email package is the oracle: multipart/mixed, the PNG intact.
	run "$PY" - "$f" "$scratch/chart.png" <<'PY'
import sys, email
m = email.message_from_binary_file(open(sys.argv[1], 'rb'))
assert m.get_content_type() == 'multipart/mixed', m.get_content_type()
att = [p for p in m.walk() if p.get_filename() == 'chart.png']
assert att and att[0].get_payload(decode=True) == open(sys.argv[2], 'rb').read()
print('ok')
PY
	assert_success
	assert_output ok
	# no process still runs with the scratch dir on its command line
	run bash -c "ps -eo args | grep -F '$scratch' | grep -v grep"
	assert_failure
}

@test "make demo: a server that does not come up is a failure, not a skip" {
	local fake=$BATS_TEST_TMPDIR/bin
	mkdir -p "$fake"
	cp "$BIN"/* "$fake"/
	printf '#!/bin/sh\necho "smtpd: pretend start-up failure" >&2\nexit 69\n' > "$fake/smtpd"
	printf '#!/bin/sh\nexit 75\n' > "$fake/maildeliver"
	chmod +x "$fake/smtpd" "$fake/maildeliver"
	MAILLAB_BIN=$fake DEMO_WAIT=1 run timeout 120 "$ROOT/tests/demo.sh"
	echo "$output"
	assert_failure 1
	assert_output --partial "FAILED: smtpd does not listen"
	assert_output --partial "demo FAILED"
}

@test "make demo speaks French when LANG starts with fr, and the chain still runs" {
	LANG=fr_FR.UTF-8 LC_ALL= LC_MESSAGES= run timeout 180 "$ROOT/tests/demo.sh"
	echo "$output"
	assert_success
	assert_output --partial "== 1. Créer un utilisateur de messagerie"
	assert_output --partial "démo terminée"
	refute_output --partial "ÉCHEC"
	refute_output --partial "demo complete"
}
