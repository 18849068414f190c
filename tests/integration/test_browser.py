"""docs/configuration.md in a real browser: the refresh script (js/rai_refresh.js) that
RaiEmbedRefreshScript adds to pages, run by Debian's headless Chromium
(chromium, chromium-driver, python3-selenium) against a stand-in widget SDK
(tests/browser/sdk.js).

The visitor is named by a cookie (SetEnvIf Cookie -> env:RAI_USER), not by
Basic auth: fetch() refuses a URL with user:pass@ in it, and a page loaded as
http://user:pass@host/ resolves relative URLs to such ones.  Every page is
served with Content-Security-Policy: script-src 'self', and every test checks
that the browser reported no violation.
"""

import os
import shutil
import tempfile
import time
from pathlib import Path

import pytest

from rai_harness import REPO_ROOT, jwt_payload, rai_conf, wait_for

webdriver = pytest.importorskip("selenium.webdriver")

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
pytestmark = pytest.mark.skipif(
    not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)),
    reason="needs chromium and chromium-driver (scripts/install-deps.sh test)")

BROWSER_DIR = REPO_ROOT / "tests" / "browser"
# The renewed page, taken on every run; RAI_UPDATE_SCREENSHOT=1 puts it in the docs
# (docs/images/refresh.png) instead, so that a test run leaves the checkout as it was.
SCREENSHOT = (REPO_ROOT / "docs" / "images" / "refresh.png"
              if os.environ.get("RAI_UPDATE_SCREENSHOT") == "1"
              else REPO_ROOT / "build" / "screenshots" / "refresh.png")
CSP = "script-src 'self'; object-src 'none'"

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<link rel="stylesheet" href="/assets/demo.css">
<script src="/sdk.js"></script>
{head}</head>
<body>
<h1>{title}</h1>
{body}
</body>
</html>
"""

WIDGETS = """<p class="explain">Two widgets: the server put a token into each; the refresh
script keeps it valid.</p>
<rai-store-widget community-id="c1" class="demo-widget"></rai-store-widget>
<rai-channel-widget community-id="c1" channel-id="general" class="demo-widget">
</rai-channel-widget>
<div id="route"></div>
"""


def page(title, body=WIDGETS, head=""):
    return PAGE.format(title=title, body=body, head=head)


def site(standin, extra="", **overrides):
    overrides.setdefault("Cache", "none")
    return rai_conf(standin, Timeout="0.5 1",
                    Identifier="data-customer-id env:RAI_USER", **overrides) + """
SetEnvIf Cookie "(^|;\\s*)rai-user=([a-z]+)" RAI_USER=$2
RaiEmbedRefreshScript /token
Header always set Content-Security-Policy "{csp}"
<Location "/token">
    SetHandler rai-embed-token
</Location>
{extra}
""".format(csp=CSP, extra=extra)


def serve(httpd, standin, pages, extra="", **overrides):
    httpd.write("sdk.js", (BROWSER_DIR / "sdk.js").read_bytes())
    httpd.write("spa.js", (BROWSER_DIR / "spa.js").read_bytes())
    httpd.write("assets/demo.css", (REPO_ROOT / "demo" / "site" / "assets" / "demo.css")
                .read_bytes())
    httpd.write("blank.html", "<!doctype html><title>blank</title>\n")
    for name, content in pages.items():
        httpd.write(name, content)
    httpd.configure(site(standin, extra, **overrides)).start()
    return httpd


class Browser:
    def __init__(self, workdir):
        from selenium.webdriver.chrome.service import Service

        self.profile = Path(tempfile.mkdtemp(prefix="chromium-", dir=workdir))
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                     "--disable-background-networking", "--disable-component-update",
                     "--disable-sync", "--no-proxy-server", "--window-size=1000,600",
                     "--user-data-dir=%s" % self.profile):
            options.add_argument(flag)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        self.driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
        self.console = []

    def sign_in(self, httpd, user="alice"):
        self.driver.get(httpd.url("blank.html"))
        self.driver.add_cookie({"name": "rai-user", "value": user, "path": "/"})

    def open(self, url):
        self.driver.get(url)
        wait_for(lambda: self.js("return document.readyState") == "complete", 10)

    def js(self, code, *args):
        return self.driver.execute_script(code, *args)

    def tokens(self):
        return self.js("return Array.from(document.querySelectorAll("
                       "'rai-store-widget, rai-channel-widget, rai-currency-widget, "
                       "rai-widget')).map(w => w.getAttribute('embed-token'))")

    def sdk(self):
        return self.js("return window.__sdk")

    def logs(self):
        self.console += self.driver.get_log("browser")
        return self.console

    def close(self):
        self.driver.quit()
        shutil.rmtree(self.profile, ignore_errors=True)


@pytest.fixture
def browser(workdir):
    b = Browser(workdir)
    yield b
    b.close()


def token_requests(httpd, since=0):
    """Requests for a token (not for the script) at the refresh endpoint."""
    return [e for e in httpd.access_log(wait_for_lines=0)[since:]
            if e["path"].startswith("/token") and "script" not in e["path"]]


def assert_clean(browser):
    """No CSP violation, no error in the browser's console."""
    sdk = browser.sdk()
    assert sdk["violations"] == []
    severe = [entry for entry in browser.logs() if entry["level"] == "SEVERE"
              and "favicon.ico" not in entry["message"]]
    assert severe == []


