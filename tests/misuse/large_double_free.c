/* large_double_free.c - free a large (mmap tier) block twice. */
//! expect: HAK_CORRUPT_DOUBLE_FREE
#include "misuse.h"

int main(void)
{
    char *p = misuse_launder(A(malloc)(1 << 20));
    MISUSE_REQUIRE(p != NULL);
    memset(p, 1, 1 << 20);
    A(free)(p);
    A(free)(p);
    misuse_survived("second free of a large block");
}
