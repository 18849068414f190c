/* Licensed under the Apache License, Version 2.0; see the LICENSE file at
 * the top of this tree.
 */

/* Unit tests of rai_tag: reading one start tag's attributes, the URL host
 * checks, the trusted-host patterns and the embed script patterns.
 *
 * Every tag input is read whole, cut in two at every point, cut in three
 * at every pair of points (inputs up to 48 bytes) and fed one byte a
 * call (each byte in a buffer of its own, so ASan sees any read past it);
 * all must give the same result.
 *
 * Build and run (from the top of the tree):
 *   make tests/unit/test_tag.bin
 *   ASAN_OPTIONS=detect_leaks=1 ./tests/unit/test_tag.bin
 */

#include <check.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rai_tag.h"

static const char *const default_patterns[] = {
    "returning.ai", "*.returning.ai"
};
static const rai_hosts_t default_hosts = { default_patterns, 2 };

static rai_tag_t tag;   /* large: not on the stack */

/* ------------------------------------------------------------------ */
/* Helpers                                                             */

/* check's asserts record each passing point: too slow for the inner
 * loops, which check this way */
#define HOT_ASSERT(x) do { if (!(x)) ck_abort_msg("%s", #x); } while (0)

/* What a reading gave, as text: where it ended, how, whether trusted and
 * why not, and each kept attribute. */
typedef struct {
    char text[4 * RAI_TAG_STORE + 256];
} result_t;

static void result_add(result_t *r, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t at = strlen(r->text), i;

    for (i = 0; i < n && at + 5 < sizeof(r->text); i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c >= 0x7f || c == '\\') {
            r->text[at++] = '\\';
            r->text[at++] = 'x';
            r->text[at++] = hex[c >> 4];
            r->text[at++] = hex[c & 15];
        }
        else {
            r->text[at++] = (char)c;
        }
    }
    r->text[at] = '\0';
}

static void result_make(const rai_tag_t *t, size_t end, result_t *r)
{
    const char *bad = "-";
    char head[128];
    int trusted = rai_tag_urls_trusted(t, &default_hosts, &bad), i;

    snprintf(head, sizeof(head), "end=%zu done=%d overflow=%d trusted=%d "
             "bad=%s", end, rai_tag_done(t), rai_tag_overflow(t), trusted,
             trusted ? "-" : bad);
    r->text[0] = '\0';
    result_add(r, head, strlen(head));
    for (i = 0; i < t->count; i++) {
        const char *name = t->store + t->attrs[i].name;
        result_add(r, " ", 1);
        result_add(r, name, strlen(name));
        result_add(r, "=[", 2);
        result_add(r, t->store + t->attrs[i].value, t->attrs[i].value_len);
        result_add(r, "]", 1);
        /* the value is NUL-terminated after its bytes */
        HOT_ASSERT(t->store[t->attrs[i].value + t->attrs[i].value_len] == '\0');
    }
}

/* Feeds s in pieces cut at the cuts (ascending); returns where the tag
 * ended in s, or len. */
static size_t feed_cut(rai_tag_t *t, const char *s, size_t len,
                       const size_t *cuts, int ncuts)
{
    size_t start = 0, stop, used;
    int k;

    rai_tag_init(t);
    for (k = 0; k <= ncuts; k++) {
        stop = k < ncuts ? cuts[k] : len;
        used = rai_tag_feed(t, s + start, stop - start);
        if (rai_tag_done(t) || rai_tag_overflow(t)) {
            HOT_ASSERT(used <= stop - start);
            /* nothing more is read */
            HOT_ASSERT(rai_tag_feed(t, "x>", 2) == 0);
            return start + used;
        }
        HOT_ASSERT(used == stop - start);
        start = stop;
    }
    return len;
}

static size_t feed_bytes(rai_tag_t *t, const char *s, size_t len)
{
    size_t i, used;

    rai_tag_init(t);
    for (i = 0; i < len; i++) {
        char *one = malloc(1);
        *one = s[i];
        used = rai_tag_feed(t, one, 1);
        free(one);
        if (rai_tag_done(t) || rai_tag_overflow(t)) {
            HOT_ASSERT(used == 1);
            return i + 1;
        }
        HOT_ASSERT(used == 1);
    }
    return len;
}

/* Reads s every way; asserts they agree, leaves the whole reading in tag
 * and its result in *r. */
