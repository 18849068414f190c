/* Licensed under the Apache License, Version 2.0; see the LICENSE file at
 * the top of this tree.
 */

#include <stddef.h>
#include <string.h>

#include "rai_tag.h"

/* The tokenizer states we follow (WHATWG §13.2.5), and those of a
 * character reference inside an attribute value. */
enum {
    RAI_TAG_BEFORE_NAME = 0,
    RAI_TAG_NAME,
    RAI_TAG_AFTER_NAME,
    RAI_TAG_BEFORE_VALUE,
    RAI_TAG_VALUE_DQ,
    RAI_TAG_VALUE_SQ,
    RAI_TAG_VALUE_UNQ,
    RAI_TAG_AFTER_QUOTED,
    RAI_TAG_SELF_CLOSING,
    RAI_TAG_REF,            /* just after '&' */
    RAI_TAG_REF_NAMED,
    RAI_TAG_REF_NUM,        /* just after "&#" */
    RAI_TAG_REF_HEX_START,  /* just after "&#x" */
    RAI_TAG_REF_HEX,
    RAI_TAG_REF_DEC
};

/* Replacement character: a NUL in the markup, a bad numeric reference. */
static const char rai_tag_fffd[] = "\xef\xbf\xbd";

/* Named references we decode: those that give ASCII punctuation, the only
 * ones that can move a URL's host.  Case matters in HTML's names; legacy
 * ones count without ';' too. */
static const struct {
    const char *name;
    char c;
    char legacy;
} rai_tag_refs[] = {
    { "amp", '&', 1 }, { "AMP", '&', 1 }, { "lt", '<', 1 },
    { "LT", '<', 1 }, { "gt", '>', 1 }, { "GT", '>', 1 },
    { "quot", '"', 1 }, { "QUOT", '"', 1 },
    { "apos", '\'', 0 }, { "colon", ':', 0 }, { "sol", '/', 0 },
    { "bsol", '\\', 0 }, { "period", '.', 0 }, { "Tab", '\t', 0 },
    { "NewLine", '\n', 0 }, { "quest", '?', 0 }, { "num", '#', 0 },
    { "commat", '@', 0 }, { "percnt", '%', 0 }, { "excl", '!', 0 },
    { "dollar", '$', 0 }, { "lpar", '(', 0 }, { "rpar", ')', 0 },
    { "ast", '*', 0 }, { "plus", '+', 0 }, { "comma", ',', 0 },
    { "semi", ';', 0 }, { "equals", '=', 0 }, { "lsqb", '[', 0 },
    { "lbrack", '[', 0 }, { "rsqb", ']', 0 }, { "rbrack", ']', 0 },
    { "Hat", '^', 0 }, { "lowbar", '_', 0 }, { "grave", '`', 0 },
    { "lcub", '{', 0 }, { "lbrace", '{', 0 }, { "verbar", '|', 0 },
    { "vert", '|', 0 }, { "rcub", '}', 0 }, { "rbrace", '}', 0 }
};

static int rai_tag_is_space(unsigned char c)
{
    /* CR too: the input stream turns it into LF before the tokenizer */
    return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r';
}

static int rai_tag_is_alnum(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z')
           || (c >= 'A' && c <= 'Z');
}

static int rai_tag_hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

static unsigned char rai_tag_lower(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
}

void rai_tag_init(rai_tag_t *tag)
{
    /* the store is written before it is read: no need to clear 8 KiB */
    memset(tag, 0, offsetof(rai_tag_t, store));
    tag->state = RAI_TAG_BEFORE_NAME;
    tag->current = -1;
}

int rai_tag_done(const rai_tag_t *tag)
{
    return tag->done;
}

int rai_tag_overflow(const rai_tag_t *tag)
{
    return tag->overflow;
}

/* A value ends where the next attribute starts or the tag ends: step over
 * the NUL that follows it. */
static void rai_tag_attr_close(rai_tag_t *tag)
{
    if (tag->current >= 0) {
        tag->store_len++;
        tag->current = -1;
    }
}

