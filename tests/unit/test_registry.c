/* test_registry.c - the debug build's reference: hak_super_lookup finds every
 * SuperSlab from any address inside it and nothing else, the out-of-band record follows
 * every block through its states (carve, malloc, free, flush, remote push, collect,
 * refill, drain, reset; large blocks), and the debug validation decides from the record
 * alone: a byte forged before a block (the old in-band tag's place, now its canary)
 * fools it in neither direction. Built for the debug build and for
 * the debug build with every release check compiled out (debug-norel), where the
 * record is all there is. */
#include <pthread.h>
#include "hakmem.c"
#include "unit.h"

static unsigned state_of(const void *p)
{
    hak_ref_ss *r = hak_ref_lookup(p);
    return r ? hak_ref_get(r, (uintptr_t)p) : 99u;
}

/* Write the byte before block p as an overflow of the block before it would: `family`
 * (0xA0 allocated, 0xC0 cached, 0x60 free) with p's class, what the in-band tag said
 * before block state moved out of band; 0 puts the canary back. */
static void forge_tag(void *p, unsigned family)
{
    hak_ref_ss *r = hak_ref_lookup(p);
    unsigned cls = r->slab[hak_ref_slab_of(r, (uintptr_t)p)].cls;
    if (!family) { hak_canary_store(p); return; }
    ((volatile uint8_t *)p)[-1] = (uint8_t)(family | ((cls < HAK_NTINY ? cls : cls - HAK_NTINY) & 0x1F));
}

static void *remote_victim;
static void *remote_free_thread(void *arg)
{
    (void)arg;
    HAK_API(free)(remote_victim);
    HAK_API(free)(remote_victim);   /* a second free from this thread: already on the remote list */
    return NULL;
}

/* How often p is among n fresh allocations of size `size` (which are then freed):
 * n is larger than a thread cache, so a cached block comes out once. */
static int handed_out_again(const void *p, size_t size, int n)
{
    void *got[256];
    int seen = 0;
    for (int i = 0; i < n; i++) { got[i] = HAK_API(malloc)(size); seen += got[i] == p; }
    for (int i = 0; i < n; i++) HAK_API(free)(got[i]);
    return seen;
}

