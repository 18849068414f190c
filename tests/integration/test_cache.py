"""Caching, single flight, connection reuse and back-off (docs/configuration.md).

Every test runs a real httpd (event MPM) against the token API stand-in.  Users sign in
with Basic auth, so the identity is the default `data-customer-id user`.  The stand-in
counts token requests and the TCP connections that carried them; the access log carries
each response's rai-embed note and the pid of the child that served it.

memcached and redis-server run as private processes on free loopback ports (fixtures
below), so the memcache: and redis: providers are tested against the real thing.
"""

import binascii
import concurrent.futures
import re
import socket
import subprocess
import threading
import time
import urllib.parse

import pytest

from rai_harness import (ACCESS_ID, TOKEN_PATH, embed_tokens, free_port, jwt_payload,
                         loopback_session, rai_conf, refusing_port, stop_process,
                         token_payload, wait_for)

# Two widgets: one token per response, shared by both (token_payload checks that).
WIDGET_PAGE = ('<html><body><rai-store-widget community-id="c1"></rai-store-widget>\n'
               '<rai-widget community-id="c1"></rai-widget></body></html>\n')

# One child process with room for a 16-way burst; the snippet comes after the harness's
# MPM block, so these override it.
ONE_PROCESS = """
StartServers 1
ServerLimit 1
ThreadLimit 32
ThreadsPerChild 32
MinSpareThreads 1
MaxSpareThreads 64
MaxRequestWorkers 32
"""

# mod_socache_memcache logs its own failures at error (retrieve) and crit (store) level.
MEMCACHE_ERRORS = (r"AH00791: scache_mc: 'retrieve' FAIL",
                   r"AH00790: scache_mc: error setting key")


def password(user):
    return "pw-" + user


def widget_site(httpd, standin, users, extra="", **overrides):
    """The widget page behind Basic auth for users, RaiEmbed configured against the
    stand-in (overrides as for rai_conf), plus extra configuration."""
    httpd.write("widget.html", WIDGET_PAGE)
    password_file = httpd.htpasswd({user: password(user) for user in users})
    return rai_conf(standin, **overrides) + """
<Directory "{docroot}">
    AuthType Basic
    AuthName "cache"
    AuthUserFile "{password_file}"
    Require valid-user
</Directory>
""".format(docroot=httpd.docroot, password_file=password_file) + extra


_local = threading.local()


def page(httpd, user, *, host=None, close=False, own_session=False):
    """GET the widget page as user; returns (response, seconds).  own_session: a session
    of this thread's own (for requests from several threads at once)."""
    headers = {}
    if host:
        headers["Host"] = host
    if close:
        headers["Connection"] = "close"
    started = time.monotonic()
    if own_session:
        session = getattr(_local, "session", None)
        if session is None:
            session = _local.session = loopback_session()
        response = session.get(httpd.url("widget.html"), auth=(user, password(user)),
                               headers=headers, timeout=15, allow_redirects=False)
        for secret in httpd.secrets:
            assert secret.encode() not in response.content
    else:
        response = httpd.get("widget.html", auth=(user, password(user)), headers=headers,
                             timeout=15)
    elapsed = time.monotonic() - started
    assert response.status_code == 200, response.status_code
    return response, elapsed


def token_of(response):
    tokens = embed_tokens(response.text)
    assert tokens, "no embed-token in the page"
    token_payload(response.text)    # all widgets carry the same token
    return tokens[0]


def log_lines(httpd, tag, level=None):
    return [line for line in httpd.error_log().splitlines()
            if tag in line and (level is None or ("[rai_embed:%s]" % level) in line)]


def new_session(httpd):
    """Forget the keep-alive connections of httpd's session (after a graceful restart the
    old children close them)."""
    httpd.session.close()
    httpd.session = loopback_session()


# ----------------------------------------------------------------- cache servers

class CacheServer:
    """memcached or redis-server in a process of its own, on a free loopback port."""

    def __init__(self, name, argv_for_port, workdir):
        self.name, self.argv_for_port, self.workdir = name, argv_for_port, workdir
        self.process = None
        self.port = None

    def start(self, port=None):
        for attempt in range(3):
            self.port = port or free_port()
            log = open(self.workdir / ("%s.log" % self.name), "ab")
            self.process = subprocess.Popen(self.argv_for_port(self.port), cwd=self.workdir,
                                            stdin=subprocess.DEVNULL, stdout=log,
                                            stderr=subprocess.STDOUT)
            log.close()
            if wait_for(lambda: self.process.poll() is not None or self._accepts(), 10) \
                    and self.process.poll() is None:
                return self
            self.stop()
            if port:
                break
        raise RuntimeError("%s did not start:\n%s" % (
            self.name, (self.workdir / ("%s.log" % self.name)).read_text(errors="replace")))

    def _accepts(self):
        try:
            socket.create_connection(("127.0.0.1", self.port), 0.5).close()
            return True
        except OSError:
            return False

    def stop(self):
        stop_process(self.process)
        self.process = None


@pytest.fixture
def memcached(workdir):
    server = CacheServer("memcached", lambda port: [
        "memcached", "-l", "127.0.0.1", "-p", str(port), "-U", "0", "-u", "memcache"],
        workdir).start()
    yield server
    server.stop()


