"""docs/configuration.md: the refresh endpoint (SetHandler rai-embed-token) and RaiEmbedRefreshScript."""

import hashlib
import re
import subprocess

import pytest

from rai_harness import REPO_ROOT, jwt_payload, rai_conf, token_payload

WIDGET_PAGE = '<html><body><rai-store-widget community-id="c1"></rai-store-widget></body></html>\n'


def site(httpd, standin, extra="", **overrides):
    password_file = httpd.htpasswd({"alice": "alice", "bob": "bob"})
    return rai_conf(standin, Cache="none", Timeout="0.3 0.6", **overrides) + """
<Location "/token">
    SetHandler rai-embed-token
</Location>
<Location "/">
    AuthType Basic
    AuthName "refresh"
    AuthUserFile "{password_file}"
    Require valid-user
</Location>
<Location "/open">
    Require all granted
</Location>
{extra}
""".format(password_file=password_file, extra=extra)


def test_endpoint_token(httpd, standin):
    httpd.configure(site(httpd, standin)).start()

    response = httpd.get("token", auth=("bob", "bob"))

    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.headers["Cache-Control"] == "no-store"
    body = response.json()
    assert set(body) == {"embedToken", "expiresIn"}
    assert jwt_payload(body["embedToken"])["sub"] == "bob"
    assert 890 <= body["expiresIn"] <= 900
    assert standin.stats()["token_requests"] == 1
    assert httpd.notes() == ["fetched"]


# an endpoint where everyone is let in, under the site's Basic auth
OPEN_ENDPOINT = """
<Location "/open/token">
    SetHandler rai-embed-token
</Location>"""


def test_endpoint_anonymous(httpd, standin):
    httpd.configure(site(httpd, standin, extra=OPEN_ENDPOINT)).start()

    response = httpd.get("open/token")

    assert response.status_code == 401
    assert "embedToken" not in response.text
    assert standin.stats()["token_requests"] == 0
    assert httpd.notes() == ["anonymous"]


def test_endpoint_cross_site(httpd, standin):
    httpd.configure(site(httpd, standin)).start()

    response = httpd.get("token", auth=("alice", "alice"),
                         headers={"Sec-Fetch-Site": "cross-site"})
    assert response.status_code == 403
    assert response.headers["Cache-Control"] == "no-store"
    assert standin.stats()["token_requests"] == 0

    same = httpd.get("token", auth=("alice", "alice"),
                     headers={"Sec-Fetch-Site": "same-origin"})
    assert same.status_code == 200


def test_endpoint_post_refused(httpd, standin):
    httpd.configure(site(httpd, standin)).start()

    response = httpd.request("POST", "token", auth=("alice", "alice"), data="x")

    assert response.status_code == 405
    assert response.headers["Cache-Control"] == "no-store"
    assert "GET" in response.headers.get("Allow", "")
    assert standin.stats()["token_requests"] == 0


ONE_PROCESS = """
StartServers 1
ServerLimit 1
ThreadLimit 8
ThreadsPerChild 8
MinSpareThreads 1
MaxSpareThreads 16
MaxRequestWorkers 8
"""


def test_endpoint_api_down(httpd, standin):
    # one process: back-off is kept per process
    httpd.configure(site(httpd, standin, extra=ONE_PROCESS)).start()
    standin.control(mode="error", status=500)

    for _ in range(3):
        response = httpd.get("token", auth=("alice", "alice"))
        assert response.status_code == 503
        assert int(response.headers["Retry-After"]) >= 1
        assert "embedToken" not in response.text
    # now in back-off: Retry-After says how long it lasts, and no call is made
    before = standin.stats()["token_requests"]
    response = httpd.get("token", auth=("alice", "alice"))
    assert response.status_code == 503
    assert 1 <= int(response.headers["Retry-After"]) <= 2
    assert standin.stats()["token_requests"] == before
    assert set(httpd.notes()) == {"error"}


SCRIPT_ELEMENT = re.compile(r'<script src="/token\?script=([0-9a-f]{16})" defer '
                            r'data-endpoint="/token"></script>\n')


def test_script_on_token_pages(httpd, standin):
    httpd.write("w.html", WIDGET_PAGE)
    httpd.write("open/w.html", WIDGET_PAGE)
    httpd.write("plain.html", "<html><body>no widget</body></html>\n")
    httpd.configure(site(httpd, standin, RefreshScript="/token")).start()

    page = httpd.get("w.html", auth=("alice", "alice")).text
    assert token_payload(page)["sub"] == "alice"
    # the page as it was, with the token, then one external script element:
    # no inline code (Content-Security-Policy: script-src 'self')
    body, script = page.split("</html>\n")
    assert SCRIPT_ELEMENT.fullmatch(script), script
    assert page.count("<script") == 1

    # no widget, or no token (anonymous): no script
    assert "<script" not in httpd.get("plain.html", auth=("alice", "alice")).text
    anonymous = httpd.get("open/w.html").text
    assert anonymous == WIDGET_PAGE


