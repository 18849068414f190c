/* Licensed under the Apache License, Version 2.0; see the LICENSE file at
 * the top of this tree.
 */

/* rai_scan: the widget finder.  The states follow the WHATWG tokenizer
 * (data, tag open, tag name, the attribute states, comments, bogus
 * comments, CDATA sections, raw text, script data and its escaped and
 * double-escaped states) but keep only what decides where a start tag
 * begins and ends.  States that the tokenizer distinguishes but that act
 * alike here are merged: the self-closing and after-quoted-value states
 * behave as before-attribute-name for every byte that matters to us.
 *
 * Tree construction is followed only as far as it drives the tokenizer,
 * on a bounded stack of the open SVG and MathML elements (frames):
 *
 * - Outside foreign content, and at its HTML and MathML text integration
 *   points (foreignObject, desc and title in SVG; annotation-xml with an
 *   HTML encoding; mi, mo, mn, ms, mtext), start tags follow the HTML
 *   rules: raw-text elements switch the tokenizer, widgets are reported,
 *   <svg> and <math> open foreign content (unless self-closing).
 * - Elsewhere in foreign content every start tag is a foreign element:
 *   no raw text, and no widget is reported (the browser would create an
 *   SVG or MathML element, which no custom element definition upgrades).
 *   The "breakout" tags (b, div, p, ... and font with color, face or
 *   size) close the foreign elements down to the nearest integration
 *   point, as a browser does, and are then HTML.
 * - An end tag in foreign content closes the nearest open foreign element
 *   of its name (</p> and </br> break out); other end tags are ignored.
 * - "<![CDATA[" opens a CDATA section inside any foreign element.
 *
 * What is simpler than a browser, chosen so that the scanner reports no
 * widget a browser would not see as an HTML element: HTML elements inside
 * an integration point are not followed (an end tag there is matched
 * against the foreign elements only, and CDATA sections are recognised as
 * if the integration point were the current node: CDATA ends no earlier
 * than the bogus comment a browser may see); end tags of HTML elements
 * that enclose the <svg> (</div>) do not end foreign content here, so the
 * widgets after them are missed until </svg>; and past RAI_SCAN_FOREIGN_MAX
 * open foreign elements the scan stops (the rest of the page passes as
 * is).
 */

#include <string.h>

/* -DRAI_SCAN_NO_SIMD builds the portable path alone (as on other CPUs). */
#if (defined(__x86_64__) || defined(_M_X64)) && !defined(RAI_SCAN_NO_SIMD)
#define RAI_SCAN_X86 1
#include <immintrin.h>
#else
#define RAI_SCAN_X86 0
#endif

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
    RAI_S_WATCH,             /* attributes of font, annotation-xml */
    RAI_S_MARKUP_DECL,       /* after "<!" */
    RAI_S_MARKUP_DASH,       /* after "<!-" */
    RAI_S_CDATA_OPEN,        /* after "<![" in foreign content */
    RAI_S_CDATA,
    RAI_S_COMMENT,
    RAI_S_BOGUS_COMMENT,
    RAI_S_RAWTEXT,
    RAI_S_RAWTEXT_LT,        /* raw text, after '<' */
    RAI_S_RAWTEXT_END,       /* raw text, after "</", matching the name */
    RAI_S_SCRIPT_ESC_START,  /* script data, after "<!" */
    RAI_S_SCRIPT_ESC_START_DASH,
    RAI_S_SCRIPT_ESC,        /* escaped; dashes: '-' just seen */
    RAI_S_SCRIPT_ESC_LT,
    RAI_S_SCRIPT_DESC_START, /* escaped, after '<': matching "script" */
    RAI_S_SCRIPT_DESC,       /* double escaped */
    RAI_S_SCRIPT_DESC_LT,
    RAI_S_SCRIPT_DESC_END,   /* double escaped, after "</" */
    RAI_S_PLAINTEXT          /* also: the scan has given up */
};

/* Elements whose content is text up to their own end tag.  "plaintext"
 * has no end tag at all and must stay last of them; svg and math follow,
 * as the other start tags the tree builder acts on. */
static const char *const rai_scan_rawtext_names[] = {
    "script", "style", "textarea", "title", "xmp", "iframe",
    "noembed", "noframes", "noscript", "plaintext", "svg", "math"
};
static const unsigned char rai_scan_rawtext_lengths[] = {
    6, 5, 8, 5, 3, 6, 7, 8, 8, 9, 3, 4
};
#define RAI_SCAN_SCRIPT    1
#define RAI_SCAN_PLAINTEXT 10
#define RAI_SCAN_SVG       11
#define RAI_SCAN_MATH      12
#define RAI_SCAN_SPECIAL_COUNT 12

/* Frame kinds (rai_scan_frame_t.kind). */
#define RAI_F_MATH    0x01      /* MathML namespace, else SVG */
#define RAI_F_HTML_IP 0x02      /* HTML integration point */
#define RAI_F_TEXT_IP 0x04      /* MathML text integration point */
#define RAI_F_ANNOT   0x08      /* annotation-xml, not an integration point */

/* What the attributes of a foreign start tag are read for. */
#define RAI_W_FONT     1        /* color, face or size: breakout */
#define RAI_W_ENCODING 2        /* annotation-xml: an HTML encoding */

/* Attribute states while watching (rai_scan_t.watch_state). */
enum {
    RAI_WS_BEFORE_NAME = 0, RAI_WS_NAME, RAI_WS_AFTER_NAME,
    RAI_WS_BEFORE_VALUE, RAI_WS_DQ, RAI_WS_SQ, RAI_WS_UNQ
};

#define RAI_R_WIDGET 0
#define RAI_R_SCRIPT 1
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


/* ------------------------------------------------------------------ */
/* Skipping runs of bytes: find the next byte that can end a state.     */
/* No load reaches past p + n: the caller's buffer may end on a page    */
/* boundary, and the tests make every chunk an allocation of its own.  */

static size_t rai_scan_find1_portable(const unsigned char *p, size_t n,
                                      unsigned char a)
{
    const unsigned char *hit = memchr(p, a, n);

    return hit ? (size_t)(hit - p) : n;
}

/* The first a, b or c: each looked for only before the ones found. */
static size_t rai_scan_find3_portable(const unsigned char *p, size_t n,
                                      unsigned char a, unsigned char b,
                                      unsigned char c)
{
    size_t at = rai_scan_find1_portable(p, n, a);

    if (b != a) {
        at = rai_scan_find1_portable(p, at, b);
    }
    if (c != a && c != b) {
        at = rai_scan_find1_portable(p, at, c);
    }
    return at;
}

#if RAI_SCAN_X86
/* Bit k of the result: p[k] is a, b or c. */
static inline unsigned int rai_scan_mask16(const unsigned char *p, __m128i va,
                                           __m128i vb, __m128i vc)
{
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);

    return (unsigned int)_mm_movemask_epi8(
        _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, va), _mm_cmpeq_epi8(v, vb)),
                     _mm_cmpeq_epi8(v, vc)));
}

static size_t rai_scan_find3_sse2(const unsigned char *p, size_t n,
                                  unsigned char a, unsigned char b,
                                  unsigned char c)
{
    const __m128i va = _mm_set1_epi8((char)a), vb = _mm_set1_epi8((char)b),
                  vc = _mm_set1_epi8((char)c);
    unsigned int m;
    size_t i = 0;

    if (n < 16) {
        for (; i < n; i++) {
            if (p[i] == a || p[i] == b || p[i] == c) {
                break;
            }
        }
        return i;
    }
    for (; i + 16 <= n; i += 16) {
        if ((m = rai_scan_mask16(p + i, va, vb, vc)) != 0) {
            return i + (size_t)__builtin_ctz(m);
        }
    }
    /* the last bytes: one load that ends at p + n, already-seen bits off */
    if (i < n && (m = rai_scan_mask16(p + n - 16, va, vb, vc) >> (i + 16 - n)) != 0) {
        return i + (size_t)__builtin_ctz(m);
    }
    return n;
}

__attribute__((target("avx2")))
static inline unsigned int rai_scan_mask32(const unsigned char *p, __m256i va,
                                           __m256i vb, __m256i vc)
{
    __m256i v = _mm256_loadu_si256((const __m256i *)(const void *)p);

    return (unsigned int)_mm256_movemask_epi8(
        _mm256_or_si256(_mm256_or_si256(_mm256_cmpeq_epi8(v, va),
                                        _mm256_cmpeq_epi8(v, vb)),
                        _mm256_cmpeq_epi8(v, vc)));
}

__attribute__((target("avx2")))
static size_t rai_scan_find3_avx2(const unsigned char *p, size_t n,
                                  unsigned char a, unsigned char b,
                                  unsigned char c)
{
    const __m256i va = _mm256_set1_epi8((char)a), vb = _mm256_set1_epi8((char)b),
                  vc = _mm256_set1_epi8((char)c);
    unsigned int m;
    size_t i = 0;

    if (n < 32) {
        return rai_scan_find3_sse2(p, n, a, b, c);
    }
    for (; i + 32 <= n; i += 32) {
        if ((m = rai_scan_mask32(p + i, va, vb, vc)) != 0) {
            return i + (size_t)__builtin_ctz(m);
        }
    }
    if (i < n && (m = rai_scan_mask32(p + n - 32, va, vb, vc) >> (i + 32 - n)) != 0) {
        return i + (size_t)__builtin_ctz(m);
    }
    return n;
}
#endif

/* The implementation in use; set once at load time, changed only by
 * rai_scan_force_impl. */
static int rai_scan_impl = RAI_SCAN_IMPL_PORTABLE;

