"""Helpers for mod_rai_embed's integration tests: the token API stand-in, a private httpd
per test, and JWT helpers.  conftest.py turns them into fixtures; tests import the
plain helpers (rai_conf, token_payload, ...) from here.

Everything listens on 127.0.0.1 and every HTTP client here ignores proxy settings from the
environment, so no test traffic leaves the machine.
"""

import base64
import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests

REPO_ROOT = Path(__file__).resolve().parents[2]
STANDIN_SCRIPT = REPO_ROOT / "tests" / "standin" / "rai_standin.py"
# RAI_EMBED_SO lets the same tests run against an installed module.
MODULE_SO = Path(os.environ.get("RAI_EMBED_SO", REPO_ROOT / ".libs" / "mod_rai_embed.so"))
APACHE_BIN = os.environ.get("RAI_APACHE_BIN", "apache2")
APACHE_MODULES = Path("/usr/lib/apache2/modules")

ACCESS_ID = "test-id"
ACCESS_KEY = "test-secret-key-XYZZY"
TOKEN_PATH = "/v2/api/widget-access-keys/token"
DEFAULT_LOGLEVEL = "warn rai_embed:debug"

# Modules every test httpd loads (the MPM, cgi/cgid and php are added by option).
BASE_MODULES = ("authz_core", "authz_host", "authn_core", "authn_file", "auth_basic",
                "authz_user", "mime", "dir", "alias", "env", "headers", "setenvif",
                "log_config", "unixd", "filter", "deflate", "bucketeer", "include",
                # The module's default token cache is shmcb, an ap_socache provider.
                "socache_shmcb")

# Tab-separated so that parsing needs no quoting rules; %{rai-embed}n is the module's note.
ACCESS_LOG_FIELDS = ("remote", "user", "method", "path", "status", "bytes", "rai_embed",
                     "pid", "usec")
ACCESS_LOG_FORMAT = r"%h\t%u\t%m\t%U%q\t%>s\t%B\t%{rai-embed}n\t%P\t%D"

ERROR_LINE = re.compile(r"^\[[^\]]*\] \[(?P<module>[^:\]]*):(?P<level>\w+)\]")
SERIOUS_LEVELS = ("error", "crit", "alert", "emerg")
# A child that died of a signal is logged at notice level, but is always a failure.
CRASH_LINE = re.compile(r"AH00052|exit signal|seg fault|AddressSanitizer|double free")


def loopback_session():
    """A requests session that never goes through a proxy from the environment."""
    session = requests.Session()
    session.trust_env = False
    return session


def free_port():
    """A port that was free a moment ago; callers retry if someone took it since."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def refusing_port(request):
    """A loopback port that refuses connections for the rest of the test: bound but not
    listening, so no server the test starts on a free port can land on it."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    request.addfinalizer(sock.close)
    return sock.getsockname()[1]


def wait_for(predicate, timeout, interval=0.05):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


