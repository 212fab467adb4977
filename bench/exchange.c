/* exchange.c - mixed sizes, threads exchanging blocks (in the spirit of rptest).
 *
 * T threads form a ring. Each owns W slots and runs N steps; a step picks a random
 * slot, frees its block and mallocs a new one whose size is log-uniform in
 * [min, max] (the exponent is uniform, then the size uniform within its power of
 * two: as many 16-31 B requests as 8-16 KiB ones, tiny and mid tiers both hot),
 * touching the first and last byte. Every 64 steps a thread moves 32 random slots'
 * blocks to the next thread through a single-producer single-consumer ring; the
 * receiver puts each one into a random slot of its own (freeing what was there),
 * where it lives until that slot is picked again. So blocks outlive their thread's
 * interest in them and are freed by a thread that did not allocate them, at random
 * times, among local frees: the remote-free path under mixed sizes.
 *
 * One op = one step (a malloc + a free); ops = T * N; ops/s = ops / wall time from
 * the start barrier until every thread has freed everything it holds.
 * Select the allocator with LD_PRELOAD. */
#include "bench_util.h"

#include <pthread.h>

#define EXCHANGE_EVERY 64u

typedef struct slot {
    unsigned char *p;
    uint32_t size;
} slot;

typedef struct worker {
    pthread_t th;
    unsigned id;
    bench_rng rng;
    unsigned long long sent;
    unsigned long bad;
} __attribute__((aligned(64))) worker;

static struct {
    unsigned threads;
    unsigned long long iters;
    uint32_t ws, lg_min, lg_max, min, max;
    bench_ring *rings;           /* ring i: from thread i to thread i + 1 */
    _Atomic unsigned done;
    pthread_barrier_t start;
} g;

static void usage(FILE *f, const char *argv0)
{
    fprintf(f,
            "usage: %s [threads [steps [working-set [min [max [seed]]]]]]\n"
            "  threads      ring of threads exchanging blocks (default 2)\n"
            "  steps        steps per thread (default 1000000; k/m = 10^3/10^6)\n"
            "  working-set  slots per thread (default 512)\n"
            "  min, max     log-uniform size range in bytes (default 16 16k; k = 1024)\n"
            "  seed         PRNG seed (default 1)\n"
            "One op = one malloc + one free; every 64 steps 32 blocks go to the next thread.\n"
            "Prints ops/s, peak RSS and a RESULT line. Select the allocator with LD_PRELOAD.\n",
            argv0);
}

static inline uint32_t pick_size(uint64_t r)
{
    uint32_t lg = g.lg_min + bench_below((uint32_t)r, g.lg_max - g.lg_min + 1);
    uint32_t lo = 1u << lg, size = lo + bench_below((uint32_t)(r >> 32), lo);
    return size < g.min ? g.min : size > g.max ? g.max : size;
}

static inline unsigned long check(const slot *s)
{
    uint8_t t = bench_tag(s->p);
    return (s->p[0] != t) | (s->p[s->size - 1] != t);
}

static inline void put(worker *w, slot *s, unsigned char *p, uint32_t size)
{
    if (s->p != NULL) {
        w->bad += check(s);
        free(s->p);
    }
    s->p = p;
    s->size = size;
}

/* Take in what the previous thread sent: (pointer, size) pairs, each block put into
 * a random slot of ours. Returns 1 if a batch came. */
static unsigned receive(worker *w, slot *slots, bench_rng *rng)
{
    bench_ring *r = &g.rings[(w->id + g.threads - 1) % g.threads];
    uint32_t n;
    bench_batch *b = bench_ring_peek(r, &n);
    if (b == NULL)
        return 0;
    for (uint32_t k = 0; k < n; k += 2) {
        slot *s = &slots[bench_below((uint32_t)bench_rng_next(rng), g.ws)];
        put(w, s, b->p[k], (uint32_t)(uintptr_t)b->p[k + 1]);
    }
    bench_ring_done(r, b);
    return 1;
}

static void send(worker *w, slot *slots, bench_rng *rng)
{
    void *batch[BENCH_BATCH];
    uint32_t n = 0;
    for (unsigned tries = 0; n < BENCH_BATCH && tries < 4 * BENCH_BATCH; tries++) {
        slot *s = &slots[bench_below((uint32_t)bench_rng_next(rng), g.ws)];
        if (s->p == NULL)
            continue;
        w->bad += check(s);
        batch[n++] = s->p;                          /* pointer, then its size */
        batch[n++] = (void *)(uintptr_t)s->size;
        s->p = NULL;
    }
    if (n == 0)
        return;
    unsigned spins = 0;
    while (!bench_ring_put(&g.rings[w->id], batch, n)) {
        if (!receive(w, slots, rng))   /* the ring may be full because we block our sender */
            bench_backoff(&spins);
    }
    w->sent += n / 2;
}

