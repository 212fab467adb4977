/* test_heap.c - heap-wide paths no op stream reaches, each in a fork child:
 * - large regions: the region table grows past its first 64 regions; malloc_trim
 *   drops the free pages of regions in use and unmaps the empty region a heap keeps;
 *   over budget, free pages go back by the dirty ring (passing over entries of regions
 *   gone since) and then by a walk for the pages the ring forgot; heap_reset keeps at most the cache's resident
 *   budget of freed mappings and unmaps the rest; realloc grows a large block into a
 *   cached mapping that fits; block_size answers from the metadata, unchecked;
 * - malloc_trim takes in the remote frees of SuperSlabs exited threads left in the pool
 *   and releases their empty slabs;
 * - threads: a thread past its destructor allocates from the orphan heap; a thread that
 *   meets another thread's first use mid-initialisation waits for it; a cached block
 *   whose SuperSlab has another owner when the bin flushes goes to that owner's remote
 *   list;
 * - statistics skip a slab whose descriptor changes under them;
 * - debug build: the record's own consistency checks (a carve onto a block the record
 *   does not hold as fresh, a large block handed out twice, or freed when unknown or
 *   freed already, a small block moved that is no block start of the record or from a
 *   state its path cannot start from, hooks called for a SuperSlab or slab they do not
 *   belong to, no record left) stop with the fixed internal-error line, and a fork
 *   child's suspect record accepts a half-done carve. */
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
/* small regions: 8 blocks of the largest region size fill one, and 65 regions are
 * 260 MiB of address space */
#define HAKMEM_LARGE_REGION (4u << 20)
/* packed first fit: the region counts below are a packed layout's (the room a new
 * block leaves for the ones before it to grow is tested by tests/preload/large_churn) */
#define HAKMEM_LARGE_GROW_ROOM 0
#include "hakmem.c"
#include "unit.h"
#include "child.h"

#define REGION_BLOCK (HAKMEM_LARGE_REGION_MAX - HAK_LARGE_HDR)   /* the largest region block */

static int mapped(const void *p)   /* is the page at p mapped? */
{
    unsigned char v;
    return mincore((void *)((uintptr_t)p & ~(uintptr_t)4095), 4096, &v) == 0;
}

static void regions_grow_and_trim(void)
{
    enum { N = 8 * 65 };
    static void *b[N];
    for (int i = 0; i < N; i++) {
        b[i] = HAK_API(malloc)(REGION_BLOCK);
        EXPECT(b[i] != NULL);
        if (!b[i]) return;
        memset(b[i], i & 0xff, 64);
    }
    EXPECT_EQ(hak_lt.nreg, 65);
    EXPECT_EQ(hak_lt.capreg, 128);   /* grown from 64, every region kept */
    int intact = 1;
    for (int i = 0; i < N; i++) intact &= ((unsigned char *)b[i])[63] == (i & 0xff);
    EXPECT(intact);
    uintptr_t base0 = hak_lt.reg[0].base;
    /* half of them freed: their pages stay resident within the budget; malloc_trim
     * drops the free pages of regions still in use */
    for (int i = 0; i < N; i += 2) HAK_API(free)(b[i]);
    EXPECT(hak_lt.region_dirty > 0);
    EXPECT(HAK_API(malloc_trim)(0) == 1);
    EXPECT_EQ(hak_lt.region_dirty, 0);
    EXPECT_EQ(hak_lt.nreg, 65);   /* every region still holds live blocks */
    intact = 1;
    for (int i = 1; i < N; i += 2) intact &= ((unsigned char *)b[i])[63] == (i & 0xff);
    EXPECT(intact);
    for (int i = 1; i < N; i += 2) HAK_API(free)(b[i]);
    unsigned left = 0;
    for (unsigned i = 0; i < hak_lt.nreg; i++) left += hak_lt.reg[i].base != 0;
    EXPECT_EQ(left, 1);   /* empty regions go back as they empty, but one is kept */
    EXPECT(HAK_API(malloc_trim)(0) == 1);
    left = 0;
    for (unsigned i = 0; i < hak_lt.nreg; i++) left += hak_lt.reg[i].base != 0;
    EXPECT_EQ(left, 0);   /* malloc_trim gives back the kept one too */
    EXPECT_EQ(hak_region_of(base0), HAK_REGION_NONE);
    void *p = HAK_API(malloc)(REGION_BLOCK);   /* and a new one is mapped on demand */
    EXPECT(p != NULL);
    HAK_API(free)(p);
}

