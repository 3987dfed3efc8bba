#!/usr/bin/env bats
# OpenPGP (PGP/MIME, RFC 3156) in smtp-send and mimecat.  Oracles: gpg
# --verify and gpg --decrypt on what smtp-send makes (parts taken apart
# with Python's email module), and messages made here by Python + the gpg
# command line (multipart/signed, gpg --clearsign), with tampered copies.
# Each test works in its own GNUPGHOME, a copy of keyrings made once.

load helpers

# gpg in batch mode for the test's own preparations.
g() { gpg --batch --quiet --no-tty --passphrase '' --pinentry-mode loopback "$@"; }

setup_file() {
	local d="$BATS_FILE_TMPDIR"
	cd "$d"
	export GNUPGHOME="$d/home"
	mkdir -m 700 "$GNUPGHOME"
	g --quick-gen-key 'Alice Martin <alice@example.org>' future-default default never 2>/dev/null
	g --quick-add-uid alice@example.org 'Alice M. <alice@univ.example>' 2>/dev/null
	g --quick-gen-key 'Bob Durand <bob@example.org>' future-default default never 2>/dev/null
	# Carol: a key only in another keyring (unknown, then imported uncertified)
	mkdir -m 700 "$d/carol"
	GNUPGHOME="$d/carol" g --quick-gen-key 'Carol Petit <carol@example.org>' future-default default never 2>/dev/null
	GNUPGHOME="$d/carol" g --armor --export carol@example.org > carol.pub
	# Olga's key expired in 2020: made then, with one day of life
	g --faked-system-time 20200101T000000 --quick-gen-key 'Olga Ancien <olga@example.org>' ed25519 sign 1d 2>/dev/null
	# Remi's key is revoked (after the signature in revoked.eml is made)
	g --quick-gen-key 'Remi Revoque <remi@example.org>' ed25519 sign never 2>/dev/null
	printf 'Content-Type: text/plain; charset=us-ascii\n\nBonjour Bob,\nle cours est demain.\n' > part
	printf 'Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\nBonjour Bob,\nle cours est d\303\251plac\303\251.\n' > part8
	pgpmime part alice@example.org 'Alice Martin <alice@example.org>' > good.eml
	pgpmime part8 alice@example.org 'Alice Martin <alice@example.org>' > good8.eml
	pgpmime part alice@example.org 'Bob Durand <bob@example.org>' > notfrom.eml
	pgpmime part olga@example.org 'olga@example.org' 20200101T120000 > expired.eml
	pgpmime part remi@example.org 'remi@example.org' > revoked.eml
	GNUPGHOME="$d/carol" pgpmime part carol@example.org 'carol@example.org' > carol.eml
	rev=$(g --with-colons --list-keys remi@example.org | awk -F: '/^fpr/ { print $10; exit }')
	sed 's/^:-----BEGIN/-----BEGIN/' "$GNUPGHOME/openpgp-revocs.d/$rev.rev" | g --import 2>/dev/null
	printf 'Bonjour Bob,\nle cours est demain.\n' | g --clearsign -u alice@example.org > clear.txt
	{ printf 'From: Alice Martin <alice@example.org>\nTo: bob@example.org\nSubject: clair\n\n'; cat clear.txt; } > inline.eml
	gpgconf --kill all
	GNUPGHOME="$d/carol" gpgconf --kill all
}

# A PGP/MIME signed message (RFC 3156 5) made with Python's email module
# and gpg --detach-sign: PART (a MIME entity), signed by key SIGNER, From:
# FROM, at faked time WHEN (optional).
pgpmime() {
	"$PY" - "$@" <<'PY'
import sys, subprocess, email, email.policy
part, signer, frm = sys.argv[1:4]
when = sys.argv[4:5]
raw = open(part, 'rb').read().replace(b'\r\n', b'\n').replace(b'\n', b'\r\n')
cmd = ['gpg', '--batch', '-q', '--armor', '--detach-sign', '--digest-algo', 'SHA256', '-u', signer]
if when:
    cmd[1:1] = ['--faked-system-time', when[0]]
sig = subprocess.run(cmd, input=raw, capture_output=True, check=True).stdout
b = 'b1_pgp_test'
out = ('From: %s\r\nTo: bob@example.org\r\nSubject: test\r\nMIME-Version: 1.0\r\n'
       'Content-Type: multipart/signed; micalg=pgp-sha256;\r\n protocol="application/pgp-signature"; boundary="%s"\r\n\r\n'
       '--%s\r\n' % (frm, b, b)).encode() + raw + ('\r\n--%s\r\n'
       'Content-Type: application/pgp-signature; name="signature.asc"\r\n\r\n' % b).encode() + \
       sig.replace(b'\n', b'\r\n') + ('\r\n--%s--\r\n' % b).encode()
sys.stdout.buffer.write(out)
PY
}

