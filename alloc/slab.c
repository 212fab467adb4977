/* slab.c - one slab (or mid span): init, carve, checked pop, local and remote push,
 * and the block state table's accessors.
 * The checked pop is where the release build proves freelist integrity in O(1) per
 * node: the node must lie in the carved part of this slab (LINK_RANGE), be a block
 * start (LINK_STRIDE) and be FREE in the state table (LINK_STATE), which only the
 * allocator writes. A popped node becomes CACHED, so a cycle in the list is caught
 * when it comes round again. */

/* The SuperSlab of p, for p in the arena (the region map or the arena bounds said so). */
hak_hot_inline hak_superslab *hak_ss_of(uintptr_t p) { return hak_ss_hdr(p & ~HAK_SS_MASK); }
/* Descriptor i of SuperSlab ss, and the way back. */
static inline hak_slab *hak_ss_slab(hak_superslab *ss, unsigned i)
{
    return hak_arena.table + ((uintptr_t)(ss - hak_arena.ss) << (HAKMEM_SS_SHIFT - HAKMEM_SLAB_SHIFT)) + i;
}
static inline unsigned hak_slab_index(hak_superslab *ss, hak_slab *sl)
{
    (void)ss;
    return (unsigned)(sl - hak_arena.table) & (HAK_SLABS_PER_SS - 1);
}
static inline hak_superslab *hak_ss_of_slab(hak_slab *sl)
{
    return hak_arena.ss + ((uintptr_t)(sl - hak_arena.table) >> (HAKMEM_SS_SHIFT - HAKMEM_SLAB_SHIFT));
}
/* The state table byte of block start p (p in the arena; header.h has the values).
 * Plain byte accesses: a block's state is written by the thread that holds the block
 * (its owner or the thread freeing it), so two threads meet on one byte only when the
 * program frees a block twice at once. */
hak_hot_inline uint8_t *hak_state_of(uintptr_t p) { return (uint8_t *)(hak_arena.state_bias + (p >> 4)); }
hak_hot_inline unsigned hak_state_load(const void *p) { return *hak_state_of((uintptr_t)p); }
hak_hot_inline void hak_state_store(void *p, unsigned st) { *hak_state_of((uintptr_t)p) = (uint8_t)st; }
/* The class map byte of slab descriptor sl: its class, for free's fast path. */
static inline uint8_t *hak_class_map(const hak_slab *sl)
{
    return hak_arena.state - HAK_CLASS_MAP_SIZE + (sl - hak_arena.table);
}
/* Every write of a descriptor's class goes through here, so the class map agrees. */
static inline void hak_slab_set_class(hak_slab *sl, unsigned cls)
{
    sl->cls = (uint8_t)cls;
    *hak_class_map(sl) = (uint8_t)cls;
}
/* Forget the states of [start, start + bytes) of a slab or span (heap reset: no block
 * of it is any longer live). */
static void hak_state_clear(uintptr_t start, size_t bytes) { memset(hak_state_of(start), 0, (bytes + 15) >> 4); }
/* 1 when the allocator writes states only at carved block starts: with every release
 * check on, free, pop and collect admit only such blocks (the debug build's record
 * admits nothing else either), so a heap reset clears the carved part of each slab. A
 * build without some check (weak-*, nochecks, debug-norel) may write a state wherever
 * a forged link points: it clears whole spans. */
#define HAK_STATES_CARVED_ONLY (HAKMEM_CHECK_FREE_STRIDE && HAKMEM_CHECK_FREE_STATE && HAKMEM_CHECK_LINK_RANGE \
                                && HAKMEM_CHECK_LINK_STRIDE && HAKMEM_CHECK_LINK_STATE && HAKMEM_CHECK_REMOTE_LINK)
