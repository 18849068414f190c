/* Licensed to the Apache Software Foundation (ASF) under the Apache License,
 * Version 2.0 (the "License"); see the LICENSE file at the top of this tree.
 */

/* The one place the module's version is written down.  It shows in the
 * User-Agent of every token request and in the start-up log line. */
#ifndef RAI_VERSION_H
#define RAI_VERSION_H

#define RAI_EMBED_VERSION "0.2.0"
#define RAI_EMBED_USER_AGENT "mod_rai_embed/" RAI_EMBED_VERSION

#endif
