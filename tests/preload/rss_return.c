/* rss_return.c - run under LD_PRELOAD=libhakmem.so: must exit 0.
 *
 * Memory of threads that exited goes back to the OS once their blocks are freed:
 *   exit-then-free  4 threads allocate 75 MB each of 1000-byte blocks (300 MB in all,
 *                   every block written) and exit; the main thread frees every block;
 *   consumer        the same 4 producers, then a consumer thread (started after they
 *                   exited) frees every block and exits.
 * After the frees, the RSS must be within 2x glibc's + 8 MiB (the allocator's fixed
 * footprint: the empty SuperSlabs a thread and the pool keep resident, the slab table)
 * and no more than mimalloc's when libmimalloc is installed: both
 * run the same program in a child (no LD_PRELOAD; LD_PRELOAD=libmimalloc). One line
 * per scenario with the three figures. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "peer.h"

#define NPROD 4
#define PER_THREAD (75u << 20)
#define BLOCK 1000u
#define NBLOCKS (PER_THREAD / BLOCK)

static void **blocks[NPROD];

static void *producer(void *arg)
{
    void **b = blocks[(uintptr_t)arg];
    for (unsigned i = 0; i < NBLOCKS; i++) {
        if (!(b[i] = malloc(BLOCK))) return (void *)1;
        memset(b[i], (int)i, BLOCK);
    }
    return NULL;
}

static void free_all(void)
{
    for (unsigned t = 0; t < NPROD; t++)
        for (unsigned i = 0; i < NBLOCKS; i++) free(blocks[t][i]);
}

static void *consumer(void *arg)
{
    (void)arg;
    free_all();
    return NULL;
}

/* RSS in KiB after the scenario's frees. */
static long scenario(int consumer_thread)
{
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

int main(int argc, char **argv)
{
    for (unsigned i = 0; i < NPROD; i++)   /* the block tables are not part of the heap under test */
        if (!(blocks[i] = calloc(NBLOCKS, sizeof(void *)))) return 1;
    if (argc > 1) {   /* a reference run: one scenario, print its RSS */
        printf("%ld\n", scenario(!strcmp(argv[1], names[1])));
        return 0;
    }
    int ok = 1;
    for (int s = 0; s < 2; s++) {
        long ours = scenario(s);
        char g[64], m[64] = "";
        if (!peer_run(argv[0], names[s], NULL, g, sizeof g)) { printf("FAIL: glibc reference run failed\n"); return 1; }
        int have_mi = access(PEER_MIMALLOC, R_OK) == 0;
        if (have_mi && !peer_run(argv[0], names[s], PEER_MIMALLOC, m, sizeof m)) { printf("FAIL: mimalloc run failed\n"); return 1; }
        long gl = atol(g), mi = have_mi ? atol(m) : -1;
        int good = ours <= 2 * gl + 8192 && (!have_mi || ours <= mi);
        printf("%s: %-14s RSS after freeing 300 MB of exited threads' blocks: %ld KiB (glibc %ld, mimalloc %s%s)\n",
               good ? "ok" : "FAIL", names[s], ours, gl, have_mi ? m : "not installed", have_mi ? "" : "");
        ok &= good;
    }
    return ok ? 0 : 1;
}
