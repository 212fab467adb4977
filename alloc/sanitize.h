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
/* Allocator-internal accesses to poisoned memory (canaries, links) are not user bugs. */
#define HAK_NO_ASAN __attribute__((no_sanitize("address")))
#include <stdint.h>
#include <sys/mman.h>
static inline void hak_san_poison(void *p, size_t n)   { ASAN_POISON_MEMORY_REGION(p, n); }
static inline void hak_san_unpoison(void *p, size_t n) { ASAN_UNPOISON_MEMORY_REGION(p, n); }
/* A fresh mapping may sit where poisoned memory was unmapped (ASan keeps shadow across
 * munmap), so its shadow is cleared; writing it would fault in n/8 bytes of shadow
 * (128 MiB for a 1 GiB block), so the shadow pages inside the range are dropped
 * instead (they read back as zero: unpoisoned; usually they were never touched) and
 * only the edges are written. The same before a mapping is unmapped (a region given
 * back by malloc_trim: writing its shadow was 29% of an ASan fuzz stream's time). */
static inline void hak_san_unpoison_fresh(void *p, size_t n)
{
    size_t scale, off;
    __asan_get_shadow_mapping(&scale, &off);
    uintptr_t b = (uintptr_t)p, e = b + n;
    uintptr_t pb = (((b >> scale) + off) + 4095) & ~(uintptr_t)4095;   /* whole shadow pages */
    uintptr_t pe = ((e >> scale) + off) & ~(uintptr_t)4095;
    if (pe <= pb) { ASAN_UNPOISON_MEMORY_REGION(p, n); return; }
    uintptr_t mb = (pb - off) << scale, me = (pe - off) << scale;      /* the memory they cover */
    ASAN_UNPOISON_MEMORY_REGION(p, mb - b);
    ASAN_UNPOISON_MEMORY_REGION((void *)me, e - me);
    if (madvise((void *)pb, pe - pb, MADV_DONTNEED) != 0) ASAN_UNPOISON_MEMORY_REGION((void *)mb, me - mb);
}
#else
#define HAK_NO_ASAN
static inline void hak_san_poison(void *p, size_t n)   { (void)p; (void)n; }
static inline void hak_san_unpoison(void *p, size_t n) { (void)p; (void)n; }
static inline void hak_san_unpoison_fresh(void *p, size_t n) { (void)p; (void)n; }
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
