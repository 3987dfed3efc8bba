#!/usr/bin/env bats
# mxlookup against a real DNS server (dnsmasq, tests/lib/dns.bash) with its
# own zone, dig as the oracle for the records.
PORT_BASE=29000
load helpers
load ../lib/dns

setup_file() {
	export DNS_PIDFILE="$BATS_FILE_TMPDIR/dns.pids"
	local c="$BATS_FILE_TMPDIR/dns.conf" i
	DNS_PORT=$(free_port)
	SF_PORT=$(free_port); while [ "$SF_PORT" = "$DNS_PORT" ]; do SF_PORT=$(free_port); done
	BH_PORT=$(free_port); while [ "$BH_PORT" = "$DNS_PORT" ] || [ "$BH_PORT" = "$SF_PORT" ]; do
		BH_PORT=$(free_port); done
	export DNS_PORT SF_PORT BH_PORT

	dns_conf_new "$c" test
	# several MX, with a backup MX in another domain
	dns_add_mx "$c" multi.test 10 mx1.multi.test
	dns_add_mx "$c" multi.test 20 mx2.multi.test
	dns_add_mx "$c" multi.test 30 backup.other.test
	dns_add_host "$c" mx1.multi.test 127.0.0.2
	dns_add_host "$c" mx2.multi.test 127.0.0.3 ::1
	dns_add_host "$c" backup.other.test 127.0.0.4
	# equal preferences
	for i in a b c; do
		dns_add_mx "$c" equal.test 10 $i.equal.test
		dns_add_host "$c" $i.equal.test 127.0.1.1
	done
	dns_add_mx "$c" equal.test 20 z.equal.test
	dns_add_host "$c" z.equal.test 127.0.1.2
	# implicit MX, null MX, CNAME chain, MX pointing at a CNAME
	dns_add_host "$c" implicit.test 127.0.0.9
	dns_add_nullmx "$c" nullmx.test
	dns_add_cname "$c" alias.test multi.test
	dns_add_cname "$c" alias2.test alias.test
	dns_add_cname "$c" mxalias.test mx1.multi.test
	dns_add_mx "$c" viacname.test 10 mxalias.test
	# hosts without addresses; a name with no MX and no address
	dns_add_mx "$c" ghost.test 10 nowhere.ghost.test
	dns_add_mx "$c" halfghost.test 10 nowhere.ghost.test
	dns_add_mx "$c" halfghost.test 20 mx1.multi.test
	dns_add_txt "$c" txtonly.test "v=spf1 -all"
	# one host listed three times (another case, two preferences)
	dns_add_mx "$c" dup.test 10 MX.Dup.test
	dns_add_mx "$c" dup.test 10 mx.dup.test
	dns_add_mx "$c" dup.test 5 mx.dup.test
	dns_add_mx "$c" dup.test 20 other.dup.test
	dns_add_host "$c" mx.dup.test 127.0.0.7
	# 40 MX: too big for UDP, answered over TCP
	for i in $(seq 1 40); do
		dns_add_mx "$c" big.test "$i" "a-rather-long-mail-exchanger-name-number-$i.big.test"
	done
	# 120 MX records: more than DNS_MX_MAX (100) are not kept
	for i in $(seq 1 120); do dns_add_mx "$c" many.test "$i" "m$i.many.test"; done
	# a CNAME chain of 10 (more than the 8 we follow)
	for i in $(seq 1 10); do dns_add_cname "$c" "c$i.chain.test" "c$((i + 1)).chain.test"; done
	dns_add_mx "$c" c11.chain.test 10 mx1.multi.test
	# hostile data: a newline in an MX host name, a truncated MX record
	dns_add_rr "$c" hostile.test 15 "000A046D780A78047465737400"
	dns_add_rr "$c" broken-rr.test 15 "00"
	# SERVFAIL from upstream
	dns_servfail_start "$SF_PORT"
	dns_add_servfail "$c" servfail.test "$SF_PORT"
	dns_start "$c" "$DNS_PORT" "127.0.0.1 ::1"
	# an authoritative server of its own: aa flag, SOA in the authority section
	local a="$BATS_FILE_TMPDIR/auth.conf"
	AUTH_PORT=$(free_port)
	while [ "$AUTH_PORT" = "$DNS_PORT" ] || [ "$AUTH_PORT" = "$SF_PORT" ] ||
		[ "$AUTH_PORT" = "$BH_PORT" ]; do AUTH_PORT=$(free_port); done
	export AUTH_PORT
	dns_conf_new "$a"
	dns_add_auth_zone "$a" auth.test
	dns_add_mx "$a" auth.test 10 mx.auth.test
	dns_add_host "$a" mx.auth.test 127.0.0.5
	dns_start "$a" "$AUTH_PORT"
	dns_blackhole_start "$BH_PORT"
}

