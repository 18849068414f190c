#!/bin/sh
# mod_rai_embed demo: a private httpd on 127.0.0.1:$PORT serving a small site with
# Returning.AI widget elements, and mod_rai_embed filling in their embed tokens.
#
#   PORT=8080 sh demo/run.sh start     (what `make demo` runs)
#   PORT=8080 sh demo/run.sh stop      (what `make demo-stop` runs)
#
# Tokens come from the local stand-in of the token API (tests/standin/rai_standin.py),
# unless RAI_ACCESS_ID and RAI_ACCESS_KEY are set in the environment: then from the real
# API.  The access key is never written to a file: the generated httpd.conf says
# `RaiEmbedAccessKey "${RAI_ACCESS_KEY}"` and httpd takes the value from its environment.
#
# The demo's runtime tree (conf/, htdocs/, logs/, run/ and a copy of the module) is made
# with mktemp under /var/tmp (RAI_DEMO_TMP), mode 755, outside the checkout: under root
# the demo httpd's children run as www-data, which cannot read a checkout under /root.
# Its path is kept in demo/run/$PORT/state; `stop` removes the tree and that file.
# Each port has its own demo, so several can run side by side.  The site's sources are
# in demo/site/.
# Needs Debian's apache2 (prefork MPM), libapache2-mod-php, apache2-utils (htpasswd) or
# openssl, python3; `make demo` installs them (scripts/install-deps.sh demo).

set -eu
umask 022

PORT=${PORT:-8080}
PYTHON=${PYTHON:-/usr/bin/python3}
APACHE=${APACHE:-}
if [ -z "$APACHE" ]; then
    APACHE=$(command -v apache2 2>/dev/null || echo /usr/sbin/apache2)
fi
APACHE_MODULES=${APACHE_MODULES:-/usr/lib/apache2/modules}
DEMO_USERS="alice bob"           # password = user name

here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
module="$top/.libs/mod_rai_embed.so"
standin_script="$top/tests/standin/rai_standin.py"
site="$here/site"
DEMO_TMP=${RAI_DEMO_TMP:-/var/tmp}
statedir="$here/run/$PORT"
statefile="$statedir/state"

# Where this port's runtime tree is: the path in the state file, or nothing yet.
set_base() {
    base=$1
    conf="$base/conf/httpd.conf"
    htdocs="$base/htdocs"
    logs="$base/logs"
    rundir="$base/run"
    demo_module="$base/modules/mod_rai_embed.so"
    httpd_pidfile="$rundir/httpd.pid"
    standin_pidfile="$rundir/standin.pid"
    standin_ready="$rundir/standin.ready"
}
set_base ""

say() { printf '%s\n' "$*"; }
die() { printf 'demo: %s\n' "$*" >&2; exit 1; }

case "$PORT" in
    ''|*[!0-9]*) die "PORT must be a number, not '$PORT'" ;;
esac
if [ "$PORT" -lt 1 ] || [ "$PORT" -gt 65535 ]; then
    die "PORT must be 1-65535, not $PORT"
fi

stop_hint() {
    if [ "$PORT" = 8080 ]; then echo "make demo-stop"; else echo "make demo-stop PORT=$PORT"; fi
}

# The pid in FILE, if that process is alive and its command line contains PATTERN
# (so that a pid reused by an unrelated process is never signalled).
live_pid() {
    [ -r "$1" ] || return 1
    pid=$(head -n 1 "$1" 2>/dev/null | tr -cd '0-9')
    [ -n "$pid" ] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    if [ -r "/proc/$pid/cmdline" ]; then
        tr '\0' ' ' <"/proc/$pid/cmdline" | grep -F -q -- "$2" || return 1
    fi
    echo "$pid"
}

# Waits up to $2 tenths of a second for pid $1 to exit.
wait_gone() {
    n=0
    while kill -0 "$1" 2>/dev/null; do
        n=$((n + 1))
        [ "$n" -le "$2" ] || return 1
        sleep 0.1
    done
    return 0
}

# 0 if something accepts connections on, or holds, 127.0.0.1:$1.
port_busy() {
    "$PYTHON" - "$1" <<'EOF'
import errno, socket, sys
port = int(sys.argv[1])
c = socket.socket()
c.settimeout(1)
try:
    c.connect(("127.0.0.1", port))
    sys.exit(0)                          # someone answers
except OSError:
    pass
finally:
    c.close()
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)   # as httpd does
try:
    s.bind(("127.0.0.1", port))
except OSError as e:
    sys.exit(0 if e.errno == errno.EADDRINUSE else 2)
finally:
    s.close()
sys.exit(1)
EOF
}

