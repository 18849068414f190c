/* Licensed under the Apache License, Version 2.0; see the LICENSE file at
 * the top of this tree.
 */

/* rai_scan: finds widget start tags in a stream of HTML.
 *
 * A small piece of the HTML tokenizer (WHATWG §13.2.5): enough to tell a
 * real start tag from text in comments, raw-text elements (script, style,
 * textarea, title, ...) and quoted attribute values.  It knows nothing of
 * httpd or APR, allocates nothing, keeps its state in rai_scan_t and gives
 * the same answer however the input is split.
 */
#ifndef RAI_SCAN_H
#define RAI_SCAN_H

#include <stddef.h>

/* Element names longer than this are never widgets; the scanner keeps only
 * this much of a tag name. */
#define RAI_SCAN_NAME_MAX 64

/* The element names to find: lowercase ASCII; '*' matches a run of one or
 * more name characters ("rai-*-widget"). */
typedef struct {
    const char *const *patterns;
    int count;
} rai_scan_elements_t;

typedef struct {
    const rai_scan_elements_t *elements;
    /* whole words, not bytes: the hot path stores one field and soon reads
     * its neighbour, and a wide load over a fresh narrow store stalls */
    unsigned int state;
    unsigned int end_tag;       /* the tag being read is an end tag */
    unsigned int rawtext;       /* raw-text element we are inside (index+1) */
    unsigned int paused;        /* widget reported; terminator not consumed */
    unsigned int dashes;        /* comment: consecutive '-' seen (max 2) */
    unsigned int comment_start; /* comment: nothing but '-' since "<!--" */
    unsigned int comment_bang;  /* comment: "--!" seen */
    unsigned int match;         /* raw-text end tag: name bytes matched */
    unsigned int name_len;      /* bytes in name; RAI_SCAN_NAME_MAX+1: too long */
    unsigned int initials;      /* bit n: a pattern starts with 'a' + n */
    char name[RAI_SCAN_NAME_MAX];
} rai_scan_t;

void rai_scan_init(rai_scan_t *scan, const rai_scan_elements_t *elements);

/* Scans buf[0..len).  Returns len when no widget start tag ends its name
 * in buf.  Otherwise returns the offset just after a widget's element name
 * (the byte there is the whitespace, '/' or '>' that ends the name): the
 * caller inserts its attribute before that byte and calls again with
 * buf + offset, which resumes the scan at that byte. */
size_t rai_scan_next(rai_scan_t *scan, const char *buf, size_t len);

/* Whether the scan stands in text, where a new element may start: not
 * inside a tag, comment or raw-text element. */
int rai_scan_in_text(const rai_scan_t *scan);

/* Whether a lowercase element name is one of the widget patterns. */
int rai_scan_name_matches(const rai_scan_elements_t *elements,
                          const char *name, size_t len);

/* Whether a pattern is well formed: name characters and '*' only, not
 * starting with '*', no "**".  Returns NULL or a reason. */
const char *rai_scan_pattern_check(const char *pattern);

#endif
