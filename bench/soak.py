#!/usr/bin/python3
"""A soak you can rerun: mod_rai_embed under load while the token API flaps.

A real httpd (event MPM, the module built with AddressSanitizer when RAI_EMBED_SO points
at it) serves a widget page to SOAK_CONNECTIONS keep-alive connections for about
SOAK_USERS users, SOAK_REQUESTS requests in all.  The token stand-in cycles through
healthy, slow (beyond RaiEmbedTimeout), 500 and down phases; httpd gets two graceful
restarts on the way.  Tokens are reused for 2 s only (RaiEmbedTokenReuse 2), so the API
sees at most about one call per user every 2 s and an outage shows on nearly every page
within 2 s.  RSS is read after a warm-up of a fifth of the requests (ASan's quarantine,
capped at 16 MB by `make soak`, and the children the MPM starts under load grow it
first).  The first second of an outage carries the calls that were under way when it
began; the calls per second after it are the back-off's own.

Prints: failed pages, tokens that crossed users (each token's sub against the user who
asked), ASan reports, the children's RSS at start, middle and end, p50/p99 latency in
healthy and outage phases, API calls per second in each kind of outage, and the seconds
from each recovery until every child's pages carry tokens again.  A benchmark, not a
test: it asserts nothing, and `make soak` runs it.
"""

import base64
import http.client
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "integration"))

from rai_harness import Httpd, Standin, rai_conf  # noqa: E402

REQUESTS = int(os.environ.get("SOAK_REQUESTS", "100000"))
CONNECTIONS = int(os.environ.get("SOAK_CONNECTIONS", "64"))
USERS = int(os.environ.get("SOAK_USERS", "200"))
PHASE_SECONDS = float(os.environ.get("SOAK_PHASE_SECONDS", "4"))
# healthy between every outage, so that each recovery can be timed
CYCLE = ["ok", "slow", "ok", "error", "ok", "down"]

PAGE = ("<!doctype html><html><body>\n" + "<p>text of the page</p>\n" * 200
        + '<rai-store-widget community-id="c1"></rai-store-widget>\n</body></html>\n')
TOKEN = re.compile(rb'embed-token="([^"]*)"')


class Soak:
    def __init__(self, httpd, standin):
        self.httpd, self.standin = httpd, standin
        self.lock = threading.Lock()
        self.sent = 0
        self.records = []           # (time, phase, seconds, ok, has_token, pid)
        self.failed = []
        self.crossed = 0
        self.phase = "ok"
        self.stop = False

    def next_index(self):
        with self.lock:
            if self.sent >= REQUESTS or self.stop:
                return None
            self.sent += 1
            return self.sent

    def worker(self, number):
        conn = None
        while True:
            index = self.next_index()
            if index is None:
                break
            user = "user%03d" % ((index * 7 + number) % USERS)
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", self.httpd.port, timeout=15)
            phase = self.phase
            started = time.monotonic()
            try:
                conn.request("GET", "/page.html", headers={"X-User": user})
                response = conn.getresponse()
                body = response.read()
                status = response.status
                if response.getheader("Connection", "").lower() == "close":
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException) as e:
                # a graceful restart closes idle keep-alive connections: retry once
                conn.close()
                conn = None
                try:
                    conn = http.client.HTTPConnection("127.0.0.1", self.httpd.port, timeout=15)
                    conn.request("GET", "/page.html", headers={"X-User": user})
                    response = conn.getresponse()
                    body, status = response.read(), response.status
                except (OSError, http.client.HTTPException) as e2:
                    with self.lock:
                        self.failed.append("%s: %s / %s" % (user, e, e2))
                    conn = None
                    continue
            seconds = time.monotonic() - started
            ok = status == 200 and body.endswith(b"</body></html>\n")
            match = TOKEN.search(body)
            if match:
                payload = match.group(1).split(b".")[1]
                claims = json.loads(base64.urlsafe_b64decode(payload + b"=" * (-len(payload) % 4)))
                if claims.get("sub") != user:
                    with self.lock:
                        self.crossed += 1
            with self.lock:
                if not ok:
                    self.failed.append("%s: status %d" % (user, status))
                self.records.append((time.monotonic(), phase, seconds, ok, bool(match)))
        if conn:
            conn.close()


def children_rss(httpd):
    """RSS in KiB of each child of httpd's parent process."""
    out = subprocess.run(["pgrep", "-P", str(httpd.process.pid)], capture_output=True,
                         text=True).stdout.split()
    rss = []
    for pid in out:
        try:
            status = Path("/proc/%s/status" % pid).read_text()
        except OSError:
            continue
        match = re.search(r"VmRSS:\s+(\d+)", status)
        if match:
            rss.append(int(match.group(1)))
    return rss