static int rai_scan_best_impl(void)
{
#if RAI_SCAN_X86
    __builtin_cpu_init();
    /* the AVX2 path also uses PCLMULQDQ, BMI1 and BMI2, which every CPU
     * with AVX2 has, but ask; AVX-512 (F and BW: compares into mask
     * registers; VBMI: the 128-byte table lookups) only in addition to
     * all that.  The answers count the OS's support (XSAVE state) too. */
    if (!(__builtin_cpu_supports("avx2") && __builtin_cpu_supports("pclmul")
          && __builtin_cpu_supports("bmi") && __builtin_cpu_supports("bmi2"))) {
        return RAI_SCAN_IMPL_SSE2;
    }
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")
           && __builtin_cpu_supports("avx512vbmi")
           ? RAI_SCAN_IMPL_AVX512 : RAI_SCAN_IMPL_AVX2;
#else
    return RAI_SCAN_IMPL_PORTABLE;
#endif
}

#if RAI_SCAN_X86
static void rai_scan_block_tables(void);
#endif

/* At load time, before any thread can scan. */
__attribute__((constructor))
static void rai_scan_pick_impl(void)
{
#if RAI_SCAN_X86
    rai_scan_block_tables();
#endif
    rai_scan_impl = rai_scan_best_impl();
}

int rai_scan_force_impl(int impl)
{
    if (impl == RAI_SCAN_IMPL_AUTO) {
        rai_scan_impl = rai_scan_best_impl();
    }
    else if (impl == RAI_SCAN_IMPL_PORTABLE) {
        rai_scan_impl = impl;
    }
#if RAI_SCAN_X86
    else if (impl == RAI_SCAN_IMPL_SSE2) {
        rai_scan_impl = impl;
    }
    else if (impl == RAI_SCAN_IMPL_AVX2
             && rai_scan_best_impl() >= RAI_SCAN_IMPL_AVX2) {
        rai_scan_impl = impl;
    }
    else if (impl == RAI_SCAN_IMPL_AVX512
             && rai_scan_best_impl() == RAI_SCAN_IMPL_AVX512) {
        rai_scan_impl = impl;
    }
#endif
    return rai_scan_impl;
}

int rai_scan_impl_in_use(void)
{
    return rai_scan_impl;
}

const char *rai_scan_impl_name(int impl)
{
    switch (impl) {
    case RAI_SCAN_IMPL_PORTABLE: return "portable";
    case RAI_SCAN_IMPL_SSE2:     return "sse2";
    case RAI_SCAN_IMPL_AVX2:     return "avx2";
    case RAI_SCAN_IMPL_AVX512:   return "avx512";
    default:                     return "auto";
    }
}

/* Offset in p[0..n) of the first a, b or c, or n.  Most runs in HTML
 * are short (a tag name, an attribute, a word or two of text): the first
 * 16 bytes are looked at here, without a call. */
static inline __attribute__((always_inline))
size_t rai_scan_find(int impl, const unsigned char *p, size_t n,
                     unsigned char a, unsigned char b, unsigned char c)
{
#if RAI_SCAN_X86
    if (impl != RAI_SCAN_IMPL_PORTABLE) {
        unsigned int m;

        if (n < 16) {
            return rai_scan_find3_sse2(p, n, a, b, c);
        }
        m = rai_scan_mask16(p, _mm_set1_epi8((char)a), _mm_set1_epi8((char)b),
                            _mm_set1_epi8((char)c));
        if (m) {
            return (size_t)__builtin_ctz(m);
        }
        return 16 + (impl >= RAI_SCAN_IMPL_AVX2
                     ? rai_scan_find3_avx2(p + 16, n - 16, a, b, c)
                     : rai_scan_find3_sse2(p + 16, n - 16, a, b, c));
    }
#endif
    (void)impl;
    return rai_scan_find3_portable(p, n, a, b, c);
}

/* ------------------------------------------------------------------ */
/* Block mode: text and ordinary tags, 64 bytes at a time.              */
/*                                                                      */
/* In the data state outside foreign content, most of a page is text    */
/* and tags whose names matter to no one (p, a, code, </li>, ...).      */
/* Block mode turns 64 bytes into bit masks (one bit per byte: '<', '>', */
/* quotes, '=', '/', whitespace; "the next byte can open a tag"; "the    */
/* next two bytes could start a name that matters") and works out every */
/* tag in them at once, with integer arithmetic instead of a branch per */
/* byte or per tag:                                                     */
/*                                                                      */
/* - An opener is a '<' followed by a letter, '/', '!' or '?'.  If no   */
/*   quoted value holds a '>', the first opener after each '>' (or at   */
/*   the block's start, which is in the data state) opens a tag and the */
/*   first '>' after it ends the tag: "the first bit of one mask at or  */
/*   after each bit of another" is one addition (first_after).          */
/* - Then the block is checked, exactly, for what the tokenizer would do */
/*   with the quotes in those tags: they pair up (prefix XOR; quotes of  */
/*   the other kind only inside values), none is open at a tag's '>',    */
/*   every opening quote follows an '=' that follows an attribute name, */
/*   which follows whitespace inside the tag, and no other '=' stands    */
/*   outside a value.  Under those conditions the tokenizer opens a      */
/*   quoted value at each opening quote and at nothing else, so its tags */
/*   end where the masks say (docs/DESIGN-NOTES.md has the argument).    */
/* - A tag whose first two name bytes could start a raw-text element,   */
/*   svg, math or a widget (a superset, from nibble tables) has its     */
/*   name read; if it is one, and at any "<!", block mode stops at its  */
/*   '<': the states read the tag, and block mode starts again, in the  */
/*   data state, after it.                                              */
/*                                                                      */
/* What the check refuses (an unquoted value with '=' before a quote, a */
/* quote in a name, a DOCTYPE with its identifiers) the states read,    */
/* from the block's start or the '<' of the tag it began in, and block  */
/* mode waits for the next 64 bytes.  A tag or value may go on over     */
/* several blocks (rai_scan_carry_t).  The portable build has no block  */
/* mode.                                                                */

#if RAI_SCAN_X86
#include <stdint.h>

/* Bytes a block needs: 64, and two more to see what follows a '<'. */
#define RAI_SCAN_BLOCK 64
#define RAI_SCAN_BLOCK_SPAN (RAI_SCAN_BLOCK + 2)

/* Byte classes by nibble tables (class = lo[c & 15] & hi[c >> 4]). */
#define RAI_K_LT   0x80
#define RAI_K_GT   0x40
#define RAI_K_DQ   0x20
#define RAI_K_SQ   0x10
#define RAI_K_EQ   0x08
#define RAI_K_SL   0x04
#define RAI_K_WS0  0x02         /* \t \n \f \r */
#define RAI_K_WS2  0x01         /* ' ' */
static const unsigned char rai_scan_cls_lo[16] = {
    RAI_K_WS2, 0, RAI_K_DQ, 0, 0, 0, 0, RAI_K_SQ,
    0, RAI_K_WS0, RAI_K_WS0, 0, RAI_K_WS0 | RAI_K_LT, RAI_K_WS0 | RAI_K_EQ,
    RAI_K_GT, RAI_K_SL
};
static const unsigned char rai_scan_cls_hi[16] = {
    RAI_K_WS0, 0, RAI_K_WS2 | RAI_K_SL | RAI_K_DQ | RAI_K_SQ,
    RAI_K_GT | RAI_K_EQ | RAI_K_LT
};

/* The byte after a '<': bits 0-6 for names that start with s, t, x, i,
 * n, p, m, bit 7 for '!' (first); the byte after that: bits 0-6 for
 * the second letters of script/style/svg, textarea/title, xmp, iframe,
 * noembed/noframes/noscript, plaintext and math, bit 7 for any byte
 * (second).  A pair matters when first & second is not 0; as nibble
 * tables the second sets grow a little (a superset: harmless). */
static unsigned char rai_scan_first_lo[16], rai_scan_first_hi[16];
static unsigned char rai_scan_second_lo[16], rai_scan_second_hi[16];

/* 0, 1, ..., 127: the bytes whose classes the AVX-512 tables hold */
static unsigned char rai_scan_ascii[128];

static void rai_scan_nibbles(unsigned char *lo, unsigned char *hi,
                             unsigned char c, unsigned char bit)
{
    lo[c & 15] |= bit;
    hi[c >> 4] |= bit;
}

static void rai_scan_block_tables(void)
{
    static const char *const groups[] = {
        "sctv", "tei", "xm", "if", "no", "pl", "ma"
    };
    unsigned int g, k;
    const char *s;

    for (g = 0; g < sizeof(groups) / sizeof(groups[0]); g++) {
        unsigned char bit = (unsigned char)(1u << g), f = (unsigned char)groups[g][0];

        rai_scan_nibbles(rai_scan_first_lo, rai_scan_first_hi, f, bit);
        rai_scan_nibbles(rai_scan_first_lo, rai_scan_first_hi, f - 0x20, bit);
        for (s = groups[g] + 1; *s; s++) {
            rai_scan_nibbles(rai_scan_second_lo, rai_scan_second_hi,
                             (unsigned char)*s, bit);
            rai_scan_nibbles(rai_scan_second_lo, rai_scan_second_hi,
                             (unsigned char)(*s - 0x20), bit);
        }
    }
    rai_scan_nibbles(rai_scan_first_lo, rai_scan_first_hi, '!', 0x80);
    for (k = 0; k < 128; k++) {
        rai_scan_ascii[k] = (unsigned char)k;
    }
    for (k = 0; k < 16; k++) {
        rai_scan_second_lo[k] |= 0x80;
        rai_scan_second_hi[k] |= 0x80;
    }
}

/* The per-scan table of the byte after a '<' (rai_scan_t.block_lo/hi):
 * bits 0-3 for the widgets' initials (three exactly, the rest share bit
 * 3), bits 4-7 for "can open a tag": letters (two bits: 0x41-0x4F and
 * 0x61-0x6F; 0x50-0x5A and 0x70-0x7A), '/' and '!', '?'. */
