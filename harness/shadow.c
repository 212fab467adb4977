/* shadow.c - the shadow model's fake blocks, live intervals and fill patterns (shadow.h). */
#include "shadow.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* Fake blocks outside every heap: a global area and a C-library block, each with room
 * for a forged header before the block (a 64-byte large header fits). */
_Alignas(64) uint8_t g_global_area[HOP_GLOBAL_AREA];
static uint8_t *g_foreign;
extern void *__libc_malloc(size_t);

uint8_t *global_fake(int idx) { return g_global_area + 1024 + 128 * (idx & 15); }

uint8_t *foreign_block(void)
{
    if (!g_foreign) {
        /* The C library's own allocator even when a sanitizer or an LD_PRELOAD replaces
         * malloc; kept forever, never handed back. */
        uint8_t *b = __libc_malloc(256);
        if (!b) abort();
        g_foreign = (uint8_t *)(((uintptr_t)b + 64 + 15) & ~(uintptr_t)15);
    }
    return g_foreign;
}

int iv_lower(const hctx *c, uintptr_t a)   /* first interval with b > a */
{
    int lo = 0, hi = c->niv;
    while (lo < hi) {
        int m = (lo + hi) / 2;
        if (c->iv[m].b > a) hi = m; else lo = m + 1;
    }
    return lo;
}

/* A live slot overlapping [a, b), or -1. */
int iv_overlap(const hctx *c, uintptr_t a, uintptr_t b)
{
    int i = iv_lower(c, a);
    return i < c->niv && c->iv[i].a < b ? c->iv[i].slot : -1;
}

void iv_insert(hctx *c, uintptr_t a, uintptr_t b, int slot)
{
    int i = iv_lower(c, a);
    memmove(&c->iv[i + 1], &c->iv[i], (size_t)(c->niv - i) * sizeof c->iv[0]);
    c->iv[i] = (hiv){ a, b, slot };
    c->niv++;
}

void iv_remove(hctx *c, uintptr_t a)
{
    int i = iv_lower(c, a);
    if (i < c->niv && c->iv[i].a == a) {
        memmove(&c->iv[i], &c->iv[i + 1], (size_t)(c->niv - i - 1) * sizeof c->iv[0]);
        c->niv--;
    }
}

/* A fault wrote [a, b): live blocks there no longer have known contents. */
void iv_taint(hctx *c, uintptr_t a, uintptr_t b)
{
    for (int i = iv_lower(c, a); i < c->niv && c->iv[i].a < b; i++) c->slot[c->iv[i].slot].tainted = 1;
}



static inline uint64_t mix64(uint64_t x)
{
    x ^= x >> 31; x *= 0x7fb5d329728ea185ull;
    x ^= x >> 27; x *= 0x81dadef4bc2dd44dull;
    return x ^ (x >> 33);
}

/* Word w of a block's pattern. Kinds (fill >> 5) include user data that looks like the
 * allocator's own: tags of every family, pointers into the block, to the next block,
 * into the SuperSlab. A correct allocator must not react to any of it. */
uint64_t pat_word(const hslot *s, int slotno, unsigned w)
{
    unsigned kind = s->fill >> 5, seed = s->fill & 15;
    uint64_t p = (uintptr_t)s->base;
    switch (kind) {
    case 0: return mix64(((uint64_t)slotno << 40) ^ ((uint64_t)s->gen << 20) ^ seed ^ w);
    case 1: {   /* tag bytes of all families */
        uint64_t t = 0xA0 | seed, f = 0x60 | seed, k = 0xC0 | seed;
        uint64_t v = t | f << 8 | k << 16 | 0xE5ull << 24 | t << 32 | f << 40 | k << 48 | t << 56;
        unsigned rot = 8 * (w & 7);
        return rot ? v << rot | v >> (64 - rot) : v;
    }
    case 2: return p + 16 * (w + 1);                                  /* into the block */
    case 3: return 0;
    case 4: return (p & ~(uint64_t)0x1FFFFF) + 0x10000 + 16 * (seed + w);  /* into the SuperSlab */
    case 5: return ~(uint64_t)0 - w;
    case 6: return p + s->usable + 1 + 16 * w;                        /* to the next blocks */
    default: return (uint64_t)(0x60 | seed) << 56 | ((p + 16 * w) & 0x00FFFFFFFFFFFFFFull);
    }
}

