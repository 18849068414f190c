/* Licensed under the Apache License, Version 2.0; see the LICENSE file at
 * the top of this tree.
 */

/* scan_model: a reference tokenizer to hold rai_scan against (tests only).
 *
 * Tree construction is reduced to what decides the tokenizer state: a
 * start tag named title or textarea switches to RCDATA; style, xmp,
 * iframe, noembed, noframes, noscript to RAWTEXT; script to script data;
 * plaintext to PLAINTEXT.  CR counts as whitespace (it is LF after input
 * preprocessing).  Foreign content (SVG, MathML) is not modelled, as in
 * rai_scan.
 */
#ifndef SCAN_MODEL_H
#define SCAN_MODEL_H

#include <stddef.h>

#include "rai_scan.h"

typedef void rai_model_found_fn(void *ctx, size_t offset);

/* Calls found(ctx, offset) for each widget start tag, offset being that of
 * the byte that ends its name (where rai_scan_next would stop).
 * script_escapes: model the "script data (double) escaped" states, in
 * which "</script>" after "<!--<script>" does not end a script; rai_scan
 * leaves them out on purpose. */
void rai_model_scan(const rai_scan_elements_t *elements, int script_escapes,
                    const char *page, size_t len,
                    rai_model_found_fn *found, void *ctx);

/* Pattern match as rai_scan.h describes it: '*' is one or more name
 * characters (ASCII letters, digits, '-', '.', '_', any non-ASCII byte). */
int rai_model_name_matches(const rai_scan_elements_t *elements,
                           const char *name, size_t len);

#endif
