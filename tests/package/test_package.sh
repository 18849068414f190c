#!/bin/sh
# The package test (what `make test-package` runs): builds the .deb, installs
# it with apt-get into a fresh Debian 12 (bookworm) root made by debootstrap,
# and checks there, as an administrator would see it, that
#   - installing enables the module (and socache_shmcb, its Depends:),
#   - `apache2ctl -t` says "Syntax OK" and nothing else,
#   - apache2 serves a page behind Basic auth with an embed token written into
#     its widget, from the token API stand-in running on the host,
#   - README.md's minimal configuration passes `apache2ctl -t` cleanly too,
#   - `apt-get purge` disables the module and removes its files.
#
# Needs root (debootstrap, chroot, mounts) and Debian's mirror.  The minbase
# root is made once and kept as a tarball, with the .debs apt downloads into
# it, in $RAI_PACKAGE_CACHE (default /var/cache/mod_rai_embed-package-test);
# RAI_PACKAGE_REFRESH=1 makes it again.  RAI_PACKAGE_DEB=path tests that .deb
# instead of building one; RAI_PACKAGE_KEEP=1 keeps the root for a look
# after a failure (its mounts are still undone).
set -eu
umask 022

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
PYTHON=${PYTHON:-/usr/bin/python3}
SUITE=bookworm
PACKAGE=libapache2-mod-rai-embed
cache=${RAI_PACKAGE_CACHE:-/var/cache/mod_rai_embed-package-test}
tarball="$cache/$SUITE-minbase.tar"
archives="$cache/archives"

started=$(date +%s%3N)
step_started=$started
work=""
root=""
standin_pid=""

say() { printf 'test-package: %s\n' "$*"; }
fail() {
    printf 'test-package: FAILED: %s\n' "$*" >&2
    exit 1
}
# Prints how long the step that just ended took, and starts the next one.
step_done() {
    now=$(date +%s%3N)
    ms=$((now - step_started))
    printf 'test-package: %-58s %4d.%03d s\n' "$1" $((ms / 1000)) $((ms % 1000))
    step_started=$now
}
in_root() { chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
    LANG=C DEBIAN_FRONTEND=noninteractive "$@"; }