#define RAI_K_OPENS 0xF0
static void rai_scan_block_init(rai_scan_t *scan)
{
    unsigned int k, n = 0;

    memset(scan->block_lo, 0, sizeof(scan->block_lo));
    memset(scan->block_hi, 0, sizeof(scan->block_hi));
    for (k = 0; k < 16; k++) {
        scan->block_lo[k] = (unsigned char)((k >= 1 ? 0x10 : 0) | (k <= 10 ? 0x20 : 0)
                                            | (k == 1 || k == 15 ? 0x40 : 0)
                                            | (k == 15 ? 0x80 : 0));
    }
    scan->block_hi[4] = scan->block_hi[6] = 0x10;
    scan->block_hi[5] = scan->block_hi[7] = 0x20;
    scan->block_hi[2] = 0x40;       /* '!' 0x21, '/' 0x2f */
    scan->block_hi[3] = 0x80;       /* '?' 0x3f */
    for (k = 0; k < 26; k++) {
        if (scan->initials >> k & 1) {
            unsigned char bit = (unsigned char)(1u << (n < 3 ? n : 3));

            rai_scan_nibbles(scan->block_lo, scan->block_hi,
                             (unsigned char)('a' + k), bit);
            rai_scan_nibbles(scan->block_lo, scan->block_hi,
                             (unsigned char)('A' + k), bit);
            n++;
        }
    }
}

typedef struct {
    uint64_t open;              /* '<' that can open a tag */
    uint64_t cand;              /* an opener of a name that may matter */
    uint64_t gt, dq, sq, eq, ws;
    uint64_t nm;                /* may be in an attribute name: not ws / > = " ' */
} rai_scan_masks_t;

/* The judge asks for each mask where it needs it, through a getter that
 * is inlined: the AVX-512 one tests the byte classes just then, which
 * keeps them in vector registers instead of spilling the masks. */
enum {
    RAI_M_OPEN, RAI_M_CAND, RAI_M_GT, RAI_M_DQ, RAI_M_SQ, RAI_M_EQ, RAI_M_WS, RAI_M_NM
};
typedef uint64_t (*rai_scan_get_t)(const void *m, int which);

/* The getter of masks computed beforehand (SSE2, AVX2). */
static inline __attribute__((always_inline))
uint64_t rai_scan_get_masks(const void *mv, int which)
{
    const rai_scan_masks_t *m = mv;

    switch (which) {
    case RAI_M_OPEN: return m->open;
    case RAI_M_CAND: return m->cand;
    case RAI_M_GT:   return m->gt;
    case RAI_M_DQ:   return m->dq;
    case RAI_M_SQ:   return m->sq;
    case RAI_M_EQ:   return m->eq;
    case RAI_M_WS:   return m->ws;
    default:         return m->nm;
    }
}

/* What one block hands the next: the tag it ends in, if any, and the
 * bits of its last bytes that the next one's checks look back at. */
typedef struct {
    size_t tag_block;           /* the tag the block ends in: the start of */
    uint64_t tag_real;          /* the block that opened it, and the opener
                                 * bits of that block (the highest is its
                                 * '<'): rai_scan_tag_at */
    unsigned int tag;           /* the block ends inside that tag */
    unsigned int inq;           /* ... inside a quoted value of it (as the
                                 * check pairs quotes: in a bogus comment,
                                 * <?x a='..., there is no value to a
                                 * browser; harmless only because such a
                                 * tag ends at its first '>' either way and
                                 * a '>' inside these quotes is refused:
                                 * never skip ahead on this bit alone) */
    unsigned int inq_sq;        /* ... single-quoted */
    uint64_t eq;                /* bit 0: the last byte is an '=' outside values */
    uint64_t ws;                /* bit 0: it is whitespace in a tag */
    uint64_t seeded;            /* bits 0-1: the last two are name bytes
                                 * of names that follow whitespace */
} rai_scan_carry_t;

/* Where the tag the last block ended in starts: its '<'. */
static inline size_t rai_scan_tag_at(const rai_scan_carry_t *k)
{
    return k->tag_block + 63 - (unsigned int)__builtin_clzll(k->tag_real | 1);
}

/* Bits [0, n) */
static inline uint64_t rai_scan_below(unsigned int n)
{
    return n >= 64 ? ~(uint64_t)0 : ((uint64_t)1 << n) - 1;
}

/* Bit k of the result: the XOR of bits 0..k of x. */
static inline uint64_t rai_scan_prefix_xor(uint64_t x)
{
    x ^= x << 1;
    x ^= x << 2;
    x ^= x << 4;
    x ^= x << 8;
    x ^= x << 16;
    x ^= x << 32;
    return x;
}

__attribute__((target("pclmul,sse2")))
static inline uint64_t rai_scan_prefix_xor_clmul(uint64_t x)
{
    return (uint64_t)_mm_cvtsi128_si64(_mm_clmulepi64_si128(
        _mm_set_epi64x(0, (long long)x), _mm_set1_epi8(-1), 0));
}

/* The prefix XOR by the instruction the implementation has. */
static inline __attribute__((always_inline))
uint64_t rai_scan_pxor(uint64_t x, int clmul)
{
    return clmul ? rai_scan_prefix_xor_clmul(x) : rai_scan_prefix_xor(x);
}

/* For each bit of seeds, the first bit of to at or after it: a carry
 * that starts at a seed runs over the bits that are not in to and stops
 * at (sets) the first that is. */
static inline uint64_t rai_scan_first_after(uint64_t seeds, uint64_t to)
{
    uint64_t t = ~to;

    return (seeds & to) | ((t + (seeds & t)) & to);
}

/* A tag the masks marked as one that may matter, read whole: 1 when its
 * name is none that does (strong, table, ...), and block mode may go on
 * over it as over any other tag. */
static int rai_scan_block_plain(const rai_scan_t *scan, const unsigned char *in,
                                size_t at, size_t len)
{
    char name[RAI_SCAN_NAME_MAX];
    size_t n = 0, j = at + 1;
    int k;

    if (!rai_scan_is_alpha(in[j])) {
        return 0;                   /* "<!" */
    }
    for (; j < len && !(rai_scan_class[in[j]] & RAI_C_ENDS_NAME); j++, n++) {
        if (n < RAI_SCAN_NAME_MAX) {
            name[n] = (char)rai_scan_lower(in[j]);
        }
    }
    if (j == len) {
        return 0;                   /* the name may go on in the next chunk */
    }
    for (k = 0; k < RAI_SCAN_SPECIAL_COUNT; k++) {
        if (rai_scan_rawtext_lengths[k] == n && rai_scan_rawtext_names[k][0] == name[0]
            && memcmp(rai_scan_rawtext_names[k], name, n) == 0) {
            return 0;
        }
    }
    return n > RAI_SCAN_NAME_MAX || !(scan->initials >> (name[0] - 'a') & 1)
           || !rai_scan_name_matches(scan->elements, name, n);
}

/* Judges one block (at the state k hands it).  Returns 0 and updates k
 * to go on; 1 when a tag that matters starts at *at (the data state
 * there); 2 when the check refused the block (see rai_scan_blocks).
 * Straight-line code but for the rare cases (a tag that may matter,
 * single quotes): half of a manual's blocks start inside a tag and two
 * thirds hold quotes, so a branch on either would guess wrong all the
 * time. */
static inline __attribute__((always_inline))
int rai_scan_block_judge(const rai_scan_t *scan, const unsigned char *in,
                         size_t len, const void *mv, rai_scan_get_t get,
                         rai_scan_carry_t *k, size_t i, int clmul, size_t *at)
{
#define M(x) get(mv, RAI_M_##x)
    uint64_t vo = k->tag, real, ends, all, tail, oe, in_tag, cand, qd, qs;
    uint64_t qk, px, content, opening, eq_out, nm, wsin, starts, seeded;
    unsigned int open_end;
    uint64_t bad;               /* not 0: the check refuses the block */
    int hit = 0;

    real = rai_scan_first_after((M(GT) << 1) | (vo ^ 1), M(OPEN));
    ends = rai_scan_first_after((real << 1) | vo, M(GT));
    all = real | vo;
    /* the last tag goes on past the block when its start is the highest
     * bit of the two sets (starts and ends come in turn) */
    open_end = all > ends;
    /* the bytes of tags, from each start to its end (to the block's end
     * for the last one when it goes on) */
    tail = (uint64_t)open_end << 63;
    in_tag = ((ends | tail) - all) | ends | tail;
    oe = 0 - (uint64_t)open_end;
    cand = real & M(CAND);
    if (__builtin_expect(cand != 0, 0)) {
        while (cand && rai_scan_block_plain(scan, in,
                                            i + (size_t)__builtin_ctzll(cand), len)) {
            cand &= cand - 1;
        }
        if (cand) {
            unsigned int c = (unsigned int)__builtin_ctzll(cand);

            in_tag &= rai_scan_below(c);
            *at = i + c;
            hit = 1;
        }
    }
    qd = M(DQ) & in_tag;
    qs = M(SQ) & in_tag;
    if (__builtin_expect(!(qs | (k->inq & k->inq_sq)), 1)) {
        /* double quotes only (the manual's case), or none at all: a value
         * the last block ended in starts this one inside quotes */
        qk = qd;
        px = rai_scan_pxor(qd, clmul) ^ (0 - (uint64_t)k->inq);
        bad = px & ends;
        k->inq_sq = 0;
    }
    else if (k->inq) {
        /* the kind of the value the last block ended in */
        uint64_t qo = k->inq_sq ? qd : qs;

        qk = k->inq_sq ? qs : qd;
        px = ~rai_scan_pxor(qk, clmul);
        bad = (px & ends) | (qo & ~(px & ~qk));
    }
    else {
        uint64_t pd = rai_scan_pxor(qd, clmul);
        uint64_t ps = rai_scan_pxor(qs, clmul);
        int ok_d = !(pd & ends) && !(qs & ~(pd & ~qd));
        int ok_s = !(ps & ends) && !(qd & ~(ps & ~qs));

        bad = !(ok_d | ok_s);
        qk = ok_d ? qd : qs;
        px = ok_d ? pd : ps;
        k->inq_sq = !ok_d;
    }
    opening = qk & px;
    content = px & ~qk;
    /* every '=' outside values comes right before an opening quote, and
     * every opening quote right after one (a stray '=' starts an unquoted
     * value: harmless when no quote follows it in its tag, that is when
     * this block has none in its tags and no tag goes on past it) */
    eq_out = M(EQ) & in_tag & ~content;
    bad |= (((eq_out << 1) | k->eq) ^ opening)
           & (0 - (uint64_t)((qd | qs | open_end) != 0));
    /* and that '=' ends an attribute name that follows whitespace inside
     * the tag (not the tag's own name, not a name right after a value).
     * The runs of name bytes need no mask: one that starts at whitespace
     * in a tag ends at its '>' or at a quote, and one inside a value can
     * vouch for no opening quote (the byte before that is an '=' outside
     * values, which the closing quote after such a run is not) */
    nm = M(NM);
    wsin = M(WS) & in_tag;
    starts = nm & ((wsin << 1) | k->ws | (k->seeded >> 1 & 1));
    seeded = ((nm + starts) ^ nm) & nm;
    bad |= opening & ~((seeded << 2) | k->seeded);
    if (__builtin_expect(bad != 0, 0)) {
        return 2;
    }
    if (hit) {
        return 1;
    }
    /* the tag the block ends in: a new one, or the one it began in */
    if (open_end & (real != 0)) {
        k->tag_block = i;
        k->tag_real = real;
    }
    k->tag = open_end;
    k->inq = open_end & (unsigned int)(px >> 63);
    /* the bits the next block looks back at, of a tag that goes on */
    k->eq = eq_out >> 63 & oe;
    k->ws = wsin >> 63 & oe;
    k->seeded = seeded >> 62 & oe;
    return 0;
#undef M
}

