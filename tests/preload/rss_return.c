/* rss_return.c - run under LD_PRELOAD=libhakmem.so: must exit 0.
 *
 * Memory of threads that exited goes back to the OS once their blocks are freed:
 *   exit-then-free  4 threads allocate 256 MiB each of 1000-byte blocks (1 GiB in all,
 *                   every block written) and exit; the main thread frees every block;
 *   consumer        the same 4 producers, then a consumer thread (started after they
 *                   exited) frees every block and exits.
 * After the frees, the RSS must be within 2x glibc's and no more than mimalloc's when
 * libmimalloc is installed. The size is what makes 2x a fair bound: hakmem keeps a
 * fixed few MiB (the empty SuperSlabs a thread and the pool keep resident) and a
 * part per SuperSlab it ever mapped (the slab table, the debug build's record), glibc
 * little besides the block tables below; at 256 MiB a thread both .so files sit at
 * 1.7-1.8x, and a debug record that keeps a page per SuperSlab (a hashed registry
 * table, a record's own page) is at 2.1x. Both
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
#define PER_THREAD (256u << 20)
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
        int good = gl > 0 && ours <= 2 * gl && (!have_mi || ours <= mi);
        printf("%s: %-14s RSS after freeing %u MiB of exited threads' blocks: %ld KiB = %.2fx glibc's %ld (bound 2x), mimalloc %s\n",
               good ? "ok" : "FAIL", names[s], NPROD * (PER_THREAD >> 20), ours, gl > 0 ? (double)ours / gl : 0.0, gl,
               have_mi ? m : "not installed");
        ok &= good;
    }
    return ok ? 0 : 1;
}
