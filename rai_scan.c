/* Licensed under the Apache License, Version 2.0; see the LICENSE file at
 * the top of this tree.
 */

/* rai_scan: the widget finder.  The states follow the WHATWG tokenizer
 * (data, tag open, tag name, the attribute states, comments, bogus
 * comments, raw text) but keep only what decides where a start tag begins
 * and ends.  States that the tokenizer distinguishes but that act alike
 * here are merged: the self-closing and after-quoted-value states behave as
 * before-attribute-name for every byte that matters to us.
 *
 * Known simplifications, documented in docs/configuration.md: the "script
 * data escaped" states (<!-- inside <script>) and foreign content (SVG,
 * MathML CDATA sections) are not modelled.
 */

#include <string.h>

#include "rai_scan.h"

enum {
    RAI_S_DATA = 0,
    RAI_S_TAG_OPEN,          /* after '<' */
    RAI_S_END_TAG_OPEN,      /* after "</" */
    RAI_S_TAG_NAME,
    RAI_S_BEFORE_ATTR_NAME,
    RAI_S_ATTR_NAME,
    RAI_S_AFTER_ATTR_NAME,
    RAI_S_BEFORE_ATTR_VALUE,
    RAI_S_ATTR_VALUE_DQ,
    RAI_S_ATTR_VALUE_SQ,
    RAI_S_ATTR_VALUE_UNQ,
    RAI_S_MARKUP_DECL,       /* after "<!" */
    RAI_S_MARKUP_DASH,       /* after "<!-" */
    RAI_S_COMMENT,
    RAI_S_BOGUS_COMMENT,
    RAI_S_RAWTEXT,
    RAI_S_RAWTEXT_LT,        /* raw text, after '<' */
    RAI_S_RAWTEXT_END,       /* raw text, after "</", matching the name */
    RAI_S_PLAINTEXT
};

/* Elements whose content is text up to their own end tag.  "plaintext"
 * has no end tag at all and must stay last. */
static const char *const rai_scan_rawtext_names[] = {
    "script", "style", "textarea", "title", "xmp", "iframe",
    "noembed", "noframes", "noscript", "plaintext"
};
#define RAI_SCAN_RAWTEXT_COUNT \
    (int)(sizeof(rai_scan_rawtext_names) / sizeof(rai_scan_rawtext_names[0]))
#define RAI_SCAN_PLAINTEXT RAI_SCAN_RAWTEXT_COUNT

/* Byte classes, looked up once per byte in the tight loops of the tag
 * states. */
#define RAI_C_SPACE 0x01    /* HTML whitespace */
#define RAI_C_SLASH 0x02
#define RAI_C_GT    0x04
#define RAI_C_EQ    0x08
#define RAI_C_NAME  0x10    /* may appear in a widget pattern's run */

#define RAI_C_ENDS_NAME  (RAI_C_SPACE | RAI_C_SLASH | RAI_C_GT)
#define RAI_C_ENDS_ATTR  (RAI_C_SPACE | RAI_C_SLASH | RAI_C_GT | RAI_C_EQ)

#define S_ RAI_C_SPACE
#define N_ RAI_C_NAME
static const unsigned char rai_scan_class[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, S_, S_, 0, S_, S_, 0, 0,         /* 0x00 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,             /* 0x10 */
    S_, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, N_, N_, RAI_C_SLASH, /* 0x20 */
    N_, N_, N_, N_, N_, N_, N_, N_, N_, N_, 0, 0, 0, RAI_C_EQ, RAI_C_GT, 0,
    0, N_, N_, N_, N_, N_, N_, N_, N_, N_, N_, N_, N_, N_, N_, N_, /* 0x40 */
    N_, N_, N_, N_, N_, N_, N_, N_, N_, N_, N_, 0, 0, 0, 0, N_,
    0, N_, N_, N_, N_, N_, N_, N_, N_, N_, N_, N_, N_, N_, N_, N_, /* 0x60 */
    N_, N_, N_, N_, N_, N_, N_, N_, N_, N_, N_, 0, 0, 0, 0, 0,
    N_, N_, N_, N_, N_, N_, N_, N_, N_, N_, N_, N_, N_, N_, N_, N_, /* 0x80 */
    N_, N_, N_, N_, N_, N_, N_, N_, N_, N_, N_, N_, N_, N_, N_, N_,
    N_, N_, N_, N_, N_, N_, N_, N_, N_, N_, N_, N_, N_, N_, N_, N_,
    N_, N_, N_, N_, N_, N_, N_, N_, N_, N_, N_, N_, N_, N_, N_, N_,
    N_, N_, N_, N_, N_, N_, N_, N_, N_, N_, N_, N_, N_, N_, N_, N_,
    N_, N_, N_, N_, N_, N_, N_, N_, N_, N_, N_, N_, N_, N_, N_, N_,
    N_, N_, N_, N_, N_, N_, N_, N_, N_, N_, N_, N_, N_, N_, N_, N_,
    N_, N_, N_, N_, N_, N_, N_, N_, N_, N_, N_, N_, N_, N_, N_, N_
};
#undef S_
#undef N_

