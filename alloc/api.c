/* api.c - the malloc family. malloc and free are each one always-inline fast path
 * with a single unlikely branch to a noinline *_slow function:
 *   malloc: size -> class, pop the thread cache, state := allocated (with this
 *           thread's hint) in the state table.
 *   free:   p is 16-aligned and in the arena (one rotate, one bound); its state says
 *           allocated by this thread (only carved block starts ever get that state);
 *           its canary is intact; state := CACHED, push the cache (the slab table gives
 *           the class). Anything else goes to the slow path, which checks p in full
 *           (range and stride, one multiply) and reports or sends the block home. */
#include <errno.h>
#include <unistd.h>

/* size -> the tiny class: the smallest class whose usable size (stride - 1) is >= size.
 * Indexed by the size itself (one byte per size, 1025 bytes: 17 cache lines) so that
 * malloc's lookup is one load with no arithmetic on the size (the table by 16-byte
 * steps needed an add and a shift: 2 instructions per malloc). R(c) is 16 sizes. */
#define R(c) c, c, c, c, c, c, c, c, c, c, c, c, c, c, c, c,
static const uint8_t hak_tiny_class_table[HAK_TINY_MAX + 1] = {
    R(0)  R(1)  R(2)  R(3)  R(4)  R(5)  R(6)  R(7)                     /* 0-127: strides 16-128 */
    R(8)  R(8)  R(9)  R(9)  R(10) R(10) R(11) R(11)                    /* 128-255: 160-256 */
    R(12) R(12) R(12) R(12) R(13) R(13) R(13) R(13)                    /* 256-383: 320, 384 */
    R(14) R(14) R(14) R(14) R(15) R(15) R(15) R(15)                    /* 384-511: 448, 512 */
    R(16) R(16) R(16) R(16) R(16) R(16) R(16) R(16)                    /* 512-639: 640 */
    R(17) R(17) R(17) R(17) R(17) R(17) R(17) R(17)                    /* 640-767: 768 */
    R(18) R(18) R(18) R(18) R(18) R(18) R(18) R(18)                    /* 768-895: 896 */
    R(19) R(19) R(19) R(19) R(19) R(19) R(19) R(19) 19                 /* 896-1024: 1040 */
};
#undef R
static_assert(sizeof hak_tiny_class_table == HAK_TINY_MAX + 1, "one entry per size up to 1024");

hak_hot_inline unsigned hak_size_class(size_t size)   /* size <= HAK_MID_MAX */
{
    return size <= HAK_TINY_MAX ? hak_tiny_class_table[size] : hak_mid_class_of(size);
}

/* A block of class cls from the thread cache, refilling it as needed. */
static void *hak_alloc_class(hak_thread *t, unsigned cls)
{
    void *p;
    if (hak_unlikely(!t->initialized) && !hak_thread_init(t)) return hak_orphan_alloc(cls);   /* exited */
    while (!(p = t->bins[cls][-1]))   /* a handler run by the refill may take blocks */
        if (!hak_refill(t, cls)) { errno = ENOMEM; return NULL; }
    t->bins[cls]--;
    hak_state_store(p, t->st_alloc);
    hak_ref_note(p, HAK_REF_ALLOC);
    hak_san_block_alloc(p, hak_class_usable(cls), 0);
    return p;
}

static hak_noinline void *hak_malloc_slow(size_t size)
{
    HAK_STAT_INC(malloc_slow);
    if (size > HAK_MID_MAX) {
        hak_global_init();
        if (size > PTRDIFF_MAX) { errno = ENOMEM; return NULL; }
        return hak_large_alloc(size, 16, 0, 0);
    }
    return hak_alloc_class(&hak_tls, hak_size_class(size));
}

hak_hot_inline void *hak_malloc_fast(size_t size)
{
    if (hak_likely(size <= HAK_TINY_MAX)) {
        uintptr_t c = hak_tiny_class_table[size];
        hak_thread *t = &hak_tls;
        void **top = t->bins[c];
        void *p = top[-1];
        if (hak_likely(p != NULL)) {
            uint8_t *st = hak_state_of((uintptr_t)p);
            uint8_t v = t->st_alloc;
            t->bins[c] = top - 1;
            /* p stays in the register it was loaded into: without this gcc copies it
             * out and back around the shift (one instruction more per malloc). */
            __asm__("" : "+r"(p));
            *st = v;
            hak_ref_note(p, HAK_REF_ALLOC);
            hak_san_block_alloc(p, hak_class_usable((unsigned)c), 0);
            return p;
        }
    }
    return hak_malloc_slow(size);
}

