/* realloc_huge_freed.c - realloc of a freed block to an impossible size: the pointer
 * is validated before the size can send the call to ENOMEM. */
//! expect: HAK_CORRUPT_USE_AFTER_FREE
#include "misuse.h"

static volatile size_t huge = SIZE_MAX;

int main(void)
{
    void *p = misuse_launder(A(malloc)(64));
    MISUSE_REQUIRE(p != NULL);
    A(free)(p);
    void *q = misuse_launder(A(realloc)(p, huge));
    (void)q;
    misuse_survived("realloc of a freed block to SIZE_MAX returned without a report");
}
