/* free_misaligned_8.c - free p+8 for a live tiny block p (not 16-byte aligned). */
//! expect: HAK_CORRUPT_INVALID_POINTER
#include "misuse.h"

int main(void)
{
    char *p = misuse_launder(A(malloc)(100));
    MISUSE_REQUIRE(p != NULL);
    A(free)(p + 8);
    misuse_survived("free of p+8");
}
