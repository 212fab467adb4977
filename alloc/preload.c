/* preload.c - the libc malloc names, for LD_PRELOAD=libhakmem.so. The allocator is
 * included whole so each libc entry point is the inlined fast path itself. Besides the
 * allocation calls, glibc's whole malloc surface answers from this heap: mallinfo,
 * mallinfo2, malloc_trim, malloc_stats, malloc_info, mallopt (alloc/stats.c), and the
 * C23 free_sized / free_aligned_sized. */
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
HAK_ALIAS(int, malloc_trim, (size_t pad), (pad))
HAK_ALIAS(int, mallopt, (int param, int value), (param, value))
HAK_ALIAS(int, malloc_info, (int options, FILE *fp), (options, fp))
HAK_EXPORT void malloc_stats(void) { HAK_API(malloc_stats)(); }

/* C23 (glibc 2.36's headers do not declare them yet). */
void free_sized(void *p, size_t size);
void free_aligned_sized(void *p, size_t align, size_t size);
HAK_EXPORT void free_sized(void *p, size_t size) { HAK_API(free_sized)(p, size); }
HAK_EXPORT void free_aligned_sized(void *p, size_t align, size_t size) { HAK_API(free_aligned_sized)(p, align, size); }

/* glibc's fields, from this heap: the arena is the SuperSlab heap (tiny and mid
 * blocks: in use = live blocks' strides, free = the rest of it), the mmapped regions
 * are the live large blocks, keepcost what malloc_trim would give back. No fastbins. */
HAK_EXPORT struct mallinfo2 mallinfo2(void)
{
    hak_heap_stats s;
    HAK_API(get_heap_stats)(&s);
    struct mallinfo2 m = { 0 };
    m.arena = s.small_mapped;
    m.ordblks = s.small_free_blocks;
    m.hblks = s.large_live;
    m.hblkhd = s.large_live_bytes;
    m.uordblks = s.small_live;
    m.fordblks = s.small_mapped - s.small_live;
    m.keepcost = s.releasable;
    return m;
}

/* The int fields of the old call: clamped (glibc truncates). */
HAK_EXPORT struct mallinfo mallinfo(void)
{
    struct mallinfo2 m2 = mallinfo2();
#define HAK_CLAMP(v) ((v) > INT_MAX ? INT_MAX : (int)(v))
    struct mallinfo m = {
        .arena = HAK_CLAMP(m2.arena), .ordblks = HAK_CLAMP(m2.ordblks), .smblks = HAK_CLAMP(m2.smblks),
        .hblks = HAK_CLAMP(m2.hblks), .hblkhd = HAK_CLAMP(m2.hblkhd), .usmblks = HAK_CLAMP(m2.usmblks),
        .fsmblks = HAK_CLAMP(m2.fsmblks), .uordblks = HAK_CLAMP(m2.uordblks),
        .fordblks = HAK_CLAMP(m2.fordblks), .keepcost = HAK_CLAMP(m2.keepcost),
    };
#undef HAK_CLAMP
    return m;
}
