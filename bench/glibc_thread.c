/* glibc_thread.c - glibc's thread benchmark, written from its definition.
 *
 * Definition followed: glibc's benchtests/bench-malloc-thread.c (read in glibc's
 * repository and in mimalloc-bench's copy, bench/glibc-bench/, run there as
 * `glibc-thread`). N threads; each owns a working set of 1024 pointer slots, empty at
 * the start. Until a fixed duration has passed (60 s in glibc, 2 s in mimalloc-bench)
 * each thread repeats one iteration: take the next slot index from a table of 4096
 * random indices and the next size from a table of 8000 random sizes (both tables
 * built once, shared, walked cyclically from the start by every thread), free the
 * slot's block (free(NULL) the first time) and malloc a block of that size into it.
 * Sizes are 4..32768 bytes with an inverse-square density (p(s) ~ 1/s^2, drawn by
 * inverting its distribution function), so most requests are tiny and a few reach
 * 32 KiB. With one thread the loop runs on the main thread. glibc reports the
 * iterations, the summed thread time, time per iteration = summed time / iterations,
 * and the maximum RSS.
 *
 * Written without glibc's code. What differs:
 * - the tables come from this file's PRNG (bench_util.h, from `seed`), not rand()
 *   seeded 88, and the sizes are computed in double rather than float;
 * - the duration is a command-line value in milliseconds (the runner uses 1 s) and
 *   the stop is a flag set by an interval timer (glibc: alarm(), whole seconds);
 * - each block's first and last byte get a tag (from its address and size, so a block
 *   handed out twice shows up too) at malloc, checked before its free: bad=1 if a
 *   block lost them (glibc touches no block);
 * - an optional iteration cap per thread ends the loop early (deterministic counts
 *   under callgrind: --toggle-collect=glibc_thread_loop);
 * - the blocks left in the slots are freed after the timed loop (glibc exits with
 *   them); peak RSS is VmHWM (glibc: ru_maxrss).
 *
 *   glibc_thread [threads [duration_ms [iterations [seed]]]]   defaults: 1 1000 0 88
 *
 * One op = one iteration (a free of the slot's old block + a malloc). ops_per_sec =
 * all threads' iterations / wall time from the start of the first loop until the
 * last thread stops; ns_per_iter is glibc's time_per_iteration (summed thread time /
 * iterations). Prints a human line and
 *   RESULT bench=glibc_thread threads=<n> ops=<n> ops_per_sec=<n> rss_kb=<n>
 *          ns_per_iter=<x> check=<n> bad=<0|1>
 * Exits 1 if malloc fails or a block lost its tag, 2 on bad arguments. */
#define _GNU_SOURCE
#include "bench_util.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/time.h>

#define WORKING_SET 1024u
#define NUM_SIZES   8000u
#define NUM_SLOTS   (4u * WORKING_SET)
#define MIN_SIZE    4.0
#define MAX_SIZE    32768.0

static uint32_t size_table[NUM_SIZES];
static uint16_t slot_table[NUM_SLOTS];
static atomic_int stop_flag;

typedef struct worker {
    pthread_t th;
    unsigned long long cap;      /* 0: until the timer fires */
    unsigned long long iters;
    uint64_t check;
    double secs;
    int bad;
} __attribute__((aligned(64))) worker;

/* Inverse-square density on [MIN_SIZE, MAX_SIZE]: the distribution function is
 * F(s) = (1/min - 1/s) / (1/min - 1/max), so s = 1 / (1/min - u (1/min - 1/max)). */
static uint32_t inverse_square_size(double u)
{
    double inv = 1.0 / MIN_SIZE - u * (1.0 / MIN_SIZE - 1.0 / MAX_SIZE);
    double s = (double)(uint32_t)(1.0 / inv);   /* truncation: 1/inv is positive */
    if (s < MIN_SIZE)
        s = MIN_SIZE;
    if (s > MAX_SIZE)
        s = MAX_SIZE;
    return (uint32_t)s;
}

static void build_tables(uint64_t seed)
{
    bench_rng r;
    bench_rng_seed(&r, seed);
    for (unsigned i = 0; i < NUM_SIZES; i++)
        size_table[i] = inverse_square_size((double)(bench_rng_next(&r) >> 11) * 0x1p-53);
    for (unsigned i = 0; i < NUM_SLOTS; i++)
        slot_table[i] = (uint16_t)bench_below((uint32_t)(bench_rng_next(&r) >> 32), WORKING_SET);
}

/* Odd (zeroed memory fails) and different for two sizes at one address. */
static inline uint8_t block_tag(const void *p, uint32_t size)
{
    return (uint8_t)(bench_tag(p) ^ (uint8_t)(size << 1));
}

static void on_timer(int sig)
{
    (void)sig;
    atomic_store_explicit(&stop_flag, 1, memory_order_relaxed);
}

