/* test_registry.c - hak_super_lookup finds every SuperSlab from any address inside
 * it, and nothing else; the debug validation built on it rejects bad frees. */
#include "hakmem.c"
#include "unit.h"

int main(void)
{
    hak_global_init();
    HAK_API(set_corruption_handler)(unit_record, NULL);
    hak_superslab *ss[40];
    for (int i = 0; i < 40; i++) ss[i] = hak_ss_map();
    for (int i = 0; i < 40; i++) {
        char *m = (char *)hak_ss_base(ss[i]);
        EXPECT(hak_super_lookup(m) == ss[i]);
        EXPECT(hak_super_lookup(m + HAK_SS_SIZE - 1) == ss[i]);
        EXPECT(hak_super_lookup(m + 777777) == ss[i]);
        EXPECT(hak_super_lookup(ss[i]) == NULL);   /* the header is allocator memory, outside the arena */
    }
    static char g;
    int x;
    EXPECT(hak_super_lookup(&g) == NULL);
    EXPECT(hak_super_lookup(&x) == NULL);
    EXPECT(hak_super_lookup(NULL) == NULL);
    EXPECT(hak_super_lookup((void *)0x7ff000000000ull) == NULL);

    /* debug free validation (compiled in every build, called only in debug) */
    void *p = HAK_API(malloc)(64);
    EXPECT(hak_debug_validate_free(p, 1) == 1);
    EXPECT(hak_debug_validate_free((char *)p + 16, 1) == 0);
    EXPECT_EQ(unit_reports[HAK_CORRUPT_INVALID_POINTER], 1);
    HAK_API(free)(p);
    EXPECT(hak_debug_validate_free(p, 1) == 0);
    EXPECT_EQ(unit_reports[HAK_CORRUPT_DOUBLE_FREE], 1);
    unit_clear_reports();
    HAK_API(free)(p);   /* the real double free, through either build's checks */
    EXPECT_EQ(unit_reports[HAK_CORRUPT_DOUBLE_FREE], 1);
    return unit_finish("registry");
}
