/* api.c - the malloc family. malloc and free are each one always-inline fast path
 * with a single unlikely branch to a noinline *_slow function:
 *   malloc: size -> class, pop the thread cache, write the ALLOC tag.
 *   free:   the arena's slab table gives p's slab; p is a carved block start of it
 *           (range + stride, one multiply), tag says ALLOC, the slab is this thread's;
 *           re-tag CACHED, push the cache. Other threads' blocks go home (slow path). */
#include <errno.h>
#include <unistd.h>

/* (size + 16) >> 4 -> ALLOC tag of the tiny class: the smallest class whose stride is
 * >= 16 * index. Tags, not class numbers: malloc stores the entry as the block's tag and
 * indexes the bins with it (the - HAK_TAG_ALLOC folds into the address). */
#define T(c) (HAK_TAG_ALLOC | (c))
static const uint8_t hak_tiny_tag_table[(HAK_TINY_MAX + 16) / 16 + 1] = {
    T(0), T(0), T(1), T(2), T(3), T(4), T(5), T(6), T(7), T(8), T(8), T(9), T(9), T(10), T(10), T(11), T(11),
    T(12), T(12), T(12), T(12), T(13), T(13), T(13), T(13), T(14), T(14), T(14), T(14), T(15), T(15), T(15), T(15),
    T(16), T(16), T(16), T(16), T(16), T(16), T(16), T(16), T(17), T(17), T(17), T(17), T(17), T(17), T(17), T(17),
    T(18), T(18), T(18), T(18), T(18), T(18), T(18), T(18), T(19), T(19), T(19), T(19), T(19), T(19), T(19), T(19), T(19),
};
#undef T
static_assert(sizeof hak_tiny_tag_table == 66, "one entry per 16 bytes up to 1024+16");

hak_hot_inline unsigned hak_size_class(size_t size)   /* size <= HAK_MID_MAX */
{
    return size <= HAK_TINY_MAX ? hak_tiny_tag_table[(size + 16) >> 4] - HAK_TAG_ALLOC : hak_mid_class_of(size);
}

/* A block of class cls from the thread cache, refilling it as needed. */
static void *hak_alloc_class(hak_thread *t, unsigned cls)
{
    void *p;
    if (hak_unlikely(!t->initialized) && !hak_thread_init(t)) return hak_orphan_alloc(cls);   /* exited */
    while (!(p = t->bins[cls][-1]))   /* a handler run by the refill may take blocks */
        if (!hak_refill(t, cls)) { errno = ENOMEM; return NULL; }
    t->bins[cls]--;
    unsigned tc = cls < HAK_NTINY ? cls : cls - HAK_NTINY;
    hak_tag_store(p, hak_tag_make(HAK_TAG_ALLOC, tc));
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
        uintptr_t tag = hak_tiny_tag_table[(size + 16) >> 4];
        hak_thread *t = &hak_tls;
        void **top = t->bins[tag - HAK_TAG_ALLOC];
        void *p = top[-1];
        if (hak_likely(p != NULL)) {
            t->bins[tag - HAK_TAG_ALLOC] = top - 1;
            hak_tag_store(p, (uint8_t)tag);
            hak_san_block_alloc(p, hak_class_usable((unsigned)(tag - HAK_TAG_ALLOC)), 0);
            return p;
        }
    }
    return hak_malloc_slow(size);
}