static int hak_debug_validate_free(void *p, int for_free);

/* p is a carved block start: is it a live block? If not, the fault is reported
 * (`freed_kind` for a block the allocator holds: double free or use after free) and 0
 * returned; the block stays as it is, so nothing hands it out because of this call. */
static int hak_block_check(void *p, hak_corruption_kind freed_kind, int check_state, int check_canary)
{
    unsigned st = hak_state_load(p);
    if (check_state && !hak_st_alloc(st)) {
        hak_report(st == HAK_ST_NONE ? HAK_CORRUPT_INVALID_POINTER : freed_kind, p);
        return 0;
    }
    if (check_canary && hak_canary_load(p) != HAK_CANARY) {
        hak_report(HAK_CORRUPT_BAD_HEADER, p);
        return 0;
    }
    return 1;
}

/* p goes back to its slab at once, not into t's cache: its SuperSlab is draining (an
 * exited thread's, taken over by a free, hak_ss_claim), so the slab can empty and give
 * its pages back now. Cached, each such block held its slab resident and its SuperSlab
 * owned: a thread that frees what short-lived threads allocated, and allocates little
 * itself, kept one slab per cached block (100 SuperSlabs, 6.5 MiB, after 10,000
 * threads). Through the cache's states, as a flush would send it. */
static hak_noinline void hak_free_home(hak_thread *t, void *p, hak_slab *sl)
{
    hak_state_store(p, HAK_ST_CACHED);
    hak_ref_note(p, HAK_REF_CACHED);
    hak_san_block_free(p, sl->stride - 1);
    hak_internal_begin();
    hak_block_release(t, p);
    /* Other freers push the blocks of a SuperSlab t took over onto its remote lists,
     * which only t may collect; a thread that only frees never refills, so it collects
     * here, every HAKMEM_HOME_COLLECT of these frees: otherwise two threads freeing what
     * exited threads left strand each other's SuperSlabs (26 MB resident after 3,000
     * threads with two freers, glibc 2.4 MB). */
    if (++t->home_clock >= HAKMEM_HOME_COLLECT) {
        t->home_clock = 0;
        hak_collect_hinted(t, HAK_NCLASS, NULL, NULL, 0);
    }
    hak_internal_end();
}

/* Cache p, a checked live block of this thread's slab view sl (hak_free_block). */
static hak_noinline void hak_free_cache(hak_thread *t, void *p, hak_slab *sl)
{
    if (hak_unlikely(hak_ss_of((uintptr_t)p)->draining)) { hak_free_home(t, p, sl); return; }
    unsigned c = sl->cls;
    while (*t->bins[c] == HAK_BIN_FULL) hak_bin_flush(t, c, hak_bin_cap(c) / 2);
    hak_state_store(p, HAK_ST_CACHED);
    hak_ref_note(p, HAK_REF_CACHED);
    hak_san_block_free(p, sl->stride - 1);
    *t->bins[c]++ = p;
}

/* The rare steps of hak_free_block, out of line so that its common ways need no frame. */
static hak_noinline int hak_free_init(hak_thread *t) { return hak_thread_init(t); }
static hak_noinline int hak_free_claim(hak_thread *t, hak_superslab *ss) { return hak_ss_claim(t, ss); }

/* hak_free_block's way for a thread not set up yet (or exited) or an ownerless
 * SuperSlab: p is checked already. */
static hak_noinline void hak_free_block_rare(void *p, hak_slab *sl)
{
    uintptr_t a = (uintptr_t)p;
    hak_thread *t = &hak_tls;
    int live = t->initialized || hak_free_init(t);   /* an exited thread frees as a foreign one */
    hak_superslab *ss = hak_ss_of(a);
    hak_thread *owner = atomic_load_explicit(&ss->owner, memory_order_relaxed);
    if (!live || (owner != t && !(owner == NULL && hak_free_claim(t, ss)))) {   /* ownerless: take it over */
        hak_san_block_free(p, sl->stride - 1);
        hak_slab_push_remote(ss, hak_slab_head(ss, sl), p);
        return;
    }
    hak_free_cache(t, p, sl);
}

