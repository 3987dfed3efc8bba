# tests/lib/dns.bash — a real DNS server for tests and labs: dnsmasq on a
# loopback high port, as an ordinary process, with its own records and no
# system configuration (no /etc/resolv.conf, no /etc/hosts, no upstream).
#
# Load it from a bats file (after `load helpers`) with
#     load ../lib/dns
# or from any bash script with   . tests/lib/dns.bash
#
# Build a configuration file, then start the server:
#     conf=$BATS_FILE_TMPDIR/dns.conf
#     dns_conf_new   "$conf" test             # answer for *.test only; unknown names: NXDOMAIN
#     dns_add_mx     "$conf" example.test 10 mx1.example.test
#     dns_add_host   "$conf" mx1.example.test 127.0.0.2 ::1   # A and/or AAAA
#     dns_add_cname  "$conf" alias.test example.test
#     dns_add_txt    "$conf" 2.0.0.127.bl.test "listed, see http://bl.test/"
#     dns_add_nullmx "$conf" nomail.test        # RFC 7505 "MX 0 ."
#     dns_add_rr     "$conf" NAME TYPE HEXDATA  # any record, RFC 3597 style
#     dns_add_long_txt "$conf" NAME TEXT        # TXT longer than a configuration line
#     dns_add_auth_zone "$conf" lab.test        # authoritative: aa, SOA, NS (own dnsmasq: see below)
#     dns_servfail_start 21510                  # a responder that answers SERVFAIL...
#     dns_add_servfail "$conf" broken.test 21510   # ...and names whose answers come from it
#     dns_start "$conf" 21500                   # dnsmasq on 127.0.0.1:21500 (+ ::1 with a 3rd arg "127.0.0.1 ::1")
#     dig @127.0.0.1 -p 21500 example.test MX   # now answers; so does  mxlookup -s 127.0.0.1:21500
#     dns_blackhole_start 21520                 # a UDP port that takes queries and never answers
#     dns_stop                                  # stop everything these functions started
#
# Every process started here is remembered in $DNS_PIDFILE (default
# $BATS_FILE_TMPDIR/dns.pids, else $TMPDIR) and stopped by dns_stop; call
# it in teardown / teardown_file.  Background processes close fd 3 so bats
# does not wait for them.  dnsmasq's log (with every query) is in
# $DNS_LOG (default: next to the configuration file, FILE.log).
# Tools: dnsmasq (Debian dnsmasq-base), dig (bind9-dnsutils), python3.

DNS_PY=/usr/bin/python3
[ -x "$DNS_PY" ] || DNS_PY=python3

_dns_pidfile() {
	echo "${DNS_PIDFILE:-${BATS_FILE_TMPDIR:-${TMPDIR:-/tmp}}/dns.pids}"
}

# dns_conf_new FILE DOMAIN...: a fresh configuration; each DOMAIN is answered
# from local records only (NXDOMAIN for names it does not have).
dns_conf_new() {
	local f=$1 d
	shift
	: > "$f"
	for d in "$@"; do echo "local=/$d/" >> "$f"; done
}

# dns_add_mx FILE DOMAIN PREF HOST
dns_add_mx() { echo "mx-host=$2,$4,$3" >> "$1"; }

# dns_add_host FILE NAME ADDR...: one A or AAAA record per address.
dns_add_host() {
	local f=$1 n=$2 a
	shift 2
	for a in "$@"; do echo "host-record=$n,$a" >> "$f"; done
}

# dns_add_cname FILE ALIAS TARGET (dnsmasq only serves CNAMEs to names it knows)
dns_add_cname() { echo "cname=$2,$3" >> "$1"; }

# dns_add_txt FILE NAME TEXT
dns_add_txt() { printf 'txt-record=%s,"%s"\n' "$2" "$3" >> "$1"; }

# dns_add_long_txt FILE NAME TEXT: a TXT record longer than the ~1000 bytes
# a dnsmasq configuration line holds (DKIM keys of 4096 bits and more):
# it goes on dnsmasq's command line instead, from FILE.args.
dns_add_long_txt() { printf -- '--txt-record=%s,%s\n' "$2" "$3" >> "$1.args"; }

# dns_add_rr FILE NAME TYPE HEXDATA: any record (TYPE as a number).
dns_add_rr() { echo "dns-rr=$2,$3,$4" >> "$1"; }

