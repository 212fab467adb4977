/* remote_link_smash.c - use after free on the cross-thread path: another thread
 * frees blocks of the main thread's slab and exits (they go onto the slab's remote
 * list); the main thread then overwrites one link and allocates until the remote
 * list is collected. */
//! expect: HAK_CORRUPT_BAD_REMOTE_LINK
#include <pthread.h>
#include "misuse.h"

#define N 64

static void *blocks[N];

static void *freer(void *arg)
{
    (void)arg;
    for (int i = 0; i < N; i++) A(free)(blocks[i]);
    return NULL;
}

int main(void)
{
    void *anchor = misuse_launder(A(malloc)(56));
    MISUSE_REQUIRE(anchor != NULL);
    for (int i = 0; i < N; i++) {
        MISUSE_REQUIRE((blocks[i] = A(malloc)(56)) != NULL);
        misuse_mark(blocks[i]);
    }
    pthread_t t;
    MISUSE_REQUIRE(pthread_create(&t, NULL, freer, NULL) == 0);
    MISUSE_REQUIRE(pthread_join(t, NULL) == 0);
    void *victim = blocks[N / 2];
    MISUSE_REQUIRE(misuse_on_list(victim));
    *(uintptr_t *)victim = (uintptr_t)0x4242424242424240ull;
    for (int i = 0; i < 5000; i++) misuse_launder(A(malloc)(56));
    misuse_survived("a corrupted remote link was collected");
}
