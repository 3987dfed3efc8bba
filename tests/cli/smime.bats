#!/usr/bin/env bats
# S/MIME in mimecat --verify.  Oracle: `openssl cms -verify` on the same
# bytes, for messages made by `openssl cms -sign` and `openssl smime -sign`
# with a CA made here, and for tampered copies of each.

load helpers

setup_file() {
	local d="$BATS_FILE_TMPDIR"
	cd "$d"
	ec="-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"
	openssl req -x509 $ec -keyout ca.key -out ca.pem -days 30 -subj "/CN=Maillab Test CA" \
		-addext "basicConstraints=critical,CA:true" \
		-addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
	printf 'subjectAltName=email:alice@example.org\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=emailProtection\n' > ext
	openssl req $ec -keyout alice.key -out alice.csr \
		-subj "/CN=Alice Martin/emailAddress=alice@example.org" 2>/dev/null
	openssl x509 -req -in alice.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
		-out alice.pem -days 10 -extfile ext 2>/dev/null
	# the same person, certified by a CA nobody trusts
	openssl req -x509 $ec -keyout rogue.key -out rogue.pem -days 30 -subj "/CN=Rogue CA" \
		-addext "basicConstraints=critical,CA:true" 2>/dev/null
	openssl x509 -req -in alice.csr -CA rogue.pem -CAkey rogue.key -CAcreateserial \
		-out alice-rogue.pem -days 10 -extfile ext 2>/dev/null
	# an expired certificate: valid from 2020-01-01 to 2020-01-02
	printf '[ca]\ndefault_ca=d\n[d]\ndatabase=index.txt\nnew_certs_dir=.\ncertificate=ca.pem\nprivate_key=ca.key\nserial=serial\ndefault_md=sha256\npolicy=p\n[p]\ncommonName=supplied\nemailAddress=optional\n' > ca.cnf
	: > index.txt
	echo 01 > serial
	openssl ca -batch -config ca.cnf -in alice.csr -out alice-old.pem -notext \
		-startdate 20200101000000Z -enddate 20200102000000Z -extfile ext 2>/dev/null
	printf 'Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\nBonjour Bob,\nle cours est d\303\251plac\303\251 \303\240 demain.\n' > part8
	printf 'Content-Type: text/plain; charset=us-ascii\n\nBonjour Bob,\nle cours est demain.\n' > part
	sign() { openssl cms -sign -signer alice.pem -inkey alice.key -from alice@example.org \
		-to bob@example.org -subject test "$@"; }
	sign -in part > detached.eml
	sign -in part8 > detached8.eml
	sign -in part -nodetach > opaque.eml
	openssl smime -sign -signer alice.pem -inkey alice.key -in part \
		-from 'Alice Martin <alice@example.org>' -subject test > xpkcs7.eml
	openssl cms -sign -signer alice-rogue.pem -inkey alice.key -in part \
		-from alice@example.org -subject test > rogue.eml
	printf 'subjectAltName=email:bob@example.org\nkeyUsage=digitalSignature,keyEncipherment,keyAgreement\nextendedKeyUsage=emailProtection\n' > extb
	openssl req -newkey rsa:2048 -nodes -keyout bob.key -out bob.csr \
		-subj "/CN=Bob Durand/emailAddress=bob@example.org" 2>/dev/null
	openssl x509 -req -in bob.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
		-out bob.pem -days 10 -extfile extb 2>/dev/null
	cat alice.pem alice.key > alice-all.pem
	openssl cms -sign -signer alice-old.pem -inkey alice.key -in part \
		-from alice@example.org -subject test > expired.eml
}

setup() {
	cd "$BATS_FILE_TMPDIR"
}

# mimecat --verify and openssl cms -verify agree on FILE; EXPECT is
# "good" or "bad".
agree() {
	local file=$1 expect=$2 orc
	openssl cms -verify -CAfile ca.pem -in "$file" -out /dev/null 2>/dev/null && orc=0 || orc=1
	run mimecat --verify --cafile ca.pem "$file"
	echo "openssl: $orc mimecat: $status"
	if [ "$expect" = good ]; then
		assert_equal "$orc" 0
		assert_equal "$status" 0
		assert_output --partial "good signature by Alice Martin <alice@example.org>"
	else
		assert_equal "$orc" 1
		assert_equal "$status" 1
		assert_output --partial "BAD signature"
	fi
}

