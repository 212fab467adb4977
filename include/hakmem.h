/* hakmem.h - public API of the hakmem allocator.
 *
 * One source tree is compiled into several builds that can share one process:
 *   hak_*   the release build (O(1) checks only)          libhakmem.a
 *   hakd_*  the debug build (plus registry validation)     libhakmem-debug.a
 * Weakened and measurement builds (tests, teeth, bench) also use the hak_ prefix;
 * a binary links exactly one hak_ variant. The plain libc names (malloc, free, ...)
 * exist only in the preload object libhakmem.so.
 *
 * Block layout (tiny and mid tiers): every user pointer p is 16-byte aligned and
 * the byte at p-1 is the block's tag (state + size class, see alloc/header.h).
 * While a block is free, its first 8 bytes hold the freelist link.
 */
#ifndef HAKMEM_H
#define HAKMEM_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Corruption kinds: one fixed message each (hak_corruption_message). */
typedef enum hak_corruption_kind {
    HAK_CORRUPT_NONE = 0,
    HAK_CORRUPT_DOUBLE_FREE,        /* free of a block that is already free */
    HAK_CORRUPT_INVALID_POINTER,    /* not a block start of this heap (free/realloc/usable_size) */
    HAK_CORRUPT_BAD_HEADER,         /* block start whose header is not a valid allocated tag */
    HAK_CORRUPT_BAD_FREELIST_LINK,  /* slab freelist link or node corrupted (caught at pop) */
    HAK_CORRUPT_BAD_REMOTE_LINK,    /* cross-thread free list link corrupted (caught at collect) */
    HAK_CORRUPT_USE_AFTER_FREE,     /* realloc / malloc_usable_size of a freed block */
    HAK_CORRUPT_KIND_COUNT
} hak_corruption_kind;

/* The exact line the default handler writes to stderr before abort(). */
static inline const char *hak_corruption_message(hak_corruption_kind kind)
{
    switch (kind) {
    case HAK_CORRUPT_DOUBLE_FREE:       return "hakmem: fatal: double free";
    case HAK_CORRUPT_INVALID_POINTER:   return "hakmem: fatal: invalid pointer";
    case HAK_CORRUPT_BAD_HEADER:        return "hakmem: fatal: corrupted block header";
    case HAK_CORRUPT_BAD_FREELIST_LINK: return "hakmem: fatal: corrupted freelist link";
    case HAK_CORRUPT_BAD_REMOTE_LINK:   return "hakmem: fatal: corrupted remote free link";
    case HAK_CORRUPT_USE_AFTER_FREE:    return "hakmem: fatal: use of freed pointer";
    default:                            return "hakmem: fatal: unknown corruption";
    }
}

/* Short stable name of a kind, for reports ("double_free", ...). */
static inline const char *hak_corruption_name(hak_corruption_kind kind)
{
    switch (kind) {
    case HAK_CORRUPT_NONE:              return "none";
    case HAK_CORRUPT_DOUBLE_FREE:       return "double_free";
    case HAK_CORRUPT_INVALID_POINTER:   return "invalid_pointer";
    case HAK_CORRUPT_BAD_HEADER:        return "bad_header";
    case HAK_CORRUPT_BAD_FREELIST_LINK: return "bad_freelist_link";
    case HAK_CORRUPT_BAD_REMOTE_LINK:   return "bad_remote_link";
    case HAK_CORRUPT_USE_AFTER_FREE:    return "use_after_free";
    default:                            return "unknown";
    }
}

/* A corruption handler. The default prints hak_corruption_message(kind) and aborts.
 * A handler that returns makes the allocator recover: the offending free is ignored,
 * a corrupted freelist is cut at the bad link (its rest leaks), realloc returns NULL,
 * malloc_usable_size returns 0. `ptr` is the offending pointer or link value. */
typedef void (*hak_corruption_fn)(hak_corruption_kind kind, const void *ptr, void *arg);

/* Tier boundaries (requests up to these sizes are served by the tier). */
#define HAK_TINY_MAX 1024u
#define HAK_MID_MAX  131072u

#define HAKMEM_DECLARE_API(P)                                                         \
    void  *P##malloc(size_t size);                                                    \
    void   P##free(void *ptr);                                                        \
    void  *P##calloc(size_t n, size_t size);                                          \
    void  *P##realloc(void *ptr, size_t size);                                        \
    void  *P##reallocarray(void *ptr, size_t n, size_t size);                         \
    int    P##posix_memalign(void **out, size_t align, size_t size);                  \
    void  *P##aligned_alloc(size_t align, size_t size);                               \
    void  *P##memalign(size_t align, size_t size);                                    \
    void  *P##valloc(size_t size);                                                    \
    void  *P##pvalloc(size_t size);                                                   \
    size_t P##malloc_usable_size(void *ptr);                                          \
    /* Install a handler (NULL restores the default); returns the previous one. */   \
    hak_corruption_fn P##set_corruption_handler(hak_corruption_fn fn, void *arg);     \
    /* Return this thread's cached blocks to their slabs (local or remote lists). */  \
    void   P##thread_flush(void);                                                     \
    /* Check every slab freelist of the heap as if it were popped (harness end of    \
     * stream). No other thread may be inside the allocator. */                       \
    void   P##heap_drain(void);                                                       \
    /* Forget every block and cache: the heap is empty again, mappings are kept.     \
     * No other thread may be inside the allocator. */                                \
    void   P##heap_reset(void);                                                       \
    /* 1 if [ptr, ptr+len) lies inside memory this heap manages, else 0. */           \
    int    P##owns(const void *ptr, size_t len);                                      \
    /* "release", "debug", or the weakened variant's name. */                         \
    const char *P##build_name(void);

HAKMEM_DECLARE_API(hak_)
HAKMEM_DECLARE_API(hakd_)

#ifdef __cplusplus
}
#endif
#endif /* HAKMEM_H */
