#!/usr/bin/env bats
# qp as a user runs it, with Python's quopri as the independent oracle.

load helpers

setup() {
	cd "$BATS_TEST_TMPDIR"
}

# decode / encode with Python's quopri
py_decode() { "$PY" -c 'import quopri,sys; sys.stdout.buffer.write(quopri.decodestring(sys.stdin.buffer.read()))'; }
py_encode() { "$PY" -c 'import quopri,sys; sys.stdout.buffer.write(quopri.encodestring(sys.stdin.buffer.read()))'; }

@test "qp --help and --version" {
	run qp --help
	assert_success
	assert_output --partial "usage: qp"
	run qp --version
	assert_success
}

@test "qp usage error exits 64" {
	run qp --nope
	assert_equal "$status" 64
}

@test "qp encodes the RFC 2045 rules" {
	printf 'a=b caf\xc3\xa9 \nFrom x\n.\ntab\t\n' > in
	run qp in
	assert_success
	assert_output "$(printf 'a=3Db caf=C3=A9=20\n=46rom x\n=2E\ntab=09')"
}

@test "qp lines never exceed 76 characters" {
	"$PY" -c 'import sys; sys.stdout.write(("x"*300 + " = \u00e9"*40 + "\n")*20)' > in
	qp in > out
	run awk 'length > 76' out
	assert_output ""
}

@test "Python quopri decodes what qp encodes (text), byte-exact" {
	"$PY" -c 'import random,sys
random.seed(5)
w=["mail","=","caf\u00e9"," ","\t","From","x"*90,"."]
sys.stdout.write("\n".join(" ".join(random.choice(w) for _ in range(random.randint(0,30))) for _ in range(3000))+"\n")' > in
	qp in | py_decode > back
	cmp in back
}

@test "qp -b survives any bytes, checked by Python quopri" {
	head -c 200000 /dev/urandom > in
	qp -b in > enc
	py_decode < enc > back
	cmp in back
	qp -d enc | cmp - in
}

@test "qp -d decodes what Python quopri encodes" {
	"$PY" -c 'import sys; sys.stdout.write("caf\u00e9 = cr\u00e8me  \n"*500 + "y"*200 + "\n")' > in
	py_encode < in | qp -d > back
	cmp in back
}

@test "qp -d: bad escape is an error with offset; -i keeps it" {
	run qp -d <<< "a=ZZb"
	assert_equal "$status" 65
	assert_output --partial "qp: decode stdin: invalid '=' sequence at offset 2"
	run qp -di <<< "a=ZZb"
	assert_success
	assert_output "a=ZZb"
}

@test "qp -d removes transport white space and joins soft breaks" {
	printf 'one=\r\ntwo   \r\nthree=20\r\n' > in
	run qp -d in
	assert_output "$(printf 'onetwo\nthree ')"
}

@test "qp --crlf writes CRLF line ends" {
	printf 'a\nb\n' | qp --crlf > out
	assert_equal "$(od -An -c out | tr -s ' ')" "$(printf 'a\r\nb\r\n' | od -An -c | tr -s ' ')"
}

@test "qp --header makes RFC 2047 words Python's email decodes back" {
	s='Réunion: café crème brûlée, a very long subject that needs several encoded-words €'
	printf '%s\n' "$s" | qp --header UTF-8 > enc
	run awk '{ for (i = 1; i <= NF; i++) if (length($i) > 75) print $i }' enc
	assert_output ""
	run "$PY" -c 'import sys
from email.header import decode_header, make_header
print(str(make_header(decode_header(open("enc").read()))))'
	assert_output "$s"
}

@test "qp -d --header decodes Q and B words in any charset" {
	run qp -d --header UTF-8 <<< '=?ISO-8859-1?Q?Andr=E9?= Pirard =?UTF-8?B?4oKs?= =?utf-8?q?_x?='
	assert_success
	assert_output "André Pirard € x"
}

@test "qp --header with another charset" {
	printf 'caf\xe9\n' | qp --header ISO-8859-1 > enc
	assert_equal "$(cat enc)" "=?ISO-8859-1?Q?caf=E9?="
	run qp -d --header UTF-8 enc
	assert_output "café"
	run qp -d --header ISO-8859-1 enc
	assert_equal "$(printf '%s' "$output" | od -An -tx1 | tr -d ' ')" "636166e9"
}

@test "qp --header rejects a charset with specials" {
	run qp --header 'UTF-8?Q'
	assert_equal "$status" 64
}

# Feed stdin in small pieces with pauses, so qp's reads end mid-line.
trickle() {
	"$PY" -c '
import sys, time
d = open(sys.argv[1], "rb").read()
for i in range(0, len(d), 37):
    sys.stdout.buffer.write(d[i:i + 37]); sys.stdout.buffer.flush(); time.sleep(0.002)
' "$1"
}

@test "qp: long CRLF lines with a trailing blank, read in pieces, still follow rule 3" {
	"$PY" -c '
import sys
out = b""
for n in range(70, 200, 7):
    out += b"x" * n + (b" " if n % 2 else b"\t") + b"\r\n" + b"y" * 75 + b"From here\r\n"
sys.stdout.buffer.write(out)' > in.txt
	trickle in.txt | qp > out.qp
	run grep -c '[ 	]$' out.qp
	assert_output 0
	run grep -c '^From ' out.qp
	assert_output 0
	run awk 'length($0) > 76' out.qp
	assert_output ""
	tr -d '\r' < in.txt > want.txt
	py_decode < out.qp > back.txt
	cmp want.txt back.txt
	qp < in.txt | cmp - out.qp
}

@test "qp -d: trailing blanks of any length go, blanks before a bare CR stay" {
	printf 'a%300s\r\nb \t\r' '' > in.qp
	run bash -c 'qp -d < in.qp | od -An -c | tr -s " "'
	assert_output " a \n b \t \r"
}

@test "qp -d --header joins a UTF-8 character split across two words" {
	run qp -d --header UTF-8 <<<'=?UTF-8?Q?caf=C3?= =?UTF-8?Q?=A9?= ok'
	assert_output "café ok"
	"$PY" -c 'from email.header import decode_header, make_header; print(make_header(decode_header("=?UTF-8?Q?caf=C3?= =?UTF-8?Q?=A9?= ok")))' > want
	qp -d --header UTF-8 <<<'=?UTF-8?Q?caf=C3?= =?UTF-8?Q?=A9?= ok' | cmp - want
}
