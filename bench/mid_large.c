/* mid_large.c - mid-size and large-size benchmarks (one thread).
 *
 * mode mid:   like random_mixed with sizes 2-64 KiB (hakmem's mid tier, slab spans):
 *             a working set of W slots (default 64); each step frees the block in a
 *             random slot (if any) and mallocs a uniform random size in [min, max].
 *             One op = one malloc plus one free.
 * mode large: sizes 100 KiB-4 MiB (hakmem's mmap tier above 128 KiB) with realloc
 *             growth: W slots (default 16); each step picks a random slot and
 *               empty slot            -> malloc(uniform [min, max])
 *               else, half the time   -> realloc to 1.5x the size, if that stays
 *                                        <= max (the contents must survive)
 *               otherwise             -> free
 *             One op = one call (malloc, realloc or free); counts of each printed.
 *
 * Blocks are touched like an application would: one byte per 4 KiB page of every
 * newly obtained byte range plus the last byte, so first-touch page faults and RSS
 * are part of the measurement. The first and last bytes carry an address tag that
 * is checked before every free and after every realloc.
 *
 * The allocator is the one malloc/free/realloc bind to: use LD_PRELOAD to select it.
 */
#include "bench_util.h"

#define PAGE 4096u

typedef struct slot {
    unsigned char *p;
    size_t size;
} slot;

typedef struct counts {
    unsigned long long mallocs, reallocs, moved, frees;
    unsigned long bad;
} counts;

static void usage(FILE *f, const char *argv0)
{
    fprintf(f,
            "usage: %s mid|large [iterations [working-set [min [max [seed]]]]]\n"
            "  mid    defaults: iterations 200000, working set 64, sizes 2k-64k;\n"
            "         one op = one malloc + one free\n"
            "  large  defaults: iterations 20000, working set 16, sizes 100k-4m, realloc\n"
            "         growth by 1.5x; one op = one malloc, realloc or free call\n"
            "  counts take k/m suffixes as 10^3/10^6, sizes as 2^10/2^20. seed default 1.\n"
            "Prints ops/s, peak RSS and a RESULT line. Select the allocator with LD_PRELOAD.\n",
            argv0);
}

static void *xmalloc(size_t size)
{
    void *p = malloc(size);
    if (p == NULL) {
        fprintf(stderr, "mid_large: malloc(%zu) failed\n", size);
        exit(1);
    }
    return p;
}

/* Touch bytes [from, to) of p one per page, and the last byte. */
static inline void touch(unsigned char *p, size_t from, size_t to, uint8_t t)
{
    for (size_t off = from; off < to; off += PAGE)
        p[off] = t;
    p[to - 1] = t;
}

static inline unsigned long check(const slot *s)
{
    uint8_t t = bench_tag(s->p);
    return (s->p[0] != t) | (s->p[s->size - 1] != t);
}

__attribute__((noinline)) static void mid_loop(slot *slots, uint32_t ws, size_t min, uint32_t span,
                                               unsigned long long iters, bench_rng *rng, counts *c)
{
    for (unsigned long long i = 0; i < iters; i++) {
        uint64_t r = bench_rng_next(rng);
        slot *s = &slots[bench_below((uint32_t)(r >> 32), ws)];
        size_t size = min + bench_below((uint32_t)r, span);
        if (s->p != NULL) {
            c->bad += check(s);
            free(s->p);
            c->frees++;
        }
        unsigned char *p = xmalloc(size);
        c->mallocs++;
        touch(p, 0, size, bench_tag(p));
        s->p = p;
        s->size = size;
    }
}

__attribute__((noinline)) static void large_loop(slot *slots, uint32_t ws, size_t min, size_t max,
                                                 unsigned long long iters, bench_rng *rng, counts *c)
{
    uint32_t span = (uint32_t)(max - min + 1);
    for (unsigned long long i = 0; i < iters; i++) {
        uint64_t r = bench_rng_next(rng);
        slot *s = &slots[bench_below((uint32_t)(r >> 32), ws)];
        if (s->p == NULL) {
            size_t size = min + bench_below((uint32_t)r, span);
            unsigned char *p = xmalloc(size);
            c->mallocs++;
            touch(p, 0, size, bench_tag(p));
            s->p = p;
            s->size = size;
            continue;
        }
        size_t grown = s->size + s->size / 2;
        if ((r & 1) && grown <= max) {
            uint8_t old_tag = bench_tag(s->p);
            size_t old_size = s->size;
            c->bad += check(s);
            unsigned char *p = realloc(s->p, grown);
            if (p == NULL) {
                fprintf(stderr, "mid_large: realloc(%zu) failed\n", grown);
                exit(1);
            }
            c->reallocs++;
            c->moved += p != s->p;
            /* realloc must have kept the old contents. */
            c->bad += (p[0] != old_tag) | (p[old_size - 1] != old_tag);
            uint8_t t = bench_tag(p);
            p[0] = t;
            touch(p, old_size, grown, t);
            s->p = p;
            s->size = grown;
        } else {
            c->bad += check(s);
            free(s->p);
            c->frees++;
            s->p = NULL;
        }
    }
}

