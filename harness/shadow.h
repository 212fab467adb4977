/* shadow.h - the shadow model of one replay: what the user really did.
 *
 * Per slot: the block's address, requested and usable size, the fill pattern it was
 * given (a pure function of the fill byte, slot, generation and base address, so it can
 * be re-derived instead of stored), and whether an injected fault wrote into it
 * (tainted: contents no longer checked). Live blocks are also kept in an address-sorted
 * interval array: every pointer an allocator returns is checked against it for overlap.
 * A block that fails a check is never written by the harness.
 *
 * Speed matters: fills and checks touch the first HEAD and last TAIL bytes of a block
 * only, which is where an allocator writes (links at p[0..8), tags at p-1 and p+usable). */
#ifndef HAKMEM_HARNESS_SHADOW_H
#define HAKMEM_HARNESS_SHADOW_H

#include <stdint.h>
#include <stdio.h>

#include "oracle.h"

enum { SL_EMPTY, SL_LIVE, SL_FREED, SL_BAD };
#define HEAD 32u   /* bytes checked at the start of a block */
#define TAIL 16u   /* and at its end */
#define BIG_BLOCK 65536u  /* blocks above this (or over-aligned) may be unmapped when freed */

typedef struct hslot {
    uint8_t  state, tainted, fill, big, zero;
    uint8_t  alloc_thread, free_thread;
    uint16_t gen;
    uint8_t *p;          /* current block (or dangling pointer when FREED) */
    uint8_t *base;       /* address the fill pattern was derived from */
    size_t   size, usable, ext;  /* ext: bytes filled (size, or usable for usable-fills) */
    uint8_t *old;        /* the pointer a moving realloc freed */
    uint8_t  old_big;
    uint8_t  hdr_ok;     /* hdr holds the 16 bytes before p as they were when p was handed out */
    uint8_t  hdr[16];    /* (what an attacker with the block can read, and later write back) */
} hslot;

/* Blocks a hold/edge op keeps live, outside the slots, in op order; and the bytes they
 * cover, so a block handed out over a held one (wholly or in part) is seen without
 * sorting: one bit per 16-byte granule a held block covers, in a bitmap per 64 KiB of
 * addresses (blocks an allocator hands out one after another land in one bitmap: a hash
 * set of the addresses, its entries scattered over megabytes, was 9% of a fault stream's
 * time), found through a directory whose entries of older streams are stale by
 * generation. Held blocks are checked as a slot's are (16-aligned, in the heap, overlapping
 * nothing live) before they are held, so granules are exact for them. */
typedef struct hheld { uintptr_t a, b; } hheld;
typedef struct hhdir { uintptr_t chunk; uint32_t gen, map; } hhdir;   /* chunk: address >> HCHUNK_SHIFT */
#define HCHUNK_SHIFT 16
#define HCHUNK_WORDS ((1u << (HCHUNK_SHIFT - 4)) / 64)
typedef struct hhmap { uint64_t w[HCHUNK_WORDS]; } hhmap;

typedef struct hiv { uintptr_t a, b; int slot; } hiv;   /* live [a, b) */

typedef struct hctx {
    const hbackend *be;
    const hop *ops;
    int n, i;             /* stream and current op index */
    int batch_end;        /* exec_batch runs ops up to here */
    int cur;              /* current thread */
    unsigned used_threads;
    uint32_t seq;
    hslot slot[HOP_NSLOTS];
    hiv iv[HOP_NSLOTS + 4];
    int niv;
    hrun *out;
    FILE *trace;
    void *other;
    uint8_t *stack_fake;
    char note[160];       /* what the current op did, for the trace */
    int phase;            /* HP_* */
    uintptr_t slab_bytes, ss_bytes;   /* the heap's geometry (64 KiB and 2 MiB for the C library) */
    unsigned nfakes;      /* uaf_link global faults applied so far: the next one's window */
    /* from here on the fields outlive a stream (held_new_stream empties the set) */
    hheld *held;          /* HOP_HOLD_MAX entries, mapped at first use (held_ready) */
    unsigned nheld;
    hhdir *hdir;          /* 2 * HOP_HOLD_MAX directory slots (every held block may have a chunk of its own) */
    hhmap *hmap;          /* HOP_HOLD_MAX bitmaps; this stream uses the first nmap */
    uint32_t hgen;        /* this stream's generation in hdir */
    uint32_t nmap;
    uintptr_t hlast;      /* the chunk last looked up (this stream) and its bitmap */
    hhmap *hlast_map;
} hctx;


