"""The rewrite itself (docs/configuration.md): where the token goes and where it does not,
split tags, streaming, large pages, PHP and CGI output, and the HTTP side of a rewritten
response (content types, HEAD, 204/304, validators, Cache-Control, Content-Length,
compression, the filter added by name) and the rai-embed note.

Expected pages are written as templates: MARK stands where the module must insert
` embed-token="..."`; the file served is the template without the marks, the expected
response is the template with every mark replaced by the response's one token.  An exact
comparison proves at once that every widget has the token right after its name, that
nothing else got one, and that every other byte is unchanged.
"""

import base64
import gzip
import socket
import time

import pytest

from rai_harness import cache_control, embed_tokens, jwt_payload, rai_conf

MARK = "\u27e6T\u27e7"       # never in a real page
FORGED = "forged-by-the-page"
USERS = {"alice": "alice-pw", "bob": "bob-pw", "carol": "carol-pw"}
ALICE = ("alice", "alice-pw")
BOB = ("bob", "bob-pw")

# Every widget form the spec names, and every place a widget-looking tag is not one.
PAGE = """<!DOCTYPE html>
<html lang="en"><head>
<meta charset="utf-8">
<title>Shop <rai-widget community-id="in-title"></title>
<style>rai-widget { display: block } /* <rai-widget> */ a[title="</styl"] {}</style>
<script>var s = "<rai-widget community-id='in-script'>"; if (a<b && c>d) {} x = "</scriptx>";
</SCRIPT >
<script type="text/template"><rai-store-widget community-id="tpl"></rai-store-widget></script>
</head><body>
<!-- <rai-widget community-id="commented"> -->
<!-- a -- <rai-widget> -- still a comment -->
<!----><rai-widget{m} community-id="after-empty-comment"></rai-widget>
<!--><rai-widget{m} community-id="after-abrupt-comment"></rai-widget>
<!---><rai-widget{m} data-x="after-abrupt-dash-comment"></rai-widget>
<!-- x --!><rai-widget{m}>after bang-closed comment</rai-widget>
<?php <rai-widget> ?>
<h1>\u00dcn\u00efc\u00f6d\u00e9 caf\u00e9 \u2014 widgets</h1>\r\n
<rai-widget{m} community-id="c1"></rai-widget>
<RAI-Store-Widget{m}
   community-id="c2"></RAI-Store-Widget>
<rai-milestone-widget{m}/>
<rai-currency-widget{m} />
<rai-channel-widget{m}>text</rai-channel-widget>
<rai-custom-widget{m}\tdata-x=1>
<rai-future-thing-widget{m}>
<rai-widget{m} embed-token="forged-by-the-page"></rai-widget>
<rai-widgetry community-id="c3"></rai-widgetry>
<rai-widget-store></rai-widget-store>
<xrai-widget></xrai-widget>
< rai-widget> is text
</rai-widget foo="end tag">
<div title="<rai-widget>" data-x='<rai-store-widget x="y">' data-y=<rai-widget>>text</div>
<a data-q="1"<rai-widget>link</a>
<textarea name="t"><rai-widget community-id="in-textarea"></textarea>
<noscript><rai-widget community-id="in-noscript"></noscript>
<template><rai-social-widget{m} community-id="in-template"></rai-social-widget></template>
<p>a &lt;rai-widget&gt; in text is text</p>
<rai-referral-widget{m}>last</rai-referral-widget>
<plaintext><rai-widget community-id="after-plaintext">
""".replace("{m}", MARK)

WIDGET_COUNT = PAGE.count(MARK)

# Control bytes mod_bucketeer acts on (and removes): a bucket boundary, a boundary plus a
# separate ap_pass_brigade() call, a boundary plus a FLUSH bucket.
SPLIT, PASS, FLUSH = "\x02", "\x10", "\x06"


def source(template):
    """The page as served: the template without its marks."""
    return template.replace(MARK, "").encode("utf-8")


def rendered(template, token):
    """The page as the client must see it: the token at every mark, control bytes gone."""
    text = template.replace(MARK, ' embed-token="%s"' % token)
    for ctrl in (SPLIT, PASS, FLUSH):
        text = text.replace(ctrl, "")
    return text.encode("utf-8")


def untouched(template):
    """The page as the client must see it when no token goes in."""
    return rendered(template, "").replace(b' embed-token=""', b"")


