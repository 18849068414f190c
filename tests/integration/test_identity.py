"""Identity (docs/configuration.md): where the userIdentifiers of a token request come from.

Every test here runs with RaiEmbedCache none, so each widget page makes its own token
request and the stand-in's request log shows exactly what the module sent.
"""

import concurrent.futures
import hashlib
import hmac

import pytest

from rai_harness import (ACCESS_KEY, b64url_decode, embed_tokens, loopback_session, rai_conf,
                         token_payload)

WIDGET_PAGE = ('<html><body>\n<rai-store-widget community-id="c1"></rai-store-widget>\n'
               '<p>text</p><rai-widget></rai-widget>\n</body></html>\n')
USERS = {"alice": "alice-pw", "bob": "bob-pw"}


def auth_section(httpd, users=USERS, directory=None):
    password_file = httpd.htpasswd(users)
    return """
<Directory "{directory}">
    AuthType Basic
    AuthName "identity"
    AuthUserFile "{password_file}"
    Require valid-user
</Directory>
""".format(directory=directory or httpd.docroot, password_file=password_file)


def site(httpd, standin, *, auth=True, extra="", **conf):
    """RaiEmbed for the whole DocumentRoot, no token cache, Basic auth unless auth=False."""
    conf.setdefault("Cache", "none")
    text = rai_conf(standin, **conf)
    if auth:
        text += auth_section(httpd)
    return text + extra


def only_request(standin):
    """The single token request the stand-in saw (asserts there was exactly one)."""
    stats = standin.stats()
    assert stats["token_requests"] == 1, stats
    record = stats["requests"][0]
    assert record["rejected"] is None, record["rejected"]
    return record


def assert_token_for(response, standin, identity):
    """The page carries a token minted for exactly this identity, and the module sent
    exactly this userIdentifiers object."""
    assert response.status_code == 200
    record = only_request(standin)
    assert record["body"]["userIdentifiers"] == identity
    claims = token_payload(response.text)
    assert claims["ids"] == identity
    assert embed_tokens(response.text) == [record["token"]] * 2


def assert_untouched(response, path):
    assert response.status_code == 200
    assert response.content == path.read_bytes()
    assert "embed-token" not in response.text


# --------------------------------------------------------------------- user (default)

def test_user_basic_auth(httpd_factory, standin):
    httpd = httpd_factory()
    httpd.write("w.html", WIDGET_PAGE)
    httpd.configure(site(httpd, standin)).start()

    alice = httpd.get("w.html", auth=("alice", "alice-pw"))
    assert_token_for(alice, standin, {"data-customer-id": "alice"})
    assert token_payload(alice.text)["sub"] == "alice"

    standin.reset()
    bob = httpd.get("w.html", auth=("bob", "bob-pw"))
    assert_token_for(bob, standin, {"data-customer-id": "bob"})
    assert token_payload(bob.text)["sub"] == "bob"
    assert httpd.notes() == ["fetched", "fetched"]


# --------------------------------------------------------------------------- note:

PHP_NOTE_PAGE = """<html><body><p>before the widget</p>
<?php while (ob_get_level()) { ob_end_flush(); } flush();
apache_note("rai_user", isset($_GET["u"]) ? $_GET["u"] : ""); ?>
<rai-store-widget community-id="c1"></rai-store-widget>
</body></html>
"""


def test_note_from_php(httpd_factory, standin):
    # The flush sends the start of the page through the filter (PHP's own output buffer
    # ended first) before the note exists: identity must be read when the first widget is
    # met, not when output starts.
    httpd = httpd_factory(mpm="prefork", php=True)
    httpd.write("note.php", PHP_NOTE_PAGE)
    httpd.configure(site(httpd, standin, auth=False,
                         Identifier="data-customer-id note:rai_user")).start()

    response = httpd.get("note.php", params={"u": "carol"})
    assert response.status_code == 200
    assert response.text.startswith("<html><body><p>before the widget</p>\n")
    record = only_request(standin)
    assert record["body"]["userIdentifiers"] == {"data-customer-id": "carol"}
    assert token_payload(response.text)["sub"] == "carol"
    assert '<rai-store-widget embed-token="%s" community-id="c1">' % record["token"] \
        in response.text

    # The same script setting an empty note: anonymous, nothing asked.
    standin.reset()
    anonymous = httpd.get("note.php")
    assert anonymous.status_code == 200
    assert "embed-token" not in anonymous.text
    assert standin.stats()["token_requests"] == 0
    assert httpd.notes() == ["fetched", "anonymous"]


# ---------------------------------------------------------------------------- env:

