/* thread.c - per-thread caches: refill, flush, thread exit, fork, and the heap-wide
 * operations the harness needs (flush, drain, reset). */
#include <sched.h>

static void hak_thread_exit(void *arg);

static pthread_mutex_t hak_orphan_lock;
static hak_thread hak_orphan;
/* Lock order: the orphan heap's lock, then hak_g.lock (an orphan refill takes it). */
static void hak_atfork_prepare(void) { pthread_mutex_lock(&hak_orphan_lock); pthread_mutex_lock(&hak_g.lock); }
static void hak_atfork_parent(void) { pthread_mutex_unlock(&hak_g.lock); pthread_mutex_unlock(&hak_orphan_lock); }
static void hak_block_release(hak_thread *t, void *p);

/* Give back the whole pages of t's cache slots (25 KiB), which nothing reads again: t
 * exited or is a fork child's dead thread, and its bins point at hak_bin_unready. A
 * failed madvise leaves them resident (counted, os_failures). */
static void hak_thread_decommit_slots(hak_thread *t)
{
    uintptr_t lo = ((uintptr_t)t->slots + HAK_PAGE - 1) & ~(uintptr_t)(HAK_PAGE - 1);
    uintptr_t hi = (uintptr_t)(t->slots + HAK_TCACHE_SLOTS) & ~(uintptr_t)(HAK_PAGE - 1);
    if (hi > lo) (void)hak_os_decommit((void *)lo, hi - lo);
}

/* A fork child: thread t is gone (its TLS is still mapped: the child has the parent's
 * memory). The blocks its cache held go back to their slabs as its exit's flush would
 * send them, from the forking thread self: onto self's local freelists or the owner's
 * remote list. t may have been anywhere in a push or pop, so a slot may be stale or
 * name a block twice: only a carved block still CACHED goes, and leaves CACHED. Its
 * SuperSlab's debug record is trusted less (hak_ref_forked), as the operation on it may
 * be half done. t is left uninitialised: a second visit finds nothing. */
static void hak_forked_flush(hak_thread *self, hak_thread *t)
{
    if (!t->initialized) return;
    hak_internal_begin();
    for (unsigned c = 0; c < HAK_NCLASS; c++) {
        void **base = &t->slots[hak_bin_base(c)];
        uintptr_t n = (uintptr_t)(t->bins[c] - base);
        if (n > hak_bin_cap(c)) n = 0;   /* a torn bin pointer: its blocks stay where they are */
        for (uintptr_t i = 0; i < n; i++) {
            uintptr_t a = (uintptr_t)base[i];
            if (hak_region_of(a) != HAK_REGION_SS) continue;
            hak_superslab *ss = hak_ss_of(a);
            if (!hak_slab_holds(hak_slab_at(ss, a), a, 1) || hak_state_load(base[i]) != HAK_ST_CACHED) continue;
            hak_ref_forked(ss);
            hak_block_release(self, base[i]);
        }
        t->bins[c] = base;
    }
    hak_internal_end();
    /* Nothing reads t's cache again (a thread of the child that gets this TLS address
     * has it laid out afresh): the slots' whole pages go back, 25 KiB a thread. */
    t->initialized = 0;
    hak_thread_decommit_slots(t);
}

