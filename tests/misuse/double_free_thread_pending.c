/* double_free_thread_pending.c - a thread that is set up (it allocated) frees blocks of
 * the main thread's slab and, still alive and without a flush, frees one of them again:
 * the second free must be reported there and then, whether the first went onto the
 * owner's remote list at once or waits in the freeing thread (a batch of remote frees
 * not yet published must not hide a double free). */
//! expect: HAK_CORRUPT_DOUBLE_FREE
#include <pthread.h>
#include "misuse.h"

#define N 5

static void *blocks[N];

static void *freer(void *arg)
{
    (void)arg;
    misuse_launder(A(malloc)(200));   /* this thread has a cache of its own */
    for (int i = 0; i < N; i++) A(free)(blocks[i]);
    A(free)(blocks[2]);
    return NULL;
}

int main(void)
{
    void *keep = misuse_launder(A(malloc)(64));   /* keeps the slab non-empty */
    MISUSE_REQUIRE(keep != NULL);
    for (int i = 0; i < N; i++) MISUSE_REQUIRE((blocks[i] = misuse_launder(A(malloc)(64))) != NULL);
    pthread_t t;
    MISUSE_REQUIRE(pthread_create(&t, NULL, freer, NULL) == 0);
    MISUSE_REQUIRE(pthread_join(t, NULL) == 0);
    misuse_survived("a second free of a block another thread had just freed");
}
