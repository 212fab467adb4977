/* test_preload.c - the libc names of alloc/preload.c, linked into this program (as
 * LD_PRELOAD puts them in front of the C library): the ones no other test calls. cfree,
 * the old SunOS name glibc dropped, frees like free: the block goes to this thread's
 * cache and the next malloc of its class hands it back. */
#include "preload.c"
#include "unit.h"

void cfree(void *p);

int main(void)
{
    void *p = malloc(100);
    EXPECT(p != NULL && HAK_API(owns)(p, 100));
    cfree(p);
    EXPECT_EQ(hak_state_load(p), HAK_ST_CACHED);
    void *q = malloc(100);
    EXPECT(q == p);
    EXPECT(hak_st_alloc(hak_state_load(q)));
    free(q);
    return unit_finish("preload");
}