/* Appends to the value of the kept attribute being read, if any, keeping
 * a NUL after it. */
static void rai_tag_emit(rai_tag_t *tag, const char *bytes, size_t n)
{
    if (tag->current < 0) {
        return;
    }
    if (tag->store_len + n + 1 > RAI_TAG_STORE) {
        tag->lost = "(attribute values too long)";
        rai_tag_attr_close(tag);
        return;
    }
    memcpy(tag->store + tag->store_len, bytes, n);
    tag->store_len += n;
    tag->store[tag->store_len] = '\0';
    tag->attrs[tag->current].value_len += n;
}

static void rai_tag_emit_byte(rai_tag_t *tag, unsigned char c)
{
    char b = (char)c;

    if (c == '\0') {
        rai_tag_emit(tag, rai_tag_fffd, 3);
    }
    else {
        rai_tag_emit(tag, &b, 1);
    }
}

static void rai_tag_name_start(rai_tag_t *tag)
{
    rai_tag_attr_close(tag);
    tag->name_len = 0;
    memset(tag->name_tail, 0, sizeof(tag->name_tail));
}

static void rai_tag_name_add(rai_tag_t *tag, unsigned char c)
{
    const char *bytes = (const char *)&c;
    size_t i, n = 1;

    c = rai_tag_lower(c);
    if (c == '\0') {
        bytes = rai_tag_fffd;
        n = 3;
    }
    for (i = 0; i < n; i++) {
        if (tag->name_len < RAI_TAG_NAME_MAX) {
            tag->name[tag->name_len] = bytes[i];
        }
        tag->name_len++;
        tag->name_tail[0] = tag->name_tail[1];
        tag->name_tail[1] = tag->name_tail[2];
        tag->name_tail[2] = bytes[i];
    }
}

static int rai_tag_find(const rai_tag_t *tag, const char *name)
{
    int i;

    for (i = 0; i < tag->count; i++) {
        if (!strcmp(tag->store + tag->attrs[i].name, name)) {
            return i;
        }
    }
    return -1;
}

/* The name is complete: keep the attribute if its value matters and it is
 * the first of its name. */
static void rai_tag_name_end(rai_tag_t *tag)
{
    rai_tag_attr_t *attr;
    char name[RAI_TAG_NAME_MAX + 1];
    int is_url = tag->name_len >= 3 && !memcmp(tag->name_tail, "url", 3);
    int is_src = tag->name_len == 3 && !memcmp(tag->name, "src", 3);

    if (!is_url && !is_src) {
        return;
    }
    if (tag->name_len > RAI_TAG_NAME_MAX) {
        /* we cannot tell its duplicates: fail closed */
        tag->lost = "(over-long URL attribute name)";
        return;
    }
    memcpy(name, tag->name, tag->name_len);
    name[tag->name_len] = '\0';
    if (rai_tag_find(tag, name) >= 0) {
        return;     /* HTML drops all but the first */
    }
    if (tag->count == RAI_TAG_KEEP_MAX) {
        tag->lost = "(too many URL attributes)";
        return;
    }
    if (tag->store_len + tag->name_len + 2 > RAI_TAG_STORE) {
        tag->lost = "(attribute values too long)";
        return;
    }
    attr = &tag->attrs[tag->count];
    attr->name = tag->store_len;
    memcpy(tag->store + tag->store_len, name, tag->name_len + 1);
    tag->store_len += tag->name_len + 1;
    attr->value = tag->store_len;
    attr->value_len = 0;
    tag->store[tag->store_len] = '\0';
    tag->current = tag->count++;
}

static void rai_tag_end(rai_tag_t *tag)
{
    rai_tag_attr_close(tag);
    tag->done = 1;
}

/* The states outside a value.  Returns 0 to reconsume c in the new state,
 * as the spec says. */
