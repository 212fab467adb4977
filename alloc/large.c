/* large.c - the large tier. Blocks up to HAKMEM_LARGE_REGION_MAX share regions: 2 MiB-
 * aligned mappings of HAKMEM_LARGE_REGION bytes cut into pages by a bitmap, first fit
 * (so 70,000 live blocks of 132 KiB take a few hundred mappings, not one each, and
 * never reach vm.max_map_count), where a place leaves the blocks before it room to grow
 * if any does (hak_lregion_fit). Bigger blocks get one 2 MiB-aligned mapping each,
 * mremap on realloc, and a cache of freed mappings kept resident within a budget.
 * Freed region pages stay resident within the same budget (beyond
 * HAKMEM_LARGE_REGION_DIRTY only while recently freed, hak_lregion_evict), then go back
 * with madvise, least recently freed first; an empty region is unmapped (one is kept).
 *
 * What the allocator trusts lives in allocator memory: a hash table of descriptors
 * keyed by user pointer (extent base and size, state, region), and the region table.
 * The 64-byte header just below the user pointer is user-reachable (an underflow can
 * write it), so it is only checked, never followed: its check word binds it to the
 * user pointer and extent size, and its last byte is the large tag. Every 2 MiB region
 * of a large mapping or region is marked in the region map. Everything here runs
 * under hak_g.lock. */
#include <errno.h>
#include <fcntl.h>
#include <sys/sysinfo.h>
#include <time.h>

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
    uintptr_t map_base;       /* the mapping, or the extent within a region */
    size_t map_size;
    size_t size;              /* requested size (what realloc copies) */
    uint32_t state;
    uint32_t dirty;           /* FREED: pages still resident */
    uint32_t region;          /* 1 + index in the region table; 0: a mapping of its own */
};

#define HAK_LREGION_PAGES (HAKMEM_LARGE_REGION / HAK_PAGE)
#define HAK_LREGION_WORDS (HAK_LREGION_PAGES / 64)
typedef struct hak_lregion {
    uintptr_t base;                      /* 0: slot unused */
    uint64_t used[HAK_LREGION_WORDS];    /* page i belongs to a live block */
    uint64_t dirty[HAK_LREGION_WORDS];   /* page i may be resident (not dropped since used) */
    uint32_t nused;                      /* pages used */
    uint32_t run_fail;                   /* a search for this many free pages failed (0: none since a free) */
    uint32_t room_fail;                  /* ... with growth room (hak_lregion_fit) */
} hak_lregion;

/* An extent of a region given back with its pages resident: where the over-budget path
 * looks first (the least recently freed pages go back to the OS first). A hint only: its
 * pages may have been reused or freed again since, and its region unmapped. */
typedef struct hak_lextent {
    uintptr_t base;
    uint32_t pages, region;   /* region: index in the region table */
    uint32_t ms;              /* when it was given back (hak_large_ms) */
} hak_lextent;

/* The process's user CPU time in milliseconds (wraps; compared by difference). Not wall
 * time: a process waiting for a core (a loaded machine) must not age its free pages,
 * or it faults them in again, runs slower still, and ages more of them (seen: 25x
 * slower under load with a wall clock). Not system time either: the kernel's time for
 * the page faults of pages given back too early aged the rest the same way (large_churn:
 * 380k faults where 16.5k do, on a machine whose faults cost 1.5 us each). */
static uint32_t hak_large_ms(void)
{
    static uint32_t last, calls;   /* under hak_g.lock */
    if (calls++ % 8) return last;  /* a system call: read at every 8th large free */
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0) return last;   /* no clock: nothing ages */
    return last = (uint32_t)((uint64_t)ru.ru_utime.tv_sec * 1000u + (uint64_t)ru.ru_utime.tv_usec / 1000u);
}

static struct {
    hak_large *slot;          /* open addressing, linear probing, tombstones */
    size_t cap, used, live;   /* used counts tombstones too */
    size_t live_bytes;        /* extent bytes of the live blocks (hak_large_budget) */
    uintptr_t cache[HAKMEM_LARGE_CACHE > 0 ? HAKMEM_LARGE_CACHE : 1];   /* FREED users */
    unsigned ncache;
    size_t cache_resident;    /* bytes of cached mappings */
    size_t region_dirty;      /* bytes of free region pages that may be resident */
    hak_lregion *reg;         /* region table (a mapping, grown by doubling) */
    unsigned nreg, capreg, cursor;   /* slots in use (some may be unused: base 0), capacity, last fit */
    uintptr_t freed[HAKMEM_LARGE_FREED_RING];   /* FREED region blocks, oldest forgotten first */
    unsigned nfreed;
    hak_lextent dring[HAKMEM_LARGE_DIRTY_RING];  /* extents given back resident, oldest first */
    unsigned dhead, dtail;    /* next to write, oldest kept (sequence numbers) */
} hak_lt;

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

/* The table rebuilt without its tombs, at twice the size, or at the same size when what
 * it keeps (live and freed descriptors) fills less than a quarter of it: removed entries
 * leave tombs, so a program that keeps a few large blocks but moves them through many
 * addresses would otherwise double the table every cap/2 addresses (262,144 slots, 12 MiB,
 * for 32 live blocks after 3M replacements). */
static int hak_lt_grow(void)
{
    size_t keep = 0;
    for (size_t i = 0; i < hak_lt.cap; i++)
        keep += hak_lt.slot[i].state == HAK_LARGE_LIVE || hak_lt.slot[i].state == HAK_LARGE_FREED;
    size_t cap = !hak_lt.cap ? 1024 : (keep + 1) * 4 <= hak_lt.cap ? hak_lt.cap : hak_lt.cap * 2;
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
    if (old) hak_os_unmap(old, ocap * sizeof *old);
    return 1;
}

