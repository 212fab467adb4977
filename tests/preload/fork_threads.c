/* fork_threads.c - run under LD_PRELOAD=libhakmem.so (or the debug .so): must exit 0.
 *
 * A process with more live threads than the heap lists (HAKMEM_MAX_THREADS, 1024) forks.
 * In the child only the forking thread exists; the others' blocks are still the
 * program's. Each of NT threads allocated 64 blocks of 600..1500 bytes and waits; the
 * child frees every one of them from threads of its own (they reuse the dead threads'
 * stacks, so their TLS addresses) and calls malloc_trim. Then:
 *   - the child's resident set is at most glibc's in the same program (run here under
 *     no preload) plus a quarter plus 4 MiB: the dead threads' caches and SuperSlabs
 *     must not pin memory (they held 130 MiB against glibc's 16 when the child kept
 *     them as they were);
 *   - the heap keeps at most 4 MiB resident (hak_get_heap_stats, when the preloaded
 *     object has it): SuperSlabs of unlisted dead threads must not stay owned by a TLS
 *     address that a thread of the child then takes for its own.
 * Prints one line; exits 0 when both hold. */
#include <dlfcn.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include "hakmem.h"
#include "peer.h"

#define NT 1100
#define PER 64
#define CHILD_THREADS 8
static unsigned char *blocks[NT][PER];
static pthread_barrier_t ready, done;

static void *parent_thread(void *arg)
{
    unsigned id = (unsigned)(uintptr_t)arg;
    for (int k = 0; k < PER; k++) {
        size_t n = 600 + (id * 31 + k * 17) % 900;
        blocks[id][k] = malloc(n);
        if (!blocks[id][k]) { printf("FAIL: malloc(%zu) in thread %u\n", n, id); exit(1); }
        memset(blocks[id][k], (int)(id + k), n);
    }
    pthread_barrier_wait(&ready);
    pthread_barrier_wait(&done);   /* never passed in the child */
    return NULL;
}

static void *child_thread(void *arg)
{
    unsigned w = (unsigned)(uintptr_t)arg;
    for (unsigned id = w; id < NT; id += CHILD_THREADS)
        for (int k = 0; k < PER; k++) {
            if (blocks[id][k][0] != (unsigned char)(id + k)) { printf("FAIL: block %u/%d changed in the child\n", id, k); _exit(1); }
            free(blocks[id][k]);
        }
    void *p[256];   /* the child's threads allocate too, from the same stacks' TLS */
    for (int i = 0; i < 256; i++) p[i] = malloc(16 + (size_t)i * 5);
    for (int i = 0; i < 256; i++) free(p[i]);
    return NULL;
}

/* The child's report: "rss_kb heap_resident_kb" (-1 without hakmem's statistics). */
static void child(void)
{
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setstacksize(&at, 128 << 10);
    pthread_t c[CHILD_THREADS];
    for (unsigned w = 0; w < CHILD_THREADS; w++)
        if (pthread_create(&c[w], &at, child_thread, (void *)(uintptr_t)w)) { printf("FAIL: pthread_create in the child\n"); _exit(1); }
    for (unsigned w = 0; w < CHILD_THREADS; w++) pthread_join(c[w], NULL);
    malloc_trim(0);
    long heap = -1;
    void (*stats)(hak_heap_stats *) = (void (*)(hak_heap_stats *))dlsym(RTLD_DEFAULT, "hak_get_heap_stats");
    if (!stats) stats = (void (*)(hak_heap_stats *))dlsym(RTLD_DEFAULT, "hakd_get_heap_stats");
    if (stats) { hak_heap_stats h; stats(&h); heap = (long)(h.resident >> 10); }
    printf("%ld %ld\n", peer_rss_kb(), heap);
    fflush(stdout);
    _exit(0);
}

static int run(void)
{
    pthread_barrier_init(&ready, NULL, NT + 1);
    pthread_barrier_init(&done, NULL, NT + 1);
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setstacksize(&at, 128 << 10);
    static pthread_t t[NT];
    for (unsigned i = 0; i < NT; i++)
        if (pthread_create(&t[i], &at, parent_thread, (void *)(uintptr_t)i)) { printf("FAIL: pthread_create %u\n", i); return 1; }
    pthread_barrier_wait(&ready);
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) { perror("fork"); return 1; }
    if (pid == 0) child();
    int st = 0;
    int ok = waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0;
    pthread_barrier_wait(&done);
    for (unsigned i = 0; i < NT; i++) pthread_join(t[i], NULL);
    return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "run")) return run();
    char mine[200], glibc[200];
    if (!peer_run(argv[0], "run", NULL, glibc, sizeof glibc)) { printf("FAIL: the glibc run: %s\n", glibc); return 1; }
    if (!peer_run(argv[0], "run", getenv("LD_PRELOAD"), mine, sizeof mine)) { printf("FAIL: the run: %s\n", mine); return 1; }
    long g_rss, g_heap, rss, heap;
    if (sscanf(glibc, "%ld %ld", &g_rss, &g_heap) != 2 || sscanf(mine, "%ld %ld", &rss, &heap) != 2) {
        printf("FAIL: unreadable reports: '%s' (glibc '%s')\n", mine, glibc);
        return 1;
    }
    long bound = g_rss + g_rss / 4 + 4096;
    int ok = rss <= bound && heap <= 4096;
    printf("%s: %d threads, fork, the child frees their blocks and trims: rss %ld KiB (bound %ld; glibc %ld), heap resident %ld KiB (bound 4096)\n",
           ok ? "ok" : "FAIL", NT, rss, bound, g_rss, heap);
    return ok ? 0 : 1;
}
