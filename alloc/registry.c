/* registry.c - the debug build's reference (HAKMEM_BUILD_RELEASE == 0): which
 * SuperSlab an address lies in, and, out of band, the true state of every block the
 * debug heap carved, handed out or took back.
 *
 * The registry is a table SuperSlab base -> record, one slot per SuperSlab slot of the
 * arena (its own copy of the arena's range: in order, so the slots used are a few
 * dense pages, not one page per SuperSlab as a hash spreads them), insert-only
 * (SuperSlabs are never unmapped while the heap lives). A record holds, per slab, what
 * the debug build's own carve path wrote (class, stride, first block, blocks carved,
 * span head) and one state byte per 16-byte granule of the SuperSlab: the state of the
 * block whose user pointer is that granule, NONE for every granule that is not a carved
 * block start. The records' small parts sit side by side in one area and the state
 * arrays in another, so a SuperSlab whose memory went back to the OS keeps a few
 * hundred resident bytes of record, not a page.
 * Every path that moves a block writes its new state here (the hooks below: carve,
 * malloc, free, cache flush, remote push, collect, refill pop, slab release, reset).
 *
 * The debug validation (debug.c) decides from this record alone whether a pointer may
 * be freed and whether a list node may be taken: it never reads the release build's
 * state table, nor the slab descriptor fields the release checks read. In-band bytes
 * (a block's canary, a SuperSlab's header) are only compared with what the record says
 * they must be, so a corrupted header is reported and a forged one fools nothing. The
 * record and the hash table live in mappings of their own, each between PROT_NONE
 * guard pages, so no user pointer and no overflow of a block reaches them.
 *
 * Release builds keep no registry: every hook starts with `if (HAKMEM_BUILD_RELEASE)
 * return` and compiles to nothing, but everything still compiles, so it cannot rot. */
#include <sys/mman.h>

/* States of the record, one byte per granule. */
enum {
    HAK_REF_NONE = 0,   /* not the user pointer of a carved block */
    HAK_REF_ALLOC,      /* handed out to the program */
    HAK_REF_CACHED,     /* in a thread cache (fresh from carving, popped, or freed) */
    HAK_REF_LOCAL,      /* on its span's local freelist */
    HAK_REF_REMOTE,     /* on its span's remote list */
    HAK_REF_SEEN,       /* LOCAL, already met by the list walk in progress (heap_drain) */
    HAK_REF_NSTATES
};
#define HAK_REF_BIT(s) (1u << (s))

/* What the debug build's carve path knows about slab i of a SuperSlab. */
typedef struct hak_ref_slab {
    uint32_t stride;    /* 0: not part of a live span */
    uint32_t first;     /* offset of block 0's user pointer from the SuperSlab base */
    uint32_t nblocks;   /* blocks that fit in the span */
    uint32_t carved;    /* blocks carved so far (span head) */
    uint8_t  cls;       /* global class */
    uint8_t  head;      /* slab index of the span head */
    uint8_t  span;      /* slabs in the span (head) */
    uint8_t  pad;
} hak_ref_slab;

#define HAK_REF_GRANULES (HAK_SS_SIZE >> 4)
/* A SuperSlab's states are whole pages; the heap gives back only whole state pages
 * (hak_ref_decommit follows hak_state_decommit: pool.c, os.c). */
static_assert(HAK_REF_GRANULES % HAK_PAGE == 0, "a SuperSlab's states are whole pages (given back with its memory)");
typedef struct hak_ref_ss {
    _Atomic uint8_t *state;                  /* HAK_REF_GRANULES bytes, granule g: user pointer base + 16 g (page-aligned) */
    uintptr_t base;                          /* the SuperSlab this records */
    _Atomic(hak_thread *) owner;             /* what its header's owner must be */
    int suspect;                             /* a fork child's, of a thread the fork left behind */
    hak_ref_slab slab[HAK_SLABS_PER_SS];
} hak_ref_ss;