/* Fake blocks outside every heap (shadow.c). */
/* The global area: fakes for bad frees in its first 8 KiB, then HOP_FAKE_WINDOW-byte
 * windows for the fake free blocks of uaf_link global, one window per such fault of a
 * stream (the same in both heaps: two fakes never share one in one heap only). */
#define HOP_GLOBAL_AREA (8192 + 12 * HOP_FAKE_WINDOW)
#define HOP_FAKE_WINDOW 2176      /* a stride of up to 2048 bytes, then the fake's 64 */
#define HOP_STACK_AREA  (512 + 6 * HOP_FAKE_WINDOW)
extern uint8_t g_global_area[HOP_GLOBAL_AREA];
uint8_t *global_fake(int idx);
uint8_t *foreign_block(void);

/* Live intervals. */
int  iv_lower(const hctx *c, uintptr_t a);
int  iv_overlap(const hctx *c, uintptr_t a, uintptr_t b);   /* a live slot overlapping [a, b), or -1 */
void iv_insert(hctx *c, uintptr_t a, uintptr_t b, int slot);
void iv_remove(hctx *c, uintptr_t a);
void iv_taint(hctx *c, uintptr_t a, uintptr_t b);          /* a fault wrote [a, b) */
int  held_ready(hctx *c);                                   /* map the held arrays (once); 0 if out of memory */
void held_new_stream(hctx *c);                              /* the set is empty again */
int  held_room_for(const hctx *c, size_t len);              /* room to hold one more block of len bytes */
int  held_overlap_slow(const hctx *c, uintptr_t a, uintptr_t b);
void held_add_slow(hctx *c, uintptr_t a, uintptr_t b);

/* Both are called for every block a hold or edge op takes (thousands per stream): the
 * common case, a range within one bitmap word of the chunk last used, is inline. */
static inline uint64_t *held_word(const hctx *c, uintptr_t a, uintptr_t b, uint64_t *mask)
{
    uintptr_t g = a >> 4, ge = (b + 15) >> 4;
    if (b <= a || (g >> 6) != ((ge - 1) >> 6) || !c->hlast_map || c->hlast != g >> (HCHUNK_SHIFT - 4)) return NULL;
    *mask = (~0ull << (g & 63)) & (~0ull >> (63 - ((ge - 1) & 63)));
    return &c->hlast_map->w[(g & ((1u << (HCHUNK_SHIFT - 4)) - 1)) >> 6];
}
/* 1 if a held block covers a granule of [a, b) */
static inline int held_overlap(const hctx *c, uintptr_t a, uintptr_t b)
{
    uint64_t mask, *w;
    if (!c->nheld) return 0;
    if ((w = held_word(c, a, b, &mask))) return (*w & mask) != 0;
    return held_overlap_slow(c, a, b);
}
/* [a, b) is held (16-aligned a) */
static inline void held_add(hctx *c, uintptr_t a, uintptr_t b)
{
    uint64_t mask, *w;
    if ((w = held_word(c, a, b, &mask))) *w |= mask;
    else held_add_slow(c, a, b);
}
void held_forget(hctx *c, uintptr_t a, uintptr_t b);        /* [a, b) is no longer held */

/* Fill patterns. */
uint64_t pat_word(const hslot *s, int slotno, unsigned w);
uint8_t  pat_byte(const hslot *s, int slotno, size_t i, size_t ext);
void     pat_fill(const hslot *s, int slotno);
long     pat_check(const hslot *s, int slotno, const uint8_t *at, size_t limit);

#endif
