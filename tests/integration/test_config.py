"""Configuration (docs/configuration.md): every mistake caught by `apache2 -t` with a message
naming the directive and never the key; the ways of giving the key; version and
User-Agent; virtual hosts, .htaccess and RaiEmbedElements.
"""

import os
import re

import pytest

from rai_harness import ACCESS_KEY, REPO_ROOT, Standin, embed_tokens, rai_conf, token_payload

WIDGET_PAGE = ('<html><body>\n<rai-store-widget community-id="c1"></rai-store-widget>\n'
               '</body></html>\n')
# An identity without an auth module: the X-User request header.
HEADER_ID = 'data-customer-id "expr=%{HTTP:X-User}"'
AS_ALICE = {"X-User": "alice"}


def module_version():
    text = (REPO_ROOT / "rai_version.h").read_text()
    return re.search(r'#define\s+RAI_EMBED_VERSION\s+"([^"]+)"', text).group(1)


def key_file(httpd, content=ACCESS_KEY + "\n", mode=0o600, name="rai.key"):
    path = httpd.conf_dir / name
    path.write_text(content)
    os.chmod(path, mode)
    return path


def assert_token(response, standin, access_id="test-id"):
    assert response.status_code == 200
    tokens = embed_tokens(response.text)
    assert len(tokens) == 1
    record = standin.requests()[-1]
    assert record["rejected"] is None, record["rejected"]
    assert record["body"]["accessId"] == access_id
    assert record["token"] == tokens[0]
    return record


# ------------------------------------------------------------ start-up errors

def _vhost(body):
    return "<VirtualHost *:*>\n    ServerName vhost.test\n%s\n</VirtualHost>\n" % body


