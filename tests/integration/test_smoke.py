"""Smoke tests: a widget page gets the signed-in user's token; a page without one is
left alone.  Both run the event MPM with RaiEmbed on for a Basic-auth directory."""

import os
import re
import time

import pytest

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


def _maps(pid):
    with open("/proc/%d/maps" % pid) as maps:
        return maps.read()


def _children(parent):
    """The processes whose parent is httpd's parent: {pid: threads}."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/status" % entry) as status:
                fields = dict(line.split(":\t", 1) for line in status.read().splitlines()
                              if ":\t" in line)
        except OSError:
            continue
        if int(fields.get("PPid", "0")) == parent:
            found[int(entry)] = int(fields["Threads"])
    return found


# What each process must map, or must not: libcurl, libcrypto and json-c are loaded by
# the worker children, never linked.
LIBRARIES = ("libcurl.so", "libcrypto.so", "libjson-c.so")


def test_libraries_only_in_children(httpd, standin):
    """libcurl, libcrypto and json-c are loaded by the worker children, not linked:
    httpd's parent process and mod_cgid's daemon (which forks every CGI from its image)
    never map them, and a child that fetched a token (and sealed it in the cache) does
    (docs/DESIGN-NOTES.md).  The page still gets its token, from the cache the second
    time."""
    httpd.write("widget.html", WIDGET_PAGE)
    httpd.configure(basic_auth_site(httpd, standin)).start()
    response = httpd.get("widget.html", auth=("alice", "alice"))
    assert token_payload(response.text)["sub"] == "alice"
    again = httpd.get("widget.html", auth=("alice", "alice"))
    assert again.text == response.text
    assert standin.stats()["token_requests"] == 1

    parent = int((httpd.run / "httpd.pid").read_text())
    child = int(httpd.access_log()[-1]["pid"])
    # mod_cgid's daemon is the one child without threads, once every worker child
    # has started its own
    deadline = time.monotonic() + 10
    while True:
        children = _children(parent)
        daemons = [pid for pid, threads in children.items() if threads == 1]
        if len(daemons) == 1 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert child in children and children[child] > 1
    assert len(daemons) == 1, children
    for pid in (parent, daemons[0]):
        mapped = _maps(pid)
        for library in LIBRARIES:
            assert library not in mapped, (pid, library)
    mapped = _maps(child)
    for library in LIBRARIES:
        assert library in mapped, library


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


@pytest.mark.parametrize("soname,label", [("libcrypto.so.3", "libcrypto"),
                                          ("libjson-c.so.5", "json-c")])
def test_child_without_libcrypto_or_json_c(httpd_factory, standin, workdir, soname, label):
    """A child that cannot load libcrypto or json-c (a broken copy found first on
    LD_LIBRARY_PATH) says so at start (RAI0044, at crit) and serves every page whole and
    without a token: it neither reads the token cache (its entries are sealed) nor asks
    the API (RAI0045).  The parent, which never loads them, starts as usual."""
    broken = workdir / "broken-lib"
    broken.mkdir()
    (broken / soname).write_bytes(b"not a shared object\n")
    httpd = httpd_factory(env={"LD_LIBRARY_PATH": str(broken)})
    httpd.expect_error(r"RAI0044: cannot load %s \(%s\): .+; no token can be fetched in "
                       r"this child" % (re.escape(label), re.escape(soname)))
    # libcurl needs libcrypto too
    httpd.expect_error(r"RAI0043: cannot load libcurl")
    httpd.write("widget.html", WIDGET_PAGE)
    httpd.configure(basic_auth_site(httpd, standin)).start()

    for _ in range(2):
        response = httpd.get("widget.html", auth=("alice", "alice"))
        assert response.status_code == 200
        assert response.text == WIDGET_PAGE
    assert standin.stats()["token_requests"] == 0
    assert httpd.notes() == ["error", "error"]
    log = httpd.error_log()
    assert "[rai_embed:crit]" in log and "RAI0044" in log
    assert "RAI0045: no token for /widget.html" in log