int main(void)
{
    hak_global_init();
    HAK_API(set_corruption_handler)(unit_record, NULL);

    /* lookup: every SuperSlab from any address in it, nothing else */
    hak_superslab *ss[40];
    for (int i = 0; i < 40; i++) ss[i] = hak_ss_map();
    for (int i = 0; i < 40; i++) {
        char *m = (char *)hak_ss_base(ss[i]);
        EXPECT(hak_super_lookup(m) == ss[i]);
        EXPECT(hak_super_lookup(m + HAK_SS_SIZE - 1) == ss[i]);
        EXPECT(hak_super_lookup(m + 777777) == ss[i]);
        EXPECT(hak_super_lookup(ss[i]) == NULL);   /* the header is allocator memory, outside the arena */
    }
    static char g;
    int x;
    EXPECT(hak_super_lookup(&g) == NULL);
    EXPECT(hak_super_lookup(&x) == NULL);
    EXPECT(hak_super_lookup(NULL) == NULL);
    EXPECT(hak_super_lookup((void *)0x7ff000000000ull) == NULL);
    /* the record is not next to any SuperSlab: no block's overflow reaches it */
    hak_ref_ss *r0 = hak_ref_lookup((void *)hak_ss_base(ss[0]));
    EXPECT(hak_region_of((uintptr_t)r0) == HAK_REGION_NONE);
    EXPECT(hak_region_of((uintptr_t)r0 + sizeof *r0) == HAK_REGION_NONE);

    /* carve -> CACHED, malloc -> ALLOC; the record's geometry is its own */
    void *p = HAK_API(malloc)(64);
    unsigned cls = hak_size_class(64);
    EXPECT_EQ(state_of(p), HAK_REF_ALLOC);
    hak_ref_ss *r = hak_ref_lookup(p);
    const hak_ref_slab *rs = &r->slab[hak_ref_slab_of(r, (uintptr_t)p)];
    EXPECT_EQ(rs->cls, cls);
    EXPECT_EQ(rs->stride, hak_class_stride[cls]);
    EXPECT(r->slab[rs->head].carved > 1);
    EXPECT_EQ(state_of((char *)p - hak_class_stride[cls]), HAK_REF_CACHED);   /* carved with it, in the cache */
    EXPECT_EQ(state_of((char *)p + hak_class_stride[cls]), HAK_REF_NONE);     /* not carved yet */
    EXPECT_EQ(state_of((char *)p + 16), HAK_REF_NONE);                       /* not a block start */
    EXPECT_EQ(HAK_API(malloc_usable_size)(p), hak_class_stride[cls] - 1);
    EXPECT_EQ(unit_total_reports(), 0);

    /* validation of free / realloc arguments */
    EXPECT(hak_debug_validate_free(p, 1) == 1);
    EXPECT(hak_debug_validate_free((char *)p + 16, 1) == 0);
    EXPECT_EQ(unit_reports[HAK_CORRUPT_INVALID_POINTER], 1);
    EXPECT(hak_debug_validate_free(&x, 1) == 0);   /* not heap: the debug build answers itself */
    EXPECT_EQ(unit_reports[HAK_CORRUPT_INVALID_POINTER], 2);
    unit_clear_reports();

    /* free -> CACHED; a second free is a double free, whatever the tag says */
    HAK_API(free)(p);
    EXPECT_EQ(state_of(p), HAK_REF_CACHED);
    EXPECT(hak_debug_validate_free(p, 1) == 0);
    EXPECT_EQ(unit_reports[HAK_CORRUPT_DOUBLE_FREE], 1);
    EXPECT_EQ(HAK_API(malloc_usable_size)(p), 0);
    EXPECT_EQ(unit_reports[HAK_CORRUPT_USE_AFTER_FREE], 1);
    unit_clear_reports();
    forge_tag(p, 0xA0);   /* an overflow wrote "allocated" over the cached block's canary */
    HAK_API(free)(p);
    EXPECT_EQ(unit_reports[HAK_CORRUPT_DOUBLE_FREE], 1);
    EXPECT_EQ(unit_total_reports(), 1);
    EXPECT_EQ(state_of(p), HAK_REF_CACHED);
    forge_tag(p, 0);
    unit_clear_reports();
    EXPECT_EQ(handed_out_again(p, 64, 200), 1);   /* once: the cache holds it once */
    void *a = HAK_API(malloc)(64), *b = HAK_API(malloc)(64);
    EXPECT(a != b);
    HAK_API(free)(a);
    HAK_API(free)(b);

    /* a live block whose tag is corrupted: the record says allocated, the header is bad */
    void *q = HAK_API(malloc)(64);
    forge_tag(q, 0xC0);   /* "cached" over a live block's canary: a corrupted header */
    unit_clear_reports();
    HAK_API(free)(q);
    EXPECT_EQ(unit_reports[HAK_CORRUPT_BAD_HEADER], 1);
    EXPECT_EQ(state_of(q), HAK_REF_ALLOC);
    forge_tag(q, 0);
    HAK_API(free)(q);
    EXPECT_EQ(state_of(q), HAK_REF_CACHED);

    /* flush -> LOCAL, refill pop -> CACHED */
    unit_clear_reports();
    HAK_API(thread_flush)();
    EXPECT_EQ(state_of(q), HAK_REF_LOCAL);
    void *q2 = HAK_API(malloc)(64);   /* the refill pops q first: the last one flushed */
    EXPECT_EQ(state_of(q2), HAK_REF_ALLOC);
    EXPECT(q2 == q || state_of(q) == HAK_REF_CACHED);
    HAK_API(free)(q2);

    /* forged FREE tag on a live block, and a freed block's link pointed at it: the refill
     * reports the link, cuts the list and never hands the live block out */
    void *live = HAK_API(malloc)(64), *freed = HAK_API(malloc)(64);
    HAK_API(free)(freed);
    HAK_API(thread_flush)();
    EXPECT_EQ(state_of(freed), HAK_REF_LOCAL);
    forge_tag(live, 0x60);
    hak_link_store(freed, live);
    unit_clear_reports();
    void *f2 = HAK_API(malloc)(64);
    EXPECT(f2 == freed || state_of(freed) == HAK_REF_CACHED);   /* popped */
    EXPECT_EQ(unit_reports[HAK_CORRUPT_BAD_FREELIST_LINK], 1);
    EXPECT(unit_last_ptr == live);
    EXPECT_EQ(state_of(live), HAK_REF_ALLOC);
    EXPECT(f2 != live);
    EXPECT_EQ(handed_out_again(live, 64, 200), 0);
    forge_tag(live, 0);
    HAK_API(free)(live);
    HAK_API(free)(f2);

    /* a cycle on the local freelist: the second visit finds the block CACHED */
    void *c1 = HAK_API(malloc)(64);
    HAK_API(free)(c1);
    HAK_API(thread_flush)();
    hak_link_store(c1, c1);
    unit_clear_reports();
    void *c2 = HAK_API(malloc)(64);
    EXPECT_EQ(unit_reports[HAK_CORRUPT_BAD_FREELIST_LINK], 1);
    EXPECT_EQ((c2 == c1) + handed_out_again(c1, 64, 200), 1);   /* popped once, out once */
    HAK_API(free)(c2);

    /* another thread's free -> REMOTE (its second free: double free); collect -> LOCAL */
    remote_victim = HAK_API(malloc)(96);
    unit_clear_reports();
    pthread_t th;
    pthread_create(&th, NULL, remote_free_thread, NULL);
    pthread_join(th, NULL);
    EXPECT_EQ(state_of(remote_victim), HAK_REF_REMOTE);
    EXPECT_EQ(unit_reports[HAK_CORRUPT_DOUBLE_FREE], 1);
    HAK_API(heap_drain)();   /* collects every remote list, then walks every freelist */
    EXPECT_EQ(state_of(remote_victim), HAK_REF_LOCAL);
    EXPECT_EQ(unit_total_reports(), 1);

    /* a UAF write into a freelist node's link, pointing at a live block, is caught by the
     * drain's walk; the live block stays live */
    void *d1 = HAK_API(malloc)(128), *d2 = HAK_API(malloc)(128);
    HAK_API(free)(d1);
    HAK_API(thread_flush)();
    EXPECT_EQ(state_of(d1), HAK_REF_LOCAL);
    hak_link_store(d1, d2);
    unit_clear_reports();
    HAK_API(heap_drain)();
    EXPECT_EQ(unit_reports[HAK_CORRUPT_BAD_FREELIST_LINK], 1);
    EXPECT(unit_last_ptr == d2);
    EXPECT_EQ(state_of(d1), HAK_REF_LOCAL);
    EXPECT_EQ(state_of(d2), HAK_REF_ALLOC);

    /* a SuperSlab's header overwritten (an overflow off the block before it): no node
     * of its lists is taken any more */
    void *h1 = HAK_API(malloc)(128);
    HAK_API(free)(h1);
    HAK_API(thread_flush)();
    hak_superslab *hs = hak_super_lookup(h1);
    uint64_t magic = hs->magic;
    hs->magic = ~magic;
    unit_clear_reports();
    HAK_API(heap_drain)();
    EXPECT(unit_reports[HAK_CORRUPT_BAD_FREELIST_LINK] >= 1);
    EXPECT_EQ(unit_total_reports(), unit_reports[HAK_CORRUPT_BAD_FREELIST_LINK]);
    hs->magic = magic;

    /* large blocks: live with their usable size, freed, a corrupted header */
    unit_clear_reports();
    char *big = HAK_API(malloc)(300000);
    EXPECT(hak_region_of((uintptr_t)big) == HAK_REGION_LARGE);
    EXPECT(HAK_API(malloc_usable_size)(big) >= 300000);
    EXPECT(hak_debug_validate_free(big + 16, 1) == 0);
    EXPECT_EQ(unit_reports[HAK_CORRUPT_INVALID_POINTER], 1);
    volatile uint8_t *hb = (volatile uint8_t *)big - 30;
    uint8_t saved = *hb;
    *hb = (uint8_t)~saved;   /* an underflow into the header */
    HAK_API(free)(big);
    EXPECT_EQ(unit_reports[HAK_CORRUPT_BAD_HEADER], 1);
    *hb = saved;
    char *big2 = HAK_API(realloc)(big, 3000000);   /* moves or grows: the record follows */
    EXPECT(big2 != NULL);
    EXPECT(HAK_API(malloc_usable_size)(big2) >= 3000000);
    if (big2 != big) EXPECT(hak_debug_validate_free(big, 0) == 0);
    unit_clear_reports();
    HAK_API(free)(big2);
    EXPECT_EQ(unit_total_reports(), 0);
    HAK_API(free)(big2);
    EXPECT_EQ(unit_reports[HAK_CORRUPT_DOUBLE_FREE], 1);

    /* heap_reset: no block exists any more */
    void *z = HAK_API(malloc)(64);
    HAK_API(heap_reset)();
    EXPECT_EQ(state_of(z), HAK_REF_NONE);
    unit_clear_reports();
    HAK_API(free)(z);
    EXPECT_EQ(unit_reports[HAK_CORRUPT_INVALID_POINTER], 1);
    void *z2 = HAK_API(malloc)(64);
    EXPECT_EQ(state_of(z2), HAK_REF_ALLOC);
    HAK_API(free)(z2);
    return unit_finish("registry");
}
