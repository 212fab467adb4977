/* test_sizeclass.c - size -> class: every size gets the smallest class that fits,
 * strides keep 16-byte alignment, the tag's class field is wide enough. */
#include "hakmem.c"
#include "unit.h"

int main(void)
{
    for (unsigned c = 0; c < HAK_NCLASS; c++) {
        EXPECT(hak_class_stride[c] % 16 == 0);
        if (c) EXPECT(hak_class_stride[c] > hak_class_stride[c - 1]);
    }
    EXPECT_EQ(hak_class_stride[HAK_NTINY - 1], 1040);
    EXPECT_EQ(hak_class_usable(HAK_NCLASS - 1), HAK_MID_MAX + 15);
    int bad = 0;
    for (size_t s = 0; s <= HAK_MID_MAX; s++) {
        unsigned c = hak_size_class(s), want = 0;
        while (hak_class_usable(want) < s) want++;     /* brute force: smallest fit */
        if (s <= HAK_TINY_MAX && c >= HAK_NTINY) bad++;
        if (s > HAK_TINY_MAX && c < HAK_NTINY) bad++;
        if (c != want && !(s > HAK_TINY_MAX && want < HAK_NTINY)) { if (bad++ < 5) fprintf(stderr, "size %zu: class %u, want %u\n", s, c, want); }
    }
    EXPECT_EQ(bad, 0);
    /* Every mid class gets at least a few blocks per span and fits half a SuperSlab. */
    for (unsigned c = HAK_NTINY; c < HAK_NCLASS; c++) {
        unsigned span = hak_class_span(c);
        EXPECT(span >= 1 && span <= HAK_SLABS_PER_SS / 2);
        EXPECT((span * HAK_SLAB_SIZE - 15) / hak_class_stride[c] >= 7);
    }
    EXPECT_EQ(hak_class_span(0), 1);
    return unit_finish("sizeclass");
}
