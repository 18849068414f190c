"""Failures of the token API never fail the page (docs/configuration.md): for every way the
stand-in can be down, slow, wrong or hostile the page is served 200, byte for byte as the
file, within TOTAL + 1 s, with the note `error` and a RAI0011 warning; plus TLS
verification of the token API.

Every scenario gets a fresh httpd (a per-process back-off starts after 3 failures in a row)
and RaiEmbedCache none, so each page asks the API.
"""

import importlib.util
import re
import time

import pytest

from rai_harness import (ACCESS_KEY, STANDIN_SCRIPT, rai_conf, refusing_port,
                         token_payload, wait_for)

_spec = importlib.util.spec_from_file_location("rai_standin", STANDIN_SCRIPT)
rai_standin = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(rai_standin)
HOSTILE_TOKENS = rai_standin.HOSTILE_TOKENS

WIDGET_PAGE = ('<html><body>\n<rai-store-widget community-id="c1"></rai-store-widget>\n'
               '<rai-widget></rai-widget>\n</body></html>\n')
HEADER_ID = 'data-customer-id "expr=%{HTTP:X-User}"'
AS_ALICE = {"X-User": "alice"}
TIMEOUT = "0.5 1"
TOTAL = 1.0
# One process, so that "once per 30 s per process" is once per test.
ONE_PROCESS = """
StartServers 1
ServerLimit 1
MaxRequestWorkers 8
"""


def start_site(httpd_factory, standin, *, loglevel=None, extra="", **conf):
    options = {} if loglevel is None else {"loglevel": loglevel}
    httpd = httpd_factory(**options)
    path = httpd.write("w.html", WIDGET_PAGE)
    conf.setdefault("Identifier", HEADER_ID)
    conf.setdefault("Cache", "none")
    conf.setdefault("Timeout", TIMEOUT)
    httpd.configure(rai_conf(standin, **conf) + extra).start()
    return httpd, path


def timed_get(httpd, path="w.html"):
    started = time.monotonic()
    response = httpd.get(path, headers=AS_ALICE)
    return response, time.monotonic() - started


def rai_lines(httpd, tag):
    pattern = re.compile(r"\[rai_embed:(\w+)\].*%s: (.*)" % tag)
    return [m.groups() for m in map(pattern.search, httpd.error_log().splitlines()) if m]


def assert_page_unharmed(httpd, response, elapsed, path, *, reason=None):
    """The page as the file, in time, note error, and a RAI0011 warning."""
    assert response.status_code == 200
    assert response.content == path.read_bytes()
    assert elapsed < TOTAL + 1, "the page took %.2f s" % elapsed
    assert httpd.notes() == ["error"]
    lines = rai_lines(httpd, "RAI0011")
    assert lines, "no RAI0011 line:\n" + httpd.error_log()
    if reason:
        assert re.search(reason, lines[0][1]), lines[0][1]
    assert lines[0][0] == "warn", "RAI0011 logged at %s, not warn" % lines[0][0]


# ------------------------------------------------------------------ scenarios

SCENARIOS = {
    # id: (stand-in behaviour, pattern the RAI0011 reason must match)
    "down": (dict(mode="down"), r"Empty reply|reset|closed|recv|Server returned nothing"),
    "slow": (dict(mode="slow", delay=5), r"timed out"),
    "error500": (dict(mode="error", status=500), r"HTTP 500"),
    "error502": (dict(mode="error", status=502), r"HTTP 502"),
    "notjson": (dict(mode="notjson"), r"JSON"),
    "oversized": (dict(mode="oversized"), r"64 KiB"),
    "redirect": (dict(mode="redirect"), r"HTTP 302"),
}
SCENARIOS.update({
    "hostile-" + kind: (dict(mode="hostile", hostile=kind), r"embedToken")
    for kind in HOSTILE_TOKENS})


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_failure(httpd_factory, standin, scenario):
    behaviour, reason = SCENARIOS[scenario]
    httpd, path = start_site(httpd_factory, standin)
    standin.control(**behaviour)

    response, elapsed = timed_get(httpd)

    if behaviour["mode"] == "hostile":
        hostile = HOSTILE_TOKENS[behaviour["hostile"]]
        if isinstance(hostile, str) and hostile:
            assert hostile not in response.text
            for part in re.split(r"[.\s]+", hostile):
                if len(part) > 8 and part not in WIDGET_PAGE:
                    assert part not in response.text
    if behaviour["mode"] == "redirect":
        time.sleep(0.3)     # a followed redirect would have arrived by now
    stats = standin.stats()
    assert stats["token_requests"] == 1, stats["requests"]
    assert stats["rejected"] == 0, stats["requests"][0]["rejected"]
    assert_page_unharmed(httpd, response, elapsed, path, reason=reason)


def test_wrong_key_401(httpd_factory, standin):
    wrong_key = "wrong-secret-key-PLUGH"
    httpd, path = start_site(httpd_factory, standin, AccessKey=wrong_key)
    httpd.secrets.append(wrong_key)

    response, elapsed = timed_get(httpd)

    stats = standin.stats()
    assert stats["token_requests"] == 1
    record = stats["requests"][0]
    assert record["status"] == 401 and record["rejected"]
    assert record["body"]["accessKey"] == wrong_key
    assert_page_unharmed(httpd, response, elapsed, path, reason=r"HTTP 401")


