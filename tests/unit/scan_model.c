/* Licensed under the Apache License, Version 2.0; see the LICENSE file at
 * the top of this tree.
 */

/* An independent reference for rai_scan, used by the unit tests and the
 * fuzzer: the WHATWG HTML tokenizer (HTML Living Standard §13.2.5) written
 * state by state over a whole buffer, slow and obvious, with the tree
 * construction dispatcher (§13.2.6) reduced to a stack of the open SVG and
 * MathML elements.
 */

#include <stdlib.h>
#include <string.h>

#include "scan_model.h"

/* The tokenizer states, named as in the standard. */
enum {
    M_DATA, M_TAG_OPEN, M_END_TAG_OPEN, M_TAG_NAME, M_BEFORE_ATTR_NAME,
    M_ATTR_NAME, M_AFTER_ATTR_NAME, M_BEFORE_ATTR_VALUE, M_ATTR_VALUE_DQ,
    M_ATTR_VALUE_SQ, M_ATTR_VALUE_UQ, M_AFTER_ATTR_VALUE_Q, M_SELF_CLOSING,
    M_MARKUP_DECL_OPEN, M_BOGUS_COMMENT, M_COMMENT_START,
    M_COMMENT_START_DASH, M_COMMENT, M_COMMENT_LT, M_COMMENT_LT_BANG,
    M_COMMENT_LT_BANG_DASH, M_COMMENT_LT_BANG_DASH_DASH, M_COMMENT_END_DASH,
    M_COMMENT_END, M_COMMENT_END_BANG,
    M_RCDATA, M_RCDATA_LT, M_RCDATA_END_TAG_OPEN, M_RCDATA_END_TAG_NAME,
    M_RAWTEXT, M_RAWTEXT_LT, M_RAWTEXT_END_TAG_OPEN, M_RAWTEXT_END_TAG_NAME,
    M_SCRIPT, M_SCRIPT_LT, M_SCRIPT_END_TAG_OPEN, M_SCRIPT_END_TAG_NAME,
    M_SCRIPT_ESC_START, M_SCRIPT_ESC_START_DASH, M_SCRIPT_ESC,
    M_SCRIPT_ESC_DASH, M_SCRIPT_ESC_DASH_DASH, M_SCRIPT_ESC_LT,
    M_SCRIPT_ESC_END_TAG_OPEN, M_SCRIPT_ESC_END_TAG_NAME,
    M_SCRIPT_DESC_START, M_SCRIPT_DESC, M_SCRIPT_DESC_DASH,
    M_SCRIPT_DESC_DASH_DASH, M_SCRIPT_DESC_LT, M_SCRIPT_DESC_END,
    M_PLAINTEXT, M_CDATA, M_CDATA_BRACKET, M_CDATA_END,
};

static int m_space(int c)
{
    return c == '\t' || c == '\n' || c == '\f' || c == ' ' || c == '\r';
}