static void reset_drops_freed_mappings(void)
{
    enum { N = 32 };
    static void *b[N];
    HAK_API(mallopt)(M_TRIM_THRESHOLD, -1);   /* the cache keeps all 32, whatever their size */
    for (int i = 0; i < N; i++) b[i] = HAK_API(malloc)((size_t)3 << 20);   /* a 4 MiB mapping each */
    for (int i = 0; i < N; i++) HAK_API(free)(b[i]);
    EXPECT_EQ(hak_lt.ncache, N);
    HAK_API(heap_reset)();
    /* a reset heap keeps HAKMEM_LARGE_CACHE_RESIDENT bytes of them, unmaps the rest */
    EXPECT_EQ(hak_lt.ncache, HAKMEM_LARGE_CACHE_RESIDENT / (4u << 20));
    int gone = 0;
    for (int i = 0; i < N; i++) gone += !mapped(b[i]) && hak_region_of((uintptr_t)b[i]) == HAK_REGION_NONE;
    EXPECT_EQ(gone, N - (int)(HAKMEM_LARGE_CACHE_RESIDENT / (4u << 20)));
}

/* The large tier's descriptor table follows the live set, not the addresses ever used:
 * 32 live blocks of 70 KiB-3 MiB and 5-25 MiB replaced one at a time, 300,000 times
 * (removed descriptors leave tombs; a table that doubled at every rebuild had 2,048 slots
 * here, 4,096 after 1M, 65,536 after 300,000 of a program whose addresses vary more):
 * the table keeps its first size, 1,024, which 32 live and the freed it keeps never fill.
 * Each block is used, and the replacement's bytes are its own. */
static void large_table_follows_live(void)
{
    enum { N = 32 };
    static unsigned char *b[N];
    uint64_t x = 88172645463325252ull;
    for (unsigned long it = 0; it < 300000; it++) {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        unsigned i = (unsigned)(x % N);
        if (b[i]) EXPECT(b[i][0] == (unsigned char)i);
        HAK_API(free)(b[i]);
        size_t n = (x >> 8) % 3 ? 70000 + (x >> 16) % (3u << 20) : (5u << 20) + (x >> 16) % (20u << 20);
        b[i] = HAK_API(malloc)(n);
        if (!b[i]) { EXPECT(b[i] != NULL); return; }
        b[i][0] = (unsigned char)i;
    }
    EXPECT_EQ(hak_lt.cap, 1024);
    EXPECT_EQ(hak_lt.live, N);
    for (unsigned i = 0; i < N; i++) HAK_API(free)(b[i]);
}

/* A large block grown by realloc past its mapping takes a cached mapping that fits
 * (its pages are resident: a copy beats faulting fresh ones in), and the bytes move
 * along. A live block keeps the budget up, so the freed mapping stays cached. */
static void realloc_takes_cached_mapping(void)
{
    void *live = HAK_API(malloc)((size_t)8 << 20);
    unsigned char *c = HAK_API(malloc)((size_t)16 << 20);   /* an 18 MiB mapping */
    EXPECT(live != NULL && c != NULL);
    HAK_API(free)(c);
    EXPECT_EQ(hak_lt.ncache, 1);
    size_t n = (size_t)5 << 20;   /* a mapping of its own (6 MiB): the cached one is too big for it */
    unsigned char *p = HAK_API(malloc)(n);
    EXPECT(p != NULL && p != c);
    EXPECT_EQ(hak_lt.ncache, 1);
    for (size_t i = 0; i < n; i += 4096) p[i] = (unsigned char)(i >> 12);
    p[n - 1] = 0xa5;
    unsigned char *q = HAK_API(realloc)(p, (size_t)12 << 20);   /* 14 MiB: the cached mapping fits */
    EXPECT(q == c);
    EXPECT_EQ(hak_lt.ncache, 1);   /* the cached one taken, the old one freed into the cache */
    EXPECT(hak_lt.cache[0] == (uintptr_t)p);
    int same = q != NULL && q[n - 1] == 0xa5;
    for (size_t i = 0; q && i < n; i += 4096) same &= q[i] == (unsigned char)(i >> 12);
    EXPECT(same);
    EXPECT(HAK_API(malloc_usable_size)(q) >= (size_t)12 << 20);
    HAK_API(free)(q);
    HAK_API(free)(live);
}

