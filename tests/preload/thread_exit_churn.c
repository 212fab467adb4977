/* thread_exit_churn.c - run under LD_PRELOAD=libhakmem.so: must exit 0.
 *
 * 20,000 short threads, 4 at a time, each with a value under a pthread key created
 * after the allocator's own (so its destructor runs after the allocator's thread-exit
 * destructor). The destructor frees the value and then allocates and frees blocks of
 * 40 sizes (tiny and mid), as a library's TLS cleanup or a last log line does. Memory
 * a thread allocates after the allocator's destructor must not be lost with the
 * thread: resident memory stays flat. The program measures its RSS growth from
 * thread 200 (warm) to the end, runs itself again without LD_PRELOAD (glibc malloc)
 * and requires growth <= 1.2 x glibc's + 1 MiB. It stops early, failing, as soon as
 * the growth passes 64 MiB (a leak shows within a few hundred threads). Then it forks,
 * and the child forks again: the fork handlers leave the allocator's locks usable in a
 * child (a grandchild's fork hung once on a lock its parent could not release). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "peer.h"

#define THREADS 20000
#define WARM 200
#define BATCH 4
#define ABORT_GROWTH_KB (64 * 1024)

static pthread_key_t key;

static void destructor(void *v)
{
    free(v);
    void *q[40];
    for (int i = 0; i < 40; i++) {
        q[i] = malloc(i < 20 ? 16 + (size_t)i * 50 : 1100 + (size_t)(i - 20) * 900);
        if (!q[i]) { fprintf(stderr, "FAIL: malloc in a key destructor\n"); _exit(1); }
        memset(q[i], 0x5A, 16);
    }
    for (int i = 0; i < 40; i++) free(q[i]);
}

static void *worker(void *arg)
{
    (void)arg;
    char *v = malloc(64);
    if (!v) return (void *)1;
    strcpy(v, "per-thread state");
    pthread_setspecific(key, v);
    return NULL;
}

/* Growth of RSS in KiB from thread WARM to the end; -1 if it passed the abort bound. */
static long churn(void)
{
    if (pthread_key_create(&key, destructor) != 0) { perror("pthread_key_create"); exit(1); }
    long warm = 0;
    for (int i = 0; i < THREADS; i += BATCH) {
        pthread_t t[BATCH];
        for (int j = 0; j < BATCH; j++)
            if (pthread_create(&t[j], NULL, worker, NULL) != 0) { perror("pthread_create"); exit(1); }
        for (int j = 0; j < BATCH; j++) {
            void *r;
            pthread_join(t[j], &r);
            if (r) { fprintf(stderr, "FAIL: malloc in a thread\n"); exit(1); }
        }
        if (i == WARM) warm = peer_rss_kb();
        if (i > WARM && i % 200 == 0 && peer_rss_kb() - warm > ABORT_GROWTH_KB) {
            printf("FAIL: RSS grew %ld KiB over %d exited threads (from %ld KiB)\n", peer_rss_kb() - warm, i - WARM, warm);
            return -1;
        }
    }
    return peer_rss_kb() - warm;
}

/* Fork, and fork again in the child; each must exit 0 within 10 s. */
static int nested_fork(int depth)
{
    pid_t pid = fork();
    if (pid < 0) { perror("fork"); return 0; }
    if (pid == 0) {
        alarm(10);
        free(malloc(100));
        _exit(depth > 1 && !nested_fork(depth - 1) ? 1 : 0);
    }
    int st;
    return waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "glibc")) {   /* the reference run */
        printf("%ld\n", churn());
        return 0;
    }
    long ours = churn();
    if (ours < 0) return 1;
    char buf[64];
    if (!peer_run(argv[0], "glibc", NULL, buf, sizeof buf)) {
        printf("FAIL: the glibc reference run failed\n");
        return 1;
    }
    long ref = atol(buf), bound = ref + ref / 5 + 1024;
    printf("%s: RSS growth over %d exited threads with allocating key destructors: %ld KiB (glibc %ld KiB, bound %ld)\n",
           ours <= bound ? "ok" : "FAIL", THREADS - WARM, ours, ref, bound);
    if (!nested_fork(2)) { printf("FAIL: a fork of a fork child failed or hung\n"); return 1; }
    return ours <= bound ? 0 : 1;
}