static int rai_tag_step_attr(rai_tag_t *tag, unsigned char c)
{
    switch (tag->state) {
    case RAI_TAG_BEFORE_NAME:
        if (rai_tag_is_space(c)) {
            return 1;
        }
        if (c == '/' || c == '>') {
            tag->state = RAI_TAG_AFTER_NAME;
            return 0;
        }
        /* '=' here starts a name, as the spec says */
        rai_tag_name_start(tag);
        rai_tag_name_add(tag, c);
        tag->state = RAI_TAG_NAME;
        return 1;
    case RAI_TAG_NAME:
        if (rai_tag_is_space(c) || c == '/' || c == '>') {
            rai_tag_name_end(tag);
            tag->state = RAI_TAG_AFTER_NAME;
            return rai_tag_is_space(c);
        }
        if (c == '=') {
            rai_tag_name_end(tag);
            tag->state = RAI_TAG_BEFORE_VALUE;
            return 1;
        }
        rai_tag_name_add(tag, c);
        return 1;
    case RAI_TAG_AFTER_NAME:
        if (rai_tag_is_space(c)) {
            return 1;
        }
        if (c == '/') {
            tag->state = RAI_TAG_SELF_CLOSING;
            return 1;
        }
        if (c == '=') {
            tag->state = RAI_TAG_BEFORE_VALUE;
            return 1;
        }
        if (c == '>') {
            rai_tag_end(tag);
            return 1;
        }
        rai_tag_name_start(tag);
        rai_tag_name_add(tag, c);
        tag->state = RAI_TAG_NAME;
        return 1;
    case RAI_TAG_BEFORE_VALUE:
        if (rai_tag_is_space(c)) {
            return 1;
        }
        if (c == '>') {
            rai_tag_end(tag);   /* a missing value: empty */
            return 1;
        }
        tag->state = c == '"' ? RAI_TAG_VALUE_DQ
                     : c == '\'' ? RAI_TAG_VALUE_SQ : RAI_TAG_VALUE_UNQ;
        return c == '"' || c == '\'';
    case RAI_TAG_AFTER_QUOTED:
        if (rai_tag_is_space(c)) {
            tag->state = RAI_TAG_BEFORE_NAME;
            return 1;
        }
        /* '/' and '>' as after a name; anything else starts a name */
        tag->state = c == '/' || c == '>' ? RAI_TAG_AFTER_NAME
                     : RAI_TAG_BEFORE_NAME;
        return 0;
    default: /* RAI_TAG_SELF_CLOSING */
        if (c == '>') {
            rai_tag_end(tag);
            return 1;
        }
        tag->state = RAI_TAG_BEFORE_NAME;
        return 0;
    }
}

/* The three value states. */
static int rai_tag_step_value(rai_tag_t *tag, unsigned char c)
{
    unsigned char quote = tag->state == RAI_TAG_VALUE_DQ ? '"'
                          : tag->state == RAI_TAG_VALUE_SQ ? '\'' : 0;

    if (c == '&') {
        tag->value_state = tag->state;
        tag->state = RAI_TAG_REF;
        tag->ref_len = 0;
        tag->ref_code = 0;
        return 1;
    }
    if (quote) {
        if (c == quote) {
            tag->state = RAI_TAG_AFTER_QUOTED;
        }
        else {
            rai_tag_emit_byte(tag, c);
        }
        return 1;
    }
    if (rai_tag_is_space(c)) {
        tag->state = RAI_TAG_BEFORE_NAME;
    }
    else if (c == '>') {
        rai_tag_end(tag);
    }
    else {
        rai_tag_emit_byte(tag, c);
    }
    return 1;
}

/* A numeric reference's character, as the spec maps it.  C1 controls are
 * left as they are (a browser maps most to other non-ASCII characters). */