@pytest.fixture
def redis(workdir):
    server = CacheServer("redis", lambda port: [
        "redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
        "--appendonly", "no", "--dir", str(workdir)], workdir).start()
    yield server
    server.stop()


def redis_cli(server, *args):
    return subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", str(server.port), *args],
                          capture_output=True, text=True, check=True, timeout=10).stdout


# ------------------------------------------------------------------- the cache

def test_two_users_two_calls(httpd_factory, standin):
    """shmcb (the default), several children: 2 users x 25 pages = 2 token requests.  The
    pages go one after another on fresh connections, so that they spread over the
    children; the shmcb cache is shared by all of them."""
    httpd = httpd_factory()
    users = ("alice", "bob")
    httpd.configure(widget_site(httpd, standin, users)).start()

    tokens = {user: set() for user in users}
    for user in users:
        for i in range(25):
            response, _ = page(httpd, user, close=True)
            tokens[user].add(token_of(response))
            assert token_payload(response.text)["sub"] == user

    stats = standin.stats()
    assert stats["token_requests"] == 2
    assert stats["rejected"] == 0
    assert {r["identity"]["data-customer-id"] for r in stats["requests"]} == set(users)
    for user in users:
        assert len(tokens[user]) == 1, "%s got %d different tokens" % (user, len(tokens[user]))
    issued = {r["identity"]["data-customer-id"]: r["token"] for r in stats["requests"]}
    assert {user: next(iter(tokens[user])) for user in users} == issued

    entries = httpd.access_log()
    assert len(entries) == 50
    # (children write their access-log lines in the order they finish, not in order)
    for user in users:
        notes = sorted(e["rai_embed"] for e in entries if e["user"] == user)
        assert notes == ["cached"] * 24 + ["fetched"], (user, notes)
    # shared, not per process: other children served the token one child fetched.  The
    # kernel may hand every fresh connection to one child for a while (a child still
    # starting, under ASan say): more pages until another child serves one
    for user in users:
        fetcher = next(e["pid"] for e in entries
                       if e["user"] == user and e["rai_embed"] == "fetched")
        others = [e for e in entries if e["user"] == user and e["pid"] != fetcher]
        for _ in range(200):
            if others:
                break
            response, _ = page(httpd, user, close=True)
            assert token_of(response) == issued[user]
            others = [e for e in httpd.access_log()
                      if e["user"] == user and e["pid"] != fetcher]
        assert others, "every page for %s was served by the child that fetched its token" % user
        assert all(e["rai_embed"] == "cached" for e in others)
    assert standin.stats()["token_requests"] == 2


def test_short_lived_not_reused(httpd_factory, standin):
    """A token that lives 30 s goes into its own page only: every page fetches.  One that
    lives 62 s is reused at once, but not once less than 60 s are left."""
    httpd = httpd_factory()
    httpd.configure(widget_site(httpd, standin, ["alice"])).start()

    standin.control(lifetime=30)
    tokens = [token_of(page(httpd, "alice")[0]) for _ in range(4)]
    assert standin.stats()["token_requests"] == 4
    assert len(set(tokens)) == 4, "a token with 30 s left was reused"
    assert all(jwt_payload(t)["sub"] == "alice" for t in tokens)
    assert httpd.notes() == ["fetched"] * 4

    standin.control(lifetime=62)
    first = token_of(page(httpd, "alice")[0])
    again = token_of(page(httpd, "alice")[0])
    assert again == first                       # 61.9 s left: reused
    assert standin.stats()["token_requests"] == 5
    time.sleep(2.5)                             # 59.5 s left: never reused
    later = token_of(page(httpd, "alice")[0])
    assert later != first
    assert standin.stats()["token_requests"] == 6
    assert httpd.notes()[4:] == ["fetched", "cached", "fetched"]


def test_token_reuse_limit(httpd_factory, standin):
    """RaiEmbedTokenReuse 2: a 15-minute token is reused within 2 s, refetched after 3 s."""
    httpd = httpd_factory()
    httpd.configure(widget_site(httpd, standin, ["alice"], TokenReuse="2")).start()

    first = token_of(page(httpd, "alice")[0])
    assert token_of(page(httpd, "alice")[0]) == first
    assert token_of(page(httpd, "alice")[0]) == first
    assert standin.stats()["token_requests"] == 1
    time.sleep(3)
    second = token_of(page(httpd, "alice")[0])
    assert second != first
    assert jwt_payload(second)["sub"] == "alice"
    assert token_of(page(httpd, "alice")[0]) == second
    assert standin.stats()["token_requests"] == 2
    assert httpd.notes() == ["fetched", "cached", "cached", "fetched", "cached"]


# ---------------------------------------------------------------- single flight

def test_burst_one_call(httpd_factory, standin):
    """16 pages for a user not yet cached, all at once, in one process, while the API
    takes 1 s: one token request, and all 16 pages carry its token."""
    httpd = httpd_factory()
    httpd.configure(widget_site(httpd, standin, ["carol"], ONE_PROCESS)).start()
    standin.control(mode="slow", delay=1)

    barrier = threading.Barrier(16)

    def one(_):
        barrier.wait(10)
        return page(httpd, "carol", own_session=True)

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        results = list(pool.map(one, range(16)))

    stats = standin.stats()
    assert stats["token_requests"] == 1
    issued = stats["requests"][0]["token"]
    assert issued
    for response, elapsed in results:
        assert token_of(response) == issued
        assert token_payload(response.text)["sub"] == "carol"
        assert elapsed < 3.5, "a page waited %.1f s" % elapsed
    entries = httpd.access_log(wait_for_lines=16)
    assert len(entries) == 16
    assert len({e["pid"] for e in entries}) == 1
    # the leader and its 15 followers: all "fetched" (DESIGN-NOTES)
    assert [e["rai_embed"] for e in entries] == ["fetched"] * 16