/* The slab of p, for p in SuperSlab ss (the region map or the arena bounds said so). */
hak_hot_inline hak_slab *hak_slab_at(hak_superslab *ss, uintptr_t p)
{
    (void)ss;
    return hak_arena.table + ((p - hak_arena.base) >> HAKMEM_SLAB_SHIFT);
}
/* The head of sl's span: found from sl's own place in the table (a shift and a mask),
 * not from ss's (a division by the header size). */
static inline hak_slab *hak_slab_head(hak_superslab *ss, hak_slab *sl)
{
    (void)ss;
    return hak_arena.table + (((uintptr_t)(sl - hak_arena.table)) & ~(uintptr_t)(HAK_SLABS_PER_SS - 1)) + sl->head;
}

/* Why one multiply checks range and stride (d = stride < 2^18, x = p - first, |x| < 2^21,
 * M = mul = floor(2^64/d) + 1, e = M*d - 2^64, so 1 <= e <= d; everything mod 2^64):
 *   x = k*d, 0 <= k:      x*M = k*e, increasing in k: < count*e iff k < count.
 *   x = k*d + r, 0<r<d:   x*M = k*e + r*M >= M > count*e (no wrap: k*e < 2^21 and
 *                         r*M <= (d-1)(2^64/d + 1) < 2^64 - 2^64/d + d).
 *   x < 0:                x*M = 2^64 - (|x|*M mod 2^64), above count*e by the same bounds.
 * count*e <= count*d < 2^21 < 2^46 < M for every class, so the three cases separate.
 * tests/unit/test_slab.c checks every x of every class against plain division. */
hak_hot_inline uint64_t hak_slab_code(const hak_slab *sl, uintptr_t p) { return (p - sl->first) * sl->mul; }
static inline uint64_t hak_stride_mul(uint32_t stride) { return (uint64_t)(((unsigned __int128)1 << 64) / stride) + 1; }
static inline uint64_t hak_slab_lim(uint64_t mul, uint32_t stride, uint32_t count)
{
    return (uint64_t)count * (mul * stride);   /* e = M*d mod 2^64 */
}
static inline uintptr_t hak_slab_limit(const hak_slab *sl)   /* bytes carved from first */
{
    return (uintptr_t)atomic_load_explicit(&sl->count, memory_order_relaxed) * sl->stride;
}

/* p is a carved block start of slab view `sl` (range always; stride if asked). lim is
 * read as a plain load so it folds into free's compare (on x86 the same instruction as
 * a relaxed atomic load; the region map does likewise). */
hak_hot_inline int hak_slab_holds(const hak_slab *sl, uintptr_t p, int check_stride)
{
    if (check_stride) return hak_slab_code(sl, p) < HAK_HINT_LOAD(*(const uint64_t *)&sl->lim);   /* a benign race */
    return p - sl->first < hak_slab_limit(sl);
}

static unsigned hak_class_span(unsigned cls)
{
    if (cls < HAK_NTINY) return 1;
    uint64_t need = (uint64_t)hak_class_stride[cls] * HAKMEM_MID_MIN_BLOCKS + HAK_BLOCK_OFFSET;
    unsigned span = (unsigned)((need + HAK_SLAB_SIZE - 1) >> HAKMEM_SLAB_SHIFT);
    unsigned max = HAK_SLABS_PER_SS / 2;
    return span > max ? max : span;
}

static void hak_slab_init(hak_superslab *ss, unsigned idx, unsigned cls, unsigned span)
{
    uint32_t stride = hak_class_stride[cls];
    uintptr_t start = hak_ss_base(ss) + ((uintptr_t)idx << HAKMEM_SLAB_SHIFT);
    /* Power-of-two strides put block 0 one stride in, so every block is aligned to its
     * stride (memalign serves alignments up to 512 from these classes). */
    uintptr_t first_off = (stride & (stride - 1)) ? HAK_BLOCK_OFFSET : stride;
    uint32_t nblocks = (uint32_t)(((uintptr_t)span * HAK_SLAB_SIZE - (first_off - 1)) / stride);
    for (unsigned i = 0; i < span; i++) {
        hak_slab *sl = hak_ss_slab(ss, idx + i);
        memset(sl, 0, sizeof *sl);
        sl->first = start + first_off;
        sl->stride = stride;
        sl->mul = hak_stride_mul(stride);
        hak_slab_set_class(sl, cls);
        sl->head = (uint8_t)idx;
        sl->nblocks = (uint16_t)nblocks;
    }
    hak_ss_slab(ss, idx)->span = (uint8_t)span;
    hak_ref_slab_init(ss, idx, cls, span);
    uint64_t bits = (span == 64 ? ~0ull : ((1ull << span) - 1)) << idx;
    ss->free_slabs &= ~bits;
}

