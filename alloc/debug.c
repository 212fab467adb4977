/* debug.c - the debug build's validation (HAKMEM_BUILD_RELEASE == 0), from the record
 * of registry.c alone: a freed pointer, the argument of realloc and
 * malloc_usable_size, every node a refill pops, every node a remote collect takes and
 * every node heap_drain walks. What a block is (allocated, cached, on which list of
 * which span) comes from the record, never from the release build's state table or the
 * slab descriptor fields the release checks read; a block's canary is only compared
 * with the value every carved block carries, so a corrupted header is still reported
 * where release checks it (free, realloc, malloc_usable_size). A bad node is
 * reported and the list cut before it (its rest leaks), so no corrupted block is ever
 * handed out and the caller goes on. In release builds nothing here is called. */

/* The record of p if p is a node of span head `head` in state `want` (for a list
 * node: LOCAL or REMOTE), in a SuperSlab whose header is intact; NULL otherwise. */
static hak_ref_ss *hak_ref_node(const hak_slab *head, const void *p, unsigned want)
{
    unsigned idx;
    uintptr_t base = hak_ref_head_pos(head, &idx), a = (uintptr_t)p;
    hak_ref_ss *r = hak_ref_lookup(p);
    if (!r || r->base != base || (a & 15) || !hak_ref_ss_intact(r)) return NULL;
    const hak_ref_slab *s = &r->slab[hak_ref_slab_of(r, a)];
    unsigned st = hak_ref_get(r, a);
    /* a fork child's pop may find a node its left-behind thread had marked taken */
    int ok = st == want || (r->suspect && want == HAK_REF_LOCAL && st == HAK_REF_CACHED);
    return s->stride && s->head == idx && ok ? r : NULL;
}

/* Refill pop of p, the first node of head's local freelist: 1 if it may be taken (it
 * is CACHED now), else 0 after a report, with the list cut (emptied). */
static int hak_ref_take(hak_slab *head, void *p)
{
    if (HAKMEM_BUILD_RELEASE) return 1;
    hak_ref_ss *r = hak_ref_node(head, p, HAK_REF_LOCAL);
    if (hak_likely(r != NULL)) { hak_ref_set(r, (uintptr_t)p, HAK_REF_CACHED); return 1; }
    head->free = NULL;
    hak_report(HAK_CORRUPT_BAD_FREELIST_LINK, p);
    return 0;
}

/* Walk the list at *listp of head's slab: every node must be in state `want` (else the
 * list is cut before it and `kind` reported); the first `nfirst` nodes become
 * `mark_first`, the others `mark`. */
static void hak_ref_walk(hak_superslab *ss, hak_slab *head, void **listp, unsigned want, unsigned nfirst,
                         unsigned mark_first, unsigned mark, hak_corruption_kind kind)
{
    unsigned idx;
    HAK_CHECK(hak_ref_head_pos(head, &idx) == hak_ss_base(ss));
    void *prev = NULL;
    for (void *p = *listp; p; prev = p, p = hak_link_load(p)) {
        hak_ref_ss *r = hak_ref_node(head, p, want);
        if (!r) {
            if (prev) hak_link_store(prev, NULL); else *listp = NULL;
            hak_report(kind, p);
            return;
        }
        hak_ref_set(r, (uintptr_t)p, nfirst ? mark_first : mark);
        if (nfirst) nfirst--;
    }
}

/* Remote collect: every node of the list at *listp must be a REMOTE block of head. The
 * first `take` go into a thread cache (CACHED), the rest join the local freelist
 * (LOCAL), as hak_slab_collect_take moves them; either way a node met twice (a cycle)
 * fails the second time. The list is cut before the first bad node. */
static void hak_ref_collect(hak_superslab *ss, hak_slab *head, void **listp, unsigned take)
{
    if (HAKMEM_BUILD_RELEASE) return;
    hak_ref_walk(ss, head, listp, HAK_REF_REMOTE, take, HAK_REF_CACHED, HAK_REF_LOCAL, HAK_CORRUPT_BAD_REMOTE_LINK);
}

/* heap_drain: walk head's local freelist as refills would pop it, taking nothing. A
 * node met is SEEN until the walk ends, so a cycle is caught too. */
static void hak_ref_check_list(hak_superslab *ss, hak_slab *head, void **listp)
{
    if (HAKMEM_BUILD_RELEASE) return;
    hak_ref_walk(ss, head, listp, HAK_REF_LOCAL, 0, HAK_REF_SEEN, HAK_REF_SEEN, HAK_CORRUPT_BAD_FREELIST_LINK);
    for (void *p = *listp; p; p = hak_link_load(p)) hak_ref_set(hak_ref_lookup(p), (uintptr_t)p, HAK_REF_LOCAL);
}

