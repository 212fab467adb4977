/* free_uncarved.c - free an address in the never-carved part of a slab: the last
 * block handed out plus several strides (a block start by stride arithmetic, but
 * past the carve limit). Size 700 is tiny class 17, stride 768; the first malloc
 * of a class returns the highest block of the batch just carved. */
//! expect: HAK_CORRUPT_INVALID_POINTER
#include "misuse.h"

int main(void)
{
    char *p = misuse_launder(A(malloc)(700));
    MISUSE_REQUIRE(p != NULL && A(malloc_usable_size)(p) == 767);
    A(free)(p + 4 * 768);
    misuse_survived("free of a never-carved slab address");
}