/* block_size: the usable size the metadata records, no check and no report: a large
 * block's even with its header overwritten (the checked malloc_usable_size reports
 * that one), 0 for a freed large block and for memory not the heap's. */
static void block_size_unchecked(void)
{
    HAK_API(set_corruption_handler)(unit_record, NULL);
    void *s = HAK_API(malloc)(100);
    unsigned char *l = HAK_API(malloc)(300000);          /* a region block */
    unsigned char *m = HAK_API(malloc)((size_t)5 << 20); /* a mapping of its own */
    EXPECT(s != NULL && l != NULL && m != NULL);
    size_t ul = HAK_API(malloc_usable_size)(l), um = HAK_API(malloc_usable_size)(m);
    EXPECT_EQ(HAK_API(block_size)(s), HAK_API(malloc_usable_size)(s));
    EXPECT_EQ(HAK_API(block_size)(l), ul);
    EXPECT_EQ(HAK_API(block_size)(m), um);
    unsigned char saved = l[-1];
    l[-1] ^= 0xff;   /* the header below the user pointer */
    EXPECT_EQ(HAK_API(block_size)(l), ul);
    EXPECT_EQ(unit_total_reports(), 0);
    EXPECT_EQ(HAK_API(malloc_usable_size)(l), 0);   /* the checked way reports it */
    EXPECT_EQ(unit_reports[HAK_CORRUPT_BAD_HEADER], 1);
    unit_clear_reports();
    l[-1] = saved;
    HAK_API(free)(l);
    HAK_API(free)(m);
    EXPECT_EQ(HAK_API(block_size)(l), 0);
    EXPECT_EQ(HAK_API(block_size)(m), 0);
    static char not_heap[64];
    EXPECT_EQ(HAK_API(block_size)(not_heap), 0);
    EXPECT_EQ(unit_total_reports(), 0);
    HAK_API(free)(s);
}

/* Free region pages over budget go back oldest first by the dirty ring; entries of a
 * region unmapped since are passed over, and pages the ring forgot (it overflowed) are
 * found by a walk of every region. */
static void evict_stale_and_walk(void)
{
    enum { NB = 16, NA = 300 };
    static void *big[NB], *a[NA];
    for (int i = 0; i < NB; i++) big[i] = HAK_API(malloc)(REGION_BLOCK);   /* two full regions */
    for (int i = 0; i < NA; i++) a[i] = HAK_API(malloc)(140000);           /* 36 pages each */
    EXPECT(big[NB - 1] != NULL && a[NA - 1] != NULL);
    for (int i = 0; i < NA; i++) HAK_API(free)(a[i]);   /* more frees than the ring holds */
    EXPECT(hak_lt.dhead - hak_lt.dtail == HAKMEM_LARGE_DIRTY_RING);
    EXPECT(hak_lt.region_dirty > 0);
    HAK_API(mallopt)(M_TRIM_THRESHOLD, 0);   /* nothing may stay resident now */
    HAK_API(free)(big[0]);
    EXPECT_EQ(hak_lt.region_dirty, 0);
#if HAKMEM_DEBUG_COUNTERS
    EXPECT(hak_g_stats.large_evict_walks > 0);
#endif
    for (int i = 1; i < NB; i++) HAK_API(free)(big[i]);
    EXPECT_EQ(hak_lt.region_dirty, 0);
}

/* A thread fills slabs and exits with its blocks live: its SuperSlab goes to the pool.
 * Past its destructor it frees all but one of them: a thread that has exited frees as
 * a foreign one, onto the remote lists of the SuperSlab in the pool (nobody claims it).
 * malloc_trim takes those in and releases the slabs that emptied. */
/* Run body on a thread whose pthread key destructor `late` runs after hakmem's own
 * (keys run in creation order, and hakmem's key is made at the first use). */