def make_private_ca(directory):
    """A throw-away CA and a server certificate for 127.0.0.1 signed by it, plus an
    unrelated CA that must NOT verify the server (for TLS-verification tests)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)

    def openssl(*args):
        subprocess.run(["openssl", *args], cwd=directory, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    for ca in ("ca", "other-ca"):
        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                "-subj", "/CN=mod_rai_embed test %s" % ca,
                "-keyout", ca + ".key", "-out", ca + ".pem")
    openssl("req", "-new", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
            "-keyout", "server.key", "-out", "server.csr")
    (directory / "server.ext").write_text(
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=critical,CA:FALSE\n"
        "keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-days", "2", "-extfile", "server.ext", "-out", "server.pem")
    for name in ("ca.pem", "other-ca.pem", "server.pem"):
        os.chmod(directory / name, 0o644)   # httpd children (www-data) read the CA file
    return {"ca": directory / "ca.pem", "other_ca": directory / "other-ca.pem",
            "cert": directory / "server.pem", "key": directory / "server.key"}


# ---------------------------------------------------------------------------- stand-in

def stop_process(process, timeout=10):
    """Terminate a helper server we started, and kill it if it will not go."""
    if process and process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class Standin:
    """The token API stand-in (tests/standin/rai_standin.py) in a process of its own."""

    def __init__(self, workdir, access_id=ACCESS_ID, access_key=ACCESS_KEY):
        self.workdir = Path(workdir)
        self.access_id = access_id
        self.access_key = access_key
        self.process = None
        self.session = loopback_session()

    def start(self, timeout=15):
        self.workdir.mkdir(parents=True, exist_ok=True)
        certs = make_private_ca(self.workdir / "tls")
        self.cert_path = certs["ca"]            # verifies tls_url
        self.other_ca_path = certs["other_ca"]  # does not
        ready = self.workdir / "ready.json"
        self.log_path = self.workdir / "standin.log"
        with open(self.log_path, "ab") as log:
            # Port 0: the stand-in binds free ports itself and reports them, no race.
            self.process = subprocess.Popen(
                [sys.executable, str(STANDIN_SCRIPT), "--port", "0", "--tls-port", "0",
                 "--tls-cert", str(certs["cert"]), "--tls-key", str(certs["key"]),
                 "--access-id", self.access_id, "--access-key", self.access_key,
                 "--ready-file", str(ready)],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        if not wait_for(lambda: ready.exists() or self.process.poll() is not None, timeout) \
                or not ready.exists():
            self.stop()
            raise RuntimeError("token API stand-in did not start:\n"
                               + self.log_path.read_text(errors="replace"))
        ports = json.loads(ready.read_text())
        self.port, self.tls_port = ports["port"], ports["tls_port"]
        self.base = "http://127.0.0.1:%d" % self.port
        self.url = self.base + TOKEN_PATH
        self.tls_url = "https://127.0.0.1:%d%s" % (self.tls_port, TOKEN_PATH)
        return self

    def stop(self):
        stop_process(self.process)
        self.session.close()

    def _call(self, method, path, body=None):
        response = self.session.request(method, self.base + path, json=body, timeout=10)
        if response.status_code != 200:
            raise RuntimeError("stand-in %s %s: %d %s" % (method, path, response.status_code,
                                                         response.text))
        return response.json()

    def control(self, **behaviour):
        """Set the behaviour of the following token requests, e.g. control(mode="slow",
        delay=5).  Fields not given take their defaults; see rai_standin.Behaviour."""
        return self._call("POST", "/_control", behaviour)

    def stats(self):
        return self._call("GET", "/_stats")

    def requests(self):
        """The last 50 token requests the stand-in received, oldest first."""
        return self.stats()["requests"]

    def reset(self):
        self._call("POST", "/_reset")


def rai_conf(standin, *, tls=False, **overrides):
    """The standard module configuration against the stand-in, as config text.

    Keyword arguments override or add directives by name with or without the RaiEmbed
    prefix (Timeout="0.5 1", RaiEmbedCache="none"); None drops a directive, a list writes it
    once per item (Identifier=["data-customer-id user", "data-email env:MAIL"]).
    tls=True points at the stand-in's HTTPS listener and trusts its private CA.
    """
    directives = {
        "RaiEmbed": "On",
        "RaiEmbedAccessId": ACCESS_ID,
        "RaiEmbedAccessKey": ACCESS_KEY,
        "RaiEmbedTokenURL": standin.tls_url if tls else standin.url,
        "RaiEmbedTimeout": "1 3",
    }
    if tls:
        directives["RaiEmbedCACertificateFile"] = '"%s"' % standin.cert_path
    for name, value in overrides.items():
        directive = name if name.startswith("RaiEmbed") else "RaiEmbed" + name
        if value is None:
            directives.pop(directive, None)
        else:
            directives[directive] = value
    lines = []
    for directive, value in directives.items():
        for item in (value if isinstance(value, (list, tuple)) else [value]):
            lines.append("%s %s" % (directive, item))
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------ tokens

EMBED_TOKEN = re.compile(r'embed-token="([^"]*)"')


def b64url_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def jwt_payload(token):
    """The claims of a compact JWS (not verified: the stand-in signed it)."""
    parts = token.split(".")
    assert len(parts) == 3, "not a compact JWS: %r" % token[:80]
    return json.loads(b64url_decode(parts[1]))


def cache_control(response):
    """The Cache-Control directives (every header line), split at commas outside
    quoted strings."""
    directives, current, quoted = [], "", False
    for ch in response.headers.get("Cache-Control", "") + ",":
        if ch == "," and not quoted:
            if current.strip():
                directives.append(current.strip())
            current = ""
            continue
        quoted ^= ch == '"'
        current += ch
    return directives


def embed_tokens(page):
    """Every embed-token attribute value in a page (str or bytes), in order."""
    if isinstance(page, bytes):
        page = page.decode("utf-8", "replace")
    return EMBED_TOKEN.findall(page)


def token_payload(page):
    """The claims of the page's token; asserts that all widgets carry one and the same."""
    tokens = embed_tokens(page)
    assert tokens, "no embed-token in the page"
    assert len(set(tokens)) == 1, "widgets carry different tokens: %r" % tokens
    return jwt_payload(tokens[0])


