"""Trust (docs/configuration.md-7): a token only for the user httpd accepted, sealed wherever
it is stored, never left where a cache or a slice can reuse it.  Every test here is the
one an attacker would write."""

import hashlib

import pytest

from rai_harness import ACCESS_KEY, embed_tokens, rai_conf, token_payload

WIDGET_PAGE = '<html><body><rai-store-widget community-id="c1"></rai-store-widget></body></html>\n'
ERROR_PAGE = ('<html><body><h1>Please sign in</h1>'
              '<rai-store-widget community-id="c1"></rai-store-widget></body></html>\n')
USERS = {"alice": "alice-pw", "bob": "bob-pw"}
# what mod_auth_basic and mod_auth_digest log for the failed logins these tests make
FAILED_LOGIN = pytest.mark.expect_error(r"AH0161[78]|AH017\d\d")


def basic_site(httpd, standin, *, auth_type="Basic", extra="", **conf):
    """The whole site behind a login, with an ErrorDocument 401 that shows a widget, as
    real sites have; the error page shares the page's configuration."""
    conf.setdefault("Cache", "none")
    if auth_type == "Basic":
        users = 'AuthUserFile "%s"' % httpd.htpasswd(USERS)
    else:
        users = 'AuthUserFile "%s"\n    AuthDigestProvider file' % htdigest(httpd, "trust")
    httpd.write("errors/401.html", ERROR_PAGE)
    httpd.write("page.html", WIDGET_PAGE)
    return rai_conf(standin, **conf) + """
ErrorDocument 401 /errors/401.html
<Location "/">
    AuthType {auth_type}
    AuthName "trust"
    {users}
    Require valid-user
</Location>
{extra}
""".format(auth_type=auth_type, users=users, extra=extra)


def htdigest(httpd, realm):
    lines = ["%s:%s:%s" % (user, realm,
                           hashlib.md5(("%s:%s:%s" % (user, realm, pw)).encode()).hexdigest())
             for user, pw in USERS.items()]
    return httpd.write("conf/htdigest", "\n".join(lines) + "\n")


# ------------------------------------------------------------- 1. only an accepted login

@pytest.mark.parametrize("source", ["user", "expr=%{REMOTE_USER}"])
@FAILED_LOGIN
def test_wrong_password_gets_no_token(httpd, standin, source):
    httpd.configure(basic_site(httpd, standin,
                               Identifier="data-customer-id %s" % source)).start()

    refused = httpd.get("page.html", auth=("alice", "WRONG-PASSWORD"))

    assert refused.status_code == 401
    assert "Please sign in" in refused.text       # the ErrorDocument was served
    assert "embed-token" not in refused.text
    assert standin.stats()["token_requests"] == 0
    # the same site still signs in a real login
    accepted = httpd.get("page.html", auth=("alice", "alice-pw"))
    assert token_payload(accepted.text)["sub"] == "alice"
    assert httpd.notes()[0] == "anonymous"


@FAILED_LOGIN
def test_error_page_requested_directly_after_failed_login(httpd, standin):
    """The 401 page itself, fetched with a wrong password, is a 401 too: no token."""
    httpd.configure(basic_site(httpd, standin)).start()

    response = httpd.get("errors/401.html", auth=("bob", "nope"))

    assert response.status_code == 401
    assert "embed-token" not in response.text
    assert standin.stats()["token_requests"] == 0


@FAILED_LOGIN
def test_unknown_user_gets_no_token(httpd, standin):
    httpd.configure(basic_site(httpd, standin)).start()

    response = httpd.get("page.html", auth=("mallory", "anything"))

    assert response.status_code == 401
    assert "embed-token" not in response.text
    assert standin.stats()["token_requests"] == 0


@FAILED_LOGIN
def test_digest_wrong_password_gets_no_token(httpd_factory, standin):
    import requests
    httpd = httpd_factory(modules=("auth_digest",))
    httpd.configure(basic_site(httpd, standin, auth_type="Digest")).start()

    refused = httpd.get("page.html", auth=requests.auth.HTTPDigestAuth("alice", "WRONG"))
    assert refused.status_code == 401
    assert "embed-token" not in refused.text
    assert standin.stats()["token_requests"] == 0

    accepted = httpd.get("page.html", auth=requests.auth.HTTPDigestAuth("alice", "alice-pw"))
    assert accepted.status_code == 200
    assert token_payload(accepted.text)["sub"] == "alice"


