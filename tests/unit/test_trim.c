/* test_trim.c - a thread gives back the pages of slabs it left free a whole trim
 * interval (hak_thread_trim): after it emptied many slabs of one class and then only
 * refilled from slabs it already had, at most HAKMEM_WARM_SLABS of its free slabs are
 * still resident, their state-table pages too (but for a page shared with a slab in
 * use); the others read as zero and carve again like fresh memory. A slab taken again
 * before the next trim keeps its pages. A state page that also describes a slab in use
 * stays: that slab's blocks free without a report. */
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include "hakmem.c"
#include "unit.h"

#define BIG 1000   /* class 1040 */
#define PER_SLAB ((HAK_SLAB_SIZE - 15) / 1040)
#define NBIG (PER_SLAB * 20)

static void *big[NBIG];
static void *small[200];

/* Resident pages of [p, p + n). */
static size_t resident_pages(uintptr_t p, size_t n)
{
    static unsigned char vec[HAK_SLAB_SIZE * HAK_SLABS_PER_SS / HAK_PAGE];
    size_t pages = (n + HAK_PAGE - 1) / HAK_PAGE, r = 0;
    if (pages > sizeof vec || mincore((void *)(p & ~(uintptr_t)(HAK_PAGE - 1)), pages * HAK_PAGE, vec) != 0) return (size_t)-1;
    for (size_t i = 0; i < pages; i++) r += vec[i] & 1;
    return r;
}

/* Free slabs of this thread's SuperSlabs with any page (or state page) resident. */
static unsigned free_resident_slabs(int state)
{
    unsigned n = 0;
    for (hak_superslab *ss = hak_tls.owned; ss; ss = ss->next)
        for (unsigned i = 1; i < HAK_SLABS_PER_SS; i++) {
            if (!((ss->free_slabs >> i) & 1)) continue;
            uintptr_t at = hak_ss_base(ss) + ((uintptr_t)i << HAKMEM_SLAB_SHIFT);
            n += state ? resident_pages((uintptr_t)hak_state_of(at), HAK_SLAB_SIZE >> 4) != 0
                       : resident_pages(at, HAK_SLAB_SIZE) != 0;
        }
    return n;
}

/* Refills of the 16-byte class from its own slab: no slab is taken or released. */
static void churn(unsigned rounds)
{
    for (unsigned r = 0; r < rounds; r++) {
        for (unsigned i = 0; i < 200; i++) small[i] = HAK_API(malloc)(16);
        for (unsigned i = 0; i < 200; i++) HAK_API(free)(small[i]);
        HAK_API(thread_flush)();
    }
}

static unsigned slab_of(const void *p) { return (unsigned)(((uintptr_t)p & HAK_SS_MASK) >> HAKMEM_SLAB_SHIFT); }

/* In a fresh SuperSlab: slabs of the big class, all emptied but one, e + 1, whose
 * state page slab e shares; e is trimmed (its pages go), the page stays. */
static void *shared_state_page(void *arg)
{
    (void)arg;
    if (HAK_STATE_PAGE_SLABS != 2) return NULL;   /* (64 KiB slabs: a state page each) */
    churn(1);
    for (unsigned i = 0; i < NBIG; i++) big[i] = HAK_API(malloc)(BIG);
    unsigned lo = slab_of(big[0]), e = (lo + 2 + 1) & ~1u;   /* slabs below e stay warm */
    hak_superslab *ss = hak_ss_of((uintptr_t)big[0]);
    EXPECT(slab_of(big[NBIG - 1]) > e + 2);                  /* and slabs above it are trimmed first */
    for (unsigned i = 0; i < NBIG; i++) {
        EXPECT(hak_ss_of((uintptr_t)big[i]) == ss);
        if (slab_of(big[i]) != e + 1) { HAK_API(free)(big[i]); big[i] = NULL; }
    }
    HAK_API(thread_flush)();
    EXPECT(((ss->free_slabs & ss->touched) >> e) & 1);
    churn(2 * HAKMEM_TRIM_REFILLS);
    uintptr_t at = hak_ss_base(ss) + ((uintptr_t)e << HAKMEM_SLAB_SHIFT);
    EXPECT(!((ss->touched >> e) & 1));                                            /* e given back */
    EXPECT_EQ(resident_pages(at, HAK_SLAB_SIZE), 0);
    EXPECT_EQ(resident_pages((uintptr_t)hak_state_of(at), HAK_SLAB_SIZE >> 4), 1);  /* the shared page stays */
    unsigned held = 0;
    for (unsigned i = 0; i < NBIG; i++)
        if (big[i]) { held++; EXPECT_EQ(hak_state_load(big[i]), hak_tls.st_alloc); HAK_API(free)(big[i]); }
    EXPECT(held >= PER_SLAB - 1);
    EXPECT_EQ(unit_total_reports(), 0);
    return NULL;
}

