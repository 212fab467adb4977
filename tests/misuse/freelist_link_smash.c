/* freelist_link_smash.c - use after free: overwrite the freelist link of a block that
 * was flushed back to its slab (tag FREE), then keep allocating from its class until
 * a refill pops the corrupted link. */
//! expect: HAK_CORRUPT_BAD_FREELIST_LINK
#include "misuse.h"

#define N 400

int main(void)
{
    static void *blocks[N];
    void *anchor = misuse_launder(A(malloc)(24));
    MISUSE_REQUIRE(anchor != NULL);
    for (int i = 0; i < N; i++) MISUSE_REQUIRE((blocks[i] = A(malloc)(24)) != NULL);
    for (int i = 0; i < N; i++) A(free)(blocks[i]);
    void *victim = blocks[N / 4];
    MISUSE_REQUIRE((((unsigned char *)victim)[-1] & 0xE0) == 0x60);
    *(uintptr_t *)victim = (uintptr_t)0x4141414141414140ull;
    for (int i = 0; i < 4 * N; i++) misuse_launder(A(malloc)(24));
    misuse_survived("a corrupted freelist link was popped");
}
