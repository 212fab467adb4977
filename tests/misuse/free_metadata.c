/* free_metadata.c - free an address inside a SuperSlab's metadata slab (slab 0 of
 * the 2 MiB-aligned mapping that holds a live block). */
//! expect: HAK_CORRUPT_INVALID_POINTER
#include "misuse.h"

int main(void)
{
    char *p = misuse_launder(A(malloc)(64));
    MISUSE_REQUIRE(p != NULL);
    uintptr_t ss = (uintptr_t)p & ~(uintptr_t)((1u << 21) - 1);
    A(free)(misuse_launder((void *)(ss + 4096)));
    misuse_survived("free inside SuperSlab metadata");
}
