#!/bin/sh
# Builds the Debian package libapache2-mod-rai-embed (what `make deb` runs)
# and prints the path of the .deb.
#
# The build runs in a copy of the tree, build/deb/mod-rai-embed-VERSION/, so
# that nothing the package build leaves (debian/<package>/, debhelper stamps,
# a .libs/ built with the package's flags) lands in the checkout.  The .deb,
# .buildinfo and .changes end up in build/deb/.
set -eu
cd "$(dirname "$0")/.."
top=$(pwd)

# Refuse early, with a clear message, when the versions disagree (debian/rules
# checks it again, for builds that do not go through here).
sh scripts/check-version.sh
version=$(sed -n 's/^#define RAI_EMBED_VERSION "\(.*\)"$/\1/p' rai_version.h)
package_version=$(dpkg-parsechangelog -S Version)
arch=$(dpkg-architecture -qDEB_HOST_ARCH)
out="$top/build/deb"
src="$out/mod-rai-embed-$version"
deb="$out/libapache2-mod-rai-embed_${package_version#*:}_$arch.deb"

# A fresh copy every time: an old copy could hold files deleted since.
rm -rf "$src"
mkdir -p "$src"
# Everything but build products, other builds and version control.
tar -C "$top" -cf - \
    --exclude=./build --exclude=./.git --exclude=./.libs --exclude=./demo/run \
    --exclude='*.o' --exclude='*.lo' --exclude='*.slo' --exclude='*.la' \
    --exclude='*.bin' --exclude=__pycache__ --exclude=.pytest_cache \
    --exclude=./tests/fuzz/work . | tar -C "$src" -xf -

# -b: binary package only; -us -uc: unsigned (a local build).
rm -f "$deb"
(cd "$src" && dpkg-buildpackage -us -uc -b) >"$out/build.log" 2>&1 || {
    tail -n 40 "$out/build.log" >&2
    echo "build-deb: dpkg-buildpackage failed; the whole log: $out/build.log" >&2
    exit 1
}
# The copy has served; the log and the results stay.
rm -rf "$src"
[ -f "$deb" ] || { echo "build-deb: $deb was not built (log: $out/build.log)" >&2; exit 1; }
echo "$deb"