static void read_all_ways(const char *s, size_t len, result_t *r)
{
    static result_t other;
    size_t cuts[2], end;

    end = feed_bytes(&tag, s, len);
    result_make(&tag, end, &other);
    end = feed_cut(&tag, s, len, NULL, 0);
    result_make(&tag, end, r);
    if (strcmp(r->text, other.text)) {
        ck_abort_msg("byte by byte:\n%s\n%s", r->text, other.text);
    }
    for (cuts[0] = 0; cuts[0] <= len; cuts[0]++) {
        result_make(&tag, feed_cut(&tag, s, len, cuts, 1), &other);
        if (strcmp(r->text, other.text)) {
            ck_abort_msg("cut %zu:\n%s\n%s", cuts[0], r->text, other.text);
        }
        for (cuts[1] = cuts[0]; len <= 48 && cuts[1] <= len; cuts[1]++) {
            result_make(&tag, feed_cut(&tag, s, len, cuts, 2), &other);
            if (strcmp(r->text, other.text)) {
                ck_abort_msg("cuts %zu %zu:\n%s\n%s", cuts[0], cuts[1],
                             r->text, other.text);
            }
        }
    }
    /* leave the whole reading for the caller */
    feed_cut(&tag, s, len, NULL, 0);
}

/* Reads a C string; returns whether its URLs are trusted and checks the
 * tag ended where expected (0: not done). */
static int tag_trusted(const char *s, size_t expect_end, const char **bad)
{
    static result_t r;
    size_t len = strlen(s);

    read_all_ways(s, len, &r);
    if (expect_end) {
        ck_assert_msg(rai_tag_done(&tag), "not done: %s", s);
        ck_assert_msg(strstr(r.text, "end=") == r.text
                      && (size_t)atol(r.text + 4) == expect_end,
                      "%s: %s, expected end=%zu", s, r.text, expect_end);
    }
    else {
        ck_assert_msg(!rai_tag_done(&tag), "done: %s", s);
    }
    *bad = NULL;
    return rai_tag_urls_trusted(&tag, &default_hosts, bad);
}

/* A URL value tried in every quoting it can take. */
static void check_url(const char *url, int expect)
{
    char s[1024];
    const char *bad;
    int unquoted_ok = !strpbrk(url, " \t\n\r\f>\"'`=<") && *url;

    snprintf(s, sizeof(s), " community-id=\"c1\" api-url=\"%s\" x>", url);
    if (!strchr(url, '"')) {
        ck_assert_msg(tag_trusted(s, strlen(s), &bad) == expect,
                      "double-quoted %s", s);
        if (!expect) {
            ck_assert_str_eq(bad, "api-url");
        }
    }
    if (!strchr(url, '\'')) {
        snprintf(s, sizeof(s), "\nV2-API-URL='%s'/>", url);
        ck_assert_msg(tag_trusted(s, strlen(s), &bad) == expect,
                      "single-quoted %s", s);
        if (!expect) {
            ck_assert_str_eq(bad, "v2-api-url");
        }
    }
    if (unquoted_ok) {
        snprintf(s, sizeof(s), "\twidget-url=%s data-x=1>", url);
        ck_assert_msg(tag_trusted(s, strlen(s), &bad) == expect,
                      "unquoted %s", s);
    }
    ck_assert_msg(rai_hosts_url_trusted(&default_hosts, url, strlen(url))
                  == expect || strchr(url, '&'), "direct %s", url);
}

/* ------------------------------------------------------------------ */
/* URLs                                                                */