static pthread_key_t late_key;
static void *(*late_body)(void *);
static void *late_thread(void *arg)
{
    pthread_setspecific(late_key, (void *)1);
    return late_body(arg);
}
static void run_past_exit(void *(*body)(void *), void (*late)(void *))
{
    HAK_API(free)(HAK_API(malloc)(16));
    pthread_key_create(&late_key, late);
    late_body = body;
    pthread_t th;
    pthread_create(&th, NULL, late_thread, NULL);
    pthread_join(th, NULL);
}

static void *held[2000];
static void free_after_exit(void *arg)
{
    (void)arg;
    for (int i = 1; i < 2000; i++) HAK_API(free)(held[i]);
}
static void *fill_and_exit(void *arg)
{
    (void)arg;
    for (int i = 0; i < 2000; i++) held[i] = HAK_API(malloc)(200);
    return NULL;
}
static void trim_collects_pool(void)
{
    run_past_exit(fill_and_exit, free_after_exit);
    hak_superslab *ss = hak_ss_of((uintptr_t)held[1000]);
    hak_slab *sl = hak_slab_head(ss, hak_slab_at(ss, (uintptr_t)held[1000]));
    EXPECT(ss->in_pool && atomic_load(&ss->owner) == NULL);
    EXPECT(atomic_load(&sl->remote) != NULL);   /* the frees wait on the slab's remote list */
    EXPECT(ss->free_slabs != HAK_SS_ALL_FREE);
    HAK_API(malloc_trim)(0);
    EXPECT(ss->in_pool);
    EXPECT(atomic_load(&sl->remote) == NULL);
    EXPECT_EQ(sl->cls, HAK_CLASS_NONE);          /* emptied: released */
    hak_slab *first = hak_slab_head(ss, hak_slab_at(ss, (uintptr_t)held[0]));
    EXPECT(first->cls != HAK_CLASS_NONE);        /* the one live block keeps its slab */
    EXPECT(ss->free_slabs != HAK_SS_ALL_FREE);
    HAK_API(free)(held[0]);
}

/* --- threads --- */
static void *orphan_block;
static hak_thread *orphan_owner;
static void late_destructor(void *arg)
{
    (void)arg;
    orphan_block = HAK_API(malloc)(48);   /* after hakmem's own destructor: the orphan heap */
    orphan_owner = orphan_block ? atomic_load(&hak_ss_of((uintptr_t)orphan_block)->owner) : NULL;
    HAK_API(free)(orphan_block);        /* frees as a foreign thread: its remote list */
}
static void *uses_heap_then_exits(void *arg)
{
    (void)arg;
    HAK_API(free)(HAK_API(malloc)(48));
    return NULL;
}
static void orphan_heap(void)
{
    run_past_exit(uses_heap_then_exits, late_destructor);
    EXPECT(orphan_block != NULL);
    EXPECT(orphan_owner == &hak_orphan);
    EXPECT(hak_orphan.initialized);
    void *p = HAK_API(malloc)(48);
    EXPECT(p != NULL && atomic_load(&hak_ss_of((uintptr_t)p)->owner) == &hak_tls);
    HAK_API(free)(p);
}

static void *first_use(void *arg)
{
    *(void **)arg = HAK_API(malloc)(32);
    return NULL;
}
static void init_wait(void)
{
    void *got = NULL;
    /* another thread is mid-way through the first initialisation (state 1) */
    atomic_store(&hak_g.init_state, 1);
    pthread_t th;
    pthread_create(&th, NULL, first_use, &got);
    usleep(20000);
    EXPECT(got == NULL);   /* it waits */
    atomic_store(&hak_g.init_state, 0);
    hak_global_init();     /* the initialisation completes */
    pthread_join(th, NULL);
    EXPECT(got != NULL);
    EXPECT_EQ(atomic_load(&hak_g.init_state), 2);
    HAK_API(free)(got);
}

/* No path today gives a SuperSlab away while its owner caches one of its blocks (a
 * cached block keeps its slab in use); the flush still checks, and sends such a block
 * home by the new owner's remote list, where the owner's collect finds it. */
