/* exit_freers.c - run under LD_PRELOAD=libhakmem.so: must exit 0.
 *
 * 3,000 short threads, 8 at a time, each malloc 64 blocks of 16-2,000 bytes, hand them to
 * two freer threads through a shared queue and exit at once; the freers, which allocate
 * nothing, free every block. The first free into a dead thread's SuperSlab takes it over
 * (one freer), and the other freer's frees into it go to its remote lists, which only the
 * taker may collect: if a thread that only frees never collects, each freer strands the
 * other's SuperSlabs (26 MB resident at the end where glibc keeps 2.4 MB). At the end,
 * with nothing live, RSS must be within 2x glibc's (the same program run again without
 * LD_PRELOAD) and below mimalloc's, as in the reliability requirements. Contents are
 * checked before every free. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "peer.h"

#define THREADS 3000
#define BATCH 8
#define BLOCKS 64
#define FREERS 2

static struct { void **v; size_t head, tail, cap; int done; pthread_mutex_t mu; pthread_cond_t cv; } q = {
    .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };

static void q_push(void *p)
{
    pthread_mutex_lock(&q.mu);
    if (q.tail - q.head == q.cap) {   /* grow (the main thread's first pushes size it) */
        size_t cap = q.cap ? 2 * q.cap : 4096;
        void **v = malloc(cap * sizeof *v);
        if (!v) { fprintf(stderr, "FAIL: queue malloc\n"); exit(1); }
        for (size_t i = q.head; i < q.tail; i++) v[i - q.head] = q.v[i % q.cap];
        free(q.v);
        q.v = v; q.tail -= q.head; q.head = 0; q.cap = cap;
    }
    q.v[q.tail++ % q.cap] = p;
    pthread_cond_signal(&q.cv);
    pthread_mutex_unlock(&q.mu);
}

static void *q_pop(void)   /* NULL: done and empty */
{
    pthread_mutex_lock(&q.mu);
    while (q.head == q.tail && !q.done) pthread_cond_wait(&q.cv, &q.mu);
    void *p = q.head == q.tail ? NULL : q.v[q.head++ % q.cap];
    pthread_mutex_unlock(&q.mu);
    return p;
}

static size_t size_of(uintptr_t id, int i) { return 16 + (id * 7919 + (uintptr_t)i * 104729) % 1985; }

static void *producer(void *arg)
{
    uintptr_t id = (uintptr_t)arg;
    for (int i = 0; i < BLOCKS; i++) {
        size_t n = size_of(id, i);
        unsigned char *p = malloc(n);
        if (!p) { fprintf(stderr, "FAIL: malloc in a producer\n"); exit(1); }
        memcpy(p, &n, sizeof n);
        memset(p + sizeof n, (int)(n & 0xFF), n - sizeof n);
        q_push(p);
    }
    return NULL;
}

static void *freer(void *arg)
{
    (void)arg;
    unsigned char *p;
    while ((p = q_pop())) {
        size_t n;
        memcpy(&n, p, sizeof n);
        if (n < 16 || n > 2000 || p[n - 1] != (unsigned char)(n & 0xFF)) { fprintf(stderr, "FAIL: block contents\n"); exit(1); }
        free(p);
    }
    return NULL;
}

/* RSS in KiB at the end, everything freed. */
static long run(void)
{
    pthread_t f[FREERS];
    for (int i = 0; i < FREERS; i++)
        if (pthread_create(&f[i], NULL, freer, NULL)) { perror("pthread_create"); exit(1); }
    for (uintptr_t id = 0; id < THREADS; id += BATCH) {
        pthread_t t[BATCH];
        for (int j = 0; j < BATCH; j++)
            if (pthread_create(&t[j], NULL, producer, (void *)(id + (uintptr_t)j))) { perror("pthread_create"); exit(1); }
        for (int j = 0; j < BATCH; j++) pthread_join(t[j], NULL);
    }
    pthread_mutex_lock(&q.mu);
    q.done = 1;
    pthread_cond_broadcast(&q.cv);
    pthread_mutex_unlock(&q.mu);
    for (int i = 0; i < FREERS; i++) pthread_join(f[i], NULL);
    return peer_rss_kb();
}

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "peer")) {   /* the reference runs */
        printf("%ld\n", run());
        return 0;
    }
    long ours = run();
    char g[64], m[64];
    if (!peer_run(argv[0], "peer", NULL, g, sizeof g)) { printf("FAIL: the glibc reference run failed\n"); return 1; }
    long glibc = atol(g), mi = -1;
    if (access(PEER_MIMALLOC, R_OK) == 0 && peer_run(argv[0], "peer", PEER_MIMALLOC, m, sizeof m)) mi = atol(m);
    int ok = ours <= 2 * glibc && (mi < 0 || ours < mi);
    printf("%s: RSS after %d exited threads' blocks were freed by %d other threads: %ld KiB (glibc %ld KiB, bound 2x; mimalloc %s%ld KiB)\n",
           ok ? "ok" : "FAIL", THREADS, FREERS, ours, glibc, mi < 0 ? "not installed " : "", mi);
    return ok ? 0 : 1;
}
