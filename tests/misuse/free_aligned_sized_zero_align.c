/* free_aligned_sized_zero_align.c - free_aligned_sized(p, 0, 100) of a live block: an
 * alignment of 0 is no alignment aligned_alloc takes (invalid pointer). */
//! expect: HAK_CORRUPT_INVALID_POINTER
#include "misuse.h"

int main(void)
{
    MISUSE_C23(free_aligned_sized);
    char *p = misuse_launder(A(malloc)(100));
    MISUSE_REQUIRE(p != NULL);
    A(free_aligned_sized)(p, 0, 100);
    misuse_survived("free_aligned_sized(p, 0, 100)");
}