def percentile(values, fraction):
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(fraction * len(values)))]


def main():
    root = Path(tempfile.mkdtemp(prefix="rai-soak-"))
    os.chmod(root, 0o755)
    standin = Standin(root / "standin").start()
    httpd = Httpd(root / "httpd", mpm="event", loglevel="warn")
    httpd.write("page.html", PAGE)
    httpd.configure(rai_conf(standin, TokenReuse="2", Timeout="0.2 0.5",
                             Identifier="data-customer-id expr=%{HTTP:X-User}")).start()
    soak = Soak(httpd, standin)
    rss = {}
    threads = [threading.Thread(target=soak.worker, args=(n,)) for n in range(CONNECTIONS)]
    started = time.monotonic()
    for t in threads:
        t.start()

    # the API flaps; the stand-in counts its calls per phase
    phases, restarts, step = [], 0, 0
    while any(t.is_alive() for t in threads):
        mode = CYCLE[step % len(CYCLE)]
        if mode == "slow":
            standin.control(mode="slow", delay=2)
        elif mode == "error":
            standin.control(mode="error", status=500)
        else:
            standin.control(mode=mode)
        soak.phase = mode
        before = standin.stats()["token_requests"]
        phase_start = time.monotonic()
        settled = None      # calls once the outage is known (after its first second)
        while time.monotonic() - phase_start < PHASE_SECONDS and any(t.is_alive() for t in threads):
            time.sleep(0.1)
            if settled is None and time.monotonic() - phase_start >= 1:
                settled = (standin.stats()["token_requests"], time.monotonic())
        now_calls = standin.stats()["token_requests"]
        calls = now_calls - before
        late = ((now_calls - settled[0]) / max(time.monotonic() - settled[1], 0.001)
                if settled else float("nan"))
        phases.append((mode, phase_start, time.monotonic(), calls, late))
        step += 1
        if soak.sent > REQUESTS / 5 and "start" not in rss:
            rss["start"] = children_rss(httpd)
        if soak.sent > REQUESTS / 2 and "middle" not in rss:
            rss["middle"] = children_rss(httpd)
        if restarts < 2 and soak.sent > REQUESTS * (restarts + 1) / 3:
            httpd.graceful()
            restarts += 1
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    rss["end"] = children_rss(httpd)
    standin.control(mode="ok")
    httpd.stop()
    standin.stop()

    log = httpd.error_log()
    asan = len(re.findall(r"AddressSanitizer|runtime error:", log))
    print("mod_rai_embed soak: %d requests, %d connections, %d users, %.0f s (%.0f req/s), "
          "%d graceful restarts" % (soak.sent, CONNECTIONS, USERS, elapsed,
                                    soak.sent / elapsed, restarts))
    print("  failed pages:            %d" % len(soak.failed))
    for line in soak.failed[:5]:
        print("    " + line)
    print("  tokens that crossed users: %d" % soak.crossed)
    print("  ASan/UBSan reports:      %d" % asan)
    for when in ("start", "middle", "end"):
        values = rss.get(when) or []
        print("  children RSS %-6s      %s KiB (max %s)" % (when, sorted(values),
                                                         max(values) if values else "-"))
    by_kind = {}
    for rec_time, phase, seconds, ok, has_token in soak.records:
        by_kind.setdefault("healthy" if phase == "ok" else "outage", []).append(seconds)
    for kind, values in sorted(by_kind.items()):
        print("  latency %-8s p50 %.1f ms, p99 %.1f ms (%d pages)" % (
            kind, 1000 * percentile(values, 0.5), 1000 * percentile(values, 0.99),
            len(values)))
    for kind in ("slow", "error", "down"):
        rates = [(calls / max(end - start, 0.001), late)
                 for mode, start, end, calls, late in phases if mode == kind]
        if rates:
            print("  API calls/s during %-5s %s  (whole phase; after its first second: %s)"
                  % (kind, ", ".join("%.1f" % r for r, _ in rates),
                     ", ".join("%.1f" % l for _, l in rates)))
    # recovery: from the start of a healthy phase after an outage, the time of the last
    # page without a token in it
    recoveries = []
    for i, (mode, start, end, calls, late_rate) in enumerate(phases):
        if mode != "ok" or i == 0:
            continue
        late = [t - start for t, phase, s, ok, has_token in soak.records
                if start <= t - s and t <= end and not has_token]
        recoveries.append(max(late) if late else 0.0)
    print("  seconds until every page carries a token again, per recovery: %s"
          % ", ".join("%.1f" % r for r in recoveries))
    healthy = [r for r in soak.records if r[1] == "ok"]
    print("  healthy pages with a token: %d of %d" % (sum(r[4] for r in healthy), len(healthy)))


if __name__ == "__main__":
    main()
