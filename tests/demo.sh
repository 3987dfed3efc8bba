#!/usr/bin/env bash
# make demo — the whole maillab chain on this machine, on loopback high ports,
# explained step by step:
#
#   smtp-send --SMTP--> smtpd --(maildeliver's code, as the recipient)--> Maildir
#                                                         |--> pop3d --POP3--> curl
#                                                         '--> imapd --IMAP--> curl / imaplib
#   mimecat shows the structure of what arrived.
#
# It speaks French when LANG, LC_MESSAGES or LC_ALL starts with "fr" (the
# course's language), English otherwise.  Installed (make install, the .deb)
# it is the command maillab-demo and runs the programs installed beside it.
#
# Every process it starts is stopped at the end (also on ^C or a failure);
# every wait is bounded.  A program not built yet is skipped with a clear
# message and the chain goes on with a stand-in where one exists.  Exit 0 when
# every step that ran succeeded, 1 when one failed.
#
# Environment: MAILLAB_BIN (default <repo>/bin), DEMO_PORT_BASE (default
# 27800), DEMO_KEEP=1 keeps the temp dir (its path is printed).
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
# The programs: MAILLAB_BIN, else the repository's bin/, else (installed as
# maillab-demo) the directory this script is in, else wherever PATH finds smtpd.
if [ -n "${MAILLAB_BIN:-}" ]; then BIN=$MAILLAB_BIN
elif [ -x "$ROOT/bin/smtpd" ]; then BIN=$ROOT/bin
elif [ -x "$HERE/smtpd" ]; then BIN=$HERE
elif command -v smtpd > /dev/null; then BIN=$(dirname "$(command -v smtpd)")
else BIN=$ROOT/bin
fi
PATH="$BIN:$PATH"
# port_open, port_claim, port_find: the labs' ports.sh, in the source tree
# or installed ($PREFIX/share/maillab/labs, maillab-demo being in $PREFIX/bin).
PORTS_SH=$ROOT/labs/ports.sh
[ -r "$PORTS_SH" ] || PORTS_SH=$ROOT/share/maillab/labs/ports.sh
# shellcheck source=labs/ports.sh
. "$PORTS_SH" || { echo "maillab-demo: $PORTS_SH: cannot read it" >&2; exit 1; }
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

# t ENGLISH FRENCH: the text in the reader's language.
case "${LC_ALL:-${LC_MESSAGES:-${LANG:-}}}" in fr*) FR=1 ;; *) FR=0 ;; esac
t() { if [ "$FR" = 1 ]; then printf '%s' "$2"; else printf '%s' "$1"; fi; }

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
skip() { printf '   %s: %s\n' "$(t SKIP "SAUTÉ")" "$*"; SKIPPED+=("$*"); }
fail() { printf '   %s: %s\n' "$(t FAILED "ÉCHEC")" "$*"; FAILED=1; }
good() { printf '   ok: %s\n' "$*"; }
have() { [ -x "$BIN/$1" ]; }

free_port() { port_find "$PORT_BASE" 100; }
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

t "maillab demo: one message through the whole mail chain, on 127.0.0.1 only" \
  "démo maillab : un message à travers toute la chaîne de messagerie, sur 127.0.0.1 seulement"
echo
t "programs from $BIN, scratch dir $T" "programmes de $BIN, répertoire de travail $T"
echo

# --------------------------------------------------------------------------
step "$(t "Set up a mail user and an empty Maildir" "Créer un utilisateur de messagerie et un Maildir vide")"
explain "$(t "The servers read their users from a passwd-file in Dovecot's format \
(user:{SCHEME}secret:uid:gid:gecos:home:shell:extra). User demo, password demo, home under the scratch \
dir; the mailbox (boîte aux lettres) is the Maildir %h/Maildir, three dirs: tmp/ for mail being written, \
new/ for mail nobody has seen, cur/ for mail a client has looked at." \
"Les serveurs lisent leurs utilisateurs dans un fichier passwd au format de Dovecot \
(user:{SCHEME}secret:uid:gid:gecos:home:shell:extra). Utilisateur demo, mot de passe demo, répertoire \
personnel dans le répertoire de travail ; la boîte aux lettres est le Maildir %h/Maildir, trois \
répertoires : tmp/ pour le courrier en cours d'écriture, new/ pour le courrier que personne n'a vu, cur/ \
pour celui qu'un client a déjà regardé.")"
if [ "$(id -u)" -eq 0 ]; then
	explain "$(t "Run as root: the servers never touch mail as uid 0, so the user gets the ids of the \
