"""Smoke tests: a widget page gets the signed-in user's token; a page without one is
left alone.  Both run the event MPM with RaiEmbed on for a Basic-auth directory."""

from rai_harness import rai_conf, token_payload

WIDGET_PAGE = '<html><body><rai-store-widget community-id="c1"></rai-store-widget></body></html>\n'
PLAIN_PAGE = '<html><head><title>plain</title></head><body><p>No widget here.</p></body></html>\n'


def basic_auth_site(httpd, standin):
    password_file = httpd.htpasswd({"alice": "alice"})
    return rai_conf(standin) + """
<Directory "{docroot}">
    AuthType Basic
    AuthName "smoke"
    AuthUserFile "{password_file}"
    Require valid-user
</Directory>
""".format(docroot=httpd.docroot, password_file=password_file)


def test_widget_gets_token_for_user(httpd, standin):
    httpd.write("widget.html", WIDGET_PAGE)
    httpd.configure(basic_auth_site(httpd, standin)).start()

    response = httpd.get("widget.html", auth=("alice", "alice"))

    assert response.status_code == 200
    claims = token_payload(response.text)
    assert claims["sub"] == "alice"
    assert claims["ids"] == {"data-customer-id": "alice"}
    token = response.text.split('embed-token="')[1].split('"')[0]
    # The attribute goes right after the element name; nothing else changes.
    assert response.text == WIDGET_PAGE.replace(
        "<rai-store-widget ", '<rai-store-widget embed-token="%s" ' % token)
    stats = standin.stats()
    assert (stats["token_requests"], stats["ok"], stats["rejected"]) == (1, 1, 0)
    assert stats["requests"][0]["token"] == token
    assert httpd.notes() == ["fetched"]


def test_page_without_widget_is_untouched(httpd, standin):
    path = httpd.write("plain.html", PLAIN_PAGE)
    httpd.configure(basic_auth_site(httpd, standin)).start()

    response = httpd.get("plain.html", auth=("alice", "alice"))

    assert response.status_code == 200
    assert response.content == path.read_bytes()
    assert standin.stats()["token_requests"] == 0
    assert httpd.notes() == ["none"]


def test_libcurl_only_in_children(httpd, standin):
    """libcurl is loaded by the worker children, not linked: httpd's parent process (from
    which mod_cgid's daemon and every CGI are forked) never maps it, and a child that
    fetched a token does (docs/DESIGN-NOTES.md)."""
    httpd.write("widget.html", WIDGET_PAGE)
    httpd.configure(basic_auth_site(httpd, standin)).start()
    response = httpd.get("widget.html", auth=("alice", "alice"))
    assert token_payload(response.text)["sub"] == "alice"

    parent = int((httpd.run / "httpd.pid").read_text())
    child = int(httpd.access_log()[-1]["pid"])
    assert child != parent
    with open("/proc/%d/maps" % parent) as maps:
        assert "libcurl" not in maps.read()
    with open("/proc/%d/maps" % child) as maps:
        assert "libcurl" in maps.read()


def test_child_without_libcurl(httpd_factory, standin, workdir):
    """A child that cannot load libcurl (here a broken libcurl.so.4 found first on
    LD_LIBRARY_PATH) says so at start (RAI0043) and serves pages without tokens."""
    broken = workdir / "broken-lib"
    broken.mkdir()
    (broken / "libcurl.so.4").write_bytes(b"not a shared object\n")
    httpd = httpd_factory(env={"LD_LIBRARY_PATH": str(broken)})
    httpd.expect_error(r"RAI0043: cannot load libcurl \(libcurl\.so\.4\): .+; no token "
                       r"can be fetched in this child")
    httpd.write("widget.html", WIDGET_PAGE)
    httpd.configure(basic_auth_site(httpd, standin)).start()

    response = httpd.get("widget.html", auth=("alice", "alice"))

    assert response.status_code == 200
    assert response.text == WIDGET_PAGE
    assert standin.stats()["token_requests"] == 0
    assert httpd.notes() == ["error"]
    log = httpd.error_log()
    assert "[rai_embed:crit]" in log and "RAI0043" in log
    assert "libcurl is not loaded" in log
