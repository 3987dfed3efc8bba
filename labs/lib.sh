# shellcheck shell=bash
# labs/lib.sh — what every labs/NN-topic/check and solution shares.
# Source it:   . "$(dirname "$0")/../lib.sh"
#
# A check prints one line per thing it verifies, "✔ what is right" or
# "✘ what is missing" (with its cause on the lines under it), and ends with a
# summary, "✔ N/N: …" or "✘ F of N …".  Messages: msg "English" "français".  Exit status:
#   0  everything is right
#   1  something is missing or wrong (the ✘ lines say what)
#   3  the check cannot run: a program it needs is not built yet, or a tool
#      it needs is not installed (it says which; nothing was verified)
#   64 usage error
#
# Sets DIR (the work dir) for the script that sources it.
# Environment: LAB_DIR (the work dir, if not given as argument), MAILLAB_BIN
# (the maillab binaries, default <repo>/bin), LAB_PORT_BASE (where the check
# looks for free loopback ports, default 27000).

LABS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$LABS_DIR/.." && pwd)
# The programs: MAILLAB_BIN, else <repo>/bin in a source tree, else where
# smtpd is found in PATH (installed: labs in $PREFIX/share/maillab/labs).
if [ -n "${MAILLAB_BIN:-}" ]; then BIN=$MAILLAB_BIN
elif [ -d "$ROOT/bin" ] || ! command -v smtpd >/dev/null 2>&1; then BIN=$ROOT/bin
else BIN=$(dirname "$(command -v smtpd)"); fi
PATH="$BIN:$PATH"
export ROOT BIN PATH
# maillab-user, for the solutions: beside lib.sh in a source tree, beside the
# programs once installed (the installed labs have no bin/).
MAILLAB_USER=$LABS_DIR/bin/maillab-user
[ -x "$MAILLAB_USER" ] || MAILLAB_USER=$BIN/maillab-user
[ -x "$MAILLAB_USER" ] || MAILLAB_USER=maillab-user
# Debian's python3 (the pyenv one earlier in PATH may lack modules we use).
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
LAB_PORT_BASE=${LAB_PORT_BASE:-27000}
# shellcheck source=labs/ports.sh
. "$LABS_DIR/ports.sh"
LAB_FAILS=0
LAB_OKS=0
LAB_PIDS=()

