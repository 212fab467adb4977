/* reallocarray_overflow_freed.c - reallocarray of a freed block whose n * size
 * overflows: the pointer is validated before the overflow is answered with ENOMEM. */
//! expect: HAK_CORRUPT_USE_AFTER_FREE
#include "misuse.h"

static volatile size_t half = SIZE_MAX / 2 + 1;

int main(void)
{
    void *p = misuse_launder(A(malloc)(64));
    MISUSE_REQUIRE(p != NULL);
    A(free)(p);
    void *q = misuse_launder(A(reallocarray)(p, 2, half));
    (void)q;
    misuse_survived("reallocarray of a freed block with an overflowing size returned without a report");
}