/* Return an empty slab (used == 0, no remote frees) to its SuperSlab. */
static void hak_slab_release(hak_superslab *ss, hak_slab *head)
{
    unsigned idx = hak_slab_index(ss, head), span = head->span;
    hak_ref_slab_release(ss, idx);
    hak_san_poison((void *)(hak_ss_base(ss) + ((uintptr_t)idx << HAKMEM_SLAB_SHIFT)), span * HAK_SLAB_SIZE);
    for (unsigned i = 0; i < span; i++) {
        hak_slab *sl = hak_ss_slab(ss, idx + i);
        memset(sl, 0, sizeof *sl);
        hak_slab_set_class(sl, HAK_CLASS_NONE);
        sl->head = (uint8_t)(idx + i);
    }
    ss->free_slabs |= (span == 64 ? ~0ull : ((1ull << span) - 1)) << idx;
    HAK_STAT_INC(slabs_released);
}

static void hak_slab_set_count(hak_superslab *ss, hak_slab *head, uint32_t count)
{
    unsigned idx = hak_slab_index(ss, head);
    uint64_t lim = hak_slab_lim(head->mul, head->stride, count);   /* mul: no division per carve */
    for (unsigned i = 0; i < head->span; i++) {
        hak_slab *sl = hak_ss_slab(ss, idx + i);
        atomic_store_explicit(&sl->count, (uint16_t)count, memory_order_relaxed);
        atomic_store_explicit(&sl->lim, lim, memory_order_release);
    }
}

/* Carve up to n fresh blocks (state CACHED, canary written) into out[], HAKMEM_CARVE_BYTES to
 * HAKMEM_CARVE_MAX_BYTES worth: a slab's pages become resident as its class needs them, not a refill early. */
static unsigned hak_slab_carve(hak_superslab *ss, hak_slab *head, void **out, unsigned n)
{
    uint32_t cnt = atomic_load_explicit(&head->count, memory_order_relaxed);
    uint32_t avail = head->nblocks - cnt;
    /* Touch fresh pages a little at a time: a page's worth while the slab has carved
     * less than HAKMEM_CARVE_MAX_BYTES, that much once it has (a class in heavy use
     * refills less often; one in light use keeps few fresh blocks cached). */
    uint32_t bytes = cnt * head->stride < HAKMEM_CARVE_MAX_BYTES ? HAKMEM_CARVE_BYTES : HAKMEM_CARVE_MAX_BYTES;
    uint32_t chunk = bytes / head->stride;
    if (avail > chunk) avail = chunk ? chunk : 1;
    if (n > avail) n = avail;
    if (!n) return 0;
    size_t flt = hak_os_minflt();
    (void)flt;
    uintptr_t p = head->first + (uintptr_t)cnt * head->stride;
    for (unsigned i = 0; i < n; i++, p += head->stride) {
        hak_canary_store((void *)p);
        hak_state_store((void *)p, HAK_ST_CACHED);
        hak_ref_carve(head, (void *)p);
        out[i] = (void *)p;
    }
    hak_slab_set_count(ss, head, cnt + n);
    HAK_STAT_ADD(carved, n);
    HAK_STAT_ADD(refill_minflt, hak_os_minflt() - flt);
    return n;
}

