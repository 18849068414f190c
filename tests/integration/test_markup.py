"""Markup an attacker controls (docs/configuration.md), against a real httpd:
URL attributes that would send a visitor's token to another host, Attribute Auth with
hostile identity values, the fallback from tokens to attributes, and the scanner's
contexts (foreign content, script escapes, comments) whole and split at every byte.

Pages are written as templates, as in test_rewrite.py: MARK stands where the module must
insert its attribute text; the expected response is the template with every MARK replaced
by that text, every other byte unchanged.  Control bytes \\x02 / \\x10 / \\x06 make
mod_bucketeer (SetOutputFilter BUCKETEER) split the page there, pass it on, or flush.
"""

import re
from html.parser import HTMLParser

import pytest

from rai_harness import embed_tokens, jwt_payload, rai_conf

MARK = "\u27e6T\u27e7"
SPLIT, PASS, FLUSH = "\x02", "\x10", "\x06"
USERS = {"alice": "alice-pw", "bob": "bob-pw"}
ALICE = ("alice", "alice-pw")
GOOD = '<rai-widget' + MARK + ' community-id="good"></rai-widget>\n'


def source(template):
    return template.replace(MARK, "").encode("utf-8")


def rendered(template, inserted):
    text = template.replace(MARK, inserted)
    for ctrl in (SPLIT, PASS, FLUSH):
        text = text.replace(ctrl, "")
    return text.encode("utf-8")


def token_attr(token):
    return ' embed-token="%s"' % token


def interleave(template, ctrl):
    """ctrl between every two characters (marks kept whole)."""
    return (ctrl + MARK + ctrl).join(ctrl.join(part) for part in template.split(MARK))


def the_token(body):
    tokens = embed_tokens(body)
    assert tokens, "no embed-token in the response"
    assert len(set(tokens)) == 1, "widgets carry different tokens: %r" % tokens
    return tokens[0]


def assert_page(response, template, user="alice"):
    """The response is the template with the one token at every MARK (and nowhere else)."""
    assert response.status_code == 200
    if MARK not in template:
        assert response.content == rendered(template, "")
        return None
    token = the_token(response.content)
    assert response.content == rendered(template, token_attr(token))
    assert jwt_payload(token)["sub"] == user
    return token


def token_requests(standin):
    stats = standin.stats()
    assert stats["rejected"] == 0
    return stats["token_requests"]


def site(httpd, standin, extra="", **conf):
    """Basic auth on everything but /public/; /split/ goes through mod_bucketeer."""
    password_file = httpd.htpasswd(USERS)
    return rai_conf(standin, **conf) + """
<Location />
    AuthType Basic
    AuthName "markup"
    AuthUserFile "{password_file}"
    Require valid-user
</Location>
<Location /public/>
    Require all granted
</Location>
<Location /split/>
    SetOutputFilter BUCKETEER
</Location>
""".format(password_file=password_file) + extra


def log_lines(httpd, code):
    return [line for line in httpd.error_log().splitlines() if code in line]


class Tags(HTMLParser):
    """Every start tag as (name, [(attr, value), ...]), values decoded, as a browser
    tokenizer gives them (duplicates kept, in order)."""

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.tags = []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, attrs))

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, attrs))

    def named(self, name):
        return [attrs for tag, attrs in self.tags if tag == name]


# ====================================================== 1. trusted hosts (docs/configuration.md)

