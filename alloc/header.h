/* header.h - the one file that owns a block's state values, its canary byte and its
 * freelist link.
 *
 * Block state lives out of band, in the arena's state table (one byte per 16 bytes of
 * the arena, os.c; accessors in slab.c), where no user pointer reaches: a block start's
 * byte says what the allocator did with the block last, and only the allocator writes it.
 *   NONE    0x00  not a carved block start (interior granules, uncarved memory)
 *   FREE    0x01  on its slab's local freelist
 *   REMOTE  0x02  on its slab's remote list (pushed by another thread)
 *   CACHED  0x03  in a thread cache, or taken by a refill
 *   ALLOC   0x80 | hint  handed out; the low 7 bits are the allocating thread's hint
 *           (hak_thread.st_alloc): a free whose hint matches its own goes the fast way
 * free requires ALLOC, a pop FREE, a remote collect REMOTE (docs/checks.md).
 *
 * In band, the byte at p-1 (p = user pointer) is a canary, written once when the block
 * is carved: free and malloc_usable_size require it intact (an overflow of the block
 * before, or an underflow of this one, changes it). It decides nothing else: forging it
 * only hides an overflow that reached nothing the allocator trusts. Usable size stays
 * stride - 1, so a one-byte overflow reaches the next block's canary.
 * While a block is FREE or REMOTE, p[0..8) holds the link: the next block's user
 * pointer, or NULL. It is checked (range, block start, state) before it is followed.
 * The large tier has its own 64-byte header (large.c) whose last byte is HAK_TAG_LARGE. */
#ifndef HAKMEM_HEADER_H
#define HAKMEM_HEADER_H

#include <stdint.h>
#include "sanitize.h"

#define HAK_ST_NONE     0x00u
#define HAK_ST_FREE     0x01u
#define HAK_ST_REMOTE   0x02u
#define HAK_ST_CACHED   0x03u
#define HAK_ST_UNREADY  0x7Fu   /* never stored: st_alloc of a thread not laid out yet */
#define HAK_ST_ALLOC    0x80u   /* bit 7; bits 6..0 the allocating thread's hint */
#define HAK_ST_HINT     0x7Fu

#define HAK_CANARY      0xA5u   /* the byte before every tiny and mid block */
#define HAK_TAG_LARGE   0xE5u   /* the byte before every large block (large.c) */

static inline int hak_st_alloc(unsigned st) { return (st & HAK_ST_ALLOC) != 0; }

/* Canaries and links live in memory ASan may have poisoned: these are the allocator's
 * only accessors to them. */
static inline HAK_NO_ASAN uint8_t hak_canary_load(const void *p)
{
    hak_vg_open((uint8_t *)p - 1, 1);       /* Valgrind: canaries are no-access to the user */
    uint8_t t = *((const uint8_t *)p - 1);
    hak_vg_close((uint8_t *)p - 1, 1);
    return t;
}
static inline HAK_NO_ASAN void hak_canary_store(void *p)
{
    hak_vg_open((uint8_t *)p - 1, 1);
    *((uint8_t *)p - 1) = HAK_CANARY;
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