# ---------------------------------------------------------------- clean-up
# Runs on every exit, success or not: stop what was started, undo the mounts
# (deepest first), and delete the root only when nothing is mounted in it any
# more, so that an rm -rf can never reach the host's /dev.
mounted_under() {
    awk -v r="$1" '$2 == r || index($2, r "/") == 1 { print $2 }' /proc/mounts | sort -r
}
cleanup() {
    rc=$?
    trap - EXIT INT TERM HUP
    if [ -n "$root" ] && [ -d "$root" ]; then
        pidfile="$root/run/apache2/apache2.pid"
        if [ -s "$pidfile" ]; then
            pid=$(cat "$pidfile")
            kill -TERM "$pid" 2>/dev/null || true
            n=0
            while kill -0 "$pid" 2>/dev/null && [ "$n" -lt 100 ]; do sleep 0.1; n=$((n + 1)); done
            kill -KILL "$pid" 2>/dev/null || true
        fi
    fi
    if [ -n "$standin_pid" ]; then
        kill -TERM "$standin_pid" 2>/dev/null || true
        wait "$standin_pid" 2>/dev/null || true
    fi
    if [ -n "$root" ]; then
        for m in $(mounted_under "$root"); do
            umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null \
                || printf 'test-package: cannot unmount %s\n' "$m" >&2
        done
    fi
    if [ -n "$work" ] && [ -d "$work" ]; then
        if [ -n "$(mounted_under "$root")" ]; then
            printf 'test-package: %s still has mounts: not deleted\n' "$work" >&2
        elif [ "${RAI_PACKAGE_KEEP:-0}" = 1 ] && [ "$rc" != 0 ]; then
            printf 'test-package: the root is kept in %s (RAI_PACKAGE_KEEP=1)\n' "$root" >&2
        else
            rm -rf --one-file-system "$work"
        fi
        step_done "clean up (stop, unmount, delete the root)"
        ms=$(($(date +%s%3N) - started))
        say "total $((ms / 1000)).$((ms % 1000 / 100)) s"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'say interrupted; exit 130' INT TERM HUP

[ "$(id -u)" = 0 ] || fail "needs root (debootstrap, chroot and mounts)"
for tool in debootstrap chroot curl "$PYTHON"; do
    command -v "$tool" >/dev/null 2>&1 || fail "$tool not found: sh scripts/install-deps.sh package"
done

# The mirror apt uses on this machine, so that the root comes from the same
# place (and no other repository of the host leaks into it).
apt_mirror() {
    apt-cache policy 2>/dev/null \
        | awk -v s="$1/main" '$3 == s && $2 ~ /^https?:/ { print $2; exit }'
}
MIRROR=${MIRROR:-$(apt_mirror "$SUITE")}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
SECURITY_MIRROR=${SECURITY_MIRROR:-$(apt_mirror "$SUITE-security")}

# ---------------------------------------------------------------- 1. the .deb
if [ -n "${RAI_PACKAGE_DEB:-}" ]; then
    deb=$RAI_PACKAGE_DEB
else
    deb=$(sh "$top/scripts/build-deb.sh" | tail -n 1)
fi
[ -f "$deb" ] || fail "no package at '$deb'"
step_done "build $(basename "$deb")"

# ---------------------------------------------------------------- 2. the root
# debootstrap takes about half a minute; a tarball of its result, a second.
mkdir -p "$cache" "$archives/partial"
if [ ! -s "$tarball" ] || [ "${RAI_PACKAGE_REFRESH:-0}" = 1 ]; then
    fresh="$cache/root.new"
    rm -rf --one-file-system "$fresh"
    say "debootstrap --variant=minbase $SUITE from $MIRROR (once; cached in $tarball)"
    debootstrap --variant=minbase "$SUITE" "$fresh" "$MIRROR" >"$cache/debootstrap.log" 2>&1 \
        || { tail -n 20 "$cache/debootstrap.log" >&2; fail "debootstrap failed (log: $cache/debootstrap.log)"; }
    # Written aside and renamed, so an interrupted run leaves no half tarball.
    tar -C "$fresh" -cf "$tarball.new" .
    mv "$tarball.new" "$tarball"
    rm -rf --one-file-system "$fresh"
    step_done "debootstrap a $SUITE minbase root"
fi

work=$(mktemp -d /var/tmp/mod_rai_embed-package-test.XXXXXX)
root="$work/root"
mkdir "$root"
tar -C "$root" -xf "$tarball"

# apt: the host's Debian mirror, with updates and security so that the
# libraries match what the package was built against.
{
    echo "deb $MIRROR $SUITE main"
    echo "deb $MIRROR $SUITE-updates main"
    [ -z "$SECURITY_MIRROR" ] || echo "deb $SECURITY_MIRROR $SUITE-security main"
} >"$root/etc/apt/sources.list"
cp /etc/resolv.conf "$root/etc/resolv.conf"
# No service may start from a maintainer script: the test starts apache2
# itself, on a loopback port.
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod 755 "$root/usr/sbin/policy-rc.d"
# Maintainer scripts want /proc and /dev; apt's downloads are kept across runs.
mount -t proc proc "$root/proc"
mount --bind /dev "$root/dev"
mount --bind "$archives" "$root/var/cache/apt/archives"
step_done "unpack a fresh root"

# ---------------------------------------------------------------- 3. install
cp "$deb" "$root/tmp/"
in_root apt-get update -qq >"$work/apt.log" 2>&1 \
    || { tail -n 20 "$work/apt.log" >&2; fail "apt-get update in the root failed"; }
in_root apt-get install -y -q "/tmp/$(basename "$deb")" >>"$work/apt.log" 2>&1 \
    || { tail -n 30 "$work/apt.log" >&2; fail "apt-get install ./$(basename "$deb") failed"; }
step_done "apt-get install ./$(basename "$deb") (pulls in apache2)"

# ---------------------------------------------------------------- 4. enabled
for f in rai_embed.load rai_embed.conf socache_shmcb.load; do
    [ -L "$root/etc/apache2/mods-enabled/$f" ] || fail "installing did not enable $f (mods-enabled/$f missing)"
done
[ -f "$root/usr/lib/apache2/modules/mod_rai_embed.so" ] || fail "mod_rai_embed.so not installed"
[ "$(grep -c '^LoadModule' "$root/etc/apache2/mods-available/rai_embed.load")" = 1 ] \
    || fail "rai_embed.load must hold exactly one LoadModule line"

# `apache2ctl -t` must say "Syntax OK" and nothing else: no AH01574 (a module
# loaded twice), no AH00558 (hence the ServerName), no RAIxxxx warning.
syntax_ok() {
    out=$(in_root apache2ctl -t 2>&1) || fail "apache2ctl -t ($1) failed: $out"
    [ "$out" = "Syntax OK" ] || fail "apache2ctl -t ($1) printed more than Syntax OK: $out"
}
echo "ServerName localhost" >"$root/etc/apache2/conf-available/servername.conf"
in_root a2enconf -q servername >/dev/null
syntax_ok "the package as installed"
step_done "module enabled, apache2ctl -t clean"

# ---------------------------------------------------------------- 5. a page
# The token API stand-in runs on the host; the root shares its network.
"$PYTHON" "$top/tests/standin/rai_standin.py" --port 0 --ready-file "$work/standin.ready" \
    >"$work/standin.log" 2>&1 &
standin_pid=$!
n=0
until [ -s "$work/standin.ready" ]; do
    n=$((n + 1))
    [ "$n" -le 100 ] || { cat "$work/standin.log" >&2; fail "the token API stand-in did not start"; }
    kill -0 "$standin_pid" 2>/dev/null || { cat "$work/standin.log" >&2; fail "the stand-in exited"; }
    sleep 0.1
done
standin_port=$(sed -n 's/.*"port": *\([0-9][0-9]*\).*/\1/p' "$work/standin.ready")

# A free loopback port for apache2 (the kernel picks it).
port=$("$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

# Listen on that port only (not on Debian's *:80), and a site with a widget
# behind Basic auth: the default identifier sends REMOTE_USER.
echo "Listen 127.0.0.1:$port" >"$root/etc/apache2/ports.conf"
in_root a2dissite -q 000-default >/dev/null
mkdir -p "$root/var/www/rai-test"
cat >"$root/var/www/rai-test/index.html" <<'EOF'
<!DOCTYPE html>
<html><head><title>mod_rai_embed package test</title></head>
<body><rai-store-widget community-id="c1"></rai-store-widget></body></html>
EOF
in_root htpasswd -cbB /etc/apache2/rai-test.htpasswd alice alice 2>/dev/null
cat >"$root/etc/apache2/sites-available/rai-test.conf" <<EOF
<VirtualHost 127.0.0.1:$port>
    DocumentRoot /var/www/rai-test
    RaiEmbedAccessId test-id
    RaiEmbedAccessKey test-secret-key-XYZZY
    RaiEmbedTokenURL http://127.0.0.1:$standin_port/v2/api/widget-access-keys/token
    <Directory /var/www/rai-test>
        AuthType Basic
        AuthName "mod_rai_embed package test"
        AuthUserFile /etc/apache2/rai-test.htpasswd
        Require valid-user
        RaiEmbed On
    </Directory>
</VirtualHost>
EOF
in_root a2ensite -q rai-test >/dev/null
syntax_ok "with a site using RaiEmbed"

# APACHE_STARTED_BY_SYSTEMD: apache2ctl would hand "start" to systemctl when
# the host's pid 1 is systemd; here apache2 runs by itself in the root.
in_root APACHE_STARTED_BY_SYSTEMD=1 apache2ctl start >"$work/start.log" 2>&1 \
    || { cat "$work/start.log" >&2; fail "apache2ctl start failed"; }
page=""
n=0
until page=$(curl -fsS -u alice:alice "http://127.0.0.1:$port/" 2>"$work/curl.log"); do
    n=$((n + 1))
    if [ "$n" -gt 50 ]; then
        cat "$work/curl.log" >&2
        tail -n 20 "$root/var/log/apache2/error.log" >&2 || true
        fail "apache2 in the root does not answer on 127.0.0.1:$port"
    fi
    sleep 0.1
done
case "$page" in
    *'<rai-store-widget embed-token="'*) ;;
    *)  printf '%s\n' "$page" >&2
        tail -n 20 "$root/var/log/apache2/error.log" >&2 || true
        fail "the page has no embed-token in its widget" ;;
