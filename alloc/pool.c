/* pool.c - SuperSlabs: mapping, the shared pool, ownership, and finding a slab.
 * A SuperSlab is owned by one thread, which alone touches its slabs' local state;
 * other threads only push onto slab remote lists. A thread finds a slab for a class
 * in this order: its partial list, slabs with pending remote frees, a free slab in a
 * SuperSlab it owns (the warm pool), then a batch of SuperSlabs from the shared pool
 * taken under one lock, and only then a new mapping. */

static __thread hak_thread hak_tls __attribute__((tls_model("initial-exec"))) = HAK_THREAD_INIT;

static void hak_global_init(void);

/* The shared pool's lock; the debug build counts how often it was found held. */
static inline void hak_pool_lock(void)
{
#if HAKMEM_DEBUG_COUNTERS
    HAK_STAT_INC(pool_locks);
    if (pthread_mutex_trylock(&hak_g.lock) == 0) return;
    HAK_STAT_INC(pool_lock_waits);
#endif
    pthread_mutex_lock(&hak_g.lock);
}

static size_t hak_release_locked(void);

static hak_superslab *hak_ss_map(void)
{
    hak_pool_lock();
    hak_superslab *ss = hak_region_ready() ? hak_arena_commit_ss() : NULL;
    if (!ss && hak_arena.nslabs && hak_release_locked()) ss = hak_arena_commit_ss();   /* ENOMEM: give back, once */
    if (!ss) { pthread_mutex_unlock(&hak_g.lock); return NULL; }
    ss->magic = HAK_SS_MAGIC;
    ss->free_slabs = HAK_SS_ALL_FREE;
    ss->resident = 1;
    for (unsigned i = 0; i < HAK_SLABS_PER_SS; i++) {
        hak_slab *sl = hak_ss_slab(ss, i);
        memset(sl, 0, sizeof *sl);
        hak_slab_set_class(sl, HAK_CLASS_NONE);
        sl->head = (uint8_t)i;
    }
    hak_san_poison((char *)hak_ss_base(ss) + HAK_SLAB_SIZE, HAK_SS_SIZE - HAK_SLAB_SIZE);
    ss->all_next = hak_g.all;
    hak_g.all = ss;
    hak_registry_add(ss);
    hak_region_set(hak_ss_base(ss), HAK_SS_SIZE, HAK_REGION_SS);
    pthread_mutex_unlock(&hak_g.lock);
    HAK_STAT_INC(ss_mapped);
    return ss;
}

/* --- partial lists (owner only) ---
 * Links are 32-bit refs: slab table indexes (never 0: table[0] is a metadata slab). */
static inline uint32_t hak_slab_ref(hak_slab *sl) { return sl ? (uint32_t)(sl - hak_arena.table) : 0; }
static inline hak_slab *hak_slab_deref(uint32_t ref) { return ref ? hak_arena.table + ref : NULL; }
static void hak_partial_add(hak_thread *t, hak_slab *head)
{
    if (head->in_partial) return;
    hak_slab **list = &t->partial[head->cls];
    head->in_partial = 1;
    head->prev_partial = 0;
    head->next_partial = hak_slab_ref(*list);
    if (*list) (*list)->prev_partial = hak_slab_ref(head);
    *list = head;
}
static void hak_partial_remove(hak_thread *t, hak_slab *head)
{
    if (!head->in_partial) return;
    hak_slab *prev = hak_slab_deref(head->prev_partial), *next = hak_slab_deref(head->next_partial);
    if (prev) prev->next_partial = head->next_partial;
    else t->partial[head->cls] = next;
    if (next) next->prev_partial = head->prev_partial;
    head->in_partial = 0;
    head->prev_partial = head->next_partial = 0;
}

/* --- ownership --- */
static void hak_ss_set_owner(hak_superslab *ss, hak_thread *t)
{
    hak_ref_owner(ss, t);
    atomic_store_explicit(&ss->owner, t, memory_order_release);
}
static void hak_owned_add(hak_thread *t, hak_superslab *ss)
{
    hak_ss_set_owner(ss, t);
    ss->prev = NULL;
    ss->next = t->owned;
    if (t->owned) t->owned->prev = ss;
    t->owned = ss;
}
static void hak_owned_remove(hak_thread *t, hak_superslab *ss)
{
    if (ss->prev) ss->prev->next = ss->next; else t->owned = ss->next;
    if (ss->next) ss->next->prev = ss->prev;
    ss->next = ss->prev = NULL;
}

