#!/usr/bin/env bats
# What routing needs (issue 14): the hop limit that ends a mail loop
# (RFC 5321 6.3), address literals sent to directly without any MX lookup
# (RFC 5321 5.1), and the percent hack refused with a reason.

load helpers
load smtpd-common
PORT_BASE=43000

setup() {
	smtpd_setup
}

teardown() {
	stop_all
	no_sanitizer_report "$W/smtpd.log"
}

# msg N: a message carrying N Received: fields, LF line ends.
msg() {
	local i
	for ((i = 1; i <= $1; i++)); do
		printf 'Received: from relay%d.example.net (relay%d.example.net [192.0.2.%d])\n\tby relay%d.example.org with ESMTP id H%d; Mon, 7 Dec 2026 10:00:00 +0100\n' \
			"$i" "$i" $((i % 250 + 1)) $((i + 1)) "$i"
	done
	printf 'From: alice@example.net\nTo: bob@example.org\nSubject: loop %d\n\nbody\n' "$1"
}

# dialogue N [DATA|BDAT]: EHLO, MAIL, RCPT, then the message of msg N.
dialogue() {
	msg "$1" | sed 's/$/\r/' > "$W/m"
	printf 'EHLO c.example\r\nMAIL FROM:<alice@example.net>\r\nRCPT TO:<bob@example.org>\r\n'
	if [ "${2:-DATA}" = BDAT ]; then
		printf 'BDAT %d LAST\r\n' "$(wc -c < "$W/m")"
		cat "$W/m"
	else
		printf 'DATA\r\n'
		cat "$W/m"
		printf '.\r\n'
	fi
	printf 'QUIT\r\n'
}

@test "hop limit: 100 Received: fields pass, 101 and 123 are refused 554 5.4.6 at the end of DATA" {
	dialogue 100 > in
	run sm < in
	assert_success
	assert_line --regexp '^250 2\.0\.0 .*Ok: delivered'
	[ "$(nmsg "$NEW")" = 1 ]
	# the copy delivered keeps all 100 and adds ours
	[ "$(grep -c '^Received:' "$NEW"/*)" = 101 ]
	for n in 101 123; do
		dialogue $n > in
		run sm < in
		assert_success
		assert_line --index 13 "554 5.4.6 Too many hops: $n Received: fields, limit 100 (RFC 5321 6.3: mail loop?)"
		assert_line '221 2.0.0 Bye'
	done
	[ "$(nmsg "$NEW")" = 1 ]
}

@test "hop limit: --max-hops N, with BDAT too, and LMTP answers per recipient" {
	dialogue 3 BDAT > in
	run sm --max-hops 3 < in
	assert_line --regexp '^250 2\.0\.0 .*Ok: delivered'
	dialogue 4 BDAT > in
	run sm --max-hops 3 < in
	assert_line --partial '554 5.4.6 Too many hops: 4 Received: fields, limit 3'
	dialogue 4 > in
	run sm --max-hops 3 < in
	assert_line --partial '554 5.4.6 Too many hops'
	{ printf 'LHLO c\r\nMAIL FROM:<a@example.net>\r\nRCPT TO:<bob@example.org>\r\n'
	  printf 'RCPT TO:<alice@example.net>\r\nDATA\r\n'
	  msg 2 | sed 's/$/\r/'
	  printf '.\r\nQUIT\r\n'; } > in
	run sm --lmtp --max-hops 1 < in
	[ "$(grep -c '^554 5.4.6 Too many hops: 2' <<< "$output")" = 2 ]
	[ "$(nmsg "$NEW")" = 1 ]
	run smtpd --max-hops 0
	assert_failure 64
	run smtpd --max-hops many
	assert_failure 64
}

@test "hop limit: swaks sends a looping message over TCP and gets 554 5.4.6" {
	start_smtpd
	msg 123 > loop.eml
	run swaks --server 127.0.0.1 --port "$PORT" --from alice@example.net --to bob@example.org \
		--data @loop.eml --timeout 10
	assert_failure
	assert_output --partial '<** 554 5.4.6 Too many hops: 123 Received: fields'
	[ "$(nmsg "$NEW")" = 0 ]
}

