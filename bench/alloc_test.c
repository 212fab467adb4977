/* alloc_test.c - the alloc-test benchmark, written from its definition.
 *
 * Definition followed: node-dot-cpp/alloc-test (OLogN Technologies, "testing memory
 * allocators while trying to simulate real-world loads"), randomPos_RandomSize, with
 * the parameters mimalloc-bench builds it with (bench/alloc-test/, run there as
 * `alloc-test1` and `alloc-testN`): memory access mode "full", 2^18 slots shared out
 * evenly among the threads, sizes up to 2^10 bytes, 100 M iterations per thread,
 * seed 41 in every thread. Each thread:
 * - setup: every slot gets a block with probability 1/2;
 * - main loop: pick a slot with an "80/20 rule applied six times" skew: the slots
 *   are cut into 7 bands, band k holding a C(6,k) 0.8^k 0.2^(6-k) share of the slots
 *   and picked with probability C(6,k) 0.8^(6-k) 0.2^k (so 0.0064% of the slots take
 *   26% of the picks), the slot uniform within its band. A full slot: read every word
 *   of its block, free it; an empty slot: malloc a size drawn from the skewed
 *   distribution, fill the whole block (memset);
 * - exit: read and free every block still held.
 * Sizes: a class c is drawn with probability 2^-(c+1) (the last class, c = e-3,
 * takes the remaining 2^-(e-3)), then the size is uniform in (2^(c+2), 2^(c+3)]:
 * 5..1024 bytes for e = 10, half the requests 5-8 B. The live set is bounded by the
 * slot count (about half full). The original times the whole run (setup, loop, exit)
 * and prints ms per million operations; mimalloc-bench takes wall time and peak RSS.
 *
 * Written without the original's code. What differs: own PRNG (bench_util.h) and own
 * formulation of the band and class draws (same distributions); every band keeps at
 * least one slot (small slot counts); the read before a free checks every byte
 * against the fill byte, which depends on the block's address and size (the
 * original's "full" mode only sums them): bad=1 if one differs; the thread count is
 * not capped at 32; peak RSS is VmHWM. Iterations are per thread, as in the
 * original (the runner divides a fixed total among the threads).
 *
 *   alloc_test [threads [iterations [slots [max_exp [seed]]]]]
 *   defaults: 1 10000000 262144 10 41   (slots: the total, divided among the threads)
 *
 * One op = one main-loop iteration: one malloc (with its fill) or one free (after its
 * read). ops = threads * iterations; ops_per_sec = ops / wall time from before the
 * first thread starts to the last join (setup and exit included, as the original).
 * Every thread is a new thread (also with one). Prints a human line and
 *   RESULT bench=alloc_test threads=<n> ops=<n> ops_per_sec=<n> rss_kb=<n> check=<n> bad=<0|1>
 * Exits 1 if malloc fails or a block lost its contents, 2 on bad arguments. */
#include "bench_util.h"

#include <pthread.h>

#define BANDS 7

typedef struct slot {
    unsigned char *p;
    uint32_t size;
} slot;

typedef struct bands {
    uint32_t pick[BANDS - 1];   /* a 32-bit draw below pick[k] (and not an earlier one): band k */
    uint32_t start[BANDS + 1];  /* band k = slots [start[k], start[k+1]) */
} bands;

typedef struct worker {
    pthread_t th;
    unsigned long long iters;
    uint32_t slots, max_exp;
    uint64_t seed;
    uint64_t check;
    int bad;
} __attribute__((aligned(64))) worker;

static double binom6(unsigned k, double p)
{
    static const double c[BANDS] = { 1, 6, 15, 20, 15, 6, 1 };
    double v = c[k];
    for (unsigned i = 0; i < k; i++)
        v *= p;
    for (unsigned i = k; i < 6; i++)
        v *= 1 - p;
    return v;
}

