/* large.c - the large tier: one 2 MiB-aligned mapping per block, a 64-byte header
 * just before the user pointer, munmap on free (or a small reuse cache), mremap on
 * realloc. Every 2 MiB region of a large mapping is marked in the region map, so any
 * pointer in it can be read without faulting; the header's check word binds it to
 * its user pointer and size. */
#include <errno.h>

#define HAK_LARGE_MAGIC 0x48414b4c41524745ull   /* "HAKLARGE" */
#define HAK_LARGE_LIVE  0x4c495645u
#define HAK_LARGE_FREED 0x46524545u
#define HAK_LARGE_HDR   64u

struct hak_large {
    uint64_t check;           /* HAK_LARGE_MAGIC ^ user ^ map_size */
    uintptr_t map_base;
    size_t map_size;
    size_t offset;            /* user - map_base */
    hak_large *next, *prev;   /* live list, or cache slot */
    size_t size;              /* requested size (what realloc must copy) */
    uint32_t state;
    uint8_t dirty;            /* cached mapping still holds old data (resident) */
    uint8_t pad[HAK_LARGE_HDR - 7 * 8 - 4 - 2];
    uint8_t tag;              /* HAK_TAG_LARGE, the byte at user - 1 */
};
static_assert(sizeof(hak_large) == HAK_LARGE_HDR, "large header is 64 bytes");

static inline uintptr_t hak_large_user(const hak_large *h) { return h->map_base + h->offset; }
static inline uint64_t hak_large_check(uintptr_t user, size_t map_size) { return HAK_LARGE_MAGIC ^ user ^ map_size; }

static HAK_NO_ASAN void hak_large_seal(hak_large *h, uint32_t state)
{
    h->state = state;
    h->tag = HAK_TAG_LARGE;
    h->check = hak_large_check(hak_large_user(h), h->map_size);
}

static void hak_live_add(hak_large *h)   /* under lock */
{
    h->prev = NULL;
    h->next = hak_g.large_live;
    if (h->next) h->next->prev = h;
    hak_g.large_live = h;
}
static void hak_live_remove(hak_large *h)   /* under lock */
{
    if (h->prev) h->prev->next = h->next; else hak_g.large_live = h->next;
    if (h->next) h->next->prev = h->prev;
}

static size_t hak_large_offset(size_t align) { return align > HAK_LARGE_HDR ? align : HAK_LARGE_HDR; }

/* Allocate a large block. resident_only: only from a cached mapping whose pages are
 * still resident (realloc growth prefers copying into those over faulting fresh pages). */
static HAK_NO_ASAN void *hak_large_alloc(size_t size, size_t align, int zero, int resident_only)
{
    size_t off = hak_large_offset(align);
    if (size > ((size_t)1 << (HAKMEM_VA_BITS - 1)) - off) { errno = ENOMEM; return NULL; }
    size_t map_size = (off + size + HAK_SS_MASK) & ~HAK_SS_MASK;
    size_t map_align = align > HAK_SS_SIZE ? align : HAK_SS_SIZE;
    hak_large *h = NULL;
    pthread_mutex_lock(&hak_g.lock);
    if (map_align == HAK_SS_SIZE) {
        unsigned best = ~0u;   /* best fit, resident first */
        for (unsigned i = 0; i < hak_g.nlarge_cache; i++) {
            hak_large *c = hak_g.large_cache[i];
            if (c->map_size < map_size || c->map_size > 2 * map_size || (resident_only && !c->dirty)) continue;
            if (best == ~0u) { best = i; continue; }
            hak_large *b = hak_g.large_cache[best];
            if (c->dirty > b->dirty || (c->dirty == b->dirty && c->map_size < b->map_size)) best = i;
        }
        if (best != ~0u) {
            h = hak_g.large_cache[best];
            hak_g.large_cache[best] = hak_g.large_cache[--hak_g.nlarge_cache];
            if (h->dirty) hak_g.large_cache_resident -= h->map_size;
        }
    }
    pthread_mutex_unlock(&hak_g.lock);
    if (!h && resident_only) return NULL;
    int zeroed = 1;   /* fresh mappings read as zero */
    if (h) {
        uintptr_t base = h->map_base;
        size_t msz = h->map_size;
        int dirty = h->dirty;
        hak_san_unpoison((void *)base, msz);
        h = (hak_large *)(base + off - HAK_LARGE_HDR);
        memset(h, 0, sizeof *h);
        h->map_base = base;
        h->map_size = msz;
        if (dirty && zero) memset((char *)h + HAK_LARGE_HDR, 0, size);
        zeroed = !dirty;
        HAK_STAT_INC(large_reused);
    } else {
        void *m = hak_os_map_aligned(map_size, map_align);
        if (!m) { errno = ENOMEM; return NULL; }
        h = (hak_large *)((uintptr_t)m + off - HAK_LARGE_HDR);
        h->map_base = (uintptr_t)m;
        h->map_size = map_size;
    }
    h->offset = off;
    h->size = size;
    hak_large_seal(h, HAK_LARGE_LIVE);
    pthread_mutex_lock(&hak_g.lock);
    hak_live_add(h);
    hak_region_set(h->map_base, h->map_size, HAK_REGION_LARGE);
    pthread_mutex_unlock(&hak_g.lock);
    HAK_STAT_INC(large_allocs);
    void *user = (void *)hak_large_user(h);
    hak_san_poison(h, HAK_LARGE_HDR);
    hak_san_block_alloc(user, h->map_size - off, zeroed);
    return user;
}

