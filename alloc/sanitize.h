/* sanitize.h - telling ASan and Valgrind about blocks inside slabs.
 * Every function has a real and an empty definition, so call sites carry no #if.
 * Under ASan: free and never-handed-out block memory is poisoned, user blocks are
 * unpoisoned to exactly their usable size. Under HAKMEM_VALGRIND: MALLOCLIKE/FREELIKE
 * client requests, and the allocator's own accesses to free blocks are bracketed. */
#ifndef HAKMEM_SANITIZE_H
#define HAKMEM_SANITIZE_H

#include <stddef.h>
#include "config.h"

#if defined(__SANITIZE_ADDRESS__)
#define HAK_HAS_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HAK_HAS_ASAN 1
#endif
#endif
#ifndef HAK_HAS_ASAN
#define HAK_HAS_ASAN 0
#endif

#if HAK_HAS_ASAN && HAKMEM_ASAN_HOOKS
#include <sanitizer/asan_interface.h>
/* Allocator-internal accesses to poisoned memory (tags, links) are not user bugs. */
#define HAK_NO_ASAN __attribute__((no_sanitize("address")))
static inline void hak_san_poison(void *p, size_t n)   { ASAN_POISON_MEMORY_REGION(p, n); }
static inline void hak_san_unpoison(void *p, size_t n) { ASAN_UNPOISON_MEMORY_REGION(p, n); }
#else
#define HAK_NO_ASAN
static inline void hak_san_poison(void *p, size_t n)   { (void)p; (void)n; }
static inline void hak_san_unpoison(void *p, size_t n) { (void)p; (void)n; }
#endif

#if HAKMEM_VALGRIND
#include <valgrind/valgrind.h>
#include <valgrind/memcheck.h>
static inline void hak_vg_malloclike(void *p, size_t n, int zeroed) { VALGRIND_MALLOCLIKE_BLOCK(p, n, 0, zeroed); }
static inline void hak_vg_freelike(void *p)             { VALGRIND_FREELIKE_BLOCK(p, 0); }
static inline void hak_vg_open(void *p, size_t n)       { VALGRIND_MAKE_MEM_DEFINED(p, n); }
static inline void hak_vg_close(void *p, size_t n)      { VALGRIND_MAKE_MEM_NOACCESS(p, n); }
static inline void hak_vg_resize(void *p, size_t o, size_t n) { VALGRIND_RESIZEINPLACE_BLOCK(p, o, n, 0); }
#else
static inline void hak_vg_malloclike(void *p, size_t n, int zeroed) { (void)p; (void)n; (void)zeroed; }
static inline void hak_vg_freelike(void *p)             { (void)p; }
static inline void hak_vg_open(void *p, size_t n)       { (void)p; (void)n; }
static inline void hak_vg_close(void *p, size_t n)      { (void)p; (void)n; }
static inline void hak_vg_resize(void *p, size_t o, size_t n) { (void)p; (void)o; (void)n; }
#endif

/* A block is handed to the user / taken back. */
static inline void hak_san_block_alloc(void *p, size_t usable, int zeroed)
{
    hak_san_unpoison(p, usable);
    hak_vg_malloclike(p, usable, zeroed);
}
static inline void hak_san_block_free(void *p, size_t usable)
{
    hak_vg_freelike(p);
    hak_san_poison(p, usable);
}

#endif
