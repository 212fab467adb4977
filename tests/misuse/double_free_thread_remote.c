/* double_free_thread_remote.c - the main thread allocates a block, another thread
 * frees it and exits (its cache is returned: the block goes onto the owner's
 * remote list, state REMOTE), then the main thread frees it again. */
//! expect: HAK_CORRUPT_DOUBLE_FREE
#include <pthread.h>
#include "misuse.h"

static void *freer(void *arg)
{
    A(free)(arg);
    return NULL;
}

int main(void)
{
    void *keep = misuse_launder(A(malloc)(64));   /* keeps the slab non-empty */
    void *p = misuse_launder(A(malloc)(64));
    MISUSE_REQUIRE(p && keep);
    pthread_t t;
    MISUSE_REQUIRE(pthread_create(&t, NULL, freer, p) == 0);
    MISUSE_REQUIRE(pthread_join(t, NULL) == 0);
    A(free)(p);
    misuse_survived("free of a block another thread already freed");
}