def test_407_and_its_error_document_get_no_token(httpd_factory, standin):
    """A 407 (as a forward proxy's login answers) carries no token either, nor does the
    ErrorDocument httpd serves for it, even with an identity at hand."""
    httpd = httpd_factory(modules=("rewrite",))
    httpd.write("errors/407.html", ERROR_PAGE)
    httpd.write("page.html", WIDGET_PAGE)
    httpd.configure(rai_conf(standin, Cache="none", Identifier="data-customer-id expr=alice")
                    + """
ErrorDocument 407 /errors/407.html
RewriteEngine On
RewriteRule "^/proxy-login" "-" [R=407]
""").start()

    response = httpd.get("proxy-login")
    assert response.status_code == 407
    assert "Please sign in" in response.text
    assert "embed-token" not in response.text
    assert standin.stats()["token_requests"] == 0
    # the constant identity does get a token on a plain page
    assert token_payload(httpd.get("page.html").text)["sub"] == "alice"


@FAILED_LOGIN
def test_refresh_endpoint_refuses_failed_login(httpd, standin):
    """The refresh endpoint, even as the ErrorDocument of a failed login, gives nothing."""
    httpd.configure(basic_site(httpd, standin, extra="""
<Location "/token">
    SetHandler rai-embed-token
</Location>
<Location "/sub/">
    ErrorDocument 401 /token
</Location>
""")).start()

    for path in ("token", "sub/page.html"):
        response = httpd.get(path, auth=("alice", "WRONG"))
        assert response.status_code == 401
        assert "embedToken" not in response.text
    assert standin.stats()["token_requests"] == 0
    good = httpd.get("token", auth=("alice", "alice-pw"))
    assert good.status_code == 200 and "embedToken" in good.json()


# ------------------------------------------------- 3. the key out of the application's reach

PHP_ENV_PAGE = """<?php
echo "getenv=[" . getenv("RAI_TEST_KEY") . "]\\n";
echo "env=[" . (isset($_ENV["RAI_TEST_KEY"]) ? $_ENV["RAI_TEST_KEY"] : "") . "]\\n";
echo "server=[" . (isset($_SERVER["RAI_TEST_KEY"]) ? $_SERVER["RAI_TEST_KEY"] : "") . "]\\n";
phpinfo();
?>
<rai-store-widget community-id="c1"></rai-store-widget>
"""


def test_php_cannot_read_the_key_from_the_environment(httpd_factory, standin):
    """RaiEmbedAccessKey ${RAI_TEST_KEY}, the documented systemd way: PHP's getenv(),
    $_ENV, $_SERVER and phpinfo() do not show the key (the harness also fails the test if
    the key shows anywhere in a response), while pages still get tokens, also after a
    graceful restart (the parent keeps the variable to read the configuration again)."""
    httpd = httpd_factory(mpm="prefork", php=True,
                          env={"RAI_TEST_KEY": ACCESS_KEY, "RAI_OTHER": "kept"})
    httpd.write("env.php", PHP_ENV_PAGE)
    httpd.write("other.php", '<?php echo "other=[" . getenv("RAI_OTHER") . "]"; ?>')
    httpd.configure(rai_conf(standin, Cache="none", AccessKey="${RAI_TEST_KEY}",
                             Identifier="data-customer-id expr=alice")).start()

    for _ in range(2):
        response = httpd.get("env.php")
        assert response.status_code == 200
        assert "getenv=[]" in response.text
        assert "env=[]" in response.text
        assert "server=[]" in response.text
        assert "RAI_TEST_KEY" not in response.text          # not even its name
        assert token_payload(response.text)["sub"] == "alice"
        # other variables are left alone
        assert "other=[kept]" in httpd.get("other.php").text
        httpd.graceful()


def test_cgi_cannot_read_the_key(httpd, standin):
    httpd.write("cgi-bin/env.cgi", "#!/bin/sh\nprintf 'Content-Type: text/plain\\r\\n\\r\\n'\n"
                "env\ncat /proc/$PPID/environ 2>/dev/null | tr '\\0' '\\n'\n", mode=0o755)
    httpd.env["RAI_TEST_KEY"] = ACCESS_KEY
    httpd.configure(rai_conf(standin, AccessKey="${RAI_TEST_KEY}")).start()
    response = httpd.get("cgi-bin/env.cgi")
    assert response.status_code == 200
    assert "RAI_TEST_KEY" not in response.text


# ------------------------------------------------------------- 4. CDN cache headers

CDN_HEADERS = {
    "Cloudflare-CDN-Cache-Control": "max-age=600",
    "Vercel-CDN-Cache-Control": "max-age=600",
    "CDN-Cache-Control": "max-age=600",
    "Akamai-Cache-Control": "max-age=600",
    "Edge-Control": "cache-maxage=600",
    "X-Accel-Expires": "600",
    "Surrogate-Control": "max-age=600",
    "Fastly-Surrogate-Control": "max-age=600",
    "X-LiteSpeed-Cache-Control": "public,max-age=600",
}


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_cdn_cache_headers_removed(httpd, standin, method):
    httpd.write("page.html", WIDGET_PAGE)
    httpd.write("plain.txt", "no widget here\n")
    headers = "\n".join('Header always set %s "%s"' % item for item in CDN_HEADERS.items())
    httpd.configure(rai_conf(standin, Identifier="data-customer-id expr=alice")
                    + headers + '\nHeader set Cache-Control "public, s-maxage=600"\n').start()

    response = httpd.request(method, "page.html")
    assert response.status_code == 200
    for name in CDN_HEADERS:
        assert name not in response.headers, name
    assert response.headers["Cache-Control"].startswith("private")
    assert "public" not in response.headers["Cache-Control"]
    # a response the filter does not touch keeps them
    untouched = httpd.request(method, "plain.txt")
    for name in CDN_HEADERS:
        assert name in untouched.headers, name