# Each a widget tag's attributes that name (or may name) a host outside the trusted list.
UNTRUSTED = {
    "absolute": 'v2-api-url="https://evil.example"',
    "protocol-relative": 'api-url="//evil.example"',
    "backslash": 'widget-url="https:\\evil.example"',
    "two-backslashes": 'widget-url="https:\\\\evil.example"',
    "slash-backslash": 'api-url="/\\evil.example/x"',
    "numeric-colon": 'bundle-url="https&#58;//evil.example"',
    "hex-colon-no-semicolon": 'bundle-url="https&#x3a//evil.example"',
    "named-colon": 'bundle-url="https&colon;//evil.example"',
    "named-slashes": 'api-url="&sol;&sol;evil.example"',
    "unknown-reference": 'api-url="https:/&frobnicate;/evil.example"',
    "userinfo": 'auth-url="https://returning.ai@evil.example"',
    "userinfo-at-encoded": 'auth-url="https://api.returning.ai&#64;evil.example/"',
    "upper-case-name-single-quotes": "API-URL='https://evil.example'",
    "upper-case-scheme-host": 'api-url="HTTPS://EVIL.EXAMPLE/"',
    "unquoted": "api-url=https://evil.example",
    "unquoted-last": "community-id=c1 api-url=//evil.example",
    "spaces-around-equals": 'api-url = "https://evil.example"',
    "leading-space": 'api-url="  https://evil.example"',
    "tab-in-scheme": 'api-url="ht&#9;tps://evil.example"',
    "newline-in-slashes": 'api-url="https:/\n/evil.example"',
    "suffix-lookalike": 'api-url="https://evilreturning.ai"',
    "trusted-as-prefix": 'api-url="https://api.returning.ai.evil.example"',
    "percent-host": 'api-url="https://api.returning.ai%2eevil.example"',
    "port": 'api-url="https://evil.example:443/"',
    "ipv4": 'api-url="http://127.0.0.1:9/"',
    "javascript": 'api-url="javascript:fetch(1)"',
    "data-prefixed-name": 'data-api-url="https://evil.example"',
    "src-on-widget": 'src="https://evil.example/w.js"',
    "duplicate-evil-first": 'api-url="https://evil.example" api-url="https://api.returning.ai"',
    "after-trusted": 'api-url="https://api.returning.ai" auth-url="//evil.example"',
    "self-closing": 'api-url="https://evil.example"/',
    # the tokenizer's corners: where an attribute starts, and where the tag ends
    "after-solidus": '/api-url="//evil.example"',
    "after-solidus-unquoted": 'x/api-url=//evil.example',
    "no-space-after-value": 'data-x="a"api-url="//evil.example"',
    "no-space-after-single": "data-x='a'api-url='//evil.example'",
    "quoted-gt": 'data-x="a>b" api-url="//evil.example"',
    "single-quoted-gt": "data-x='a>\"b' api-url=\"//evil.example\"",
    "equals-first": '="x" api-url=//evil.example',
    "unquoted-slash-end": 'api-url=//evil.example/',
    "newline-separated": 'data-x="1"\napi-url="//evil.example"',
    "formfeed-separated": 'data-x="1"\x0capi-url="//evil.example"',
    "cr-separated": 'data-x="1"\rapi-url="//evil.example"',
    # references a browser decodes in values
    "hex-slashes": 'api-url="https:&#x2f;&#x2F;evil.example"',
    "numeric-slashes-no-semicolon": 'api-url="&#47&#47evil.example"',
    "named-backslashes": 'api-url="&bsol;&bsol;evil.example"',
    "numeric-backslashes": 'api-url="&#92;&#92;evil.example"',
    "named-newline-in-scheme": 'api-url="ht&NewLine;tps://evil.example"',
    "named-tab-in-slashes": 'api-url="https:/&Tab;/evil.example"',
    "amp-then-colon": 'api-url="https&amp;#58;//x" widget-url="https&#x3A;//evil.example"',
    "nul-in-host": 'api-url="https://api.returning.ai&#0;.evil.example"',
    # what the URL parser makes of special schemes
    "single-slash": 'api-url="https:/evil.example"',
    "no-slashes": 'api-url="https:evil.example"',
    "userinfo-colon": 'api-url="https://api.returning.ai:@evil.example"',
    "fragment-at": 'api-url="https://evil.example#@api.returning.ai"',
    "query-at": 'api-url="https://evil.example?@api.returning.ai"',
    "websocket": 'api-url="wss://evil.example/socket"',
    "blob": 'api-url="blob:https://evil.example/x"',
    "ideographic-dot": 'api-url="https://api.returning.ai\u3002evil.example"',
    "leading-control-byte": 'api-url="\x01https://evil.example"',
    "ipv6": 'api-url="https://[::1]/"',
}

# Each may keep its token: relative URLs, the default trusted hosts, values that are not
# URL attributes at all.
TRUSTED = {
    "api-subdomain": 'api-url="https://api.returning.ai/x"',
    "apex": 'v2-api-url="https://returning.ai"',
    "relative-path": 'api-url="/api"',
    "relative-word": 'api-url="api/v2?x=https://evil.example"',
    "upper-case": 'API-URL="HTTPS://API.RETURNING.AI./x"',
    "port-and-user": 'auth-url="https://user@api.returning.ai:8443/x"',
    "duplicate-trusted-first": 'api-url="https://api.returning.ai" api-url="https://evil.example"',
    "not-a-url-attribute": 'title="https://evil.example" href="//evil.example"',
    "fragment": 'api-url="#https://evil.example"',
    "empty": 'api-url=""',
    "no-value": 'api-url data-x="//evil.example"',
    "amp-not-a-colon": 'api-url="https&amp;#58;//evil.example"',
    "backslash-ends-authority": 'api-url="https://api.returning.ai\\@evil.example"',
    "userinfo-with-escape": 'api-url="https://evil.example%2F@api.returning.ai/"',
    "wss-trusted": 'api-url="wss://live.returning.ai/socket"',
    "widget-in-value": 'title="<rai-widget api-url=\'//evil.example\'>"',
}


def trust_page(attrs):
    return GOOD + '<rai-store-widget community-id="attacked" %s></rai-store-widget>\n' % attrs


def trusted_page(attrs):
    return GOOD + '<rai-store-widget%s community-id="kept" %s></rai-store-widget>\n' % (
        MARK, attrs)


@pytest.mark.parametrize("split", ["", SPLIT, FLUSH], ids=["whole", "split", "flush"])
def test_untrusted_url_attributes_get_no_token(httpd, standin, split):
    """Every attacked widget stays byte for byte as it was; the normal widget on the same
    page gets the token.  With split, every byte of the page is its own bucket."""
    pages = {}
    for name, attrs in UNTRUSTED.items():
        pages["bad-" + name] = trust_page(attrs)
    for name, attrs in TRUSTED.items():
        pages["ok-" + name] = trusted_page(attrs)
    prefix = "split/" if split else ""
    for name, template in pages.items():
        httpd.write(prefix + name + ".html",
                    source(interleave(template, split) if split else template))
    httpd.configure(site(httpd, standin)).start()

    for name, template in pages.items():
        response = httpd.get(prefix + name + ".html", auth=ALICE)
        if split:
            template = interleave(template, split)
        try:
            assert_page(response, template)
        except AssertionError:
            raise AssertionError("%s: %r" % (name, response.content[-300:]))
    assert token_requests(standin) == 1      # the token cache serves the rest
    assert log_lines(httpd, "RAI0039")


