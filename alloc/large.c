/* large.c - the large tier: one 2 MiB-aligned mapping per block, mremap on realloc,
 * and a cache of freed mappings kept resident within a budget.
 *
 * What the allocator trusts lives in allocator memory: a hash table of descriptors
 * keyed by user pointer (map base and size, state). The 64-byte header just below
 * the user pointer is user-reachable (an underflow can write it), so it is only
 * checked, never followed: its check word binds it to the user pointer and mapping
 * size, and its last byte is the large tag. Every 2 MiB region of a large mapping is
 * marked in the region map. Everything here runs under hak_g.lock. */
#include <errno.h>

#define HAK_LARGE_MAGIC 0x48414b4c41524745ull   /* "HAKLARGE" */
#define HAK_LARGE_HDR   64u
enum { HAK_LARGE_EMPTY = 0, HAK_LARGE_LIVE = 1, HAK_LARGE_FREED = 2, HAK_LARGE_TOMB = 3 };

/* In user memory, just below the user pointer: a canary. Every word is derived from
 * the user pointer and mapping size, so a write to any of its bytes is noticed; the
 * last byte is the large tag. */
typedef struct hak_large_hdr {
    uint64_t check[HAK_LARGE_HDR / 8];
} hak_large_hdr;
static_assert(sizeof(hak_large_hdr) == HAK_LARGE_HDR, "large header is 64 bytes");

/* In allocator memory. */
struct hak_large {
    uintptr_t user;
    uintptr_t map_base;
    size_t map_size;
    size_t size;              /* requested size (what realloc copies) */
    uint32_t state;
    uint32_t dirty;           /* FREED: pages still resident */
};

static struct {
    hak_large *slot;          /* open addressing, linear probing, tombstones */
    size_t cap, used, live;   /* used counts tombstones too */
    uintptr_t cache[HAKMEM_LARGE_CACHE > 0 ? HAKMEM_LARGE_CACHE : 1];   /* FREED users */
    unsigned ncache;
    size_t cache_resident;
} hak_lt;

/* Bytes of freed mappings kept resident for reuse (mallopt M_TRIM_THRESHOLD). */
static _Atomic size_t hak_large_keep = HAKMEM_LARGE_CACHE_RESIDENT;

static inline size_t hak_lt_hash(uintptr_t user) { return (size_t)((user >> 12) * 0x9E3779B97F4A7C15ull >> 20); }

static hak_large *hak_lt_find(uintptr_t user)
{
    if (!hak_lt.cap) return NULL;
    for (size_t i = hak_lt_hash(user) & (hak_lt.cap - 1);; i = (i + 1) & (hak_lt.cap - 1)) {
        hak_large *e = &hak_lt.slot[i];
        if (e->state == HAK_LARGE_EMPTY) return NULL;
        if (e->state != HAK_LARGE_TOMB && e->user == user) return e;
    }
}

