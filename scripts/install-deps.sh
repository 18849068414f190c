#!/bin/sh
# Installs the Debian packages a build, the tests, the demo or the
# benchmarks need, when they are missing.  Usage: install-deps.sh build|test|demo|bench
set -e
build="apache2 apache2-dev libcurl4-openssl-dev libjson-c-dev libssl-dev pkg-config"
test="$build check python3-pytest python3-requests openssl apache2-utils memcached redis-server libapache2-mod-php nodejs python3-prometheus-client"
fuzz="$build clang libclang-rt-14-dev"
demo="$build libapache2-mod-php openssl apache2-utils python3"
bench="$test wrk apache2-doc"
eval "want=\$${1:-build}"

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