/* Room for one more entry: the table grows before it is half full (and so does the
 * debug record of large blocks: a refusal of either is the caller's ENOMEM). */
static int hak_lt_room(void)
{
    return ((hak_lt.used + 1) * 2 <= hak_lt.cap || hak_lt_grow()) && hak_ref_large_room();
}

static hak_large *hak_lt_insert(const hak_large *d)
{
    if (!hak_lt_room()) return NULL;
    size_t i = hak_lt_hash(d->user) & (hak_lt.cap - 1);
    while (hak_lt.slot[i].state == HAK_LARGE_LIVE || hak_lt.slot[i].state == HAK_LARGE_FREED)
        i = (i + 1) & (hak_lt.cap - 1);
    if (hak_lt.slot[i].state == HAK_LARGE_EMPTY) hak_lt.used++;
    hak_lt.slot[i] = *d;
    return &hak_lt.slot[i];
}

static void hak_lt_remove(hak_large *e) { e->state = HAK_LARGE_TOMB; }

/* Cached mappings and free region pages kept resident, at most (mallopt M_TRIM_THRESHOLD). */
static _Atomic size_t hak_large_keep = HAKMEM_LARGE_CACHE_RESIDENT;
static _Atomic int hak_large_keep_set;   /* mallopt set it: the live bound below does not apply */

/* Under the lock: what the large tier may keep resident now. Free memory kept for reuse
 * is bounded by what is live: at most max(HAKMEM_LARGE_KEEP_MIN, HAKMEM_LARGE_KEEP_LIVE x
 * the live extent bytes) plus `freeing`, the block being freed, so
 * a program that frees nearly all its large blocks at once (a cache flushed, a database
 * emptied) gets their pages back at those frees, with no later event needed (an idle
 * program has none), while one cycling its blocks keeps as much free as it uses. The
 * bound depends on the program's ops only (never on time): the release and debug
 * builds keep and unmap the same mappings. */
static size_t hak_large_budget(size_t freeing)
{
    size_t keep = atomic_load_explicit(&hak_large_keep, memory_order_relaxed);
    if (atomic_load_explicit(&hak_large_keep_set, memory_order_relaxed)) return keep;
    size_t live = hak_lt.live_bytes * HAKMEM_LARGE_KEEP_LIVE;
    if (live < HAKMEM_LARGE_KEEP_MIN) live = HAKMEM_LARGE_KEEP_MIN;
    live += freeing;   /* a program cycling one big buffer keeps it */
    return live < keep ? live : keep;
}

/* --- regions ------------------------------------------------------------------------ */
/* First bit >= i in [0, n) equal to `one`, or n. */
static unsigned hak_bm_next(const uint64_t *bm, unsigned i, unsigned n, int one)
{
    while (i < n) {
        uint64_t w = one ? bm[i / 64] : ~bm[i / 64];
        w &= ~0ull << (i % 64);
        if (w) {
            unsigned r = (i & ~63u) + (unsigned)__builtin_ctzll(w);
            return r < n ? r : n;
        }
        i = (i & ~63u) + 64;
    }
    return n;
}
static void hak_bm_set(uint64_t *bm, unsigned i, unsigned n, int one)   /* bits [i, i+n) */
{
    for (unsigned e = i + n; i < e;) {
        unsigned k = 64 - i % 64 < e - i ? 64 - i % 64 : e - i;
        uint64_t m = (k == 64 ? ~0ull : ((1ull << k) - 1)) << (i % 64);
        if (one) bm[i / 64] |= m; else bm[i / 64] &= ~m;
        i += k;
    }
}
static unsigned hak_bm_count(const uint64_t *bm, unsigned i, unsigned n)
{
    unsigned c = 0;
    for (unsigned e = i + n; i < e;) {
        unsigned k = 64 - i % 64 < e - i ? 64 - i % 64 : e - i;
        uint64_t m = (k == 64 ? ~0ull : ((1ull << k) - 1)) << (i % 64);
        c += (unsigned)__builtin_popcountll(bm[i / 64] & m);
        i += k;
    }
    return c;
}