# Runs apache2 with the demo's configuration.  ${RAI_ACCESS_ID} / ${RAI_ACCESS_KEY} in the
# configuration need a value even for -k stop; placeholders do when they are not set.
apache() {
    RAI_ACCESS_ID=${RAI_ACCESS_ID:-unset} RAI_ACCESS_KEY=${RAI_ACCESS_KEY:-unset} \
        LANG=C "$APACHE" -f "$conf" "$@"
}

stop_standin() {
    if pid=$(live_pid "$standin_pidfile" rai_standin.py); then
        kill -TERM "$pid" 2>/dev/null || true
        wait_gone "$pid" 50 || kill -KILL "$pid" 2>/dev/null || true
        say "demo: token API stand-in (pid $pid) stopped"
    fi
    rm -f "$standin_pidfile" "$standin_ready"
}

stop_httpd() {
    if pid=$(live_pid "$httpd_pidfile" "$conf"); then
        apache -k stop >/dev/null 2>&1 || kill -TERM "$pid" 2>/dev/null || true
        if ! wait_gone "$pid" 150; then
            kill -KILL "$pid" 2>/dev/null || true
            wait_gone "$pid" 20 || true
        fi
        say "demo: httpd on 127.0.0.1:$PORT (pid $pid) stopped"
        stopped=1
    fi
    rm -f "$httpd_pidfile"
}

# Reads the state file: 0 (and the paths set) if it names this port's runtime tree, a
# directory of ours made by do_start; anything else is never used, let alone removed.
read_state() {
    [ -r "$statefile" ] || return 1
    path=$(head -n 1 "$statefile")
    case "$path" in
        "$DEMO_TMP"/mod_rai_embed-demo-"$PORT".*) ;;
        *) return 1 ;;
    esac
    [ -d "$path" ] && [ ! -L "$path" ] && [ -O "$path" ] || return 1
    set_base "$path"
}

# Removes the runtime tree and the state file (and demo/run/ when it is empty).
remove_tree() {
    if [ -n "$base" ] && [ -d "$base" ]; then
        rm -rf "$base"
    fi
    rm -f "$statefile"
    rmdir "$statedir" "$here/run" 2>/dev/null || true
    set_base ""
}

do_stop() {
    stopped=0
    if read_state; then
        stop_httpd
        stop_standin
        remove_tree
    elif [ -f "$statedir/run/httpd.pid" ]; then
        # A demo started before the runtime tree moved out of the checkout.
        set_base "$statedir"
        stop_httpd
        stop_standin
        rm -rf "$statedir"
        set_base ""
    else
        rm -f "$statefile"
    fi
    [ "$stopped" = 1 ] || say "demo: no demo httpd running on port $PORT"
}

# ------------------------------------------------------------------------- start

password_file_line() {
    # $1 = user = password
    if command -v htpasswd >/dev/null 2>&1; then
        htpasswd -nbB "$1" "$1"
    elif command -v openssl >/dev/null 2>&1; then
        printf '%s:%s\n' "$1" "$(openssl passwd -apr1 "$1")"
    else
        die "need htpasswd (apache2-utils) or openssl to write the password file"
    fi
}

write_site() {
    rm -rf "$htdocs"
    mkdir -p "$htdocs"
    cp -R "$site/." "$htdocs/"
    : >"$base/conf/htpasswd"
    for user in $DEMO_USERS; do
        password_file_line "$user" | grep -v '^$' >>"$base/conf/htpasswd"
    done
    # The children run as www-data: everything they read must be readable by others.
    chmod -R u+rwX,go+rX,go-w "$base"
}