def httpd_with_cache(request, httpd_factory, provider, **kwargs):
    """An httpd (kwargs as for httpd_factory) and the rai_conf overrides for a token cache:
    shmcb (the default), or a private memcached or redis-server."""
    if provider == "shmcb":
        return httpd_factory(**kwargs), {}
    server = request.getfixturevalue("memcached" if provider == "memcache" else provider)
    httpd = httpd_factory(modules=["socache_" + provider], **kwargs)
    return httpd, {"Cache": "%s:127.0.0.1:%d" % (provider, server.port)}


@pytest.mark.parametrize("provider", ["shmcb", "memcache"])
def test_burst_race_one_call(request, httpd_factory, standin, provider):
    """Single flight when the API answers at once: 40 new users, each hit by 24 pages at
    once in one process, make 40 calls.  A page whose cache lookup missed while its
    user's call was in flight must not make a second call because that call has just
    landed (and its token is not in the cache yet).  A cache across the network (memcache)
    widens the window between the call's end and the token being stored."""
    httpd, conf = httpd_with_cache(request, httpd_factory, provider, loglevel="warn")
    users = ["r%02d" % i for i in range(40)]
    httpd.configure(widget_site(httpd, standin, users, ONE_PROCESS, **conf)).start()

    def burst(user):
        barrier = threading.Barrier(24)

        def one(_):
            barrier.wait(10)
            return page(httpd, user, own_session=True)[0]

        with concurrent.futures.ThreadPoolExecutor(24) as pool:
            return list(pool.map(one, range(24)))

    for user in users:
        for response in burst(user):
            assert token_payload(response.text)["sub"] == user
    stats = standin.stats()
    calls = {}
    for record in stats["requests"][-50:]:
        who = record["identity"]["data-customer-id"]
        calls[who] = calls.get(who, 0) + 1
    assert stats["token_requests"] == len(users), \
        "%d calls for %d users; more than one for %s" % (
            stats["token_requests"], len(users),
            sorted(u for u, n in calls.items() if n > 1))


# Eight children of a prefork server up and idle (room for more), so that a burst of connections lands in
# several processes.
EIGHT_CHILDREN = """
StartServers 8
MinSpareServers 8
MaxSpareServers 16
ServerLimit 16
MaxRequestWorkers 16
"""


def burst_across_children(httpd, user, n=8):
    barrier = threading.Barrier(n)

    def one(_):
        barrier.wait(10)
        return page(httpd, user, close=True, own_session=True)

    with concurrent.futures.ThreadPoolExecutor(n) as pool:
        results = list(pool.map(one, range(n)))
    return results, httpd.access_log(wait_for_lines=n)


@pytest.mark.parametrize("provider", ["shmcb", "redis"])
def test_burst_across_children_one_call(request, httpd_factory, standin, provider):
    """8 pages for one new user at once, each in a prefork child of its own, while the API
    takes 1 s: one token request for the whole server (RAI0041: the others wait for its
    answer in the shared cache), and every page carries that token."""
    httpd, conf = httpd_with_cache(request, httpd_factory, provider, mpm="prefork")
    httpd.configure(widget_site(httpd, standin, ["dave"], EIGHT_CHILDREN, **conf)).start()
    standin.control(mode="slow", delay=1)

    results, entries = burst_across_children(httpd, "dave")
    stats = standin.stats()
    assert stats["token_requests"] == 1, "%d calls for one user" % stats["token_requests"]
    issued = stats["requests"][0]["token"]
    for response, elapsed in results:
        assert token_of(response) == issued
        assert elapsed < 3.5, "a page waited %.1f s" % elapsed
    assert len({e["pid"] for e in entries}) >= 4, "the burst did not spread over children"
    notes = sorted(e["rai_embed"] for e in entries)
    assert notes == ["cached"] * 7 + ["fetched"]
    assert httpd.error_log().count("RAI0041") >= 4


@pytest.mark.expect_error(*MEMCACHE_ERRORS)
def test_burst_across_children_cache_down(request, httpd_factory, standin):
    """The shared cache is configured but down (memcached not there): the other children
    cannot see the one call's answer, so once its claim is given up each asks the API
    itself, and every page still carries a token for its user, as without single flight."""
    httpd = httpd_factory(mpm="prefork", modules=["socache_memcache"])
    httpd.configure(widget_site(httpd, standin, ["fay"], EIGHT_CHILDREN,
                                Cache="memcache:127.0.0.1:%d" % refusing_port(request)))
    httpd.start()
    standin.control(mode="slow", delay=0.5)

    results, entries = burst_across_children(httpd, "fay")
    for response, elapsed in results:
        assert token_payload(response.text)["sub"] == "fay"
        assert elapsed < 3.5, "a page waited %.1f s" % elapsed
    assert len({e["pid"] for e in entries}) >= 4
    assert standin.stats()["token_requests"] <= 8
    assert "RAI0042" not in httpd.error_log()


