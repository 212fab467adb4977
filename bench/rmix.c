/* rmix.c - random_mixed written a second time, from its definition alone.
 *
 * Definition: 256 slots; sizes uniform in [16, 1024] bytes; each iteration picks a
 * slot, frees the block in it, mallocs a new one and writes its first and last byte.
 * This file was written without looking at random_mixed.c and shares no code with it
 * (own PRNG, own slot choice, own timing, reads a byte before each free), so that a
 * result which only holds for one implementation of the benchmark shows up as a
 * difference between the two.
 *
 *   rmix [threads [iterations [max_size [seed]]]]   defaults: 1 10000000 1024 1
 *
 * With threads > 1 every thread runs the same loop on its own 256 slots, nothing
 * shared (the "random_mixed, one loop per thread" benchmark). One op = one free plus
 * one malloc. Prints a human line and
 *   RESULT bench=rmix threads=<n> ops=<n> ops_per_sec=<n> rss_kb=<peak RSS> check=<n> bad=<0|1>
 * Exits 1 if malloc fails or a block lost the bytes written into it. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#define SLOTS 256u
#define MIN_SIZE 16u

struct worker {
    pthread_t tid;
    uint64_t seed;
    uint64_t iterations;
    uint32_t max_size;
    uint64_t check;        /* sum of the bytes read back: keeps the writes live */
    int failed;
};

/* PCG32 (O'Neill's permuted congruential generator, XSH-RR output). */
struct pcg { uint64_t state, inc; };
static inline uint32_t pcg_next(struct pcg *g)
{
    uint64_t old = g->state;
    g->state = old * 6364136223846793005ull + g->inc;
    uint32_t xs = (uint32_t)(((old >> 18) ^ old) >> 27);
    uint32_t rot = (uint32_t)(old >> 59);
    return (xs >> rot) | (xs << ((32 - rot) & 31));
}
/* Uniform in [0, n): Lemire's multiply-shift (the tiny bias is irrelevant here). */
static inline uint32_t pcg_below(struct pcg *g, uint32_t n)
{
    return (uint32_t)(((uint64_t)pcg_next(g) * n) >> 32);
}

struct slot { unsigned char *p; uint32_t size; };

/* The timed loop; noinline so callgrind can count only it (--toggle-collect=rmix_loop). */
__attribute__((noinline)) uint64_t rmix_loop(struct slot *s, struct pcg *g, uint64_t iters,
                                             uint32_t max_size, int *failed)
{
    uint64_t check = 0;
    uint32_t span = max_size - MIN_SIZE + 1;
    for (uint64_t i = 0; i < iters; i++) {
        uint32_t r = pcg_next(g);
        struct slot *x = &s[r & (SLOTS - 1)];
        if (x->p) {
            /* read the last byte written (it depends on the slot's size) before free */
            unsigned char last = x->p[x->size - 1];
            if (last != (unsigned char)(x->size ^ 0x5a)) *failed = 1;
            check += last;
            free(x->p);
        }
        uint32_t size = MIN_SIZE + pcg_below(g, span);
        unsigned char *p = malloc(size);
        if (!p) { *failed = 1; return check; }
        p[0] = (unsigned char)i;
        p[size - 1] = (unsigned char)(size ^ 0x5a);
        x->p = p;
        x->size = size;
    }
    return check;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct slot *s = calloc(SLOTS, sizeof *s);
    if (!s) { w->failed = 1; return NULL; }
    struct pcg g = { .state = w->seed * 0x9e3779b97f4a7c15ull + 1, .inc = (w->seed << 1) | 1 };
    pcg_next(&g);
    w->check = rmix_loop(s, &g, w->iterations, w->max_size, &w->failed);
    for (unsigned i = 0; i < SLOTS; i++) free(s[i].p);
    free(s);
    return NULL;
}

/* Peak RSS in KiB: VmHWM, which belongs to this address space (ru_maxrss would carry
 * the peak of the process that exec'd us, e.g. a large python runner). */
static long peak_rss_kb(void)
{
    long kb = -1;
    char line[128];
    FILE *f = fopen("/proc/self/status", "r");
    if (f) {
        while (fgets(line, sizeof line, f))
            if (!strncmp(line, "VmHWM:", 6)) { kb = strtol(line + 6, NULL, 10); break; }
        fclose(f);
    }
    if (kb < 0) {
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        kb = ru.ru_maxrss;
    }
    return kb;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static unsigned long arg_num(const char *s, const char *what, unsigned long lo, unsigned long hi)
{
    char *end;
    unsigned long v = strtoul(s, &end, 10);
    if (*s == '\0' || *end != '\0' || v < lo || v > hi) {
        fprintf(stderr, "rmix: bad %s '%s' (%lu..%lu)\n"
                "usage: rmix [threads [iterations [max_size [seed]]]]\n", what, s, lo, hi);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv)
{
    if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        printf("usage: rmix [threads [iterations [max_size [seed]]]]\n"
               "random_mixed from its definition: per thread 256 slots, free + malloc of\n"
               "16..max_size bytes (default 1024), first and last byte written.\n");
        return 0;
    }
    if (argc > 5) {
        fprintf(stderr, "usage: rmix [threads [iterations [max_size [seed]]]]\n");
        return 2;
    }
    unsigned threads = argc > 1 ? (unsigned)arg_num(argv[1], "threads", 1, 256) : 1;
    uint64_t iters = argc > 2 ? arg_num(argv[2], "iterations", 1, 1ul << 40) : 10000000;
    uint32_t max_size = argc > 3 ? (uint32_t)arg_num(argv[3], "max_size", MIN_SIZE, 1u << 24) : 1024;
    uint64_t seed = argc > 4 ? arg_num(argv[4], "seed", 0, ~0ul) : 1;

    struct worker *w = calloc(threads, sizeof *w);
    if (!w) return 1;
    double t0 = now();
    for (unsigned i = 0; i < threads; i++) {
        w[i] = (struct worker){ .seed = seed + 7919u * i, .iterations = iters, .max_size = max_size };
        if (threads == 1) worker_main(&w[i]);
        else if (pthread_create(&w[i].tid, NULL, worker_main, &w[i])) { perror("pthread_create"); return 1; }
    }
    if (threads > 1)
        for (unsigned i = 0; i < threads; i++) pthread_join(w[i].tid, NULL);
    double dt = now() - t0;
    uint64_t check = 0;
    int failed = 0;
    for (unsigned i = 0; i < threads; i++) { check += w[i].check; failed |= w[i].failed; }
    long rss = peak_rss_kb();
    double ops = (double)iters * threads / dt;
    printf("rmix: %u thread(s) x %llu iterations, 16..%u B: %.3f s, %.2f M ops/s, peak RSS %ld KiB%s\n",
           threads, (unsigned long long)iters, max_size, dt, ops / 1e6, rss, failed ? " FAILED" : "");
    printf("RESULT bench=rmix threads=%u ops=%llu ops_per_sec=%.0f rss_kb=%ld check=%llu bad=%d\n",
           threads, (unsigned long long)iters * threads, ops, rss, (unsigned long long)check, failed);
    free(w);
    return failed ? 1 : 0;
}