START_TEST(urls_untrusted)
{
    static const char *const attacks[] = {
        "https://evil.example",
        "https://evil.example/",
        "http://evil.example/x",
        "//evil.example",
        "//evil.example/widget.js",
        "\\\\evil.example",
        "/\\evil.example",
        "\\/evil.example",
        "https:\\\\evil.example",
        "https:/\\evil.example",
        "https:evil.example",
        "https:/evil.example",
        "https:///evil.example",
        "HTTPS://EVIL.example",
        "hTtPs://evil.EXAMPLE/",
        "https://returning.ai.evil.example",
        "https://evilreturning.ai",
        "https://returning.ai@evil.example",
        "https://returning.ai:443@evil.example",
        "https://user:returning.ai@evil.example/",
        "https://returning.ai%40evil.example",
        "https://returning.ai%2eevil.example",
        "https://evil.example#@returning.ai",
        "https://evil.example?@returning.ai",
        "https://evil.example\\@returning.ai",
        "https://evil.example/@returning.ai",
        "https&#58;//evil.example",
        "https&#x3a;//evil.example",
        "https&#X3A//evil.example",
        "https&colon;//evil.example",
        "&#x68;ttps://evil.example",
        "&#104&#116tps://evil.example",
        "&#x68ttps://evil.example",
        "&sol;/evil.example",
        "&sol;&sol;evil.example",
        "/&sol;evil.example",
        "&#47;&#47;evil.example",
        "&#x2F;&#x2f;evil.example",
        "&bsol;&bsol;evil.example",
        "https://returning.ai&commat;evil.example",
        "https://returning.ai&#64;evil.example",
        "https://evil.example&quest;.returning.ai",
        "https://evil.example&num;.returning.ai",
        "https://evil.example&sol;.returning.ai",
        "https://returning.ai&unknown;evil.example",
        "https://returning.ai&nbsp;.evil",
        "https&unknown;//returning.ai",
        "&unknown;//evil.example",
        "/&unknown;evil.example",
        "a&unknown;/",
        "\\&unknown;evil.example",
        "&Sol;/evil.example",
        "https://returning.ai&#0;.evil",
        "https://returning.ai&#x110000;",
        " https://evil.example",
        "  \t\n//evil.example",
        "https://evil.example ",
        "ht\tps://evil.example",
        "ht\ttps://evil.example",
        "https:/\t/evil.example",
        "/\t/evil.example",
        "https://returning.ai\t.evil.example",
        "https://returning.ai\n.evil.example",
        "https://returning.ai..",
        "https://.returning.ai",
        "https://returning.ai:443x/",
        "https://returning.ai:-1/",
        "https://returning.ai:443:80/",
        "https://",
        "https:",
        "https:///",
        "https://@/",
        "https://returning.ai@",
        "https://[::1]/",
        "https://[returning.ai]/",
        "https://[::1",
        "https://\xd0\xb5vil.example",
        "https://returning.\xef\xbd\x81i",
        "https://returning.ai&#xff41;",
        "ws://evil.example",
        "wss://evil.example/socket",
        "ftp://returning.ai/",
        "file:///etc/passwd",
        "blob:https://returning.ai/x",
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        "java&Tab;script:alert(1)",
        "javascript&colon;alert(1)",
        "data:text/html,<b>x</b>",
        "vbscript:msgbox",
        "returning.ai:443",
        "https://a;b.returning.ai/",
        "ws:;&amp;api.returning.ai.\\\\-",
        "https://a b.returning.ai/",
        "https://a*.returning.ai/",
        "https://a!.returning.ai/",
    };
    size_t i;

    for (i = 0; i < sizeof(attacks) / sizeof(*attacks); i++) {
        check_url(attacks[i], 0);
    }
}
END_TEST

START_TEST(urls_trusted)
{
    static const char *const good[] = {
        "https://api.returning.ai/x",
        "https://api-v2.returning.ai/v2/api",
        "https://returning.ai",
        "https://returning.ai/",
        "https://returning.ai:443/",
        "https://returning.ai:/",
        "https://returning.ai./x",
        "http://returning.ai/",
        "wss://socket.returning.ai/",
        "https://a_b-c.x.returning.ai/",
        "HTTPS://API.RETURNING.AI/X",
        "//cdn.returning.ai/widget.js",
        "\\\\cdn.returning.ai/widget.js",
        "https:\\\\api.returning.ai\\x",
        "https:api.returning.ai",
        "https://user@returning.ai/",
        "https://evil.example@returning.ai/",
        "https://returning.ai?x=@evil.example",
        "https://returning.ai/#@evil.example",
        "https://returning.ai/?next=https://evil.example",
        "https://returning.ai/path?a=1&b=2",
        "https://returning.ai/&unknown;",
        "https://returning.ai&quest;@evil.example",
        "https&colon;//api.returning.ai/",
        "&#x68;ttps://api.returning.ai/",
        "  https://returning.ai/  ",
        "\thttps://returning.ai/\n",
        "/relative",
        "/relative/path?q=1#f",
        "relative/path",
        "evil.example",
        "evil.example/path",
        "./x",
        "../x",
        "?q",
        "?q=//evil.example",
        "#frag",
        "",
        "&amp;x",
        "/x&unknown;//evil.example",
        "\\evil.example",
        "1&unknown;",
        "\\x&unknown;",
        "a b:c",
    };
    size_t i;

    for (i = 0; i < sizeof(good) / sizeof(*good); i++) {
        check_url(good[i], 1);
    }
}
END_TEST

START_TEST(url_controls)
{
    /* controls that a quoted value can carry, direct */
    static const char lead[] = "\x01\x1f https://evil.example";
    static const char nul_scheme[] = "https\0//returning.ai";
    static const char nul_host[] = "https://returning.ai\0.evil";
    static const char nul_path[] = "https://returning.ai/\0";
    static const char nul_first[] = "\0/evil.example";

    ck_assert(!rai_hosts_url_trusted(&default_hosts, lead, strlen(lead)));
    ck_assert(!rai_hosts_url_trusted(&default_hosts, nul_scheme,
                                     sizeof(nul_scheme) - 1));
    ck_assert(!rai_hosts_url_trusted(&default_hosts, nul_host,
                                     sizeof(nul_host) - 1));
    ck_assert(rai_hosts_url_trusted(&default_hosts, nul_path,
                                    sizeof(nul_path) - 1));
    ck_assert(!rai_hosts_url_trusted(&default_hosts, nul_first,
                                     sizeof(nul_first) - 1));
    ck_assert(!rai_hosts_url_trusted(&default_hosts, "\0", 1));
    /* no hosts at all: only same-site URLs */
    ck_assert(!rai_hosts_url_trusted(NULL, "https://returning.ai/", 21));
    ck_assert(rai_hosts_url_trusted(NULL, "/x", 2));
}
END_TEST

