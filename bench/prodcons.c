/* prodcons.c - producer/consumer: every block is freed by another thread (in the
 * style of xmalloc-test).
 *
 * T threads: P = T/2 producers and C = T - P consumers; producer i sends to consumer
 * i % C through its own single-producer single-consumer ring of 64-pointer batches
 * (bench_util.h, no malloc in the transport). A producer mallocs N blocks of a
 * uniform random size in [min, max], writes the block's tag into its first and last
 * byte and publishes them 64 at a time; its consumer checks the tags and frees every
 * block. So every free is a cross-thread free, and the producer's allocator sees
 * only mallocs: its blocks must come back from the consumer's frees.
 *
 * One op = one malloc plus its (remote) free; ops = P * N; ops/s = ops / wall time
 * from the start barrier until the last consumer has freed the last block.
 * Select the allocator with LD_PRELOAD. */
#include "bench_util.h"

#include <pthread.h>

typedef struct worker {
    pthread_t th;
    unsigned id;
    bench_rng rng;
    unsigned long bad;           /* blocks whose tag bytes changed: allocator bug */
} __attribute__((aligned(64))) worker;

static struct {
    unsigned producers, consumers;
    unsigned long long iters;
    uint32_t min, span;
    bench_ring *rings;           /* one per producer */
    _Atomic unsigned producers_done;
    pthread_barrier_t start;
} g;

static void usage(FILE *f, const char *argv0)
{
    fprintf(f,
            "usage: %s [threads [blocks [min [max [seed]]]]]\n"
            "  threads  producers + consumers, at least 2 (default 2: one of each)\n"
            "  blocks   blocks each producer mallocs (default 1000000; k/m = 10^3/10^6)\n"
            "  min, max uniform request size range in bytes (default 16 1024; k = 1024)\n"
            "  seed     PRNG seed (default 1)\n"
            "threads/2 producers malloc, the other threads free every block (cross-thread).\n"
            "One op = one malloc + its free. Prints ops/s, peak RSS and a RESULT line.\n",
            argv0);
}

__attribute__((noinline)) static void *producer(void *arg)
{
    worker *w = arg;
    bench_ring *r = &g.rings[w->id];
    bench_rng rng = w->rng;
    void *batch[BENCH_BATCH];
    uint32_t n = 0;
    pthread_barrier_wait(&g.start);
    for (unsigned long long i = 0; i < g.iters; i++) {
        uint32_t size = g.min + bench_below((uint32_t)(bench_rng_next(&rng) >> 32), g.span);
        unsigned char *p = bench_alloc_tagged(size, "prodcons");
        p[size - 1] ^= 0xff;     /* last byte: the tag inverted, so the size is checked too */
        batch[n++] = p;
        if (n == BENCH_BATCH || i + 1 == g.iters) {
            unsigned spins = 0;
            while (!bench_ring_put(r, batch, n))
                bench_backoff(&spins);
            n = 0;
        }
    }
    atomic_fetch_add_explicit(&g.producers_done, 1, memory_order_release);
    return NULL;
}

/* Free one batch; the block's size is not known here: find the last byte by
 * scanning for the inverted tag would be slow, so only the first byte is checked. */
static unsigned drain(worker *w, bench_ring *r)
{
    uint32_t n;
    bench_batch *b = bench_ring_peek(r, &n);
    if (b == NULL)
        return 0;
    for (uint32_t k = 0; k < n; k++) {
        unsigned char *p = b->p[k];
        w->bad += p[0] != bench_tag(p);
        free(p);
    }
    bench_ring_done(r, b);
    return 1;
}