def test_burst_across_children_failed_call(httpd_factory, standin):
    """The one call made for a burst across children fails: the other children do not
    call in turn (RAI0042), every page is served at once without a token, and the next
    page after the failure calls again."""
    httpd = httpd_factory(mpm="prefork")
    httpd.configure(widget_site(httpd, standin, ["erin"], EIGHT_CHILDREN)).start()
    standin.control(mode="error", status=500, delay=0.8)

    results, entries = burst_across_children(httpd, "erin")
    assert standin.stats()["token_requests"] == 1
    for response, elapsed in results:
        assert 'embed-token="' not in response.text
        assert elapsed < 3, "a page waited %.1f s" % elapsed
    assert len({e["pid"] for e in entries}) >= 4
    assert httpd.error_log().count("RAI0042") >= 4

    standin.control(mode="ok")
    time.sleep(2.2)        # past the back-off a single failure may not even start
    response, _ = page(httpd, "erin", close=True, own_session=True)
    assert token_payload(response.text)["sub"] == "erin"
    assert standin.stats()["token_requests"] == 2


def test_no_crossed_tokens(httpd_factory, standin):
    """300 pages for 10 users, 16 at a time, over several children: every page carries a
    token naming its own user."""
    httpd = httpd_factory()
    users = ["user%02d" % i for i in range(10)]
    httpd.configure(widget_site(httpd, standin, users)).start()
    standin.control(mode="slow", delay=0.05)    # calls overlap with other pages

    def one(i):
        user = users[(i * 7) % len(users)]
        response, _ = page(httpd, user, close=True, own_session=True)
        return user, response

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        results = list(pool.map(one, range(300)))

    crossed = []
    for user, response in results:
        claims = token_payload(response.text)
        if claims["sub"] != user or claims["ids"] != {"data-customer-id": user}:
            crossed.append((user, claims["ids"]))
    assert not crossed, "pages carry another user's token: %r" % crossed[:10]

    entries = httpd.access_log(wait_for_lines=300)
    assert len(entries) == 300
    assert set(e["rai_embed"] for e in entries) <= {"fetched", "cached"}
    pids = {e["pid"] for e in entries}
    assert len(pids) >= 2, "one child served all pages"
    stats = standin.stats()
    assert stats["rejected"] == 0
    # the shared cache works: a call per user and process at most, not one per page
    # (test_burst_race_one_call holds single flight to exactly one)
    assert len(users) <= stats["token_requests"] <= 50
    assert stats["token_requests"] == stats["ok"]


# ---------------------------------------------------------------- connections

def test_misses_reuse_connection(httpd_factory, standin):
    """Six users one after another in one process: six token requests over one kept-alive
    connection to the API."""
    httpd = httpd_factory()
    users = ["u%d" % i for i in range(6)]
    httpd.configure(widget_site(httpd, standin, users, ONE_PROCESS)).start()

    for user in users:
        response, _ = page(httpd, user, close=True)
        assert token_payload(response.text)["sub"] == user

    stats = standin.stats()
    assert stats["token_requests"] == 6
    assert stats["token_connections"] == 1
    assert len({r["conn"] for r in stats["requests"]}) == 1
    assert httpd.notes() == ["fetched"] * 6
    assert len({e["pid"] for e in httpd.access_log()}) == 1


# ---------------------------------------------------------------- graceful restart

def test_shmcb_graceful_restart(httpd_factory, standin):
    """After a graceful restart pages still get tokens (shmcb starts empty: one refetch
    is allowed), and the cache works again at once."""
    httpd = httpd_factory()
    httpd.configure(widget_site(httpd, standin, ["alice"])).start()

    before = token_of(page(httpd, "alice")[0])
    assert token_of(page(httpd, "alice")[0]) == before
    assert standin.stats()["token_requests"] == 1

    httpd.graceful()
    new_session(httpd)
    tokens = [token_of(page(httpd, "alice", close=True)[0]) for _ in range(5)]
    assert all(jwt_payload(t)["sub"] == "alice" for t in tokens)
    assert len(set(tokens)) == 1
    assert standin.stats()["token_requests"] <= 2
    notes = httpd.notes()
    assert notes[:2] == ["fetched", "cached"]
    # the first page after the restart may fetch (shmcb starts empty); the rest are cached
    # (children write their access-log lines in the order they finish)
    assert sorted(notes[2:]) in (["cached"] * 5, ["cached"] * 4 + ["fetched"])
    assert standin.stats()["token_requests"] == 1 + notes[2:].count("fetched")


def test_memcache_graceful_and_farm(httpd_factory, standin, memcached):
    """memcache: a token cached before a graceful restart is served after it, and a
    second server on the same memcached (a web farm) serves it too."""
    cache = "memcache:127.0.0.1:%d" % memcached.port
    httpd = httpd_factory(modules=["socache_memcache"])
    httpd.configure(widget_site(httpd, standin, ["alice"], Cache=cache)).start()

    before = token_of(page(httpd, "alice")[0])
    assert token_of(page(httpd, "alice")[0]) == before
    httpd.graceful()
    new_session(httpd)
    after = [token_of(page(httpd, "alice", close=True)[0]) for _ in range(3)]
    assert after == [before] * 3
    assert standin.stats()["token_requests"] == 1
    assert httpd.notes() == ["fetched", "cached", "cached", "cached", "cached"]

    other = httpd_factory(modules=["socache_memcache"])
    other.configure(widget_site(other, standin, ["alice"], Cache=cache)).start()
    assert token_of(page(other, "alice")[0]) == before
    assert other.notes() == ["cached"]
    assert standin.stats()["token_requests"] == 1