/* ------------------------------------------------------------------ */
/* Attributes                                                          */

START_TEST(attr_names)
{
    const char *bad;

    ck_assert(!tag_trusted(" API-URL=\"https://evil.example\">", 32, &bad));
    ck_assert_str_eq(bad, "api-url");
    ck_assert(!tag_trusted(" data-url=\"https://evil.example\">", 33, &bad));
    ck_assert_str_eq(bad, "data-url");
    ck_assert(!tag_trusted(" Auth-Url=//evil.example>", 25, &bad));
    ck_assert_str_eq(bad, "auth-url");
    ck_assert(!tag_trusted(" url=//evil.example>", 20, &bad));
    ck_assert(!tag_trusted(" bundle-url=//evil.example>", 27, &bad));
    ck_assert(!tag_trusted(" SRC=//evil.example/w.js>", 25, &bad));
    ck_assert_str_eq(bad, "src");
    /* names that do not end in url, or are not src */
    ck_assert(tag_trusted(" urlx=//evil.example>", 21, &bad));
    ck_assert(tag_trusted(" url-x=//evil.example>", 22, &bad));
    ck_assert(tag_trusted(" href=//evil.example>", 21, &bad));
    ck_assert(tag_trusted(" srcset=//evil.example>", 23, &bad));
    ck_assert(tag_trusted(" xsrc=//evil.example>", 21, &bad));
    ck_assert(tag_trusted(" data-src=//evil.example>", 25, &bad));
    /* a control inside makes another name */
    ck_assert(tag_trusted(" api-ur\x01l=//evil.example>", 25, &bad));
    /* '=' first starts a name, as in HTML */
    ck_assert(!tag_trusted(" =url=//evil.example>", 21, &bad));
    ck_assert_str_eq(bad, "=url");
    /* '"', '\'' and '<' are name characters */
    ck_assert(!tag_trusted(" \"url=//evil.example>", 21, &bad));
    ck_assert_str_eq(bad, "\"url");
    ck_assert(!tag_trusted(" <api-url=//evil.example>", 25, &bad));
}
END_TEST

START_TEST(attr_nul_in_name)
{
    static const char s[] = " api-url\0=//evil.example>";
    static result_t r;

    read_all_ways(s, sizeof(s) - 1, &r);
    ck_assert(rai_tag_done(&tag));
    ck_assert(rai_tag_urls_trusted(&tag, &default_hosts, NULL));
    ck_assert_ptr_null(rai_tag_value(&tag, "api-url", NULL));
}
END_TEST

START_TEST(attr_duplicates)
{
    const char *bad;

    ck_assert(tag_trusted(" api-url=\"https://returning.ai/\" "
                          "api-url=\"https://evil.example\">", 64, &bad));
    ck_assert(!tag_trusted(" api-url=\"https://evil.example\" "
                           "api-url=\"https://returning.ai/\">", 64, &bad));
    ck_assert(tag_trusted(" api-url=/x API-URL=//evil.example>", 35, &bad));
    ck_assert(tag_trusted(" src=/a.js src=//evil.example/b.js>", 35, &bad));
    /* a duplicate without a value still is the second */
    ck_assert(tag_trusted(" api-url api-url=//evil.example>", 32, &bad));
    ck_assert(!tag_trusted(" api-url=//evil.example api-url>", 32, &bad));
}
END_TEST

