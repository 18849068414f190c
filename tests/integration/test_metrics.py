"""Metrics (docs/configuration.md): counters shared by every child, per virtual host, read
through SetHandler rai-embed-metrics (Prometheus text format) and mod_status.

Pages are fetched over a fresh connection each (Connection: close, read to the end), so
that the prefork MPM hands them to different children, and so that the response is
logged - and its note counted - before the client sees the connection close.
"""

import base64
import collections
import re
import socket
import time

import pytest
from prometheus_client.parser import text_string_to_metric_families

from rai_harness import rai_conf, refusing_port, wait_for

WIDGET_PAGE = ('<html><body><rai-store-widget community-id="c1"></rai-store-widget>\n'
               '<rai-widget community-id="c1"></rai-widget></body></html>\n')
PLAIN_PAGE = "<html><body><p>no widgets here</p></body></html>\n"

PREFORK = """
StartServers 4
MinSpareServers 4
MaxSpareServers 8
"""

NOTES = ("none", "cached", "fetched", "anonymous", "error", "attributes")
OUTCOMES = ("ok", "timeout", "connect", "http_4xx", "http_5xx", "invalid", "internal")


def site(httpd, standin, extra="", **overrides):
    """Widget pages in /priv/ (Basic auth: an identity) and /pub/ (anonymous), metrics at
    /metrics; RaiEmbed configured against the stand-in."""
    httpd.write("priv/widget.html", WIDGET_PAGE)
    httpd.write("pub/widget.html", WIDGET_PAGE)
    httpd.write("pub/plain.html", PLAIN_PAGE)
    password_file = httpd.htpasswd({"alice": "pw-alice", "bob": "pw-bob"})
    return rai_conf(standin, **overrides) + """
<Directory "{docroot}/priv">
    AuthType Basic
    AuthName "metrics"
    AuthUserFile "{password_file}"
    Require valid-user
</Directory>
<Location /metrics>
    SetHandler rai-embed-metrics
    RaiEmbed Off
</Location>
""".format(docroot=httpd.docroot, password_file=password_file) + extra


def get_close(httpd, path, user=None, host=None):
    """GET over a connection of its own, read until the server closes it (by then the
    request is logged): (status, body bytes, as sent - maybe chunked)."""
    lines = ["GET %s HTTP/1.1" % path, "Host: %s" % (host or "127.0.0.1"),
             "Connection: close"]
    if user:
        lines.append("Authorization: Basic "
                     + base64.b64encode(("%s:pw-%s" % (user, user)).encode()).decode())
    with socket.create_connection(("127.0.0.1", httpd.port), 10) as sock:
        sock.settimeout(15)
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        data = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    with httpd._lock:
        httpd.requests_made += 1
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


def scrape(httpd, host=None):
    """Every sample of /metrics as {(name, ((label, value), ...)): value}; the text must
    parse as Prometheus exposition format."""
    headers = {"Host": host} if host else {}
    response = httpd.get("/metrics", headers=headers)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples, name, vhost, **labels):
    labels["vhost"] = vhost
    return samples[(name, tuple(sorted(labels.items())))]


def vhost_of(httpd):
    return "127.0.0.1:%d" % httpd.port


def notes_of(samples, vhost):
    return {note: value(samples, "mod_rai_embed_notes_total", vhost, note=note)
            for note in NOTES}


def outcomes_of(samples, vhost):
    return {outcome: value(samples, "mod_rai_embed_api_requests_total", vhost,
                           outcome=outcome) for outcome in OUTCOMES}


def histogram_count(samples, vhost):
    return value(samples, "mod_rai_embed_api_request_duration_seconds_count", vhost)


def test_counts_across_children(httpd_factory, standin):
    httpd = httpd_factory(mpm="prefork")
    httpd.configure(site(httpd, standin, PREFORK)).start()
    vhost = vhost_of(httpd)
    widgets, anonymous, plain = 24, 6, 5

    for i in range(widgets):
        status, body = get_close(httpd, "/priv/widget.html", user="alice")
        assert status == 200 and body.count(b"embed-token=") == 2
    for i in range(anonymous):
        assert get_close(httpd, "/pub/widget.html")[0] == 200
    for i in range(plain):
        assert get_close(httpd, "/pub/plain.html")[0] == 200

    log = httpd.access_log()
    pids = {entry["pid"] for entry in log}
    assert len(pids) >= 2, "one child served every page: %r" % pids
    samples = scrape(httpd)
    total = widgets + anonymous + plain
    assert value(samples, "mod_rai_embed_responses_scanned_total", vhost) == total
    assert value(samples, "mod_rai_embed_widgets_rewritten_total", vhost) == 2 * widgets
    notes = notes_of(samples, vhost)
    logged = collections.Counter(entry["rai_embed"] for entry in log)
    assert notes == {note: logged.get(note, 0) for note in NOTES}
    assert notes["cached"] + notes["fetched"] == widgets
    assert notes["anonymous"] == anonymous and notes["none"] == plain
    # the cache is shared: one fetch for alice, whichever child asked first
    assert notes["fetched"] == 1
    assert outcomes_of(samples, vhost) == dict.fromkeys(OUTCOMES, 0) | {"ok": 1}
    assert histogram_count(samples, vhost) == 1
    assert value(samples, "mod_rai_embed_backoff_in_force", vhost) == 0
    assert samples[("mod_rai_embed_metrics_since_seconds", ())] <= time.time()


