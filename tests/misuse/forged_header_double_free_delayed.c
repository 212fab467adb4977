/* forged_header_double_free_delayed.c - tag forgery on a block back on its slab's
 * freelist: free it and enough others that the thread cache flushes it, forge its
 * header byte from the live neighbour below (a one-byte overflow copying a live
 * block's header byte), and free it again. Without out-of-band state the block would
 * be on the freelist and in the cache at once, and handed out twice. */
//! expect: HAK_CORRUPT_DOUBLE_FREE
#include "misuse.h"

#define N 400
#define SZ 40       /* tiny class 2, stride 48 */
#define STRIDE 48

int main(void)
{
    static unsigned char *b[N];
    for (int i = 0; i < N; i++) MISUSE_REQUIRE((b[i] = misuse_launder(A(malloc)(SZ))) != NULL);
    int lo = -1, hi = -1;   /* b[hi] = b[lo] + STRIDE, b[hi] among the first freed */
    for (int j = 0; j < N / 4 && lo < 0; j++)
        for (int i = 0; i < N; i++)
            if (b[j] == b[i] + STRIDE) { lo = i; hi = j; break; }
    MISUSE_REQUIRE(lo >= 0);
    for (int i = 0; i < N; i++) {
        if (i == lo) continue;   /* the neighbour stays live */
        misuse_mark(b[i]);
        A(free)(b[i]);
    }
    MISUSE_REQUIRE(misuse_on_list(b[hi]));
    size_t usable = A(malloc_usable_size)(b[lo]);
    MISUSE_REQUIRE(usable == STRIDE - 1);
    b[lo][usable] = b[lo][-1];
    A(free)(b[hi]);
    misuse_survived("a double free of a freelist block after forging its header byte");
}