teardown_file() {
	dns_stop
}

teardown() {
	stop_all
}

mx() {
	mxlookup -s "127.0.0.1:$DNS_PORT" "$@"
}

# The oracle: dig's MX records as "PREF HOST", sorted by preference (stable).
dig_mx() {
	dig @127.0.0.1 -p "$DNS_PORT" +short +tcp "$1" MX | sed 's/\.$//' | sort -s -n -k1,1
}

@test "--help, --version and usage errors" {
	run mxlookup --help
	assert_success
	assert_output --partial "usage: mxlookup"
	run mxlookup --version
	assert_success
	run mxlookup
	assert_failure 64
	run mxlookup --bogus x.test
	assert_failure 64
	run mxlookup -s "127.0.0.1:99999" x.test
	assert_failure 64
	assert_output --partial "bad port"
	run mxlookup -s "[::1" x.test
	assert_failure 64
	run mxlookup -t 0 x.test
	assert_failure 64
	run mxlookup --tries 0 x.test
	assert_failure 64
}

@test "several MX with a backup MX: sorted by preference, as dig shows them" {
	run dig_mx multi.test
	assert_equal "${#lines[@]}" 3
	local want=$output
	run mx multi.test
	assert_success
	assert_output "$want"
	assert_line --index 0 "10 mx1.multi.test"
	assert_line --index 2 "30 backup.other.test"
}

@test "a host listed several times is tried once, at its best preference" {
	run dig_mx dup.test
	assert_equal "${#lines[@]}" 4
	run mx dup.test
	assert_success
	assert_output "5 mx.dup.test
20 other.dup.test"
}

@test "equal preferences are shuffled over runs, the next preference stays last" {
	local i seen=() out
	for i in $(seq 1 30); do
		out=$(mx equal.test)
		[ "$(echo "$out" | sort)" = "$(dig_mx equal.test | sort)" ]
		[ "$(echo "$out" | tail -1)" = "20 z.equal.test" ]
		seen+=("$(echo "$out" | head -3 | tr '\n' ' ')")
	done
	run bash -c 'printf "%s\n" "$@" | sort -u | wc -l' _ "${seen[@]}"
	[ "$output" -gt 1 ]
}

@test "--no-shuffle keeps the server's order, the same every run" {
	local first i
	first=$(mx --no-shuffle equal.test)
	assert_equal "$first" "$(dig @127.0.0.1 -p "$DNS_PORT" +short equal.test MX |
		sed 's/\.$//' | sort -s -n -k1,1)"
	for i in $(seq 1 10); do
		assert_equal "$(mx --no-shuffle equal.test)" "$first"
	done
}

@test "-a prints each host's IPv4 and IPv6 addresses from the same server" {
	run dig @127.0.0.1 -p "$DNS_PORT" +short mx2.multi.test AAAA
	assert_output "::1"
	run mx -a --no-shuffle multi.test
	assert_success
	assert_line --index 0 "10 mx1.multi.test 127.0.0.2"
	assert_line --index 1 "20 mx2.multi.test 127.0.0.3 ::1"
	assert_line --index 2 "30 backup.other.test 127.0.0.4"
}

@test "implicit MX: no MX but an address record gives the domain at preference 0" {
	run dig @127.0.0.1 -p "$DNS_PORT" +short implicit.test MX
	assert_output ""
	run mx implicit.test
	assert_success
	assert_line "0 implicit.test"
	assert_output --partial "implicit MX"
	run mx -a implicit.test
	assert_line "0 implicit.test 127.0.0.9"
}

@test "null MX (RFC 7505): does not accept mail, exit 68" {
	run dig @127.0.0.1 -p "$DNS_PORT" +short nullmx.test MX
	assert_output "0 ."
	run mx nullmx.test
	assert_failure 68
	assert_output --partial "does not accept mail"
	refute_line --regexp '^[0-9]+ '
}

