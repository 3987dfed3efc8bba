#!/usr/bin/env bash
# make demo — the whole maillab chain on this machine, on loopback high ports,
# explained step by step:
#
#   smtp-send --SMTP--> smtpd --pipe--> maildeliver --> Maildir
#                                                         |--> pop3d --POP3--> curl
#                                                         '--> imapd --IMAP--> curl / imaplib
#   mimecat shows the structure of what arrived.
#
# Every process it starts is stopped at the end (also on ^C or a failure);
# every wait is bounded.  A program not built yet is skipped with a clear
# message and the chain goes on with a stand-in where one exists.  Exit 0 when
# every step that ran succeeded, 1 when one failed.
#
# Environment: MAILLAB_BIN (default <repo>/bin), DEMO_PORT_BASE (default
# 27800), DEMO_KEEP=1 keeps the temp dir (its path is printed).
set -u

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${MAILLAB_BIN:-$ROOT/bin}
PATH="$BIN:$PATH"
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
PORT_BASE=${DEMO_PORT_BASE:-27800}
WAIT_SECS=${DEMO_WAIT:-10}

T=$(mktemp -d "${TMPDIR:-/tmp}/maillab-demo.XXXXXX") || exit 1
PIDS=()
STEP=0
FAILED=0
SKIPPED=()

cleanup() {
	local p i
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do
		for ((i = 0; i < 40; i++)); do kill -0 "$p" 2>/dev/null || break; sleep 0.05; done
		kill -9 "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	PIDS=()
	if [ "${DEMO_KEEP:-0}" = 1 ]; then echo "(kept $T)"; else rm -rf "$T"; fi
}
trap cleanup EXIT
trap 'echo; echo "interrupted"; exit 130' INT TERM

