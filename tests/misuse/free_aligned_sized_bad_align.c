/* free_aligned_sized_bad_align.c - free_aligned_sized(p, 24, 100) of a live block: 24 is
 * not a power of two, so no aligned_alloc returned p with it (invalid pointer). */
//! expect: HAK_CORRUPT_INVALID_POINTER
#include "misuse.h"

int main(void)
{
    MISUSE_C23(free_aligned_sized);
    char *p = misuse_launder(A(malloc)(100));
    MISUSE_REQUIRE(p != NULL);
    A(free_aligned_sized)(p, 24, 100);
    misuse_survived("free_aligned_sized(p, 24, 100)");
}
