/* large_header_smash.c - an underflow that overwrites a large block's whole 64-byte
 * header (including its links), then free the block. Another large block is live
 * too, so the heap's list of live large blocks is not trivially short. */
//! expect: HAK_CORRUPT_BAD_HEADER
#include "misuse.h"

int main(void)
{
    char *other = misuse_launder(A(malloc)(300000));
    char *p = misuse_launder(A(malloc)(1 << 20));
    MISUSE_REQUIRE(p != NULL && other != NULL);
    memset(p - 64, 'C', 64);
    A(free)(p);
    misuse_survived("free of a large block whose header was overwritten");
}
