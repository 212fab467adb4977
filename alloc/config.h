/* config.h - every compile-time tunable of hakmem, with its default and range.
 * Override any of them with -DNAME=value. */
#ifndef HAKMEM_CONFIG_H
#define HAKMEM_CONFIG_H

#include <assert.h>

/* --- build identity ------------------------------------------------------------ */
#ifndef HAKMEM_PREFIX
#define HAKMEM_PREFIX hak_            /* public symbol prefix: hak_ release, hakd_ debug */
#endif
#ifndef HAKMEM_BUILD_RELEASE
#ifdef NDEBUG
#define HAKMEM_BUILD_RELEASE 1        /* 1: no registry validation of freelist nodes */
#else
#define HAKMEM_BUILD_RELEASE 0
#endif
#endif
#ifndef HAKMEM_DEBUG_COUNTERS
#ifdef NDEBUG
#define HAKMEM_DEBUG_COUNTERS 0       /* 1: statistics, warm-pool counters, fault telemetry */
#else
#define HAKMEM_DEBUG_COUNTERS 1
#endif
#endif
#ifndef HAKMEM_VARIANT_NAME
#if HAKMEM_BUILD_RELEASE
#define HAKMEM_VARIANT_NAME "release" /* what P##build_name() returns */
#else
#define HAKMEM_VARIANT_NAME "debug"
#endif
#endif

/* --- release checks (all O(1)); weakened builds switch exactly one off ----------
 * Block state is out of band (the arena's state table, header.h), so none of these
 * trusts a byte the user can write; docs/checks.md says what each one catches. */
#ifndef HAKMEM_RELEASE_CHECKS
#define HAKMEM_RELEASE_CHECKS 1       /* 0: measurement-only build without the checks below */
#endif
#ifndef HAKMEM_CHECK_FREE_STRIDE
#define HAKMEM_CHECK_FREE_STRIDE HAKMEM_RELEASE_CHECKS /* free: p is 16-aligned (fast) / a carved block start (slow) */
#endif
#ifndef HAKMEM_CHECK_FREE_STATE
#define HAKMEM_CHECK_FREE_STATE 1     /* free: the state table says allocated (the baseline check) */
#endif
#ifndef HAKMEM_CHECK_CANARY
#define HAKMEM_CHECK_CANARY HAKMEM_RELEASE_CHECKS      /* free, usable size: the byte before p is intact */
#endif
#ifndef HAKMEM_CHECK_LINK_RANGE
#define HAKMEM_CHECK_LINK_RANGE HAKMEM_RELEASE_CHECKS  /* pop: node inside the carved slab */
#endif
#ifndef HAKMEM_CHECK_LINK_STRIDE
#define HAKMEM_CHECK_LINK_STRIDE HAKMEM_RELEASE_CHECKS /* pop: node is a block start */
#endif
#ifndef HAKMEM_CHECK_LINK_STATE
#define HAKMEM_CHECK_LINK_STATE HAKMEM_RELEASE_CHECKS  /* pop: the state table says free */
#endif
#ifndef HAKMEM_CHECK_REMOTE_LINK
#define HAKMEM_CHECK_REMOTE_LINK HAKMEM_RELEASE_CHECKS /* collect: remote list nodes valid, state remote */
#endif
#ifndef HAKMEM_CHECK_ARG_FIRST
#define HAKMEM_CHECK_ARG_FIRST HAKMEM_RELEASE_CHECKS   /* realloc & co: p validated before size errors */
#endif
#ifndef HAKMEM_CHECK_POP_RETAG
#define HAKMEM_CHECK_POP_RETAG HAKMEM_RELEASE_CHECKS   /* pop: a taken node leaves FREE at once (a cycle then fails) */
#endif
#ifndef HAKMEM_TEST_FALSE_ALARM
#define HAKMEM_TEST_FALSE_ALARM 0   /* judge self-test builds only: malloc_trim reports a corruption that is not there */
#endif
static_assert(HAKMEM_TEST_FALSE_ALARM == 0 || HAKMEM_TEST_FALSE_ALARM == 1, "a switch");
static_assert(HAKMEM_RELEASE_CHECKS == 0 || HAKMEM_RELEASE_CHECKS == 1, "a switch");
static_assert((HAKMEM_CHECK_FREE_STRIDE | HAKMEM_CHECK_FREE_STATE | HAKMEM_CHECK_CANARY | HAKMEM_CHECK_LINK_RANGE
               | HAKMEM_CHECK_LINK_STRIDE | HAKMEM_CHECK_LINK_STATE | HAKMEM_CHECK_REMOTE_LINK
               | HAKMEM_CHECK_ARG_FIRST | HAKMEM_CHECK_POP_RETAG) <= 1, "check switches are 0 or 1");