static void rai_tag_emit_code(rai_tag_t *tag, unsigned long code)
{
    char utf8[4];

    if (code == 0 || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) {
        rai_tag_emit(tag, rai_tag_fffd, 3);
    }
    else if (code < 0x80) {
        utf8[0] = (char)code;
        rai_tag_emit(tag, utf8, 1);
    }
    else if (code < 0x800) {
        utf8[0] = (char)(0xC0 | (code >> 6));
        utf8[1] = (char)(0x80 | (code & 0x3F));
        rai_tag_emit(tag, utf8, 2);
    }
    else if (code < 0x10000) {
        utf8[0] = (char)(0xE0 | (code >> 12));
        utf8[1] = (char)(0x80 | ((code >> 6) & 0x3F));
        utf8[2] = (char)(0x80 | (code & 0x3F));
        rai_tag_emit(tag, utf8, 3);
    }
    else {
        utf8[0] = (char)(0xF0 | (code >> 18));
        utf8[1] = (char)(0x80 | ((code >> 12) & 0x3F));
        utf8[2] = (char)(0x80 | ((code >> 6) & 0x3F));
        utf8[3] = (char)(0x80 | (code & 0x3F));
        rai_tag_emit(tag, utf8, 4);
    }
}

/* The end of a named reference at c: decoded, or a NUL when we do not
 * know for sure what a browser makes of it.  Returns whether c is used. */
static int rai_tag_ref_named_end(rai_tag_t *tag, unsigned char c)
{
    size_t i;

    tag->state = tag->value_state;
    tag->ref[tag->ref_len] = '\0';
    for (i = 0; tag->ref_len <= RAI_TAG_REF_MAX
                && i < sizeof(rai_tag_refs) / sizeof(*rai_tag_refs); i++) {
        if (strcmp(tag->ref, rai_tag_refs[i].name)) {
            continue;
        }
        if (c == ';') {
            rai_tag_emit(tag, &rai_tag_refs[i].c, 1);
            return 1;
        }
        /* without ';' only a legacy name, and not before '=' (in a value
         * that is the text as it is) */
        if (rai_tag_refs[i].legacy && c != '=') {
            rai_tag_emit(tag, &rai_tag_refs[i].c, 1);
            return 0;
        }
        break;
    }
    rai_tag_emit(tag, "", 1);
    return c == ';';
}

/* The character reference states (§13.2.5.72 to .80). */
static int rai_tag_step_ref(rai_tag_t *tag, unsigned char c)
{
    int digit;

    switch (tag->state) {
    case RAI_TAG_REF:
        if (rai_tag_is_alnum(c)) {
            tag->state = RAI_TAG_REF_NAMED;
            return 0;
        }
        if (c == '#') {
            tag->state = RAI_TAG_REF_NUM;
            return 1;
        }
        rai_tag_emit(tag, "&", 1);
        tag->state = tag->value_state;
        return 0;
    case RAI_TAG_REF_NAMED:
        if (!rai_tag_is_alnum(c)) {
            return rai_tag_ref_named_end(tag, c);
        }
        if (tag->ref_len < RAI_TAG_REF_MAX) {
            tag->ref[tag->ref_len] = (char)c;
        }
        if (tag->ref_len <= RAI_TAG_REF_MAX) {
            tag->ref_len++;     /* RAI_TAG_REF_MAX + 1: too long */
        }
        return 1;
    case RAI_TAG_REF_NUM:
        if (c == 'x' || c == 'X') {
            tag->ref[0] = (char)c;
            tag->state = RAI_TAG_REF_HEX_START;
            return 1;
        }
        if (c >= '0' && c <= '9') {
            tag->state = RAI_TAG_REF_DEC;
            return 0;
        }
        rai_tag_emit(tag, "&#", 2);   /* no digits: the text as it is */
        tag->state = tag->value_state;
        return 0;
    case RAI_TAG_REF_HEX_START:
        if (rai_tag_hex_value(c) >= 0) {
            tag->state = RAI_TAG_REF_HEX;
            return 0;
        }
        rai_tag_emit(tag, "&#", 2);
        rai_tag_emit(tag, tag->ref, 1);
        tag->state = tag->value_state;
        return 0;
    default: /* RAI_TAG_REF_HEX, RAI_TAG_REF_DEC */
        digit = tag->state == RAI_TAG_REF_HEX ? rai_tag_hex_value(c)
                : (c >= '0' && c <= '9') ? c - '0' : -1;
        if (digit >= 0) {
            /* past 0x10FFFF it is U+FFFD whatever follows: stop growing */
            if (tag->ref_code <= 0x10FFFF) {
                tag->ref_code = tag->ref_code
                                * (tag->state == RAI_TAG_REF_HEX ? 16 : 10)
                                + (unsigned long)digit;
            }
            return 1;
        }
        rai_tag_emit_code(tag, tag->ref_code);
        tag->state = tag->value_state;
        return c == ';';
    }
}

