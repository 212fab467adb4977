/* freelist_link_smash.c - use after free: overwrite the freelist link of a block that
 * was flushed back to its slab (state FREE), then keep allocating from its class until
 * a refill pops the corrupted link. */
//! expect: HAK_CORRUPT_BAD_FREELIST_LINK
#include "misuse.h"

#define N 400

int main(void)
{
    static void *blocks[N];
    void *anchor = misuse_launder(A(malloc)(24));
    MISUSE_REQUIRE(anchor != NULL);
    void *victim = misuse_freed_victim(blocks, N, 24, N / 4);
    *(uintptr_t *)victim = (uintptr_t)0x4141414141414140ull;
    for (int i = 0; i < 4 * N; i++) misuse_launder(A(malloc)(24));
    misuse_survived("a corrupted freelist link was popped");
}
