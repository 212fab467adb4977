/* forged_header_link_to_live.c - the poisoning with a forged header: copy a free
 * block's header byte over a live block's (an underflow of one byte), then point a
 * free block's link at the live block, so that a refill would hand it out twice. The
 * pop checks the state table, which the program cannot write. */
//! expect: HAK_CORRUPT_BAD_FREELIST_LINK
#include "misuse.h"

#define N 400

int main(void)
{
    static void *blocks[N];
    unsigned char *live = misuse_launder(A(malloc)(24));
    MISUSE_REQUIRE(live != NULL);
    unsigned char *victim = misuse_freed_victim(blocks, N, 24, N / 4);
    MISUSE_REQUIRE(((uintptr_t)victim >> 16) == ((uintptr_t)live >> 16));   /* same slab */
    live[-1] = victim[-1];
    *(void **)victim = live;
    for (int i = 0; i < 4 * N; i++) {
        void *q = misuse_launder(A(malloc)(24));
        if (q == live) misuse_survived("a live block with a forged header was handed out twice");
    }
    misuse_survived("a freelist link to a live block with a forged header was popped");
}
