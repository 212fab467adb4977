/* interpose_static_lib.c - a program that links libhakmem.a itself (hak_* defined in
 * the executable and exported, -rdynamic) and runs under LD_PRELOAD: calloc, realloc
 * and the other libc names of the preloaded object must stay in the preloaded heap,
 * whatever hak_* symbols the process defines. Must exit 0. Built by tests/tests.mk. */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hakmem.h"

int main(void)
{
    void *own = hak_malloc(16);    /* the program's own hak_ heap, next to the preloaded one */
    char *c = calloc(10, 10);      /* libc names: the preloaded allocator */
    char *r = realloc(NULL, 100);
    void *a = NULL;
    if (!own || !c || !r || posix_memalign(&a, 64, 100) != 0) return 2;
    memset(c, 1, 100);
    memset(r, 2, 100);
    r = realloc(r, 5000);
    if (!r || malloc_usable_size(c) < 100) return 3;
    free(c);                       /* must be the same heap that calloc used */
    free(r);
    free(a);
    hak_free(own);
    printf("interpose_static_lib: libc names stayed in the preloaded heap\n");
    return 0;
}
