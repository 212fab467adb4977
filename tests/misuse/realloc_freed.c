/* realloc_freed.c - realloc of a tiny block that was already freed. */
//! expect: HAK_CORRUPT_USE_AFTER_FREE
#include "misuse.h"

int main(void)
{
    void *p = misuse_launder(A(malloc)(64));
    MISUSE_REQUIRE(p != NULL);
    A(free)(p);
    void *q = misuse_launder(A(realloc)(p, 200));
    (void)q;
    misuse_survived("realloc of a freed block");
}