static hak_thread *_Atomic other_thread;
static _Atomic int other_go;
static void *other_owner(void *arg)
{
    (void)arg;
    HAK_API(free)(HAK_API(malloc)(64));
    other_thread = &hak_tls;
    while (!atomic_load(&other_go)) sched_yield();
    return NULL;
}
static void flush_to_new_owner(void)
{
    pthread_t th;
    pthread_create(&th, NULL, other_owner, NULL);
    while (!atomic_load(&other_thread)) sched_yield();
    void *p = HAK_API(malloc)(64);
    HAK_API(free)(p);   /* cached in this thread's bin */
    hak_superslab *ss = hak_ss_of((uintptr_t)p);
    hak_slab *head = hak_slab_head(ss, hak_slab_at(ss, (uintptr_t)p));
    EXPECT(atomic_load(&ss->owner) == &hak_tls);
    EXPECT_EQ(hak_state_load(p), HAK_ST_CACHED);
    atomic_store(&ss->owner, other_thread);
    HAK_API(thread_flush)();
    EXPECT(atomic_load(&head->remote) != 0);   /* on the remote list, not the local one */
    EXPECT_EQ(hak_state_load(p), HAK_ST_REMOTE);
    atomic_store(&ss->owner, &hak_tls);
    atomic_store(&other_go, 1);
    pthread_join(th, NULL);
}

/* A slab descriptor that does not describe its class (changing under the walk) is skipped. */
static void stats_skip_changing_slab(void)
{
    static void *b[100];
    for (int i = 0; i < 100; i++) b[i] = HAK_API(malloc)(64);
    hak_heap_stats s;
    HAK_API(get_heap_stats)(&s);
    EXPECT(s.small_live_blocks >= 100);
    size_t before = s.small_live_blocks;
    hak_superslab *ss = hak_ss_of((uintptr_t)b[0]);
    hak_slab *head = hak_slab_head(ss, hak_slab_at(ss, (uintptr_t)b[0]));
    uint32_t stride = head->stride;
    head->stride = stride + 16;
    HAK_API(get_heap_stats)(&s);
    EXPECT(s.small_live_blocks <= before - 100);
    head->stride = stride;
    HAK_API(get_heap_stats)(&s);
    EXPECT_EQ(s.small_live_blocks, before);
    for (int i = 0; i < 100; i++) HAK_API(free)(b[i]);
}

#if !HAKMEM_BUILD_RELEASE
/* the next carve's position, as the record sees it */
static uintptr_t next_carve(void *p, hak_ref_ss **rp, hak_ref_slab **sp)
{
    hak_superslab *ss = hak_ss_of((uintptr_t)p);
    hak_slab *head = hak_slab_head(ss, hak_slab_at(ss, (uintptr_t)p));
    unsigned idx;
    uintptr_t base = hak_ref_head_pos(head, &idx);
    *rp = hak_ref_lookup((void *)base);
    *sp = &(*rp)->slab[idx];
    return base + (*sp)->first + (uintptr_t)(*sp)->carved * (*sp)->stride;
}
static void carve_out_of_step(void)
{
    void *p = HAK_API(malloc)(64);
    hak_ref_ss *r;
    hak_ref_slab *s;
    uintptr_t want = next_carve(p, &r, &s);
    hak_ref_set(r, want, HAK_REF_ALLOC);   /* the record says the next fresh block is live */
    for (int i = 0; i < 10000; i++) HAK_API(malloc)(64);   /* a carve reaches it: stop */
}
static void carve_suspect_accepted(void)
{
    void *p = HAK_API(malloc)(64);
    hak_ref_ss *r;
    hak_ref_slab *s;
    uintptr_t want = next_carve(p, &r, &s);
    hak_ref_set(r, want, HAK_REF_ALLOC);
    r->suspect = 1;   /* as a fork child's record of a thread left behind */
    uint32_t carved = s->carved;
    int ok = 1;
    for (int i = 0; i < 1000; i++) ok &= HAK_API(malloc)(64) != NULL;
    EXPECT(ok);
    EXPECT(s->carved > carved);   /* the carve went on over the block the record doubted */
}
/* A fork child's record one block behind the carve (its thread was left between carving
 * and counting): the next carve is not where the record expects, and is accepted there. */