/* Is p a valid node of this slab's list? The three release link checks; `state` is the
 * state the list's nodes have (FREE local, REMOTE remote), HAK_ST_NONE: not checked. */
static inline int hak_node_ok(const hak_slab *head, void *p, int range, int stride, unsigned state)
{
    uintptr_t a = (uintptr_t)p;
    /* A node comes from user-writable memory: any 64-bit value. The one-multiply check
     * is exact only for |p - first| < 2^21 (see hak_slab_code): a link 2^56 away (one
     * overwritten high byte) can pass it, and the state table read below would then
     * fault. So the node is first bounded to its SuperSlab's reach. */
    if ((range || stride) && a - head->first + HAK_SS_SIZE >= 2 * HAK_SS_SIZE) return 0;
    if (range && stride) {
        if (!hak_slab_holds(head, a, 1)) return 0;
    } else if (range) {
        if (!hak_slab_holds(head, a, 0)) return 0;
    } else if (stride) {
        if (hak_slab_code(head, a) >= head->mul) return 0;   /* k*d, k >= 0 (some x < 0 pass: weak build only) */
    }
    /* Without the range check (a weakened build) the node may lie anywhere: the state
     * table covers the arena only, so a node outside it has no state to read. */
    if (!range && a - hak_arena.base >= hak_arena.ngran << 4) return state == HAK_ST_NONE;
    if (state != HAK_ST_NONE && hak_state_load(p) != state) return 0;
    return 1;
}

/* Pop one block from the local freelist; NULL when empty or corrupted (reported, cut). */
static inline void *hak_slab_pop(hak_slab *head)
{
    void *p = head->free;
    if (!p) return NULL;
    if (!HAKMEM_BUILD_RELEASE && !hak_ref_take(head, p)) return NULL;
    if (hak_unlikely(!hak_node_ok(head, p, HAKMEM_CHECK_LINK_RANGE, HAKMEM_CHECK_LINK_STRIDE,
                                  HAKMEM_CHECK_LINK_STATE ? HAK_ST_FREE : HAK_ST_NONE))) {
        head->free = NULL;
        hak_report(HAK_CORRUPT_BAD_FREELIST_LINK, p);
        return NULL;
    }
    head->free = hak_link_load(p);
    /* Leaving FREE at once is what makes a cycle fail: the node, met again, is no longer
     * FREE. (Without it, a weakened build, the state stays FREE until malloc writes
     * ALLOC: correct for a sound list, blind to a cycle.) */
    if (HAKMEM_CHECK_POP_RETAG) hak_state_store(p, HAK_ST_CACHED);
    return p;
}

static inline void hak_slab_push_local(hak_slab *head, void *p)
{
    hak_state_store(p, HAK_ST_FREE);
    hak_ref_note(p, HAK_REF_LOCAL);
    hak_link_store(p, head->free);
    head->free = p;
}

/* Any thread: give p back to a slab this thread does not own. Lock-free. */
static void hak_slab_push_remote(hak_superslab *ss, hak_slab *head, void *p)
{
    hak_state_store(p, HAK_ST_REMOTE);   /* published by the exchange below */
    hak_ref_note(p, HAK_REF_REMOTE);
    void *old = atomic_load_explicit(&head->remote, memory_order_relaxed);
    for (;;) {
        hak_link_store(p, old);
        if (atomic_compare_exchange_weak_explicit(&head->remote, &old, p, memory_order_seq_cst,
                                                  memory_order_relaxed)) break;
        HAK_STAT_INC(remote_cas_retries);
    }
    /* seq_cst with the owner's exchange in hak_collect_hinted: either the owner's scan
     * sees this push, or this load sees the owner's 0 and sets the hint again. */
    if (!atomic_load_explicit(&ss->remote_hint, memory_order_seq_cst))
        atomic_store_explicit(&ss->remote_hint, 1, memory_order_seq_cst);
    HAK_STAT_INC(remote_frees);
}

