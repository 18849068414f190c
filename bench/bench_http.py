#!/usr/bin/python3
"""End-to-end figures for mod_rai_embed against a real httpd and the token stand-in.

  1. Token API calls for 1000 page views by 100 users, with the cache on (shmcb) and off.
  2. The latency a warm cache adds to a page, against the same page with the filter off:
     wrk on loopback, median and p99.

Prints figures; asserts nothing.  Run by `make bench`.
"""

import base64
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "integration"))

from rai_harness import Httpd, Standin, rai_conf  # noqa: E402

USERS = 100
VIEWS = 1000
WRK_SECONDS = int(os.environ.get("WRK_SECONDS", "5"))

PAGE = ("<!doctype html><html><head><title>Store</title></head><body>\n"
        + "<p>Some ordinary page text, repeated to make a page of a realistic size.</p>\n" * 120
        + '<rai-store-widget community-id="c1"></rai-store-widget>\n'
        + "<p>More text after the widget.</p>\n" * 40
        + "</body></html>\n")


def site(root, standin, snippet):
    httpd = Httpd(root, snippet, mpm="event", loglevel="warn")
    httpd.write("index.html", PAGE)
    passwords = {"user%03d" % i: "pw%03d" % i for i in range(USERS)}
    httpd.htpasswd(passwords)
    return httpd, passwords


def auth_block(httpd, inner):
    return """
<Location "/">
    AuthType Basic
    AuthName bench
    AuthBasicProvider file
    AuthUserFile "%s"
    Require valid-user
    %s
</Location>
""" % (httpd.conf_dir / "htpasswd", inner)


def api_calls(root, standin, cache):
    httpd, passwords = site(root, standin, "")
    httpd.configure(rai_conf(standin, Cache=cache) + auth_block(httpd, ""))
    httpd.start()
    try:
        standin.reset()
        users = list(passwords)
        rng = random.Random(7)
        views = [rng.choice(users) for _ in range(VIEWS)]

        def view(user):
            page = httpd.get("/", auth=(user, passwords[user])).text
            return 'embed-token="' in page

        with ThreadPoolExecutor(8) as pool:
            ok = sum(pool.map(view, views))
        return standin.stats()["token_requests"], ok
    finally:
        httpd.stop()


def wrk(url, header, path):
    out = subprocess.run(["wrk", "-t2", "-c8", "-d%ds" % WRK_SECONDS, "--latency",
                          "-H", header, url + path], capture_output=True, text=True,
                         check=True).stdout
    figures = {}
    for label in ("50%", "99%"):
        m = re.search(r"^\s*%s\s+([\d.]+)(us|ms|s)\s*$" % re.escape(label), out, re.M)
        value, unit = float(m.group(1)), m.group(2)
        figures[label] = value * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    figures["rps"] = float(m.group(1))
    return figures


def latency(root, standin):
    """The same page with the filter off and on (warm cache).  The identity comes from a
    request header here, not from Basic auth: a password hash per request would cost
    more than everything measured and hide it."""
    httpd = Httpd(root, "", mpm="event", loglevel="warn")
    httpd.write("index.html", PAGE)
    conf = rai_conf(standin, Identifier='data-customer-id "expr=%{HTTP:X-Bench-User}"')
    httpd.configure(conf.replace("RaiEmbed On", "")
                    + '<Location "/off">\nRaiEmbed Off\n</Location>\n'
                    + '<Location "/on">\nRaiEmbed On\n</Location>\n'
                    + 'Alias /off "%s"\nAlias /on "%s"\n' % (httpd.docroot, httpd.docroot))
    httpd.start()
    try:
        header = "X-Bench-User: user000"
        page = httpd.get("/on/index.html", headers={"X-Bench-User": "user000"}).text
        assert 'embed-token="' in page, "the filter did not run: no token in the page"
        standin.reset()
        runs = {"off": [], "on": []}
        for _ in range(3):      # interleaved, so drift in the machine hits both alike
            runs["off"].append(wrk(httpd.url(""), header, "/off/index.html"))
            runs["on"].append(wrk(httpd.url(""), header, "/on/index.html"))
        calls = standin.stats()["token_requests"]

        def median_of(name, key):
            return sorted(r[key] for r in runs[name])[1]
        off = {k: median_of("off", k) for k in ("50%", "99%", "rps")}
        on = {k: median_of("on", k) for k in ("50%", "99%", "rps")}
        return off, on, calls
    finally:
        httpd.stop()