def the_token(body):
    """The one token the module put in the page (the page's own forged one aside)."""
    tokens = [t for t in embed_tokens(body) if t != FORGED]
    assert tokens, "no embed-token in the response"
    assert len(set(tokens)) == 1, "widgets carry different tokens"
    return tokens[0]


def assert_rewritten(response, template, user="alice"):
    """The response is the template with one token, for user, at every mark."""
    assert response.status_code == 200
    token = the_token(response.content)
    assert response.content == rendered(template, token)
    assert len(embed_tokens(response.content)) == template.count(MARK) + \
        template.count('embed-token="')
    assert jwt_payload(token)["sub"] == user
    return token


def site(httpd, standin, extra="", **conf):
    """Module configuration plus Basic auth on everything but /public/."""
    password_file = httpd.htpasswd(USERS)
    return rai_conf(standin, **conf) + """
<Location />
    AuthType Basic
    AuthName "rewrite"
    AuthUserFile "{password_file}"
    Require valid-user
</Location>
<Location /public/>
    Require all granted
</Location>
""".format(password_file=password_file) + extra


def cgi(body_lines, headers=("Content-Type: text/html",)):
    """A /bin/sh CGI script printing headers then the given raw lines (printf %s)."""
    script = ["#!/bin/sh", "printf '%s\\r\\n' " + " ".join(
        "'%s'" % h.replace("'", "'\\''") for h in headers) + " ''"]
    for line in body_lines:
        script.append("printf '%%s' '%s'" % line.replace("'", "'\\''"))
    return "\n".join(script) + "\n"


def token_requests(standin):
    stats = standin.stats()
    assert stats["rejected"] == 0
    return stats["token_requests"]


def get_raw(httpd, path, **kwargs):
    """GET returning (response, body bytes as sent, before any Content-Encoding is
    undone).  Httpd.get() reads the decoded body, so this goes around it."""
    response = httpd.session.get(httpd.url(path), stream=True, timeout=10,
                                 allow_redirects=False, **kwargs)
    with httpd._lock:
        httpd.requests_made += 1
    body = response.raw.read(decode_content=False)
    response.close()
    for secret in httpd.secrets:
        assert secret.encode() not in body
        assert secret not in str(response.headers)
    return response, body


def timed_get(httpd, path, auth, timeout=15):
    """GET over HTTP/1.0 on a raw socket: [(seconds since the request, bytes)], the status
    line and headers, and the body."""
    credentials = base64.b64encode(("%s:%s" % auth).encode()).decode()
    sock = socket.create_connection(("127.0.0.1", httpd.port), timeout=timeout)
    arrivals = []
    try:
        sock.sendall(("GET /%s HTTP/1.0\r\nHost: 127.0.0.1\r\nAuthorization: Basic %s\r\n"
                      "\r\n" % (path.lstrip("/"), credentials)).encode())
        start = time.monotonic()
        while True:
            data = sock.recv(65536)
            if not data:
                break
            arrivals.append((time.monotonic() - start, data))
    finally:
        sock.close()
    with httpd._lock:
        httpd.requests_made += 1
    whole = b"".join(data for _, data in arrivals)
    for secret in httpd.secrets:
        assert secret.encode() not in whole
    head, _, body = whole.partition(b"\r\n\r\n")
    return arrivals, head.decode("latin-1"), body


def first_arrival(arrivals, needle):
    """Seconds until the received bytes first contained needle (None: never)."""
    received = b""
    for when, data in arrivals:
        received += data
        if needle in received:
            return when
    return None


# ------------------------------------------------------------------------------ the rewrite

def test_widgets_share_one_token(httpd, standin):
    httpd.write("page.html", source(PAGE))
    httpd.configure(site(httpd, standin)).start()

    response = httpd.get("page.html", auth=ALICE)

    token = assert_rewritten(response, PAGE)
    assert len(embed_tokens(response.content)) == WIDGET_COUNT + 1   # + the forged one
    # The page's own embed-token comes after the server's, so HTML keeps the server's.
    assert ('<rai-widget embed-token="%s" embed-token="forged-by-the-page">' % token
            ).encode() in response.content
    assert jwt_payload(token)["ids"] == {"data-customer-id": "alice"}
    assert token_requests(standin) == 1
    assert httpd.notes() == ["fetched"]