@test "percent hack: user%host@local is refused 550 5.7.1 with the reason, plain user still accepted" {
	run sh -c "printf 'EHLO c\r\nMAIL FROM:<a@example.net>\r\nRCPT TO:<bob%%elsewhere.example@example.org>\r\nRCPT TO:<\"bob%%x\"@example.org>\r\nRCPT TO:<bob@example.org>\r\nQUIT\r\n' | ${SM[*]} | tr -d '\r'"
	assert_success
	assert_line --index 11 --regexp '^550 5\.7\.1 <bob%elsewhere\.example@example\.org>: Recipient address rejected: percent hack .*does not relay'
	# quotes that change nothing are dropped (RFC 5321 4.1.2): same mailbox
	assert_line --index 12 --regexp '^550 5\.7\.1 <bob%x@example\.org>: .*percent hack'
	assert_line --index 13 '250 2.1.5 Ok'
	# to a domain that is not ours it is plain relaying, refused as such
	run sh -c "printf 'HELO c\r\nMAIL FROM:<a@example.net>\r\nRCPT TO:<bob%%example.org@elsewhere.example>\r\nQUIT\r\n' | ${SM[*]} | tr -d '\r'"
	assert_line --index 3 --partial '550 5.7.1 <bob%example.org@elsewhere.example>: Relay access denied'
}

# Start smtpd on HOST (127.0.0.1 or ::1) and PORT that takes the address
# literal LIT as a local domain.
literal_server() {
	SM=(smtpd --hostname mx.example.org --domains "$3" --users "$W/users")
	local a=$1
	[[ $a == *:* ]] && a="[$a]"
	start_bg "${SM[@]}" -l "$a:$2" 2>>"$W/smtpd.log"
	wait_port "$2" 10 "$1"
}

# A DNS "server" that never answers: any MX lookup smtp-send made would fail.
NODNS=127.0.0.1:9

@test "address literal [127.0.0.1] with --port: delivered directly, no MX lookup" {
	PORT=$(free_port)
	literal_server 127.0.0.1 "$PORT" '[127.0.0.1]'
	run smtp-send -v --dns "$NODNS" --port "$PORT" -f alice@example.net 'bob@[127.0.0.1]' <<< $'Subject: lit\n\nhello'
	assert_success
	assert_output --partial '* address literal [127.0.0.1]: no MX lookup'
	assert_output --partial 'C: RCPT TO:<bob@[127.0.0.1]>'
	refute_output --partial 'MX lookup for'
	[ "$(nmsg "$NEW")" = 1 ]
	grep -q '^Subject: lit' "$NEW"/*
}

@test "address literal [IPv6:::1] with --port: delivered directly over IPv6" {
	"$PY" -c 'import socket; socket.socket(socket.AF_INET6).bind(("::1", 0))' 2>/dev/null || skip "no IPv6 loopback"
	PORT=$(free_port)
	literal_server ::1 "$PORT" '[IPv6:::1]'
	run smtp-send -v --dns "$NODNS" --port "$PORT" -f alice@example.net 'bob@[IPv6:::1]' <<< $'Subject: lit6\n\nhello'
	assert_success
	assert_output --partial '* address literal [IPv6:::1]: no MX lookup'
	assert_output --regexp 'connected to .*\[::1\]'
	[ "$(nmsg "$NEW")" = 1 ]
	grep -q 'with ESMTP' "$NEW"/*
	grep -q '\[IPv6:::1\]' "$NEW"/*
}

@test "address literal without --port goes to port 25 of that address" {
	if [ "$(id -u)" = 0 ] && ! (exec 3<>/dev/tcp/127.0.0.1/25) 2>/dev/null; then
		literal_server 127.0.0.1 25 '[127.0.0.1]'
		run smtp-send -v --dns "$NODNS" -f alice@example.net 'bob@[127.0.0.1]' <<< $'Subject: p25\n\nhello'
		assert_success
		assert_output --partial 'connected to [127.0.0.1][127.0.0.1]:25'
		[ "$(nmsg "$NEW")" = 1 ]
	elif ! (exec 3<>/dev/tcp/127.0.0.1/25) 2>/dev/null; then
		# not root: nothing may listen on 25, but the attempt shows where it went
		run smtp-send -v --dns "$NODNS" -f alice@example.net 'bob@[127.0.0.1]' <<< $'Subject: p25\n\nhello'
		assert_failure 75
		assert_output --partial '127.0.0.1]:25'
		refute_output --partial 'MX lookup for'
	else
		skip "something already listens on 127.0.0.1:25"
	fi
}

@test "address literals: a bad or unknown literal is a permanent failure, no DNS either" {
	run smtp-send --dns "$NODNS" -f a@example.net 'bob@[300.1.2.3]' <<< $'Subject: x\n\nx'
	assert_failure 69
	assert_output --partial 'bad or unsupported address literal'
	run smtp-send --dns "$NODNS" -f a@example.net 'bob@[x400:c=fr]' <<< $'Subject: x\n\nx'
	assert_failure 69
	assert_output --partial 'address literal'
}