if [ -t 1 ]; then BOLD=$'\033[1m' PLAIN=$'\033[0m'; else BOLD="" PLAIN=""; fi
step() { STEP=$((STEP + 1)); printf '\n%s== %d. %s%s\n' "$BOLD" "$STEP" "$*" "$PLAIN"; }
explain() { printf '%s\n' "$*" | fold -s -w 100 | sed 's/^/   /'; }
# show CMD...: print the command, run it, indent its output; its status.
# quoted ARGS...: the words as a person would type them.
quoted() {
	local a out=""
	for a in "$@"; do
		case $a in
		*[[:space:]\'\"\$\`\;\&\|\<\>\(\)\*\?]* | "") out+=" '${a//\'/\'\\\'\'}'" ;;
		*) out+=" $a" ;;
		esac
	done
	printf '%s' "${out# }"
}
show() {
	printf '   $ %s\n' "$(quoted "$@")"
	"$@" > "$T/out" 2>&1
	local rc=$?
	# SHORT_DATA=N: of the message sent after 354, show only the first N lines
	awk -v keep="${SHORT_DATA:-0}" '
		keep > 0 && /^S: 354/ { print; data = 1; n = 0; next }
		data && /^C: \.\r?$/ { if (n > keep) printf "C: [... %d more lines of the message ...]\n", n - keep; print; data = 0; next }
		data && /^C: / { if (++n <= keep) print; next }
		{ print }' "$T/out" | sed 's/^/   | /'
	return $rc
}
skip() { printf '   SKIP: %s\n' "$*"; SKIPPED+=("$*"); }
fail() { printf '   FAILED: %s\n' "$*"; FAILED=1; }
good() { printf '   ok: %s\n' "$*"; }
have() { [ -x "$BIN/$1" ]; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port() {
	local p
	for ((p = PORT_BASE + RANDOM % 100; p < 65000; p++)); do
		port_open "$p" || { echo "$p"; return 0; }
	done
	return 1
}
wait_port() {
	local i
	for ((i = 0; i < WAIT_SECS * 20; i++)); do
		port_open "$1" && return 0
		sleep 0.05
	done
	return 1
}
# bg LOG CMD...: start a server in the background, its stderr in LOG.
bg() {
	local log=$1
	shift
	"$@" 2> "$log" &
	PIDS+=($!)
}

# Run as root (a container, CI), the servers refuse to touch mail as uid 0,
# as Dovecot does: the demo's mail then belongs to the "mail" account.
if [ "$(id -u)" -eq 0 ]; then
	IDS=$(getent passwd mail | cut -d: -f3,4)
	IDS=${IDS:-8:8}
else
	IDS="$(id -u):$(id -g)"
fi
HOME_DEMO=$T/home/demo
MAILDIR=$HOME_DEMO/Maildir
USERS=$T/users
DELIVERED=""

echo "maillab demo: one message through the whole mail chain, on 127.0.0.1 only"
echo "programs from $BIN, scratch dir $T"

# --------------------------------------------------------------------------
step "Set up a mail user and an empty Maildir"
explain "The servers read their users from a passwd-file in Dovecot's format \
(user:{SCHEME}secret:uid:gid:gecos:home:shell:extra). User demo, password demo, home under the scratch \
dir; the mailbox (boîte aux lettres) is the Maildir %h/Maildir, three dirs: tmp/ for mail being written, \
new/ for mail nobody has seen, cur/ for mail a client has looked at."
mkdir -p "$MAILDIR/tmp" "$MAILDIR/new" "$MAILDIR/cur"
printf 'demo:{PLAIN}demo:%s::%s::\n' "$IDS" "$HOME_DEMO" > "$USERS"
chmod 711 "$T"
chmod 644 "$USERS"
if [ "$(id -u)" -eq 0 ]; then
	chown -R "$IDS" "$T/home"
	# the mail account must be able to reach the scratch dir: let it
	# traverse every dir above that we own (a TMPDIR made 0700, say)
	d=$(dirname "$T")
	while [ "$d" != / ]; do
		[ -O "$d" ] && chmod o+x "$d" 2>/dev/null
		d=$(dirname "$d")
	done
fi
show cat "$USERS"

# --------------------------------------------------------------------------
step "Start smtpd, the mail server (serveur de messagerie), delivering with maildeliver"
SMTP_PORT=$(free_port)
SMTP_UP=0
if have smtpd && have maildeliver; then
	explain "smtpd listens on 127.0.0.1:$SMTP_PORT (-l) and forks one child per connection. Mail for \
its local domain demo.test is handed to the MDA, maildeliver, which writes it into the Maildir (tmp/, fsync, \
then new/) before smtpd answers 250: once the client hears 250 the message is safe. -v logs the SMTP \
transcript to smtpd.log."
	printf '   $ smtpd -l 127.0.0.1:%s --hostname mx.demo.test --domains demo.test --users users --mailbox maildir:%%h/Maildir -v\n' "$SMTP_PORT"
	bg "$T/smtpd.log" smtpd -l "127.0.0.1:$SMTP_PORT" --hostname mx.demo.test --domains demo.test \
		--users "$USERS" --mailbox 'maildir:%h/Maildir' -v
	if wait_port "$SMTP_PORT"; then good "smtpd listens on 127.0.0.1:$SMTP_PORT"; SMTP_UP=1
	else fail "smtpd does not listen after ${WAIT_SECS}s"; sed 's/^/   | /' "$T/smtpd.log"; fi
else
	have smtpd || skip "smtpd is not built yet: no SMTP server in this run"
	have maildeliver || skip "maildeliver is not built yet: smtpd cannot deliver"
fi

# --------------------------------------------------------------------------
step "Compose a multipart message with an attachment and send it"
# A small real PNG (16x16, a gradient), made with Python's zlib.
"$PY" - "$T/chart.png" <<'PY'
import sys, zlib, struct
w = h = 16
raw = b''.join(b'\0' + b''.join(bytes((x * 16, y * 16, 128)) for x in range(w)) for y in range(h))
def chunk(t, d): return struct.pack('>I', len(d)) + t + d + struct.pack('>I', zlib.crc32(t + d) & 0xffffffff)
png = b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 8, 2, 0, 0, 0)) \
      + chunk(b'IDAT', zlib.compress(raw)) + chunk(b'IEND', b'')