BAD_CONFIGS = {
    # id: (overrides for rai_conf or a callable(httpd, standin) -> snippet, words that
    #      the output must name)
    "on_without_access_id": (dict(AccessId=None), ["RaiEmbedAccessId", "RAI0003"]),
    "on_without_key": (dict(AccessKey=None), ["RaiEmbedAccessKey", "RAI0003"]),
    "on_in_vhost_without_credentials": (
        lambda h, s: rai_conf(s, RaiEmbed=None, AccessId=None, AccessKey=None)
        + _vhost("RaiEmbed On"), ["RaiEmbedAccessId", "RAI0003"]),
    "key_file_missing": (
        lambda h, s: rai_conf(s, AccessKey=None,
                              AccessKeyFile='"%s"' % (h.conf_dir / "missing.key")),
        ["RaiEmbedAccessKeyFile", "missing.key"]),
    "key_file_empty": (
        lambda h, s: rai_conf(s, AccessKey=None,
                              AccessKeyFile='"%s"' % key_file(h, "\n")),
        ["RaiEmbedAccessKeyFile"]),
    "key_file_is_a_directory": (
        lambda h, s: rai_conf(s, AccessKey=None, AccessKeyFile='"%s"' % h.conf_dir),
        ["RaiEmbedAccessKeyFile"]),
    "url_plain_http_remote": (dict(TokenURL="http://example.com/v2/token"),
                              ["RaiEmbedTokenURL"]),
    "url_ftp": (dict(TokenURL="ftp://127.0.0.1/v2/token"), ["RaiEmbedTokenURL"]),
    "url_garbage": (dict(TokenURL="not-a-url"), ["RaiEmbedTokenURL"]),
    "url_with_userinfo": (dict(TokenURL="https://user:pw@example.com/t"),
                          ["RaiEmbedTokenURL"]),
    "identifier_key_not_data": (dict(Identifier="customer-id user"),
                                ["RaiEmbedIdentifier", "customer-id"]),
    "identifier_unknown_source": (dict(Identifier="data-customer-id cookie:sid"),
                                  ["RaiEmbedIdentifier", "cookie:sid"]),
    "identifier_bad_expr": (dict(Identifier='data-customer-id "expr=%{HTTP:X-User"'),
                            ["RaiEmbedIdentifier"]),
    "identifier_duplicate_key": (dict(Identifier=["data-customer-id user",
                                                  "data-customer-id env:X"]),
                                 ["RaiEmbedIdentifier", "data-customer-id"]),
    "identifier_duplicate_in_directory": (
        lambda h, s: rai_conf(s) + '<Directory "%s">\n  RaiEmbedIdentifier data-email user\n'
        '  RaiEmbedIdentifier data-email env:MAIL\n</Directory>\n' % h.docroot,
        ["RaiEmbedIdentifier", "data-email"]),
    "cache_bogus_provider": (dict(Cache="bogus"), ["RaiEmbedCache", "bogus"]),
    "cache_in_vhost": (lambda h, s: rai_conf(s) + _vhost("RaiEmbedCache none"),
                       ["RaiEmbedCache"]),
    "timeout_zero": (dict(Timeout="0 3"), ["RaiEmbedTimeout"]),
    "timeout_zero_total": (dict(Timeout="1 0"), ["RaiEmbedTimeout"]),
    "timeout_negative": (dict(Timeout="-1 3"), ["RaiEmbedTimeout"]),
    "timeout_words": (dict(Timeout="abc 3"), ["RaiEmbedTimeout"]),
    "timeout_connect_over_total": (dict(Timeout="5 1"), ["RaiEmbedTimeout"]),
    "timeout_one_value": (dict(Timeout="1"), ["RaiEmbedTimeout"]),
    "timeout_over_300": (dict(Timeout="1 301"), ["RaiEmbedTimeout"]),
    "reuse_negative": (dict(TokenReuse="-5"), ["RaiEmbedTokenReuse"]),
    "reuse_words": (dict(TokenReuse="abc"), ["RaiEmbedTokenReuse"]),
    "memo_over_60": (dict(TokenMemo="61"), ["RaiEmbedTokenMemo", "61"]),
    "memo_words": (dict(TokenMemo="10s"), ["RaiEmbedTokenMemo", "10s"]),
    "memo_negative": (dict(TokenMemo="-1"), ["RaiEmbedTokenMemo"]),
    "memo_in_vhost": (lambda h, s: rai_conf(s) + _vhost("RaiEmbedTokenMemo 5"),
                      ["RaiEmbedTokenMemo"]),
    "elements_star_first": (dict(Elements="*x"), ["RaiEmbedElements"]),
    "elements_angle": (dict(Elements='"<"'), ["RaiEmbedElements"]),
    "content_types_no_slash": (dict(ContentTypes="html"), ["RaiEmbedContentTypes"]),
    "key_undefined_variable": (dict(AccessKey="${RAI_UNDEFINED_VAR}"),
                               ["RaiEmbedAccessKey", "RAI_UNDEFINED_VAR"]),
    "key_and_key_file": (
        lambda h, s: rai_conf(s, AccessKeyFile='"%s"' % key_file(h)),
        ["RaiEmbedAccessKey"]),
    "ca_file_missing": (
        lambda h, s: rai_conf(s, tls=True, CACertificateFile='"/nonexistent/ca.pem"'),
        ["RaiEmbedCACertificateFile"]),
}


@pytest.mark.parametrize("case", sorted(BAD_CONFIGS))
def test_bad_config(httpd_factory, standin, case):
    how, words = BAD_CONFIGS[case]
    httpd = httpd_factory()
    snippet = how(httpd, standin) if callable(how) else rai_conf(standin, **how)
    httpd.configure(snippet)

    rc, output = httpd.configtest()

    assert rc != 0, "apache2 -t accepted:\n%s\n---\n%s" % (snippet, output)
    for word in words:
        assert word in output, "%r not in: %s" % (word, output)
    assert ACCESS_KEY not in output
    assert "Syntax OK" not in output