START_TEST(attr_syntax)
{
    const char *bad;
    size_t n;
    const char *v;

    ck_assert(tag_trusted(">", 1, &bad));
    ck_assert(tag_trusted("/>", 2, &bad));
    ck_assert(tag_trusted(" >", 2, &bad));
    ck_assert(tag_trusted("\r\n\f\t>", 5, &bad));
    /* after '/' attributes go on */
    ck_assert(!tag_trusted(" / api-url=\"https://evil.example\">", 34, &bad));
    ck_assert(!tag_trusted("/api-url=//evil.example>", 24, &bad));
    ck_assert(!tag_trusted(" a/api-url=//evil.example>", 26, &bad));
    ck_assert(!tag_trusted(" a=\"1\"/api-url=//evil.example>", 30, &bad));
    /* no space after a quoted value */
    ck_assert(!tag_trusted(" a=\"x\"api-url=\"//evil.example\">", 31, &bad));
    ck_assert(!tag_trusted(" a='x'api-url='//evil.example'>", 31, &bad));
    /* '>' in a quoted value does not end the tag */
    ck_assert(!tag_trusted(" title=\"a>b\" api-url=\"https://evil.example\">",
                           44, &bad));
    ck_assert(!tag_trusted(" title='>' api-url=//evil.example>", 34, &bad));
    /* ... but ends an unquoted one, and '/' is part of it */
    ck_assert(!tag_trusted(" api-url=//evil.example/>", 25, &bad));
    ck_assert_ptr_nonnull(v = rai_tag_value(&tag, "api-url", &n));
    ck_assert_str_eq(v, "//evil.example/");
    ck_assert(tag_trusted(" api-url=/x>api-url=//evil.example>", 12, &bad));
    /* quotes inside an unquoted value are just characters */
    ck_assert(tag_trusted(" api-url=/x\"y'z`<= a>", 21, &bad));
    ck_assert_str_eq(rai_tag_value(&tag, "api-url", NULL), "/x\"y'z`<=");
    /* the other quote inside a quoted value */
    ck_assert(tag_trusted(" api-url=\"/a'b\" x='\"'>", 22, &bad));
    ck_assert_str_eq(rai_tag_value(&tag, "api-url", NULL), "/a'b");
    /* spaces around '=' */
    ck_assert(!tag_trusted(" api-url \t= \n\"//evil.example\">", 30, &bad));
    /* no value, an empty value, '=' then '>' */
    ck_assert(tag_trusted(" api-url>", 9, &bad));
    ck_assert(tag_trusted(" api-url=\"\">", 12, &bad));
    ck_assert(tag_trusted(" api-url= >", 11, &bad));
    ck_assert_str_eq(rai_tag_value(&tag, "api-url", NULL), "");
    /* unfinished tags are never trusted */
    ck_assert(!tag_trusted(" api-url=\"/x' >", 0, &bad));
    ck_assert_str_eq(bad, "(unfinished tag)");
    ck_assert(!tag_trusted(" api-url=/x", 0, &bad));
    ck_assert(!tag_trusted("", 0, &bad));
}
END_TEST