static int rai_tag_step(rai_tag_t *tag, unsigned char c)
{
    if (tag->state >= RAI_TAG_REF) {
        return rai_tag_step_ref(tag, c);
    }
    if (tag->state >= RAI_TAG_VALUE_DQ && tag->state <= RAI_TAG_VALUE_UNQ) {
        return rai_tag_step_value(tag, c);
    }
    return rai_tag_step_attr(tag, c);
}

size_t rai_tag_feed(rai_tag_t *tag, const char *buf, size_t len)
{
    size_t i;

    if (tag->done || tag->overflow) {
        return 0;
    }
    for (i = 0; i < len; i++) {
        /* each reconsume moves to a state that takes the byte, so this
         * loop runs a few times at most */
        while (!rai_tag_step(tag, (unsigned char)buf[i])) {
        }
        if (tag->done) {
            return i + 1;
        }
        if (++tag->consumed >= RAI_TAG_LIMIT) {
            tag->overflow = 1;
            tag->current = -1;
            return i + 1;
        }
    }
    return len;
}

const char *rai_tag_value(const rai_tag_t *tag, const char *name,
                          size_t *len)
{
    int i = tag->done && !tag->lost ? rai_tag_find(tag, name) : -1;

    if (i < 0) {
        return NULL;
    }
    if (len) {
        *len = tag->attrs[i].value_len;
    }
    return tag->store + tag->attrs[i].value;
}

const char *rai_tag_src(const rai_tag_t *tag, size_t *len)
{
    return rai_tag_value(tag, "src", len);
}

int rai_tag_urls_trusted(const rai_tag_t *tag, const rai_hosts_t *trusted,
                         const char **bad)
{
    const char *why = NULL;
    int i;

    if (tag->overflow) {
        why = "(tag too long)";
    }
    else if (!tag->done) {
        why = "(unfinished tag)";
    }
    else if (tag->lost) {
        why = tag->lost;
    }
    for (i = 0; !why && i < tag->count; i++) {
        if (!rai_hosts_url_trusted(trusted, tag->store + tag->attrs[i].value,
                                   tag->attrs[i].value_len)) {
            why = tag->store + tag->attrs[i].name;
        }
    }
    if (why && bad) {
        *bad = why;
    }
    return !why;
}

/* ------------------------------------------------------------------ */
/* Hosts and URLs                                                      */

static int rai_hosts_is_alpha(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int rai_hosts_ieq(const char *a, const char *b, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (rai_tag_lower((unsigned char)a[i])
            != rai_tag_lower((unsigned char)b[i])) {
            return 0;
        }
    }
    return 1;
}

/* The URL as the URL parser sees it: C0 controls and spaces stripped from
 * both ends, tab, LF and CR removed.  A NUL (an unknown reference) is no
 * control: it stays.  Returns the length, or (size_t)-1 if it is longer
 * than the buffer. */
static size_t rai_hosts_clean(const char *url, size_t len, char *out,
                              size_t room)
{
    size_t start = 0, end = len, i, n = 0;

    while (start < end && (unsigned char)url[start] >= 1
           && (unsigned char)url[start] <= 0x20) {
        start++;
    }
    while (end > start && (unsigned char)url[end - 1] >= 1
           && (unsigned char)url[end - 1] <= 0x20) {
        end--;
    }
    for (i = start; i < end; i++) {
        if (url[i] == '\t' || url[i] == '\n' || url[i] == '\r') {
            continue;
        }
        if (n == room) {
            return (size_t)-1;
        }
        out[n++] = url[i];
    }
    return n;
}