# Write SRC with its smime.p7s replaced by garbage or by ASN.1 nested
# 100000 deep.
replace_sig() {
	"$PY" - "$1" "$2" <<'PY'
import sys, base64, os
raw = open(sys.argv[1], 'rb').read().decode()
der = os.urandom(3000) if sys.argv[2] == 'garbage' else b'\x30\x80' * 100000 + b'\x00\x00' * 100000
head, tail = raw.split('filename="smime.p7s"\n\n')
end = tail.index('\n\n------')
sys.stdout.write(head + 'filename="smime.p7s"\n\n' + base64.encodebytes(der).decode() + tail[end:])
PY
}

@test "smime: --help names --verify; --cafile that is not PEM is a usage error" {
	run mimecat --help
	assert_output --partial "--verify"
	echo nothing > notpem
	run mimecat --verify --cafile notpem detached.eml
	assert_equal "$status" 66
	assert_output --partial "notpem"
	run mimecat --verify -t detached.eml
	assert_equal "$status" 64
}

@test "smime: untouched messages made by openssl verify as openssl says" {
	agree detached.eml good
	assert_output --regexp "^message: good signature by Alice Martin <alice@example.org>, From: matches, signed 20[0-9-]+ [0-9:]+ UTC, chain: trusted$"
	agree detached8.eml good
	agree opaque.eml good
	assert_output --partial "From: matches"
	agree xpkcs7.eml good
}

@test "smime: stored with LF line ends (Maildir), the message still verifies" {
	sed 's/\r$//' detached.eml > lf.eml
	agree lf.eml good
	sed 's/\r$//' detached8.eml > lf8.eml
	agree lf8.eml good
}

@test "smime: one byte of the body changed: content changed after signing" {
	sed 's/demain/demaon/' detached.eml > t1.eml
	agree t1.eml bad
	assert_output --partial "content changed after signing"
	sed 's/demain/demaon/' xpkcs7.eml > t2.eml
	agree t2.eml bad
	assert_output --partial "content changed after signing"
}

@test "smime: a header field of the signed part changed: fails" {
	sed 's/charset=us-ascii/charset=iso-8859-1/' detached.eml > t3.eml
	agree t3.eml bad
	assert_output --partial "content changed after signing"
}

@test "smime: an 8-bit body re-encoded by a relay (8BITMIME downgrade to quoted-printable): fails" {
	"$PY" - detached8.eml > t4.eml <<'PY'
import sys, quopri
raw = open(sys.argv[1], 'rb').read()
head, sep, rest = raw.partition(b'Content-Transfer-Encoding: 8bit')
hdr_end = rest.index(b'\r\n\r\n') + 4 if b'\r\n\r\n' in rest else rest.index(b'\n\n') + 2
body_end = rest.index(b'\n------')
body = rest[hdr_end:body_end]
qp = quopri.encodestring(body.replace(b'\r\n', b'\n')).replace(b'\n', b'\r\n')
sys.stdout.buffer.write(head + b'Content-Transfer-Encoding: quoted-printable' +
    rest[:hdr_end] + qp + rest[body_end:])
PY
	grep -q '=C3=A9' t4.eml
	agree t4.eml bad
	assert_output --partial "content changed after signing"
}

@test "smime: a header of the outer message changed: still good (it is not signed)" {
	sed 's/^Subject: test/Subject: changed/' detached.eml > t5.eml
	agree t5.eml good
}

@test "smime: opaque signed-data with a byte of its DER changed fails" {
	"$PY" - opaque.eml > t6.eml <<'PY'
import sys, base64, email
raw = open(sys.argv[1], 'rb').read()
head, sep, body = raw.partition(b'\n\n')
der = bytearray(base64.b64decode(body))
i = der.find(b'demain')
der[i] ^= 1
sys.stdout.buffer.write(head + sep + base64.encodebytes(bytes(der)))
PY
	agree t6.eml bad
}

@test "smime: unknown CA, expired certificate: plain reasons, as openssl" {
	agree rogue.eml bad
	assert_output --partial "unknown CA"
	run mimecat --verify detached.eml
	assert_equal "$status" 1
	assert_output --partial "unknown CA"
	agree expired.eml bad
	assert_output --partial "certificate expired"
}

@test "smime: signer is not the From: address: fails (openssl does not look)" {
	sed 's/^From: alice@example.org/From: mallory@example.org/' detached.eml > t7.eml
	run mimecat --verify --cafile ca.pem t7.eml
	assert_equal "$status" 1
	assert_output --partial "From: does not match"
	assert_output --partial "not the From: address"
}