esac
# The pid first: apache2 removes its pid file as it exits.
httpd_pid=$(cat "$root/run/apache2/apache2.pid")
in_root apache2ctl stop >/dev/null 2>&1 || fail "apache2ctl stop failed"
n=0
while kill -0 "$httpd_pid" 2>/dev/null; do
    n=$((n + 1))
    [ "$n" -le 100 ] || fail "apache2 in the root did not stop"
    sleep 0.1
done
step_done "apache2 in the root serves a widget with embed-token"

# ---------------------------------------------------------------- 6. README
# The "Minimal configuration" of README.md, as written there (its sh block, the
# conf-available file and the site), must pass apache2ctl -t without a word.
in_root a2dissite -q rai-test >/dev/null
"$PYTHON" - "$top/README.md" "$root" <<'PY' || fail "cannot take the configuration from README.md"
import re, sys
readme, root = sys.argv[1], sys.argv[2]
text = open(readme).read()
section = text[text.index("## Minimal configuration"):]
section = section[:section.index("\n## ", 3)]
blocks = re.findall(r"```(\w+)\n(.*?)```", section, re.S)
if [kind for kind, _ in blocks] != ["sh", "apache", "apache"]:
    sys.exit("README.md's Minimal configuration should hold an sh block and two apache blocks")
