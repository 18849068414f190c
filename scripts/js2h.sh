#!/bin/sh
# Writes a C header holding a JavaScript file as a byte array, for the module
# to serve (mod_rai_embed_refresh.c):
#
#   sh scripts/js2h.sh js/rai_refresh.js rai_refresh_js > rai_refresh_js.h
#
# It also defines NAME_version, the first 16 hex digits of the file's SHA-256
# (sha256sum, or shasum -a 256, or openssl dgst).  POSIX sh, od and sed
# otherwise: no xxd needed.  The output depends on nothing but
# the input, so the committed rai_refresh_js.h can be checked against it
# (tests/integration/test_browser.py does).
set -eu
[ $# -eq 2 ] || { echo "usage: $0 FILE.js NAME" >&2; exit 2; }
file=$1
name=$2
size=$(wc -c <"$file" | tr -d ' ')
if command -v sha256sum >/dev/null 2>&1; then
    sum=$(sha256sum <"$file")
elif command -v shasum >/dev/null 2>&1; then
    sum=$(shasum -a 256 <"$file")
else
    sum=$(openssl dgst -sha256 <"$file" | sed 's/^.*= *//')
fi
version=$(printf '%s\n' "$sum" | sed 's/^\([0-9a-f]\{16\}\).*/\1/')
case $version in
    [0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]) ;;
    *) echo "$0: cannot take the SHA-256 of $file" >&2; exit 1 ;;
esac
cat <<HEAD
/* Generated from $file by scripts/js2h.sh: do not edit, edit $file and run make. */
#ifndef RAI_GENERATED_$name
#define RAI_GENERATED_$name

static const char ${name}[] = {
HEAD
od -An -v -tx1 "$file" | sed -e 's/^ *//' -e '/^$/d' -e 's/ *$//' \
    -e 's/\([0-9a-f][0-9a-f]\)/0x\1,/g' -e 's/,$/,/' -e 's/^/    /'
cat <<TAIL
    0x00
};
#define ${name}_len ((apr_size_t)$size)
#define ${name}_version "$version"

#endif
TAIL