/* The header of a live large block p, or NULL after reporting what is wrong with p. */
static HAK_NO_ASAN hak_large *hak_large_lookup(void *p, int for_free)
{
    uintptr_t a = (uintptr_t)p;
    if ((a & 15) == 0 && ((a & HAK_SS_MASK) >= HAK_LARGE_HDR || hak_region_of(a - HAK_LARGE_HDR) == HAK_REGION_LARGE)) {
        hak_large *h = (hak_large *)(a - HAK_LARGE_HDR);
        if (h->check == hak_large_check(a, h->map_size) && h->tag == HAK_TAG_LARGE) {
            if (h->state == HAK_LARGE_LIVE) return h;
            if (h->state == HAK_LARGE_FREED) {
                hak_report(for_free ? HAK_CORRUPT_DOUBLE_FREE : HAK_CORRUPT_USE_AFTER_FREE, p);
                return NULL;
            }
        }
    }
    /* Slow: is p a live block whose header was damaged, or no block at all? */
    int live = 0;
    pthread_mutex_lock(&hak_g.lock);
    for (hak_large *h = hak_g.large_live; h; h = h->next)
        if (hak_large_user(h) == a) { live = 1; break; }
    pthread_mutex_unlock(&hak_g.lock);
    hak_report(live ? HAK_CORRUPT_BAD_HEADER : HAK_CORRUPT_INVALID_POINTER, p);
    return NULL;
}

static HAK_NO_ASAN size_t hak_large_usable(const hak_large *h) { return h->map_size - h->offset; }

static HAK_NO_ASAN void hak_large_release(hak_large *h)
{
    uintptr_t user = hak_large_user(h);
    hak_san_block_free((void *)user, hak_large_usable(h));
    pthread_mutex_lock(&hak_g.lock);
    hak_live_remove(h);
    /* Keep the mapping, pages and all, while the cache has room and the resident
     * budget lasts: reusing it then faults nothing in. */
    if (hak_g.nlarge_cache < HAKMEM_LARGE_CACHE && h->offset == HAK_LARGE_HDR
        && hak_g.large_cache_resident + h->map_size <= HAKMEM_LARGE_CACHE_RESIDENT) {
        hak_g.large_cache_resident += h->map_size;
        h->dirty = 1;
        hak_large_seal(h, HAK_LARGE_FREED);
        hak_g.large_cache[hak_g.nlarge_cache++] = h;
        pthread_mutex_unlock(&hak_g.lock);
        return;
    }
    hak_region_set(h->map_base, h->map_size, HAK_REGION_NONE);
    pthread_mutex_unlock(&hak_g.lock);
    hak_san_unpoison((void *)h->map_base, h->map_size);
    hak_os_unmap((void *)h->map_base, h->map_size);
}

