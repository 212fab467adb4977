/* mid_double_free.c - free the same mid-tier block twice in a row. */
//! expect: HAK_CORRUPT_DOUBLE_FREE
#include "misuse.h"

int main(void)
{
    void *p = misuse_launder(A(malloc)(20000));
    MISUSE_REQUIRE(p != NULL);
    A(free)(p);
    A(free)(p);
    misuse_survived("second free of a mid block");
}
