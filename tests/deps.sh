#!/bin/sh
# Install what maillab needs on Debian: as root with apt-get, otherwise print
# the exact command and stop.  Groups: build, test, bench.
set -u
build="gcc make pkg-config libssl-dev libcrypt-dev openssl"
# mailauth and smtpd: Ed25519 signatures through libsodium (lib/dkim.c)
build="$build libsodium-dev"
# lib/conn: COMPRESS=DEFLATE (RFC 4978)
build="$build zlib1g-dev"
test="check bats bats-support bats-assert mandoc python3 python3-aiosmtpd curl swaks libnet-ssleay-perl
      libauthen-sasl-perl libdigest-hmac-perl libio-socket-inet6-perl socat
      netcat-openbsd dnsmasq-base bind9-dnsutils xinetd fetchmail isync mutt postfix iproute2
      tmux offlineimap3 dovecot-imapd msmtp dovecot-lmtpd libpython3.11-testsuite systemd"
# imaptest (tests/lib/imaptest.sh) builds against Dovecot's headers
test="$test dovecot-dev autoconf automake libtool"
# OpenSMTPD (unpacked, not installed: it conflicts with postfix) needs these
test="$test libevent-2.1-7 libdb5.3"
# Exim (unpacked, not installed: it conflicts with postfix too) needs these
test="$test libgnutls-dane0 libidn12 libnsl2 libpcre2-8-0"
# S/MIME: the oracle for what smtp-send signs
test="$test gpgsm"
# OpenPGP: gpg runs PGP/MIME for smtp-send and mimecat, and is the oracle
test="$test gnupg gpg-agent"
bench="qprint mblaze ripmime mpack dovecot-pop3d dovecot-imapd postfix hyperfine coreutils"
# mailauth's oracles (dkimpy, pyspf) and DMARC's public suffix list
test="$test python3-dkim python3-spf python3-dnspython python3-nacl publicsuffix"
# the DMARC oracle (tests/lib/dmarc_oracle.py)
test="$test python3-authheaders"
bench="$bench opendkim-tools"
# OpenDKIM as an oracle for what mailauth signs (mailauth-opendkim.bats)
test="$test opendkim-tools"
fuzz="clang libclang-rt-14-dev"
# labs/net/labnet: the lab network's DNS server
test="$test nsd"
# tests/crash/crashcheck records the system calls of a delivery
test="$test strace"
# tests/cli/webmail.bats and lab 17: Roundcube (SQLite) served by php -S,
# driven in headless Chromium with Selenium.  php-cgi first satisfies php's
# SAPI dependency; no web server package (apache2, lighttpd) is installed.
test="$test php-cli php-cgi php-sqlite3 sqlite3 roundcube-core roundcube-sqlite3 chromium chromium-driver python3-selenium"
deb="dpkg-dev fakeroot lintian debootstrap"

want=""
for g in "$@"; do eval "want=\"\$want \$$g\""; done
command -v dpkg-query >/dev/null 2>&1 || { echo "deps: not a Debian system; install by hand:$want" >&2; exit 0; }

# OpenSMTPD conflicts with postfix (each is "the" MTA), so it is only
# unpacked, for the tests that run a private instance of it (delivered-to.bats).
OSMTPD_DIR=/opt/maillab/opensmtpd
unpack_opensmtpd() {
	case " $* " in *" test "*) ;; *) return 0 ;; esac
	[ -x "$OSMTPD_DIR/usr/sbin/smtpd" ] && return 0
	[ "$(id -u)" -eq 0 ] || { echo "deps: as root, unpack opensmtpd into $OSMTPD_DIR" >&2; return 0; }
	tmp=$(mktemp -d)
	(cd "$tmp" && apt-get download opensmtpd >/dev/null 2>&1) && mkdir -p "$OSMTPD_DIR" &&
		dpkg-deb -x "$tmp"/opensmtpd_*.deb "$OSMTPD_DIR" || echo "deps: cannot unpack opensmtpd" >&2
	rm -rf "$tmp"
}

# Exim likewise, for dsn.bats's private instance; its binary wants the
# system user Debian-exim (what the exim4-base package would create).
EXIM_DIR=/opt/maillab/exim4
unpack_exim() {
	case " $* " in *" test "*) ;; *) return 0 ;; esac
	[ "$(id -u)" -eq 0 ] || return 0
	id Debian-exim >/dev/null 2>&1 || adduser --system --group --no-create-home \
		--home /nonexistent --allow-bad-names Debian-exim >/dev/null 2>&1 ||
		echo "deps: cannot add the user Debian-exim" >&2
	[ -x "$EXIM_DIR/usr/sbin/exim4" ] && return 0
	tmp=$(mktemp -d)
	(cd "$tmp" && apt-get download exim4-daemon-light >/dev/null 2>&1) && mkdir -p "$EXIM_DIR" &&
		dpkg-deb -x "$tmp"/exim4-daemon-light_*.deb "$EXIM_DIR" || echo "deps: cannot unpack exim4" >&2
	rm -rf "$tmp"
}

missing=""
for p in $want; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)
	case "$st" in *" installed") ;; *) missing="$missing $p" ;; esac
done
[ -z "$missing" ] && { unpack_opensmtpd "$@"; unpack_exim "$@"; exit 0; }

if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing packages; run as root:" >&2
	echo "  apt-get install -y$missing" >&2
	exit 1
fi
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
# postfix asks questions at install time; answer them before it is installed.
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections 2>/dev/null || true
# roundcube-core: no database set up by dbconfig (the tests and lab 17 use their own SQLite file)
echo "roundcube-core roundcube/dbconfig-install boolean false" | debconf-set-selections 2>/dev/null || true
apt-get update -qq >/dev/null || { echo "deps: apt-get update failed" >&2; exit 1; }
apt-get install -y -qq --no-install-recommends $missing >/dev/null ||
	{ echo "deps: apt-get install failed:$missing" >&2; exit 1; }
unpack_opensmtpd "$@"
unpack_exim "$@"