/* Byte i of the pattern, for the positions pat_fill writes. */
uint8_t pat_byte(const hslot *s, int slotno, size_t i, size_t ext)
{
    if (ext > HEAD + TAIL && i >= HEAD) {
        size_t j = i - (ext - TAIL);   /* tail: words 64, 65 */
        return (uint8_t)(pat_word(s, slotno, 64 + (unsigned)(j / 8)) >> (8 * (j % 8)));
    }
    return (uint8_t)(pat_word(s, slotno, (unsigned)(i / 8)) >> (8 * (i % 8)));
}

void pat_fill(const hslot *s, int slotno)
{
    uint8_t *p = s->p;
    size_t ext = s->ext;
    if (ext > HEAD + TAIL) {
        for (unsigned w = 0; w < HEAD / 8; w++) { uint64_t v = pat_word(s, slotno, w); memcpy(p + 8 * w, &v, 8); }
        for (unsigned w = 0; w < TAIL / 8; w++) { uint64_t v = pat_word(s, slotno, 64 + w); memcpy(p + ext - TAIL + 8 * w, &v, 8); }
    } else {
        size_t w;
        for (w = 0; 8 * w + 8 <= ext; w++) { uint64_t v = pat_word(s, slotno, (unsigned)w); memcpy(p + 8 * w, &v, 8); }
        for (size_t i = 8 * w; i < ext; i++) p[i] = pat_byte(s, slotno, i, ext);
    }
}

/* Compare `at` (a block) with the pattern of s at the filled positions below limit.
 * Returns the first differing offset or -1. */
long pat_check(const hslot *s, int slotno, const uint8_t *at, size_t limit)
{
    size_t ext = s->ext;
    if (ext > HEAD + TAIL) {
        for (unsigned w = 0; w < HEAD / 8; w++) {
            uint64_t v = pat_word(s, slotno, w);
            if (8 * w + 8 <= limit) { if (memcmp(at + 8 * w, &v, 8)) return 8 * w; }
            else for (size_t i = 8 * w; i < limit && i < 8 * w + 8; i++) if (at[i] != pat_byte(s, slotno, i, ext)) return (long)i;
        }
        for (size_t i = ext - TAIL; i < ext && i < limit; i++) if (at[i] != pat_byte(s, slotno, i, ext)) return (long)i;
    } else {
        size_t w, lim = ext < limit ? ext : limit;
        for (w = 0; 8 * w + 8 <= lim; w++) { uint64_t v = pat_word(s, slotno, (unsigned)w); if (memcmp(at + 8 * w, &v, 8)) return (long)(8 * w); }
        for (size_t i = 8 * w; i < lim; i++) if (at[i] != pat_byte(s, slotno, i, ext)) return (long)i;
    }
    return -1;
}


/* ---- held blocks -------------------------------------------------------------------- */

#define HDIR_SLOTS (2u * HOP_HOLD_MAX)   /* at most half full: every held block may start a chunk */

static void *map_zero(size_t len)
{
    void *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    return m == MAP_FAILED ? NULL : m;
}

int held_ready(hctx *c)
{
    if (c->held) return 1;
    hheld *h = map_zero(HOP_HOLD_MAX * sizeof *c->held);
    hhdir *d = map_zero(HDIR_SLOTS * sizeof *c->hdir);
    hhmap *m = map_zero(HOP_HOLD_MAX * sizeof *c->hmap);
    if (!h || !d || !m) {
        if (h) munmap(h, HOP_HOLD_MAX * sizeof *c->held);
        if (d) munmap(d, HDIR_SLOTS * sizeof *c->hdir);
        if (m) munmap(m, HOP_HOLD_MAX * sizeof *c->hmap);
        return 0;
    }
    c->held = h;
    c->hdir = d;
    c->hmap = m;
    return 1;
}

void held_new_stream(hctx *c)
{
    c->nheld = 0;
    c->hgen++;   /* every directory entry of earlier streams is stale */
    c->nmap = 0;
    c->hlast_map = NULL;
}

static unsigned hdir_hash(uintptr_t chunk) { return (unsigned)((chunk * 0x9E3779B97F4A7C15ull) >> 40) & (HDIR_SLOTS - 1); }

/* The directory slot of chunk `chunk` in this stream, or the free slot where it would
 * go (gen != hgen), or NULL if the directory is full. */