@pytest.mark.expect_error(*MEMCACHE_ERRORS)
def test_memcached_down(httpd_factory, standin, memcached):
    """memcached stops: pages still get fresh tokens, and RAI0020 says the cache failed,
    at the log level a production server runs with."""
    httpd = httpd_factory(modules=["socache_memcache"], loglevel="warn")
    # the memo off: each page asks the cache (test_memo_outlasts_cache_briefly: with it)
    httpd.configure(widget_site(httpd, standin, ["alice"], TokenMemo="off",
                                Cache="memcache:127.0.0.1:%d" % memcached.port)).start()
    first = token_of(page(httpd, "alice")[0])
    assert token_of(page(httpd, "alice")[0]) == first
    assert httpd.notes() == ["fetched", "cached"]

    memcached.stop()
    for _ in range(4):
        response, elapsed = page(httpd, "alice")
        assert token_payload(response.text)["sub"] == "alice"
        assert elapsed < 2
    assert httpd.notes()[2:] == ["fetched"] * 4
    assert standin.stats()["token_requests"] == 5
    assert log_lines(httpd, "RAI0020", "warn"), "no RAI0020 warning:\n" + httpd.error_log()


def test_redis_cache(httpd_factory, standin, redis):
    """redis: two pages for one user make one call; the token is kept under a hashed key,
    no longer than RaiEmbedTokenReuse."""
    httpd = httpd_factory(modules=["socache_redis"])
    httpd.configure(widget_site(httpd, standin, ["alice"], TokenReuse="100",
                                Cache="redis:127.0.0.1:%d" % redis.port)).start()

    first = token_of(page(httpd, "alice")[0])
    assert token_of(page(httpd, "alice")[0]) == first
    assert standin.stats()["token_requests"] == 1
    assert httpd.notes() == ["fetched", "cached"]

    keys = redis_cli(redis, "--scan").split()
    assert len(keys) == 1, keys
    key = keys[0]
    assert "alice" not in key and binascii.hexlify(b"alice").decode() not in key
    # the provider's key is its namespace and the hex of our id: a hex SHA-256
    match = re.fullmatch(r"[^:]*:([0-9a-f]+)", key)
    assert match, key
    assert re.fullmatch(r"[0-9a-f]{64}", binascii.unhexlify(match.group(1)).decode())
    ttl = int(redis_cli(redis, "TTL", key))
    assert 90 <= ttl <= 100, ttl
    # sealed: whoever reads redis learns no token
    entry = Store(redis).get(key)
    assert entry and entry[0] == 1                  # the seal's version
    assert first.encode() not in entry
    for part in first.split("."):
        assert part.encode() not in entry


class Store:
    """Binary-safe access to the entries of a redis or memcached server, as an attacker
    who can reach it has."""

    def __init__(self, server):
        self.server = server
        self.kind = server.name

    def _talk(self, payload, until):
        with socket.create_connection(("127.0.0.1", self.server.port), 5) as conn:
            conn.sendall(payload)
            data = b""
            while not until(data):
                chunk = conn.recv(65536)
                if not chunk:
                    break
                data += chunk
            return data

    def keys(self):
        if self.kind == "redis":
            return sorted(redis_cli(self.server, "--scan").split())
        dump = self._talk(b"lru_crawler metadump all\r\n", lambda d: d.endswith(b"END\r\n"))
        # metadump writes keys URL-encoded
        return sorted(urllib.parse.unquote(k) for k in re.findall(r"key=(\S+)", dump.decode()))

    def get(self, key):
        if self.kind == "redis":
            cmd = b"*2\r\n$3\r\nGET\r\n$%d\r\n%s\r\n" % (len(key), key.encode())
            data = self._talk(cmd, lambda d: d.startswith(b"$-1") or (
                b"\r\n" in d and len(d) >= d.index(b"\r\n") + 4
                + int(d[1:d.index(b"\r\n")])))
            if data.startswith(b"$-1"):
                return None
            head = data.index(b"\r\n")
            return data[head + 2:head + 2 + int(data[1:head])]
        data = self._talk(b"get %s\r\n" % key.encode(), lambda d: d.endswith(b"END\r\n"))
        if not data.startswith(b"VALUE"):
            return None
        head = data.index(b"\r\n")
        return data[head + 2:head + 2 + int(data[:head].split()[3])]

    def set(self, key, value, ttl=300):
        if self.kind == "redis":
            cmd = b"*5\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n$2\r\nEX\r\n$3\r\n%d\r\n" % (
                len(key), key.encode(), len(value), value, ttl)
            assert self._talk(cmd, lambda d: d.endswith(b"\r\n")).startswith(b"+OK")
        else:
            cmd = b"set %s 0 %d %d\r\n%s\r\n" % (key.encode(), ttl, len(value), value)
            assert self._talk(cmd, lambda d: d.endswith(b"\r\n")) == b"STORED\r\n"


def cache_server(request, kind):
    return request.getfixturevalue(kind)


def sealed_site(httpd, standin, server, users, memo="off"):
    """The memo off by default: each page looks at the shared entry itself."""
    return widget_site(httpd, standin, users, TokenMemo=memo, Cache="%s:127.0.0.1:%d" % (
        "redis" if server.name == "redis" else "memcache", server.port))


