/* Licensed under the Apache License, Version 2.0; see the LICENSE file at
 * the top of this tree.
 */

/* Helper of url_oracle.js: reads URL values, one a line in hex, and prints
 * rai_hosts_url_trusted()'s verdict for each (1 or 0), against
 * "returning.ai *.returning.ai". */

#include <stdio.h>
#include <string.h>

#include "rai_tag.h"

static const char *const verdict_patterns[] = {
    "returning.ai", "*.returning.ai"
};
static const rai_hosts_t verdict_hosts = { verdict_patterns, 2 };

int main(void)
{
    static char line[2 * RAI_TAG_STORE + 4], url[RAI_TAG_STORE];
    size_t n, i;
    unsigned int byte;

    while (fgets(line, sizeof(line), stdin)) {
        n = strlen(line) / 2;
        for (i = 0; i < n && i < sizeof(url); i++) {
            if (sscanf(line + 2 * i, "%2x", &byte) != 1) {
                return 2;
            }
            url[i] = (char)byte;
        }
        printf("%d\n", rai_hosts_url_trusted(&verdict_hosts, url, i));
    }
    return 0;
}
