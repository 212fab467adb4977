/* free_aligned_sized_misaligned.c - free_aligned_sized(p, 64, 40) of a live block p that
 * is not 64-byte aligned: not what aligned_alloc(64, 40) returned (invalid pointer). */
//! expect: HAK_CORRUPT_INVALID_POINTER
#include "misuse.h"

int main(void)
{
    MISUSE_C23(free_aligned_sized);
    /* two neighbours of a 48-byte stride: at most one of them is 64-aligned */
    char *q = misuse_launder(A(malloc)(40));
    char *r = misuse_launder(A(malloc)(40));
    MISUSE_REQUIRE(q != NULL && r != NULL);
    char *odd = ((uintptr_t)q & 63) ? q : r;
    MISUSE_REQUIRE(((uintptr_t)odd & 63) != 0);
    A(free_aligned_sized)(odd, 64, 40);
    misuse_survived("free_aligned_sized(p, 64, 40) of a block not 64-aligned");
}
