/* test_reset.c - a heap reset forgets every block: after rounds of tiny and mid
 * blocks (live, cached, on local and remote lists, slabs released and taken again by
 * another class), every slab is free, the first block is the same after each reset (also
 * after a stream mapped another SuperSlab) and no state byte of any SuperSlab says
 * allocated, cached or remote. The reset clears the carved part of each slab in use
 * (what the stream touched); what it leaves is FREE bytes of slabs released earlier,
 * which no check reads: a free, pop or collect looks at a state only after the range
 * and stride checks found a carved block start. */
#include <pthread.h>
#include <sys/mman.h>
#include "hakmem.c"
#include "unit.h"

static void *blocks[6000];

static void *free_half(void *arg)
{
    (void)arg;
    for (int i = 1; i < 6000; i += 4) HAK_API(free)(blocks[i]);   /* remote frees */
    HAK_API(thread_flush)();
    return NULL;
}

/* State bytes of every SuperSlab that are neither NONE nor (with free_ok) FREE. */
static size_t states_set(int free_ok)
{
    size_t n = 0;
    for (hak_superslab *ss = hak_g.all; ss; ss = ss->all_next) {
        const uint8_t *st = hak_state_of(hak_ss_base(ss) + HAK_SLAB_SIZE);
        for (size_t g = 0; g < (HAK_SS_SIZE - HAK_SLAB_SIZE) >> 4; g++)
            n += st[g] != HAK_ST_NONE && !(free_ok && st[g] == HAK_ST_FREE);
    }
    return n;
}

/* Debug build: resident pages of the record's state arrays (they follow the heap's
 * pages: a slab release keeps them, the heap giving a SuperSlab's memory back drops
 * them). */
static size_t record_resident_pages(void)
{
    size_t n = 0;
    if (HAKMEM_BUILD_RELEASE) return 0;
    for (size_t k = 0; k < hak_reg.nrecs; k++) {
        hak_ref_ss *r = (hak_ref_ss *)(hak_reg.recs + k * hak_reg.rec_stride);
        static unsigned char vec[HAK_REF_GRANULES / 4096];
        if (mincore((void *)r->state, HAK_REF_GRANULES, vec) != 0) return (size_t)-1;
        for (size_t i = 0; i < sizeof vec; i++) n += vec[i] & 1;
    }
    return n;
}

int main(void)
{
    HAK_API(set_corruption_handler)(unit_record, NULL);
    static const size_t sizes[] = { 16, 40, 100, 512, 1024, 3000, 20000, 100000 };
    void *first = NULL;
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 6000; i++) blocks[i] = HAK_API(malloc)(sizes[(i + round) % 8]);
        for (int i = 0; i < 6000; i += 4) HAK_API(free)(blocks[i]);   /* cached, flushed to lists */
        pthread_t th;
        EXPECT(pthread_create(&th, NULL, free_half, NULL) == 0);
        pthread_join(th, NULL);
        EXPECT(states_set(1) > 0);
        HAK_API(heap_reset)();
        EXPECT_EQ(states_set(1), 0);
        unsigned used = 0;
        for (hak_superslab *ss = hak_g.all; ss; ss = ss->all_next) used += ss->free_slabs != HAK_SS_ALL_FREE;
        EXPECT_EQ(used, 0);
        void *p = HAK_API(malloc)(40);
        if (round == 1) first = p;
        if (round == 2) EXPECT(p == first);   /* the same heap, reset: the same first block */
        EXPECT(p != NULL && hak_state_load(p) == hak_tls.st_alloc);
        HAK_API(heap_reset)();
    }
    /* A stream that maps another SuperSlab does not move the first block after a reset:
     * the pool is rebuilt oldest first, so what later streams map comes last. */
    hak_superslab *newest = hak_g.all;
    for (int n = 0; hak_g.all == newest && n < 40000; n++) EXPECT(HAK_API(malloc)(20000) != NULL);
    EXPECT(hak_g.all != newest);
    HAK_API(heap_reset)();
    EXPECT(HAK_API(malloc)(40) == first);
    HAK_API(heap_reset)();
    if (!HAKMEM_BUILD_RELEASE) {   /* the record's state pages go back with the heap's */
        for (int i = 0; i < 6000; i++) blocks[i] = HAK_API(malloc)(sizes[i % 8]);
        for (int i = 0; i < 6000; i++) HAK_API(free)(blocks[i]);
        HAK_API(thread_flush)();
        EXPECT(record_resident_pages() > 0);
        HAK_API(heap_reset)();
        HAK_API(malloc_trim)(0);
        EXPECT_EQ(record_resident_pages(), 0);
    }
    EXPECT_EQ(unit_total_reports(), 0);
    return unit_finish("test_reset");
}
