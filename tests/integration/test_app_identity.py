"""Identity from the application (docs/configuration.md, header:NAME): a response header that the
backend sets - PHP-FPM behind mod_proxy_fcgi, an app behind mod_proxy_http, a CGI - names
the user, and never reaches the client: not with a widget, not without one, not on JSON, a
404, a redirect, a HEAD or a 304, whatever RaiEmbed says in that scope.

php-fpm (Debian's php8.2-fpm) and the proxied app (tests/apps/identity_app.py) are started
by the tests on private sockets and stopped after them.  Every httpd runs the event MPM.
"""

import json
import os
import shutil
import subprocess
import sys

import pytest

from rai_harness import REPO_ROOT, rai_conf, stop_process, token_payload, wait_for

APPS = REPO_ROOT / "tests" / "apps"
HEADER = "X-Rai-Customer-Id"
IDENTIFIER = "data-customer-id header:" + HEADER
WIDGET_PAGE = ('<html><body>\n<rai-store-widget community-id="c1"></rai-store-widget>\n'
               '<p>text</p><rai-widget></rai-widget>\n</body></html>\n')
PHP_FPM = shutil.which("php-fpm8.2") or "/usr/sbin/php-fpm8.2"
PROXY_MODULES = ("proxy", "proxy_fcgi", "proxy_http")


# ------------------------------------------------------------------ backends