@test "CNAME chains are followed to the MX records" {
	run dig @127.0.0.1 -p "$DNS_PORT" alias2.test MX
	assert_output --partial "CNAME"
	run mx alias2.test
	assert_success
	assert_output "$(dig_mx multi.test)"
	run mx -a viacname.test
	assert_success
	assert_output "10 mxalias.test 127.0.0.2"
}

@test "NXDOMAIN: no such domain, exit 68" {
	run dig @127.0.0.1 -p "$DNS_PORT" nosuch.test MX
	assert_output --partial "status: NXDOMAIN"
	run mx nosuch.test
	assert_failure 68
	assert_output --partial "no such domain"
}

@test "no MX and no address: exit 68" {
	run mx txtonly.test
	assert_failure 68
	assert_output --partial "no MX and no address"
}

@test "MX hosts without an address: listed, and an error only when none has one" {
	run mx -a --no-shuffle halfghost.test
	assert_success
	assert_line "10 nowhere.ghost.test (no address)"
	assert_line "20 mx1.multi.test 127.0.0.2"
	run mx -a ghost.test
	assert_failure 68
	assert_output --partial "no MX host has an address"
	run mx ghost.test          # without -a nothing is resolved
	assert_success
}

@test "SERVFAIL: temporary failure, exit 75" {
	run dig @127.0.0.1 -p "$DNS_PORT" +tries=1 x.servfail.test MX
	assert_output --partial "status: SERVFAIL"
	run mx x.servfail.test
	assert_failure 75
	assert_output --partial "SERVFAIL"
}

@test "a server that never answers: timeout, exit 75, bounded by --timeout and --tries" {
	local t0=$SECONDS
	run mxlookup -s "127.0.0.1:$BH_PORT" -t 0.4 --tries 2 multi.test
	assert_failure 75
	assert_output --partial "timed out"
	[ $((SECONDS - t0)) -le 3 ]
}

@test "nothing listening on the port: exit 75" {
	run mxlookup -s "127.0.0.1:$BH_PORT" -t 0.2 --tries 1 multi.test
	assert_failure 75
	run mxlookup -s "127.0.0.1:1" -t 1 --tries 1 multi.test
	assert_failure 75
	assert_output --partial "refused"
}

@test "--self drops MX hosts at or above our preference, and says so" {
	run mx --self mx2.multi.test multi.test
	assert_success
	assert_output --partial "dropped 2 hosts at preference >= 20"
	assert_line "10 mx1.multi.test"
	refute_line "20 mx2.multi.test"
	refute_line "30 backup.other.test"
	run mx --self MX2.Multi.Test. multi.test      # names compare without case or final dot
	assert_line "10 mx1.multi.test"
	refute_line "20 mx2.multi.test"
}

@test "--self by address: MX hosts are matched on their addresses too" {
	run mx --self 127.0.0.3 multi.test
	assert_success
	assert_output --partial "dropped 2 hosts at preference >= 20"
	assert_line "10 mx1.multi.test"
	refute_line --regexp '^(20|30) '
	run mx --self ::1 multi.test               # mx2's AAAA
	assert_line "10 mx1.multi.test"
	refute_line "20 mx2.multi.test"
	run mx --self elsewhere.test --self 127.0.0.2 multi.test
	assert_failure 78
	run mx --self 127.0.0.9 implicit.test      # the implicit MX's own address
	assert_failure 78
}

@test "--self as the best MX: mail would loop, exit 78" {
	run mx --self mx1.multi.test multi.test
	assert_failure 78
	assert_output --partial "loop"
	refute_line --regexp '^[0-9]+ '
	run mx --self implicit.test implicit.test
	assert_failure 78
}

@test "--self that is not an MX changes nothing" {
	run mx --no-shuffle --self other.host.test multi.test
	assert_success
	assert_output --partial "is not an MX"
	assert_line "30 backup.other.test"
}

@test "-v prints the query and the answer like dig" {
	run mx -v multi.test
	assert_success
	assert_output --partial ";; QUERY to 127.0.0.1#$DNS_PORT (UDP)"
	assert_output --partial ";; QUESTION SECTION:"
	assert_output --partial ";multi.test.			IN	MX"
	assert_output --partial ";; ANSWER SECTION:"
	assert_output --regexp 'multi\.test\.[[:space:]]+[0-9]+[[:space:]]+IN[[:space:]]+MX[[:space:]]+10 mx1\.multi\.test\.'
	assert_output --partial ";; ADDITIONAL SECTION:"
	assert_output --partial "status: NOERROR"
	run mx -v nosuch.test
	assert_output --partial "status: NXDOMAIN"
}

