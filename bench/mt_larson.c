/* mt_larson.c - multi-threaded producer/consumer benchmark with cross-thread frees
 * (in the spirit of the Larson server benchmark).
 *
 * T threads form a ring. Each thread owns a working set of W slots and runs N steps;
 * a step picks a random slot, evicts the block in it (if any) and puts a fresh
 * malloc of a uniform random size in [min, max] there, touching its first and last
 * byte. An evicted block is freed locally, or, with probability share%, handed to
 * the next thread in the ring, which frees it: a cross-thread (remote) free.
 * Handed blocks travel in batches of HANDOFF_CAP pointers through a lock-free
 * inbox per thread; a thread empties its inbox every INBOX_POLL steps.
 * With T = 1 the "next thread" is the thread itself (frees are merely deferred).
 *
 * One op = one malloc plus one free (local or remote). ops = T * N; ops/s = ops /
 * wall time from the start barrier to the moment every thread has freed all it
 * holds. The batch carriers (512-byte mallocs, freed by the consumer) are extra
 * cross-thread traffic that is not counted as ops.
 *
 * The allocator is the one malloc/free bind to: use LD_PRELOAD to select it.
 * With `sized` = 1 every free passes the block's size, through the first sized free
 * the process has: C23 free_sized, mimalloc's mi_free_size, tcmalloc's tc_free_sized,
 * jemalloc's sdallocx; plain free where there is none (glibc 2.36), which the RESULT
 * line says (sized_free=none).
 */
#include "bench_util.h"

#include <dlfcn.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#define HANDOFF_CAP   62    /* blocks per batch: the carrier is 512 bytes of pointers + sizes */
#define INBOX_POLL    32    /* steps between inbox checks (a relaxed load each) */
#define INBOX_LIMIT   32    /* batches queued at a consumer before its producer waits */

typedef struct handoff {
    struct handoff *next;
    uint32_t n;
    void *p[HANDOFF_CAP];
    uint32_t size[HANDOFF_CAP];
} handoff;

/* free, or the sized free found at startup. */
static void (*sized2)(void *, size_t);        /* free_sized, mi_free_size, tc_free_sized */
static void (*sized3)(void *, size_t, int);   /* sdallocx */
static const char *sized_name = "none";
static int use_sized;

static void find_sized_free(void)
{
    static const char *const two[] = { "free_sized", "mi_free_size", "tc_free_sized" };
    for (unsigned i = 0; i < sizeof two / sizeof two[0]; i++) {
        void *f = dlsym(RTLD_DEFAULT, two[i]);
        if (f != NULL) {
            *(void **)&sized2 = f;
            sized_name = two[i];
            return;
        }
    }
    void *f = dlsym(RTLD_DEFAULT, "sdallocx");
    if (f != NULL) {
        *(void **)&sized3 = f;
        sized_name = "sdallocx";
    }
}

static inline void release(void *p, size_t size)
{
    if (use_sized && sized2 != NULL)
        sized2(p, size);
    else if (use_sized && sized3 != NULL)
        sized3(p, size, 0);
    else
        free(p);
}

/* A Treiber stack with one consumer that takes everything at once (exchange), so
 * popping has no ABA problem. `pending` bounds the memory a slow consumer (a
 * descheduled thread on an oversubscribed machine) can make the producer pile up. */
typedef struct inbox {
    _Atomic(handoff *) head;
    atomic_long pending;
} __attribute__((aligned(64))) inbox;

typedef struct slot {
    unsigned char *p;
    uint32_t size;
} slot;

typedef struct worker {
    int id;
    pthread_t th;
    bench_rng rng;
    unsigned long long handed;   /* blocks this thread gave to the next one */
    unsigned long bad;           /* blocks whose tag bytes changed: allocator bug */
} __attribute__((aligned(64))) worker;

static struct {
    unsigned threads;
    unsigned long long iters;
    uint32_t ws, min, span;
    uint32_t share_threshold; /* hand off when 32 random bits < this */
    inbox *inboxes;
    worker *workers;
    atomic_uint producers_done;
    pthread_barrier_t start;
} g;

static void usage(FILE *f, const char *argv0)
{
    fprintf(f,
            "usage: %s [threads [iterations [working-set [min [max [share [seed [sized]]]]]]]]\n"
            "  threads      worker threads in the ring (default 2)\n"
            "  iterations   steps per thread (default 1000000; k/m suffixes = 10^3/10^6)\n"
            "  working-set  live slots per thread (default 256)\n"
            "  min, max     uniform request size range in bytes (default 16 1024; k = 1024)\n"
            "  share        percent of evicted blocks freed by the next thread (default 50)\n"
            "  seed         PRNG seed (default 1)\n"
            "  sized        1: free with the block's size (free_sized, mi_free_size, tc_free_sized\n"
            "               or sdallocx, whichever the process has; default 0)\n"
            "One op = one malloc + one free (local or cross-thread); ops = threads * iterations.\n"
            "Prints ops/s, peak RSS and a RESULT line. Select the allocator with LD_PRELOAD.\n",
            argv0);
}

