/* test_os.c - the allocator when the kernel says no. Every mmap, munmap, madvise,
 * mremap and mprotect of the allocator goes through a hook here (a macro renames the
 * calls before the allocator is included); a scenario arms it to fail chosen calls, or
 * to take MAP_FIXED_NOREPLACE as a hint (old kernels), and checks the answer: ENOMEM
 * and a heap that works again once the kernel does, a smaller arena when its metadata
 * cannot be mapped, mappings that could not be given back kept tracked (a second free
 * is still a double free), realloc falling back to a copy. Under `ulimit -v` (the
 * window arena): a slot someone else mapped is skipped, empty SuperSlabs give their
 * address space back and come back on reuse. Each scenario runs in a fork child. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>

enum { FI_MMAP, FI_MUNMAP, FI_MADVISE, FI_MREMAP, FI_MPROTECT, FI_N };
/* One hook per call: let `skip` matching calls through, then fail `fail` of them (-1:
 * all); `hits` counts the failures made. match: NULL (every call) or a predicate on
 * the length, protection and flags. */
static struct {
    int skip, fail;
    int (*match)(size_t len, int prot, int flags);
    unsigned hits;
} fi[FI_N];
static int fi_hint;   /* MAP_FIXED_NOREPLACE calls to answer elsewhere, as a kernel before 4.17 */

static int fi_should_fail(int op, size_t len, int prot, int flags)
{
    if (!fi[op].fail || (fi[op].match && !fi[op].match(len, prot, flags))) return 0;
    if (fi[op].skip > 0) { fi[op].skip--; return 0; }
    if (fi[op].fail > 0) fi[op].fail--;
    fi[op].hits++;
    return 1;
}
static void fi_arm(int op, int skip, int fail, int (*match)(size_t, int, int))
{
    fi[op].skip = skip;
    fi[op].fail = fail;
    fi[op].match = match;
    fi[op].hits = 0;
}
static void fi_disarm(void) { memset(fi, 0, sizeof fi); fi_hint = 0; }

static void *fi_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    if (fi_should_fail(FI_MMAP, len, prot, flags)) { errno = ENOMEM; return MAP_FAILED; }
    if (fi_hint && (flags & MAP_FIXED_NOREPLACE)) {
        fi_hint--;
        return mmap(NULL, len, prot, flags & ~MAP_FIXED_NOREPLACE, fd, off);
    }
    return mmap(addr, len, prot, flags, fd, off);
}
static int fi_munmap(void *addr, size_t len)
{
    if (fi_should_fail(FI_MUNMAP, len, 0, 0)) { errno = ENOMEM; return -1; }
    return munmap(addr, len);
}
static int fi_madvise(void *addr, size_t len, int advice)
{
    if (fi_should_fail(FI_MADVISE, len, 0, 0)) { errno = ENOMEM; return -1; }
    return madvise(addr, len, advice);
}
static int fi_mprotect(void *addr, size_t len, int prot)
{
    if (fi_should_fail(FI_MPROTECT, len, prot, 0)) { errno = ENOMEM; return -1; }
    return mprotect(addr, len, prot);
}
static void *fi_mremap(void *old, size_t old_len, size_t new_len, int flags, ...)
{
    void *to = NULL;
    if (flags & MREMAP_FIXED) {
        va_list ap;
        va_start(ap, flags);
        to = va_arg(ap, void *);
        va_end(ap);
    }
    if (fi_should_fail(FI_MREMAP, new_len, 0, flags)) { errno = ENOMEM; return MAP_FAILED; }
    return flags & MREMAP_FIXED ? mremap(old, old_len, new_len, flags, to) : mremap(old, old_len, new_len, flags);
}
#define mmap fi_mmap
#define munmap fi_munmap
#define madvise fi_madvise
#define mprotect fi_mprotect
#define mremap fi_mremap
#include "hakmem.c"
#undef mmap
#undef munmap
#undef madvise
#undef mprotect
#undef mremap
#include "unit.h"
#include "child.h"

#define LARGE_BIG ((size_t)8 << 20)   /* beyond HAKMEM_LARGE_REGION_MAX: a mapping of its own */

