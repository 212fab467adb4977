/* freelist_link_to_live.c - use after free, the classic poisoning: point a free
 * block's link at a live block of the same slab (a valid block start, in range,
 * right stride) so that the allocator would hand the live block out twice. Only
 * the state check on the node (the state table, out of the program's reach) can tell. */
//! expect: HAK_CORRUPT_BAD_FREELIST_LINK
#include "misuse.h"

#define N 400

int main(void)
{
    static void *blocks[N];
    void *live = misuse_launder(A(malloc)(24));
    MISUSE_REQUIRE(live != NULL);
    void *victim = misuse_freed_victim(blocks, N, 24, N / 4);
    MISUSE_REQUIRE(((uintptr_t)victim >> 16) == ((uintptr_t)live >> 16));   /* same slab */
    *(void **)victim = live;
    for (int i = 0; i < 4 * N; i++) {
        void *q = misuse_launder(A(malloc)(24));
        if (q == live) misuse_survived("a live block was handed out twice");
    }
    misuse_survived("a freelist link to a live block was popped");
}
