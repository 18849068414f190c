/* Licensed under the Apache License, Version 2.0; see the LICENSE file at
 * the top of this tree.
 */

/* What every unit test binary shares: how it runs its suite, and the
 * identity builder the identity and token tests both use. */
#ifndef UNIT_RUN_H
#define UNIT_RUN_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>

#include "apr_general.h"
#include "apr_pools.h"
#include "apr_tables.h"

#include "rai_identity.h"

/* Runs suite in this process (ASan and fork() do not mix well) with APR
 * up; *root, when given, is a pool that lives for the whole run.  The exit
 * status for main(). */
static inline int unit_run(Suite *suite, apr_pool_t **root)
{
    SRunner *sr;
    int failed;

    if (apr_initialize() != APR_SUCCESS
        || (root && apr_pool_create(root, NULL) != APR_SUCCESS)) {
        fprintf(stderr, "cannot initialise APR\n");
        return 2;
    }
    sr = srunner_create(suite);
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    if (root) {
        apr_pool_destroy(*root);
    }
    apr_terminate();
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* An identity from { key, value, key, value, ..., NULL }. */
static inline apr_array_header_t *unit_identity(apr_pool_t *p,
                                                const char *const *kv)
{
    apr_array_header_t *identity =
        apr_array_make(p, 4, sizeof(rai_identity_item_t));

    for (; kv && kv[0]; kv += 2) {
        rai_identity_item_t *item = apr_array_push(identity);
        item->key = kv[0];
        item->value = kv[1];
    }
    return identity;
}

#endif
