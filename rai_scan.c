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
static const unsigned char rai_scan_rawtext_lengths[] = {
    6, 5, 8, 5, 3, 6, 7, 8, 8, 9
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
    int i;

    memset(scan, 0, sizeof(*scan));
    scan->elements = elements;
    scan->state = RAI_S_DATA;
    for (i = 0; i < elements->count; i++) {
        unsigned char first = (unsigned char)elements->patterns[i][0];
        if (first >= 'a' && first <= 'z') {
            scan->initials |= 1u << (first - 'a');
        }
    }
}

int rai_scan_in_text(const rai_scan_t *scan)
{
    return scan->state == RAI_S_DATA;
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

    /* every raw-text name is 3 to 9 bytes and starts with one of these:
     * the common tags (a, div, p, span, ...) leave at once */
    if (scan->name_len < 3 || scan->name_len > 9) {
        return 0;
    }
    switch (scan->name[0]) {
    case 's': case 't': case 'x': case 'i': case 'n': case 'p':
        break;
    default:
        return 0;
    }
    for (i = 0; i < RAI_SCAN_RAWTEXT_COUNT; i++) {
        if (rai_scan_rawtext_lengths[i] == scan->name_len
            && memcmp(rai_scan_rawtext_names[i], scan->name,
                      scan->name_len) == 0) {
            return i + 1;
        }
    }
    return 0;
}

/* Moves to the next byte; at the end of the buffer, remembers state st
 * for the next call. */
#define RAI_ADVANCE(st)                                                   \
    do {                                                                  \
        if (++i == len) {                                                 \
            scan->state = (st);                                           \
            return len;                                                   \
        }                                                                 \
        c = in[i];                                                        \
    } while (0)

/* Moves to the next byte ch (to end the state it stands for); when the
 * buffer holds none, remembers state st for the next call. */
#define RAI_FIND(ch, st)                                                  \
    do {                                                                  \
        hit = memchr(in + i, (ch), len - i);                              \
        if (!hit) {                                                       \
            scan->state = (st);                                           \
            return len;                                                   \
        }                                                                 \
        i = (size_t)(hit - in);                                           \
    } while (0)

/* The states are labels: the next state is a direct jump, not a trip
 * through a switch, which keeps the branch predictor on our side.  The
 * switch at the top only resumes where the previous buffer ended. */