int rai_hosts_match(const rai_hosts_t *trusted, const char *host,
                    size_t len)
{
    int i;

    for (i = 0; trusted && i < trusted->count; i++) {
        const char *pattern = trusted->patterns[i];
        size_t plen = strlen(pattern);

        if (plen > 2 && pattern[0] == '*' && pattern[1] == '.') {
            /* "*.x": something, then ".x"; never x itself */
            if (len > plen - 1
                && rai_hosts_ieq(host + len - (plen - 1), pattern + 1,
                                 plen - 1)) {
                return 1;
            }
        }
        else if (plen == len && rai_hosts_ieq(host, pattern, len)) {
            return 1;
        }
    }
    return 0;
}

/* A label of a host name: letters, digits, '-', '_'. */
static int rai_hosts_label_char(unsigned char c)
{
    return rai_tag_is_alnum(c) || c == '-' || c == '_';
}

/* The authority from u[at], after a scheme or as "//host": whether its
 * host is trusted. */
static int rai_hosts_authority_trusted(const rai_hosts_t *trusted,
                                       const char *u, size_t at, size_t n)
{
    size_t end, host, host_end, i;

    while (at < n && (u[at] == '/' || u[at] == '\\')) {
        at++;
    }
    for (end = at; end < n; end++) {
        if (u[end] == '/' || u[end] == '\\' || u[end] == '?' || u[end] == '#'
            || u[end] == '\0') {
            break;
        }
    }
    if (end < n && u[end] == '\0') {
        return 0;   /* an unknown character that could end it elsewhere */
    }
    host = at;
    for (i = at; i < end; i++) {
        if (u[i] == '@') {
            host = i + 1;   /* user info runs to the last '@' */
        }
    }
    if (host < end && u[host] == '[') {
        for (host_end = host; host_end < end && u[host_end] != ']';
             host_end++) {
        }
        if (host_end == end) {
            return 0;
        }
        host_end++;
    }
    else {
        for (host_end = host; host_end < end && u[host_end] != ':';
             host_end++) {
        }
    }
    if (host_end < end && u[host_end] != ':') {
        return 0;   /* "[::1]x" */
    }
    for (i = host_end + 1; i < end; i++) {
        if (u[i] < '0' || u[i] > '9') {
            return 0;   /* a port is digits, or no URL at all */
        }
    }
    for (i = host; u[host] != '[' && i < host_end; i++) {
        /* '%' is decoded, non-ASCII mapped (IDNA) to who knows what, and
         * no trusted host needs any other character */
        if (!rai_hosts_label_char((unsigned char)u[i]) && u[i] != '.') {
            return 0;
        }
    }
    if (host_end > host && u[host_end - 1] == '.' && u[host] != '[') {
        host_end--;
    }
    return host_end > host && rai_hosts_match(trusted, u + host, host_end - host);
}

int rai_hosts_url_trusted(const rai_hosts_t *trusted, const char *url,
                          size_t len)
{
    char u[RAI_TAG_STORE];
    size_t n = rai_hosts_clean(url, len, u, sizeof(u)), i;

    if (n == (size_t)-1) {
        return 0;
    }
    if (n > 0 && rai_hosts_is_alpha((unsigned char)u[0])) {
        for (i = 1; i < n && (rai_tag_is_alnum((unsigned char)u[i])
                              || u[i] == '+' || u[i] == '-' || u[i] == '.');
             i++) {
        }
        if (i < n && u[i] == '\0') {
            return 0;   /* could be the ':' of a scheme */
        }
        if (i < n && u[i] == ':') {
            if (!((i == 4 && rai_hosts_ieq(u, "http", 4))
                  || (i == 5 && rai_hosts_ieq(u, "https", 5))
                  || (i == 2 && rai_hosts_ieq(u, "ws", 2))
                  || (i == 3 && rai_hosts_ieq(u, "wss", 3)))) {
                return 0;   /* javascript:, data:, ... */
            }
            return rai_hosts_authority_trusted(trusted, u, i + 1, n);
        }
    }
    if ((n > 0 && u[0] == '\0')
        || (n > 1 && (u[0] == '/' || u[0] == '\\') && u[1] == '\0')) {
        return 0;   /* could be the (second) slash of "//host" */
    }
    if (n > 1 && (u[0] == '/' || u[0] == '\\')
        && (u[1] == '/' || u[1] == '\\')) {
        return rai_hosts_authority_trusted(trusted, u, 0, n);
    }
    return 1;       /* a path, a query or a fragment on this site */
}