static hhdir *hdir_slot(const hctx *c, uintptr_t chunk)
{
    if (!c->hdir) return NULL;
    for (unsigned i = hdir_hash(chunk), n = 0; n < HDIR_SLOTS; n++, i = (i + 1) & (HDIR_SLOTS - 1)) {
        hhdir *e = &c->hdir[i];
        if (e->gen != c->hgen || e->chunk == chunk) return e;
    }
    return NULL;
}

/* The bitmap of chunk `chunk` in this stream, or NULL. */
static const hhmap *held_map(const hctx *c, uintptr_t chunk)
{
    if (c->hlast_map && c->hlast == chunk) return c->hlast_map;
    const hhdir *e = hdir_slot(c, chunk);
    return e && e->gen == c->hgen ? &c->hmap[e->map] : NULL;
}

/* The same, made (empty) if it is not there yet; the last one is remembered. */
static hhmap *held_map_make(hctx *c, uintptr_t chunk)
{
    if (c->hlast_map && c->hlast == chunk) return c->hlast_map;
    hhdir *e = hdir_slot(c, chunk);
    if (!e) return NULL;
    if (e->gen != c->hgen) {
        if (c->nmap >= HOP_HOLD_MAX) return NULL;
        memset(&c->hmap[c->nmap], 0, sizeof c->hmap[0]);
        *e = (hhdir){ chunk, c->hgen, c->nmap++ };
    }
    c->hlast = chunk;
    return c->hlast_map = &c->hmap[e->map];
}

/* Granules [i, e) of one chunk's bitmap (0 <= i < e <= its granules): op 0 tests
 * whether any is set, 1 sets them, 2 clears them. Held blocks are 16-aligned (a block
 * that is not is harm and never held), so granules are exact for them: a block ending at
 * or before another's start never shares a granule with it. */
enum { HG_TEST, HG_SET, HG_CLEAR };
static int granules(hhmap *m, unsigned i, unsigned e, int op)
{
    unsigned w = i >> 6, we = (e - 1) >> 6;
    uint64_t lo = ~0ull << (i & 63), hi = ~0ull >> (63 - ((e - 1) & 63));
    for (; w <= we; w++) {
        uint64_t mask = (w == i >> 6 ? lo : ~0ull) & (w == we ? hi : ~0ull);
        if (op == HG_TEST) { if (m->w[w] & mask) return 1; }
        else if (op == HG_SET) m->w[w] |= mask;
        else m->w[w] &= ~mask;
    }
    return 0;
}

/* op over the granules of [a, b), chunk by chunk (b > a); a chunk with no bitmap has
 * nothing held (HG_SET makes one: room was checked, held_room_for). */
static int held_range(hctx *c, uintptr_t a, uintptr_t b, int op)
{
    const unsigned per = 1u << (HCHUNK_SHIFT - 4);   /* granules per chunk */
    uintptr_t g = a >> 4, ge = (b + 15) >> 4;
    while (g < ge) {
        uintptr_t chunk = g >> (HCHUNK_SHIFT - 4);
        unsigned i = (unsigned)(g & (per - 1));
        unsigned e = ge - g < per - i ? i + (unsigned)(ge - g) : per;
        hhmap *m = op == HG_SET ? held_map_make(c, chunk) : (hhmap *)held_map(c, chunk);
        if (m && granules(m, i, e, op)) return 1;
        g += e - i;
    }
    return 0;
}

int held_overlap_slow(const hctx *c, uintptr_t a, uintptr_t b)
{
    if (!c->nheld || b <= a) return 0;
    /* A range over more chunks than this stream has bitmaps (a huge block): the held
     * blocks themselves, one by one, are fewer than its chunks. */
    if (((b - 1) >> HCHUNK_SHIFT) - (a >> HCHUNK_SHIFT) >= c->nmap) {
        for (unsigned k = 0; k < c->nheld; k++) if (c->held[k].a < b && a < c->held[k].b) return 1;
        return 0;
    }
    return held_range((hctx *)c, a, b, HG_TEST);   /* (a test writes nothing) */
}

int held_room_for(const hctx *c, size_t len)
{
    /* a block of len bytes has bitmaps in at most len / 64 KiB + 2 chunks */
    return c->nheld < HOP_HOLD_MAX && c->nmap + len / (1u << HCHUNK_SHIFT) + 2 <= HOP_HOLD_MAX;
}

void held_add_slow(hctx *c, uintptr_t a, uintptr_t b) { if (b > a) held_range(c, a, b, HG_SET); }

void held_forget(hctx *c, uintptr_t a, uintptr_t b) { if (b > a) held_range(c, a, b, HG_CLEAR); }