static void hak_large_free(void *p)
{
    hak_large *h = hak_large_lookup(p, 1);
    if (h) hak_large_release(h);
}

/* Grow or shrink in place or by moving the pages (no copy). NULL: caller copies. */
static HAK_NO_ASAN void *hak_large_remap(hak_large *h, size_t size)
{
    size_t off = h->offset;
    if (size > ((size_t)1 << (HAKMEM_VA_BITS - 1)) - off) return NULL;
    size_t old_usable = hak_large_usable(h);
    size_t map_size = (off + size + HAK_SS_MASK) & ~HAK_SS_MASK;
    uintptr_t base = h->map_base, user = base + off;
    if (map_size == h->map_size) { h->size = size; return (void *)user; }
    if (off > HAK_SS_SIZE) return NULL;   /* over-aligned: moving would lose the alignment */
    void *target = NULL;
    /* The lock is held across the move: the live list links through these headers. */
    pthread_mutex_lock(&hak_g.lock);
    if (map_size < h->map_size) {
        hak_region_set(base + map_size, h->map_size - map_size, HAK_REGION_NONE);
        munmap((void *)(base + map_size), h->map_size - map_size);
        target = (void *)base;
    } else if (mremap((void *)base, h->map_size, map_size, 0) != MAP_FAILED) {
        target = (void *)base;
    } else {
        void *dst = hak_os_map_aligned(map_size, HAK_SS_SIZE);
        if (dst && mremap((void *)base, h->map_size, map_size, MREMAP_MAYMOVE | MREMAP_FIXED, dst) == MAP_FAILED) {
            munmap(dst, map_size);
            dst = NULL;
        }
        if (!dst) { pthread_mutex_unlock(&hak_g.lock); return NULL; }
        hak_region_set(base, h->map_size, HAK_REGION_NONE);
        target = dst;
    }
    hak_large *nh = (hak_large *)((uintptr_t)target + off - HAK_LARGE_HDR);
    if (nh->prev) nh->prev->next = nh; else hak_g.large_live = nh;
    if (nh->next) nh->next->prev = nh;
    nh->map_base = (uintptr_t)target;
    nh->map_size = map_size;
    nh->size = size;
    hak_large_seal(nh, HAK_LARGE_LIVE);
    hak_region_set(nh->map_base, nh->map_size, HAK_REGION_LARGE);
    pthread_mutex_unlock(&hak_g.lock);
    void *nu = (void *)hak_large_user(nh);
    if (nu == (void *)user) hak_vg_resize(nu, old_usable, hak_large_usable(nh));
    else { hak_vg_freelike((void *)user); hak_vg_malloclike(nu, hak_large_usable(nh), 0); }
    hak_san_unpoison(nu, hak_large_usable(nh));
    return nu;
}

static void hak_large_reset(void)
{
    pthread_mutex_lock(&hak_g.lock);
    hak_large *live = hak_g.large_live;
    hak_g.large_live = NULL;
    unsigned nc = hak_g.nlarge_cache;
    hak_large *cache[HAKMEM_LARGE_CACHE > 0 ? HAKMEM_LARGE_CACHE : 1];
    memcpy(cache, hak_g.large_cache, nc * sizeof cache[0]);
    hak_g.nlarge_cache = 0;
    hak_g.large_cache_resident = 0;
    pthread_mutex_unlock(&hak_g.lock);
    for (hak_large *h = live, *nx; h; h = nx) {
        nx = h->next;
        uintptr_t b = h->map_base; size_t s = h->map_size;
        hak_region_set(b, s, HAK_REGION_NONE);
        hak_san_unpoison((void *)b, s);
        hak_os_unmap((void *)b, s);
    }
    for (unsigned i = 0; i < nc; i++) {
        uintptr_t b = cache[i]->map_base; size_t s = cache[i]->map_size;
        hak_region_set(b, s, HAK_REGION_NONE);
        hak_os_unmap((void *)b, s);
    }
}