const char *rai_hosts_pattern_check(const char *pattern)
{
    size_t len, label = 0, i;

    if (!pattern || !*pattern) {
        return "is empty";
    }
    len = strlen(pattern);
    if (pattern[0] == '[') {
        if (len < 3 || pattern[len - 1] != ']') {
            return "is not an IPv6 literal in brackets";
        }
        for (i = 1; i < len - 1; i++) {
            if (rai_tag_hex_value((unsigned char)pattern[i]) < 0
                && pattern[i] != ':' && pattern[i] != '.') {
                return "is not an IPv6 literal in brackets";
            }
        }
        return NULL;
    }
    if (pattern[0] == '*') {
        if (pattern[1] != '.' || !pattern[2]) {
            return "may only start with '*.' followed by a host name";
        }
        pattern += 2;
        len -= 2;
    }
    if (len > 253) {
        return "is longer than 253 characters";
    }
    for (i = 0; i <= len; i++) {
        if (i == len || pattern[i] == '.') {
            if (label == 0) {
                return "has an empty label (leading, trailing or double dot)";
            }
            if (label > 63) {
                return "has a label longer than 63 characters";
            }
            label = 0;
        }
        else if (!rai_hosts_label_char((unsigned char)pattern[i])) {
            return "may hold only letters, digits, '-', '_' and dots "
                   "(and start with '*.')";
        }
        else {
            label++;
        }
    }
    return NULL;
}

/* ------------------------------------------------------------------ */
/* Embed scripts                                                       */

/* Whether pattern matches all of s; '*' matches any run.  Backtracks only
 * to the last '*', which is enough for '*'-only patterns. */
static int rai_scripts_glob(const char *pattern, const char *s, size_t n)
{
    size_t pi = 0, si = 0, plen = strlen(pattern), star = (size_t)-1,
           mark = 0;

    while (si < n) {
        if (pi < plen && pattern[pi] == '*') {
            star = pi++;
            mark = si;
        }
        else if (pi < plen && pattern[pi] == s[si]) {
            pi++;
            si++;
        }
        else if (star != (size_t)-1) {
            pi = star + 1;
            si = ++mark;
        }
        else {
            return 0;
        }
    }
    while (pi < plen && pattern[pi] == '*') {
        pi++;
    }
    return pi == plen;
}

int rai_scripts_match(const char *src, size_t len,
                      const char *const *patterns, int count)
{
    char path[RAI_TAG_STORE];
    size_t n, i;
    int k;

    if (!src || (n = rai_hosts_clean(src, len, path, sizeof(path)))
                == (size_t)-1) {
        return 0;
    }
    for (i = 0; i < n; i++) {
        if (path[i] == '?' || path[i] == '#') {
            break;
        }
        if (path[i] == '\0') {
            return 0;   /* an unknown character: fail closed */
        }
        if (path[i] == '\\') {
            path[i] = '/';
        }
    }
    for (k = 0; k < count; k++) {
        if (rai_scripts_glob(patterns[k], path, i)) {
            return 1;
        }
    }
    return 0;
}

const char *rai_scripts_pattern_check(const char *pattern)
{
    const unsigned char *p = (const unsigned char *)pattern;

    if (!p || !*p) {
        return "is empty";
    }
    for (; *p; p++) {
        if (*p <= 0x20 || *p == 0x7f) {
            return "must not hold whitespace or control characters";
        }
        if (*p == '?' || *p == '#') {
            return "is matched against the path only: no '?' or '#'";
        }
    }
    return NULL;
}
