/* os.c - memory from the kernel: the region map and the SuperSlab arena.
 * The region map has one byte per 2 MiB region of the user address space saying
 * whether this heap owns it (HAK_REGION_*): the slow paths' O(1) answer to "is this
 * pointer ours, and which tier?" before anything at that address is read (free's fast
 * path asks the arena's bounds instead, below). One anonymous mapping, so only the pages
 * covering used address ranges ever become resident. */
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <errno.h>
#include <unistd.h>

/* HAK_REGIONS bytes, mapped (not in .bss: LeakSanitizer would scan 64 MiB of globals
 * for pointers at every leak check of a fuzzing run) by hak_region_ready. */
static _Atomic(uint8_t *) hak_region_map;

hak_hot_inline unsigned hak_region_of(uintptr_t p)
{
    uintptr_t i = p >> HAKMEM_SS_SHIFT;
    const uint8_t *map = atomic_load_explicit(&hak_region_map, memory_order_acquire);
    if (hak_unlikely(i >= HAK_REGIONS || !map)) return HAK_REGION_NONE;
    /* A plain byte read (x86: same as a relaxed load) lets it fold into the compare. */
    return map[i];
}

/* The region map exists (mapped at the first call); 0 if it cannot be. Under hak_g.lock,
 * before the first hak_region_set. Untouched pages of it cost nothing. */
static int hak_region_ready(void)
{
    if (atomic_load_explicit(&hak_region_map, memory_order_relaxed)) return 1;
    void *m = mmap(NULL, HAK_REGIONS, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (m == MAP_FAILED) return 0;
    atomic_store_explicit(&hak_region_map, (uint8_t *)m, memory_order_release);
    return 1;
}

static void hak_region_set(uintptr_t base, size_t size, unsigned kind)   /* after hak_region_ready */
{
    _Atomic uint8_t *map = (_Atomic uint8_t *)atomic_load_explicit(&hak_region_map, memory_order_relaxed);
    for (uintptr_t a = base; a < base + size; a += HAK_SS_SIZE)
        atomic_store_explicit(&map[a >> HAKMEM_SS_SHIFT], (uint8_t)kind, memory_order_release);
}

/* munmap and madvise(DONTNEED), checked: 1 on success. Unmapping part of a mapping
 * splits it and fails with ENOMEM at vm.max_map_count; every caller keeps what it
 * could not give back as its own (still mapped, still tracked), so nothing leaks
 * unaccounted. Failures are counted (os_failures). */
static int hak_os_unmap(void *p, size_t size)
{
    if (munmap(p, size) == 0) return 1;
    HAK_STAT_INC(os_failures);
    return 0;
}
static int hak_os_decommit(void *p, size_t size)   /* the pages read as zero afterwards */
{
    if (madvise(p, size, MADV_DONTNEED) == 0) return 1;
    HAK_STAT_INC(os_failures);
    return 0;
}

/* Map `size` bytes (a multiple of 2 MiB) aligned to `align` (a power of two >= 2 MiB).
 * Without MAP_NORESERVE: like glibc, an absurd request fails here (the kernel's
 * overcommit check) instead of succeeding and dying of OOM when touched. */
static int hak_os_room(size_t size);

/* Of a fresh mapping [raw, raw + span), keep the `size` bytes from the first multiple of
 * `align` and give back the rest. Trimming splits the mapping, which fails at
 * vm.max_map_count: then the whole (unsplit, so that munmap cannot fail for want of a
 * map entry) goes back. NULL then, or when the kept part ends above the region map. */
static void *hak_os_keep_aligned(char *raw, size_t span, size_t size, size_t align)
{
    uintptr_t start = ((uintptr_t)raw + align - 1) & ~(uintptr_t)(align - 1);
    size_t head = start - (uintptr_t)raw, tail = span - head - size;
    if (head && !hak_os_unmap(raw, head)) { hak_os_unmap(raw, span); return NULL; }
    if (tail && !hak_os_unmap((char *)start + size, tail)) { hak_os_unmap((void *)start, size + tail); return NULL; }
    if ((start + size) >> HAKMEM_VA_BITS) { hak_os_unmap((void *)start, size); return NULL; }
    return (void *)start;
}

static void *hak_os_map_aligned(size_t size, size_t align)
{
    if (size > ((size_t)1 << HAKMEM_VA_BITS) || align > ((size_t)1 << (HAKMEM_VA_BITS - 2))) return NULL;
    if (!hak_os_room(size + align)) return NULL;
    size_t span = size + align;
    char *raw = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) return NULL;
    void *start = hak_os_keep_aligned(raw, span, size, align);
    if (start) hak_san_unpoison_fresh(start, size);   /* ASan keeps shadow across munmap: start clean */
    return start;
}


