/* Licensed under the Apache License, Version 2.0; see the LICENSE file at
 * the top of this tree.
 */

/* rai_tag: reads the attributes of one start tag, incrementally and
 * bounded, and checks the URLs they name (docs/configuration.md).
 *
 * When rai_scan reports a widget, the filter feeds the rest of that start
 * tag - from the byte just after the element name, in any split down to
 * one byte a call - to rai_tag_feed() until it reports the '>' that ends
 * the tag.  The parser follows the WHATWG tokenizer (§13.2.5.32 to .40:
 * before attribute name, attribute name, after attribute name, before
 * attribute value, the three value states, after attribute value (quoted),
 * self-closing start tag) and the character reference states inside
 * values.  It knows nothing of httpd or APR, allocates nothing, and gives
 * the same answer however the input is split.
 *
 * It keeps the decoded values of the attributes that matter: every one
 * whose name ends in "url" (ASCII case-insensitive: api-url, v2-api-url,
 * widget-url, ...) and "src".  The first of duplicate names wins, as in
 * HTML.  Character references are decoded as a browser does: numeric ones
 * with or without ';', and the named ones that give ASCII punctuation
 * (&amp; &colon; &sol; &period; &quot; &apos; &lt; &gt; &Tab; &NewLine;
 * &bsol; &quest; &num; &commat; ...).  Any other named reference is kept
 * as one NUL byte, "some character we do not know": the URL checks below
 * fail closed on it wherever it could change the host.  (A NUL in the
 * markup itself is U+FFFD, as in HTML, so a NUL in a value is always such
 * a reference.)
 */
#ifndef RAI_TAG_H
#define RAI_TAG_H

#include <stddef.h>

/* Bytes of one tag (after the element name) we read at most: a widget's
 * tag is far shorter, and the filter holds the tag back while it reads. */
#define RAI_TAG_LIMIT     8192
/* URL-valued attributes kept per tag; a tag with more is not trusted. */
#define RAI_TAG_KEEP_MAX  16
/* Attribute names kept whole; longer URL-valued names are not trusted. */
#define RAI_TAG_NAME_MAX  64
/* Room for the kept names and decoded values. */
#define RAI_TAG_STORE     RAI_TAG_LIMIT
/* The longest named character reference (without '&' and ';'). */
#define RAI_TAG_REF_MAX   32

/* Trusted hosts, as RaiEmbedTrustedHosts gives them: "returning.ai" is
 * that host, "*.returning.ai" any of its subdomains but not itself, "[::1]"
 * that IPv6 literal.  ASCII case-insensitive. */
typedef struct {
    const char *const *patterns;
    int count;
} rai_hosts_t;

typedef struct {
    size_t name;                /* offset in store, NUL-terminated */
    size_t value;               /* offset in store */
    size_t value_len;
} rai_tag_attr_t;

typedef struct {
    unsigned int state;
    unsigned int value_state;   /* the value state a reference returns to */
    unsigned int done;          /* the '>' that ends the tag was read */
    unsigned int overflow;      /* RAI_TAG_LIMIT bytes and no '>' */
    const char *lost;           /* why the kept values are incomplete */
    size_t consumed;

    /* the attribute name being read: lowercase, first RAI_TAG_NAME_MAX
     * bytes, and the last three bytes for the "url" test */
    char name[RAI_TAG_NAME_MAX];
    size_t name_len;
    char name_tail[3];
    int current;                /* kept attribute being read, or -1 */

    /* the character reference being read */
    char ref[RAI_TAG_REF_MAX + 2];
    size_t ref_len;
    unsigned long ref_code;

    rai_tag_attr_t attrs[RAI_TAG_KEEP_MAX];
    int count;
    size_t store_len;
    char store[RAI_TAG_STORE];
} rai_tag_t;

void rai_tag_init(rai_tag_t *tag);

/* Reads buf[0..len) of the tag.  Returns the offset just after the '>'
 * that ends the tag, or len when the tag goes on.  After RAI_TAG_LIMIT
 * bytes without that '>' it stops, returns how many bytes of buf it read
 * and rai_tag_overflow() says so.  Once done or overflowed it reads
 * nothing more (returns 0). */
