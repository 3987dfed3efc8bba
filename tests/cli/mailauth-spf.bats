#!/usr/bin/env bats
# mailauth spf: RFC 7208 against pyspf (Debian python3-spf) as the oracle,
# both asking the same real DNS server (dnsmasq, tests/lib/dns.bash) over a
# table of records that covers every mechanism, modifier, macro and limit.
PORT_BASE=33000
load helpers
load ../lib/dns

# spf NAME RECORD...: one TXT record per argument at NAME.spf.test
spf() {
	local n=$1 r
	shift
	for r in "$@"; do dns_add_txt "$C" "$n.spf.test" "$r"; done
}

setup_file() {
	export DNS_PIDFILE="$BATS_FILE_TMPDIR/dns.pids"
	C="$BATS_FILE_TMPDIR/dns.conf"
	local i
	DNS_PORT=$(free_port)
	SF_PORT=$(free_port); while [ "$SF_PORT" = "$DNS_PORT" ]; do SF_PORT=$(free_port); done
	export DNS_PORT SF_PORT
	dns_conf_new "$C" test
	spf fail "v=spf1 -all"
	spf pass "v=spf1 +all"
	spf neutral "v=spf1 ?all"
	spf soft "v=spf1 ~all"
	spf default "v=spf1 ip4:10.0.0.1"
	spf ip4 "v=spf1 ip4:192.0.2.0/24 ip4:198.51.100.7 -all"
	spf ip6 "v=spf1 ip6:2001:db8::/32 ip6:2001:db9::1 -all"
	spf upper "V=SPF1 IP4:192.0.2.1 -ALL"
	spf a "v=spf1 a -all"
	dns_add_host "$C" a.spf.test 192.0.2.10 2001:db8::10
	spf acidr "v=spf1 a:host.spf.test/24//64 -all"
	dns_add_host "$C" host.spf.test 198.51.100.20 2001:db8:1::20
	spf mx "v=spf1 mx -all"
	dns_add_mx "$C" mx.spf.test 10 mx1.spf.test
	dns_add_mx "$C" mx.spf.test 20 mx2.spf.test
	dns_add_host "$C" mx1.spf.test 192.0.2.30
	dns_add_host "$C" mx2.spf.test 2001:db8::30
	spf mxcidr "v=spf1 mx:mx.spf.test/28 ~all"
	spf mx11 "v=spf1 mx -all"
	for i in $(seq 11); do dns_add_mx "$C" mx11.spf.test $i m$i.spf.test; done
	dns_add_host "$C" m1.spf.test 192.0.2.99
	spf ptr "v=spf1 ptr -all"
	spf ptrother "v=spf1 ptr:other.test -all"
	dns_add_host "$C" h40.ptr.spf.test 192.0.2.40
	echo "ptr-record=41.2.0.192.in-addr.arpa,liar.ptr.spf.test" >> "$C"
	spf exists "v=spf1 exists:%{i}.wl.spf.test -all"
	dns_add_host "$C" 192.0.2.50.wl.spf.test 127.0.0.2
	spf macros "v=spf1 exists:%{l1r+-}.%{o}.%{ir}.%{v}.m.spf.test -all"
	dns_add_host "$C" foo.macros.spf.test.60.2.0.192.in-addr.m.spf.test 127.0.0.2
	spf macros2 "v=spf1 exists:%{h}.%{d2}.%{l}.h.spf.test -all"
	dns_add_host "$C" mail.example.test.spf.test.bob.h.spf.test 127.0.0.2
	spf six "v=spf1 exists:%{ir}.%{v}.six.spf.test -all"
	dns_add_host "$C" "$("$PY" -c 'import ipaddress; print(".".join(reversed(ipaddress.ip_address("2001:db8::77").exploded.replace(":", ""))))').ip6.six.spf.test" 127.0.0.2
	spf pmacro "v=spf1 exists:%{p}.p.spf.test -all"
	dns_add_host "$C" h40.ptr.spf.test.p.spf.test 127.0.0.2
	spf include "v=spf1 include:ip4.spf.test ~all"
	spf incfail "v=spf1 include:fail.spf.test ?all"
	spf incnone "v=spf1 include:nothing.spf.test -all"
	spf redirect "v=spf1 redirect=ip4.spf.test"
	spf redirall "v=spf1 -all redirect=pass.spf.test"
	spf redirnone "v=spf1 redirect=nothing.spf.test"
	spf exp "v=spf1 -all exp=explain.spf.test"
	dns_add_txt "$C" explain.spf.test "%{i} is not one of %{d}'s designated mail servers"
	spf limit10 "v=spf1 $(for i in $(seq 10); do printf 'a:n%d.spf.test ' $i; done)-all"
	spf limit11 "v=spf1 $(for i in $(seq 11); do printf 'a:n%d.spf.test ' $i; done)-all"
	for i in $(seq 11); do dns_add_host "$C" n$i.spf.test 203.0.113.$i; done
	spf void2 "v=spf1 a:v1.spf.test a:v2.spf.test ip4:192.0.2.1 -all"
	spf void3 "v=spf1 a:v1.spf.test a:v2.spf.test a:v3.spf.test ip4:192.0.2.1 -all"
	spf loop "v=spf1 include:loop.spf.test -all"
	spf bomb "v=spf1 include:bomb1.spf.test include:bomb2.spf.test -all"
	for i in $(seq 1 8); do spf bomb$i "v=spf1 include:bomb$((i + 1)).spf.test include:bomb$((i + 2)).spf.test -all"; done
	spf dup "v=spf1 -all" "v=spf1 +all"
	spf other "google-site-verification=abc" "v=spf10 +all"
	spf bad1 "v=spf1 foo:bar -all"
	spf bad2 "v=spf1 ip4:300.1.1.1 -all"
	spf bad3 "v=spf1 a/33 -all"
	spf bad4 "v=spf1 redirect=a.spf.test redirect=b.spf.test"
	spf bad5 "v=spf1 exists:%{z}.spf.test -all"
	spf bad6 "v=spf1 include -all"
	spf bad7 "v=spf1 a:foo.1 -all"
	spf bad8 "v=spf1 -all ip4:192.0.2.1/"
	spf unknownmod "v=spf1 foo=bar -all"
	spf helo "v=spf1 a:helo.spf.test -all"
	dns_add_host "$C" helo.spf.test 192.0.2.80
	spf broken "v=spf1 include:x.broken.test -all"
	dns_servfail_start "$SF_PORT"
	dns_add_servfail "$C" broken.test "$SF_PORT"
	dns_start "$C" "$DNS_PORT"
	# IP SENDER HELO   (one case a line; "-" is empty)
	cat > "$BATS_FILE_TMPDIR/cases" <<-'CASES'
	192.0.2.1 a@fail.spf.test mail.example.test
	192.0.2.1 a@pass.spf.test mail.example.test
	192.0.2.1 a@neutral.spf.test mail.example.test
	192.0.2.1 a@soft.spf.test mail.example.test
	192.0.2.1 a@default.spf.test mail.example.test
	192.0.2.200 a@ip4.spf.test mail.example.test
	198.51.100.7 a@ip4.spf.test mail.example.test
	198.51.100.8 a@ip4.spf.test mail.example.test
	2001:db8::1 a@ip6.spf.test mail.example.test
	2001:db9::1 a@ip6.spf.test mail.example.test
	2001:db9::2 a@ip6.spf.test mail.example.test
	::ffff:192.0.2.1 a@upper.spf.test mail.example.test
	192.0.2.1 a@upper.spf.test mail.example.test
	192.0.2.10 a@a.spf.test mail.example.test
	192.0.2.11 a@a.spf.test mail.example.test
	2001:db8::10 a@a.spf.test mail.example.test
	198.51.100.99 a@acidr.spf.test mail.example.test
	198.51.101.99 a@acidr.spf.test mail.example.test
	2001:db8:1::ffff a@acidr.spf.test mail.example.test
	2001:db8:2::20 a@acidr.spf.test mail.example.test
	192.0.2.30 a@mx.spf.test mail.example.test
	2001:db8::30 a@mx.spf.test mail.example.test
	192.0.2.31 a@mx.spf.test mail.example.test
	192.0.2.17 a@mxcidr.spf.test mail.example.test
	192.0.2.60 a@mxcidr.spf.test mail.example.test
	192.0.2.99 a@mx11.spf.test mail.example.test
	192.0.2.40 a@ptr.spf.test mail.example.test
	192.0.2.41 a@ptr.spf.test mail.example.test
	192.0.2.40 a@ptrother.spf.test mail.example.test
	192.0.2.50 a@exists.spf.test mail.example.test
	192.0.2.51 a@exists.spf.test mail.example.test
	192.0.2.60 foo-bar@macros.spf.test mail.example.test
	192.0.2.60 foo+baz@macros.spf.test mail.example.test
	192.0.2.60 bar-foo@macros.spf.test mail.example.test
	192.0.2.61 foo-bar@macros.spf.test mail.example.test
	192.0.2.1 bob@macros2.spf.test mail.example.test
	192.0.2.1 bob@macros2.spf.test other.example.test
	2001:db8::77 a@six.spf.test mail.example.test
	2001:db8::78 a@six.spf.test mail.example.test
	192.0.2.40 a@pmacro.spf.test mail.example.test
	192.0.2.1 a@include.spf.test mail.example.test
	192.0.2.200 a@include.spf.test mail.example.test
	203.0.113.1 a@include.spf.test mail.example.test
	192.0.2.1 a@incfail.spf.test mail.example.test
	192.0.2.1 a@incnone.spf.test mail.example.test
	192.0.2.1 a@redirect.spf.test mail.example.test
	203.0.113.1 a@redirect.spf.test mail.example.test
	192.0.2.1 a@redirall.spf.test mail.example.test
	192.0.2.1 a@redirnone.spf.test mail.example.test
	192.0.2.1 a@exp.spf.test mail.example.test
	203.0.113.10 a@limit10.spf.test mail.example.test
	203.0.113.11 a@limit11.spf.test mail.example.test
	203.0.113.1 a@limit11.spf.test mail.example.test
	192.0.2.1 a@void2.spf.test mail.example.test
	192.0.2.1 a@void3.spf.test mail.example.test
	192.0.2.1 a@loop.spf.test mail.example.test
	192.0.2.1 a@bomb.spf.test mail.example.test
	192.0.2.1 a@dup.spf.test mail.example.test
	192.0.2.1 a@other.spf.test mail.example.test
	192.0.2.1 a@nothing.spf.test mail.example.test
	192.0.2.1 a@bad1.spf.test mail.example.test
	192.0.2.1 a@bad2.spf.test mail.example.test
	192.0.2.1 a@bad3.spf.test mail.example.test
	192.0.2.1 a@bad4.spf.test mail.example.test
	192.0.2.1 a@bad5.spf.test mail.example.test
	192.0.2.1 a@bad6.spf.test mail.example.test
	192.0.2.1 a@bad7.spf.test mail.example.test
	192.0.2.1 a@bad8.spf.test mail.example.test
	192.0.2.1 a@unknownmod.spf.test mail.example.test
	192.0.2.80 - helo.spf.test
	192.0.2.81 - helo.spf.test
	192.0.2.1 fail.spf.test mail.example.test
	192.0.2.1 a@broken.spf.test mail.example.test
	192.0.2.1 a@x.broken.test mail.example.test
	CASES
}