static void hak_atfork_child(void)
{
    /* Only the forking thread survives, and the orphan heap (its lock was held across
     * the fork): their SuperSlabs stay theirs. Every other thread is treated as exited:
     * its cache goes back (hak_forked_flush) and its SuperSlabs go to the pool as
     * abandoned, to be adopted with their remote lists, so the child can give their
     * memory back. The owners are found from the SuperSlabs themselves, not only from
     * the thread list (which holds at most HAKMEM_MAX_THREADS): a SuperSlab left owned
     * by a dead thread's TLS address would be taken for its own by a new thread of
     * the child that gets that address. The child is single-threaded: the lock is let
     * go first, as the flush may give SuperSlabs to the pool. */
    hak_thread *self = &hak_tls;
    pthread_mutex_unlock(&hak_g.lock);
    for (hak_superslab *ss = hak_g.all; ss; ss = ss->all_next) {   /* before any flush moves a block */
        hak_thread *o = atomic_load_explicit(&ss->owner, memory_order_relaxed);
        if (o && o != self && o != &hak_orphan) hak_ref_forked(ss);
    }
    for (unsigned i = 0; i < hak_g.nthreads; i++)   /* listed ones that may own nothing */
        if (hak_g.threads[i] != self && hak_g.threads[i] != &hak_orphan) hak_forked_flush(self, hak_g.threads[i]);
    for (hak_superslab *ss = hak_g.all; ss; ss = ss->all_next) {
        hak_thread *o = atomic_load_explicit(&ss->owner, memory_order_relaxed);
        if (!o || o == self || o == &hak_orphan) continue;
        hak_forked_flush(self, o);   /* unlisted ones (a no-op for the listed) */
        for (unsigned k = 1; k < HAK_SLABS_PER_SS; k++) {   /* its partial lists die with it */
            hak_slab *sl = hak_ss_slab(ss, k);
            sl->in_partial = 0;
            sl->prev_partial = sl->next_partial = 0;
        }
        hak_ss_set_owner(ss, NULL);
        pthread_mutex_lock(&hak_g.lock);
        hak_pool_push(ss);
        pthread_mutex_unlock(&hak_g.lock);
    }
    pthread_mutex_lock(&hak_g.lock);
    hak_g.nthreads = 0;
    memset(hak_g.hint_users, 0, sizeof hak_g.hint_users);
    if (self->initialized) { hak_g.threads[hak_g.nthreads++] = self; hak_g.hint_users[self->hint]++; }
    if (hak_orphan.initialized) { hak_g.threads[hak_g.nthreads++] = &hak_orphan; hak_g.hint_users[hak_orphan.hint]++; }
    pthread_mutex_unlock(&hak_g.lock);
    /* A recursive mutex is owned by a thread id, which the child's thread no longer has:
     * initialise it afresh (it guarded nothing in flight: the child's thread held it). */
    static const pthread_mutex_t fresh = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;
    memcpy(&hak_orphan_lock, &fresh, sizeof fresh);
}

static void hak_global_init(void)
{
    if (hak_likely(atomic_load_explicit(&hak_g.init_state, memory_order_acquire) == 2)) return;
    int expect = 0;
    if (atomic_compare_exchange_strong(&hak_g.init_state, &expect, 1)) {
        pthread_key_create(&hak_g.key, hak_thread_exit);
        atomic_store_explicit(&hak_g.init_state, 2, memory_order_release);
        pthread_atfork(hak_atfork_prepare, hak_atfork_parent, hak_atfork_child);  /* may malloc */
        return;
    }
    while (atomic_load_explicit(&hak_g.init_state, memory_order_acquire) != 2) sched_yield();
}

static void hak_thread_layout(hak_thread *t)
{
    memset(t->slots, 0, sizeof t->slots);
    for (unsigned c = 0; c < HAK_NCLASS; c++) {
        unsigned base = hak_bin_base(c);
        t->slots[base - 1] = NULL;
        t->slots[base + hak_bin_cap(c)] = HAK_BIN_FULL;
        t->bins[c] = &t->slots[base];
    }
}

/* The allocation hint of a thread being set up: one no set-up thread has (the least
 * shared one if there are more threads than hints), searched from after the last one
 * given, so an exited thread's hint comes back last. Free's fast path caches a block
 * whose state holds the freeing thread's hint; a thread that frees what exited threads
 * allocated must not share their hints, or their blocks sit in its cache, each holding
 * a slab and its SuperSlab (with hints given round robin, a main thread freeing the
 * blocks of 10,000 short threads shared a hint with one in 127 and ended up owning 78
 * SuperSlabs kept by 1,700 cached blocks). Under hak_g.lock. */
static uint8_t hak_hint_take(void)
{
    const unsigned n = HAK_ST_HINT + 1;
    unsigned h = hak_g.hint_next % n, best = h;
    for (unsigned k = 0; k < n; k++, h = (h + 1) % n) {
        if (!hak_g.hint_users[h]) { best = h; break; }
        if (hak_g.hint_users[h] < hak_g.hint_users[best]) best = h;
    }
    hak_g.hint_users[best]++;
    hak_g.hint_next = best + 1;
    return (uint8_t)best;
}
static void hak_hint_put(uint8_t hint) { if (hak_g.hint_users[hint]) hak_g.hint_users[hint]--; }   /* under hak_g.lock */