/* Send p, a checked live block of slab view s (its index in the slab table), where it
 * belongs: another thread's SuperSlab's remote list, this thread's cache, or (rare)
 * hak_free_block_rare. A thread owns a SuperSlab only while it is set up (exit and fork
 * hand its SuperSlabs on), so the remote way needs no look at this thread's own state;
 * the SuperSlab and the span head come from s by shifts and masks. Every end is a tail
 * call and nothing here calls and returns (the rare steps are in hak_free_block_rare),
 * so a remote free (the common way here) saves no register. */
hak_hot_inline void hak_free_block_send(void *p, uintptr_t s)
{
    hak_slab *sl = hak_arena.table + s;
    hak_thread *t = &hak_tls;
    hak_superslab *ss = hak_arena.ss + (s >> (HAKMEM_SS_SHIFT - HAKMEM_SLAB_SHIFT));
    hak_thread *owner = atomic_load_explicit(&ss->owner, memory_order_relaxed);
    if (hak_likely(owner != t && owner != NULL)) {
        /* Another thread's block goes home at once (its owner reuses it before carving
         * fresh memory), so blocks do not scatter over every thread's slabs. */
        hak_san_block_free(p, sl->stride - 1);
        hak_slab_push_remote(ss, hak_arena.table + ((s & ~(uintptr_t)(HAK_SLABS_PER_SS - 1)) + sl->head), p);
        return;
    }
    if (hak_unlikely(owner == NULL || !t->initialized)) { hak_free_block_rare(p, sl); return; }
    hak_free_cache(t, p, sl);
}

/* Free p, a carved block start of slab view sl (the caller proved it): check its state
 * and canary, then cache it (this thread's) or send it home (another thread's). */
static hak_noinline void hak_free_block(void *p, hak_slab *sl)
{
    if (!hak_block_check(p, HAK_CORRUPT_DOUBLE_FREE, HAKMEM_CHECK_FREE_STATE, HAKMEM_CHECK_CANARY)) return;
    hak_free_block_send(p, (uintptr_t)(sl - hak_arena.table));
}

/* The fast path's way to hak_free_block when p's state entry says allocated but the
 * block is not for this thread's bin (another thread's hint, or the bin is full); s is
 * p's slab index, which the fast path has already computed. With
 * the stride check on, an entry that says allocated exists only for a carved block
 * start, so the region map and the range and stride check are not asked again, nor
 * the state (the fast path read it: allocated); the canary is. */
static hak_noinline void hak_free_allocated(void *p, uintptr_t s)
{
    HAK_STAT_INC(free_slow);
    if (!hak_block_check(p, HAK_CORRUPT_DOUBLE_FREE, 0, HAKMEM_CHECK_CANARY)) return;
    hak_free_block_send(p, s);
}

static hak_noinline void hak_free_slow(void *p)
{
    HAK_STAT_INC(free_slow);
    if (!p) return;
    uintptr_t a = (uintptr_t)p;
    unsigned region = hak_region_of(a);
    if (region == HAK_REGION_LARGE) { hak_large_free(p); return; }
    if (region != HAK_REGION_SS) { hak_report(HAK_CORRUPT_INVALID_POINTER, p); return; }
    hak_slab *sl = hak_slab_at(hak_ss_of(a), a);
    if (!hak_slab_holds(sl, a, HAKMEM_CHECK_FREE_STRIDE)) { hak_report(HAK_CORRUPT_INVALID_POINTER, p); return; }
    hak_free_block(p, sl);
}

/* The fast path's test. With the state check, one compare proves that p is a carved
 * block start, allocated, and allocated by this thread (so its SuperSlab is ours: a
 * thread loses a SuperSlab only when it exits or the SuperSlab is empty); a hint that
 * matches falsely only caches a foreign block, which a flush sends home. Without it
 * (a weakened build) the range and the owner are asked instead. */
hak_hot_inline int hak_free_fast_ok(const hak_thread *t, const uint8_t *st, const hak_slab *sl, void *p)
{
    uintptr_t a = (uintptr_t)p;
    if (HAKMEM_CHECK_FREE_STATE) {
        if (*st != t->st_alloc) return 0;
    } else if (!hak_slab_holds(sl, a, HAKMEM_CHECK_FREE_STRIDE)
               || atomic_load_explicit(&hak_ss_of(a)->owner, memory_order_relaxed) != t) {
        return 0;
    }
    return !HAKMEM_CHECK_CANARY || hak_canary_load(p) == HAK_CANARY;
}