/* The SuperSlab arena: one address-space reservation (PROT_NONE, uncommitted) that
 * holds every SuperSlab of the heap, and beside it, in their own mappings (allocator
 * memory: no user block is adjacent to them), its slab table and its state table:
 * table[i] describes the slab at base + i * 32 KiB, state[g] is the block state
 * (header.h) of the 16 bytes at base + g * 16. The class map, one byte per slab (its
 * class, a copy of table[i].cls for free's fast path), lies HAK_CLASS_MAP_SIZE bytes
 * before the state table in the same mapping, so free reaches both from one base.
 * free() finds them with a subtract, a bounds check and shifts, and never reads memory
 * the heap does not own. The tables are zero pages until touched. SuperSlabs are committed one at a time (a fixed
 * read-write mapping: the kernel's overcommit check applies, so exhaustion is an
 * ENOMEM, not an OOM kill) and are never uncommitted (the pool keeps them). The fields
 * are written once, under hak_g.lock, before the first SuperSlab is published; nslabs
 * and ngran last, so a reader that sees 0 takes the slow path. */
static struct {
    uintptr_t base;         /* arena start, 2 MiB aligned */
    uintptr_t ngran;        /* 16-byte granules the arena spans (free's bound); 0 until reserved */
    uint8_t *state;         /* ngran block states, after the class map */
    uintptr_t state_bias;   /* (uintptr_t)state - base / 16: state of p = state_bias + p / 16 */
    uintptr_t nslabs;       /* slabs the arena spans; 0 until reserved */
    hak_slab *table;        /* nslabs descriptors */
    hak_superslab *ss;      /* nss SuperSlab headers (hak_ss_hdr, hak_ss_base) */
    uintptr_t nss, used;    /* SuperSlabs it holds, and slots used (or skipped) so far */
    int window;             /* not reserved (ulimit -v): commit with MAP_FIXED_NOREPLACE */
} hak_arena __attribute__((aligned(64)));   /* free's fields in a line of their own: no other variable (hak_g's lock, the large tier's state) written beside them */

static int hak_registry_init(uintptr_t base, size_t nss);

/* Under `ulimit -v` (the window arena): whether the heap may map `size` more bytes and
 * still leave 1/2^HAKMEM_VA_RESERVE_SHIFT of the limit to mappings that are not the
 * heap's (a thread's stack, a library). While any block of a large region or a
 * SuperSlab lives, the heap cannot give its address space back; glibc unmaps a freed
 * big chunk at once. Without the reserve a program that ran the heap into ENOMEM and
 * freed half its blocks could not create a thread: its stack's mapping failed. The
 * count is the kernel's (/proc/self/statm: what RLIMIT_AS limits); without a limit or
 * /proc, 1. Callers that get 0 give back what the heap keeps and retry, as after a
 * failed mmap. */
