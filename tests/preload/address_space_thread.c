/* address_space_thread.c - run under LD_PRELOAD=libhakmem.so (or the debug .so): must
 * exit 0.
 *
 * Under `ulimit -v` (RLIMIT_AS, 1.5 GB) a program allocates blocks of every tier (small,
 * mid, large up to 2 MiB) until malloc has failed 200 times, frees every second block,
 * and creates a thread: its stack is a mapping of its own, which must find room under
 * the limit, as it does under glibc (which unmaps freed big chunks at once). The heap
 * keeps address space that partly used regions and SuperSlabs hold; without a reserve
 * it left 1 MiB of the limit and pthread_create failed. The same program runs under
 * glibc in this run: it must succeed there too, and the heap must have given at least
 * 3/4 as many blocks before failing as glibc did (the reserve is a small part).
 * Prints one line; exits 0 when all hold. */
#include <pthread.h>
#include <sys/resource.h>
#include "peer.h"

#define LIMIT ((rlim_t)1500000 << 10)
#define MAXB 2000000
static void *blk[MAXB];

static size_t size_of(unsigned i)
{
    unsigned r = i * 2654435761u;
    switch ((r >> 28) % 4) {
    case 0: return 16 + r % 1000;
    case 1: return 1025 + r % 60000;
    case 2: return 131073 + r % 2000000;
    default: return 40 + r % 100;
    }
}

static void *thread_main(void *arg)
{
    void *p[1000];
    for (int i = 0; i < 1000; i++) p[i] = malloc(3000);
    for (int i = 0; i < 1000; i++) free(p[i]);
    return arg;
}

/* Under the limit: "blocks created rss_kb" (created 1 if pthread_create succeeded). */
static int run(void)
{
    unsigned n = 0, fails = 0;
    for (unsigned i = 0; i < MAXB && fails < 200; i++) {
        size_t s = size_of(i);
        void *p = i % 7 == 0 ? calloc(1, s) : malloc(s);
        if (!p) { fails++; continue; }
        memset(p, 1, s < 4096 ? s : 4096);
        blk[n++] = p;
    }
    for (unsigned i = 0; i < n; i += 2) free(blk[i]);
    pthread_t t;
    int created = pthread_create(&t, NULL, thread_main, NULL) == 0;
    if (created) pthread_join(t, NULL);
    printf("%u %d %ld\n", n, created, peer_rss_kb());
    for (unsigned i = 1; i < n; i += 2) free(blk[i]);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "run")) return run();
    if (argc > 1 && !strcmp(argv[1], "limited")) {   /* the limit, then a fresh image (the heap is set up under it) */
        struct rlimit rl = { LIMIT, LIMIT };
        if (setrlimit(RLIMIT_AS, &rl) != 0) { perror("setrlimit"); return 1; }
        execl("/proc/self/exe", argv[0], "run", (char *)NULL);
        perror("execl");
        return 1;
    }
    char mine[200], glibc[200];
    if (!peer_run(argv[0], "limited", NULL, glibc, sizeof glibc)) { printf("FAIL: the glibc run: %s\n", glibc); return 1; }
    if (!peer_run(argv[0], "limited", getenv("LD_PRELOAD"), mine, sizeof mine)) { printf("FAIL: the run: %s\n", mine); return 1; }
    unsigned g_n, n;
    int g_created, created;
    long g_rss, rss;
    if (sscanf(glibc, "%u %d %ld", &g_n, &g_created, &g_rss) != 3 || sscanf(mine, "%u %d %ld", &n, &created, &rss) != 3) {
        printf("FAIL: unreadable reports: '%s' (glibc '%s')\n", mine, glibc);
        return 1;
    }
    if (!g_created) { printf("FAIL: under glibc too, pthread_create failed after freeing half (the test's premise)\n"); return 1; }
    int ok = created && n >= g_n / 4 * 3;
    printf("%s: under a %lu MiB address-space limit, %u blocks before 200 failures (glibc %u), freed half: pthread_create %s; rss %ld KiB (glibc %ld)\n",
           ok ? "ok" : "FAIL", (unsigned long)(LIMIT >> 20), n, g_n, created ? "ok" : "FAILED", rss, g_rss);
    return ok ? 0 : 1;
}