hak_hot_inline void hak_free_fast(void *p)
{
    uintptr_t a = (uintptr_t)p;
    if (!HAKMEM_BUILD_RELEASE && p && !hak_debug_validate_free(p, 1)) return;
    uintptr_t off = a - hak_arena.base;
    /* p's granule in the state table. With the stride check the low four bits rotate to
     * the top, so the one bound rejects a pointer that is not 16-aligned as well. */
    uintptr_t g = HAKMEM_CHECK_FREE_STRIDE ? (off >> 4 | off << 60) : off >> 4;
    if (hak_likely(g < hak_arena.ngran)) {
        const uint8_t *state = hak_arena.state;
        uint8_t *st = (uint8_t *)state + g;
        hak_thread *t = &hak_tls;
        uintptr_t s = g >> (HAKMEM_SLAB_SHIFT - 4);
        hak_slab *sl = hak_arena.table + s;   /* (ASan builds and weakened builds only) */
        if (hak_likely(hak_free_fast_ok(t, st, sl, p))) {
            uintptr_t c = state[(intptr_t)s - (intptr_t)HAK_CLASS_MAP_SIZE];   /* the class map */
            void **top = t->bins[c];
            if (hak_likely(*top != HAK_BIN_FULL)) {
                *top = p;
                t->bins[c] = top + 1;
                *st = HAK_ST_CACHED;
                hak_ref_note(p, HAK_REF_CACHED);
                hak_san_block_free(p, sl->stride - 1);
                return;
            }
        }
        if (HAKMEM_CHECK_FREE_STATE && HAKMEM_CHECK_FREE_STRIDE && hak_st_alloc(*st)) {
            hak_free_allocated(p, s);   /* another thread's block, or a full bin: s is p's slab */
            return;
        }
    }
    hak_free_slow(p);
}

/* Usable size of a live block, 0 (after a report) if p is not one; unchecked
 * (block_size): what the metadata says, 0 and no report if it knows no block at p. */
static size_t hak_usable_how(void *p, int checked)
{
    uintptr_t a = (uintptr_t)p;
    unsigned region = hak_region_of(a);
    if (region == HAK_REGION_LARGE) return checked ? hak_large_usable_of(p) : hak_large_size_unchecked(p);
    if (region == HAK_REGION_SS) {
        hak_slab *sl = hak_slab_at(hak_ss_of(a), a);
        if (hak_slab_holds(sl, a, 1)) return hak_block_check(p, HAK_CORRUPT_USE_AFTER_FREE, checked, checked) ? sl->stride - 1u : 0;
    }
    if (!checked) return 0;
    hak_report(HAK_CORRUPT_INVALID_POINTER, p);
    return 0;
}

static size_t hak_usable(void *p) { return hak_usable_how(p, 1); }

HAK_EXPORT size_t HAK_API(block_size)(const void *p) { return hak_usable_how((void *)p, 0); }

HAK_EXPORT void HAK_API(geometry)(size_t *slab_bytes, size_t *superslab_bytes)
{
    if (slab_bytes) *slab_bytes = HAK_SLAB_SIZE;
    if (superslab_bytes) *superslab_bytes = HAK_SS_SIZE;
}

/* An error return of an entry point that takes a pointer: p is validated first (and
 * reported if bad), whatever the other arguments say. */
static void *hak_fail_after_check(void *p, int err)
{
    if (!HAKMEM_BUILD_RELEASE && p && !hak_debug_validate_free(p, 0)) return NULL;
    if (HAKMEM_CHECK_ARG_FIRST && p && !hak_usable(p)) return NULL;
    errno = err;
    return NULL;
}

HAK_EXPORT void *HAK_API(malloc)(size_t size) { return hak_malloc_fast(size); }
HAK_EXPORT void HAK_API(free)(void *p) { hak_free_fast(p); }

HAK_EXPORT void *HAK_API(calloc)(size_t n, size_t size)
{
    size_t total;
    if (__builtin_mul_overflow(n, size, &total)) { errno = ENOMEM; return NULL; }
    if (total > HAK_MID_MAX) {
        hak_global_init();
        if (total > PTRDIFF_MAX) { errno = ENOMEM; return NULL; }
        return hak_large_alloc(total, 16, 1, 0);
    }
    void *p = hak_malloc_fast(total);
    if (p) memset(p, 0, total);
    return p;
}

