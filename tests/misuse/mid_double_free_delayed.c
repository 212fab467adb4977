/* mid_double_free_delayed.c - free a mid block, flush it out of the thread cache by
 * freeing many blocks of its class, then free it again (state FREE, on the slab list). */
//! expect: HAK_CORRUPT_DOUBLE_FREE
#include "misuse.h"

#define N 64

int main(void)
{
    static void *others[N];
    void *p = misuse_launder(A(malloc)(3000));
    void *anchor = misuse_launder(A(malloc)(3000));
    MISUSE_REQUIRE(p && anchor);
    for (int i = 0; i < N; i++) MISUSE_REQUIRE((others[i] = A(malloc)(3000)) != NULL);
    misuse_mark(p);
    A(free)(p);
    for (int i = 0; i < N; i++) A(free)(others[i]);
    MISUSE_REQUIRE(misuse_on_list(p));
    A(free)(p);
    misuse_survived("delayed second free of a mid block");
}