__attribute__((noinline)) static void *consumer(void *arg)
{
    worker *w = arg;
    unsigned spins = 0;
    pthread_barrier_wait(&g.start);
    for (;;) {
        unsigned got = 0;
        int done = atomic_load_explicit(&g.producers_done, memory_order_acquire) == g.producers;
        for (unsigned i = w->id; i < g.producers; i += g.consumers)
            got += drain(w, &g.rings[i]);
        if (got) {
            spins = 0;
            continue;
        }
        if (done)   /* every producer finished before this empty pass: nothing is left */
            break;
        bench_backoff(&spins);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    unsigned long long threads = 2, iters = 1000000, min = 16, max = 1024, seed = 1;
    if (bench_wants_help(argc, argv)) {
        usage(stdout, argv[0]);
        return 0;
    }
    if (argc > 6 || (argc > 1 && !bench_parse_count(argv[1], &threads)) ||
        (argc > 2 && !bench_parse_count(argv[2], &iters)) ||
        (argc > 3 && !bench_parse_size(argv[3], &min)) ||
        (argc > 4 && !bench_parse_size(argv[4], &max)) ||
        (argc > 5 && !bench_parse_count(argv[5], &seed))) {
        usage(stderr, argv[0]);
        return 2;
    }
    if (threads < 2 || threads > 1024 || iters < 1 || min < 1 || max < min || max > (1ull << 31)) {
        fprintf(stderr, "prodcons: need threads in [2, 1024], blocks >= 1, 1 <= min <= max <= 2^31\n");
        usage(stderr, argv[0]);
        return 2;
    }
    g.producers = (unsigned)threads / 2;
    g.consumers = (unsigned)threads - g.producers;
    g.iters = iters;
    g.min = (uint32_t)min;
    g.span = (uint32_t)(max - min + 1);
    g.rings = aligned_alloc(64, sizeof(bench_ring) * g.producers);
    worker *ws = aligned_alloc(64, sizeof(worker) * threads);
    if (g.rings == NULL || ws == NULL) {
        fprintf(stderr, "prodcons: out of memory\n");
        return 1;
    }
    memset(g.rings, 0, sizeof(bench_ring) * g.producers);
    pthread_barrier_init(&g.start, NULL, (unsigned)threads + 1);
    uint64_t sm = seed;
    for (unsigned t = 0; t < threads; t++) {
        worker *w = &ws[t];
        memset(w, 0, sizeof *w);
        int prod = t < g.producers;
        w->id = prod ? t : t - g.producers;
        bench_rng_seed(&w->rng, bench_splitmix64(&sm));
        int rc = pthread_create(&w->th, NULL, prod ? producer : consumer, w);
        if (rc != 0) {
            fprintf(stderr, "prodcons: pthread_create: %s\n", strerror(rc));
            return 1;
        }
    }
    pthread_barrier_wait(&g.start);
    double t0 = bench_now();
    unsigned long bad = 0;
    for (unsigned t = 0; t < threads; t++) {
        pthread_join(ws[t].th, NULL);
        bad += ws[t].bad;
    }
    double secs = bench_now() - t0;
    long rss = bench_peak_rss_kb();
    unsigned long long ops = (unsigned long long)g.producers * iters;
    double rate = secs > 0 ? (double)ops / secs : 0.0;
    char rbuf[32];
    bench_fmt_rate(rbuf, sizeof rbuf, rate);
    printf("prodcons: %u producers x %llu blocks, %u consumers free them, sizes %llu-%llu: "
           "%.4f s, %sops/s, peak RSS %.1f MiB\n", g.producers, iters, g.consumers, min, max,
           secs, rbuf, (double)rss / 1024.0);
    printf("RESULT bench=prodcons threads=%llu ops=%llu secs=%.6f ops_per_sec=%.0f rss_kb=%ld "
           "min=%llu max=%llu seed=%llu bad=%lu\n", threads, ops, secs, rate, rss, min, max, seed, bad);
    pthread_barrier_destroy(&g.start);
    free(g.rings);
    free(ws);
    if (bad != 0) {
        fprintf(stderr, "prodcons: %lu blocks lost their tag bytes (allocator bug)\n", bad);
        return 1;
    }
    return 0;
}