open(root + "/tmp/readme-setup.sh", "w").write(blocks[0][1])
open(root + "/etc/apache2/conf-available/rai-embed.conf", "w").write(blocks[1][1])
open(root + "/etc/apache2/sites-available/000-default.conf", "w").write(blocks[2][1])
PY
in_root sh -e /tmp/readme-setup.sh >/dev/null || fail "the README's setup commands failed"
in_root htpasswd -cbB /etc/apache2/htpasswd alice alice 2>/dev/null
in_root a2ensite -q 000-default >/dev/null
syntax_ok "README.md's minimal configuration"
in_root a2dissite -q 000-default >/dev/null
in_root a2disconf -q rai-embed >/dev/null
step_done "README.md's minimal configuration passes apache2ctl -t"

# ---------------------------------------------------------------- 7. purge
# (The site and the conf that use the module's directives were disabled above,
# as an administrator would do before removing the module.)
in_root apt-get purge -y -q "$PACKAGE" >>"$work/apt.log" 2>&1 \
    || { tail -n 30 "$work/apt.log" >&2; fail "apt-get purge $PACKAGE failed"; }
for f in mods-enabled/rai_embed.load mods-enabled/rai_embed.conf \
         mods-available/rai_embed.load mods-available/rai_embed.conf; do
    if [ -e "$root/etc/apache2/$f" ] || [ -L "$root/etc/apache2/$f" ]; then
        fail "/etc/apache2/$f is still there after apt-get purge"
    fi
done
[ ! -e "$root/usr/lib/apache2/modules/mod_rai_embed.so" ] || fail "mod_rai_embed.so is still there after purge"
syntax_ok "after apt-get purge"
step_done "apt-get purge: module disabled, its files gone"

say "OK: $(basename "$deb") installs, works and purges cleanly on a fresh $SUITE"