write_conf() {
    # $1 = the RaiEmbed credentials block
    php_conf="# libphp not found: the PHP page is not served"
    if [ -n "$php_so" ]; then
        php_conf="LoadModule php_module $php_so
<FilesMatch \"\\.php\$\">
    SetHandler application/x-httpd-php
</FilesMatch>"
    fi
    user_conf="# not root: httpd keeps running as $(id -un)"
    if [ "$(id -u)" = 0 ]; then
        user_conf="User www-data
Group www-data"
    fi

    modules=""
    for m in mpm_prefork authz_core authz_host authn_core authn_file auth_basic \
             authz_user mime dir alias env log_config unixd socache_shmcb; do
        # log_config and unixd are compiled into Debian's apache2: no LoadModule for them.
        if ! printf '%s\n' "$static_modules" | grep -q "^ *mod_$m\\.c\$"; then
            modules="${modules}LoadModule ${m}_module $APACHE_MODULES/mod_$m.so
"
        fi
    done

    cat >"$conf" <<EOF
# Written by demo/run.sh: the mod_rai_embed demo on 127.0.0.1:$PORT.
# Do not edit: "make demo" writes it again.  The site comes from demo/site/.
ServerRoot "$base"
ServerName 127.0.0.1:$PORT
Listen 127.0.0.1:$PORT
PidFile "$httpd_pidfile"
DefaultRuntimeDir "$rundir"
$user_conf

${modules}LoadModule rai_embed_module $demo_module

# prefork, so that PHP (not thread-safe in Debian) works
StartServers 2
MinSpareServers 1
MaxSpareServers 4
ServerLimit 10
MaxRequestWorkers 10

ErrorLog "$logs/error.log"
LogLevel warn rai_embed:debug
# %{rai-embed}n: what the module did for the response (none, cached, fetched, anonymous, error)
LogFormat "%h %u %t \"%r\" %>s %b rai-embed=%{rai-embed}n" rai_demo
CustomLog "$logs/access.log" rai_demo

TypesConfig /etc/mime.types
AddDefaultCharset utf-8
DocumentRoot "$htdocs"
DirectoryIndex index.html index.php

<Directory />
    AllowOverride None
    Require all denied
</Directory>

# The static site: Basic auth, so that r->user names the visitor.  The default
# identifier, data-customer-id from the authenticated user, applies.
<Directory "$htdocs">
    AuthType Basic
    AuthName "mod_rai_embed demo (alice/alice or bob/bob)"
    AuthUserFile "$base/conf/htpasswd"
    Require valid-user
    # Pages with tokens get a script that renews them from the refresh endpoint.
    RaiEmbedRefreshScript /rai-token
</Directory>

# The refresh endpoint: a fresh token as JSON for the signed-in user (the Basic auth of
# the static site applies to it too).
<Location "/rai-token">
    SetHandler rai-embed-token
</Location>

# The PHP page names its user itself, in the request note rai-user.
<Directory "$htdocs/php">
    Require all granted
    RaiEmbedIdentifier data-customer-id note:rai-user
    # The endpoint cannot see a note that PHP sets: no refresh script here.
    RaiEmbedRefreshScript none
</Directory>

<Directory "$htdocs/assets">
    Require all granted
</Directory>

$php_conf

# ---- mod_rai_embed
RaiEmbed On
$1

# ---- what the module did, for Prometheus (and curl): loopback only
<Location "/rai-embed-metrics">
    SetHandler rai-embed-metrics
    Require ip 127.0.0.1 ::1
</Location>
EOF
}