# ------------------------------------------------------------------- 5. Range requests

def test_range_gets_the_whole_rewritten_page(httpd, standin):
    page = WIDGET_PAGE + "<p>" + "x" * 4000 + "</p>\n"
    httpd.write("page.html", page)
    httpd.write("plain.txt", "0123456789" * 100)
    httpd.configure(rai_conf(standin, Identifier="data-customer-id expr=alice")).start()

    first = httpd.get("page.html")      # warms the token cache
    assert first.headers["Accept-Ranges"] == "none"
    for headers in ({"Range": "bytes=0-40"}, {"Range": "bytes=-10"},
                    {"Range": "bytes=0-40", "If-Range": first.headers.get("Date", "x")}):
        response = httpd.get("page.html", headers=headers)
        assert response.status_code == 200, headers
        assert "Content-Range" not in response.headers
        assert response.headers["Accept-Ranges"] == "none"
        assert token_payload(response.text)["sub"] == "alice"
        assert response.text.endswith("x" * 4000 + "</p>\n")
    # files the module leaves alone still serve ranges
    sliced = httpd.get("plain.txt", headers={"Range": "bytes=0-9"})
    assert sliced.status_code == 206 and sliced.text == "0123456789"


def test_backend_206_passes_untouched(httpd, standin):
    body = '<rai-store-widget community-id="c1"></rai-store-widget>'
    httpd.write("cgi-bin/part.cgi",
                "#!/bin/sh\nprintf 'Status: 206 Partial Content\\r\\nContent-Type: text/html\\r\\n"
                "Content-Range: bytes 100-%d/5000\\r\\n\\r\\n'\nprintf '%%s' '%s'\n"
                % (100 + len(body) - 1, body), mode=0o755)
    httpd.configure(rai_conf(standin, Identifier="data-customer-id expr=alice")).start()

    response = httpd.get("cgi-bin/part.cgi")
    assert response.status_code == 206
    assert response.headers["Content-Range"] == "bytes 100-%d/5000" % (100 + len(body) - 1)
    assert response.text == body
    assert standin.stats()["token_requests"] == 0


# --------------------------------------------------------------------- 7. proxy leaks

class Listener:
    """A loopback TCP listener that counts the connections it accepts (a proxy that
    must never be used)."""

    def __init__(self):
        import socket
        import threading
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            conn.close()

    def close(self):
        self.sock.close()


def test_loopback_http_token_url_never_proxied(httpd, standin, request):
    proxy = Listener()
    request.addfinalizer(proxy.close)
    httpd.write("page.html", WIDGET_PAGE)
    httpd.configure(rai_conf(standin, Cache="none", Identifier="data-customer-id expr=alice",
                             Proxy="http://127.0.0.1:%d" % proxy.port)).start()

    assert token_payload(httpd.get("page.html").text)["sub"] == "alice"
    assert proxy.accepted == 0


@pytest.mark.parametrize("proxy", ["htp://user:SECRET-PW@127.0.0.1:3128",
                                   "ftp://user:SECRET-PW@127.0.0.1:21",
                                   "user:SECRET-PW@127.0.0.1:3128"])
def test_bad_proxy_refused_without_its_password(httpd, standin, proxy):
    httpd.secrets.append("SECRET-PW")
    httpd.configure(rai_conf(standin, Proxy='"%s"' % proxy))
    rc, output = httpd.configtest()
    assert rc != 0
    assert "RaiEmbedProxy" in output
    assert "SECRET-PW" not in output


def test_proxy_password_never_logged(httpd, standin, request):
    """An https token URL through a proxy that refuses: curl's error goes to the log,
    the proxy password never does, at debug level either."""
    from rai_harness import refusing_port
    httpd.secrets.append("PROXY-S3CRET")
    httpd.write("page.html", WIDGET_PAGE)
    httpd.configure(rai_conf(standin, tls=True, Cache="none",
                             Identifier="data-customer-id expr=alice",
                             Proxy='"http://bob:PROXY-S3CRET@127.0.0.1:%d"'
                             % refusing_port(request))).start()

    response = httpd.get("page.html")
    assert response.status_code == 200
    assert "embed-token" not in response.text
    assert "RAI0011" in httpd.error_log()


