/* uaf.c - the allocator tells ASan / Valgrind about blocks inside slabs.
 * Usage: uaf MODE   MODE = uaf-read | remote-uaf | large-uaf | overflow | clean
 * uaf-read:   read a freed tiny block (must be flagged as use-after-free / invalid read);
 * remote-uaf: the same for a block another thread freed (it went home, FREE at once);
 * large-uaf:  the same for a 1 MiB block kept mapped in the large tier's cache;
 * overflow:   write one byte past the usable size (must be flagged);
 * clean:      correct use (must be silent, also with leak checking). */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include "hakmem.h"

static void *free_it(void *p) { hak_free(p); return NULL; }
#define USAGE "usage: %s uaf-read|remote-uaf|large-uaf|overflow|clean\n"

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
    } else {
        fprintf(stderr, USAGE, argv[0]);
        return 2;
    }
    for (int i = 0; i < 8; i++) hak_free(keep[i]);
    printf("done %d\n", sink);
    return 0;
}
