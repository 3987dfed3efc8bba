#!/bin/sh
# packaging/check-deb.sh VERSION — install build/deb/maillab_VERSION-1_ARCH.deb
# in a fresh Debian 12 (bookworm) chroot and run the demo from the installed
# files: as root, in French, and as an unprivileged user.  Needs root.
#
# The base system is made once with debootstrap from Debian's mirror
# (minbase plus the package's Depends and curl, which the demo uses as a
# client) and kept as build/deb/bookworm-CKSUM.tar.gz (CKSUM: of the package list); every run unpacks it into
# a new tree, so each run starts from a fresh system.  The chroot runs in
# its own mount and network namespaces (loopback only): nothing it mounts
# or listens on is seen outside, and it all goes when it ends.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
VERSION=$1-1
ARCH=$(dpkg --print-architecture)
OUT=$ROOT/build/deb
DEB=$OUT/maillab_${VERSION}_$ARCH.deb
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
INCLUDE=python3,curl,libssl3,libsodium23,libcrypt1,ca-certificates
# the base kept under a name of its package list: a new Depends makes a new base
BASE=$OUT/bookworm-$(echo "$INCLUDE" | cksum | cut -d" " -f1).tar.gz
R=$OUT/chroot

[ "$(id -u)" = 0 ] || { echo "check-deb: needs root (debootstrap, chroot)" >&2; exit 1; }
[ -f "$DEB" ] || { echo "check-deb: no $DEB (make deb)" >&2; exit 1; }
if [ ! -f "$BASE" ]; then
	echo "check-deb: making a Debian 12 base system with debootstrap from $MIRROR (once)"
	rm -rf "$R"
	debootstrap --variant=minbase --include="$INCLUDE" bookworm "$R" "$MIRROR" \
		> "$OUT/debootstrap.log" 2>&1 || { tail -20 "$OUT/debootstrap.log"; exit 1; }
	rm -rf "$R/var/cache/apt/archives"/*.deb
	tar -C "$R" -czf "$BASE.tmp" . && mv "$BASE.tmp" "$BASE"
fi
rm -rf "$R"
mkdir -p "$R"
tar -C "$R" -xzf "$BASE"
cp "$DEB" "$R/tmp/maillab.deb"
echo "check-deb: fresh Debian $(cat "$R/etc/debian_version") in $R"

# In the chroot's own namespaces: install, then the three demos.
unshare --mount --net --fork sh -eu -c '
	R=$1
	ip link set lo up
	mount --make-rprivate /
	mount -t proc proc "$R/proc"
	mount --rbind /dev "$R/dev"
	mount -t tmpfs tmpfs "$R/tmp" -o mode=1777
	cp "$2" "$R/tmp/maillab.deb"
	run() { echo "check-deb: # $*"; chroot "$R" "$@"; }
	# dpkg, not apt: no network in here, and dpkg refuses the package if
	# the base lacks one of its Depends.
	run dpkg -i /tmp/maillab.deb
	run dpkg -s maillab | sed -n "s/^\(Status\|Version\|Depends\): /  \1: /p"
	run sh -c "smtpd --version && pop3d --version && imapd --version && maildeliver --version"
	run sh -c "ls /usr/share/maillab/labs && ls /usr/share/doc/maillab/examples/*"
	run sh -c "zcat /usr/share/man/man8/smtpd.8.gz | head -3"
	# demo LOG WANT CMD...: run it, show its end, and require its success line.
	demo() {
		log=$R/tmp/$1 want=$2
		shift 2
		echo "check-deb: # $*"
		chroot "$R" "$@" > "$log" 2>&1 || { cat "$log"; echo "check-deb: the demo failed"; exit 1; }
		tail -n 2 "$log"
		grep -q "^$want" "$log" || { cat "$log"; echo "check-deb: no \"$want\""; exit 1; }
	}
	demo root.log "demo complete" env LANG=C.UTF-8 maillab-demo
	demo fr.log "démo terminée" env LANG=fr_FR.UTF-8 maillab-demo
	demo nobody.log "demo complete" chroot --userspec=nobody:nogroup / \
		env HOME=/tmp LANG=C.UTF-8 maillab-demo
	run sh -c "dpkg -r maillab > /dev/null && ! command -v smtpd"
' check-deb "$R" "$DEB"
rm -rf "$R"
echo "check-deb: the package installs on a fresh Debian 12 and the demo runs from it (root, French, nobody)"