# msg "English text" "texte français": the one the reader's locale asks for.
# French when LC_ALL, else LC_MESSAGES, else LANG starts with "fr" (the
# course is taught in French); English otherwise.
case ${LC_ALL:-${LC_MESSAGES:-${LANG:-}}} in fr*) LAB_FR=1 ;; *) LAB_FR=0 ;; esac
lab_french() { [ "$LAB_FR" = 1 ]; }
msg() {
	if [ "$LAB_FR" = 1 ] && [ $# -ge 2 ]; then printf '%s' "$2"; else printf '%s' "$1"; fi
}

# ok EN [FR], ko EN [FR], note EN [FR]: one line in the reader's language
# (with two texts; no command substitution, so no fork per line).
ok() { lab_pick "$@"; printf '\342\234\224 %s\n' "$LAB_T"; LAB_OKS=$((LAB_OKS + 1)); }      # ✔
ko() { lab_pick "$@"; printf '\342\234\230 %s\n' "$LAB_T"; LAB_FAILS=$((LAB_FAILS + 1)); }  # ✘
note() { lab_pick "$@"; printf '  %s\n' "$LAB_T"; }
# lab_pick EN FR (or one text): the reader's one into LAB_T.
lab_pick() {
	if [ $# -eq 2 ]; then
		if [ "$LAB_FR" = 1 ]; then LAB_T=$2; else LAB_T=$1; fi
	else
		LAB_T="$*"
	fi
}

# expect COND-COMMAND... "message": ✔ if the command succeeds, ✘ if not.
expect() {
	local msg=${*: -1}
	set -- "${@:1:$#-1}"
	if "$@" >/dev/null 2>&1; then ok "$msg"; else ko "$msg"; fi
}
# expect2 COND-COMMAND... "English" "français": the same, in two languages.
expect2() {
	local en=${*: -2:1} fr=${*: -1}
	set -- "${@:1:$#-2}"
	if "$@" >/dev/null 2>&1; then ok "$en" "$fr"; else ko "$en" "$fr"; fi
}

# The work dir: first argument, else $LAB_DIR.  Sets DIR (absolute).
lab_dir() {
	local d=${1:-${LAB_DIR:-}}
	if [ -z "$d" ]; then
		echo "$(msg usage utilisation): $(basename "$0") WORKDIR   ($(msg or "ou") LAB_DIR=WORKDIR)" >&2
		exit 64
	fi
	if [ ! -d "$d" ]; then
		ko "$(msg "work dir $d does not exist (make it and do the lab's steps in it)" \
			"le répertoire de travail $d n'existe pas (créez-le et faites-y les étapes du TP)")"
		lab_finish
	fi
	# shellcheck disable=SC2034  # DIR is for the sourcing script
	DIR=$(cd "$d" && pwd)
}

# The same for a solution script, which creates the dir.
solution_dir() {
	local d=${1:-${LAB_DIR:-}}
	if [ -z "$d" ]; then
		echo "$(msg usage utilisation): $(basename "$0") WORKDIR   ($(msg or "ou") LAB_DIR=WORKDIR)" >&2
		exit 64
	fi
	mkdir -p "$d" || exit 73
	# shellcheck disable=SC2034  # DIR is for the sourcing script
	DIR=$(cd "$d" && pwd)
}

# need_prog PROG...: maillab programs this lab cannot do without.
need_prog() {
	local p missing=""
	for p in "$@"; do
		[ -x "$BIN/$p" ] || missing="$missing $p"
	done
	if [ -n "$missing" ]; then
		printf '\342\234\230 %s\n' "$(msg "not built yet:$missing (in $BIN) - run make; this check cannot verify anything without it" \
			"pas encore compilé :$missing (dans $BIN) - lancez make ; sans cela ce contrôle ne peut rien vérifier")"
		exit 3
	fi
}

# need_tool CMD...: outside tools (openssl, dnsmasq, xinetd...).
need_tool() {
	local t missing=""
	for t in "$@"; do
		command -v "$t" >/dev/null 2>&1 || [ -x "$t" ] || missing="$missing $t"
	done
	if [ -n "$missing" ]; then
		printf '\342\234\230 %s\n' "$(msg "not installed:$missing - run tests/deps.sh test as root; this check cannot run" \
			"pas installé :$missing - lancez tests/deps.sh test en root ; ce contrôle ne peut pas tourner")"
		exit 3
	fi
}

have_prog() { [ -x "$BIN/$1" ]; }

# Summary line and exit status.
lab_finish() {
	local total=$((LAB_OKS + LAB_FAILS))
	if [ "$LAB_FAILS" -eq 0 ]; then
		# "✔ N/N" first, the same in both languages: the sheets show it.
		msg "✔ $total/$total: all checks passed." "✔ $total/$total : toutes les vérifications sont réussies."; echo
		exit 0
	fi
	msg "✘ $LAB_FAILS of $total checks failed." "✘ $LAB_FAILS vérifications sur $total ont échoué."; echo
	exit 1
}

# ---- processes -------------------------------------------------------------

# lab_bg CMD...: start in the background, stopped by lab_stop_all (and at exit).
lab_bg() {
	"$@" &
	LAB_PIDS+=($!)
}

lab_stop_all() {
	local p
	for p in "${LAB_PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${LAB_PIDS[@]}"; do
		local i
		for ((i = 0; i < 20; i++)); do kill -0 "$p" 2>/dev/null || break; sleep 0.05; done
		kill -9 "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	LAB_PIDS=()
}
trap lab_stop_all EXIT

# ---- network ---------------------------------------------------------------

# port_open, port_claim and port_find are in ports.sh (shared with the tests
# and the demo).  free_port [ADDR]: a free TCP port from LAB_PORT_BASE upwards.
free_port() {
	port_find "$LAB_PORT_BASE" 3000 "${1:-127.0.0.1}"
}

# wait_port PORT [SECS] [ADDR]: until something listens (bounded).
wait_port() {
	local i
	for ((i = 0; i < ${2:-10} * 20; i++)); do
		port_open "$1" "${3:-127.0.0.1}" && return 0
		sleep 0.05
	done
	return 1
}

# ---- mail users ------------------------------------------------------------

# The uid:gid the lab's mail belongs to.  An ordinary user serves their own
# mail; run as root (CI, a container), the servers refuse to touch mail as
# uid 0 (as Dovecot does), so the lab's mail goes to the "mail" account and
# its dirs are handed over to it.
lab_ids() {
	if [ "$(id -u)" -ne 0 ]; then
		echo "$(id -u):$(id -g)"
	else
		local u
		u=$(getent passwd mail | cut -d: -f3,4)
		echo "${u:-8:8}"
	fi
}

# lab_give DIR...: when root, let the lab's mail account own DIR and reach it.
lab_give() {
	[ "$(id -u)" -eq 0 ] || return 0
	local ids d
	ids=$(lab_ids)
	for d in "$@"; do
		chown -R "$ids" "$d"
		# every dir above must at least be traversable by that account
		d=$(cd "$d/.." && pwd)
		while [ "$d" != / ]; do
			[ -O "$d" ] && chmod o+x "$d" 2>/dev/null
			d=$(dirname "$d")
		done
	done
}

# make_users FILE HOMEBASE USER:PASS...: a Dovecot-style passwd-file, homes
# under HOMEBASE/USER, uid/gid from lab_ids.
make_users() {
	local file=$1 base=$2 ids up
	shift 2
	ids=$(lab_ids)
	: > "$file"
	for up in "$@"; do
		printf '%s:{PLAIN}%s:%s::%s/%s::\n' "${up%%:*}" "${up#*:}" "$ids" "$base" "${up%%:*}" >> "$file"
		mkdir -p "$base/${up%%:*}"
	done
	chmod 644 "$file"
}

# maildir_new DIR: make a Maildir (cur new tmp).
maildir_new() {
	mkdir -p "$1/cur" "$1/new" "$1/tmp"
}

# maildir_files DIR: every message file in DIR's new/ and cur/, one a line.
maildir_files() {
	find "$1/new" "$1/cur" -maxdepth 1 -type f 2>/dev/null | sort
}

maildir_count() {
	maildir_files "$1" | grep -c . || true
}

# header FILE NAME: the first NAME: field of FILE's header, unfolded, value only.
header() {
	awk -v n="$(echo "$2" | tr A-Z a-z)" '
		/^\r?$/ { exit }
		/^[ \t]/ { if (on) v = v " " $0; next }
		{ if (on) { print v; found = 1; exit }
		  i = index($0, ":"); f = tolower(substr($0, 1, i - 1))
		  if (f == n) { on = 1; v = substr($0, i + 1) } }
		END { if (on && !found) print v }' "$1" | tr -d '\r' | sed 's/^[ \t]*//'
}

# transcript FILE: a server's -v log with each reply on one line ("S: 250
# 2.1.0 Ok"), also when the server wrote a reply in pieces that the log
# shows as "S: 250 " / "S: 2.1.0 Ok" / "S: ".
transcript() {
	tr -d '\r' < "$1" 2>/dev/null | awk '
		pend != "" && /^S: / { line = pend substr($0, 4); pend = ""; skip = 1; print line; next }
		pend != "" { print pend; pend = "" }
		skip && /^S: *$/ { skip = 0; next }
		{ skip = 0 }
		/^S: [0-9][0-9][0-9][ -]$/ { pend = $0; next }
		{ print }
		END { if (pend != "") print pend }'
}
