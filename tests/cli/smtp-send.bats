#!/usr/bin/env bats
# smtp-send: the client against real servers (Python's aiosmtpd, our smtpd,
# a scripted fake server for hostile replies), MX routing against dnsmasq,
# the composer checked by Python's email package, and the queue runner.

load helpers
load ../lib/dns

PORT_BASE=24000

setup_file() {
	local d=$BATS_FILE_TMPDIR
	# aiosmtpd server: each message saved as N.eml (raw bytes) + N.env (JSON)
	cat > "$d/srv.py" <<'EOF'
import argparse, asyncio, hmac, json, os, ssl, sys, time, base64
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword
from aiosmtpd.lmtp import LMTP

ap = argparse.ArgumentParser()
ap.add_argument('--host', default='127.0.0.1'); ap.add_argument('--port', type=int)
ap.add_argument('--dir'); ap.add_argument('--cert'); ap.add_argument('--key')
ap.add_argument('--tls', action='store_true'); ap.add_argument('--auth', action='store_true')
ap.add_argument('--lmtp', action='store_true'); ap.add_argument('--utf8', action='store_true')
ap.add_argument('--size', type=int, default=33554432)
a = ap.parse_args()
USER, PASS = b'alice', b's3cr3t p@ss'

class H:
    n = 0
    async def handle_MAIL(self, server, session, envelope, address, options):
        if a.auth and not session.authenticated: return '530 5.7.0 authentication required'
        envelope.mail_from = address; envelope.mail_options.extend(options)
        return '250 2.1.0 OK'
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith('temp'): return '451 4.2.0 try later'
        if address.startswith('bad'): return '550 5.1.1 no such user'
        envelope.rcpt_tos.append(address); return '250 2.1.5 OK'
    async def handle_DATA(self, server, session, envelope):
        H.n += 1
        p = os.path.join(a.dir, '%d' % H.n)
        with open(p + '.eml', 'wb') as f: f.write(envelope.original_content)
        with open(p + '.env', 'w') as f:
            json.dump({'from': envelope.mail_from, 'rcpt': envelope.rcpt_tos,
                       'opts': envelope.mail_options, 'helo': session.host_name,
                       'tls': session.ssl is not None}, f)
        if b'REJECTDATA' in envelope.original_content: return '554 5.6.0 content rejected'
        if a.lmtp:
            return '\r\n'.join(('452 4.2.2 <%s> mailbox full' if r.startswith('full') else
                                '250 2.0.0 <%s> delivered') % r for r in envelope.rcpt_tos)
        return '250 2.0.0 queued as %d' % H.n
    async def auth_CRAM__MD5(self, server, args):
        ch = b'<%d.%d@aio.test>' % (os.getpid(), int(time.time()))
        resp = await server.challenge_auth(ch)
        if not isinstance(resp, bytes): return AuthResult(success=False, handled=True)
        user, _, dig = resp.partition(b' ')
        ok = user == USER and dig == hmac.new(PASS, ch, 'md5').hexdigest().encode()
        return AuthResult(success=ok, handled=False)

def authenticator(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data.login == USER and auth_data.password == PASS
    return AuthResult(success=ok)

ctx = None
if a.cert:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH); ctx.load_cert_chain(a.cert, a.key)

class C(Controller):
    def factory(self):
        kw = dict(hostname='aio.test', enable_SMTPUTF8=a.utf8, data_size_limit=a.size)
        if a.lmtp: return LMTP(self.handler, **kw)
        if a.auth: kw.update(authenticator=authenticator, auth_require_tls=False)
        if ctx and not a.tls: kw.update(tls_context=ctx, require_starttls=False)
        return SMTP(self.handler, **kw)

kw = {}
if ctx and a.tls: kw['ssl_context'] = ctx
c = C(H(), hostname=a.host, port=a.port, **kw)
c.start()
try:
    while True: time.sleep(3600)
except KeyboardInterrupt: pass
finally: c.stop()
EOF
	# a scripted SMTP server on stdin/stdout (for --pipe): logs each read()
	cat > "$d/fake.py" <<'EOF'
import os, sys
args = dict(a.split('=', 1) for a in sys.argv[1:])
log = open(args.get('log', '/dev/null'), 'ab')
out = sys.stdout.buffer
def arg(k, dflt): return args.get(k, dflt).replace('\\r\\n', '\r\n').replace('\\n', '\n')
def send(s):
    out.write(s.encode('latin-1') if isinstance(s, str) else s); out.flush()
buf = b''
def readmore():
    global buf
    d = os.read(0, 65536)
    log.write(b'--read--\n' + d); log.flush()
    if not d: sys.exit(0)
    buf += d
def line():
    global buf
    while b'\n' not in buf: readmore()
    l, buf = buf.split(b'\n', 1)
    return l.rstrip(b'\r')
def nbytes(n):
    global buf
    while len(buf) < n: readmore()
    d, buf = buf[:n], buf[n:]
    return d
send(arg('greeting', '220 fake ESMTP\r\n'))
if 'hangup' in args and args['hangup'] == 'greeting': sys.exit(0)
ehlo = arg('ehlo', '250-fake\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 CHUNKING\r\n')
while True:
    l = line(); u = l.upper()
    if u.startswith(b'EHLO') or u.startswith(b'LHLO'): send(ehlo)
    elif u.startswith(b'HELO'): send(arg('helo', '250 fake\r\n'))
    elif u.startswith(b'MAIL'):
        if args.get('hangup') == 'mail': sys.exit(0)
        send(arg('mail', '250 2.1.0 ok\r\n'))
    elif u.startswith(b'RCPT'):
        nrcpt = globals().get('nrcpt', 0) + 1; globals()['nrcpt'] = nrcpt
        if b'<bad' in l: send('550 5.1.1 no\r\n')
        elif nrcpt > int(args.get('maxrcpt', 1000)): send('452 4.5.3 Error: too many recipients\r\n')
        else: send('250 2.1.5 ok\r\n')
    elif u.startswith(b'DATA'):
        send('354 go\r\n')
        while line() != b'.': pass
        nrcpt = 0
        send(arg('data', '250 2.0.0 ok\r\n'))
    elif u.startswith(b'BDAT'):
        p = l.split(); d = nbytes(int(p[1]))
        log.write(b'--chunk %d%s--\n' % (len(d), b' LAST' if len(p) > 2 else b'')); log.flush()
        send('250 2.0.0 %d octets\r\n' % len(d))
    elif u.startswith(b'QUIT'): send('221 bye\r\n'); break
    else: send('500 5.5.1 what\r\n')
EOF
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$d/key.pem" -out "$d/cert.pem" \
		-days 2 -subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" 2>/dev/null
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$d/okey.pem" -out "$d/other.pem" \
		-days 2 -subj /CN=other.test -addext "subjectAltName=DNS:other.test" 2>/dev/null
	printf 's3cr3t p@ss\n' > "$d/pw"
	printf 'wrong\n' > "$d/badpw"
}

teardown() {
	stop_all || true
	dns_stop
	[ ! -f "$BATS_TEST_TMPDIR/pf/main.cf" ] || postfix -c "$BATS_TEST_TMPDIR/pf" stop >/dev/null 2>&1 || true
	[ ! -f "$BATS_TEST_TMPDIR/dovecot" ] || dovecot -c "$(cat "$BATS_TEST_TMPDIR/dovecot")" stop >/dev/null 2>&1 || true
}

