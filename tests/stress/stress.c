/* stress.c - multi-threaded stress test of one hakmem build.
 *
 * NTHREADS workers (more than the machine has cores) pass blocks to each other through
 * mutex-protected queues, so most blocks are freed by a thread other than the one that
 * allocated them. Sizes cover the tiny, mid and large tiers. Every block is filled with
 * a pattern derived from a unique id and verified (and its usable size and alignment
 * checked) before it is freed. Workers exit after a random number of operations and
 * are replaced (thread-exit cache return; blocks still queued are freed later into
 * SuperSlabs whose owner is gone, which another thread then adopts). At 1/4, 1/2 and
 * 3/4 of the run the main thread fork()s while the workers run: the child allocates
 * and frees across tiers (including blocks that other, now non-existent, threads
 * allocated), starts a thread, and exits 0.
 * At the end every queue is drained and heap_drain() checks every slab freelist.
 *
 * Compiled per mode like the other tests (tests/tests.mk): rel (hak_), dbg (hakd_),
 * pre/pred (libc names under LD_PRELOAD). STRESS_SECONDS sets the run time (default 5).
 * Prints a status line every second; exits 0 on success, 1 on a verification failure
 * (the allocator itself aborts on a corruption report). */
#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hakmem.h"

#define API_SELECT_WHO "stress"
#include "../api_select.h"

#define NTHREADS 8
/* ThreadSanitizer cannot follow a child that starts threads after a multi-threaded
 * fork (make test-tsan): its build skips the fork rounds. */
#if defined(__SANITIZE_THREAD__)
#define NFORKS 0
#define OPS_DIV 10     /* and runs ten times shorter workers: as much thread churn in less work */
#else
#define NFORKS 3
#define OPS_DIV 1
#endif
#define QCAP 256
#define NLOCAL 32

/* --- blocks and their patterns ----------------------------------------------------- */

typedef struct item {
    unsigned char *p;
    size_t size;
    uint64_t id;
} item;

static uint64_t mix(uint64_t x)
{
    x ^= x >> 31;
    x *= 0x9E3779B97F4A7C15ull;
    x ^= x >> 29;
    return x;
}

static unsigned char pat(uint64_t h, size_t i) { return (unsigned char)(h + i * 0x3Du + (i >> 9)); }

/* Positions written and checked: all bytes of small blocks; for big ones the head, the
 * tail and every 509th byte (enough to catch overlap and stale data, cheap to write). */
#define FULL_LIMIT 4096
static void fill(const item *it)
{
    uint64_t h = mix(it->id);
    if (it->size <= FULL_LIMIT) {
        for (size_t i = 0; i < it->size; i++) it->p[i] = pat(h, i);
        return;
    }
    for (size_t i = 0; i < 256; i++) it->p[i] = pat(h, i);
    for (size_t i = 256; i < it->size - 256; i += 509) it->p[i] = pat(h, i);
    for (size_t i = it->size - 256; i < it->size; i++) it->p[i] = pat(h, i);
}

static atomic_int failures;

/* First byte among the positions fill() wrote for a block of `size` that is below
 * `keep` and differs from the pattern, or SIZE_MAX. */
static size_t first_bad(const unsigned char *p, uint64_t id, size_t size, size_t keep)
{
    uint64_t h = mix(id);
    if (size <= FULL_LIMIT) {
        for (size_t i = 0; i < size && i < keep; i++)
            if (p[i] != pat(h, i)) return i;
        return SIZE_MAX;
    }
    for (size_t i = 0; i < 256 && i < keep; i++)
        if (p[i] != pat(h, i)) return i;
    for (size_t i = 256; i < size - 256 && i < keep; i += 509)
        if (p[i] != pat(h, i)) return i;
    for (size_t i = size - 256; i < size && i < keep; i++)
        if (p[i] != pat(h, i)) return i;
    return SIZE_MAX;
}