/* A fresh region, its slot index, or -1 (no memory, or no map entry left). */
static int hak_lregion_new(void)
{
    unsigned ri = 0;
    while (ri < hak_lt.nreg && hak_lt.reg[ri].base) ri++;
    if (ri == hak_lt.capreg) {
        unsigned cap = hak_lt.capreg ? hak_lt.capreg * 2 : 64;
        hak_lregion *r = mmap(NULL, cap * sizeof *r, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (r == MAP_FAILED) return -1;
        if (hak_lt.reg) {
            memcpy(r, hak_lt.reg, hak_lt.capreg * sizeof *r);
            hak_os_unmap(hak_lt.reg, hak_lt.capreg * sizeof *r);
        }
        hak_lt.reg = r;
        hak_lt.capreg = cap;
    }
    void *m = hak_os_map_aligned(HAKMEM_LARGE_REGION, HAK_SS_SIZE);
    if (!m) return -1;
    hak_lregion *g = &hak_lt.reg[ri];
    memset(g, 0, sizeof *g);
    g->base = (uintptr_t)m;
    if (ri == hak_lt.nreg) hak_lt.nreg++;
    hak_region_set(g->base, HAKMEM_LARGE_REGION, HAK_REGION_LARGE);
    HAK_STAT_INC(large_regions);
    return (int)ri;
}

/* Pages set in bm just below page s, counted back to at most max. */
static unsigned hak_bm_run_before(const uint64_t *bm, unsigned s, unsigned max)
{
    unsigned n = 0;
    while (n < max && s > n && (bm[(s - n - 1) / 64] >> ((s - n - 1) % 64) & 1)) n++;
    return n;
}

/* Where `pages` free pages of region g go, or -1. Exact (room 0): first fit. With room:
 * the first free run that also leaves HAKMEM_LARGE_GROW_ROOM percent of the used run
 * before it free after that run's end, so the block (or blocks) before can grow in
 * place: a growing realloc (1.5x, say) finds the pages after it free instead of copying
 * itself elsewhere. The room is only address space; its pages are never touched. */
static int hak_lregion_fit(hak_lregion *g, unsigned pages, int room)
{
    if (!g->base || HAK_LREGION_PAGES - g->nused < pages || (g->run_fail && pages >= g->run_fail)) return -1;
    if (room && g->room_fail && pages >= g->room_fail) return -1;   /* the room needed only grows with pages */
    for (unsigned i = 0;;) {
        unsigned s = hak_bm_next(g->used, i, HAK_LREGION_PAGES, 0);
        if (s + pages > HAK_LREGION_PAGES) break;
        if (room) {
            unsigned e = hak_bm_next(g->used, s, HAK_LREGION_PAGES, 1);
            unsigned before = hak_bm_run_before(g->used, s, HAK_LREGION_PAGES / 8);
            unsigned skip = (unsigned)((uint64_t)before * HAKMEM_LARGE_GROW_ROOM / 100);
            if (e - s >= skip + pages) return (int)(s + skip);
            if (e == HAK_LREGION_PAGES) break;
            i = e;
            continue;
        }
        unsigned e = hak_bm_next(g->used, s, s + pages, 1);
        if (e == s + pages) return (int)s;
        i = e;
    }
    if (room) g->room_fail = pages; else g->run_fail = pages;
    return -1;
}

/* Take `pages` pages of some region for a block: sets d's extent and region; returns
 * 1 and whether any page may hold old data (*dirty), 0 when no region can. */
static int hak_lregion_take(hak_large *d, unsigned pages, int *dirty)
{
    int ri = -1, at = -1;
    /* With room, then packed; packed only under `ulimit -v` (the window arena), where
     * address space is what runs out. */
    for (int room = HAKMEM_LARGE_GROW_ROOM > 0 && !hak_arena.window; room >= 0 && at < 0; room--) {
        if (hak_lt.cursor < hak_lt.nreg) {
            ri = (int)hak_lt.cursor;
            at = hak_lregion_fit(&hak_lt.reg[ri], pages, room);
        }
        for (unsigned i = 0; at < 0 && i < hak_lt.nreg; i++)
            if ((at = hak_lregion_fit(&hak_lt.reg[i], pages, room)) >= 0) ri = (int)i;
    }
    if (at < 0) {
        if ((ri = hak_lregion_new()) < 0) return 0;
        at = 0;
    }
    hak_lregion *g = &hak_lt.reg[ri];
    unsigned was_dirty = hak_bm_count(g->dirty, (unsigned)at, pages);
    hak_lt.region_dirty -= (size_t)was_dirty * HAK_PAGE;
    hak_bm_set(g->used, (unsigned)at, pages, 1);
    hak_bm_set(g->dirty, (unsigned)at, pages, 1);
    g->nused += pages;
    hak_lt.cursor = (unsigned)ri;
    d->map_base = g->base + (uintptr_t)at * HAK_PAGE;
    d->map_size = (size_t)pages * HAK_PAGE;
    d->region = (uint32_t)ri + 1;
    *dirty = was_dirty != 0;
    return 1;
}

static void hak_lt_forget_freed(uintptr_t user);

/* Unmap empty region g; returns the bytes of its pages that were resident (g->base is 0
 * once unmapped; on failure it stays, mapped and counted). The FREED descriptors of its
 * blocks go with it: their extents no longer exist, and a later mapping at the same
 * address (a block too big for a region) must not find a second, stale descriptor for
 * its user pointer (lookups would report a double free of a live block, or hand the
 * stale descriptor's region index to a free). */
static size_t hak_lregion_unmap(hak_lregion *g)
{
    size_t nd = (size_t)hak_bm_count(g->dirty, 0, HAK_LREGION_PAGES) * HAK_PAGE;
    hak_san_unpoison_fresh((void *)g->base, HAKMEM_LARGE_REGION);   /* ASan keeps shadow across munmap (dropped, not written) */
    if (!hak_os_unmap((void *)g->base, HAKMEM_LARGE_REGION)) return 0;
    hak_region_set(g->base, HAKMEM_LARGE_REGION, HAK_REGION_NONE);
    hak_lt.region_dirty -= nd;
    for (unsigned i = 0; i < HAKMEM_LARGE_FREED_RING; i++) {
        uintptr_t u = hak_lt.freed[i];
        if (u && u - g->base < HAKMEM_LARGE_REGION) { hak_lt_forget_freed(u); hak_lt.freed[i] = 0; }
    }
    g->base = 0;
    return nd;
}

/* Pages [from, to) of region g that are free and may be resident go back to the OS
 * (madvise, checked: what fails stays counted as resident). Returns the bytes dropped. */
static size_t hak_lregion_drop(hak_lregion *g, unsigned from, unsigned to)
{
    size_t dropped = 0;
    for (unsigned p = from; p < to;) {   /* runs of free, dirty pages */
        uint64_t w = g->dirty[p / 64] & ~g->used[p / 64] & (~0ull << (p % 64));
        if (!w) { p = (p & ~63u) + 64; continue; }
        unsigned st = (p & ~63u) + (unsigned)__builtin_ctzll(w), e = st + 1;
        if (st >= to) break;
        while (e < to && ((g->dirty[e / 64] & ~g->used[e / 64]) >> (e % 64) & 1)) e++;
        if (hak_os_decommit((void *)(g->base + (uintptr_t)st * HAK_PAGE), (size_t)(e - st) * HAK_PAGE)) {
            hak_bm_set(g->dirty, st, e - st, 0);
            hak_lt.region_dirty -= (size_t)(e - st) * HAK_PAGE;
            dropped += (size_t)(e - st) * HAK_PAGE;
        }
        p = e;
    }
    return dropped;
}

/* Free region pages may stay resident (reused without page faults) within two budgets:
 * at most `keep` bytes together with the cached mappings (the large tier's resident
 * budget, M_TRIM_THRESHOLD), and beyond HAKMEM_LARGE_REGION_DIRTY bytes only pages
 * given back less than HAKMEM_LARGE_DECAY_MS of user CPU time ago: a program cycling big blocks keeps
 * its churn resident, one that leaves free pages idle gives them back. Over either, the
 * least recently freed go back to the OS first (the dirty ring, oldest first). Pages no
 * ring entry reaches any more (freed while under budget more than a ring ago, or marked
 * by a heap reset) are found by a walk of every region once the ring is exhausted.
 * Counted: large_evictions (extents dropped), large_evict_walks. */
static void hak_lregion_evict(size_t keep, uint32_t now)
{
    for (;;) {
        int over_keep = hak_lt.region_dirty + hak_lt.cache_resident > keep;
        if (!over_keep && hak_lt.region_dirty <= HAKMEM_LARGE_REGION_DIRTY) return;
        if (hak_lt.dtail == hak_lt.dhead) break;
        const hak_lextent *x = &hak_lt.dring[hak_lt.dtail % HAKMEM_LARGE_DIRTY_RING];
        if (!over_keep && now - x->ms < HAKMEM_LARGE_DECAY_MS) return;   /* the oldest is still recent */
        hak_lt.dtail++;
        if (x->region >= hak_lt.nreg) continue;
        hak_lregion *g = &hak_lt.reg[x->region];
        if (!g->base || x->base < g->base || x->base + (size_t)x->pages * HAK_PAGE > g->base + HAKMEM_LARGE_REGION)
            continue;   /* the region went away since */
        unsigned at = (unsigned)((x->base - g->base) / HAK_PAGE);
        if (hak_lregion_drop(g, at, at + x->pages)) HAK_STAT_INC(large_evictions);
    }
    HAK_STAT_INC(large_evict_walks);
    for (unsigned i = 0; i < hak_lt.nreg; i++) {
        if (hak_lt.region_dirty + hak_lt.cache_resident <= keep && hak_lt.region_dirty <= HAKMEM_LARGE_REGION_DIRTY) break;
        if (hak_lt.reg[i].base) hak_lregion_drop(&hak_lt.reg[i], 0, HAK_LREGION_PAGES);
    }
}

/* Give a block's extent back to its region. Its pages stay resident while the budget
 * allows (reused without faults); over budget, the least recently freed pages go back
 * to the OS (hak_lregion_evict). An empty region is unmapped when another empty one
 * exists. `freeing`: the bytes of a block being freed (hak_large_budget), else 0.
 * Returns 1 if the extent's pages stayed resident. */
static int hak_lregion_put(const hak_large *d, size_t freeing)
{
    hak_lregion *g = &hak_lt.reg[d->region - 1];
    unsigned at = (unsigned)((d->map_base - g->base) / HAK_PAGE), pages = (unsigned)(d->map_size / HAK_PAGE);
    hak_bm_set(g->used, at, pages, 0);
    g->nused -= pages;
    g->run_fail = g->room_fail = 0;
    hak_lt.region_dirty += d->map_size;   /* a live block's pages are all marked dirty */
    if (hak_lt.dhead - hak_lt.dtail == HAKMEM_LARGE_DIRTY_RING) hak_lt.dtail++;   /* full: forget the oldest */
    uint32_t now = hak_large_ms();
    hak_lt.dring[hak_lt.dhead++ % HAKMEM_LARGE_DIRTY_RING] = (hak_lextent){ d->map_base, pages, d->region - 1, now };
    hak_lregion_evict(hak_large_budget(freeing), now);
    int kept = (int)(g->dirty[at / 64] >> (at % 64) & 1);
    if (g->nused) return kept;
    for (unsigned i = 0; i < hak_lt.nreg; i++) {
        hak_lregion *o = &hak_lt.reg[i];
        if (o == g || !o->base || o->nused) continue;
        hak_lregion_unmap(g);   /* if it fails, the region stays (kept and counted) */
        return g->base ? kept : 0;
    }
    return kept;
}

/* Bytes of the regions' free pages (mapped, no live block). */
static size_t hak_lregion_free_bytes(void)
{
    size_t n = 0;
    for (unsigned i = 0; i < hak_lt.nreg; i++)
        if (hak_lt.reg[i].base) n += (size_t)(HAK_LREGION_PAGES - hak_lt.reg[i].nused) * HAK_PAGE;
    return n;
}

/* Drop every free resident page of every region, and unmap every empty region. */
static size_t hak_lregion_trim(void)
{
    size_t released = 0;
    for (unsigned i = 0; i < hak_lt.nreg; i++) {
        hak_lregion *g = &hak_lt.reg[i];
        if (!g->base) continue;
        if (!g->nused) {
            size_t nd = hak_lregion_unmap(g);
            if (!g->base) { released += nd; continue; }
        }
        released += hak_lregion_drop(g, 0, HAK_LREGION_PAGES);
    }
    hak_lt.dtail = hak_lt.dhead;   /* nothing left to look for */
    return released;
}

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

/* A region block's descriptor stays FREED (a second free is a double free) until
 * HAKMEM_LARGE_FREED_RING later region frees, or until its extent start is reused. */
static void hak_lt_forget_freed(uintptr_t user)
{
    hak_large *e = hak_lt_find(user);
    if (e && e->state == HAK_LARGE_FREED && e->region) hak_lt_remove(e);
}

static size_t hak_release_locked(void);

/* Whether giving back what the heap keeps can let a failed mapping of `size` bytes
 * succeed: not above the address-space limit, nor, under the kernel's default
 * heuristic overcommit (vm.overcommit_memory 0), above the machine's RAM plus swap,
 * a mapping the kernel refuses whatever is free. Otherwise (or when unknown) it may.
 * A program probing with impossible sizes then keeps its warm memory: giving it all
 * back made the next streams of a fuzz campaign fault in their pages anew (56% of
 * the harness's page faults). Only after a failed mmap. */
static int hak_release_may_help(size_t size)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_AS, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && size > rl.rlim_cur) return 0;
    char mode = 0;
    int fd = open("/proc/sys/vm/overcommit_memory", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 1;
    ssize_t got = read(fd, &mode, 1);
    close(fd);
    struct sysinfo si;
    if (got != 1 || mode != '0' || sysinfo(&si) != 0) return 1;
    unsigned __int128 total = ((unsigned __int128)si.totalram + si.totalswap) * (si.mem_unit ? si.mem_unit : 1);
    return size <= total;
}