def test_untrusted_split_inside_the_url(httpd, standin):
    """The split falls inside the attribute's name and value and the reference."""
    template = (GOOD + '<rai-store-widget community-id="x" ap\x02i-u\x10rl="ht\x02tps'
                '&#\x025\x108;/\x06/ev\x02il.ex\x10ample/"\x02></rai-store-widget>\n'
                '<rai-widget api-url="/\x02/evil\x06.example"\x10/>\n'
                '<rai-widget' + MARK + ' api-url="/\x02api\x10"\x06>\n')
    httpd.write("split/page.html", source(template))
    httpd.configure(site(httpd, standin)).start()
    assert_page(httpd.get("split/page.html", auth=ALICE), template)


def test_untrusted_only_widget_makes_no_token_request(httpd, standin):
    template = ('<html><body><rai-widget api-url="https://evil.example"></rai-widget>\n'
                '<rai-store-widget widget-url="//evil.example/"></rai-store-widget>'
                '</body></html>\n')
    httpd.write("page.html", source(template))
    httpd.configure(site(httpd, standin, Cache="none")).start()

    for _ in range(2):
        assert_page(httpd.get("page.html", auth=ALICE), template)
    assert token_requests(standin) == 0
    assert httpd.notes() == ["none", "none"]
    # the first is a warning, the rest within 30 s of it (one connection: one child) debug
    lines = log_lines(httpd, "RAI0039")
    assert len(lines) == 4, lines
    assert [l for l in lines if "[rai_embed:warn]" in l] == lines[:1]
    assert all("[rai_embed:debug]" in l for l in lines[1:])
    assert "api-url" in lines[0]            # it names the attribute
    assert "evil.example" not in "\n".join(lines)   # the markup is not logged as is


def test_configured_trusted_hosts(httpd, standin):
    """RaiEmbedTrustedHosts replaces the default list: its hosts and subdomains are
    trusted, look-alikes are not (nor, then, returning.ai: a list that is given is the
    whole list)."""
    pages = {
        "apex": trusted_page('api-url="https://example.com/api"'),
        "sub": trusted_page('api-url="https://cdn.eu.example.com"'),
        "relative": trusted_page('api-url="/api"'),
        "lookalike": trust_page('api-url="https://example.com.evil.example"'),
        "prefix": trust_page('api-url="https://notexample.com"'),
        "default-gone": trust_page('api-url="https://api.returning.ai"'),
    }
    for name, template in pages.items():
        httpd.write("%s.html" % name, source(template))
    httpd.configure(site(httpd, standin,
                         TrustedHosts="example.com *.example.com")).start()
    for name, template in pages.items():
        try:
            assert_page(httpd.get("%s.html" % name, auth=ALICE), template)
        except AssertionError:
            raise AssertionError(name)


def test_trusted_hosts_per_directory(httpd, standin):
    """RaiEmbedTrustedHosts in a <Location> applies there only."""
    attacked = trust_page('api-url="https://partner.example/api"')
    allowed = trusted_page('api-url="https://partner.example/api"')
    httpd.write("main/page.html", source(attacked))
    httpd.write("partner/page.html", source(allowed))
    httpd.configure(site(httpd, standin, extra="""
<Location /partner/>
    RaiEmbedTrustedHosts partner.example returning.ai *.returning.ai
</Location>
""")).start()
    assert_page(httpd.get("main/page.html", auth=ALICE), attacked)
    assert_page(httpd.get("partner/page.html", auth=ALICE), allowed)


def test_long_tags_pass_unchanged(httpd, standin):
    """A widget tag longer than 8 KiB is not read to its end: it passes unchanged (and
    an evil URL hidden past the limit gains nothing); one just under the limit gets its
    token; the page after either is scanned on."""
    long_pad = "x" * 9000
    short_pad = "y" * 8000
    template = (GOOD
                + '<rai-store-widget data-pad="%s"></rai-store-widget>\n' % long_pad
                + '<rai-widget data-pad="%s" api-url="https://evil.example">\n' % long_pad
                + '<rai-widget%s data-pad="%s">\n' % (MARK, short_pad)
                + '<rai-channel-widget%s></rai-channel-widget>\n' % MARK)
    httpd.write("long.html", source(template))
    httpd.write("split/long.html", source(template.replace("x" * 100, "x" * 99 + SPLIT)))
    httpd.configure(site(httpd, standin)).start()

    assert_page(httpd.get("long.html", auth=ALICE), template)
    split = template.replace("x" * 100, "x" * 99 + SPLIT)
    assert_page(httpd.get("split/long.html", auth=ALICE), split)
    assert log_lines(httpd, "RAI0038")


def test_too_many_url_attributes_fail_closed(httpd, standin):
    """More URL attributes than the tag keeps, or a URL attribute name too long to keep,
    is not trusted even when every value would be."""
    many = " ".join('a%d-url="/x"' % i for i in range(20))
    template = (GOOD
                + '<rai-widget %s api-url="https://evil.example"></rai-widget>\n' % many
                + '<rai-widget %s-url="https://evil.example"></rai-widget>\n' % ("n" * 80))
    httpd.write("page.html", source(template))
    httpd.configure(site(httpd, standin)).start()
    assert_page(httpd.get("page.html", auth=ALICE), template)


def test_tag_cut_by_end_of_page(httpd, standin):
    template = GOOD + '<rai-widget api-url="https://evil.exa'
    httpd.write("cgi-bin/cut.cgi", "#!/bin/sh\nprintf 'Content-Type: text/html\\r\\n\\r\\n'\n"
                "printf '%%s' '%s'\n" % source(template).decode())
    httpd.configure(site(httpd, standin)).start()
    assert_page(httpd.get("cgi-bin/cut.cgi", auth=ALICE), template)


# ===================================================== 2. Attribute Auth (docs/configuration.md)

