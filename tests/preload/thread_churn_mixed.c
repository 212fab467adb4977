/* thread_churn_mixed.c - run under LD_PRELOAD=libhakmem.so: must exit 0.
 *
 * 10,000 short threads, 4 at a time. Each allocates 200 blocks of 16..2000 bytes (a
 * per-thread sequence of sizes; every byte written), frees three in four itself and
 * leaves every fourth to the main thread, which frees them once the batch has exited:
 * the blocks of exited threads go back through a thread that allocates almost nothing
 * itself. Nothing is live at the end. The RSS then must be within 2x glibc's and no
 * more than mimalloc's (when libmimalloc is installed); both run the same program in a
 * child (no LD_PRELOAD; LD_PRELOAD=libmimalloc). Once it was 11 MiB against glibc's
 * 2.7 and mimalloc's 7: the main thread's hint matched one exited thread's in 127, so
 * free's fast path cached that thread's blocks, and the blocks it freed of the others'
 * went into its cache too; each cached block held its slab, and the main thread ended
 * up owning 78 SuperSlabs held by 1,700 cached blocks. The block table is static, not
 * part of the heap under test. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "peer.h"

#define THREADS 10000
#define BATCH 4
#define NBLOCKS 200
#define KEEP (NBLOCKS / 4)

static void *kept[BATCH][KEEP];

static void *worker(void *arg)
{
    unsigned w = (unsigned)(uintptr_t)arg, seed = w * 2654435761u + 1;
    unsigned slot = w % BATCH, k = 0;
    void *b[NBLOCKS];
    for (unsigned i = 0; i < NBLOCKS; i++) {
        seed = seed * 1103515245u + 12345u;
        size_t size = 16 + (seed >> 8) % 1985;
        if (!(b[i] = malloc(size))) return (void *)1;
        memset(b[i], (int)i, size);
    }
    for (unsigned i = 0; i < NBLOCKS; i++) {
        if (i % 4 == 0) kept[slot][k++] = b[i];
        else free(b[i]);
    }
    return NULL;
}

/* RSS in KiB after every thread ran and every block was freed. */
static long churn(void)
{
    for (unsigned g = 0; g < THREADS; g += BATCH) {
        pthread_t t[BATCH];
        for (unsigned j = 0; j < BATCH; j++)
            if (pthread_create(&t[j], NULL, worker, (void *)(uintptr_t)(g + j)) != 0) { perror("pthread_create"); exit(1); }
        for (unsigned j = 0; j < BATCH; j++) {
            void *r;
            pthread_join(t[j], &r);
            if (r) { fprintf(stderr, "FAIL: malloc in a thread\n"); exit(1); }
        }
        for (unsigned j = 0; j < BATCH; j++)
            for (unsigned i = 0; i < KEEP; i++) {
                if (*(unsigned char *)kept[j][i] != (unsigned char)(i * 4)) { fprintf(stderr, "FAIL: a kept block changed\n"); exit(1); }
                free(kept[j][i]);
            }
    }
    return peer_rss_kb();
}

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "peer")) {   /* a reference run */
        printf("%ld\n", churn());
        return 0;
    }
    long ours = churn();
    char g[64], m[64] = "";
    if (!peer_run(argv[0], "peer", NULL, g, sizeof g)) { printf("FAIL: the glibc reference run failed\n"); return 1; }
    int have_mi = access(PEER_MIMALLOC, R_OK) == 0;
    if (have_mi && !peer_run(argv[0], "peer", PEER_MIMALLOC, m, sizeof m)) { printf("FAIL: the mimalloc run failed\n"); return 1; }
    long gl = atol(g), mi = have_mi ? atol(m) : -1;
    int good = gl > 0 && ours <= 2 * gl && (!have_mi || ours <= mi);
    printf("%s: RSS after %d short threads whose blocks the main thread partly freed: %ld KiB = %.2fx glibc's %ld (bound 2x), mimalloc %s\n",
           good ? "ok" : "FAIL", THREADS, ours, gl > 0 ? (double)ours / gl : 0.0, gl, have_mi ? m : "not installed");
    return good ? 0 : 1;
}
