/* stats.c - what the heap holds, and glibc's malloc extensions built on it:
 * heap_stats (mallinfo2's source), malloc_trim, malloc_stats, malloc_info, mallopt,
 * the C23 sized frees, the version, and the HAKMEM_STATS report at exit.
 *
 * Figures come from walking the heap, not from hot-path counters (the release build
 * has none): every carved block's state says whether it is live (ALLOC), in a thread
 * cache (CACHED) or on a list (FREE, REMOTE); mincore says which pages are resident.
 * Walks run under hak_g.lock, which keeps the SuperSlab list and the large tier still;
 * slabs that other threads own change meanwhile, so the walk reads each descriptor
 * once and keeps every address inside its SuperSlab: figures taken while other
 * threads allocate are a snapshot, never a fault. */
#include <fcntl.h>
#include <malloc.h>
#include <limits.h>
#include <stdarg.h>

/* A heap walk: the public figures plus per-class detail for malloc_info. */
typedef struct hak_walk {
    hak_heap_stats st;
    size_t live[HAK_NCLASS], cached[HAK_NCLASS], listed[HAK_NCLASS];   /* blocks per class */
} hak_walk;

/* The one place this file reads a block's state: what a walk counts a carved block of
 * slab h as, and whether p is a live block of h. */
enum { HAK_WALK_LIVE, HAK_WALK_CACHED, HAK_WALK_LISTED };
static inline int hak_walk_state(const hak_slab *h, void *p)
{
    (void)h;
    unsigned st = hak_state_load(p);
    return hak_st_alloc(st) ? HAK_WALK_LIVE : st == HAK_ST_CACHED ? HAK_WALK_CACHED : HAK_WALK_LISTED;
}
static inline int hak_block_live(const hak_slab *h, void *p)
{
    (void)h;
    return hak_st_alloc(hak_state_load(p)) && hak_canary_load(p) == HAK_CANARY;
}

/* Resident bytes of [p, p + n), page aligned (mincore). */
static size_t hak_resident_bytes(uintptr_t p, size_t n)
{
    unsigned char vec[512];
    size_t got = 0;
    while (n) {
        size_t pages = n / HAK_PAGE < sizeof vec ? n / HAK_PAGE : sizeof vec;
        if (!pages) break;
        if (mincore((void *)p, pages * HAK_PAGE, vec) == 0)
            for (size_t i = 0; i < pages; i++) got += (vec[i] & 1) * (size_t)HAK_PAGE;
        p += pages * HAK_PAGE;
        n -= pages * HAK_PAGE;
    }
    return got;
}

/* One slab or span: count its carved blocks by state. */
static void hak_walk_slab(hak_walk *w, hak_superslab *ss, hak_slab *h)
{
    unsigned cls = h->cls;
    uint32_t stride = h->stride, count = atomic_load_explicit(&h->count, memory_order_relaxed);
    uintptr_t first = h->first, end = hak_ss_base(ss) + HAK_SS_SIZE;
    if (cls >= HAK_NCLASS || stride != hak_class_stride[cls] || first < hak_ss_base(ss) + HAK_SLAB_SIZE + 16
        || first >= end)
        return;   /* changing under another thread right now */
    for (uint32_t k = 0; k < count && first + (uintptr_t)k * stride < end; k++) {
        int st = hak_walk_state(h, (void *)(first + (uintptr_t)k * stride));
        if (st == HAK_WALK_LIVE) w->live[cls]++;
        else if (st == HAK_WALK_CACHED) w->cached[cls]++;
        else w->listed[cls]++;
    }
}

/* Free slabs of ss whose pages trim would give back: their resident bytes. */
static size_t hak_ss_free_resident(hak_superslab *ss)
{
    size_t n = 0;
    for (unsigned i = 1; i < HAK_SLABS_PER_SS; i++)
        if ((ss->free_slabs >> i) & 1)
            n += hak_resident_bytes(hak_ss_base(ss) + ((uintptr_t)i << HAKMEM_SLAB_SHIFT), HAK_SLAB_SIZE);
    return n;
}

