/* bench_util.h - helpers shared by the benchmarks in bench/: a fast PRNG, a
 * monotonic clock, peak RSS, argument parsing and the machine-readable RESULT
 * line that bench/run.py parses.
 *
 * The benchmarks call plain malloc/free/realloc, so the allocator under test is
 * whatever the dynamic linker binds those names to (LD_PRELOAD selects hakmem,
 * mimalloc, jemalloc or tcmalloc; no preload means glibc). Only bench_peak_rss_kb
 * allocates (stdio's FILE), after the timed region.
 */
#ifndef BENCH_UTIL_H
#define BENCH_UTIL_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

/* ---- PRNG: splitmix64 for seeding, xorshift64* for the stream. ----------
 * xorshift64* is 3 shifts, 3 xors and a multiply per draw: cheap enough that
 * the benchmark loop stays a small, fixed share of each op. The state must never
 * be zero; splitmix64 of any seed is mixed well and a zero result is replaced. */
typedef struct bench_rng { uint64_t s; } bench_rng;

static inline uint64_t bench_splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static inline void bench_rng_seed(bench_rng *r, uint64_t seed)
{
    uint64_t x = seed;
    r->s = bench_splitmix64(&x);
    if (r->s == 0)
        r->s = 0x2545F4914F6CDD1Dull;
}

static inline uint64_t bench_rng_next(bench_rng *r)
{
    uint64_t s = r->s;
    s ^= s >> 12;
    s ^= s << 25;
    s ^= s >> 27;
    r->s = s;
    return s * 0x2545F4914F6CDD1Dull;
}

/* Map 32 random bits to [0, n) without a division (multiply-high). The bias is
 * at most n / 2^32, irrelevant for a benchmark. */
static inline uint32_t bench_below(uint32_t bits, uint32_t n)
{
    return (uint32_t)(((uint64_t)bits * n) >> 32);
}

/* ---- Block tags: detect an allocator that hands out overlapping or moved
 * blocks. The tag of a block depends only on its address, so any thread can
 * check it without knowing who wrote it. Always odd, so zeroed memory fails. */
static inline uint8_t bench_tag(const void *p)
{
    return (uint8_t)(((uintptr_t)p >> 4) | 1);
}

/* malloc(size) or exit with a message; the first and last byte carry the block's tag,
 * so a block handed out twice or overlapping another shows up at its check. */
static inline unsigned char *bench_alloc_tagged(size_t size, const char *who)
{
    unsigned char *p = malloc(size);
    if (p == NULL) {
        fprintf(stderr, "%s: malloc(%zu) failed\n", who, size);
        exit(1);
    }
    uint8_t t = bench_tag(p);
    p[0] = t;
    p[size - 1] = t;
    return p;
}

/* ---- Time and memory. --------------------------------------------------- */
static inline double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Peak resident set size of this process in KiB: VmHWM from /proc/self/status.
 * Not getrusage(): Linux carries ru_maxrss across execve, so a benchmark started
 * by a big parent (python) would report the parent's size. VmHWM belongs to the
 * address space, which execve replaces. ru_maxrss is the fallback. */
static inline long bench_peak_rss_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (f != NULL) {
        char line[256];
        long kb = -1;
        while (fgets(line, sizeof line, f) != NULL) {
            if (strncmp(line, "VmHWM:", 6) == 0) {
                kb = strtol(line + 6, NULL, 10);
                break;
            }
        }
        fclose(f);
        if (kb > 0)
            return kb;
    }
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return -1;
    return ru.ru_maxrss;
}

/* ---- Arguments. ----------------------------------------------------------
 * Counts accept k/m/g suffixes as powers of 1000 ("1m" = 1000000); sizes accept
 * k/m/g as powers of 1024 ("64k" = 65536). Both return 0 on a malformed value. */
static inline int bench_parse_num(const char *s, unsigned long long unit, unsigned long long *out)
{
    char *end;
    if (s == NULL || *s == '\0' || *s == '-')
        return 0;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || end == s)
        return 0;
    unsigned long long mul = 1;
    switch (*end) {
    case '\0': break;
    case 'k': case 'K': mul = unit; end++; break;
    case 'm': case 'M': mul = unit * unit; end++; break;
    case 'g': case 'G': mul = unit * unit * unit; end++; break;
    default: return 0;
    }
    if (*end != '\0')
        return 0;
    if (v != 0 && mul > ~0ull / v)
        return 0;
    *out = v * mul;
    return 1;
}

static inline int bench_parse_count(const char *s, unsigned long long *out)
{
    return bench_parse_num(s, 1000ull, out);
}

static inline int bench_parse_size(const char *s, unsigned long long *out)
{
    return bench_parse_num(s, 1024ull, out);
}

/* 1 if argv has -h or --help anywhere. */
static inline int bench_wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
            return 1;
    return 0;
}

/* Human-readable rate: "123.4 M". */
static inline void bench_fmt_rate(char *buf, size_t len, double v)
{
    if (v >= 1e9)
        snprintf(buf, len, "%.2f G", v / 1e9);
    else if (v >= 1e6)
        snprintf(buf, len, "%.2f M", v / 1e6);
    else if (v >= 1e3)
        snprintf(buf, len, "%.2f k", v / 1e3);
    else
        snprintf(buf, len, "%.2f ", v);
}

/* ---- A single-producer single-consumer ring of pointer batches (prodcons,
 * exchange). Each slot is a batch whose count is the handshake: 0 = empty, the
 * producer fills it and publishes the count (release), the consumer takes the
 * pointers and stores 0 (release). Not malloc'd per batch, so the transport adds
 * no allocator traffic of its own. */
#include <sched.h>
#include <stdatomic.h>

#define BENCH_BATCH 64u   /* pointers per batch */
#define BENCH_RING  16u   /* batches in flight per ring */

typedef struct bench_batch {
    _Atomic uint32_t n;
    void *p[BENCH_BATCH];
} __attribute__((aligned(64))) bench_batch;

typedef struct bench_ring {
    bench_batch b[BENCH_RING];
    unsigned head __attribute__((aligned(64)));   /* producer only */
    unsigned tail __attribute__((aligned(64)));   /* consumer only */
} bench_ring;

/* Publish n <= BENCH_BATCH pointers; 0 if the ring is full (try again later). */
static inline int bench_ring_put(bench_ring *r, void *const *p, uint32_t n)
{
    bench_batch *b = &r->b[r->head % BENCH_RING];
    if (atomic_load_explicit(&b->n, memory_order_acquire) != 0)
        return 0;
    memcpy(b->p, p, n * sizeof *p);
    atomic_store_explicit(&b->n, n, memory_order_release);
    r->head++;
    return 1;
}

/* The oldest published batch (its count in *n), or NULL if none; hand it back with
 * bench_ring_done once its pointers are used. */
static inline bench_batch *bench_ring_peek(bench_ring *r, uint32_t *n)
{
    bench_batch *b = &r->b[r->tail % BENCH_RING];
    *n = atomic_load_explicit(&b->n, memory_order_acquire);
    return *n ? b : NULL;
}

static inline void bench_ring_done(bench_ring *r, bench_batch *b)
{
    atomic_store_explicit(&b->n, 0, memory_order_release);
    r->tail++;
}

/* Back off while waiting for another thread: spin briefly, then yield the CPU (the
 * benchmarks run oversubscribed: the awaited thread may need this core). */
static inline void bench_backoff(unsigned *spins)
{
    if (++*spins < 64) {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
    } else
        sched_yield();
}

#endif /* BENCH_UTIL_H */