int main(int argc, char **argv)
{
    if (bench_wants_help(argc, argv)) {
        usage(stdout, argv[0]);
        return 0;
    }
    if (argc < 2 || argc > 7 || (strcmp(argv[1], "mid") != 0 && strcmp(argv[1], "large") != 0)) {
        usage(stderr, argv[0]);
        return 2;
    }
    int large = strcmp(argv[1], "large") == 0;
    unsigned long long iters = large ? 20000 : 200000, ws = large ? 16 : 64;
    unsigned long long min = large ? 100 * 1024 : 2 * 1024;
    unsigned long long max = large ? 4 * 1024 * 1024 : 64 * 1024, seed = 1;
    if ((argc > 2 && !bench_parse_count(argv[2], &iters)) ||
        (argc > 3 && !bench_parse_count(argv[3], &ws)) ||
        (argc > 4 && !bench_parse_size(argv[4], &min)) ||
        (argc > 5 && !bench_parse_size(argv[5], &max)) ||
        (argc > 6 && !bench_parse_count(argv[6], &seed))) {
        usage(stderr, argv[0]);
        return 2;
    }
    if (ws < 1 || ws > (1u << 24) || min < 1 || max < min || max > (1ull << 31)) {
        fprintf(stderr, "mid_large: need working-set in [1, 2^24] and 1 <= min <= max <= 2^31\n");
        usage(stderr, argv[0]);
        return 2;
    }

    slot *slots = calloc(ws, sizeof *slots);
    if (slots == NULL) {
        fprintf(stderr, "mid_large: cannot allocate %llu slots\n", ws);
        return 1;
    }
    bench_rng rng;
    bench_rng_seed(&rng, seed);
    counts c = {0};

    double t0 = bench_now();
    if (large)
        large_loop(slots, (uint32_t)ws, min, max, iters, &rng, &c);
    else
        mid_loop(slots, (uint32_t)ws, min, (uint32_t)(max - min + 1), iters, &rng, &c);
    /* Free what is left inside the timed region: every block is freed. */
    for (unsigned long long k = 0; k < ws; k++) {
        if (slots[k].p != NULL) {
            c.bad += check(&slots[k]);
            free(slots[k].p);
            c.frees++;
        }
    }
    double secs = bench_now() - t0;
    free(slots);

    /* mid: one op per step (malloc + free); large: every call is an op. */
    unsigned long long ops = large ? c.mallocs + c.reallocs + c.frees : iters;
    long rss = bench_peak_rss_kb();
    double rate = secs > 0 ? (double)ops / secs : 0.0;
    char rbuf[32];
    bench_fmt_rate(rbuf, sizeof rbuf, rate);
    const char *name = large ? "large" : "mid";
    printf("%s: %llu ops (%s), working set %llu, sizes %llu-%llu, seed %llu\n", name, ops,
           large ? "one op = one malloc, realloc or free" : "one op = one malloc + one free", ws,
           min, max, seed);
    printf("%s: %llu mallocs, %llu reallocs (%llu moved), %llu frees\n", name, c.mallocs,
           c.reallocs, c.moved, c.frees);
    printf("%s: %.4f s, %sops/s, peak RSS %.1f MiB\n", name, secs, rbuf, (double)rss / 1024.0);
    printf("RESULT bench=%s ops=%llu secs=%.6f ops_per_sec=%.0f rss_kb=%ld ws=%llu min=%llu "
           "max=%llu seed=%llu mallocs=%llu reallocs=%llu moved=%llu frees=%llu bad=%lu\n",
           name, ops, secs, rate, rss, ws, min, max, seed, c.mallocs, c.reallocs, c.moved, c.frees,
           c.bad);
    if (c.bad != 0) {
        fprintf(stderr, "mid_large: %lu blocks lost their tag bytes (allocator bug)\n", c.bad);
        return 1;
    }
    return 0;
}