def test_decoys_only_no_token(httpd, standin):
    # Only the places where a widget must not be touched: no token is even asked for.
    template = "".join(line + "\n" for line in PAGE.splitlines() if MARK not in line)
    assert "<rai-widget" in template and MARK not in template
    path = httpd.write("decoys.html", source(template))
    httpd.configure(site(httpd, standin)).start()

    response = httpd.get("decoys.html", auth=ALICE)

    assert response.status_code == 200
    assert response.content == path.read_bytes()
    assert token_requests(standin) == 0
    assert httpd.notes() == ["none"]


def interleave(template, ctrl):
    """ctrl between every two characters of the page (marks kept where they are)."""
    return (ctrl + MARK + ctrl).join(ctrl.join(part) for part in template.split(MARK))


def test_split_tags(httpd_factory, standin):
    """mod_bucketeer (a filter before RAI_EMBED) cuts the page at ^B, passes what it has at
    ^P and adds a FLUSH at ^F, removing those bytes: tags split anywhere, down to one byte
    per bucket or per filter call, must come out as if whole."""
    handmade = (
        "<html><head><tit\x02le>t <rai-wid\x10get></ti\x10tle>"
        "<scr\x02ipt>var a = '<rai-widget>';</scr\x10ipt\x02 >"
        "<sty\x06le>x{}</style\x06>"
        "</head><body>\n"
        "<!\x02-\x02- <rai-widget> -\x10-\x02>\n"
        "<!-\x10- <rai-widget> --\x06!\x10>\n"
        "<rai-st\x02ore-widget" + MARK + " community-id=\"c1\"></rai-store-widget>\n"
        "<\x02rai-widget\x02" + MARK + "\x02>one</rai-widget>\n"
        "<\x10rai-widget\x10" + MARK + "\x10/\x10>\n"
        "<rai-widget" + MARK + "\x06 data-flush=\"before the space\">\n"
        "<rai-wid\x06get" + MARK + ">\n"
        "<RAI-MILESTONE-\x10WIDGET" + MARK + "\n>\n"
        "<rai-widget\x02ry>\n"
        "<div title=\"<rai-\x10widget>\" data-x='\x02<rai-widget>'>\n"
        "<textarea><rai-\x06widget></text\x02area><rai-social-widget" + MARK + ">\n"
        "<templ\x10ate><rai-channel-widget" + MARK + "\x10\t></template>\n"
        "</body></html>\n")
    pages = {
        "handmade.html": handmade,
        "every-byte-split.html": interleave(PAGE, SPLIT),
        "every-byte-pass.html": interleave(PAGE, PASS),
        "every-byte-flush.html": interleave(PAGE, FLUSH),
        "every-byte-mixed.html": MARK.join(
            "".join(ch + (SPLIT, PASS, FLUSH)[i % 3] for i, ch in enumerate(part))
            for part in PAGE.split(MARK)),
    }
    httpd = httpd_factory()
    for name, template in pages.items():
        httpd.write("split/" + name, source(template))
    httpd.configure(site(httpd, standin, """
<Location /split/>
    SetOutputFilter BUCKETEER
</Location>
""", Cache="none")).start()

    for name, template in pages.items():
        response = httpd.get("split/" + name, auth=ALICE)
        assert MARK in template
        assert response.content == rendered(template, the_token(response.content)), name
        assert "Content-Length" not in response.headers or \
            int(response.headers["Content-Length"]) == len(response.content)
    assert token_requests(standin) == len(pages)
    assert httpd.notes() == ["fetched"] * len(pages)


def test_split_page_token_failure(httpd, standin):
    # A failed token request mid-stream: the rest of a split page still gets through whole.
    template = interleave(PAGE, PASS)
    httpd.write("split/page.html", source(template))
    httpd.configure(site(httpd, standin, """
<Location /split/>
    SetOutputFilter BUCKETEER
</Location>
""", Cache="none")).start()
    standin.control(mode="error", status=500)

    response = httpd.get("split/page.html", auth=ALICE)

    assert response.status_code == 200
    assert response.content == untouched(template)
    assert token_requests(standin) == 1
    assert httpd.notes() == ["error"]


# ------------------------------------------------------------------------------ streaming

EARLY = ('<html><head><title>stream</title></head><body>\n'
         '<rai-widget' + MARK + ' community-id="early"></rai-widget>\n')
LATE = '<p>late</p><rai-store-widget' + MARK + '></rai-store-widget></body></html>\n'


def assert_streamed(arrivals, body, head):
    token = the_token(body)
    assert body == rendered(EARLY + LATE, token)
    assert " 200 " in head.split("\r\n")[0]
    early = first_arrival(arrivals, rendered(EARLY, token))
    end = arrivals[-1][0]
    assert end >= 2.0, "the script sleeps 2 s before its last part"
    assert early is not None and early < 1.5, \
        "the part before the script's flush came only after %r s" % early
    assert first_arrival(arrivals, b"late") >= 2.0