__attribute__((noinline)) static void *exchange_worker(void *arg)
{
    worker *w = arg;
    slot *slots = calloc(g.ws, sizeof *slots);
    if (slots == NULL) {
        fprintf(stderr, "exchange: cannot allocate %u slots\n", g.ws);
        exit(1);
    }
    bench_rng rng = w->rng;
    pthread_barrier_wait(&g.start);
    for (unsigned long long i = 0; i < g.iters; i++) {
        uint64_t r = bench_rng_next(&rng);
        slot *s = &slots[bench_below((uint32_t)(r >> 40), g.ws)];
        uint32_t size = pick_size(bench_rng_next(&rng));
        put(w, s, bench_alloc_tagged(size, "exchange"), size);
        if ((i & (EXCHANGE_EVERY - 1)) == EXCHANGE_EVERY - 1) {
            receive(w, slots, &rng);
            if (g.threads > 1)
                send(w, slots, &rng);
        }
    }
    /* Drain until every thread has stopped sending; then nothing more can arrive. */
    atomic_fetch_add_explicit(&g.done, 1, memory_order_acq_rel);
    unsigned spins = 0;
    while (atomic_load_explicit(&g.done, memory_order_acquire) < g.threads) {
        if (!receive(w, slots, &rng))
            bench_backoff(&spins);
    }
    while (receive(w, slots, &rng))
        ;
    for (uint32_t k = 0; k < g.ws; k++)
        if (slots[k].p != NULL) {
            w->bad += check(&slots[k]);
            free(slots[k].p);
        }
    free(slots);
    return NULL;
}

int main(int argc, char **argv)
{
    unsigned long long threads = 2, iters = 1000000, ws = 512, min = 16, max = 16384, seed = 1;
    if (bench_wants_help(argc, argv)) {
        usage(stdout, argv[0]);
        return 0;
    }
    if (argc > 7 || (argc > 1 && !bench_parse_count(argv[1], &threads)) ||
        (argc > 2 && !bench_parse_count(argv[2], &iters)) ||
        (argc > 3 && !bench_parse_count(argv[3], &ws)) ||
        (argc > 4 && !bench_parse_size(argv[4], &min)) ||
        (argc > 5 && !bench_parse_size(argv[5], &max)) ||
        (argc > 6 && !bench_parse_count(argv[6], &seed))) {
        usage(stderr, argv[0]);
        return 2;
    }
    if (threads < 1 || threads > 1024 || ws < 1 || ws > (1u << 24) || min < 1 || max < min ||
        max > (1ull << 30)) {
        fprintf(stderr, "exchange: need threads in [1, 1024], working-set in [1, 2^24], "
                        "1 <= min <= max <= 2^30\n");
        usage(stderr, argv[0]);
        return 2;
    }
    g.threads = (unsigned)threads;
    g.iters = iters;
    g.ws = (uint32_t)ws;
    g.min = (uint32_t)min;
    g.max = (uint32_t)max;
    g.lg_min = 63u - (unsigned)__builtin_clzll(min);
    g.lg_max = 63u - (unsigned)__builtin_clzll(max);
    g.rings = aligned_alloc(64, sizeof(bench_ring) * threads);
    worker *wk = aligned_alloc(64, sizeof(worker) * threads);
    if (g.rings == NULL || wk == NULL) {
        fprintf(stderr, "exchange: out of memory\n");
        return 1;
    }
    memset(g.rings, 0, sizeof(bench_ring) * threads);
    pthread_barrier_init(&g.start, NULL, g.threads + 1);
    uint64_t sm = seed;
    for (unsigned t = 0; t < g.threads; t++) {
        worker *w = &wk[t];
        memset(w, 0, sizeof *w);
        w->id = t;
        bench_rng_seed(&w->rng, bench_splitmix64(&sm));
        int rc = pthread_create(&w->th, NULL, exchange_worker, w);
        if (rc != 0) {
            fprintf(stderr, "exchange: pthread_create: %s\n", strerror(rc));
            return 1;
        }
    }
    pthread_barrier_wait(&g.start);
    double t0 = bench_now();
    unsigned long long sent = 0;
    unsigned long bad = 0;
    for (unsigned t = 0; t < g.threads; t++) {
        pthread_join(wk[t].th, NULL);
        sent += wk[t].sent;
        bad += wk[t].bad;
    }
    double secs = bench_now() - t0;
    long rss = bench_peak_rss_kb();
    unsigned long long ops = threads * iters;
    double rate = secs > 0 ? (double)ops / secs : 0.0;
    char rbuf[32];
    bench_fmt_rate(rbuf, sizeof rbuf, rate);
    printf("exchange: %llu threads x %llu steps, working set %llu, sizes %llu-%llu log-uniform, "
           "%llu blocks sent: %.4f s, %sops/s, peak RSS %.1f MiB\n", threads, iters, ws, min, max,
           sent, secs, rbuf, (double)rss / 1024.0);
    printf("RESULT bench=exchange threads=%llu ops=%llu secs=%.6f ops_per_sec=%.0f rss_kb=%ld "
           "ws=%llu min=%llu max=%llu sent=%llu seed=%llu bad=%lu\n", threads, ops, secs, rate, rss,
           ws, min, max, sent, seed, bad);
    pthread_barrier_destroy(&g.start);
    free(g.rings);
    free(wk);
    if (bad != 0) {
        fprintf(stderr, "exchange: %lu blocks lost their tag bytes (allocator bug)\n", bad);
        return 1;
    }
    return 0;
}
