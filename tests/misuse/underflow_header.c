/* underflow_header.c - write one byte before a live block (its own canary), then free it. */
//! expect: HAK_CORRUPT_BAD_HEADER
#include "misuse.h"

int main(void)
{
    char *p = misuse_launder(A(malloc)(40));
    MISUSE_REQUIRE(p != NULL);
    p[-1] = 0x55;
    A(free)(p);
    misuse_survived("free of a block whose header was underwritten");
}