@pytest.mark.parametrize("kind", ["redis", "memcached"])
def test_swapped_entries_are_misses(request, httpd_factory, standin, kind):
    """Whoever can write the shared cache moves bob's entry under alice's key (and the
    other way): alice's page still carries only alice's token, fetched anew."""
    server = cache_server(request, kind)
    httpd = httpd_factory(modules=["socache_redis" if kind == "redis" else "socache_memcache"])
    httpd.configure(sealed_site(httpd, standin, server, ["alice", "bob"])).start()
    store = Store(server)

    first = {user: token_of(page(httpd, user)[0]) for user in ("alice", "bob")}
    keys = store.keys()
    assert len(keys) == 2, keys
    values = [store.get(k) for k in keys]
    store.set(keys[0], values[1])
    store.set(keys[1], values[0])

    for user in ("alice", "bob"):
        token = token_of(page(httpd, user)[0])
        assert jwt_payload(token)["sub"] == user
        assert token != first[user]                 # fetched anew, not the moved one
    assert standin.stats()["token_requests"] == 4
    assert httpd.notes() == ["fetched"] * 4
    assert log_lines(httpd, "RAI0036", "warn")


@pytest.mark.parametrize("kind", ["redis", "memcached"])
def test_forged_entries_are_misses(request, httpd_factory, standin, kind):
    """Plain-text entries in the old format, a truncated seal, a seal with one bit
    flipped: each is a miss, and the page gets the user's own token."""
    server = cache_server(request, kind)
    httpd = httpd_factory(modules=["socache_redis" if kind == "redis" else "socache_memcache"])
    httpd.configure(sealed_site(httpd, standin, server, ["alice", "mallory"])).start()
    store = Store(server)

    mallory = token_of(page(httpd, "mallory")[0])
    mallory_key = store.keys()[0]
    token_of(page(httpd, "alice")[0])
    alice_key = [k for k in store.keys() if k != mallory_key][0]
    sealed = store.get(alice_key)
    now = int(time.time() * 1e6)
    forgeries = [
        b"%d %d %s" % (now, now + 900 * 10**6, mallory.encode()),
        sealed[:-1],
        sealed[:20],
        sealed[:30] + bytes([sealed[30] ^ 1]) + sealed[31:],
        store.get(mallory_key),
        b"",
    ]
    for forged in forgeries:
        store.set(alice_key, forged)
        token = token_of(page(httpd, "alice")[0])
        assert jwt_payload(token)["sub"] == "alice", forged[:40]
    assert standin.stats()["token_requests"] == 2 + len(forgeries)
    assert log_lines(httpd, "RAI0036")


# ----------------------------------------------------------------- the memo

@pytest.mark.expect_error(*MEMCACHE_ERRORS)
def test_memo_outlasts_cache_briefly(httpd_factory, standin, memcached):
    """RaiEmbedTokenMemo 2: a child serves the token it took from the cache for 2 s
    without asking the cache (memcached stopped: no RAI0020, no call); after that it asks
    again, finds the cache gone, and fetches."""
    httpd = httpd_factory(modules=["socache_memcache"], loglevel="warn")
    httpd.configure(widget_site(httpd, standin, ["alice"], extra=ONE_PROCESS, TokenMemo="2",
                                Cache="memcache:127.0.0.1:%d" % memcached.port)).start()
    first = token_of(page(httpd, "alice")[0])
    memcached.stop()
    assert token_of(page(httpd, "alice")[0]) == first
    assert not log_lines(httpd, "RAI0020"), "the memo asked the cache"
    assert standin.stats()["token_requests"] == 1
    time.sleep(2.3)
    later = token_of(page(httpd, "alice")[0])
    assert later != first and jwt_payload(later)["sub"] == "alice"
    assert standin.stats()["token_requests"] == 2
    assert log_lines(httpd, "RAI0020", "warn")
    assert httpd.notes() == ["fetched", "cached", "fetched"]


@pytest.mark.parametrize("kind", ["redis"])
def test_memo_not_poisoned_through_cache(request, httpd_factory, standin, kind):
    """Whoever can write the shared cache puts mallory's sealed entry under alice's key
    while alice's token is in the child's memo: alice keeps her own token; once the memo
    has let it go, the moved entry is a miss (RAI0036) and alice's token is fetched anew.
    mallory's page never gets alice's token from the memo, nor alice mallory's."""
    server = cache_server(request, kind)
    httpd = httpd_factory(modules=["socache_redis"])
    httpd.configure(sealed_site(httpd, standin, server, ["alice", "mallory"], memo="2")
                    + ONE_PROCESS).start()
    store = Store(server)

    mallory = token_of(page(httpd, "mallory")[0])
    mallory_key = store.keys()[0]
    alice = token_of(page(httpd, "alice")[0])
    alice_key = [k for k in store.keys() if k != mallory_key][0]
    store.set(alice_key, store.get(mallory_key))
    assert token_of(page(httpd, "alice")[0]) == alice
    assert token_of(page(httpd, "mallory")[0]) == mallory
    assert standin.stats()["token_requests"] == 2
    time.sleep(2.3)
    token = token_of(page(httpd, "alice")[0])
    assert jwt_payload(token)["sub"] == "alice" and token != alice
    assert log_lines(httpd, "RAI0036", "warn")
    assert standin.stats()["token_requests"] == 3