open(sys.argv[1], 'wb').write(png)
PY
printf 'Bonjour Demo,\n\nVoici le graphique de la semaine, en pièce jointe.\n\nAlice\n' > "$T/body.txt"
explain "The attachment is chart.png, $(wc -c < "$T/chart.png") bytes of binary data. A mail body must be \
7-bit lines, so the composer wraps it in base64 inside a multipart/mixed body, next to the text part \
(quoted-printable, it has accents). The envelope (enveloppe) is what MAIL FROM and RCPT TO carry; the \
header (en-tête) From:/To:/Subject: is part of the message itself."
if have smtp-send && [ "$SMTP_UP" = 1 ]; then
	explain "smtp-send composes the MIME message and speaks SMTP to smtpd; -v shows the dialogue, C: what \
the client says, S: what the server answers. The server offers PIPELINING, so MAIL, RCPT and DATA go out \
together and their three replies come back together."
	if SHORT_DATA=14 show smtp-send -s "127.0.0.1:$SMTP_PORT" -f alice@example.org -v \
		--subject "Démo maillab : le graphique" --body "@$T/body.txt" --attach "$T/chart.png" \
		demo@demo.test; then
		good "smtp-send: message accepted"
	else
		fail "smtp-send could not send the message"
	fi
else
	have smtp-send || skip "smtp-send is not built yet: composing with b64 and printf instead"
	explain "Composing by hand: the header, two boundaries' worth of parts, the PNG through b64."
	{
		printf 'From: Alice <alice@example.org>\r\nTo: Demo <demo@demo.test>\r\n'
		printf 'Subject: =?UTF-8?Q?D=C3=A9mo_maillab_:_le_graphique?=\r\n'
		printf 'Date: %s\r\nMessage-ID: <demo.%s@example.org>\r\n' "$(LC_ALL=C date -R)" "$$"
		printf 'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="=_demo_b0undary"\r\n\r\n'
		printf -- '--=_demo_b0undary\r\nContent-Type: text/plain; charset=UTF-8\r\n'
		printf 'Content-Transfer-Encoding: quoted-printable\r\n\r\n'
		if have qp; then qp --crlf "$T/body.txt"; else sed 's/$/\r/' "$T/body.txt"; fi
		printf -- '--=_demo_b0undary\r\nContent-Type: image/png; name="chart.png"\r\n'
		printf 'Content-Disposition: attachment; filename="chart.png"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
		if have b64; then b64 --crlf "$T/chart.png"; else base64 "$T/chart.png" | sed 's/$/\r/'; fi
		printf -- '--=_demo_b0undary--\r\n'
	} > "$T/message.eml"
	show head -12 "$T/message.eml"
	if [ "$SMTP_UP" = 1 ]; then
		explain "Sending it with curl as the SMTP client (smtp-send stands in later):"
		if show curl -sS --max-time 20 "smtp://127.0.0.1:$SMTP_PORT" --mail-from alice@example.org \
			--mail-rcpt demo@demo.test -T "$T/message.eml"; then
			good "curl: message accepted"
		else
			fail "curl could not send the message to smtpd"
		fi
	elif have maildeliver; then
		explain "No SMTP server in this run: handing the message straight to the MDA, as smtpd would."
		if show maildeliver -f alice@example.org --users "$USERS" --mailbox 'maildir:%h/Maildir' demo \
			< "$T/message.eml"; then good "maildeliver: delivered"; else fail "maildeliver failed"; fi
	else
		skip "no smtpd and no maildeliver: writing the message into Maildir/new/ by hand (tmp/ then rename)"
		f="$(date +%s).$$_demo.$(hostname)"
		cp "$T/message.eml" "$MAILDIR/tmp/$f" && mv "$MAILDIR/tmp/$f" "$MAILDIR/new/$f"
		[ "$(id -u)" -eq 0 ] && chown -R "$IDS" "$MAILDIR"
	fi
