"""The scan cache (RaiEmbedScanCache): a static file scanned once is served again by
splitting its file bucket at the remembered offsets, without reading it.  Every test
compares the replayed responses with what a full scan gives, byte for byte, in the cases
where a cache could go wrong: sendfile and mmap on and off, HEAD, mod_deflate after it,
Range, a file renamed over or edited in place, untrusted widgets, several users."""

import os
import re
import time

import pytest

from rai_harness import embed_tokens, jwt_payload, rai_conf

# one process: the scan cache is per process
ONE_PROCESS = """
StartServers 1
ServerLimit 1
ThreadLimit 16
ThreadsPerChild 16
MinSpareThreads 1
MaxSpareThreads 32
MaxRequestWorkers 16
"""

PAGE = ("<!doctype html><html><body>\n" + "<p>filler text of the page</p>\n" * 300
        + '<rai-store-widget community-id="c1"></rai-store-widget>\n'
        + "<!-- <rai-widget> in a comment -->\n"
        + '<rai-widget\n  v2-api-url="https://api.returning.ai/v2">x</rai-widget>\n'
        + '<rai-widget api-url="https://evil.example">untrusted</rai-widget>\n'
        + "<p>tail</p>\n" * 100 + "</body></html>\n")


def site(httpd, standin, extra=""):
    return ONE_PROCESS + rai_conf(standin, Identifier="data-customer-id expr=%{HTTP:X-User}",
                                  RefreshScript="/rai-token") + extra


def settled(httpd, name, content):
    """Write a file and wait until the scan cache may record it (its times settle)."""
    path = httpd.write(name, content)
    time.sleep(2.2)
    return path


def replays(httpd):
    return httpd.error_log().count("RAI0040")


def expected(page, token):
    """What a full scan makes of PAGE for a token: the two trusted widgets get it."""
    out = page.replace('<rai-store-widget community-id', '<rai-store-widget embed-token="%s" '
                       'community-id' % token, 1)
    return out.replace('<rai-widget\n  v2-api-url', '<rai-widget embed-token="%s"\n  v2-api-url'
                       % token, 1)


@pytest.mark.parametrize("io", ["", "EnableSendfile On\nEnableMMAP On\n",
                                "EnableSendfile Off\nEnableMMAP Off\n",
                                "EnableSendfile Off\nEnableMMAP On\n"])
def test_replay_equals_scan(httpd_factory, standin, io):
    httpd = httpd_factory()
    settled(httpd, "page.html", PAGE)
    httpd.configure(site(httpd, standin, io)).start()

    bodies = [httpd.get("page.html", headers={"X-User": "alice"}).text for _ in range(4)]
    token = embed_tokens(bodies[0])[0]
    assert jwt_payload(token)["sub"] == "alice"
    # the refresh script goes at the end, as after a full scan
    assert bodies[0].startswith(expected(PAGE, token))
    assert bodies[0].endswith("</script>\n")
    assert all(body == bodies[0] for body in bodies[1:])
    assert replays(httpd) >= 2, "the scan cache was not used"


SHORT = ("<!doctype html><html><head><title>t</title></head><body>\n"
         '<rai-store-widget community-id="c1"></rai-store-widget>\n'
         + "<p>x</p>\n" * 500
         + '<rai-widget v2-api-url="https://api.returning.ai/v2">x</rai-widget>\n'
         + "<p>tail</p>\n" * 2000 + "</body></html>\n")


def replay_bytes(httpd):
    """(copied, read) of the last RAI0040 line."""
    found = re.findall(r"RAI0040: .* (\d+) bytes from the cache's copy, (\d+) read",
                       httpd.error_log())
    assert found, "no RAI0040"
    return tuple(int(n) for n in found[-1])