teardown_file() {
	dns_stop
}

@test "mailauth spf: agrees with pyspf on every case of the table" {
	local ip s h want got n=0 bad=0
	"$PY" "$ROOT/tests/lib/pyspf.py" "$DNS_PORT" < "$BATS_FILE_TMPDIR/cases" > "$BATS_FILE_TMPDIR/want"
	while read -r ip s h && read -r want <&4; do
		[ "$s" = - ] && s=
		got=$(mailauth spf --dns "127.0.0.1:$DNS_PORT" --ip "$ip" --sender "$s" --helo "$h") ||
			{ echo "$ip ${s:-<>} $h: mailauth exit $?"; bad=$((bad + 1)); }
		got=${got%%$'\n'*}
		n=$((n + 1))
		if [ "$got" != "$want" ]; then
			echo "$ip ${s:-<>} $h: mailauth $got, pyspf $want"
			bad=$((bad + 1))
		fi
	done < "$BATS_FILE_TMPDIR/cases" 4< "$BATS_FILE_TMPDIR/want"
	echo "$n cases, $bad differ"
	[ "$n" -ge 70 ] && [ "$bad" = 0 ]
}

@test "mailauth spf: the table's expected results (not just agreement)" {
	local ip s h r out=""
	while read -r ip s h; do
		[ "$s" = - ] && s=
		r=$(mailauth spf --dns "127.0.0.1:$DNS_PORT" --ip "$ip" --sender "$s" --helo "$h" | head -1)
		out+="${s:-<>}@$ip=$r "
	done < "$BATS_FILE_TMPDIR/cases"
	echo "$out"
	for r in "a@ip4.spf.test@198.51.100.7=pass" "a@ip4.spf.test@198.51.100.8=fail" \
		"a@soft.spf.test@192.0.2.1=softfail" "a@neutral.spf.test@192.0.2.1=neutral" \
		"a@default.spf.test@192.0.2.1=neutral" "a@nothing.spf.test@192.0.2.1=none" \
		"a@mx.spf.test@2001:db8::30=pass" "a@mx11.spf.test@192.0.2.99=permerror" \
		"a@ptr.spf.test@192.0.2.40=pass" "a@ptr.spf.test@192.0.2.41=fail" \
		"foo-bar@macros.spf.test@192.0.2.60=pass" "foo+baz@macros.spf.test@192.0.2.60=pass" "bar-foo@macros.spf.test@192.0.2.60=fail" \
		"a@six.spf.test@2001:db8::77=pass" "a@pmacro.spf.test@192.0.2.40=pass" \
		"a@limit10.spf.test@203.0.113.10=pass" "a@limit11.spf.test@203.0.113.11=permerror" \
		"a@void2.spf.test@192.0.2.1=pass" "a@void3.spf.test@192.0.2.1=permerror" \
		"a@loop.spf.test@192.0.2.1=permerror" "a@bomb.spf.test@192.0.2.1=permerror" \
		"a@dup.spf.test@192.0.2.1=permerror" "a@bad8.spf.test@192.0.2.1=permerror" \
		"a@redirnone.spf.test@192.0.2.1=permerror" "a@incnone.spf.test@192.0.2.1=permerror" \
		"<>@192.0.2.80=pass" "<>@192.0.2.81=fail" "a@broken.spf.test@192.0.2.1=temperror" \
		"a@unknownmod.spf.test@192.0.2.1=fail" "a@redirall.spf.test@192.0.2.1=fail"; do
		[[ " $out" == *" $r "* ]] || { echo "missing: $r"; return 1; }
	done
}