def test_good_config(httpd_factory, standin):
    httpd = httpd_factory()
    httpd.configure(rai_conf(standin, Identifier=HEADER_ID, Timeout="0.25 2.5",
                             TokenReuse="0", TokenMemo="off", Elements="x-widget my-*-box",
                             ContentTypes="text/html application/xhtml+xml"))
    rc, output = httpd.configtest()
    assert rc == 0, output
    assert "Syntax OK" in output


# ---------------------------------------------------------- giving the key

def test_key_from_env(httpd_factory, standin):
    httpd = httpd_factory(env={"RAI_TEST_KEY": ACCESS_KEY})
    httpd.write("w.html", WIDGET_PAGE)
    httpd.configure(rai_conf(standin, AccessKey="${RAI_TEST_KEY}", Identifier=HEADER_ID,
                             Cache="none")).start()

    record = assert_token(httpd.get("w.html", headers=AS_ALICE), standin)
    assert record["body"]["accessKey"] == ACCESS_KEY
    assert httpd.notes() == ["fetched"]


def startup_output(httpd):
    """What httpd said while starting: start-up messages may go to stderr."""
    return httpd.error_log() + (httpd.logs / "stdout.log").read_text(errors="replace")


def test_key_file_0600(httpd_factory, standin):
    httpd = httpd_factory()
    httpd.write("w.html", WIDGET_PAGE)
    path = key_file(httpd, mode=0o600)
    httpd.configure(rai_conf(standin, AccessKey=None, AccessKeyFile='"%s"' % path,
                             Identifier=HEADER_ID, Cache="none")).start()

    record = assert_token(httpd.get("w.html", headers=AS_ALICE), standin)
    assert record["body"]["accessKey"] == ACCESS_KEY
    assert "RAI0002" not in startup_output(httpd)


def test_key_file_0644_warns(httpd_factory, standin):
    httpd = httpd_factory()
    # Logged while the configuration is read, so without httpd's usual line prefix.
    httpd.expect_error(r"^RAI0002: RaiEmbedAccessKeyFile '[^']*rai\.key' is readable")
    httpd.write("w.html", WIDGET_PAGE)
    path = key_file(httpd, mode=0o644)
    httpd.configure(rai_conf(standin, AccessKey=None, AccessKeyFile='"%s"' % path,
                             Identifier=HEADER_ID, Cache="none"))
    rc, output = httpd.configtest()
    assert rc == 0, output
    assert "RAI0002" in output
    httpd.start()

    assert_token(httpd.get("w.html", headers=AS_ALICE), standin)
    warnings = [line for line in startup_output(httpd).splitlines() if "RAI0002" in line]
    assert warnings
    assert all(str(path) in line for line in warnings)


def test_key_not_in_trace8_log(httpd_factory, standin):
    wrong_key = "wrong-secret-key-PLUGH"
    httpd = httpd_factory(loglevel="trace8")
    httpd.secrets.append(wrong_key)
    httpd.write("w.html", WIDGET_PAGE)
    httpd.configure(rai_conf(standin, Identifier=HEADER_ID, Cache="none")).start()

    assert_token(httpd.get("w.html", headers=AS_ALICE), standin)
    standin.control(mode="error", status=500)
    failed = httpd.get("w.html", headers=AS_ALICE)
    assert "embed-token" not in failed.text
    standin.control(mode="notjson")
    assert "embed-token" not in httpd.get("w.html", headers=AS_ALICE).text
    httpd.stop()
    assert httpd.notes() == ["fetched", "error", "error"]
    assert "trace8" in httpd.error_log() or "[core:trace" in httpd.error_log()
    for path in httpd.logs.rglob("*"):
        if path.is_file():
            assert ACCESS_KEY.encode() not in path.read_bytes(), path


