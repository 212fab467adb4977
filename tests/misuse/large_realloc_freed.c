/* large_realloc_freed.c - realloc of a large block that was already freed. */
//! expect: HAK_CORRUPT_USE_AFTER_FREE
#include "misuse.h"

int main(void)
{
    void *p = misuse_launder(A(malloc)(1 << 20));
    MISUSE_REQUIRE(p != NULL);
    A(free)(p);
    void *q = misuse_launder(A(realloc)(p, 2 << 20));
    (void)q;
    misuse_survived("realloc of a freed large block");
}
