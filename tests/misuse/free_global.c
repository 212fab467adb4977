/* free_global.c - free a pointer to a global array, with a plausible ALLOC tag in
 * the byte before it. */
//! expect: HAK_CORRUPT_INVALID_POINTER
#include "misuse.h"

static _Alignas(16) unsigned char global_buf[256];

int main(void)
{
    global_buf[31] = 0xA0 | 2;
    A(free)(misuse_launder(global_buf + 32));
    misuse_survived("free of a global pointer");
}
