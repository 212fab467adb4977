/* stats_probe.c - allocates through the libc names and exits normally, so a preloaded
 * hakmem build prints its statistics (HAKMEM_STATS=1) from its exit destructor. */
#include <stdlib.h>
int main(void)
{
    void *p[256];
    for (int r = 0; r < 10; r++) {
        for (int i = 0; i < 256; i++) p[i] = malloc((size_t)(i * 13 % 900) + 1);
        for (int i = 0; i < 256; i++) free(p[i]);
    }
    return 0;
}
