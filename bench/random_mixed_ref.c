/* bench/random_mixed_ref.c - random_mixed written once more from its definition alone
 * (without reading bench/random_mixed.c or bench/rmix.c), so that a result that holds
 * only for the project's own loop shows up as a difference between the two.
 *
 * The definition: 1 thread, 256 slots, sizes uniform in 16-1024 bytes; each iteration
 * picks a slot, frees the block in it and mallocs a new one there, writing the new
 * block's first and last byte. This one differs from the others only where the
 * definition leaves room: its PRNG (xoshiro128++ on four 32-bit words, seeded by
 * splitmix64), how the slot and size are drawn (the slot from a draw's top 8
 * bits, the size from a second draw by multiply-shift), the iteration count, and what it reads before a free
 * (the old block's first byte, which it checks against what it wrote: an allocator
 * that hands out a live block twice fails the run).
 *
 * Usage: random_mixed_ref [iterations [seed [read]]]   (default 20000000, seed 1, read first)
 *   read: which byte of the old block is read before its free: first, last or none
 * One op = one free + one malloc. Prints a human line and
 *   RESULT bench=random_mixed_ref ops=<n> secs=<s> ops_per_sec=<n> rss_kb=<n> check=<n> bad=<0|1>
 * The timed loop is ref_loop, ref_loop_last or ref_loop_none (callgrind --toggle-collect).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define REF_SLOTS 256u
#define REF_MIN   16u
#define REF_MAX   1024u

/* xoshiro128++-style generator on four 32-bit words (Blackman and Vigna's public
 * design, written here from its description); seeded by splitmix64. */
typedef struct { uint32_t s[4]; } ref_rng;

static uint64_t ref_splitmix(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static inline uint32_t ref_rotl(uint32_t v, int k)
{
    return (v << k) | (v >> (32 - k));
}

static inline uint32_t ref_next(ref_rng *r)
{
    uint32_t *s = r->s;
    uint32_t out = ref_rotl(s[0] + s[3], 7) + s[0];
    uint32_t t = s[1] << 9;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = ref_rotl(s[3], 11);
    return out;
}

/* [0, n) from 32 random bits, multiply-high (bias <= n / 2^32). */
static inline uint32_t ref_range(uint32_t bits, uint32_t n)
{
    return (uint32_t)(((uint64_t)bits * n) >> 32);
}

static inline uint8_t ref_mark(const void *p, size_t size)
{
    return (uint8_t)((((uintptr_t)p >> 3) ^ size) | 0x80);
}

struct ref_slot {
    unsigned char *p;
    uint32_t size;
};

static struct ref_slot slots[REF_SLOTS];

static unsigned char *ref_get(size_t size)
{
    unsigned char *p = malloc(size);
    if (p == NULL) {
        fprintf(stderr, "random_mixed_ref: malloc(%zu) failed\n", size);
        exit(1);
    }
    uint8_t m = ref_mark(p, size);
    p[0] = m;
    p[size - 1] = m;
    return p;
}

/* The timed loop, one copy per choice of what is read before a free (the definition
 * leaves it open): the old block's first byte (the default, ref_loop), its last byte
 * (ref_loop_last) or nothing (ref_loop_none). A byte read is checked against what was
 * written; the count of mismatches is returned (0 for a correct allocator) and *sum
 * collects the bytes read so nothing is optimised out. */
#define REF_LOOP(name, READ)                                                              \
    __attribute__((noinline)) unsigned long long name(ref_rng *r, unsigned long long iters, \
                                                      unsigned long long *sum)            \
    {                                                                                     \
        unsigned long long bad = 0, acc = 0;                                              \
        for (unsigned long long i = 0; i < iters; i++) {                                  \
            uint32_t a = ref_next(r);                                                     \
            uint32_t b = ref_next(r);                                                     \
            struct ref_slot *s = &slots[a >> 24];          /* top 8 bits: one of 256 */   \
            uint32_t size = REF_MIN + ref_range(b, REF_MAX - REF_MIN + 1);                \
            unsigned char *old = s->p;                                                    \
            READ                                                                          \
            free(old);                                                                    \
            s->p = ref_get(size);                                                         \
            s->size = size;                                                               \
        }                                                                                 \
        *sum += acc;                                                                      \
        return bad;                                                                       \
    }
REF_LOOP(ref_loop, { uint8_t v = old[0]; acc += v; bad += v != ref_mark(old, s->size); })
REF_LOOP(ref_loop_last, { uint8_t v = old[s->size - 1]; acc += v; bad += v != ref_mark(old, s->size); })
REF_LOOP(ref_loop_none, { (void)acc; })

static int ref_count(const char *arg, unsigned long long *out)
{
    char *end;
    if (arg[0] < '0' || arg[0] > '9')
        return 0;
    unsigned long long v = strtoull(arg, &end, 10);
    if (*end == 'k' || *end == 'K')
        v *= 1000ull, end++;
    else if (*end == 'm' || *end == 'M')
        v *= 1000000ull, end++;
    if (*end != '\0')
        return 0;
    *out = v;
    return 1;
}

static long ref_peak_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    if (f == NULL)
        return -1;
    while (fgets(line, sizeof line, f) != NULL)
        if (strncmp(line, "VmHWM:", 6) == 0) {
            kb = strtol(line + 6, NULL, 10);
            break;
        }
    fclose(f);
    return kb;
}

