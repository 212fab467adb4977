/* test_slab.c - slab carve / pop / push and the release link checks: each kind of bad
 * link is reported at pop, the list is cut there, and the one-multiply block check
 * agrees with plain division for every offset of every class. */
#include "hakmem.c"
#include "unit.h"

static hak_superslab *ss;

static hak_slab *fresh_slab(unsigned idx, unsigned cls)
{
    hak_slab_init(ss, idx, cls, hak_class_span(cls));
    return hak_ss_slab(ss, idx);
}

int main(void)
{
    hak_global_init();
    HAK_API(set_corruption_handler)(unit_record, NULL);
    ss = hak_ss_map();
    EXPECT(ss != NULL);
    EXPECT((hak_ss_base(ss) & HAK_SS_MASK) == 0);
    EXPECT(hak_ss_of(hak_ss_base(ss) + 12345) == ss);
    EXPECT_EQ(hak_region_of(hak_ss_base(ss) + 12345), HAK_REGION_SS);
    EXPECT_EQ(hak_region_of((uintptr_t)ss), HAK_REGION_NONE);   /* the header lies outside the arena */
    EXPECT_EQ(hak_region_of((uintptr_t)&ss - 0), HAK_REGION_NONE);

    /* the one-multiply check agrees with plain division for every class, at several
     * carve counts, for every offset from 1 MiB below first to past the span's end */
    int bad = 0, far_pass = 0;
    for (unsigned c = 0; c < HAK_NCLASS; c++) {
        unsigned span = hak_class_span(c);
        hak_slab *s = fresh_slab(1, c);
        uint32_t st = hak_class_stride[c], nb = s->nblocks;
        uint32_t counts[4] = { 0, 1, nb / 2 + 1, nb };
        int64_t lo = -(int64_t)1 << 20, hi = (int64_t)span * HAK_SLAB_SIZE + HAK_SLAB_SIZE;
        for (int ci = 0; ci < 4; ci++) {
            hak_slab_set_count(ss, s, counts[ci]);
            for (int64_t x = lo; x < hi; x++) {
                int want = x >= 0 && x % st == 0 && x / st < counts[ci];
                uintptr_t p = s->first + (uintptr_t)x;
                bad += hak_slab_holds(s, p, 1) != want;
                bad += hak_slab_holds(hak_ss_slab(ss, 1 + (unsigned)(span - 1)), p, 1) != want;   /* a span's last view */
            }
        }
        /* far nodes (a link with overwritten high bytes): the one-multiply check alone is
         * exact only within 2^21 of first and can pass them; a node check must not */
        hak_slab_set_count(ss, s, nb);
        for (unsigned b = 21; b < 64; b++)
            for (int sign = 0; sign < 2; sign++) {
                uintptr_t x = (uintptr_t)1 << b, p = sign ? s->first - x : s->first + x;
                bad += hak_node_ok(s, (void *)p, 1, 1, HAK_ST_FREE) != 0;
                bad += hak_node_ok(s, (void *)(p + st), 1, 1, HAK_ST_REMOTE) != 0;
            }
        for (uintptr_t hb = 1; hb < 256; hb++)   /* one overwritten top byte of a valid link */
            for (uint32_t k = 0; k < nb; k += nb / 4 + 1) {
                uintptr_t p = s->first + (uintptr_t)k * st;
                far_pass += hak_slab_holds(s, p ^ (hb << 56), 1);
                bad += hak_node_ok(s, (void *)(p ^ (hb << 56)), 1, 1, HAK_ST_FREE) != 0;
                bad += hak_node_ok(s, (void *)(p ^ (hb << 48)), 1, 1, HAK_ST_FREE) != 0;
            }
        hak_slab_release(ss, s);
    }
    EXPECT_EQ(bad, 0);
    EXPECT(far_pass > 0);   /* the multiply alone does pass some far pointers: the bound is needed */

    /* carve: state CACHED, canary written, addresses stride apart, 16-aligned, inside the slab */
    hak_slab *sl = fresh_slab(3, 4);
    void *out[1100];
    unsigned n = hak_slab_carve(ss, sl, out, 1000);
    EXPECT_EQ(n, HAKMEM_CARVE_BYTES / 80);             /* one chunk of fresh memory at a time */
    /* a page's worth per carve until the slab has carved HAKMEM_CARVE_MAX_BYTES, then that much */
    for (unsigned k; (k = hak_slab_carve(ss, sl, out + n, 1000)) > 0; n += k) {
        unsigned chunk = (n * 80 < HAKMEM_CARVE_MAX_BYTES ? HAKMEM_CARVE_BYTES : HAKMEM_CARVE_MAX_BYTES) / 80;
        EXPECT(k == chunk || (k < chunk && n + k == (HAK_SLAB_SIZE - 15) / 80));
    }
    EXPECT_EQ(n, (HAK_SLAB_SIZE - 15) / 80);
    for (unsigned i = 0; i < n; i++) {
        EXPECT(((uintptr_t)out[i] & 15) == 0);
        EXPECT_EQ(hak_state_load(out[i]), HAK_ST_CACHED);
        EXPECT_EQ(hak_canary_load(out[i]), HAK_CANARY);
        EXPECT_EQ(hak_state_load((char *)out[i] + 16), HAK_ST_NONE);   /* interior granules */
        if (i) EXPECT_EQ((char *)out[i] - (char *)out[i - 1], 80);
        EXPECT(hak_slab_holds(sl, (uintptr_t)out[i], 1));
        EXPECT(!hak_slab_holds(sl, (uintptr_t)out[i] + 16, 1));
    }
    EXPECT_EQ(hak_slab_carve(ss, sl, out + n, 10), 0);   /* exhausted */

    /* push three, pop three in LIFO order, the state table follows */
    for (int i = 0; i < 3; i++) hak_slab_push_local(sl, out[i]);
    EXPECT_EQ(hak_state_load(out[0]), HAK_ST_FREE);
    EXPECT(hak_slab_pop(sl) == out[2]);
    EXPECT(hak_slab_pop(sl) == out[1]);
    EXPECT(hak_slab_pop(sl) == out[0]);
    EXPECT_EQ(hak_state_load(out[0]), HAKMEM_CHECK_POP_RETAG ? HAK_ST_CACHED : HAK_ST_FREE);   /* (debug-norel: no retag) */
    EXPECT(hak_slab_pop(sl) == NULL);
    EXPECT_EQ(unit_total_reports(), 0);

    /* every corrupted link is caught at pop, and the list is cut */
    void *live = out[50];
    hak_state_store(live, HAK_ST_ALLOC);
    hak_ref_note(live, HAK_REF_ALLOC);   /* handed out (the debug record follows the state) */
    void *cached = out[51];                  /* CACHED since the carve */
    hak_slab *other = fresh_slab(4, 4);
    void *other_out[4];
    hak_slab_carve(ss, other, other_out, 4);
    hak_slab_push_local(other, other_out[0]);
    static char global_buf[64];
    void *bad_links[] = {
        (void *)0x4141414141414140ull,     /* wild */
        (char *)out[10] + 16,              /* middle of a block */
        live,                              /* a live block of the same class */
        cached,                            /* a block in a thread cache */
        other_out[0],                      /* a free block of another slab */
        (char *)hak_ss_base(ss) + 64,      /* slab 0 */
        (char *)ss,                        /* the SuperSlab header */
        global_buf,                        /* not heap at all */
        (char *)sl->first + (uintptr_t)sl->nblocks * sl->stride + 80,  /* beyond the slab */
    };
    for (unsigned k = 0; k < sizeof bad_links / sizeof bad_links[0]; k++) {
        unit_clear_reports();
        void *a = out[100 + 2 * k], *b = out[101 + 2 * k];   /* a leaks with the cut list */
        hak_slab_push_local(sl, a);
        hak_slab_push_local(sl, b);
        hak_link_store(b, bad_links[k]);   /* use-after-free write into the link */
        EXPECT(hak_slab_pop(sl) == b);
        EXPECT(hak_slab_pop(sl) == NULL);
        EXPECT_EQ(unit_reports[HAK_CORRUPT_BAD_FREELIST_LINK], 1);
        EXPECT(unit_last_ptr == bad_links[k]);
        EXPECT(sl->free == NULL);
    }
    /* a cycle: the second visit finds the node CACHED */
    unit_clear_reports();
    hak_slab_push_local(sl, out[30]);
    hak_link_store(out[30], out[30]);
    EXPECT(hak_slab_pop(sl) == out[30]);
    EXPECT(hak_slab_pop(sl) == NULL);
    EXPECT_EQ(unit_reports[HAK_CORRUPT_BAD_FREELIST_LINK], 1);

    /* remote push + collect; a corrupted remote link is reported at collect */
    unit_clear_reports();
    sl->used = 10;
    hak_slab_push_remote(ss, sl, out[40]);
    hak_slab_push_remote(ss, sl, out[41]);
    EXPECT(atomic_load(&ss->remote_hint) == 1);
    EXPECT_EQ(hak_state_load(out[40]), HAK_ST_REMOTE);
    hak_slab_collect(ss, sl);
    EXPECT_EQ(sl->used, 8);
    EXPECT_EQ(hak_state_load(out[40]), HAK_ST_FREE);
    EXPECT(hak_slab_pop(sl) == out[41]);
    EXPECT(hak_slab_pop(sl) == out[40]);
    hak_slab_push_remote(ss, sl, out[42]);
    hak_slab_push_remote(ss, sl, out[43]);
    hak_link_store(out[43], (char *)out[42] + 8);
    hak_slab_collect(ss, sl);
    EXPECT_EQ(unit_reports[HAK_CORRUPT_BAD_REMOTE_LINK], 1);
    /* a remote cycle of valid nodes: the second visit finds the node FREE already */
    unit_clear_reports();
    sl->free = NULL;
    hak_slab_push_remote(ss, sl, out[44]);
    hak_slab_push_remote(ss, sl, out[45]);
    hak_link_store(out[44], out[45]);
    hak_slab_collect(ss, sl);
    EXPECT_EQ(unit_reports[HAK_CORRUPT_BAD_REMOTE_LINK], 1);
    EXPECT(unit_last_ptr == out[45]);
    /* a remote link to a block on the local freelist, and to a live block */
    void *remote_bad[] = { out[46], live };
    for (unsigned k = 0; k < 2; k++) {
        unit_clear_reports();
        sl->free = NULL;
        hak_slab_push_local(sl, out[46]);
        hak_slab_push_remote(ss, sl, out[47]);
        hak_link_store(out[47], remote_bad[k]);
        hak_slab_collect(ss, sl);
        EXPECT_EQ(unit_reports[HAK_CORRUPT_BAD_REMOTE_LINK], 1);
        EXPECT(unit_last_ptr == remote_bad[k]);
        EXPECT(hak_slab_pop(sl) == out[47]);
        EXPECT(hak_slab_pop(sl) == out[46]);
        EXPECT(hak_slab_pop(sl) == NULL);
    }

    /* collect straight into a cache: the first nodes become CACHED in out[], checked
     * once there; the rest go on the freelist FREE (a pop checks them again). A bad
     * link or a cycle among the taken nodes is still reported at collect. Every build
     * takes the same nodes; the debug record says CACHED for the taken ones, LOCAL for
     * the rest (debug-norel: the record alone catches the bad link and the cycle). */
    {
        void *got[4] = { 0 };
        unit_clear_reports();
        sl->free = NULL;
        sl->used = 10;
        for (unsigned i = 60; i < 64; i++) hak_slab_push_remote(ss, sl, out[i]);   /* list 63 62 61 60 */
        EXPECT_EQ(hak_slab_collect_take(ss, sl, got, 2), 2);
        EXPECT(got[0] == out[63] && got[1] == out[62]);
        EXPECT_EQ(hak_state_load(out[63]), HAK_ST_CACHED);
        EXPECT_EQ(hak_state_load(out[61]), HAK_ST_FREE);
        if (!HAKMEM_BUILD_RELEASE) {
            EXPECT_EQ(hak_ref_get(hak_ref_lookup(out[63]), (uintptr_t)out[63]), HAK_REF_CACHED);
            EXPECT_EQ(hak_ref_get(hak_ref_lookup(out[62]), (uintptr_t)out[62]), HAK_REF_CACHED);
            EXPECT_EQ(hak_ref_get(hak_ref_lookup(out[61]), (uintptr_t)out[61]), HAK_REF_LOCAL);
            hak_ref_note(out[63], HAK_REF_ALLOC);   /* malloc of a taken node: the record agrees (else it aborts) */
            hak_ref_note(out[63], HAK_REF_CACHED);
        }
        EXPECT_EQ(sl->used, 6);
        EXPECT(hak_slab_pop(sl) == out[61]);
        EXPECT(hak_slab_pop(sl) == out[60]);
        EXPECT(hak_slab_pop(sl) == NULL);
        EXPECT_EQ(unit_reports[HAK_CORRUPT_BAD_REMOTE_LINK], 0);
        /* a use-after-free write into a node that goes to the cache */
        hak_slab_push_remote(ss, sl, out[64]);
        hak_slab_push_remote(ss, sl, out[65]);
        hak_link_store(out[65], (char *)out[64] + 8);
        EXPECT_EQ(hak_slab_collect_take(ss, sl, got, 4), 1);
        EXPECT(got[0] == out[65]);
        EXPECT_EQ(unit_reports[HAK_CORRUPT_BAD_REMOTE_LINK], 1);
        EXPECT(unit_last_ptr == (char *)out[64] + 8);
        EXPECT(sl->free == NULL);
        /* a cycle among taken nodes: the second visit finds the node CACHED */
        unit_clear_reports();
        hak_slab_push_remote(ss, sl, out[66]);
        hak_slab_push_remote(ss, sl, out[67]);
        hak_link_store(out[66], out[67]);
        EXPECT_EQ(hak_slab_collect_take(ss, sl, got, 4), 2);
        EXPECT_EQ(unit_reports[HAK_CORRUPT_BAD_REMOTE_LINK], 1);
        EXPECT(unit_last_ptr == out[67]);
        EXPECT(sl->free == NULL);
    }

    /* release puts the slabs back in the free mask */
    uint64_t before = ss->free_slabs;
    hak_slab_release(ss, other);
    EXPECT(ss->free_slabs == (before | (1ull << 4)));
    EXPECT(!hak_slab_holds(hak_ss_slab(ss, 4), (uintptr_t)other_out[0], 1));

    /* mid spans: every slab of the span shares the view, limit follows carving */
    unsigned mc = HAK_NSIZED - 1, span = hak_class_span(mc);
    hak_slab *m = fresh_slab(8, mc);
    EXPECT(span > 1);
    void *mo[4];
    for (unsigned k = 0, tries = 0; k < 4 && tries < 8; tries++) k += hak_slab_carve(ss, m, mo + k, 4 - k);
    for (unsigned i = 0; i < span; i++) {
        EXPECT_EQ(hak_ss_slab(ss, 8 + i)->head, 8);
        EXPECT_EQ(atomic_load(&hak_ss_slab(ss, 8 + i)->count), 4);
    }
    hak_slab *tail_view = hak_slab_at(ss, (uintptr_t)mo[3]);
    EXPECT(hak_slab_holds(tail_view, (uintptr_t)mo[3], 1));
    return unit_finish("slab");
}