@pytest.fixture
def app(workdir):
    """tests/apps/identity_app.py on a free loopback port; yields its base URL."""
    ready = workdir / "app-ready.json"
    log = open(workdir / "app.log", "ab")
    process = subprocess.Popen([sys.executable, str(APPS / "identity_app.py"), "--port", "0",
                                "--ready-file", str(ready)],
                               stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    log.close()
    try:
        assert wait_for(lambda: ready.exists() or process.poll() is not None, 15)
        assert ready.exists(), (workdir / "app.log").read_text()
        yield "http://127.0.0.1:%d" % json.loads(ready.read_text())["port"]
    finally:
        stop_process(process)


FPM_CONF = """\
[global]
pid = {dir}/fpm.pid
error_log = {dir}/fpm.log
daemonize = no

[rai]
user = www-data
group = www-data
listen = {dir}/fpm.sock
listen.owner = www-data
listen.group = www-data
listen.mode = 0660
pm = static
pm.max_children = 2
clear_env = yes
"""


@pytest.fixture
def fpm(workdir):
    """php-fpm in the foreground with a private pool on a unix socket (workers run as
    www-data); yields the socket path."""
    if not os.path.exists(PHP_FPM):
        pytest.fail("php-fpm8.2 is missing: sh scripts/install-deps.sh test")
    directory = workdir / "fpm"
    directory.mkdir()
    os.chmod(directory, 0o755)
    conf = directory / "pool.conf"
    conf.write_text(FPM_CONF.format(dir=directory))
    socket_path = directory / "fpm.sock"
    log = open(directory / "stdout.log", "ab")
    process = subprocess.Popen([PHP_FPM, "--nodaemonize", "--fpm-config", str(conf),
                                "--prefix", str(directory)],
                               stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                               start_new_session=True)
    log.close()
    try:
        assert wait_for(lambda: socket_path.exists() or process.poll() is not None, 15)
        assert socket_path.exists(), (directory / "stdout.log").read_text() + \
            (directory / "fpm.log").read_text(errors="replace")
        yield socket_path
    finally:
        stop_process(process)


def fpm_site(httpd, standin, socket_path, extra="", **conf):
    """RaiEmbed for the DocumentRoot, PHP through php-fpm, identity from the header."""
    conf.setdefault("Cache", "none")
    conf.setdefault("Identifier", IDENTIFIER)
    httpd.write("app.php", (APPS / "identity_app.php").read_text())
    return rai_conf(standin, **conf) + """
<FilesMatch "\\.php$">
    SetHandler "proxy:unix:{sock}|fcgi://localhost"
</FilesMatch>
""".format(sock=socket_path) + extra


def proxy_site(standin, app_url, extra="", **conf):
    conf.setdefault("Cache", "none")
    conf.setdefault("Identifier", IDENTIFIER)
    return rai_conf(standin, **conf) + """
ProxyPass        "/app/" "{app}/"
ProxyPassReverse "/app/" "{app}/"
""".format(app=app_url) + extra


def no_identity_header(response):
    """The header, in any spelling, is not in the response."""
    names = [name.lower() for name in response.headers]
    assert HEADER.lower() not in names, dict(response.headers)
    return response


def assert_token(response, standin, user):
    no_identity_header(response)
    assert response.status_code == 200, response.status_code
    stats = standin.stats()
    assert stats["token_requests"] == 1, stats
    assert stats["requests"][0]["body"]["userIdentifiers"] == {"data-customer-id": user}
    assert token_payload(response.text)["sub"] == user


def assert_no_token(response, standin):
    no_identity_header(response)
    assert "embed-token" not in response.text
    assert standin.stats()["token_requests"] == 0


# ----------------------------------------------------------------- PHP-FPM

def test_fpm_identity(httpd_factory, standin, fpm):
    httpd = httpd_factory(modules=PROXY_MODULES)
    httpd.configure(fpm_site(httpd, standin, fpm)).start()

    assert_token(httpd.get("app.php", params={"u": "42"}), standin, "42")
    standin.reset()
    assert_token(httpd.get("app.php", params={"u": "alice@example.com"}), standin,
                 "alice@example.com")
    # No header from the script: anonymous, nothing asked.
    standin.reset()
    assert_no_token(httpd.get("app.php"), standin)
    assert httpd.notes() == ["fetched", "fetched", "anonymous"]


def test_fpm_directory_index(httpd_factory, standin, fpm):
    # mod_dir's DirectoryIndex (a fast internal redirect to index.php)
    httpd = httpd_factory(modules=PROXY_MODULES)
    httpd.write("shop/index.php", (APPS / "identity_app.php").read_text())
    httpd.configure(fpm_site(httpd, standin, fpm)).start()

    assert_token(httpd.get("shop/", params={"u": "frank"}), standin, "frank")
    standin.reset()
    no_identity_header(httpd.head("shop/", params={"u": "frank"}))


def test_fpm_header_after_flush(httpd_factory, standin, fpm):
    # The start of the page, and with it the headers, has left httpd (and the header
    # was removed) before the widget arrives: the value is still the identity.
    httpd = httpd_factory(modules=PROXY_MODULES)
    httpd.configure(fpm_site(httpd, standin, fpm)).start()

    response = httpd.get("app.php", params={"u": "carol", "kind": "flush"})
    assert response.text.startswith("<html><body><p>before the widget</p>\n")
    assert_token(response, standin, "carol")


@pytest.mark.parametrize("kind,status", [("nowidget", 200), ("json", 200),
                                         ("missing", 404), ("redirect", 302)])
def test_fpm_header_never_leaves(httpd_factory, standin, fpm, kind, status):
    httpd = httpd_factory(modules=PROXY_MODULES)
    httpd.configure(fpm_site(httpd, standin, fpm)).start()

    for method in ("GET", "HEAD"):
        response = httpd.request(method, "app.php", params={"u": "42", "kind": kind})
        assert response.status_code == status
        no_identity_header(response)
    if kind == "json":
        assert response.headers["Content-Type"].startswith("application/json")


def test_fpm_head_and_304(httpd_factory, standin, fpm):
    httpd = httpd_factory(modules=PROXY_MODULES)
    httpd.configure(fpm_site(httpd, standin, fpm)).start()

    head = no_identity_header(httpd.head("app.php", params={"u": "42"}))
    assert head.status_code == 200 and head.content == b""
    # ETag from the script, If-None-Match from the client: not a 304 here (RAI_EMBED
    # turns 304s from validators off where the type is not yet known), no header.
    not_modified = httpd.get("app.php", params={"u": "42", "kind": "etag"},
                             headers={"If-None-Match": '"v1"'})
    assert not_modified.status_code in (200, 304)
    no_identity_header(not_modified)
    # The script's own 304.
    own = httpd.get("app.php", params={"u": "42", "kind": "notmodified"})
    assert own.status_code == 304
    no_identity_header(own)
    assert standin.stats()["token_requests"] == 0


def test_fpm_request_header_is_no_identity(httpd_factory, standin, fpm):
    # The client sends the header name as a request header: that is not the response
    # header the application sets.
    httpd = httpd_factory(modules=PROXY_MODULES)
    httpd.configure(fpm_site(httpd, standin, fpm)).start()

    assert_no_token(httpd.get("app.php", headers={HEADER: "bob"}), standin)
    response = httpd.get("app.php", params={"u": "42"}, headers={HEADER: "bob"})
    assert_token(response, standin, "42")


def test_fpm_raiembed_off_still_removes(httpd_factory, standin, fpm):
    httpd = httpd_factory(modules=PROXY_MODULES)
    httpd.configure(fpm_site(httpd, standin, fpm, RaiEmbed="Off")).start()

    for kind in ("page", "json", "missing"):
        response = no_identity_header(httpd.get("app.php", params={"u": "42", "kind": kind}))
        assert "embed-token" not in response.text
    assert standin.stats()["token_requests"] == 0


WP_STUB = """<?php
// Just enough of WordPress for the mu-plugin in docs/deployment.md.
class WP_User { public $ID; function __construct($id) { $this->ID = $id; } }
function add_action($hook, $callback) { if ($hook === 'send_headers') $callback(); }
function wp_get_current_user() { return new WP_User((int)($_COOKIE['wp_user'] ?? 0)); }
"""


def docs_mu_plugin():
    """The mu-plugin from docs/deployment.md, as it is written there."""
    text = (REPO_ROOT / "docs" / "deployment.md").read_text()
    start = text.index("<?php\n// wp-content/mu-plugins/rai-identity.php")
    return text[start:text.index("```", start)]


def test_fpm_wordpress_mu_plugin(httpd_factory, standin, fpm):
    httpd = httpd_factory(modules=PROXY_MODULES)
    httpd.write("mu-plugin.php", docs_mu_plugin())
    httpd.write("wp-stub.php", WP_STUB)
    httpd.write("wp.php", "<?php require 'wp-stub.php'; require 'mu-plugin.php'; ?>\n"
                + WIDGET_PAGE)
    httpd.configure(fpm_site(httpd, standin, fpm)).start()

    assert_token(httpd.get("wp.php", cookies={"wp_user": "17"}), standin, "17")
    standin.reset()
    # Logged out (ID 0): no header, anonymous.
    assert_no_token(httpd.get("wp.php"), standin)


# ---------------------------------------------------------- proxied application

def test_proxy_identity(httpd_factory, standin, app):
    httpd = httpd_factory(modules=PROXY_MODULES)
    httpd.configure(proxy_site(standin, app)).start()

    assert_token(httpd.get("app/page", params={"u": "42"}), standin, "42")
    standin.reset()
    assert_token(httpd.get("app/flush", params={"u": "dave"}), standin, "dave")
    standin.reset()
    assert_no_token(httpd.get("app/page"), standin)


@pytest.mark.parametrize("path,status", [("nowidget", 200), ("json", 200),
                                         ("missing", 404), ("redirect", 302),
                                         ("page", 200), ("etag", 200)])
def test_proxy_header_never_leaves(httpd_factory, standin, app, path, status):
    httpd = httpd_factory(modules=PROXY_MODULES)
    httpd.configure(proxy_site(standin, app)).start()

    for method in ("GET", "HEAD"):
        response = httpd.request(method, "app/" + path, params={"u": "42"})
        assert response.status_code == status
        no_identity_header(response)


def test_proxy_304(httpd_factory, standin, app):
    # The backend's own 304 passes through httpd: without the header.
    httpd = httpd_factory(modules=PROXY_MODULES)
    httpd.configure(proxy_site(standin, app)).start()

    response = httpd.get("app/etag", params={"u": "42"}, headers={"If-None-Match": '"v1"'})
    assert response.status_code == 304
    no_identity_header(response)


def test_proxy_first_value(httpd_factory, standin, app):
    httpd = httpd_factory(modules=PROXY_MODULES)
    httpd.configure(proxy_site(standin, app)).start()

    response = httpd.get("app/twice", params={"u": "first", "v": "second"})
    no_identity_header(response)
    ids = standin.stats()["requests"][0]["body"]["userIdentifiers"]
    assert ids == {"data-customer-id": "first"}


@pytest.mark.parametrize("raw,why", [(b"caf\xe9", "UTF-8"), (b"tab\tinside", "control"),
                                     (b"x" * 513, "512")])
def test_proxy_refused_values(httpd_factory, standin, app, raw, why):
    httpd = httpd_factory(modules=PROXY_MODULES)
    httpd.configure(proxy_site(standin, app)).start()

    response = httpd.get("app/raw", params={"hex": raw.hex()})
    assert_no_token(response, standin)
    assert httpd.notes() == ["error"]
    refusals = [line for line in httpd.error_log().splitlines() if "RAI0012" in line]
    assert refusals and why in refusals[0], refusals


def test_proxy_request_header_is_no_identity(httpd_factory, standin, app):
    httpd = httpd_factory(modules=PROXY_MODULES)
    httpd.configure(proxy_site(standin, app)).start()

    assert_no_token(httpd.get("app/page", headers={HEADER: "bob"}), standin)
    assert_token(httpd.get("app/page", params={"u": "42"}, headers={HEADER: "bob"}),
                 standin, "42")


def test_reflecting_backend_requestheader_unset(httpd_factory, standin, app):
    # A backend that copies request headers into its response would let a visitor name
    # himself.  docs/deployment.md: strip them on the way in.
    httpd = httpd_factory(modules=PROXY_MODULES)
    httpd.configure(proxy_site(standin, app, extra="RequestHeader unset %s\n" % HEADER)).start()

    assert_no_token(httpd.get("app/reflect", headers={HEADER: "bob"}), standin)


def test_reflecting_backend_is_a_risk(httpd_factory, standin, app):
    # The documented risk, pinned: the module cannot tell a reflected header from one the
    # application meant; it still never lets the header out.
    httpd = httpd_factory(modules=PROXY_MODULES)
    httpd.configure(proxy_site(standin, app)).start()

    assert_token(httpd.get("app/reflect", headers={HEADER: "bob"}), standin, "bob")


def test_static_request_header_is_no_identity(httpd_factory, standin):
    # No application at all: a client's request header names nobody.
    httpd = httpd_factory()
    httpd.write("w.html", WIDGET_PAGE)
    httpd.configure(rai_conf(standin, Cache="none", Identifier=IDENTIFIER)).start()

    assert_no_token(httpd.get("w.html", headers={HEADER: "bob"}), standin)
    assert httpd.notes() == ["anonymous"]


def test_proxy_attribute_mode(httpd_factory, standin, app):
    # Attribute Auth takes the same sources.
    httpd = httpd_factory(modules=PROXY_MODULES)
    httpd.configure(proxy_site(standin, app, Mode="attributes")).start()

    response = no_identity_header(httpd.get("app/page", params={"u": "42"}))
    assert '<rai-store-widget data-customer-id="42" community-id="c1">' in response.text
    assert standin.stats()["token_requests"] == 0


def test_proxy_raiembed_off_and_replaced_list(httpd_factory, standin, app):
    # RaiEmbed Off below a scope that names the header, and a scope that replaces the
    # identifier list: the header is removed in both.
    extra = """
<Location "/app/json">
    RaiEmbed Off
</Location>
<Location "/app/nowidget">
    RaiEmbedIdentifier data-customer-id user
</Location>
"""
    httpd = httpd_factory(modules=PROXY_MODULES)
    httpd.configure(proxy_site(standin, app, extra=extra)).start()

    no_identity_header(httpd.get("app/json", params={"u": "42"}))
    no_identity_header(httpd.get("app/nowidget", params={"u": "42"}))
    assert standin.stats()["token_requests"] == 0


def test_outside_the_scope_untouched(httpd_factory, standin, app):
    # Only scopes that name the header (and those below them) remove it.
    conf = rai_conf(standin, Cache="none", Identifier=None) + """
ProxyPass "/app/" "{app}/"
ProxyPass "/other/" "{app}/"
<Location "/app/">
    RaiEmbedIdentifier data-customer-id header:{header}
</Location>
""".format(app=app, header=HEADER)
    httpd = httpd_factory(modules=PROXY_MODULES)
    httpd.configure(conf).start()

    no_identity_header(httpd.get("app/json", params={"u": "42"}))
    other = httpd.get("other/json", params={"u": "42"})
    assert other.headers[HEADER] == "42"


def test_mod_headers_cannot_add_it(httpd_factory, standin, app):
    # Removed after mod_headers: not even the configuration sends it.
    httpd = httpd_factory(modules=PROXY_MODULES)
    httpd.write("w.html", WIDGET_PAGE)
    httpd.configure(proxy_site(standin, app, extra="Header always set %s conf\n"
                               "Header set %s conf2\n" % (HEADER, HEADER))).start()

    for path in ("w.html", "app/page?u=42", "missing.html"):
        no_identity_header(httpd.get(path))


def test_mod_headers_is_no_identity(httpd_factory, standin, app):
    # What mod_headers adds on the way out (Header set, Header echo of a client's request
    # header) is removed and never the identity, even where the widget comes only after
    # mod_headers has run: only the application's own header counts.
    extra = """
<Location "/app/flush">
    Header echo ^X-Rai-Customer-Id$
</Location>
<Location "/app/page">
    Header set X-Rai-Customer-Id mallory
</Location>
"""
    httpd = httpd_factory(modules=PROXY_MODULES)
    httpd.configure(proxy_site(standin, app, extra=extra)).start()

    assert_no_token(httpd.get("app/flush", headers={HEADER: "bob"}), standin)
    assert_no_token(httpd.get("app/page"), standin)
    assert_token(httpd.get("app/flush", params={"u": "42"}, headers={HEADER: "bob"}),
                 standin, "42")
    standin.reset()
    assert_token(httpd.get("app/page", params={"u": "43"}), standin, "43")


def test_mod_cache_never_stores_it(httpd_factory, standin, app):
    modules = PROXY_MODULES + ("cache", "cache_socache")
    httpd = httpd_factory(modules=modules)
    httpd.configure(proxy_site(standin, app, extra="""
CacheSocache shmcb
CacheEnable socache /app/cached
CacheHeader on
""")).start()

    first = no_identity_header(httpd.get("app/cached", params={"u": "42"}))
    assert first.headers.get("X-Cache", "").startswith("MISS")
    second = no_identity_header(httpd.get("app/cached", params={"u": "42"}))
    assert second.headers.get("X-Cache", "").startswith("HIT"), dict(second.headers)


# ---------------------------------------------------------------------- CGI

def cgi(httpd, standin, extra=""):
    httpd.write("cgi-bin/id.py", (APPS / "identity_cgi.py").read_text())
    httpd.write("w.html", WIDGET_PAGE)
    conf = rai_conf(standin, Cache="none", Identifier=IDENTIFIER)
    return conf + extra


def test_cgi_identity(httpd_factory, standin):
    httpd = httpd_factory()
    httpd.configure(cgi(httpd, standin)).start()

    assert_token(httpd.get("cgi-bin/id.py/page", params={"u": "42"}), standin, "42")
    standin.reset()
    assert_no_token(httpd.get("cgi-bin/id.py/page", headers={HEADER: "bob"}), standin)
    standin.reset()
    # A duplicate: httpd joins a script's repeated header lines (util_script) before
    # the module sees them; docs/deployment.md says to send it once.
    no_identity_header(httpd.get("cgi-bin/id.py/twice", params={"u": "first", "v": "second"}))
    ids = standin.stats()["requests"][0]["body"]["userIdentifiers"]
    assert ids == {"data-customer-id": "first, second"}


@pytest.mark.parametrize("kind,status", [("nowidget", 200), ("json", 200),
                                         ("missing", 404), ("redirect", 302)])
def test_cgi_header_never_leaves(httpd_factory, standin, kind, status):
    httpd = httpd_factory()
    httpd.configure(cgi(httpd, standin)).start()

    for method in ("GET", "HEAD"):
        response = httpd.request(method, "cgi-bin/id.py/" + kind, params={"u": "42"})
        assert response.status_code == status
        no_identity_header(response)


def test_cgi_304(httpd_factory, standin):
    httpd = httpd_factory()
    httpd.configure(cgi(httpd, standin)).start()

    response = httpd.get("cgi-bin/id.py/etag", params={"u": "42"},
                         headers={"If-None-Match": '"v1"'})
    assert response.status_code == 304
    no_identity_header(response)


def test_cgi_local_redirect(httpd_factory, standin):
    # Location: /w.html makes httpd serve the static page in the CGI's stead; the CGI's
    # headers go with it (err_headers_out): its user gets the token, the header goes.
    httpd = httpd_factory()
    httpd.configure(cgi(httpd, standin)).start()

    assert_token(httpd.get("cgi-bin/id.py/local", params={"u": "erin"}), standin, "erin")


def test_cgi_redirect_error_document(httpd_factory, standin):
    # The 302 httpd answers for the CGI's absolute Location is an error response: with
    # an ErrorDocument outside every scope that names the header, the header still goes.
    extra = """
<Location "/cgi-bin">
    RaiEmbedIdentifier data-customer-id header:%s
</Location>
ErrorDocument 302 /errors/moved.html
""" % HEADER
    httpd = httpd_factory()
    httpd.write("errors/moved.html", "<p>moved</p>\n")
    httpd.configure(cgi(httpd, standin, extra).replace(
        "RaiEmbedIdentifier " + IDENTIFIER + "\n", "", 1)).start()

    for method in ("GET", "HEAD"):
        response = httpd.request(method, "cgi-bin/id.py/redirect", params={"u": "42"})
        assert response.status_code == 302
        no_identity_header(response)
        if method == "GET":
            assert response.text == "<p>moved</p>\n"
    assert "RAI0060" in httpd.error_log()


# ------------------------------------------------------------ configuration

@pytest.mark.parametrize("source,message", [
    ("header:Content-Type", "httpd and HTTP need"),
    ("header:set-cookie", "httpd and HTTP need"),
    ("header:X(Rai)", "not a header field name"),
    ("header:", "unknown source"),
])
def test_bad_header_names(httpd_factory, standin, source, message):
    httpd = httpd_factory()
    httpd.configure(rai_conf(standin, Identifier="data-customer-id " + source))
    status, output = httpd.configtest()
    assert status != 0
    assert "RaiEmbedIdentifier" in output and message in output, output
