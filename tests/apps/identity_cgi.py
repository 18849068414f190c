#!/usr/bin/python3
"""The CGI twin of identity_app.py for mod_rai_embed's header:NAME tests: ?u=VALUE names
the user in X-Rai-Customer-Id; the path info picks the response."""

import os
import sys
from urllib.parse import parse_qs

WIDGETS = ('<html><body>\n<rai-store-widget community-id="c1"></rai-store-widget>\n'
           '<p>text</p><rai-widget></rai-widget>\n</body></html>\n')

query = {k: v[0] for k, v in parse_qs(os.environ.get("QUERY_STRING", ""),
                                      keep_blank_values=True).items()}
kind = os.environ.get("PATH_INFO", "/page").strip("/") or "page"
headers = []
if "u" in query:
    headers.append(("X-Rai-Customer-Id", query["u"]))
body = WIDGETS
if kind == "page":
    headers.append(("Content-Type", "text/html"))
elif kind == "nowidget":
    headers.append(("Content-Type", "text/html"))
    body = "<html><body><p>no widget here</p></body></html>\n"
elif kind == "json":
    headers.append(("Content-Type", "application/json"))
    body = '{"user": "%s"}\n' % query.get("u", "")
elif kind == "missing":
    headers += [("Status", "404 Not Found"), ("Content-Type", "text/html")]
elif kind == "redirect":
    # an absolute URL: httpd answers the 302 itself (ap_send_error_response)
    headers.append(("Location", "http://127.0.0.1:%s/w.html" % os.environ["SERVER_PORT"]))
    body = ""
elif kind == "local":
    # a local path: httpd serves /w.html instead (an internal redirect)
    headers.append(("Location", "/w.html"))
    body = ""
elif kind == "etag":
    # httpd answers If-None-Match: "v1" with a 304 itself (not for HTML it may
    # rewrite: there RAI_EMBED turns 304s from validators off)
    headers += [("ETag", '"v1"'), ("Content-Type", "application/json")]
    body = "{}\n"
elif kind == "twice":
    headers += [("X-Rai-Customer-Id", query.get("v", "")), ("Content-Type", "text/html")]
out = sys.stdout.buffer
out.write("".join("%s: %s\r\n" % item for item in headers).encode("utf-8") + b"\r\n")
out.write(body.encode("utf-8"))