do_start() {
    [ -f "$module" ] || die "$module does not exist: build the module first (make)"
    command -v "$APACHE" >/dev/null 2>&1 || [ -x "$APACHE" ] \
        || die "apache2 not found: sh scripts/install-deps.sh demo"
    [ -x "$PYTHON" ] || command -v "$PYTHON" >/dev/null 2>&1 \
        || die "$PYTHON not found: sh scripts/install-deps.sh demo"
    [ -f "$APACHE_MODULES/mod_mpm_prefork.so" ] \
        || die "$APACHE_MODULES/mod_mpm_prefork.so not found: is Debian's apache2 installed?"

    if read_state && pid=$(live_pid "$httpd_pidfile" "$conf"); then
        die "the demo already runs on http://127.0.0.1:$PORT/ (pid $pid); stop it with: $(stop_hint)"
    fi
    rc=0
    port_busy "$PORT" || rc=$?
    if [ "$rc" = 0 ]; then
        die "port $PORT on 127.0.0.1 is already in use by another program; choose another one, e.g. make demo PORT=18080"
    elif [ "$rc" != 1 ]; then
        die "cannot bind 127.0.0.1:$PORT (not allowed for this user?)"
    fi

    # Leftovers of a demo that did not stop cleanly.
    do_stop >/dev/null
    # Interrupted half-way: leave nothing running, and no tree.
    trap 'trap - INT TERM HUP; do_stop >/dev/null 2>&1; exit 130' INT TERM HUP

    # A new runtime tree that the children (www-data under root) can read, and its
    # path in the state file for `stop`.
    [ -d "$DEMO_TMP" ] || die "$DEMO_TMP does not exist (RAI_DEMO_TMP)"
    set_base "$(mktemp -d "$DEMO_TMP/mod_rai_embed-demo-$PORT.XXXXXX")"
    chmod 755 "$base"
    mkdir -p "$statedir"
    printf '%s\n' "$base" >"$statefile"
    mkdir -p "$base/conf" "$base/modules" "$logs" "$rundir"
    # httpd (root) loads the module before it drops privileges, so the checkout's copy
    # would do; a copy keeps the running demo apart from later builds and `make clean`.
    cp "$module" "$demo_module"
    static_modules=$("$APACHE" -l 2>/dev/null || true)
    php_so=$(ls "$APACHE_MODULES"/libphp*.so 2>/dev/null | sort | tail -n 1 || true)
    write_site
    if [ "$(id -u)" = 0 ] && command -v runuser >/dev/null 2>&1 \
        && ! runuser -u www-data -- test -r "$htdocs/index.html" 2>/dev/null; then
        die "www-data cannot read $htdocs: choose a directory that others can search with RAI_DEMO_TMP"
    fi

    if [ -n "${RAI_ACCESS_ID:-}" ] && [ -n "${RAI_ACCESS_KEY:-}" ]; then
        api="the real Returning.AI token API (access id from RAI_ACCESS_ID)"
        credentials='# Credentials from the environment of httpd: the key is never in this file.
RaiEmbedAccessId "${RAI_ACCESS_ID}"
RaiEmbedAccessKey "${RAI_ACCESS_KEY}"'
    else
        : >"$logs/standin.log"
        rm -f "$standin_ready"
        # setsid: the stand-in outlives this script and ignores the terminal's ^C.
        launcher=""
        command -v setsid >/dev/null 2>&1 && launcher=setsid
        $launcher "$PYTHON" "$standin_script" --port 0 --ready-file "$standin_ready" \
            --access-id test-id --access-key test-secret-key-XYZZY \
            </dev/null >>"$logs/standin.log" 2>&1 &
        echo "$!" >"$standin_pidfile"   # replaced by the pid it reports itself
        n=0
        while [ ! -s "$standin_ready" ]; do
            n=$((n + 1))
            if [ "$n" -gt 150 ]; then
                cat "$logs/standin.log" >&2
                die "the token API stand-in did not start (log: $logs/standin.log)"
            fi
            sleep 0.1
        done
        standin_port=$(sed -n 's/.*"port": *\([0-9][0-9]*\).*/\1/p' "$standin_ready")
        sed -n 's/.*"pid": *\([0-9][0-9]*\).*/\1/p' "$standin_ready" >"$standin_pidfile"
        [ -n "$standin_port" ] || die "cannot read the stand-in's port from $standin_ready"
        api="the local stand-in of the token API, http://127.0.0.1:$standin_port (log: $logs/standin.log)"
        credentials="# The local stand-in of the token API (tests/standin/rai_standin.py)
RaiEmbedAccessId test-id
RaiEmbedAccessKey test-secret-key-XYZZY
RaiEmbedTokenURL http://127.0.0.1:$standin_port/v2/api/widget-access-keys/token"
    fi

    write_conf "$credentials"
    chmod 644 "$conf"

    : >"$logs/error.log"
    if ! out=$(apache -k start 2>&1); then
        printf '%s\n' "$out" >&2
        [ -s "$logs/error.log" ] && tail -n 20 "$logs/error.log" >&2
        stop_standin >/dev/null
        die "httpd did not start (configuration: $conf)"
    fi
    [ -z "$out" ] || printf '%s\n' "$out"

    # Wait until it answers (401 for / is an answer).
    if ! "$PYTHON" - "$PORT" <<'EOF'
import http.client, sys, time
deadline = time.monotonic() + 20
while True:
    try:
        c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=2)
        c.request("GET", "/")
        c.getresponse().read()
        sys.exit(0)
    except OSError:
        if time.monotonic() > deadline:
            sys.exit(1)
        time.sleep(0.1)
EOF
    then
        tail -n 20 "$logs/error.log" >&2 || true
        do_stop >/dev/null
        die "httpd started but does not answer on 127.0.0.1:$PORT (log: $logs/error.log)"
    fi

    trap - INT TERM HUP

    url="http://127.0.0.1:$PORT/"
    say ""
    say "mod_rai_embed demo is running: $url"
    say ""
    say "  static page with widgets (Basic auth):  $url"
    say "      users: alice (password alice), bob (password bob)"
    say "      try:   curl -u alice:alice $url"
    if [ -n "$php_so" ]; then
        say "  PHP page, identity from apache_note():  ${url}php/?user=carol"
    else
        say "  (no libphp found: the PHP page is not served; apt-get install libapache2-mod-php)"
    fi
    say "  single-page app, widgets rendered later: ${url}spa/"
    say ""
    say "  refresh endpoint, a fresh token as JSON: curl -u alice:alice ${url}rai-token"
    say "  watch it:    curl ${url}rai-embed-metrics   (Prometheus text: tokens, API calls, back-off)"
    say ""
    say "  tokens from: $api"
    say "  view the page source and look for embed-token=\"...\" in the widget elements"
    say "  logs:        $logs/ (access.log shows rai-embed=fetched|cached|...)"
    say "  config:      $conf"
    say "  (a temporary tree, removed by the stop command)"
    say ""
    say "  stop it with: $(stop_hint)"
}

case "${1:-}" in
    start) do_start ;;
    stop)  do_stop ;;
    *)     echo "usage: PORT=8080 sh $0 start|stop" >&2; exit 2 ;;
esac