/* Allocate a large block. resident_only: only from a cached mapping (whose pages are
 * resident; realloc growth prefers copying into those over faulting in new pages). */
static void *hak_large_alloc(size_t size, size_t align, int zero, int resident_only)
{
    size_t off = hak_large_offset(align);
    if (size > ((size_t)1 << (HAKMEM_VA_BITS - 1)) - off) { errno = ENOMEM; return NULL; }
    /* At least one byte past the user pointer lies in the mapping, even for size 0. */
    size_t need = off + (size ? size : 1);
    size_t map_size = (need + HAK_SS_MASK) & ~HAK_SS_MASK;
    size_t map_align = align > HAK_SS_SIZE ? align : HAK_SS_SIZE;
    int in_region = align <= HAK_PAGE && need <= HAKMEM_LARGE_REGION_MAX;
    if (in_region && resident_only) return NULL;   /* realloc: grow in place, or copy */
    hak_large d = { 0 };
    int dirty = 0;
    pthread_mutex_lock(&hak_g.lock);
    if (!hak_region_ready()) { pthread_mutex_unlock(&hak_g.lock); errno = ENOMEM; return NULL; }
    if (in_region) {
        unsigned pages = (unsigned)((need + HAK_PAGE - 1) / HAK_PAGE);
        if (!hak_lregion_take(&d, pages, &dirty) && !(hak_release_locked() && hak_lregion_take(&d, pages, &dirty))) {
            pthread_mutex_unlock(&hak_g.lock);
            errno = ENOMEM;
            return NULL;
        }
        /* A dropped page reads as zero only if nobody wrote it since: a write after free
         * (the region stays mapped) faults it back with old bytes the bitmap does not
         * know of. calloc therefore zeroes region blocks itself. */
        if (zero) dirty = 1;
    } else if (map_align == HAK_SS_SIZE) {
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
    if (!dirty && !in_region) {
        pthread_mutex_unlock(&hak_g.lock);
        if (resident_only) return NULL;
        void *m = hak_os_map_aligned(map_size, map_align);
        if (!m) {   /* out of address space or map entries: give back what the heap keeps, once */
            pthread_mutex_lock(&hak_g.lock);
            size_t got = hak_release_may_help(map_size) ? hak_release_locked() : 0;
            pthread_mutex_unlock(&hak_g.lock);
            if (got) m = hak_os_map_aligned(map_size, map_align);
        }
        if (!m) { errno = ENOMEM; return NULL; }
        d.map_base = (uintptr_t)m;
        d.map_size = map_size;
        pthread_mutex_lock(&hak_g.lock);
    }
    d.user = d.map_base + off;
    d.size = size;
    d.state = HAK_LARGE_LIVE;
    d.dirty = 0;
    /* ASan: a cached mapping or region extent was poisoned when freed; a fresh mapping
     * is clean already (hak_os_map_aligned). Shadow is written once per block: for a
     * large block it is a memset of size/8 bytes, the harness's biggest cost under ASan. */
    if (dirty || in_region) hak_san_unpoison((void *)d.map_base, d.map_size);
    hak_lt_forget_freed(d.user);   /* one descriptor per user pointer, whatever freed one was left */
    if (!hak_lt_insert(&d)) {
        if (in_region) {
            hak_lregion_put(&d, 0);
            pthread_mutex_unlock(&hak_g.lock);
        } else {
            pthread_mutex_unlock(&hak_g.lock);
            hak_os_unmap((void *)d.map_base, d.map_size);
        }
        errno = ENOMEM;
        return NULL;
    }
    hak_lt.live++;
    hak_lt.live_bytes += d.map_size;
    if (!in_region) hak_region_set(d.map_base, d.map_size, HAK_REGION_LARGE);
    hak_large_seal(&d);
    hak_ref_large_live(d.user, hak_large_usable(&d));
    pthread_mutex_unlock(&hak_g.lock);
    HAK_STAT_INC(large_allocs);
    if (dirty) HAK_STAT_INC(large_reused);
    hak_vg_malloclike((void *)d.user, hak_large_usable(&d), !dirty || zero);   /* ASan: above */
    if (dirty && zero) {
        /* Zero a reused mapping: small ones by memset, big ones by dropping the pages
         * (they read as zero and fault in only where touched). */
        uintptr_t end = d.user + size, page = (d.user + HAK_PAGE - 1) & ~(uintptr_t)(HAK_PAGE - 1);
        size_t span = ((end + HAK_PAGE - 1) & ~(uintptr_t)(HAK_PAGE - 1)) - page;
        if (size < (256u << 10)) {
            memset((void *)d.user, 0, size);
        } else {
            memset((void *)d.user, 0, page - d.user);
            if (!hak_os_decommit((void *)page, span)) memset((void *)page, 0, end - page);
        }
    }
    return (void *)d.user;
}

/* Under the lock: the cached mappings (oldest first), then free region pages (least
 * recently freed first), go back until the large tier keeps at most `budget` resident
 * (a mapping free lowers the live bound: hak_large_budget). Every unmap is checked: a
 * mapping the kernel would not unmap stays cached as it was. */
static void hak_large_shrink(size_t budget)
{
    if (budget >= atomic_load_explicit(&hak_large_keep, memory_order_relaxed)) return;   /* hak_lregion_put's own budget */
    unsigned i = 0;
    while (i < hak_lt.ncache && hak_lt.cache_resident + hak_lt.region_dirty > budget) {
        hak_large *e = hak_lt_find(hak_lt.cache[i]);
        hak_large c = *e;
        hak_san_unpoison_fresh((void *)c.map_base, c.map_size);
        if (!hak_os_unmap((void *)c.map_base, c.map_size)) {   /* stays cached, as it was */
            hak_san_block_free((void *)c.user, hak_large_usable(&c));
            i++;
            continue;
        }
        hak_lt.cache_resident -= c.map_size;
        memmove(&hak_lt.cache[i], &hak_lt.cache[i + 1], (hak_lt.ncache - i - 1) * sizeof hak_lt.cache[0]);
        hak_lt.ncache--;
        hak_lt_remove(e);
        hak_region_set(c.map_base, c.map_size, HAK_REGION_NONE);
    }
    if (hak_lt.cache_resident + hak_lt.region_dirty > budget) hak_lregion_evict(budget, hak_large_ms());
}

/* Under the lock: retire a live block (cache it resident, or unmap it). Unlocks. */
static void hak_large_retire(hak_large *d)
{
    hak_large c = *d;
    hak_ref_large_dead(c.user);
    hak_lt.live--;
    hak_lt.live_bytes -= c.map_size;
    if (c.region) {
        hak_san_block_free((void *)c.user, hak_large_usable(&c));   /* the region stays mapped */
        d->state = HAK_LARGE_FREED;
        uintptr_t *slot = &hak_lt.freed[hak_lt.nfreed++ % HAKMEM_LARGE_FREED_RING];
        if (*slot && *slot != c.user) hak_lt_forget_freed(*slot);
        *slot = c.user;
        d->dirty = (uint32_t)hak_lregion_put(&c, c.map_size);   /* its pages stayed resident: counted as cached */
        pthread_mutex_unlock(&hak_g.lock);
        hak_vg_freelike((void *)c.user);
        return;
    }
    size_t budget = hak_large_budget(c.map_size);
    if (hak_lt.ncache < HAKMEM_LARGE_CACHE && c.user == c.map_base + HAK_LARGE_HDR
        && hak_lt.cache_resident + c.map_size <= budget) {
        hak_san_block_free((void *)c.user, hak_large_usable(&c));   /* stays mapped: poison it */
        d->state = HAK_LARGE_FREED;     /* stays findable: a second free is a double free */
        d->dirty = 1;
        hak_lt.cache_resident += c.map_size;
        hak_lt.cache[hak_lt.ncache++] = c.user;
        hak_large_shrink(budget);
        pthread_mutex_unlock(&hak_g.lock);
        return;
    }
    hak_large_shrink(budget);
    hak_lt_remove(d);
    hak_region_set(c.map_base, c.map_size, HAK_REGION_NONE);
    pthread_mutex_unlock(&hak_g.lock);
    hak_vg_freelike((void *)c.user);   /* unmapped: no poison, and only the header's to clear */
    hak_san_unpoison((void *)(c.user - HAK_LARGE_HDR), HAK_LARGE_HDR);
    if (hak_os_unmap((void *)c.map_base, c.map_size)) return;
    /* Not unmapped (a whole mapping only fails if the kernel is out of memory): keep it
     * tracked as a freed, decommitted block, so it is neither lost nor reused. */
    hak_os_decommit((void *)c.map_base, c.map_size);
    pthread_mutex_lock(&hak_g.lock);
    c.state = HAK_LARGE_FREED;
    c.dirty = 0;
    if (hak_lt_insert(&c)) hak_region_set(c.map_base, c.map_size, HAK_REGION_LARGE);
    pthread_mutex_unlock(&hak_g.lock);
}

static void hak_large_free(void *p)
{
    pthread_mutex_lock(&hak_g.lock);
    hak_large *d = hak_large_live(p, HAK_CORRUPT_DOUBLE_FREE);
    if (d) hak_large_retire(d);
    else pthread_mutex_unlock(&hak_g.lock);
}

/* Usable size of live large block p; 0 after a report. */
/* The usable size of the large block at p by its descriptor, no check, no report
 * (block_size). */
static size_t hak_large_size_unchecked(const void *p)
{
    pthread_mutex_lock(&hak_g.lock);
    hak_large *d = hak_lt_find((uintptr_t)p);
    size_t n = d && d->state != HAK_LARGE_FREED ? hak_large_usable(d) : 0;
    pthread_mutex_unlock(&hak_g.lock);
    return n;
}

static size_t hak_large_usable_of(void *p)
{
    pthread_mutex_lock(&hak_g.lock);
    hak_large *d = hak_large_live(p, HAK_CORRUPT_USE_AFTER_FREE);
    size_t n = d ? hak_large_usable(d) : 0;
    pthread_mutex_unlock(&hak_g.lock);
    return n;
}

/* Under the lock: a region block keeps or grows its extent in place to hold `need`
 * bytes from its start (the pages after it are free), or gives back its tail when it
 * shrinks to less than half. 0: the caller moves it. */
static int hak_lregion_resize(hak_large *d, size_t need)
{
    hak_lregion *g = &hak_lt.reg[d->region - 1];
    unsigned at = (unsigned)((d->map_base - g->base) / HAK_PAGE), cur = (unsigned)(d->map_size / HAK_PAGE);
    unsigned pages = (unsigned)((need + HAK_PAGE - 1) / HAK_PAGE);
    size_t old_usable = hak_large_usable(d);
    if (pages > cur) {
        if (need > HAKMEM_LARGE_REGION_MAX || at + pages > HAK_LREGION_PAGES
            || hak_bm_next(g->used, at + cur, at + pages, 1) != at + pages) return 0;
        hak_lt.region_dirty -= (size_t)hak_bm_count(g->dirty, at + cur, pages - cur) * HAK_PAGE;
        hak_bm_set(g->used, at + cur, pages - cur, 1);
        hak_bm_set(g->dirty, at + cur, pages - cur, 1);
        g->nused += pages - cur;
    } else if (pages < cur / 2) {
        hak_large tail = *d;
        tail.map_base = d->map_base + (uintptr_t)pages * HAK_PAGE;
        tail.map_size = (size_t)(cur - pages) * HAK_PAGE;
        hak_san_poison((void *)tail.map_base, tail.map_size);
        hak_lregion_put(&tail, 0);   /* not the whole region: nused stays above 0 */
    } else {
        d->size = need - (d->user - d->map_base);
        return 1;
    }
    hak_lt.live_bytes += (size_t)pages * HAK_PAGE - d->map_size;   /* (mod 2^64: a shrink subtracts) */
    d->map_size = (size_t)pages * HAK_PAGE;
    d->size = need - (d->user - d->map_base);
    hak_large_seal(d);   /* the check words bind the extent size */
    hak_ref_large_moved(d->user, d->user, hak_large_usable(d));
    hak_vg_resize((void *)d->user, old_usable, hak_large_usable(d));
    if (hak_large_usable(d) > old_usable) hak_san_unpoison((void *)(d->user + old_usable), hak_large_usable(d) - old_usable);
    return 1;
}

/* Under the lock: resize d's mapping in place or by moving its pages (no copy).
 * Returns the new user pointer or NULL (caller copies). */
static void *hak_large_remap_locked(hak_large *d, size_t size)
{
    size_t off = d->user - d->map_base;
    if (size > ((size_t)1 << (HAKMEM_VA_BITS - 1)) - off) return NULL;
    if (d->region) return hak_lregion_resize(d, off + size) ? (void *)d->user : NULL;
    size_t map_size = (off + size + HAK_SS_MASK) & ~HAK_SS_MASK;
    uintptr_t base = d->map_base;
    if (map_size == d->map_size) { d->size = size; return (void *)d->user; }
    if (off > HAK_SS_SIZE) return NULL;   /* over-aligned: moving would lose the alignment */
    /* The new descriptor below is inserted after the old one is removed, and a removed
     * entry keeps its slot (a tomb): make the room first, while nothing has moved, so
     * that the insert cannot fail (the caller then copies, or reports ENOMEM). Growing
     * moves every entry: d is looked up again. */
    uintptr_t user = d->user;
    if (!hak_lt_room()) return NULL;
    d = hak_lt_find(user);
    uintptr_t target;
    if (map_size < d->map_size) {
        if (!hak_os_unmap((void *)(base + map_size), d->map_size - map_size)) {   /* no map entry: keep it all */
            d->size = size;
            return (void *)d->user;
        }
        hak_region_set(base + map_size, d->map_size - map_size, HAK_REGION_NONE);
        target = base;
    } else if (mremap((void *)base, d->map_size, map_size, 0) != MAP_FAILED) {
        target = base;
    } else {
        void *dst = hak_os_map_aligned(map_size, HAK_SS_SIZE);
        if (dst && mremap((void *)base, d->map_size, map_size, MREMAP_MAYMOVE | MREMAP_FIXED, dst) == MAP_FAILED) {
            hak_os_unmap(dst, map_size);
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
    hak_lt.live_bytes += map_size - d->map_size;   /* (mod 2^64) */
    n.user = target + off;
    n.size = size;
    hak_lt_remove(d);
    d = hak_lt_insert(&n);
    HAK_CHECK(d != NULL);
    hak_region_set(n.map_base, n.map_size, HAK_REGION_LARGE);
    hak_large_seal(&n);
    hak_ref_large_moved(base + off, n.user, hak_large_usable(&n));
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
    for (size_t i = 0, seen = 0; i < hak_lt.cap && seen < hak_lt.used; i++) {   /* (used: the slots not EMPTY) */
        hak_large *e = &hak_lt.slot[i];
        if (e->state == HAK_LARGE_EMPTY) continue;
        seen++;
        if (e->state == HAK_LARGE_LIVE) hak_vg_freelike((void *)e->user);
        if (e->region) {   /* a live one's extent goes back to its region (a freed one's did) */
            if (e->state == HAK_LARGE_LIVE) {
                hak_san_poison((void *)e->map_base, e->map_size);
                hak_lregion_put(e, 0);
            }
        } else if (e->state == HAK_LARGE_LIVE || e->state == HAK_LARGE_FREED) {
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
                else hak_san_unpoison_fresh((void *)e->map_base, e->map_size);
                hak_os_unmap((void *)e->map_base, e->map_size);
            }
        }
        e->state = HAK_LARGE_EMPTY;
    }
    hak_lt.used = hak_lt.live = 0;
    hak_lt.live_bytes = 0;
    hak_lt.ncache = 0;
    memset(hak_lt.freed, 0, sizeof hak_lt.freed);
    for (unsigned i = 0; i < nkeep; i++) {
        HAK_CHECK(hak_lt_insert(&keep[i]) != NULL);
        hak_lt.cache[hak_lt.ncache++] = keep[i].user;
    }
    hak_lt.cache_resident = resident;
    /* Free region pages count as dirty from here on: a reset heap must not trust that
     * nothing wrote them (a harness writes freed memory on purpose), so the next calloc
     * there zeroes instead of relying on a dropped page reading as zero. */
    for (unsigned r = 0; r < hak_lt.nreg; r++) {
        hak_lregion *g = &hak_lt.reg[r];
        if (!g->base) continue;
        for (unsigned w = 0; w < HAK_LREGION_WORDS; w++) {
            uint64_t add = ~g->used[w] & ~g->dirty[w];
            if (!add) continue;
            hak_lt.region_dirty += (size_t)__builtin_popcountll(add) * HAK_PAGE;
            g->dirty[w] |= add;
        }
    }
    pthread_mutex_unlock(&hak_g.lock);
}

/* --- giving memory back ---------------------------------------------------------------- */
/* Under hak_g.lock: everything free the heap keeps for reuse goes back to the OS: empty
 * SuperSlabs of the pool (their address space too under `ulimit -v`), cached large
 * mappings, free region pages and empty regions. Also what ENOMEM paths try before
 * failing. Returns the bytes given back (an upper bound for SuperSlabs). */
static size_t hak_release_locked(void)
{
    size_t released = 0;
    for (hak_superslab *ss = hak_g.pool; ss; ss = ss->next) {
        if (ss->free_slabs != HAK_SS_ALL_FREE || ss->resident < 0 || (ss->resident == 0 && !hak_arena.window)) continue;
        int was = ss->resident;
        hak_ss_release_os(ss);
        if (ss->resident != was) released += was > 0 ? HAK_SS_SIZE - HAK_SLAB_SIZE : HAK_PAGE;
    }
    while (hak_lt.ncache) {
        hak_large *e = hak_lt_find(hak_lt.cache[--hak_lt.ncache]);
        hak_large c = *e;
        hak_lt.cache_resident -= c.map_size;
        hak_san_unpoison_fresh((void *)c.map_base, c.map_size);
        if (!hak_os_unmap((void *)c.map_base, c.map_size)) {   /* stays a freed, tracked block */
            if (hak_os_decommit((void *)c.map_base, c.map_size)) e->dirty = 0;
            continue;
        }
        hak_lt_remove(e);
        hak_region_set(c.map_base, c.map_size, HAK_REGION_NONE);
        released += c.map_size;
    }
    for (unsigned i = 0; i < HAKMEM_LARGE_FREED_RING; i++) {   /* their pages are dropped below */
        hak_large *e = hak_lt.freed[i] ? hak_lt_find(hak_lt.freed[i]) : NULL;
        if (e && e->state == HAK_LARGE_FREED && e->region) e->dirty = 0;
    }
    return released + hak_lregion_trim();
}

/* malloc_trim's work: the calling thread's cache goes back to its slabs and its empty
 * SuperSlabs to the pool; SuperSlabs of exited threads take in their remote frees and
 * release their empty slabs; then hak_release_locked. Other live threads' caches and
 * SuperSlabs are theirs and stay. Returns the bytes given back. */
static size_t hak_release_free_memory(void)
{
    hak_global_init();
    hak_thread *t = &hak_tls;
    hak_thread_flush_all(t);
    if (t->initialized)
        for (hak_superslab *ss = t->owned, *nx; ss; ss = nx) {
            nx = ss->next;
            if (ss->free_slabs == HAK_SS_ALL_FREE) hak_ss_disown(t, ss);
            else hak_ss_decommit_free(ss);
        }
    hak_internal_begin();   /* a corrupt remote list is reported after the lock is let go */
    pthread_mutex_lock(&hak_g.lock);
    for (hak_superslab *ss = hak_g.pool; ss; ss = ss->next) {   /* in the pool, the lock holder owns it */
        if (ss->free_slabs == HAK_SS_ALL_FREE) continue;
        for (unsigned i = 1; i < HAK_SLABS_PER_SS; i++) {
            hak_slab *sl = hak_ss_slab(ss, i);
            if (sl->cls == HAK_CLASS_NONE || sl->head != i) continue;
            hak_slab_collect(ss, sl);
            if (sl->used == 0 && !atomic_load_explicit(&sl->remote, memory_order_relaxed)) hak_slab_release(ss, sl);
        }
        if (ss->free_slabs != HAK_SS_ALL_FREE) hak_ss_decommit_free(ss);
    }
    size_t released = hak_release_locked();
    pthread_mutex_unlock(&hak_g.lock);
    hak_internal_end();
    return released;
}
