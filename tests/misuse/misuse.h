/* misuse.h - the one header every misuse program includes.
 *
 * Each program in tests/misuse/ commits exactly one misuse and must die by SIGABRT
 * with the fixed line named by its `//! expect:` annotation (tests/misuse/run.py reads
 * it). Every program is compiled four times (tests/tests.mk):
 *   rel   -DP=hak_  -DOTHER=hakd_   linked with libhakmem.a and libhakmem-debug.a
 *   dbg   -DP=hakd_ -DOTHER=hak_    linked with both static libraries
 *   pre   -DP=      -DOTHER=hakd_   plain libc names, run under LD_PRELOAD=libhakmem.so
 *   pred  -DP=      -DOTHER=hak_    plain libc names, run under LD_PRELOAD=libhakmem-debug.so
 * so A(malloc) is hak_malloc, hakd_malloc or malloc, and O(malloc) is the other heap.
 * A preload binary links only the static library whose prefix the preloaded object
 * does not define, so no symbol is defined twice.
 *
 * Exit codes: 0 never happens in a correct run of a misuse program (the allocator
 * aborts first); MISUSE_NO_ABORT (1) = the misuse went unnoticed; MISUSE_SETUP (77) =
 * a layout assumption of the program did not hold (the case proves nothing). */
#ifndef HAKMEM_TEST_MISUSE_H
#define HAKMEM_TEST_MISUSE_H

#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hakmem.h"

#ifndef P
#error "compile with -DP=hak_, -DP=hakd_ or -DP= (plain libc names)"
#endif
#define MISUSE_CAT2(a, b) a##b
#define MISUSE_CAT(a, b) MISUSE_CAT2(a, b)
#define A(name) MISUSE_CAT(P, name)       /* the heap under test */
#define O(name) MISUSE_CAT(OTHER, name)   /* the other build's heap */

#ifdef HAK_TEST_PRELOAD
#define MISUSE_MODE_PRELOAD 1             /* A(malloc) is libc's name: glibc malloc is gone */
#else
#define MISUSE_MODE_PRELOAD 0
#endif

/* X(name): the heap's non-libc API (set_corruption_handler, heap_drain, ...). In the
 * preload modes it is the preloaded object's own prefixed export, looked up at run time
 * (HAK_TEST_PRELOAD_PREFIX is "hak_" under libhakmem.so, "hakd_" under the debug one). */
#if MISUSE_MODE_PRELOAD
#include <dlfcn.h>
static void *misuse_preload_sym(const char *name);
#define X(name) ((__typeof__(&hak_##name))misuse_preload_sym(#name))
#else
#define X(name) A(name)
#endif

#define MISUSE_NO_ABORT 1
#define MISUSE_SETUP 77

/* Keep the compiler from reasoning about our pointers (the programs are built with
 * -fno-builtin as well, so malloc/free pairs are never elided). */
static void *volatile misuse_sink;
static inline void *misuse_launder(void *p)
{
    misuse_sink = p;
    return misuse_sink;
}

/* Called after the misuse: reaching it means the allocator let it pass. */
static inline __attribute__((noreturn)) void misuse_survived(const char *what)
{
    char buf[200];
    int n = snprintf(buf, sizeof buf, "misuse not detected: %s\n", what);
    if (n > 0) {
        ssize_t r = write(2, buf, (size_t)n);
        (void)r;
    }
    _exit(MISUSE_NO_ABORT);
}

static inline __attribute__((noreturn)) void misuse_setup_failed(const char *what)
{
    char buf[200];
    int n = snprintf(buf, sizeof buf, "setup failed: %s\n", what);
    if (n > 0) {
        ssize_t r = write(2, buf, (size_t)n);
        (void)r;
    }
    _exit(MISUSE_SETUP);
}

#if MISUSE_MODE_PRELOAD
static void *misuse_preload_sym(const char *name)
{
    char full[80];
    snprintf(full, sizeof full, "%s%s", HAK_TEST_PRELOAD_PREFIX, name);
    void *sym = dlsym(RTLD_DEFAULT, full);
    if (!sym) misuse_setup_failed(full);
    return sym;
}
#endif

#define MISUSE_REQUIRE(cond) \
    do { if (!(cond)) misuse_setup_failed(#cond); } while (0)

/* Block state is out of the program's reach; what it can see is the link a block on a
 * slab list (local or remote) holds in its first word. misuse_mark writes a pattern
 * there before the free; misuse_on_list says the pattern was replaced by a link (NULL,
 * or a 16-aligned pointer into the same 2 MiB SuperSlab): the block left the thread
 * cache (a cached block keeps the program's bytes). */
#define MISUSE_PATTERN 0x5A5A5A5A5A5A5A5Aull
static inline void misuse_mark(void *p)
{
    uint64_t w = MISUSE_PATTERN;
    memcpy(p, &w, sizeof w);
}
static inline int misuse_on_list(const void *p)
{
    uint64_t w;
    memcpy(&w, p, sizeof w);
    return w != MISUSE_PATTERN && (w == 0 || ((w & 15) == 0 && (w >> 21) == ((uintptr_t)p >> 21)));
}

/* Allocate n blocks of `size` bytes into blocks[], free them all (the thread cache
 * overflows, so most go back to their slab's freelist) and return blocks[k], checked
 * to be on its slab's freelist: its first word is a freelist link. */
static inline void *misuse_freed_victim(void **blocks, int n, size_t size, int k)
{
    for (int i = 0; i < n; i++) MISUSE_REQUIRE((blocks[i] = A(malloc)(size)) != NULL);
    for (int i = 0; i < n; i++) {
        misuse_mark(blocks[i]);
        A(free)(blocks[i]);
    }
    void *victim = blocks[k];
    MISUSE_REQUIRE(misuse_on_list(victim));
    return victim;
}

/* The C23 sized frees: under LD_PRELOAD the preloaded object's (weak: the C library
 * may lack them, and a program must then say so, not crash); MISUSE_C23(fn) requires one. */
#if MISUSE_MODE_PRELOAD
__attribute__((weak)) void free_sized(void *p, size_t size);
__attribute__((weak)) void free_aligned_sized(void *p, size_t align, size_t size);
#define MISUSE_C23(fn) MISUSE_REQUIRE(fn != NULL)
#else
#define MISUSE_C23(fn) ((void)0)
#endif

#endif