@test "mailauth spf: Received-SPF field, exp= explanation, -v steps" {
	run mailauth spf --dns "127.0.0.1:$DNS_PORT" --authserv-id mx.test --ip 192.0.2.1 \
		--sender a@exp.spf.test --helo mail.example.test
	assert_success
	assert_line --index 0 fail
	assert_line --index 1 "explanation: 192.0.2.1 is not one of exp.spf.test's designated mail servers"
	assert_output --partial "Received-SPF: fail (mx.test: domain of exp.spf.test does not designate 192.0.2.1 as permitted sender)"
	assert_output --partial 'client-ip=192.0.2.1; envelope-from=a@exp.spf.test; helo=mail.example.test; receiver=mx.test; identity=mailfrom; mechanism=-all'
	run mailauth spf -v --dns "127.0.0.1:$DNS_PORT" --ip 192.0.2.1 --sender a@include.spf.test
	assert_output --partial "check_host(192.0.2.1, ip4.spf.test)"
	assert_output --partial "include:ip4.spf.test: match"
	assert_output --partial "ANSWER SECTION"
	run mailauth spf --ip 192.0.2.1
	assert_failure 64
	run mailauth spf --dns "127.0.0.1:$DNS_PORT" --ip not-an-ip --sender a@pass.spf.test
	assert_line --index 0 permerror
}
