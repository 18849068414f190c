/* Licensed under the Apache License, Version 2.0; see the LICENSE file at
 * the top of this tree.
 */

/* rai_scan: finds widget start tags in a stream of HTML.
 *
 * A small piece of the HTML tokenizer (WHATWG §13.2.5): enough to tell a
 * real start tag from text in comments, raw-text elements (script, style,
 * textarea, title, ...), the script-data escaped states, CDATA sections
 * and quoted attribute values, plus the part of tree construction that
 * drives the tokenizer: foreign content (SVG, MathML) and its integration
 * points.  It knows nothing of httpd or APR, allocates nothing, keeps its
 * state in rai_scan_t and gives the same answer however the input is split.
 */
#ifndef RAI_SCAN_H
#define RAI_SCAN_H

#include <stddef.h>

/* Element names longer than this are never widgets; the scanner keeps only
 * this much of a tag name. */
#define RAI_SCAN_NAME_MAX 64

/* Open SVG/MathML elements the scanner follows.  Deeper nesting stops the
 * scan for the rest of the document (nothing more is reported): past the
 * bound it could no longer tell where foreign content ends. */
#define RAI_SCAN_FOREIGN_MAX 32

/* Bytes of a foreign element's name kept to match its end tag (with its
 * length); two names that agree in length and in these bytes match. */
#define RAI_SCAN_FRAME_NAME 24

/* The element names to find: lowercase ASCII; '*' matches a run of one or
 * more name characters ("rai-*-widget"). */
typedef struct {
    const char *const *patterns;
    int count;
} rai_scan_elements_t;

/* One open foreign element (rai_scan.c's RAI_F_* kinds). */
typedef struct {
    unsigned char kind;
    unsigned char len;          /* name length, at most RAI_SCAN_NAME_MAX+1 */
    char name[RAI_SCAN_FRAME_NAME];
} rai_scan_frame_t;

typedef struct {
    const rai_scan_elements_t *elements;
    /* whole words, not bytes: the hot path stores one field and soon reads
     * its neighbour, and a wide load over a fresh narrow store stalls */
    unsigned int state;
    unsigned int end_tag;       /* the tag being read is an end tag */
    unsigned int rawtext;       /* raw-text element (index+1), svg or math */
    unsigned int paused;        /* element reported; terminator not consumed */
    unsigned int dashes;        /* comment, script escapes: '-' seen (max 2);
                                 * CDATA: ']' seen */
    unsigned int comment_start; /* comment: nothing but '-' since "<!--" */
    unsigned int comment_bang;  /* comment: "--!" seen */
    unsigned int match;         /* bytes of a name or keyword matched */
    unsigned int name_len;      /* bytes in name; RAI_SCAN_NAME_MAX+1: too long */
    unsigned int initials;      /* bit n: a pattern starts with 'a' + n */
    unsigned int escaped;       /* script: in the escaped state */
    unsigned int slash;         /* tag: the last byte was a self-closing '/' */
    unsigned int foreign_tag;   /* start tag read under foreign-content rules */
    unsigned int watch;         /* attributes that matter to the tree (font,
                                 * annotation-xml); see rai_scan.c */
    unsigned int watch_state;   /* attribute state while watching */
    unsigned int watch_hit;     /* a watched attribute was found */
    unsigned int watch_seen;    /* annotation-xml: "encoding" seen */
    unsigned int watch_value;   /* the value being read is "encoding"'s */
    unsigned int attr_len;      /* bytes in attr; RAI_SCAN_FRAME_NAME+1: long */
    unsigned int report_scripts;/* also report <script start tags */
    unsigned int reported;      /* what the last report was (RAI_R_*) */
    unsigned int depth;         /* open foreign elements in frames */
    char name[RAI_SCAN_NAME_MAX];
    char attr[RAI_SCAN_FRAME_NAME];
    rai_scan_frame_t frames[RAI_SCAN_FOREIGN_MAX];
    /* block mode's table of the byte after a '<' (rai_scan.c) */
    unsigned char block_lo[16], block_hi[16];
} rai_scan_t;

void rai_scan_init(rai_scan_t *scan, const rai_scan_elements_t *elements);

/* Scans buf[0..len).  Returns len when no widget start tag ends its name
 * in buf.  Otherwise returns the offset just after a widget's element name
 * (the byte there is the whitespace, '/' or '>' that ends the name): the
 * caller inserts its attribute before that byte and calls again with
 * buf + offset, which resumes the scan at that byte. */
size_t rai_scan_next(rai_scan_t *scan, const char *buf, size_t len);

/* Whether the scan stands in text, where a new HTML element may start: not
 * inside a tag, comment, CDATA section, raw-text element, nor in SVG or
 * MathML content (outside their HTML integration points). */
int rai_scan_in_text(const rai_scan_t *scan);

/* Whether a lowercase element name is one of the widget patterns. */
int rai_scan_name_matches(const rai_scan_elements_t *elements,
                          const char *name, size_t len);

/* Whether a pattern is well formed: name characters and '*' only, not
 * starting with '*', no "**".  Returns NULL or a reason. */
const char *rai_scan_pattern_check(const char *pattern);

/* Opt-in, after rai_scan_init: on (non-zero) makes rai_scan_next stop also
 * after the name of every real <script> start tag (one that starts script
 * data: not in foreign content), exactly as for a widget; the script still
 * runs as script data afterwards.  Off by default. */
void rai_scan_report_scripts(rai_scan_t *scan, int on);

/* After rai_scan_next returned less than its len: whether it stopped at a
 * <script> start tag (1) or at a widget (0). */
int rai_scan_reported_script(const rai_scan_t *scan);

/* Tests, fuzzer and benchmark only: which fast path skips runs of bytes.
 * RAI_SCAN_IMPL_AUTO (the default) picks the best the CPU has; asking for
 * one the build or the CPU lacks leaves the choice unchanged.  Returns the
 * implementation now in use.  Process-wide; not for use while scanning. */
enum {
    RAI_SCAN_IMPL_AUTO = 0,
    RAI_SCAN_IMPL_PORTABLE,
    RAI_SCAN_IMPL_SSE2,
    RAI_SCAN_IMPL_AVX2,
    RAI_SCAN_IMPL_AVX512            /* AVX2's, with AVX-512BW and VBMI block masks */
};
int rai_scan_force_impl(int impl);

/* The name of an implementation ("portable", "sse2", "avx2", "avx512"). */
const char *rai_scan_impl_name(int impl);

/* The implementation in use (for the start-up log line). */
int rai_scan_impl_in_use(void);

#endif