def test_renewed_before_expiry(httpd, standin, browser):
    # 62 s tokens: the script renews MIN_GAP (5 s) after the token was issued
    # (RENEW_BEFORE, 60 s, would be before it was issued)
    standin.control(lifetime=62)
    serve(httpd, standin, {"index.html": page("mod_rai_embed: tokens renewed in the browser")})
    browser.sign_in(httpd)
    start = time.monotonic()
    browser.open(httpd.url("index.html"))
    first = browser.tokens()
    assert len(first) == 2 and first[0] == first[1] and first[0]
    assert jwt_payload(first[0])["sub"] == "alice"

    assert wait_for(lambda: browser.tokens()[0] != first[0], 15, 0.2), \
        "the token was not renewed before it expired"
    elapsed = time.monotonic() - start
    renewed = browser.tokens()
    assert renewed[0] == renewed[1]
    claims, old = jwt_payload(renewed[0]), jwt_payload(first[0])
    assert claims["sub"] == "alice" and claims["n"] != old["n"]
    assert claims["exp"] < old["exp"] + 62      # before the old one ran out
    assert 3 <= elapsed <= 15
    assert wait_for(lambda: browser.sdk()["reloads"] >= 1, 2)
    assert len(token_requests(httpd)) >= 1
    # the renewed page (see SCREENSHOT)
    browser.js("window.ReturningAIWidget.reload()")
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    browser.driver.save_screenshot(str(SCREENSHOT))
    assert_clean(browser)


def test_rai_error_renews(httpd, standin, browser):
    serve(httpd, standin, {"index.html": page("rai-error")})
    browser.sign_in(httpd)
    browser.open(httpd.url("index.html"))
    first = browser.tokens()[0]
    assert first and not token_requests(httpd)

    browser.js("document.querySelector('rai-store-widget').fail()")
    assert wait_for(lambda: browser.tokens()[0] != first, 3, 0.1)
    assert len(set(browser.tokens())) == 1
    assert wait_for(lambda: browser.sdk()["reloads"] == 1, 2)
    # the widgets fail again at once: that renewal was it, no loop
    for _ in range(5):
        browser.js("document.querySelectorAll('rai-store-widget, rai-channel-widget')"
                   ".forEach(w => w.fail())")
        time.sleep(0.3)
    time.sleep(1)
    assert len(token_requests(httpd)) == 1
    assert browser.sdk()["reloads"] == 1
    assert_clean(browser)


def test_unchanged_token_no_reload(httpd, standin, browser):
    # with the token cache, the endpoint answers the token the widgets have:
    # nothing to reload, so a widget that keeps failing cannot make a loop
    serve(httpd, standin, {"index.html": page("cached token")}, Cache="shmcb")
    browser.sign_in(httpd)
    browser.open(httpd.url("index.html"))
    first = browser.tokens()[0]
    browser.js("document.querySelector('rai-store-widget').fail()")
    assert wait_for(lambda: token_requests(httpd), 3)
    time.sleep(0.5)
    assert [e["rai_embed"] for e in token_requests(httpd)] == ["cached"]
    assert browser.tokens() == [first, first]
    assert browser.sdk()["reloads"] == 0
    assert_clean(browser)


def test_inserted_widget_gets_token(httpd, standin, browser):
    serve(httpd, standin, {"index.html": page("widgets added later")})
    browser.sign_in(httpd)
    browser.open(httpd.url("index.html"))
    token = browser.tokens()[0]

    browser.js("var w = document.createElement('div');"
               "w.innerHTML = '<section><rai-currency-widget community-id=\"c1\">"
               "</rai-currency-widget></section>';"
               "document.getElementById('route').appendChild(w)")
    assert wait_for(lambda: browser.js(
        "return document.querySelector('rai-currency-widget')"
        ".getAttribute('embed-token')") == token, 1, 0.05)
    # the page's token is good: no request needed
    assert token_requests(httpd) == []
    assert wait_for(lambda: browser.sdk()["reloads"] == 1, 2)
    assert_clean(browser)


# An SPA shell: no widget in the HTML (so the filter adds nothing), the script
# element written by hand with the bare ?script URL; the route renders a
# widget after load.
SPA_SHELL = page("single-page app", body='<div id="route"></div>', head=(
    '<script src="/token?script" defer data-endpoint="/token"></script>\n'
    '<script src="/spa.js" defer></script>\n'))


def test_spa_widget_gets_token(httpd, standin, browser):
    serve(httpd, standin, {"spa.html": SPA_SHELL})
    browser.sign_in(httpd, "bob")
    browser.open(httpd.url("spa.html"))

    def token():
        return browser.js("var w = document.querySelector('rai-currency-widget');"
                          "return w && w.getAttribute('embed-token')")
    assert wait_for(token, 2, 0.05), "the widget the route rendered got no token"
    delay = browser.js("return Date.now()") - browser.js("return window.__routeRendered")
    assert delay < 1000
    assert jwt_payload(token())["sub"] == "bob"
    assert len(token_requests(httpd)) == 1
    assert_clean(browser)