/* --- geometry -------------------------------------------------------------------- */
#ifndef HAKMEM_SS_SHIFT
#define HAKMEM_SS_SHIFT 21            /* SuperSlab size and alignment: 2 MiB */
#endif
#ifndef HAKMEM_SLAB_SHIFT
#define HAKMEM_SLAB_SHIFT 15          /* slab size: 32 KiB (two share a state-table page) */
#endif
#ifndef HAKMEM_VA_BITS
#define HAKMEM_VA_BITS 47             /* user address space bits covered by the region map */
#endif
#ifndef HAKMEM_ARENA_BITS
#define HAKMEM_ARENA_BITS 39          /* SuperSlab arena reservation: 512 GiB (shrunk until mmap agrees); with 32 KiB slabs the class map is 16 MiB */
#endif
#ifndef HAKMEM_ARENA_ALIGN_BITS
#define HAKMEM_ARENA_ALIGN_BITS HAKMEM_SS_SHIFT   /* arena base alignment (the harness's builds: 40, two heaps congruent) */
#endif
#ifndef HAKMEM_MID_MIN_BLOCKS
#define HAKMEM_MID_MIN_BLOCKS 8       /* a mid span holds at least this many blocks (if it fits) */
#endif

/* --- caches and pools ------------------------------------------------------------ */
#ifndef HAKMEM_TCACHE_SMALL
#define HAKMEM_TCACHE_SMALL 0         /* 1: tiny caches (fuzzing: reach flush/refill quickly) */
#endif
#ifndef HAKMEM_TCACHE_TINY_CAP
#if HAKMEM_TCACHE_SMALL
#define HAKMEM_TCACHE_TINY_CAP 8      /* thread-cache blocks per tiny class */
#else
#define HAKMEM_TCACHE_TINY_CAP 128
#endif
#endif
#ifndef HAKMEM_TCACHE_MID_CAP
#if HAKMEM_TCACHE_SMALL
#define HAKMEM_TCACHE_MID_CAP 4       /* thread-cache blocks per mid class */
#else
#define HAKMEM_TCACHE_MID_CAP 16
#endif
#endif
#ifndef HAKMEM_CARVE_BYTES
#define HAKMEM_CARVE_BYTES 4096       /* fresh memory carved per refill at first (at least 1 block): a page */
#endif
#ifndef HAKMEM_CARVE_MAX_BYTES
#define HAKMEM_CARVE_MAX_BYTES 16384  /* ... and this much per refill once the slab has carved as much */
#endif
#ifndef HAKMEM_POOL_BATCH
#define HAKMEM_POOL_BATCH 4           /* SuperSlabs taken from the shared pool under one lock */
#endif
#ifndef HAKMEM_WARM_SS
#define HAKMEM_WARM_SS 2              /* empty SuperSlabs a thread keeps before returning them */
#endif
#ifndef HAKMEM_POOL_RESIDENT
#define HAKMEM_POOL_RESIDENT 4        /* empty SuperSlabs the pool keeps resident (no madvise) */
#endif
#ifndef HAKMEM_MAX_THREADS
#define HAKMEM_MAX_THREADS 1024       /* live threads tracked for heap_reset and fork */
#endif
#ifndef HAKMEM_VA_RESERVE_SHIFT
#define HAKMEM_VA_RESERVE_SHIFT 6     /* under ulimit -v the heap leaves limit / 2^this (1/64) to other mappings */
#endif
#ifndef HAKMEM_LARGE_CACHE
#define HAKMEM_LARGE_CACHE 32         /* freed large mappings kept for reuse */
#endif
#ifndef HAKMEM_LARGE_CACHE_RESIDENT
#define HAKMEM_LARGE_CACHE_RESIDENT (64u << 20)  /* bytes of cached mappings and free region pages kept resident */
#endif
#ifndef HAKMEM_LARGE_REGION
#define HAKMEM_LARGE_REGION (32u << 20)  /* large blocks up to HAKMEM_LARGE_REGION_MAX share mappings of this size */
#endif
#ifndef HAKMEM_LARGE_REGION_MAX
#define HAKMEM_LARGE_REGION_MAX (HAKMEM_LARGE_REGION / 8)  /* bytes of a region block with its header, at most */
#endif
#ifndef HAKMEM_LARGE_REGION_DIRTY
#define HAKMEM_LARGE_REGION_DIRTY (16u << 20)  /* bytes of free region pages kept resident beyond the recent extents' */
#endif
#ifndef HAKMEM_LARGE_GROW_ROOM
#define HAKMEM_LARGE_GROW_ROOM 50        /* % of the blocks before it a new region block leaves free (realloc grows in place) */
#endif
#ifndef HAKMEM_LARGE_DECAY_MS
#define HAKMEM_LARGE_DECAY_MS 50         /* beyond HAKMEM_LARGE_REGION_DIRTY, free region pages stay resident this much user CPU time */
#endif
#ifndef HAKMEM_LARGE_DIRTY_RING
#define HAKMEM_LARGE_DIRTY_RING 256      /* free region extents remembered, oldest pages given back first */
#endif
#ifndef HAKMEM_LARGE_KEEP_MIN
#define HAKMEM_LARGE_KEEP_MIN (4u << 20)  /* free large memory kept resident is at most max(this, KEEP_LIVE x live large bytes) (unless mallopt M_TRIM_THRESHOLD set a budget) */
#endif
#ifndef HAKMEM_LARGE_KEEP_LIVE
#define HAKMEM_LARGE_KEEP_LIVE 8          /* ... free large bytes kept resident per live large byte */
#endif
#ifndef HAKMEM_LARGE_FREED_RING
#define HAKMEM_LARGE_FREED_RING 256      /* freed region blocks remembered (their double free is named) */
#endif