setup() {
	cd "$BATS_FILE_TMPDIR"
	export GNUPGHOME="$BATS_TEST_TMPDIR/home"
	cp -r "$BATS_FILE_TMPDIR/home" "$GNUPGHOME"
	rm -f "$GNUPGHOME"/S.*
	chmod 700 "$GNUPGHOME"
}

teardown() {
	gpgconf --kill all 2>/dev/null || true
}

# gpg --verify on the two parts of multipart/signed FILE, taken apart by
# Python's email module (the first part's bytes as they stand, CRLF).
gpg_verify() {
	"$PY" - "$1" <<'PY'
import email, sys
raw = open(sys.argv[1], 'rb').read()
m = email.message_from_bytes(raw)
b = ('--' + m.get_boundary()).encode()
p1 = raw.split(b)[1]
p1 = p1[p1.index(b'\n') + 1:]
p1 = p1[:-2] if p1.endswith(b'\r\n') else p1[:-1]
open('data', 'wb').write(p1.replace(b'\r\n', b'\n').replace(b'\n', b'\r\n'))
open('sig.asc', 'wb').write(m.get_payload()[1].get_payload(decode=True))
PY
	gpg --batch --status-fd 1 --verify sig.asc data 2>/dev/null
}

# mimecat --verify and gpg --verify agree on FILE; EXPECT good or bad.
agree() {
	local file=$1 expect=$2 orc
	gpg_verify "$file" > /dev/null && orc=0 || orc=1
	run mimecat --verify "$file"
	echo "gpg: $orc mimecat: $status"
	if [ "$expect" = good ]; then
		assert_equal "$orc" 0
		assert_equal "$status" 0
		assert_output --partial "good signature by Alice Martin <alice@example.org>, From: matches"
	else
		assert_equal "$orc" 1
		assert_equal "$status" 1
		assert_output --partial "BAD signature"
	fi
}

@test "mimecat --verify: PGP/MIME made by Python and gpg is good, as gpg says" {
	agree good.eml good
	assert_output --regexp "signed [0-9-]+ [0-9:]+ UTC, trust: ultimate \(PGP key [0-9A-F]{40}\)$"
	agree good8.eml good
	# stored with LF line ends (a mailbox file): the CRLF form is what was signed
	tr -d '\r' < good.eml > good-lf.eml
	run mimecat --verify good-lf.eml
	assert_success
	# the reading view and -t end with the verdict
	run mimecat good.eml
	assert_success
	assert_output --partial "le cours est demain."
	assert_line "[-- PGP signature --]"
	run mimecat -t good.eml
	assert_line --index 0 --partial "multipart/signed"
	assert_output --partial "good signature by Alice Martin"
}

@test "mimecat --verify: tampered PGP/MIME copies fail, as with gpg" {
	sed 's/demain/demaon/' good.eml > t1.eml
	agree t1.eml bad
	assert_output --partial "FAILED: content changed after signing"
	# a header field of the signed part
	sed 's/charset=us-ascii/charset=utf-8/' good.eml > t2.eml
	agree t2.eml bad
	# the same text re-encoded (a relay's conversion) is no longer what was signed
	"$PY" - <<'PY'
raw = open('good.eml', 'rb').read()
raw = raw.replace(b'charset=us-ascii\r\n\r\nBonjour Bob,\r\nle cours est demain.\r\n',
    b'charset=us-ascii\r\nContent-Transfer-Encoding: base64\r\n\r\nQm9uam91ciBCb2IsDQpsZSBjb3VycyBlc3QgZGVtYWluLg0K\r\n')
assert b'base64' in raw
open('t3.eml', 'wb').write(raw)
PY
	agree t3.eml bad
	# the signature of another message
	"$PY" - <<'PY'
a = open('good.eml', 'rb').read(); b = open('good8.eml', 'rb').read()
cut = lambda m: m.index(b'-----BEGIN PGP SIGNATURE')
open('t4.eml', 'wb').write(a[:cut(a)] + b[cut(b):])
PY
	agree t4.eml bad
}