#define HAK_ALIGNED_TINY_MAX 512u   /* largest power-of-two tiny stride */
#define HAK_ALIGNED_SLAB_MAX (HAK_ALIGNED_CLASS_MIN << (HAK_NALIGNED - 1))   /* 32 KiB */

/* Alignments up to 32 KiB with a smaller size come from slabs: the power-of-two tiny
 * classes up to 512, the page-aligned classes above (so valloc and memalign(4096, n)
 * share slabs instead of taking a 2 MiB mapping each). Larger ones: the large tier. */
static void *hak_aligned(size_t align, size_t size)
{
    if (align <= 16) return hak_malloc_fast(size);
    if (align <= HAK_ALIGNED_SLAB_MAX && size < HAK_ALIGNED_SLAB_MAX) {
        size_t s = 16;
        while (s < align || s - 1 < size) s <<= 1;   /* a power-of-two stride */
        if (s <= HAK_ALIGNED_TINY_MAX) return hak_malloc_fast(s - 1);
        unsigned cls = HAK_NSIZED;
        for (size_t c = HAK_ALIGNED_CLASS_MIN; c < s; c <<= 1) cls++;
        return hak_alloc_class(&hak_tls, cls);
    }
    hak_global_init();
    if (size > PTRDIFF_MAX) { errno = ENOMEM; return NULL; }
    return hak_large_alloc(size, align, 0, 0);
}

HAK_EXPORT void *HAK_API(realloc)(void *p, size_t size)
{
    if (!p) return hak_malloc_fast(size);
    if (size == 0) { hak_free_fast(p); return NULL; }
    if (!HAKMEM_BUILD_RELEASE && !hak_debug_validate_free(p, 0)) return NULL;
    if (size > PTRDIFF_MAX) return hak_fail_after_check(p, ENOMEM);
    if (hak_region_of((uintptr_t)p) == HAK_REGION_LARGE) return hak_large_realloc(p, size);
    size_t old = hak_usable(p);
    if (!old) return NULL;
    if (size <= old && size > HAK_TINY_MAX / 2 && size >= old / 2) {
        return p;   /* shrink within the same block */
    } else if (size <= old && size <= HAK_TINY_MAX / 2 && hak_size_class(size) == hak_size_class(old)) {
        return p;
    }
    void *q = hak_malloc_fast(size);
    if (!q) return NULL;
    memcpy(q, p, old < size ? old : size);
    hak_free_fast(p);
    return q;
}

HAK_EXPORT void *HAK_API(reallocarray)(void *p, size_t n, size_t size)
{
    size_t total;
    if (__builtin_mul_overflow(n, size, &total)) return hak_fail_after_check(p, ENOMEM);
    return HAK_API(realloc)(p, total);
}

HAK_EXPORT int HAK_API(posix_memalign)(void **out, size_t align, size_t size)
{
    if (align < sizeof(void *) || (align & (align - 1))) return EINVAL;
    void *p = hak_aligned(align, size);
    if (!p) return ENOMEM;
    *out = p;
    return 0;
}

HAK_EXPORT void *HAK_API(aligned_alloc)(size_t align, size_t size)
{
    if (align == 0 || (align & (align - 1))) { errno = EINVAL; return NULL; }
    return hak_aligned(align, size);
}

HAK_EXPORT void *HAK_API(memalign)(size_t align, size_t size)
{
    if (align & (align - 1)) {   /* glibc rounds up to the next power of two */
        if (align > ((size_t)1 << 62)) { errno = EINVAL; return NULL; }
        size_t a = 1;
        while (a < align) a <<= 1;
        align = a;
    }
    return hak_aligned(align, size);
}

HAK_EXPORT void *HAK_API(valloc)(size_t size) { return hak_aligned(HAK_PAGE, size); }

HAK_EXPORT void *HAK_API(pvalloc)(size_t size)
{
    if (size > PTRDIFF_MAX) { errno = ENOMEM; return NULL; }
    size_t r = (size + HAK_PAGE - 1) & ~(size_t)(HAK_PAGE - 1);
    return hak_aligned(HAK_PAGE, r ? r : HAK_PAGE);
}

HAK_EXPORT size_t HAK_API(malloc_usable_size)(void *p)
{
    if (!p) return 0;
    if (!HAKMEM_BUILD_RELEASE) return hak_ref_usable(p, HAK_CORRUPT_USE_AFTER_FREE);
    return hak_usable(p);
}

__attribute__((constructor)) static void hak_constructor(void) { hak_global_init(); }
