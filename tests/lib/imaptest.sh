#!/bin/sh
# tests/lib/imaptest.sh — build Dovecot's IMAP compliance tester, imaptest,
# from the source kept in ../shared/tools (Debian does not package it) into
# build/imaptest, following ../shared/tools/README.md.  Built once: a later
# run that finds build/imaptest/src/imaptest only prints its path.
#
#   tests/lib/imaptest.sh [BUILD_DIR]    prints the path of the binary
#
# Needs dovecot-dev, autoconf, automake and libtool (tests/deps.sh, test).
# Exit 77 (the "skip" of automake tests) when the source or dovecot-dev is
# missing, 1 when the build fails (its log is in BUILD_DIR/imaptest.log).
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
tarball=${IMAPTEST_TARBALL:-$top/../shared/tools/imaptest-924f619.tar.gz}
out=${1:-$top/build/imaptest}
bin=$out/src/imaptest
dovecot=/usr/lib/dovecot

if [ -x "$bin" ]; then echo "$bin"; exit 0; fi
[ -r "$tarball" ] || { echo "imaptest: $tarball: not found" >&2; exit 77; }
[ -r "$dovecot/dovecot-config" ] || { echo "imaptest: $dovecot/dovecot-config: not found (dovecot-dev)" >&2; exit 77; }

# Build in a private directory, then rename it into place: two runs at once
# (or a killed one) never leave a half-built tree at $out.
mkdir -p "$(dirname "$out")"
work=$(mktemp -d "$out.XXXXXX")
trap 'rm -rf "$work"' EXIT
log=$work.log
tar xzf "$tarball" -C "$work" --strip-components=1
cd "$work"
echo 924f619 >version
# Debian 12's security update gave imap_parser_create() a fourth argument.
for f in src/commands.c src/imap-client.c src/test-parser.c; do
	perl -0pi -e 's/imap_parser_create\(([^;]*?)\);/imap_parser_create($1, &(struct imap_parser_params){ 0 });/g' "$f"
done
{
	./autogen.sh &&
	LDFLAGS="-Wl,-rpath,$dovecot" ./configure --with-dovecot="$dovecot" &&
	make -j2
} >"$log" 2>&1 || { mv "$log" "$out.log"; echo "imaptest: build failed, see $out.log" >&2; exit 1; }
rm -f "$log"
trap - EXIT
rm -rf "$out"
mv "$work" "$out"
echo "$bin"