/* --- large blocks: user pointer -> usable size, live or freed, and the 64 header
 * bytes below the user pointer as the block was handed out (the header is in user
 * memory: an underflow can write it). Open addressing, under hak_g.lock. Freed
 * entries stay (a second free is a double free) until the slot is needed or heap_reset. */
typedef struct hak_ref_large {
    uintptr_t user;                  /* 0: empty */
    size_t usable;
    uint64_t live;                   /* 0: freed */
    uint8_t hdr[HAK_LARGE_HDR];
} hak_ref_large;
static struct {
    hak_ref_large *e;
    size_t cap, used, freed;
} hak_rlt;

static inline size_t hak_rlt_hash(uintptr_t user) { return (size_t)((user >> 12) * 0x9E3779B97F4A7C15ull >> 24); }
static hak_ref_large *hak_rlt_find(uintptr_t user)
{
    if (!hak_rlt.cap) return NULL;
    for (size_t i = hak_rlt_hash(user) & (hak_rlt.cap - 1);; i = (i + 1) & (hak_rlt.cap - 1)) {
        hak_ref_large *e = &hak_rlt.e[i];
        if (!e->user || e->user == user) return e->user ? e : NULL;
    }
}
static hak_ref_large *hak_rlt_slot(hak_ref_large *tab, size_t cap, uintptr_t user)
{
    size_t i = hak_rlt_hash(user) & (cap - 1);
    while (tab[i].user && tab[i].user != user) i = (i + 1) & (cap - 1);
    return &tab[i];
}
/* The table rebuilt with cap slots (cap a power of two), without the freed entries
 * unless keep_freed; 0 (the table unchanged) when the OS gives no memory for it. */
static int hak_rlt_rebuild(size_t cap, int keep_freed)
{
    hak_ref_large *tab = hak_ref_map(cap * sizeof *tab, 0);
    if (!tab) return 0;
    size_t used = 0;
    for (size_t i = 0; i < hak_rlt.cap; i++) {
        const hak_ref_large *e = &hak_rlt.e[i];
        if (!e->user || (!e->live && !keep_freed)) continue;
        *hak_rlt_slot(tab, cap, e->user) = *e;
        used++;
    }
    if (hak_rlt.e) (void)hak_os_unmap((char *)hak_rlt.e - HAK_PAGE, hak_rlt.cap * sizeof *tab + 2 * HAK_PAGE);   /* checked, counted */
    if (!keep_freed) hak_rlt.freed = 0;
    hak_rlt.e = tab;
    hak_rlt.cap = cap;
    hak_rlt.used = used;
    return 1;
}
/* Room for one more entry (at most half the slots used): drop the freed entries when
 * they are the most, else double the table. 0: no room (the OS refused the memory). */
static int hak_rlt_make_room(void)
{
    if ((hak_rlt.used + 1) * 2 <= hak_rlt.cap) return 1;
    if (hak_rlt.freed * 2 > hak_rlt.used && hak_rlt_rebuild(hak_rlt.cap, 0)
        && (hak_rlt.used + 1) * 2 <= hak_rlt.cap) return 1;
    return hak_rlt_rebuild(hak_rlt.cap ? 2 * hak_rlt.cap : 256, 1);
}

/* Under hak_g.lock, before the large tier changes anything (hak_lt_room): the record
 * can take one more block. Made here, where a refusal is still an ENOMEM for the caller,
 * rather than in hak_ref_large_live, which runs when the block is handed out already. */
static int hak_ref_large_room(void) { return HAKMEM_BUILD_RELEASE || hak_rlt_make_room(); }

static HAK_NO_ASAN void hak_rlt_header(uintptr_t user, uint8_t *out)
{
    hak_vg_open((void *)(user - HAK_LARGE_HDR), HAK_LARGE_HDR);
    memcpy(out, (const void *)(user - HAK_LARGE_HDR), HAK_LARGE_HDR);
    hak_vg_close((void *)(user - HAK_LARGE_HDR), HAK_LARGE_HDR);
}

