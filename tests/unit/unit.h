/* unit.h - a minimal test harness for the white-box unit tests. Each test file
 * includes the whole allocator (alloc/hakmem.c) so static internals are reachable. */
#ifndef HAKMEM_UNIT_H
#define HAKMEM_UNIT_H
#include <stdio.h>
#include <stdlib.h>

static int unit_pass, unit_fail;
#define EXPECT(cond) do { if (cond) unit_pass++; else { unit_fail++; \
    fprintf(stderr, "%s:%d: expected: %s\n", __FILE__, __LINE__, #cond); } } while (0)
#define EXPECT_EQ(a, b) do { long long _a = (long long)(a), _b = (long long)(b); if (_a == _b) unit_pass++; \
    else { unit_fail++; fprintf(stderr, "%s:%d: %s == %s: %lld != %lld\n", __FILE__, __LINE__, #a, #b, _a, _b); } } while (0)
static int unit_finish(const char *name)
{
    printf("%s (%s): %d passed, %d failed\n", name, HAKMEM_VARIANT_NAME, unit_pass, unit_fail);
    return unit_fail != 0;
}

/* A recording corruption handler shared by the tests. */
static int unit_reports[HAK_CORRUPT_KIND_COUNT];
static const void *unit_last_ptr;
static void unit_record(hak_corruption_kind kind, const void *ptr, void *arg)
{
    (void)arg;
    unit_reports[kind]++;
    unit_last_ptr = ptr;
}
static int unit_total_reports(void)
{
    int n = 0;
    for (int i = 0; i < HAK_CORRUPT_KIND_COUNT; i++) n += unit_reports[i];
    return n;
}
static void unit_clear_reports(void)
{
    for (int i = 0; i < HAK_CORRUPT_KIND_COUNT; i++) unit_reports[i] = 0;
}
#endif