def test_env_setenvif(httpd_factory, standin):
    httpd = httpd_factory()
    path = httpd.write("w.html", WIDGET_PAGE)
    httpd.configure(site(httpd, standin, auth=False,
                         Identifier="data-customer-id env:RAI_USER",
                         extra='SetEnvIf X-Test-User "^(.+)$" RAI_USER=$1\n')).start()

    response = httpd.get("w.html", headers={"X-Test-User": "dave"})
    assert_token_for(response, standin, {"data-customer-id": "dave"})

    standin.reset()
    assert_untouched(httpd.get("w.html"), path)
    assert standin.stats()["token_requests"] == 0
    assert httpd.notes() == ["fetched", "anonymous"]


def test_env_setenv_and_user(httpd_factory, standin):
    httpd = httpd_factory()
    httpd.write("w.html", WIDGET_PAGE)
    httpd.configure(site(httpd, standin,
                         Identifier=["data-customer-id user",
                                     "data-custom-tier env:RAI_TIER"],
                         extra="SetEnv RAI_TIER gold\n")).start()

    response = httpd.get("w.html", auth=("alice", "alice-pw"))
    assert_token_for(response, standin,
                     {"data-customer-id": "alice", "data-custom-tier": "gold"})


# ---------------------------------------------------------------------------- expr=

def test_expr_header(httpd_factory, standin):
    httpd = httpd_factory()
    path = httpd.write("w.html", WIDGET_PAGE)
    httpd.configure(site(httpd, standin, auth=False,
                         Identifier='data-user-id "expr=%{HTTP:X-Test-User}"')).start()

    response = httpd.get("w.html", headers={"X-Test-User": "erin"})
    assert_token_for(response, standin, {"data-user-id": "erin"})

    # An expression that yields an empty string is no value: anonymous.
    standin.reset()
    assert_untouched(httpd.get("w.html"), path)
    assert standin.stats()["token_requests"] == 0
    assert httpd.notes() == ["fetched", "anonymous"]


def test_several_identifiers(httpd_factory, standin):
    httpd = httpd_factory()
    httpd.write("w.html", WIDGET_PAGE)
    httpd.configure(site(httpd, standin, Identifier=[
        "data-customer-id user",
        'data-email "expr=%{REMOTE_USER}@example.com"',
        'data-custom-tier "expr=%{HTTP:X-Tier}"'])).start()

    response = httpd.get("w.html", auth=("bob", "bob-pw"), headers={"X-Tier": "silver"})
    assert_token_for(response, standin, {"data-customer-id": "bob",
                                         "data-email": "bob@example.com",
                                         "data-custom-tier": "silver"})


def test_empty_ones_left_out(httpd_factory, standin):
    httpd = httpd_factory()
    httpd.write("w.html", WIDGET_PAGE)
    httpd.configure(site(httpd, standin, Identifier=[
        "data-customer-id user",
        'data-email "expr=%{HTTP:X-Mail}"',
        "data-custom-tier env:RAI_NOT_SET",
        "data-user-id note:rai_not_set"])).start()

    response = httpd.get("w.html", auth=("alice", "alice-pw"))
    assert_token_for(response, standin, {"data-customer-id": "alice"})

    standin.reset()
    response = httpd.get("w.html", auth=("alice", "alice-pw"),
                         headers={"X-Mail": "a@example.org"})
    assert_token_for(response, standin, {"data-customer-id": "alice",
                                         "data-email": "a@example.org"})


def test_all_empty_anonymous(httpd_factory, standin):
    httpd = httpd_factory()
    path = httpd.write("w.html", WIDGET_PAGE)
    httpd.configure(site(httpd, standin, auth=False, Identifier=[
        "data-customer-id user",
        'data-email "expr=%{HTTP:X-Mail}"',
        "data-custom-tier env:RAI_NOT_SET"])).start()

    for _ in range(2):
        assert_untouched(httpd.get("w.html"), path)
    assert standin.stats()["token_requests"] == 0
    assert httpd.notes() == ["anonymous", "anonymous"]


def test_no_auth_anonymous(httpd_factory, standin):
    httpd = httpd_factory()
    path = httpd.write("w.html", WIDGET_PAGE)
    httpd.configure(site(httpd, standin, auth=False)).start()

    assert_untouched(httpd.get("w.html"), path)
    assert standin.stats()["token_requests"] == 0
    assert httpd.notes() == ["anonymous"]


# ------------------------------------------------------------- refused values

def long_value(length):
    """A recognisable value of exactly length bytes."""
    head = "LongIdentityValue-"
    return head + "".join("%x" % (i % 16) for i in range(length - len(head)))