static void carve_suspect_behind(void)
{
    void *p = HAK_API(malloc)(64);
    hak_ref_ss *r;
    hak_ref_slab *s;
    (void)next_carve(p, &r, &s);
    r->suspect = 1;
    uint32_t carved = s->carved--;
    int ok = 1;
    for (int i = 0; i < 1000 && s->carved < carved + 1; i++) ok &= HAK_API(malloc)(64) != NULL;
    EXPECT(ok);
    EXPECT(s->carved > carved);   /* the count followed the carve to where it really is, and went on */
}
static void large_live_twice(void)
{
    void *p = HAK_API(malloc)(300000);
    size_t usable = HAK_API(malloc_usable_size)(p);
    pthread_mutex_lock(&hak_g.lock);
    hak_ref_large_live((uintptr_t)p, usable);
}
/* The record told that a large block it never handed out, or one freed already, is
 * freed (what only a wrong path of the large tier could do). */
static void large_dead_unknown(void)
{
    void *p = HAK_API(malloc)(300000);   /* the record's table exists */
    pthread_mutex_lock(&hak_g.lock);
    hak_ref_large_dead((uintptr_t)p + 4096);
}
static void large_dead_twice(void)
{
    void *p = HAK_API(malloc)(300000);
    pthread_mutex_lock(&hak_g.lock);
    hak_ref_large_dead((uintptr_t)p);
    hak_ref_large_dead((uintptr_t)p);
}
/* A small block moved that the record does not know as a block start (outside every
 * recorded SuperSlab, or not 16-aligned), or moved from a state its path cannot start
 * from (malloc's move, of a block the record holds as handed out already). */
static void note_outside_record(void)
{
    static char not_heap[64] __attribute__((aligned(16)));
    HAK_API(free)(HAK_API(malloc)(64));   /* the record exists */
    hak_ref_note(not_heap, HAK_REF_CACHED);
}
static void note_misaligned(void)
{
    char *p = HAK_API(malloc)(64);
    hak_ref_note(p + 8, HAK_REF_CACHED);
}
static void note_from_wrong_state(void)
{
    void *p = HAK_API(malloc)(64);
    hak_ref_note(p, HAK_REF_ALLOC);
}
/* The record's hooks called for SuperSlabs and slabs they do not belong to (what only
 * a wrong path of the heap could do): a SuperSlab slot past the arena's, one that was
 * never entered (the arena's last slot), a span that is not its SuperSlab's, a slab
 * that heads no span, a record slot holding another SuperSlab's record, no record
 * left. One SuperSlab is in use in each (a fresh child). */
static hak_superslab *unentered_ss(void)
{
    hak_superslab *ss = hak_arena.ss + (hak_arena.nss - 1);
    EXPECT(hak_arena.nss > 1 && hak_ref_lookup((void *)hak_ss_base(ss)) == NULL);
    return ss;
}
static void enter_past_arena(void)
{
    HAK_API(free)(HAK_API(malloc)(64));
    hak_registry_add(hak_arena.ss + hak_arena.nss);
}
static void enter_again(void)
{
    void *p = HAK_API(malloc)(64);
    hak_superslab *ss = hak_ss_of((uintptr_t)p);
    hak_ref_ss *r = hak_ref_lookup(p);
    size_t nrecs = hak_reg.nrecs;
    hak_registry_add(ss);   /* entered already: its record stays as it is */
    EXPECT_EQ(hak_reg.nrecs, nrecs);
    EXPECT(hak_ref_lookup(p) == r && r->base == hak_ss_base(ss));
    HAK_API(free)(p);
}
static void enter_over_other_record(void)
{
    void *p = HAK_API(malloc)(64);
    hak_ref_ss *r = hak_ref_lookup(p);
    r->base += HAK_SS_SIZE;   /* the slot's record says it is the next SuperSlab's */
    hak_registry_add(hak_ss_of((uintptr_t)p));
}
static void no_record_left(void)
{
    void *p = HAK_API(malloc)(1000);
    EXPECT(p != NULL);
    hak_reg.maxrecs = hak_reg.nrecs;   /* as if every record were used */
    static void *b[8192];
    for (int n = 0; n < 8192; n++) b[n] = HAK_API(malloc)(1000);   /* 8 MB: a second SuperSlab */
    EXPECT(b[8191] == NULL);   /* not reached: the stop comes first */
}
static void owner_of_unentered(void)
{
    HAK_API(free)(HAK_API(malloc)(64));
    hak_ref_owner(unentered_ss(), &hak_tls);
}
static void slab_init_unentered(void)
{
    HAK_API(free)(HAK_API(malloc)(64));
    hak_ref_slab_init(unentered_ss(), 1, 0, 1);
}
static void carve_unentered(void)
{
    HAK_API(free)(HAK_API(malloc)(64));
    hak_superslab *ss = unentered_ss();
    hak_ref_carve(hak_ss_slab(ss, 1), (void *)(hak_ss_base(ss) + HAK_SLAB_SIZE + 16));
}
static void release_no_span(void)
{
    void *p = HAK_API(malloc)(64);
    hak_superslab *ss = hak_ss_of((uintptr_t)p);
    unsigned idx = HAK_SLABS_PER_SS - 1;
    EXPECT(hak_ref_lookup(p)->slab[idx].stride == 0);   /* no span there */
    hak_ref_slab_release(ss, idx);
}
static void walk_other_superslab(void)
{
    void *p = HAK_API(malloc)(64);
    hak_superslab *ss = hak_ss_of((uintptr_t)p);
    hak_slab *head = hak_slab_head(ss, hak_slab_at(ss, (uintptr_t)p));
    void *list = NULL;
    hak_ref_collect(unentered_ss(), head, &list, 0);
}
#endif