static inline uint64_t rai_scan_bits16(__m128i x)
{
    return (uint64_t)(unsigned int)_mm_movemask_epi8(x);
}

typedef rai_scan_masks_t rai_scan_masks_sse2_t;
#define rai_scan_get_sse2 rai_scan_get_masks

/* SSE2 has no byte shuffle: compares, and the names looked up a byte at
 * a time (the same tables). */
typedef struct {
    const rai_scan_t *scan;
} rai_scan_tables_sse2_t;

static inline void rai_scan_tables_sse2(const rai_scan_t *scan,
                                        rai_scan_tables_sse2_t *t)
{
    t->scan = scan;
}

static void rai_scan_masks_sse2(const rai_scan_tables_sse2_t *t,
                                const unsigned char *p, rai_scan_masks_t *m)
{
    const rai_scan_t *scan = t->scan;
    const __m128i lt = _mm_set1_epi8('<'), gt = _mm_set1_epi8('>'),
                  dq = _mm_set1_epi8('"'), sq = _mm_set1_epi8('\''),
                  eq = _mm_set1_epi8('='), sl = _mm_set1_epi8('/'),
                  sp = _mm_set1_epi8(' '), tab = _mm_set1_epi8('\t'),
                  nl = _mm_set1_epi8('\n'), ff = _mm_set1_epi8('\f'),
                  cr = _mm_set1_epi8('\r'), bang = _mm_set1_epi8('!'),
                  qm = _mm_set1_epi8('?'), x20 = _mm_set1_epi8(0x20),
                  a = _mm_set1_epi8('a'), z = _mm_set1_epi8(25);
    uint64_t r;
    unsigned int k;

    memset(m, 0, sizeof(*m));
    for (k = 0; k < 4; k++) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + 16 * k));
        __m128i n = _mm_loadu_si128((const __m128i *)(const void *)(p + 16 * k + 1));
        __m128i w = _mm_or_si128(
            _mm_or_si128(_mm_cmpeq_epi8(v, sp), _mm_cmpeq_epi8(v, tab)),
            _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, nl), _mm_cmpeq_epi8(v, ff)),
                         _mm_cmpeq_epi8(v, cr)));
        __m128i l = _mm_sub_epi8(_mm_or_si128(n, x20), a);
        __m128i o = _mm_or_si128(
            _mm_cmpeq_epi8(_mm_min_epu8(l, z), l),
            _mm_or_si128(_mm_cmpeq_epi8(n, sl),
                         _mm_or_si128(_mm_cmpeq_epi8(n, bang), _mm_cmpeq_epi8(n, qm))));
        __m128i g = _mm_cmpeq_epi8(v, gt), d = _mm_cmpeq_epi8(v, dq),
                s = _mm_cmpeq_epi8(v, sq), e = _mm_cmpeq_epi8(v, eq);
        unsigned int sh = 16 * k;

        m->open |= rai_scan_bits16(_mm_and_si128(_mm_cmpeq_epi8(v, lt), o)) << sh;
        m->gt |= rai_scan_bits16(g) << sh;
        m->dq |= rai_scan_bits16(d) << sh;
        m->sq |= rai_scan_bits16(s) << sh;
        m->eq |= rai_scan_bits16(e) << sh;
        m->ws |= rai_scan_bits16(w) << sh;
        m->nm |= (~rai_scan_bits16(_mm_or_si128(
                     _mm_or_si128(_mm_or_si128(w, _mm_cmpeq_epi8(v, sl)), g),
                     _mm_or_si128(_mm_or_si128(d, s), e))) & 0xFFFF) << sh;
    }
    for (r = m->open; r; r &= r - 1) {
        unsigned int at = (unsigned int)__builtin_ctzll(r);
        unsigned char c1 = p[at + 1], c2 = p[at + 2];

        if ((rai_scan_first_lo[c1 & 15] & rai_scan_first_hi[c1 >> 4]
             & rai_scan_second_lo[c2 & 15] & rai_scan_second_hi[c2 >> 4])
            || (scan->block_lo[c1 & 15] & scan->block_hi[c1 >> 4] & 0x0F)) {
            m->cand |= (uint64_t)1 << at;
        }
    }
}

__attribute__((target("avx2")))
static inline __m256i rai_scan_table32(const unsigned char *t)
{
    return _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(const void *)t));
}

__attribute__((target("avx2")))
static inline uint64_t rai_scan_top32(__m256i x)
{
    return (uint64_t)(unsigned int)_mm256_movemask_epi8(x);
}

__attribute__((target("avx2")))
static inline __m256i rai_scan_lookup32(__m256i lo, __m256i hi, __m256i v)
{
    const __m256i f = _mm256_set1_epi8(0x0F);

    return _mm256_and_si256(
        _mm256_shuffle_epi8(lo, _mm256_and_si256(v, f)),
        _mm256_shuffle_epi8(hi, _mm256_and_si256(_mm256_srli_epi16(v, 4), f)));
}

/* The masks of 32 bytes at p (bits 0-31). */
typedef struct {
    uint64_t open, cand, gt, dq, sq, eq, ws, nm;
} rai_scan_half_t;

/* The tables, loaded once before the loop. */
typedef struct {
    __m256i cls_lo, cls_hi, b_lo, b_hi, f_lo, f_hi, s_lo, s_hi;
} rai_scan_tables_avx2_t;

__attribute__((target("avx2")))
static inline __attribute__((always_inline))
void rai_scan_tables_avx2(const rai_scan_t *scan, rai_scan_tables_avx2_t *t)
{
    t->cls_lo = rai_scan_table32(rai_scan_cls_lo);
    t->cls_hi = rai_scan_table32(rai_scan_cls_hi);
    t->b_lo = rai_scan_table32(scan->block_lo);
    t->b_hi = rai_scan_table32(scan->block_hi);
    t->f_lo = rai_scan_table32(rai_scan_first_lo);
    t->f_hi = rai_scan_table32(rai_scan_first_hi);
    t->s_lo = rai_scan_table32(rai_scan_second_lo);
    t->s_hi = rai_scan_table32(rai_scan_second_hi);
}

__attribute__((target("avx2")))
static inline __attribute__((always_inline))
void rai_scan_half_avx2(const rai_scan_tables_avx2_t *t, const unsigned char *p,
                        __m256i cls, rai_scan_half_t *h)
{
    const __m256i zero = _mm256_setzero_si256();
    __m256i n1 = _mm256_loadu_si256((const __m256i *)(const void *)(p + 1));
    __m256i n2 = _mm256_loadu_si256((const __m256i *)(const void *)(p + 2));
    __m256i b = rai_scan_lookup32(t->b_lo, t->b_hi, n1);
    /* an opener: the '<' bit of cls (0x80) where b can open a tag (one of
     * bits 4-7: b + 0x70, saturated, has its top bit set) */
    __m256i op = _mm256_and_si256(
        _mm256_adds_epu8(b, _mm256_set1_epi8(0x70)), cls);
    __m256i pair = _mm256_or_si256(
        _mm256_and_si256(rai_scan_lookup32(t->f_lo, t->f_hi, n1),
                         rai_scan_lookup32(t->s_lo, t->s_hi, n2)),
        _mm256_and_si256(b, _mm256_set1_epi8(0x0F)));
    const __m256i x7f = _mm256_set1_epi8(0x7F);

    h->open = rai_scan_top32(op);
    /* a byte that is not 0 has its top bit set once 0x7F is added, saturated */
    h->cand = rai_scan_top32(_mm256_adds_epu8(pair, x7f));
    h->gt = rai_scan_top32(_mm256_slli_epi16(cls, 1));
    h->dq = rai_scan_top32(_mm256_slli_epi16(cls, 2));
    h->sq = rai_scan_top32(_mm256_slli_epi16(cls, 3));
    h->eq = rai_scan_top32(_mm256_slli_epi16(cls, 4));
    h->ws = rai_scan_top32(_mm256_adds_epu8(
        _mm256_and_si256(cls, _mm256_set1_epi8(RAI_K_WS0 | RAI_K_WS2)), x7f));
    /* a byte of a name: none of the classes but '<' */
    h->nm = rai_scan_top32(_mm256_cmpeq_epi8(
        _mm256_and_si256(cls, x7f), zero));
}

/* The masks of a block, and the classes of its two halves (looked up
 * first: they tell whether the block holds a '<'). */
typedef struct {
    rai_scan_masks_t m;
    __m256i cls[2];
} rai_scan_masks_avx2_t;