/* Owner: take the remote list in, checking every node (REMOTE). The first nodes, up to
 * `take`, go into out[] (a thread cache's free slots) as CACHED and their count is
 * returned; the rest join the local freelist as FREE. A node met twice is no longer
 * REMOTE; any other cycle is caught by counting: no list can be longer than the slab's
 * block count. A node put into out[] is checked once, here, right before its link is
 * read: from then on only the cache (allocator memory) names it, so no user-writable
 * byte is trusted for it again and no pop checks it a second time; the freelist's nodes
 * stay in user memory and a pop checks them again. Every build takes the same nodes
 * (the debug record marks them CACHED as it walks: hak_ref_collect), so both hand out
 * the same blocks in the same order. */
static unsigned hak_slab_collect_take(hak_superslab *ss, hak_slab *head, void **out, unsigned take)
{
    void *list = atomic_exchange_explicit(&head->remote, NULL, memory_order_acquire);
    if (!list) return 0;
    HAK_STAT_INC(remote_collects);
    uint32_t max = head->nblocks;
    if (take > max) take = max;   /* so the count bound is for the freelist's part only */
    if (!HAKMEM_BUILD_RELEASE) hak_ref_collect(ss, head, &list, take);
    void *p = list, *last = NULL;
    unsigned k = 0;
    for (; p && k < take; k++) {   /* the first nodes: into out[] */
        if (HAKMEM_CHECK_REMOTE_LINK && !hak_node_ok(head, p, 1, 1, HAK_ST_REMOTE)) break;
        void *next = hak_link_load(p);
        hak_state_store(p, HAK_ST_CACHED);
        out[k] = p;
        p = next;
    }
    list = p;   /* the freelist's part starts after the taken nodes */
    uint32_t n = k;
    if (k == take) {
        for (; p; n++) {
            if ((HAKMEM_CHECK_REMOTE_LINK && !hak_node_ok(head, p, 1, 1, HAK_ST_REMOTE)) || n >= max) break;
            hak_state_store(p, HAK_ST_FREE);
            last = p;
            p = hak_link_load(p);
        }
    }
    if (p) {   /* a bad node: the list is cut before it */
        if (last) hak_link_store(last, NULL); else list = NULL;
        hak_report(HAK_CORRUPT_BAD_REMOTE_LINK, p);
    }
    head->used = head->used > n ? head->used - n : 0;
    HAK_STAT_ADD(remote_cached, k);
    HAK_STAT_ADD(remote_listed, n - k);
    if (!last) return k;
    hak_link_store(last, head->free);
    head->free = list;
    return k;
}

static void hak_slab_collect(hak_superslab *ss, hak_slab *head) { (void)hak_slab_collect_take(ss, head, NULL, 0); }

/* Walk a whole freelist as a refill would pop it, without taking anything (heap_drain).
 * Popped-state marking catches cycles; the count bound stops a walk in any case. */
static void hak_slab_check_freelist(hak_superslab *ss, hak_slab *head)
{
    uint32_t max = head->nblocks;
    if (!HAKMEM_BUILD_RELEASE) hak_ref_check_list(ss, head, &head->free);
    void *p = head->free, *last = NULL;
    uint32_t n = 0;
    while (p) {
        if (!hak_node_ok(head, p, HAKMEM_CHECK_LINK_RANGE, HAKMEM_CHECK_LINK_STRIDE,
                         HAKMEM_CHECK_LINK_STATE ? HAK_ST_FREE : HAK_ST_NONE) || n >= max) {
            if (last) hak_link_store(last, NULL); else head->free = NULL;
            hak_report(HAK_CORRUPT_BAD_FREELIST_LINK, p);
            break;
        }
        hak_state_store(p, HAK_ST_CACHED);
        n++;
        last = p;
        p = hak_link_load(p);
    }
    for (p = head->free; p && n--; p = hak_link_load(p)) hak_state_store(p, HAK_ST_FREE);
}
