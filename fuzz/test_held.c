/* test_held.c - unit test of the held-block set (harness/shadow.c): every held block
 * stays a member while the set grows to tens of thousands of blocks over many 64 KiB
 * chunks (and chunks far apart), a block added twice is reported, a forgotten one is
 * gone, starts that are not 16-aligned are members of their own, and a new stream
 * starts empty. */
#include "shadow.h"

#include <stdlib.h>
#include <string.h>

static int fails;
#define CHECK(c, ...) do { if (!(c)) { fails++; fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
    fprintf(stderr, __VA_ARGS__); fprintf(stderr, "\n"); if (fails > 10) exit(1); } } while (0)

/* Held block k of the test: consecutive 48-byte blocks, then every 1000th one in a
 * chunk of its own far away (large blocks). */
static uintptr_t block(unsigned k)
{
    uintptr_t base = 0x7e0000100010u;
    return k % 1000 == 999 ? 0x7f0000000000u + ((uintptr_t)k << 21) + 64 : base + (uintptr_t)k * 48;
}

int main(void)
{
    static hctx c;
    CHECK(held_ready(&c), "the held arrays cannot be mapped");
    if (fails) return 2;
    held_new_stream(&c);
    const unsigned n = 40000;
    for (unsigned k = 0; k < n; k++) {   /* as hold_one does: add, then append */
        uintptr_t a = block(k);
        CHECK(held_add(&c, a) == 0, "block %u reported as held twice", k);
        c.held[c.nheld++] = (hheld){ a, a + 47 };
        if ((k & (k + 1)) == 0 || k == n - 1)   /* now and then: all members there, no other address */
            for (unsigned j = 0; j <= k; j++) {
                CHECK(held_has(&c, block(j)), "block %u of %u lost", j, k + 1);
                CHECK(!held_has(&c, block(j) + 16), "block %u + 16 counts as held", j);
            }
    }
    CHECK(held_add(&c, block(7)) == 1, "a block added twice is not reported");
    CHECK(held_add(&c, block(1999)) == 1, "a far block added twice is not reported");
    CHECK(!held_has(&c, block(0) + 8), "an address inside a block counts as a held block");
    CHECK(!held_has(&c, block(0) + ((uintptr_t)1 << 30)), "a block of another chunk counts as held");
    held_forget(&c, block(5));
    CHECK(!held_has(&c, block(5)), "a forgotten block is still held");
    CHECK(held_has(&c, block(6)), "forgetting one block lost another");
    held_forget(&c, block(999));
    CHECK(!held_has(&c, block(999)), "a forgotten far block is still held");
    /* starts that are not 16-aligned */
    uintptr_t odd = block(10) + 3;
    CHECK(!held_has(&c, odd), "an odd address counts as held before it was added");
    CHECK(held_add(&c, odd) == 0, "a first odd start reported as held twice");
    CHECK(held_add(&c, odd + 1) == 0, "a second odd start in the same granule reported as held twice");
    CHECK(held_add(&c, odd) == 1, "an odd start added twice is not reported");
    CHECK(held_has(&c, odd) && held_has(&c, odd + 1) && held_has(&c, block(10)), "odd starts and the aligned one are all held");
    held_forget(&c, odd);
    CHECK(!held_has(&c, odd) && held_has(&c, odd + 1), "forgetting an odd start forgot the wrong one");
    held_new_stream(&c);   /* the next stream */
    CHECK(!held_has(&c, block(0)), "a block of the previous stream is held in the next");
    CHECK(!held_has(&c, block(1999)), "a far block of the previous stream is held in the next");
    CHECK(!held_has(&c, odd + 1), "an odd start of the previous stream is held in the next");
    CHECK(held_add(&c, block(1)) == 0, "a block of the previous stream is reported as held twice in the next");
    CHECK(!held_has(&c, block(2)), "a new stream's bitmap keeps an old bit");
    printf("test-held: %s\n", fails ? "FAILED" : "ok");
    return fails ? 1 : 0;
}