static inline __attribute__((always_inline))
uint64_t rai_scan_get_avx2(const void *mv, int which)
{
    return rai_scan_get_masks(&((const rai_scan_masks_avx2_t *)mv)->m, which);
}

/* Whether block mode judges the block at p: inside a tag, or holding a
 * '<' (the classes' top bit). */
__attribute__((target("avx2")))
static inline __attribute__((always_inline))
int rai_scan_begin_avx2(const rai_scan_tables_avx2_t *t, const unsigned char *p,
                        rai_scan_masks_avx2_t *m, unsigned int tag)
{
    const __m256i *v = (const __m256i *)(const void *)p;

    m->cls[0] = rai_scan_lookup32(t->cls_lo, t->cls_hi, _mm256_loadu_si256(v));
    m->cls[1] = rai_scan_lookup32(t->cls_lo, t->cls_hi, _mm256_loadu_si256(v + 1));
    return tag || !_mm256_testz_si256(_mm256_or_si256(m->cls[0], m->cls[1]),
                                      _mm256_set1_epi8((char)RAI_K_LT));
}

__attribute__((target("avx2")))
static inline __attribute__((always_inline))
void rai_scan_masks_avx2(const rai_scan_tables_avx2_t *t, const unsigned char *p,
                         rai_scan_masks_avx2_t *mv)
{
    rai_scan_masks_t *m = &mv->m;
    rai_scan_half_t a, b;

    rai_scan_half_avx2(t, p, mv->cls[0], &a);
    rai_scan_half_avx2(t, p + 32, mv->cls[1], &b);
    m->open = a.open | b.open << 32;
    m->cand = a.cand | b.cand << 32;
    m->gt = a.gt | b.gt << 32;
    m->dq = a.dq | b.dq << 32;
    m->sq = a.sq | b.sq << 32;
    m->eq = a.eq | b.eq << 32;
    m->ws = a.ws | b.ws << 32;
    m->nm = a.nm | b.nm << 32;
}

/* The same masks with AVX-512BW and VBMI: one 64-byte register, and
 * each class looked up whole, in a table of the 128 ASCII bytes (two
 * registers, made from the nibble tables, so every class is the same as
 * AVX2's); bytes from 0x80 up are in no class.  The class bits are
 * tested straight into mask registers. */
#define RAI_SCAN_AVX512 "avx512f,avx512bw,avx512vbmi,avx2,bmi,bmi2,pclmul"

__attribute__((target(RAI_SCAN_AVX512)))
static inline __m512i rai_scan_table64(const unsigned char *t)
{
    return _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)(const void *)t));
}

/* The 128-byte table of the nibble tables lo and hi: bytes k (0-63) of
 * t[0] and 64 + k of t[1]. */
__attribute__((target(RAI_SCAN_AVX512)))
static inline void rai_scan_table128(const unsigned char *lo, const unsigned char *hi,
                                     __m512i t[2])
{
    const __m512i f = _mm512_set1_epi8(0x0F), l = rai_scan_table64(lo),
                  h = rai_scan_table64(hi);
    int k;

    for (k = 0; k < 2; k++) {
        __m512i v = _mm512_loadu_si512((const void *)(rai_scan_ascii + 64 * k));

        t[k] = _mm512_and_si512(
            _mm512_shuffle_epi8(l, _mm512_and_si512(v, f)),
            _mm512_shuffle_epi8(h, _mm512_and_si512(_mm512_srli_epi16(v, 4), f)));
    }
}

/* The tables and constants, in registers for the whole loop (AVX-512
 * has 32): the empty asm hides the constants' values from the compiler,
 * which would otherwise build each one again in every block. */
typedef struct {
    __m512i cls[2], b[2], f[2], s[2];
    __m512i nib, x80, lt, opens, gt, dq, sq, eq, ws, cls7;
} rai_scan_tables_avx512_t;

#define RAI_SCAN_OPAQUE(v) __asm__("" : "+v"(v))

__attribute__((target(RAI_SCAN_AVX512)))
static inline __attribute__((always_inline))
void rai_scan_tables_avx512(const rai_scan_t *scan, rai_scan_tables_avx512_t *t)
{
    rai_scan_table128(rai_scan_cls_lo, rai_scan_cls_hi, t->cls);
    rai_scan_table128(scan->block_lo, scan->block_hi, t->b);
    rai_scan_table128(rai_scan_first_lo, rai_scan_first_hi, t->f);
    rai_scan_table128(rai_scan_second_lo, rai_scan_second_hi, t->s);
    t->nib = _mm512_set1_epi8(0x0F);
    t->x80 = _mm512_set1_epi8((char)0x80);
    t->lt = _mm512_set1_epi8((char)RAI_K_LT);
    t->opens = _mm512_set1_epi8((char)RAI_K_OPENS);
    t->gt = _mm512_set1_epi8(RAI_K_GT);
    t->dq = _mm512_set1_epi8(RAI_K_DQ);
    t->sq = _mm512_set1_epi8(RAI_K_SQ);
    t->eq = _mm512_set1_epi8(RAI_K_EQ);
    t->ws = _mm512_set1_epi8(RAI_K_WS0 | RAI_K_WS2);
    t->cls7 = _mm512_set1_epi8(0x7F);
    RAI_SCAN_OPAQUE(t->nib);
    RAI_SCAN_OPAQUE(t->x80);
    RAI_SCAN_OPAQUE(t->lt);
    RAI_SCAN_OPAQUE(t->opens);
    RAI_SCAN_OPAQUE(t->gt);
    RAI_SCAN_OPAQUE(t->dq);
    RAI_SCAN_OPAQUE(t->sq);
    RAI_SCAN_OPAQUE(t->eq);
    RAI_SCAN_OPAQUE(t->ws);
    RAI_SCAN_OPAQUE(t->cls7);
}

/* The class of each byte of v in the 128-byte table c, 0 from 0x80 up. */
__attribute__((target(RAI_SCAN_AVX512)))
static inline __m512i rai_scan_lookup128(const rai_scan_tables_avx512_t *t,
                                         const __m512i c[2], __m512i v)
{
    return _mm512_maskz_permutex2var_epi8(_mm512_cmplt_epu8_mask(v, t->x80), c[0], v, c[1]);
}

/* The classes of a block's bytes, of the byte after each and of the
 * pairs after each; rai_scan_get_avx512 tests them into masks. */
typedef struct {
    __m512i cls, b, pair;
    const rai_scan_tables_avx512_t *t;
} rai_scan_masks_avx512_t;

__attribute__((target(RAI_SCAN_AVX512)))
static inline __attribute__((always_inline))
void rai_scan_masks_avx512(const rai_scan_tables_avx512_t *t, const unsigned char *p,
                           rai_scan_masks_avx512_t *m)
{
    __m512i v = _mm512_loadu_si512((const void *)p);
    __m512i n1 = _mm512_loadu_si512((const void *)(p + 1));
    __m512i n2 = _mm512_loadu_si512((const void *)(p + 2));

    m->t = t;
    m->cls = rai_scan_lookup128(t, t->cls, v);
    m->b = rai_scan_lookup128(t, t->b, n1);
    /* the second byte's "any byte" bit (0x80) is in the table for ASCII
     * only: put back for the rest */
    m->pair = _mm512_or_si512(
        _mm512_and_si512(rai_scan_lookup128(t, t->f, n1),
                         _mm512_or_si512(rai_scan_lookup128(t, t->s, n2), t->x80)),
        _mm512_and_si512(m->b, t->nib));
}

__attribute__((target(RAI_SCAN_AVX512)))
static inline __attribute__((always_inline))
uint64_t rai_scan_get_avx512(const void *mv, int which)
{
    const rai_scan_masks_avx512_t *m = mv;
    const rai_scan_tables_avx512_t *t = m->t;

    switch (which) {
    case RAI_M_OPEN:
        return _mm512_test_epi8_mask(m->cls, t->lt) & _mm512_test_epi8_mask(m->b, t->opens);
    case RAI_M_CAND: return _mm512_test_epi8_mask(m->pair, m->pair);
    case RAI_M_GT:   return _mm512_test_epi8_mask(m->cls, t->gt);
    case RAI_M_DQ:   return _mm512_test_epi8_mask(m->cls, t->dq);
    case RAI_M_SQ:   return _mm512_test_epi8_mask(m->cls, t->sq);
    case RAI_M_EQ:   return _mm512_test_epi8_mask(m->cls, t->eq);
    case RAI_M_WS:   return _mm512_test_epi8_mask(m->cls, t->ws);
    /* a byte of a name: none of the classes but '<' */
    default:         return _mm512_testn_epi8_mask(m->cls, t->cls7);
    }
}

__attribute__((target(RAI_SCAN_AVX512)))
static inline int rai_scan_any_lt_avx512(const unsigned char *p)
{
    return _mm512_cmpeq_epi8_mask(_mm512_loadu_si512((const void *)p),
                                  _mm512_set1_epi8('<')) != 0;
}

/* Whether the 64 bytes at p hold a '<'. */
static inline int rai_scan_any_lt_sse2(const unsigned char *p)
{
    const __m128i lt = _mm_set1_epi8('<');
    __m128i x = _mm_or_si128(
        _mm_or_si128(_mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(const void *)p), lt),
                     _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(const void *)(p + 16)), lt)),
        _mm_or_si128(_mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(const void *)(p + 32)), lt),
                     _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(const void *)(p + 48)), lt)));

    return _mm_movemask_epi8(x) != 0;
}

/* Whether block mode judges the block at p: inside a tag, or holding a
 * '<'. */
static inline __attribute__((always_inline))
int rai_scan_begin_sse2(const rai_scan_tables_sse2_t *t, const unsigned char *p,
                        rai_scan_masks_sse2_t *m, unsigned int tag)
{
    (void)t;
    (void)m;
    return tag || rai_scan_any_lt_sse2(p);
}

__attribute__((target(RAI_SCAN_AVX512)))
static inline __attribute__((always_inline))
int rai_scan_begin_avx512(const rai_scan_tables_avx512_t *t, const unsigned char *p,
                          rai_scan_masks_avx512_t *m, unsigned int tag)
{
    (void)t;
    (void)m;
    return tag || rai_scan_any_lt_avx512(p);
}