size_t rai_scan_next(rai_scan_t *scan, const char *buf, size_t len)
{
    const unsigned char *in = (const unsigned char *)buf;
    const unsigned char *hit;
    size_t i = 0;
    unsigned char c;

    if (len == 0) {
        return 0;
    }
    c = in[0];
    switch (scan->state) {
    case RAI_S_DATA:                goto data;
    case RAI_S_TAG_OPEN:            goto tag_open;
    case RAI_S_END_TAG_OPEN:        goto end_tag_open;
    case RAI_S_TAG_NAME:            goto tag_name;
    case RAI_S_BEFORE_ATTR_NAME:    goto before_attr_name;
    case RAI_S_ATTR_NAME:           goto attr_name;
    case RAI_S_AFTER_ATTR_NAME:     goto after_attr_name;
    case RAI_S_BEFORE_ATTR_VALUE:   goto before_attr_value;
    case RAI_S_ATTR_VALUE_DQ:       goto value_dq;
    case RAI_S_ATTR_VALUE_SQ:       goto value_sq;
    case RAI_S_ATTR_VALUE_UNQ:      goto value_unq;
    case RAI_S_MARKUP_DECL:         goto markup_decl;
    case RAI_S_MARKUP_DASH:         goto markup_dash;
    case RAI_S_COMMENT:             goto comment;
    case RAI_S_BOGUS_COMMENT:       goto bogus_comment;
    case RAI_S_RAWTEXT:             goto rawtext;
    case RAI_S_RAWTEXT_LT:          goto rawtext_lt;
    case RAI_S_RAWTEXT_END:         goto rawtext_end;
    default:                        return len;     /* plaintext */
    }

data:
    RAI_FIND('<', RAI_S_DATA);
    RAI_ADVANCE(RAI_S_TAG_OPEN);

tag_open:
    if (rai_scan_is_alpha(c)) {
        scan->end_tag = 0;
        scan->name_len = 0;
        goto tag_name;
    }
    if (c == '!') {
        RAI_ADVANCE(RAI_S_MARKUP_DECL);
        goto markup_decl;
    }
    if (c == '/') {
        RAI_ADVANCE(RAI_S_END_TAG_OPEN);
        goto end_tag_open;
    }
    if (c == '?') {
        goto bogus_comment;
    }
    goto data;                  /* '<' was text; c may be another '<' */

end_tag_open:
    if (rai_scan_is_alpha(c)) {
        scan->end_tag = 1;
        scan->name_len = 0;
        goto tag_name;
    }
    if (c == '>') {
        RAI_ADVANCE(RAI_S_DATA);
        goto data;
    }
    goto bogus_comment;

tag_name:
    if (scan->end_tag) {
        /* an end tag's name matters to no one: skip it */
        while (!(rai_scan_class[c] & RAI_C_ENDS_NAME)) {
            RAI_ADVANCE(RAI_S_TAG_NAME);
        }
        scan->rawtext = 0;
        if (c == '>') {
            RAI_ADVANCE(RAI_S_DATA);
            goto data;
        }
        RAI_ADVANCE(RAI_S_BEFORE_ATTR_NAME);
        goto before_attr_name;
    }
    {
        size_t start = i, n;

        while (!(rai_scan_class[c] & RAI_C_ENDS_NAME)) {
            if (++i == len) {
                break;
            }
            c = in[i];
        }
        n = i - start;
        if (n && scan->name_len <= RAI_SCAN_NAME_MAX) {
            if (scan->name_len + n > RAI_SCAN_NAME_MAX) {
                scan->name_len = RAI_SCAN_NAME_MAX + 1;   /* too long */
            }
            else {
                char *name = scan->name + scan->name_len;
                scan->name_len = (unsigned int)(scan->name_len + n);
                while (n--) {
                    *name++ = (char)rai_scan_lower(in[start++]);
                }
            }
        }
        if (i == len) {
            scan->state = RAI_S_TAG_NAME;
            return len;
        }
    }
    /* a tag name starts with a letter, kept lowercase in name[0] */
    if (!scan->paused
        && scan->name_len <= RAI_SCAN_NAME_MAX
        && (scan->initials >> (scan->name[0] - 'a') & 1)
        && rai_scan_name_matches(scan->elements, scan->name,
                                 scan->name_len)) {
        scan->paused = 1;
        scan->state = RAI_S_TAG_NAME;
        return i;               /* before the byte that ends the name */
    }
    scan->paused = 0;
    scan->rawtext = (unsigned int)rai_scan_rawtext_index(scan);
    if (c == '>') {
        goto tag_close;
    }
    RAI_ADVANCE(RAI_S_BEFORE_ATTR_NAME);

before_attr_name:
    while (rai_scan_class[c] & (RAI_C_SPACE | RAI_C_SLASH)) {
        RAI_ADVANCE(RAI_S_BEFORE_ATTR_NAME);
    }
    if (c == '>') {
        goto tag_close;
    }
    RAI_ADVANCE(RAI_S_ATTR_NAME);   /* even '=' starts a name */

attr_name:
    while (!(rai_scan_class[c] & RAI_C_ENDS_ATTR)) {
        RAI_ADVANCE(RAI_S_ATTR_NAME);
    }
    /* the attribute-name state ends as the after-attribute-name one goes */

after_attr_name:
    if (c == '>') {
        goto tag_close;
    }
    if (c == '=') {
        RAI_ADVANCE(RAI_S_BEFORE_ATTR_VALUE);
        goto before_attr_value;
    }
    if (c == '/') {
        RAI_ADVANCE(RAI_S_BEFORE_ATTR_NAME);
        goto before_attr_name;
    }
    if (rai_scan_is_space(c)) {
        RAI_ADVANCE(RAI_S_AFTER_ATTR_NAME);
        goto after_attr_name;
    }
    RAI_ADVANCE(RAI_S_ATTR_NAME);
    goto attr_name;

before_attr_value:
    while (rai_scan_is_space(c)) {
        RAI_ADVANCE(RAI_S_BEFORE_ATTR_VALUE);
    }
    if (c == '"') {
        RAI_ADVANCE(RAI_S_ATTR_VALUE_DQ);
        goto value_dq;
    }
    if (c == '\'') {
        RAI_ADVANCE(RAI_S_ATTR_VALUE_SQ);
        goto value_sq;
    }
    if (c == '>') {
        goto tag_close;
    }
    RAI_ADVANCE(RAI_S_ATTR_VALUE_UNQ);
    goto value_unq;

value_dq:
    RAI_FIND('"', RAI_S_ATTR_VALUE_DQ);
    /* after-attribute-value-(quoted) acts as before-attribute-name */
    RAI_ADVANCE(RAI_S_BEFORE_ATTR_NAME);
    goto before_attr_name;

value_sq:
    RAI_FIND('\'', RAI_S_ATTR_VALUE_SQ);
    RAI_ADVANCE(RAI_S_BEFORE_ATTR_NAME);
    goto before_attr_name;

value_unq:
    while (!(rai_scan_class[c] & (RAI_C_SPACE | RAI_C_GT))) {
        RAI_ADVANCE(RAI_S_ATTR_VALUE_UNQ);
    }
    if (c == '>') {
        goto tag_close;
    }
    RAI_ADVANCE(RAI_S_BEFORE_ATTR_NAME);
    goto before_attr_name;

tag_close:                      /* c is the '>' that ends a tag */
    if (scan->rawtext == RAI_SCAN_PLAINTEXT) {
        scan->state = RAI_S_PLAINTEXT;
        return len;
    }
    if (scan->rawtext) {
        RAI_ADVANCE(RAI_S_RAWTEXT);
        goto rawtext;
    }
    RAI_ADVANCE(RAI_S_DATA);
    goto data;

markup_decl:                    /* after "<!" */
    if (c == '-') {
        RAI_ADVANCE(RAI_S_MARKUP_DASH);
        goto markup_dash;
    }
    goto bogus_comment;         /* DOCTYPE, CDATA, ... */

markup_dash:                    /* after "<!-" */
    if (c != '-') {
        goto bogus_comment;
    }
    scan->dashes = 0;
    scan->comment_start = 1;
    scan->comment_bang = 0;
    RAI_ADVANCE(RAI_S_COMMENT);

comment:
    /* Ends at "-->" or "--!>"; right after "<!--", "<!-->" and "<!--->"
     * end it too (abrupt-closing-of-empty-comment). */
    for (;;) {
        if (!scan->dashes && !scan->comment_bang && !scan->comment_start) {
            RAI_FIND('-', RAI_S_COMMENT);
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
            RAI_ADVANCE(RAI_S_DATA);
            goto data;
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
        RAI_ADVANCE(RAI_S_COMMENT);
    }

bogus_comment:
    RAI_FIND('>', RAI_S_BOGUS_COMMENT);
    RAI_ADVANCE(RAI_S_DATA);
    goto data;

rawtext:
    RAI_FIND('<', RAI_S_RAWTEXT);
    RAI_ADVANCE(RAI_S_RAWTEXT_LT);

rawtext_lt:
    if (c != '/') {
        goto rawtext;
    }
    scan->match = 0;
    RAI_ADVANCE(RAI_S_RAWTEXT_END);

rawtext_end: {
        const char *end = rai_scan_rawtext_names[scan->rawtext - 1];

        while (end[scan->match]) {
            if (rai_scan_lower(c) != (unsigned char)end[scan->match]) {
                goto rawtext;
            }
            scan->match++;
            RAI_ADVANCE(RAI_S_RAWTEXT_END);
        }
    }
    if (!(rai_scan_class[c] & RAI_C_ENDS_NAME)) {
        goto rawtext;
    }
    /* the element's end tag: its attributes are read as usual */
    scan->end_tag = 1;
    scan->rawtext = 0;
    if (c == '>') {
        RAI_ADVANCE(RAI_S_DATA);
        goto data;
    }
    RAI_ADVANCE(RAI_S_BEFORE_ATTR_NAME);
    goto before_attr_name;
}