static int rai_scan_is_space(unsigned char c)
{
    return rai_scan_class[c] & RAI_C_SPACE;
}

static int rai_scan_is_alpha(unsigned char c)
{
    return (unsigned char)((c | 0x20) - 'a') < 26;
}

static unsigned char rai_scan_lower(unsigned char c)
{
    return (unsigned char)(c - 'A') < 26 ? (unsigned char)(c | 0x20) : c;
}

static int rai_scan_is_name_char(unsigned char c)
{
    return rai_scan_class[c] & RAI_C_NAME;
}

void rai_scan_init(rai_scan_t *scan, const rai_scan_elements_t *elements)
{
    memset(scan, 0, sizeof(*scan));
    scan->elements = elements;
    scan->state = RAI_S_DATA;
}

/* '*' matches a run of one or more name characters.  A table of at most
 * (RAI_SCAN_NAME_MAX + 1) cells per pattern byte: no backtracking, so no
 * pattern and no tag name can make matching slow. */
static int rai_scan_glob(const char *pat, const char *name, size_t len)
{
    unsigned char row[RAI_SCAN_NAME_MAX + 1], next[RAI_SCAN_NAME_MAX + 1];
    size_t j;

    if (len > RAI_SCAN_NAME_MAX) {
        return 0;
    }
    memset(row, 0, sizeof(row));
    row[0] = 1;     /* row[j]: the pattern so far matches name[0..j) */
    for (; *pat; pat++) {
        next[0] = 0;
        for (j = 1; j <= len; j++) {
            unsigned char c = (unsigned char)name[j - 1];
            if (*pat == '*') {
                next[j] = rai_scan_is_name_char(c) && (row[j - 1] || next[j - 1]);
            }
            else {
                next[j] = row[j - 1] && c == (unsigned char)*pat;
            }
        }
        memcpy(row, next, len + 1);
    }
    return row[len];
}

int rai_scan_name_matches(const rai_scan_elements_t *elements,
                          const char *name, size_t len)
{
    int i;

    for (i = 0; i < elements->count; i++) {
        const char *pat = elements->patterns[i];
        /* Cheap first-byte test: most tags on a page are not widgets. */
        if (len && pat[0] == name[0] && rai_scan_glob(pat, name, len)) {
            return 1;
        }
    }
    return 0;
}

const char *rai_scan_pattern_check(const char *pattern)
{
    const char *p;

    if (!*pattern) {
        return "an element name must not be empty";
    }
    if (!rai_scan_is_alpha((unsigned char)*pattern)) {
        return "an element name must start with a letter";
    }
    if (strlen(pattern) > RAI_SCAN_NAME_MAX) {
        return "an element name is limited to 64 characters";
    }
    for (p = pattern; *p; p++) {
        if (*p == '*') {
            if (p[1] == '*') {
                return "'**' is not allowed in an element name";
            }
        }
        else if (!rai_scan_is_name_char((unsigned char)*p)
                 || (unsigned char)*p >= 0x80) {
            return "an element name may hold only ASCII letters, digits, "
                   "'-', '_', '.' and '*'";
        }
    }
    return NULL;
}

static int rai_scan_rawtext_index(const rai_scan_t *scan)
{
    int i;

    if (scan->name_len > 9) {
        return 0;
    }
    for (i = 0; i < RAI_SCAN_RAWTEXT_COUNT; i++) {
        const char *raw = rai_scan_rawtext_names[i];
        if (strlen(raw) == scan->name_len
            && memcmp(raw, scan->name, scan->name_len) == 0) {
            return i + 1;
        }
    }
    return 0;
}