static void complain(const char *where, const unsigned char *p, uint64_t id, size_t size, size_t usable, size_t bad)
{
    if (atomic_fetch_add(&failures, 1) >= 10) return;
    fprintf(stderr, "stress: %s: block id %llu at %p size %zu usable %zu", where, (unsigned long long)id,
            (const void *)p, size, usable);
    if (bad != SIZE_MAX) fprintf(stderr, ": byte %zu is %#x, want %#x", bad, p[bad], pat(mix(id), bad));
    fputc('\n', stderr);
}

static int check(const item *it, const char *where)
{
    size_t bad = first_bad(it->p, it->id, it->size, it->size);
    size_t usable = A(malloc_usable_size)(it->p);
    if (bad == SIZE_MAX && usable >= it->size && ((uintptr_t)it->p & 15) == 0) return 1;
    complain(where, it->p, it->id, it->size, usable, bad);
    return 0;
}

static void release(item *it, const char *where)
{
    check(it, where);
    A(free)(it->p);
    it->p = NULL;
}

/* Random size: mostly tiny, a good share of mid, a few large. */
static size_t rand_size(uint64_t *s)
{
    *s = mix(*s + 0x632BE59BD9B4E019ull);
    uint64_t r = *s;
    unsigned k = (unsigned)(r % 1000);
    r >>= 10;
    if (k < 600) return (size_t)(r % 1025);                           /* tiny, incl. 0 */
    if (k < 700) return (size_t)(r % 129);                            /* small tiny */
    if (k < 985) {                                                    /* mid, log-uniform */
        unsigned lg = 10 + (unsigned)(r % 8);
        size_t n = ((size_t)1 << lg) + (size_t)((r >> 3) % ((size_t)1 << lg));
        return n > HAK_MID_MAX ? HAK_MID_MAX : (n <= HAK_TINY_MAX ? HAK_TINY_MAX + 1 : n);
    }
    return HAK_MID_MAX + 1 + (size_t)(r % (1u << 20));                /* large */
}

static atomic_ullong next_id = 1;

/* A failed allocation is a test failure: this test keeps well under 200 MB live. */
static void alloc_failed(const char *what, size_t size)
{
    if (atomic_fetch_add(&failures, 1) < 10)
        fprintf(stderr, "stress: %s(%zu) failed: %s\n", what, size, strerror(errno));
}

/* 1 and a filled block, or 0 when the allocation failed (reported). */
static int new_item(item *it, size_t size)
{
    it->size = size;
    it->id = atomic_fetch_add_explicit(&next_id, 1, memory_order_relaxed);
    errno = 0;
    it->p = A(malloc)(size);
    if (!it->p) {
        alloc_failed("malloc", size);
        return 0;
    }
    fill(it);
    return 1;
}

/* --- queues -------------------------------------------------------------------------- */

typedef struct queue {
    pthread_mutex_t lock;
    unsigned head, count;
    item items[QCAP];
} queue;

static queue queues[NTHREADS];

static int q_push(queue *q, const item *it)
{
    pthread_mutex_lock(&q->lock);
    int ok = q->count < QCAP;
    if (ok) q->items[(q->head + q->count++) % QCAP] = *it;
    pthread_mutex_unlock(&q->lock);
    return ok;
}

static int q_pop(queue *q, item *out)
{
    pthread_mutex_lock(&q->lock);
    int ok = q->count > 0;
    if (ok) {
        *out = q->items[q->head];
        q->head = (q->head + 1) % QCAP;
        q->count--;
    }
    pthread_mutex_unlock(&q->lock);
    return ok;
}

/* --- workers ------------------------------------------------------------------------- */

static atomic_int stop;
static atomic_ullong total_ops, total_threads, total_cross;

typedef struct worker {
    pthread_t thread;
    unsigned slot, gen;
    atomic_int done;
    int running;
} worker;

static worker workers[NTHREADS];