/* the arena's metadata mappings (read-write, reserved lazily), not the region map */
static int match_arena_meta(size_t len, int prot, int flags)
{
    return (prot & PROT_WRITE) && (flags & MAP_NORESERVE) && len != HAK_REGIONS;
}
static int match_fixed(size_t len, int prot, int flags) { (void)len; (void)prot; return (flags & MAP_FIXED) != 0; }
static int match_large_table(size_t len, int prot, int flags)
{
    (void)prot; (void)flags;
    return len == 1024 * sizeof(hak_large);   /* the large table's first mapping */
}
static int match_large_table_growth(size_t len, int prot, int flags)
{
    (void)prot; (void)flags;
    return len == 2048 * sizeof(hak_large);   /* the large table's second mapping */
}
static int match_region(size_t len, int prot, int flags)
{
    (void)prot; (void)flags;
    return len == (size_t)HAKMEM_LARGE_REGION + HAK_SS_SIZE;   /* hak_os_map_aligned's span */
}

static int pattern_ok(const unsigned char *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i += 4093)
        if (p[i] != (unsigned char)(i * 31 + seed)) return 0;
    return 1;
}
static void pattern_fill(unsigned char *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i += 4093) p[i] = (unsigned char)(i * 31 + seed);
}

/* The arena's third metadata mapping fails: the first two go back, a smaller arena is
 * reserved instead. */
static void arena_meta_fails_once(void)
{
    fi_arm(FI_MMAP, 2, 1, match_arena_meta);
    void *p = HAK_API(malloc)(64);
    EXPECT(p != NULL);
    EXPECT_EQ(fi[FI_MMAP].hits, 1);
    EXPECT(hak_arena.nss < ((size_t)1 << HAKMEM_ARENA_BITS) >> HAKMEM_SS_SHIFT);
    HAK_API(free)(p);
}
/* No arena metadata at all: ENOMEM, and a later call, once the kernel agrees, works. */
static void arena_meta_fails(void)
{
    fi_arm(FI_MMAP, 0, -1, match_arena_meta);
    errno = 0;
    void *p = HAK_API(malloc)(64);
    EXPECT(p == NULL);
    EXPECT_EQ(errno, ENOMEM);
    EXPECT(fi[FI_MMAP].hits > 1);   /* every smaller size was tried */
    fi_disarm();
    p = HAK_API(malloc)(64);
    EXPECT(p != NULL);
    HAK_API(free)(p);
}
/* The debug record's guard pages cannot be set up: that arena size is given up too. */
static void registry_fails_once(void)
{
    fi_arm(FI_MPROTECT, 0, 1, NULL);
    void *p = HAK_API(malloc)(64);
    EXPECT(p != NULL);
    EXPECT_EQ(fi[FI_MPROTECT].hits, 1);
    EXPECT(hak_arena.nss < ((size_t)1 << HAKMEM_ARENA_BITS) >> HAKMEM_SS_SHIFT);
    HAK_API(free)(p);
}
/* the reservations the arena makes for itself and the debug record (PROT_NONE, no
 * swap reserved): the arena's own, then the record's two tables, then its states */
static int match_reserve(size_t len, int prot, int flags)
{
    (void)len;
    return prot == PROT_NONE && (flags & MAP_NORESERVE);
}
/* The debug record's state arrays cannot be reserved after its two tables were: both
 * tables go back and that arena size is given up too. */
static void registry_states_fail_once(void)
{
    fi_arm(FI_MMAP, 3, 1, match_reserve);
    void *p = HAK_API(malloc)(64);
    EXPECT(p != NULL);
    EXPECT_EQ(fi[FI_MMAP].hits, 1);
    EXPECT(hak_arena.nss < ((size_t)1 << HAKMEM_ARENA_BITS) >> HAKMEM_SS_SHIFT);
    HAK_API(free)(p);
}
#if !HAKMEM_BUILD_RELEASE
/* the debug record's tables of large blocks, first or grown (hak_ref_map: PROT_NONE,
 * a guard page on each side, a power of two of slots from 256) */
static int match_ref_large(size_t len, int prot, int flags)
{
    (void)flags;
    if (prot != PROT_NONE || len <= 2 * HAK_PAGE || (len - 2 * HAK_PAGE) % sizeof(hak_ref_large)) return 0;
    size_t slots = (len - 2 * HAK_PAGE) / sizeof(hak_ref_large);
    return slots >= 256 && !(slots & (slots - 1));
}
/* The debug build cannot map its record of large blocks, first or grown: the malloc
 * or realloc that needed the room fails with ENOMEM before anything changed, as when
 * release's own table cannot grow, and the heap works again once the kernel does. */
