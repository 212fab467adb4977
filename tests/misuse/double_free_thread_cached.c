/* double_free_thread_cached.c - the main thread frees a block (it sits in the main
 * thread's cache, state CACHED), then another thread frees it again. */
//! expect: HAK_CORRUPT_DOUBLE_FREE
#include <pthread.h>
#include "misuse.h"

static void *freer(void *arg)
{
    A(free)(arg);
    misuse_survived("second free from another thread");
}

int main(void)
{
    void *p = misuse_launder(A(malloc)(64));
    MISUSE_REQUIRE(p != NULL);
    A(free)(p);
    pthread_t t;
    MISUSE_REQUIRE(pthread_create(&t, NULL, freer, p) == 0);
    pthread_join(t, NULL);
    misuse_survived("second free from another thread");
}