def test_version_and_user_agent(httpd_factory, standin):
    version = module_version()
    httpd = httpd_factory()
    httpd.write("w.html", WIDGET_PAGE)
    httpd.configure(rai_conf(standin, Identifier=HEADER_ID, Cache="none")).start()

    startup = [line for line in httpd.error_log().splitlines() if "RAI0001" in line]
    assert startup and all("mod_rai_embed/" + version in line for line in startup), startup
    # the scanner's fast path, as this CPU gets it
    assert all(re.search(r"scanner (avx512|avx2|sse2|portable)\) configured", line)
               for line in startup), startup
    record = assert_token(httpd.get("w.html", headers=AS_ALICE), standin)
    assert record["headers"]["User-Agent"] == "mod_rai_embed/" + version


# ------------------------------------------------------------- virtual hosts

def vhost_get(httpd, host, path="w.html"):
    return httpd.get(path, headers={"Host": host, "X-User": "alice"})


def test_vhost_inherits_credentials(httpd_factory, standin):
    httpd = httpd_factory()
    path = httpd.write("w.html", WIDGET_PAGE)
    httpd.configure(rai_conf(standin, RaiEmbed=None, Identifier=HEADER_ID, Cache="none") + """
<VirtualHost *:*>
    ServerName plain.test
</VirtualHost>
<VirtualHost *:*>
    ServerName widgets.test
    RaiEmbed On
</VirtualHost>
""").start()

    plain = vhost_get(httpd, "plain.test")
    assert plain.content == path.read_bytes()
    assert standin.stats()["token_requests"] == 0
    assert_token(vhost_get(httpd, "widgets.test"), standin)
    assert standin.stats()["token_requests"] == 1
    assert httpd.notes()[1] == "fetched"


def test_vhost_own_access_id(httpd_factory, standin):
    # The vhost overrides the id only: key and URL come from the main server, so the
    # stand-in (which knows test-id only) sees the vhost's id and refuses it.
    httpd = httpd_factory()
    path = httpd.write("w.html", WIDGET_PAGE)
    httpd.configure(rai_conf(standin, Identifier=HEADER_ID, Cache="none") + """
<VirtualHost *:*>
    ServerName main.test
</VirtualHost>
<VirtualHost *:*>
    ServerName other.test
    RaiEmbedAccessId vhost-own-id
</VirtualHost>
""").start()

    assert_token(vhost_get(httpd, "main.test"), standin)
    refused = vhost_get(httpd, "other.test")
    assert refused.status_code == 200
    assert refused.content == path.read_bytes()
    stats = standin.stats()
    assert stats["token_requests"] == 2
    record = stats["requests"][-1]
    assert record["body"]["accessId"] == "vhost-own-id"
    assert record["body"]["accessKey"] == ACCESS_KEY
    assert record["rejected"] and record["status"] == 401
    assert httpd.notes() == ["fetched", "error"]


def test_vhost_own_credentials(httpd_factory, standin, workdir):
    second_key = "second-secret-key-PLUGH"
    second = Standin(workdir / "standin2", access_id="second-id",
                     access_key=second_key).start()
    try:
        httpd = httpd_factory()
        httpd.secrets.append(second_key)
        httpd.write("w.html", WIDGET_PAGE)
        # The main server uses RaiEmbedAccessKey, the vhost RaiEmbedAccessKeyFile.
        path = key_file(httpd, second_key + "\n")
        httpd.configure(rai_conf(standin, Identifier=HEADER_ID, Cache="none") + """
<VirtualHost *:*>
    ServerName main.test
</VirtualHost>
<VirtualHost *:*>
    ServerName second.test
    RaiEmbedAccessId second-id
    RaiEmbedAccessKeyFile "{path}"
    RaiEmbedTokenURL {url}
</VirtualHost>
""".format(path=path, url=second.url)).start()

        assert_token(vhost_get(httpd, "second.test"), second, access_id="second-id")
        assert second.requests()[-1]["body"]["accessKey"] == second_key
        assert standin.stats()["token_requests"] == 0
        assert_token(vhost_get(httpd, "main.test"), standin)
        assert second.stats()["token_requests"] == 1
        assert httpd.notes() == ["fetched", "fetched"]
    finally:
        second.stop()