static void debug_large_record_fails(void)
{
    fi_arm(FI_MMAP, 0, -1, match_ref_large);
    errno = 0;
    EXPECT(HAK_API(malloc)(LARGE_BIG) == NULL);
    EXPECT_EQ(errno, ENOMEM);
    fi_disarm();
    static void *b[1024];
    int n = 0;
    do {   /* the first table, then blocks up to its next growth */
        b[n] = HAK_API(malloc)(300000);
        if (!b[n]) { EXPECT(b[n] != NULL); return; }
        memset(b[n], 0x5C, 64);
        n++;
    } while (n < 1024 && (hak_rlt.used + 1) * 2 <= hak_rlt.cap);
    EXPECT(n > 100 && n < 1024);
    fi_arm(FI_MMAP, 0, -1, match_ref_large);
    errno = 0;
    EXPECT(HAK_API(malloc)(300000) == NULL);
    EXPECT_EQ(errno, ENOMEM);
    errno = 0;
    void *q = HAK_API(realloc)(b[0], 4 * LARGE_BIG);   /* moves: needs an entry, cannot have one */
    EXPECT(q == NULL);
    EXPECT_EQ(errno, ENOMEM);
    EXPECT(((unsigned char *)b[0])[63] == 0x5C);        /* the old block stays as it was */
    EXPECT(fi[FI_MMAP].hits >= 2);
    fi_disarm();
    void *p = HAK_API(malloc)(300000);
    EXPECT(p != NULL);
    HAK_API(free)(p);
    for (int i = 0; i < n; i++) HAK_API(free)(b[i]);
    EXPECT_EQ(unit_total_reports(), 0);
}
/* a SuperSlab's state array in the debug record, opened when the SuperSlab is entered */
static int match_ref_states(size_t len, int prot, int flags)
{
    (void)flags;
    return prot == (PROT_READ | PROT_WRITE) && len == HAK_REF_GRANULES;
}
/* A new SuperSlab's state array in the debug record cannot be opened (the kernel is
 * out of map entries): the debug build stops with the fixed internal-error line. */
static void debug_record_states_fail(void)
{
    void *p = HAK_API(malloc)(1000);   /* the first SuperSlab, entered */
    EXPECT(p != NULL);
    fi_arm(FI_MPROTECT, 0, -1, match_ref_states);
    static void *b[8192];
    for (int n = 0; n < 8192; n++) b[n] = HAK_API(malloc)(1000);   /* 8 MB: a second SuperSlab */
    EXPECT(b[8191] == NULL);   /* not reached: the stop comes first */
}
#endif
/* A new SuperSlab cannot be committed: malloc says ENOMEM; then it works again. */
static void superslab_commit_fails(void)
{
    static void *b[8192];
    b[0] = HAK_API(malloc)(1000);
    EXPECT(b[0] != NULL);
    fi_arm(FI_MMAP, 0, -1, match_fixed);
    int n = 1, failed = 0;
    while (n < 8192 && !failed) {   /* 8 MB of 1000-byte blocks: more than one SuperSlab */
        errno = 0;
        b[n] = HAK_API(malloc)(1000);
        if (!b[n]) failed = errno == ENOMEM ? 1 : -1;
        else n++;
    }
    EXPECT_EQ(failed, 1);
    fi_disarm();
    b[n] = HAK_API(malloc)(1000);
    EXPECT(b[n] != NULL);
    for (int i = 0; i <= n; i++) HAK_API(free)(b[i]);
}
/* A freed mapping that cannot be unmapped (nor decommitted) stays tracked as freed:
 * the second free is still reported as a double free, and the failures are counted. */