def test_cgi_streams(httpd, standin):
    httpd.write("cgi-bin/stream.cgi", cgi([EARLY.replace(MARK, "")])
                + "sleep 2\nprintf '%%s' '%s'\n" % LATE.replace(MARK, ""))
    httpd.configure(site(httpd, standin)).start()

    arrivals, head, body = timed_get(httpd, "cgi-bin/stream.cgi", ALICE)

    assert_streamed(arrivals, body, head)
    assert token_requests(standin) == 1
    assert httpd.notes() == ["fetched"]


def test_php_streams(httpd_factory, standin):
    httpd = httpd_factory(mpm="prefork", php=True)
    httpd.write("stream.php", """<?php
while (ob_get_level()) { ob_end_flush(); }
echo '%s';
flush();
sleep(2);
echo '%s';
""" % (EARLY.replace(MARK, ""), LATE.replace(MARK, "")))
    httpd.configure(site(httpd, standin)).start()

    arrivals, head, body = timed_get(httpd, "stream.php", ALICE)

    assert_streamed(arrivals, body, head)
    assert token_requests(standin) == 1


def test_php_page(httpd_factory, standin):
    httpd = httpd_factory(mpm="prefork", php=True)
    httpd.write("shop.php", """<html><body>
<?php foreach (['c1', 'c2', 'c3'] as $c) { ?>
<rai-store-widget community-id="<?= $c ?>"></rai-store-widget>
<?php } ?>
<?php echo "<RAI-WIDGET/>\\n<script>'<rai-widget>'</script>\\n"; ?>
</body></html>
""")
    template = ("<html><body>\n" + "".join(
        '<rai-store-widget%s community-id="%s"></rai-store-widget>\n' % (MARK, c)
        for c in ("c1", "c2", "c3"))
        + "<RAI-WIDGET" + MARK + "/>\n<script>'<rai-widget>'</script>\n</body></html>\n")
    httpd.configure(site(httpd, standin, Cache="none")).start()

    assert_rewritten(httpd.get("shop.php", auth=ALICE), template)
    assert_rewritten(httpd.get("shop.php", auth=BOB), template, user="bob")
    assert token_requests(standin) == 2
    assert httpd.notes() == ["fetched", "fetched"]


def big_page():
    """About 3 MB: a widget every 100 KB, and widgets cut by the 8000-byte reads of an
    unmapped file and by the module's 64 KiB passes."""
    filler = "<p>Lorem ipsum dolor sit amet, <b>consectetur</b> adipiscing elit.</p>\n"
    widget = '<rai-widget' + MARK + ' community-id="w%d"></rai-widget>'
    boundaries = sorted({k * 8000 for k in range(1, 390)} | {k * 65536 for k in range(1, 48)}
                        | {k * 100_000 for k in range(1, 31)})
    parts, size, n = [], 0, 0
    for boundary in boundaries:
        n += 1
        offset = (n % 13) + 1      # where inside the tag the boundary falls
        while size + len(filler) < boundary - offset:
            parts.append(filler)
            size += len(filler)
        pad = boundary - offset - size
        parts.append(" " * pad)
        size += pad
        tag = widget % n
        parts.append(tag)
        size += len(tag.replace(MARK, ""))
    parts.append("<rai-store-widget" + MARK + ">")   # the very last bytes
    return "".join(parts), n + 1


def test_big_page(httpd, standin):
    template, widgets = big_page()
    assert len(source(template)) > 3_000_000
    httpd.write("big/page.html", source(template))
    httpd.configure(site(httpd, standin, """
Alias /unmapped/ "{docroot}/big/"
<Location /unmapped/>
    EnableMMAP Off
    EnableSendfile Off
</Location>
""".format(docroot=httpd.docroot), Cache="none")).start()

    for path in ("big/page.html", "unmapped/page.html"):
        response = httpd.get(path, auth=ALICE)
        token = the_token(response.content)
        assert len(embed_tokens(response.content)) == widgets
        assert response.content == rendered(template, token), path
        assert "Content-Length" not in response.headers or \
            int(response.headers["Content-Length"]) == len(response.content)
    assert token_requests(standin) == 2
    assert httpd.notes() == ["fetched", "fetched"]


