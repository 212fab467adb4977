/* overflow_next_tag.c - a one-byte heap overflow: fill a tiny block to its usable
 * size plus one, which overwrites the next block's canary, then free the next block. */
//! expect: HAK_CORRUPT_BAD_HEADER
#include "misuse.h"

#define SZ 100      /* tiny class 6, stride 112 */
#define STRIDE 112

int main(void)
{
    char *b[16];
    for (int i = 0; i < 16; i++) MISUSE_REQUIRE((b[i] = misuse_launder(A(malloc)(SZ))) != NULL);
    for (int i = 0; i < 16; i++)
        for (int j = 0; j < 16; j++)
            if (b[j] == b[i] + STRIDE) {
                size_t usable = A(malloc_usable_size)(b[i]);
                MISUSE_REQUIRE(usable == STRIDE - 1);
                memset(b[i], 'A', usable + 1);
                A(free)(b[j]);
                misuse_survived("free of a block whose canary was overwritten");
            }
    misuse_setup_failed("no two adjacent blocks");
}
