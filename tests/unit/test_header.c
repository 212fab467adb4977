/* test_header.c - block state values and the in-band bytes: the states are distinct,
 * only ALLOC values have the allocated bit (and a thread's st_alloc is one of them), and
 * the accessors touch exactly p-1 (canary) and p[0..8) (link). */
#include "hakmem.c"
#include "unit.h"

int main(void)
{
    unsigned held[] = { HAK_ST_NONE, HAK_ST_FREE, HAK_ST_REMOTE, HAK_ST_CACHED, HAK_ST_UNREADY };
    for (unsigned i = 0; i < sizeof held / sizeof held[0]; i++) {
        EXPECT(!hak_st_alloc(held[i]));
        for (unsigned j = i + 1; j < sizeof held / sizeof held[0]; j++) EXPECT(held[i] != held[j]);
    }
    for (unsigned h = 0; h <= HAK_ST_HINT; h++) EXPECT(hak_st_alloc(HAK_ST_ALLOC | h));
    void *q = HAK_API(malloc)(24);                      /* lays the thread out */
    EXPECT(hak_st_alloc(hak_tls.st_alloc));
    EXPECT_EQ(hak_state_load(q), hak_tls.st_alloc);
    EXPECT_EQ(hak_canary_load(q), HAK_CANARY);
    HAK_API(free)(q);
    EXPECT_EQ(hak_state_load(q), HAK_ST_CACHED);
    EXPECT_EQ(hak_canary_load(q), HAK_CANARY);

    _Alignas(16) unsigned char buf[48];
    memset(buf, 0x55, sizeof buf);
    void *p = buf + 16;
    hak_canary_store(p);
    EXPECT_EQ(buf[15], HAK_CANARY);
    EXPECT_EQ(hak_canary_load(p), HAK_CANARY);
    EXPECT_EQ(buf[14], 0x55);
    EXPECT_EQ(buf[16], 0x55);
    hak_link_store(p, (void *)0x1122334455667788ull);
    EXPECT(hak_link_load(p) == (void *)0x1122334455667788ull);
    EXPECT_EQ(buf[24], 0x55);
    EXPECT_EQ(buf[15], HAK_CANARY);
    /* Every kind has its own fixed message. */
    for (int a = 1; a < HAK_CORRUPT_KIND_COUNT; a++)
        for (int b = a + 1; b < HAK_CORRUPT_KIND_COUNT; b++)
            EXPECT(strcmp(hak_corruption_message(a), hak_corruption_message(b)) != 0);
    return unit_finish("header");
}