/* Block mode from in[i], in the data state outside foreign content, for
 * as long as RAI_SCAN_BLOCK_SPAN bytes are left.  Returns where the
 * states take over, always in the data state: a tag that matters, the
 * start of a block the check refused (or of the tag it began in: *skip
 * is then where block mode may be tried again), or the last tag begun
 * when the bytes run out. */
#define RAI_SCAN_BLOCKS(suffix, target, clmul)                            \
target                                                                    \
static size_t rai_scan_blocks_##suffix(const rai_scan_t *scan,            \
                                       const unsigned char *in, size_t i, \
                                       size_t len, size_t *skip)          \
{                                                                         \
    rai_scan_carry_t k;                                                   \
    rai_scan_tables_##suffix##_t t;                                       \
                                                                          \
    memset(&k, 0, sizeof(k));                                             \
    rai_scan_tables_##suffix(scan, &t);                                   \
    for (; len - i >= RAI_SCAN_BLOCK_SPAN; i += RAI_SCAN_BLOCK) {         \
        rai_scan_masks_##suffix##_t m;                                    \
        size_t at;                                                        \
        int stop;                                                         \
                                                                          \
        if (!rai_scan_begin_##suffix(&t, in + i, &m, k.tag)) {            \
            continue;               /* text only */                       \
        }                                                                 \
        rai_scan_masks_##suffix(&t, in + i, &m);                          \
        stop = rai_scan_block_judge(scan, in, len, &m, rai_scan_get_##suffix, \
                                    &k, i, clmul, &at);                   \
        if (stop == 1) {                                                  \
            return at;                                                    \
        }                                                                 \
        if (stop == 2) {                                                  \
            *skip = i + RAI_SCAN_BLOCK;                                   \
            return k.tag ? rai_scan_tag_at(&k) : i;                       \
        }                                                                 \
    }                                                                     \
    return k.tag ? rai_scan_tag_at(&k) : i;                               \
}

RAI_SCAN_BLOCKS(sse2, , 0)
RAI_SCAN_BLOCKS(avx2, __attribute__((target("avx2,bmi,bmi2,pclmul"))), 1)
RAI_SCAN_BLOCKS(avx512, __attribute__((target(RAI_SCAN_AVX512))), 1)
#endif

/* ------------------------------------------------------------------ */

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
#if RAI_SCAN_X86
    rai_scan_block_init(scan);
#endif
}

void rai_scan_report_scripts(rai_scan_t *scan, int on)
{
    scan->report_scripts = on != 0;
}

int rai_scan_reported_script(const rai_scan_t *scan)
{
    return scan->reported == RAI_R_SCRIPT;
}

