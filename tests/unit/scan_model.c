/* Licensed under the Apache License, Version 2.0; see the LICENSE file at
 * the top of this tree.
 */

/* An independent reference for rai_scan, used by the unit tests and the
 * fuzzer: the WHATWG HTML tokenizer (HTML Living Standard §13.2.5) written
 * state by state over a whole buffer, slow and obvious.
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
    M_PLAINTEXT,
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

void rai_model_scan(const rai_scan_elements_t *elements, int script_escapes,
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
    size_t i = 0;

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
                if (!end_tag && name.len <= RAI_SCAN_NAME_MAX
                    && rai_model_name_matches(elements, name.bytes, name.len))
                    found(ctx, i);
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
            if (c == '=')
                NEXT(M_ATTR_NAME);
            RECONSUME(M_ATTR_NAME);
        case M_ATTR_NAME:
            if (m_space(c) || c == '/' || c == '>')
                RECONSUME(M_AFTER_ATTR_NAME);
            if (c == '=')
                NEXT(M_BEFORE_ATTR_VALUE);
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
            RECONSUME(M_ATTR_NAME);
        case M_BEFORE_ATTR_VALUE:
            if (m_space(c))
                NEXT(M_BEFORE_ATTR_VALUE);
            if (c == '"')
                NEXT(M_ATTR_VALUE_DQ);
            if (c == '\'')
                NEXT(M_ATTR_VALUE_SQ);
            if (c == '>')
                goto emit;
            RECONSUME(M_ATTR_VALUE_UQ);
        case M_ATTR_VALUE_DQ:
            NEXT(c == '"' ? M_AFTER_ATTR_VALUE_Q : M_ATTR_VALUE_DQ);
        case M_ATTR_VALUE_SQ:
            NEXT(c == '\'' ? M_AFTER_ATTR_VALUE_Q : M_ATTR_VALUE_SQ);
        case M_ATTR_VALUE_UQ:
            if (m_space(c))
                NEXT(M_BEFORE_ATTR_NAME);
            if (c == '>')
                goto emit;
            NEXT(M_ATTR_VALUE_UQ);
        case M_AFTER_ATTR_VALUE_Q:
            if (m_space(c))
                NEXT(M_BEFORE_ATTR_NAME);
            if (c == '/')
                NEXT(M_SELF_CLOSING);
            if (c == '>')
                goto emit;
            RECONSUME(M_BEFORE_ATTR_NAME);
        case M_SELF_CLOSING:
            if (c == '>')
                goto emit;
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
            if (c == '!' && script_escapes)
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
        default:
            abort();
        }

    emit:
        /* c == '>' ends the tag; the tree builder picks the next state */
        i++;
        st = M_DATA;
        if (!end_tag) {
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
    }
#undef RECONSUME
#undef NEXT
}
