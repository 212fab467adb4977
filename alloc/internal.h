/* internal.h - shared definitions of the allocator: naming, check tiers, geometry,
 * size classes and the core data structures. Everything here is static: the whole
 * allocator is one translation unit (hakmem.c) so several builds can share a process. */
#ifndef HAKMEM_INTERNAL_H
#define HAKMEM_INTERNAL_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <pthread.h>

#include "config.h"
#include "hakmem.h"

/* --- naming ------------------------------------------------------------------------- */
#define HAK_CAT2(a, b) a##b
#define HAK_CAT(a, b) HAK_CAT2(a, b)
#define HAK_API(name) HAK_CAT(HAKMEM_PREFIX, name)   /* hak_malloc / hakd_malloc ... */

#define hak_likely(x)   __builtin_expect(!!(x), 1)
#define hak_unlikely(x) __builtin_expect(!!(x), 0)
#define hak_noinline    __attribute__((noinline))
#define hak_hot_inline  static inline __attribute__((always_inline))
#define HAK_EXPORT      __attribute__((visibility("default")))

/* --- check tiers ------------------------------------------------------------------------
 * HAK_CHECK:  always on; an allocator invariant (not user corruption) is broken.
 * HAK_DCHECK: debug builds only, but always type-checked.
 * User-caused corruption is never a CHECK: it goes to hak_report() with a kind. */