@test "mimecat --verify: clear-signed text (gpg --clearsign), good and tampered" {
	run mimecat --verify inline.eml
	assert_success
	assert_output --partial "good signature by Alice Martin <alice@example.org>, From: matches"
	gpg --batch --verify clear.txt 2>/dev/null
	sed 's/demain/demaon/' inline.eml > inline-bad.eml
	sed 's/demain/demaon/' clear.txt > clear-bad.txt
	run gpg --batch --verify clear-bad.txt
	assert_failure
	run mimecat --verify inline-bad.eml
	assert_equal "$status" 1
	assert_output --partial "content changed after signing"
	# the same text sent base64 (Python's email module does for utf-8)
	"$PY" - <<'PY'
from email.mime.text import MIMEText
m = MIMEText(open('clear.txt').read(), 'plain', 'utf-8')
m['From'] = 'Alice Martin <alice@example.org>'
assert m['Content-Transfer-Encoding'] == 'base64'
open('inline64.eml', 'wb').write(m.as_bytes())
PY
	run mimecat --verify inline64.eml
	assert_success
	assert_output --partial "good signature by Alice Martin <alice@example.org>"
}

@test "mimecat --verify: an unknown key, a key not certified, a From: that is not the key's" {
	run mimecat --verify carol.eml
	assert_equal "$status" 1
	assert_output --partial "FAILED: no public key"
	assert_output --partial "import the signer's key"
	# imported but certified by nobody: good as gpg says, trust unknown shown
	gpg --batch --quiet --import carol.pub 2>/dev/null
	run mimecat --verify carol.eml
	assert_success
	assert_output --partial "good signature by Carol Petit <carol@example.org>, From: matches"
	assert_output --partial "trust: unknown"
	run mimecat --verify notfrom.eml
	assert_equal "$status" 1
	assert_output --partial "From: does not match"
	assert_output --partial "FAILED: the signer's address is not the From: address"
}

@test "mimecat --verify: the From: address may be any user ID of the key" {
	pgpmime part alice@example.org 'Alice M. <alice@univ.example>' > uid2.eml
	run mimecat --verify uid2.eml
	assert_success
	assert_output --partial "good signature by Alice M. <alice@univ.example>, From: matches"
}

@test "mimecat --verify: an expired key and a revoked key say so" {
	run mimecat --verify expired.eml
	assert_equal "$status" 1
	assert_output --partial "FAILED: the signer's key has expired"
	run mimecat --verify revoked.eml
	assert_equal "$status" 1
	assert_output --partial "FAILED: the signer's key is revoked"
}

@test "mimecat --verify: garbage, truncated armor, no signature part: a clear verdict" {
	"$PY" - <<'PY'
import os, base64
a = open('good.eml', 'rb').read()
i = a.index(b'-----BEGIN PGP SIGNATURE'); j = a.index(b'-----END PGP SIGNATURE-----') + 27
g = b'-----BEGIN PGP SIGNATURE-----\r\n\r\n' + base64.encodebytes(os.urandom(300)).replace(b'\n', b'\r\n') + b'-----END PGP SIGNATURE-----'
open('garbage.eml', 'wb').write(a[:i] + g + a[j:])
open('trunc.eml', 'wb').write(a[:i + 60] + a[j:])
open('empty.eml', 'wb').write(a[:i] + a[j:])
PY
	for f in garbage trunc empty; do
		run mimecat --verify $f.eml
		echo "$f: $output"
		assert_equal "$status" 1
		assert_output --partial "BAD signature: FAILED:"
	done
	run mimecat --verify part
	assert_equal "$status" 2
	assert_output --partial "no S/MIME signature and no PGP signature"
}

@test "mimecat --verify: a huge signed body gets a verdict in bounded time" {
	"$PY" - <<'PY'
open('bigpart', 'w').write('Content-Type: text/plain\n\n' + ('x' * 70 + '\n') * 200000)
PY
	pgpmime bigpart alice@example.org alice@example.org > big.eml
	run timeout 60 mimecat --verify big.eml
	assert_success
	sed '$!s/^xxxx/xxxy/' big.eml > big-bad.eml
	run timeout 60 mimecat --verify big-bad.eml
	assert_equal "$status" 1
}

# No line of FILE has 8-bit bytes, trailing blanks or over 76 characters.
seven_bit_safe() {
	if LC_ALL=C grep -n $'[\x80-\xff]' "$1"; then return 1; fi
	if grep -n $'[ \t]\r\\?$' "$1"; then return 1; fi
	if awk 'length($0) > 77 { print NR": "length($0); bad = 1 } END { exit !bad }' "$1"; then
		return 1
	fi
}