fi

# --------------------------------------------------------------------------
step "The message in the Maildir"
for ((i = 0; i < WAIT_SECS * 10; i++)); do
	DELIVERED=$(find "$MAILDIR/new" "$MAILDIR/cur" -type f 2>/dev/null | head -1)
	[ -n "$DELIVERED" ] && break
	sleep 0.1
done
if [ -n "$DELIVERED" ]; then
	explain "One file per message; its name is unique (time, process, host) and ends with ,S=size. \
The MDA added Return-Path: (the envelope sender) and Delivered-To:, and smtpd a Received: line on top: \
read from top to bottom, Received: lines are the message's route in reverse."
	show ls -l "$MAILDIR/new"
	show sed -n '1,/^\r\{0,1\}$/p' "$DELIVERED"
	good "delivered: ${DELIVERED#"$T"/}"
else
	fail "no message arrived in $MAILDIR"
	[ -s "$T/smtpd.log" ] && sed 's/^/   smtpd.log | /' "$T/smtpd.log" | tail -20
fi

# --------------------------------------------------------------------------
step "mimecat: what is inside"
if [ -z "$DELIVERED" ]; then
	skip "nothing to look at"
elif have mimecat; then
	explain "mimecat -t prints the tree of parts, numbered as IMAP numbers body sections: the text is \
part 1, the PNG part 2. Plain mimecat shows the message as a reader would."
	show mimecat -t "$DELIVERED" || fail "mimecat -t failed"
	show mimecat "$DELIVERED" || fail "mimecat failed"
	if mimecat -p 2 "$DELIVERED" 2>/dev/null | cmp -s - "$T/chart.png"; then
		good "mimecat -p 2 gives back chart.png byte for byte"
	else
		fail "mimecat -p 2 does not give back chart.png"
	fi
else
	skip "mimecat is not built yet: Python's email package shows the structure instead"
	cat > "$T/tree.py" <<'PY'
import sys, email
m = email.message_from_binary_file(open(sys.argv[1], 'rb'))
for p in m.walk():
    print(p.get_content_type(), p.get_filename() or '')
PY
	show "$PY" "$T/tree.py" "$DELIVERED"
fi

# --------------------------------------------------------------------------
step "pop3d: fetching the mail over POP3 (relève)"
if [ -z "$DELIVERED" ]; then
	skip "nothing delivered, nothing to fetch"
elif have pop3d; then
	POP_PORT=$(free_port)
	explain "pop3d serves the same Maildir over POP3 (RFC 1939) on 127.0.0.1:$POP_PORT. curl is the \
client here: without a message number it sends LIST (number and size of each message), with /1 it sends \
RETR 1. On loopback a password may go without TLS; anywhere else it needs STLS first."
	printf '   $ pop3d -l 127.0.0.1:%s --users users -v\n' "$POP_PORT"
	bg "$T/pop3d.log" pop3d -l "127.0.0.1:$POP_PORT" --users "$USERS" --mailbox 'maildir:%h/Maildir' -v
	if wait_port "$POP_PORT"; then
		show curl -sS --max-time 20 -u demo:demo "pop3://127.0.0.1:$POP_PORT/" || fail "POP3 LIST failed"
		if curl -sS --max-time 20 -u demo:demo "pop3://127.0.0.1:$POP_PORT/1" > "$T/pop3.eml" 2> "$T/out"; then
			show grep -a -m3 -E '^(Subject|From|To):' "$T/pop3.eml"
			if grep -aq 'chart.png' "$T/pop3.eml"; then good "RETR 1 brought the message back ($(wc -c < "$T/pop3.eml") bytes)"
			else fail "RETR 1 did not bring the message back"; fi
		else
			fail "POP3 RETR failed: $(cat "$T/out")"
		fi
	else
		fail "pop3d does not listen after ${WAIT_SECS}s"; sed 's/^/   | /' "$T/pop3d.log"
	fi