def assert_refused(httpd, standin, response, path, key, value):
    assert_untouched(response, path)
    assert standin.stats()["token_requests"] == 0
    assert httpd.notes()[-1] == "error"
    log = httpd.error_log()
    refusals = [line for line in log.splitlines() if "RAI0012" in line]
    assert refusals, "no RAI0012 line:\n" + log
    assert any("[rai_embed:warn]" in line and key in line for line in refusals), refusals
    # Personal data: not at warn level (the httpd runs at LogLevel warn).
    escaped = value.replace("\t", "\\t").replace("\x7f", "\\x7f").replace("\x01", "\\x01")
    for part in {value, value[:24], escaped}:
        assert part not in log


def test_513_bytes_refused(httpd_factory, standin):
    httpd = httpd_factory(loglevel="warn")
    path = httpd.write("w.html", WIDGET_PAGE)
    httpd.configure(site(httpd, standin, auth=False,
                         Identifier='data-custom-long "expr=%{HTTP:X-Test-User}"')).start()
    value = long_value(513)

    response = httpd.get("w.html", headers={"X-Test-User": value})
    assert_refused(httpd, standin, response, path, "data-custom-long", value)


def test_513_bytes_env_refused(httpd_factory, standin):
    httpd = httpd_factory(loglevel="warn")
    path = httpd.write("w.html", WIDGET_PAGE)
    httpd.configure(site(httpd, standin, auth=False,
                         Identifier="data-custom-env env:RAI_USER",
                         extra='SetEnvIf X-Test-User "^(.+)$" RAI_USER=$1\n')).start()
    value = long_value(513)

    response = httpd.get("w.html", headers={"X-Test-User": value})
    assert_refused(httpd, standin, response, path, "data-custom-env", value)


def test_512_bytes_accepted(httpd_factory, standin):
    httpd = httpd_factory(loglevel="warn")
    httpd.write("w.html", WIDGET_PAGE)
    httpd.configure(site(httpd, standin, auth=False,
                         Identifier='data-custom-long "expr=%{HTTP:X-Test-User}"')).start()
    value = long_value(512)
    assert len(value.encode()) == 512

    response = httpd.get("w.html", headers={"X-Test-User": value})
    assert_token_for(response, standin, {"data-custom-long": value})
    assert "RAI0012" not in httpd.error_log()


def test_tab_refused(httpd_factory, standin):
    httpd = httpd_factory(loglevel="warn")
    path = httpd.write("w.html", WIDGET_PAGE)
    httpd.configure(site(httpd, standin, auth=False,
                         Identifier='data-custom-tab "expr=%{HTTP:X-Test-User}"')).start()
    value = "tab\tinside"

    response = httpd.get("w.html", headers={"X-Test-User": value})
    assert_refused(httpd, standin, response, path, "data-custom-tab", value)


def test_bad_utf8_refused(httpd_factory, standin):
    # Not UTF-8, so it cannot travel in JSON: refused before any request, and
    # so never counted as an API failure that could start a back-off for all.
    httpd = httpd_factory(loglevel="warn")
    path = httpd.write("w.html", WIDGET_PAGE)
    httpd.configure(site(httpd, standin, auth=False,
                         Identifier='data-custom-u8 "expr=%{HTTP:X-Test-User}"')).start()
    for _ in range(4):
        response = httpd.get("w.html", headers={"X-Test-User": b"caf\xe9"})
        assert_refused(httpd, standin, response, path, "data-custom-u8", "caf")
    assert "RAI0022" not in httpd.error_log()
    response = httpd.get("w.html", headers={"X-Test-User": "café".encode()})
    assert_token_for(response, standin, {"data-custom-u8": "café"})


def test_ctl_char_env_refused(httpd_factory, standin):
    # A raw DEL (0x7f) and a raw 0x01 written into the configuration by SetEnv.
    httpd = httpd_factory(loglevel="warn")
    httpd.configure(site(httpd, standin, auth=False,
                         Identifier="data-custom-ctl env:RAI_CTL",
                         extra='<Location "/del.html">\n  SetEnv RAI_CTL "del\x7fvalue"\n'
                               '</Location>\n<Location "/soh.html">\n'
                               '  SetEnv RAI_CTL "soh\x01value"\n</Location>\n')).start()
    del_path = httpd.write("del.html", WIDGET_PAGE)
    soh_path = httpd.write("soh.html", WIDGET_PAGE)

    assert_refused(httpd, standin, httpd.get("del.html"), del_path, "data-custom-ctl",
                   "del\x7fvalue")
    assert_refused(httpd, standin, httpd.get("soh.html"), soh_path, "data-custom-ctl",
                   "soh\x01value")


