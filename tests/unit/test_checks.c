/* test_checks.c - the failing side of the checks no op stream can drive (the harness
 * has no op for these entry points, or the path it would take validates the pointer
 * earlier), each with a recording handler, so the report is seen and the check's
 * branch counted (with the default handler the report aborts inside the check, before
 * its branch is counted): the checks table of docs/coverage.md names each one.
 *
 *   - free_aligned_sized with an alignment of 0 and one that is not a power of two:
 *     invalid pointer, the block stays live;
 *   - free_sized / free_aligned_sized with a size larger than the block, or a pointer
 *     not aligned as claimed: invalid pointer;
 *   - reallocarray of a freed block with an overflowing n * size: the pointer is
 *     checked first (use after free), in the debug build by its record, in release by
 *     the ARG_FIRST check; errno is left alone, nothing is handed out. */
#include <errno.h>
#include <stdint.h>
#include "hakmem.c"
#include "unit.h"

static void expect_one(hak_corruption_kind kind, const void *ptr, const char *what)
{
    int ok = unit_total_reports() == 1 && unit_reports[kind] == 1 && unit_last_ptr == ptr;
    if (!ok) fprintf(stderr, "%s: %d report(s), %d of kind %d\n", what, unit_total_reports(), unit_reports[kind], kind);
    EXPECT(ok);
    unit_clear_reports();
}

int main(void)
{
    HAK_API(set_corruption_handler)(unit_record, NULL);

    void *p = HAK_API(malloc)(100);
    EXPECT(p != NULL);
    HAK_API(free_aligned_sized)(p, 0, 100);
    expect_one(HAK_CORRUPT_INVALID_POINTER, p, "free_aligned_sized(p, 0, 100)");
    HAK_API(free_aligned_sized)(p, 24, 100);
    expect_one(HAK_CORRUPT_INVALID_POINTER, p, "free_aligned_sized(p, 24, 100)");
    HAK_API(free_sized)(p, 5000);
    expect_one(HAK_CORRUPT_INVALID_POINTER, p, "free_sized(p, 5000)");
    void *q = HAK_API(malloc)(40);   /* stride 48: of two neighbours at most one is 64-aligned */
    void *r = HAK_API(malloc)(40);
    void *odd = ((uintptr_t)q & 63) ? q : r;
    HAK_API(free_aligned_sized)(odd, 64, 40);
    expect_one(HAK_CORRUPT_INVALID_POINTER, odd, "free_aligned_sized(p, 64, 40) of a block not 64-aligned");
    /* every refused call left the blocks live: they free cleanly, once */
    EXPECT_EQ(HAK_API(malloc_usable_size)(p) >= 100, 1);
    HAK_API(free_sized)(p, 100);
    HAK_API(free_aligned_sized)(q, 16, 40);
    HAK_API(free)(r);
    EXPECT_EQ(unit_total_reports(), 0);

    void *f = HAK_API(malloc)(64);
    EXPECT(f != NULL);
    HAK_API(free)(f);
    errno = 0;
    void *g = HAK_API(reallocarray)(f, 2, SIZE_MAX / 2 + 1);
    EXPECT(g == NULL);
    expect_one(HAK_CORRUPT_USE_AFTER_FREE, f, "reallocarray(freed, 2, SIZE_MAX / 2 + 1)");
    EXPECT_EQ(errno, 0);   /* answered as the bad pointer it is, not as ENOMEM */
    return unit_finish("checks");
}