/* Free every block of every batch in this thread's inbox. Returns batches freed. */
static long drain_inbox(worker *w, inbox *in)
{
    if (atomic_load_explicit(&in->head, memory_order_relaxed) == NULL)
        return 0;
    handoff *h = atomic_exchange_explicit(&in->head, NULL, memory_order_acquire);
    long batches = 0;
    while (h != NULL) {
        handoff *next = h->next;
        for (uint32_t k = 0; k < h->n; k++) {
            unsigned char *p = h->p[k];
            w->bad += p[0] != bench_tag(p);
            release(p, h->size[k]);
        }
        free(h);
        h = next;
        batches++;
    }
    atomic_fetch_sub_explicit(&in->pending, batches, memory_order_relaxed);
    return batches;
}

static void publish(worker *w, inbox *self, handoff *h)
{
    inbox *to = &g.inboxes[(w->id + 1) % g.threads];
    /* Back-pressure. Waiting producers keep draining their own inbox, so a ring
     * of waiting threads always makes progress. */
    while (atomic_load_explicit(&to->pending, memory_order_relaxed) >= INBOX_LIMIT) {
        if (drain_inbox(w, self) == 0)
            sched_yield();
    }
    atomic_fetch_add_explicit(&to->pending, 1, memory_order_relaxed);
    handoff *old = atomic_load_explicit(&to->head, memory_order_relaxed);
    do {
        h->next = old;
    } while (!atomic_compare_exchange_weak_explicit(&to->head, &old, h, memory_order_release,
                                                    memory_order_relaxed));
}

static handoff *new_handoff(void)
{
    handoff *h = malloc(sizeof *h);
    if (h == NULL) {
        fprintf(stderr, "mt_larson: malloc(%zu) failed\n", sizeof *h);
        exit(1);
    }
    h->n = 0;
    return h;
}

/* One thread's whole run. Not inlined so profiles can attribute to it. */
__attribute__((noinline)) static void *mt_larson_worker(void *arg)
{
    worker *w = arg;
    inbox *self = &g.inboxes[w->id];
    slot *slots = calloc(g.ws, sizeof *slots);
    if (slots == NULL) {
        fprintf(stderr, "mt_larson: cannot allocate %u slots\n", g.ws);
        exit(1);
    }
    handoff *out = new_handoff();
    bench_rng rng = w->rng;

    pthread_barrier_wait(&g.start);
    for (unsigned long long i = 0; i < g.iters; i++) {
        uint64_t r = bench_rng_next(&rng);
        slot *s = &slots[bench_below((uint32_t)(r >> 32), g.ws)];
        uint32_t size = g.min + bench_below((uint32_t)r, g.span);
        if (s->p != NULL) {
            uint8_t t = bench_tag(s->p);
            w->bad += (s->p[0] != t) | (s->p[s->size - 1] != t);
            if ((uint32_t)bench_rng_next(&rng) < g.share_threshold) {
                out->size[out->n] = s->size;
                out->p[out->n++] = s->p;
                w->handed++;
                if (out->n == HANDOFF_CAP) {
                    publish(w, self, out);
                    out = new_handoff();
                }
            } else {
                release(s->p, s->size);
            }
        }
        unsigned char *p = bench_alloc_tagged(size, "mt_larson");
        s->p = p;
        s->size = size;
        if ((i & (INBOX_POLL - 1)) == 0)
            drain_inbox(w, self);
    }
    if (out->n > 0)
        publish(w, self, out);
    else
        free(out);

    /* Wait until every producer has published its last batch, draining meanwhile
     * (a producer may be waiting for room in our inbox: no plain barrier here).
     * After that, all that will ever reach this inbox is there. */
    atomic_fetch_add_explicit(&g.producers_done, 1, memory_order_release);
    while (atomic_load_explicit(&g.producers_done, memory_order_acquire) < g.threads) {
        if (drain_inbox(w, self) == 0)
            sched_yield();
    }
    drain_inbox(w, self);
    for (uint32_t k = 0; k < g.ws; k++) {
        slot *s = &slots[k];
        if (s->p != NULL) {
            uint8_t t = bench_tag(s->p);
            w->bad += (s->p[0] != t) | (s->p[s->size - 1] != t);
            release(s->p, s->size);
        }
    }
    free(slots);
    return NULL;
}

