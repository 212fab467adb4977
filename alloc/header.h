/* header.h - the one file that owns the block tag byte and the freelist link.
 *
 * Every tiny and mid block has a tag byte at p-1 (p = user pointer):
 *   bits 7..5  state family: ALLOC 101, CACHED 110, FREE 011 (pairwise Hamming distance 2,
 *              so a single flipped bit never turns one valid state into another)
 *   bits 4..0  class index within the tier (tiny 0..19, mid 0..27)
 * The tag lies outside every block's usable range (usable = stride - 1), so a user
 * overflow of one byte already reaches the next block's tag.
 * While a block is FREE (on a slab freelist, local or remote) p[0..8) holds the link:
 * the next free block's user pointer, or NULL. CACHED blocks have no link.
 * The large tier has its own 64-byte header (large.c) whose last byte is HAK_TAG_LARGE. */
#ifndef HAKMEM_HEADER_H
#define HAKMEM_HEADER_H

#include <stdint.h>
#include "sanitize.h"

#define HAK_TAG_ALLOC   0xA0u
#define HAK_TAG_CACHED  0xC0u
#define HAK_TAG_FREE    0x60u
#define HAK_TAG_FAMILY  0xE0u
#define HAK_TAG_CLASS   0x1Fu
#define HAK_TAG_LARGE   0xE5u

static inline uint8_t hak_tag_make(unsigned family, unsigned tier_class)
{
    return (uint8_t)(family | (tier_class & HAK_TAG_CLASS));
}

/* Tags and links live in memory ASan may have poisoned: these are the allocator's
 * only accessors to them. */
static inline HAK_NO_ASAN uint8_t hak_tag_load(const void *p)
{
    hak_vg_open((uint8_t *)p - 1, 1);       /* Valgrind: tags are no-access to the user */
    uint8_t t = *((const uint8_t *)p - 1);
    hak_vg_close((uint8_t *)p - 1, 1);
    return t;
}
static inline HAK_NO_ASAN void hak_tag_store(void *p, uint8_t tag)
{
    hak_vg_open((uint8_t *)p - 1, 1);
    *((uint8_t *)p - 1) = tag;
    hak_vg_close((uint8_t *)p - 1, 1);
}
static inline HAK_NO_ASAN void *hak_link_load(void *p)
{
    hak_vg_open(p, sizeof(void *));
    void *next = *(void *volatile *)p;
    hak_vg_close(p, sizeof(void *));
    return next;
}
static inline HAK_NO_ASAN void hak_link_store(void *p, void *next)
{
    hak_vg_open(p, sizeof(void *));
    *(void *volatile *)p = next;
    hak_vg_close(p, sizeof(void *));
}

#endif
