/* uaf.c - the allocator tells ASan / Valgrind about blocks inside slabs.
 * Usage: uaf MODE   MODE = uaf-read | remote-uaf | large-uaf | overflow | clean
 * uaf-read:   read a freed tiny block (must be flagged as use-after-free / invalid read);
 * remote-uaf: the same for a block another thread freed (it went home, FREE at once);
 * large-uaf:  the same for a 1 MiB block kept mapped in the large tier's cache;
 * overflow:   write one byte past the usable size (must be flagged);
 * clean:      correct use (must be silent, also with leak checking);
 * trim-shadow (ASan): blocks of a large region freed (their shadow poisoned), then
 *             malloc_trim gives the region back: its shadow must be dropped, not
 *             written (exit 1 if more than its edge pages of shadow stay resident),
 *             and a new block there must not be flagged. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include "hakmem.h"
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UAF_ASAN 1
#include <sanitizer/asan_interface.h>
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) && !defined(UAF_ASAN)
#define UAF_ASAN 1
#include <sanitizer/asan_interface.h>
#endif

/* Resident pages of the ASan shadow of [p, p + n), or -1 without ASan. */
static long shadow_resident(const void *p, size_t n)
{
#ifdef UAF_ASAN
    size_t scale, off;
    __asan_get_shadow_mapping(&scale, &off);
    uintptr_t b = (((uintptr_t)p >> scale) + off) & ~(uintptr_t)4095, e = (((uintptr_t)p + n) >> scale) + off;
    size_t pages = (e - b + 4095) / 4096;
    static unsigned char vec[1 << 16];
    if (pages > sizeof vec || mincore((void *)b, pages * 4096, vec) != 0) return -2;
    long r = 0;
    for (size_t i = 0; i < pages; i++) r += vec[i] & 1;
    return r;
#else
    (void)p; (void)n;
    return -1;
#endif
}

static void *free_it(void *p) { hak_free(p); return NULL; }
#define USAGE "usage: %s uaf-read|remote-uaf|large-uaf|overflow|clean|trim-shadow\n"

int main(int argc, char **argv)
{
    if (argc != 2) { fprintf(stderr, USAGE, argv[0]); return 2; }
    /* Keep some neighbours live so the block is in the middle of a slab. */
    void *keep[8];
    for (int i = 0; i < 8; i++) keep[i] = hak_malloc(48);
    char *p = hak_malloc(48);
    memset(p, 7, 48);
    size_t usable = hak_malloc_usable_size(p);
    volatile char sink = 0;
    if (!strcmp(argv[1], "uaf-read")) {
        hak_free(p);
        sink = p[3];                  /* use after free, inside a slab */
    } else if (!strcmp(argv[1], "remote-uaf")) {
        pthread_t th;
        pthread_create(&th, NULL, free_it, p);
        pthread_join(th, NULL);
        sink = p[3];                  /* freed by another thread */
    } else if (!strcmp(argv[1], "large-uaf")) {
        char *big = hak_malloc(1 << 20);
        memset(big, 1, 1 << 20);
        hak_free(big);                /* cached: still mapped */
        sink = big[1000];
        hak_free(p);
    } else if (!strcmp(argv[1], "overflow")) {
        p[usable] = 1;                /* one byte past the usable size: the next tag */
        hak_free(p);
    } else if (!strcmp(argv[1], "clean")) {
        p[usable - 1] = 5;            /* the whole usable size is the user's */
        sink = p[usable - 1];
        hak_free(p);
    } else if (!strcmp(argv[1], "trim-shadow")) {
        enum { N = 24, SZ = 256 << 10 };   /* 6 MiB of region blocks */
        char *b[N];
        for (int i = 0; i < N; i++) { b[i] = hak_malloc(SZ); memset(b[i], 3, SZ); }
        char *lo = b[0], *hi = b[0];
        for (int i = 0; i < N; i++) { if (b[i] < lo) lo = b[i]; if (b[i] > hi) hi = b[i]; }
        for (int i = 0; i < N; i++) hak_free(b[i]);   /* poisoned: shadow written */
        hak_malloc_trim(0);
        unsigned char v;
        if (mincore((void *)((uintptr_t)lo & ~(uintptr_t)4095), 4096, &v) == 0) {
            fprintf(stderr, "trim-shadow: the region is still mapped after malloc_trim\n");
            return 1;
        }
        long r = shadow_resident(lo, (size_t)(hi - lo) + SZ);
        printf("trim-shadow: %ld resident shadow page(s) over %zu KiB given back\n", r, ((size_t)(hi - lo) + SZ) >> 10);
        if (r > 2) return 1;                          /* only the edges may be written */
        char *again = hak_malloc(SZ);                 /* a new region there: no stale poison */
        memset(again, 4, SZ);
        hak_free(again);
        hak_free(p);
    } else {
        fprintf(stderr, USAGE, argv[0]);
        return 2;
    }
    for (int i = 0; i < 8; i++) hak_free(keep[i]);
    printf("done %d\n", sink);
    return 0;
}
