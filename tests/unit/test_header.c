/* test_header.c - the tag byte: state families are pairwise two bits apart, the class
 * survives a round trip, and the accessors touch exactly p-1 and p[0..8). */
#include "hakmem.c"
#include "unit.h"

int main(void)
{
    unsigned fam[3] = { HAK_TAG_ALLOC, HAK_TAG_CACHED, HAK_TAG_FREE };
    for (int i = 0; i < 3; i++)
        for (int j = i + 1; j < 3; j++) EXPECT(__builtin_popcount(fam[i] ^ fam[j]) >= 2);
    for (int i = 0; i < 3; i++) EXPECT((fam[i] & HAK_TAG_CLASS) == 0);
    EXPECT((HAK_TAG_LARGE & HAK_TAG_FAMILY) != HAK_TAG_ALLOC && (HAK_TAG_LARGE & HAK_TAG_FAMILY) != HAK_TAG_FREE
           && (HAK_TAG_LARGE & HAK_TAG_FAMILY) != HAK_TAG_CACHED);
    for (unsigned c = 0; c < 32; c++)
        for (int i = 0; i < 3; i++) {
            uint8_t t = hak_tag_make(fam[i], c);
            EXPECT_EQ(t & HAK_TAG_CLASS, c);
            EXPECT_EQ(t & HAK_TAG_FAMILY, fam[i]);
        }
    _Alignas(16) unsigned char buf[48];
    memset(buf, 0x55, sizeof buf);
    void *p = buf + 16;
    hak_tag_store(p, 0xA7);
    EXPECT_EQ(buf[15], 0xA7);
    EXPECT_EQ(hak_tag_load(p), 0xA7);
    EXPECT_EQ(buf[14], 0x55);
    EXPECT_EQ(buf[16], 0x55);
    hak_link_store(p, (void *)0x1122334455667788ull);
    EXPECT(hak_link_load(p) == (void *)0x1122334455667788ull);
    EXPECT_EQ(buf[24], 0x55);
    EXPECT_EQ(buf[15], 0xA7);
    /* Every kind has its own fixed message. */
    for (int a = 1; a < HAK_CORRUPT_KIND_COUNT; a++)
        for (int b = a + 1; b < HAK_CORRUPT_KIND_COUNT; b++)
            EXPECT(strcmp(hak_corruption_message(a), hak_corruption_message(b)) != 0);
    return unit_finish("header");
}