@pytest.mark.parametrize("room", ["", "RaiEmbedScanCache 10 4096\n"])
def test_replay_short_pieces_from_memory(httpd_factory, standin, room):
    """The short pieces before widgets are kept with the entry and sent from memory: the
    file is not read at all.  A cache too small for them keeps only the offsets, and the
    pieces are read from the file: the page is the same either way."""
    httpd = httpd_factory()
    settled(httpd, "short.html", SHORT)
    httpd.configure(site(httpd, standin, room)).start()
    alice = {"X-User": "alice"}
    bodies = [httpd.get("short.html", headers=alice).text for _ in range(3)]
    token = embed_tokens(bodies[0])[0]
    want = SHORT.replace('<rai-store-widget community-id', '<rai-store-widget embed-token="%s" '
                         'community-id' % token, 1)
    want = want.replace('<rai-widget v2-api-url', '<rai-widget embed-token="%s" v2-api-url'
                        % token, 1)
    assert all(body.startswith(want) for body in bodies)
    assert all(body == bodies[0] for body in bodies)
    assert replays(httpd) >= 2
    pieces = SHORT.index('<rai-widget v2') + len("<rai-widget")
    assert replay_bytes(httpd) == ((0, pieces) if room else (pieces, 0))


def test_replay_gives_each_user_their_own_token(httpd_factory, standin):
    httpd = httpd_factory()
    settled(httpd, "page.html", PAGE)
    httpd.configure(site(httpd, standin)).start()

    for user in ["alice", "bob", "carol", "alice", "bob"]:
        body = httpd.get("page.html", headers={"X-User": user}).text
        tokens = embed_tokens(body)
        assert len(tokens) == 2 and len(set(tokens)) == 1
        assert jwt_payload(tokens[0])["sub"] == user
        assert "untrusted" in body and 'api-url="https://evil.example"' in body
        assert '<rai-widget api-url="https://evil.example">' in body   # no token
    anonymous = httpd.get("page.html").text
    assert anonymous == PAGE
    assert replays(httpd) >= 3


def test_replay_head_deflate_range(httpd_factory, standin):
    httpd = httpd_factory()
    settled(httpd, "page.html", PAGE)
    httpd.configure(site(httpd, standin, "AddOutputFilterByType DEFLATE text/html\n")).start()
    alice = {"X-User": "alice"}

    plain = httpd.get("page.html", headers=dict(alice, **{"Accept-Encoding": "identity"}))
    for _ in range(2):
        head = httpd.head("page.html", headers=alice)
        assert head.status_code == 200 and "ETag" not in head.headers
        ranged = httpd.get("page.html", headers=dict(alice, Range="bytes=0-99",
                                                     **{"Accept-Encoding": "identity"}))
        assert ranged.status_code == 200 and ranged.text == plain.text
        zipped = httpd.get("page.html", headers=dict(alice, **{"Accept-Encoding": "gzip"}))
        assert zipped.headers.get("Content-Encoding") == "gzip"
        assert zipped.text == plain.text        # requests has inflated it
    assert replays(httpd) >= 2


def test_file_renamed_over_and_edited_in_place(httpd_factory, standin):
    httpd = httpd_factory()
    path = settled(httpd, "page.html", PAGE)
    httpd.configure(site(httpd, standin)).start()
    alice = {"X-User": "alice"}
    for _ in range(3):
        httpd.get("page.html", headers=alice)
    assert replays(httpd) >= 1

    # replaced by rename: same size, the widget elsewhere
    moved = PAGE.replace("<p>tail</p>\n", "<p>tali</p>\n", 1)
    other = PAGE.replace('<rai-store-widget community-id="c1"></rai-store-widget>\n', "", 1)
    other = other.replace("<p>tail</p>\n",
                          '<rai-store-widget community-id="c1"></rai-store-widget>\n', 1)
    other = other + " " * (len(PAGE) - len(other))
    assert len(other) == len(PAGE)
    tmp = path.with_name("page.tmp")
    tmp.write_text(other)
    os.chmod(tmp, 0o644)
    os.rename(tmp, path)
    body = httpd.get("page.html", headers=alice).text
    token = embed_tokens(body)[0]
    assert body.replace(' embed-token="%s"' % token, "").startswith(other[:len(other) - 10])
    assert body.count("embed-token=") == 2

    # edited in place, same size, the same second: no stale offsets
    with open(path, "r+") as f:
        f.write(moved)
    body = httpd.get("page.html", headers=alice).text
    assert body.startswith(expected(moved, token).split("<rai-widget api-url")[0])


