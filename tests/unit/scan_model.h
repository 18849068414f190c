/* Licensed under the Apache License, Version 2.0; see the LICENSE file at
 * the top of this tree.
 */

/* scan_model: a reference tokenizer to hold rai_scan against (tests only).
 *
 * Tree construction is reduced to what decides the tokenizer state: a
 * start tag named title or textarea switches to RCDATA; style, xmp,
 * iframe, noembed, noframes, noscript to RAWTEXT; script to script data;
 * plaintext to PLAINTEXT, svg and math open foreign content, whose
 * elements are followed on a stack (integration points, breakout tags,
 * CDATA sections) as rai_scan.c describes.  CR counts as whitespace (it is
 * LF after input preprocessing).
 */
#ifndef SCAN_MODEL_H
#define SCAN_MODEL_H

#include <stddef.h>

#include "rai_scan.h"

/* script: the report is of a <script> start tag, not of a widget. */
typedef void rai_model_found_fn(void *ctx, size_t offset, int script);

/* Calls found(ctx, offset, 0) for each widget start tag, offset being that
 * of the byte that ends its name (where rai_scan_next would stop), and,
 * with report_scripts, found(ctx, offset, 1) for each script start tag
 * that starts script data.  Returns what rai_scan_in_text would say at the
 * end of the page. */
int rai_model_scan(const rai_scan_elements_t *elements, int report_scripts,
                   const char *page, size_t len,
                   rai_model_found_fn *found, void *ctx);

/* Pattern match as rai_scan.h describes it: '*' is one or more name
 * characters (ASCII letters, digits, '-', '.', '_', any non-ASCII byte). */
int rai_model_name_matches(const rai_scan_elements_t *elements,
                           const char *name, size_t len);

#endif