/* Lay t out and list it (fork and heap_reset reach it through the list). */
static void hak_thread_setup(hak_thread *t)
{
    hak_thread_layout(t);
    pthread_mutex_lock(&hak_g.lock);
    t->hint = hak_hint_take();
    t->st_alloc = (uint8_t)(HAK_ST_ALLOC | t->hint);
    t->initialized = 1;
    /* The list holds TLS addresses, not links inside TLS: a later thread may get the
     * same TLS address (freshly initialised). Never list one address twice. */
    unsigned i = 0;
    while (i < hak_g.nthreads && hak_g.threads[i] != t) i++;
    if (i == hak_g.nthreads && i < HAKMEM_MAX_THREADS) hak_g.threads[hak_g.nthreads++] = t;
    pthread_mutex_unlock(&hak_g.lock);
}

/* 1: t is ready. 0: t's destructor has run (a later pthread key destructor or glibc's
 * own per-thread cleanup allocates): such a thread never gets a cache or SuperSlabs of
 * its own again, since nothing would return them when it dies; it allocates from the
 * orphan heap below and frees as a foreign thread does (onto remote lists). */
static int hak_thread_init(hak_thread *t)
{
    hak_global_init();
    if (t->exited) return 0;
    hak_thread_setup(t);
    pthread_setspecific(hak_g.key, t);   /* may malloc: the thread is usable by now */
    return 1;
}

/* The orphan heap: one heap state (not in TLS, never exits) shared under a lock by
 * every thread past its destructor. Its SuperSlabs are owned by it like a thread's, so
 * what those threads allocate and free stays reusable, and bounded by what they use
 * at once, not by how many of them there were. Recursive: a corruption handler run
 * from inside may allocate. */
static hak_thread hak_orphan = HAK_THREAD_INIT;
static pthread_mutex_t hak_orphan_lock = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;

static void *hak_alloc_class(hak_thread *t, unsigned cls);
static void *hak_orphan_alloc(unsigned cls)
{
    pthread_mutex_lock(&hak_orphan_lock);
    if (!hak_orphan.initialized) hak_thread_setup(&hak_orphan);
    void *p = hak_alloc_class(&hak_orphan, cls);
    pthread_mutex_unlock(&hak_orphan_lock);
    return p;
}

/* Return a CACHED block to its slab: the local freelist if t owns the slab, else the
 * owner's remote list. */
static void hak_block_release(hak_thread *t, void *p)
{
    hak_superslab *ss = hak_ss_of((uintptr_t)p);
    hak_slab *head = hak_slab_head(ss, hak_slab_at(ss, (uintptr_t)p));
    if (atomic_load_explicit(&ss->owner, memory_order_relaxed) != t) {
        hak_slab_push_remote(ss, head, p);
        return;
    }
    hak_slab_push_local(head, p);
    if (head->used) head->used--;
    if (head->used == 0 && t->active[head->cls] != head) hak_slab_empty(t, ss, head);
    else if (t->active[head->cls] != head) hak_partial_add(t, head);
}

/* Flush the n oldest blocks of bin c. */
static void hak_bin_flush_body(hak_thread *t, unsigned c, unsigned n)
{
    void **base = &t->slots[hak_bin_base(c)];
    unsigned have = hak_bin_count(t, c);
    if (n > have) n = have;
    for (unsigned i = 0; i < n; i++) hak_block_release(t, base[i]);
    memmove(base, base + n, (have - n) * sizeof(void *));
    t->bins[c] -= n;
    HAK_STAT_INC(flushes);
}

/* Internal operations run bracketed: reports they raise are delivered afterwards. */
static void hak_bin_flush(hak_thread *t, unsigned c, unsigned n)
{
    hak_internal_begin();
    hak_bin_flush_body(t, c, n);
    hak_internal_end();
}

static void hak_thread_flush_all(hak_thread *t)
{
    if (!t->initialized) return;
    /* (most bins are empty: a drain, a trim or an exit sends home only what is cached) */
    for (unsigned c = 0; c < HAK_NCLASS; c++)
        if (hak_bin_count(t, c)) hak_bin_flush(t, c, ~0u);
}

/* Pop free blocks of sl into top[got..want); returns the new got. */
static unsigned hak_refill_pop(hak_superslab *ss, hak_slab *sl, void **top, unsigned got, unsigned want)
{
    void *p;
    (void)ss;
    while (got < want && (p = hak_slab_pop(sl))) top[got++] = p;
    return got;
}

/* Fill the bin of cls with up to half its free room (a collected remote list: up to all
 * of it, below). Returns the number added. */