/* --- the shared pool (under hak_g.lock), doubly linked so a claim unlinks in O(1) --- */
static void hak_pool_push(hak_superslab *ss)
{
    ss->prev = NULL;
    ss->next = hak_g.pool;
    if (hak_g.pool) hak_g.pool->prev = ss;
    hak_g.pool = ss;
    ss->in_pool = 1;
    hak_g.npool++;
}
static void hak_pool_unlink(hak_superslab *ss)
{
    if (ss->prev) ss->prev->next = ss->next; else hak_g.pool = ss->next;
    if (ss->next) ss->next->prev = ss->prev;
    ss->next = ss->prev = NULL;
    ss->in_pool = 0;
    hak_g.npool--;
}

/* The state-table pages of the free slabs [i, j) of ss. A state page describes 64 KiB of
 * arena, HAK_STATE_PAGE_SLABS slabs: one that also describes a slab in use stays (its
 * bytes are that slab's block states); the free slabs' stale bytes in it are never read
 * (a state is read only at a carved block start). */
#define HAK_STATE_PAGE_SLABS (HAK_SLAB_SIZE >= 16u * HAK_PAGE ? 1u : (unsigned)(16u * HAK_PAGE / HAK_SLAB_SIZE))
static_assert(HAK_SLABS_PER_SS % HAK_STATE_PAGE_SLABS == 0, "a SuperSlab's states are whole pages");
static void hak_state_decommit_slabs(hak_superslab *ss, unsigned i, unsigned j)
{
    const unsigned k = HAK_STATE_PAGE_SLABS;
    uint64_t busy = ~(ss->free_slabs | 1);   /* slab 0 holds no block */
    unsigned lo = i / k * k, hi = (j + k - 1) / k * k;
    if (lo < i && ((busy >> lo) & ((1ull << (i - lo)) - 1))) lo += k;
    if (hi > j && ((busy >> j) & ((1ull << (hi - j)) - 1))) hi -= k;
    if (lo < hi) hak_state_decommit(hak_ss_base(ss) + ((uintptr_t)lo << HAKMEM_SLAB_SHIFT), (uintptr_t)(hi - lo) << HAKMEM_SLAB_SHIFT);
}

/* Give the pages of the slabs `bits` of ss (free ones) back to the OS (they read as zero
 * afterwards, their state-table bytes too where no slab in use shares the page); the
 * SuperSlab stays mapped. */
static void hak_ss_decommit_slabs(hak_superslab *ss, uint64_t bits)
{
    for (unsigned i = 1; i < HAK_SLABS_PER_SS;) {
        if (!((bits >> i) & 1)) { i++; continue; }
        unsigned j = i;
        while (j < HAK_SLABS_PER_SS && ((bits >> j) & 1)) j++;
        uintptr_t at = hak_ss_base(ss) + ((uintptr_t)i << HAKMEM_SLAB_SHIFT);
        hak_state_decommit_slabs(ss, i, j);
        if (hak_os_decommit((void *)at, (uintptr_t)(j - i) << HAKMEM_SLAB_SHIFT))
            ss->touched &= ~(((j - i == 64) ? ~0ull : ((1ull << (j - i)) - 1)) << i);
        i = j;
    }
}
/* ... every free slab of ss that may be resident. */
static void hak_ss_decommit_free(hak_superslab *ss) { hak_ss_decommit_slabs(ss, ss->free_slabs & ss->touched); }

/* Take a SuperSlab over (new, empty, or abandoned by an exited thread). Slabs whose
 * blocks all came back meanwhile are released. 0 if its slabs were unmapped and their
 * addresses are taken now (window arena): the caller drops it. */
