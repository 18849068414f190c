/* Licensed under the Apache License, Version 2.0; see the LICENSE file at
 * the top of this tree.
 */

/* rai_libs: see rai_libs.h. */

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#define RAI_LIBS_TABLE 1
#include "rai_libs.h"

rai_libs_table_t rai_libs;

static int rai_libs_state;          /* 0: not tried, 1: loaded, -1: failed */
static char rai_libs_error[512];

/* memset through a volatile pointer: a store the compiler must keep */
static void *(*const volatile rai_libs_memset)(void *, int, size_t) = memset;

void rai_cleanse(void *p, size_t n)
{
    if (n) {
        rai_libs_memset(p, 0, n);
    }
}

static void *rai_libs_open(const char *label, const char *soname)
{
    void *lib = dlopen(soname, RTLD_NOW | RTLD_LOCAL);

    if (!lib) {
        const char *why = dlerror();
        snprintf(rai_libs_error, sizeof(rai_libs_error), "%s (%s): %s",
                 label, soname, why ? why : "cannot be loaded");
    }
    return lib;
}

/* dlsym's void * to a function pointer, as POSIX allows */
#define RAI_LIBS_BIND(name)                                               \
    if (!(*(void **)(void *)&table->name = dlsym(lib, #name))) {          \
        snprintf(rai_libs_error, sizeof(rai_libs_error),                  \
                 "%s (%s) lacks %s", label, soname, #name);               \
        return -1;                                                        \
    }

static int rai_libs_bind(rai_libs_table_t *table)
{
    const char *label = "libcrypto", *soname = RAI_CRYPTO_SONAME;
    void *lib;

    if (!(lib = rai_libs_open(label, soname))) {
        return -1;
    }
    RAI_CRYPTO_FUNCS(RAI_LIBS_BIND)
    label = "json-c";
    soname = RAI_JSON_SONAME;
    if (!(lib = rai_libs_open(label, soname))) {
        return -1;
    }
    RAI_JSON_FUNCS(RAI_LIBS_BIND)
    return 0;
}

const char *rai_libs_load(void)
{
    if (!rai_libs_state) {
        rai_libs_table_t table;

        memset(&table, 0, sizeof(table));
        /* kept for the life of the process, as libcurl is: libcurl's
         * OpenSSL is this libcrypto, and unloading it is never safe */
        if (rai_libs_bind(&table)) {
            rai_libs_state = -1;
        }
        else {
            rai_libs = table;
            rai_libs_state = 1;
        }
    }
    return rai_libs_state > 0 ? NULL : rai_libs_error;
}

int rai_libs_loaded(void)
{
    return rai_libs_state > 0;
}