# ------------------------------------------------------------------------------ HTTP semantics

WIDGET = '<html><body><rai-widget' + MARK + ' community-id="c1"></rai-widget></body></html>\n'


def test_content_types(httpd, standin):
    for name in ("page.txt", "page.html", "page.xhtml", "foo/page.foo", "foo/page.html"):
        httpd.write(name, source(WIDGET))
    httpd.write("cgi-bin/typed.cgi", cgi([WIDGET.replace(MARK, "")],
                                         headers=["Content-Type: Text/HTML; charset=UTF-8"]))
    httpd.configure(site(httpd, standin, """
<Location /foo/>
    AddType text/x-foo .foo
    RaiEmbedContentTypes text/x-foo
</Location>
""", Cache="none")).start()

    plain = httpd.get("page.txt", auth=ALICE)
    assert plain.headers["Content-Type"].startswith("text/plain")
    assert plain.content == source(WIDGET)
    assert "ETag" in plain.headers      # untouched response, untouched headers
    assert token_requests(standin) == 0

    assert_rewritten(httpd.get("page.html", auth=ALICE), WIDGET)
    xhtml = httpd.get("page.xhtml", auth=ALICE)
    assert xhtml.headers["Content-Type"] == "application/xhtml+xml"
    assert_rewritten(xhtml, WIDGET)
    assert_rewritten(httpd.get("cgi-bin/typed.cgi", auth=ALICE), WIDGET)
    assert token_requests(standin) == 3

    foo = httpd.get("foo/page.foo", auth=ALICE)
    assert foo.headers["Content-Type"] == "text/x-foo"
    assert_rewritten(foo, WIDGET)
    html_in_foo = httpd.get("foo/page.html", auth=ALICE)
    assert html_in_foo.content == source(WIDGET)
    assert token_requests(standin) == 4
    assert httpd.notes() == ["none", "fetched", "fetched", "fetched", "fetched", "none"]


def test_head_like_get(httpd, standin):
    httpd.write("page.html", source(WIDGET))
    httpd.configure(site(httpd, standin, """
Alias /off/ "{docroot}/"
<Location /off/>
    RaiEmbed Off
</Location>
""".format(docroot=httpd.docroot), Cache="none")).start()

    head = httpd.head("page.html", auth=ALICE)
    assert head.status_code == 200 and head.content == b""
    assert token_requests(standin) == 0
    get = httpd.get("page.html", auth=ALICE)
    assert_rewritten(get, WIDGET)
    assert token_requests(standin) == 1
    for response in (head, get):
        assert cache_control(response) == ["private"]
        assert "ETag" not in response.headers
        assert "Last-Modified" not in response.headers
        assert response.headers["Content-Type"] == "text/html"
    # The same file without the module: the validators are there to be removed.
    off = httpd.head("off/page.html", auth=ALICE)
    assert "ETag" in off.headers and "Last-Modified" in off.headers
    assert "Cache-Control" not in off.headers
    assert httpd.notes() == ["none", "fetched", "-"]


def test_head_content_length(httpd, standin):
    # DESIGN-NOTES: HEAD of a scanned page has no Content-Length; it must at least never
    # announce the length of the file before the rewrite.
    path = httpd.write("page.html", source(WIDGET))
    httpd.configure(site(httpd, standin, Cache="none")).start()

    head = httpd.head("page.html", auth=ALICE)
    get = httpd.get("page.html", auth=ALICE)

    assert len(get.content) != path.stat().st_size
    assert head.headers.get("Content-Length") is None, \
        "HEAD says Content-Length %s; the GET body has %d bytes (the file %d)" % (
            head.headers.get("Content-Length"), len(get.content), path.stat().st_size)


def test_204_and_304(httpd, standin):
    body = WIDGET.replace(MARK, "")
    httpd.write("cgi-bin/204.cgi", cgi([body], headers=["Status: 204 No Content",
                                                        "Content-Type: text/html"]))
    httpd.write("cgi-bin/304.cgi", cgi([body], headers=["Status: 304 Not Modified",
                                                        "Content-Type: text/html",
                                                        'ETag: "v1"']))
    httpd.write("cgi-bin/200.cgi", cgi([body]))
    httpd.configure(site(httpd, standin)).start()

    no_content = httpd.get("cgi-bin/204.cgi", auth=ALICE)
    assert no_content.status_code == 204 and no_content.content == b""
    not_modified = httpd.get("cgi-bin/304.cgi", auth=ALICE)
    assert not_modified.status_code == 304 and not_modified.content == b""
    assert token_requests(standin) == 0
    assert_rewritten(httpd.get("cgi-bin/200.cgi", auth=ALICE), WIDGET)
    assert token_requests(standin) == 1
    assert httpd.notes() == ["none", "none", "fetched"]