def vm_kib(pid, field):
    for line in open("/proc/%d/status" % pid):
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def memory(root, standin):
    """Peak memory of the one child that serves a small and a very large page, both full
    of widgets: the filter streams, so the large page must not cost more.  Memory-mapped
    files and sendfile are off, so that what the child holds is its own heap."""
    httpd = Httpd(root, "", mpm="event", loglevel="warn")
    unit = ("<p>%s</p>\n" % ("text " * 20)) * 900 + '<rai-widget id="w"></rai-widget>\n'
    httpd.write("small.html", "<html><body>\n" + unit * 2 + "</body></html>\n")
    big_units = (64 * 1024 * 1024) // len(unit)
    with open(httpd.docroot / "big.html", "w") as big:
        big.write("<html><body>\n")
        for _ in range(big_units):
            big.write(unit)
        big.write("</body></html>\n")
    os.chmod(httpd.docroot / "big.html", 0o644)
    conf = rai_conf(standin, Identifier='data-customer-id "expr=%{HTTP:X-Bench-User}"')
    httpd.configure(conf + """
StartServers 1
ServerLimit 1
ThreadsPerChild 8
ThreadLimit 8
MaxRequestWorkers 8
MinSpareThreads 1
MaxSpareThreads 16
EnableMMAP Off
EnableSendfile Off
""")
    httpd.start()
    try:
        headers = {"X-Bench-User": "user000"}
        figures = {}
        for name in ("small.html", "small.html", "big.html", "big.html"):
            size = 0
            with httpd.session.get(httpd.url(name), headers=headers, stream=True,
                                   timeout=120) as response:
                for chunk in response.iter_content(1 << 16):
                    size += len(chunk)
            pid = int(httpd.access_log(wait_for_lines=None)[-1]["pid"])
            figures[name] = (size, vm_kib(pid, "VmHWM"), vm_kib(pid, "VmRSS"))
        return figures
    finally:
        httpd.stop()


def main():
    root = Path(tempfile.mkdtemp(prefix="rai-bench-"))
    os.chmod(root, 0o755)
    standin = Standin(root / "standin").start()
    try:
        print("== token API calls for %d page views by %d users (8 clients)" % (VIEWS, USERS))
        for label, cache in (("cache on (shmcb)", "shmcb"), ("cache off (none)", "none")):
            calls, ok = api_calls(root / ("calls-" + cache), standin, cache)
            print("  %-18s %5d API calls, %d of %d pages with a token" % (label, calls, ok,
                                                                          VIEWS))
        print("  (more than %d with the cache on: a user's first views in two processes at"
              " once;\n   single flight is per process)" % USERS)
        print("== latency of a %d-byte page, wrk -t2 -c8 -d%ds on loopback, event MPM, "
              "median of 3 runs each" % (len(PAGE), WRK_SECONDS))
        off, on, calls = latency(root / "latency", standin)
        print("  %-18s median %7.3f ms  p99 %7.3f ms  %8.0f req/s"
              % ("filter off", off["50%"], off["99%"], off["rps"]))
        print("  %-18s median %7.3f ms  p99 %7.3f ms  %8.0f req/s"
              % ("filter on, warm", on["50%"], on["99%"], on["rps"]))
        print("  added by the filter: median %+.3f ms, p99 %+.3f ms (%d API calls during "
              "the run)" % (on["50%"] - off["50%"], on["99%"] - off["99%"], calls))
        print("== peak memory of the serving child (VmHWM), mmap and sendfile off")
        for name, (size, peak, rss) in memory(root / "memory", standin).items():
            print("  after %-10s %9d bytes served   peak %7d KiB   now %7d KiB"
                  % (name, size, peak, rss))
    finally:
        standin.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
