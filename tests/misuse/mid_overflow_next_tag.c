/* mid_overflow_next_tag.c - the mid-tier version of overflow_next_tag.c: overflow a
 * 3000-byte block by one byte into its neighbour's canary, free the neighbour. */
//! expect: HAK_CORRUPT_BAD_HEADER
#include "misuse.h"

int main(void)
{
    char *b[8];
    for (int i = 0; i < 8; i++) MISUSE_REQUIRE((b[i] = misuse_launder(A(malloc)(3000))) != NULL);
    size_t usable = A(malloc_usable_size)(b[0]);
    MISUSE_REQUIRE(usable >= 3000 && usable < 4096);
    for (int i = 0; i < 8; i++)
        for (int j = 0; j < 8; j++)
            if (b[j] == b[i] + usable + 1) {
                memset(b[i], 'B', usable + 1);
                A(free)(b[j]);
                misuse_survived("free of a mid block whose canary was overwritten");
            }
    misuse_setup_failed("no two adjacent mid blocks");
}
