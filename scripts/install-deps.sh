#!/bin/sh
# Installs the Debian packages a build, the tests, the demo or the
# benchmarks need, when they are missing.
# Usage: install-deps.sh build|test|demo|bench|fuzz|deb|package
set -e
build="apache2 apache2-dev libcurl4-openssl-dev libjson-c-dev libssl-dev pkg-config clang"
test="$build check python3-pytest python3-requests openssl apache2-utils memcached redis-server libapache2-mod-php php8.2-fpm nodejs chromium chromium-driver python3-selenium python3-prometheus-client"
fuzz="$build clang libclang-rt-14-dev"
demo="$build libapache2-mod-php openssl apache2-utils python3"
bench="$test wrk apache2-doc"
# make deb: the package's Build-Depends (debian/control) and dpkg-buildpackage
deb="$build build-essential debhelper dpkg-dev fakeroot"
# make test-package: a Debian 12 root to install the package into, the
# stand-in of the token API on the host, and curl to fetch the page
package="$deb debootstrap debian-archive-keyring python3 curl"
case "${1:-build}" in
    build|test|fuzz|demo|bench|deb|package) eval "want=\$${1:-build}" ;;
    *) echo "install-deps: unknown group '$1' (build, test, fuzz, demo, bench, deb, package)" >&2; exit 2 ;;
esac

missing=""
for pkg in $want; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed"; then
        missing="$missing $pkg"
    fi
done
[ -z "$missing" ] && exit 0

echo "installing:$missing"
if [ "$(id -u)" != 0 ]; then
    echo "install-deps: need root to apt-get install:$missing" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