static void bands_init(bands *b, uint32_t n)
{
    double acc = 0;
    for (unsigned k = 0; k + 1 < BANDS; k++) {
        acc += binom6(k, 0.2);            /* band k picked with C(6,k) 0.8^(6-k) 0.2^k */
        b->pick[k] = (uint32_t)(acc * 4294967295.0);
    }
    b->start[0] = 0;
    for (unsigned k = 0; k < BANDS; k++) {
        uint32_t len = (uint32_t)(n * binom6(k, 0.8));   /* holding C(6,k) 0.8^k 0.2^(6-k) */
        if (len < 1)
            len = 1;
        b->start[k + 1] = b->start[k] + len;
    }
    b->start[BANDS] = n;                  /* the last band takes the rounding */
    for (unsigned k = BANDS - 1; k > 0; k--)
        if (b->start[k] >= b->start[k + 1])
            b->start[k] = b->start[k + 1] - 1;
}

static inline uint32_t pick_slot(const bands *b, uint64_t r)
{
    uint32_t hi = (uint32_t)(r >> 32), lo = (uint32_t)r;
    unsigned k = 0;
    while (k < BANDS - 1 && hi >= b->pick[k])
        k++;
    return b->start[k] + bench_below(lo, b->start[k + 1] - b->start[k]);
}

/* Class c = the number of trailing zeros of m random bits with bit m set, m = e - 3. */
static inline uint32_t pick_size(uint64_t r, uint32_t max_exp)
{
    uint32_t m = max_exp - 3;
    unsigned c = (unsigned)__builtin_ctzll((r & ((1ull << m) - 1)) | (1ull << m));
    uint64_t base = 1ull << (c + 2);
    return (uint32_t)(base + 1 + ((r >> m) & (base - 1)));
}

static inline uint8_t fill_byte(const void *p, uint32_t size)
{
    return (uint8_t)(bench_tag(p) ^ size);
}

static inline unsigned char *get(uint32_t size, int *bad)
{
    unsigned char *p = malloc(size);
    if (p == NULL) {
        fprintf(stderr, "alloc_test: malloc(%u) failed\n", size);
        *bad = 1;
        return NULL;
    }
    memset(p, fill_byte(p, size), size);
    return p;
}

/* Read every byte of the block (words, then the tail) and check it; the sum keeps
 * the reads live. */
static inline uint64_t read_block(const unsigned char *p, uint32_t size, int *bad)
{
    uint64_t pat = 0x0101010101010101ull * fill_byte(p, size), diff = 0, sum = 0;
    uint32_t i = 0;
    for (; i + 8 <= size; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        diff |= w ^ pat;
        sum += w;
    }
    for (; i < size; i++) {
        diff |= (uint64_t)(p[i] ^ (uint8_t)pat);
        sum += p[i];
    }
    if (diff != 0)
        *bad = 1;
    return sum;
}