def test_script_served(httpd, standin):
    httpd.write("w.html", WIDGET_PAGE)
    httpd.configure(site(httpd, standin, RefreshScript="/token", extra=OPEN_ENDPOINT)).start()
    page = httpd.get("w.html", auth=("alice", "alice")).text
    version = SCRIPT_ELEMENT.search(page).group(1)
    source = (REPO_ROOT / "js" / "rai_refresh.js").read_bytes()
    assert version == hashlib.sha256(source).hexdigest()[:16]
    before = standin.stats()["token_requests"]

    response = httpd.get("token?script=" + version, auth=("alice", "alice"))
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/javascript; charset=utf-8"
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.content == source
    # revalidation by ETag
    again = httpd.get("token?script=" + version, auth=("alice", "alice"),
                      headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304
    # the script needs no identity, and asks for no token
    anonymous = httpd.get("open/token?script=" + version)
    assert anonymous.status_code == 200 and anonymous.content == source
    head = httpd.head("open/token?script=" + version)
    assert head.status_code == 200 and head.content == b""
    # an old version (or a bare ?script in a hand-written element): today's
    # script, not to be kept
    for query in ("script=0123456789abcdef", "script", "x=1&script"):
        old = httpd.get("open/token?" + query)
        assert old.status_code == 200 and old.content == source
        assert old.headers["Cache-Control"] == "no-cache"
    assert standin.stats()["token_requests"] == before
    # other queries still get a token
    assert httpd.get("token?scripts=1", auth=("alice", "alice")).json()["embedToken"]


def test_script_open_under_auth(httpd, standin):
    # httpd's authentication runs before the handler; the recipe in
    # docs/configuration.md lets anyone fetch the script itself
    httpd.write("w.html", WIDGET_PAGE)
    httpd.configure(site(httpd, standin, RefreshScript="/token", extra="""
<Location "/token">
    <If "%{QUERY_STRING} =~ /^script(=[0-9a-f]*)?$/">
        Require all granted
    </If>
</Location>""")).start()
    version = SCRIPT_ELEMENT.search(httpd.get("w.html", auth=("alice", "alice")).text).group(1)

    assert httpd.get("token?script=" + version).status_code == 200
    assert httpd.get("token?script").status_code == 200
    assert httpd.get("token").status_code == 401
    assert httpd.get("token?scripts=1").status_code == 401
    assert standin.stats()["token_requests"] == 1


def test_script_query_in_path(httpd, standin):
    httpd.write("w.html", WIDGET_PAGE)
    httpd.configure(site(httpd, standin, RefreshScript="/token?a=1&b=2")).start()
    page = httpd.get("w.html", auth=("alice", "alice")).text
    assert re.search(r'<script src="/token\?a=1&amp;b=2&amp;script=[0-9a-f]{16}" defer '
                     r'data-endpoint="/token\?a=1&amp;b=2"></script>', page), page


def test_script_none_in_scope(httpd, standin):
    httpd.write("w.html", WIDGET_PAGE)
    httpd.write("quiet/w.html", WIDGET_PAGE)
    httpd.configure(site(httpd, standin, RefreshScript="/token", extra="""
<Location "/quiet">
    RaiEmbedRefreshScript none
</Location>""")).start()

    assert "<script" in httpd.get("w.html", auth=("alice", "alice")).text
    quiet = httpd.get("quiet/w.html", auth=("alice", "alice")).text
    assert "<script" not in quiet and 'embed-token="' in quiet


@pytest.mark.parametrize("path", ['/to"ken', "token", "/a b", "/<x>", "//evil.example/t"])
def test_script_bad_path(httpd, standin, path):
    httpd.configure(site(httpd, standin) + '\nRaiEmbedRefreshScript "%s"\n' % path)
    rc, output = httpd.configtest()
    assert rc != 0
    assert "RaiEmbedRefreshScript" in output


def test_script_header_up_to_date():
    # rai_refresh_js.h is committed (an httpd source tree builds it as it is):
    # it must be what scripts/js2h.sh makes of js/rai_refresh.js
    made = subprocess.run(["sh", "scripts/js2h.sh", "js/rai_refresh.js", "rai_refresh_js"],
                          cwd=REPO_ROOT, capture_output=True, check=True).stdout
    assert made == (REPO_ROOT / "rai_refresh_js.h").read_bytes(), \
        "rai_refresh_js.h is out of date: run make and commit it"


def test_anonymous_challenge(httpd, standin):
    # Basic auth that lets everyone in (Require all granted) but still names the
    # scheme: the 401 for an anonymous visitor carries its challenge.
    httpd.configure(site(httpd, standin, extra=OPEN_ENDPOINT)).start()

    response = httpd.get("open/token")

    assert response.status_code == 401
    assert response.headers.get("WWW-Authenticate", "").startswith("Basic")


def test_no_script_in_xhtml(httpd, standin):
    # nothing may follow the root element of an XML document
    xhtml = ('<?xml version="1.0"?>\n<html xmlns="http://www.w3.org/1999/xhtml"><body>'
             '<rai-widget></rai-widget></body></html>\n')
    httpd.write("w.xhtml", xhtml)
    httpd.write("open.html", "<html><body><rai-widget></rai-widget><!-- open comment")
    httpd.configure(site(httpd, standin, RefreshScript="/token")).start()

    response = httpd.get("w.xhtml", auth=("alice", "alice"))
    assert response.headers["Content-Type"].startswith("application/xhtml+xml")
    assert 'embed-token="' in response.text and "<script" not in response.text
    # a page that ends inside a comment: a script there would be no script
    unclosed = httpd.get("open.html", auth=("alice", "alice")).text
    assert 'embed-token="' in unclosed and "<script" not in unclosed
