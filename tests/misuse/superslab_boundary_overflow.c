/* superslab_boundary_overflow.c - a long overflow off the last block of a SuperSlab
 * into the next SuperSlab: its first 4 KiB are smashed. SuperSlab headers live out of
 * line (the arena's header table), so nothing there is allocator metadata: the heap
 * must go on without a report (blocks of both SuperSlabs freed and reused, a drain).
 * Before, the next SuperSlab's header (magic, owner, free-slab mask) sat there and a
 * free in it followed the smashed owner. */
//! expect: exit0
#include <sys/mman.h>
#include "misuse.h"

#define SZ 500            /* class stride 512: slab 31's last block ends at the boundary */
#define STRIDE 512
#define SS (2u << 20)
#define N 9000

static int mapped(const void *p)
{
    unsigned char v;
    return mincore((void *)((uintptr_t)p & ~(uintptr_t)4095), 4096, &v) == 0;
}

int main(void)
{
    static unsigned char *b[N];
    unsigned char *last = NULL;
    for (int i = 0; i < N; i++) {
        MISUSE_REQUIRE((b[i] = misuse_launder(A(malloc)(SZ))) != NULL);
        memset(b[i], 0x11, SZ);
        if (((uintptr_t)b[i] + STRIDE) % SS == 0) last = b[i];
    }
    MISUSE_REQUIRE(last != NULL && A(malloc_usable_size)(last) == STRIDE - 1);
    unsigned char *next = last + STRIDE;   /* the first byte of the next SuperSlab */
    MISUSE_REQUIRE(((uintptr_t)next % SS) == 0 && mapped(next));
    memset(last + SZ, 0xff, (size_t)(next - (last + SZ)) + 4096);   /* the overflow */
    for (int i = 0; i < N; i++) {                /* free in both SuperSlabs, reuse, free again */
        if (b[i] == last) continue;
        A(free)(b[i]);
    }
    for (int i = 0; i < N; i++) if (b[i] != last) MISUSE_REQUIRE((b[i] = A(malloc)(SZ)) != NULL);
    for (int i = 0; i < N; i++) if (b[i] != last) A(free)(b[i]);
    X(heap_drain)();
    printf("superslab_boundary_overflow: 4 KiB smashed past %p, heap intact\n", (void *)next);
    return 0;
}
