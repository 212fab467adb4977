/* os.c - memory from the kernel, and the region map.
 * The region map has one byte per 2 MiB region of the user address space saying
 * whether this heap owns it (HAK_REGION_*). It is the release build's O(1) answer to
 * "is this pointer ours?" before anything at that address is read; a static array in
 * .bss, so only the pages covering used address ranges ever become resident. */
#include <sys/mman.h>
#include <errno.h>

static _Atomic uint8_t hak_region_map[HAK_REGIONS];

hak_hot_inline unsigned hak_region_of(uintptr_t p)
{
    uintptr_t i = p >> HAKMEM_SS_SHIFT;
    if (hak_unlikely(i >= HAK_REGIONS)) return HAK_REGION_NONE;
    /* A plain byte read (x86: same as a relaxed load) lets it fold into the compare. */
    return ((const uint8_t *)hak_region_map)[i];
}

static void hak_region_set(uintptr_t base, size_t size, unsigned kind)
{
    for (uintptr_t a = base; a < base + size; a += HAK_SS_SIZE)
        atomic_store_explicit(&hak_region_map[a >> HAKMEM_SS_SHIFT], (uint8_t)kind, memory_order_release);
}

/* Map `size` bytes (a multiple of 2 MiB) aligned to `align` (a power of two >= 2 MiB).
 * Without MAP_NORESERVE: like glibc, an absurd request fails here (the kernel's
 * overcommit check) instead of succeeding and dying of OOM when touched. */
static void *hak_os_map_aligned(size_t size, size_t align)
{
    if (size > ((size_t)1 << HAKMEM_VA_BITS) || align > ((size_t)1 << (HAKMEM_VA_BITS - 2))) return NULL;
    size_t span = size + align;
    char *raw = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) return NULL;
    uintptr_t start = ((uintptr_t)raw + align - 1) & ~(uintptr_t)(align - 1);
    size_t head = start - (uintptr_t)raw, tail = span - head - size;
    if (head) munmap(raw, head);
    if (tail) munmap((char *)start + size, tail);
    if ((start + size) >> HAKMEM_VA_BITS) { munmap((void *)start, size); return NULL; }
    hak_san_unpoison((void *)start, size);   /* ASan keeps shadow across munmap: start clean */
    return (void *)start;
}

static void hak_os_unmap(void *p, size_t size) { munmap(p, size); }

/* Give the pages back but keep the mapping (reads as zero afterwards). */
static void hak_os_decommit(void *p, size_t size) { madvise(p, size, MADV_DONTNEED); }

/* Page-fault telemetry (counter builds): a getrusage per carve, so only when asked
 * for with HAKMEM_STATS=1 (read once). */
#if HAKMEM_DEBUG_COUNTERS
static int hak_telemetry = -1;
#endif
static size_t hak_os_minflt(void)
{
#if HAKMEM_DEBUG_COUNTERS
    if (hak_telemetry < 0) {
        const char *e = getenv("HAKMEM_STATS");
        hak_telemetry = e && *e == '1';
    }
    if (!hak_telemetry) return 0;
    struct rusage ru;
    getrusage(RUSAGE_THREAD, &ru);
    return (size_t)ru.ru_minflt;
#else
    return 0;
#endif
}