def test_conditional_get(httpd, standin):
    httpd.write("site/page.html", source(WIDGET))
    httpd.configure(site(httpd, standin, """
Alias /off/ "{docroot}/site/"
Alias /by-set/ "{docroot}/site/"
Alias /by-type/ "{docroot}/site/"
<Location /off/>
    RaiEmbed Off
</Location>
<Location /by-set/>
    RaiEmbed Off
    SetOutputFilter RAI_EMBED
</Location>
<Location /by-type/>
    RaiEmbed Off
    AddOutputFilterByType RAI_EMBED text/html
</Location>
""".format(docroot=httpd.docroot), Cache="none")).start()

    plain = httpd.get("off/page.html", auth=ALICE)
    etag, modified = plain.headers["ETag"], plain.headers["Last-Modified"]
    conditions = [{"If-None-Match": etag}, {"If-Modified-Since": modified},
                  {"If-None-Match": etag, "If-Modified-Since": modified}]
    # Without the module these are answered 304: the requests do test something.
    for headers in conditions:
        assert httpd.get("off/page.html", auth=ALICE, headers=headers).status_code == 304
    for path in ("site/page.html", "by-set/page.html", "by-type/page.html"):
        for headers in conditions:
            response = httpd.get(path, auth=ALICE, headers=headers)
            assert response.status_code == 200, (path, headers)
            assert_rewritten(response, WIDGET)
            assert "ETag" not in response.headers and "Last-Modified" not in response.headers
    assert token_requests(standin) == 9


def test_cache_control_private(httpd, standin):
    body = [WIDGET.replace(MARK, "")]
    httpd.write("cgi-bin/public.cgi", cgi(body, headers=[
        "Content-Type: text/html",
        "Cache-Control: public, max-age=60, s-maxage=600",
        'ETag: "v1"',
        "Last-Modified: Mon, 02 Jan 2023 10:00:00 GMT"]))
    httpd.write("cgi-bin/quoted.cgi", cgi(body, headers=[
        "Content-Type: text/html",
        'Cache-Control: no-cache="Set-Cookie, X-Foo", S-MAXAGE=30, PUBLIC, private']))
    httpd.write("cgi-bin/plain.cgi", cgi(["just text"], headers=[
        "Content-Type: text/plain", "Cache-Control: public, max-age=60", 'ETag: "v2"']))
    httpd.configure(site(httpd, standin)).start()

    public = httpd.get("cgi-bin/public.cgi", auth=ALICE)
    assert_rewritten(public, WIDGET)
    assert sorted(cache_control(public)) == ["max-age=60", "private"]
    assert "ETag" not in public.headers and "Last-Modified" not in public.headers

    quoted = httpd.get("cgi-bin/quoted.cgi", auth=ALICE)
    assert_rewritten(quoted, WIDGET)
    assert sorted(cache_control(quoted)) == ['no-cache="Set-Cookie, X-Foo"', "private"]

    # A type the module does not scan keeps its caching headers.
    plain = httpd.get("cgi-bin/plain.cgi", auth=ALICE)
    assert plain.headers["Cache-Control"] == "public, max-age=60"
    assert plain.headers["ETag"] == '"v2"'


def test_cache_control_mod_headers(httpd, standin):
    httpd.write("page.html", source(WIDGET))
    httpd.configure(site(httpd, standin, """
<Location /page.html>
    Header set Cache-Control "public, max-age=60, s-maxage=600"
</Location>
""")).start()

    response = httpd.get("page.html", auth=ALICE)

    assert_rewritten(response, WIDGET)
    assert sorted(cache_control(response)) == ["max-age=60", "private"]


def test_content_length(httpd, standin):
    httpd.write("page.html", source(WIDGET))
    httpd.write("cgi-bin/sized.cgi", cgi([WIDGET.replace(MARK, "")], headers=[
        "Content-Type: text/html", "Content-Length: %d" % len(source(WIDGET))]))
    httpd.configure(site(httpd, standin)).start()

    for path in ("page.html", "cgi-bin/sized.cgi"):
        response, body = get_raw(httpd, path, auth=ALICE)
        assert body == rendered(WIDGET, the_token(body)), path
        length = response.headers.get("Content-Length")
        assert length is None or int(length) == len(body), (path, length, len(body))


