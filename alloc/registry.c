/* registry.c - hak_super_lookup: address -> owning SuperSlab, a hash table.
 * The debug build validates every freelist node and every freed pointer with it; it is
 * deliberately independent of the region map and of the address-mask arithmetic the
 * release checks use, so a weakened release check cannot hide a bug from it.
 * Open addressing, insert-only (SuperSlabs are never unmapped while the heap lives). */

#define HAK_REG_SLOTS 65536u   /* 128 GiB of SuperSlabs */

static _Atomic(hak_superslab *) hak_registry[HAK_REG_SLOTS];

static inline uint32_t hak_reg_hash(uintptr_t base)
{
    uint64_t k = (uint64_t)(base >> HAKMEM_SS_SHIFT) * 0x9E3779B97F4A7C15ull;
    return (uint32_t)(k >> 48) & (HAK_REG_SLOTS - 1);
}

static void hak_registry_add(hak_superslab *ss)   /* under the heap lock */
{
    uint32_t i = hak_reg_hash((uintptr_t)ss);
    for (uint32_t n = 0; n < HAK_REG_SLOTS; n++, i = (i + 1) & (HAK_REG_SLOTS - 1)) {
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
    uintptr_t base = (uintptr_t)p & ~HAK_SS_MASK;
    uint32_t i = hak_reg_hash(base);
    for (uint32_t n = 0; n < HAK_REG_SLOTS; n++, i = (i + 1) & (HAK_REG_SLOTS - 1)) {
        hak_superslab *cur = atomic_load_explicit(&hak_registry[i], memory_order_acquire);
        if (!cur) return NULL;
        if ((uintptr_t)cur == base) return cur;
    }
    return NULL;
}