@test "smime: nothing signed exits 2" {
	printf 'From: a@example.org\nSubject: x\n\nhello\n' > plain.eml
	run mimecat --verify plain.eml
	assert_equal "$status" 2
	assert_output --partial "no S/MIME signature"
}

@test "smime: hostile: truncated, garbage and deeply nested PKCS#7 give a clear BAD verdict" {
	# the signature cut in half
	awk '/smime.p7s"$/ {p7=1} p7 && /^[A-Za-z0-9+\/=]+\r?$/ {n++; if (n > 8) next} {print}' \
		detached.eml > h1.eml
	agree h1.eml bad
	assert_output --partial "not a CMS structure"
	# garbage instead of the signature
	replace_sig detached.eml garbage > h2.eml
	agree h2.eml bad
	# ASN.1 nested 100000 deep (SEQUENCE of SEQUENCE of ...)
	replace_sig detached.eml deep > h3.eml
	agree h3.eml bad
	# a pkcs7-mime that is cut short
	head -c 1200 opaque.eml > h4.eml
	run mimecat --verify --cafile ca.pem h4.eml
	assert_equal "$status" 1
	assert_output --partial "BAD signature"
}

@test "smime: hostile: opaque signed-data nested 12 deep is checked 9 levels down, then left" {
	cp part n0
	for i in 1 2 3 4 5 6 7 8 9 10 11 12; do
		openssl cms -sign -nodetach -signer alice.pem -inkey alice.key -in n$((i - 1)) \
			-from alice@example.org > n$i 2>/dev/null
	done
	run mimecat --verify --cafile ca.pem n12
	assert_success
	assert_equal "$(grep -c 'good signature' <<< "$output")" 9
}