static int hak_debug_validate_free(void *p, int for_free);

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
    uint8_t tag = hak_tag_load(p);
    if (HAKMEM_CHECK_FREE_STATE && tag != sl->tag_alloc) {
        hak_report(tag == hak_tag_as(sl, HAK_TAG_CACHED) || tag == hak_tag_as(sl, HAK_TAG_FREE) ? HAK_CORRUPT_DOUBLE_FREE : HAK_CORRUPT_BAD_HEADER, p);
        return;
    }
    hak_thread *t = &hak_tls;
    int live = t->initialized || hak_thread_init(t);   /* an exited thread frees as a foreign one */
    hak_superslab *ss = hak_ss_of(a);
    hak_thread *owner = atomic_load_explicit(&ss->owner, memory_order_relaxed);
    if (!live || (owner != t && !(owner == NULL && hak_ss_claim(t, ss)))) {   /* ownerless: take it over */
        /* Another thread's block goes home at once (its owner reuses it before carving
         * fresh memory), so blocks do not scatter over every thread's slabs. */
        hak_san_block_free(p, sl->stride - 1);
        hak_slab_push_remote(ss, hak_slab_head(ss, sl), p);
        return;
    }
    unsigned c = sl->cls;
    while (*t->bins[c] == HAK_BIN_FULL) hak_bin_flush(t, c, hak_bin_cap(c) / 2);
    hak_tag_store(p, hak_tag_as(sl, HAK_TAG_CACHED));
    hak_san_block_free(p, sl->stride - 1);
    *t->bins[c]++ = p;
}

hak_hot_inline void hak_free_fast(void *p)
{
    uintptr_t a = (uintptr_t)p;
    if (!HAKMEM_BUILD_RELEASE && p && !hak_debug_validate_free(p, 1)) return;
    uintptr_t s = (a - hak_arena.base) >> HAKMEM_SLAB_SHIFT;
    if (hak_likely(s < hak_arena.nslabs)) {            /* in the arena: hak_slab_at, bounded */
        hak_slab *sl = hak_arena.table + s;            /* unused slabs hold nothing */
        if (hak_likely(hak_slab_holds(sl, a, HAKMEM_CHECK_FREE_STRIDE))) {
            uint8_t tag = hak_tag_load(p);
            hak_thread *t = &hak_tls;
            uintptr_t c = sl->cls;
            void **top = t->bins[c];
            if (hak_likely((!HAKMEM_CHECK_FREE_STATE || tag == sl->tag_alloc) && HAK_HINT_LOAD(sl->owner_id) == t->id
                           && *top != HAK_BIN_FULL)) {
                *top = p;
                t->bins[c] = top + 1;
                /* tag == tag_alloc here (the checked build): CACHED differs by two bits */
                hak_tag_store(p, HAKMEM_CHECK_FREE_STATE ? (uint8_t)(tag ^ HAK_TAG_ALLOC ^ HAK_TAG_CACHED)
                                                         : hak_tag_as(sl, HAK_TAG_CACHED));
                hak_san_block_free(p, sl->stride - 1);
                return;
            }
        }
    }
    hak_free_slow(p);
}

/* Usable size of a live block, 0 (after a report) if p is not one. */
static size_t hak_usable(void *p)
{
    uintptr_t a = (uintptr_t)p;
    unsigned region = hak_region_of(a);
    if (region == HAK_REGION_LARGE) return hak_large_usable_of(p);
    if (region == HAK_REGION_SS) {
        hak_slab *sl = hak_slab_at(hak_ss_of(a), a);
        if (hak_slab_holds(sl, a, 1)) {
            uint8_t tag = hak_tag_load(p);
            if (tag == sl->tag_alloc) return sl->stride - 1u;
            hak_report(tag == hak_tag_as(sl, HAK_TAG_CACHED) || tag == hak_tag_as(sl, HAK_TAG_FREE) ? HAK_CORRUPT_USE_AFTER_FREE
                                                                      : HAK_CORRUPT_BAD_HEADER, p);
            return 0;
        }
    }
    hak_report(HAK_CORRUPT_INVALID_POINTER, p);
    return 0;
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
    if (size > PTRDIFF_MAX) { errno = ENOMEM; return NULL; }
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
    if (__builtin_mul_overflow(n, size, &total)) { errno = ENOMEM; return NULL; }
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
    return hak_usable(p);
}

__attribute__((constructor)) static void hak_constructor(void) { hak_global_init(); }