def test_csp_script_src_self(httpd, standin, browser):
    serve(httpd, standin, {"index.html": page("CSP")})
    response = httpd.get("index.html", cookies={"rai-user": "alice"})
    assert response.headers["Content-Security-Policy"] == CSP
    assert '<script src="/token?script=' in response.text
    assert "<script>" not in response.text      # no inline code at all

    browser.sign_in(httpd)
    browser.open(httpd.url("index.html"))
    assert browser.js("return window.__raiEmbedRefresh") == 1
    assert_clean(browser)


@pytest.mark.expect_error(r"RAI00\d\d")
def test_failure_warns_without_loop(httpd, standin, browser):
    serve(httpd, standin, {"index.html": page("the API is down")})
    browser.sign_in(httpd)
    browser.open(httpd.url("index.html"))
    first = browser.tokens()[0]
    standin.control(mode="error", status=500)

    for _ in range(10):
        browser.js("document.querySelector('rai-store-widget').fail()")
        time.sleep(0.3)
    assert wait_for(lambda: browser.sdk()["warnings"], 2)
    time.sleep(1)
    requests = token_requests(httpd)
    assert [e["status"] for e in requests] == ["503"]
    warnings = browser.sdk()["warnings"]
    assert len(warnings) == 1
    assert warnings[0].startswith("mod_rai_embed: token renewal failed: HTTP 503")
    assert any("mod_rai_embed: token renewal failed" in entry["message"]
               and entry["level"] == "WARNING" for entry in browser.logs())
    # the widgets keep what they have, and are not reloaded
    assert browser.tokens() == [first, first]
    assert browser.sdk()["reloads"] == 0
    assert browser.sdk()["violations"] == []


def test_bad_json_warns(httpd, standin, browser):
    # a hand-written element whose endpoint answers no JSON
    manual = page("bad endpoint", head=(
        '<script src="/token?script" defer data-endpoint="/bad.json"></script>\n'))
    serve(httpd, standin, {"manual/index.html": manual,
                           "bad.json": "<html>not JSON</html>\n"},
          extra='<Location "/manual">\n    RaiEmbedRefreshScript none\n</Location>')
    browser.sign_in(httpd)
    browser.open(httpd.url("manual/index.html"))
    browser.js("document.querySelector('rai-store-widget').fail()")
    assert wait_for(lambda: browser.sdk()["warnings"], 3)
    assert browser.sdk()["warnings"][0].startswith(
        "mod_rai_embed: token renewal failed: bad JSON from /bad.json")
    assert browser.sdk()["reloads"] == 0
    assert_clean(browser)


def test_basic_auth_in_url(httpd, standin, browser):
    # A page loaded as http://user:pass@host/: the script asks the endpoint on
    # the page's origin (no user information), where fetch() works and the
    # browser sends the password it has for the realm.
    password_file = httpd.htpasswd({"carol": "carol"})
    basic = """
<Location "/basic">
    AuthType Basic
    AuthName "browser"
    AuthUserFile "{pw}"
    Require valid-user
    RaiEmbedIdentifier data-customer-id user
    RaiEmbedRefreshScript /basic/token
</Location>
<Location "/basic/token">
    SetHandler rai-embed-token
</Location>""".format(pw=password_file)
    serve(httpd, standin, {"basic/index.html": page("Basic auth")}, extra=basic)
    browser.open(httpd.url("basic/index.html").replace("http://", "http://carol:carol@"))
    first = browser.tokens()[0]
    assert jwt_payload(first)["sub"] == "carol"
    browser.js("document.querySelector('rai-store-widget').fail()")
    assert wait_for(lambda: browser.tokens()[0] != first, 3, 0.1), browser.sdk()["warnings"]
    assert jwt_payload(browser.tokens()[0])["sub"] == "carol"
    assert browser.sdk()["warnings"] == []


def test_attributes_mode(httpd, standin, browser):
    serve(httpd, standin, {"attr/index.html": page("Attribute Auth")},
          extra='<Location "/attr">\n    RaiEmbedMode attributes\n</Location>')
    browser.sign_in(httpd)
    browser.open(httpd.url("attr/index.html"))
    ids = browser.js("return Array.from(document.querySelectorAll("
                     "'rai-store-widget, rai-channel-widget'))"
                     ".map(w => w.getAttribute('data-customer-id'))")
    assert ids == ["alice", "alice"]
    assert browser.tokens() == [None, None]
    assert "Attribute Auth, data-customer-id=alice" in browser.js(
        "return document.querySelector('rai-store-widget').textContent")
    # no token, so nothing to renew: no script
    assert browser.js("return document.querySelectorAll('script[data-endpoint]').length") == 0
    assert standin.stats()["token_requests"] == 0
    assert_clean(browser)
