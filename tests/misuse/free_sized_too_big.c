/* free_sized_too_big.c - free_sized(p, n) of a live tiny block p with n larger than the
 * block: not the block the caller means (invalid pointer); the block stays live. */
//! expect: HAK_CORRUPT_INVALID_POINTER
#include "misuse.h"

int main(void)
{
    MISUSE_C23(free_sized);
    char *p = misuse_launder(A(malloc)(100));
    MISUSE_REQUIRE(p != NULL);
    MISUSE_REQUIRE(A(malloc_usable_size)(p) < 5000);
    A(free_sized)(p, 5000);
    misuse_survived("free_sized(p, 5000) of a 100-byte block");
}
