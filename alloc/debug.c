/* debug.c - the debug build's registry validation (HAKMEM_BUILD_RELEASE == 0).
 * Every freelist node a refill will take, every remote list collected, and every
 * pointer freed is checked through hak_super_lookup() with plain division, an
 * implementation independent of the release build's mask/multiply checks. In release
 * builds these functions are never called (their call sites are `if (!RELEASE)`), but
 * they still compile, so they cannot rot. */

/* Full validation of one node against the slab head it is supposed to belong to;
 * `state` is what the list's nodes are (FREE local, REMOTE remote). */
static int hak_debug_node_ok(hak_superslab *ss, hak_slab *head, void *p, unsigned state)
{
    hak_superslab *owner = hak_super_lookup(p);
    if (owner != ss || owner->magic != HAK_SS_MAGIC) return 0;
    uintptr_t a = (uintptr_t)p;
    unsigned idx = (unsigned)((a - hak_ss_base(owner)) >> HAKMEM_SLAB_SHIFT);
    if (idx == 0 || idx >= HAK_SLABS_PER_SS || hak_ss_slab(owner, idx)->head != hak_slab_index(ss, head)) return 0;
    if (a < head->first) return 0;
    uintptr_t off = a - head->first;
    if (off >= (uintptr_t)atomic_load_explicit(&head->count, memory_order_relaxed) * head->stride || off % head->stride != 0) return 0;
    return hak_state_load(p) == state;
}

/* Validate up to n nodes of the list at *listp; cut it before the first bad node. */
static void hak_debug_validate_list(hak_superslab *ss, hak_slab *head, void **listp, unsigned n,
                                    hak_corruption_kind kind)
{
    void **linkp = listp, *prev = NULL;
    void *p = *linkp;
    unsigned state = kind == HAK_CORRUPT_BAD_REMOTE_LINK ? HAK_ST_REMOTE : HAK_ST_FREE;
    for (unsigned i = 0; p && i < n; i++) {
        if (!hak_debug_node_ok(ss, head, p, state)) {
            if (prev) hak_link_store(prev, NULL); else *listp = NULL;
            hak_report(kind, p);
            return;
        }
        prev = p;
        p = hak_link_load(p);
    }
}

/* 1 if p may be freed; otherwise the problem is reported and 0 returned.
 * Pointers outside every SuperSlab are left to the large tier's own validation. */
static int hak_debug_validate_free(void *p, int for_free)
{
    hak_superslab *ss = hak_super_lookup(p);
    if (!ss) return 1;
    uintptr_t a = (uintptr_t)p;
    unsigned idx = (unsigned)((a - hak_ss_base(ss)) >> HAKMEM_SLAB_SHIFT);
    hak_slab *head = hak_ss_slab(ss, hak_ss_slab(ss, idx)->head);
    if (idx == 0 || head->cls == HAK_CLASS_NONE || a < head->first
        || (a - head->first) >= (uintptr_t)atomic_load_explicit(&head->count, memory_order_relaxed) * head->stride
        || (a - head->first) % head->stride != 0) {
        hak_report(HAK_CORRUPT_INVALID_POINTER, p);
        return 0;
    }
    unsigned st = hak_state_load(p);
    if (!hak_st_alloc(st)) {
        hak_report(st != HAK_ST_NONE ? (for_free ? HAK_CORRUPT_DOUBLE_FREE : HAK_CORRUPT_USE_AFTER_FREE)
                                     : HAK_CORRUPT_INVALID_POINTER, p);
        return 0;
    }
    if (hak_canary_load(p) == HAK_CANARY) return 1;
    hak_report(HAK_CORRUPT_BAD_HEADER, p);
    return 0;
}
