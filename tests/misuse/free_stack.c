/* free_stack.c - free a pointer to a stack buffer. */
//! expect: HAK_CORRUPT_INVALID_POINTER
#include "misuse.h"

int main(void)
{
    _Alignas(16) char buf[64];
    memset(buf, 0, sizeof buf);
    A(free)(misuse_launder(buf + 16));
    misuse_survived("free of a stack pointer");
}