static void hak_walk_heap(hak_walk *w)
{
    memset(w, 0, sizeof *w);
    hak_heap_stats *st = &w->st;
    hak_thread *self = &hak_tls;
    pthread_mutex_lock(&hak_g.lock);
    for (hak_superslab *ss = hak_g.all; ss; ss = ss->all_next) {
        st->superslabs++;
        st->resident += hak_resident_bytes(hak_ss_base(ss), HAK_SS_SIZE);
        hak_thread *owner = atomic_load_explicit(&ss->owner, memory_order_relaxed);
        if (owner == NULL || owner == self) st->releasable += hak_ss_free_resident(ss);
        if (ss->free_slabs == HAK_SS_ALL_FREE) { st->superslabs_empty++; continue; }
        for (unsigned i = 1; i < HAK_SLABS_PER_SS; i++) {
            hak_slab *h = hak_ss_slab(ss, i);
            if (h->cls != HAK_CLASS_NONE && h->head == i) hak_walk_slab(w, ss, h);
        }
    }
    for (size_t i = 0; i < hak_lt.cap; i++) {
        hak_large *e = &hak_lt.slot[i];
        if (e->state != HAK_LARGE_LIVE && e->state != HAK_LARGE_FREED) continue;
        if (e->state == HAK_LARGE_FREED && e->region) {   /* its pages are the region's again (bytes below) */
            st->large_cached += e->dirty;
            continue;
        }
        size_t res = hak_resident_bytes(e->map_base, e->map_size);
        st->resident += res;
        if (e->state == HAK_LARGE_LIVE) {
            st->large_live++;
            st->large_live_bytes += e->map_size;
        } else {
            st->large_cached++;
            st->large_cached_bytes += e->map_size;
            st->releasable += res;
        }
    }
    st->large_cached_bytes += hak_lregion_free_bytes();   /* free pages of large regions */
    st->releasable += hak_lt.region_dirty;
    pthread_mutex_unlock(&hak_g.lock);
    for (unsigned c = 0; c < HAK_NCLASS; c++) {
        st->small_live_blocks += w->live[c];
        st->small_free_blocks += w->cached[c] + w->listed[c];
        st->small_live += w->live[c] * hak_class_stride[c];
        st->small_free += (w->cached[c] + w->listed[c]) * hak_class_stride[c];
    }
    st->small_mapped = st->superslabs * HAK_SS_SIZE;
    st->mapped = st->small_mapped + st->large_live_bytes + st->large_cached_bytes;
    st->live = st->small_live + st->large_live_bytes;
}

HAK_EXPORT void HAK_API(get_heap_stats)(hak_heap_stats *out)
{
    hak_walk w;
    hak_walk_heap(&w);
    *out = w.st;
}

/* --- malloc_trim ------------------------------------------------------------------- */

/* The work is hak_release_free_memory (large.c): the caller's cache and free slabs, the
 * SuperSlabs exited threads left (their remote frees taken in), the pool's empty
 * SuperSlabs, cached large mappings and free region pages all go back to the OS. */
HAK_EXPORT int HAK_API(malloc_trim)(size_t pad)
{
    (void)pad;   /* glibc keeps pad bytes at the top of its main heap; hakmem has no top */
    static const char hak_no_block;   /* (a false alarm needs an address: one no block has) */
    if (HAKMEM_TEST_FALSE_ALARM) hak_report(HAK_CORRUPT_DOUBLE_FREE, &hak_no_block);
    return hak_release_free_memory() > 0;
}

/* --- mallopt ----------------------------------------------------------------------- */

HAK_EXPORT int HAK_API(mallopt)(int param, int value)
{
    switch (param) {
    case M_TRIM_THRESHOLD:   /* free memory kept before giving it back: the large cache */
        atomic_store_explicit(&hak_large_keep, value < 0 ? SIZE_MAX : (size_t)value, memory_order_relaxed);
        atomic_store_explicit(&hak_large_keep_set, 1, memory_order_relaxed);   /* the program chose: no live bound */
        return 1;
    case M_MXFAST:           /* glibc's fastbin limit: range-checked as glibc does, no fastbins here */
        return value >= 0 && (size_t)value <= 80 * sizeof(size_t) / 4;
    case M_MMAP_THRESHOLD:   /* glibc refuses more than half its heap size; the tiers here are fixed */
        return (size_t)(long)value <= ((size_t)4 << 20) * sizeof(long);
    default:                 /* M_TOP_PAD, M_MMAP_MAX, M_CHECK_ACTION, M_PERTURB, M_ARENA_*, unknown */
        return 1;
    }
}

/* --- C23 sized frees ----------------------------------------------------------------- */