def test_memo_keeps_reuse_limit(httpd_factory, standin):
    """The memo (10 s) never stretches RaiEmbedTokenReuse (1 s) in one child: past the
    reuse a page gets a new token, and the memo takes the new one."""
    httpd = httpd_factory()
    httpd.configure(widget_site(httpd, standin, ["alice"], extra=ONE_PROCESS,
                                TokenReuse="1", TokenMemo="10")).start()
    first = token_of(page(httpd, "alice")[0])
    assert token_of(page(httpd, "alice")[0]) == first
    time.sleep(1.5)
    second = token_of(page(httpd, "alice")[0])
    assert second != first
    assert token_of(page(httpd, "alice")[0]) == second
    assert standin.stats()["token_requests"] == 2
    assert httpd.notes() == ["fetched", "cached", "fetched", "cached"]


def test_memo_off_with_cache_none(httpd_factory, standin):
    """RaiEmbedCache none: nothing is remembered either, whatever RaiEmbedTokenMemo says."""
    httpd = httpd_factory()
    httpd.configure(widget_site(httpd, standin, ["alice"], extra=ONE_PROCESS, Cache="none",
                                TokenMemo="30")).start()
    tokens = [token_of(page(httpd, "alice")[0]) for _ in range(3)]
    assert len(set(tokens)) == 3
    assert standin.stats()["token_requests"] == 3


def test_cache_none(httpd_factory, standin):
    httpd = httpd_factory()
    httpd.configure(widget_site(httpd, standin, ["alice"], Cache="none")).start()

    tokens = [token_of(page(httpd, "alice")[0]) for _ in range(3)]
    assert len(set(tokens)) == 3
    assert all(jwt_payload(t)["sub"] == "alice" for t in tokens)
    assert standin.stats()["token_requests"] == 3
    assert httpd.notes() == ["fetched"] * 3


# ------------------------------------------------------------------- back-off

def test_timeout_backoff_recovery(httpd_factory, standin):
    """The API hangs (3 s) beyond RaiEmbedTimeout 0.2 0.5: the first pages wait 0.5 s,
    then after 3 failures pages cost nothing and make no calls; once the API answers
    again a page gets a token after the back-off."""
    httpd = httpd_factory()
    users = ["u%d" % i for i in range(40)]
    httpd.configure(widget_site(httpd, standin, users, ONE_PROCESS,
                                Timeout="0.2 0.5")).start()
    standin.control(mode="slow", delay=3)

    for i in range(3):
        response, elapsed = page(httpd, users[i])
        assert not embed_tokens(response.text)
        assert 0.4 <= elapsed < 1.5, "page %d took %.2f s" % (i, elapsed)
    assert standin.stats()["token_requests"] == 3

    # back-off (1 s): fast pages, no calls
    for i in range(3, 8):
        response, elapsed = page(httpd, users[i])
        assert not embed_tokens(response.text)
        assert elapsed < 0.2, "page during back-off took %.2f s" % elapsed
    assert standin.stats()["token_requests"] == 3
    assert httpd.notes() == ["error"] * 8

    standin.control(mode="ok")
    deadline = time.monotonic() + 10
    got = None
    i = 8
    while time.monotonic() < deadline:
        response, elapsed = page(httpd, users[i])
        assert elapsed < 1.5
        if embed_tokens(response.text):
            got = users[i]
            assert token_payload(response.text)["sub"] == users[i]
            break
        i += 1
        time.sleep(0.25)
    assert got, "no token within 10 s after the API came back"
    assert httpd.notes()[-1] == "fetched"
    assert set(httpd.notes()[:-1]) == {"error"}
    assert "after repeated failures" in log_lines(httpd, "RAI0022")[0]
    assert log_lines(httpd, "RAI0023", "notice"), "no RAI0023 notice"
    # the first failure and the back-off are warnings; the rest are rate-limited (one
    # warning of a kind per 30 s and process) to debug
    assert len(log_lines(httpd, "RAI0011")) == 3
    assert len(log_lines(httpd, "RAI0011", "warn")) == 1, "RAI0011: not one warning"
    assert len(log_lines(httpd, "RAI0022", "warn")) == 1, "RAI0022: not one warning"


def test_503_ordinary_failure(httpd_factory, standin):
    """503 without Retry-After: two more calls before the back-off starts.  503 with
    Retry-After: 2 (after a success): no call for 2 s at once."""
    httpd = httpd_factory()
    users = ["u%d" % i for i in range(30)]
    httpd.configure(widget_site(httpd, standin, users, ONE_PROCESS)).start()
    standin.control(mode="503")

    for i in range(3):
        response, _ = page(httpd, users[i])
        assert not embed_tokens(response.text)
        assert standin.stats()["token_requests"] == i + 1
    response, elapsed = page(httpd, users[3])       # the 3rd failure started a back-off
    assert standin.stats()["token_requests"] == 3
    assert elapsed < 0.2
    backoffs = log_lines(httpd, "RAI0022")
    assert len(backoffs) == 1 and "after repeated failures" in backoffs[0], backoffs

    # after the 1 s back-off a success ends it; then one 503 with Retry-After: 2 is
    # enough to stop the calls (an ordinary first failure would not)
    standin.control(mode="ok")
    time.sleep(1.2)
    assert embed_tokens(page(httpd, users[4])[0].text)
    assert standin.stats()["token_requests"] == 4
    standin.control(mode="503", retry_after=2, times=1)
    started = time.monotonic()
    assert not embed_tokens(page(httpd, users[5])[0].text)
    assert standin.stats()["token_requests"] == 5
    i = 6
    while time.monotonic() - started < 1.7:
        response, elapsed = page(httpd, users[i])
        assert not embed_tokens(response.text)
        assert elapsed < 0.2
        i += 1
        time.sleep(0.2)
    assert standin.stats()["token_requests"] == 5
    assert wait_for(lambda: embed_tokens(page(httpd, users[i])[0].text), 4, interval=0.2)
    assert standin.stats()["token_requests"] == 6
    assert any("(Retry-After)" in line and "2000 ms" in line
               for line in log_lines(httpd, "RAI0022"))


