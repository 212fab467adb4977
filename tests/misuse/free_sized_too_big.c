/* free_sized_too_big.c - free_sized(p, n) of a live tiny block p with n larger than the
 * block: not the block the caller means (invalid pointer); the block stays live. */
//! expect: HAK_CORRUPT_INVALID_POINTER
#include "misuse.h"

#if MISUSE_MODE_PRELOAD
__attribute__((weak)) void free_sized(void *p, size_t size);   /* C23: the preloaded object's */
#endif

int main(void)
{
#if MISUSE_MODE_PRELOAD
    MISUSE_REQUIRE(free_sized != NULL);
#endif
    char *p = misuse_launder(A(malloc)(100));
    MISUSE_REQUIRE(p != NULL);
    MISUSE_REQUIRE(A(malloc_usable_size)(p) < 5000);
    A(free_sized)(p, 5000);
    misuse_survived("free_sized(p, 5000) of a 100-byte block");
}
