/* free_other_heap.c - free a live block of the other build's heap (a hakd_ block to
 * hak_free, a hak_ block to hakd_free): each heap only accepts its own blocks. */
//! expect: HAK_CORRUPT_INVALID_POINTER
#include "misuse.h"

int main(void)
{
    void *p = misuse_launder(O(malloc)(64));
    MISUSE_REQUIRE(p != NULL);
    A(free)(p);
    misuse_survived("free of the other heap's block");
}