# ------------------------------------------------------------------- 8. the key file

def test_key_file_trailing_spaces_trimmed(httpd, standin):
    path = httpd.write("conf/rai.key", ACCESS_KEY + " \t  \r\n", mode=0o600)
    httpd.write("page.html", WIDGET_PAGE)
    httpd.configure(rai_conf(standin, Cache="none", AccessKey=None,
                             AccessKeyFile='"%s"' % path,
                             Identifier="data-customer-id expr=alice")).start()

    assert token_payload(httpd.get("page.html").text)["sub"] == "alice"
    assert standin.requests()[0]["body"]["accessKey"] == ACCESS_KEY


# --------------------------------------------- 6. outages: one probe, a shared recovery

def _close_get(httpd, path, user):
    """One page on a connection of its own, so that any child may serve it."""
    import time as _time
    from rai_harness import loopback_session
    session = loopback_session()
    started = _time.monotonic()
    try:
        response = session.get(httpd.url(path), headers={"Connection": "close",
                                                         "X-User": user}, timeout=10)
    finally:
        session.close()
    return response, _time.monotonic() - started


def test_outage_one_probe_and_shared_recovery(httpd_factory, standin):
    """A hanging API under load, over several children (prefork): calls are one at a
    time for the whole server, pages stay fast, and once the API is back every child's
    pages carry tokens again within 5 s."""
    import concurrent.futures
    import time
    httpd = httpd_factory(mpm="prefork")
    httpd.write("page.html", WIDGET_PAGE)
    httpd.configure(rai_conf(standin, Cache="none", Timeout="0.2 0.5",
                             Identifier="data-customer-id expr=%{HTTP:X-User}")).start()
    standin.control(mode="slow", delay=3)

    response, _ = _close_get(httpd, "page.html", "first")
    assert "embed-token" not in response.text

    started = time.monotonic()
    def load(worker):
        got, i = [], 0
        while time.monotonic() - started < 4:
            got.append(_close_get(httpd, "page.html", "w%d-%d" % (worker, i)))
            i += 1
        return got
    # fewer clients than MaxRequestWorkers (8)
    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        results = [r for got in pool.map(load, range(6)) for r in got]
    spent = time.monotonic() - started
    assert len(results) > 100
    assert all(r.status_code == 200 and "embed-token" not in r.text for r, _ in results)
    slow = sorted(e for _, e in results)[-3:]
    calls = standin.stats()["token_requests"]
    # one call at a time (0.5 s each), and none during back-offs (1 s, then 2 s): about
    # 2 + 1 + 1 in 4 s, where a back-off per child let each child call on its own
    assert calls <= 7, (calls, spent)
    assert max(slow) < 1.5, slow

    standin.control(mode="ok")
    recovered = time.monotonic()
    streak, i = 0, 0
    while streak < 12:
        assert time.monotonic() - recovered < 5, "no tokens in every child 5 s after recovery"
        response, _ = _close_get(httpd, "page.html", "r%d" % i)
        i += 1
        streak = streak + 1 if "embed-token" in response.text else 0
        if not streak:
            time.sleep(0.1)
    assert "RAI0023" in httpd.error_log()


def test_error_responses_have_a_note(httpd, standin):
    """httpd's own error pages in a RaiEmbed On scope log a note, not `-`: a 401 before
    any handler and a 404 say `none`; the 401's ErrorDocument with a widget says
    `anonymous` (a refused login has no identity)."""
    httpd.write("plain/x.html", "no widget")
    httpd.configure(basic_site(httpd, standin, extra="""
<Location "/plain/">
    ErrorDocument 401 default
</Location>""")).start()
    assert httpd.get("plain/x.html").status_code == 401
    assert httpd.get("missing.html", auth=("alice", "alice-pw")).status_code == 404
    assert httpd.get("page.html").status_code == 401
    assert httpd.notes() == ["none", "none", "anonymous"]


@pytest.mark.parametrize("proxy", ["http://u:pw12@127.0.0.1:3128",
                                   "http://user:s3cr3t%40pa+ss@127.0.0.1:3128"])
def test_php_cannot_read_the_proxy_url(httpd_factory, standin, proxy):
    """RaiEmbedProxy ${RAI_PROXY_URL}: a short password, or one written percent-encoded,
    still takes the variable out of the children's environment."""
    httpd = httpd_factory(mpm="prefork", php=True, env={"RAI_PROXY_URL": proxy})
    httpd.write("env.php", '<?php echo "proxy=[" . getenv("RAI_PROXY_URL") . "]"; ?>')
    httpd.configure(rai_conf(standin, Proxy="${RAI_PROXY_URL}")).start()
    response = httpd.get("env.php")
    assert response.status_code == 200
    assert response.text == "proxy=[]"
