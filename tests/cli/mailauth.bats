#!/usr/bin/env bats
# mailauth: DKIM signing and verifying against dkimpy (Debian python3-dkim)
# as the oracle, with keys published on a real DNS server (dnsmasq,
# tests/lib/dns.bash); hostile signatures and keys.
PORT_BASE=31000
load helpers
load ../lib/dns

ORACLE="$PY $ROOT/tests/lib/dkimpy.py"

# publish NAME DATA: in dnsmasq's configuration and in dkimpy's table
publish() {
	if [ ${#2} -gt 900 ]; then dns_add_long_txt "$DNSCONF" "$1" "$2"; else dns_add_txt "$DNSCONF" "$1" "$2"; fi
	echo "$1 $2" >> "$BATS_FILE_TMPDIR/records"
}

setup_file() {
	export DNS_PIDFILE="$BATS_FILE_TMPDIR/dns.pids"
	export DNSCONF="$BATS_FILE_TMPDIR/dns.conf"
	DNS_PORT=$(free_port)
	export DNS_PORT
	cd "$BATS_FILE_TMPDIR"
	# co.uk: a suffix the Public Suffix List holds, for the DMARC oracle's
	# organizational domains (authheaders takes an unlisted TLD such as
	# test for the organizational domain itself)
	dns_conf_new "$DNSCONF" test co.uk
	rm -f "$DNSCONF.args" records
	mailauth keygen -k rsa.pem --data > rsa.txt
	mailauth keygen -a ed25519-sha256 -k ed.pem --data > ed.txt
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:512 -out short.pem 2>/dev/null
	publish rsa._domainkey.ex.test "$(cat rsa.txt)"
	publish ed._domainkey.ex.test "$(cat ed.txt)"
	publish short._domainkey.ex.test "v=DKIM1; k=rsa; p=$(openssl pkey -in short.pem -pubout -outform DER | base64 -w0)"
	publish huge._domainkey.ex.test "$($ORACLE pubkey16384)"
	# 4,000 bytes of TXT: an unknown tag makes it long; over TCP (RFC 7766)
	publish big._domainkey.ex.test "v=DKIM1; k=rsa; n=$(head -c 3300 /dev/zero | tr '\0' x); $(sed 's/^v=DKIM1; k=rsa; //' rsa.txt)"
	publish revoked._domainkey.ex.test "v=DKIM1; k=rsa; p="
	publish wrongtype._domainkey.ex.test "$(cat ed.txt)"
	# DMARC (RFC 7489) and the SPF records it aligns with
	dns_add_txt "$DNSCONF" _dmarc.ex.test "v=DMARC1; p=reject; sp=quarantine"
	dns_add_txt "$DNSCONF" ex.test "v=spf1 ip4:192.0.2.1 -all"
	dns_add_txt "$DNSCONF" _dmarc.strict.test "v=DMARC1; p=reject; adkim=s; aspf=s"
	dns_add_txt "$DNSCONF" strict.test "v=spf1 ip4:192.0.2.1 -all"
	dns_add_txt "$DNSCONF" _dmarc.pct.test "v=DMARC1; p=reject; pct=50"
	dns_add_txt "$DNSCONF" _dmarc.broken.test "v=DMARC1; p=sometimes"
	dns_add_txt "$DNSCONF" _dmarc.two.test "v=DMARC1; p=none"
	dns_add_txt "$DNSCONF" _dmarc.two.test "v=DMARC1; p=reject"
	dns_add_txt "$DNSCONF" _dmarc.ex.co.uk "v=DMARC1; p=reject; sp=quarantine"
	dns_add_txt "$DNSCONF" ex.co.uk "v=spf1 ip4:192.0.2.1 -all"
	publish rsa._domainkey.ex.co.uk "$(cat rsa.txt)"
	dns_add_txt "$DNSCONF" _dmarc.strict.co.uk "v=DMARC1; p=reject; adkim=s; aspf=s"
	dns_add_txt "$DNSCONF" strict.co.uk "v=spf1 ip4:192.0.2.1 -all"
	dns_start "$DNSCONF" "$DNS_PORT"
	printf 'From: Alice <alice@ex.test>\r\nTo: bob@other.test\r\nSubject: DKIM  test\r\n\tfolded line\r\nDate: Sun, 6 Dec 2026 10:00:00 +0000\r\n\r\nHello  world \r\n\r\nsecond\tline\r\n\r\n\r\n' > msg.eml
}

teardown_file() {
	dns_stop
}

setup() {
	cd "$BATS_FILE_TMPDIR"
}

oracle_verify() {
	$ORACLE verify records 2>/dev/null
}

verify() {
	mailauth verify --dns "127.0.0.1:$DNS_PORT" --authserv-id mx.test "$@"
}

@test "mailauth: --help, --version, usage errors" {
	run mailauth --help
	assert_success
	assert_output --partial "mailauth sign"
	run mailauth --version
	assert_success
	assert_output --partial "mailauth (maillab)"
	run mailauth
	assert_failure 64
	run mailauth frobnicate
	assert_failure 64
	run mailauth sign -d ex.test
	assert_failure 64
	assert_output --partial "required"
	run mailauth sign -d ex.test -s rsa -k rsa.pem -c weird/simple msg.eml
	assert_failure 64
	run mailauth sign -d ex.test -s rsa -k rsa.pem -a ed25519-sha256 msg.eml
	assert_failure 64
	run mailauth sign -d ex.test -s rsa -k /nonexistent msg.eml
	assert_failure 66
	run mailauth verify /nonexistent
	assert_failure 66
}

@test "mailauth keygen: private key 0600, never overwritten; zone-file record" {
	run mailauth keygen -k rsa.pem
	assert_failure 73
	rm -f k2.pem
	run mailauth keygen -k k2.pem -d ex.test -s sel -b 1024
	assert_success
	assert_line --index 0 "sel._domainkey.ex.test. IN TXT ("
	assert_output --partial '"v=DKIM1; k=rsa; p=MI'
	[ "$(stat -c %a k2.pem)" = 600 ]
	run openssl pkey -in k2.pem -noout -text
	assert_output --partial "1024 bit"
}

@test "mailauth sign: dkimpy verifies RSA and Ed25519, every canonicalization" {
	local k c files=()
	for k in rsa ed; do
		for c in simple/simple simple/relaxed relaxed/simple relaxed/relaxed; do
			mailauth sign -d ex.test -s $k -k $k.pem -c $c msg.eml > "ms-$k-${c/\//-}.eml"
			files+=("ms-$k-${c/\//-}.eml")
			run verify "ms-$k-${c/\//-}.eml"
			assert_output --partial "dkim=pass header.d=ex.test header.s=$k"
		done
	done
	run $ORACLE verify records "${files[@]}"
	echo "$output"
	[ "$(grep -c ' pass$' <<< "$output")" = 8 ]
}

@test "mailauth sign: tampered copies fail in dkimpy and in mailauth" {
	local k files=()
	for k in rsa ed; do
		mailauth sign -d ex.test -s $k -k $k.pem -c relaxed/relaxed msg.eml > signed.eml
		sed 's/Hello/Jello/' signed.eml > body-$k.eml
		sed 's/^Subject: DKIM/Subject: DKIM!/' signed.eml > subj-$k.eml
		files+=(body-$k.eml subj-$k.eml)
		run verify body-$k.eml
		assert_output --partial 'dkim=fail reason="body hash did not verify"'
		run verify subj-$k.eml
		assert_output --partial 'dkim=fail reason="signature did not verify"'
	done
	# relaxed survives what it should: white space changes; simple does not
	mailauth sign -d ex.test -s rsa -k rsa.pem -c relaxed/relaxed msg.eml |
		sed 's/Hello  world/Hello   world/; s/^Subject: DKIM  test/Subject:   DKIM test/' > ws.eml
	run verify ws.eml
	assert_output --partial "dkim=pass"
	mailauth sign -d ex.test -s rsa -k rsa.pem -c simple/simple msg.eml |
		sed 's/Hello  world/Hello   world/' > ws2.eml
	run verify ws2.eml
	assert_output --partial "dkim=fail"
	run $ORACLE verify records "${files[@]}" ws.eml ws2.eml
	echo "$output"
	[ "$(grep -c ' fail$' <<< "$output")" = 5 ]
	assert_line "ws.eml pass"
}

@test "mailauth verify: messages dkimpy signs, RSA and Ed25519, every canonicalization" {
	local k f files=()
	for k in rsa ed; do
		$ORACLE signall $k.pem $k ex.test py-$k < msg.eml
		for f in py-$k-*.eml; do
			run verify $f
			assert_output --partial "dkim=pass header.d=ex.test header.s=$k"
			sed 's/second/Second/' $f > t-$f
			files+=(t-$f)
			run verify t-$f
			assert_output --partial "dkim=fail"
		done
	done
	[ ${#files[@]} = 8 ]
	run $ORACLE verify records "${files[@]}"
	[ "$(grep -c ' fail$' <<< "$output")" = 8 ]
}

@test "mailauth verify FILE...: a much-used Ed25519 key goes through lib/ed25519.c's tables, same verdicts" {
	local f i files=()
	# past the key's DKIM_ED25519_TABLE_USES (8) uses, interleaved: dkimpy's
	# signatures, and copies with the Subject changed after signing
	$ORACLE signall ed.pem ed ex.test many < msg.eml
	for i in $(seq 1 10); do
		for f in many-*.eml; do
			cp $f g$i-$f
			sed 's/^Subject: DKIM/Subject: DKIN/' $f > b$i-$f
			files+=(g$i-$f b$i-$f)
		done
	done
	run verify "${files[@]}"
	assert_success
	[ "$(grep -c 'dkim=pass header.d=ex.test header.s=ed' <<< "$output")" = 40 ]
	[ "$(grep -c 'dkim=fail reason="signature did not verify"' <<< "$output")" = 40 ]
	run $ORACLE verify records b10-many-*.eml g10-many-*.eml
	[ "$(grep -c ' fail$' <<< "$output")" = 4 ]
	[ "$(grep -c ' pass$' <<< "$output")" = 4 ]
}

@test "mailauth verify: LF line ends as in a Maildir file; --add prepends the field" {
	mailauth sign -d ex.test -s rsa -k rsa.pem msg.eml | tr -d '\r' > lf.eml
	run verify lf.eml
	assert_output --partial "dkim=pass"
	verify --add lf.eml > added.eml
	head -1 added.eml | grep -q '^Authentication-Results: mx.test;$'
	! grep -q $'\r' added.eml
	awk 'p || (!/^Authentication-Results:/ && !/^\t/) { p = 1 } p' added.eml | cmp - lf.eml
	run verify < msg.eml
	assert_output --partial "dkim=none"
}

@test "mailauth verify FILE...: one field per file, each key looked up once" {
	mailauth sign -d ex.test -s rsa -k rsa.pem msg.eml > v1.eml
	mailauth sign -d ex.test -s ed -k ed.pem msg.eml > v2.eml
	cp v1.eml v3.eml
	run mailauth verify -v --dns "127.0.0.1:$DNS_PORT" v1.eml v2.eml v3.eml
	assert_success
	assert_line "==> v3.eml <=="
	[ "$(grep -c 'dkim=pass' <<< "$output")" = 3 ]
	[ "$(grep -c 'QUESTION SECTION' <<< "$output")" = 6 ]   # query + answer: 3 names, not 6
	run mailauth sign -d ex.test -s rsa -k rsa.pem v1.eml v2.eml
	assert_failure 64
}

@test "mailauth -v: every DNS query and each step" {
	mailauth sign -d ex.test -s rsa -k rsa.pem msg.eml > signed.eml
	run mailauth verify -v --dns "127.0.0.1:$DNS_PORT" signed.eml
	assert_success
	assert_output --partial "rsa._domainkey.ex.test"
	assert_output --partial "TXT"
	assert_output --partial "hash header: from:Alice <alice@ex.test>"
	assert_output --partial "body hash matches bh="
	assert_output --partial "=> pass"
}

@test "mailauth verify hostile: l= huge, l= past the body, x= in the past" {
	mailauth sign -d ex.test -s rsa -k rsa.pem -l 10 msg.eml > l.eml
	printf 'appended by someone else\r\n' >> l.eml
	run verify l.eml
	assert_output --partial "dkim=pass"       # what l= means (RFC 6376 8.2)
	sed 's/l=10;/l=99999999999999999999999999;/' l.eml > lhuge.eml
	run verify lhuge.eml
	assert_output --partial 'dkim=permerror reason="l=, t= or x= is not a number'
	sed 's/l=10;/l=100000;/' l.eml > lbig.eml
	run verify lbig.eml
	assert_output --partial 'dkim=fail reason="l= is longer than the body"'
	mailauth sign -d ex.test -s rsa -k rsa.pem --timestamp 1000000000 -x 3600 msg.eml > x.eml
	run verify x.eml
	assert_output --partial 'dkim=fail reason="signature expired (x=)"'
	run oracle_verify < x.eml
	assert_output fail
}

@test "mailauth verify hostile: 512-bit and 16384-bit keys, revoked and wrong-type keys, no key" {
	mailauth sign -d ex.test -s short -k short.pem msg.eml > short.eml
	run verify short.eml
	assert_output --partial 'dkim=permerror reason="RSA key shorter than 1024 bits (RFC 8301)"'
	run oracle_verify < short.eml
	assert_output fail
	mailauth sign -d ex.test -s huge -k rsa.pem msg.eml > huge.eml
	run timeout 10 mailauth verify --dns "127.0.0.1:$DNS_PORT" huge.eml
	assert_output --partial 'dkim=permerror reason="RSA key longer than 8192 bits"'
	mailauth sign -d ex.test -s revoked -k rsa.pem msg.eml > rev.eml
	run verify rev.eml
	assert_output --partial 'reason="key revoked (empty p=)"'
	mailauth sign -d ex.test -s wrongtype -k rsa.pem msg.eml > wt.eml
	run verify wt.eml
	assert_output --partial "dkim=permerror"
	mailauth sign -d ex.test -s nokey -k rsa.pem msg.eml > nk.eml
	run verify nk.eml
	assert_output --partial 'dkim=permerror reason="no key for signature"'
}

@test "mailauth verify hostile: a 4,000-byte key record (TCP) still works" {
	mailauth sign -d ex.test -s big -k rsa.pem msg.eml > big.eml
	run verify big.eml
	assert_output --partial "dkim=pass header.d=ex.test header.s=big"
	run oracle_verify < big.eml
	assert_output pass
}

@test "mailauth verify hostile: 50 signatures, only the first 20 are checked" {
	local i
	cp msg.eml m50.eml
	for i in $(seq 50); do
		mailauth sign -d ex.test -s ed -k ed.pem m50.eml > t.eml && mv t.eml m50.eml
	done
	run timeout 20 mailauth verify --dns "127.0.0.1:$DNS_PORT" m50.eml
	assert_success
	[ "$(grep -o 'dkim=pass' <<< "$output" | wc -l)" = 20 ]
}

@test "mailauth verify hostile: malformed tags give permerror, never a crash" {
	local v
	for v in "" ";" "=" "v" "v=1; v=1" "1v=1" "v=1; a=rsa-sha256" "a b=c" \
		"v=1; a=rsa-sha256; b=!!; bh=!!; d=ex.test; s=rsa; h=from" \
		"v=2; a=rsa-sha256; b=AA==; bh=AA==; d=ex.test; s=rsa; h=from" \
		"v=1; a=rsa-sha1; b=AA==; bh=AA==; d=ex.test; s=rsa; h=from" \
		"v=1; a=rsa-sha256; b=AA==; bh=AA==; d=ex.test; s=rsa; h=to" \
		"v=1; a=rsa-sha256; b=AA==; bh=AA==; d=ex.test; s=rsa; h=from; i=@evil.test" \
		"v=1; a=rsa-sha256; b=AA==; bh=AA==; d=ex.test; s=rsa; h=from; c=odd" \
		"v=1; a=rsa-sha256; b=AA==; bh=AA==; d=../x; s=rsa; h=from" \
		"v=1; a=rsa-sha256; b=AA==; bh=AA==; d=ex.test; s=rsa; h=from; t=5; x=4" \
		$'v=1; a=\x01; d=ex.test' \
		"$(printf 't%d=x; ' $(seq 40))"; do
		{ printf 'DKIM-Signature: %s\r\n' "$v"; cat msg.eml; } > bad.eml
		run verify bad.eml
		assert_success
		assert_output --partial "dkim=permerror"
	done
}

# dmsg FROM: a message from FROM
dmsg() {
	printf 'From: %s\r\nTo: bob@other.test\r\nSubject: dmarc\r\n\r\nbody\r\n' "$1"
}

@test "mailauth verify DMARC: aligned DKIM or SPF passes, relaxed and strict, sp= for subdomains" {
	dmsg alice@ex.test | mailauth sign -d ex.test -s rsa -k rsa.pem > d1.eml
	run verify d1.eml
	assert_output --partial "dmarc=pass (p=reject sp=quarantine pct=100 dis=none) header.from=ex.test"
	dmsg alice@ex.test > d2.eml
	run verify --ip 192.0.2.1 --sender bounce@ex.test d2.eml
	assert_output --partial "spf=pass smtp.mailfrom=bounce@ex.test"
	assert_output --partial "dmarc=pass"
	run verify --ip 192.0.2.9 --sender bounce@ex.test d2.eml
	assert_output --partial "spf=fail"
	assert_output --partial "dmarc=fail (p=reject sp=quarantine pct=100 dis=reject) header.from=ex.test"
	# a subdomain: the organization's record, sp= applies; relaxed alignment
	dmsg bob@sub.ex.test | mailauth sign -d ex.test -s rsa -k rsa.pem > d3.eml
	run verify d3.eml
	assert_output --partial "dmarc=pass"
	assert_output --partial "header.from=sub.ex.test"
	dmsg bob@sub.ex.test > d4.eml
	run verify d4.eml
	assert_output --partial "dmarc=fail (p=reject sp=quarantine pct=100 dis=quarantine)"
	# strict: sub.strict.test is not strict.test
	dmsg bob@sub.strict.test > d5.eml
	run verify --ip 192.0.2.1 --sender a@strict.test d5.eml
	assert_output --partial "spf=pass"
	assert_output --partial "dmarc=fail"
	dmsg bob@strict.test > d6.eml
	run verify --ip 192.0.2.1 --sender a@strict.test d6.eml
	assert_output --partial "dmarc=pass"
	# a signature by another domain does not align
	dmsg alice@strict.test | mailauth sign -d ex.test -s rsa -k rsa.pem > d7.eml
	run verify d7.eml
	assert_output --partial "dkim=pass"
	assert_output --partial "dmarc=fail"
}

# agree ENVELOPE-IP SENDER HELO FILE...: mailauth's dmarc= result for each
# file is authheaders' ("-": no envelope, no SPF)
agree() {
	local ip=$1 sender=$2 helo=$3 f r
	shift 3
	$PY "$ROOT/tests/lib/dmarc_oracle.py" "$DNS_PORT" "$ip" "$sender" "$helo" "$@" > oracle.txt
	for f in "$@"; do
		if [ "$ip" = - ]; then r=$(verify "$f"); else r=$(verify --ip "$ip" --sender "$sender" --helo "$helo" "$f"); fi
		printf '%s %s\n' "$f" "$(printf '%s\n' "$r" | grep -o 'dmarc=[a-z]*' | cut -d= -f2)"
	done > ours.txt
	diff -u oracle.txt ours.txt
	cat oracle.txt >> all-oracle.txt
}

@test "mailauth verify DMARC agrees with authheaders (python3-authheaders, its own DKIM, SPF and public suffixes) on every case" {
	$PY -c 'import authheaders' 2>/dev/null || skip "python3-authheaders is not installed"
	rm -f all-oracle.txt
	dmsg alice@ex.test | mailauth sign -d ex.test -s rsa -k rsa.pem > o-signed.eml
	dmsg alice@ex.test | mailauth sign -d ex.test -s ed -k ed.pem -a ed25519-sha256 > o-ed.eml
	# subdomains under a listed suffix: the organization's record, relaxed alignment, sp=
	dmsg bob@sub.ex.co.uk | mailauth sign -d ex.co.uk -s rsa -k rsa.pem > o-sub-signed.eml
	dmsg bob@sub.ex.co.uk > o-sub.eml
	dmsg bob@ex.co.uk | mailauth sign -d sub.ex.co.uk -s rsa -k rsa.pem > o-sub-signer.eml
	dmsg alice@strict.test | mailauth sign -d ex.test -s rsa -k rsa.pem > o-other-signer.eml
	dmsg alice@ex.test > o-plain.eml
	dmsg a@other.test > o-norecord.eml
	dmsg a@pct.test > o-pct.eml
	sed 's/^Subject: dmarc/Subject: changed/' o-signed.eml > o-tampered.eml
	agree - - - o-signed.eml o-ed.eml o-sub-signed.eml o-sub.eml o-sub-signer.eml o-other-signer.eml o-plain.eml o-norecord.eml o-tampered.eml
	dmsg bob@sub.strict.co.uk > o-strict-sub.eml
	dmsg bob@strict.co.uk > o-strict.eml
	agree 192.0.2.1 bounce@ex.test mx.ex.test o-plain.eml o-tampered.eml
	agree 192.0.2.1 bounce@ex.co.uk mx.ex.co.uk o-sub.eml
	agree 192.0.2.9 bounce@ex.co.uk mx.ex.co.uk o-sub.eml
	agree 192.0.2.9 bounce@ex.test mx.ex.test o-plain.eml o-signed.eml
	agree 192.0.2.1 a@strict.co.uk mx.strict.co.uk o-strict-sub.eml o-strict.eml
	# the table holds each verdict, so agreeing is not agreeing on nothing
	for v in pass fail none; do grep -q " $v\$" all-oracle.txt; done
}

@test "mailauth verify DMARC: pct=, no record, broken and double records, two From fields" {
	dmsg a@pct.test > p.eml
	run verify --dmarc-sample 10 p.eml
	assert_output --partial "dmarc=fail (p=reject pct=50 dis=reject)"
	run verify --dmarc-sample 60 p.eml
	assert_output --partial "dmarc=fail (p=reject pct=50 dis=quarantine)"
	dmsg a@other.test > n.eml
	run verify n.eml
	assert_output --partial 'dmarc=none reason="no DMARC record" header.from=other.test'
	dmsg a@broken.test > b.eml
	run verify b.eml
	assert_output --partial "dmarc=none"
	dmsg a@two.test > t.eml
	run verify t.eml
	assert_output --partial "dmarc=none"
	{ printf 'From: a@ex.test\r\n'; dmsg b@other.test; } > f2.eml
	run verify f2.eml
	assert_output --partial 'dmarc=permerror reason="not exactly one From address with a domain"'
	run mailauth verify -v --dns "127.0.0.1:$DNS_PORT" d2.eml
	assert_output --partial "_dmarc.ex.test"
	assert_output --partial "organizational domain ex.test"
}

arc_oracle() {
	$ORACLE arcverify records 2>/dev/null
}

@test "mailauth seal: dkimpy validates our chain; we validate dkimpy's; mixed chains of two" {
	mailauth sign -d ex.test -s rsa -k rsa.pem msg.eml > signed.eml
	mailauth seal -d ex.test -s rsa -k rsa.pem --authserv-id fwd1.test --dns "127.0.0.1:$DNS_PORT" signed.eml > a1.eml
	head -1 a1.eml | grep -q '^ARC-Seal: i=1; a=rsa-sha256; cv=none; d=ex.test;'
	grep -q '^ARC-Authentication-Results: i=1; fwd1.test;' a1.eml
	run arc_oracle < a1.eml
	assert_output pass
	run verify a1.eml
	assert_output --partial "arc=pass (i=1)"
	# dkimpy seals over ours (i=2), we verify; we seal over dkimpy's (i=2), it verifies
	{ printf 'Authentication-Results: fwd2.test; arc=pass\r\n'; cat a1.eml; } |
		$ORACLE arcsign rsa.pem rsa ex.test fwd2.test > a2.eml
	run verify a2.eml
	assert_output --partial "arc=pass (i=2)"
	$ORACLE arcsign rsa.pem rsa ex.test fwd1.test < signed.eml > p1.eml
	run verify p1.eml
	assert_output --partial "arc=pass (i=1)"
	mailauth seal -d ex.test -s rsa -k rsa.pem --authserv-id fwd2.test --dns "127.0.0.1:$DNS_PORT" p1.eml > p2.eml
	grep -q '^ARC-Seal: i=2; a=rsa-sha256; cv=pass;' p2.eml
	run arc_oracle < p2.eml
	assert_output pass
	# an Ed25519 seal (RFC 8463 keys work for ARC too; dkimpy 1.1 cannot check it)
	mailauth seal -d ex.test -s ed -k ed.pem --authserv-id fwd3.test --dns "127.0.0.1:$DNS_PORT" p2.eml > p3.eml
	run verify p3.eml
	assert_output --partial "arc=pass (i=3)"
	# tampered after the last seal: both fail
	for f in a1 a2 p2; do
		sed 's/Hello/Jello/' $f.eml > t.eml
		run arc_oracle < t.eml
		assert_output fail
		run verify t.eml
		assert_output --partial 'arc=fail reason="AMS body hash did not verify"'
	done
	# a seal changed: both fail
	sed '0,/cv=none/s//cv=pass/' a1.eml > t2.eml
	run verify t2.eml
	assert_output --partial "arc=fail"
	run arc_oracle < t2.eml
	assert_output fail
}

@test "mailauth seal: the AAR copies the forwarder's own Authentication-Results from arrival (RFC 8617 5.1.1), not a check after the footer" {
	mailauth sign -d ex.test -s rsa -k rsa.pem msg.eml > orig.eml
	# on arrival the forwarder (list.test) records its results in the message
	mailauth verify --add --dns "127.0.0.1:$DNS_PORT" --authserv-id list.test --ip 192.0.2.9 \
		--sender list-bounce@ex.test orig.eml > arrived.eml
	grep -A3 '^Authentication-Results: list.test;' arrived.eml | grep -q 'dkim=pass'
	{ cat arrived.eml; printf -- '-- \r\nsent through the list\r\n'; } > footer.eml
	mailauth seal -d ex.test -s rsa -k rsa.pem --authserv-id list.test --dns "127.0.0.1:$DNS_PORT" \
		footer.eml > fwd.eml
	# DKIM is broken now, but the AAR says what list.test saw: dkim=pass
	run verify fwd.eml
	assert_output --partial "dkim=fail"
	assert_output --partial "arc=pass (i=1)"
	run sh -c "sed -n '/^ARC-Authentication-Results: i=1; list.test;/,/^[^ \t]/p' fwd.eml"
	assert_output --partial "dkim=pass"
	refute_output --partial "dkim=fail"
	run arc_oracle < fwd.eml
	assert_output pass
	# another host's Authentication-Results are not ours to copy: the seal checks itself
	sed 's/^Authentication-Results: list.test;/Authentication-Results: other.test;/' footer.eml > other.eml
	mailauth seal -d ex.test -s rsa -k rsa.pem --authserv-id list.test --dns "127.0.0.1:$DNS_PORT" \
		other.eml > fwd2.eml
	run sh -c "sed -n '/^ARC-Authentication-Results: i=1; list.test;/,/^[^ \t]/p' fwd2.eml"
	assert_output --partial "dkim=fail"
}

@test "mailauth seal: a forwarder adds a footer; DKIM breaks, ARC keeps the trail" {
	mailauth sign -d ex.test -s rsa -k rsa.pem msg.eml > orig.eml
	# the forwarder checks what arrived, changes the body, then seals
	verify orig.eml > ar.txt
	grep -q "dkim=pass" ar.txt
	{ cat orig.eml; printf -- '-- \r\nsent through the list\r\n'; } > footer.eml
	mailauth seal -d ex.test -s rsa -k rsa.pem --authserv-id list.test --dns "127.0.0.1:$DNS_PORT" \
		--ip 192.0.2.9 --sender list-bounce@ex.test footer.eml > fwd.eml
	run verify fwd.eml
	assert_output --partial "dkim=fail"
	assert_output --partial "arc=pass (i=1)"
	run arc_oracle < fwd.eml
	assert_output pass
	# the seal's AAR is what the forwarder saw when the message came in
	grep -A3 '^ARC-Authentication-Results: i=1; list.test;' fwd.eml | grep -q "spf=fail"
	# and the hostile sides: 51 sets, a missing AMS, an instance gap
	cp fwd.eml chain.eml
	sed '/^ARC-Message-Signature: i=1/,/^[^ \t]/{/^ARC-Message-Signature/d;/^[ \t]/d}' fwd.eml > noams.eml
	run verify noams.eml
	assert_output --partial 'arc=fail reason="an ARC set is incomplete or missing"'
	sed 's/^ARC-Seal: i=1;/ARC-Seal: i=51;/' fwd.eml > i51.eml
	run verify i51.eml
	assert_output --partial 'arc=fail reason="an ARC field without a valid i="'
}
