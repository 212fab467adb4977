/* double_free.c - free the same tiny block twice in a row. The first free leaves it
 * in the thread cache (state CACHED), so the second free sees a cached block. */
//! expect: HAK_CORRUPT_DOUBLE_FREE
#include "misuse.h"

int main(void)
{
    void *p = misuse_launder(A(malloc)(32));
    MISUSE_REQUIRE(p != NULL);
    A(free)(p);
    A(free)(p);
    misuse_survived("second free of a tiny block");
}
