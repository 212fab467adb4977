/* free_aligned_sized_zero_align.c - free_aligned_sized(p, 0, 100) of a live block: an
 * alignment of 0 is no alignment aligned_alloc takes (invalid pointer). */
//! expect: HAK_CORRUPT_INVALID_POINTER
#include "misuse.h"

#if MISUSE_MODE_PRELOAD
__attribute__((weak)) void free_aligned_sized(void *p, size_t align, size_t size);   /* C23 */
#endif

int main(void)
{
#if MISUSE_MODE_PRELOAD
    MISUSE_REQUIRE(free_aligned_sized != NULL);
#endif
    char *p = misuse_launder(A(malloc)(100));
    MISUSE_REQUIRE(p != NULL);
    A(free_aligned_sized)(p, 0, 100);
    misuse_survived("free_aligned_sized(p, 0, 100)");
}