int main(void)
{
    HAK_API(set_corruption_handler)(unit_record, NULL);
    pthread_t th;
    pthread_create(&th, NULL, shared_state_page, NULL);
    pthread_join(th, NULL);
    churn(1);   /* the 16-byte class has its slab */
    for (unsigned i = 0; i < NBIG; i++) {
        big[i] = HAK_API(malloc)(BIG);
        memset(big[i], 0x5a, BIG);   /* every page of every slab resident */
    }
    for (unsigned i = 0; i < NBIG; i++) HAK_API(free)(big[i]);
    HAK_API(thread_flush)();         /* the slabs empty: released, still resident */
    unsigned before = free_resident_slabs(0), before_state = free_resident_slabs(1);
    EXPECT(before >= 16);            /* 20 slabs of the class, the active one kept */
    EXPECT(before_state >= 16);

    churn(2 * HAKMEM_TRIM_REFILLS);  /* well over two trims' worth of refills */
    EXPECT(free_resident_slabs(0) <= HAKMEM_WARM_SLABS);
    /* state pages: the warm slabs' and the active slab's, each shared by its neighbours */
    EXPECT(free_resident_slabs(1) <= (HAKMEM_WARM_SLABS + 1) * HAK_STATE_PAGE_SLABS);
    unsigned touched_free = 0;
    for (hak_superslab *ss = hak_tls.owned; ss; ss = ss->next)
        touched_free += (unsigned)__builtin_popcountll(ss->free_slabs & ss->touched);
    EXPECT(touched_free <= HAKMEM_WARM_SLABS);
#if HAKMEM_DEBUG_COUNTERS
    EXPECT(atomic_load(&hak_g_stats.slabs_trimmed) >= before - HAKMEM_WARM_SLABS);
#endif

    /* Given-back slabs carve again: every block intact, no report. */
    for (unsigned i = 0; i < NBIG; i++) {
        big[i] = HAK_API(malloc)(BIG);
        EXPECT(big[i] != NULL);
        memset(big[i], (int)(i & 0xff), BIG);
    }
    unsigned bad = 0;
    for (unsigned i = 0; i < NBIG; i++) {
        const unsigned char *p = big[i];
        bad += p[0] != (i & 0xff) || p[BIG - 1] != (i & 0xff);
    }
    EXPECT_EQ(bad, 0);

    /* A slab taken again before the next trim is not idle: freed again just before a
     * trim, it stays resident (within the warm count). */
    for (unsigned i = 0; i < NBIG; i++) HAK_API(free)(big[i]);
    HAK_API(thread_flush)();
    hak_tls.trim_clock = HAKMEM_TRIM_REFILLS - 2;   /* the next refills trim */
    churn(1);
    EXPECT(free_resident_slabs(0) >= 16);  /* free since less than an interval: kept */
    EXPECT_EQ(unit_total_reports(), 0);
    HAK_API(heap_drain)();
    EXPECT_EQ(unit_total_reports(), 0);
    return unit_finish("trim");
}