@test "-v shows an authoritative answer: aa flag, SOA in the authority section" {
	run dig @127.0.0.1 -p "$AUTH_PORT" nosuch.auth.test MX
	assert_output --partial "SOA"
	run mxlookup -s "127.0.0.1:$AUTH_PORT" -v nosuch.auth.test
	assert_failure 68
	assert_output --regexp 'flags: qr aa'
	assert_output --partial ";; AUTHORITY SECTION:"
	assert_output --regexp 'auth\.test\.[[:space:]]+[0-9]+[[:space:]]+IN[[:space:]]+SOA[[:space:]]+ns\.auth\.test\. hostmaster\.auth\.test\. [0-9]+ '
	run mxlookup -s "127.0.0.1:$AUTH_PORT" -a auth.test
	assert_success
	assert_output "10 mx.auth.test 127.0.0.5"
}

@test "REFUSED (a server not serving that zone): temporary failure, exit 75" {
	run dig @127.0.0.1 -p "$AUTH_PORT" multi.test MX
	assert_output --partial "status: REFUSED"
	run mxlookup -s "127.0.0.1:$AUTH_PORT" multi.test
	assert_failure 75
	assert_output --partial "REFUSED"
}

@test "a truncated UDP answer is asked again over TCP" {
	run dig @127.0.0.1 -p "$DNS_PORT" +ignore +noedns big.test MX
	assert_output --partial " tc "
	run mx -v --no-shuffle big.test
	assert_success
	assert_output --partial "retrying in TCP mode"
	assert_output --partial "(TCP)"
	run mx --no-shuffle big.test
	assert_equal "${#lines[@]}" 40
	assert_output "$(dig_mx big.test)"
}

@test "hostile data: 120 MX records are cut to the 100 most preferred" {
	run dig @127.0.0.1 -p "$DNS_PORT" +short +tcp many.test MX
	assert_equal "${#lines[@]}" 120
	run mx many.test
	assert_success
	assert_equal "${#lines[@]}" 100
	assert_output "$(dig_mx many.test | head -100)"
}

@test "a CNAME chain longer than 8 is a temporary failure, a shorter one is followed" {
	run dig @127.0.0.1 -p "$DNS_PORT" c1.chain.test MX
	assert_output --partial "c11.chain.test"
	run mx c1.chain.test
	assert_failure 75
	assert_output --partial "CNAME chain longer than 8"
	run mx c4.chain.test
	assert_success
	assert_output "10 mx1.multi.test"
}

@test "IPv6 server address: -s [::1]:PORT" {
	run mxlookup -s "[::1]:$DNS_PORT" --no-shuffle multi.test
	assert_success
	assert_output "$(dig_mx multi.test)"
}

@test "several domains: one block each, the worst exit code (temporary first)" {
	run mx --no-shuffle multi.test nosuch.test
	assert_failure 68
	assert_line "multi.test:"
	assert_line "nosuch.test:"
	assert_line "10 mx1.multi.test"
	run mx multi.test nosuch.test x.servfail.test
	assert_failure 75
}

@test "hostile data: a newline inside an MX host name stays escaped on one line" {
	run dig @127.0.0.1 -p "$DNS_PORT" +short hostile.test MX
	assert_output '10 mx\010x.test.'
	run mx hostile.test
	assert_success
	assert_output '10 mx\010x.test'
}

@test "hostile data: a malformed MX record is a temporary failure, not a crash" {
	run mx broken-rr.test
	assert_failure 75
	assert_output --partial "malformed"
}

@test "invalid domain names are refused before any query" {
	run mx 'a..b.test'
	assert_failure 68
	assert_output --partial "not a valid domain name"
	run mx "$(printf 'x%.0s' $(seq 1 70)).test"
	assert_failure 68
}

@test "without -s the resolver of /etc/resolv.conf is used" {
	grep -q '^nameserver' /etc/resolv.conf || skip "no nameserver in /etc/resolv.conf"
	run mxlookup -t 2 --tries 1 -v nosuch.invalid
	assert_output --partial ";; QUERY to "
	# RFC 6761: .invalid never exists; a resolver says NXDOMAIN (68) or fails (75)
	[ "$status" -eq 68 ] || [ "$status" -eq 75 ]
}