static int hak_ss_adopt(hak_thread *t, hak_superslab *ss)
{
    if (ss->resident < 0 && !hak_arena_recommit_ss(ss)) return 0;
    hak_owned_add(t, ss);
    ss->draining = 0;
    ss->resident = 1;   /* decommitted pages come back zeroed on touch */
    ss->idle = 0;
    if (ss->free_slabs == HAK_SS_ALL_FREE) return 1;
    atomic_exchange_explicit(&ss->remote_hint, 0, memory_order_seq_cst);   /* before the scan */
    for (unsigned i = 1; i < HAK_SLABS_PER_SS; i++) {
        hak_slab *sl = hak_ss_slab(ss, i);
        if (sl->cls == HAK_CLASS_NONE || sl->head != i) continue;
        hak_slab_collect(ss, sl);
        if (sl->used == 0 && !atomic_load_explicit(&sl->remote, memory_order_relaxed)) {
            hak_slab_release(ss, sl);
            continue;
        }
        if (sl->free) hak_partial_add(t, sl);
    }
    return 1;
}

/* A free of a block whose SuperSlab is in the pool (its owner exited): the freeing
 * thread takes the SuperSlab over, so blocks dead threads leave behind go back to
 * slabs someone owns, and their memory to the OS when those slabs empty. The freer did
 * not ask for this memory: the SuperSlab is draining (its free slabs' pages go back at
 * once, the pool takes it back when empty, hak_slab_empty) until a refill of t takes a
 * slab of it (hak_find_slab). Otherwise a thread that frees what exited threads
 * allocated keeps their last SuperSlabs resident as its warm ones, and a SuperSlab
 * whose few blocks sit in its cache holds 2 MiB. 1: t owns ss. */
static int hak_ss_claim(hak_thread *t, hak_superslab *ss)
{
    hak_pool_lock();
    int ok = ss->in_pool && !atomic_load_explicit(&ss->owner, memory_order_relaxed) && ss->resident >= 0;
    if (ok) hak_pool_unlink(ss);
    pthread_mutex_unlock(&hak_g.lock);
    if (!ok || !hak_ss_adopt(t, ss)) return 0;
    ss->draining = 1;
    hak_ss_decommit_free(ss);   /* slabs that emptied while it was in the pool */
    return 1;
}

/* Give an owned SuperSlab to the shared pool (thread exit, or too many empty ones).
 * Empty ones beyond HAKMEM_POOL_RESIDENT give their memory back (under `ulimit -v`
 * their address space too); a non-empty one (its thread exited) gives back the pages
 * of its free slabs. */
static void hak_ss_disown(hak_thread *t, hak_superslab *ss)
{
    for (unsigned i = 1; i < HAK_SLABS_PER_SS; i++) {
        hak_slab *sl = hak_ss_slab(ss, i);
        if (sl->cls != HAK_CLASS_NONE && sl->head == i) {
            hak_partial_remove(t, sl);
            if (t->active[sl->cls] == sl) t->active[sl->cls] = NULL;
        }
    }
    hak_owned_remove(t, ss);
    hak_ss_set_owner(ss, NULL);
    int empty = ss->free_slabs == HAK_SS_ALL_FREE;
    if (!empty) hak_ss_decommit_free(ss);
    hak_pool_lock();
    if (empty && hak_g.npool >= HAKMEM_POOL_RESIDENT && ss->resident > 0) hak_ss_release_os(ss);
    hak_pool_push(ss);
    pthread_mutex_unlock(&hak_g.lock);
    HAK_STAT_INC(ss_returned);
}

