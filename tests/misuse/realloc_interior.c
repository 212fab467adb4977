/* realloc_interior.c - realloc of a pointer into the middle of a live block. */
//! expect: HAK_CORRUPT_INVALID_POINTER
#include "misuse.h"

int main(void)
{
    char *p = misuse_launder(A(malloc)(256));
    MISUSE_REQUIRE(p != NULL);
    void *q = misuse_launder(A(realloc)(p + 32, 500));
    (void)q;
    misuse_survived("realloc of an interior pointer");
}
