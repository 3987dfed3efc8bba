#!/bin/sh
# Install what maillab needs on Debian: as root with apt-get, otherwise print
# the exact command and stop.  Groups: build, test, bench.
set -u
build="gcc make pkg-config libssl-dev libcrypt-dev openssl"
test="check bats bats-support bats-assert mandoc python3 python3-aiosmtpd curl swaks libnet-ssleay-perl
      libauthen-sasl-perl libdigest-hmac-perl libio-socket-inet6-perl socat
      netcat-openbsd dnsmasq-base bind9-dnsutils xinetd fetchmail isync mutt postfix iproute2
      tmux offlineimap3 dovecot-imapd msmtp dovecot-lmtpd libpython3.11-testsuite gpgsm"
bench="qprint mblaze ripmime mpack dovecot-pop3d dovecot-imapd postfix hyperfine coreutils"
fuzz="clang libclang-rt-14-dev"

want=""
for g in "$@"; do eval "want=\"\$want \$$g\""; done
command -v dpkg-query >/dev/null 2>&1 || { echo "deps: not a Debian system; install by hand:$want" >&2; exit 0; }

missing=""
for p in $want; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)
	case "$st" in *" installed") ;; *) missing="$missing $p" ;; esac
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing packages; run as root:" >&2
	echo "  apt-get install -y$missing" >&2
	exit 1
fi
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
# postfix asks questions at install time; answer them before it is installed.
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections 2>/dev/null || true
apt-get update -qq >/dev/null || { echo "deps: apt-get update failed" >&2; exit 1; }
apt-get install -y -qq --no-install-recommends $missing >/dev/null ||
	{ echo "deps: apt-get install failed:$missing" >&2; exit 1; }
