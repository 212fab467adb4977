/* same_layout.c - the release and the debug build make the same allocation decisions:
 * one scenario of cross-thread frees, run once against each heap (hak_, hakd_) in one
 * process, hands out the same blocks (offsets from the heap's first SuperSlab) in the
 * same order. The harness compares the two builds op by op; a build that takes its
 * blocks from elsewhere (another list, another order) parts their layouts and makes
 * divergences that are no check gap.
 *
 * The scenario, per round: the owner (main thread) allocates blocks of tiny and mid
 * classes; a second thread frees most of them (each goes onto its slab's remote list);
 * the owner frees some of the rest itself and allocates again, so its refills collect
 * remote lists (the active slab's and the other slabs' of every class) into its cache
 * and onto freelists. Threads run one at a time, so the order of ops is fixed.
 * Exit 0 when every offset matches; 1 with the first difference otherwise. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "hakmem.h"

#define ROUNDS 24
#define PER_ROUND 400
#define MAX_LIVE (ROUNDS * PER_ROUND)
#define MAX_LOG (2 * ROUNDS * PER_ROUND)
#define SS_MASK (((uintptr_t)2 << 20) - 1)

typedef struct api {
    const char *name;
    void *(*malloc)(size_t);
    void (*free)(void *);
} api;

typedef struct run {
    const api *a;
    void *live[MAX_LIVE];
    unsigned nlive;
    uint64_t rng;
    uintptr_t base;                 /* the first block's SuperSlab */
    long long log[MAX_LOG];         /* offset of every block handed out, in order */
    unsigned nlog;
} run;

static uint32_t next(run *r)
{
    r->rng = r->rng * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(r->rng >> 33);
}

/* Remove and return live[i] (the last one takes its place: the order stays a function
 * of the PRNG alone). */
static void *take(run *r, unsigned i)
{
    void *p = r->live[i];
    r->live[i] = r->live[--r->nlive];
    return p;
}

static void alloc_some(run *r, unsigned n)
{
    for (unsigned k = 0; k < n && r->nlive < MAX_LIVE; k++) {
        uint32_t x = next(r);
        size_t size = x % 8 ? 16 + x % 1009 : 1025 + x % 7000;   /* tiny mostly, some mid */
        unsigned char *p = r->a->malloc(size);
        if (!p) { fprintf(stderr, "same_layout: %s malloc(%zu) failed\n", r->a->name, size); exit(1); }
        p[0] = 1;
        if (!r->base) r->base = (uintptr_t)p & ~SS_MASK;
        if (r->nlog < MAX_LOG) r->log[r->nlog++] = (long long)((uintptr_t)p - r->base);
        r->live[r->nlive++] = p;
    }
}

static void *foreign_frees(void *arg)   /* most live blocks, freed by another thread */
{
    run *r = arg;
    for (unsigned n = r->nlive * 3 / 4; n; n--) r->a->free(take(r, next(r) % r->nlive));
    return NULL;
}

static void scenario(run *r)
{
    for (unsigned round = 0; round < ROUNDS; round++) {
        alloc_some(r, PER_ROUND);
        pthread_t th;
        if (pthread_create(&th, NULL, foreign_frees, r) || pthread_join(th, NULL)) {
            fprintf(stderr, "same_layout: pthread failed\n");
            exit(1);
        }
        for (unsigned n = r->nlive / 4; n; n--) r->a->free(take(r, next(r) % r->nlive));   /* own frees */
        alloc_some(r, PER_ROUND / 2);
    }
    while (r->nlive) r->a->free(take(r, r->nlive - 1));
}

static run runs[2];

int main(void)
{
    static const api apis[2] = { { "release", hak_malloc, hak_free }, { "debug", hakd_malloc, hakd_free } };
    for (int i = 0; i < 2; i++) {
        runs[i].a = &apis[i];
        runs[i].rng = 12345;
        scenario(&runs[i]);
    }
    if (runs[0].nlog != runs[1].nlog) {
        printf("same_layout: FAIL release handed out %u blocks, debug %u\n", runs[0].nlog, runs[1].nlog);
        return 1;
    }
    for (unsigned k = 0; k < runs[0].nlog; k++)
        if (runs[0].log[k] != runs[1].log[k]) {
            printf("same_layout: FAIL block %u of %u: release at offset %#llx, debug at %#llx\n", k, runs[0].nlog,
                   (unsigned long long)runs[0].log[k], (unsigned long long)runs[1].log[k]);
            return 1;
        }
    printf("same_layout: release and debug handed out the same %u blocks in the same order\n", runs[0].nlog);
    return 0;
}