START_TEST(attr_values_decoded)
{
    const char *bad, *v;
    size_t n;

    ck_assert(tag_trusted(" src=\"&lt;&gt;&amp;&quot;&apos;&Tab;&NewLine;"
                          "&bsol;&colon;&sol;&period;&quest;&num;&commat;\">",
                          93, &bad));
    v = rai_tag_src(&tag, &n);
    ck_assert_uint_eq(n, 14);
    ck_assert(!memcmp(v, "<>&\"'\t\n\\:/.?#@", 14));
    /* numeric, with and without ';', and the replacements */
    ck_assert(tag_trusted(" src='&#65;&#x42&#X43;&#0;&#x110000;&#xD800;"
                          "&#99999999999999999999;&#x00041'>", 77, &bad));
    v = rai_tag_src(&tag, &n);
    ck_assert_uint_eq(n, 3 + 4 * 3 + 1);
    ck_assert(!memcmp(v, "ABC\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
                      "\xef\xbf\xbd" "A", n));
    ck_assert(tag_trusted(" src=&#xe9;&#x20ac;&#x1f600;>", 29, &bad));
    ck_assert_str_eq(rai_tag_src(&tag, NULL),
                     "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
    /* what is no reference stays as it is */
    ck_assert(tag_trusted(" src=\"& &# &#x &#xg &#; a&\">", 28, &bad));
    ck_assert_str_eq(rai_tag_src(&tag, NULL), "& &# &#x &#xg &#; a&");
    ck_assert(tag_trusted(" src=&#X>", 9, &bad));
    ck_assert_str_eq(rai_tag_src(&tag, NULL), "&#X");
    /* legacy names without ';', but not before '=' or an alphanumeric */
    ck_assert(tag_trusted(" src=\"&amp &lt/&gt.&quot-&AMP\">", 31, &bad));
    ck_assert_str_eq(rai_tag_src(&tag, NULL), "& </>.\"-&");
    /* (a NUL first: could be a slash, so not trusted) */
    ck_assert(!tag_trusted(" src=\"&amp=&ampx&colon&nbsp;&unknown;\">", 39,
                           &bad));
    v = rai_tag_src(&tag, &n);
    ck_assert_uint_eq(n, 6);
    ck_assert(!memcmp(v, "\0=\0\0\0\0", 6));
    /* a reference that ends the value */
    ck_assert(tag_trusted(" src=&amp>", 10, &bad));
    ck_assert_str_eq(rai_tag_src(&tag, NULL), "&");
    ck_assert(tag_trusted(" src=&#65>", 10, &bad));
    ck_assert_str_eq(rai_tag_src(&tag, NULL), "A");
    ck_assert(tag_trusted(" src=\"&#65\">", 12, &bad));
    ck_assert_str_eq(rai_tag_src(&tag, NULL), "A");
    ck_assert(!tag_trusted(" src='&foo'>", 12, &bad));
    ck_assert_ptr_nonnull(v = rai_tag_src(&tag, &n));
    ck_assert_uint_eq(n, 1);
    ck_assert_int_eq(v[0], '\0');
    /* an over-long name */
    ck_assert(!tag_trusted(" src=\"&CounterClockwiseContourIntegralXYZ;x\">",
                           45, &bad));
    v = rai_tag_src(&tag, &n);
    ck_assert_uint_eq(n, 2);
    ck_assert(!memcmp(v, "\0x", 2));
    /* a NUL in the markup is U+FFFD */
    {
        static const char s[] = " src=\"a\0b\">";
        static result_t r;
        read_all_ways(s, sizeof(s) - 1, &r);
        ck_assert_str_eq(rai_tag_src(&tag, NULL), "a\xef\xbf\xbd" "b");
    }
    ck_assert_ptr_null(rai_tag_value(&tag, "href", NULL));
}
END_TEST

START_TEST(attr_limits)
{
    static char s[RAI_TAG_LIMIT + 64];
    const char *bad;
    static result_t r;
    size_t i, at;
    char name[16];

    /* 16 URL attributes are kept, a 17th is not: fail closed */
    for (i = 0, at = 0; i < RAI_TAG_KEEP_MAX; i++) {
        at += (size_t)snprintf(s + at, sizeof(s) - at, " a%zu-url=/x", i);
    }
    strcpy(s + at, ">");
    ck_assert(tag_trusted(s, at + 1, &bad));
    snprintf(s + at, sizeof(s) - at, " b-url=/x>");
    ck_assert(!tag_trusted(s, strlen(s), &bad));
    ck_assert_str_eq(bad, "(too many URL attributes)");
    /* duplicates and other attributes do not count */
    snprintf(s + at, sizeof(s) - at, " a0-url=/x title=t>");
    ck_assert(tag_trusted(s, strlen(s), &bad));

    /* a URL attribute name over RAI_TAG_NAME_MAX */
    memset(s, 0, sizeof(s));
    s[0] = ' ';
    memset(s + 1, 'n', RAI_TAG_NAME_MAX);
    strcpy(s + 1 + RAI_TAG_NAME_MAX, "-url=/x>");
    ck_assert(!tag_trusted(s, strlen(s), &bad));
    ck_assert_str_eq(bad, "(over-long URL attribute name)");
    strcpy(s + 1 + RAI_TAG_NAME_MAX, "-uri=/x>");
    ck_assert(tag_trusted(s, strlen(s), &bad));
    /* exactly RAI_TAG_NAME_MAX is kept */
    memset(s + 1, 'n', RAI_TAG_NAME_MAX - 3);
    strcpy(s + 1 + RAI_TAG_NAME_MAX - 3, "url=//evil.example>");
    ck_assert(!tag_trusted(s, strlen(s), &bad));
    ck_assert_uint_eq(strlen(bad), RAI_TAG_NAME_MAX);

    /* a tag of RAI_TAG_LIMIT bytes ends; one more byte is an overflow */
    memset(s, 0, sizeof(s));
    strcpy(s, " title=\"");
    memset(s + 8, 't', RAI_TAG_LIMIT - 10);
    strcpy(s + RAI_TAG_LIMIT - 2, "\">");
    ck_assert_uint_eq(strlen(s), RAI_TAG_LIMIT);
    read_all_ways(s, RAI_TAG_LIMIT, &r);
    ck_assert(rai_tag_done(&tag));
    ck_assert(!rai_tag_overflow(&tag));
    strcpy(s + RAI_TAG_LIMIT - 2, "t\">");
    read_all_ways(s, RAI_TAG_LIMIT + 1, &r);
    ck_assert(!rai_tag_done(&tag));
    ck_assert(rai_tag_overflow(&tag));
    ck_assert_str_eq(r.text, "end=8192 done=0 overflow=1 trusted=0 "
                     "bad=(tag too long)");

    /* values too long for the store: U+FFFD triples a NUL */
    memset(s, 0, sizeof(s));
    strcpy(s, " src=\"");
    strcpy(s + RAI_TAG_LIMIT / 2, "\">");
    read_all_ways(s, RAI_TAG_LIMIT / 2 + 2, &r);
    ck_assert(rai_tag_done(&tag));
    ck_assert(!rai_tag_urls_trusted(&tag, &default_hosts, &bad));
    ck_assert_str_eq(bad, "(attribute values too long)");
    ck_assert_ptr_null(rai_tag_src(&tag, NULL));
    (void)name;
}
END_TEST

/* ------------------------------------------------------------------ */
/* Patterns                                                            */

START_TEST(hosts_match)
{
    static const char *const p[] = { "Returning.AI", "*.cdn.example",
                                     "[::1]" };
    static const rai_hosts_t h = { p, 3 };

    ck_assert(rai_hosts_match(&h, "returning.ai", 12));
    ck_assert(rai_hosts_match(&h, "RETURNING.ai", 12));
    ck_assert(!rai_hosts_match(&h, "api.returning.ai", 16));
    ck_assert(!rai_hosts_match(&h, "returning.a", 11));
    ck_assert(!rai_hosts_match(&h, "cdn.example", 11));
    ck_assert(!rai_hosts_match(&h, ".cdn.example", 12));
    ck_assert(rai_hosts_match(&h, "a.cdn.example", 13));
    ck_assert(rai_hosts_match(&h, "x.y.CDN.example", 15));
    ck_assert(!rai_hosts_match(&h, "xcdn.example", 12));
    ck_assert(rai_hosts_match(&h, "[::1]", 5));
    ck_assert(!rai_hosts_match(&h, "[::2]", 5));
    ck_assert(rai_hosts_url_trusted(&h, "http://[::1]:8080/x", 19));
    ck_assert(!rai_hosts_url_trusted(&h, "http://[0::1]/x", 15));
    ck_assert(!rai_hosts_url_trusted(&h, "http://[::1]x/", 14));
    ck_assert(!rai_hosts_url_trusted(&h, "http://[::1%25eth0]/", 20));
    ck_assert(!rai_hosts_match(NULL, "returning.ai", 12));
}
END_TEST

START_TEST(hosts_pattern_check)
{
    static const char *const good[] = {
        "returning.ai", "*.returning.ai", "localhost", "a", "A-b_c.D9",
        "[::1]", "[2001:db8::1]", "[::ffff:127.0.0.1]", "*.a",
    };
    static const char *const bad[] = {
        "", "*", "*.", "**.x", "*x", "x.*", "a.*.b", ".returning.ai",
        "returning.ai.", "a..b", "https://returning.ai", "returning.ai/",
        "returning.ai:443", "user@returning.ai", "ex ample", "[::1",
        "[]", "[::g]", "*.[::1]", "caf\xc3\xa9.example", "a%2e", "\t",
    };
    char long_name[300];
    size_t i;

    for (i = 0; i < sizeof(good) / sizeof(*good); i++) {
        ck_assert_msg(!rai_hosts_pattern_check(good[i]), "%s", good[i]);
    }
    for (i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        ck_assert_msg(rai_hosts_pattern_check(bad[i]) != NULL, "%s", bad[i]);
    }
    ck_assert_ptr_nonnull(rai_hosts_pattern_check(NULL));
    memset(long_name, 'a', 64);
    long_name[64] = '\0';
    ck_assert_ptr_nonnull(rai_hosts_pattern_check(long_name));
    long_name[63] = '\0';
    ck_assert_ptr_null(rai_hosts_pattern_check(long_name));
    for (i = 0; i < 254; i++) {
        long_name[i] = i % 2 ? '.' : 'a';
    }
    long_name[254] = '\0';
    ck_assert_ptr_nonnull(rai_hosts_pattern_check(long_name)); /* ends '.' */
    long_name[253] = '\0';
    ck_assert_ptr_null(rai_hosts_pattern_check(long_name));
    long_name[253] = 'a';
    long_name[254] = '\0';
    ck_assert_ptr_nonnull(rai_hosts_pattern_check(long_name)); /* 254 */
}
END_TEST

START_TEST(scripts_match)
{
    static const char *const def[] = { "*/widget-loader.js" };
    static const char *const several[] = {
        "/static/*.js", "https://cdn.returning.ai/*/loader.js", "exact.js",
        "*a*b*c*"
    };
    static const struct {
        const char *src;
        int def, several;
    } cases[] = {
        { "/widget-loader.js", 1, 0 },
        { "/js/widget-loader.js", 1, 0 },
        { "https://cdn.returning.ai/v1/widget-loader.js", 1, 0 },
        { "//cdn.example/widget-loader.js?v=3#x", 1, 0 },
        { "a/widget-loader.js", 1, 0 },
        { "  /widget-loader.js\n", 1, 0 },
        { "/widget-\tloader.js", 1, 0 },
        { "\\js\\widget-loader.js", 1, 0 },
        { "widget-loader.js", 0, 0 },
        { "/widget-loader.js.map", 0, 0 },
        { "/Widget-Loader.js", 0, 0 },
        { "/widget-loader.jsx", 0, 0 },
        { "/x?/widget-loader.js", 0, 0 },
        { "/x#/widget-loader.js", 0, 0 },
        { "", 0, 0 },
        { "/static/app.js", 0, 1 },
        { "/static/a/b.js?x", 0, 1 },
        { "/static/.js", 0, 1 },
        { "/staticx.js", 0, 0 },
        { "https://cdn.returning.ai/v2/loader.js", 0, 1 },
        { "https://cdn.returning.ai/loader.js", 0, 0 },
        { "exact.js", 0, 1 },
        { "/exact.js", 0, 0 },
        { "xxaxxbxxcxx", 0, 1 },
        { "cba", 0, 0 },
    };
    static const char nul[] = "/x\0/widget-loader.js";
    static const char nul_query[] = "/widget-loader.js?\0";
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        size_t n = strlen(cases[i].src);
        ck_assert_msg(rai_scripts_match(cases[i].src, n, def, 1)
                      == cases[i].def, "default %s", cases[i].src);
        ck_assert_msg(rai_scripts_match(cases[i].src, n, several, 4)
                      == cases[i].several, "several %s", cases[i].src);
    }
    ck_assert(!rai_scripts_match(nul, sizeof(nul) - 1, def, 1));
    ck_assert(rai_scripts_match(nul_query, sizeof(nul_query) - 1, def, 1));
    ck_assert(!rai_scripts_match(NULL, 0, def, 1));
    ck_assert(!rai_scripts_match("/widget-loader.js", 17, def, 0));
}
END_TEST