# srv DIR PORT [options]: start aiosmtpd saving into DIR, wait for it.
srv() {
	local dir=$1 port=$2 host=127.0.0.1
	shift 2
	for a in "$@"; do [[ $a == --host=* ]] && host=${a#--host=}; done
	mkdir -p "$dir"
	start_bg "$PY" "$BATS_FILE_TMPDIR/srv.py" --port "$port" --dir "$dir" "$@" 2>"$dir.log"
	wait_port "$port" 15 "$host"
}

# fake [KEY=VALUE...]: the --pipe command for the scripted server
fake() {
	local a s="$PY $BATS_FILE_TMPDIR/fake.py log=$BATS_TEST_TMPDIR/fake.log"
	for a; do s+=" '$a'"; done
	echo "$s"
}

msg() { printf 'From: a@example.org\nTo: x@example.net\nSubject: test\n\nhello\n'; }

# send ARGS...: the test message on a pipe into smtp-send ARGS, under run.
send() {
	run bash -c "$(declare -f msg); msg | smtp-send \"\$@\"" send "$@"
}

# ---------------------------------------------------------------- options

@test "--help and --version exit 0; misuse exits 64" {
	run smtp-send --help
	assert_success
	assert_output --partial "usage: smtp-send"
	run smtp-send --version
	assert_success
	run smtp-send -s 127.0.0.1:1
	assert_equal "$status" 64
	assert_output --partial "no recipients"
	run smtp-send --quit-after nowhere x@y
	assert_equal "$status" 64
	run smtp-send --bogus
	assert_equal "$status" 64
	run smtp-send -s a --pipe b x@y
	assert_equal "$status" 64
	run smtp-send -s a 'bad address@x'
	assert_equal "$status" 64
	run smtp-send -s a -f '<x>' y@z
	assert_equal "$status" 64
	run smtp-send --starttls=maybe -s a x@y
	assert_equal "$status" 64
}

@test "man page is clean mdoc" {
	run mandoc -Tlint -W warning "$ROOT/smtp-send/smtp-send.1"
	assert_success
}

# ---------------------------------------------------------------- basic SMTP

@test "sends to aiosmtpd: bytes arrive as sent, CRLF, dots unstuffed" {
	local p d=$BATS_TEST_TMPDIR/m
	p=$(free_port)
	srv "$d" "$p"
	printf 'Subject: dots\n\n.leading dot\n..two\nplain\n. \nlast' > "$BATS_TEST_TMPDIR/in"
	run smtp-send -i -s 127.0.0.1:"$p" -f a@example.org x@example.net < "$BATS_TEST_TMPDIR/in"
	assert_success
	printf 'Subject: dots\r\n\r\n.leading dot\r\n..two\r\nplain\r\n. \r\nlast\r\n' > "$BATS_TEST_TMPDIR/want"
	cmp "$d/1.eml" "$BATS_TEST_TMPDIR/want"
	run "$PY" -c 'import json,sys; e=json.load(open(sys.argv[1])); print(e["from"], e["rcpt"], e["opts"])' "$d/1.env"
	assert_output "a@example.org ['x@example.net'] ['SIZE=55']"
}

@test "without -i a lone dot ends the message (sendmail); with -oi it does not" {
	local p d=$BATS_TEST_TMPDIR/m
	p=$(free_port)
	srv "$d" "$p"
	printf 'Subject: x\n\nbefore\n.\n\n' | smtp-send -s 127.0.0.1:"$p" x@example.net
	printf 'Subject: x\n\nbefore\n.\nafter\n' | smtp-send -oi -s 127.0.0.1:"$p" x@example.net
	run cat "$d/1.eml"
	assert_output --partial before
	run cat "$d/2.eml"
	assert_output --partial after
}

@test "-v transcript shows both sides; EHLO argument is an FQDN or address literal" {
	local p d=$BATS_TEST_TMPDIR/m
	p=$(free_port)
	srv "$d" "$p"
	send -v -s 127.0.0.1:$p x@example.net
	assert_success
	assert_line --regexp '^S: 220 '
	assert_line --regexp '^C: EHLO (\[127\.0\.0\.1\]|.*\..*)$'
	assert_line 'C: DATA'
	assert_line 'C: QUIT'
	assert_line --regexp '^smtp-send: <x@example.net>: accepted by .*: 250 2.0.0 queued as 1$'
}

@test "per-recipient results and exit codes 0 / 75 / 69" {
	local p d=$BATS_TEST_TMPDIR/m
	p=$(free_port)
	srv "$d" "$p"
	send -s 127.0.0.1:$p ok@example.net temp@example.net
	assert_equal "$status" 75
	assert_output --partial "<temp@example.net>: deferred by 127.0.0.1[127.0.0.1]:$p: 451 4.2.0 try later"
	refute_output --partial "ok@example.net"
	send -s 127.0.0.1:$p ok@example.net bad@example.net temp@example.net
	assert_equal "$status" 69
	assert_output --partial "<bad@example.net>: failed by"
	assert_output --partial "550 5.1.1 no such user"
	send -s 127.0.0.1:$p ok@example.net
	assert_success
	# the message went to the accepted recipients only
	run "$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["rcpt"])' "$d/1.env"
	assert_output "['ok@example.net']"
}

@test "a refused message text exits 65 (data error)" {
	local p d=$BATS_TEST_TMPDIR/m
	p=$(free_port)
	srv "$d" "$p"
	run bash -c "printf 'Subject: x\n\nREJECTDATA\n' | smtp-send -s 127.0.0.1:$p x@example.net"
	assert_equal "$status" 65
	assert_output --partial "554 5.6.0 content rejected"
}

@test "SIZE: a message over the server's limit is not sent (65)" {
	local p d=$BATS_TEST_TMPDIR/m
	p=$(free_port)
	srv "$d" "$p" --size 100
	run bash -c "{ printf 'Subject: big\n\n'; head -c 3000 /dev/zero | tr '\\0' x | fold -w 70; } | smtp-send -v -s 127.0.0.1:$p x@example.net"
	assert_equal "$status" 65
	assert_output --partial "exceeds the server's SIZE 100"
	refute_line --partial "C: MAIL FROM"
	[ ! -e "$d/1.eml" ]
}

@test "8-bit body: BODY=8BITMIME; non-ASCII address: SMTPUTF8 or refused" {
	local p q d=$BATS_TEST_TMPDIR/m e=$BATS_TEST_TMPDIR/u
	p=$(free_port)
	srv "$d" "$p"
	printf 'Subject: x\n\ncaf\xc3\xa9\n' | smtp-send -s 127.0.0.1:"$p" x@example.net
	grep -q 'BODY=8BITMIME' "$d/1.env"
	run bash -c "printf 'Subject: x\n\nhi\n' | smtp-send -s 127.0.0.1:$p $'jos\xc3\xa9@example.net'"
	assert_equal "$status" 69
	assert_output --partial "needs SMTPUTF8"
	q=$(free_port)
	srv "$e" "$q" --utf8
	printf 'Subject: x\n\nhi\n' | smtp-send -s 127.0.0.1:"$q" "$(printf 'jos\xc3\xa9@example.net')"
	grep -q 'SMTPUTF8' "$e/1.env"
}

@test "-t takes To/Cc/Bcc (groups, comments, quotes) and removes Bcc" {
	local p d=$BATS_TEST_TMPDIR/m
	p=$(free_port)
	srv "$d" "$p"
	printf 'From: me@example.org\nTo: "Doe, J" <j@example.net>, k@example.net (Kay)\nCc: team: l@example.net, m@example.net;\nBcc: hidden@example.net,\n  hidden2@example.net\nSubject: t\n\nbody Bcc: stays\n' |
		smtp-send -t -s 127.0.0.1:"$p" extra@example.net
	run "$PY" -c 'import json,sys; print(sorted(json.load(open(sys.argv[1]))["rcpt"]))' "$d/1.env"
	assert_output "['extra@example.net', 'hidden2@example.net', 'hidden@example.net', 'j@example.net', 'k@example.net', 'l@example.net', 'm@example.net']"
	run cat "$d/1.eml"
	refute_output --partial "hidden"
	assert_output --partial "body Bcc: stays"
	assert_output --partial "Subject: t"
}

@test "bad input refused before connecting: NUL, bare CR, line over 998 (65)" {
	run bash -c "printf 'Subject: x\n\na\0b\n' | smtp-send -s 127.0.0.1:1 x@example.net"
	assert_equal "$status" 65
	assert_output --partial "NUL"
	run bash -c "printf 'Subject: x\n\na\rb\n' | smtp-send -s 127.0.0.1:1 x@example.net"
	assert_equal "$status" 65
	assert_output --partial "bare CR"
	run bash -c "{ printf 'Subject: x\n\n'; head -c 999 /dev/zero | tr '\\0' a; echo; } | smtp-send -s 127.0.0.1:1 x@example.net"
	assert_equal "$status" 65
	assert_output --partial "998"
}

@test "connection refused is a temporary failure (75)" {
	local p
	p=$(free_port)
	send -s 127.0.0.1:$p x@example.net
	assert_equal "$status" 75
	assert_output --partial "Connection refused"
}

@test "--dry-run prints the envelope and the message, sends nothing" {
	run bash -c "$(declare -f msg); msg | smtp-send --dry-run -s 127.0.0.1:1 -f a@example.org x@example.net 2>$BATS_TEST_TMPDIR/err"
	assert_success
	assert_output --partial "Subject: test"
	run cat "$BATS_TEST_TMPDIR/err"
	assert_output "MAIL FROM:<a@example.org>
RCPT TO:<x@example.net>"
}

@test "--quit-after stops at each stage and says QUIT" {
	local p d=$BATS_TEST_TMPDIR/m
	p=$(free_port)
	srv "$d" "$p"
	run smtp-send -v --quit-after connect -s 127.0.0.1:"$p"
	assert_success
	refute_line --partial "C: EHLO"
	assert_line "C: QUIT"
	run smtp-send -v --quit-after ehlo -s 127.0.0.1:"$p"
	assert_success
	assert_line --partial "C: EHLO"
	refute_line --partial "C: MAIL"
	run smtp-send -v --quit-after rcpt -s 127.0.0.1:"$p" x@example.net < /dev/null
	assert_success
	assert_line "C: RCPT TO:<x@example.net>"
	refute_line "C: DATA"
	assert_line "C: QUIT"
	[ ! -e "$d/1.eml" ]
}

@test "--quit-after data hangs up after 354: the server drops the message" {
	local p d=$BATS_TEST_TMPDIR/m
	p=$(free_port)
	srv "$d" "$p"
	send -v --quit-after data -s 127.0.0.1:$p x@example.net
	assert_success
	assert_line --regexp '^S: 354'
	assert_line --partial "closing without sending the message"
	refute_line "C: QUIT"
	sleep 0.3
	[ ! -e "$d/1.eml" ]
}

@test "IPv6: -s [::1]:PORT, EHLO with an IPv6 address literal" {
	"$PY" -c 'import socket; s=socket.socket(socket.AF_INET6); s.bind(("::1", 0))' 2>/dev/null ||
		skip "no IPv6 loopback here"
	local p d=$BATS_TEST_TMPDIR/m
	p=$(free_port)
	srv "$d" "$p" --host=::1
	send -v -s [::1]:$p x@example.net
	assert_success
	assert_line "C: EHLO [IPv6:::1]"
	[ -e "$d/1.eml" ]
}

# ---------------------------------------------------------------- TLS and AUTH

@test "STARTTLS verified with --cafile (name or IP address); untrusted or wrong name refused (75); --insecure" {
	local p d=$BATS_TEST_TMPDIR/m c=$BATS_FILE_TMPDIR/cert.pem
	p=$(free_port)
	srv "$d" "$p" --cert "$c" --key "$BATS_FILE_TMPDIR/key.pem"
	send -v --starttls=required --cafile $c -s localhost:$p x@example.net
	assert_success
	assert_line --partial "* TLS started: TLSv1."
	grep -q '"tls": true' "$d/1.env"
	# an address literal is checked against the certificate's IP addresses
	send --starttls=required --cafile $c -s 127.0.0.1:$p x@example.net
	assert_success
	send --starttls=required -s localhost:$p x@example.net
	assert_equal "$status" 75
	assert_output --partial "certificate verification failed"
	send --starttls=required --insecure -s localhost:$p x@example.net
	assert_success
	stop_all || true
	# a trusted certificate for another name
	p=$(free_port)
	srv "$d" "$p" --cert "$BATS_FILE_TMPDIR/other.pem" --key "$BATS_FILE_TMPDIR/okey.pem"
	send --starttls=required --cafile $BATS_FILE_TMPDIR/other.pem -s localhost:$p x@example.net
	assert_equal "$status" 75
	assert_output --partial "hostname mismatch"
}

@test "--starttls=required fails when not offered (69); --starttls goes on in clear" {
	local p d=$BATS_TEST_TMPDIR/m
	p=$(free_port)
	srv "$d" "$p"
	send --starttls=required -s 127.0.0.1:$p x@example.net
	assert_equal "$status" 69
	assert_output --partial "does not offer STARTTLS"
	send --starttls -s 127.0.0.1:$p x@example.net
	assert_success
}

@test "--tls: implicit TLS" {
	local p d=$BATS_TEST_TMPDIR/m c=$BATS_FILE_TMPDIR/cert.pem
	p=$(free_port)
	srv "$d" "$p" --tls --cert "$c" --key "$BATS_FILE_TMPDIR/key.pem"
	send -v --tls --cafile $c -s localhost:$p x@example.net
	assert_success
	assert_line --partial "* TLS started"
	[ -e "$d/1.eml" ]
}

@test "AUTH PLAIN, LOGIN, CRAM-MD5; secrets masked in the transcript" {
	local p d=$BATS_TEST_TMPDIR/m m b64
	p=$(free_port)
	srv "$d" "$p" --auth
	for m in PLAIN LOGIN CRAM-MD5; do
		send -v --auth alice --auth-mech $m --password-file $BATS_FILE_TMPDIR/pw -s 127.0.0.1:$p x@example.net
		assert_success
		assert_line --regexp "^C: AUTH $m( \*\*\*\*)?$"
		assert_line --regexp '^S: 235'
		refute_output --partial "s3cr3t"
		b64=$(printf 'alice' | base64)
		refute_output --partial "$b64"
		b64=$(printf '\0alice\0s3cr3t p@ss' | base64)
		refute_output --partial "$b64"
	done
	# the best offered mechanism is picked without --auth-mech
	send -v --auth alice --password-file $BATS_FILE_TMPDIR/pw -s 127.0.0.1:$p x@example.net
	assert_success
	assert_line --partial "C: AUTH"
}

@test "AUTH: the password is asked on the terminal, without echo" {
	command -v script >/dev/null || skip "script(1) is not installed"
	local p d=$BATS_TEST_TMPDIR/m
	p=$(free_port)
	srv "$d" "$p" --auth
	msg > "$BATS_TEST_TMPDIR/in"
	run bash -c "(sleep 0.5; printf 's3cr3t p@ss\n') | timeout 20 script -qec 'smtp-send --auth alice -s 127.0.0.1:$p x@example.net < $BATS_TEST_TMPDIR/in' /dev/null"
	assert_success
	assert_output --partial "Password for alice:"
	refute_output --partial "s3cr3t"
	[ -e "$d/1.eml" ]
}

@test "AUTH with a wrong password fails (69), nothing is sent" {
	local p d=$BATS_TEST_TMPDIR/m
	p=$(free_port)
	srv "$d" "$p" --auth
	send --auth alice --password-file $BATS_FILE_TMPDIR/badpw -s 127.0.0.1:$p x@example.net
	assert_equal "$status" 69
	assert_output --partial "535"
	[ ! -e "$d/1.eml" ]
	send --auth alice --password-file /nonexistent -s 127.0.0.1:$p x@example.net
	assert_equal "$status" 66
}

# ---------------------------------------------------------------- protocol details

@test "PIPELINING: MAIL, RCPT..., DATA go in one write" {
	send --pipe "$(fake)" a@example.net bad@example.net
	assert_equal "$status" 69
	run "$PY" -c '
import sys
chunks = open(sys.argv[1], "rb").read().split(b"--read--\n")
print(any(b"MAIL FROM" in c and b"RCPT TO:<a@" in c and b"RCPT TO:<bad@" in c and b"DATA\r\n" in c for c in chunks))' "$BATS_TEST_TMPDIR/fake.log"
	assert_output True
}

@test "no PIPELINING: one command at a time" {
	send --pipe "$(fake 'ehlo=250-fake\r\n250 8BITMIME\r\n')" a@example.net b@example.net
	assert_success
	run "$PY" -c '
import sys
chunks = open(sys.argv[1], "rb").read().split(b"--read--\n")
print(not any(b"MAIL FROM" in c and b"RCPT TO" in c for c in chunks))' "$BATS_TEST_TMPDIR/fake.log"
	assert_output True
}

@test "--bdat with CHUNKING: BDAT LAST, no dot-stuffing; big message in chunks" {
	run bash -c "printf 'Subject: x\n\n.dot\n' | smtp-send --bdat --pipe '$(fake)' a@example.net"
	assert_success
	grep -q -- '--chunk 20 LAST--' "$BATS_TEST_TMPDIR/fake.log"
	grep -q "^\.dot" "$BATS_TEST_TMPDIR/fake.log"
	: > "$BATS_TEST_TMPDIR/fake.log"
	run bash -c "{ printf 'Subject: x\n\n'; head -c 200000 /dev/zero | tr '\\0' x | fold -w 99; } | smtp-send --bdat --pipe '$(fake)' a@example.net"
	assert_success
	grep -q -- '--chunk 65536--' "$BATS_TEST_TMPDIR/fake.log"
	grep -q -- 'LAST--' "$BATS_TEST_TMPDIR/fake.log"
}

@test "452 too many recipients: the rest go in a second transaction" {
	send -v --pipe "$(fake maxrcpt=2)" a@example.net b@example.net c@example.net bad@example.net e@example.net
	assert_equal "$status" 69
	assert_output --partial "<bad@example.net>: failed"
	refute_output --partial "deferred"
	run grep -c '^MAIL FROM' "$BATS_TEST_TMPDIR/fake.log"
	assert_output 2
}

@test "HELO fallback when EHLO is refused" {
	send -v --pipe "$(fake 'ehlo=502 5.5.2 no EHLO here\r\n')" a@example.net
	assert_success
	assert_line --partial "C: HELO"
}

@test "LMTP: one reply per recipient after DATA" {
	local p d=$BATS_TEST_TMPDIR/m
	p=$(free_port)
	srv "$d" "$p" --lmtp
	send -v --lmtp -s 127.0.0.1:$p a@example.net full@example.net
	assert_equal "$status" 75
	assert_line --partial "C: LHLO"
	assert_output --partial "<full@example.net>: deferred by 127.0.0.1[127.0.0.1]:$p: 452 4.2.2"
	assert_line --regexp "S: 250 2.0.0 <a@example.net> delivered"
}

@test "hostile replies: garbage, code change, flood, overlong, hangup, silence" {
	send --pipe "$(fake 'greeting=hello there\r\n')" a@example.net
	assert_equal "$status" 75
	assert_output --partial "not an SMTP reply line"
	send --pipe "$(fake 'ehlo=250-fake\r\n251 x\r\n')" a@example.net
	assert_equal "$status" 75
	assert_output --partial "reply code changes"
	run bash -c "$(declare -f msg); msg | smtp-send --pipe \"$(fake "ehlo=$(for i in $(seq 200); do printf '250-x\\r\\n'; done)250 x\\r\\n")\" a@example.net"
	assert_equal "$status" 75
	assert_output --partial "reply too long"
	run bash -c "$(declare -f msg); msg | smtp-send --pipe \"$(fake "greeting=220 $(printf '%3000s' '' | tr ' ' x)\\r\\n")\" a@example.net"
	assert_equal "$status" 75
	assert_output --partial "line too long"
	send --pipe "$(fake hangup=mail)" a@example.net
	assert_equal "$status" 75
	assert_output --partial "connection lost"
	run bash -c "$(declare -f msg); msg | timeout 20 smtp-send --timeout 1 --pipe 'sleep 5' a@example.net"
	assert_equal "$status" 75
	assert_output --partial "timed out"
	# an endless line is cut short; a reply dripping in line by line too
	run bash -c "$(declare -f msg); msg | timeout 20 smtp-send --timeout 2 --pipe 'yes | tr -d \"\\n\"' a@example.net"
	assert_equal "$status" 75
	assert_output --partial "line too long"
	run bash -c "$(declare -f msg); msg | timeout 20 smtp-send --timeout 2 --pipe 'while :; do printf \"220-x\\r\\n\"; sleep 0.5; done' a@example.net"
	assert_equal "$status" 75
	assert_output --partial "reply too slow"
	# bare LF line ends from a server are taken
	send --pipe "$(fake 'greeting=220 lf\n' 'ehlo=250-x\n250 8BITMIME\n')" a@example.net
	assert_success
	send --pipe "$(fake 'greeting=554 5.3.2 go away\r\n')" a@example.net
	assert_equal "$status" 69
	assert_output --partial "554 5.3.2 go away"
}

# ---------------------------------------------------------------- our smtpd

# smtpd_cmd: the --pipe command for bin/smtpd in inetd mode, with a user bob
# (password "pw") whose Maildir is under the test directory.  As root,
# smtpd and the MDA run as nobody, so the directories are given to nobody.
smtpd_cmd() {
	local t=$BATS_TEST_TMPDIR uid gid
	uid=$(id -u) gid=$(id -g)
	mkdir -p "$t/home" "$t/q"
	echo "bob:{PLAIN}pw:$uid:$gid::$t/home::" > "$t/users"
	if [ "$uid" -eq 0 ]; then
		uid=65534 gid=65534
		sed -i "s/:0:0:/:$uid:$gid:/" "$t/users"
		chown "$uid:$gid" "$t/home" "$t/q"
		# smtpd reads the passwd-file after dropping to nobody
		local p=$t
		while [ "$p" != / ]; do chmod o+x "$p"; p=$(dirname "$p"); done
		chmod o+r "$t/users"
	fi
	echo pw > "$t/bobpw"
	echo "$BIN/smtpd --user $(id -un "$uid" 2>/dev/null || echo nobody) --hostname mx.example.test --domains example.test --users $t/users --mailbox maildir:$t/home/Maildir --queue $t/q --smtp-send '' --plaintext-auth"
}

@test "bin/smtpd over --pipe: delivered bytes, PIPELINING, BDAT" {
	[ -x "$BIN/smtpd" ] || skip "bin/smtpd is not built yet"
	local cmd
	cmd=$(smtpd_cmd)
	run bash -c "printf 'Subject: via smtpd\n\n.dot\n..two\nbody\n' | smtp-send -v -f a@example.org --pipe \"$cmd\" bob@example.test"
	assert_success
	assert_line "S: 250-PIPELINING"
	assert_line "C: ..dot"
	run bash -c "sed -n '/^Subject/,\$p' $BATS_TEST_TMPDIR/home/Maildir/new/*"
	assert_output "Subject: via smtpd

.dot
..two
body"
	rm -f "$BATS_TEST_TMPDIR"/home/Maildir/new/*
	run bash -c "printf 'Subject: bdat\n\n.dot\n' | smtp-send -v --bdat -f a@example.org --pipe \"$cmd\" bob@example.test"
	assert_success
	assert_line --regexp '^C: BDAT [0-9]+ LAST$'
	run bash -c "cat $BATS_TEST_TMPDIR/home/Maildir/new/*"
	assert_output --partial "Subject: bdat"
	assert_output --partial ".dot"
	refute_output --partial "..dot"
	# a user it does not know: 550 from smtpd, exit 69
	run bash -c "printf 'Subject: x\n\nx\n' | smtp-send --pipe \"$cmd\" nobody-here@example.test"
	assert_equal "$status" 69
	# LMTP: one reply per recipient
	rm -f "$BATS_TEST_TMPDIR"/home/Maildir/new/*
	run bash -c "printf 'Subject: lmtp\n\nx\n' | smtp-send -v --lmtp --pipe \"$cmd --lmtp\" bob@example.test"
	assert_success
	assert_line --partial "C: LHLO"
	run bash -c "cat $BATS_TEST_TMPDIR/home/Maildir/new/*"
	assert_output --partial "Subject: lmtp"
}

@test "the chain: smtp-send -> smtpd (AUTH, relay) -> queue -> smtp-send --queue -> MX" {
	[ -x "$BIN/smtpd" ] || skip "bin/smtpd is not built yet"
	local cmd dp sp
	cmd=$(smtpd_cmd)
	dp=$(free_port)
	sp=$(free_port)
	mx_setup "$dp"
	srv "$BATS_TEST_TMPDIR/mx2" "$sp" --host=127.0.0.3
	run bash -c "printf 'Subject: relayed\n\nhello\n' | smtp-send -v --auth bob --password-file $BATS_TEST_TMPDIR/bobpw -f bob@example.test --pipe \"$cmd\" far@sender.test"
	assert_success
	assert_line "C: ****"
	refute_output --partial "$(printf "bob pw" | base64)"
	[ -n "$(ls "$BATS_TEST_TMPDIR/q/env")" ]
	run smtp-send --queue "$BATS_TEST_TMPDIR/q" --dns 127.0.0.1:"$dp" --port "$sp"
	assert_success
	[ -z "$(ls "$BATS_TEST_TMPDIR/q/env")" ]
	run "$PY" -c 'import json,sys; e=json.load(open(sys.argv[1])); print(e["from"], e["rcpt"])' "$BATS_TEST_TMPDIR/mx2/1.env"
	assert_output "bob@example.test ['far@sender.test']"
	grep -q "by mx.example.test (maillab smtpd) with ESMTPA" "$BATS_TEST_TMPDIR/mx2/1.eml"
	grep -q "Subject: relayed" "$BATS_TEST_TMPDIR/mx2/1.eml"
}

# ---------------------------------------------------------------- Postfix

# postfix_start PORT: a private Postfix (postfix -c DIR) on 127.0.0.1:PORT,
# no chroot, virtual mailbox bob@pf.test under the test directory.  Its
# master must start as root, so the test is skipped for other users.
postfix_start() {
	local pf=$BATS_TEST_TMPDIR/pf p
	mkdir -p "$pf/queue" "$pf/data" "$pf/vmail"
	# its daemons run as postfix and must reach the queue
	p=$pf
	while [ "$p" != / ]; do chmod o+x "$p"; p=$(dirname "$p"); done
	chown postfix "$pf/data"
	chown -R 65534:65534 "$pf/vmail"
	echo "bob@pf.test bob/Maildir/" > "$pf/vmailbox"
	cat > "$pf/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $pf/queue
data_directory = $pf/data
mail_owner = postfix
setgid_group = postdrop
myhostname = postfix.test
mydestination =
inet_interfaces = loopback-only
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks reject_unauth_destination
virtual_mailbox_domains = pf.test
virtual_mailbox_base = $pf/vmail
virtual_mailbox_maps = texthash:$pf/vmailbox
virtual_uid_maps = static:65534
virtual_gid_maps = static:65534
alias_maps =
alias_database =
local_recipient_maps =
biff = no
smtpd_tls_cert_file = $BATS_FILE_TMPDIR/cert.pem
smtpd_tls_key_file = $BATS_FILE_TMPDIR/key.pem
smtpd_tls_security_level = may
maillog_file = /dev/stdout
EOF
	awk -v port="$1" '
		/^smtp +inet/ { print "127.0.0.1:" port " inet n - n - - smtpd"; next }
		/^[a-z0-9.:-]+ +(inet|unix|unix-dgram|fifo|pass) / && NF >= 8 { $5 = "n" }
		{ print }' /etc/postfix/master.cf > "$pf/master.cf"
	postfix -c "$pf" check >/dev/null 2>&1 || true
	postfix -c "$pf" start >"$pf/start.log" 2>&1 || { cat "$pf/start.log"; return 1; }
	wait_port "$1" 20
}

@test "against Postfix: STARTTLS, PIPELINING, DATA and BDAT, unknown user, SMTPUTF8" {
	command -v postfix >/dev/null && id postfix >/dev/null 2>&1 || skip "Postfix is not installed"
	[ "$(id -u)" -eq 0 ] || skip "a private Postfix needs root to start its master"
	local p box=$BATS_TEST_TMPDIR/pf/vmail/bob/Maildir/new c=$BATS_FILE_TMPDIR/cert.pem i
	p=$(free_port)
	postfix_start "$p"
	run bash -c "printf 'Subject: to postfix\n\n.dot\n..two\n' | smtp-send -v --starttls=required --cafile $c -s localhost:$p -f a@example.org bob@pf.test nobody@pf.test"
	assert_equal "$status" 69
	assert_line "S: 250-PIPELINING"
	assert_line --partial "* TLS started"
	assert_output --regexp "<nobody@pf.test>: failed by .*: 550 5.1.1"
	run bash -c "printf 'Subject: bdat\n\n.dot\n' | smtp-send -v --bdat -s 127.0.0.1:$p -f a@example.org bob@pf.test"
	assert_success
	assert_line "C: BDAT 23 LAST"
	run bash -c "printf 'Subject: utf8\n\ncaf\xc3\xa9\n' | smtp-send -v -s 127.0.0.1:$p -f \$'\xc3\xa9@example.org' bob@pf.test"
	assert_success
	assert_line --regexp "^C: MAIL FROM:<.*> SIZE=[0-9]+ BODY=8BITMIME SMTPUTF8$"
	wait_for 30 '[ "$(ls "$box" 2>/dev/null | wc -l)" -ge 3 ]' || true
	run bash -c "cat $box/*"
	assert_output --partial "Subject: to postfix"
	assert_output --partial $'\n.dot\n..two'
	assert_output --partial "with ESMTPS"
	assert_output --partial "Subject: bdat"
	assert_output --partial "café"
}

# ---------------------------------------------------------------- compose

@test "compose: text, UTF-8 subject and name, QP body; Python's email reads it back" {
	run bash -c "smtp-send --dry-run -f a@example.org --name 'Zoë Ünal' --subject 'Grüße aus Köln — ok' --body 'Ça marche.
= sign and trailing space 
.dot' --header 'X-Test: yes' x@example.net 2>/dev/null"
	assert_success
	echo "$output" > "$BATS_TEST_TMPDIR/c.eml"
	run "$PY" - "$BATS_TEST_TMPDIR/c.eml" <<'EOF'
import sys, email, email.policy, email.utils
m = email.message_from_binary_file(open(sys.argv[1], 'rb'), policy=email.policy.default)
print(str(m['subject']))
print(m['from'].addresses[0].display_name, m['from'].addresses[0].addr_spec)
print(m['to'], m['x-test'], m['mime-version'])
print(m.get_content_type(), m['content-transfer-encoding'], m.get_content_charset())
print(repr(m.get_content()))
print(bool(email.utils.parsedate_to_datetime(m['date'])), m['message-id'].endswith('@example.org>'))
print(all(ord(c) < 128 for c in open(sys.argv[1], encoding='latin-1').read()))
EOF
	assert_success
	assert_output "Grüße aus Köln — ok
Zoë Ünal a@example.org
x@example.net yes 1.0
text/plain quoted-printable utf-8
'Ça marche.\n= sign and trailing space \n.dot\n'
True True
True"
}

@test "compose: ASCII body is 7bit; body from stdin and from @FILE" {
	run bash -c "echo 'plain words' | smtp-send --dry-run --subject hi x@example.net 2>/dev/null"
	assert_success
	assert_output --partial "Content-Transfer-Encoding: 7bit"
	assert_output --partial "charset=us-ascii"
	assert_output --partial "plain words"
	echo "from a file" > "$BATS_TEST_TMPDIR/b.txt"
	run bash -c "smtp-send --dry-run --body @$BATS_TEST_TMPDIR/b.txt x@example.net < /dev/null 2>/dev/null"
	assert_output --partial "from a file"
}

@test "compose: attachments (binary, text, RFC 2231 names), --html alternative" {
	local t=$BATS_TEST_TMPDIR
	head -c 5000 /dev/urandom > "$t/blob.bin"
	printf '\x89PNG\r\n\x1a\n\0\0\0' > "$t/pic.png"
	printf 'col1,col2\n1,2\n' > "$t/data.csv"
	cp "$t/blob.bin" "$t/résumé très long nom de fichier avec des accents pour tester la continuation.pdf"
	printf '<p>Hello <b>world</b></p>\n' > "$t/page.html"
	run bash -c "smtp-send --dry-run -f a@example.org --subject files --body 'see attached' --html '$t/page.html' --attach '$t/blob.bin' --attach '$t/pic.png' --attach '$t/data.csv' --attach '$t/résumé très long nom de fichier avec des accents pour tester la continuation.pdf' x@example.net 2>/dev/null > $t/a.eml"
	assert_success
	run "$PY" - "$t/a.eml" "$t" <<'EOF'
import sys, email, email.policy
m = email.message_from_binary_file(open(sys.argv[1], 'rb'), policy=email.policy.default)
d = sys.argv[2]
print(m.get_content_type())
parts = list(m.iter_parts())
print(parts[0].get_content_type(), [p.get_content_type() for p in parts[0].iter_parts()])
print(parts[0].get_body(('html',)).get_content().strip())
for p in parts[1:]:
    fn = p.get_filename()
    got, want = p.get_payload(decode=True), open(d + '/' + fn, 'rb').read()
    if p.get_content_maintype() == 'text': got = got.replace(b'\r\n', b'\n')
    same = got == want
    print(p.get_content_type(), p['content-transfer-encoding'], fn, same)
print(max(len(l) for l in open(sys.argv[1], 'rb').read().split(b'\r\n')) <= 78)
EOF
	assert_success
	assert_output "multipart/mixed
multipart/alternative ['text/plain', 'text/html']
<p>Hello <b>world</b></p>
application/octet-stream base64 blob.bin True
image/png base64 pic.png True
text/csv 7bit data.csv True
application/pdf base64 résumé très long nom de fichier avec des accents pour tester la continuation.pdf True
True"
}

@test "compose: header injection and unreadable attachments are refused" {
	run smtp-send --dry-run --subject x --header $'X-A: b\r\nBcc: evil@x' x@example.net
	assert_equal "$status" 65
	run smtp-send --dry-run --subject x --header 'NoColon' x@example.net
	assert_equal "$status" 65
	run smtp-send --dry-run --body x --attach /nonexistent/file x@example.net
	assert_equal "$status" 65
	assert_output --partial "/nonexistent/file"
	# only the last path component is a file name
	mkdir -p "$BATS_TEST_TMPDIR/d"
	echo x > "$BATS_TEST_TMPDIR/d/f.txt"
	run smtp-send --dry-run --body x --attach "$BATS_TEST_TMPDIR/d/../d/f.txt" x@example.net
	assert_success
	assert_output --partial 'filename="f.txt"'
	refute_output --partial '..'

	run smtp-send --dry-run --subject $'\xff\xfe' --body x x@example.net
	assert_equal "$status" 65
}

@test "compose: mimecat finds no RFC problem, the same tree, the same bytes" {
	[ -x "$BIN/mimecat" ] || skip "bin/mimecat is not built yet"
	local t=$BATS_TEST_TMPDIR
	printf 'abc\0\001' > "$t/f.bin"
	printf '<p>x</p>\n' > "$t/p.html"
	printf 'a,b\n' > "$t/d.csv"
	smtp-send --dry-run --subject 'Ünïcode' --body 'héllo' --html "$t/p.html" --attach "$t/f.bin" \
		--attach "$t/d.csv" x@example.net > "$t/m.eml" 2>/dev/null
	run mimecat -c "$t/m.eml"
	assert_success
	run mimecat -t "$t/m.eml"
	assert_success
	assert_line --regexp '^1 +multipart/alternative'
	assert_line --regexp '^1\.1 +text/plain charset=utf-8 quoted-printable'
	assert_line --regexp '^1\.2 +text/html charset=us-ascii 7bit'
	assert_line --regexp '^2 +application/octet-stream base64 attachment "f.bin"'
	assert_line --regexp '^3 +text/csv charset=us-ascii 7bit attachment "d.csv"'
	mimecat -p 2 "$t/m.eml" | cmp - "$t/f.bin"
	run mimecat -p 1.1 "$t/m.eml"
	assert_output "héllo"
}

# ---------------------------------------------------------------- MX routing

# dns_mx_setup PORT SMTPPORT: example.test MX 10 mx1 (127.0.0.2), 20 mx2 (127.0.0.3)
mx_setup() {
	local conf=$BATS_TEST_TMPDIR/dns.conf
	dns_conf_new "$conf" test
	dns_add_mx "$conf" example.test 10 mx1.example.test
	dns_add_mx "$conf" example.test 20 mx2.example.test
	dns_add_host "$conf" mx1.example.test 127.0.0.2
	dns_add_host "$conf" mx2.example.test 127.0.0.3
	dns_add_mx "$conf" sender.test 10 mx2.example.test
	dns_add_mx "$conf" multi.test 10 mx3.multi.test
	dns_add_host "$conf" mx3.multi.test 127.0.0.4 127.0.0.3
	dns_add_nullmx "$conf" nomail.test
	dns_start "$conf" "$1"
}

@test "MX routing: primary down, backup MX used" {
	local dp sp
	dp=$(free_port)
	sp=$(free_port)
	mx_setup "$dp"
	srv "$BATS_TEST_TMPDIR/mx2" "$sp" --host=127.0.0.3
	send -v --dns 127.0.0.1:$dp --port $sp -f a@sender.test u@example.test
	assert_success
	assert_output --partial "trying MX 10 mx1.example.test"
	assert_output --partial "127.0.0.2"
	assert_output --partial "trying MX 20 mx2.example.test"
	[ -e "$BATS_TEST_TMPDIR/mx2/1.eml" ]
}

@test "MX routing: every address of a host is tried" {
	local dp sp
	dp=$(free_port)
	sp=$(free_port)
	mx_setup "$dp"
	srv "$BATS_TEST_TMPDIR/mx2" "$sp" --host=127.0.0.3
	send -v --dns 127.0.0.1:$dp --port $sp u@multi.test
	assert_success
	assert_output --partial "connected to mx3.multi.test[127.0.0.3]:$sp"
	[ -e "$BATS_TEST_TMPDIR/mx2/1.eml" ]
	if [[ $output == *"127.0.0.4"* ]]; then
		assert_output --partial "connect mx3.multi.test[127.0.0.4]"
	fi
}

@test "MX routing: primary answers 4xx, backup takes it; both up: primary gets it" {
	local dp sp
	dp=$(free_port)
	sp=$(free_port)
	mx_setup "$dp"
	srv "$BATS_TEST_TMPDIR/mx1" "$sp" --host=127.0.0.2
	srv "$BATS_TEST_TMPDIR/mx2" "$sp" --host=127.0.0.3
	send --dns 127.0.0.1:$dp --port $sp temp1@example.test
	# temp* is refused 4xx by both: deferred, and both were asked
	assert_equal "$status" 75
	send --dns 127.0.0.1:$dp --port $sp u@example.test
	assert_success
	[ -e "$BATS_TEST_TMPDIR/mx1/1.eml" ]
	[ ! -e "$BATS_TEST_TMPDIR/mx2/1.eml" ]
}

@test "MX routing with --quit-after ehlo studies the first MX that answers" {
	local dp sp
	dp=$(free_port)
	sp=$(free_port)
	mx_setup "$dp"
	srv "$BATS_TEST_TMPDIR/mx1" "$sp" --host=127.0.0.2
	srv "$BATS_TEST_TMPDIR/mx2" "$sp" --host=127.0.0.3
	run smtp-send -v --quit-after ehlo --dns 127.0.0.1:"$dp" --port "$sp" u@example.test
	assert_success
	assert_output --partial "trying MX 10 mx1.example.test"
	refute_output --partial "trying MX 20"
	assert_line "C: QUIT"
}

@test "MX routing: no such domain and null MX are permanent; DNS down is temporary" {
	local dp
	dp=$(free_port)
	mx_setup "$dp"
	send --dns 127.0.0.1:$dp u@nowhere.test
	assert_equal "$status" 69
	send --dns 127.0.0.1:$dp u@nomail.test
	assert_equal "$status" 69
	send --dns 127.0.0.1:$(free_port) u@example.test
	assert_equal "$status" 75
	# we are the best MX: a loop, not a delivery to ourselves
	send --helo mx1.example.test --dns 127.0.0.1:$dp u@example.test
	assert_equal "$status" 69
	assert_output --partial "5.4.6"
}

# ---------------------------------------------------------------- queue runner

# enqueue DIR ID FROM RCPT... : a spool entry in lib/queue.h's format
enqueue() {
	local q=$1 id=$2 from=$3 r
	shift 3
	mkdir -p "$q/tmp" "$q/msg" "$q/env"
	printf 'Received: from x by y; Mon, 23 Nov 2026 10:00:00 +0000\nFrom: %s\nSubject: queued %s\nMessage-ID: <%s@example.org>\n\nbody of %s\n' \
		"$from" "$id" "$id" "$id" > "$q/msg/$id"
	{
		echo "version 1"
		echo "from <$from>"
		echo "created ${CREATED:-$(date +%s)}"
		echo "attempts 0"
		echo "next $(date +%s)"
		for r; do echo "rcpt <$r> pending"; done
	} > "$q/tmp/$id.env"
	mv "$q/tmp/$id.env" "$q/env/$id"
}

@test "queue: delivered by MX and removed; temporary failure kept with a later retry" {
	local dp sp q=$BATS_TEST_TMPDIR/q
	dp=$(free_port)
	sp=$(free_port)
	mx_setup "$dp"
	srv "$BATS_TEST_TMPDIR/mx2" "$sp" --host=127.0.0.3
	enqueue "$q" 1000.M1P1R1 a@sender.test u@example.test temp@example.test
	run smtp-send --queue "$q" --dns 127.0.0.1:"$dp" --port "$sp"
	assert_success
	[ -e "$BATS_TEST_TMPDIR/mx2/1.eml" ]
	grep -q 'body of 1000.M1P1R1' "$BATS_TEST_TMPDIR/mx2/1.eml"
	run cat "$q/env/1000.M1P1R1"
	assert_line --regexp '^rcpt <u@example.test> done 250 2.0.0'
	assert_line --regexp '^rcpt <temp@example.test> pending 451 4.2.0 try later'
	assert_line "attempts 1"
	local next
	next=$(sed -n 's/^next //p' "$q/env/1000.M1P1R1")
	[ "$next" -ge $(($(date +%s) + 250)) ]
	# not due yet: a second run does nothing; --retry-now tries again
	smtp-send --queue "$q" --dns 127.0.0.1:"$dp" --port "$sp"
	grep -q "attempts 1" "$q/env/1000.M1P1R1"
	smtp-send --queue "$q" --retry-now --dns 127.0.0.1:"$dp" --port "$sp"
	grep -q "attempts 2" "$q/env/1000.M1P1R1"
	# the wait doubles: 5 minutes, then 10
	next=$(sed -n 's/^next //p' "$q/env/1000.M1P1R1")
	[ "$next" -ge $(($(date +%s) + 550)) ]
	[ ! -e "$BATS_TEST_TMPDIR/mx2/2.eml" ]      # u@ was not sent twice
	# once every recipient has a final answer, the message goes
	sed -i 's/^rcpt <temp@example.test> pending.*/rcpt <temp@example.test> done 250 ok/' "$q/env/1000.M1P1R1"
	enqueue "$q" 1001.M1P1R1 a@sender.test v@example.test
	smtp-send --queue "$q" --dns 127.0.0.1:"$dp" --port "$sp"
	[ ! -e "$q/env/1001.M1P1R1" ]
	[ ! -e "$q/msg/1001.M1P1R1" ]
}

@test "queue: permanent failure bounces an RFC 3464 report to the sender" {
	local dp sp q=$BATS_TEST_TMPDIR/q
	dp=$(free_port)
	sp=$(free_port)
	mx_setup "$dp"
	srv "$BATS_TEST_TMPDIR/mx2" "$sp" --host=127.0.0.3
	enqueue "$q" 1000.M1P1R1 a@sender.test bad@example.test ok@example.test
	run smtp-send --queue "$q" --dns 127.0.0.1:"$dp" --port "$sp" --helo mta.example.org
	assert_success
	[ ! -e "$q/env/1000.M1P1R1" ]
	[ -z "$(ls "$q/env")" ]         # the bounce was delivered in the same run
	# mx2 got the message for ok@, then the bounce for a@sender.test
	run "$PY" - "$BATS_TEST_TMPDIR/mx2" <<'EOF'
import sys, json, email, email.policy
d = sys.argv[1]
env = json.load(open(d + '/2.env'))
print(env['from'], env['rcpt'])
m = email.message_from_binary_file(open(d + '/2.eml', 'rb'), policy=email.policy.default)
print(m.get_content_type(), m.get_param('report-type'), m['auto-submitted'])
parts = list(m.iter_parts())
print([p.get_content_type() for p in parts])
ds = parts[1].get_payload()
print(ds[0]['reporting-mta'])
print(ds[1]['final-recipient'], ds[1]['action'], ds[1]['status'])
print(ds[1]['diagnostic-code'])
print('Subject: queued 1000.M1P1R1' in parts[2].get_payload())
EOF
	assert_success
	assert_output "<> ['a@sender.test']
multipart/report delivery-status auto-replied
['text/plain', 'message/delivery-status', 'text/rfc822-headers']
dns; mta.example.org
rfc822; bad@example.test failed 5.1.1
smtp; 550 5.1.1 no such user
True"
}

@test "queue: no bounce for the null sender; too old: bounced as expired (4.4.7)" {
	local dp sp q=$BATS_TEST_TMPDIR/q
	dp=$(free_port)
	sp=$(free_port)
	mx_setup "$dp"
	srv "$BATS_TEST_TMPDIR/mx2" "$sp" --host=127.0.0.3
	enqueue "$q" 1000.M1P1R1 "" bad@example.test
	run smtp-send -v --queue "$q" --dns 127.0.0.1:"$dp" --port "$sp"
	assert_success
	assert_output --partial "null sender, no bounce"
	[ -z "$(ls "$q/env")" ]
	[ ! -e "$BATS_TEST_TMPDIR/mx2/1.eml" ]
	CREATED=$(($(date +%s) - 7200)) enqueue "$q" 1001.M1P1R1 a@sender.test temp@example.test
	run smtp-send --queue "$q" --max-age 1h --dns 127.0.0.1:"$dp" --port "$sp"
	assert_success
	[ -z "$(ls "$q/env")" ]
	grep -q "^Status: 4.4.7" "$BATS_TEST_TMPDIR/mx2/1.eml"
	grep -q "delivery time expired" "$BATS_TEST_TMPDIR/mx2/1.eml"
}

@test "queue: through a smarthost with -s" {
	local p q=$BATS_TEST_TMPDIR/q
	p=$(free_port)
	srv "$BATS_TEST_TMPDIR/m" "$p"
	enqueue "$q" 1000.M1P1R1 a@sender.test u@example.test v@other.test
	run smtp-send -v --queue "$q" -s 127.0.0.1:"$p"
	assert_success
	[ -z "$(ls "$q/env")" ]
	run "$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["rcpt"])' "$BATS_TEST_TMPDIR/m/1.env"
	assert_output "['u@example.test', 'v@other.test']"
}

@test "queue: a message locked by another runner is left alone" {
	local dp sp q=$BATS_TEST_TMPDIR/q
	dp=$(free_port)
	sp=$(free_port)
	mx_setup "$dp"
	srv "$BATS_TEST_TMPDIR/mx2" "$sp" --host=127.0.0.3
	enqueue "$q" 1000.M1P1R1 a@sender.test u@example.test
	# the other runner holds the lock until told to let go (a fifo), however slow the machine
	mkfifo "$BATS_TEST_TMPDIR/release"
	flock -x "$q/env/1000.M1P1R1" sh -c ': > "$1/locked"; read x < "$1/release"' sh "$BATS_TEST_TMPDIR" &
	local fl=$!
	wait_for 30 '[ -e "$BATS_TEST_TMPDIR/locked" ]'
	smtp-send --queue "$q" --dns 127.0.0.1:"$dp" --port "$sp"
	[ -e "$q/env/1000.M1P1R1" ]
	[ ! -e "$BATS_TEST_TMPDIR/mx2/1.eml" ]
	echo go > "$BATS_TEST_TMPDIR/release"
	wait "$fl"
	smtp-send --queue "$q" --dns 127.0.0.1:"$dp" --port "$sp"
	[ ! -e "$q/env/1000.M1P1R1" ]
	[ -e "$BATS_TEST_TMPDIR/mx2/1.eml" ]
}

@test "queue: two runners at once deliver each message exactly once" {
	local dp sp q=$BATS_TEST_TMPDIR/q i
	dp=$(free_port)
	sp=$(free_port)
	mx_setup "$dp"
	srv "$BATS_TEST_TMPDIR/mx2" "$sp" --host=127.0.0.3
	for i in 1 2 3 4 5 6; do enqueue "$q" 100$i.M1P1R1 a@sender.test u$i@example.test; done
	smtp-send --queue "$q" --dns 127.0.0.1:"$dp" --port "$sp" &
	local r1=$!
	smtp-send --queue "$q" --dns 127.0.0.1:"$dp" --port "$sp" &
	wait "$r1" $!
	[ -z "$(ls "$q/env")" ]
	run bash -c "ls $BATS_TEST_TMPDIR/mx2/*.eml | wc -l"
	assert_output 6
}

# ---------------------------------------------------------------- Dovecot LMTP

@test "LMTP to Dovecot's lmtp: per-recipient replies, dot-unstuffed bytes in each Maildir" {
	[ -x /usr/lib/dovecot/lmtp ] && command -v dovecot >/dev/null || skip "dovecot-lmtpd is not installed"
	[ "$(id -u)" -eq 0 ] || skip "a private Dovecot needs root"
	local d=$BATS_TEST_TMPDIR/dv p i f
	p=$(free_port)
	mkdir -p "$d/run" "$d/mail"
	chown mail:mail "$d/mail"
	i=$d
	while [ "$i" != / ]; do chmod o+x "$i"; i=$(dirname "$i"); done
	cat > "$d/dovecot.conf" <<EOF2
base_dir = $d/run
state_dir = $d/run
protocols = lmtp
listen = 127.0.0.1
ssl = no
log_path = $d/log
first_valid_uid = 1
mail_location = maildir:$d/mail/%n/Maildir
passdb {
  driver = static
  args = nopassword=y
}
userdb {
  driver = static
  args = uid=mail gid=mail home=$d/mail/%n
}
service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = $p
  }
}
EOF2
	dovecot -c "$d/dovecot.conf" || { cat "$d/log"; false; }
	echo "$d/dovecot.conf" > "$BATS_TEST_TMPDIR/dovecot"
	wait_port "$p" 10
	run bash -c "printf 'Subject: to dovecot\n\n.dot\n..two\n\xc3\xa9\n' | smtp-send -v --lmtp -s 127.0.0.1:$p -f a@example.com bob@example.org carol@example.org"
	dovecot -c "$d/dovecot.conf" stop
	assert_success
	assert_line --regexp "^C: LHLO "
	assert_line --regexp "^C: MAIL FROM:<a@example.com>( SIZE=[0-9]+)? BODY=8BITMIME$"
	assert_line --regexp "^smtp-send: <bob@example.org>: accepted by 127\.0\.0\.1.*: 250 2\.0\.0 <bob@example.org> "
	assert_line --regexp "^smtp-send: <carol@example.org>: accepted by "
	for u in bob carol; do
		f=$(ls "$d/mail/$u/Maildir/new/"*)
		run "$PY" -c 'import sys; d = open(sys.argv[1], "rb").read(); print(d.split(b"\nSubject: ", 1)[1])' "$f"
		assert_output "b'to dovecot\\n\\n.dot\\n..two\\n\\xc3\\xa9\\n'"
	done
}

