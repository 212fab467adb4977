/* double_free_delayed.c - free a tiny block, then free enough other blocks of its
 * class that the thread cache flushes it back to its slab's freelist (state FREE), do
 * unrelated mallocs/frees of other classes, then free it again. An anchor block
 * keeps the slab from becoming empty (an empty slab is released, and a stale
 * pointer into it could only be reported as invalid, not as a double free). */
//! expect: HAK_CORRUPT_DOUBLE_FREE
#include "misuse.h"

#define N 400

int main(void)
{
    static void *others[N];
    void *p = misuse_launder(A(malloc)(48));
    void *anchor = misuse_launder(A(malloc)(48));
    MISUSE_REQUIRE(p && anchor);
    for (int i = 0; i < N; i++) MISUSE_REQUIRE((others[i] = A(malloc)(48)) != NULL);
    misuse_mark(p);
    A(free)(p);
    for (int i = 0; i < N; i++) A(free)(others[i]);
    /* Unrelated traffic in other classes (and tiers) between the two frees. */
    for (int i = 0; i < 50; i++) {
        void *q = A(malloc)((size_t)(300 + 37 * i));
        MISUSE_REQUIRE(q != NULL);
        memset(q, 0x5a, 300);
        A(free)(q);
    }
    /* The case is only meaningful if p really left the thread cache. */
    MISUSE_REQUIRE(misuse_on_list(p));
    A(free)(p);
    misuse_survived("delayed second free of a tiny block");
}