def test_noexpires_uses_jwt_exp(httpd_factory, standin):
    # No expiresIn: the JWT's exp (lifetime 600 s) holds, not the 900 s default.
    httpd, _ = start_site(httpd_factory, standin)
    standin.control(mode="noexpires", lifetime=600)

    response, elapsed = timed_get(httpd)

    assert response.status_code == 200
    claims = token_payload(response.text)
    assert claims["ids"] == {"data-customer-id": "alice"}
    assert claims["exp"] - claims["iat"] == 600
    assert elapsed < TOTAL + 1
    assert httpd.notes() == ["fetched"]
    used = rai_lines(httpd, "RAI0013")
    assert used, httpd.error_log()
    left = int(re.search(r"(\d+) s left", used[0][1]).group(1))
    assert 590 <= left <= 600, used[0][1]


def test_noexpires_short_exp_not_cached(httpd_factory, standin):
    # exp 30 s away: used for its own page but never stored (less than 60 s left), which
    # only holds if the module took the lifetime from the JWT's exp.
    httpd, _ = start_site(httpd_factory, standin, Cache=None)
    standin.control(mode="noexpires", lifetime=30)

    first = httpd.get("w.html", headers=AS_ALICE)
    second = httpd.get("w.html", headers=AS_ALICE)

    assert token_payload(first.text)["exp"] - token_payload(first.text)["iat"] == 30
    assert token_payload(second.text)["n"] != token_payload(first.text)["n"]
    assert standin.stats()["token_requests"] == 2
    assert httpd.notes() == ["fetched", "fetched"]


# ------------------------------------------------------------ rate limiting

def test_two_failures_one_warning(httpd_factory, standin):
    httpd, path = start_site(httpd_factory, standin, loglevel="warn", extra=ONE_PROCESS)
    standin.control(mode="error", status=500)

    for _ in range(2):
        response = httpd.get("w.html", headers=AS_ALICE)
        assert response.content == path.read_bytes()

    entries = httpd.access_log()
    assert [e["rai_embed"] for e in entries] == ["error", "error"]
    assert entries[0]["pid"] == entries[1]["pid"]
    assert standin.stats()["token_requests"] == 2
    assert [level for level, _ in rai_lines(httpd, "RAI0011")] == ["warn"]


def test_second_failure_logged_at_debug(httpd_factory, standin):
    httpd, _ = start_site(httpd_factory, standin, loglevel="warn rai_embed:debug",
                          extra=ONE_PROCESS)
    standin.control(mode="error", status=500)

    for _ in range(2):
        httpd.get("w.html", headers=AS_ALICE)

    assert httpd.notes() == ["error", "error"]
    assert [level for level, _ in rai_lines(httpd, "RAI0011")] == ["warn", "debug"]


# ----------------------------------------------------------------------- TLS

def test_tls_with_ca_file(httpd_factory, standin):
    httpd, _ = start_site(httpd_factory, standin, tls=True)

    response, elapsed = timed_get(httpd)

    assert response.status_code == 200
    record = standin.requests()[0]
    assert record["tls"] is True and record["rejected"] is None
    assert token_payload(response.text)["n"] == record["claims"]["n"]
    assert httpd.notes() == ["fetched"]


@pytest.mark.parametrize("ca", ["system", "other", "wrong-name"])
def test_tls_unverified_peer(httpd_factory, standin, ca):
    conf = {"tls": True}
    if ca == "system":
        conf["CACertificateFile"] = None
    elif ca == "other":
        conf["CACertificateFile"] = '"%s"' % standin.other_ca_path
    else:
        # The right CA, but the certificate names 127.0.0.1 only.
        conf["TokenURL"] = standin.tls_url.replace("127.0.0.1", "localhost")
    httpd, path = start_site(httpd_factory, standin, **conf)

    response, elapsed = timed_get(httpd)

    if ca == "wrong-name":
        # curl may finish the handshake and check the name after it: then it hangs up
        # without a request.
        assert wait_for(lambda: standin.stats()["tls_connections"] > 0, 5)
        time.sleep(0.2)
    else:
        assert wait_for(lambda: standin.stats()["tls_failures"] > 0, 5), standin.stats()
    stats = standin.stats()
    assert stats["token_requests"] == 0     # the credentials never left
    assert_page_unharmed(httpd, response, elapsed, path,
                         reason=r"(?i)certificate|SSL|TLS")


def test_connection_refused(httpd_factory, standin, request):
    url = "http://127.0.0.1:%d/v2/api/widget-access-keys/token" % refusing_port(request)
    httpd, path = start_site(httpd_factory, standin, TokenURL=url)

    response, elapsed = timed_get(httpd)

    assert standin.stats()["token_requests"] == 0
    assert_page_unharmed(httpd, response, elapsed, path, reason=r"(?i)connect")


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_plain_http_loopback(httpd_factory, standin, host):
    url = standin.url.replace("127.0.0.1", host)
    httpd, _ = start_site(httpd_factory, standin, TokenURL=url)

    response = httpd.get("w.html", headers=AS_ALICE)

    assert response.status_code == 200
    record = standin.requests()[0]
    assert record["tls"] is False and record["rejected"] is None
    assert token_payload(response.text)["sub"] == "alice"
    assert ACCESS_KEY not in response.text