static struct {
    _Atomic(hak_ref_ss *) *slot;   /* slot i: the record of the SuperSlab at base + i SuperSlabs */
    uintptr_t base;                /* the arena's first SuperSlab */
    size_t nslots;
    char *recs;                    /* record area: nslots records side by side */
    char *states;                  /* state arrays, each followed by a guard page */
    size_t rec_stride, nrecs, maxrecs;
} hak_reg;
#define HAK_REF_STATE_STRIDE (HAK_REF_GRANULES + HAK_PAGE)

/* len bytes of read-write memory between two PROT_NONE guard pages (or, with
 * reserve_only, all PROT_NONE, to be opened piecewise). NULL on failure. */
static void *hak_ref_map(size_t len, int reserve_only)
{
    char *m = mmap(NULL, len + 2 * HAK_PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (m == MAP_FAILED) return NULL;
    if (!reserve_only && mprotect(m + HAK_PAGE, len, PROT_READ | PROT_WRITE) != 0) {
        (void)hak_os_unmap(m, len + 2 * HAK_PAGE);   /* checked, counted (os_failures) */
        return NULL;
    }
    return m + HAK_PAGE;
}

static size_t hak_ref_round(size_t len) { return (len + HAK_PAGE - 1) & ~(size_t)(HAK_PAGE - 1); }
/* The arena's nss SuperSlabs from base. Under the heap lock, before any SuperSlab. */
static int hak_registry_init(uintptr_t base, size_t nss)
{
    if (HAKMEM_BUILD_RELEASE) return 1;
    size_t tlen = hak_ref_round(nss * sizeof *hak_reg.slot), rlen = hak_ref_round(nss * sizeof(hak_ref_ss));
    void *t = hak_ref_map(tlen, 0);
    if (!t) return 0;
    void *r = hak_ref_map(rlen, 0);
    void *st = r ? hak_ref_map(nss * HAK_REF_STATE_STRIDE, 1) : NULL;
    if (!st) {
        if (r) (void)hak_os_unmap((char *)r - HAK_PAGE, rlen + 2 * HAK_PAGE);   /* checked, counted */
        (void)hak_os_unmap((char *)t - HAK_PAGE, tlen + 2 * HAK_PAGE);
        return 0;
    }
    hak_reg.recs = r;
    hak_reg.states = st;
    hak_reg.rec_stride = sizeof(hak_ref_ss);
    hak_reg.maxrecs = nss;
    hak_reg.base = base;
    hak_reg.nslots = nss;
    __atomic_store_n(&hak_reg.slot, (_Atomic(hak_ref_ss *) *)t, __ATOMIC_RELEASE);
    return 1;
}

/* The registry slot of the SuperSlab at base, or nslots when base is outside the arena. */
static inline size_t hak_reg_index(uintptr_t base)
{
    size_t i = (size_t)((base - hak_reg.base) >> HAKMEM_SS_SHIFT);
    return base < hak_reg.base || i >= hak_reg.nslots ? hak_reg.nslots : i;
}

/* A new SuperSlab: give it a record and enter it. Under the heap lock. */
static void hak_registry_add(hak_superslab *ss)
{
    if (HAKMEM_BUILD_RELEASE) return;
    size_t i = hak_reg_index(hak_ss_base(ss));
    HAK_CHECK(i < hak_reg.nslots);
    hak_ref_ss *cur = atomic_load_explicit(&hak_reg.slot[i], memory_order_relaxed);
    if (cur) { HAK_CHECK(cur->base == hak_ss_base(ss)); return; }
    HAK_CHECK(hak_reg.nrecs < hak_reg.maxrecs);
    hak_ref_ss *r = (hak_ref_ss *)(hak_reg.recs + hak_reg.nrecs * hak_reg.rec_stride);
    char *st = hak_reg.states + hak_reg.nrecs * HAK_REF_STATE_STRIDE;
    HAK_CHECK(mprotect(st, HAK_REF_GRANULES, PROT_READ | PROT_WRITE) == 0);
    hak_reg.nrecs++;
    r->state = (_Atomic uint8_t *)st;
    r->base = hak_ss_base(ss);
    atomic_store_explicit(&hak_reg.slot[i], r, memory_order_release);
}

/* The record of the SuperSlab whose 2 MiB range holds p, or NULL. Never reads memory at
 * p. Records live as long as the process, so the thread's last answer is kept. */
static __thread hak_ref_ss *hak_ref_last __attribute__((tls_model("initial-exec")));
static hak_ref_ss *hak_ref_lookup(const void *p)
{
    HAK_STAT_INC(registry_lookups);
    uintptr_t base = (uintptr_t)p & ~HAK_SS_MASK;
    hak_ref_ss *last = hak_ref_last;
    if (last && last->base == base) return last;
    _Atomic(hak_ref_ss *) *reg = __atomic_load_n(&hak_reg.slot, __ATOMIC_ACQUIRE);
    if (!reg) return NULL;
    size_t i = hak_reg_index(base);
    hak_ref_ss *cur = i < hak_reg.nslots ? atomic_load_explicit(&reg[i], memory_order_acquire) : NULL;
    return cur && cur->base == base ? (hak_ref_last = cur) : NULL;
}

/* The SuperSlab whose 2 MiB range holds p, or NULL. */
static hak_superslab *hak_super_lookup(const void *p)
{
    hak_ref_ss *r = hak_ref_lookup(p);
    return r ? hak_ss_hdr(r->base) : NULL;
}

/* The state byte of user pointer p in record r (p in r's SuperSlab, 16-aligned). */
static inline _Atomic uint8_t *hak_ref_state(hak_ref_ss *r, uintptr_t p) { return &r->state[(p - r->base) >> 4]; }
static inline unsigned hak_ref_get(hak_ref_ss *r, uintptr_t p)
{
    return atomic_load_explicit(hak_ref_state(r, p), memory_order_relaxed);
}
static inline void hak_ref_set(hak_ref_ss *r, uintptr_t p, unsigned s)
{
    atomic_store_explicit(hak_ref_state(r, p), (uint8_t)s, memory_order_relaxed);
}
static inline unsigned hak_ref_slab_of(const hak_ref_ss *r, uintptr_t p) { return (unsigned)((p - r->base) >> HAKMEM_SLAB_SHIFT); }
/* Where span head `head` is, from its descriptor's place in the slab table (never
 * from a field of it): the SuperSlab base and the slab index. */
static inline uintptr_t hak_ref_head_pos(const hak_slab *head, unsigned *idx)
{
    uintptr_t ref = (uintptr_t)(head - hak_arena.table);
    *idx = (unsigned)(ref & (HAK_SLABS_PER_SS - 1));
    return hak_arena.base + ((ref & ~(uintptr_t)(HAK_SLABS_PER_SS - 1)) << HAKMEM_SLAB_SHIFT);
}

static hak_noinline void hak_ref_out_of_step(const void *p, unsigned have, unsigned want_mask, int line)
{
    char what[120];
    snprintf(what, sizeof what, "debug record out of step: block %p is in state %u, expected mask %#x", p, have, want_mask);
    hak_internal_error(what, line);
}

/* --- the hooks: one call in each path that moves a block; nothing in release --- */

/* p, a block the calling path holds, moves to state `to`; the state it leaves must be
 * one of those that path can move a block from. */
static inline void hak_ref_note(const void *p, unsigned to)
{
    if (HAKMEM_BUILD_RELEASE) return;
    static const uint8_t from[HAK_REF_NSTATES] = {
        [HAK_REF_ALLOC]  = HAK_REF_BIT(HAK_REF_CACHED),                         /* malloc */
        [HAK_REF_CACHED] = HAK_REF_BIT(HAK_REF_ALLOC),                          /* free to the cache */
        [HAK_REF_LOCAL]  = HAK_REF_BIT(HAK_REF_CACHED),                         /* flush, own slab */
        [HAK_REF_REMOTE] = HAK_REF_BIT(HAK_REF_ALLOC) | HAK_REF_BIT(HAK_REF_CACHED), /* free or flush, other thread's slab */
    };
    hak_ref_ss *r = hak_ref_lookup(p);
    if (!r || ((uintptr_t)p & 15)) { hak_ref_out_of_step(p, HAK_REF_NONE, from[to], __LINE__); return; }
    unsigned have = hak_ref_get(r, (uintptr_t)p);
    if (!(from[to] & HAK_REF_BIT(have)) && !r->suspect) hak_ref_out_of_step(p, have, from[to], __LINE__);
    hak_ref_set(r, (uintptr_t)p, to);
}

/* A span of `span` slabs from slab idx of ss is laid out for class cls: the record's
 * own account of the geometry, from the class stride alone. */
static void hak_ref_slab_init(hak_superslab *ss, unsigned idx, unsigned cls, unsigned span)
{
    if (HAKMEM_BUILD_RELEASE) return;
    hak_ref_ss *r = hak_ref_lookup((const void *)hak_ss_base(ss));
    HAK_CHECK(r != NULL && r->base == hak_ss_base(ss));
    uint32_t stride = hak_class_stride[cls];
    uint32_t first = (uint32_t)(idx << HAKMEM_SLAB_SHIFT) + ((stride & (stride - 1)) ? 16u : stride);
    uint32_t end = (uint32_t)((idx + span) << HAKMEM_SLAB_SHIFT);   /* a block's last usable byte stays inside */
    for (unsigned i = 0; i < span; i++)
        r->slab[idx + i] = (hak_ref_slab){ stride, first, (end - first + 1) / stride, 0, (uint8_t)cls, (uint8_t)idx, (uint8_t)span, 0 };
}

/* The span headed by slab idx of record r goes back to its SuperSlab: none of its
 * blocks exists any more. Only carved blocks have a state: those are cleared (the
 * state pages stay resident as long as the slab's own pages do: hak_ref_decommit). */
static void hak_ref_span_clear(hak_ref_ss *r, unsigned idx)
{
    const hak_ref_slab *h = &r->slab[idx];
    unsigned span = h->span;
    memset((void *)&r->state[h->first >> 4], 0, (((uintptr_t)h->carved * h->stride + 15) >> 4));
    memset(&r->slab[idx], 0, span * sizeof r->slab[0]);
}
static void hak_ref_slab_release(hak_superslab *ss, unsigned idx)
{
    if (HAKMEM_BUILD_RELEASE) return;
    hak_ref_ss *r = hak_ref_lookup((const void *)hak_ss_base(ss));
    HAK_CHECK(r != NULL && r->slab[idx].head == idx);
    hak_ref_span_clear(r, idx);
}

/* The heap gives the pages of [p, p + size) (whole free slabs of one SuperSlab) back
 * to the OS: their state pages in the record go back too (they read as zero: NONE), so
 * the record's resident size follows the heap's. (Giving them back at every slab
 * release instead made each later carve there fault a page in: a madvise and a page
 * fault per released slab, 6% of a fuzz campaign's time.) */
static void hak_ref_decommit(uintptr_t p, size_t size)
{
    if (HAKMEM_BUILD_RELEASE) return;
    hak_ref_ss *r = hak_ref_lookup((const void *)p);
    if (!r) return;
    void *st = (void *)&r->state[(p - r->base) >> 4];
    if (madvise(st, size >> 4, MADV_DONTNEED) != 0) memset(st, 0, size >> 4);
}

/* The carve path makes block p of span head `head` (next in order; state CACHED). */
static inline void hak_ref_carve(const hak_slab *head, const void *p)
{
    if (HAKMEM_BUILD_RELEASE) return;
    unsigned idx;
    uintptr_t base = hak_ref_head_pos(head, &idx);
    hak_ref_ss *r = hak_ref_lookup((const void *)base);
    HAK_CHECK(r != NULL && r->base == base);
    hak_ref_slab *s = &r->slab[idx];
    uintptr_t want = base + s->first + (uintptr_t)s->carved * s->stride, a = (uintptr_t)p;
    if (a != want || s->carved >= s->nblocks || hak_ref_get(r, want) != HAK_REF_NONE) {
        /* A fork child may find a carve the thread it left behind had half done: any
         * block position of the span is accepted there, and the count follows it. */
        uintptr_t k = (a - base - s->first) / s->stride;
        if (!r->suspect || a < base + s->first || (a - base - s->first) % s->stride || k >= s->nblocks)
            hak_ref_out_of_step(p, hak_ref_get(r, a), HAK_REF_BIT(HAK_REF_NONE), __LINE__);
        s->carved = (uint32_t)k;
    }
    s->carved++;
    hak_ref_set(r, a, HAK_REF_CACHED);
}

/* A fork child: SuperSlab ss belonged to a thread the fork left behind, which may have
 * been anywhere in an operation: its record is trusted less (hak_ref_note, carve and
 * refill pops accept what such an operation may have left half done) until heap_reset. */
static void hak_ref_forked(hak_superslab *ss)
{
    if (HAKMEM_BUILD_RELEASE) return;
    hak_ref_ss *r = hak_ref_lookup((const void *)hak_ss_base(ss));
    if (r) r->suspect = 1;
}

/* SuperSlab ss gets owner t (NULL: the pool). */
static inline void hak_ref_owner(hak_superslab *ss, hak_thread *t)
{
    if (HAKMEM_BUILD_RELEASE) return;
    hak_ref_ss *r = hak_ref_lookup((const void *)hak_ss_base(ss));
    HAK_CHECK(r != NULL);
    atomic_store_explicit(&r->owner, t, memory_order_relaxed);
}

/* The header of r's SuperSlab (out of line, in the arena's header table: what a stray
 * write or a bug in the release paths could still change) still says what the record
 * says. */
static inline int hak_ref_ss_intact(hak_ref_ss *r)
{
    const hak_superslab *ss = hak_ss_hdr(r->base);
    return ss->magic == HAK_SS_MAGIC && atomic_load_explicit(&ss->owner, memory_order_relaxed)
                                            == atomic_load_explicit(&r->owner, memory_order_relaxed);
}

/* heap_reset: no small block exists any more, every SuperSlab is in the pool. */
static void hak_ref_reset_slabs(void)
{
    if (HAKMEM_BUILD_RELEASE) return;
    for (size_t k = 0; k < hak_reg.nrecs; k++) {
        hak_ref_ss *r = (hak_ref_ss *)(hak_reg.recs + k * hak_reg.rec_stride);
        atomic_store_explicit(&r->owner, NULL, memory_order_relaxed);
        r->suspect = 0;
        for (unsigned i = 1; i < HAK_SLABS_PER_SS; i++)   /* the next stream uses them again: cleared */
            if (r->slab[i].stride && r->slab[i].head == i) hak_ref_span_clear(r, i);
    }
}

/* Large blocks have a record of their own (debug.c, after the large tier). */
static int hak_ref_large_room(void);
static void hak_ref_large_live(uintptr_t user, size_t usable);
static void hak_ref_large_dead(uintptr_t user);
static void hak_ref_large_moved(uintptr_t old_user, uintptr_t user, size_t usable);
static void hak_ref_reset(void);   /* heap_reset: both records are empty again */
/* List validation (debug.c): refill pop, remote collect, heap_drain. */
static int hak_ref_take(hak_slab *head, void *p);
static void hak_ref_collect(hak_superslab *ss, hak_slab *head, void **listp, unsigned take);
static void hak_ref_check_list(hak_superslab *ss, hak_slab *head, void **listp);
