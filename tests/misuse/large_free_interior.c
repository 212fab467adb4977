/* large_free_interior.c - free a page-aligned pointer into the middle of a large block. */
//! expect: HAK_CORRUPT_INVALID_POINTER
#include "misuse.h"

int main(void)
{
    char *p = misuse_launder(A(malloc)(1 << 20));
    MISUSE_REQUIRE(p != NULL);
    memset(p, 0, 1 << 20);
    A(free)(p + 8192);
    misuse_survived("free of an interior pointer into a large block");
}