def test_deflate_after_filter(httpd, standin):
    httpd.write("gz/page.html", source(PAGE))
    httpd.configure(site(httpd, standin, """
<Location /gz/>
    AddOutputFilterByType DEFLATE text/html
</Location>
""")).start()

    response, body = get_raw(httpd, "gz/page.html", auth=ALICE,
                             headers={"Accept-Encoding": "gzip"})

    assert response.headers["Content-Encoding"] == "gzip"
    page = gzip.decompress(body)
    assert page == rendered(PAGE, the_token(page))
    length = response.headers.get("Content-Length")
    assert length is None or int(length) == len(body)
    assert "private" in cache_control(response)
    assert token_requests(standin) == 1


def test_encoded_passes(httpd, standin):
    compressed = gzip.compress(source(WIDGET))
    gz_path = httpd.write("enc/page.html.gz", compressed)
    httpd.configure(site(httpd, standin, """
<Location /enc/>
    RemoveType .gz
    AddEncoding gzip .gz
</Location>
""")).start()

    response, body = get_raw(httpd, "enc/page.html.gz", auth=ALICE)

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/html"
    assert response.headers["Content-Encoding"] == "gzip"
    assert body == compressed == gz_path.read_bytes()
    assert token_requests(standin) == 0
    assert httpd.error_log().count("RAI0014") == 1
    assert httpd.notes() == ["none"]


def test_encoded_cgi_passes(httpd, standin):
    """Content-Encoding from a CGI script (which httpd keeps in err_headers_out): the
    body is not the page's text, so it is never scanned."""
    compressed = gzip.compress(source(WIDGET))
    gz_path = httpd.write("page.html.gz", compressed)
    httpd.write("cgi-bin/gzip.cgi", "#!/bin/sh\nprintf 'Content-Type: text/html\\r\\n"
                "Content-Encoding: gzip\\r\\n\\r\\n'\nexec cat '%s'\n" % gz_path)
    # An encoding httpd does not know: its bytes happen to look like a widget.
    httpd.write("cgi-bin/custom.cgi", cgi([WIDGET.replace(MARK, "")], headers=[
        "Content-Type: text/html", "Content-Encoding: x-custom"]))
    # "identity" is no encoding at all: scanned as usual.
    httpd.write("cgi-bin/identity.cgi", cgi([WIDGET.replace(MARK, "")], headers=[
        "Content-Type: text/html", "Content-Encoding: identity"]))
    httpd.configure(site(httpd, standin)).start()

    response, body = get_raw(httpd, "cgi-bin/gzip.cgi", auth=ALICE)
    assert response.headers["Content-Encoding"] == "gzip"
    assert body == compressed
    response, body = get_raw(httpd, "cgi-bin/custom.cgi", auth=ALICE)
    assert response.headers["Content-Encoding"] == "x-custom"
    assert body == source(WIDGET), "a body in Content-Encoding x-custom was rewritten"
    assert token_requests(standin) == 0
    assert httpd.error_log().count("RAI0014") == 2
    assert_rewritten(httpd.get("cgi-bin/identity.cgi", auth=ALICE), WIDGET)
    assert httpd.notes() == ["none", "none", "fetched"]


def test_ssi_includes_are_rewritten(httpd, standin):
    # The included documents are subrequests: the main response's filter sees their output.
    httpd.write("ssi/page.shtml", '<html><body><rai-widget id="main"></rai-widget>\n'
                '<!--#include virtual="frag.html" -->\n'
                '<!--#include virtual="/ssi/frag.html" --></body></html>\n')
    httpd.write("ssi/only-include.shtml",
                '<html><body><p>x</p><!--#include virtual="frag.html" --></body></html>\n')
    httpd.write("ssi/frag.html", '<rai-store-widget id="frag"></rai-store-widget>')
    frag = '<rai-store-widget' + MARK + ' id="frag"></rai-store-widget>'
    httpd.configure(site(httpd, standin, """
<Directory "{docroot}/ssi">
    Options +Includes
    AddOutputFilter INCLUDES .shtml
</Directory>
""".format(docroot=httpd.docroot), Cache="none")).start()

    assert_rewritten(httpd.get("ssi/page.shtml", auth=ALICE),
                     '<html><body><rai-widget' + MARK + ' id="main"></rai-widget>\n'
                     + frag + "\n" + frag + "</body></html>\n")
    assert_rewritten(httpd.get("ssi/only-include.shtml", auth=ALICE),
                     "<html><body><p>x</p>" + frag + "</body></html>\n")
    assert token_requests(standin) == 2
    assert httpd.notes() == ["fetched", "fetched"]