int rai_scan_in_text(const rai_scan_t *scan)
{
    if (scan->state != RAI_S_DATA) {
        return 0;
    }
    /* in foreign content a <script> would be an SVG or MathML element */
    return !scan->depth || (scan->frames[scan->depth - 1].kind
                            & (RAI_F_HTML_IP | RAI_F_TEXT_IP));
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


/* ------------------------------------------------------------------ */
/* The tree builder, as far as it drives the tokenizer.                 */

static int rai_scan_name_is(const rai_scan_t *scan, const char *s)
{
    size_t n;

    if (!scan->name_len || scan->name[0] != s[0]) {
        return 0;               /* most names on the lists differ at once */
    }
    n = strlen(s);
    return scan->name_len == n && memcmp(scan->name, s, n) == 0;
}

static int rai_scan_name_in(const rai_scan_t *scan, const char *const *list)
{
    for (; *list; list++) {
        if (rai_scan_name_is(scan, *list)) {
            return 1;
        }
    }
    return 0;
}

/* Start tags that leave foreign content (font only with some attributes). */
static const char *const rai_scan_breakout_names[] = {
    "b", "big", "blockquote", "body", "br", "center", "code", "dd", "div",
    "dl", "dt", "em", "embed", "h1", "h2", "h3", "h4", "h5", "h6", "head",
    "hr", "i", "img", "li", "listing", "menu", "meta", "nobr", "ol", "p",
    "pre", "ruby", "s", "small", "span", "strong", "strike", "sub", "sup",
    "table", "tt", "u", "ul", "var", NULL
};
static const char *const rai_scan_svg_ip_names[] = {
    "foreignobject", "desc", "title", NULL
};
static const char *const rai_scan_math_text_names[] = {
    "mi", "mo", "mn", "ms", "mtext", NULL
};
static const char *const rai_scan_math_glyph_names[] = {
    "mglyph", "malignmark", NULL
};

/* Closes the foreign elements above the nearest integration point. */
static void rai_scan_breakout(rai_scan_t *scan)
{
    while (scan->depth && !(scan->frames[scan->depth - 1].kind
                            & (RAI_F_HTML_IP | RAI_F_TEXT_IP))) {
        scan->depth--;
    }
}

/* A start tag's name is read, in foreign content (depth > 0): whether the
 * HTML rules apply to it (1) or the foreign-content ones (0). */
static int rai_scan_start_is_html(rai_scan_t *scan)
{
    unsigned int kind = scan->frames[scan->depth - 1].kind;

    if (kind & RAI_F_HTML_IP) {
        return 1;
    }
    if (kind & RAI_F_TEXT_IP) {
        return !rai_scan_name_in(scan, rai_scan_math_glyph_names);
    }
    if ((kind & RAI_F_ANNOT) && rai_scan_name_is(scan, "svg")) {
        return 1;
    }
    if (rai_scan_name_in(scan, rai_scan_breakout_names)) {
        rai_scan_breakout(scan);
        return 1;
    }
    return 0;
}

/* Which attributes of a foreign start tag matter to the tree. */
static unsigned int rai_scan_watch_kind(const rai_scan_t *scan)
{
    if (rai_scan_name_is(scan, "font")) {
        return RAI_W_FONT;
    }
    if ((scan->frames[scan->depth - 1].kind & RAI_F_MATH)
        && rai_scan_name_is(scan, "annotation-xml")) {
        return RAI_W_ENCODING;
    }
    return 0;
}

static int rai_scan_frame_matches(const rai_scan_frame_t *frame,
                                  const rai_scan_t *scan)
{
    size_t n = scan->name_len < RAI_SCAN_FRAME_NAME ? scan->name_len
                                                    : RAI_SCAN_FRAME_NAME;

    return frame->len == scan->name_len && memcmp(frame->name, scan->name, n) == 0;
}

/* An end tag in foreign content, its name read. */
static void rai_scan_tree_end(rai_scan_t *scan)
{
    unsigned int d;

    if (rai_scan_name_is(scan, "br") || rai_scan_name_is(scan, "p")) {
        rai_scan_breakout(scan);
        return;
    }
    for (d = scan->depth; d > 0; d--) {
        if (rai_scan_frame_matches(&scan->frames[d - 1], scan)) {
            scan->depth = d - 1;
            return;
        }
    }
}

/* A start tag ends that the tree builder acts on: <svg> or <math> under
 * the HTML rules, any tag under the foreign ones.  Returns 0, or -1 when
 * one more open foreign element would not fit. */
static int rai_scan_tree_start(rai_scan_t *scan)
{
    rai_scan_frame_t *frame;
    unsigned int kind;

    if (!scan->foreign_tag) {
        kind = scan->rawtext == RAI_SCAN_MATH ? RAI_F_MATH : 0;
    }
    else if (scan->watch == RAI_W_FONT && scan->watch_hit) {
        rai_scan_breakout(scan);    /* then an HTML font element */
        return 0;
    }
    else {
        kind = scan->frames[scan->depth - 1].kind & RAI_F_MATH;
        if (!kind && rai_scan_name_in(scan, rai_scan_svg_ip_names)) {
            kind |= RAI_F_HTML_IP;
        }
        else if (kind && rai_scan_name_in(scan, rai_scan_math_text_names)) {
            kind |= RAI_F_TEXT_IP;
        }
        else if (kind && scan->watch == RAI_W_ENCODING) {
            kind |= scan->watch_hit ? RAI_F_HTML_IP : RAI_F_ANNOT;
        }
    }
    if (scan->slash) {
        return 0;                   /* self-closing: opens nothing */
    }
    if (scan->depth == RAI_SCAN_FOREIGN_MAX) {
        return -1;
    }
    frame = &scan->frames[scan->depth++];
    frame->kind = (unsigned char)kind;
    frame->len = (unsigned char)scan->name_len;
    memcpy(frame->name, scan->name, scan->name_len < RAI_SCAN_FRAME_NAME
                                    ? scan->name_len : RAI_SCAN_FRAME_NAME);
    return 0;
}

/* ------------------------------------------------------------------ */
/* Watched attributes: font and annotation-xml in foreign content.      */

static void rai_scan_attr_add(rai_scan_t *scan, unsigned char c)
{
    if (scan->attr_len < RAI_SCAN_FRAME_NAME) {
        scan->attr[scan->attr_len++] = (char)rai_scan_lower(c);
    }
    else {
        scan->attr_len = RAI_SCAN_FRAME_NAME + 1;     /* too long */
    }
}

static int rai_scan_attr_is(const rai_scan_t *scan, const char *s)
{
    size_t n = strlen(s);

    return scan->attr_len == n && memcmp(scan->attr, s, n) == 0;
}

/* An attribute name ends.  Only the first of duplicate attributes counts
 * (the tokenizer drops the others). */
static void rai_scan_watch_name(rai_scan_t *scan)
{
    scan->watch_value = 0;
    if (scan->watch == RAI_W_FONT) {
        if (rai_scan_attr_is(scan, "color") || rai_scan_attr_is(scan, "face")
            || rai_scan_attr_is(scan, "size")) {
            scan->watch_hit = 1;
        }
    }
    else if (!scan->watch_seen && rai_scan_attr_is(scan, "encoding")) {
        scan->watch_seen = 1;
        scan->watch_value = 1;
    }
}

static void rai_scan_watch_value(rai_scan_t *scan)
{
    if (scan->watch_value
        && (rai_scan_attr_is(scan, "text/html")
            || rai_scan_attr_is(scan, "application/xhtml+xml"))) {
        scan->watch_hit = 1;
    }
    scan->watch_value = 0;
}

/* The attribute states once more, a byte at a time, keeping names and
 * values: rare tags only.  Returns the offset of the '>' that ends the
 * tag (scan->slash: it is self-closing), or len. */
static size_t rai_scan_watch_attrs(rai_scan_t *scan, const unsigned char *in,
                                   size_t i, size_t len)
{
    while (i < len) {
        unsigned char c = in[i];

        switch (scan->watch_state) {
        case RAI_WS_BEFORE_NAME:
            if (rai_scan_class[c] & (RAI_C_SPACE | RAI_C_SLASH)) {
                scan->slash = c == '/';
                break;
            }
            if (c == '>') {
                return i;
            }
            scan->attr_len = 0;
            rai_scan_attr_add(scan, c);         /* even '=' starts a name */
            scan->watch_state = RAI_WS_NAME;
            break;
        case RAI_WS_NAME:
            if (!(rai_scan_class[c] & RAI_C_ENDS_ATTR)) {
                rai_scan_attr_add(scan, c);
                break;
            }
            rai_scan_watch_name(scan);
            scan->watch_state = RAI_WS_AFTER_NAME;
            continue;                           /* c again */
        case RAI_WS_AFTER_NAME:
            if (rai_scan_is_space(c)) {
                break;
            }
            if (c == '/' || c == '>') {
                scan->slash = 0;
                scan->watch_state = RAI_WS_BEFORE_NAME;
                continue;
            }
            if (c == '=') {
                scan->attr_len = 0;
                scan->watch_state = RAI_WS_BEFORE_VALUE;
                break;
            }
            scan->attr_len = 0;
            scan->watch_state = RAI_WS_NAME;    /* a new attribute */
            continue;
        case RAI_WS_BEFORE_VALUE:
            if (rai_scan_is_space(c)) {
                break;
            }
            if (c == '"' || c == '\'') {
                scan->watch_state = c == '"' ? RAI_WS_DQ : RAI_WS_SQ;
                break;
            }
            if (c == '>') {
                rai_scan_watch_value(scan);
                scan->slash = 0;
                return i;
            }
            scan->watch_state = RAI_WS_UNQ;
            continue;
        case RAI_WS_DQ:
        case RAI_WS_SQ:
            if (c == (scan->watch_state == RAI_WS_DQ ? '"' : '\'')) {
                rai_scan_watch_value(scan);
                scan->slash = 0;
                scan->watch_state = RAI_WS_BEFORE_NAME;
                break;
            }
            rai_scan_attr_add(scan, c);
            break;
        default:                                /* unquoted value */
            if (rai_scan_is_space(c) || c == '>') {
                rai_scan_watch_value(scan);
                scan->slash = 0;
                scan->watch_state = RAI_WS_BEFORE_NAME;
                continue;
            }
            rai_scan_attr_add(scan, c);
            break;
        }
        i++;
    }
    return len;
}

static unsigned int rai_scan_rawtext_index(const rai_scan_t *scan)
{
    int i;

    /* every name here is 3 to 9 bytes and starts with one of these:
     * the common tags (a, div, p, span, ...) leave at once */
    if (scan->name_len < 3 || scan->name_len > 9) {
        return 0;
    }
    switch (scan->name[0]) {
    case 's': case 't': case 'x': case 'i': case 'n': case 'p': case 'm':
        break;
    default:
        return 0;
    }
    for (i = 0; i < RAI_SCAN_SPECIAL_COUNT; i++) {
        if (rai_scan_rawtext_lengths[i] == scan->name_len
            && memcmp(rai_scan_rawtext_names[i], scan->name,
                      scan->name_len) == 0) {
            return (unsigned int)i + 1;
        }
    }
    return 0;
}

/* Whether a start tag is to be reported, now that its name is read under
 * the HTML rules. */
static int rai_scan_report(rai_scan_t *scan)
{
    /* a tag name starts with a letter, kept lowercase in name[0] */
    if (scan->name_len <= RAI_SCAN_NAME_MAX
        && (scan->initials >> (scan->name[0] - 'a') & 1)
        && rai_scan_name_matches(scan->elements, scan->name,
                                 scan->name_len)) {
        scan->reported = RAI_R_WIDGET;
        return 1;
    }
    if (scan->report_scripts && rai_scan_name_is(scan, "script")) {
        scan->reported = RAI_R_SCRIPT;
        return 1;
    }
    return 0;
}

/* ------------------------------------------------------------------ */

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

/* Moves to the next byte a or b (to end the state it stands for), which
 * becomes c; when the buffer holds none, remembers state st. */
#define RAI_FIND2(a, b, st)                                               \
    do {                                                                  \
        i += rai_scan_find(impl, in + i, len - i, (a), (b), (b));         \
        if (i == len) {                                                   \
            scan->state = (st);                                           \
            return len;                                                   \
        }                                                                 \
        c = in[i];                                                        \
    } while (0)

#define RAI_FIND(ch, st) RAI_FIND2((ch), (ch), st)

/* In a tag, out of any quoted value: when a '>' comes before any quote,
 * it ends the tag whatever the attribute states in between (only a quoted
 * value holds a '>'), so the tag closes there at once.  Not for tags that
 * must know whether they are self-closing. */
#define RAI_SKIP_TO_GT()                                                  \
    do {                                                                  \
        if (!scan->foreign_tag && scan->rawtext <= RAI_SCAN_PLAINTEXT) {  \
            size_t gt_ = i + rai_scan_find(impl, in + i, len - i,         \
                                           '>', '"', '\'');               \
            if (gt_ < len && in[gt_] == '>') {                            \
                i = gt_;                                                  \
                c = '>';                                                  \
                goto tag_close_plain;                                     \
            }                                                             \
        }                                                                 \
    } while (0)

/* The states are labels: the next state is a direct jump, not a trip
 * through a switch, which keeps the branch predictor on our side.  The
 * switch at the top only resumes where the previous buffer ended. */
size_t rai_scan_next(rai_scan_t *scan, const char *buf, size_t len)
{
    const unsigned char *in = (const unsigned char *)buf;
    const int impl = rai_scan_impl;
    size_t i = 0, skip = 0;
    unsigned char c;

    (void)skip;
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
    case RAI_S_WATCH:               goto watch;
    case RAI_S_MARKUP_DECL:         goto markup_decl;
    case RAI_S_MARKUP_DASH:         goto markup_dash;
    case RAI_S_CDATA_OPEN:          goto cdata_open;
    case RAI_S_CDATA:               goto cdata;
    case RAI_S_COMMENT:             goto comment;
    case RAI_S_BOGUS_COMMENT:       goto bogus_comment;
    case RAI_S_RAWTEXT:             goto rawtext;
    case RAI_S_RAWTEXT_LT:          goto rawtext_lt;
    case RAI_S_RAWTEXT_END:         goto rawtext_end;
    case RAI_S_SCRIPT_ESC_START:    goto script_esc_start;
    case RAI_S_SCRIPT_ESC_START_DASH: goto script_esc_start_dash;
    case RAI_S_SCRIPT_ESC:          goto script_esc;
    case RAI_S_SCRIPT_ESC_LT:       goto script_esc_lt;
    case RAI_S_SCRIPT_DESC_START:   goto script_desc_start;
    case RAI_S_SCRIPT_DESC:         goto script_desc;
    case RAI_S_SCRIPT_DESC_LT:      goto script_desc_lt;
    case RAI_S_SCRIPT_DESC_END:     goto script_desc_end;
    default:                        return len;     /* plaintext */
    }

data:
#if RAI_SCAN_X86
    if (impl != RAI_SCAN_IMPL_PORTABLE && i >= skip && !scan->depth
        && len - i >= RAI_SCAN_BLOCK_SPAN) {
        i = impl == RAI_SCAN_IMPL_AVX512
            ? rai_scan_blocks_avx512(scan, in, i, len, &skip)
            : impl == RAI_SCAN_IMPL_AVX2
            ? rai_scan_blocks_avx2(scan, in, i, len, &skip)
            : rai_scan_blocks_sse2(scan, in, i, len, &skip);
    }
#endif
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
    if (scan->end_tag && !scan->depth) {
        /* outside foreign content an end tag's name matters to no one */
        while (!(rai_scan_class[c] & RAI_C_ENDS_NAME)) {
            RAI_ADVANCE(RAI_S_TAG_NAME);
        }
        goto end_tag_attrs;
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
            /* keep the first RAI_SCAN_NAME_MAX bytes of any name */
            size_t room = RAI_SCAN_NAME_MAX - scan->name_len;
            char *name = scan->name + scan->name_len;
            size_t keep = n < room ? n : room;

            scan->name_len = n > room ? RAI_SCAN_NAME_MAX + 1
                                      : (unsigned int)(scan->name_len + n);
            while (keep--) {
                *name++ = (char)rai_scan_lower(in[start++]);
            }
        }
        if (i == len) {
            scan->state = RAI_S_TAG_NAME;
            return len;
        }
    }
    if (scan->end_tag) {
        rai_scan_tree_end(scan);
        goto end_tag_attrs;
    }
    if (!scan->paused) {
        scan->foreign_tag = scan->depth && !rai_scan_start_is_html(scan);
        if (!scan->foreign_tag && rai_scan_report(scan)) {
            scan->paused = 1;
            scan->state = RAI_S_TAG_NAME;
            return i;           /* before the byte that ends the name */
        }
    }
    scan->paused = 0;
    if (scan->foreign_tag) {
        scan->rawtext = 0;
        scan->watch_hit = 0;
        scan->watch = rai_scan_watch_kind(scan);
        if (scan->watch && c != '>') {
            scan->watch_state = RAI_WS_BEFORE_NAME;
            scan->watch_seen = 0;
            scan->watch_value = 0;
            scan->slash = 0;
            goto watch;
        }
    }
    else {
        scan->rawtext = rai_scan_rawtext_index(scan);
    }
    if (c == '>') {
        goto tag_close_plain;
    }
    RAI_SKIP_TO_GT();
    scan->slash = c == '/';
    RAI_ADVANCE(RAI_S_BEFORE_ATTR_NAME);

