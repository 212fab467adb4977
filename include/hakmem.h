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
#include <stdio.h>

/* Version of this header; hak_version() is the version of the library linked.
 * HAKMEM_VERSION orders releases: MAJOR * 10000 + MINOR * 100 + PATCH. The shared
 * library's SONAME is libhakmem.so.MAJOR (CHANGELOG.md says what each release changed). */
#define HAKMEM_VERSION_MAJOR 0
#define HAKMEM_VERSION_MINOR 1
#define HAKMEM_VERSION_PATCH 0
#define HAKMEM_VERSION (HAKMEM_VERSION_MAJOR * 10000 + HAKMEM_VERSION_MINOR * 100 + HAKMEM_VERSION_PATCH)

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

/* What a heap holds right now (P##get_heap_stats), from a walk of the heap (no
 * hot-path counters). Exact when no other thread is inside the allocator, a snapshot
 * otherwise. Always small_live + small_free <= small_mapped, live <= mapped and
 * resident <= mapped. A tiny or mid block counts its stride, a large block its mapping. */
typedef struct hak_heap_stats {
    size_t mapped;             /* bytes mapped for blocks: SuperSlabs and large mappings */
    size_t resident;           /* bytes of those resident in memory (mincore) */
    size_t live;               /* bytes taken by live blocks: small_live + large_live_bytes */
    size_t superslabs;         /* SuperSlabs mapped (the tiny and mid tiers) */
    size_t superslabs_empty;   /* of those, without a slab in use */
    size_t small_mapped;       /* superslabs * SuperSlab size */
    size_t small_live;         /* bytes of live tiny and mid blocks */
    size_t small_free;         /* bytes of carved tiny and mid blocks that are free */
    size_t small_live_blocks;  /* live tiny and mid blocks */
    size_t small_free_blocks;  /* carved tiny and mid blocks that are free (cached or listed) */
    size_t large_live;         /* live large blocks (one mapping each) */
    size_t large_live_bytes;   /* bytes of their mappings */
    size_t large_cached;       /* freed large mappings kept for reuse */
    size_t large_cached_bytes; /* bytes of those */
    size_t releasable;         /* resident bytes P##malloc_trim would give back, about */
} hak_heap_stats;

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
    /* Usable size the heap's metadata gives a block starting at ptr, checking and    \
     * reporting nothing (0 if its metadata knows no block there): the harness's      \
     * second opinion when malloc_usable_size of a block just handed out reported.    \
     * No other thread may free meanwhile. */                                         \
    size_t P##block_size(const void *ptr);                                            \
    /* The heap's geometry: slab and SuperSlab sizes in bytes (powers of two; each is \
     * aligned to its size). The harness aims its boundary layouts with them. */       \
    void   P##geometry(size_t *slab_bytes, size_t *superslab_bytes);                  \
    /* "release", "debug", or the weakened variant's name. */                         \
    const char *P##build_name(void);                                                  \
    /* HAKMEM_VERSION of the library (compare with the header's). */                  \
    int    P##version(void);                                                          \
    /* C23: free a block of `size` bytes (as requested from malloc/calloc/realloc).   \
     * The pointer is checked as free() checks it, then the size against the block. */ \
    void   P##free_sized(void *ptr, size_t size);                                     \
    /* C23: free a block from aligned_alloc(align, size), checked likewise. */         \
    void   P##free_aligned_sized(void *ptr, size_t align, size_t size);               \
    /* Fill *out with what the heap holds (hak_heap_stats). */                        \
    void   P##get_heap_stats(hak_heap_stats *out);                                      \
    /* glibc's malloc_trim: flush this thread's cache, give empty SuperSlabs' and     \
     * free slabs' pages and the cached large mappings back to the OS. 1 if any      \
     * memory was released, else 0. `pad` is accepted and ignored (no heap top). */   \
    int    P##malloc_trim(size_t pad);                                                \
    /* glibc's malloc_stats: a summary on stderr. */                                  \
    void   P##malloc_stats(void);                                                     \
    /* glibc's malloc_info: the heap as XML on fp (options must be 0; else EINVAL). */\
    int    P##malloc_info(int options, FILE *fp);                                     \
    /* glibc's mallopt: M_TRIM_THRESHOLD sets the bytes of freed large mappings kept  \
     * for reuse; M_MXFAST and M_MMAP_THRESHOLD are range-checked like glibc's and    \
     * ignored; every other option is accepted and ignored. 1 on success, 0 if not. */\
    int    P##mallopt(int param, int value);

HAKMEM_DECLARE_API(hak_)
HAKMEM_DECLARE_API(hakd_)

#ifdef __cplusplus
}
#endif
#endif /* HAKMEM_H */
