"""docs/configuration.md: the refresh endpoint (SetHandler rai-embed-token) and RaiEmbedRefreshScript."""

import json
import shutil
import subprocess

import pytest

from rai_harness import jwt_payload, rai_conf, token_payload

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


def test_script_on_token_pages(httpd, standin):
    httpd.write("w.html", WIDGET_PAGE)
    httpd.write("open/w.html", WIDGET_PAGE)
    httpd.write("plain.html", "<html><body>no widget</body></html>\n")
    httpd.configure(site(httpd, standin, RefreshScript="/token")).start()

    page = httpd.get("w.html", auth=("alice", "alice")).text
    assert token_payload(page)["sub"] == "alice"
    # the page as it was, with the token, then one script at the end
    body, script = page.split("</html>\n")
    assert script.startswith("<script>") and script.endswith("</script>\n")
    assert script.count("<script>") == 1
    assert 'fetch("/token"' in script and '"rai-error"' in script
    assert "ReturningAIWidget" in script and "reload" in script

    # no widget, or no token (anonymous): no script
    assert "<script>" not in httpd.get("plain.html", auth=("alice", "alice")).text
    anonymous = httpd.get("open/w.html").text
    assert anonymous == WIDGET_PAGE


def test_script_none_in_scope(httpd, standin):
    httpd.write("w.html", WIDGET_PAGE)
    httpd.write("quiet/w.html", WIDGET_PAGE)
    httpd.configure(site(httpd, standin, RefreshScript="/token", extra="""
<Location "/quiet">
    RaiEmbedRefreshScript none
</Location>""")).start()

    assert "<script>" in httpd.get("w.html", auth=("alice", "alice")).text
    quiet = httpd.get("quiet/w.html", auth=("alice", "alice")).text
    assert "<script>" not in quiet and 'embed-token="' in quiet


@pytest.mark.parametrize("path", ['/to"ken', "token", "/a b", "/<x>", "//evil.example/t"])
def test_script_bad_path(httpd, standin, path):
    httpd.configure(site(httpd, standin) + '\nRaiEmbedRefreshScript "%s"\n' % path)
    rc, output = httpd.configtest()
    assert rc != 0
    assert "RaiEmbedRefreshScript" in output


NODE_HARNESS = r"""
const listeners = [];
const widgets = [0, 1].map(() => ({attrs: {"embed-token": CURRENT},
                                   getAttribute(k) { return this.attrs[k]; },
                                   setAttribute(k, v) { this.attrs[k] = v; }}));
global.window = {ReturningAIWidget: {reload() { reloads++; }}};
global.document = {
  addEventListener(type, fn, capture) { listeners.push({type, fn, capture}); },
  querySelectorAll(selector) {
    if (selector !== "[embed-token]") throw new Error("selector " + selector);
    return widgets;
  },
};
let reloads = 0;
const fetched = [];
global.fetch = (url, options) => {
  fetched.push({url, options});
  return Promise.resolve({ok: true, json: () => Promise.resolve(ANSWER)});
};
eval(SCRIPT);
eval(SCRIPT);                   // the script twice in one page: one listener
const fire = () => listeners.filter(l => l.type === "rai-error").forEach(l => l.fn());
fire();
fire();                         // a second widget failing at once: no second request
setTimeout(() => {
  fire();                       // again soon after: at most one refresh per 30 s
  setTimeout(() => {
    console.log(JSON.stringify({listeners: listeners.length,
      capture: listeners[0].capture, reloads, requests: fetched.length,
      url: fetched[0].url, credentials: fetched[0].options.credentials,
      tokens: widgets.map(w => w.attrs["embed-token"])}));
  }, 50);
}, 50);
"""


def run_script(workdir, script, current, answer):
    program = workdir / "script_test.js"
    program.write_text(NODE_HARNESS.replace("SCRIPT", json.dumps(script))
                       .replace("CURRENT", json.dumps(current))
                       .replace("ANSWER", json.dumps(answer)))
    result = subprocess.run(["node", str(program)], capture_output=True, text=True,
                            timeout=30)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.skipif(not shutil.which("node"), reason="needs node to run the page's script")
def test_script_renews_tokens(httpd, standin, workdir):
    # The script the page carries, run against a stand-in DOM: on rai-error it
    # fetches the endpoint once, hands the answer's token to every widget and
    # reloads them.
    httpd.write("w.html", WIDGET_PAGE)
    httpd.configure(site(httpd, standin, RefreshScript="/token")).start()
    page = httpd.get("w.html", auth=("alice", "alice")).text
    script = page.split("<script>")[1].split("</script>")[0]
    fresh = httpd.get("token", auth=("alice", "alice")).json()

    page_token = page.split('embed-token="')[1].split('"')[0]

    renewed = run_script(workdir, script, page_token, fresh)
    assert renewed == {"listeners": 1, "capture": True, "reloads": 1, "requests": 1,
                       "url": "/token", "credentials": "same-origin",
                       "tokens": [fresh["embedToken"]] * 2}
    # the endpoint answers the token the widgets already have (still in the cache's
    # reuse window): no reload, so a widget that keeps failing cannot make a loop
    same = run_script(workdir, script, fresh["embedToken"], fresh)
    assert (same["requests"], same["reloads"]) == (1, 0)


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
    assert 'embed-token="' in response.text and "<script>" not in response.text
    # a page that ends inside a comment: a script there would be no script
    unclosed = httpd.get("open.html", auth=("alice", "alice")).text
    assert 'embed-token="' in unclosed and "<script>" not in unclosed