/* Usable size of p if it is a live block, else 0; reports nothing (free does). */
static size_t hak_live_usable(void *p)
{
    uintptr_t a = (uintptr_t)p;
    unsigned region = hak_region_of(a);
    if (region == HAK_REGION_LARGE) {
        pthread_mutex_lock(&hak_g.lock);
        hak_large *d = hak_lt_find(a);
        size_t n = d && d->state == HAK_LARGE_LIVE && hak_large_hdr_ok(d) ? hak_large_usable(d) : 0;
        pthread_mutex_unlock(&hak_g.lock);
        return n;
    }
    if (region != HAK_REGION_SS) return 0;
    hak_slab *sl = hak_slab_at(hak_ss_of(a), a);
    return hak_slab_holds(sl, a, 1) && hak_block_live(sl, p) ? sl->stride - 1u : 0;
}

/* The pointer first, exactly as free checks it; then the size and alignment it came
 * with (align 0: an alignment that is none, not a power of two): a block smaller than
 * the size claimed, or not aligned as claimed, is not the block the caller means. */
static void hak_free_checked_size(void *p, size_t align, size_t size)
{
    if (!p) return;
    if (!HAKMEM_BUILD_RELEASE && !hak_debug_validate_free(p, 1)) return;
    size_t usable = hak_live_usable(p);
    if (!usable) { hak_free_fast(p); return; }   /* not live: free reports what it is */
    if (size > usable || !align || ((uintptr_t)p & (align - 1))) { hak_report(HAK_CORRUPT_INVALID_POINTER, p); return; }
    hak_free_fast(p);
}

HAK_EXPORT void HAK_API(free_sized)(void *p, size_t size) { hak_free_checked_size(p, 1, size); }

HAK_EXPORT void HAK_API(free_aligned_sized)(void *p, size_t align, size_t size)
{
    hak_free_checked_size(p, align & (align - 1) ? 0 : align, size);
}

HAK_EXPORT int HAK_API(version)(void) { return HAKMEM_VERSION; }

/* --- printing ------------------------------------------------------------------------ */

/* Append to a fixed buffer (no stdio: the report at exit must not allocate). */
typedef struct { char buf[8192]; size_t n; } hak_text;
__attribute__((format(printf, 2, 3))) static void hak_text_add(hak_text *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = vsnprintf(t->buf + t->n, sizeof t->buf - t->n, fmt, ap);
    va_end(ap);
    if (r > 0) t->n += (size_t)r < sizeof t->buf - t->n ? (size_t)r : sizeof t->buf - t->n - 1;
}

static void hak_write_all(int fd, const char *s, size_t n)
{
    while (n) {
        ssize_t r = write(fd, s, n);
        if (r <= 0) return;
        s += r;
        n -= (size_t)r;
    }
}

/* The HAKMEM_STATS report: what every build knows, then the counters of a debug build. */
static void hak_stats_text(hak_text *t)
{
    hak_walk w;
    hak_walk_heap(&w);
    const hak_heap_stats *s = &w.st;
    hak_text_add(t, "hakmem %s statistics: pid %ld, hakmem %d.%d.%d\n", HAKMEM_VARIANT_NAME, (long)getpid(),
                 HAKMEM_VERSION_MAJOR, HAKMEM_VERSION_MINOR, HAKMEM_VERSION_PATCH);
#define HAK_ROW(name, v) hak_text_add(t, "  %-18s %zu\n", name, (size_t)(v));
#define HAK_HEAP_ROW(field) HAK_ROW(#field, s->field)
    HAK_HEAP_ROW(mapped) HAK_HEAP_ROW(resident) HAK_HEAP_ROW(live) HAK_HEAP_ROW(superslabs)
    HAK_HEAP_ROW(superslabs_empty) HAK_HEAP_ROW(small_mapped) HAK_HEAP_ROW(small_live_blocks)
    HAK_HEAP_ROW(small_live) HAK_HEAP_ROW(small_free_blocks) HAK_HEAP_ROW(small_free) HAK_HEAP_ROW(large_live)
    HAK_HEAP_ROW(large_live_bytes) HAK_HEAP_ROW(large_cached) HAK_HEAP_ROW(large_cached_bytes) HAK_HEAP_ROW(releasable)
#undef HAK_HEAP_ROW
#if HAKMEM_DEBUG_COUNTERS
#define HAK_STAT_ROW(n) HAK_ROW(#n, atomic_load(&hak_g_stats.n))
    HAK_STAT_LIST(HAK_STAT_ROW)
#undef HAK_STAT_ROW
#endif
#undef HAK_ROW
}