def attributes_site(httpd, standin, extra="", **conf):
    """Attribute Auth, with neither RaiEmbedAccessId nor RaiEmbedAccessKey."""
    conf.setdefault("Mode", "attributes")
    conf.setdefault("AccessId", None)
    conf.setdefault("AccessKey", None)
    return site(httpd, standin, extra, **conf)


ATTR_PAGE = """<html><head>
<script{m} src="/js/widget-loader.js" data-widget-id="w"></script>
<script src="/js/other.js" data-widget-id="w"></script>
<script src="/js/widget-loader.js.map"></script>
<script src="widget-loader.js"></script>
<script{m} src="https://cdn.returning.ai/v1/widget-loader.js?v=3#x"></script>
<script src="https://evil.example/widget-loader.js"></script>
<SCRIPT{m} SRC='/a/widget-loader.js'></SCRIPT>
<script>var s = '<script src="/js/widget-loader.js">';</script>
<!-- <script src="/js/widget-loader.js"> -->
<script{m} src="/js/widget-loader.js" src="/js/other.js"></script>
<script src="/js/other.js" src="/js/widget-loader.js"></script>
<script{m} src=" /js/widget&#45;loader.js&#x3f;v=1 " type="module" async></script>
<script src="/js/Widget-Loader.js"></script>
<script src="//evil.example/widget-loader.js"></script>
<script src="/js/widget-loader.js/"></script>
</head><body>
<rai-store-widget{m} community-id="c1"></rai-store-widget>
<rai-widget{m}/>
<rai-widget api-url="https://evil.example"></rai-widget>
<textarea><rai-widget></textarea>
<svg><script src="/js/widget-loader.js"></script></svg>
<rai-widgetry></rai-widgetry>
</body></html>
""".replace("{m}", MARK)


def test_attributes_mode(httpd, standin):
    httpd.write("page.html", source(ATTR_PAGE))
    httpd.write("public/page.html", source(ATTR_PAGE))
    httpd.write("split/page.html", source(interleave(ATTR_PAGE, SPLIT)))
    httpd.write("split/mixed.html", source(interleave(ATTR_PAGE, PASS)))
    httpd.configure(attributes_site(httpd, standin, Cache="none")).start()

    expected = ' data-customer-id="alice"'
    response = httpd.get("page.html", auth=ALICE)
    assert response.status_code == 200
    assert response.content == rendered(ATTR_PAGE, expected)
    assert b'<rai-store-widget data-customer-id="alice" community-id="c1">' \
        in response.content
    assert b'<script data-customer-id="alice" src="/js/widget-loader.js" ' \
        b'data-widget-id="w">' in response.content
    # the same header treatment as a token page
    assert response.headers["Cache-Control"].startswith("private")
    assert "ETag" not in response.headers
    assert response.headers.get("Accept-Ranges") == "none"
    assert "Content-Length" not in response.headers or \
        int(response.headers["Content-Length"]) == len(response.content)

    for path, ctrl in (("split/page.html", SPLIT), ("split/mixed.html", PASS)):
        split = httpd.get(path, auth=ALICE)
        assert split.content == rendered(interleave(ATTR_PAGE, ctrl), expected), path

    anonymous = httpd.get("public/page.html")
    assert anonymous.content == rendered(ATTR_PAGE, "")

    assert token_requests(standin) == 0
    assert httpd.notes() == ["attributes", "attributes", "attributes", "anonymous"]


def test_attributes_mode_needs_no_credentials_in_a_location(httpd_factory, standin):
    """RaiEmbed On with RaiEmbedMode attributes in a section, no credentials anywhere:
    starts; where token mode can apply without credentials, start-up refuses."""
    httpd = httpd_factory()
    httpd.write("aa/page.html", source(ATTR_PAGE))
    conf = """
<Location /aa/>
    RaiEmbed On
    RaiEmbedMode attributes
    RaiEmbedIdentifier data-customer-id user
</Location>
"""
    httpd.configure(site(httpd, standin, extra=conf, RaiEmbed=None, AccessId=None,
                         AccessKey=None))
    rc, output = httpd.configtest()
    assert rc == 0, output
    httpd.start()
    response = httpd.get("aa/page.html", auth=ALICE)
    assert response.content == rendered(ATTR_PAGE, ' data-customer-id="alice"')

    # other ways to say attributes mode everywhere RaiEmbed On is: accepted
    for good in (
            "RaiEmbedMode attributes\n<VirtualHost *:%d>\n    ServerName v.test\n"
            "    RaiEmbed On\n</VirtualHost>\n" % httpd.port,
            "RaiEmbedMode attributes\n<Directory /tmp>\n    RaiEmbed On\n</Directory>\n",
            "<Location /a/>\n    RaiEmbedMode attributes\n    RaiEmbed On\n</Location>\n"
            "<Location /b/>\n    RaiEmbedFallback attributes\n</Location>\n"):
        other = httpd_factory()
        other.configure(rai_conf(standin, RaiEmbed=None, AccessId=None, AccessKey=None)
                        + good)
        rc, output = other.configtest()
        assert rc == 0, (good, output)

    # token mode named somewhere, or RaiEmbed On where the mode is token: refused
    for bad in (
            "RaiEmbed On\n",
            "RaiEmbed On\nRaiEmbedMode attributes\n<Location /t/>\n"
            "    RaiEmbedMode token\n</Location>\n",
            "RaiEmbedMode attributes\n<Location /t/>\n    RaiEmbed On\n"
            "    RaiEmbedMode token\n</Location>\n",
            "<Location /t/>\n    RaiEmbed On\n</Location>\n",
            "RaiEmbed On\nRaiEmbedMode attributes\n<VirtualHost *:%d>\n"
            "    ServerName v.test\n    RaiEmbedMode token\n</VirtualHost>\n" % httpd.port):
        other = httpd_factory()
        other.configure(rai_conf(standin, RaiEmbed=None, AccessId=None, AccessKey=None)
                        + bad)
        rc, output = other.configtest()
        assert rc != 0, bad
        assert "RaiEmbedAccessId" in output, output


