#!/usr/bin/env bats
# smtp-send as a sendmail-style submitter: what it does with standard
# input (a lone dot) and how it reports a server's multi-line answers.

load helpers

PORT_BASE=33000

setup_file() {
	# a scripted SMTP server on stdin/stdout for --pipe: answers DATA with
	# the reply given as data=..., logs the message it got into log=...
	cat > "$BATS_FILE_TMPDIR/fake.py" <<'PYEOF'
import sys
args = dict(a.split('=', 1) for a in sys.argv[1:])
inp, out = sys.stdin.buffer, sys.stdout.buffer
log = open(args.get('log', '/dev/null'), 'ab')
def send(s): out.write(s.replace('\\r\\n', '\r\n').encode()); out.flush()
send('220 fake ESMTP\\r\\n')
for l in inp:
    u = l.upper()
    if u.startswith(b'EHLO'): send('250-fake\\r\\n250 8BITMIME\\r\\n')
    elif u.startswith(b'DATA'):
        send('354 go\\r\\n')
        for d in inp:
            if d == b'.\r\n': break
            log.write(d); log.flush()
        send(args['data'])
    elif u.startswith(b'QUIT'): send('221 bye\\r\\n'); break
    else: send('250 ok\\r\\n')
PYEOF
}

fake() { echo "$PY $BATS_FILE_TMPDIR/fake.py log=$BATS_TEST_TMPDIR/got '$1'"; }

@test "a lone dot before more input: nothing sent, the line named, exit 65" {
	run bash -c "printf 'Subject: x\n\nbefore\n.\nafter\n' | smtp-send --pipe \"$(fake 'data=250 ok\r\n')\" x@example.net"
	assert_equal "$status" 65
	assert_output --partial "line 4: a line with a single dot ends the message before the end of input"
	[ ! -s "$BATS_TEST_TMPDIR/got" ]
	# -i, -oi: every line goes
	run bash -c "printf 'Subject: x\n\nbefore\n.\nafter\n' | smtp-send -i --pipe \"$(fake 'data=250 ok\r\n')\" x@example.net"
	assert_success
	grep -q '^after' "$BATS_TEST_TMPDIR/got"
	grep -q '^\.\.' "$BATS_TEST_TMPDIR/got"
}

@test "a lone dot as the last line (then only empty lines) ends the message quietly" {
	run bash -c "printf 'Subject: x\n\nbody\n.\n\n\n' | smtp-send --pipe \"$(fake 'data=250 ok\r\n')\" x@example.net"
	assert_success
	assert_output ""
	run cat "$BATS_TEST_TMPDIR/got"
	assert_output "$(printf 'Subject: x\r\n\r\nbody\r')"
}

@test "the summary quotes every line of a multi-line reply" {
	run bash -c "printf 'Subject: x\n\nx\n' | smtp-send -v --pipe \"$(fake 'data=250- 4 byte chunk, total 4\r\n250 OK id=1kZ2x3-0004Ab-9Q\r\n')\" x@example.net 2>&1 >/dev/null | grep -v '^[CS]:'"
	assert_success
	assert_output --partial "<x@example.net>: accepted"
	assert_output --partial "4 byte chunk, total 4 / OK id=1kZ2x3-0004Ab-9Q"
	run bash -c "printf 'Subject: x\n\nx\n' | smtp-send --pipe \"$(fake 'data=554-5.6.0 first line\r\n554 5.6.0 the reason is here\r\n')\" x@example.net"
	assert_equal "$status" 65
	assert_output --partial "5.6.0 first line / the reason is here"
}