mail account ($IDS) and its home belongs to that account." \
"Lancée en root : les serveurs ne touchent jamais au courrier avec l'uid 0, l'utilisateur reçoit donc \
les identifiants du compte mail ($IDS) et son répertoire appartient à ce compte.")"
fi
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
step "$(t "Start smtpd, the mail server (MTA), delivering as maildeliver does" \
  "Démarrer smtpd, le serveur de messagerie (MTA), qui livre comme maildeliver (MDA)")"
SMTP_PORT=$(free_port)
SMTP_UP=0
if have smtpd && have maildeliver; then
	explain "$(t "smtpd listens on 127.0.0.1:$SMTP_PORT (-l) and serves each connection in a worker \
process, which then waits for the next client (up to --max-use sessions, as Postfix's workers). Mail for its \
local domain demo.test is delivered with the very code of the MDA maildeliver (lib/deliver.c), as the \
recipient (started as root, smtpd's root half takes the recipient's ids for each delivery; never root): \
written into the Maildir (tmp/, fsync, then new/) before smtpd answers 250, so once the client hears 250 \
the message is safe. --mda CMD would run an external MDA instead. -v logs the SMTP transcript to smtpd.log." \
"smtpd écoute sur 127.0.0.1:$SMTP_PORT (-l) et sert chaque connexion dans un processus de travail, \
qui attend ensuite le client suivant (jusqu'à --max-use sessions, comme ceux de Postfix). Le courrier de son \
domaine local demo.test est livré avec le code même du MDA maildeliver (lib/deliver.c), sous l'identité du \
destinataire (lancé en root, la moitié root de smtpd prend les identifiants du destinataire pour chaque \
livraison ; jamais root) : écrit dans le Maildir (tmp/, fsync, puis new/) avant que smtpd réponde 250 ; dès \
que le client reçoit 250, le message est en sécurité. --mda CMD lancerait un MDA externe à la place. -v \
écrit le dialogue SMTP dans smtpd.log.")"
	printf '   $ smtpd -l 127.0.0.1:%s --hostname mx.demo.test --domains demo.test --users users --mailbox maildir:%%h/Maildir -v\n' "$SMTP_PORT"
	bg "$T/smtpd.log" smtpd -l "127.0.0.1:$SMTP_PORT" --hostname mx.demo.test --domains demo.test \
		--users "$USERS" --mailbox 'maildir:%h/Maildir' -v
	if wait_port "$SMTP_PORT"; then good "$(t "smtpd listens on" "smtpd écoute sur") 127.0.0.1:$SMTP_PORT"; SMTP_UP=1
	else fail "$(t "smtpd does not listen after ${WAIT_SECS}s" "smtpd n'écoute pas après ${WAIT_SECS} s")"; sed 's/^/   | /' "$T/smtpd.log"; fi
else
	have smtpd || skip "$(t "smtpd is not built yet: no SMTP server in this run" "smtpd n'est pas encore compilé : pas de serveur SMTP cette fois")"
	have maildeliver || skip "$(t "maildeliver is not built yet: smtpd cannot deliver" "maildeliver n'est pas encore compilé : smtpd ne peut pas livrer")"
fi