/* --- peak RSS of many threads: pages a thread keeps resident but does not use --- */
#ifndef HAKMEM_TRIM_REFILLS
#if HAKMEM_TCACHE_SMALL
#define HAKMEM_TRIM_REFILLS 16        /* (fuzzing: streams reach the trim) */
#else
#define HAKMEM_TRIM_REFILLS 128       /* a thread's refills between trims: a slab free through a whole interval gives its pages back */
#endif
#endif
#ifndef HAKMEM_WARM_SLABS
#if HAKMEM_TCACHE_SMALL
#define HAKMEM_WARM_SLABS 1           /* (fuzzing) */
#else
#define HAKMEM_WARM_SLABS 2           /* free slabs a thread keeps resident through a trim however long idle */
#endif
#endif
#ifndef HAKMEM_FREE_SLABS_RESIDENT
#define HAKMEM_FREE_SLABS_RESIDENT 32  /* free slabs a thread keeps resident between trims: one that empties beyond them gives its pages back at once */
#endif
#ifndef HAKMEM_HOME_COLLECT
#if HAKMEM_TCACHE_SMALL
#define HAKMEM_HOME_COLLECT 4          /* (fuzzing: streams reach the collect) */
#else
#define HAKMEM_HOME_COLLECT 64         /* frees into taken-over SuperSlabs between collects of the remote frees others made into them */
#endif
#endif
static_assert(HAKMEM_HOME_COLLECT >= 1 && HAKMEM_HOME_COLLECT <= (1u << 20), "frees between collects of taken-over SuperSlabs");
static_assert(HAKMEM_FREE_SLABS_RESIDENT >= HAKMEM_WARM_SLABS && HAKMEM_FREE_SLABS_RESIDENT <= 4096, "free resident slabs per thread");
static_assert(HAKMEM_WARM_SLABS <= 1024, "warm slabs per thread");
static_assert(HAKMEM_TRIM_REFILLS >= 1 && HAKMEM_TRIM_REFILLS <= (1u << 30), "trim interval in refills");

/* --- tools ----------------------------------------------------------------------- */
#ifndef HAKMEM_VALGRIND
#define HAKMEM_VALGRIND 0             /* 1: Valgrind client requests (MALLOCLIKE/FREELIKE) */
#endif
#ifndef HAKMEM_ASAN_HOOKS
#define HAKMEM_ASAN_HOOKS 1           /* poison/unpoison blocks when built with ASan */
#endif