# ------------------------------------------------------------------- scopes

def test_scope_replaces_list(httpd_factory, standin):
    httpd = httpd_factory()
    httpd.write("w.html", WIDGET_PAGE)
    httpd.write("scoped/w.html", WIDGET_PAGE)
    httpd.write("loc/w.html", WIDGET_PAGE)
    extra = """
<Directory "{docroot}/scoped">
    RaiEmbedIdentifier data-email "expr=%{{REMOTE_USER}}@example.com"
</Directory>
<Location "/loc">
    RaiEmbedIdentifier data-user-id "expr=%{{HTTP:X-Test-User}}"
    RaiEmbedIdentifier data-custom-tier env:RAI_TIER
</Location>
SetEnv RAI_TIER gold
""".format(docroot=httpd.docroot)
    httpd.configure(site(httpd, standin, extra=extra, Identifier=[
        "data-customer-id user", "data-custom-tier env:RAI_TIER"])).start()
    auth = ("alice", "alice-pw")

    assert_token_for(httpd.get("w.html", auth=auth), standin,
                     {"data-customer-id": "alice", "data-custom-tier": "gold"})
    standin.reset()
    assert_token_for(httpd.get("scoped/w.html", auth=auth), standin,
                     {"data-email": "alice@example.com"})
    standin.reset()
    assert_token_for(httpd.get("loc/w.html", auth=auth, headers={"X-Test-User": "u-17"}),
                     standin, {"data-user-id": "u-17", "data-custom-tier": "gold"})


# --------------------------------------------------------------- JSON escaping

def test_json_escaping(httpd_factory, standin):
    httpd = httpd_factory()
    httpd.write("w.html", WIDGET_PAGE)
    httpd.configure(site(httpd, standin, auth=False, Identifier=[
        'data-customer-id "expr=%{HTTP:X-Test-User}"',
        'data-email "expr=%{HTTP:X-Mail}"'])).start()
    value = 'O\'Brien "the boss" \\ back/slash </script> {"x":1} Zo\u00eb \u65e5\u672c \U0001f600'
    mail = '"quoted"@example.com'

    response = httpd.get("w.html", headers={"X-Test-User": value.encode("utf-8"),
                                            "X-Mail": mail})
    assert_token_for(response, standin, {"data-customer-id": value, "data-email": mail})
    assert token_payload(response.text)["sub"] == value


# ------------------------------------------------------------ thread safety

@pytest.mark.parametrize("cache", ["none", "shmcb"])
def test_event_threads(httpd_factory, standin, cache):
    users = {"user%02d" % i: "pw-%02d" % i for i in range(10)}
    httpd = httpd_factory(mpm="event")
    httpd.write("w.html", WIDGET_PAGE)
    httpd.configure(rai_conf(standin, Cache=cache) + auth_section(httpd, users)).start()
    names = sorted(users)

    def fetch(i):
        # One connection per request: the event MPM may close an idle keep-alive
        # connection under load, which a reusing client sees as a spurious error.
        user = names[i % len(names)]
        with loopback_session() as session:
            response = session.get(httpd.url("w.html"), auth=(user, users[user]),
                                   headers={"Connection": "close"}, timeout=20)
        return user, response

    with concurrent.futures.ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(fetch, range(200)))

    owner = {}
    for user, response in results:
        assert response.status_code == 200
        assert ACCESS_KEY.encode() not in response.content
        tokens = embed_tokens(response.text)
        assert len(tokens) == 2 and tokens[0] == tokens[1], (user, tokens)
        claims = token_payload(response.text)
        assert claims["sub"] == user, (user, claims)
        assert claims["ids"] == {"data-customer-id": user}
        # Minted by the stand-in for this identity (signed with the access key).
        header, payload, signature = tokens[0].split(".")
        expected = hmac.new(ACCESS_KEY.encode(), (header + "." + payload).encode(),
                            hashlib.sha256).digest()
        assert b64url_decode(signature) == expected
        assert owner.setdefault(tokens[0], user) == user, "one token on two users' pages"
    stats = standin.stats()
    assert stats["rejected"] == 0
    notes = [entry["rai_embed"] for entry in httpd.access_log(wait_for_lines=200)]
    assert len(notes) == 200
    if cache == "none":
        # Concurrent pages of one user in one process may share one call (single flight).
        assert 10 <= stats["token_requests"] <= 200
        assert set(notes) == {"fetched"}
    else:
        assert 10 <= stats["token_requests"] < 200
        assert set(notes) <= {"fetched", "cached"} and "cached" in notes