int main(void)
{
    unit_child("regions grow past 64, trim unmaps the kept one", regions_grow_and_trim, 0, NULL);
    unit_child("reset unmaps freed mappings beyond the budget", reset_drops_freed_mappings, 0, NULL);
    unit_child("eviction passes over gone regions, then walks", evict_stale_and_walk, 0, NULL);
    unit_child("large table follows the live set", large_table_follows_live, 0, NULL);
    unit_child("realloc grows into a cached mapping", realloc_takes_cached_mapping, 0, NULL);
    unit_child("block_size answers unchecked", block_size_unchecked, 0, NULL);
    unit_child("trim collects the pool's remote frees", trim_collects_pool, 0, NULL);
    unit_child("orphan heap", orphan_heap, 0, NULL);
    unit_child("first use waits for another thread's init", init_wait, 0, NULL);
    unit_child("flush to a new owner", flush_to_new_owner, 0, NULL);
    unit_child("stats skip a changing slab", stats_skip_changing_slab, 0, NULL);
#if !HAKMEM_BUILD_RELEASE
    const char *oos = "hakmem: internal error: debug record out of step: block ";
    unit_child("carve out of step", carve_out_of_step, 1, oos);
    unit_child("suspect carve accepted", carve_suspect_accepted, 0, NULL);
    unit_child("suspect record behind the carve", carve_suspect_behind, 0, NULL);
    unit_child("large block handed out twice", large_live_twice, 1, oos);
    unit_child("unknown large block freed", large_dead_unknown, 1, oos);
    unit_child("large block freed twice", large_dead_twice, 1, oos);
    unit_child("block outside the record moved", note_outside_record, 1, oos);
    unit_child("misaligned block moved", note_misaligned, 1, oos);
    unit_child("block moved from a wrong state", note_from_wrong_state, 1, oos);
    const char *ie = "hakmem: internal error: ";
    char want[200];
#define IE(cond) (snprintf(want, sizeof want, "%s%s (alloc line ", ie, cond), want)
    unit_child("SuperSlab past the arena entered", enter_past_arena, 1, IE("i < hak_reg.nslots"));
    unit_child("SuperSlab entered again", enter_again, 0, NULL);
    unit_child("SuperSlab entered over another's record", enter_over_other_record, 1,
               IE("cur->base == hak_ss_base(ss)"));
    unit_child("no record left", no_record_left, 1, IE("hak_reg.nrecs < hak_reg.maxrecs"));
    unit_child("owner of a SuperSlab never entered", owner_of_unentered, 1, IE("r != NULL"));
    unit_child("slab laid out in a SuperSlab never entered", slab_init_unentered, 1,
               IE("r != NULL && r->base == hak_ss_base(ss)"));
    unit_child("carve in a SuperSlab never entered", carve_unentered, 1, IE("r != NULL && r->base == base"));
    unit_child("release of a slab heading no span", release_no_span, 1, IE("r != NULL && r->slab[idx].head == idx"));
    unit_child("walk of a span not its SuperSlab's", walk_other_superslab, 1,
               IE("hak_ref_head_pos(head, &idx) == hak_ss_base(ss)"));
#undef IE
#endif
    return unit_finish("heap");
}