START_TEST(scripts_from_tag)
{
    static const char *const def[] = { "*/widget-loader.js" };
    const char *bad, *src;
    size_t n;

    ck_assert(tag_trusted(" src=\"https://cdn.returning.ai/widget-loader.js\" "
                          "data-community-id=c1 defer>", 76, &bad));
    src = rai_tag_src(&tag, &n);
    ck_assert(rai_scripts_match(src, n, def, 1));
    /* decoded before the match */
    ck_assert(tag_trusted(" src=/js&sol;widget-loader&period;js>", 37, &bad));
    src = rai_tag_src(&tag, &n);
    ck_assert(rai_scripts_match(src, n, def, 1));
    /* an unknown reference in the path: no match */
    ck_assert(tag_trusted(" src=/js/widget-loader&xjs;js>", 30, &bad));
    src = rai_tag_src(&tag, &n);
    ck_assert(!rai_scripts_match(src, n, def, 1));
    /* an untrusted host is the other check's to refuse */
    ck_assert(!tag_trusted(" src=https://evil.example/widget-loader.js>", 43,
                           &bad));
    src = rai_tag_src(&tag, &n);
    ck_assert(rai_scripts_match(src, n, def, 1));
    /* no src */
    ck_assert(tag_trusted(" async>", 7, &bad));
    ck_assert_ptr_null(rai_tag_src(&tag, &n));
}
END_TEST