int main(int argc, char **argv)
{
    unsigned long long threads = 2, iters = 1000000, ws = 256, min = 16, max = 1024;
    unsigned long long share = 50, seed = 1, sized = 0;

    if (bench_wants_help(argc, argv)) {
        usage(stdout, argv[0]);
        return 0;
    }
    if (argc > 9 || (argc > 1 && !bench_parse_count(argv[1], &threads)) ||
        (argc > 2 && !bench_parse_count(argv[2], &iters)) ||
        (argc > 3 && !bench_parse_count(argv[3], &ws)) ||
        (argc > 4 && !bench_parse_size(argv[4], &min)) ||
        (argc > 5 && !bench_parse_size(argv[5], &max)) ||
        (argc > 6 && !bench_parse_count(argv[6], &share)) ||
        (argc > 7 && !bench_parse_count(argv[7], &seed)) ||
        (argc > 8 && !bench_parse_count(argv[8], &sized))) {
        usage(stderr, argv[0]);
        return 2;
    }
    if (threads < 1 || threads > 1024 || ws < 1 || ws > (1u << 30) || min < 1 || max < min ||
        max > (1ull << 31) || share > 100 || sized > 1) {
        fprintf(stderr, "mt_larson: need threads in [1, 1024], working-set in [1, 2^30], "
                        "1 <= min <= max <= 2^31, share <= 100, sized 0 or 1\n");
        usage(stderr, argv[0]);
        return 2;
    }

    use_sized = (int)sized;
    if (use_sized)
        find_sized_free();
    g.threads = (unsigned)threads;
    g.iters = iters;
    g.ws = (uint32_t)ws;
    g.min = (uint32_t)min;
    g.span = (uint32_t)(max - min + 1);
    /* share% of 2^32, saturating at 100%. */
    g.share_threshold = share >= 100 ? UINT32_MAX : (uint32_t)((share << 32) / 100);
    g.inboxes = aligned_alloc(64, sizeof(inbox) * threads);
    g.workers = aligned_alloc(64, sizeof(worker) * threads);
    if (g.inboxes == NULL || g.workers == NULL) {
        fprintf(stderr, "mt_larson: out of memory\n");
        return 1;
    }
    pthread_barrier_init(&g.start, NULL, g.threads + 1);
    atomic_init(&g.producers_done, 0);
    uint64_t sm = seed;
    for (unsigned t = 0; t < g.threads; t++) {
        atomic_init(&g.inboxes[t].head, NULL);
        atomic_init(&g.inboxes[t].pending, 0);
        worker *w = &g.workers[t];
        memset(w, 0, sizeof *w);
        w->id = (int)t;
        bench_rng_seed(&w->rng, bench_splitmix64(&sm));
        int rc = pthread_create(&w->th, NULL, mt_larson_worker, w);
        if (rc != 0) {
            fprintf(stderr, "mt_larson: pthread_create: %s\n", strerror(rc));
            return 1;
        }
    }

    pthread_barrier_wait(&g.start);
    double t0 = bench_now();
    unsigned long long handed = 0;
    unsigned long bad = 0;
    for (unsigned t = 0; t < g.threads; t++) {
        pthread_join(g.workers[t].th, NULL);
        handed += g.workers[t].handed;
        bad += g.workers[t].bad;
    }
    double secs = bench_now() - t0;

    long rss = bench_peak_rss_kb();
    unsigned long long ops = threads * iters;
    double rate = secs > 0 ? (double)ops / secs : 0.0;
    char rbuf[32];
    bench_fmt_rate(rbuf, sizeof rbuf, rate);
    printf("mt_larson: %llu threads x %llu steps (one op = one malloc + one free), working set "
           "%llu/thread, sizes %llu-%llu, %llu%% handed to the next thread, seed %llu\n",
           threads, iters, ws, min, max, share, seed);
    printf("mt_larson: %.4f s, %sops/s, %llu blocks freed by %s, peak RSS %.1f MiB\n", secs, rbuf,
           handed, threads > 1 ? "another thread" : "the same thread (deferred)",
           (double)rss / 1024.0);
    printf("RESULT bench=mt_larson threads=%llu ops=%llu secs=%.6f ops_per_sec=%.0f rss_kb=%ld "
           "ws=%llu min=%llu max=%llu share=%llu handed=%llu seed=%llu sized_free=%s bad=%lu\n",
           threads, ops, secs, rate, rss, ws, min, max, share, handed, seed,
           sized ? sized_name : "off", bad);
    pthread_barrier_destroy(&g.start);
    free(g.inboxes);
    free(g.workers);
    if (bad != 0) {
        fprintf(stderr, "mt_larson: %lu blocks lost their tag bytes (allocator bug)\n", bad);
        return 1;
    }
    return 0;
}
