/* free_mmap.c - free a pointer into an anonymous mapping hakmem never saw. */
//! expect: HAK_CORRUPT_INVALID_POINTER
#include <sys/mman.h>
#include "misuse.h"

int main(void)
{
    unsigned char *m = mmap(NULL, 1 << 16, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    MISUSE_REQUIRE(m != MAP_FAILED);
    m[63] = 0xA0 | 3;   /* a plausible tag */
    A(free)(misuse_launder(m + 64));
    misuse_survived("free of an mmap pointer");
}
