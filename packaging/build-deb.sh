#!/bin/sh
# packaging/build-deb.sh VERSION — the Debian package, built with dpkg-deb
# alone: `make install PREFIX=/usr` into a staging tree with Debian's
# hardening flags, then what Debian policy asks of a binary package (man
# pages and changelog gzipped with -9n, binaries stripped, copyright,
# md5sums, a control file whose Depends comes from dpkg-shlibdeps), then
# lintian (overrides, each with its reason, in packaging/debian/).
# Output: build/deb/maillab_VERSION-1_ARCH.deb.  No network needed.
set -eu
umask 022
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
VERSION=$1-1
ARCH=$(dpkg --print-architecture)
OUT=$ROOT/build/deb
STAGE=$OUT/root
DEB=$OUT/maillab_${VERSION}_$ARCH.deb
DOC=$STAGE/usr/share/doc/maillab

rm -rf "$STAGE" "$OUT/shlibs"
mkdir -p "$STAGE/DEBIAN"
export DEB_BUILD_MAINT_OPTIONS=hardening=+all
CFLAGS=$(dpkg-buildflags --get CFLAGS)
CPPFLAGS=$(dpkg-buildflags --get CPPFLAGS)
LDFLAGS=$(dpkg-buildflags --get LDFLAGS)
export CFLAGS CPPFLAGS LDFLAGS
make --no-print-directory BUILD="$OUT/obj" BIN="$OUT/bin" OPT= PREFIX=/usr \
	DESTDIR="$STAGE" install > "$OUT.log" 2>&1 || { tail -30 "$OUT.log"; exit 1; }

# The programs: stripped (the debugging symbols stay in build/deb/bin).
elves=""
for f in "$STAGE"/usr/bin/*; do
	if [ "$(head -c 4 "$f" | od -An -c | tr -d ' ')" = '177ELF' ]; then
		strip --remove-section=.comment --remove-section=.note --strip-unneeded "$f"
		elves="$elves $f"
	fi
done
find "$STAGE/usr/share/man" -type f -exec gzip -9n {} +
install -m 644 packaging/debian/copyright "$DOC/copyright"
sed "s/@VERSION@/$VERSION/" packaging/debian/changelog | gzip -9n > "$DOC/changelog.Debian.gz"
chmod 644 "$DOC/changelog.Debian.gz"
install -d "$STAGE/usr/share/lintian/overrides"
install -m 644 packaging/debian/lintian-overrides "$STAGE/usr/share/lintian/overrides/maillab"

# Depends: the libraries the programs link, as dpkg-shlibdeps sees them
# (it wants a debian/control to read, so give it a minimal one).
mkdir -p "$OUT/shlibs/debian"
printf 'Source: maillab\n\nPackage: maillab\nArchitecture: any\n' > "$OUT/shlibs/debian/control"
# shellcheck disable=SC2086
shlibs=$(cd "$OUT/shlibs" && dpkg-shlibdeps -O $elves 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
[ -n "$shlibs" ] || { echo "build-deb: dpkg-shlibdeps found no libraries" >&2; exit 1; }
size=$(du -sk --exclude=DEBIAN "$STAGE" | cut -f1)
sed -e "s/@VERSION@/$VERSION/" -e "s/@ARCH@/$ARCH/" -e "s/@SIZE@/$size/" \
	-e "s/@SHLIBS@/$shlibs/" packaging/debian/control.in > "$STAGE/DEBIAN/control"
(cd "$STAGE" && find usr -type f -print0 | sort -z | xargs -0 md5sum) > "$STAGE/DEBIAN/md5sums"
chmod 644 "$STAGE/DEBIAN/control" "$STAGE/DEBIAN/md5sums"
find "$STAGE" -type d -exec chmod 755 {} +

dpkg-deb --root-owner-group -Zxz --build "$STAGE" "$DEB" > /dev/null
echo "build-deb: $DEB"
dpkg-deb --field "$DEB" Package Version Depends Installed-Size | sed 's/^/  /'
if command -v lintian > /dev/null; then
	# Errors and warnings fail the build; overrides are in the package.
	lintian --fail-on error,warning "$DEB" || { echo "build-deb: lintian is not clean" >&2; exit 1; }
	echo "build-deb: lintian clean (overrides: packaging/debian/lintian-overrides)"
fi