static unsigned hak_refill_body(hak_thread *t, unsigned cls)
{
    void **top = t->bins[cls];
    unsigned room = hak_bin_cap(cls) - hak_bin_count(t, cls);
    unsigned want = room / 2, got = 0;
    if (!want) want = 1;
    HAK_STAT_INC(refills);
    if (hak_unlikely(++t->trim_clock >= HAKMEM_TRIM_REFILLS)) {
        t->trim_clock = 0;
        hak_thread_trim(t);
    }
    for (int tries = 0; got == 0 && tries < 64; tries++) {
        hak_slab *sl = t->active[cls];
        if (!sl) {
            sl = hak_find_slab(t, cls);
            if (!sl) return 0;
            hak_partial_remove(t, sl);
            t->active[cls] = sl;
        }
        hak_superslab *ss = hak_ss_of_slab(sl);
        /* Reuse before carving: local frees, then other threads' frees, then blocks that
         * came back to other slabs of the class, then fresh memory of the active slab. */
        /* A remote list is walked whole when it is taken in (every node checked): its
         * nodes go into the bin up to the bin's whole free room, not only `want`, as
         * the walk has already touched them; the rest go onto the freelist, to be
         * touched again by a later pop. */
        for (int pass = 0; pass < 2 && got < want; pass++) {
            if (pass && atomic_load_explicit(&sl->remote, memory_order_relaxed))
                got += hak_slab_collect_take(ss, sl, top + got, room - got);   /* checked once, cached */
            got = hak_refill_pop(ss, sl, top, got, want);
        }
        unsigned from_active = got;
        if (got < want && atomic_load_explicit(&sl->count, memory_order_relaxed) < sl->nblocks) {
            hak_collect_hinted(t, cls, top, &got, room);
            hak_slab *ps;
            while (got < want && (ps = t->partial[cls])) {
                unsigned before = got;
                got = hak_refill_pop(hak_ss_of_slab(ps), ps, top, got, want);
                ps->used += got - before;
                if (!ps->free) hak_partial_remove(t, ps);   /* back on a list with its next free */
            }
        }
        unsigned before_carve = got;
        if (got < want) got += hak_slab_carve(ss, sl, top + got, want - got);
        sl->used += from_active + (got - before_carve);
        if (got == 0) t->active[cls] = NULL;   /* full: it rejoins a partial list on a local free */
    }
    t->bins[cls] += got;
    HAK_STAT_ADD(refill_blocks, got);
    return got;
}

static unsigned hak_refill(hak_thread *t, unsigned cls)
{
    hak_internal_begin();
    unsigned n = hak_refill_body(t, cls);
    hak_internal_end();
    return n;
}

static void hak_thread_exit(void *arg)
{
    hak_thread *t = arg;
    if (!t || !t->initialized || t->exited) return;
    hak_thread_flush_all(t);
    while (t->owned) hak_ss_disown(t, t->owned);
    pthread_mutex_lock(&hak_g.lock);
    for (unsigned i = 0; i < hak_g.nthreads; i++)
        if (hak_g.threads[i] == t) { hak_g.threads[i] = hak_g.threads[--hak_g.nthreads]; break; }
    hak_hint_put(t->hint);
    pthread_mutex_unlock(&hak_g.lock);
    memset(t, 0, offsetof(hak_thread, slots));   /* later calls in this thread: slow path, orphan heap */
    t->st_alloc = HAK_ST_UNREADY;
    t->exited = 1;
    for (unsigned c = 0; c < HAK_NCLASS; c++) t->bins[c] = HAK_BIN_UNREADY;
    /* A thread's TLS lives at the top of its stack, which glibc keeps after the join for
     * a later thread (a cache of up to 40 MiB of stacks) and initialises afresh then:
     * each stack in that cache kept the 25 KiB of a dead thread's cache slots resident. */
    hak_thread_decommit_slots(t);
}

HAK_EXPORT void HAK_API(thread_flush)(void) { hak_thread_flush_all(&hak_tls); }

static void hak_large_reset(void);

HAK_EXPORT void HAK_API(heap_drain)(void)
{
    hak_thread_flush_all(&hak_tls);
    hak_internal_begin();
    for (hak_superslab *ss = hak_g.all; ss; ss = ss->all_next) {
        if (ss->free_slabs == HAK_SS_ALL_FREE) continue;   /* no slab in use: no list */
        for (unsigned i = 1; i < HAK_SLABS_PER_SS; i++) {
            hak_slab *h = hak_ss_slab(ss, i);
            if (h->cls == HAK_CLASS_NONE || h->head != i) continue;
            hak_slab_collect(ss, h);
            if (h->free) hak_slab_check_freelist(ss, h);
        }
    }
    hak_internal_end();
}