@pytest.mark.parametrize("fresh", [False, True])
def test_read_path_by_sendfile(httpd_factory, standin, fresh):
    """With the scan cache off and sendfile on, a settled file is scanned from the
    filter's own buffer and sent by sendfile, split at its widgets; a file written a
    moment ago is read as any bucket.  Either way the page is what a full scan gives, for a
    page of 1.5 MB (several buffers, several passes) with widgets at every distance from
    the buffer's edges; by sendfile, a page under 1 MB goes out with its Content-Length."""
    httpd = httpd_factory()
    block = PAGE.replace("<p>tail</p>\n" * 100, "<p>tail</p>\n" * 7)
    big = block * (1500000 // len(block) + 1)
    small = block * 20
    for name, content in (("big.html", big), ("small.html", small)):
        if fresh:
            httpd.write(name, content)
        else:
            settled(httpd, name, content)
    httpd.configure(site(httpd, standin, "RaiEmbedScanCache off\nEnableSendfile On\n"))
    httpd.start()
    alice = {"X-User": "alice"}
    for name, content in (("big.html", big), ("small.html", small)):
        response = httpd.get(name, headers=alice)
        token = embed_tokens(response.text)[0]
        want = expected(block, token) * (len(content) // len(block))
        assert response.text.startswith(want) and response.text.endswith("</script>\n")
        assert len(response.text) < len(want) + 400
        if name == "small.html" and not fresh:
            # one pass: httpd knows the length (a fresh file, read in 64 KB passes,
            # may go out chunked)
            assert int(response.headers["Content-Length"]) == len(response.content)
    assert replays(httpd) == 0


def test_scan_cache_off(httpd_factory, standin):
    httpd = httpd_factory()
    settled(httpd, "page.html", PAGE)
    httpd.configure(site(httpd, standin, "RaiEmbedScanCache off\n")).start()
    bodies = [httpd.get("page.html", headers={"X-User": "alice"}).text for _ in range(3)]
    assert bodies[0] == bodies[1] == bodies[2]
    assert replays(httpd) == 0


@pytest.mark.parametrize("value", ["0", "lots", "10 12", "-5"])
def test_scan_cache_directive_errors(httpd, standin, value):
    httpd.configure(rai_conf(standin) + "RaiEmbedScanCache %s\n" % value)
    rc, output = httpd.configtest()
    assert rc != 0 and "RaiEmbedScanCache" in output


def test_replay_with_a_scope_of_its_own(httpd_factory, standin):
    """A directory with its own element list and Attribute Auth scripts: its files are
    replayed too, and with its own list (another scope's record is never used)."""
    httpd = httpd_factory()
    page = PAGE.replace("<p>tail</p>\n", '<my-widget a="1"></my-widget>\n', 1)
    settled(httpd, "own/page.html", page)
    httpd.configure(site(httpd, standin, """
<Directory "%s/own">
    RaiEmbedElements my-widget
    RaiEmbedFallback attributes
</Directory>
""" % httpd.docroot)).start()
    bodies = [httpd.get("own/page.html", headers={"X-User": "alice"}).text for _ in range(3)]
    assert bodies[0] == bodies[1] == bodies[2]
    assert '<my-widget embed-token="' in bodies[0]
    assert '<rai-store-widget community-id="c1">' in bodies[0]     # not in this list
    assert replays(httpd) >= 2