HOSTILE_VALUES = ['a"b', "'", "<", ">", "&", "&amp;", '"><script>alert(1)</script>',
                  '" onmouseover="x', "' onmouseover='x", "</rai-widget><script>x()</script>",
                  "&#34;", "a=b c", "\u00e9l\u00e8ve"]


@pytest.mark.parametrize("source_kind", ["expr", "env"])
def test_hostile_identity_values_stay_in_their_attribute(httpd, standin, source_kind):
    if source_kind == "expr":
        identifiers = ["data-customer-id expr=%{req:X-Test-Id}",
                       "data-email expr=%{req:X-Test-Mail}"]
        extra = ""
    else:
        identifiers = ["data-customer-id env:TEST_ID", "data-email env:TEST_MAIL"]
        extra = ('SetEnvIf X-Test-Id "^(.*)$" TEST_ID=$1\n'
                 'SetEnvIf X-Test-Mail "^(.*)$" TEST_MAIL=$1\n')
    page = ('<html><body><rai-store-widget community-id="c1" data-customer-id="mallory">'
            '</rai-store-widget>\n<script src="/js/widget-loader.js" data-widget-id="w">'
            '</script>\n<p title="x">end</p></body></html>\n')
    httpd.write("public/page.html", page)
    httpd.configure(attributes_site(httpd, standin, extra, Identifier=identifiers)).start()

    for value in HOSTILE_VALUES:
        mail = "m" + value[::-1]
        response = httpd.get("public/page.html", headers={
            "X-Test-Id": value.encode("utf-8"), "X-Test-Mail": mail.encode("utf-8")})
        assert response.status_code == 200
        text = response.content.decode("utf-8")
        tags = Tags(text)
        assert [t for t, _ in tags.tags] == ["html", "body", "rai-store-widget", "script",
                                              "p"], (value, text)
        # the server's values first (so they win), then the page's, nothing else
        assert tags.named("rai-store-widget") == [[
            ("data-customer-id", value), ("data-email", mail), ("community-id", "c1"),
            ("data-customer-id", "mallory")]], (value, text)
        assert tags.named("script") == [[
            ("data-customer-id", value), ("data-email", mail),
            ("src", "/js/widget-loader.js"), ("data-widget-id", "w")]], (value, text)
        assert tags.named("p") == [[("title", "x")]]
        # the rest of the page is byte for byte the page
        assert text.endswith('</script>\n<p title="x">end</p></body></html>\n')
    assert token_requests(standin) == 0
    assert set(httpd.notes()) == {"attributes"}


def test_refused_identity_values_give_no_attributes(httpd, standin):
    """Same refusals as for a token: over 512 bytes, control characters (a tab)."""
    page = '<rai-store-widget community-id="c1"></rai-store-widget>\n'
    httpd.write("public/page.html", page)
    httpd.configure(attributes_site(httpd, standin,
                                    Identifier="data-customer-id expr=%{req:X-Test-Id}"))
    httpd.start()
    for value in ("a" * 513, "a\tb", b"\xff\xfe", b"caf\xc3"):
        response = httpd.get("public/page.html", headers={"X-Test-Id": value})
        assert response.content == page.encode()
    ok = httpd.get("public/page.html", headers={"X-Test-Id": "a" * 512})
    assert ok.content == page.replace(
        "<rai-store-widget", '<rai-store-widget data-customer-id="%s"' % ("a" * 512),
        1).encode()
    notes = httpd.notes()
    assert notes[-1] == "attributes" and "attributes" not in notes[:-1], notes


# ============================================================ 3. fallback to attributes

# In token mode a script never asks for a token (a page without widgets makes no token
# request, docs/configuration.md): the loader script gets the fallback attributes only after a widget
# found no token.
FALLBACK_PAGE = ('<html><head><script src="/js/widget-loader.js"></script></head><body>'
                 '<rai-store-widget{m} community-id="c1"></rai-store-widget>\n'
                 '<rai-widget api-url="//evil.example"></rai-widget>\n'
                 '<rai-widget{m}></rai-widget>'
                 '<script{s} src="/js/widget-loader.js"></script></body></html>\n')


def test_fallback_when_the_api_is_down(httpd, standin):
    template = FALLBACK_PAGE.replace("{m}", MARK).replace("{s}", MARK)
    healthy = FALLBACK_PAGE.replace("{m}", MARK).replace("{s}", "")
    httpd.write("page.html", source(template))
    httpd.write("public/page.html", source(template))
    httpd.configure(site(httpd, standin, Cache="none", Fallback="attributes",
                         Timeout="0.5 1")).start()

    # healthy: a token in the widgets, no data-* attributes anywhere, the scripts untouched
    response = httpd.get("page.html", auth=ALICE)
    assert_page(response, healthy)
    assert b"data-customer-id" not in response.content

    standin.control(mode="down")
    for _ in range(2):          # the failure, then the back-off
        response = httpd.get("page.html", auth=ALICE)
        assert response.status_code == 200
        assert response.content == rendered(template, ' data-customer-id="alice"')
        assert "embed-token" not in response.text
        assert response.headers["Cache-Control"].startswith("private")
    # anonymous: nothing at all, API down or not
    assert httpd.get("public/page.html").content == rendered(template, "")
    assert httpd.notes() == ["fetched", "attributes", "attributes", "anonymous"]


