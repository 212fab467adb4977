/* free_aligned_sized_freed_bad_align.c - free_aligned_sized(p, 3, 64) of a block already
 * freed: the pointer is validated before the size and the alignment, so it is reported
 * as what it is (a double free), not as an invalid pointer because of the alignment. */
//! expect: HAK_CORRUPT_DOUBLE_FREE
#include "misuse.h"

#if MISUSE_MODE_PRELOAD
__attribute__((weak)) void free_aligned_sized(void *p, size_t align, size_t size);   /* C23 */
#endif

int main(void)
{
#if MISUSE_MODE_PRELOAD
    MISUSE_REQUIRE(free_aligned_sized != NULL);
#endif
    char *p = misuse_launder(A(malloc)(64));
    MISUSE_REQUIRE(p != NULL);
    A(free)(p);
    A(free_aligned_sized)(p, 3, 64);
    misuse_survived("free_aligned_sized(freed p, 3, 64)");
}