# ------------------------------------------------------------------ .htaccess

def test_htaccess_raiembed_on(httpd_factory, standin):
    httpd = httpd_factory()
    outside = httpd.write("w.html", WIDGET_PAGE)
    httpd.write("on/w.html", WIDGET_PAGE)
    httpd.write("on/.htaccess", "RaiEmbed On\n")
    httpd.configure(rai_conf(standin, RaiEmbed=None, Identifier=HEADER_ID,
                             Cache="none")).start()

    assert httpd.get("w.html", headers=AS_ALICE).content == outside.read_bytes()
    assert standin.stats()["token_requests"] == 0
    assert_token(httpd.get("on/w.html", headers=AS_ALICE), standin)
    assert httpd.notes()[1] == "fetched"


def test_htaccess_no_credentials(httpd_factory, standin):
    # Start-up cannot see .htaccess: the filter runs, finds no credentials, leaves the
    # page alone and says so (RAI0010).
    httpd = httpd_factory()
    path = httpd.write("on/w.html", WIDGET_PAGE)
    httpd.write("on/.htaccess", "RaiEmbed On\n")
    httpd.configure(rai_conf(standin, RaiEmbed=None, AccessId=None, AccessKey=None,
                             Identifier=HEADER_ID, Cache="none"))
    rc, output = httpd.configtest()
    assert rc == 0, output
    httpd.start()

    response = httpd.get("on/w.html", headers=AS_ALICE)
    assert response.status_code == 200
    assert response.content == path.read_bytes()
    assert standin.stats()["token_requests"] == 0
    assert httpd.notes() == ["error"]
    lines = [line for line in httpd.error_log().splitlines() if "RAI0010" in line]
    assert lines, httpd.error_log()
    assert "[rai_embed:warn]" in lines[0], lines[0]


def test_htaccess_raiembed_off(httpd_factory, standin):
    httpd = httpd_factory()
    httpd.write("w.html", WIDGET_PAGE)
    off = httpd.write("off/w.html", WIDGET_PAGE)
    httpd.write("off/.htaccess", "RaiEmbed Off\n")
    httpd.configure(rai_conf(standin, Identifier=HEADER_ID, Cache="none")).start()

    assert httpd.get("off/w.html", headers=AS_ALICE).content == off.read_bytes()
    assert standin.stats()["token_requests"] == 0
    assert_token(httpd.get("w.html", headers=AS_ALICE), standin)


# ------------------------------------------------------------ RaiEmbedElements

def test_custom_elements(httpd_factory, standin):
    httpd = httpd_factory()
    page = ('<html><body><x-widget a="1"></x-widget>\n<rai-widget></rai-widget>\n'
            '<rai-store-widget community-id="c1"></rai-store-widget>\n'
            '<my-shop-box></my-shop-box><my-box></my-box></body></html>\n')
    httpd.write("w.html", page)
    httpd.write("sub/w.html", page)
    httpd.configure(rai_conf(standin, Identifier=HEADER_ID, Cache="none",
                             Elements="x-widget my-*-box") + """
<Directory "{docroot}/sub">
    RaiEmbedElements rai-store-widget
</Directory>
""".format(docroot=httpd.docroot)).start()

    response = httpd.get("w.html", headers=AS_ALICE)
    assert response.status_code == 200
    token = standin.requests()[-1]["token"]
    assert embed_tokens(response.text) == [token, token]
    attr = ' embed-token="%s"' % token
    assert response.text == page.replace("<x-widget", "<x-widget" + attr) \
        .replace("<my-shop-box", "<my-shop-box" + attr)
    assert token_payload(response.text)["ids"] == {"data-customer-id": "alice"}

    sub = httpd.get("sub/w.html", headers=AS_ALICE)
    token = standin.requests()[-1]["token"]
    assert sub.text == page.replace("<rai-store-widget",
                                    '<rai-store-widget embed-token="%s"' % token)