/* The timed loop; noinline so that callgrind can count only it. */
__attribute__((noinline)) unsigned long long
glibc_thread_loop(unsigned char **slot, uint32_t *slot_size, unsigned long long cap,
                  uint64_t *check, int *bad)
{
    unsigned si = 0, oi = 0;
    unsigned long long n = 0;
    uint64_t sum = 0;
    while (!atomic_load_explicit(&stop_flag, memory_order_relaxed) && n != cap) {
        unsigned idx = slot_table[oi];
        uint32_t size = size_table[si];
        oi = oi + 1 == NUM_SLOTS ? 0 : oi + 1;
        si = si + 1 == NUM_SIZES ? 0 : si + 1;
        unsigned char *old = slot[idx];
        if (old != NULL) {
            uint8_t t = block_tag(old, slot_size[idx]);
            if (old[0] != t || old[slot_size[idx] - 1] != t)
                *bad = 1;
            sum += old[0];
        }
        free(old);
        unsigned char *p = malloc(size);
        if (p == NULL) {
            fprintf(stderr, "glibc_thread: malloc(%u) failed\n", size);
            *bad = 1;
            slot[idx] = NULL;
            break;
        }
        uint8_t t = block_tag(p, size);
        p[0] = t;
        p[size - 1] = t;
        slot[idx] = p;
        slot_size[idx] = size;
        n++;
    }
    *check += sum;
    return n;
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    unsigned char *slot[WORKING_SET] = { 0 };
    uint32_t slot_size[WORKING_SET];
    double t0 = bench_now();
    w->iters = glibc_thread_loop(slot, slot_size, w->cap ? w->cap : ~0ull, &w->check, &w->bad);
    w->secs = bench_now() - t0;
    for (unsigned i = 0; i < WORKING_SET; i++)
        free(slot[i]);
    return NULL;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: glibc_thread [threads [duration_ms [iterations [seed]]]]\n"
            "  threads      threads, each with its own 1024 slots (default 1; 1 runs on the main thread)\n"
            "  duration_ms  how long every thread loops (default 1000; 0 = until iterations)\n"
            "  iterations   per-thread cap, 0 = none (default 0; k/m = 10^3/10^6)\n"
            "  seed         seed of the size and slot tables (default 88)\n"
            "glibc's bench-malloc-thread: free + malloc of 4..32768 B (inverse-square sizes)\n"
            "in a random slot. One op = one iteration. Select the allocator with LD_PRELOAD.\n");
}

int main(int argc, char **argv)
{
    if (bench_wants_help(argc, argv)) {
        usage(stdout);
        return 0;
    }
    unsigned long long threads = 1, ms = 1000, cap = 0, seed = 88;
    if (argc > 5 || (argc > 1 && !bench_parse_count(argv[1], &threads)) ||
        (argc > 2 && !bench_parse_count(argv[2], &ms)) ||
        (argc > 3 && !bench_parse_count(argv[3], &cap)) ||
        (argc > 4 && !bench_parse_count(argv[4], &seed)) ||
        threads < 1 || threads > 256 || ms > 3600000ull || (ms == 0 && cap == 0)) {
        usage(stderr);
        return 2;
    }
    build_tables(seed);
    if (ms > 0) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_timer;
        sa.sa_flags = SA_RESTART;
        struct itimerval it = { .it_value = { .tv_sec = (time_t)(ms / 1000),
                                              .tv_usec = (suseconds_t)(ms % 1000) * 1000 } };
        if (sigaction(SIGALRM, &sa, NULL) != 0 || setitimer(ITIMER_REAL, &it, NULL) != 0) {
            perror("glibc_thread: timer");
            return 1;
        }
    }
    worker *w = calloc(threads, sizeof *w);
    if (w == NULL)
        return 1;
    double t0 = bench_now();
    for (unsigned i = 0; i < threads; i++) {
        w[i].cap = cap;
        if (threads == 1)
            worker_main(&w[i]);
        else if (pthread_create(&w[i].th, NULL, worker_main, &w[i]) != 0) {
            fprintf(stderr, "glibc_thread: pthread_create failed\n");
            return 1;
        }
    }
    if (threads > 1)
        for (unsigned i = 0; i < threads; i++)
            pthread_join(w[i].th, NULL);
    double dt = bench_now() - t0;
    unsigned long long ops = 0;
    uint64_t check = 0;
    double tsum = 0;
    int bad = 0;
    for (unsigned i = 0; i < threads; i++) {
        ops += w[i].iters;
        check += w[i].check;
        tsum += w[i].secs;
        bad |= w[i].bad;
    }
    long rss = bench_peak_rss_kb();
    double rate = dt > 0 ? (double)ops / dt : 0;
    char buf[32];
    bench_fmt_rate(buf, sizeof buf, rate);
    printf("glibc_thread: %llu thread(s), %llu iterations in %.3f s: %sops/s, %.1f ns per "
           "iteration (thread time), peak RSS %ld KiB%s\n", threads, ops, dt, buf,
           ops ? 1e9 * tsum / (double)ops : 0.0, rss, bad ? " FAILED" : "");
    printf("RESULT bench=glibc_thread threads=%llu ops=%llu ops_per_sec=%.0f rss_kb=%ld "
           "ns_per_iter=%.2f check=%llu bad=%d\n", threads, ops, rate, rss,
           ops ? 1e9 * tsum / (double)ops : 0.0, (unsigned long long)check, bad);
    free(w);
    return bad ? 1 : 0;
}
