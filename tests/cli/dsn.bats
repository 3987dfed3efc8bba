#!/usr/bin/env bats
# DSN (RFC 3461, 3464): smtpd's NOTIFY, RET, ENVID and ORCPT, stored in the
# queue envelope; smtp-send passing them on, "relayed" and failure reports
# parsed with Python's email; a private Postfix as the peer on both sides.

load helpers
load smtpd-common

setup() {
	smtpd_setup
	mkdir -p q && chmod 777 q
	PLAIN=$(printf '\0bob\0secret' | base64)
}

@test "smtpd: DSN offered; RET, ENVID, NOTIFY, ORCPT accepted and stored in the envelope" {
	run sm --queue "$W/q" --smtp-send /bin/true <<< "$(printf "EHLO c\r\nAUTH PLAIN $PLAIN\r\nMAIL FROM:<bob@example.org> RET=HDRS ENVID=QQ+2Bx\r\nRCPT TO:<carol@remote.example> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;Carol+40remote.example\r\nRCPT TO:<dave@remote.example> notify=never\r\nRCPT TO:<erin@remote.example>\r\nDATA\r\nSubject: x\r\n\r\nbody\r\n.\r\nQUIT\r\n")"
	assert_line "250-DSN"
	assert_line --regexp "^250 2.0.0 Ok: 3 recipients"
	run cat q/env/*
	assert_line "ret HDRS"
	assert_line "envid QQ+2Bx"
	assert_line --index 7 "rcpt <carol@remote.example> pending"
	assert_line --index 8 "dsn notify=SUCCESS,FAILURE orcpt=rfc822;Carol+40remote.example"
	assert_line --index 9 "rcpt <dave@remote.example> pending"
	assert_line --index 10 "dsn notify=NEVER"
	assert_line --index 11 "rcpt <erin@remote.example> pending"
	[ "${#lines[@]}" = 12 ]
}

@test "smtpd: malformed or repeated DSN parameters get 501 5.5.4" {
	run sm --queue "$W/q" --smtp-send /bin/true <<< "$(printf "EHLO c\r\nAUTH PLAIN $PLAIN\r\nMAIL FROM:<a@example.org> RET=FULL RET=HDRS\r\nMAIL FROM:<a@example.org> RET=BODY\r\nMAIL FROM:<a@example.org> ENVID=a+0A\r\nMAIL FROM:<a@example.org> ENVID=a+4a\r\nMAIL FROM:<a@example.org> ENVID=a=b\r\nMAIL FROM:<a@example.org> ENVID=$(printf 'x%.0s' $(seq 101))\r\nMAIL FROM:<a@example.org> ENVID=x ENVID=y\r\nMAIL FROM:<a@example.org> ENVID=ok+2B\r\nRCPT TO:<c@remote.example> NOTIFY=NEVER,SUCCESS\r\nRCPT TO:<c@remote.example> NOTIFY=SUCCESS,SUCCESS\r\nRCPT TO:<c@remote.example> NOTIFY=\r\nRCPT TO:<c@remote.example> NOTIFY=DELAY NOTIFY=DELAY\r\nRCPT TO:<c@remote.example> ORCPT=rfc822\r\nRCPT TO:<c@remote.example> ORCPT=rfc822;a+2\r\nRCPT TO:<c@remote.example> ORCPT=rfc822;\r\nRCPT TO:<c@remote.example> ORCPT=rfc822;a+00b\r\nRCPT TO:<c@remote.example> ORCPT=rf@c;a\r\nRCPT TO:<c@remote.example> ORCPT=rfc822;a ORCPT=rfc822;b\r\nRCPT TO:<c@remote.example> FOO=bar\r\nRCPT TO:<c@remote.example> NOTIFY=delay ORCPT=RFC822;c+40remote.example\r\nQUIT\r\n")"
	assert_line --index 12 "501 5.5.4 Duplicate RET parameter"
	assert_line --index 13 "501 5.5.4 Bad RET parameter: FULL or HDRS"
	for i in 14 15 16 17; do
		assert_line --index $i "501 5.5.4 Bad ENVID parameter: xtext of at most 100 characters"
	done
	assert_line --index 18 "501 5.5.4 Duplicate ENVID parameter"
	assert_line --index 19 "250 2.1.0 Ok"
	for i in 20 21 22; do
		assert_line --index $i "501 5.5.4 Bad NOTIFY parameter: NEVER, or SUCCESS, FAILURE, DELAY"
	done
	assert_line --index 23 "501 5.5.4 Duplicate NOTIFY parameter"
	for i in 24 25 26 27 28; do
		assert_line --index $i "501 5.5.4 Bad ORCPT parameter: addr-type;xtext"
	done
	assert_line --index 29 "501 5.5.4 Duplicate ORCPT parameter"
	assert_line --index 30 "555 5.5.4 Unsupported option: FOO"
	assert_line --index 31 "250 2.1.5 Ok"
}