static int hak_os_room(size_t size)
{
    struct rlimit rl;
    if (!hak_arena.window || getrlimit(RLIMIT_AS, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return 1;
    int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 1;
    char buf[64];
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return 1;
    buf[n] = 0;
    size_t pages = 0;
    for (const char *c = buf; *c >= '0' && *c <= '9'; c++) pages = pages * 10 + (size_t)(*c - '0');
    size_t vm = pages * HAK_PAGE, reserve = (size_t)rl.rlim_cur >> HAKMEM_VA_RESERVE_SHIFT;
    return vm + size + reserve <= (size_t)rl.rlim_cur;
}

/* Reserve the arena: HAKMEM_ARENA_BITS of address space, shrunk until the kernel agrees
 * (Valgrind refuses very large mappings). Under `ulimit -v` a reservation would count
 * against the limit, so the arena is only a window there: the largest range the
 * address space left can take, found and let go again; SuperSlabs are then committed
 * with MAP_FIXED_NOREPLACE, and a slot something else has mapped meanwhile is skipped.
 * The arena bounds the tiny and mid heap; running out is an ENOMEM like any other.
 * Under hak_g.lock. */
/* The arena base's alignment for a reservation of `size` bytes: HAKMEM_ARENA_ALIGN_BITS,
 * but at most twice the size rounded up to a power of two (a reservation that had to
 * shrink takes its alignment down with it). A process's two heaps (the harness links a
 * release and a debug build) then have arena bases that agree in every bit below the
 * alignment: a fault that rewrites a pointer's low bytes leaves the same arena offset in
 * both, so both builds see the same (forged) block. Production keeps SuperSlab
 * alignment: an arena aligned to 2^40 would leave ASLR only a few bits. */
static size_t hak_arena_align(size_t size)
{
    size_t align = (size_t)1 << HAKMEM_ARENA_ALIGN_BITS, cap = HAK_SS_SIZE;
    while (cap < size) cap <<= 1;
    cap <<= 1;
    return align < cap ? align : cap;
}

static int hak_arena_reserve(void)
{
    size_t size = (size_t)1 << HAKMEM_ARENA_BITS;
    struct rlimit rl;
    int window = getrlimit(RLIMIT_AS, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY;
    if (window && rl.rlim_cur < size) size = rl.rlim_cur;
    for (size &= ~HAK_SS_MASK; size >= HAK_SS_SIZE; size = (size / 4 * 3) & ~HAK_SS_MASK) {
        size_t tsize = (size >> HAKMEM_SLAB_SHIFT) * sizeof(hak_slab), ssize = HAK_CLASS_MAP_SIZE + (size >> 4);
        size_t align = window ? HAK_SS_SIZE : hak_arena_align(size), span = size + align;
        char *raw = mmap(NULL, span, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (raw == MAP_FAILED) continue;
        uintptr_t base = ((uintptr_t)raw + align - 1) & ~(uintptr_t)(align - 1);
        if (window) {   /* keep the addresses, not the space */
            hak_os_unmap(raw, span);
            if ((base + size) >> HAKMEM_VA_BITS) continue;
        } else {        /* the reservation is the arena alone */
            if (!(raw = hak_os_keep_aligned(raw, span, size, align))) continue;
            span = size;
        }
        void *table = mmap(NULL, tsize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        void *state = table == MAP_FAILED ? MAP_FAILED
                    : mmap(NULL, ssize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        size_t hsize = (size >> HAKMEM_SS_SHIFT) * sizeof(hak_superslab);
        void *hdrs = state == MAP_FAILED ? MAP_FAILED
                   : mmap(NULL, hsize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (hdrs == MAP_FAILED || !hak_registry_init(base, size >> HAKMEM_SS_SHIFT)) {
            if (hdrs != MAP_FAILED) hak_os_unmap(hdrs, hsize);
            if (state != MAP_FAILED) hak_os_unmap(state, ssize);
            if (table != MAP_FAILED) hak_os_unmap(table, tsize);
            if (!window) hak_os_unmap(raw, span);
            continue;
        }
        hak_arena.base = base;
        hak_arena.table = table;
        hak_arena.ss = hdrs;
        hak_arena.state = (uint8_t *)state + HAK_CLASS_MAP_SIZE;
        hak_arena.state_bias = (uintptr_t)hak_arena.state - (base >> 4);
        hak_arena.nss = size >> HAKMEM_SS_SHIFT;
        hak_arena.window = window;
        __atomic_store_n(&hak_arena.nslabs, size >> HAKMEM_SLAB_SHIFT, __ATOMIC_RELEASE);
        __atomic_store_n(&hak_arena.ngran, size >> 4, __ATOMIC_RELEASE);
        return 1;
    }
    return 0;
}

/* The header of the SuperSlab at arena address base, and the way back. */
static inline hak_superslab *hak_ss_hdr(uintptr_t base) { return hak_arena.ss + ((base - hak_arena.base) >> HAKMEM_SS_SHIFT); }
static inline uintptr_t hak_ss_base(const hak_superslab *ss)
{
    return hak_arena.base + ((uintptr_t)(ss - hak_arena.ss) << HAKMEM_SS_SHIFT);
}

/* Commit the next SuperSlab of the arena (zeroed), NULL when out of memory; returns its
 * header (zero: a slot is used once). Under hak_g.lock. */
static hak_superslab *hak_arena_commit_ss(void)
{
    if (!hak_arena.nslabs && !hak_arena_reserve()) return NULL;
    void *got;
    if (!hak_os_room(HAK_SS_SIZE)) return NULL;
    for (;;) {
        if (hak_arena.used == hak_arena.nss) return NULL;
        void *want = (void *)(hak_arena.base + (hak_arena.used << HAKMEM_SS_SHIFT));
        int flags = MAP_PRIVATE | MAP_ANONYMOUS | (hak_arena.window ? MAP_FIXED_NOREPLACE : MAP_FIXED);
        got = mmap(want, HAK_SS_SIZE, PROT_READ | PROT_WRITE, flags, -1, 0);
        if (got == want) break;
        if (got != MAP_FAILED) hak_os_unmap(got, HAK_SS_SIZE);   /* a kernel that took the flag as a hint */
        else if (!hak_arena.window || errno != EEXIST) return NULL;
        hak_arena.used++;                                   /* someone else's mapping: skip the slot */
    }
    hak_arena.used++;
    hak_san_unpoison_fresh(got, HAK_SS_SIZE);
    return hak_ss_hdr((uintptr_t)got);
}

/* Bring back the slabs of a SuperSlab whose slabs were unmapped (hak_ss_release_os);
 * 0 if something else has mapped those addresses meanwhile. */
static int hak_arena_recommit_ss(hak_superslab *ss)
{
    char *want = (char *)hak_ss_base(ss) + HAK_PAGE;
    if (!hak_os_room(HAK_SS_SIZE - HAK_PAGE)) return 0;
    void *got = mmap(want, HAK_SS_SIZE - HAK_PAGE, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (got != want) {
        if (got != MAP_FAILED) hak_os_unmap(got, HAK_SS_SIZE - HAK_PAGE);   /* taken as a hint */
        return 0;
    }
    hak_san_unpoison_fresh(want, HAK_SS_SIZE - HAK_PAGE);
    hak_san_poison((char *)hak_ss_base(ss) + HAK_SLAB_SIZE, HAK_SS_SIZE - HAK_SLAB_SIZE);
    return 1;
}

/* The state table bytes of [p, p + size) of the arena (whole free slabs) go back with
 * the memory they describe: they read as zero (NONE) afterwards, as for fresh memory. */
static void hak_ref_decommit(uintptr_t p, size_t size);   /* registry.c: the debug record's states too */
static void hak_state_decommit(uintptr_t p, size_t size)
{
    (void)hak_os_decommit(hak_arena.state + ((p - hak_arena.base) >> 4), size >> 4);
    hak_ref_decommit(p, size);
}

/* An empty SuperSlab in the pool gives its memory back: under `ulimit -v` (the window
 * arena) its slabs are unmapped, so the address space goes back too; the header page
 * stays (the pool list, the registry and heap walks still read it). Otherwise the
 * pages are dropped and the mapping kept. Under hak_g.lock. */
static void hak_ss_release_os(hak_superslab *ss)
{
    char *mem = (char *)hak_ss_base(ss);
    hak_state_decommit((uintptr_t)mem, HAK_SS_SIZE);   /* whole state pages (slab 0 has none set) */
    if (hak_arena.window && hak_os_unmap(mem + HAK_PAGE, HAK_SS_SIZE - HAK_PAGE)) {
        ss->resident = -1;
        ss->touched = 0;
        return;
    }
    if (hak_os_decommit(mem + HAK_SLAB_SIZE, HAK_SS_SIZE - HAK_SLAB_SIZE)) {
        ss->touched = 0;
        ss->resident = 0;
    }
}

/* Page-fault telemetry (counter builds): a getrusage per carve, so only when asked
 * for with HAKMEM_STATS=1 (read once). */
#if HAKMEM_DEBUG_COUNTERS
static _Atomic int hak_telemetry = -1;   /* first carves of several threads may race to set it */
#endif
static size_t hak_os_minflt(void)
{
#if HAKMEM_DEBUG_COUNTERS
    int on = atomic_load_explicit(&hak_telemetry, memory_order_relaxed);
    if (on < 0) {
        const char *e = getenv("HAKMEM_STATS");
        on = e && *e == '1';
        atomic_store_explicit(&hak_telemetry, on, memory_order_relaxed);
    }
    if (!on) return 0;
    struct rusage ru;
    getrusage(RUSAGE_THREAD, &ru);
    return (size_t)ru.ru_minflt;
#else
    return 0;
#endif
}
