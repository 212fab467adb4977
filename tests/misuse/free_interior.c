/* free_interior.c - free a 16-byte-aligned pointer into the middle of a live block
 * (not a block start: the stride check rejects it). */
//! expect: HAK_CORRUPT_INVALID_POINTER
#include "misuse.h"

int main(void)
{
    char *p = misuse_launder(A(malloc)(64));
    MISUSE_REQUIRE(p != NULL);
    A(free)(p + 16);
    misuse_survived("free of an interior pointer");
}