/* A slab of t just became empty. Release it, and the SuperSlab if t keeps enough. */
static void hak_slab_empty(hak_thread *t, hak_superslab *ss, hak_slab *head)
{
    if (atomic_load_explicit(&head->remote, memory_order_relaxed)) {   /* not empty after all */
        if (t->active[head->cls] != head) hak_partial_add(t, head);
        return;
    }
    hak_partial_remove(t, head);
    if (t->active[head->cls] == head) t->active[head->cls] = NULL;
    unsigned head_idx = hak_slab_index(ss, head), head_span = head->span;
    hak_slab_release(ss, head);
    if (ss->draining) {   /* a dead thread's memory going back (hak_ss_claim) */
        hak_ss_decommit_free(ss);
        if (ss->free_slabs == HAK_SS_ALL_FREE) hak_ss_disown(t, ss);
        return;
    }
    /* A thread that frees most of what it holds at once (a cache emptied) and then idles
     * refills no more, so no trim comes to give back its free slabs: beyond
     * HAKMEM_FREE_SLABS_RESIDENT of them, one that empties gives its pages back now. The
     * trim keeps at most HAKMEM_WARM_SLABS through an idle interval, so a thread that
     * cycles its slabs within the bound keeps them resident as before. */
    unsigned warm = 0;
    for (hak_superslab *s = t->owned; s && warm <= HAKMEM_FREE_SLABS_RESIDENT; s = s->next)
        warm += (unsigned)__builtin_popcountll(s->free_slabs & s->touched);
    if (warm > HAKMEM_FREE_SLABS_RESIDENT) {
        uint64_t bits = (head_span == 64 ? ~0ull : ((1ull << head_span) - 1)) << head_idx;
        hak_ss_decommit_slabs(ss, bits & ss->touched);
    }
    if (ss->free_slabs != HAK_SS_ALL_FREE) return;
    unsigned empties = 0;
    for (hak_superslab *s = t->owned; s; s = s->next) empties += s->free_slabs == HAK_SS_ALL_FREE;
    if (empties > HAKMEM_WARM_SS) hak_ss_disown(t, ss);
}

/* Acquire up to HAKMEM_POOL_BATCH SuperSlabs from the pool under one lock. */
static int hak_pool_acquire(hak_thread *t)
{
    hak_superslab *got[HAKMEM_POOL_BATCH];
    unsigned n = 0;
    hak_pool_lock();
    while (n < HAKMEM_POOL_BATCH && hak_g.pool) {
        got[n] = hak_g.pool;
        hak_pool_unlink(got[n++]);
    }
    pthread_mutex_unlock(&hak_g.lock);
    if (n) HAK_STAT_INC(pool_batches);
    unsigned adopted = 0;
    for (unsigned i = 0; i < n; i++) adopted += hak_ss_adopt(t, got[i]);   /* a dropped one stays listed in hak_g.all */
    if (adopted) return 1;
    hak_superslab *ss = hak_ss_map();
    if (!ss) return 0;
    hak_ss_adopt(t, ss);
    return 1;
}

/* First fit of `span` contiguous free slabs in an owned SuperSlab, preferring slabs
 * used before (resident) over fresh ones, so peak RSS follows the live set. */
static hak_slab *hak_new_slab(hak_thread *t, unsigned cls)
{
    unsigned span = hak_class_span(cls);
    uint64_t want = (span == 64 ? ~0ull : (1ull << span) - 1);
    for (int pass = 0; pass < 2; pass++) {   /* pages already touched first, then fresh ones */
        for (hak_superslab *ss = t->owned; ss; ss = ss->next) {
            uint64_t fs = ss->free_slabs & (pass ? ~0ull : ss->touched);
            for (unsigned i = 1; fs && i + span <= HAK_SLABS_PER_SS; i++) {
                if (((fs >> i) & want) == want) {
                    hak_slab_init(ss, i, cls, span);
                    ss->touched |= want << i;
                    ss->idle &= ~(want << i);
                    return hak_ss_slab(ss, i);
                }
            }
        }
    }
    return NULL;
}

/* Every HAKMEM_TRIM_REFILLS refills of t: the slabs of t's SuperSlabs that were free
 * (and resident) at the last trim and still are give their pages back. Only t can reuse
 * them, and peak RSS is the sum over threads, so pages t left idle a whole interval
 * cost the process memory it does not use (a thread that empties slabs in bursts, as
 * larson and prodcons do, refills many times before it needs them all again). The
 * clock is a count of t's refills, not time: the release and debug builds give back
 * the same slabs at the same op. A slab reused in between is not idle (hak_new_slab). */