# --------------------------------------------------------------------------
step "$(t "Compose a multipart message with an attachment and send it" "Composer un message multipart avec une pièce jointe et l'envoyer")"
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
explain "$(t "The attachment is chart.png, $(wc -c < "$T/chart.png") bytes of binary data. A mail body must be \
7-bit lines, so the composer (the MUA's job) wraps it in base64 inside a multipart/mixed body, next to the \
text part (quoted-printable, it has accents). The envelope is what MAIL FROM and RCPT TO carry; the header \
From:/To:/Subject: is part of the message itself." \
"La pièce jointe est chart.png, $(wc -c < "$T/chart.png") octets de données binaires. Le corps d'un \
message doit être fait de lignes de 7 bits : le compositeur (le travail du MUA) l'encode en base64 dans un \
corps multipart/mixed, à côté de la partie texte (en quoted-printable, elle a des accents). L'enveloppe est \
ce que portent MAIL FROM et RCPT TO ; l'en-tête From:/To:/Subject: fait partie du message lui-même.")"
if have smtp-send && [ "$SMTP_UP" = 1 ]; then
	explain "$(t "smtp-send composes the MIME message and speaks SMTP to smtpd; -v shows the dialogue, C: what \
the client says, S: what the server answers. The server offers PIPELINING, so MAIL, RCPT and DATA go out \
together and their three replies come back together." \
"smtp-send compose le message MIME et parle SMTP à smtpd ; -v montre le dialogue, C: ce que dit le \
client, S: ce que répond le serveur. Le serveur annonce PIPELINING : MAIL, RCPT et DATA partent ensemble et \
leurs trois réponses reviennent ensemble.")"
	if SHORT_DATA=14 show smtp-send -s "127.0.0.1:$SMTP_PORT" -f alice@example.org -v \
		--subject "Démo maillab : le graphique" --body "@$T/body.txt" --attach "$T/chart.png" \
		demo@demo.test; then
		good "$(t "smtp-send: message accepted" "smtp-send : message accepté")"
	else
		fail "$(t "smtp-send could not send the message" "smtp-send n'a pas pu envoyer le message")"
	fi
else
	have smtp-send || skip "$(t "smtp-send is not built yet: composing with b64 and printf instead" "smtp-send n'est pas encore compilé : composition avec b64 et printf")"
	explain "$(t "Composing by hand: the header, two boundaries' worth of parts, the PNG through b64." "Composition à la main : l'en-tête, deux parties entre leurs délimiteurs, le PNG passé par b64.")"
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
		explain "$(t "Sending it with curl as the SMTP client:" "Envoi avec curl comme client SMTP :")"
		if show curl -sS --max-time 20 "smtp://127.0.0.1:$SMTP_PORT" --mail-from alice@example.org \
			--mail-rcpt demo@demo.test -T "$T/message.eml"; then
			good "$(t "curl: message accepted" "curl : message accepté")"
		else
			fail "$(t "curl could not send the message to smtpd" "curl n'a pas pu envoyer le message à smtpd")"
		fi
	elif have maildeliver; then
		explain "$(t "No SMTP server in this run: handing the message straight to the MDA, as smtpd would." "Pas de serveur SMTP cette fois : le message va directement au MDA, comme smtpd le ferait.")"
		if show maildeliver -f alice@example.org --users "$USERS" --mailbox 'maildir:%h/Maildir' demo \
			< "$T/message.eml"; then good "$(t "maildeliver: delivered" "maildeliver : livré")"; else fail "$(t "maildeliver failed" "maildeliver a échoué")"; fi
	else
		skip "$(t "no smtpd and no maildeliver: writing the message into Maildir/new/ by hand (tmp/ then rename)" "ni smtpd ni maildeliver : le message est écrit à la main dans Maildir/new/ (tmp/ puis rename)")"
		f="$(date +%s).$$_demo.$(hostname)"
		cp "$T/message.eml" "$MAILDIR/tmp/$f" && mv "$MAILDIR/tmp/$f" "$MAILDIR/new/$f"
		[ "$(id -u)" -eq 0 ] && chown -R "$IDS" "$MAILDIR"
	fi
fi

# --------------------------------------------------------------------------
step "$(t "The message in the Maildir" "Le message dans le Maildir")"
for ((i = 0; i < WAIT_SECS * 10; i++)); do
	DELIVERED=$(find "$MAILDIR/new" "$MAILDIR/cur" -type f 2>/dev/null | head -1)
	[ -n "$DELIVERED" ] && break
	sleep 0.1
done
if [ -n "$DELIVERED" ]; then
	explain "$(t "One file per message; its name is unique (time, process, host) and ends with ,S=size. \
The delivery added Return-Path: (the envelope sender) and Delivered-To:, and smtpd a Received: line on top: \
read from top to bottom, Received: lines are the message's route in reverse." \
"Un fichier par message ; son nom est unique (heure, processus, hôte) et finit par ,S=taille. La \
livraison a ajouté Return-Path: (l'expéditeur de l'enveloppe) et Delivered-To:, et smtpd une ligne \
Received: en tête : lues de haut en bas, les lignes Received: donnent le trajet du message à l'envers.")"
	show ls -l "$MAILDIR/new"
	show sed -n '1,/^\r\{0,1\}$/p' "$DELIVERED"
	good "$(t "delivered:" "livré :") ${DELIVERED#"$T"/}"
else
	fail "$(t "no message arrived in" "aucun message n'est arrivé dans") $MAILDIR"
	[ -s "$T/smtpd.log" ] && sed 's/^/   smtpd.log | /' "$T/smtpd.log" | tail -20
fi

# --------------------------------------------------------------------------
step "$(t "mimecat: what is inside" "mimecat : ce qu'il y a dedans")"
if [ -z "$DELIVERED" ]; then
	skip "$(t "nothing to look at" "rien à regarder")"
elif have mimecat; then
	explain "$(t "mimecat -t prints the tree of parts, numbered as IMAP numbers body sections: the text is \
part 1, the PNG part 2. Plain mimecat shows the message as a reader would." \
"mimecat -t affiche l'arbre des parties, numérotées comme IMAP numérote les sections : le texte est la \
partie 1, le PNG la partie 2. mimecat seul montre le message comme un lecteur le verrait.")"
	show mimecat -t "$DELIVERED" || fail "$(t "mimecat -t failed" "mimecat -t a échoué")"
	show mimecat "$DELIVERED" || fail "$(t "mimecat failed" "mimecat a échoué")"
	if mimecat -p 2 "$DELIVERED" 2>/dev/null | cmp -s - "$T/chart.png"; then
		good "$(t "mimecat -p 2 gives back chart.png byte for byte" "mimecat -p 2 redonne chart.png octet pour octet")"
	else
		fail "$(t "mimecat -p 2 does not give back chart.png" "mimecat -p 2 ne redonne pas chart.png")"
	fi
else
	skip "$(t "mimecat is not built yet: Python's email package shows the structure instead" "mimecat n'est pas encore compilé : le module email de Python montre la structure")"
	cat > "$T/tree.py" <<'PY'
import sys, email
m = email.message_from_binary_file(open(sys.argv[1], 'rb'))
for p in m.walk():
    print(p.get_content_type(), p.get_filename() or '')
PY
	show "$PY" "$T/tree.py" "$DELIVERED"
fi

# --------------------------------------------------------------------------
step "$(t "pop3d: fetching the mail over POP3 (the MAA)" "pop3d : la relève du courrier en POP3 (le MAA)")"
if [ -z "$DELIVERED" ]; then
	skip "$(t "nothing delivered, nothing to fetch" "rien de livré, rien à relever")"
elif have pop3d; then
	POP_PORT=$(free_port)
	explain "$(t "pop3d serves the same Maildir over POP3 (RFC 1939) on 127.0.0.1:$POP_PORT, one process per \
connection. curl is the client here: without a message number it sends LIST (number and size of each \
message), with /1 it sends RETR 1. On loopback a password may go without TLS (--plaintext-auth=never \
refuses that too); anywhere else it needs STLS first." \
"pop3d sert le même Maildir en POP3 (RFC 1939) sur 127.0.0.1:$POP_PORT, un processus par connexion. \
curl est le client : sans numéro de message il envoie LIST (numéro et taille de chaque message), avec /1 il \
envoie RETR 1. Sur loopback un mot de passe peut passer sans TLS (--plaintext-auth=never le refuse aussi) ; \
ailleurs il faut STLS d'abord.")"
	printf '   $ pop3d -l 127.0.0.1:%s --users users -v\n' "$POP_PORT"
	bg "$T/pop3d.log" pop3d -l "127.0.0.1:$POP_PORT" --users "$USERS" --mailbox 'maildir:%h/Maildir' -v
	if wait_port "$POP_PORT"; then
		show curl -sS --max-time 20 -u demo:demo "pop3://127.0.0.1:$POP_PORT/" || fail "$(t "POP3 LIST failed" "LIST en POP3 a échoué")"
		if curl -sS --max-time 20 -u demo:demo "pop3://127.0.0.1:$POP_PORT/1" > "$T/pop3.eml" 2> "$T/out"; then
			show grep -a -m3 -E '^(Subject|From|To):' "$T/pop3.eml"
			if grep -aq 'chart.png' "$T/pop3.eml"; then good "$(t "RETR 1 brought the message back" "RETR 1 a rapporté le message") ($(wc -c < "$T/pop3.eml") $(t bytes octets))"
			else fail "$(t "RETR 1 did not bring the message back" "RETR 1 n'a pas rapporté le message")"; fi
		else
			fail "$(t "POP3 RETR failed:" "RETR en POP3 a échoué :") $(cat "$T/out")"
		fi
	else
		fail "$(t "pop3d does not listen after ${WAIT_SECS}s" "pop3d n'écoute pas après ${WAIT_SECS} s")"; sed 's/^/   | /' "$T/pop3d.log"
	fi
else
	skip "$(t "pop3d is not built yet: no POP3 in this run" "pop3d n'est pas encore compilé : pas de POP3 cette fois")"
fi

# --------------------------------------------------------------------------
step "$(t "imapd: the same mail over IMAP" "imapd : le même courrier en IMAP")"
if [ -z "$DELIVERED" ]; then
	skip "$(t "nothing delivered, nothing to read" "rien de livré, rien à lire")"
elif have imapd; then
	IMAP_PORT=$(free_port)
	explain "$(t "imapd serves the Maildir over IMAP4rev1 (RFC 3501) on 127.0.0.1:$IMAP_PORT. Unlike POP3 the \
mail stays on the server, in folders, with flags; a client fetches only what it needs: here the structure \
(BODYSTRUCTURE), then only part 2, the PNG, which is checked against the original." \
"imapd sert le Maildir en IMAP4rev1 (RFC 3501) sur 127.0.0.1:$IMAP_PORT. Contrairement à POP3, le \
courrier reste sur le serveur, dans des dossiers, avec des drapeaux ; un client ne rapatrie que ce dont il \
a besoin : ici la structure (BODYSTRUCTURE), puis seulement la partie 2, le PNG, comparé à l'original.")"
	printf '   $ imapd -l 127.0.0.1:%s --users users -v\n' "$IMAP_PORT"
	bg "$T/imapd.log" imapd -l "127.0.0.1:$IMAP_PORT" --users "$USERS" --mailbox 'maildir:%h/Maildir' -v
	if wait_port "$IMAP_PORT"; then
		show curl -sS --max-time 20 -u demo:demo "imap://127.0.0.1:$IMAP_PORT/INBOX" -X 'FETCH 1 (FLAGS BODYSTRUCTURE)' ||
			fail "$(t "IMAP FETCH BODYSTRUCTURE failed" "FETCH BODYSTRUCTURE en IMAP a échoué")"
		explain "$(t "Python's imaplib fetches BODY[2] (part 2 only) and decodes it:" "imaplib de Python rapatrie BODY[2] (la partie 2 seule) et la décode :")"
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
		then good "$(t "IMAP gave back the attachment byte for byte" "IMAP a redonné la pièce jointe octet pour octet")"
		else fail "$(t "IMAP did not give back the attachment" "IMAP n'a pas redonné la pièce jointe")"; fi
	else
		fail "$(t "imapd does not listen after ${WAIT_SECS}s" "imapd n'écoute pas après ${WAIT_SECS} s")"; sed 's/^/   | /' "$T/imapd.log"
	fi
else
	skip "$(t "imapd is not built yet: no IMAP in this run" "imapd n'est pas encore compilé : pas d'IMAP cette fois")"
fi

# --------------------------------------------------------------------------
step "$(t "What the server saw" "Ce que le serveur a vu")"
if [ -s "$T/smtpd.log" ]; then
	explain "$(t "smtpd's -v transcript (C: client, S: server); the first greeting went to the demo's own probe that waited for the port to open:" "Le dialogue -v de smtpd (C: client, S: serveur) ; le premier accueil est allé à la sonde de la démo qui attendait l'ouverture du port :")"
	# (a reply the server wrote in pieces is joined back into one line)
	tr -d '\r' < "$T/smtpd.log" | awk '
		pend != "" && /^S: / { print pend substr($0, 4); pend = ""; skip = 1; next }
		pend != "" { print pend; pend = "" }
		skip && /^S: *$/ { skip = 0; next }
		{ skip = 0 }
		/^S: [0-9][0-9][0-9][ -]$/ { pend = $0; next }
		/^[CS]: / { print }' | head -30 | sed 's/^/   | /'
else
	skip "$(t "no smtpd transcript in this run" "pas de dialogue smtpd cette fois")"
fi

cleanup
trap - EXIT
echo
if [ ${#SKIPPED[@]} -gt 0 ]; then
	t "skipped ${#SKIPPED[@]} step(s):" "${#SKIPPED[@]} étape(s) sautée(s) :"
	echo
	printf '  - %s\n' "${SKIPPED[@]}"
fi
if [ "$FAILED" -ne 0 ]; then
	t "demo FAILED (see FAILED: above); every process it started has been stopped" \
	  "ÉCHEC de la démo (voir ÉCHEC : plus haut) ; tous les processus qu'elle a lancés sont arrêtés"
	echo
	exit 1
fi
t "demo complete: every step that ran worked; every process it started has been stopped" \
  "démo terminée : chaque étape lancée a marché ; tous les processus qu'elle a lancés sont arrêtés"
echo
exit 0