static int hak_lt_grow(void)
{
    size_t cap = hak_lt.cap ? hak_lt.cap * 2 : 1024;
    hak_large *s = mmap(NULL, cap * sizeof *s, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (s == MAP_FAILED) return 0;
    hak_large *old = hak_lt.slot;
    size_t ocap = hak_lt.cap;
    hak_lt.slot = s;
    hak_lt.cap = cap;
    hak_lt.used = 0;
    for (size_t i = 0; i < ocap; i++) {
        if (old[i].state != HAK_LARGE_LIVE && old[i].state != HAK_LARGE_FREED) continue;
        size_t j = hak_lt_hash(old[i].user) & (cap - 1);
        while (s[j].state != HAK_LARGE_EMPTY) j = (j + 1) & (cap - 1);
        s[j] = old[i];
        hak_lt.used++;
    }
    if (old) munmap(old, ocap * sizeof *old);
    return 1;
}

static hak_large *hak_lt_insert(const hak_large *d)
{
    if ((hak_lt.used + 1) * 2 > hak_lt.cap && !hak_lt_grow()) return NULL;
    size_t i = hak_lt_hash(d->user) & (hak_lt.cap - 1);
    while (hak_lt.slot[i].state == HAK_LARGE_LIVE || hak_lt.slot[i].state == HAK_LARGE_FREED)
        i = (i + 1) & (hak_lt.cap - 1);
    if (hak_lt.slot[i].state == HAK_LARGE_EMPTY) hak_lt.used++;
    hak_lt.slot[i] = *d;
    return &hak_lt.slot[i];
}

static void hak_lt_remove(hak_large *e) { e->state = HAK_LARGE_TOMB; }

/* Word i of the header; the last word's top byte is the tag at user - 1. */
static inline uint64_t hak_large_check(uintptr_t user, size_t map_size, unsigned i)
{
    uint64_t w = (HAK_LARGE_MAGIC ^ user ^ map_size) * (2 * i + 1) + i;
    if (i == HAK_LARGE_HDR / 8 - 1) w = (w & ~(0xFFull << 56)) | ((uint64_t)HAK_TAG_LARGE << 56);
    return w;
}

static HAK_NO_ASAN void hak_large_seal(const hak_large *d)
{
    hak_large_hdr *h = (hak_large_hdr *)(d->user - HAK_LARGE_HDR);
    hak_vg_open(h, HAK_LARGE_HDR);   /* Valgrind: the header is no-access to the user */
    for (unsigned i = 0; i < HAK_LARGE_HDR / 8; i++) h->check[i] = hak_large_check(d->user, d->map_size, i);
    hak_vg_close(h, HAK_LARGE_HDR);
    hak_san_poison(h, HAK_LARGE_HDR);
}
static HAK_NO_ASAN int hak_large_hdr_ok(const hak_large *d)
{
    const hak_large_hdr *h = (const hak_large_hdr *)(d->user - HAK_LARGE_HDR);
    uint64_t diff = 0;
    hak_vg_open((void *)h, HAK_LARGE_HDR);
    for (unsigned i = 0; i < HAK_LARGE_HDR / 8; i++) diff |= h->check[i] ^ hak_large_check(d->user, d->map_size, i);
    hak_vg_close((void *)h, HAK_LARGE_HDR);
    return diff == 0;
}
static inline size_t hak_large_usable(const hak_large *d) { return d->map_base + d->map_size - d->user; }

/* Under the lock: the live descriptor of user pointer p, or NULL after reporting.
 * `freed_kind` is what a freed p is reported as (double free / use after free). */
static hak_large *hak_large_live(void *p, hak_corruption_kind freed_kind)
{
    hak_large *d = hak_lt_find((uintptr_t)p);
    hak_corruption_kind k = HAK_CORRUPT_NONE;
    if (!d) k = HAK_CORRUPT_INVALID_POINTER;
    else if (d->state == HAK_LARGE_FREED) k = freed_kind;
    else if (!hak_large_hdr_ok(d)) k = HAK_CORRUPT_BAD_HEADER;
    if (k == HAK_CORRUPT_NONE) return d;
    pthread_mutex_unlock(&hak_g.lock);
    hak_report(k, p);
    pthread_mutex_lock(&hak_g.lock);
    return NULL;
}

static size_t hak_large_offset(size_t align) { return align > HAK_LARGE_HDR ? align : HAK_LARGE_HDR; }

/* Allocate a large block. resident_only: only from a cached mapping (whose pages are
 * resident; realloc growth prefers copying into those over faulting in new pages). */
static void *hak_large_alloc(size_t size, size_t align, int zero, int resident_only)
{
    size_t off = hak_large_offset(align);
    if (size > ((size_t)1 << (HAKMEM_VA_BITS - 1)) - off) { errno = ENOMEM; return NULL; }
    /* At least one byte past the user pointer lies in the mapping, even for size 0. */
    size_t map_size = (off + (size ? size : 1) + HAK_SS_MASK) & ~HAK_SS_MASK;
    size_t map_align = align > HAK_SS_SIZE ? align : HAK_SS_SIZE;
    hak_large d = { 0 };
    int dirty = 0;
    pthread_mutex_lock(&hak_g.lock);
    if (!hak_region_ready()) { pthread_mutex_unlock(&hak_g.lock); errno = ENOMEM; return NULL; }
    if (map_align == HAK_SS_SIZE) {
        unsigned best = ~0u;
        hak_large *bd = NULL;
        for (unsigned i = 0; i < hak_lt.ncache; i++) {
            hak_large *c = hak_lt_find(hak_lt.cache[i]);
            if (c->map_size < map_size || c->map_size > 2 * map_size) continue;
            if (!bd || c->map_size < bd->map_size) { best = i; bd = c; }
        }
        if (bd) {
            d = *bd;
            dirty = 1;
            hak_lt.cache_resident -= bd->map_size;
            hak_lt.cache[best] = hak_lt.cache[--hak_lt.ncache];
            hak_lt_remove(bd);
        }
    }
    if (!dirty) {
        pthread_mutex_unlock(&hak_g.lock);
        if (resident_only) return NULL;
        void *m = hak_os_map_aligned(map_size, map_align);
        if (!m) { errno = ENOMEM; return NULL; }
        d.map_base = (uintptr_t)m;
        d.map_size = map_size;
        pthread_mutex_lock(&hak_g.lock);
    }
    d.user = d.map_base + off;
    d.size = size;
    d.state = HAK_LARGE_LIVE;
    d.dirty = 0;
    /* ASan: a cached mapping was poisoned when freed; a fresh one is clean already
     * (hak_os_map_aligned). Shadow is written once per block: for a large block it is
     * a memset of size/8 bytes, the harness's biggest cost under ASan. */
    if (dirty) hak_san_unpoison((void *)d.map_base, d.map_size);
    if (!hak_lt_insert(&d)) {
        pthread_mutex_unlock(&hak_g.lock);
        hak_os_unmap((void *)d.map_base, d.map_size);
        errno = ENOMEM;
        return NULL;
    }
    hak_lt.live++;
    hak_region_set(d.map_base, d.map_size, HAK_REGION_LARGE);
    hak_large_seal(&d);
    pthread_mutex_unlock(&hak_g.lock);
    HAK_STAT_INC(large_allocs);
    if (dirty) HAK_STAT_INC(large_reused);
    hak_vg_malloclike((void *)d.user, hak_large_usable(&d), !dirty || zero);   /* ASan: above */
    if (dirty && zero) {
        /* Zero a reused mapping: small ones by memset, big ones by dropping the pages
         * (they read as zero and fault in only where touched). */
        uintptr_t end = d.user + size, page = (d.user + HAK_PAGE - 1) & ~(uintptr_t)(HAK_PAGE - 1);
        if (size < (256u << 10)) {
            memset((void *)d.user, 0, size);
        } else {
            memset((void *)d.user, 0, page - d.user);
            hak_os_decommit((void *)page, ((end + HAK_PAGE - 1) & ~(uintptr_t)(HAK_PAGE - 1)) - page);
        }
    }
    return (void *)d.user;
}

/* Under the lock: retire a live block (cache it resident, or unmap it). Unlocks. */
static void hak_large_retire(hak_large *d)
{
    hak_large c = *d;
    hak_lt.live--;
    if (hak_lt.ncache < HAKMEM_LARGE_CACHE && c.user == c.map_base + HAK_LARGE_HDR
        && hak_lt.cache_resident + c.map_size <= atomic_load_explicit(&hak_large_keep, memory_order_relaxed)) {
        hak_san_block_free((void *)c.user, hak_large_usable(&c));   /* stays mapped: poison it */
        d->state = HAK_LARGE_FREED;     /* stays findable: a second free is a double free */
        d->dirty = 1;
        hak_lt.cache_resident += c.map_size;
        hak_lt.cache[hak_lt.ncache++] = c.user;
        pthread_mutex_unlock(&hak_g.lock);
        return;
    }
    hak_lt_remove(d);
    hak_region_set(c.map_base, c.map_size, HAK_REGION_NONE);
    pthread_mutex_unlock(&hak_g.lock);
    hak_vg_freelike((void *)c.user);   /* unmapped: no poison, and only the header's to clear */
    hak_san_unpoison((void *)(c.user - HAK_LARGE_HDR), HAK_LARGE_HDR);
    hak_os_unmap((void *)c.map_base, c.map_size);
}

static void hak_large_free(void *p)
{
    pthread_mutex_lock(&hak_g.lock);
    hak_large *d = hak_large_live(p, HAK_CORRUPT_DOUBLE_FREE);
    if (d) hak_large_retire(d);
    else pthread_mutex_unlock(&hak_g.lock);
}

/* Usable size of live large block p; 0 after a report. */
static size_t hak_large_usable_of(void *p)
{
    pthread_mutex_lock(&hak_g.lock);
    hak_large *d = hak_large_live(p, HAK_CORRUPT_USE_AFTER_FREE);
    size_t n = d ? hak_large_usable(d) : 0;
    pthread_mutex_unlock(&hak_g.lock);
    return n;
}

/* Under the lock: resize d's mapping in place or by moving its pages (no copy).
 * Returns the new user pointer or NULL (caller copies). */
static void *hak_large_remap_locked(hak_large *d, size_t size)
{
    size_t off = d->user - d->map_base;
    if (size > ((size_t)1 << (HAKMEM_VA_BITS - 1)) - off) return NULL;
    size_t map_size = (off + size + HAK_SS_MASK) & ~HAK_SS_MASK;
    uintptr_t base = d->map_base;
    if (map_size == d->map_size) { d->size = size; return (void *)d->user; }
    if (off > HAK_SS_SIZE) return NULL;   /* over-aligned: moving would lose the alignment */
    uintptr_t target;
    if (map_size < d->map_size) {
        hak_region_set(base + map_size, d->map_size - map_size, HAK_REGION_NONE);
        munmap((void *)(base + map_size), d->map_size - map_size);
        target = base;
    } else if (mremap((void *)base, d->map_size, map_size, 0) != MAP_FAILED) {
        target = base;
    } else {
        void *dst = hak_os_map_aligned(map_size, HAK_SS_SIZE);
        if (dst && mremap((void *)base, d->map_size, map_size, MREMAP_MAYMOVE | MREMAP_FIXED, dst) == MAP_FAILED) {
            munmap(dst, map_size);
            dst = NULL;
        }
        if (!dst) return NULL;
        hak_region_set(base, d->map_size, HAK_REGION_NONE);
        target = (uintptr_t)dst;
    }
    size_t old_usable = hak_large_usable(d);
    hak_large n = *d;
    n.map_base = target;
    n.map_size = map_size;
    n.user = target + off;
    n.size = size;
    hak_lt_remove(d);
    d = hak_lt_insert(&n);
    HAK_CHECK(d != NULL);
    hak_region_set(n.map_base, n.map_size, HAK_REGION_LARGE);
    hak_large_seal(&n);
    if (n.user == base + off) {
        hak_vg_resize((void *)n.user, old_usable, hak_large_usable(&n));
        if (hak_large_usable(&n) > old_usable)   /* ASan: the grown tail may carry stale shadow */
            hak_san_unpoison((void *)(n.user + old_usable), hak_large_usable(&n) - old_usable);
    } else {   /* moved onto a fresh (clean) mapping: clear the old header's poison */
        hak_vg_freelike((void *)(base + off));
        hak_vg_malloclike((void *)n.user, hak_large_usable(&n), 0);
        hak_san_unpoison((void *)(base + off - HAK_LARGE_HDR), HAK_LARGE_HDR);
    }
    return (void *)n.user;
}

static void *hak_malloc_slow(size_t size);
static void hak_free_slow(void *p);

static void *hak_large_realloc(void *p, size_t size)
{
    pthread_mutex_lock(&hak_g.lock);
    hak_large *d = hak_large_live(p, HAK_CORRUPT_USE_AFTER_FREE);
    if (!d) { pthread_mutex_unlock(&hak_g.lock); return NULL; }
    /* Like glibc, every usable byte is the program's (malloc_usable_size), so a moving
     * realloc keeps all of them, not just the bytes last requested. */
    size_t usable = hak_large_usable(d);
    int plain = d->user == d->map_base + HAK_LARGE_HDR;
    if (size > HAK_MID_MAX && size > usable && plain && hak_lt.ncache) {
        /* Growing: copying into a cached mapping's resident pages beats faulting in new ones. */
        pthread_mutex_unlock(&hak_g.lock);
        void *q = hak_large_alloc(size, 16, 0, 1);
        if (q) {
            memcpy(q, p, usable < size ? usable : size);
            hak_large_free(p);
            return q;
        }
        pthread_mutex_lock(&hak_g.lock);
        d = hak_large_live(p, HAK_CORRUPT_USE_AFTER_FREE);
        if (!d) { pthread_mutex_unlock(&hak_g.lock); return NULL; }
    }
    if (size > HAK_MID_MAX) {
        void *q = hak_large_remap_locked(d, size);
        pthread_mutex_unlock(&hak_g.lock);
        if (q) return q;
    } else {
        pthread_mutex_unlock(&hak_g.lock);
    }
    void *q = hak_malloc_slow(size);
    if (!q) return NULL;
    memcpy(q, p, usable < size ? usable : size);
    hak_large_free(p);
    return q;
}

/* Forget every large block. Mappings that fit the cache stay mapped (as freed,
 * resident blocks) so the next heap reuses them instead of mapping and faulting anew:
 * the harness resets after every input. */
static void hak_large_reset(void)
{
    pthread_mutex_lock(&hak_g.lock);
    hak_large keep[HAKMEM_LARGE_CACHE > 0 ? HAKMEM_LARGE_CACHE : 1];
    unsigned nkeep = 0;
    size_t resident = 0;
    for (size_t i = 0; i < hak_lt.cap; i++) {
        hak_large *e = &hak_lt.slot[i];
        if (e->state == HAK_LARGE_LIVE) hak_vg_freelike((void *)e->user);
        if (e->state == HAK_LARGE_LIVE || e->state == HAK_LARGE_FREED) {
            if (nkeep < HAKMEM_LARGE_CACHE && e->user == e->map_base + HAK_LARGE_HDR
                && resident + e->map_size <= HAKMEM_LARGE_CACHE_RESIDENT) {
                if (e->state == HAK_LARGE_LIVE) hak_san_poison((void *)e->user, hak_large_usable(e));
                keep[nkeep] = *e;
                keep[nkeep].state = HAK_LARGE_FREED;
                keep[nkeep++].dirty = 1;
                resident += e->map_size;
            } else {   /* leave the shadow clean: a live block has only its header poisoned */
                hak_region_set(e->map_base, e->map_size, HAK_REGION_NONE);
                if (e->state == HAK_LARGE_LIVE) hak_san_unpoison((void *)(e->user - HAK_LARGE_HDR), HAK_LARGE_HDR);
                else hak_san_unpoison((void *)e->map_base, e->map_size);
                hak_os_unmap((void *)e->map_base, e->map_size);
            }
        }
        e->state = HAK_LARGE_EMPTY;
    }
    hak_lt.used = hak_lt.live = 0;
    hak_lt.ncache = 0;
    for (unsigned i = 0; i < nkeep; i++) {
        HAK_CHECK(hak_lt_insert(&keep[i]) != NULL);
        hak_lt.cache[hak_lt.ncache++] = keep[i].user;
    }
    hak_lt.cache_resident = resident;
    pthread_mutex_unlock(&hak_g.lock);
}