def test_series_and_format(httpd_factory, standin):
    httpd = httpd_factory()
    httpd.configure(site(httpd, standin)).start()
    get_close(httpd, "/priv/widget.html", user="bob")
    response = httpd.get("/metrics")
    text = response.text
    assert response.headers["Content-Type"] == "text/plain; version=0.0.4"
    for family, kind in (("responses_scanned_total", "counter"),
                         ("widgets_rewritten_total", "counter"),
                         ("notes_total", "counter"), ("api_requests_total", "counter"),
                         ("api_request_duration_seconds", "histogram"),
                         ("backoff_starts_total", "counter"),
                         ("backoff_in_force", "gauge"),
                         ("cache_errors_total", "counter"),
                         ("metrics_since_seconds", "gauge")):
        assert "# HELP mod_rai_embed_%s " % family in text
        assert "# TYPE mod_rai_embed_%s %s\n" % (family, kind) in text
    buckets = re.findall(r'mod_rai_embed_api_request_duration_seconds_bucket'
                         r'\{vhost="[^"]*",le="([^"]+)"\} (\d+)', text)
    assert [le for le, _ in buckets] == ["0.005", "0.01", "0.025", "0.05", "0.1", "0.25",
                                         "0.5", "1", "2.5", "5", "+Inf"]
    counts = [int(n) for _, n in buckets]
    assert counts == sorted(counts) and counts[-1] == 1
    assert list(text_string_to_metric_families(text))
    # GET only
    assert httpd.request("POST", "/metrics", data="x").status_code == 405


def test_api_outcomes_and_histogram(httpd_factory, standin):
    httpd = httpd_factory(mpm="prefork")
    httpd.configure(site(httpd, standin, PREFORK, Cache="none", Timeout="0.5 1")).start()
    vhost = vhost_of(httpd)
    # a success between failures keeps the back-off from starting
    steps = [({"mode": "ok"}, "ok"),
             ({"mode": "slow", "delay": 2}, "timeout"), ({"mode": "ok"}, "ok"),
             ({"mode": "down"}, "connect"), ({"mode": "ok"}, "ok"),
             ({"mode": "error", "status": 500}, "http_5xx"), ({"mode": "ok"}, "ok"),
             ({"mode": "error", "status": 400}, "http_4xx"),
             ({"mode": "notjson"}, "invalid"), ({"mode": "ok"}, "ok")]
    expected = dict.fromkeys(OUTCOMES, 0)
    for behaviour, outcome in steps:
        standin.control(**behaviour)
        status, body = get_close(httpd, "/priv/widget.html", user="alice")
        assert status == 200
        assert (b"embed-token=" in body) == (outcome == "ok"), behaviour
        expected[outcome] += 1
        samples = scrape(httpd)
        assert outcomes_of(samples, vhost) == expected, behaviour
    assert histogram_count(samples, vhost) == len(steps)
    assert value(samples, "mod_rai_embed_api_request_duration_seconds_bucket", vhost,
                 le="+Inf") == len(steps)
    # the timeout took a second (RaiEmbedTimeout 0.5 1); the others were quick
    assert value(samples, "mod_rai_embed_api_request_duration_seconds_bucket", vhost,
                 le="0.5") == len(steps) - 1
    assert value(samples, "mod_rai_embed_api_request_duration_seconds_sum", vhost) >= 0.9
    assert value(samples, "mod_rai_embed_backoff_starts_total", vhost) == 0
    notes = notes_of(samples, vhost)
    assert notes["fetched"] == expected["ok"]
    assert notes["error"] == len(steps) - expected["ok"]


