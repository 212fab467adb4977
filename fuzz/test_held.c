/* test_held.c - unit test of the held-block set (harness/shadow.c): every byte of every
 * held block stays covered while the set grows to tens of thousands of blocks over many
 * 64 KiB chunks (and chunks far apart), a block handed out over a held one - at its
 * start, inside it, or straddling two - is seen, bytes next to a block are not held, a
 * block over several chunks is covered in each, a forgotten one is gone and only it,
 * and a new stream starts empty. */
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
    for (unsigned k = 0; k < n; k++) {   /* as hold_one does: checked, added, appended */
        uintptr_t a = block(k);
        CHECK(held_room_for(&c, 47), "no room for block %u", k);
        CHECK(!held_overlap(&c, a, a + 47), "block %u overlaps a held block before it is held", k);
        held_add(&c, a, a + 47);
        c.held[c.nheld++] = (hheld){ a, a + 47 };
        if ((k & (k + 1)) == 0 || k == n - 1)   /* now and then: all members there, no other address */
            for (unsigned j = 0; j <= k; j++) {
                CHECK(held_overlap(&c, block(j), block(j) + 1), "block %u of %u lost (start)", j, k + 1);
                CHECK(held_overlap(&c, block(j) + 46, block(j) + 47), "block %u of %u lost (last byte)", j, k + 1);
                if (j % 1000 == 999 || j + 1 > k || block(j + 1) != block(j) + 48)
                    CHECK(!held_overlap(&c, block(j) + 48, block(j) + 64), "the granule after block %u counts as held", j);
            }
    }
    CHECK(held_overlap(&c, block(7), block(7) + 48), "a block handed out again at a held start is not seen");
    CHECK(held_overlap(&c, block(7) + 16, block(7) + 32), "a block inside a held one is not seen");
    CHECK(held_overlap(&c, block(7) + 32, block(7) + 80), "a block straddling two held ones is not seen");
    CHECK(held_overlap(&c, block(1999) + 16, block(1999) + 32), "a block inside a far held one is not seen");
    CHECK(!held_overlap(&c, block(0) + ((uintptr_t)1 << 30), block(0) + ((uintptr_t)1 << 30) + 48), "a block of another chunk counts as held");
    CHECK(!held_overlap(&c, block(0) - 16, block(0)), "the granule before the first block counts as held");
    held_forget(&c, block(5), block(5) + 47);
    CHECK(!held_overlap(&c, block(5), block(5) + 47), "a forgotten block is still held");
    CHECK(held_overlap(&c, block(6), block(6) + 1) && held_overlap(&c, block(4) + 46, block(4) + 47), "forgetting one block lost its neighbours");
    held_forget(&c, block(999), block(999) + 47);
    CHECK(!held_overlap(&c, block(999), block(999) + 47), "a forgotten far block is still held");
    /* one block over several chunks (200 KiB from 16 bytes before a chunk's end) */
    uintptr_t big = 0x7f4000000000u - 16, bige = big + 200 * 1024;
    CHECK(held_room_for(&c, 200 * 1024), "no room for a 200 KiB block");
    held_add(&c, big, bige);
    for (uintptr_t q = big; q < bige; q += 4096) CHECK(held_overlap(&c, q, q + 1), "byte %#lx of a big held block is not held", (unsigned long)(q - big));
    CHECK(held_overlap(&c, bige - 1, bige) && !held_overlap(&c, bige + 16, bige + 32) && !held_overlap(&c, big - 16, big), "a big held block's ends are wrong");
    held_forget(&c, big, bige);
    CHECK(!held_overlap(&c, big, bige), "a forgotten big block is still held in part");
    held_new_stream(&c);   /* the next stream */
    CHECK(!held_overlap(&c, block(0), block(0) + 47), "a block of the previous stream is held in the next");
    CHECK(!held_overlap(&c, block(1999), block(1999) + 47), "a far block of the previous stream is held in the next");
    held_add(&c, block(1), block(1) + 47);
    c.held[c.nheld++] = (hheld){ block(1), block(1) + 47 };
    CHECK(!held_overlap(&c, block(2), block(2) + 47), "a new stream's bitmap keeps an old bit");
    CHECK(held_overlap(&c, block(1), block(1) + 1), "a new stream's first block is not held");
    printf("test-held: %s\n", fails ? "FAILED" : "ok");
    return fails ? 1 : 0;
}
