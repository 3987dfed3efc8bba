#!/usr/bin/env bats
# mailauth against OpenDKIM (Debian opendkim-tools 2.11), an oracle nobody
# here wrote: opendkim-testmsg verifies what mailauth signs (RSA and
# Ed25519, relaxed and simple) and fails tampered copies; what
# opendkim-testmsg signs (rsa-sha1, its only algorithm) mailauth refuses.  opendkim's tools ask the system resolver
# only, so the verifying side runs under tests/lib/resolv-ns: new mount and
# network namespaces where /etc/resolv.conf points at a dnsmasq on
# 127.0.0.1:53 serving our keys (root only; skipped otherwise).  The host's
# resolver is never touched.
PORT_BASE=31700
load helpers
load ../lib/dns

RESOLV_NS="$ROOT/tests/lib/resolv-ns"

setup_file() {
	export DNS_PIDFILE="$BATS_FILE_TMPDIR/dns.pids"
	export DNSCONF="$BATS_FILE_TMPDIR/dns.conf"
	cd "$BATS_FILE_TMPDIR"
	rm -f ./*.pem
	mailauth keygen -k rsa.pem --data > rsa.txt
	mailauth keygen -a ed25519-sha256 -k ed.pem --data > ed.txt
	mailauth keygen -k other.pem --data > other.txt
	dns_conf_new "$DNSCONF" test
	dns_add_txt "$DNSCONF" rsa._domainkey.ex.test "$(cat rsa.txt)"
	dns_add_txt "$DNSCONF" ed._domainkey.ex.test "$(cat ed.txt)"
	# a selector whose published key is not the one that signed
	dns_add_txt "$DNSCONF" wrong._domainkey.ex.test "$(cat other.txt)"
	# libopendkim 2.11 refuses a header without Date: as a syntax error
	printf 'From: Alice <alice@ex.test>\r\nTo: bob@other.test\r\nSubject: DKIM  test\r\n\tfolded line\r\nDate: Sun, 6 Dec 2026 10:00:00 +0000\r\nMessage-ID: <1@ex.test>\r\n\r\nHello  world \r\n\r\nsecond\tline\r\n\r\n\r\n' > crlf.eml
	tr -d '\r' < crlf.eml > lf.eml
}

teardown_file() {
	dns_stop
}

setup() {
	command -v opendkim-testmsg > /dev/null || skip "opendkim-testmsg not installed (opendkim-tools)"
	cd "$BATS_FILE_TMPDIR"
}

need_ns() {
	[ "$(id -u)" = 0 ] || skip "opendkim-testmsg reads the system resolver: its namespace needs root"
	command -v unshare > /dev/null || skip "unshare not installed"
}

# testmsg FILE...: "FILE rc" per file, each verified by opendkim-testmsg
# inside the namespace whose resolver serves $DNSCONF.
testmsg() {
	"$RESOLV_NS" "$DNSCONF" bash -c 'for f; do opendkim-testmsg < "$f" 2> "$f.err"; echo "$f $?"; done' _ "$@"
}

@test "opendkim-testmsg verifies what mailauth signs: RSA and Ed25519, relaxed and simple, CRLF and LF" {
	need_ns
	mailauth sign -d ex.test -s rsa -k rsa.pem crlf.eml > rsa-rr.eml
	mailauth sign -d ex.test -s rsa -k rsa.pem -c simple/simple lf.eml > rsa-ss.eml
	mailauth sign -d ex.test -s rsa -k rsa.pem -c relaxed/simple crlf.eml > rsa-rs.eml
	mailauth sign -d ex.test -s ed -k ed.pem -a ed25519-sha256 lf.eml > ed-rr.eml
	mailauth sign -d ex.test -s ed -k ed.pem -a ed25519-sha256 -c simple/simple crlf.eml > ed-ss.eml
	run testmsg rsa-rr.eml rsa-ss.eml rsa-rs.eml ed-rr.eml ed-ss.eml
	echo "$output"
	cat ./*.err
	[ "$status" = 0 ]
	[ "$output" = "rsa-rr.eml 0
rsa-ss.eml 0
rsa-rs.eml 0
ed-rr.eml 0
ed-ss.eml 0" ]
}

@test "opendkim-testmsg fails tampered copies of what mailauth signs (and passes the untouched one in the same run)" {
	need_ns
	mailauth sign -d ex.test -s rsa -k rsa.pem crlf.eml > good.eml
	sed 's/second/Second/' good.eml > body.eml
	sed 's/^Subject: DKIM  test/Subject: DKIM  test!/' good.eml > subject.eml
	mailauth sign -d ex.test -s ed -k ed.pem -a ed25519-sha256 -c simple/simple lf.eml |
		sed 's/^Hello  world /Hello world /' > ed-body.eml
	mailauth sign -d ex.test -s wrong -k rsa.pem crlf.eml > wrongkey.eml
	run testmsg good.eml body.eml subject.eml ed-body.eml wrongkey.eml
	echo "$output"
	cat ./*.err
	[ "$(sed -n 1p <<< "$output")" = "good.eml 0" ]
	for f in body.eml subject.eml ed-body.eml wrongkey.eml; do
		grep -qx "$f [1-9][0-9]*" <<< "$output"
		grep -q "Bad signature" "$f.err"
	done
}

@test "opendkim-testmsg signs with rsa-sha1 only: mailauth reads its signature and refuses it (RFC 8301)" {
	DNS_PORT=$(free_port)
	dns_start "$DNSCONF" "$DNS_PORT"
	opendkim-testmsg -d ex.test -s rsa -k rsa.pem < lf.eml > od.eml
	grep -q '^DKIM-Signature: v=1; a=rsa-sha1;' od.eml
	run mailauth verify --dns "127.0.0.1:$DNS_PORT" od.eml
	assert_output --partial 'dkim=permerror reason="rsa-sha1 is not accepted (RFC 8301)" header.d=ex.test header.s=rsa'
}