# dns_add_auth_zone FILE ZONE [ADDR]: answer for ZONE authoritatively (aa
# flag, SOA in the authority section of NXDOMAIN and NODATA answers, NS
# ns.ZONE) on ADDR (default 127.0.0.1; it must be an address of an
# interface, as 127.0.0.1 and ::1 are, not any 127.x).  There dnsmasq
# answers its auth zones only and REFUSES every other name, so an auth zone
# gets a dnsmasq of its own, with its own file and port:
#     dns_conf_new auth.conf; dns_add_auth_zone auth.conf lab.test
#     dns_add_mx auth.conf lab.test 10 mx.lab.test; dns_start auth.conf 21501
dns_add_auth_zone() {
	local f=$1 z=$2 a=${3:-127.0.0.1}
	grep -q '^auth-server=' "$f" || echo "auth-server=ns.$z,$a" >> "$f"
	{
		echo "auth-zone=$z"
		echo "auth-soa=$(date +%Y%m%d)01,hostmaster.$z"
		echo "host-record=ns.$z,$a"
	} >> "$f"
}

# dns_add_nullmx FILE DOMAIN: RFC 7505 null MX, preference 0, host "."
dns_add_nullmx() { dns_add_rr "$1" "$2" 15 000000; }

# dns_add_servfail FILE DOMAIN PORT: forward DOMAIN to the responder on PORT
# (dns_servfail_start), so dnsmasq passes its SERVFAIL on.
dns_add_servfail() { echo "server=/$2/127.0.0.1#$3" >> "$1"; }

_dns_remember() { echo "$1" >> "$(_dns_pidfile)"; }

# dns_wait PORT [SECS] [ADDR]: until the server answers (at most SECS, default 10).
dns_wait() {
	local port=$1 secs=${2:-10} addr=${3:-127.0.0.1} i
	for ((i = 0; i < secs * 10; i++)); do
		dig @"$addr" -p "$port" +time=1 +tries=1 +short version.bind CH TXT >/dev/null 2>&1 &&
			return 0
		sleep 0.1
	done
	echo "dns: nothing answers on $addr#$port after ${secs}s" >&2
	return 1
}

# dns_start FILE PORT [ADDRS]: run dnsmasq in the background on PORT of each
# address (default 127.0.0.1) and wait until it answers.
dns_start() {
	local f=$1 port=$2 addrs=${3:-127.0.0.1} a args=()
	for a in $addrs; do args+=("--listen-address=$a"); done
	[ -f "$f.args" ] && mapfile -t -O ${#args[@]} args < "$f.args"
	dnsmasq --no-daemon --conf-file="$f" --port="$port" "${args[@]}" \
		--bind-interfaces --no-resolv --no-hosts --no-poll --pid-file= \
		--user="$(id -un)" --log-queries --log-facility=- \
		>"${DNS_LOG:-$f.log}" 2>&1 3>&- &
	_dns_remember $!
	dns_wait "$port" 10 "${addrs%% *}"
}

# dns_run FILE PORT [ADDRS]: the same in the foreground (labs: Ctrl-C stops it).
dns_run() {
	local f=$1 port=$2 addrs=${3:-127.0.0.1} a args=()
	for a in $addrs; do args+=("--listen-address=$a"); done
	exec dnsmasq --no-daemon --conf-file="$f" --port="$port" "${args[@]}" \
		--bind-interfaces --no-resolv --no-hosts --no-poll --pid-file= \
		--user="$(id -un)" --log-queries --log-facility=-
}

# dns_servfail_start PORT: a UDP responder on 127.0.0.1:PORT that answers
# every query with SERVFAIL (RCODE 2), echoing its id and question.
dns_servfail_start() {
	"$DNS_PY" -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", int(sys.argv[1])))
while True:
    q, peer = s.recvfrom(4096)
    if len(q) >= 12:
        s.sendto(q[:2] + bytes([0x80 | (q[2] & 0x79), 0x82]) + q[4:6] + bytes(6) + q[12:], peer)
' "$1" 3>&- &
	_dns_remember $!
	dns_wait "$1" 10
}

# dns_blackhole_start PORT: a UDP socket on 127.0.0.1:PORT that reads
# queries and never answers (a dead server: the client must time out).
# It exits by itself after 120 s in case nobody stops it.
dns_blackhole_start() {
	"$DNS_PY" -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.settimeout(1)
end = time.time() + 120
while time.time() < end:
    try: s.recv(4096)
    except socket.timeout: pass
' "$1" 3>&- &
	_dns_remember $!
	local i
	for ((i = 0; i < 100; i++)); do
		[ -n "$(ss -Hlun "sport = :$1" 2>/dev/null)" ] && return 0
		sleep 0.05
	done
	echo "dns: blackhole on port $1 did not start" >&2
	return 1
}

# dns_stop: stop every process the functions above started.
dns_stop() {
	local f p
	f=$(_dns_pidfile)
	[ -f "$f" ] || return 0
	while read -r p; do kill "$p" 2>/dev/null; done < "$f"
	while read -r p; do
		for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$p" 2>/dev/null || break; sleep 0.05; done
		kill -9 "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done < "$f"
	rm -f "$f"
}