def test_fallback_page_without_widgets_makes_no_token_request(httpd, standin):
    """docs/configuration.md: pages without a widget cause no token request - the embed script alone
    is none, in token mode with the fallback too; in attributes mode it gets the
    attributes (no token request there ever)."""
    page = ('<html><head><script src="/js/widget-loader.js"></script></head>'
            '<body><p>no widgets</p></body></html>\n')
    httpd.write("page.html", page)
    httpd.write("aa/page.html", page)
    httpd.configure(site(httpd, standin, "<Location /aa/>\n    RaiEmbedMode attributes\n"
                         "</Location>\n", Cache="none", Fallback="attributes")).start()
    for state in ("ok", "down"):
        standin.control(mode=state)
        assert httpd.get("page.html", auth=ALICE).content == page.encode()
    assert httpd.get("aa/page.html", auth=ALICE).content == page.replace(
        "<script", '<script data-customer-id="alice"').encode()
    assert token_requests(standin) == 0
    assert httpd.notes() == ["none", "none", "attributes"]


def test_no_fallback_by_default(httpd, standin):
    template = FALLBACK_PAGE.replace("{m}", "").replace("{s}", "")
    httpd.write("page.html", source(template))
    httpd.configure(site(httpd, standin, Cache="none", Timeout="0.5 1")).start()
    standin.control(mode="down")
    response = httpd.get("page.html", auth=ALICE)
    assert response.content == source(template)
    assert httpd.notes() == ["error"]


# ============================================ 4. scanner contexts against a real httpd

CONTEXTS = {
    # svg title is an HTML integration point, but no RCDATA: "<!--" opens a comment
    "svg-title-comment": '<svg><title><!--</title><rai-widget>--></title></svg>'
                         '<rai-widget{m}>',
    # in HTML the title is RCDATA: "</title>" ends it, the widget is real
    "html-title-comment": '<title><!--</title><rai-widget{m}>-->',
    # svg style is no raw text: </svg> ends the svg
    "svg-style": '<svg><style></svg><rai-widget{m}>',
    "svg-script": '<svg><script></svg><rai-widget{m}>',
    # script data double-escaped: the first </script> does not end the script
    "script-double-escaped": '<script><!-- <script> </script> <rai-widget> </script>'
                             '<rai-widget{m}>',
    "script-escaped": '<script><!-- </script><rai-widget{m}> -->',
    "script-escaped-dashes": '<script><!--<script>--></script><rai-widget{m}>',
    # HTML integration points: widgets inside are HTML elements
    "foreign-object": '<svg><foreignObject><rai-widget{m}></rai-widget></foreignObject>'
                      '</svg>',
    "svg-desc": '<svg><desc><rai-widget{m}></desc></svg>',
    "math-mi": '<math><mi><rai-widget{m}></mi></math>',
    "annotation-xml-html": '<math><annotation-xml encoding="text/html">'
                           '<rai-widget{m}></annotation-xml></math>',
    # elsewhere in foreign content a widget tag is an SVG/MathML element: not rewritten
    "svg-direct": '<svg><rai-widget></rai-widget></svg><rai-widget{m}>',
    "math-direct": '<math><rai-widget></rai-widget></math><rai-widget{m}>',
    "annotation-xml-plain": '<math><annotation-xml><rai-widget></annotation-xml></math>'
                            '<rai-widget{m}>',
    "svg-cdata": '<svg><![CDATA[ </svg><rai-widget> ]]></svg><rai-widget{m}>',
    "breakout": '<svg><g><p><rai-widget{m}></p>',
    "font-breakout": '<svg><font color="red"><rai-widget{m}>',
    "font-no-breakout": '<svg><font><rai-widget></font></svg><rai-widget{m}>',
    # template content is HTML
    "template": '<template><rai-widget{m} community-id="t"></rai-widget></template>',
    "template-nested": '<template><div><template><rai-store-widget{m}></template></div>'
                       '</template>',
    "comment": '<!-- <rai-widget> --><rai-widget{m}>',
    "comment-bang": '<!-- <rai-widget> --!><rai-widget{m}>',
    "textarea": '<textarea><rai-widget></textarea><rai-widget{m}>',
    "textarea-fake-end": '<textarea></textarea <rai-widget>></textarea><rai-widget{m}>',
    "style": '<style></style\n><rai-widget{m}>',
    "xmp": '<xmp><rai-widget></xmp><rai-widget{m}>',
    "noembed": '<noembed><rai-widget></noembed><rai-widget{m}>',
    "attribute-value": '<div title="<rai-widget>"><rai-widget{m}>',
    "cdata-in-html": '<![CDATA[<rai-widget>]]><rai-widget{m}>',   # a bogus comment to '>'
    # raw text inside integration points is HTML raw text again
    "svg-title-style": '<svg><title><style><rai-widget></style></title></svg><rai-widget{m}>',
    "mtext-script": '<math><mtext><script><rai-widget></script></mtext></math>'
                    '<rai-widget{m}>',
    "foreign-object-svg": '<svg><foreignObject><svg><rai-widget></svg></foreignObject>'
                          '</svg><rai-widget{m}>',
    "annotation-xml-xhtml": '<math><annotation-xml encoding="Application/XHTML+XML">'
                            '<rai-widget{m}></annotation-xml></math>',
    "annotation-xml-upper": "<math><annotation-xml encoding='TEXT/HTML'><rai-widget{m}>",
    "annotation-xml-other": '<math><annotation-xml encoding="text/htmlx"><rai-widget>'
                            '</annotation-xml></math><rai-widget{m}>',
    "svg-after-cdata": '<svg><![CDATA[x]]><rai-widget></svg><rai-widget{m}>',
    "svg-self-closing": '<svg/><rai-widget{m}>',
    "mi-svg": '<math><mi><svg><rai-widget></svg></mi></math><rai-widget{m}>',
    "nested-ips": '<svg><desc><svg><desc><rai-widget{m}>',
    "svg-end-space": '<svg></svg ><rai-widget{m}>',
    "svg-table-breakout": '<svg><table><rai-widget{m}>',
    "svg-end-p-breakout": '<svg><g></p><rai-widget{m}>',
    "math-br-breakout": '<math><br><rai-widget{m}>',
    # script data escapes
    "script-double-escape-ends": '<script>a<!--b<script>c</script>d--></script>'
                                 '<rai-widget{m}>',
    "script-escaped-widget": '<script><!--<script></script><rai-widget></script>'
                             '<rai-widget{m}>',
    "script-not-double": '<script><!--<scripts></script><rai-widget{m}>',
    "script-upper": '<SCRIPT><rai-widget></ScRiPt><rai-widget{m}>',
    # tags that look like widgets and are not
    "bogus-pi": '<?php <rai-widget> ?><rai-widget{m}>',
    "in-attribute-name": '<div <rai-widget>><rai-widget{m}>',
    "in-unquoted-value": '<a href=x<rai-widget>y</a><rai-widget{m}>',
    "glued-names": '<rai-widget<rai-widget>><rai-widget{m}>',
    "formfeed-end": '<rai-widget{m}\x0c>',
    "end-tag": '</rai-widget><rai-widget{m}>',
    "iframe": '<iframe><rai-widget></iframe><rai-widget{m}>',
    "noframes": '<noframes><rai-widget></noframes><rai-widget{m}>',
    "plaintext": '<rai-widget{m}><plaintext><rai-widget></plaintext><rai-widget>',
}