static void hak_thread_trim(hak_thread *t)
{
    unsigned warm = 0;
    for (hak_superslab *ss = t->owned; ss; ss = ss->next) warm += (unsigned)__builtin_popcountll(ss->free_slabs & ss->touched);
    unsigned over = warm > HAKMEM_WARM_SLABS ? warm - HAKMEM_WARM_SLABS : 0;
    for (hak_superslab *ss = t->owned; ss; ss = ss->next) {
        uint64_t old = ss->idle & ss->free_slabs & ss->touched, take = 0;
        for (unsigned i = HAK_SLABS_PER_SS; over && i-- > 1;)   /* the highest first: hak_new_slab takes the lowest */
            if ((old >> i) & 1) { take |= 1ull << i; over--; }
        if (take) {
            hak_ss_decommit_slabs(ss, take);
            HAK_STAT_ADD(slabs_trimmed, (unsigned)__builtin_popcountll(take & ~ss->touched));
        }
        ss->idle = ss->free_slabs & ss->touched;
    }
}

/* Collect the remote lists of owned SuperSlabs other threads freed into since we last
 * looked: slabs with free blocks join the partial lists, empty ones are released.
 * Collected blocks go straight into the thread cache where it has room (checked once,
 * hak_slab_collect_take): class cls's into top[*got..room) (the refill under way, up to
 * its bin's free room; top NULL: none of cls), every other class's into its bin up to half its free room, but
 * for a draining SuperSlab's slabs (hak_ss_claim), whose blocks t did not ask for. */
static void hak_collect_hinted(hak_thread *t, unsigned cls, void **top, unsigned *got, unsigned room)
{
    for (hak_superslab *ss = t->owned, *nx; ss; ss = nx) {
        nx = ss->next;
        if (!atomic_load_explicit(&ss->remote_hint, memory_order_relaxed)) continue;
        /* an exchange, not a store: the scan's loads must not pass it (hak_slab_push_remote) */
        if (!atomic_exchange_explicit(&ss->remote_hint, 0, memory_order_seq_cst)) continue;
        for (unsigned i = 1; i < HAK_SLABS_PER_SS; i++) {
            hak_slab *h = hak_ss_slab(ss, i);
            if (h->cls == HAK_CLASS_NONE || h->head != i) continue;
            if (!atomic_load_explicit(&h->remote, memory_order_relaxed)) continue;
            unsigned c = h->cls, k;
            if (c == cls) {
                k = top ? hak_slab_collect_take(ss, h, top + *got, room - *got) : hak_slab_collect_take(ss, h, NULL, 0);
                if (top) *got += k;
            } else {   /* a draining SuperSlab's blocks stay on their slabs, which may empty */
                k = hak_slab_collect_take(ss, h, t->bins[c], ss->draining ? 0 : (hak_bin_cap(c) - hak_bin_count(t, c)) / 2);
                t->bins[c] += k;
            }
            h->used += k;   /* cached blocks count as used, as a refill's do */
            if (h->used == 0 && t->active[h->cls] != h) {
                hak_slab_empty(t, ss, h);
                if (atomic_load_explicit(&ss->owner, memory_order_relaxed) != t) break;   /* given to the pool */
                continue;
            }
            if (h->free && t->active[h->cls] != h) hak_partial_add(t, h);
        }
    }
}

/* Terminates: every round either finds a slab, takes SuperSlabs out of the (finite)
 * pool, or maps a fresh SuperSlab, where any span fits. */
static hak_slab *hak_find_slab(hak_thread *t, unsigned cls)
{
    for (;;) {
        hak_slab *sl;
        while ((sl = t->partial[cls])) {
            hak_partial_remove(t, sl);
            if (sl->free || atomic_load_explicit(&sl->remote, memory_order_relaxed)) {
                hak_ss_of_slab(sl)->draining = 0;   /* t allocates from it now: kept like its others */
                HAK_STAT_INC(warm_hits);
                return sl;
            }
        }
        hak_collect_hinted(t, cls, NULL, NULL, 0);
        if (t->partial[cls]) continue;
        if ((sl = hak_new_slab(t, cls))) { hak_ss_of_slab(sl)->draining = 0; HAK_STAT_INC(warm_hits); return sl; }
        HAK_STAT_INC(warm_misses);
        if (!hak_pool_acquire(t)) return NULL;
    }
}