static int m_alpha(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int m_lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

typedef struct {
    char bytes[RAI_SCAN_NAME_MAX + 1];
    size_t len;                 /* may exceed the buffer: then too long */
} m_name_t;

static void m_name_add(m_name_t *n, int c)
{
    if (n->len < sizeof(n->bytes))
        n->bytes[n->len] = (char)c;
    n->len++;
}

static int m_name_is(const m_name_t *n, const char *s)
{
    return n->len == strlen(s) && memcmp(n->bytes, s, n->len) == 0;
}

/* Name characters as rai_scan.h means them: those of a custom element
 * name, ASCII letters, digits, '-', '.', '_' and any non-ASCII byte. */
static int m_name_char(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'
           || c == '.' || c == '_' || c >= 0x80;
}

static int model_glob(const char *pat, const char *name, size_t len)
{
    if (*pat == '\0')
        return len == 0;
    if (*pat == '*') {
        for (size_t n = 1; n <= len && m_name_char((unsigned char)name[n - 1]); n++)
            if (model_glob(pat + 1, name + n, len - n))
                return 1;
        return 0;
    }
    return len > 0 && *pat == *name && model_glob(pat + 1, name + 1, len - 1);
}

int rai_model_name_matches(const rai_scan_elements_t *elements,
                              const char *name, size_t len)
{
    for (int i = 0; i < elements->count; i++)
        if (model_glob(elements->patterns[i], name, len))
            return 1;
    return 0;
}

/* ---- Tree construction, reduced to what drives the tokenizer ----
 *
 * The stack of open elements is kept only for SVG and MathML elements
 * (rai_scan.c explains what is left out and why).  A frame's name is
 * compared as rai_scan.h says: length (at most RAI_SCAN_NAME_MAX + 1) and
 * the first RAI_SCAN_FRAME_NAME bytes. */

enum { F_SVG, F_MATH };
enum { IP_NONE, IP_HTML, IP_TEXT, IP_ANNOT };

typedef struct {
    int ns, ip;
    m_name_t name;
} m_frame_t;

typedef struct {
    m_frame_t frames[RAI_SCAN_FOREIGN_MAX];
    int depth;
    int lost;                   /* too deep: nothing more is reported */
} m_tree_t;

static int m_in_list(const m_name_t *n, const char *const *list)
{
    for (; *list; list++)
        if (m_name_is(n, *list))
            return 1;
    return 0;
}

static int m_same_key(const m_name_t *a, const m_name_t *b)
{
    size_t la = a->len > RAI_SCAN_NAME_MAX ? RAI_SCAN_NAME_MAX + 1 : a->len;
    size_t lb = b->len > RAI_SCAN_NAME_MAX ? RAI_SCAN_NAME_MAX + 1 : b->len;
    size_t n = la < RAI_SCAN_FRAME_NAME ? la : RAI_SCAN_FRAME_NAME;

    return la == lb && memcmp(a->bytes, b->bytes, n) == 0;
}

static const m_frame_t *m_top(const m_tree_t *t)
{
    return t->depth ? &t->frames[t->depth - 1] : NULL;
}

/* "Pop until the current node is an integration point or HTML." */
static void m_breakout(m_tree_t *t)
{
    while (t->depth && t->frames[t->depth - 1].ip != IP_HTML
           && t->frames[t->depth - 1].ip != IP_TEXT)
        t->depth--;
}

static void m_push(m_tree_t *t, int ns, int ip, const m_name_t *name)
{
    if (t->depth == RAI_SCAN_FOREIGN_MAX) {
        t->lost = 1;
        return;
    }
    t->frames[t->depth].ns = ns;
    t->frames[t->depth].ip = ip;
    t->frames[t->depth].name = *name;
    t->depth++;
}

static const char *const m_breakout_tags[] = {
    "b", "big", "blockquote", "body", "br", "center", "code", "dd", "div",
    "dl", "dt", "em", "embed", "h1", "h2", "h3", "h4", "h5", "h6", "head",
    "hr", "i", "img", "li", "listing", "menu", "meta", "nobr", "ol", "p",
    "pre", "ruby", "s", "small", "span", "strong", "strike", "sub", "sup",
    "table", "tt", "u", "ul", "var", NULL
};

/* The tree construction dispatcher for a start tag: HTML rules (1) or
 * "in foreign content" (0); a breakout tag pops first. */
static int m_start_is_html(m_tree_t *t, const m_name_t *name)
{
    static const char *const glyphs[] = { "mglyph", "malignmark", NULL };
    const m_frame_t *top = m_top(t);

    if (!top || top->ip == IP_HTML)
        return 1;
    if (top->ip == IP_TEXT && !m_in_list(name, glyphs))
        return 1;
    if (top->ns == F_MATH && m_name_is(&top->name, "annotation-xml")
        && m_name_is(name, "svg"))
        return 1;
    if (m_in_list(name, m_breakout_tags)) {
        m_breakout(t);
        return 1;
    }
    return 0;
}

/* A foreign start tag is emitted. */
static void m_foreign_start(m_tree_t *t, const m_name_t *name,
                            int self_closing, int font_attr, int html_encoding)
{
    static const char *const svg_ip[] = { "foreignobject", "desc", "title", NULL };
    static const char *const math_text[] = { "mi", "mo", "mn", "ms", "mtext", NULL };
    int ns = m_top(t)->ns, ip = IP_NONE;

    if (m_name_is(name, "font") && font_attr) {
        m_breakout(t);
        return;
    }
    if (self_closing)
        return;
    if (ns == F_SVG && m_in_list(name, svg_ip))
        ip = IP_HTML;
    else if (ns == F_MATH && m_in_list(name, math_text))
        ip = IP_TEXT;
    else if (ns == F_MATH && m_name_is(name, "annotation-xml"))
        ip = html_encoding ? IP_HTML : IP_ANNOT;
    m_push(t, ns, ip, name);
}

/* An end tag is emitted in foreign content. */
static void m_foreign_end(m_tree_t *t, const m_name_t *name)
{
    if (m_name_is(name, "br") || m_name_is(name, "p")) {
        m_breakout(t);
        return;
    }
    for (int d = t->depth; d > 0; d--)
        if (m_same_key(&t->frames[d - 1].name, name)) {
            t->depth = d - 1;
            return;
        }
}

int rai_model_scan(const rai_scan_elements_t *elements, int report_scripts,
                   const char *p, size_t len,
                   rai_model_found_fn *found, void *ctx)
{
    static const char *const rcdata[] = { "title", "textarea" };
    static const char *const rawtext[] = {
        "style", "xmp", "iframe", "noembed", "noframes", "noscript",
    };
    int st = M_DATA, end_tag = 0;
    m_name_t name = { { 0 }, 0 };      /* tag being read */
    m_name_t raw = { { 0 }, 0 };       /* last raw-text start tag */
    m_name_t tmp = { { 0 }, 0 };       /* temporary buffer */
    m_name_t attr = { { 0 }, 0 };      /* attribute name, then value */
    m_tree_t tree;
    int html_tag = 1;                  /* HTML rules for this start tag */
    int raw_end = 0;                   /* end tag of a raw-text element */
    int self_closing = 0, font_attr = 0, encoding_seen = 0;
    int encoding_value = 0, html_encoding = 0;
    size_t i = 0;

    memset(&tree, 0, sizeof(tree));

    /* not do-while(0): "continue" must reach the byte loop */
#define RECONSUME(s) { st = (s); continue; }
#define NEXT(s) { st = (s); i++; continue; }

    while (i < len) {
        int c = (unsigned char)p[i];

        switch (st) {
        case M_DATA:
            if (c == '<')
                NEXT(M_TAG_OPEN);
            NEXT(M_DATA);
        case M_TAG_OPEN:
            if (c == '!')
                NEXT(M_MARKUP_DECL_OPEN);
            if (c == '/')
                NEXT(M_END_TAG_OPEN);
            if (m_alpha(c)) {
                end_tag = 0;
                name.len = 0;
                RECONSUME(M_TAG_NAME);
            }
            if (c == '?')
                RECONSUME(M_BOGUS_COMMENT);
            RECONSUME(M_DATA);
        case M_END_TAG_OPEN:
            if (m_alpha(c)) {
                end_tag = 1;
                name.len = 0;
                RECONSUME(M_TAG_NAME);
            }
            if (c == '>')
                NEXT(M_DATA);
            RECONSUME(M_BOGUS_COMMENT);
        case M_TAG_NAME:
            if (m_space(c) || c == '/' || c == '>') {
                raw_end = 0;
                if (!end_tag) {
                    html_tag = m_start_is_html(&tree, &name);
                    self_closing = font_attr = encoding_seen = 0;
                    encoding_value = html_encoding = 0;
                    if (html_tag && name.len <= RAI_SCAN_NAME_MAX
                        && rai_model_name_matches(elements, name.bytes, name.len))
                        found(ctx, i, 0);
                    else if (html_tag && report_scripts && m_name_is(&name, "script"))
                        found(ctx, i, 1);
                }
                if (c == '>')
                    goto emit;
                NEXT(c == '/' ? M_SELF_CLOSING : M_BEFORE_ATTR_NAME);
            }
            m_name_add(&name, m_lower(c));
            NEXT(M_TAG_NAME);
        case M_BEFORE_ATTR_NAME:
            if (m_space(c))
                NEXT(M_BEFORE_ATTR_NAME);
            if (c == '/' || c == '>')
                RECONSUME(M_AFTER_ATTR_NAME);
            attr.len = 0;
            if (c == '=') {
                m_name_add(&attr, c);
                NEXT(M_ATTR_NAME);
            }
            RECONSUME(M_ATTR_NAME);
        case M_ATTR_NAME:
            if (m_space(c) || c == '/' || c == '>' || c == '=') {
                /* leaving the attribute name state */
                font_attr |= m_name_is(&attr, "color") || m_name_is(&attr, "face")
                             || m_name_is(&attr, "size");
                encoding_value = !encoding_seen && m_name_is(&attr, "encoding");
                encoding_seen |= encoding_value;
                attr.len = 0;
                if (c == '=')
                    NEXT(M_BEFORE_ATTR_VALUE);
                RECONSUME(M_AFTER_ATTR_NAME);
            }
            m_name_add(&attr, m_lower(c));
            NEXT(M_ATTR_NAME);
        case M_AFTER_ATTR_NAME:
            if (m_space(c))
                NEXT(M_AFTER_ATTR_NAME);
            if (c == '/')
                NEXT(M_SELF_CLOSING);
            if (c == '=')
                NEXT(M_BEFORE_ATTR_VALUE);
            if (c == '>')
                goto emit;
            attr.len = 0;
            RECONSUME(M_ATTR_NAME);
        case M_BEFORE_ATTR_VALUE:
            if (m_space(c))
                NEXT(M_BEFORE_ATTR_VALUE);
            if (c == '"')
                NEXT(M_ATTR_VALUE_DQ);
            if (c == '\'')
                NEXT(M_ATTR_VALUE_SQ);
            if (c == '>') {
                encoding_value = 0;
                goto emit;
            }
            RECONSUME(M_ATTR_VALUE_UQ);
        case M_ATTR_VALUE_DQ:
        case M_ATTR_VALUE_SQ:
        case M_ATTR_VALUE_UQ:
            if (st == M_ATTR_VALUE_DQ ? c == '"'
                : st == M_ATTR_VALUE_SQ ? c == '\''
                : m_space(c) || c == '>') {
                /* the value ends */
                if (encoding_value)
                    html_encoding = m_name_is(&attr, "text/html")
                                    || m_name_is(&attr, "application/xhtml+xml");
                encoding_value = 0;
                if (c == '>')
                    goto emit;
                NEXT(st == M_ATTR_VALUE_UQ ? M_BEFORE_ATTR_NAME
                                           : M_AFTER_ATTR_VALUE_Q);
            }
            m_name_add(&attr, m_lower(c));
            NEXT(st);
        case M_AFTER_ATTR_VALUE_Q:
            if (m_space(c))
                NEXT(M_BEFORE_ATTR_NAME);
            if (c == '/')
                NEXT(M_SELF_CLOSING);
            if (c == '>')
                goto emit;
            RECONSUME(M_BEFORE_ATTR_NAME);
        case M_SELF_CLOSING:
            if (c == '>') {
                self_closing = 1;
                goto emit;
            }
            RECONSUME(M_BEFORE_ATTR_NAME);
        case M_MARKUP_DECL_OPEN:
            /* DOCTYPE ends at the first '>' in every one of its states, and
             * CDATA outside foreign content is a bogus comment: only "--"
             * is different. */
            if (i + 1 < len && p[i] == '-' && p[i + 1] == '-') {
                i += 2;
                st = M_COMMENT_START;
                continue;
            }
            /* "adjusted current node not in the HTML namespace" */
            if (tree.depth && i + 7 <= len && memcmp(p + i, "[CDATA[", 7) == 0) {
                i += 7;
                st = M_CDATA;
                continue;
            }
            RECONSUME(M_BOGUS_COMMENT);
        case M_BOGUS_COMMENT:
            NEXT(c == '>' ? M_DATA : M_BOGUS_COMMENT);
        case M_COMMENT_START:
            if (c == '-')
                NEXT(M_COMMENT_START_DASH);
            if (c == '>')
                NEXT(M_DATA);
            RECONSUME(M_COMMENT);
        case M_COMMENT_START_DASH:
            if (c == '-')
                NEXT(M_COMMENT_END);
            if (c == '>')
                NEXT(M_DATA);
            RECONSUME(M_COMMENT);
        case M_COMMENT:
            if (c == '<')
                NEXT(M_COMMENT_LT);
            if (c == '-')
                NEXT(M_COMMENT_END_DASH);
            NEXT(M_COMMENT);
        case M_COMMENT_LT:
            if (c == '!')
                NEXT(M_COMMENT_LT_BANG);
            if (c == '<')
                NEXT(M_COMMENT_LT);
            RECONSUME(M_COMMENT);
        case M_COMMENT_LT_BANG:
            if (c == '-')
                NEXT(M_COMMENT_LT_BANG_DASH);
            RECONSUME(M_COMMENT);
        case M_COMMENT_LT_BANG_DASH:
            if (c == '-')
                NEXT(M_COMMENT_LT_BANG_DASH_DASH);
            RECONSUME(M_COMMENT_END_DASH);
        case M_COMMENT_LT_BANG_DASH_DASH:
            RECONSUME(M_COMMENT_END);
        case M_COMMENT_END_DASH:
            if (c == '-')
                NEXT(M_COMMENT_END);
            RECONSUME(M_COMMENT);
        case M_COMMENT_END:
            if (c == '>')
                NEXT(M_DATA);
            if (c == '!')
                NEXT(M_COMMENT_END_BANG);
            if (c == '-')
                NEXT(M_COMMENT_END);
            RECONSUME(M_COMMENT);
        case M_COMMENT_END_BANG:
            if (c == '-')
                NEXT(M_COMMENT_END_DASH);
            if (c == '>')
                NEXT(M_DATA);
            RECONSUME(M_COMMENT);

        /* RCDATA and RAWTEXT differ only in which of them they return to */
        case M_RCDATA:
        case M_RAWTEXT:
            if (c == '<')
                NEXT(st + 1);
            NEXT(st);
        case M_RCDATA_LT:
        case M_RAWTEXT_LT:
            if (c == '/') {
                tmp.len = 0;
                NEXT(st + 1);
            }
            RECONSUME(st - 1);
        case M_RCDATA_END_TAG_OPEN:
        case M_RAWTEXT_END_TAG_OPEN:
        case M_SCRIPT_END_TAG_OPEN:
        case M_SCRIPT_ESC_END_TAG_OPEN:
            if (m_alpha(c))
                RECONSUME(st + 1);
            RECONSUME(st == M_SCRIPT_ESC_END_TAG_OPEN ? M_SCRIPT_ESC : st - 2);
        case M_RCDATA_END_TAG_NAME:
        case M_RAWTEXT_END_TAG_NAME:
        case M_SCRIPT_END_TAG_NAME:
        case M_SCRIPT_ESC_END_TAG_NAME: {
            int appropriate = tmp.len == raw.len
                              && memcmp(tmp.bytes, raw.bytes, raw.len) == 0;
            if ((m_space(c) || c == '/' || c == '>') && appropriate) {
                end_tag = 1;
                raw_end = 1;    /* its element is HTML: no foreign frame */
                name = tmp;
                if (c == '>')
                    goto emit;
                NEXT(c == '/' ? M_SELF_CLOSING : M_BEFORE_ATTR_NAME);
            }
            if (m_alpha(c)) {
                m_name_add(&tmp, m_lower(c));
                NEXT(st);
            }
            RECONSUME(st == M_SCRIPT_ESC_END_TAG_NAME ? M_SCRIPT_ESC : st - 3);
        }
        case M_SCRIPT:
            if (c == '<')
                NEXT(M_SCRIPT_LT);
            NEXT(M_SCRIPT);
        case M_SCRIPT_LT:
            if (c == '/') {
                tmp.len = 0;
                NEXT(M_SCRIPT_END_TAG_OPEN);
            }
            if (c == '!')
                NEXT(M_SCRIPT_ESC_START);
            RECONSUME(M_SCRIPT);
        case M_SCRIPT_ESC_START:
            if (c == '-')
                NEXT(M_SCRIPT_ESC_START_DASH);
            RECONSUME(M_SCRIPT);
        case M_SCRIPT_ESC_START_DASH:
            if (c == '-')
                NEXT(M_SCRIPT_ESC_DASH_DASH);
            RECONSUME(M_SCRIPT);
        case M_SCRIPT_ESC:
            if (c == '-')
                NEXT(M_SCRIPT_ESC_DASH);
            if (c == '<')
                NEXT(M_SCRIPT_ESC_LT);
            NEXT(M_SCRIPT_ESC);
        case M_SCRIPT_ESC_DASH:
            if (c == '-')
                NEXT(M_SCRIPT_ESC_DASH_DASH);
            if (c == '<')
                NEXT(M_SCRIPT_ESC_LT);
            NEXT(M_SCRIPT_ESC);
        case M_SCRIPT_ESC_DASH_DASH:
            if (c == '-')
                NEXT(M_SCRIPT_ESC_DASH_DASH);
            if (c == '<')
                NEXT(M_SCRIPT_ESC_LT);
            if (c == '>')
                NEXT(M_SCRIPT);
            NEXT(M_SCRIPT_ESC);
        case M_SCRIPT_ESC_LT:
            if (c == '/') {
                tmp.len = 0;
                NEXT(M_SCRIPT_ESC_END_TAG_OPEN);
            }
            if (m_alpha(c)) {
                tmp.len = 0;
                RECONSUME(M_SCRIPT_DESC_START);
            }
            RECONSUME(M_SCRIPT_ESC);
        case M_SCRIPT_DESC_START:
        case M_SCRIPT_DESC_END:
            if (m_space(c) || c == '/' || c == '>') {
                int is_script = m_name_is(&tmp, "script");
                if (st == M_SCRIPT_DESC_START)
                    NEXT(is_script ? M_SCRIPT_DESC : M_SCRIPT_ESC);
                NEXT(is_script ? M_SCRIPT_ESC : M_SCRIPT_DESC);
            }
            if (m_alpha(c)) {
                m_name_add(&tmp, m_lower(c));
                NEXT(st);
            }
            RECONSUME(st == M_SCRIPT_DESC_START ? M_SCRIPT_ESC : M_SCRIPT_DESC);
        case M_SCRIPT_DESC:
            if (c == '-')
                NEXT(M_SCRIPT_DESC_DASH);
            if (c == '<')
                NEXT(M_SCRIPT_DESC_LT);
            NEXT(M_SCRIPT_DESC);
        case M_SCRIPT_DESC_DASH:
            if (c == '-')
                NEXT(M_SCRIPT_DESC_DASH_DASH);
            if (c == '<')
                NEXT(M_SCRIPT_DESC_LT);
            NEXT(M_SCRIPT_DESC);
        case M_SCRIPT_DESC_DASH_DASH:
            if (c == '-')
                NEXT(M_SCRIPT_DESC_DASH_DASH);
            if (c == '<')
                NEXT(M_SCRIPT_DESC_LT);
            if (c == '>')
                NEXT(M_SCRIPT);
            NEXT(M_SCRIPT_DESC);
        case M_SCRIPT_DESC_LT:
            if (c == '/') {
                tmp.len = 0;
                NEXT(M_SCRIPT_DESC_END);
            }
            RECONSUME(M_SCRIPT_DESC);
        case M_PLAINTEXT:
            NEXT(M_PLAINTEXT);
        case M_CDATA:
            NEXT(c == ']' ? M_CDATA_BRACKET : M_CDATA);
        case M_CDATA_BRACKET:
            if (c == ']')
                NEXT(M_CDATA_END);
            RECONSUME(M_CDATA);
        case M_CDATA_END:
            if (c == ']')
                NEXT(M_CDATA_END);
            if (c == '>')
                NEXT(M_DATA);
            RECONSUME(M_CDATA);
        default:
            abort();
        }

    emit:
        /* c == '>' ends the tag; the tree builder picks the next state */
        i++;
        st = M_DATA;
        if (end_tag) {
            if (tree.depth && !raw_end)
                m_foreign_end(&tree, &name);
        }
        else if (!html_tag) {
            m_foreign_start(&tree, &name, self_closing, font_attr, html_encoding);
        }
        else if (m_name_is(&name, "svg") || m_name_is(&name, "math")) {
            if (!self_closing)
                m_push(&tree, m_name_is(&name, "svg") ? F_SVG : F_MATH,
                       IP_NONE, &name);
        }
        else {
            for (size_t k = 0; k < sizeof(rcdata) / sizeof(rcdata[0]); k++)
                if (m_name_is(&name, rcdata[k]))
                    st = M_RCDATA;
            for (size_t k = 0; k < sizeof(rawtext) / sizeof(rawtext[0]); k++)
                if (m_name_is(&name, rawtext[k]))
                    st = M_RAWTEXT;
            if (m_name_is(&name, "script"))
                st = M_SCRIPT;
            if (m_name_is(&name, "plaintext"))
                st = M_PLAINTEXT;
            if (st != M_DATA)
                raw = name;
        }
        self_closing = 0;
        if (tree.lost)
            return 0;           /* as rai_scan: nothing more, not in text */
    }
#undef RECONSUME
#undef NEXT
    if (st != M_DATA || tree.lost)
        return 0;
    return !tree.depth || tree.frames[tree.depth - 1].ip == IP_HTML
           || tree.frames[tree.depth - 1].ip == IP_TEXT;
}