/* Under hak_g.lock: large block `user` is handed out (fresh, reused or resized). */
static void hak_ref_large_live(uintptr_t user, size_t usable)
{
    if (HAKMEM_BUILD_RELEASE) return;
    /* hak_lt_room made room for a new block; a resize in place (the same user pointer,
     * its entry kept) needs none, so a refused growth here is not an error. */
    if (!hak_rlt_make_room()) HAK_CHECK(hak_rlt.used < hak_rlt.cap);
    hak_ref_large *e = hak_rlt_slot(hak_rlt.e, hak_rlt.cap, user);
    if (!e->user) hak_rlt.used++;
    else if (!e->live) hak_rlt.freed--;
    else hak_ref_out_of_step((void *)user, HAK_REF_ALLOC, 0, __LINE__);   /* handed out twice */
    e->user = user;
    e->usable = usable;
    e->live = 1;
    hak_rlt_header(user, e->hdr);
}

/* Under hak_g.lock: large block `user` is freed. */
static void hak_ref_large_dead(uintptr_t user)
{
    if (HAKMEM_BUILD_RELEASE) return;
    hak_ref_large *e = hak_rlt_find(user);
    if (!e || !e->live) { hak_ref_out_of_step((void *)user, e ? HAK_REF_CACHED : HAK_REF_NONE, HAK_REF_BIT(HAK_REF_ALLOC), __LINE__); return; }
    e->live = 0;
    hak_rlt.freed++;
}

/* Under hak_g.lock: realloc moved or resized large block old_user to user. */
static void hak_ref_large_moved(uintptr_t old_user, uintptr_t user, size_t usable)
{
    if (HAKMEM_BUILD_RELEASE) return;
    hak_ref_large_dead(old_user);
    hak_ref_large_live(user, usable);
}

/* Usable size of live large block p, or 0 after reporting (freed: freed_kind). */
static size_t hak_ref_large_usable(void *p, hak_corruption_kind freed_kind)
{
    uint8_t hdr[HAK_LARGE_HDR];
    hak_corruption_kind k = HAK_CORRUPT_NONE;
    size_t usable = 0;
    pthread_mutex_lock(&hak_g.lock);
    hak_ref_large *e = ((uintptr_t)p & 15) ? NULL : hak_rlt_find((uintptr_t)p);
    if (!e) k = HAK_CORRUPT_INVALID_POINTER;
    else if (!e->live) k = freed_kind;
    else {
        hak_rlt_header(e->user, hdr);
        if (memcmp(hdr, e->hdr, sizeof hdr)) k = HAK_CORRUPT_BAD_HEADER;
        else usable = e->usable;
    }
    pthread_mutex_unlock(&hak_g.lock);
    if (k != HAK_CORRUPT_NONE) hak_report(k, p);
    return usable;
}

static void hak_ref_reset(void)
{
    if (HAKMEM_BUILD_RELEASE) return;
    hak_ref_reset_slabs();
    pthread_mutex_lock(&hak_g.lock);
    if (hak_rlt.e && hak_rlt.used) memset(hak_rlt.e, 0, hak_rlt.cap * sizeof *hak_rlt.e);   /* (used 0: all zero) */
    hak_rlt.used = hak_rlt.freed = 0;
    pthread_mutex_unlock(&hak_g.lock);
}

/* Usable size of the block at p if the program may use it (allocated, header whole);
 * otherwise 0 after a report: invalid pointer, freed (freed_kind), corrupted header. */
static size_t hak_ref_usable(void *p, hak_corruption_kind freed_kind)
{
    uintptr_t a = (uintptr_t)p;
    hak_ref_ss *r = hak_ref_lookup(p);
    if (!r) return hak_ref_large_usable(p, freed_kind);
    unsigned s = (a & 15) ? HAK_REF_NONE : hak_ref_get(r, a);
    const hak_ref_slab *sl = &r->slab[hak_ref_slab_of(r, a)];
    hak_corruption_kind k;
    if (s == HAK_REF_ALLOC) {
        if (hak_canary_load(p) == HAK_CANARY) return sl->stride - 1;
        k = HAK_CORRUPT_BAD_HEADER;
    } else {
        k = s == HAK_REF_NONE ? HAK_CORRUPT_INVALID_POINTER : freed_kind;
    }
    hak_report(k, p);
    return 0;
}

/* 1 if p may be freed (for_free) or passed to realloc; otherwise the problem is
 * reported and 0 returned. */
static int hak_debug_validate_free(void *p, int for_free)
{
    return hak_ref_usable(p, for_free ? HAK_CORRUPT_DOUBLE_FREE : HAK_CORRUPT_USE_AFTER_FREE) != 0;
}
