/* double_free_after_realloc.c - realloc moves a tiny block to the mid tier; the old
 * pointer, already freed by realloc, is then freed by the caller. */
//! expect: HAK_CORRUPT_DOUBLE_FREE
#include "misuse.h"

int main(void)
{
    char *p = misuse_launder(A(malloc)(40));
    MISUSE_REQUIRE(p != NULL);
    memset(p, 'x', 40);
    char *q = misuse_launder(A(realloc)(p, 5000));
    MISUSE_REQUIRE(q != NULL && q != p && q[39] == 'x');
    A(free)(p);
    misuse_survived("free of the pointer realloc moved away from");
}
