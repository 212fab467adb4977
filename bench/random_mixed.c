/* random_mixed.c - the tiny-object benchmark (one thread).
 *
 * A working set of W slots (default 256). Each step picks a random slot, frees the
 * block in it (if any) and puts a fresh malloc of a uniform random size in
 * [min, max] (default 16-1024 bytes) there, touching the first and last byte.
 * At the end the remaining blocks are freed, inside the timed region, so the run
 * makes exactly `iterations` mallocs and `iterations` frees.
 *
 * One op = one malloc plus one free. ops/s = iterations / time of the loop.
 *
 * The allocator is the one malloc/free bind to: use LD_PRELOAD to select it.
 * Under callgrind, use --toggle-collect=random_mixed_loop to count only the loop
 * (setup, the dynamic loader and allocator initialisation outside it excluded).
 */
#include "bench_util.h"

static void usage(FILE *f, const char *argv0)
{
    fprintf(f,
            "usage: %s [iterations [working-set [min [max [seed]]]]]\n"
            "  iterations   malloc+free pairs to run (default 1000000; k/m suffixes = 10^3/10^6)\n"
            "  working-set  live slots (default 256)\n"
            "  min, max     uniform request size range in bytes (default 16 1024; k = 1024)\n"
            "  seed         PRNG seed (default 1)\n"
            "One op = one malloc + one free. Prints ops/s, peak RSS and a RESULT line.\n"
            "Select the allocator with LD_PRELOAD (none = glibc).\n",
            argv0);
}

typedef struct slot {
    unsigned char *p;
    uint32_t size;
} slot;

/* The timed loop. Not inlined so callgrind can toggle collection on it.
 * Returns the number of blocks whose tag bytes were not what we wrote (an
 * allocator bug: overlapping blocks or a block handed out twice). */
__attribute__((noinline)) unsigned long random_mixed_loop(slot *slots, uint32_t ws, uint32_t min,
                                                          uint32_t span, unsigned long long iters,
                                                          bench_rng *rng)
{
    unsigned long bad = 0;
    bench_rng r_local = *rng; /* a local copy stays in a register */
    for (unsigned long long i = 0; i < iters; i++) {
        uint64_t r = bench_rng_next(&r_local);
        slot *s = &slots[bench_below((uint32_t)(r >> 32), ws)];
        uint32_t size = min + bench_below((uint32_t)r, span);
        if (s->p != NULL) {
            uint8_t t = bench_tag(s->p);
            bad += (s->p[0] != t) | (s->p[s->size - 1] != t);
            free(s->p);
        }
        unsigned char *p = bench_alloc_tagged(size, "random_mixed");
        s->p = p;
        s->size = size;
    }
    *rng = r_local;
    for (uint32_t k = 0; k < ws; k++) {
        slot *s = &slots[k];
        if (s->p != NULL) {
            uint8_t t = bench_tag(s->p);
            bad += (s->p[0] != t) | (s->p[s->size - 1] != t);
            free(s->p);
            s->p = NULL;
        }
    }
    return bad;
}

int main(int argc, char **argv)
{
    unsigned long long iters = 1000000, ws = 256, min = 16, max = 1024, seed = 1;

    if (bench_wants_help(argc, argv)) {
        usage(stdout, argv[0]);
        return 0;
    }
    if (argc > 6 || (argc > 1 && !bench_parse_count(argv[1], &iters)) ||
        (argc > 2 && !bench_parse_count(argv[2], &ws)) ||
        (argc > 3 && !bench_parse_size(argv[3], &min)) ||
        (argc > 4 && !bench_parse_size(argv[4], &max)) ||
        (argc > 5 && !bench_parse_count(argv[5], &seed))) {
        usage(stderr, argv[0]);
        return 2;
    }
    if (ws < 1 || ws > (1u << 30) || min < 1 || max < min || max > (1ull << 31)) {
        fprintf(stderr, "random_mixed: need working-set in [1, 2^30] and 1 <= min <= max <= 2^31\n");
        usage(stderr, argv[0]);
        return 2;
    }

    slot *slots = calloc(ws, sizeof *slots);
    if (slots == NULL) {
        fprintf(stderr, "random_mixed: cannot allocate %llu slots\n", ws);
        return 1;
    }
    bench_rng rng;
    bench_rng_seed(&rng, seed);

    double t0 = bench_now();
    unsigned long bad = random_mixed_loop(slots, (uint32_t)ws, (uint32_t)min,
                                          (uint32_t)(max - min + 1), iters, &rng);
    double secs = bench_now() - t0;
    free(slots);

    long rss = bench_peak_rss_kb();
    double rate = secs > 0 ? (double)iters / secs : 0.0;
    char rbuf[32];
    bench_fmt_rate(rbuf, sizeof rbuf, rate);
    printf("random_mixed: %llu ops (one op = one malloc + one free), working set %llu, "
           "sizes %llu-%llu, seed %llu\n", iters, ws, min, max, seed);
    printf("random_mixed: %.4f s, %sops/s, peak RSS %.1f MiB\n", secs, rbuf, (double)rss / 1024.0);
    printf("RESULT bench=random_mixed ops=%llu secs=%.6f ops_per_sec=%.0f rss_kb=%ld "
           "ws=%llu min=%llu max=%llu seed=%llu bad=%lu\n",
           iters, secs, rate, rss, ws, min, max, seed, bad);
    if (bad != 0) {
        fprintf(stderr, "random_mixed: %lu blocks lost their tag bytes (allocator bug)\n", bad);
        return 1;
    }
    return 0;
}
