/* rss_return.c - run under LD_PRELOAD=libhakmem.so: must exit 0.
 *
 * Memory of threads that exited goes back to the OS once their blocks are freed:
 *   exit-then-free  4 threads allocate N MiB each of 1000-byte blocks (every block
 *                   written) and exit; the main thread frees every block;
 *   consumer        the same 4 producers, then a consumer thread (started after they
 *                   exited) frees every block and exits.
 * Both at N = 75, then exit-then-free at 256 (1 GiB in all), in one process. After the frees,
 * the RSS must be within 2x glibc's and no more than mimalloc's when libmimalloc is
 * installed. Both run the same scenario in a child (no LD_PRELOAD; LD_PRELOAD=libmimalloc).
 * The 75 MiB case is the sharp one: glibc keeps about 2 MiB besides the block tables,
 * so hakmem's fixed part must stay small. A live thread that frees what exited threads
 * allocated takes their SuperSlabs over; they once stayed resident as its warm ones
 * (two empty ones, plus one held by the few blocks in its cache: 6 MiB, 2.3x glibc at
 * 75 MiB a thread). One line per case with the three figures. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "peer.h"

#define NPROD 4
#define BLOCK 1000u
#define MAX_MB 256u
#define MAX_BLOCKS ((MAX_MB << 20) / BLOCK)

static void **blocks[NPROD];
static unsigned nblocks;   /* per producer, for the scenario running */

static void *producer(void *arg)
{
    void **b = blocks[(uintptr_t)arg];
    for (unsigned i = 0; i < nblocks; i++) {
        if (!(b[i] = malloc(BLOCK))) return (void *)1;
        memset(b[i], (int)i, BLOCK);
    }
    return NULL;
}

static void free_all(void)
{
    for (unsigned t = 0; t < NPROD; t++)
        for (unsigned i = 0; i < nblocks; i++) free(blocks[t][i]);
}

static void *consumer(void *arg)
{
    (void)arg;
    free_all();
    return NULL;
}

/* RSS in KiB after the scenario's frees. */
static long scenario(int consumer_thread, unsigned mb)
{
    nblocks = (unsigned)(((unsigned long)mb << 20) / BLOCK);
    pthread_t t[NPROD];
    for (unsigned i = 0; i < NPROD; i++)
        if (pthread_create(&t[i], NULL, producer, (void *)(uintptr_t)i) != 0) { perror("pthread_create"); exit(1); }
    for (unsigned i = 0; i < NPROD; i++) {
        void *r;
        pthread_join(t[i], &r);
        if (r) { fprintf(stderr, "malloc failed\n"); exit(1); }
    }
    if (consumer_thread) {
        pthread_t c;
        if (pthread_create(&c, NULL, consumer, NULL) != 0) { perror("pthread_create"); exit(1); }
        pthread_join(c, NULL);
    } else {
        free_all();
    }
    return peer_rss_kb();
}

static const char *const names[2] = { "exit-then-free", "consumer" };
static const struct { int consumer; unsigned mb; } cases[] = {
    { 0, 75 }, { 1, 75 }, { 0, MAX_MB },   /* (a consumer at 1 GiB adds time, not a new path) */
};
#define NCASES (int)(sizeof cases / sizeof cases[0])

int main(int argc, char **argv)
{
    for (unsigned i = 0; i < NPROD; i++)   /* the block tables are not part of the heap under test */
        if (!(blocks[i] = calloc(MAX_BLOCKS, sizeof(void *)))) return 1;
    if (argc > 1) {   /* a reference run: one scenario "NAME:MiB", print its RSS */
        const char *colon = strchr(argv[1], ':');
        unsigned mb = colon ? (unsigned)atoi(colon + 1) : 0;
        if (!mb || mb > MAX_MB) { fprintf(stderr, "usage: rss_return [exit-then-free|consumer:MiB]\n"); return 2; }
        printf("%ld\n", scenario(!strncmp(argv[1], names[1], strlen(names[1])), mb));
        return 0;
    }
    int ok = 1;
    for (int c = 0; c < NCASES; c++) {
        int s = cases[c].consumer;
        unsigned mb = cases[c].mb;
        long ours = scenario(s, mb);
        char g[64], m[64] = "", arg[64];
        snprintf(arg, sizeof arg, "%s:%u", names[s], mb);
        if (!peer_run(argv[0], arg, NULL, g, sizeof g)) { printf("FAIL: glibc reference run failed\n"); return 1; }
        int have_mi = access(PEER_MIMALLOC, R_OK) == 0;
        if (have_mi && !peer_run(argv[0], arg, PEER_MIMALLOC, m, sizeof m)) { printf("FAIL: mimalloc run failed\n"); return 1; }
        long gl = atol(g), mi = have_mi ? atol(m) : -1;
        int good = gl > 0 && ours <= 2 * gl && (!have_mi || ours <= mi);
        printf("%s: %-14s RSS after freeing %u MiB of exited threads' blocks: %ld KiB = %.2fx glibc's %ld (bound 2x), mimalloc %s\n",
               good ? "ok" : "FAIL", names[s], NPROD * mb, ours, gl > 0 ? (double)ours / gl : 0.0, gl,
               have_mi ? m : "not installed");
        ok &= good;
    }
    return ok ? 0 : 1;
}