START_TEST(scripts_pattern_check)
{
    ck_assert_ptr_null(rai_scripts_pattern_check("*/widget-loader.js"));
    ck_assert_ptr_null(rai_scripts_pattern_check("/a/b.js"));
    ck_assert_ptr_null(rai_scripts_pattern_check("*"));
    ck_assert_ptr_nonnull(rai_scripts_pattern_check(""));
    ck_assert_ptr_nonnull(rai_scripts_pattern_check(NULL));
    ck_assert_ptr_nonnull(rai_scripts_pattern_check("a b"));
    ck_assert_ptr_nonnull(rai_scripts_pattern_check("a\tb"));
    ck_assert_ptr_nonnull(rai_scripts_pattern_check("*.js?v=1"));
    ck_assert_ptr_nonnull(rai_scripts_pattern_check("*.js#x"));
}
END_TEST

static Suite *tag_suite(void)
{
    Suite *s = suite_create("rai_tag");
    TCase *tc;

    tc = tcase_create("urls");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, urls_untrusted);
    tcase_add_test(tc, urls_trusted);
    tcase_add_test(tc, url_controls);
    suite_add_tcase(s, tc);

    tc = tcase_create("attributes");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, attr_names);
    tcase_add_test(tc, attr_nul_in_name);
    tcase_add_test(tc, attr_duplicates);
    tcase_add_test(tc, attr_syntax);
    tcase_add_test(tc, attr_values_decoded);
    tcase_add_test(tc, attr_limits);
    suite_add_tcase(s, tc);

    tc = tcase_create("patterns");
    tcase_add_test(tc, hosts_match);
    tcase_add_test(tc, hosts_pattern_check);
    tcase_add_test(tc, scripts_match);
    tcase_add_test(tc, scripts_from_tag);
    tcase_add_test(tc, scripts_pattern_check);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr;
    int failed;

    sr = srunner_create(tag_suite());
    /* ASan and fork() do not mix well */
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