@test "smtp-send --pgp-sign: composed 8-bit text with trailing blanks; gpg and mimecat accept it" {
	smtp-send --dry-run -f alice@example.org --subject "Cours déplacé" \
		--body $'Bonjour Bob,   \nle cours est déplacé à demain.\nFrom the teacher\n' \
		--pgp-sign bob@example.org > s1.eml 2>/dev/null
	grep -q '^Content-Type: multipart/signed; protocol="application/pgp-signature";' s1.eml
	grep -q '^ micalg=pgp-sha256; boundary=' s1.eml
	sed -n '/^--=_pgpsigned/,/^--=_pgpsigned/p' s1.eml > signedpart
	seven_bit_safe signedpart
	run gpg_verify s1.eml
	assert_output --partial "[GNUPG:] GOODSIG"
	run mimecat --verify s1.eml
	assert_success
	assert_output --partial "good signature by Alice Martin <alice@example.org>, From: matches"
	run mimecat -p 1 s1.eml
	assert_output --partial "le cours est déplacé à demain."
}

@test "smtp-send --pgp-sign KEYID on a message from stdin with an 8-bit part and a binary attachment" {
	fpr=$(gpg --with-colons --list-secret-keys alice@example.org | awk -F: '/^fpr/ { print $10; exit }')
	"$PY" - <<'PY'
import os
open('in.eml', 'wb').write(b'From: Alice <alice@example.org>\nTo: bob@example.org\nSubject: pj\n'
    b'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=XX\n\n--XX\n'
    b'Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\nd\xc3\xa9j\xc3\xa0 vu\n'
    b'--XX\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: binary\n\n'
    + bytes(range(1, 10)) + bytes(range(0x80, 0x100)) + b'\n--XX--\n')
PY
	# "--pgp-sign KEYID" (a key ID is not a recipient) as "--pgp-sign=KEYID"
	smtp-send --dry-run -f alice@example.org --pgp-sign "$fpr" bob@example.org < in.eml > s2.eml 2> err
	run cat err
	refute_output --partial "RCPT TO:<$fpr"
	run gpg_verify s2.eml
	assert_output --partial "[GNUPG:] GOODSIG"
	run mimecat --verify s2.eml
	assert_success
	seven_bit_safe s2.eml
	mimecat -p 1.2 s2.eml > att
	"$PY" -c "assert open('att', 'rb').read() == bytes(range(1, 10)) + bytes(range(0x80, 0x100))"
	assert_equal "$(mimecat -p 1.1 s2.eml)" "déjà vu"
}

@test "smtp-send --pgp-encrypt, and with --pgp-sign: gpg decrypts for Bob and for the sender" {
	smtp-send --dry-run -f alice@example.org --body 'le code est 1234' \
		--pgp-encrypt bob@example.org bob@example.org > e1.eml 2>/dev/null
	grep -q '^Content-Type: multipart/encrypted; protocol="application/pgp-encrypted";' e1.eml
	"$PY" - <<'PY'
import email
m = email.message_from_bytes(open('e1.eml', 'rb').read())
p = m.get_payload()
assert p[0].get_content_type() == 'application/pgp-encrypted' and 'Version: 1' in p[0].get_payload()
open('e1.asc', 'wb').write(p[1].get_payload(decode=True))
PY
	gpg --batch --status-fd 1 --decrypt e1.asc 2>/dev/null > inner1
	grep -q 'le code est 1234' inner1
	run mimecat --decrypt e1.eml
	assert_success
	assert_output --partial "le code est 1234"
	# signed then encrypted (RFC 3156 6.1): the inner message is multipart/signed
	smtp-send --dry-run -f alice@example.org --subject s --body 'signé et chiffré' \
		--pgp-sign --pgp-encrypt bob@example.org bob@example.org > e2.eml 2>/dev/null
	run mimecat --decrypt --verify e2.eml
	assert_success
	assert_output --partial "good signature by Alice Martin <alice@example.org>, From: matches"
	run mimecat --decrypt -t e2.eml
	assert_line --index 0 --partial "multipart/signed"
	# the sender's own key is a recipient too: list the packets' key IDs
	"$PY" -c "import email; m = email.message_from_bytes(open('e2.eml','rb').read()); open('e2.asc','wb').write(m.get_payload()[1].get_payload(decode=True))"
	run gpg --batch --list-packets e2.asc
	for who in alice@example.org bob@example.org; do
		kid=$(gpg --with-colons --list-keys $who | awk -F: '/^sub/ { print $5; exit }')
		assert_output --partial "keyid $kid"
	done
}