def test_backoff_gauge(httpd_factory, standin):
    httpd = httpd_factory(mpm="prefork")
    httpd.configure(site(httpd, standin, PREFORK, Cache="none")).start()
    vhost = vhost_of(httpd)

    # Retry-After starts a back-off at once, for as long as it says
    standin.control(mode="503", retry_after=3)
    get_close(httpd, "/priv/widget.html", user="alice")
    samples = scrape(httpd)
    assert value(samples, "mod_rai_embed_backoff_in_force", vhost) == 1
    assert value(samples, "mod_rai_embed_backoff_starts_total", vhost) == 1
    assert outcomes_of(samples, vhost)["http_5xx"] == 1
    # held back: no API request, an error note
    get_close(httpd, "/priv/widget.html", user="alice")
    samples = scrape(httpd)
    assert histogram_count(samples, vhost) == 1
    assert notes_of(samples, vhost)["error"] == 2

    standin.control(mode="ok")
    time.sleep(3.2)
    status, body = get_close(httpd, "/priv/widget.html", user="alice")
    assert b"embed-token=" in body
    samples = scrape(httpd)
    assert value(samples, "mod_rai_embed_backoff_in_force", vhost) == 0
    assert outcomes_of(samples, vhost)["ok"] == 1

    # three failures in a row start one too
    standin.control(mode="error", status=500)
    for _ in range(3):
        get_close(httpd, "/priv/widget.html", user="alice")
    samples = scrape(httpd)
    assert value(samples, "mod_rai_embed_backoff_starts_total", vhost) == 2
    assert outcomes_of(samples, vhost)["http_5xx"] == 4


def test_server_status(httpd_factory, standin):
    httpd = httpd_factory(modules=("status",))
    httpd.configure(site(httpd, standin, """
<Location /server-status>
    SetHandler server-status
    RaiEmbed Off
</Location>
""")).start()
    for _ in range(3):
        get_close(httpd, "/priv/widget.html", user="alice")
    get_close(httpd, "/pub/widget.html")

    auto = httpd.get("/server-status?auto").text
    lines = dict(line.split(": ", 1) for line in auto.splitlines() if ": " in line)
    assert lines["RaiEmbedResponsesScanned"] == "4"
    assert lines["RaiEmbedWidgetsRewritten"] == "6"
    assert lines["RaiEmbedNotesFetched"] == "1"
    assert lines["RaiEmbedNotesCached"] == "2"
    assert lines["RaiEmbedNotesAnonymous"] == "1"
    assert lines["RaiEmbedApiRequests"] == "1"
    assert lines["RaiEmbedApiOk"] == "1"
    assert lines["RaiEmbedBackoffInForce"] == "0"
    assert int(lines["RaiEmbedSince"]) <= time.time()
    assert "<table" not in auto

    html = httpd.get("/server-status").text
    assert "<h2>mod_rai_embed</h2>" in html
    assert "<td>%s</td>" % vhost_of(httpd) in html


VHOSTS = """
<VirtualHost 127.0.0.1:{port}>
    ServerName 127.0.0.1
</VirtualHost>
<VirtualHost 127.0.0.1:{port}>
    ServerName a.example
</VirtualHost>
"""

B_VHOST = """
<VirtualHost 127.0.0.1:{port}>
    ServerName b.example
</VirtualHost>
"""


def test_vhosts_and_graceful_restart(httpd_factory, standin):
    httpd = httpd_factory(mpm="prefork")
    base = site(httpd, standin, PREFORK)
    httpd.configure(base + VHOSTS.format(port=httpd.port)).start()
    main, a, b = (vhost_of(httpd), "a.example:%d" % httpd.port,
                  "b.example:%d" % httpd.port)
    for _ in range(4):
        get_close(httpd, "/pub/widget.html")
    for _ in range(3):
        get_close(httpd, "/pub/widget.html", host="a.example")
    samples = scrape(httpd)
    since = samples[("mod_rai_embed_metrics_since_seconds", ())]
    assert value(samples, "mod_rai_embed_responses_scanned_total", main) == 4
    assert value(samples, "mod_rai_embed_responses_scanned_total", a) == 3
    assert ("mod_rai_embed_responses_scanned_total", (("vhost", b),)) not in samples

    # a graceful restart, with a virtual host more: the counters go on
    httpd.configure(base + VHOSTS.format(port=httpd.port) + B_VHOST.format(port=httpd.port))
    httpd.graceful()
    wait_for(lambda: ("mod_rai_embed_responses_scanned_total", (("vhost", b),))
             in scrape(httpd), 10)
    get_close(httpd, "/pub/widget.html", host="a.example")
    get_close(httpd, "/pub/widget.html", host="b.example")
    samples = scrape(httpd)
    assert samples[("mod_rai_embed_metrics_since_seconds", ())] == since
    assert value(samples, "mod_rai_embed_responses_scanned_total", main) == 4
    assert value(samples, "mod_rai_embed_responses_scanned_total", a) == 4
    assert value(samples, "mod_rai_embed_responses_scanned_total", b) == 1
    assert value(samples, "mod_rai_embed_notes_total", a, note="anonymous") == 4

    # a plain restart (SIGHUP) keeps them too: the parent stays
    ready_before = httpd._ready_count()
    httpd._apache("-k", "restart")
    assert wait_for(lambda: httpd._ready_count() > ready_before, 20)
    assert wait_for(lambda: get_close(httpd, "/pub/widget.html", host="b.example")[0]
                    == 200, 10)
    samples = scrape(httpd)
    assert samples[("mod_rai_embed_metrics_since_seconds", ())] == since
    assert value(samples, "mod_rai_embed_responses_scanned_total", a) == 4
    assert value(samples, "mod_rai_embed_responses_scanned_total", b) == 2

    # a stop and a start: counted anew, and the since gauge says so
    httpd.stop()
    time.sleep(1.1)
    httpd.start()
    samples = scrape(httpd)
    assert samples[("mod_rai_embed_metrics_since_seconds", ())] > since
    assert value(samples, "mod_rai_embed_responses_scanned_total", a) == 0