static void large_unmap_fails(void)
{
    HAK_API(set_corruption_handler)(unit_record, NULL);
    HAK_API(mallopt)(M_TRIM_THRESHOLD, 0);   /* no cache: a freed mapping is unmapped */
    void *p = HAK_API(malloc)(LARGE_BIG);
    EXPECT(p != NULL);
    fi_arm(FI_MUNMAP, 0, 1, NULL);
    fi_arm(FI_MADVISE, 0, 1, NULL);
    HAK_API(free)(p);
    EXPECT_EQ(fi[FI_MUNMAP].hits, 1);
    EXPECT_EQ(fi[FI_MADVISE].hits, 1);
    hak_large *e = hak_lt_find((uintptr_t)p);
    EXPECT(e != NULL && e->state == HAK_LARGE_FREED);
    EXPECT_EQ(hak_region_of((uintptr_t)p), HAK_REGION_LARGE);
#if HAKMEM_DEBUG_COUNTERS
    EXPECT_EQ(hak_g_stats.os_failures, 2);
#endif
    unit_clear_reports();
    HAK_API(free)(p);
    EXPECT_EQ(unit_reports[HAK_CORRUPT_DOUBLE_FREE], 1);
}
/* Shrinking a mapping whose tail cannot be unmapped keeps it whole, in place. */
static void large_shrink_unmap_fails(void)
{
    unsigned char *p = HAK_API(malloc)(LARGE_BIG);
    EXPECT(p != NULL);
    pattern_fill(p, LARGE_BIG, 7);
    fi_arm(FI_MUNMAP, 0, 1, NULL);
    unsigned char *q = HAK_API(realloc)(p, LARGE_BIG / 2 + 1000);
    EXPECT(q == p);
    EXPECT_EQ(fi[FI_MUNMAP].hits, 1);
    EXPECT(pattern_ok(q, LARGE_BIG / 2 + 1000, 7));
    EXPECT(HAK_API(malloc_usable_size)(q) >= LARGE_BIG / 2 + 1000);
    HAK_API(free)(q);
}
/* Free cached mappings over the budget go back when the live large bytes fall (here
 * to none); one the kernel will not unmap stays cached as it was, still a freed block
 * (a second free is a double free), and the others go back past it. */
static void large_cache_shrink_unmap_fails(void)
{
    HAK_API(set_corruption_handler)(unit_record, NULL);
    void *b[4];
    for (int i = 0; i < 4; i++) b[i] = HAK_API(malloc)(LARGE_BIG);   /* 10 MiB mappings */
    EXPECT(b[3] != NULL);
    for (int i = 0; i < 3; i++) HAK_API(free)(b[i]);   /* one still live: all three stay cached */
    EXPECT_EQ(hak_lt.ncache, 3);
    fi_arm(FI_MUNMAP, 0, 1, NULL);
    HAK_API(free)(b[3]);   /* nothing live: the budget falls below what the cache holds */
    EXPECT_EQ(fi[FI_MUNMAP].hits, 1);
    fi_disarm();
    EXPECT_EQ(hak_lt.ncache, 1);
    EXPECT(hak_lt.cache[0] == (uintptr_t)b[0]);   /* the oldest, the one the kernel kept */
    EXPECT_EQ(hak_region_of((uintptr_t)b[0]), HAK_REGION_LARGE);
    for (int i = 1; i < 4; i++) EXPECT_EQ(hak_region_of((uintptr_t)b[i]), HAK_REGION_NONE);
    HAK_API(free)(b[0]);
    EXPECT_EQ(unit_reports[HAK_CORRUPT_DOUBLE_FREE], 1);
}
/* Growing a mapping when mremap fails (in place and onto a fresh mapping): the fresh
 * one goes back and realloc copies instead; the contents move along. */
static void large_grow_mremap_fails(void)
{
    unsigned char *p = HAK_API(malloc)(LARGE_BIG);
    EXPECT(p != NULL);
    pattern_fill(p, LARGE_BIG, 9);
    fi_arm(FI_MREMAP, 0, -1, NULL);
    unsigned char *q = HAK_API(realloc)(p, 2 * LARGE_BIG);
    EXPECT(q != NULL);
    EXPECT_EQ(fi[FI_MREMAP].hits, 2);
    EXPECT(q && pattern_ok(q, LARGE_BIG, 9));
    EXPECT(HAK_API(malloc_usable_size)(q) >= 2 * LARGE_BIG);
    fi_disarm();
    HAK_API(free)(q);
}
/* Resizing a mapping of its own when the large table is at its growth point (half
 * full) and cannot grow: realloc fails with ENOMEM and the block stays as it was (it
 * stopped the program, an internal error on the descriptor insert); then it works. */