static_assert(HAKMEM_SS_SHIFT >= 20 && HAKMEM_SS_SHIFT <= 24, "SuperSlab 1..16 MiB");
static_assert(HAKMEM_SLAB_SHIFT >= 14 && HAKMEM_SLAB_SHIFT + 2 <= HAKMEM_SS_SHIFT, "4+ slabs per SuperSlab");
static_assert(HAKMEM_SS_SHIFT - HAKMEM_SLAB_SHIFT <= 6, "at most 64 slabs (64-bit slab mask)");
static_assert(HAKMEM_ARENA_BITS >= 32 && HAKMEM_ARENA_BITS + 2 <= HAKMEM_VA_BITS, "arena size");
static_assert(HAKMEM_ARENA_ALIGN_BITS >= HAKMEM_SS_SHIFT && HAKMEM_ARENA_ALIGN_BITS + 3 <= HAKMEM_VA_BITS, "arena alignment");
static_assert(HAKMEM_ARENA_BITS - HAKMEM_SLAB_SHIFT <= 31, "slab table indexes fit 32-bit refs");
static_assert(HAKMEM_VA_BITS >= 39 && HAKMEM_VA_BITS <= 48, "region map size");
static_assert(HAKMEM_TCACHE_TINY_CAP >= 4 && HAKMEM_TCACHE_TINY_CAP <= 256, "tiny cache capacity");
static_assert(HAKMEM_TCACHE_MID_CAP >= 2 && HAKMEM_TCACHE_MID_CAP <= 64, "mid cache capacity");
static_assert(HAKMEM_CARVE_BYTES >= 4096 && HAKMEM_CARVE_BYTES <= (1 << 20), "carve chunk");
static_assert(HAKMEM_CARVE_MAX_BYTES >= HAKMEM_CARVE_BYTES && HAKMEM_CARVE_MAX_BYTES <= (1 << 20), "carve chunk growth");
static_assert(HAKMEM_POOL_BATCH >= 1 && HAKMEM_POOL_BATCH <= 16, "pool batch");
static_assert(HAKMEM_MID_MIN_BLOCKS >= 1 && HAKMEM_MID_MIN_BLOCKS <= 64, "mid span blocks");
static_assert(HAKMEM_LARGE_CACHE >= 0 && HAKMEM_LARGE_CACHE <= 64, "large cache");
static_assert(HAKMEM_VA_RESERVE_SHIFT >= 3 && HAKMEM_VA_RESERVE_SHIFT <= 30, "address-space reserve: 1/8 of the limit at most");
static_assert(HAKMEM_LARGE_REGION >= (4u << 20) && HAKMEM_LARGE_REGION <= (1u << 30)
              && (HAKMEM_LARGE_REGION & ((2u << 20) - 1)) == 0 && HAKMEM_LARGE_REGION % (64 * 4096) == 0,
              "large region: 4 MiB..1 GiB, a multiple of 2 MiB");
static_assert(HAKMEM_LARGE_REGION_MAX >= 132u * 1024 && HAKMEM_LARGE_REGION_MAX <= HAKMEM_LARGE_REGION,
              "region blocks: at least every size just above the mid tier");
static_assert(HAKMEM_LARGE_REGION_DIRTY <= HAKMEM_LARGE_CACHE_RESIDENT, "region pages kept: within the large budget");
static_assert(HAKMEM_LARGE_DIRTY_RING >= 16 && HAKMEM_LARGE_DIRTY_RING <= 65536, "dirty extent ring");
static_assert(HAKMEM_LARGE_GROW_ROOM >= 0 && HAKMEM_LARGE_GROW_ROOM <= 200, "region growth room: 0..200% of the run before");
static_assert(HAKMEM_LARGE_DECAY_MS <= 60000, "free region page decay: at most a minute");
static_assert(HAKMEM_LARGE_KEEP_MIN <= HAKMEM_LARGE_CACHE_RESIDENT, "live-bound floor: within the large budget");
static_assert(HAKMEM_LARGE_KEEP_LIVE >= 1 && HAKMEM_LARGE_KEEP_LIVE <= 64, "free large bytes kept per live byte");
static_assert(HAKMEM_LARGE_FREED_RING >= 1 && HAKMEM_LARGE_FREED_RING <= 65536, "freed ring");

#endif