@pytest.mark.expect_error(r"AH00791: scache_mc: 'retrieve' FAIL",
                          r"AH00790: scache_mc: error setting key")
def test_cache_errors(httpd_factory, standin, request):
    """A memcached that is not there: every page's lookup and store fail, and count."""
    httpd = httpd_factory(mpm="prefork", modules=["socache_memcache"])
    httpd.configure(site(httpd, standin, PREFORK,
                         Cache="memcache:127.0.0.1:%d" % refusing_port(request))).start()
    vhost = vhost_of(httpd)
    for _ in range(3):
        status, body = get_close(httpd, "/priv/widget.html", user="alice")
        assert body.count(b"embed-token=") == 2
    samples = scrape(httpd)
    errors = {kind: value(samples, "mod_rai_embed_cache_errors_total", vhost, kind=kind)
              for kind in ("get", "put", "seal", "open")}
    # apr_memcache marks the server dead after a failure, and a lookup then is a plain
    # miss until it retries: failures, but not one per page
    assert errors["get"] >= 1 and errors["put"] >= 1
    assert errors["seal"] == errors["open"] == 0
    assert notes_of(samples, vhost)["fetched"] == 3


def test_cache_open_errors(httpd_factory, standin, workdir):
    """Whoever can write the shared cache replaces alice's sealed entry with one that does
    not open (garbage, then a truncated seal): each is counted as an "open" error, and the
    page gets a token fetched anew."""
    from test_cache import CacheServer, Store
    redis = CacheServer("redis", lambda port: [
        "redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
        "--appendonly", "no", "--dir", str(workdir)], workdir).start()
    try:
        httpd = httpd_factory(modules=["socache_redis"])
        httpd.configure(site(httpd, standin, Cache="redis:127.0.0.1:%d" % redis.port,
                             TokenMemo="off")).start()
        vhost = vhost_of(httpd)
        store = Store(redis)
        get_close(httpd, "/priv/widget.html", user="alice")
        key, = store.keys()
        sealed = store.get(key)
        for forged in (b"not a sealed entry at all", sealed[:-5]):
            store.set(key, forged)
            status, body = get_close(httpd, "/priv/widget.html", user="alice")
            assert status == 200 and body.count(b"embed-token=") == 2
        samples = scrape(httpd)
        errors = {kind: value(samples, "mod_rai_embed_cache_errors_total", vhost, kind=kind)
                  for kind in ("get", "put", "seal", "open")}
        # counted per lookup, and a page that misses looks twice: before it joins the
        # single flight and after (docs/metrics.md)
        assert errors == {"get": 0, "put": 0, "seal": 0, "open": 4}
        assert notes_of(samples, vhost)["fetched"] == 3
        assert standin.stats()["token_requests"] == 3
    finally:
        redis.stop()


def test_attributes_note(httpd_factory, standin):
    httpd = httpd_factory()
    httpd.configure(site(httpd, standin, Mode="attributes")).start()
    vhost = vhost_of(httpd)
    for _ in range(2):
        status, body = get_close(httpd, "/priv/widget.html", user="alice")
        assert b"embed-token=" not in body and b"data-customer-id" in body
    samples = scrape(httpd)
    assert notes_of(samples, vhost)["attributes"] == 2
    assert value(samples, "mod_rai_embed_widgets_rewritten_total", vhost) == 4
    assert sum(outcomes_of(samples, vhost).values()) == 0
