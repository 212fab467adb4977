/* many_large.c - run under LD_PRELOAD=libhakmem.so: must exit 0.
 *
 * 70,000 live blocks of 132 KiB (just above the mid tier; 9 GB of address space, a
 * cache server's ordinary day) with small blocks allocated among them: a mapping per
 * block would pass vm.max_map_count (65,530) and then small mallocs, fopen and even
 * munmap fail. Every allocation must succeed, fopen must work with all of them live,
 * /proc/self/maps must stay under 2,000 lines, and every block is freed (any failed
 * check aborts with the allocator's own report). Only a few bytes of each block are
 * written, so the resident set stays near one page per block (~300 MB). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NBIG 70000
#define BIG (132u << 10)
#define NSMALL (NBIG / 10)
#define MAX_MAPS 2000

static int count_maps(void)
{
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f) return -1;
    int n = 0, c;
    while ((c = getc(f)) != EOF) n += c == '\n';
    fclose(f);
    return n;
}

int main(void)
{
    alarm(120);   /* never left running */
    static char *big[NBIG], *small[NSMALL];
    for (unsigned i = 0; i < NBIG; i++) {
        if (!(big[i] = malloc(BIG))) { printf("FAIL: malloc(%u) number %u failed (%d maps)\n", BIG, i, count_maps()); return 1; }
        big[i][0] = (char)i;
        if (i % 10 == 0 && !(small[i / 10] = malloc(16 + i % 1000))) { printf("FAIL: small malloc after %u large blocks\n", i); return 1; }
    }
    int maps = count_maps();
    if (maps < 0) { printf("FAIL: fopen with %u live large blocks\n", NBIG); return 1; }
    if (maps > MAX_MAPS) { printf("FAIL: %d mappings for %u live large blocks (at most %d)\n", maps, NBIG, MAX_MAPS); return 1; }
    for (unsigned i = 0; i < NBIG; i++) {
        if (big[i][0] != (char)i) { printf("FAIL: block %u lost its first byte\n", i); return 1; }
        free(big[i]);
    }
    for (unsigned i = 0; i < NSMALL; i++) free(small[i]);
    int after = count_maps();
    void *p = malloc(100);
    if (after < 0 || after > MAX_MAPS || !p) { printf("FAIL: after freeing: %d mappings, malloc %p\n", after, p); return 1; }
    free(p);
    printf("ok: %u live blocks of %u KiB: %d mappings (%d after freeing them)\n", NBIG, BIG >> 10, maps, after);
    return 0;
}