static void large_remap_table_full(void)
{
    static void *r[511];
    for (int i = 0; i < 511; i++) EXPECT((r[i] = HAK_API(malloc)(300000)) != NULL);
    unsigned char *p = HAK_API(malloc)(LARGE_BIG);
    EXPECT(p != NULL);
    EXPECT_EQ(hak_lt.used * 2, hak_lt.cap);   /* the next insert must grow the table */
    pattern_fill(p, LARGE_BIG, 5);
    fi_arm(FI_MMAP, 0, -1, match_large_table_growth);
    errno = 0;
    EXPECT(HAK_API(realloc)(p, 2 * LARGE_BIG) == NULL);
    EXPECT_EQ(errno, ENOMEM);
    EXPECT(fi[FI_MMAP].hits >= 1);
    EXPECT(pattern_ok(p, LARGE_BIG, 5) && HAK_API(malloc_usable_size)(p) >= LARGE_BIG);
    fi_disarm();
    unsigned char *q = HAK_API(realloc)(p, 2 * LARGE_BIG);
    EXPECT(q != NULL && pattern_ok(q, LARGE_BIG, 5));
    HAK_API(free)(q);
    for (int i = 0; i < 511; i++) HAK_API(free)(r[i]);
}
/* malloc_trim cannot unmap a cached mapping: it is decommitted and stays a tracked,
 * freed block (a second free is a double free), out of the cache. */
static void trim_unmap_fails(void)
{
    HAK_API(set_corruption_handler)(unit_record, NULL);
    void *p = HAK_API(malloc)(LARGE_BIG);
    HAK_API(free)(p);
    EXPECT_EQ(hak_lt.ncache, 1);
    fi_arm(FI_MUNMAP, 0, -1, NULL);
    HAK_API(malloc_trim)(0);
    EXPECT(fi[FI_MUNMAP].hits >= 1);
    fi_disarm();
    EXPECT_EQ(hak_lt.ncache, 0);
    hak_large *e = hak_lt_find((uintptr_t)p);
    EXPECT(e != NULL && e->state == HAK_LARGE_FREED && e->dirty == 0);
    unit_clear_reports();
    HAK_API(free)(p);
    EXPECT_EQ(unit_reports[HAK_CORRUPT_DOUBLE_FREE], 1);
}
/* The large table cannot grow: a region block and a mapping of its own both fail with
 * ENOMEM (the region extent and the mapping go back); then both work. */
static void large_table_fails(void)
{
    fi_arm(FI_MMAP, 0, -1, match_large_table);
    errno = 0;
    EXPECT(HAK_API(malloc)(300000) == NULL);
    EXPECT_EQ(errno, ENOMEM);
    errno = 0;
    EXPECT(HAK_API(malloc)(LARGE_BIG) == NULL);
    EXPECT_EQ(errno, ENOMEM);
    EXPECT_EQ(fi[FI_MMAP].hits, 2);
    EXPECT_EQ(hak_lt.live, 0);
    fi_disarm();
    void *a = HAK_API(malloc)(300000), *b = HAK_API(malloc)(LARGE_BIG);
    EXPECT(a != NULL && b != NULL);
    HAK_API(free)(a);
    HAK_API(free)(b);
}
/* No large region can be mapped: ENOMEM. */
static void region_map_fails(void)
{
    fi_arm(FI_MMAP, 0, -1, match_region);
    errno = 0;
    EXPECT(HAK_API(malloc)(300000) == NULL);
    EXPECT_EQ(errno, ENOMEM);
    EXPECT(fi[FI_MMAP].hits >= 1);
    fi_disarm();
    void *a = HAK_API(malloc)(300000);
    EXPECT(a != NULL);
    HAK_API(free)(a);
}

/* Under `ulimit -v`: the arena is a window, SuperSlabs are committed with
 * MAP_FIXED_NOREPLACE. */