HAK_EXPORT void HAK_API(heap_reset)(void)
{
    hak_global_init();
    pthread_mutex_lock(&hak_g.lock);
    for (unsigned i = 0; i < hak_g.nthreads; i++) {
        hak_thread *t = hak_g.threads[i];
        if (t->initialized) for (unsigned c = 0; c < HAK_NCLASS; c++) t->bins[c] = &t->slots[hak_bin_base(c)];
        memset(t->active, 0, sizeof t->active);
        memset(t->partial, 0, sizeof t->partial);
        t->owned = NULL;
        t->trim_clock = 0;   /* trims must not depend on earlier streams either */
    }
    hak_g.pool = NULL;
    hak_g.npool = 0;
    for (hak_superslab *ss = hak_g.all; ss; ss = ss->all_next) {   /* newest first */
        for (unsigned i = 1; i < HAK_SLABS_PER_SS; i++) {
            if (ss->free_slabs == HAK_SS_ALL_FREE) break;   /* (every slab free: nothing to forget) */
            hak_slab *sl = hak_ss_slab(ss, i);
            if (sl->cls == HAK_CLASS_NONE) continue;
            if (HAKMEM_VALGRIND && sl->head == i) {   /* forget live blocks with Valgrind too */
                uint32_t n = atomic_load_explicit(&sl->count, memory_order_relaxed);
                for (uint32_t k = 0; k < n; k++) {
                    void *b = (void *)(sl->first + (uintptr_t)k * sl->stride);
                    if (hak_st_alloc(hak_state_load(b))) hak_vg_freelike(b);
                }
            }
            if (sl->head == i) {   /* live blocks are forgotten: no state may say allocated */
                if (HAK_STATES_CARVED_ONLY)   /* the carved blocks' states (a reset costs what the stream touched) */
                    hak_state_clear(sl->first, hak_slab_limit(sl));
                else
                    hak_state_clear(hak_ss_base(ss) + ((uintptr_t)i << HAKMEM_SLAB_SHIFT), sl->span * HAK_SLAB_SIZE);
                hak_san_poison((char *)hak_ss_base(ss) + ((uintptr_t)i << HAKMEM_SLAB_SHIFT), sl->span * HAK_SLAB_SIZE);
            }
            memset(sl, 0, sizeof *sl);
            hak_slab_set_class(sl, HAK_CLASS_NONE);
            sl->head = (uint8_t)i;
        }
        ss->free_slabs = HAK_SS_ALL_FREE;
        ss->touched = 0;     /* slab choice must not depend on earlier streams (pages stay resident) */
        ss->idle = 0;
        ss->magic = HAK_SS_MAGIC;   /* a stream may have overwritten its header */
        atomic_store_explicit(&ss->owner, NULL, memory_order_relaxed);
        atomic_store_explicit(&ss->remote_hint, 0, memory_order_relaxed);
        /* Each goes to the pool's front: the pool is oldest first (SuperSlabs are mapped
         * at rising addresses, so also address order), and the first blocks after a
         * reset do not depend on how many SuperSlabs earlier streams mapped. */
        ss->prev = NULL;
        ss->next = hak_g.pool;
        if (hak_g.pool) hak_g.pool->prev = ss;
        ss->in_pool = 1;
        hak_g.pool = ss;
        hak_g.npool++;
    }
    pthread_mutex_unlock(&hak_g.lock);
    hak_large_reset();
    hak_ref_reset();
}

HAK_EXPORT int HAK_API(owns)(const void *ptr, size_t len)
{
    uintptr_t a = (uintptr_t)ptr;
    if (len == 0) len = 1;
    if (a + len < a) return 0;
    for (uintptr_t r = a & ~HAK_SS_MASK; r < a + len; r += HAK_SS_SIZE) {
        unsigned k = hak_region_of(r);
        if (k == HAK_REGION_NONE) return 0;
        if (k == HAK_REGION_SS && (a < r + HAK_SLAB_SIZE) && r == (a & ~HAK_SS_MASK)) return 0;  /* metadata */
    }
    return 1;
}
