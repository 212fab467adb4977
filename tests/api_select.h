/* api_select.h - which allocator API a test program calls, chosen at compile time:
 *   -DP=hak_ / -DP=hakd_    the prefixed release / debug API (A(malloc) = hak_malloc ...)
 *   -DP= -DHAK_TEST_PRELOAD=1 -DHAK_TEST_PRELOAD_PREFIX='"hak_"'
 *                           the libc names, with the preloaded object's own prefixed
 *                           extras (heap_reset, owns, ...) looked up at run time via X().
 * Define API_SELECT_WHO (a short program name for messages) before including. */
#ifndef HAKMEM_TESTS_API_SELECT_H
#define HAKMEM_TESTS_API_SELECT_H
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include "hakmem.h"

#ifndef P
#error "compile with -DP=hak_, -DP=hakd_ or -DP= (plain libc names)"
#endif
#define API_CAT2(a, b) a##b
#define API_CAT(a, b) API_CAT2(a, b)
#define A(name) API_CAT(P, name)

#ifdef HAK_TEST_PRELOAD
#define PRELOAD_MODE 1
static void *preload_sym(const char *name)
{
    char full[80];
    snprintf(full, sizeof full, "%s%s", HAK_TEST_PRELOAD_PREFIX, name);
    void *sym = dlsym(RTLD_DEFAULT, full);
    if (!sym) {
        fprintf(stderr, "%s: %s not exported by the preloaded object\n", API_SELECT_WHO, full);
        exit(2);
    }
    return sym;
}
#define X(name) ((__typeof__(&hak_##name))preload_sym(#name))
#else
#define PRELOAD_MODE 0
#define X(name) A(name)
#endif
#endif