static void limit_address_space(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long pages = 0;
    if (!f || fscanf(f, "%lu", &pages) != 1) pages = 1ul << 20;
    if (f) fclose(f);
    struct rlimit rl = { (rlim_t)pages * 4096 + ((rlim_t)6 << 30), RLIM_INFINITY };
    EXPECT_EQ(setrlimit(RLIMIT_AS, &rl), 0);
}
/* Blocks of 1000 bytes until a SuperSlab beyond the first `have` slots is committed. */
static int fill_until_slot(void **b, int max, uintptr_t used_after)
{
    int n = 0;
    while (n < max && hak_arena.used < used_after) {
        b[n] = HAK_API(malloc)(1000);
        if (!b[n]) break;
        n++;
    }
    return n;
}
static void window_arena(void)
{
    static void *b[16384];
    limit_address_space();
    void *p = HAK_API(malloc)(1000);
    EXPECT(p != NULL);
    EXPECT_EQ(hak_arena.window, 1);
    /* someone else maps the next slot: it is skipped */
    uintptr_t used = hak_arena.used;
    void *want = (void *)(hak_arena.base + (used << HAKMEM_SS_SHIFT));
    void *other = mmap(want, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    EXPECT(other == want);
    int n = fill_until_slot(b, 16384, used + 2);
    EXPECT_EQ(hak_arena.used, used + 2);
    EXPECT_EQ(hak_region_of((uintptr_t)want), HAK_REGION_NONE);   /* not taken as a SuperSlab */
    /* a kernel that takes the flag as a hint: the mapping goes back, the slot is skipped */
    used = hak_arena.used;
    fi_hint = 1;
    n += fill_until_slot(b + n, 16384 - n, used + 2);
    EXPECT_EQ(fi_hint, 0);
    EXPECT_EQ(hak_arena.used, used + 2);
    /* everything freed and trimmed: empty SuperSlabs give their slabs' address space back */
    for (int i = 0; i < n; i++) HAK_API(free)(b[i]);
    HAK_API(free)(p);
    HAK_API(thread_flush)();
    HAK_API(malloc_trim)(0);
    int unmapped = 0;
    for (hak_superslab *ss = hak_g.pool; ss; ss = ss->next) unmapped += ss->resident < 0;
    EXPECT(unmapped >= 2);
    /* reuse brings them back (one answered elsewhere is dropped, another taken) */
    fi_hint = 1;
    for (int i = 0; i < n; i++) {
        b[i] = HAK_API(malloc)(1000);
        EXPECT(b[i] != NULL);
        if (!b[i]) break;
        memset(b[i], 0x5a, 1000);
    }
    EXPECT_EQ(fi_hint, 0);
    for (int i = 0; i < n; i++) HAK_API(free)(b[i]);
    munmap(other, 4096);
}

int main(void)
{
    unit_child("arena metadata fails once", arena_meta_fails_once, 0, NULL);
    unit_child("arena metadata fails", arena_meta_fails, 0, NULL);
    if (!HAKMEM_BUILD_RELEASE) unit_child("debug record fails once", registry_fails_once, 0, NULL);
    if (!HAKMEM_BUILD_RELEASE) unit_child("debug record's states fail once", registry_states_fail_once, 0, NULL);
#if !HAKMEM_BUILD_RELEASE
    unit_child("debug record of large blocks cannot be mapped", debug_large_record_fails, 0, NULL);
    unit_child("debug record's states cannot be opened", debug_record_states_fail, 1,
               "hakmem: internal error: mprotect(st, HAK_REF_GRANULES, PROT_READ | PROT_WRITE) == 0 ");
#endif
    unit_child("SuperSlab commit fails", superslab_commit_fails, 0, NULL);
    unit_child("large unmap fails", large_unmap_fails, 0, NULL);
    unit_child("large shrink, unmap fails", large_shrink_unmap_fails, 0, NULL);
    unit_child("large cache shrinks, unmap fails", large_cache_shrink_unmap_fails, 0, NULL);
    unit_child("large grow, mremap fails", large_grow_mremap_fails, 0, NULL);
    unit_child("large remap, table full", large_remap_table_full, 0, NULL);
    unit_child("trim, unmap fails", trim_unmap_fails, 0, NULL);
    unit_child("large table cannot grow", large_table_fails, 0, NULL);
    unit_child("large region cannot be mapped", region_map_fails, 0, NULL);
    unit_child("window arena (ulimit -v)", window_arena, 0, NULL);
    return unit_finish("os");
}
