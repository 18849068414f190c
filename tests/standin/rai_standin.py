#!/usr/bin/python3
"""A stand-in for Returning.AI's token API, for mod_rai_embed's tests and demo.

It issues JWT-shaped embed tokens the way docs/configuration.md describes the real API,
checks every request the module sends as strictly as the contract allows, and can be told
over a small control API to be slow, down, wrong or hostile.  Python 3 standard library
only, so it runs under Debian's /usr/bin/python3 with nothing installed.

Endpoints (on the HTTP port and, when given, the HTTPS port; both share one state):

  POST .../token     the token API (any path ending in /token)
  POST /_control     set the behaviour of the following token requests (JSON body)
  GET  /_control     the current behaviour
  GET  /_stats       counters and the last 50 token requests
  POST /_reset       counters to zero, behaviour back to "ok"

It binds 127.0.0.1 only.  Port 0 picks a free port; the ports actually bound are written
as one JSON line to --ready-file once both listeners accept connections.
"""

import argparse
import base64
import collections
import hashlib
import hmac
import json
import os
import signal
import socket
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DEFAULT_ACCESS_ID = "test-id"
DEFAULT_ACCESS_KEY = "test-secret-key-XYZZY"
TOKEN_PATH = "/v2/api/widget-access-keys/token"
REQUIRED_UA_PREFIX = "mod_rai_embed/"
MAX_REQUEST_BODY = 1 << 20      # a token request is a few hundred bytes; refuse to buffer more
REQUEST_LOG_SIZE = 50

MODES = ("ok", "slow", "down", "error", "notjson", "oversized", "hostile",
         "redirect", "noexpires", "429", "503")
SLOW_DEFAULT_DELAY = 5.0
OVERSIZED_DEFAULT_SIZE = 100 * 1024     # the module must refuse any body over 64 KiB


