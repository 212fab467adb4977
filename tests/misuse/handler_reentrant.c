/* handler_reentrant.c - a recording corruption handler that itself allocates (as any
 * handler that logs through stdio may) is called from inside a refill of the very
 * size class it allocates from. Afterwards no block may be handed out twice. Exits 0.
 * The corruption: a use-after-free write into the freelist link of a flushed block. */
//! expect: exit0
#include "misuse.h"

#define N 400

static volatile int reports;
static void *volatile logged[16];

static void handler(hak_corruption_kind kind, const void *ptr, void *arg)
{
    (void)kind; (void)ptr; (void)arg;
    void *x = A(malloc)(24);   /* same class as the refill that is reporting */
    if (x) memset(x, 0, 24);
    if (reports < 16) logged[reports] = x;   /* kept: a log record */
    reports++;
}

int main(void)
{
    static void *blocks[N], *got[4 * N];
    X(set_corruption_handler)(handler, NULL);
    void *anchor = misuse_launder(A(malloc)(24));
    MISUSE_REQUIRE(anchor != NULL);
    void *victim = misuse_freed_victim(blocks, N, 24, N / 4);
    *(uintptr_t *)victim = (uintptr_t)0x4141414141414140ull;
    for (int i = 0; i < 4 * N; i++) got[i] = A(malloc)(24);
    X(set_corruption_handler)(NULL, NULL);
    MISUSE_REQUIRE(reports >= 1);
    int dup = 0;
    for (int i = 0; i < 4 * N; i++) {
        for (int j = i + 1; j < 4 * N; j++) dup += got[i] && got[i] == got[j];
        for (int k = 0; k < 16 && k < reports; k++) dup += got[i] && got[i] == logged[k];
    }
    if (dup) {
        fprintf(stderr, "handler_reentrant: %d block(s) handed out twice after %d report(s)\n", dup, reports);
        return 1;
    }
    printf("handler_reentrant: %d report(s), no block handed out twice\n", reports);
    return 0;
}