@test "smime: hostile: a 20 MB signed body verifies with memory bounded by the message" {
	"$PY" -c "
import sys
sys.stdout.write('Content-Type: text/plain\n\n')
line = 'x' * 75 + '\n'
sys.stdout.write(line * (20 * 1024 * 1024 // 76))" > big
	openssl cms -sign -signer alice.pem -inkey alice.key -in big \
		-from alice@example.org > big.eml
	# the message is mapped, not copied: 200 MB of address space is
	# plenty for 20 MB (ASan needs far more, so only the plain build)
	if grep -q __asan_init "$BIN/mimecat"; then
		run mimecat --verify --cafile ca.pem big.eml
	else
		run bash -c 'ulimit -v 200000; mimecat --verify --cafile ca.pem big.eml'
	fi
	assert_success
	printf 'y' | dd of=big.eml bs=1 seek=$(( $(stat -c %s big.eml) / 2 )) conv=notrunc 2>/dev/null
	run mimecat --verify --cafile ca.pem big.eml
	assert_equal "$status" 1
	assert_output --partial "content changed after signing"
}

# ---- smtp-send --sign / --encrypt -------------------------------------

# No line of FILE has 8-bit bytes, trailing blanks or over 76 characters:
# what no relay needs to change.
seven_bit_safe() {
	if LC_ALL=C grep -n $'[\x80-\xff]' "$1"; then return 1; fi
	if grep -n $'[ \t]\r\\?$' "$1"; then return 1; fi
	if awk 'length($0) > 77 { print NR": "length($0); bad = 1 } END { exit !bad }' "$1"; then
		return 1
	fi
}

# gpgsm --verify of the multipart/signed FILE, in a throwaway GNUPGHOME
# that trusts ca.pem; prints gpgsm's status lines.
gpgsm_verify() {
	local g; g=$(mktemp -d "$BATS_TEST_TMPDIR/gnupg.XXXXXX")
	chmod 700 "$g"
	"$PY" - "$1" <<'PY'
import email, sys
raw = open(sys.argv[1], 'rb').read()
m = email.message_from_bytes(raw)
b = ('--' + m.get_boundary()).encode()
p1 = raw.split(b)[1]
p1 = p1[p1.index(b'\n') + 1:]
p1 = p1[:-2] if p1.endswith(b'\r\n') else p1[:-1]
open('data', 'wb').write(p1.replace(b'\r\n', b'\n').replace(b'\n', b'\r\n'))
open('sig.p7s', 'wb').write(m.get_payload()[1].get_payload(decode=True))
PY
	GNUPGHOME=$g gpgsm --batch --import ca.pem 2>/dev/null
	echo "$(openssl x509 -in ca.pem -noout -fingerprint -sha1 | cut -d= -f2) S" > "$g/trustlist.txt"
	echo disable-crl-checks > "$g/gpgsm.conf"
	GNUPGHOME=$g gpgsm --batch --status-fd 1 --verify sig.p7s data 2>/dev/null || true
	GNUPGHOME=$g gpgconf --kill all 2>/dev/null || true
}

@test "smtp-send --sign: composed 8-bit text with trailing blanks; openssl, gpgsm and mimecat accept it" {
	smtp-send --dry-run -f alice@example.org --subject "Cours déplacé" \
		--body $'Bonjour Bob,   \nle cours est déplacé à demain.\nFrom the teacher\n' \
		--sign alice.pem:alice.key bob@example.org > s1.eml 2>/dev/null
	grep -q '^Content-Type: multipart/signed; protocol="application/pkcs7-signature";' s1.eml
	grep -q 'micalg=sha-256' s1.eml
	grep -q '^Content-Transfer-Encoding: quoted-printable' s1.eml
	seven_bit_safe s1.eml
	openssl cms -verify -CAfile ca.pem -in s1.eml -out content
	grep -q 'd=C3=A9plac=C3=A9' content
	run mimecat --verify --cafile ca.pem s1.eml
	assert_success
	assert_output --partial "good signature by Alice Martin <alice@example.org>, From: matches"
	run mimecat s1.eml
	assert_output --partial "le cours est déplacé à demain."
	run gpgsm_verify s1.eml
	assert_output --partial "GOODSIG"
	assert_output --partial "TRUST_FULLY"
}

@test "smtp-send --sign: a message on stdin with an 8-bit part and a binary attachment" {
	"$PY" - > in.eml <<'PY'
import sys
sys.stdout.buffer.write(b'From: Alice <alice@example.org>\nTo: bob@example.org\nSubject: pj\n'
  b'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=XX\n\npre\n--XX\n'
  b'Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n'
  b'\xc3\xa9t\xc3\xa9 \n--XX\nContent-Type: application/octet-stream\n'
  b'Content-Transfer-Encoding: binary\n\n' + bytes(range(1, 10)) + b'\x80\xff\n--XX--\n')
PY
	smtp-send --dry-run -f alice@example.org --sign alice-all.pem bob@example.org < in.eml > s2.eml 2>/dev/null
	seven_bit_safe s2.eml
	openssl cms -verify -CAfile ca.pem -in s2.eml -out content
	assert_equal "$(mimecat -p 2 content | od -An -tx1 | tr -d ' \n')" "01020304050607080980ff"
	assert_equal "$(mimecat -p 1 content)" "été "
	run mimecat --verify --cafile ca.pem s2.eml
	assert_success
	run gpgsm_verify s2.eml
	assert_output --partial "GOODSIG"
}

@test "smtp-send --encrypt (AES-256-CBC), and --sign with --encrypt: openssl decrypts, the sender too" {
	printf 'From: alice@example.org\nTo: bob@example.org\nSubject: secret\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\nLe code est 1234, \303\240 bient\303\264t\n' > in.eml
	smtp-send --dry-run -f alice@example.org --encrypt bob.pem bob@example.org < in.eml > e1.eml 2>/dev/null
	grep -q '^Content-Type: application/pkcs7-mime; smime-type=enveloped-data;' e1.eml
	grep -q '^Subject: secret' e1.eml
	run grep -q 'code est' e1.eml
	assert_failure
	openssl cms -cmsout -print -in e1.eml | grep -q 'aes-256-cbc'
	openssl cms -decrypt -recip bob.pem -inkey bob.key -in e1.eml -out inner
	grep -q 'Le code est 1234, =C3=A0 bient=C3=B4t' inner
	smtp-send --dry-run -f alice@example.org --sign alice.pem:alice.key --encrypt bob.pem \
		bob@example.org < in.eml > e2.eml 2>/dev/null
	openssl cms -decrypt -recip bob.pem -inkey bob.key -in e2.eml -out inner2
	openssl cms -decrypt -recip alice.pem -inkey alice.key -in e2.eml -out /dev/null
	openssl cms -verify -CAfile ca.pem -in inner2 -out content
	grep -q '=C3=A0 bient=C3=B4t' content
	run mimecat --verify --cafile ca.pem inner2
	assert_success
}

@test "smtp-send --sign/--encrypt errors: missing certificate, wrong key, empty argument" {
	run smtp-send --dry-run -f alice@example.org --body hi --sign nosuch.pem bob@example.org
	assert_equal "$status" 65
	assert_output --partial "nosuch.pem"
	run smtp-send --dry-run -f alice@example.org --body hi --sign alice.pem:bob.key bob@example.org
	assert_equal "$status" 65
	assert_output --partial "does not belong"
	run smtp-send --dry-run -f alice@example.org --body hi --encrypt "" bob@example.org
	assert_equal "$status" 64
}

# ---- mimecat --decrypt ----------------------------------------------

@test "mimecat --decrypt: a message encrypted by openssl cms -encrypt is shown, verified, extracted" {
	printf 'Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\nLe code est 1234, \303\240 bient\303\264t\n' > secret
	openssl cms -encrypt -aes256 -in secret -from alice@example.org -to bob@example.org \
		-subject secret bob.pem > enc.eml
	run mimecat --decrypt --key bob.key --cert bob.pem enc.eml
	assert_success
	assert_output --partial "Subject: secret"
	assert_output --partial "Le code est 1234, à bientôt"
	run mimecat --decrypt --key bob.key --cert bob.pem -t enc.eml
	assert_output "1            text/plain charset=utf-8 8bit  31 B"
	# signed by openssl, then encrypted by openssl
	openssl cms -sign -signer alice.pem -inkey alice.key -in part > signed-part
	openssl cms -encrypt -aes256 -in signed-part -from alice@example.org -subject s bob.pem > se.eml
	run mimecat --decrypt --key bob.key --cert bob.pem --verify --cafile ca.pem se.eml
	assert_success
	assert_output --partial "good signature by Alice Martin <alice@example.org>, From: matches"
	sed 's/demain/demaon/' signed-part > signed-bad
	openssl cms -encrypt -aes256 -in signed-bad -from alice@example.org -subject s bob.pem > se-bad.eml
	run mimecat --decrypt --key bob.key --cert bob.pem --verify --cafile ca.pem se-bad.eml
	assert_equal "$status" 1
	assert_output --partial "content changed after signing"
}

@test "mimecat --decrypt: not for this certificate, not encrypted, damaged, options missing" {
	openssl cms -encrypt -aes256 -in part -subject x bob.pem > enc2.eml
	run mimecat --decrypt --key alice.key --cert alice.pem enc2.eml
	assert_equal "$status" 65
	assert_output --partial "not encrypted for this certificate"
	run mimecat --decrypt --key alice.key --cert bob.pem enc2.eml
	assert_equal "$status" 65
	assert_output --partial "does not belong"
	run mimecat --decrypt --key bob.key --cert bob.pem detached.eml
	assert_equal "$status" 65
	assert_output --partial "not an S/MIME encrypted message"
	head -c $(( $(stat -c %s enc2.eml) * 2 / 3 )) enc2.eml > enc-cut.eml
	run mimecat --decrypt --key bob.key --cert bob.pem enc-cut.eml
	assert_equal "$status" 65
	assert_output --partial "decrypt:"
	run mimecat --decrypt --key bob.key enc2.eml
	assert_equal "$status" 64
}

@test "mimecat: the reading view and -t end with the signature verdict" {
	run mimecat --cafile ca.pem detached.eml
	assert_success
	assert_output --partial "le cours est demain."
	assert_line "[-- S/MIME signature --]"
	assert_output --regexp "message: good signature by Alice Martin <alice@example.org>, From: matches, signed [0-9 :-]+ UTC, chain: trusted"
	sed 's/demain/demaon/' detached.eml > tv.eml
	run mimecat -t --cafile ca.pem tv.eml
	assert_line --index 0 --partial "multipart/signed"
	assert_output --partial "FAILED: content changed after signing"
	printf 'From: a@example.org\n\nhi\n' > plain2.eml
	run mimecat -t plain2.eml
	refute_output --partial "S/MIME"
}

@test "mimecat --verify takes several files: each line names its file; one BAD gives 1" {
	sed 's/demain/demaon/' detached.eml > bad.eml
	printf 'From: a@example.org\n\nhi\n' > none.eml
	run mimecat --verify --cafile ca.pem detached.eml opaque.eml
	assert_success
	assert_line --index 0 --partial "detached.eml: message: good signature"
	assert_line --index 1 --partial "opaque.eml: 1: good signature"
	run mimecat --verify --cafile ca.pem none.eml bad.eml detached.eml
	assert_equal "$status" 1
	assert_output --partial "bad.eml: message: BAD signature"
	run mimecat --verify --cafile ca.pem detached.eml none.eml
	assert_equal "$status" 2
}
