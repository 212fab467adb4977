/* large_header_tag.c - corrupt the last byte of a large block's header (the byte at
 * p-1, as an underflow would), then free the block. */
//! expect: HAK_CORRUPT_BAD_HEADER
#include "misuse.h"

int main(void)
{
    char *p = misuse_launder(A(malloc)(1 << 20));
    MISUSE_REQUIRE(p != NULL);
    p[-1] = 0;
    A(free)(p);
    misuse_survived("free of a large block with a corrupted header");
}