static void hak_internal_error(const char *what, int line);
#define HAK_CHECK(cond) \
    do { if (hak_unlikely(!(cond))) hak_internal_error(#cond, __LINE__); } while (0)
#define HAK_DCHECK(cond) \
    do { if (!HAKMEM_BUILD_RELEASE && hak_unlikely(!(cond))) hak_internal_error(#cond, __LINE__); } while (0)

/* --- benign races on hints ---------------------------------------------------------------
 * A few words are read plainly on the fast paths while other threads may write them:
 * a slab's lim (it only grows while any of its blocks is live, so every value read
 * accepts every block the reader can hold) and a slab's owner id (a false match only
 * caches a foreign block, which the flush sends home). Plain loads let the compiler
 * fold them into the compares. Under ThreadSanitizer they are relaxed atomic loads
 * (the writers store atomically), so TSan checks everything else. */
#if defined(__SANITIZE_THREAD__)
#define HAK_HINT_LOAD(lv) __atomic_load_n(&(lv), __ATOMIC_RELAXED)
#else
#define HAK_HINT_LOAD(lv) (lv)
#endif

/* --- statistics (HAKMEM_DEBUG_COUNTERS) -------------------------------------------------- */
#define HAK_STAT_LIST(X) \
    X(malloc_slow) X(free_slow) X(refills) X(refill_blocks) X(carved) X(flushes)     \
    X(remote_frees) X(remote_cas_retries) X(remote_collects) X(remote_cached) X(remote_listed) X(warm_hits) X(warm_misses) \
    X(pool_batches) X(pool_locks) X(pool_lock_waits)                                  \
    X(ss_mapped) X(ss_returned) X(slabs_released) X(slabs_trimmed) X(large_allocs) X(large_reused)   \
    X(registry_lookups) X(refill_minflt) X(reports) X(os_failures) X(large_regions) \
    X(large_evictions) X(large_evict_walks)
typedef struct hak_stats {
#define HAK_STAT_FIELD(n) _Atomic uint64_t n;
    HAK_STAT_LIST(HAK_STAT_FIELD)
#undef HAK_STAT_FIELD
} hak_stats;
#if HAKMEM_DEBUG_COUNTERS
static hak_stats hak_g_stats;
#define HAK_STAT_ADD(name, v) atomic_fetch_add_explicit(&hak_g_stats.name, (v), memory_order_relaxed)
#else
#define HAK_STAT_ADD(name, v) ((void)0)
#endif
#define HAK_STAT_INC(name) HAK_STAT_ADD(name, 1)

/* --- geometry -------------------------------------------------------------------------- */
#define HAK_SS_SIZE      ((uintptr_t)1 << HAKMEM_SS_SHIFT)
#define HAK_SS_MASK      (HAK_SS_SIZE - 1)
#define HAK_SLAB_SIZE    ((uintptr_t)1 << HAKMEM_SLAB_SHIFT)
#define HAK_SLABS_PER_SS (1u << (HAKMEM_SS_SHIFT - HAKMEM_SLAB_SHIFT))
#define HAK_PAGE         4096u
#define HAK_REGIONS      ((uintptr_t)1 << (HAKMEM_VA_BITS - HAKMEM_SS_SHIFT))
#define HAK_BLOCK_OFFSET 16u          /* user pointer of block 0 = slab start + 16 */
#define HAK_CLASS_MAP_SIZE ((uintptr_t)1 << (HAKMEM_ARENA_BITS - HAKMEM_SLAB_SHIFT))   /* os.c */

/* Region map values: what a 2 MiB region of the address space is to this heap. */
enum { HAK_REGION_NONE = 0, HAK_REGION_SS = 1, HAK_REGION_LARGE = 2 };

/* --- size classes ------------------------------------------------------------------------
 * Global class index: tiny 0..19, mid 20..47 (sized: malloc maps a size to one), then
 * the page-aligned mid classes 48..51 (strides 4, 8, 16, 32 KiB), reached only by
 * memalign and friends. Stride = distance between user pointers; usable size =
 * stride - 1 (the next block's canary byte follows). Power-of-two strides start their
 * blocks one stride into the slab, so such blocks are aligned to their stride. */
#define HAK_NTINY    20u
#define HAK_NSIZED   48u                          /* classes a plain size maps to */
#define HAK_NALIGNED 4u                           /* page-aligned classes after them */
#define HAK_NMID     (HAK_NSIZED - HAK_NTINY + HAK_NALIGNED)
#define HAK_NCLASS   (HAK_NTINY + HAK_NMID)
#define HAK_ALIGNED_CLASS_MIN 4096u               /* stride of class HAK_NSIZED */
#define HAK_CLASS_NONE 0xFFu
static const uint32_t hak_class_stride[HAK_NCLASS] = {
    16, 32, 48, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384, 448, 512, 640, 768, 896, 1040,
#define HAK_MID4(b) (b) + (b) / 4 + 16, (b) + (b) / 2 + 16, (b) + 3 * (b) / 4 + 16, 2 * (b) + 16,
    HAK_MID4(1024) HAK_MID4(2048) HAK_MID4(4096) HAK_MID4(8192)
    HAK_MID4(16384) HAK_MID4(32768) HAK_MID4(65536)
#undef HAK_MID4
    4096, 8192, 16384, 32768,
};
static_assert(sizeof hak_class_stride / sizeof hak_class_stride[0] == HAK_NCLASS, "one stride per class");

hak_hot_inline unsigned hak_class_usable(unsigned cls) { return hak_class_stride[cls] - 1; }

/* Mid class for 1024 < size <= HAK_MID_MAX: smallest class whose usable size fits. */
static inline unsigned hak_mid_class_of(size_t size)
{
    size_t m = size < 1025 + 15 ? 1025 : size - 15;  /* needed payload size S >= m */
    size_t x = m - 1;
    unsigned lg = 63u - (unsigned)__builtin_clzl(x);  /* >= 10 */
    unsigned k = (unsigned)(x >> (lg - 2)) & 3u;
    return HAK_NTINY + (lg - 10) * 4 + k;
}

/* --- core structures -------------------------------------------------------------------- */
typedef struct hak_thread hak_thread;
typedef struct hak_superslab hak_superslab;

/* One 32 KiB slab, or the head of a span of slabs (mid); 64 bytes. Descriptors live in
 * the heap's slab table (one per slab of the SuperSlab arena, pool.c), not in the
 * SuperSlab, so free finds one by an add and a shift. The first group of fields is the
 * free fast path's view and is copied into every slab of a span; the rest lives in the
 * head only. Invariant (hak_slab_holds): p is a carved user pointer of this slab iff
 * (p - first) * mul < lim (mod 2^64), with mul = floor(2^64 / stride) + 1 and
 * lim = count * e, e = mul * stride - 2^64 in [1, stride]: one multiply checks range and
 * stride together. An unused descriptor is all zero, so lim = 0 rejects every pointer.
 * count only grows until the slab is released. */
typedef struct hak_slab {
    uintptr_t first;               /* user pointer of block 0 (0: slab unused) */
    uint64_t mul;                  /* floor(2^64 / stride) + 1 */
    _Atomic uint64_t lim;          /* count * (mul * stride mod 2^64) */
    uint32_t stride;
    _Atomic uint16_t count;        /* blocks carved so far */
    uint16_t nblocks;              /* head: blocks that fit in the slab or span */
    uint16_t used;                 /* head: blocks out of the slab (allocated or cached); owner only */
    uint8_t  cls;                  /* global class, HAK_CLASS_NONE when unused */
    uint8_t  head;                 /* index of the span head within the SuperSlab (self for tiny) */
    uint8_t  span;                 /* head: slabs in the span */
    uint8_t  in_partial;           /* head: on the owner's partial list */
    /* head only */
    void    *free;                 /* local freelist, owner only */
    _Atomic(void *) remote;        /* cross-thread frees, lock-free push */
    uint32_t prev_partial, next_partial;   /* hak_slab_ref()s on the owner's partial list */
} hak_slab;
static_assert(sizeof(hak_slab) == 64, "a slab descriptor is one cache line (hak_slab_at relies on it)");
static_assert(HAK_SLAB_SIZE / 16 < 65536 && HAK_SLABS_PER_SS / 2 * HAK_SLAB_SIZE / 1040 < 65536,
              "block counts fit 16 bits (tiny: one slab; mid: spans of up to half a SuperSlab)");

#define HAK_SS_MAGIC 0x48414b4d53534c42ull   /* "HAKMSSLB" */

/* SuperSlab header, in the arena's header table (os.c), out of line: nothing in the
 * SuperSlab's own 2 MiB is allocator metadata, so an overflow from the last block of
 * the SuperSlab before it meets only slab 0, which holds no blocks and nothing the
 * allocator reads. hak_ss_base() gives the memory; the slab descriptors are in the
 * slab table. */
struct hak_superslab {
    uint64_t magic;
    _Atomic(hak_thread *) owner;   /* NULL: in the shared pool or abandoned */
    uint64_t free_slabs;           /* bit i: slab i unused (owner only) */
    uint64_t touched;              /* bit i: slab i's pages may be resident (owner only) */
    uint64_t idle;                 /* bit i: slab i was free and touched at the owner's last trim (hak_thread_trim) */
    _Atomic int remote_hint;       /* a remote free happened since the owner last looked */
    int resident;                  /* 1; 0 after madvise(DONTNEED); -1 slabs unmapped (header page kept) */
    int in_pool;                   /* on the shared pool's list (under hak_g.lock) */
    int draining;                  /* taken over by a free (its thread exited), not refilled from
                                    * since: its free slabs' pages go back at once, and it goes
                                    * back to the pool when empty instead of staying warm */
    hak_superslab *next;           /* owner's list, or pool list (both doubly linked) */
    hak_superslab *prev;
    hak_superslab *all_next;       /* every SuperSlab of the heap */
};
static_assert(sizeof(hak_superslab) <= 128, "a header table entry stays small");
#define HAK_SS_ALL_FREE ((HAK_SLABS_PER_SS == 64 ? ~0ull : ((1ull << HAK_SLABS_PER_SS) - 1)) & ~1ull)

/* Thread cache bins: bin c is a LIFO stack of CACHED blocks in slots[base(c) ..
 * base(c)+cap(c)), bins[c] points one past its top. slots[base(c)-1] is NULL and
 * slots[base(c)+cap(c)] is HAK_BIN_FULL: malloc pops bins[c][-1] and sees NULL when the
 * bin is empty, free checks bins[c][0] for the FULL mark; neither needs a bound.
 * Before a thread is laid out every bin points into hak_bin_unready = { NULL, FULL },
 * so both fast paths fall to the slow path, which lays out. */
#define HAK_BIN_FULL ((void *)1)
#define HAK_TCACHE_SLOTS (HAK_NTINY * (HAKMEM_TCACHE_TINY_CAP + 2) + HAK_NMID * (HAKMEM_TCACHE_MID_CAP + 2))
static inline unsigned hak_bin_cap(unsigned c) { return c < HAK_NTINY ? HAKMEM_TCACHE_TINY_CAP : HAKMEM_TCACHE_MID_CAP; }
static inline unsigned hak_bin_base(unsigned c)
{
    return c < HAK_NTINY ? 1 + c * (HAKMEM_TCACHE_TINY_CAP + 2)
                         : 1 + HAK_NTINY * (HAKMEM_TCACHE_TINY_CAP + 2) + (c - HAK_NTINY) * (HAKMEM_TCACHE_MID_CAP + 2);
}
static void *const hak_bin_unready[2] = { NULL, HAK_BIN_FULL };
#define HAK_BIN_UNREADY ((void **)&hak_bin_unready[1])   /* only ever read through */

/* Per-thread heap state (in TLS). */
struct hak_thread {
    void **bins[HAK_NCLASS];
    hak_slab *active[HAK_NCLASS];      /* slab refills come from first */
    hak_slab *partial[HAK_NCLASS];     /* other owned slabs with local free blocks */
    hak_superslab *owned;              /* SuperSlabs this thread owns */
    int initialized;
    int exited;                        /* its destructor ran: never list it again */
    uint32_t trim_clock;               /* refills since the last hak_thread_trim */
    uint32_t home_clock;               /* frees into taken-over SuperSlabs since t last collected (hak_free_home) */
    uint8_t hint;                      /* 0..HAK_ST_HINT, unique among set-up threads while they fit (hak_hint_take) */
    uint8_t st_alloc;                  /* HAK_ST_ALLOC | hint: what malloc stores in a
                                        * block's state; free's fast path takes a block whose state
                                        * equals it (allocated here: the SuperSlab is this thread's;
                                        * a false match of the hint only caches a foreign block) */
    void *slots[HAK_TCACHE_SLOTS];
};
#define HAK_THREAD_INIT { .bins = { [0 ... HAK_NCLASS - 1] = HAK_BIN_UNREADY }, .st_alloc = HAK_ST_UNREADY }
static inline unsigned hak_bin_count(const hak_thread *t, unsigned c) { return (unsigned)(t->bins[c] - &t->slots[hak_bin_base(c)]); }

static void hak_report(hak_corruption_kind kind, const void *ptr);

#endif
