/* usable_size_freed.c - malloc_usable_size of a freed block. */
//! expect: HAK_CORRUPT_USE_AFTER_FREE
#include "misuse.h"

int main(void)
{
    void *p = misuse_launder(A(malloc)(64));
    MISUSE_REQUIRE(p != NULL);
    A(free)(p);
    size_t n = A(malloc_usable_size)(p);
    (void)n;
    misuse_survived("malloc_usable_size of a freed block");
}
