#!/usr/bin/python3
"""A small application for mod_rai_embed's header:NAME tests, to run behind mod_proxy_http.

It names its user in a response header, as an application behind httpd would: every
route takes ?u=VALUE and sends `X-Rai-Customer-Id: VALUE` (the name can be changed with
--header) with a response of its kind.  Python 3 standard library only; binds 127.0.0.1.

  /page       HTML with two widgets
  /flush      the start of an HTML page, a pause, then a widget (chunked: httpd passes the
              start on, headers and all, before the widget arrives)
  /nowidget   HTML without a widget
  /json       application/json
  /missing    404 (HTML with a widget)
  /redirect   302 to /page
  /etag       ETag "v1" (HTML with a widget); 304 for If-None-Match: "v1"
  /cached     application/json with Cache-Control: public, max-age=60 (for mod_cache)
  /twice      the header twice: ?u= and ?v=
  /raw        the header value given in hex, ?hex=..., as raw bytes (bad UTF-8, long)
  /reflect    a careless backend: every X-Rai-* request header comes back as a response
              header of the same name (HTML with a widget); no ?u=

HEAD answers what GET would, without the body.  Port 0 picks a free port; the one bound
is written as JSON to --ready-file.
"""

import argparse
import json
import os
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

WIDGET_PAGE = ('<html><body>\n<rai-store-widget community-id="c1"></rai-store-widget>\n'
               '<p>text</p><rai-widget></rai-widget>\n</body></html>\n')
PLAIN_PAGE = "<html><body><p>no widget here</p></body></html>\n"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    header_name = "X-Rai-Customer-Id"

    def log_message(self, fmt, *args):
        pass

    def do_HEAD(self):
        self.route(head=True)

    def do_GET(self):
        self.route(head=False)

    def route(self, head):
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        self.head_only = head
        user = query.get("u")
        identity = [(self.header_name, user)] if user is not None else []
        path = url.path
        if path == "/page":
            self.answer(200, "text/html", WIDGET_PAGE, identity)
        elif path == "/flush":
            self.flushed(identity)
        elif path == "/nowidget":
            self.answer(200, "text/html", PLAIN_PAGE, identity)
        elif path == "/json":
            self.answer(200, "application/json", json.dumps({"user": user}) + "\n", identity)
        elif path == "/missing":
            self.answer(404, "text/html", WIDGET_PAGE, identity)
        elif path == "/redirect":
            self.answer(302, "text/html", "<p>moved</p>\n",
                        identity + [("Location", "/page")])
        elif path == "/etag":
            if self.headers.get("If-None-Match") == '"v1"':
                self.answer(304, None, "", identity + [("ETag", '"v1"')])
            else:
                self.answer(200, "text/html", WIDGET_PAGE, identity + [("ETag", '"v1"')])
        elif path == "/cached":
            self.answer(200, "application/json", json.dumps({"user": user}) + "\n",
                        identity + [("Cache-Control", "public, max-age=60")])
        elif path == "/twice":
            self.answer(200, "text/html", WIDGET_PAGE,
                        identity + [(self.header_name, query.get("v", ""))])
        elif path == "/raw":
            value = bytes.fromhex(query.get("hex", "")).decode("latin-1")
            self.answer(200, "text/html", WIDGET_PAGE, [(self.header_name, value)])
        elif path == "/reflect":
            reflected = [(k, v) for k, v in self.headers.items()
                         if k.lower().startswith("x-rai-")]
            self.answer(200, "text/html", WIDGET_PAGE, reflected)
        else:
            self.answer(404, "text/plain", "no such route\n", [])

    def answer(self, status, content_type, body, headers):
        data = body.encode("utf-8")
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        for name, value in headers:
            self.send_header(name, value)
        if status != 304:
            self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if not self.head_only and status != 304:
            self.wfile.write(data)

    def flushed(self, headers):
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        if self.head_only:
            self.wfile.write(b"0\r\n\r\n")
            return
        for part in ("<html><body><p>before the widget</p>\n" + " " * 9000 + "\n",
                     None, WIDGET_PAGE):
            if part is None:
                self.wfile.flush()
                time.sleep(0.3)
                continue
            data = part.encode("utf-8")
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--header", default=Handler.header_name)
    parser.add_argument("--ready-file")
    args = parser.parse_args()
    Handler.header_name = args.header
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    if args.ready_file:
        partial = args.ready_file + ".tmp"
        with open(partial, "w") as ready:
            json.dump({"port": server.server_address[1]}, ready)
        os.replace(partial, args.ready_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