static void *worker_main(void *arg)
{
    worker *w = arg;
    uint64_t s = mix(((uint64_t)w->slot << 32) ^ w->gen ^ 0xABCDEFull);
    item local[NLOCAL];
    memset(local, 0, sizeof local);
    unsigned long ops = (5000 + mix(s) % 40000) / OPS_DIV, cross = 0;
    unsigned long i;
    for (i = 0; i < ops && !atomic_load_explicit(&stop, memory_order_relaxed); i++) {
        s = mix(s + i);
        unsigned r = (unsigned)(s % 100);
        if (r < 40) {                        /* produce for another thread */
            item it;
            if (!new_item(&it, rand_size(&s))) continue;
            unsigned to = (w->slot + 1 + (unsigned)((s >> 8) % (NTHREADS - 1))) % NTHREADS;
            if (!q_push(&queues[to], &it)) release(&it, "own (queue full)");
        } else if (r < 80) {                 /* consume what others produced */
            item it;
            if (q_pop(&queues[w->slot], &it)) {
                release(&it, "consumer");
                cross++;
            }
        } else if (r < 94) {                 /* local alloc/free */
            item *it = &local[(s >> 8) % NLOCAL];
            if (it->p) release(it, "local");
            else if (!new_item(it, rand_size(&s))) it->p = NULL;
        } else {                             /* realloc keeps the prefix */
            item *it = &local[(s >> 8) % NLOCAL];
            if (!it->p) continue;
            check(it, "before realloc");
            size_t n = rand_size(&s) | 1;   /* realloc(p, 0) would free p */
            errno = 0;
            unsigned char *q = A(realloc)(it->p, n);
            if (!q) {   /* the block is still valid and unchanged */
                alloc_failed("realloc", n);
                continue;
            }
            size_t bad = first_bad(q, it->id, it->size, n);   /* the kept prefix is intact */
            if (bad != SIZE_MAX) complain("after realloc", q, it->id, it->size, n, bad);
            it->p = q;
            it->size = n;
            it->id = atomic_fetch_add_explicit(&next_id, 1, memory_order_relaxed);
            fill(it);
        }
    }
    for (unsigned k = 0; k < NLOCAL; k++)
        if (local[k].p) release(&local[k], "local at exit");
    atomic_fetch_add(&total_ops, i);
    atomic_fetch_add(&total_cross, cross);
    atomic_store(&w->done, 1);
    return NULL;   /* thread exit returns this thread's cache; its SuperSlabs go to the pool */
}

static void start_worker(worker *w)
{
    atomic_store(&w->done, 0);
    w->gen++;
    if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
        fprintf(stderr, "stress: pthread_create failed\n");
        exit(1);
    }
    w->running = 1;
    atomic_fetch_add(&total_threads, 1);
}

/* --- fork ---------------------------------------------------------------------------- */

static void *child_thread(void *arg)
{
    uint64_t s = (uint64_t)(uintptr_t)arg;
    for (int i = 0; i < 2000; i++) {
        item it;
        if (new_item(&it, rand_size(&s))) release(&it, "child thread");
    }
    return NULL;
}

/* Runs in the child: only the forking thread exists. `handoff` holds blocks that
 * (mostly) other threads allocated; their copies here are freed into SuperSlabs whose
 * owners do not exist in this process. Queue locks may have been held at fork time,
 * so the child never touches the queues. */
static void child_main(item *handoff, int nhandoff)
{
    alarm(20);   /* a hang in the child fails the parent's waitpid check */
    atomic_store(&failures, 0);   /* count only the child's own failures */
    for (int i = 0; i < nhandoff; i++) release(&handoff[i], "child handoff");
    uint64_t s = 42;
    static item keep[512];
    for (int round = 0; round < 4; round++) {
        for (int i = 0; i < 512; i++)
            if (!new_item(&keep[i], rand_size(&s))) keep[i].p = NULL;
        for (int i = 0; i < 512; i += 1 + round)
            if (keep[i].p) release(&keep[i], "child");
        for (int i = 0; i < 512; i++)
            if (keep[i].p) release(&keep[i], "child");
    }
    pthread_t t;
    void *ret = (void *)1;
    if (pthread_create(&t, NULL, child_thread, (void *)(uintptr_t)7) != 0 || pthread_join(t, &ret) != 0 || ret)
        _exit(1);
    _exit(atomic_load(&failures) ? 1 : 0);
}