@test "mimecat --decrypt: signed and encrypted at once by gpg (RFC 3156 6.2); damaged; not for us" {
	printf 'Content-Type: text/plain; charset=us-ascii\r\n\r\nensemble\r\n' |
		g --armor --sign --encrypt -u alice@example.org -r bob@example.org > both.asc
	"$PY" - <<'PY'
b = 'enc_b'
asc = open('both.asc', 'rb').read().replace(b'\n', b'\r\n')
open('both.eml', 'wb').write(('From: alice@example.org\r\nTo: bob@example.org\r\nSubject: 6.2\r\nMIME-Version: 1.0\r\n'
 'Content-Type: multipart/encrypted; protocol="application/pgp-encrypted"; boundary="%s"\r\n\r\n'
 '--%s\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n\r\n--%s\r\n'
 'Content-Type: application/octet-stream\r\n\r\n' % (b, b, b)).encode() + asc + ('\r\n--%s--\r\n' % b).encode())
raw = open('both.eml', 'rb').read()
i = raw.index(b'-----BEGIN PGP MESSAGE')
open('both-cut.eml', 'wb').write(raw[:i + 120] + b'\r\n--enc_b--\r\n')
PY
	run mimecat --decrypt --verify both.eml
	assert_success
	assert_output --partial "message (encrypted): good signature by Alice Martin <alice@example.org>"
	run mimecat --decrypt both.eml
	assert_output --partial "ensemble"
	run mimecat --decrypt both-cut.eml
	assert_equal "$status" 65
	assert_output --partial "decrypt:"
	GNUPGHOME="$BATS_FILE_TMPDIR/carol" run mimecat --decrypt both.eml
	assert_equal "$status" 65
	assert_output --partial "not encrypted to any secret key"
	GNUPGHOME="$BATS_FILE_TMPDIR/carol" gpgconf --kill all
}

@test "smtp-send --pgp-*: mixing with S/MIME, an unknown key, a key not certified" {
	run smtp-send --dry-run -f alice@example.org --body hi --sign x.pem --pgp-sign bob@example.org
	assert_equal "$status" 64
	assert_output --partial "exclude each other"
	run smtp-send --dry-run -f alice@example.org --body hi --pgp-encrypt nobody@example.org bob@example.org
	assert_equal "$status" 65
	assert_output --partial "nobody@example.org"
	gpg --batch --quiet --import carol.pub 2>/dev/null
	run smtp-send --dry-run -f alice@example.org --body hi --pgp-encrypt carol@example.org carol@example.org
	assert_equal "$status" 65
	assert_output --partial "not trusted"
	run smtp-send --dry-run -f alice@example.org --body hi --pgp-sign=nosuchkey bob@example.org
	assert_equal "$status" 65
	assert_output --partial "no secret key"
}

@test "mimecat -c: what a relay would break in a signed part (PGP and S/MIME), and how to avoid it" {
	run mimecat -c good8.eml
	assert_equal "$status" 65
	assert_output --partial "8-bit data in a signed part: a relay without 8BITMIME (RFC 6152) re-encodes it"
	assert_output --partial "(RFC 3156 3)"
	"$PY" - <<'PY'
body = ('Content-Type: text/plain; charset=us-ascii\r\n\r\nfin de ligne \r\nFrom the teacher\r\n'
        + 'x' * 80 + '\r\n' + 'y' * 1000 + '\r\nnu\n').encode()
for proto, name in (('application/pgp-signature', 'hz-pgp.eml'), ('application/pkcs7-signature', 'hz-smime.eml')):
    open(name, 'wb').write(('From: a@example.org\r\nDate: Sun, 6 Dec 2026 08:00:00 +0000\r\nMIME-Version: 1.0\r\n'
        'Content-Type: multipart/signed; protocol="%s"; micalg=sha-256; boundary=B\r\n\r\n--B\r\n' % proto).encode()
        + body + b'\r\n--B\r\nContent-Type: application/octet-stream\r\n\r\nxx\r\n--B--\r\n')
PY
	for f in hz-pgp hz-smime; do
		run mimecat -c $f.eml
		assert_equal "$status" 65
		assert_output --partial "$f.eml:9: blank (space or tab) at the end of a line in a signed part"
		assert_output --partial "$f.eml:10: line starting \"From \" in a signed part: an mbox store writes it \">From \""
		assert_output --partial "$f.eml:11: line over 76 characters in a signed part"
		assert_output --partial "$f.eml:12: line over 998 characters in a signed part"
		assert_output --partial "$f.eml:13: bare LF line ends in a signed part"
	done
	run mimecat -c hz-smime.eml
	assert_output --partial "(RFC 8551 3.1.3)"
	# what smtp-send signs has none of them
	smtp-send --dry-run -f alice@example.org --body $'d\xc3\xa9j\xc3\xa0 \nFrom me\n' \
		--pgp-sign bob@example.org > s3.eml 2>/dev/null
	run mimecat -c s3.eml
	refute_output --partial "signed part"
}
