# shellcheck shell=bash
# labs/ports.sh — free loopback ports, for the lab checks (labs/lib.sh), the
# bats tests (tests/cli/helpers.bash) and maillab-demo (tests/demo.sh), which
# all source it.  Bash: it needs $RANDOM and /dev/tcp.

# port_open PORT [ADDR]: something accepts connections there.
port_open() {
	(exec 3<>"/dev/tcp/${2:-127.0.0.1}/$1") 2>/dev/null
}

# port_claim PORT: mark PORT as handed out, so that the next free_port does
# not give it again before the server it was meant for has bound it (two
# calls in a row, with nothing listening yet, would otherwise return the same
# port; imapd then holds it and smtpd's bind fails).  A claim is a file in
# ${TMPDIR:-/tmp}/maillab-ports that counts for a minute; 1 if it is held.
port_claim() {
	local d=${TMPDIR:-/tmp}/maillab-ports
	[ -d "$d" ] || { mkdir -p "$d" && chmod 1777 "$d"; } 2>/dev/null
	[ -n "$(find "$d/$1" -mmin -1 2>/dev/null)" ] && return 1
	(: > "$d/$1" && touch "$d/$1") 2>/dev/null
	return 0
}

# port_find BASE SPREAD [ADDR]: a free TCP port, claimed, searched upwards
# from BASE plus a random 0..SPREAD-1 (so that runs side by side seldom meet).
port_find() {
	local p
	for ((p = $1 + RANDOM % $2; p < 65000; p++)); do
		# No socket may hold it at all: a port in the ephemeral range can be
		# the local port of some outgoing connection, which refuses a
		# connect (nothing listens) yet makes the server's bind fail.
		[ -z "$(ss -Htan "( sport = :$p )" 2>/dev/null)" ] || continue
		port_open "$p" "${3:-127.0.0.1}" && continue
		port_claim "$p" || continue
		echo "$p"
		return 0
	done
	return 1
}