/* HAKMEM_STATS_FILE: "%p" in the path becomes the process id (one file per process
 * when the program runs others). */
static int hak_stats_open(const char *path)
{
    char name[4096];
    size_t n = 0;
    for (const char *c = path; *c && n + 24 < sizeof name; c++) {
        if (c[0] == '%' && c[1] == 'p') { n += (size_t)snprintf(name + n, sizeof name - n, "%ld", (long)getpid()); c++; }
        else name[n++] = *c;
    }
    name[n] = 0;
    return open(name, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
}

__attribute__((destructor)) static void hak_stats_at_exit(void)
{
    const char *e = getenv("HAKMEM_STATS");
    if (!e || strcmp(e, "1") != 0) return;
    const char *path = getenv("HAKMEM_STATS_FILE");
    int fd = 2;
    if (path && *path && (fd = hak_stats_open(path)) < 0) {
        hak_write_line("hakmem: HAKMEM_STATS_FILE cannot be opened; statistics not written");
        return;
    }
    static hak_text t;   /* 8 KiB: not on the stack of whatever thread exits */
    t.n = 0;
    hak_stats_text(&t);
    hak_write_all(fd, t.buf, t.n);
    if (fd != 2) close(fd);
}

HAK_EXPORT void HAK_API(malloc_stats)(void)
{
    hak_walk w;
    hak_walk_heap(&w);
    const hak_heap_stats *s = &w.st;
    hak_text t;
    t.n = 0;
    /* glibc's layout: the arena (here: the SuperSlab heap), then totals with mmap. */
    hak_text_add(&t, "Arena 0:\nsystem bytes     = %10zu\nin use bytes     = %10zu\n", s->small_mapped, s->small_live);
    hak_text_add(&t, "Total (incl. mmap):\nsystem bytes     = %10zu\nin use bytes     = %10zu\n", s->mapped, s->live);
    hak_text_add(&t, "mmap regions     = %10zu\nmmap bytes       = %10zu\n", s->large_live, s->large_live_bytes);
    hak_write_all(2, t.buf, t.n);
}

HAK_EXPORT int HAK_API(malloc_info)(int options, FILE *fp)
{
    if (options != 0) return EINVAL;   /* as glibc */
    hak_walk w;
    hak_walk_heap(&w);
    const hak_heap_stats *s = &w.st;
    size_t ncached = 0, bcached = 0, nlisted = 0, blisted = 0;
    fprintf(fp, "<malloc version=\"1\">\n<heap nr=\"0\">\n<sizes>\n");
    for (unsigned c = 0; c < HAK_NCLASS; c++) {
        /* sizes a class serves: above the previous class's, up to its stride (the
         * page-aligned classes serve only aligned requests of their own stride) */
        size_t n = w.cached[c] + w.listed[c];
        size_t from = c == 0 ? 1 : c >= HAK_NSIZED ? hak_class_stride[c] : hak_class_stride[c - 1] + 1u;
        ncached += w.cached[c]; bcached += w.cached[c] * hak_class_stride[c];
        nlisted += w.listed[c]; blisted += w.listed[c] * hak_class_stride[c];
        if (n) fprintf(fp, "  <size from=\"%zu\" to=\"%u\" total=\"%zu\" count=\"%zu\"/>\n", from,
                       hak_class_stride[c], n * hak_class_stride[c], n);
    }
    fprintf(fp, "</sizes>\n<total type=\"fast\" count=\"%zu\" size=\"%zu\"/>\n"
                "<total type=\"rest\" count=\"%zu\" size=\"%zu\"/>\n"
                "<system type=\"current\" size=\"%zu\"/>\n<aspace type=\"total\" size=\"%zu\"/>\n</heap>\n",
            ncached, bcached, nlisted, blisted, s->small_mapped, s->small_mapped);
    fprintf(fp, "<total type=\"fast\" count=\"%zu\" size=\"%zu\"/>\n<total type=\"rest\" count=\"%zu\" size=\"%zu\"/>\n"
                "<total type=\"mmap\" count=\"%zu\" size=\"%zu\"/>\n<system type=\"current\" size=\"%zu\"/>\n"
                "<aspace type=\"total\" size=\"%zu\"/>\n</malloc>\n",
            ncached, bcached, nlisted + s->large_cached, blisted + s->large_cached_bytes, s->large_live,
            s->large_live_bytes, s->mapped, s->mapped);
    return 0;
}
