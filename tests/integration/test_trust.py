"""Trust (SPEC sections 3-7): a token only for the user httpd accepted, sealed wherever
it is stored, never left where a cache or a slice can reuse it.  Every test here is the
one an attacker would write."""

import hashlib

import pytest

from rai_harness import embed_tokens, rai_conf, token_payload

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