@pytest.mark.parametrize("split", ["", SPLIT, PASS, FLUSH],
                         ids=["whole", "split", "pass", "flush"])
def test_scanner_contexts(httpd, standin, split):
    pages = {name: ("<!DOCTYPE html><html><body>\n" + body + "\n</body></html>\n")
             .replace("{m}", MARK) for name, body in CONTEXTS.items()}
    prefix = "split/" if split else ""
    for name, template in pages.items():
        httpd.write(prefix + name + ".html",
                    source(interleave(template, split) if split else template))
    httpd.configure(site(httpd, standin)).start()

    failures = []
    for name, template in pages.items():
        response = httpd.get(prefix + name + ".html", auth=ALICE)
        expected = interleave(template, split) if split else template
        try:
            assert_page(response, expected)
        except AssertionError:
            failures.append("%s: %r" % (name, response.content))
    assert not failures, "\n".join(failures)


def test_attribute_names_are_escaped_in_the_log(httpd, standin):
    """The offending attribute's name comes from the page (from whoever could inject
    markup): control bytes in it reach the error log escaped, as any log item."""
    template = (GOOD + '<rai-widget x\x1b[2J\x07\x0b\x7f-url="//evil.example"></rai-widget>\n'
                '<rai-widget \u00e9\x01-url="//evil.example"></rai-widget>\n')
    httpd.write("page.html", source(template))
    httpd.configure(site(httpd, standin)).start()
    assert_page(httpd.get("page.html", auth=ALICE), template)
    raw = httpd.error_log_path.read_bytes()
    lines = [l for l in raw.split(b"\n") if b"RAI0039" in l]
    assert len(lines) == 2, raw[-2000:]
    for line in lines:
        assert not re.search(rb"[\x00-\x1f\x7f-\xff]", line), line


@pytest.mark.parametrize("hostile", ["script", "quote", "space"])
def test_fallback_on_a_hostile_token(httpd, standin, hostile):
    """A token that fails the shape check is a failure: attributes, never the token."""
    template = FALLBACK_PAGE.replace("{m}", MARK).replace("{s}", MARK)
    httpd.write("page.html", source(template))
    httpd.configure(site(httpd, standin, Cache="none", Fallback="attributes")).start()
    standin.control(mode="hostile", hostile=hostile)
    response = httpd.get("page.html", auth=ALICE)
    assert response.content == rendered(template, ' data-customer-id="alice"')
    assert httpd.notes() == ["attributes"]


@pytest.mark.expect_error(r"AH0161[78]|AH017\d\d")
@pytest.mark.parametrize("mode", ["attributes", "fallback"])
@pytest.mark.parametrize("source_kind", ["user", "expr=%{REMOTE_USER}"])
def test_failed_login_gets_no_attributes(httpd, standin, mode, source_kind):
    """docs/configuration.md: the same anonymity rule - a 401 and the ErrorDocument httpd serves
    for it (which inherits r->user of the failed login) name nobody, in attributes mode
    and in the fallback alike."""
    page = '<rai-store-widget community-id="c1"></rai-store-widget>\n'
    httpd.write("errors/401.html", "<h1>Please sign in</h1>" + page)
    httpd.write("page.html", page)
    conf = dict(Identifier="data-customer-id " + source_kind, Cache="none")
    if mode == "attributes":
        conf.update(Mode="attributes", AccessId=None, AccessKey=None)
    else:
        conf.update(Fallback="attributes")
        standin.control(mode="down")
    httpd.configure(site(httpd, standin, "ErrorDocument 401 /errors/401.html\n",
                         **conf)).start()

    refused = httpd.get("page.html", auth=("alice", "WRONG"))
    assert refused.status_code == 401
    assert "Please sign in" in refused.text
    assert "data-customer-id" not in refused.text
    assert "alice" not in refused.text
    accepted = httpd.get("page.html", auth=ALICE)
    assert 'data-customer-id="alice"' in accepted.text
    assert token_requests(standin) == (0 if mode == "attributes" else 1)