/* The timed main loop; noinline so that callgrind can count only it. */
__attribute__((noinline)) uint64_t
alloc_test_loop(slot *s, const bands *b, bench_rng *r, unsigned long long iters,
                uint32_t max_exp, int *bad)
{
    uint64_t check = 0;
    for (unsigned long long i = 0; i < iters; i++) {
        slot *x = &s[pick_slot(b, bench_rng_next(r))];
        if (x->p != NULL) {
            check += read_block(x->p, x->size, bad);
            free(x->p);
            x->p = NULL;
        } else {
            uint32_t size = pick_size(bench_rng_next(r), max_exp);
            if ((x->p = get(size, bad)) == NULL)
                return check;
            x->size = size;
        }
    }
    return check;
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    slot *s = calloc(w->slots, sizeof *s);
    if (s == NULL) {
        w->bad = 1;
        return NULL;
    }
    bands b;
    bands_init(&b, w->slots);
    bench_rng r;
    bench_rng_seed(&r, w->seed);
    for (uint32_t i = 0; i < w->slots; i += 32) {      /* setup: half the slots full */
        uint32_t bits = (uint32_t)(bench_rng_next(&r) >> 32);
        for (uint32_t j = 0; j < 32 && i + j < w->slots; j++)
            if (bits >> j & 1) {
                uint32_t size = pick_size(bench_rng_next(&r), w->max_exp);
                if ((s[i + j].p = get(size, &w->bad)) == NULL)
                    goto out;
                s[i + j].size = size;
            }
    }
    w->check = alloc_test_loop(s, &b, &r, w->iters, w->max_exp, &w->bad);
out:
    for (uint32_t i = 0; i < w->slots; i++)
        if (s[i].p != NULL) {
            w->check += read_block(s[i].p, s[i].size, &w->bad);
            free(s[i].p);
        }
    free(s);
    return NULL;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: alloc_test [threads [iterations [slots [max_exp [seed]]]]]\n"
            "  threads     threads (default 1; each one a new thread)\n"
            "  iterations  main-loop iterations per thread (default 10000000; k/m = 10^3/10^6)\n"
            "  slots       slots in all, divided among the threads (default 262144; >= 64 per thread)\n"
            "  max_exp     sizes up to 2^max_exp bytes, 4..20 (default 10: 5..1024 B)\n"
            "  seed        PRNG seed, the same in every thread (default 41)\n"
            "alloc-test (node-dot-cpp, as mimalloc-bench runs it): 80/20-skewed slot picks;\n"
            "a full slot is read and freed, an empty one gets a filled malloc of a skewed\n"
            "size. One op = one malloc or one free. Select the allocator with LD_PRELOAD.\n");
}

int main(int argc, char **argv)
{
    if (bench_wants_help(argc, argv)) {
        usage(stdout);
        return 0;
    }
    unsigned long long threads = 1, iters = 10000000, slots = 262144, max_exp = 10, seed = 41;
    if (argc > 6 || (argc > 1 && !bench_parse_count(argv[1], &threads)) ||
        (argc > 2 && !bench_parse_count(argv[2], &iters)) ||
        (argc > 3 && !bench_parse_count(argv[3], &slots)) ||
        (argc > 4 && !bench_parse_count(argv[4], &max_exp)) ||
        (argc > 5 && !bench_parse_count(argv[5], &seed)) ||
        threads < 1 || threads > 256 || max_exp < 4 || max_exp > 20 ||
        slots / threads < 64 || slots > (1ull << 30)) {
        usage(stderr);
        return 2;
    }
    worker *w = calloc(threads, sizeof *w);
    if (w == NULL)
        return 1;
    double t0 = bench_now();
    for (unsigned i = 0; i < threads; i++) {
        w[i].iters = iters;
        w[i].slots = (uint32_t)(slots / threads);
        w[i].max_exp = (uint32_t)max_exp;
        w[i].seed = seed;
        if (pthread_create(&w[i].th, NULL, worker_main, &w[i]) != 0) {
            fprintf(stderr, "alloc_test: pthread_create failed\n");
            return 1;
        }
    }
    for (unsigned i = 0; i < threads; i++)
        pthread_join(w[i].th, NULL);
    double dt = bench_now() - t0;
    uint64_t check = 0;
    int bad = 0;
    for (unsigned i = 0; i < threads; i++) {
        check += w[i].check;
        bad |= w[i].bad;
    }
    unsigned long long ops = threads * iters;
    long rss = bench_peak_rss_kb();
    double rate = dt > 0 ? (double)ops / dt : 0;
    char buf[32];
    bench_fmt_rate(buf, sizeof buf, rate);
    printf("alloc_test: %llu thread(s) x %llu iterations, %llu slots each, sizes 5..%llu B: "
           "%.3f s (%.1f ms per million), %sops/s, peak RSS %ld KiB%s\n", threads, iters,
           slots / threads, 1ull << max_exp, dt, ops ? dt * 1e9 / (double)ops : 0.0, buf, rss,
           bad ? " FAILED" : "");
    printf("RESULT bench=alloc_test threads=%llu ops=%llu ops_per_sec=%.0f rss_kb=%ld "
           "check=%llu bad=%d\n", threads, ops, rate, rss, (unsigned long long)check, bad);
    free(w);
    return bad ? 1 : 0;
}