size_t rai_tag_feed(rai_tag_t *tag, const char *buf, size_t len);

int rai_tag_done(const rai_tag_t *tag);
int rai_tag_overflow(const rai_tag_t *tag);

/* The decoded value of the first src attribute (len bytes, NUL-terminated
 * after them, may hold NUL bytes, see above), or NULL if there is none or
 * the tag is not done or lost values (rai_tag_urls_trusted() says why). */
const char *rai_tag_src(const rai_tag_t *tag, size_t *len);

/* The decoded value of the first attribute of that lowercase name, if the
 * tag kept it (names ending in "url", and "src"); NULL otherwise, as
 * rai_tag_src(). */
const char *rai_tag_value(const rai_tag_t *tag, const char *name,
                          size_t *len);

/* Whether every kept attribute (all whose names end in "url", and src)
 * names only trusted hosts (rai_hosts_url_trusted).  False for a tag not
 * done, overflowed or with values it could not keep; *bad (if bad is not
 * NULL) is then set to the first offending attribute's name, or to a
 * short reason in parentheses, for the log. */
int rai_tag_urls_trusted(const rai_tag_t *tag, const rai_hosts_t *trusted,
                         const char **bad);

/* Whether a decoded attribute value is a URL a browser would send only to
 * this site or to a trusted host:
 *   - leading and trailing bytes 0x01..0x20 are stripped, tab, LF and CR
 *     removed anywhere (the URL parser does the same);
 *   - no scheme ([A-Za-z][A-Za-z0-9+.-]*:) and not starting with two of
 *     '/' or '\': a same-site relative URL, trusted;
 *   - scheme http, https, ws or wss, or starting with two slashes: then
 *     '\' counts as '/', any number of slashes is skipped, the authority
 *     runs to the first '/', '\', '?', '#'; what runs to its last '@' is
 *     user info and skipped; the host runs to the port's ':'; the port must
 *     be digits; one trailing '.' of the host is dropped; the host must
 *     then match a pattern of trusted;
 *   - anything else is not trusted: any other scheme (javascript:,
 *     data:, ...), an empty host, a host with any byte but letters,
 *     digits, '-', '_' and '.' ('%', non-ASCII, ...), an IPv6 literal
 *     not listed as such, a NUL (unknown reference) where it
 *     could be part of the scheme, the leading slashes or the authority. */
int rai_hosts_url_trusted(const rai_hosts_t *trusted, const char *url,
                          size_t len);

/* Whether host (len bytes, no trailing dot, any case) matches a pattern. */
int rai_hosts_match(const rai_hosts_t *trusted, const char *host,
                    size_t len);

/* NULL when pattern is a valid RaiEmbedTrustedHosts entry - a host name of
 * letters, digits, '-' and '_' in dot-separated labels (at most 253
 * bytes, labels of at most 63), optionally after "*.", or an IPv6 literal
 * in brackets - else why not, for the directive's error message. */
const char *rai_hosts_pattern_check(const char *pattern);

/* Whether a script's decoded src value matches one of the RaiEmbedScripts
 * patterns.  The path of the value is matched: src after the same
 * stripping as rai_hosts_url_trusted(), '\' taken as '/', cut at the first
 * '?' or '#'.  A pattern matches the whole of it, byte for byte (case
 * matters, as in paths), where '*' matches any run of bytes, '/' included,
 * or none.  So the default, '*' then "/widget-loader.js", matches
 * "/js/widget-loader.js", "https://cdn.example/widget-loader.js" and
 * "a/widget-loader.js" but not "widget-loader.js" nor
 * "/widget-loader.js.map".  A path holding a NUL
 * (an unknown reference) matches nothing.  Whether the host is trusted is
 * a question for rai_hosts_url_trusted(). */
int rai_scripts_match(const char *src, size_t len,
                      const char *const *patterns, int count);

/* NULL when pattern is a valid RaiEmbedScripts entry (not empty, no
 * whitespace, control, '?' or '#'), else why not. */
const char *rai_scripts_pattern_check(const char *pattern);

#endif
