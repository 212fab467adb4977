/* free_forged.c - forge a chunk inside a live block: copy the block's own header byte
 * 16 bytes in and free the address after it. */
//! expect: HAK_CORRUPT_INVALID_POINTER
#include "misuse.h"

int main(void)
{
    unsigned char *p = misuse_launder(A(malloc)(200));
    MISUSE_REQUIRE(p != NULL);
    p[15] = p[-1];
    A(free)(p + 16);
    misuse_survived("free of a forged chunk");
}