@test "no 8BITMIME: an 8-bit text/plain body goes as quoted-printable (RFC 6152 3); Python's email decodes it" {
	local p d=$BATS_TEST_TMPDIR/old
	p=$(free_port)
	mkdir -p "$d"
	start_bg "$PY" -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(5); s.settimeout(20)
n = 0
def session(c):
    global n
    f = c.makefile("rb"); w = lambda x: c.sendall(x.encode())
    w("220 old ESMTP\r\n")
    for l in f:
        u = l.strip().upper()
        if u.startswith(b"EHLO"): w("250-old\r\n250 SIZE 100000\r\n")
        elif u.startswith(b"MAIL"): open(sys.argv[2] + "/%d.env" % n, "wb").write(l); w("250 ok\r\n")
        elif u.startswith(b"RCPT"): w("250 ok\r\n")
        elif u == b"DATA":
            w("354 go\r\n"); d = b""
            for l in f:
                if l == b".\r\n": break
                d += l
            open(sys.argv[2] + "/%d.eml" % n, "wb").write(d); n += 1; w("250 ok\r\n")
        elif u == b"QUIT": w("221 bye\r\n"); break
while True:
    c, _ = s.accept()
    try: session(c)
    except OSError: pass
    c.close()' "$p" "$d"
	wait_port "$p"
	run bash -c "printf 'Subject: qp\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n\xc3\xa9t\xc3\xa9\n.dot = x \n' | smtp-send -v -s 127.0.0.1:$p a@example.net"
	assert_success
	assert_line "* 8-bit text to a server without 8BITMIME; sent as quoted-printable"
	refute_line --partial "BODY=8BITMIME"
	# a multipart body is not rewritten: sent as it is
	run bash -c "printf 'Subject: mp\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n--b\n\n\xc3\xa9\n--b--\n' | smtp-send -v -s 127.0.0.1:$p a@example.net"
	assert_success
	assert_line "* 8-bit message to a server without 8BITMIME; sent as it is"
	run "$PY" - "$d" <<'EOF2'
import sys, email, email.policy
d = sys.argv[1]
raw = open(d + "/0.eml", "rb").read()
assert all(b < 0x80 for b in raw), raw
m = email.message_from_bytes(raw, policy=email.policy.default)
print(m["Content-Transfer-Encoding"], m["MIME-Version"], m.get_content().replace("\r\n", "\n") == "\u00e9t\u00e9\n.dot = x \n")
print(open(d + "/1.eml", "rb").read().count(b"\xc3\xa9"))
EOF2
	assert_success
	assert_output "quoted-printable 1.0 True
1"
}
