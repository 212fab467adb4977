/* test_sizeclass.c - size -> class: every size gets the smallest sized class that
 * fits, strides keep 16-byte alignment, the page-aligned classes are powers of two
 * that no plain size maps to, and every class's blocks fit a span. */
#include "hakmem.c"
#include "unit.h"

int main(void)
{
    for (unsigned c = 0; c < HAK_NCLASS; c++) {
        EXPECT(hak_class_stride[c] % 16 == 0);
        if (c && c != HAK_NSIZED) EXPECT(hak_class_stride[c] > hak_class_stride[c - 1]);
    }
    EXPECT_EQ(hak_class_stride[HAK_NTINY - 1], 1040);
    EXPECT_EQ(hak_class_usable(HAK_NSIZED - 1), HAK_MID_MAX + 15);
    for (unsigned c = HAK_NSIZED; c < HAK_NCLASS; c++)
        EXPECT_EQ(hak_class_stride[c], HAK_ALIGNED_CLASS_MIN << (c - HAK_NSIZED));
    int bad = 0;
    for (size_t s = 0; s <= HAK_MID_MAX; s++) {
        unsigned c = hak_size_class(s), want = 0;
        if (c >= HAK_NSIZED) bad++;                    /* aligned classes: memalign only */
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
