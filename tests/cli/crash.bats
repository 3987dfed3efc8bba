#!/usr/bin/env bats
# Crash consistency beyond kill -9 (issue 19): tests/crash/crashcheck records
# the system calls of a real delivery with strace and, after every one of
# them, looks at what a power loss could leave on disk (only what was
# fsync'ed, names without their unsynced bytes, an older written state plus
# later fsyncs).  Each path must show nothing half-written and lose nothing
# it already said was delivered.

load helpers

CRASH="$BATS_TEST_DIRNAME/../crash/crashcheck"

setup() {
	command -v strace >/dev/null || skip "strace is not installed (tests/deps.sh test)"
}

crash() {
	run timeout 120 "$CRASH" "$1" --bin "$BIN"
}

@test "crashcheck can fail: a writer that renames without fsync is caught" {
	crash naive
	assert_failure 1
	assert_output --partial "dir/final visible with 0 of 5000 bytes"
}

@test "maildeliver to a Maildir survives a power loss at any system call" {
	crash maildir
	assert_success
	assert_output --partial "no power loss at any system call"
}

@test "maildeliver making the Maildir on first delivery: the new directories' names are durable before exit 0" {
	crash maildir-new
	assert_success
}

@test "maildeliver to an mbox: old mail intact at every point, the new one durable before exit 0" {
	crash mbox
	assert_success
}

@test "smtpd's queue: an envelope is never visible without its whole message, and 250 means durable (first message: new spool directories too)" {
	crash queue
	assert_success
}

@test "imapd's uid list is durable before a UID is told: no UID given twice under one UIDVALIDITY after a power loss" {
	crash uidlist
	assert_success
}
