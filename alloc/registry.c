/* registry.c - hak_super_lookup: address -> owning SuperSlab, a hash table.
 * The debug build validates every freelist node and every freed pointer with it; it is
 * deliberately independent of the region map and of the address-mask arithmetic the
 * release checks use, so a weakened release check cannot hide a bug from it.
 * Open addressing, insert-only (SuperSlabs are never unmapped while the heap lives). */
#include <sys/mman.h>

/* Twice as many slots as the arena has SuperSlabs (a power of two), mapped with the
 * arena: untouched pages cost nothing, and it can never fill up. */
static _Atomic(hak_superslab *) *hak_registry;
static size_t hak_reg_slots;

static int hak_registry_init(size_t nss)   /* under the heap lock, before any SuperSlab */
{
    size_t slots = 1024;
    while (slots < 2 * nss) slots <<= 1;
    void *m = mmap(NULL, slots * sizeof *hak_registry, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (m == MAP_FAILED) return 0;
    hak_reg_slots = slots;
    __atomic_store_n(&hak_registry, (_Atomic(hak_superslab *) *)m, __ATOMIC_RELEASE);
    return 1;
}

static inline size_t hak_reg_hash(uintptr_t base)
{
    uint64_t k = (uint64_t)(base >> HAKMEM_SS_SHIFT) * 0x9E3779B97F4A7C15ull;
    return (size_t)(k >> 32) & (hak_reg_slots - 1);
}

static void hak_registry_add(hak_superslab *ss)   /* under the heap lock */
{
    size_t i = hak_reg_hash(hak_ss_base(ss));
    for (size_t n = 0; n < hak_reg_slots; n++, i = (i + 1) & (hak_reg_slots - 1)) {
        hak_superslab *cur = atomic_load_explicit(&hak_registry[i], memory_order_relaxed);
        if (cur == ss) return;
        if (!cur) { atomic_store_explicit(&hak_registry[i], ss, memory_order_release); return; }
    }
    HAK_CHECK(!"registry full");
}

/* The SuperSlab whose 2 MiB range holds p, or NULL. Never reads memory at p. */
static hak_superslab *hak_super_lookup(const void *p)
{
    HAK_STAT_INC(registry_lookups);
    _Atomic(hak_superslab *) *reg = __atomic_load_n(&hak_registry, __ATOMIC_ACQUIRE);
    if (!reg) return NULL;
    uintptr_t base = (uintptr_t)p & ~HAK_SS_MASK;
    size_t i = hak_reg_hash(base);
    for (size_t n = 0; n < hak_reg_slots; n++, i = (i + 1) & (hak_reg_slots - 1)) {
        hak_superslab *cur = atomic_load_explicit(&reg[i], memory_order_acquire);
        if (!cur) return NULL;
        if (hak_ss_base(cur) == base) return cur;
    }
    return NULL;
}
