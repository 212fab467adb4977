/* preload.c - the libc malloc names, for LD_PRELOAD=libhakmem.so. The allocator is
 * included whole so each libc entry point is the inlined fast path itself. */
#include "hakmem.c"

#define HAK_ALIAS(ret, name, params, args) \
    HAK_EXPORT ret name params { return HAK_API(name) args; }

HAK_EXPORT void *malloc(size_t size) { return hak_malloc_fast(size); }
HAK_EXPORT void free(void *p) { hak_free_fast(p); }
HAK_EXPORT void cfree(void *p) { hak_free_fast(p); }
HAK_ALIAS(void *, calloc, (size_t n, size_t size), (n, size))
HAK_ALIAS(void *, realloc, (void *p, size_t size), (p, size))
HAK_ALIAS(void *, reallocarray, (void *p, size_t n, size_t size), (p, n, size))
HAK_ALIAS(int, posix_memalign, (void **out, size_t align, size_t size), (out, align, size))
HAK_ALIAS(void *, aligned_alloc, (size_t align, size_t size), (align, size))
HAK_ALIAS(void *, memalign, (size_t align, size_t size), (align, size))
HAK_ALIAS(void *, valloc, (size_t size), (size))
HAK_ALIAS(void *, pvalloc, (size_t size), (size))
HAK_ALIAS(size_t, malloc_usable_size, (void *p), (p))
