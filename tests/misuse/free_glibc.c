/* free_glibc.c - free a pointer that glibc's own malloc returned. With the prefixed
 * API glibc malloc is simply malloc; under LD_PRELOAD the libc names are hakmem's,
 * so glibc's allocator is reached through libc.so.6's own symbol table. */
//! expect: HAK_CORRUPT_INVALID_POINTER
#include <dlfcn.h>
#include "misuse.h"

int main(void)
{
    void *(*glibc_malloc)(size_t) = malloc;
#if MISUSE_MODE_PRELOAD
    void *libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
    MISUSE_REQUIRE(libc != NULL);
    *(void **)&glibc_malloc = dlsym(libc, "malloc");
    MISUSE_REQUIRE(glibc_malloc != NULL && glibc_malloc != malloc);
#endif
    void *p = misuse_launder(glibc_malloc(48));
    MISUSE_REQUIRE(p != NULL);
    A(free)(p);
    misuse_survived("free of a glibc heap pointer");
}