def test_held_tag_holds_back_only_the_tag(httpd, standin):
    """A backend that stops in the middle of a widget tag: what came before the tag
    reaches the client at once; the tag itself waits for its end (then no token: its
    URL is untrusted), and a later widget still gets one.  (The element name itself may go
    ahead: the inserted text would follow it.)"""
    import socket
    import time
    httpd.write("cgi-bin/slow.cgi",
                "#!/bin/sh\nprintf 'Content-Type: text/html\\r\\n\\r\\n'\n"
                "printf '%s' '<p>early</p><rai-widget community-id=\"x\"'\n"
                "sleep 1.5\n"
                "printf '%s' ' api-url=\"//evil.example\"></rai-widget><rai-widget></rai-widget>'\n")
    httpd.configure(site(httpd, standin)).start()
    credentials = __import__("base64").b64encode(b"alice:alice-pw").decode()
    sock = socket.create_connection(("127.0.0.1", httpd.port), timeout=10)
    arrivals = []
    try:
        sock.sendall(("GET /cgi-bin/slow.cgi HTTP/1.0\r\nHost: 127.0.0.1\r\n"
                      "Authorization: Basic %s\r\n\r\n" % credentials).encode())
        start = time.monotonic()
        while True:
            data = sock.recv(65536)
            if not data:
                break
            arrivals.append((time.monotonic() - start, data))
    finally:
        sock.close()
    httpd.requests_made += 1
    received, early_at, tag_at = b"", None, None
    for when, data in arrivals:
        received += data
        if early_at is None and b"<p>early</p>" in received:
            early_at = when
        if tag_at is None and b'community-id="x"' in received:
            tag_at = when
    assert early_at is not None and early_at < 1.2, arrivals
    assert tag_at >= 1.4, "the held tag was sent before its end: %r" % arrivals
    body = received.partition(b"\r\n\r\n")[2]
    token = the_token(body)
    assert body == ('<p>early</p><rai-widget community-id="x" api-url="//evil.example">'
                    '</rai-widget><rai-widget embed-token="%s"></rai-widget>' % token).encode()


def test_htaccess_token_mode_without_credentials(httpd, standin):
    """An Attribute Auth server (no credentials) whose .htaccess asks for token mode:
    served untouched with a warning (RAI0010) - or with the fallback's attributes."""
    page = '<rai-store-widget community-id="c1"></rai-store-widget>\n'
    httpd.write("t/page.html", page)
    httpd.write("t/.htaccess", "RaiEmbedMode token\n")
    httpd.write("f/page.html", page)
    httpd.write("f/.htaccess", "RaiEmbedMode token\nRaiEmbedFallback attributes\n")
    httpd.configure(attributes_site(httpd, standin)).start()
    assert httpd.get("t/page.html", auth=ALICE).content == page.encode()
    assert httpd.get("f/page.html", auth=ALICE).content == page.replace(
        "<rai-store-widget", '<rai-store-widget data-customer-id="alice"').encode()
    assert log_lines(httpd, "RAI0010")
    assert token_requests(standin) == 0
    assert httpd.notes() == ["error", "attributes"]


@pytest.mark.parametrize("directive", [
    "RaiEmbedTrustedHosts *", "RaiEmbedTrustedHosts https://example.com",
    "RaiEmbedTrustedHosts example.com:443", "RaiEmbedTrustedHosts example.com/x",
    "RaiEmbedTrustedHosts *example.com", "RaiEmbedTrustedHosts ex%41mple.com",
    "RaiEmbedTrustedHosts a..b", "RaiEmbedTrustedHosts user@example.com",
    "RaiEmbedScripts /a?b.js", "RaiEmbedScripts /a#b.js",
    "RaiEmbedMode tokens", "RaiEmbedFallback token"])
def test_bad_markup_directives_refused(httpd, standin, directive):
    httpd.configure(rai_conf(standin) + directive + "\n")
    rc, output = httpd.configtest()
    assert rc != 0, directive
    assert directive.split()[0] in output, output


@pytest.mark.parametrize("mode", ["attributes", "fallback"])
def test_other_scripts_are_no_untrusted_widgets(httpd, standin, mode):
    """A page's ordinary third-party scripts (analytics, a CDN's jQuery) are no embed
    scripts: they are left alone without a word, and the one warning per interval goes
    to the widget that really names an untrusted host."""
    template = ('<html><head>'
                '<script async src="https://www.googletagmanager.com/gtag/js?id=G-1"></script>'
                '<script src="//code.jquery.com/jquery-3.7.1.min.js"></script>'
                '</head><body><rai-widget api-url="//evil.example"></rai-widget>'
                '<rai-store-widget' + MARK + '></rai-store-widget></body></html>\n')
    httpd.write("page.html", source(template))
    conf = dict(Mode="attributes", AccessId=None, AccessKey=None) \
        if mode == "attributes" else dict(Fallback="attributes")
    httpd.configure(site(httpd, standin, **conf)).start()
    response = httpd.get("page.html", auth=ALICE)
    if mode == "attributes":
        assert response.content == rendered(template, ' data-customer-id="alice"')
    else:
        assert_page(response, template)
    lines = log_lines(httpd, "RAI0039")
    assert len(lines) == 1 and "[rai_embed:warn]" in lines[0], lines
    assert "api-url" in lines[0] and "<script>" not in lines[0], lines
