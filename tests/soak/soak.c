/* soak.c - a long-running mixed workload at a fixed live set, for RSS over time.
 *
 * Plain libc names: run it under LD_PRELOAD of the allocator to measure (hakmem, or
 * mimalloc) or without (glibc). SOAK_THREADS workers (default 4) share SLOTS slots,
 * striped under mutexes. Each operation picks a random slot, takes its block out,
 * checks and frees it (most blocks were allocated by another thread: cross-thread
 * frees), and puts a fresh block of a random size there: 32 B .. 1 KiB (70%), mid
 * sizes up to 16 KiB (27%) and up to 128 KiB (2.5%), large ones up to 1 MiB (0.5%),
 * about 50 MB live, of which the first and last bytes of each block are written. The live set therefore
 * stays at SLOTS blocks of a fixed size distribution, and a heap that holds up keeps a
 * flat resident set. Workers exit after a random number of operations and are
 * replaced (thread churn: blocks of exited threads are freed by the living).
 *
 * Every block carries its slot, a serial and its size in its first 24 bytes and its
 * serial in its last 8: a corrupt or overlapping block fails the run (exit 1).
 * Prints "sample SECONDS RSS_KIB OPS THREADS" every SOAK_SAMPLE seconds (default 1),
 * for SOAK_SECONDS (default 10), then "done OPS THREADS" and exits 0. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SLOTS 10000
#define STRIPES 64
#define MAX_THREADS 16

typedef struct { uint64_t slot, serial, size; } head;

static void *slot_ptr[SLOTS];
static pthread_mutex_t stripe[STRIPES];
static atomic_ullong total_ops, serials, threads_started;
static atomic_int stop, failed;

static uint64_t mix(uint64_t x)
{
    x ^= x >> 31;
    x *= 0x9E3779B97F4A7C15ull;
    x ^= x >> 29;
    return x;
}

static size_t pick_size(uint64_t r)
{
    unsigned k = (unsigned)(r % 1000);
    r >>= 10;
    if (k < 700) return 32 + (size_t)(r % 993);                  /* tiny */
    if (k < 970) return 1025 + (size_t)(r % (15u << 10));        /* mid, up to 16 KiB */
    if (k < 995) return (16u << 10) + (size_t)(r % (112u << 10)); /* mid, up to 128 KiB */
    return (128u << 10) + (size_t)(r % (896u << 10));            /* large, up to 1 MiB */
}

static void fill(void *p, uint64_t slot, uint64_t serial, size_t size)
{
    head h = { slot, serial, size };
    memcpy(p, &h, sizeof h);
    memcpy((char *)p + size - 8, &serial, 8);
}

static void check_and_free(void *p, uint64_t slot)
{
    head h;
    memcpy(&h, p, sizeof h);
    uint64_t tail = 0;
    if (h.slot == slot && h.size >= 32 && h.size <= (1u << 20)) memcpy(&tail, (char *)p + h.size - 8, 8);
    if (h.slot != slot || tail != h.serial) {
        if (atomic_fetch_add(&failed, 1) < 5)
            fprintf(stderr, "soak: slot %llu: block %p holds slot %llu serial %llu size %llu, tail %llu\n",
                    (unsigned long long)slot, p, (unsigned long long)h.slot, (unsigned long long)h.serial,
                    (unsigned long long)h.size, (unsigned long long)tail);
    }
    free(p);
}

static void *new_block(uint64_t slot, uint64_t r)
{
    size_t size = pick_size(r);
    void *p = malloc(size);
    if (!p) {
        if (atomic_fetch_add(&failed, 1) < 5) fprintf(stderr, "soak: malloc(%zu) failed\n", size);
        return NULL;
    }
    fill(p, slot, atomic_fetch_add_explicit(&serials, 1, memory_order_relaxed), size);
    return p;
}

static void *worker(void *arg)
{
    uint64_t s = mix((uint64_t)(uintptr_t)arg * 0x5851F42D4C957F2Dull + 1);
    unsigned long ops = 20000 + mix(s) % 80000, i;
    for (i = 0; i < ops && !atomic_load_explicit(&stop, memory_order_relaxed); i++) {
        s = mix(s + i);
        uint64_t slot = s % SLOTS;
        void *fresh = new_block(slot, mix(s));
        pthread_mutex_t *m = &stripe[slot % STRIPES];
        pthread_mutex_lock(m);
        void *old = slot_ptr[slot];
        slot_ptr[slot] = fresh;
        pthread_mutex_unlock(m);
        if (old) check_and_free(old, slot);
    }
    atomic_fetch_add(&total_ops, i);
    return NULL;
}

static long rss_kb(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long size = 0, res = 0;
    if (!f || fscanf(f, "%ld %ld", &size, &res) != 2) return -1;
    fclose(f);
    return res * (sysconf(_SC_PAGESIZE) / 1024);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double env_num(const char *name, double def)
{
    const char *e = getenv(name);
    double v = e ? atof(e) : 0;
    return v > 0 ? v : def;
}

int main(void)
{
    double seconds = env_num("SOAK_SECONDS", 10), every = env_num("SOAK_SAMPLE", 1);
    int nthreads = (int)env_num("SOAK_THREADS", 4);
    if (nthreads > MAX_THREADS) nthreads = MAX_THREADS;
    alarm((unsigned)(seconds * 2) + 60);
    for (int i = 0; i < STRIPES; i++) pthread_mutex_init(&stripe[i], NULL);   /* before any worker */
    for (uint64_t i = 0; i < SLOTS; i++) slot_ptr[i] = new_block(i, mix(i + 77));
    pthread_t t[MAX_THREADS];
    unsigned long gen = 0;
    for (int i = 0; i < nthreads; i++) {
        pthread_create(&t[i], NULL, worker, (void *)(uintptr_t)++gen);
        atomic_fetch_add(&threads_started, 1);
    }
    double t0 = now(), next = t0 + every;
    while (now() - t0 < seconds && !atomic_load(&failed)) {
        usleep(20000);
        for (int i = 0; i < nthreads; i++) {   /* churn: a finished worker is replaced */
            if (pthread_tryjoin_np(t[i], NULL) == 0) {
                pthread_create(&t[i], NULL, worker, (void *)(uintptr_t)++gen);
                atomic_fetch_add(&threads_started, 1);
            }
        }
        if (now() >= next) {
            next += every;
            printf("sample %.1f %ld %llu %llu\n", now() - t0, rss_kb(), atomic_load(&total_ops),
                   atomic_load(&threads_started));
            fflush(stdout);
        }
    }
    atomic_store(&stop, 1);
    for (int i = 0; i < nthreads; i++) pthread_join(t[i], NULL);
    for (uint64_t i = 0; i < SLOTS; i++)
        if (slot_ptr[i]) check_and_free(slot_ptr[i], i);
    printf("done %llu %llu\n", atomic_load(&total_ops), atomic_load(&threads_started));
    return atomic_load(&failed) ? 1 : 0;
}