int main(int argc, char **argv)
{
    unsigned long long iters = 20000000ull, seed = 1;
    unsigned long long (*loop)(ref_rng *, unsigned long long, unsigned long long *) = ref_loop;
    const char *read = "first";
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            printf("usage: random_mixed_ref [iterations [seed [first|last|none]]]\n"
                   "random_mixed from its definition: 1 thread, 256 slots, 16-1024 B uniform;\n"
                   "each iteration reads the slot's old block's first byte (or last, or none),\n"
                   "frees it, mallocs a new one and writes its first and last byte.\n"
                   "Default 20000000 iterations, seed 1, first.\n"
                   "Prints ops/s, peak RSS and a RESULT line. Select the allocator with LD_PRELOAD.\n");
            return 0;
        }
    if (argc > 3) {
        read = argv[3];
        if (strcmp(read, "last") == 0)
            loop = ref_loop_last;
        else if (strcmp(read, "none") == 0)
            loop = ref_loop_none;
        else if (strcmp(read, "first") != 0)
            argc = 99;
    }
    if (argc > 4 || (argc > 1 && (!ref_count(argv[1], &iters) || iters == 0)) ||
        (argc > 2 && !ref_count(argv[2], &seed))) {
        fprintf(stderr, "usage: random_mixed_ref [iterations [seed [first|last|none]]]\n");
        return 2;
    }

    ref_rng r;
    uint64_t x = seed;
    uint64_t w0 = ref_splitmix(&x), w1 = ref_splitmix(&x);
    r.s[0] = (uint32_t)w0;
    r.s[1] = (uint32_t)(w0 >> 32);
    r.s[2] = (uint32_t)w1;
    r.s[3] = (uint32_t)(w1 >> 32) | 1u;   /* never all zero */

    for (uint32_t i = 0; i < REF_SLOTS; i++) {
        uint32_t size = REF_MIN + ref_range(ref_next(&r), REF_MAX - REF_MIN + 1);
        slots[i].p = ref_get(size);
        slots[i].size = size;
    }

    unsigned long long sum = 0;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    unsigned long long bad = loop(&r, iters, &sum);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;

    for (uint32_t i = 0; i < REF_SLOTS; i++) {
        if (slots[i].p[slots[i].size - 1] != ref_mark(slots[i].p, slots[i].size))
            bad++;
        free(slots[i].p);
    }
    long rss = ref_peak_kb();
    double rate = secs > 0 ? (double)iters / secs : 0;
    printf("random_mixed_ref: %llu ops in %.3f s, %.2f M ops/s, peak RSS %ld KiB%s\n", iters, secs,
           rate / 1e6, rss, bad ? ", BLOCKS CORRUPTED" : "");
    printf("RESULT bench=random_mixed_ref ops=%llu secs=%.6f ops_per_sec=%.0f rss_kb=%ld read=%s "
           "check=%llu bad=%d\n", iters, secs, rate, rss, read, sum, bad != 0);
    if (bad) {
        fprintf(stderr, "random_mixed_ref: %llu blocks lost their bytes\n", bad);
        return 1;
    }
    return 0;
}