def b64url(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def compact_json(obj):
    return json.dumps(obj, separators=(",", ":")).encode("utf-8")


# Tokens that a compact-JWS shape check ([A-Za-z0-9_-]+.[A-Za-z0-9_-]+.[A-Za-z0-9_-]*,
# at most 8 KiB) must refuse; each would do harm if written into a page unchecked.
HOSTILE_TOKENS = {
    "script": '"><script>alert(1)</script>',
    "quote": 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0".onmouseover="alert(1)',
    "space": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0 onload=alert(1).c2ln",
    "newline": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0\r\nSet-Cookie: x=1.c2ln",
    "long": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0." + "A" * (9000 - 37),
    "four": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln.ZXh0cmE",
    "two": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0",
    "empty": "",
    # Not strings at all, or not there: the JSON shape itself is wrong.
    "number": 12345,
    "null": None,
    "missing": ...,
}


class Behaviour:
    """What the next token requests get; set as a whole by each POST /_control."""

    FIELDS = ("mode", "delay", "status", "lifetime", "expires_in", "retry_after",
              "hostile", "size", "token_length", "times")

    def __init__(self, mode="ok", delay=None, status=500, lifetime=900, expires_in=None,
                 retry_after=None, hostile="script", size=OVERSIZED_DEFAULT_SIZE,
                 token_length=None, times=None):
        if mode not in MODES:
            raise ValueError("unknown mode %r (one of %s)" % (mode, ", ".join(MODES)))
        if hostile not in HOSTILE_TOKENS:
            raise ValueError("unknown hostile kind %r (one of %s)"
                             % (hostile, ", ".join(HOSTILE_TOKENS)))
        if delay is None and mode == "slow":
            delay = SLOW_DEFAULT_DELAY
        for name, value in (("delay", delay), ("lifetime", lifetime), ("size", size),
                            ("retry_after", retry_after), ("token_length", token_length),
                            ("times", times)):
            if value is not None and (not isinstance(value, (int, float)) or value < 0):
                raise ValueError("%s must be a non-negative number" % name)
        if not isinstance(status, int) or not 100 <= status <= 599:
            raise ValueError("status must be an HTTP status code")
        self.mode = mode
        self.delay = delay
        self.status = status
        self.lifetime = int(lifetime)
        self.expires_in = expires_in    # any JSON value; None means "the lifetime"
        self.retry_after = retry_after
        self.hostile = hostile
        self.size = int(size)
        self.token_length = token_length
        self.times = times              # revert to "ok" after this many token requests

    @classmethod
    def from_json(cls, obj):
        if not isinstance(obj, dict):
            raise ValueError("control body must be a JSON object")
        unknown = set(obj) - set(cls.FIELDS)
        if unknown:
            raise ValueError("unknown control field(s): %s" % ", ".join(sorted(unknown)))
        return cls(**obj)

    def to_json(self):
        return {name: getattr(self, name) for name in self.FIELDS}


class State:
    """Counters, behaviour and request log shared by every listener and thread."""

    def __init__(self, access_id, access_key):
        self.access_id = access_id
        self.access_key = access_key
        self.cond = threading.Condition()
        self.serial = 0                 # the JWT "n" claim; never reset, so tokens stay unique
        self.reset()

    def reset(self):
        with self.cond:
            self.behaviour = Behaviour()
            self.counters = collections.Counter()
            self.requests = collections.deque(maxlen=REQUEST_LOG_SIZE)
            # Wakes delayed answers of earlier tests, so they cannot land in the next one.
            self.generation = getattr(self, "generation", 0) + 1
            self.cond.notify_all()

    def count(self, name):
        with self.cond:
            self.counters[name] += 1
            return self.counters[name]

    def next_serial(self):
        with self.cond:
            self.serial += 1
            return self.serial

    def take_behaviour(self):
        """The behaviour for one token request, and the generation it belongs to."""
        with self.cond:
            behaviour = self.behaviour
            if behaviour.times is not None:
                behaviour.times -= 1
                if behaviour.times <= 0:
                    self.behaviour = Behaviour()
            return behaviour, self.generation

    def sleep(self, seconds, generation):
        """Sleep, but wake early on a reset.  True when the sleep ran its full course."""
        deadline = time.monotonic() + seconds
        with self.cond:
            while self.generation == generation:
                left = deadline - time.monotonic()
                if left <= 0:
                    return True
                self.cond.wait(left)
            return False

    def stats(self):
        with self.cond:
            return {
                "token_requests": self.counters["token_requests"],
                "ok": self.counters["ok"],
                "rejected": self.counters["rejected"],
                "connections": self.counters["connections"],
                "token_connections": self.counters["token_connections"],
                "tls_connections": self.counters["tls_connections"],
                "tls_failures": self.counters["tls_failures"],
                "serial": self.serial,
                "behaviour": self.behaviour.to_json(),
                "requests": [dict(r) for r in self.requests],
            }

    def mint_token(self, identity, lifetime, length=None):
        """A JWT naming the identity: HS256 over header.payload with the access key."""
        now = int(time.time())
        sub = identity.get("data-customer-id")
        if sub is None and identity:
            sub = next(iter(identity.values()))
        claims = {"ids": identity, "sub": sub, "iat": now, "exp": now + lifetime,
                  "n": self.next_serial()}
        signing_input = (b64url(compact_json({"alg": "HS256", "typ": "JWT"})) + "."
                         + b64url(compact_json(claims)))
        signature = b64url(hmac.new(self.access_key.encode(), signing_input.encode(),
                                    hashlib.sha256).digest())
        token = signing_input + "." + signature
        if length is not None and length > len(token):
            # Padding the signature keeps the token JWS-shaped, for size-limit tests.
            token += "A" * (int(length) - len(token))
        return token, claims


class RequestRejected(Exception):
    def __init__(self, status, reason):
        super().__init__(reason)
        self.status = status
        self.reason = reason


def check_token_request(handler, raw_body, state):
    """The identity of a well-formed token request; RequestRejected for anything else."""
    if handler.command != "POST":
        raise RequestRejected(405, "method %s, want POST" % handler.command)
    headers = handler.headers
    if headers.get("Content-Type") != "application/json":
        raise RequestRejected(400, "Content-Type %r, want application/json"
                              % headers.get("Content-Type"))
    if headers.get("Accept") != "application/json":
        raise RequestRejected(400, "Accept %r, want application/json" % headers.get("Accept"))
    if not (headers.get("User-Agent") or "").startswith(REQUIRED_UA_PREFIX):
        raise RequestRejected(400, "User-Agent %r, want %s<version>"
                              % (headers.get("User-Agent"), REQUIRED_UA_PREFIX))
    for name in ("Authorization", "Cookie", "Proxy-Authorization"):
        if name in headers:     # the contract: no credentials but those in the body
            raise RequestRejected(400, "unexpected %s header" % name)
    try:
        body = json.loads(raw_body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise RequestRejected(400, "body is not JSON: %s" % e)
    if not isinstance(body, dict):
        raise RequestRejected(400, "body is not a JSON object")
    fields = set(body)
    if fields != {"accessId", "accessKey", "userIdentifiers"}:
        raise RequestRejected(400, "top-level fields %s, want accessId, accessKey, "
                              "userIdentifiers" % sorted(fields))
    identity = body["userIdentifiers"]
    if not isinstance(identity, dict) or not identity:
        raise RequestRejected(400, "userIdentifiers is not a non-empty object")
    for key, value in identity.items():
        if not key.startswith("data-"):
            raise RequestRejected(400, "identifier key %r does not start with data-" % key)
        if not isinstance(value, str):
            raise RequestRejected(400, "identifier %r is not a string" % key)
    if not isinstance(body["accessId"], str) or not isinstance(body["accessKey"], str):
        raise RequestRejected(400, "accessId and accessKey must be strings")
    if body["accessId"] != state.access_id or not hmac.compare_digest(
            body["accessKey"].encode(), state.access_key.encode()):
        raise RequestRejected(401, "wrong accessId or accessKey")
    return identity


class StandinHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"       # keep-alive, so the module's connection reuse shows
    server_version = "rai-standin/1"
    sys_version = ""

    def setup(self):
        # One handler per TCP connection: counting here makes keep-alive reuse visible.
        self.timeout = self.server.idle_timeout
        super().setup()
        state = self.server.state
        self.conn_id = state.count("connections")
        self.carried_token_request = False
        if self.server.tls:
            state.count("tls_connections")

    def handle(self):
        if self.server.tls:
            # The handshake runs here, in the connection's thread, not in the accept loop.
            try:
                self.connection.do_handshake()
            except (ssl.SSLError, OSError):
                self.server.state.count("tls_failures")
                self.close_connection = True
                return
        try:
            super().handle()
        except (ConnectionError, socket.timeout, ssl.SSLError):
            self.close_connection = True

    def log_message(self, fmt, *args):
        if self.server.verbose:
            sys.stderr.write("standin: %s %s\n" % (self.address_string(), fmt % args))

    # -- plumbing --

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks, total = [], 0
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass    # trailers
                    return b"".join(chunks)
                total += size
                if total > MAX_REQUEST_BODY:
                    raise RequestRejected(413, "request body too large")
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_REQUEST_BODY:
            raise RequestRejected(413, "request body too large")
        return self.rfile.read(length)

    def send(self, status, body=b"", content_type="application/json", headers=()):
        if isinstance(body, (dict, list)):
            body = compact_json(body)
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def hang_up(self):
        """Close without a word, like a server that died mid-request."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def route(self):
        path = self.path.split("?", 1)[0]
        try:
            raw_body = self.read_body()
        except RequestRejected as e:
            self.close_connection = True
            return self.send(e.status, {"error": e.reason})
        except ValueError:              # a bad Content-Length or chunk size
            self.close_connection = True
            return self.send(400, {"error": "unreadable request body"})
        if path.endswith("/token"):
            return self.token(path, raw_body)
        if path == "/_control" and self.command == "POST":
            return self.control(raw_body)
        if path == "/_control" and self.command == "GET":
            return self.send(200, self.server.state.behaviour.to_json())
        if path == "/_stats" and self.command == "GET":
            return self.send(200, self.server.state.stats())
        if path == "/_reset" and self.command == "POST":
            self.server.state.reset()
            return self.send(200, {"reset": True})
        return self.send(404, {"error": "no such endpoint"})

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = route

    # -- control API --

    def control(self, raw_body):
        state = self.server.state
        try:
            behaviour = Behaviour.from_json(json.loads(raw_body.decode("utf-8") or "{}"))
        except (ValueError, TypeError) as e:
            return self.send(400, {"error": str(e)})
        with state.cond:
            state.behaviour = behaviour
        return self.send(200, behaviour.to_json())

    # -- the token API --

    def token(self, path, raw_body):
        state = self.server.state
        state.count("token_requests")
        if not self.carried_token_request:
            # Unlike "connections", not inflated by the harness's own control calls.
            self.carried_token_request = True
            state.count("token_connections")
        behaviour, generation = state.take_behaviour()
        try:
            body = json.loads(raw_body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            body = raw_body.decode("utf-8", "replace")
        record = {"path": path, "method": self.command, "headers": dict(self.headers.items()),
                  "body": body, "identity": None, "conn": self.conn_id,
                  "tls": self.server.tls, "time": time.time(), "mode": behaviour.mode,
                  "status": None, "rejected": None, "token": None, "claims": None}
        with state.cond:
            state.requests.append(record)

        def answer(status, *args, **kwargs):
            record["status"] = status
            self.send(status, *args, **kwargs)

        rejection = None
        try:
            record["identity"] = check_token_request(self, raw_body, state)
        except RequestRejected as e:
            # Checked in every mode, so "rejected == 0" holds a test to the contract.
            state.count("rejected")
            record["rejected"] = e.reason
            rejection = e
        if behaviour.delay and not state.sleep(behaviour.delay, generation):
            return self.hang_up()       # reset while waiting: this answer belongs to no test
        if behaviour.mode == "down":
            return self.hang_up()
        if rejection is not None:
            return answer(rejection.status, {"error": rejection.reason})
        return self.token_answer(behaviour, record, answer)

    def token_answer(self, behaviour, record, answer):
        state = self.server.state
        identity = record["identity"]
        mode = behaviour.mode
        if mode == "error":
            return answer(behaviour.status, {"error": "stand-in told to fail"})
        if mode in ("429", "503"):
            headers = []
            if behaviour.retry_after is not None:
                headers.append(("Retry-After", str(int(behaviour.retry_after))))
            return answer(int(mode), {"error": "stand-in told to refuse"}, headers=headers)
        if mode == "redirect":
            scheme = "https" if self.server.tls else "http"
            location = "%s://127.0.0.1:%d%s" % (scheme, self.server.server_address[1],
                                                TOKEN_PATH)
            return answer(302, {"moved": location}, headers=[("Location", location)])
        if mode == "notjson":
            return answer(200, b"<html><body>Service temporarily unavailable</body></html>",
                          content_type="text/html; charset=utf-8")

        token, claims = state.mint_token(identity, behaviour.lifetime, behaviour.token_length)
        expires_in = behaviour.lifetime if behaviour.expires_in is None else behaviour.expires_in
        data = {"embedToken": token, "expiresIn": expires_in}
        if mode == "noexpires":
            del data["expiresIn"]
        elif mode == "hostile":
            hostile = HOSTILE_TOKENS[behaviour.hostile]
            if hostile is ...:
                del data["embedToken"]
            else:
                data["embedToken"] = hostile
        document = {"data": data}
        if mode == "oversized":
            # Valid JSON with a good token: only its size is wrong.
            document["padding"] = "x" * behaviour.size
        record["token"] = data.get("embedToken")
        if mode in ("ok", "slow", "noexpires"):
            state.count("ok")
            record["claims"] = claims
        return answer(200, document)


class StandinServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 128            # concurrency tests open many connections at once

    def __init__(self, port, state, tls_context=None, verbose=False, idle_timeout=30):
        self.state = state
        self.tls_context = tls_context
        self.tls = tls_context is not None
        self.verbose = verbose
        self.idle_timeout = idle_timeout
        super().__init__(("127.0.0.1", port), StandinHandler)

    def get_request(self):
        sock, address = super().get_request()
        # Answers go out at once: without it a kept-alive client's next request
        # waits ~40 ms for the delayed ACK of a small write (Nagle).
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.tls_context is not None:
            # No handshake in the accept loop: a silent client must not block the others.
            sock = self.tls_context.wrap_socket(sock, server_side=True,
                                                do_handshake_on_connect=False)
        return sock, address

    def handle_error(self, request, client_address):
        if self.verbose:
            super().handle_error(request, client_address)


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="A local stand-in for the Returning.AI token API, for mod_rai_embed's "
                    "tests and demo.  Binds 127.0.0.1 only.  Point the module at it with "
                    "RaiEmbedTokenURL http://127.0.0.1:PORT%s" % TOKEN_PATH,
        epilog="Control API: POST /_control with a JSON body such as {\"mode\": \"down\"} "
               "(modes: %s), GET /_stats for counters, POST /_reset to start over.  The "
               "default access id and key are test values, not secrets." % ", ".join(MODES))
    parser.add_argument("--port", type=int, default=0,
                        help="HTTP port on 127.0.0.1; 0 (the default) picks a free one, "
                             "see --ready-file")
    parser.add_argument("--tls-port", type=int,
                        help="also serve HTTPS on this port (needs --tls-cert and --tls-key)")
    parser.add_argument("--tls-cert", help="PEM certificate (chain) for HTTPS")
    parser.add_argument("--tls-key", help="PEM private key for HTTPS")
    parser.add_argument("--access-id", default=DEFAULT_ACCESS_ID,
                        help="the accessId that token requests must carry, as RaiEmbedAccessId "
                             "(default: %(default)s)")
    parser.add_argument("--access-key", default=DEFAULT_ACCESS_KEY,
                        help="the accessKey that token requests must carry, as RaiEmbedAccessKey "
                             "(default: %(default)s)")
    parser.add_argument("--ready-file",
                        help="once listening, write the bound ports and the pid here as one "
                             "JSON line, e.g. {\"port\": 40123, \"tls_port\": null, \"pid\": 42}")
    parser.add_argument("--idle-timeout", type=float, default=30,
                        help="close idle keep-alive connections after this many seconds "
                             "(default: %(default)s)")
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    args = parser.parse_args(argv)

    state = State(args.access_id, args.access_key)
    servers = [StandinServer(args.port, state, verbose=args.verbose,
                             idle_timeout=args.idle_timeout)]
    if args.tls_port is not None:
        if not (args.tls_cert and args.tls_key):
            parser.error("--tls-port needs --tls-cert and --tls-key")
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.tls_cert, args.tls_key)
        servers.append(StandinServer(args.tls_port, state, tls_context=context,
                                     verbose=args.verbose, idle_timeout=args.idle_timeout))

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    for server in servers:
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2},
                         daemon=True).start()

    ports = {"port": servers[0].server_address[1],
             "tls_port": servers[1].server_address[1] if len(servers) > 1 else None,
             "pid": os.getpid()}
    sys.stderr.write("rai-standin: token URL http://127.0.0.1:%d%s%s\n" % (
        ports["port"], TOKEN_PATH,
        "" if ports["tls_port"] is None
        else ", https://127.0.0.1:%d%s" % (ports["tls_port"], TOKEN_PATH)))
    sys.stderr.flush()
    if args.ready_file:
        # Written whole and renamed, so a waiting reader never sees half a line.
        partial = args.ready_file + ".tmp"
        with open(partial, "w") as f:
            f.write(json.dumps(ports) + "\n")
        os.replace(partial, args.ready_file)

    stop.wait()
    for server in servers:
        server.shutdown()
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
