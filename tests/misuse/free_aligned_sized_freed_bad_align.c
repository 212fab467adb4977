/* free_aligned_sized_freed_bad_align.c - free_aligned_sized(p, 3, 64) of a block already
 * freed: the pointer is validated before the size and the alignment, so it is reported
 * as what it is (a double free), not as an invalid pointer because of the alignment. */
//! expect: HAK_CORRUPT_DOUBLE_FREE
#include "misuse.h"

int main(void)
{
    MISUSE_C23(free_aligned_sized);
    char *p = misuse_launder(A(malloc)(64));
    MISUSE_REQUIRE(p != NULL);
    A(free)(p);
    A(free_aligned_sized)(p, 3, 64);
    misuse_survived("free_aligned_sized(freed p, 3, 64)");
}