def test_filter_by_name(httpd, standin):
    httpd.write("site/page.html", source(PAGE))
    httpd.write("site/page.txt", source(WIDGET))
    # RaiEmbed itself is never On here: only the filter by name does the work.
    httpd.configure(site(httpd, standin, """
Alias /by-set/ "{docroot}/site/"
Alias /by-type/ "{docroot}/site/"
Alias /off-set/ "{docroot}/site/"
Alias /twice/ "{docroot}/site/"
<Location /by-set/>
    SetOutputFilter RAI_EMBED
</Location>
<Location /by-type/>
    AddOutputFilterByType RAI_EMBED text/html
</Location>
<Location /off-set/>
    RaiEmbed Off
    SetOutputFilter RAI_EMBED
</Location>
<Location /twice/>
    RaiEmbed On
    SetOutputFilter RAI_EMBED
</Location>
""".format(docroot=httpd.docroot), Cache="none", RaiEmbed=None)).start()

    untouched_page = httpd.get("site/page.html", auth=ALICE)
    assert untouched_page.content == source(PAGE)
    assert token_requests(standin) == 0
    for n, prefix in enumerate(("by-set", "by-type", "off-set", "twice"), 1):
        response = httpd.get(prefix + "/page.html", auth=ALICE)
        assert_rewritten(response, PAGE)
        assert len(embed_tokens(response.content)) == WIDGET_COUNT + 1, prefix
        assert token_requests(standin) == n, prefix
    # By type: a text/plain file is not given the filter; by SetOutputFilter it is given
    # it, and the filter leaves the type alone.
    for prefix in ("by-type", "by-set"):
        assert httpd.get(prefix + "/page.txt", auth=ALICE).content == source(WIDGET)
    assert token_requests(standin) == 4
    assert httpd.notes() == ["-", "fetched", "fetched", "fetched", "fetched", "-", "none"]


def test_note(httpd, standin):
    httpd.write("plain.html", "<html><body><p>no widget</p></body></html>\n")
    httpd.write("page.html", source(WIDGET))
    httpd.write("public/page.html", source(WIDGET))
    httpd.configure(site(httpd, standin)).start()    # default cache: shmcb

    assert httpd.get("plain.html", auth=ALICE).status_code == 200
    first = httpd.get("page.html", auth=ALICE)
    fetched = assert_rewritten(first, WIDGET)
    second = httpd.get("page.html", auth=ALICE)
    assert assert_rewritten(second, WIDGET) == fetched
    assert token_requests(standin) == 1
    anonymous = httpd.get("public/page.html")
    assert anonymous.status_code == 200 and anonymous.content == source(WIDGET)
    assert token_requests(standin) == 1

    standin.control(mode="down")
    failed = httpd.get("page.html", auth=BOB)
    assert failed.status_code == 200 and failed.content == source(WIDGET)
    # (libcurl may retry once on a fresh connection when a reused one gets no answer)
    asked_for = [r["identity"] for r in standin.requests()]
    assert asked_for[0] == {"data-customer-id": "alice"}
    assert asked_for[1:] and all(i == {"data-customer-id": "bob"} for i in asked_for[1:])
    assert httpd.notes() == ["none", "fetched", "cached", "anonymous", "error"]
    assert "RAI0011" in httpd.error_log()


def test_prefix_before_fetch(httpd, standin):
    # A cache miss waits for the API: the page up to the first widget goes out
    # first, so the visitor sees it while the token is fetched.
    page = "<html><body><p>%s</p><rai-widget></rai-widget></body></html>\n" % ("x" * 30000)
    httpd.write("late.html", page)
    httpd.configure(site(httpd, standin)).start()
    standin.control(mode="slow", delay=1.5)

    arrivals, head, body = timed_get(httpd, "late.html", ALICE)

    assert head.startswith("HTTP/1.1 200")
    assert first_arrival(arrivals, b"<p>xxx") < 1.0, "the prefix waited for the token"
    assert first_arrival(arrivals, b"<rai-widget embed-token=") >= 1.4
    assert body.decode().replace(" embed-token=\"%s\"" % embed_tokens(body.decode())[0], "") \
        == page
    assert httpd.notes() == ["fetched"]
