/* forged_header_double_free.c - tag forgery: free a tiny block (it waits in the thread
 * cache), then overflow its neighbour below by one byte with a copy of a live block's
 * header byte, so the freed block looks allocated in band, and free it again. Block
 * state lives out of band: the second free is still a double free. */
//! expect: HAK_CORRUPT_DOUBLE_FREE
#include "misuse.h"

#define SZ 24       /* tiny class 1, stride 32 */
#define STRIDE 32

int main(void)
{
    unsigned char *b[16];
    for (int i = 0; i < 16; i++) MISUSE_REQUIRE((b[i] = misuse_launder(A(malloc)(SZ))) != NULL);
    for (int i = 0; i < 16; i++)
        for (int j = 0; j < 16; j++)
            if (b[j] == b[i] + STRIDE) {
                A(free)(b[j]);
                size_t usable = A(malloc_usable_size)(b[i]);
                MISUSE_REQUIRE(usable == STRIDE - 1);
                b[i][usable] = b[i][-1];   /* b[j]'s header byte := a live block's */
                A(free)(b[j]);
                misuse_survived("a double free after forging the block's header byte");
            }
    misuse_setup_failed("no two adjacent blocks");
}