# ------------------------------------------------------------------------------- httpd

class HttpdError(RuntimeError):
    pass


_static_modules = None


def static_modules():
    """Modules compiled into Debian's apache2 (loading them again is an error)."""
    global _static_modules
    if _static_modules is None:
        out = subprocess.run([APACHE_BIN, "-l"], capture_output=True, text=True).stdout
        _static_modules = {m.group(1) for m in re.finditer(r"mod_(\w+)\.c", out)}
    return _static_modules


def load_module_line(name):
    """LoadModule for a short name ("proxy_http") or an (identifier, path) pair."""
    if isinstance(name, tuple):
        return "LoadModule %s %s" % name
    if name == "php":
        path = sorted(APACHE_MODULES.glob("libphp*.so"))[-1]
        return "LoadModule php_module %s" % path
    return "LoadModule %s_module %s" % (name, APACHE_MODULES / ("mod_%s.so" % name))


MPM_CONF = {
    # Several children, so tests see what is per process and what is shared.
    "event": """\
StartServers 2
ServerLimit 4
ThreadLimit 8
ThreadsPerChild 8
MinSpareThreads 8
MaxSpareThreads 32
MaxRequestWorkers 32
""",
    "prefork": """\
StartServers 3
MinSpareServers 2
MaxSpareServers 5
ServerLimit 8
MaxRequestWorkers 8
""",
}

CONF_TEMPLATE = """\
# Written by tests/integration/rai_harness.py for one test; the test's own part is last.
ServerRoot "{root}"
ServerName 127.0.0.1
Listen 127.0.0.1:{port}
PidFile "{run}/httpd.pid"
DefaultRuntimeDir "{run}"
User www-data
Group www-data

{load_modules}

{mpm_conf}
ErrorLog "{logs}/error.log"
LogLevel {loglevel}
LogFormat "{log_format}" rai_test
CustomLog "{logs}/access.log" rai_test
TypesConfig /etc/mime.types

DocumentRoot "{docroot}"
DirectoryIndex index.html index.php
<Directory />
    AllowOverride None
    Require all denied
</Directory>
# AllowOverride All: tests of RaiEmbed in .htaccess just write one.
<Directory "{docroot}">
    AllowOverride All
    Require all granted
</Directory>
ScriptAlias /cgi-bin/ "{cgi_bin}/"
<Directory "{cgi_bin}">
    Require all granted
</Directory>
<IfModule cgid_module>
    ScriptSock "{run}/cgid.sock"
</IfModule>
{php_conf}
# ---- test configuration
{snippet}
"""