/* '>' ends the tag: a start tag of a raw-text element switches the
 * tokenizer into raw text, everything else back to data. */
static void rai_scan_tag_close(rai_scan_t *scan)
{
    if (scan->rawtext == RAI_SCAN_PLAINTEXT) {
        scan->state = RAI_S_PLAINTEXT;
    }
    else if (scan->rawtext) {
        scan->state = RAI_S_RAWTEXT;
    }
    else {
        scan->state = RAI_S_DATA;
    }
}

size_t rai_scan_next(rai_scan_t *scan, const char *buf, size_t len)
{
    const unsigned char *in = (const unsigned char *)buf;
    size_t i = 0;

    while (i < len) {
        unsigned char c = in[i];

        switch (scan->state) {
        case RAI_S_DATA: {
            const unsigned char *lt = memchr(in + i, '<', len - i);
            if (!lt) {
                return len;
            }
            i = (size_t)(lt - in) + 1;
            scan->state = RAI_S_TAG_OPEN;
            break;
        }

        case RAI_S_TAG_OPEN:
            if (rai_scan_is_alpha(c)) {
                scan->end_tag = 0;
                scan->name_len = 0;
                scan->state = RAI_S_TAG_NAME;
            }
            else if (c == '!') {
                scan->state = RAI_S_MARKUP_DECL;
                i++;
            }
            else if (c == '/') {
                scan->state = RAI_S_END_TAG_OPEN;
                i++;
            }
            else if (c == '?') {
                scan->state = RAI_S_BOGUS_COMMENT;
                i++;
            }
            else {
                scan->state = RAI_S_DATA;   /* '<' was text; c may be '<' */
            }
            break;

        case RAI_S_END_TAG_OPEN:
            if (rai_scan_is_alpha(c)) {
                scan->end_tag = 1;
                scan->name_len = 0;
                scan->state = RAI_S_TAG_NAME;
            }
            else if (c == '>') {
                scan->state = RAI_S_DATA;
                i++;
            }
            else {
                scan->state = RAI_S_BOGUS_COMMENT;
            }
            break;

        case RAI_S_TAG_NAME:
            if (rai_scan_is_space(c) || c == '/' || c == '>') {
                if (!scan->end_tag && !scan->paused
                    && scan->name_len <= RAI_SCAN_NAME_MAX
                    && rai_scan_name_matches(scan->elements, scan->name,
                                             scan->name_len)) {
                    scan->paused = 1;
                    return i;
                }
                scan->paused = 0;
                scan->rawtext = scan->end_tag ? 0
                                : (unsigned char)rai_scan_rawtext_index(scan);
                if (c == '>') {
                    rai_scan_tag_close(scan);
                }
                else {
                    scan->state = RAI_S_BEFORE_ATTR_NAME;
                }
            }
            else if (scan->name_len < RAI_SCAN_NAME_MAX) {
                scan->name[scan->name_len++] = (char)rai_scan_lower(c);
            }
            else {
                scan->name_len = RAI_SCAN_NAME_MAX + 1;   /* too long */
            }
            i++;
            break;

        case RAI_S_BEFORE_ATTR_NAME:
            if (c == '>') {
                rai_scan_tag_close(scan);
            }
            else if (!rai_scan_is_space(c) && c != '/') {
                scan->state = RAI_S_ATTR_NAME;   /* even '=' starts a name */
            }
            i++;
            break;

        case RAI_S_ATTR_NAME:
        case RAI_S_AFTER_ATTR_NAME:
            if (c == '>') {
                rai_scan_tag_close(scan);
            }
            else if (c == '=') {
                scan->state = RAI_S_BEFORE_ATTR_VALUE;
            }
            else if (c == '/') {
                scan->state = RAI_S_BEFORE_ATTR_NAME;
            }
            else if (rai_scan_is_space(c)) {
                scan->state = RAI_S_AFTER_ATTR_NAME;
            }
            else {
                scan->state = RAI_S_ATTR_NAME;
            }
            i++;
            break;

        case RAI_S_BEFORE_ATTR_VALUE:
            if (c == '"') {
                scan->state = RAI_S_ATTR_VALUE_DQ;
            }
            else if (c == '\'') {
                scan->state = RAI_S_ATTR_VALUE_SQ;
            }
            else if (c == '>') {
                rai_scan_tag_close(scan);
            }
            else if (!rai_scan_is_space(c)) {
                scan->state = RAI_S_ATTR_VALUE_UNQ;
            }
            i++;
            break;

        case RAI_S_ATTR_VALUE_DQ:
        case RAI_S_ATTR_VALUE_SQ: {
            int quote = scan->state == RAI_S_ATTR_VALUE_DQ ? '"' : '\'';
            const unsigned char *q = memchr(in + i, quote, len - i);
            if (!q) {
                return len;
            }
            i = (size_t)(q - in) + 1;
            /* after-attribute-value-(quoted) acts as before-attribute-name */
            scan->state = RAI_S_BEFORE_ATTR_NAME;
            break;
        }

        case RAI_S_ATTR_VALUE_UNQ:
            if (rai_scan_is_space(c)) {
                scan->state = RAI_S_BEFORE_ATTR_NAME;
            }
            else if (c == '>') {
                rai_scan_tag_close(scan);
            }
            i++;
            break;

        case RAI_S_MARKUP_DECL:
            if (c == '-') {
                scan->state = RAI_S_MARKUP_DASH;
                i++;
            }
            else {
                scan->state = RAI_S_BOGUS_COMMENT;   /* DOCTYPE, CDATA, ... */
            }
            break;

        case RAI_S_MARKUP_DASH:
            if (c == '-') {
                scan->state = RAI_S_COMMENT;
                scan->dashes = 0;
                scan->comment_start = 1;
                scan->comment_bang = 0;
                i++;
            }
            else {
                scan->state = RAI_S_BOGUS_COMMENT;
            }
            break;

        case RAI_S_COMMENT:
            /* Ends at "-->" or "--!>"; right after "<!--", "<!-->" and
             * "<!--->" end it too (abrupt-closing-of-empty-comment). */
            if (!scan->dashes && !scan->comment_bang && !scan->comment_start) {
                const unsigned char *dash = memchr(in + i, '-', len - i);
                if (!dash) {
                    return len;
                }
                i = (size_t)(dash - in);
                c = '-';
            }
            if (c == '-') {
                if (scan->dashes < 2) {
                    scan->dashes++;
                }
                scan->comment_bang = 0;
            }
            else if (c == '>' && (scan->dashes >= 2 || scan->comment_bang
                                  || scan->comment_start)) {
                scan->state = RAI_S_DATA;
            }
            else if (c == '!' && scan->dashes >= 2) {
                scan->comment_bang = 1;
                scan->dashes = 0;
                scan->comment_start = 0;
            }
            else {
                scan->dashes = 0;
                scan->comment_bang = 0;
                scan->comment_start = 0;
            }
            i++;
            break;

        case RAI_S_BOGUS_COMMENT: {
            const unsigned char *gt = memchr(in + i, '>', len - i);
            if (!gt) {
                return len;
            }
            i = (size_t)(gt - in) + 1;
            scan->state = RAI_S_DATA;
            break;
        }

        case RAI_S_RAWTEXT: {
            const unsigned char *lt = memchr(in + i, '<', len - i);
            if (!lt) {
                return len;
            }
            i = (size_t)(lt - in) + 1;
            scan->state = RAI_S_RAWTEXT_LT;
            break;
        }

        case RAI_S_RAWTEXT_LT:
            if (c == '/') {
                scan->match = 0;
                scan->state = RAI_S_RAWTEXT_END;
                i++;
            }
            else {
                scan->state = RAI_S_RAWTEXT;
            }
            break;

        case RAI_S_RAWTEXT_END: {
            const char *end = rai_scan_rawtext_names[scan->rawtext - 1];
            if (end[scan->match]) {
                if (rai_scan_lower(c) == (unsigned char)end[scan->match]) {
                    scan->match++;
                    i++;
                }
                else {
                    scan->state = RAI_S_RAWTEXT;
                }
            }
            else if (rai_scan_is_space(c) || c == '/' || c == '>') {
                /* the element's end tag: its attributes are read as usual */
                scan->end_tag = 1;
                scan->rawtext = 0;
                scan->state = c == '>' ? RAI_S_DATA : RAI_S_BEFORE_ATTR_NAME;
                i++;
            }
            else {
                scan->state = RAI_S_RAWTEXT;
            }
            break;
        }

        case RAI_S_PLAINTEXT:
        default:
            return len;
        }
    }
    return len;
}
