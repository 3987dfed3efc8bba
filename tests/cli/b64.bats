#!/usr/bin/env bats
# b64 as a user runs it, with coreutils base64 as the independent oracle.

load helpers

setup() {
	cd "$BATS_TEST_TMPDIR"
}

@test "b64 --help and --version" {
	run b64 --help
	assert_success
	assert_output --partial "usage: b64"
	run b64 --version
	assert_success
	assert_output --partial "maillab"
}

@test "b64 rejects bad options with usage and 64" {
	run b64 --bogus
	assert_equal "$status" 64
	run b64 -w 2
	assert_equal "$status" 64
	assert_output --partial "invalid wrap width"
}

@test "b64 output is byte-exact with base64 -w 76 at many sizes" {
	for n in 0 1 2 3 4 56 57 58 59 113 114 115 1000 4095 65536 200001; do
		head -c $n /dev/urandom > in
		b64 in > ours
		base64 -w 76 in > theirs
		cmp ours theirs || { echo "differs at size $n"; return 1; }
		b64 -w 0 < in > ours
		base64 -w 0 in > theirs
		cmp ours theirs || { echo "-w 0 differs at size $n"; return 1; }
	done
}

@test "b64 other widths match base64 -w" {
	head -c 5000 /dev/urandom > in
	for w in 4 5 7 64 76 77 1000; do
		cmp <(b64 -w $w in) <(base64 -w $w in) || { echo "width $w"; return 1; }
	done
}

@test "b64 -d decodes what coreutils encodes, and round trips in a pipe" {
	head -c 300000 /dev/urandom > in
	base64 in | b64 -d > out
	cmp in out
	cat in | b64 | b64 -d | cmp - in
}

@test "b64 several files are one stream" {
	printf 'ab' > a
	printf 'cd' > b
	run b64 a b
	assert_output "$(printf abcd | base64)"
}

@test "b64 --crlf ends lines with CRLF" {
	head -c 100 /dev/zero > in
	b64 --crlf in > out
	run grep -c $'\r$' out
	assert_output "2"
}

@test "b64 -d reports garbage with its offset and exits 65" {
	run b64 -d <<< "Zm9v YmFy"
	assert_equal "$status" 65
	assert_output --partial "b64: decode stdin: invalid character at offset 4"
}

@test "b64 -d refuses truncated input; -i decodes what it can" {
	run b64 -d <<< "Zm9vYg"
	assert_equal "$status" 65
	assert_output --partial "truncated input"
	run b64 -di <<< "Zm9v*Yg"
	assert_success
	assert_output "foob"
}

@test "b64 -i skips garbage like base64 -di" {
	printf 'Zm9v\x01YmFy!!\n' > in
	assert_equal "$(b64 -di in)" "$(base64 -di in)"
}

@test "b64 -d accepts concatenated encodings like coreutils" {
	run b64 -d <<< "YQ==YQ=="
	assert_success
	assert_output "aa"
}

@test "b64 on a missing file says so and fails" {
	run b64 /nonexistent/file
	assert_failure
	assert_output --partial "b64: open /nonexistent/file:"
}

@test "b64 -d of NUL bytes in the input is an error, not a crash" {
	printf 'Zm9v\0YmFy' > in
	run b64 -d in
	assert_equal "$status" 65
}

@test "b64 -d on bad input writes what coreutils writes before the error, and fails when it does" {
	head -c 30000 /dev/urandom | base64 > good
	for bad in 'YWJj!ZGVm' 'YWJjZ!' 'YWJjZGU' 'YWJjZA=x' 'YQ=' 'YWJj=ZGVm' 'YWJjZGVm*'; do
		# alone, and in the middle of a long input, past the first read
		printf '%s' "$bad" > in1
		{ head -c 20000 good; printf '%s' "$bad"; tail -c +20001 good; } > in2
		for f in in1 in2; do
			want=0; base64 -d $f > want 2>/dev/null || want=65
			got=0; b64 -d $f > got 2>/dev/null || got=$?
			assert_equal "$bad $f $got" "$bad $f $want"
			cmp want got
		done
	done
}