else
	skip "pop3d is not built yet: no POP3 in this run"
fi

# --------------------------------------------------------------------------
step "imapd: the same mail over IMAP"
if [ -z "$DELIVERED" ]; then
	skip "nothing delivered, nothing to read"
elif have imapd; then
	IMAP_PORT=$(free_port)
	explain "imapd serves the Maildir over IMAP4rev1 (RFC 3501) on 127.0.0.1:$IMAP_PORT. Unlike POP3 the \
mail stays on the server, in folders, with flags; a client fetches only what it needs: here the structure \
(BODYSTRUCTURE), then only part 2, the PNG, which is checked against the original."
	printf '   $ imapd -l 127.0.0.1:%s --users users -v\n' "$IMAP_PORT"
	bg "$T/imapd.log" imapd -l "127.0.0.1:$IMAP_PORT" --users "$USERS" --mailbox 'maildir:%h/Maildir' -v
	if wait_port "$IMAP_PORT"; then
		show curl -sS --max-time 20 -u demo:demo "imap://127.0.0.1:$IMAP_PORT/INBOX" -X 'FETCH 1 (FLAGS BODYSTRUCTURE)' ||
			fail "IMAP FETCH BODYSTRUCTURE failed"
		explain "Python's imaplib fetches BODY[2] (part 2 only) and decodes it:"
		if show "$PY" - "$IMAP_PORT" "$T/chart.png" <<'PY'
import sys, imaplib, base64
port, orig = int(sys.argv[1]), open(sys.argv[2], 'rb').read()
with imaplib.IMAP4('127.0.0.1', port, timeout=20) as c:
    c.login('demo', 'demo')
    typ, data = c.select('INBOX')
    print('SELECT INBOX:', typ, data[0].decode(), 'message(s)')
    typ, data = c.fetch('1', '(BODY.PEEK[2])')
    part = data[0][1]
    png = base64.b64decode(part)
    print('BODY[2]: %d base64 bytes -> %d bytes, %s' % (len(part), len(png),
          'identical to chart.png' if png == orig else 'DIFFERENT from chart.png'))
    c.logout()
sys.exit(0 if png == orig else 1)
PY
		then good "IMAP gave back the attachment byte for byte"
		else fail "IMAP did not give back the attachment"; fi
	else
		fail "imapd does not listen after ${WAIT_SECS}s"; sed 's/^/   | /' "$T/imapd.log"
	fi
else
	skip "imapd is not built yet: no IMAP in this run"
fi

# --------------------------------------------------------------------------
step "What the server saw"
if [ -s "$T/smtpd.log" ]; then
	explain "smtpd's -v transcript (C: client, S: server); the first greeting went to the demo's own probe that waited for the port to open:"
	# (a reply the server wrote in pieces is joined back into one line)
	tr -d '\r' < "$T/smtpd.log" | awk '
		pend != "" && /^S: / { print pend substr($0, 4); pend = ""; skip = 1; next }
		pend != "" { print pend; pend = "" }
		skip && /^S: *$/ { skip = 0; next }
		{ skip = 0 }
		/^S: [0-9][0-9][0-9][ -]$/ { pend = $0; next }
		/^[CS]: / { print }' | head -30 | sed 's/^/   | /'
else
	skip "no smtpd transcript in this run"
fi

cleanup
trap - EXIT
echo
if [ ${#SKIPPED[@]} -gt 0 ]; then
	echo "skipped ${#SKIPPED[@]} step(s):"
	printf '  - %s\n' "${SKIPPED[@]}"
fi
if [ "$FAILED" -ne 0 ]; then
	echo "demo FAILED (see FAILED: above); every process it started has been stopped"
	exit 1
fi
echo "demo complete: every step that ran worked; every process it started has been stopped"
exit 0
