/* test_congruent.c - the harness's two heaps are congruent: in one process, the release
 * and the debug build hand out the k-th tiny or mid block of a stream at addresses that
 * agree in every bit below 2^40 (HARNESS_ALLOC_DEFS aligns both arenas to 2^40). So a
 * fault that rewrites any of a pointer's low five bytes leaves the same arena offset in
 * both heaps, and the two builds judge the same forged block (with 2 MiB alignment the
 * bases differ in bits 21 and up, and such a fault named a live block in one heap and
 * nothing in the other: corpus/regressions/forged-link-arena-offset-asymmetric.txt).
 * Large blocks are placed by mmap and are not covered. */
#include "hakmem.h"

#include <stdint.h>
#include <stdio.h>

#define LOW40 ((((uintptr_t)1) << 40) - 1)

static int fails;

static void same_offsets(const char *when)
{
    static const size_t sizes[] = { 16, 48, 496, 1024, 2048, 20000, 65536 };
    void *pr[64], *pd[64];
    int n = 0;
    for (unsigned k = 0; k < sizeof sizes / sizeof sizes[0]; k++)
        for (int j = 0; j < 8; j++, n++) {
            pr[n] = hak_malloc(sizes[k]);
            pd[n] = hakd_malloc(sizes[k]);
            uintptr_t a = (uintptr_t)pr[n], b = (uintptr_t)pd[n];
            if (!a || !b || ((a ^ b) & LOW40)) {
                fails++;
                fprintf(stderr, "FAIL (%s): block %d of %zu bytes: release %p, debug %p: low 40 bits differ\n",
                        when, j, sizes[k], pr[n], pd[n]);
            }
        }
    for (int i = 0; i < n; i++) { hak_free(pr[i]); hakd_free(pd[i]); }
}

int main(void)
{
    same_offsets("fresh heaps");
    hak_heap_reset();
    hakd_heap_reset();
    same_offsets("after heap_reset");
    if (fails) return 1;
    printf("test-congruent: release and debug blocks agree below 2^40 (fresh and reset heaps)\n");
    return 0;
}