before_attr_name:
    while (rai_scan_class[c] & (RAI_C_SPACE | RAI_C_SLASH)) {
        scan->slash = c == '/';
        RAI_ADVANCE(RAI_S_BEFORE_ATTR_NAME);
    }
    if (c == '>') {
        goto tag_close;         /* self-closing if the last byte was '/' */
    }
    RAI_ADVANCE(RAI_S_ATTR_NAME);   /* even '=' starts a name */

attr_name:
    while (!(rai_scan_class[c] & RAI_C_ENDS_ATTR)) {
        RAI_ADVANCE(RAI_S_ATTR_NAME);
    }
    /* the attribute-name state ends as the after-attribute-name one goes */

after_attr_name:
    if (c == '>') {
        goto tag_close_plain;
    }
    if (c == '=') {
        RAI_ADVANCE(RAI_S_BEFORE_ATTR_VALUE);
        goto before_attr_value;
    }
    if (c == '/') {
        scan->slash = 1;
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
        goto tag_close_plain;
    }
    RAI_ADVANCE(RAI_S_ATTR_VALUE_UNQ);
    goto value_unq;

value_dq:
    RAI_FIND('"', RAI_S_ATTR_VALUE_DQ);
    /* after-attribute-value-(quoted) acts as before-attribute-name */
    scan->slash = 0;
    RAI_ADVANCE(RAI_S_BEFORE_ATTR_NAME);
    RAI_SKIP_TO_GT();
    goto before_attr_name;

value_sq:
    RAI_FIND('\'', RAI_S_ATTR_VALUE_SQ);
    scan->slash = 0;
    RAI_ADVANCE(RAI_S_BEFORE_ATTR_NAME);
    RAI_SKIP_TO_GT();
    goto before_attr_name;

value_unq:
    while (!(rai_scan_class[c] & (RAI_C_SPACE | RAI_C_GT))) {
        RAI_ADVANCE(RAI_S_ATTR_VALUE_UNQ);
    }
    if (c == '>') {
        goto tag_close_plain;
    }
    scan->slash = 0;
    RAI_ADVANCE(RAI_S_BEFORE_ATTR_NAME);
    goto before_attr_name;

watch:
    i = rai_scan_watch_attrs(scan, in, i, len);
    if (i == len) {
        scan->state = RAI_S_WATCH;
        return len;
    }
    c = in[i];
    goto tag_close;

end_tag_attrs:                  /* c ends an end tag's name */
    scan->rawtext = 0;
    scan->foreign_tag = 0;
    if (c == '>') {
        goto tag_close_plain;
    }
    RAI_SKIP_TO_GT();
    RAI_ADVANCE(RAI_S_BEFORE_ATTR_NAME);
    goto before_attr_name;

tag_close_plain:                /* c is the '>' that ends a tag, no '/' */
    scan->slash = 0;

tag_close:                      /* c is the '>' that ends a tag */
    if (scan->foreign_tag || scan->rawtext > RAI_SCAN_PLAINTEXT) {
        if (!scan->end_tag && rai_scan_tree_start(scan) < 0) {
            scan->state = RAI_S_PLAINTEXT;  /* lost track: give up */
            return len;
        }
        scan->foreign_tag = 0;
        scan->rawtext = 0;
        RAI_ADVANCE(RAI_S_DATA);
        goto data;
    }
    if (scan->rawtext == RAI_SCAN_PLAINTEXT) {
        scan->state = RAI_S_PLAINTEXT;
        return len;
    }
    if (scan->rawtext) {
        scan->escaped = 0;
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
    if (c == '[' && scan->depth) {
        scan->match = 0;
        RAI_ADVANCE(RAI_S_CDATA_OPEN);
        goto cdata_open;
    }
    goto bogus_comment;         /* DOCTYPE, CDATA in HTML, ... */

cdata_open:                     /* after "<![", matching "CDATA[" */
    while (scan->match < 6) {
        if (c != (unsigned char)"CDATA["[scan->match]) {
            goto bogus_comment; /* none of "<![CDATA" is '>' */
        }
        scan->match++;
        RAI_ADVANCE(RAI_S_CDATA_OPEN);
    }
    scan->dashes = 0;

cdata:                          /* ends at "]]>"; dashes counts ']' */
    for (;;) {
        if (!scan->dashes) {
            RAI_FIND(']', RAI_S_CDATA);
        }
        if (c == ']') {
            if (scan->dashes < 2) {
                scan->dashes++;
            }
        }
        else if (c == '>' && scan->dashes == 2) {
            RAI_ADVANCE(RAI_S_DATA);
            goto data;
        }
        else {
            scan->dashes = 0;
        }
        RAI_ADVANCE(RAI_S_CDATA);
    }

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
    if (c == '!' && scan->rawtext == RAI_SCAN_SCRIPT) {
        RAI_ADVANCE(RAI_S_SCRIPT_ESC_START);
        goto script_esc_start;
    }
    if (c != '/') {
        goto rawtext;
    }
    scan->match = 0;
    RAI_ADVANCE(RAI_S_RAWTEXT_END);

rawtext_end: {
        const char *end = rai_scan_rawtext_names[scan->rawtext - 1];

        while (end[scan->match]) {
            if (rai_scan_lower(c) != (unsigned char)end[scan->match]) {
                goto rawtext_mismatch;
            }
            scan->match++;
            RAI_ADVANCE(RAI_S_RAWTEXT_END);
        }
    }
    if (!(rai_scan_class[c] & RAI_C_ENDS_NAME)) {
        goto rawtext_mismatch;
    }
    /* the element's end tag: its attributes are read as usual */
    scan->end_tag = 1;
    scan->rawtext = 0;
    scan->escaped = 0;
    goto end_tag_attrs;

rawtext_mismatch:               /* "</" and not the end tag: c again */
    if (scan->escaped) {
        scan->dashes = 0;
        goto script_esc;
    }
    goto rawtext;

script_esc_start:               /* script data, after "<!" */
    if (c != '-') {
        goto rawtext;
    }
    RAI_ADVANCE(RAI_S_SCRIPT_ESC_START_DASH);

script_esc_start_dash:          /* after "<!-" */
    if (c != '-') {
        goto rawtext;
    }
    scan->escaped = 1;
    scan->dashes = 2;
    RAI_ADVANCE(RAI_S_SCRIPT_ESC);

script_esc:                     /* "-->" returns to script data */
    for (;;) {
        if (!scan->dashes) {
            RAI_FIND2('-', '<', RAI_S_SCRIPT_ESC);
        }
        if (c == '-') {
            if (scan->dashes < 2) {
                scan->dashes++;
            }
        }
        else if (c == '<') {
            scan->dashes = 0;
            RAI_ADVANCE(RAI_S_SCRIPT_ESC_LT);
            goto script_esc_lt;
        }
        else if (c == '>' && scan->dashes == 2) {
            scan->escaped = 0;
            RAI_ADVANCE(RAI_S_RAWTEXT);
            goto rawtext;
        }
        else {
            scan->dashes = 0;
        }
        RAI_ADVANCE(RAI_S_SCRIPT_ESC);
    }

script_esc_lt:                  /* escaped, after '<' */
    if (c == '/') {
        scan->match = 0;
        RAI_ADVANCE(RAI_S_RAWTEXT_END);
        goto rawtext_end;
    }
    if (!rai_scan_is_alpha(c)) {
        goto script_esc;
    }
    scan->match = 0;

script_desc_start:              /* "<script" here starts double escaping */
    while (!(rai_scan_class[c] & RAI_C_ENDS_NAME)) {
        if (!rai_scan_is_alpha(c)) {
            goto script_esc;
        }
        scan->match = scan->match < 6
                      && rai_scan_lower(c) == (unsigned char)"script"[scan->match]
                      ? scan->match + 1 : 7;
        RAI_ADVANCE(RAI_S_SCRIPT_DESC_START);
    }
    if (scan->match == 6) {
        RAI_ADVANCE(RAI_S_SCRIPT_DESC);
        goto script_desc;
    }
    RAI_ADVANCE(RAI_S_SCRIPT_ESC);
    goto script_esc;

script_desc:                    /* double escaped: "</script" goes back */
    for (;;) {
        if (!scan->dashes) {
            RAI_FIND2('-', '<', RAI_S_SCRIPT_DESC);
        }
        if (c == '-') {
            if (scan->dashes < 2) {
                scan->dashes++;
            }
        }
        else if (c == '<') {
            scan->dashes = 0;
            RAI_ADVANCE(RAI_S_SCRIPT_DESC_LT);
            goto script_desc_lt;
        }
        else if (c == '>' && scan->dashes == 2) {
            scan->escaped = 0;
            RAI_ADVANCE(RAI_S_RAWTEXT);
            goto rawtext;
        }
        else {
            scan->dashes = 0;
        }
        RAI_ADVANCE(RAI_S_SCRIPT_DESC);
    }

script_desc_lt:
    if (c != '/') {
        goto script_desc;
    }
    scan->match = 0;
    RAI_ADVANCE(RAI_S_SCRIPT_DESC_END);

script_desc_end:
    while (!(rai_scan_class[c] & RAI_C_ENDS_NAME)) {
        if (!rai_scan_is_alpha(c)) {
            goto script_desc;
        }
        scan->match = scan->match < 6
                      && rai_scan_lower(c) == (unsigned char)"script"[scan->match]
                      ? scan->match + 1 : 7;
        RAI_ADVANCE(RAI_S_SCRIPT_DESC_END);
    }
    if (scan->match == 6) {
        RAI_ADVANCE(RAI_S_SCRIPT_ESC);
        goto script_esc;
    }
    RAI_ADVANCE(RAI_S_SCRIPT_DESC);
    goto script_desc;
}
