# Shared set-up for the bats tests: load with   load helpers
# MAILLAB_BIN points at the binaries under test (bin/ or bin-san/).
bats_load_library bats-support
bats_load_library bats-assert

ROOT="$(cd "$BATS_TEST_DIRNAME/../.." && pwd)"
BIN="${MAILLAB_BIN:-$ROOT/bin}"
PATH="$BIN:$PATH"
export ROOT BIN PATH
# Debian's python3 (with python3-aiosmtpd), whatever python3 comes first in PATH.
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

# port_open, port_claim, port_find: the labs' (shared with the demo).
# shellcheck source=labs/ports.sh
. "$ROOT/labs/ports.sh"

# A free TCP port on 127.0.0.1, from a range each test file can pick
# (PORT_BASE) so that files running side by side do not collide.
free_port() {
	port_find "${PORT_BASE:-20000}" 2000
}

# Wait (at most $2 seconds, default 10) until something listens on 127.0.0.1:$1.
wait_port() {
	local port=$1 secs=${2:-30} i
	for ((i = 0; i < secs * 20; i++)); do
		(exec 3<>/dev/tcp/${3:-127.0.0.1}/$port) 2>/dev/null && return 0
		sleep 0.05
	done
	echo "nothing listens on port $port after ${secs}s" >&2
	return 1
}

# wait_for SECS 'CONDITION': evaluate the shell condition every 0.1 s until it
# holds (0) or SECS seconds have passed (1, saying what never came).  Tests
# synchronise on conditions, never on a fixed sleep, whose length holds only
# on a fast idle machine; the bound is for a machine that is neither (ASan on
# two busy cores), so it is generous: a test that passes returns at once.
wait_for() {
	local secs=$1 cond=$2 i
	for ((i = 0; i < secs * 10; i++)); do
		eval "$cond" && return 0
		sleep 0.1
	done
	echo "still not true after ${secs}s: $cond" >&2
	return 1
}

# Start a command in the background, remember its pid for stop_all.
start_bg() {
	"$@" &
	echo $! >> "$BATS_TEST_TMPDIR/pids"
}

# Stop every process start_bg started (TERM, then KILL).
stop_all() {
	local f="$BATS_TEST_TMPDIR/pids" p
	[ -f "$f" ] || return 0
	while read -r p; do kill "$p" 2>/dev/null; done < "$f"
	sleep 0.1
	while read -r p; do kill -9 "$p" 2>/dev/null; wait "$p" 2>/dev/null; done < "$f"
	rm -f "$f"
}

# A throwaway self-signed certificate for localhost: cert.pem and key.pem in
# the current directory, readable by the unprivileged --user a server
# started as root switches to.
make_cert() {
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost \
		-keyout key.pem -out cert.pem 2>/dev/null
	chmod 644 key.pem cert.pem
}

# As root, a server that has dropped to an unprivileged user must still
# reach the test's mail: home/ goes to OWNER (uid:gid, default nobody's
# 65534:65534) and every directory above it becomes searchable.  Nothing
# to do as an ordinary user.
fix_perms() {
	[ "$(id -u)" = 0 ] || return 0
	chown -R "${1:-65534:65534}" "$BATS_TEST_TMPDIR/home"
	local d=$BATS_TEST_TMPDIR
	while [ "$d" != / ]; do chmod o+x "$d"; d=$(dirname "$d"); done
}

# start_imapd [ARGS...]: imapd on a free loopback port, exported as PORT,
# with the test's ./users and no delay after a wrong password; its stderr
# goes to $BATS_TEST_TMPDIR/imapd.log (appended: a test may start two).
start_imapd() {
	PORT=$(free_port)
	start_bg imapd -l "127.0.0.1:$PORT" --users users --auth-delay 0 "$@" \
		2>>"$BATS_TEST_TMPDIR/imapd.log"
	wait_port "$PORT"
	export PORT
}

# imap_pylib: the Python an imapd test's client starts with: imaplib, the
# PORT of start_imapd, and session(), a connection logged in (as bob).
imap_pylib() {
	cat <<-'EOF'
	import imaplib, os
	port = int(os.environ["PORT"])
	def session(user="bob", pw="secret"):
	    M = imaplib.IMAP4("127.0.0.1", port)
	    assert M.login(user, pw)[0] == "OK"
	    return M
	EOF
}

# A real xinetd on a free loopback port (left in PORT), run as the current
# user, starting SERVER with ARGS for each connection as an administrator
# would configure it: start_xinetd NAME SERVER [ARGS...].
start_xinetd() {
	local name=$1 server=$2 conf=$BATS_TEST_TMPDIR/xinetd.conf
	shift 2
	PORT=$(free_port)
	cat > "$conf" <<-EOF
	service $name
	{
	    type        = UNLISTED
	    socket_type = stream
	    protocol    = tcp
	    wait        = no
	    user        = $(id -un)
	    bind        = 127.0.0.1
	    port        = $PORT
	    server      = $server
	    server_args = $*
	    log_type    = FILE $BATS_TEST_TMPDIR/xinetd.log
	}
	EOF
	start_bg xinetd -dontfork -f "$conf" -pidfile "$BATS_TEST_TMPDIR/xinetd.pid"
	wait_port "$PORT"
}

# A listening server's children report sanitizer findings only in its log,
# where they would not fail the client: call from teardown with the log,
# which fails the test (and prints the report) when there is one.
no_sanitizer_report() {
	if [ -f "$1" ] && grep -E -A60 "Sanitizer|runtime error" "$1"; then
		return 1
	fi
}