class Httpd:
    """A private httpd for one test, in its own directory:

      conf/httpd.conf  logs/{error.log,access.log,stdout.log}  run/  htdocs/  cgi-bin/

    Construct, write documents, configure(snippet), start(); the httpd_factory fixture
    stops it after the test and checks its logs (see problems()).
    """

    def __init__(self, root, snippet="", *, mpm="event", modules=(), php=False,
                 loglevel=DEFAULT_LOGLEVEL, env=None):
        if mpm not in MPM_CONF:
            raise ValueError("mpm must be one of %s" % ", ".join(MPM_CONF))
        if php and mpm != "prefork":
            raise ValueError("Debian's libphp is not thread-safe: php=True needs "
                             "mpm='prefork'")
        self.root = Path(root)
        self.conf_dir = self.root / "conf"
        self.logs = self.root / "logs"
        self.run = self.root / "run"
        self.docroot = self.root / "htdocs"
        self.cgi_bin = self.root / "cgi-bin"
        for directory in (self.root, self.conf_dir, self.logs, self.run, self.docroot,
                          self.cgi_bin):
            directory.mkdir(parents=True, exist_ok=True)
            os.chmod(directory, 0o755)      # children run as www-data
        self.conf_path = self.conf_dir / "httpd.conf"
        self.error_log_path = self.logs / "error.log"
        self.access_log_path = self.logs / "access.log"
        self.mpm, self.modules, self.php, self.loglevel = mpm, tuple(modules), php, loglevel
        self.env = dict(env or {})
        self.snippet = snippet
        self.port = free_port()
        self.process = None
        self.started = False
        self.expected_errors = []
        # Strings that must never show in a log or a response; tests may add more.
        self.secrets = [ACCESS_KEY]
        self.requests_made = 0
        self._lock = threading.Lock()
        self.session = loopback_session()

    # -- configuration --

    def configure(self, snippet):
        """Set the test's part of httpd.conf (written at start, configtest, graceful)."""
        self.snippet = snippet
        return self

    def write_conf(self):
        modules = ["mpm_" + self.mpm, *BASE_MODULES,
                   "cgid" if self.mpm == "event" else "cgi"]
        if self.php:
            modules.append("php")
        modules += self.modules
        lines = [load_module_line(m) for m in modules
                 if isinstance(m, tuple) or m not in static_modules()]
        lines.append("LoadModule rai_embed_module %s" % MODULE_SO)
        self.conf_path.write_text(CONF_TEMPLATE.format(
            root=self.root, port=self.port, run=self.run, logs=self.logs,
            docroot=self.docroot, cgi_bin=self.cgi_bin, loglevel=self.loglevel,
            load_modules="\n".join(lines), mpm_conf=MPM_CONF[self.mpm],
            log_format=ACCESS_LOG_FORMAT,
            php_conf="AddHandler application/x-httpd-php .php" if self.php else "",
            snippet=self.snippet))
        return self.conf_path

    def write(self, relpath, content, mode=None):
        """Write a file under the DocumentRoot (or cgi-bin/..., which is executable)."""
        if relpath.startswith("cgi-bin/"):
            path = self.cgi_bin / relpath[len("cgi-bin/"):]
            mode = 0o755 if mode is None else mode
        else:
            path = self.docroot / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            content = content.encode("utf-8")
        path.write_bytes(content)
        os.chmod(path, 0o644 if mode is None else mode)
        return path

    def htpasswd(self, users, name="htpasswd"):
        """An htpasswd file in conf/ for {user: password}; returns its path."""
        path = self.conf_dir / name
        path.unlink(missing_ok=True)
        for user, password in users.items():
            subprocess.run(["htpasswd", "-b", "-B", "-C", "4"]
                           + ([] if path.exists() else ["-c"])
                           + [str(path), user, password],
                           check=True, capture_output=True)
        os.chmod(path, 0o644)
        return path

    def expect_error(self, regex):
        """Declare error-log lines (error level and above) this test provokes on purpose."""
        self.expected_errors.append(re.compile(regex))

    # -- life cycle --

    def _environment(self):
        env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
        env["LANG"] = "C"
        # RAI_HTTPD_ENV="LD_PRELOAD=... ASAN_OPTIONS=...": for every apache2 run (start,
        # stop, -t, graceful), as an ASan-built module needs its runtime in all of them.
        for item in shlex.split(os.environ.get("RAI_HTTPD_ENV", "")):
            name, _, value = item.partition("=")
            env[name] = value
        env.update(self.env)
        return env

    def _apache(self, *args, **kwargs):
        return subprocess.run([APACHE_BIN, "-f", str(self.conf_path), *args],
                              env=self._environment(), capture_output=True, text=True,
                              **kwargs)

    def configtest(self):
        """(returncode, stdout+stderr) of `apache2 -t` on the current configuration."""
        self.write_conf()
        result = self._apache("-t")
        output = result.stdout + result.stderr
        # Kept under logs/ so the after-test scan sees a key leaked in an error message.
        with open(self.logs / "configtest.log", "a") as log:
            log.write(output)
        return result.returncode, output

    def _ready_count(self):
        return self.error_log().count("resuming normal operations")

    def start(self, timeout=20):
        for attempt in range(3):
            try:
                return self._start_once(timeout)
            except HttpdError as e:
                if "Address already in use" not in str(e) or attempt == 2:
                    raise
                self.port = free_port()     # lost the port race: try another one

    def _start_once(self, timeout):
        if not MODULE_SO.exists():
            raise HttpdError("%s does not exist: build the module first (make)" % MODULE_SO)
        self.write_conf()
        ready_before = self._ready_count()
        # RAI_HTTPD_WRAPPER, e.g. "valgrind --error-exitcode=99", runs httpd under a tool.
        wrapper = shlex.split(os.environ.get("RAI_HTTPD_WRAPPER", ""))
        stdout = open(self.logs / "stdout.log", "ab")
        # FOREGROUND keeps httpd our child: its exit status is ours to see, and nothing
        # outlives the test when stop() has to kill it.
        self.process = subprocess.Popen(
            wrapper + [APACHE_BIN, "-f", str(self.conf_path), "-k", "start", "-DFOREGROUND"],
            env=self._environment(), stdin=subprocess.DEVNULL, stdout=stdout,
            stderr=subprocess.STDOUT, start_new_session=True)
        stdout.close()

        def ready():
            if self.process.poll() is not None:
                return True
            if self._ready_count() <= ready_before:
                return False
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.5).close()
                return True
            except OSError:
                return False

        wait_for(ready, timeout)
        if self.process.poll() is not None or self._ready_count() <= ready_before:
            self.stop()
            raise HttpdError("httpd did not start (exit status %s)\n--- stdout/stderr:\n%s"
                             "\n--- error log:\n%s" % (
                                 self.process.returncode,
                                 (self.logs / "stdout.log").read_text(errors="replace"),
                                 self.error_log()))
        self.started = True
        return self

    def stop(self, timeout=15):
        if self.process is None:
            return
        if self.process.poll() is None:
            self._apache("-k", "stop", timeout=timeout)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
                raise HttpdError("httpd did not stop within %ss; killed" % timeout)
        self.session.close()

    def graceful(self, timeout=20):
        """Graceful restart with the current configuration; returns once it is done."""
        ready_before = self._ready_count()
        self.write_conf()
        result = self._apache("-k", "graceful")
        if result.returncode != 0:
            raise HttpdError("graceful restart refused:\n" + result.stdout + result.stderr)
        if not wait_for(lambda: self._ready_count() > ready_before, timeout):
            raise HttpdError("graceful restart did not finish:\n" + self.error_log())
        return self

    # -- requests --

    def url(self, path="/"):
        return "http://127.0.0.1:%d/%s" % (self.port, path.lstrip("/"))

    def request(self, method, path, **kwargs):
        """One request through a keep-alive session; redirects are not followed.  Asserts
        that no secret (the access key) shows in the response."""
        kwargs.setdefault("timeout", 10)
        kwargs.setdefault("allow_redirects", False)
        response = self.session.request(method, self.url(path), **kwargs)
        with self._lock:
            self.requests_made += 1
        raw_headers = "\n".join("%s: %s" % item for item in response.headers.items())
        for secret in self.secrets:
            assert secret.encode() not in response.content, \
                "the access key is in the response body of %s %s" % (method, path)
            assert secret not in raw_headers, \
                "the access key is in a response header of %s %s" % (method, path)
        return response

    def get(self, path, **kwargs):
        return self.request("GET", path, **kwargs)

    def head(self, path, **kwargs):
        return self.request("HEAD", path, **kwargs)

    # -- logs --

    def error_log(self):
        """The error log, once every request made so far has been logged: httpd writes
        what a filter logs at the end of a response after the client already has it, so
        reading straight after a request could miss the response's last lines."""
        if self.requests_made:
            self.access_log(timeout=3)
        try:
            return self.error_log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def access_log(self, wait_for_lines=None, timeout=5):
        """The access log as dicts (keys ACCESS_LOG_FIELDS; "rai_embed" is the note).

        httpd writes a line only after the response has gone out, so this waits until
        there are wait_for_lines lines (default: one per request() made), or timeout."""
        expected = self.requests_made if wait_for_lines is None else wait_for_lines

        def read():
            try:
                text = self.access_log_path.read_text(errors="replace")
            except FileNotFoundError:
                return []
            return [dict(zip(ACCESS_LOG_FIELDS, line.split("\t")))
                    for line in text.splitlines() if line]

        entries = read()
        deadline = time.monotonic() + timeout
        while len(entries) < expected and time.monotonic() < deadline:
            time.sleep(0.05)
            entries = read()
        return entries

    def notes(self):
        """The rai-embed note of every logged request, in order ("-" when unset)."""
        return [entry["rai_embed"] for entry in self.access_log()]

    # -- checks after the test --

    def problems(self):
        """What the logs say went wrong: unexpected errors, crashes, a leaked secret."""
        found = []
        for line in self.error_log().splitlines():
            match = ERROR_LINE.match(line)
            serious = CRASH_LINE.search(line) or (
                match.group("level") in SERIOUS_LEVELS if match
                # Not httpd's format: raw stderr of a child (abort, sanitizer) or a script.
                else line.strip() != "")
            if serious and not any(rx.search(line) for rx in self.expected_errors):
                found.append("unexpected error-log line: " + line)
        if self.started and self.process.returncode not in (0, None):
            found.append("httpd exited with status %s" % self.process.returncode)
        for path in sorted(self.logs.rglob("*")):
            if path.is_file():
                content = path.read_bytes()
                for secret in self.secrets:
                    if secret.encode() in content:
                        found.append("the access key appears in %s" % path)
        return found