static int fork_round(void)
{
    enum { NH = 64 };
    item handoff[NH];
    int n = 0;
    for (unsigned q = 0; q < NTHREADS; q++)
        for (int k = 0; k < NH / NTHREADS && q_pop(&queues[q], &handoff[n]); k++) n++;
    pid_t pid = fork();
    if (pid < 0) { perror("stress: fork"); return 0; }
    if (pid == 0) child_main(handoff, n);
    for (int i = 0; i < n; i++) release(&handoff[i], "parent handoff");
    int st = 0;
    if (waitpid(pid, &st, 0) != pid) { perror("stress: waitpid"); return 0; }
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0) return 1;
    if (WIFSIGNALED(st)) fprintf(stderr, "stress: fork child died by signal %d\n", WTERMSIG(st));
    else fprintf(stderr, "stress: fork child exited %d\n", WEXITSTATUS(st));
    return 0;
}

/* --- main ---------------------------------------------------------------------------- */

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(void)
{
    const char *e = getenv("STRESS_SECONDS");
    double seconds = e ? atof(e) : 5.0;
    if (seconds <= 0) seconds = 5.0;
    const char *name = X(build_name)();
    const char *label = PRELOAD_MODE ? "preload" : "api";
    alarm((unsigned)seconds + 60);   /* a hang kills the run (SIGALRM) */

    for (unsigned i = 0; i < NTHREADS; i++) pthread_mutex_init(&queues[i].lock, NULL);   /* before any worker pushes */
    for (unsigned i = 0; i < NTHREADS; i++) {
        workers[i].slot = i;
        start_worker(&workers[i]);
    }
    double t0 = now(), last = t0;
    int forked = 0, fork_ok = 0;   /* forks done, forks whose child exited 0 */
    while (now() - t0 < seconds || forked < NFORKS) {   /* a loaded machine still gets all forks */
        usleep(2000);
        for (unsigned i = 0; i < NTHREADS; i++)
            if (workers[i].running && atomic_load(&workers[i].done)) {
                pthread_join(workers[i].thread, NULL);
                start_worker(&workers[i]);   /* churn */
            }
        if (forked < NFORKS && now() - t0 >= seconds * (forked + 1) / 4) {
            forked++;
            int ok = fork_round();
            fork_ok += ok;
            printf("[stress %s/%s] fork %d child: %s\n", name, label, forked, ok ? "exit 0" : "FAILED");
            fflush(stdout);
        }
        if (now() - last >= 1.0) {
            last = now();
            printf("[stress %s/%s] %.0fs: %llu ops, %llu threads, %llu cross-thread frees, %d failures\n", name,
                   label, last - t0, atomic_load(&total_ops), atomic_load(&total_threads),
                   atomic_load(&total_cross), atomic_load(&failures));
            fflush(stdout);
        }
    }
    atomic_store(&stop, 1);
    for (unsigned i = 0; i < NTHREADS; i++)
        if (workers[i].running) pthread_join(workers[i].thread, NULL);
    unsigned long drained = 0;
    for (unsigned q = 0; q < NTHREADS; q++) {
        item it;
        while (q_pop(&queues[q], &it)) { release(&it, "final drain"); drained++; }
    }
    X(heap_drain)();   /* every slab freelist still passes the pop checks */
    int ok = !atomic_load(&failures) && forked == NFORKS && fork_ok == forked;
    printf("[stress %s/%s] %s: %llu ops, %llu threads, %llu cross-thread frees, %lu drained, %d/%d forks ok, "
           "%d failures\n", name, label, ok ? "ok" : "FAILED", atomic_load(&total_ops), atomic_load(&total_threads),
           atomic_load(&total_cross), drained, fork_ok, forked, atomic_load(&failures));
    return ok ? 0 : 1;
}
