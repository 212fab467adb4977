/* test_held.c - unit test of the held-block set (harness/shadow.c): every held block
 * stays a member while the set grows from its first slots to tens of thousands of
 * blocks, a block added twice is reported, a forgotten one is gone, and a new stream
 * (generation) starts empty. */
#include "shadow.h"

#include <stdlib.h>
#include <string.h>

static int fails;
#define CHECK(c, ...) do { if (!(c)) { fails++; fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
    fprintf(stderr, __VA_ARGS__); fprintf(stderr, "\n"); if (fails > 10) exit(1); } } while (0)

int main(void)
{
    static hctx c;
    c.held = calloc(HOP_HOLD_MAX, sizeof *c.held);
    c.hset = calloc(2 * HOP_HOLD_MAX, sizeof *c.hset);
    if (!c.held || !c.hset) return 2;
    c.hgen = 1;
    const unsigned n = 40000;
    uintptr_t base = 0x7e0000100010u;
    for (unsigned k = 0; k < n; k++) {   /* as hold_one does: add, then append */
        uintptr_t a = base + (uintptr_t)k * 48;
        CHECK(held_add(&c, a) == 0, "block %u reported as held twice", k);
        c.held[c.nheld++] = (hheld){ a, a + 47 };
        if ((k & (k + 1)) == 0 || k == n - 1)   /* after every growth step: all members there */
            for (unsigned j = 0; j <= k; j++) CHECK(held_has(&c, base + (uintptr_t)j * 48), "block %u of %u lost", j, k + 1);
    }
    CHECK(held_add(&c, base + 48 * 7) == 1, "a block added twice is not reported");
    CHECK(!held_has(&c, base + 8), "an address inside a block counts as a held block");
    held_forget(&c, base + 48 * 5);
    CHECK(!held_has(&c, base + 48 * 5), "a forgotten block is still held");
    CHECK(held_has(&c, base + 48 * 6), "forgetting one block lost another");
    c.hgen++;   /* the next stream */
    c.nheld = 0;
    c.hcap = 0;
    CHECK(!held_has(&c, base), "a block of the previous stream is held in the next");
    printf("test-held: %s\n", fails ? "FAILED" : "ok");
    return fails ? 1 : 0;
}