def test_429_retry_after(httpd_factory, standin):
    """A smoke test of Retry-After (tests/unit/test_backoff.c has the rules): after a 429
    with Retry-After: 3, for 3 s pages come fast with note error and no call reaches the
    API (which answers again at once); then a page gets a token."""
    httpd = httpd_factory()
    users = ["u%d" % i for i in range(60)]
    httpd.configure(widget_site(httpd, standin, users, ONE_PROCESS)).start()
    standin.control(mode="429", retry_after=3, times=1)    # then "ok" again

    started = time.monotonic()
    response, _ = page(httpd, users[0])
    answered = time.monotonic()
    assert not embed_tokens(response.text)
    assert standin.stats()["token_requests"] == 1

    i = 1
    while time.monotonic() < started + 2.5:
        response, elapsed = page(httpd, users[i])
        assert not embed_tokens(response.text), \
            "a token %.1f s after Retry-After: 3" % (time.monotonic() - started)
        assert elapsed < 0.2
        assert standin.stats()["token_requests"] == 1
        i += 1
        time.sleep(0.25)
    assert set(httpd.notes()) == {"error"}

    # the back-off ends 3 s after the 429 came back
    time.sleep(max(0, answered + 3.2 - time.monotonic()))
    deadline = time.monotonic() + 3
    while True:
        response, _ = page(httpd, users[i])
        i += 1
        if embed_tokens(response.text) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert token_payload(response.text)["sub"] == users[i - 1]
    assert standin.stats()["token_requests"] == 2
    assert httpd.notes()[-1] == "fetched"
    assert any("(Retry-After)" in line and "3000 ms" in line
               for line in log_lines(httpd, "RAI0022"))
    assert log_lines(httpd, "RAI0023", "notice")


def test_backoff_per_endpoint(httpd_factory, standin, request):
    """Three name-based vhosts in one process: 'good' uses the stand-in; 'deadurl' a
    token URL where nothing listens; 'badid' the stand-in with an access id it refuses.
    Both failing ones go into back-off; 'good' keeps getting tokens, and its successes end
    neither of the others' back-off."""
    httpd = httpd_factory()
    users = ["u%d" % i for i in range(40)]
    dead_url = "http://127.0.0.1:%d%s" % (refusing_port(request), TOKEN_PATH)
    vhosts = """
<VirtualHost *>
    ServerName good.test
</VirtualHost>
<VirtualHost *>
    ServerName deadurl.test
    RaiEmbedTokenURL %s
</VirtualHost>
<VirtualHost *>
    ServerName badid.test
    RaiEmbedAccessId other-%s
</VirtualHost>
""" % (dead_url, ACCESS_ID)
    httpd.configure(widget_site(httpd, standin, users, ONE_PROCESS + vhosts)).start()

    # 'badid' fails 3 times (401) and goes into back-off (1 s)
    for i in range(3):
        response, _ = page(httpd, users[i], host="badid.test")
        assert not embed_tokens(response.text)
    assert standin.stats()["token_requests"] == 3
    assert standin.stats()["rejected"] == 3
    backoff_started = time.monotonic()
    # 'deadurl' fails 3 times (connection refused) and goes into back-off
    for i in range(3, 6):
        response, _ = page(httpd, users[i], host="deadurl.test")
        assert not embed_tokens(response.text)
    backoffs = log_lines(httpd, "RAI0022")
    assert any(standin.url in line for line in backoffs), backoffs
    assert any(dead_url in line for line in backoffs), backoffs

    # 'good' is not silenced: every new user is a call, and gets its token
    for i in range(6, 10):
        response, _ = page(httpd, users[i], host="good.test")
        assert token_payload(response.text)["sub"] == users[i]
    assert standin.stats()["token_requests"] == 3 + 4

    # ... and the others are still in back-off (these few pages take milliseconds)
    assert time.monotonic() - backoff_started < 0.9, "too slow to see a 1 s back-off"
    response, elapsed = page(httpd, users[10], host="badid.test")
    assert not embed_tokens(response.text)
    response, elapsed = page(httpd, users[11], host="deadurl.test")
    assert not embed_tokens(response.text)
    assert standin.stats()["token_requests"] == 3 + 4
    assert standin.stats()["rejected"] == 3

    notes = httpd.notes()
    assert notes == ["error"] * 6 + ["fetched"] * 4 + ["error"] * 2
    debug = httpd.error_log()
    assert "RAI0024" in debug and dead_url in debug
