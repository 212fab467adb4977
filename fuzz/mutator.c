/* mutator.c - structure-aware mutation of op streams, for libFuzzer
 * (LLVMFuzzerCustomMutator, LLVMFuzzerCustomCrossOver) and AFL++ (afl_custom_init,
 * afl_custom_fuzz, afl_custom_deinit: build it as a shared object and name it in
 * AFL_CUSTOM_MUTATOR_LIBRARY; the dialect comes from HAKMEM_MUTATOR_TARGET).
 *
 * An input is decoded into ops (hop_decode, or hop_parse_text for a text input), edited
 * at the op level and re-encoded in the target's dialect (hop_encode), so the output is
 * always a binary stream of whole ops that decodes to exactly the ops written, never a
 * text input (which could fail to parse). Edits, one or a few per call:
 *   - insert a random op (decoded from random bytes: the dialect's op mix), delete a run
 *     of ops, swap two ops, move a run, duplicate a run;
 *   - re-draw one field of an op: the op alone is encoded, one of its field bytes
 *     (never the opcode byte) is redrawn, and it is decoded again, so this works for
 *     every opcode and field layout ops.c defines, present or future;
 *   - retarget: a fault (hop_base_class != 0) or any slot field is pointed at a slot
 *     that is live or freed at that point of the stream (a replay of slot states:
 *     allocation ops make a slot live, free makes it freed; ops this file does not
 *     know leave slots alone), or the size of one allocation copied to another;
 *   - layouts, many ops at once: "hold n blocks" of one size in slots that hold
 *     nothing live, "fill a slab" (every such slot, one size, then a flush), "free
 *     every other" live block (in allocation order), "grow a fill phase" (an existing
 *     allocation repeated into more slots), and an attack template: a layout, a
 *     fault aimed at one of its freed or live blocks, a flush, and allocations that
 *     pop the lists again, optionally from another thread;
 *   - probes, one per distinction a release check makes (see "probes" below): the
 *     stream (mostly without its own faults) plus a clean layout, one fault that differs
 *     from a good pointer in one property only, and the ops that make the allocator
 *     act on it: a freed block's link forged to a freed block at a chosen distance
 *     (itself, +1..15 bytes, +8, a granule or a stride or a few away, a block of
 *     another size class in another slab), on the local or the remote path, then
 *     pops; a bad free of a live block moved by a little, its data imitating the
 *     canary, then allocations that would hand out what it cached; realloc of a bad
 *     pointer with a size it must refuse anyway, or usable size of one;
 *   - a byte-level mutation by libFuzzer (LLVMFuzzerMutate) half of the time, so the
 *     dictionary and comparison feedback still reach the fields.
 * Streams longer than 48 ops lose a run of ops first, more often the longer they are
 * (replay time grows with the length; the layouts grow streams fast).
 * Cross-over splices two streams: a prefix of one and a suffix of the other, or a run
 * of one inserted into the other, with its slots renamed (shifted) half of the time.
 * Every output has at most HOP_MAX ops and fits the size limit (whole ops only). */
#include "ops.h"
#include "../alloc/header.h"   /* HAK_CANARY: the byte user data may imitate in a probe */

#include <stdlib.h>
#include <string.h>

/* The dialect of the fuzz target linked in (fuzz_<target>.c); absent in the AFL++
 * shared object, which reads HAKMEM_MUTATOR_TARGET instead. */
extern const int hakmem_fuzz_dialect __attribute__((weak));
/* libFuzzer's own byte-level mutation (absent outside libFuzzer). */
size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size) __attribute__((weak));

typedef struct hmut {
    uint64_t x;
    hop_dialect d;
} hmut;

static unsigned rnd(hmut *m, unsigned n)
{
    m->x ^= m->x << 13; m->x ^= m->x >> 7; m->x ^= m->x << 17;
    return n ? (unsigned)((m->x >> 11) % n) : 0;
}

static hop g_a[HOP_MAX], g_b[HOP_MAX];

/* ---- slot states ------------------------------------------------------------------ */

enum { MS_EMPTY, MS_LIVE, MS_FREED };

static int is_alloc(const hop *op)
{
    return op->code == HOP_ALLOC || op->code == HOP_CALLOC || op->code == HOP_ALIGNED || op->code == HOP_EDGE;
}

/* Slot states and allocation order just before op `upto`. */
static void slot_states(const hop *ops, int upto, uint8_t st[HOP_NSLOTS], int order[HOP_NSLOTS])
{
    memset(st, MS_EMPTY, HOP_NSLOTS);
    for (int s = 0; s < HOP_NSLOTS; s++) order[s] = -1;
    for (int i = 0; i < upto; i++) {
        const hop *op = &ops[i];
        if (is_alloc(op) || op->code == HOP_REALLOC) {
            if (op->code == HOP_REALLOC && op->size == 0 && st[op->s] == MS_LIVE) { st[op->s] = MS_FREED; continue; }
            st[op->s] = MS_LIVE;
            order[op->s] = i;
        } else if (op->code == HOP_FREE && st[op->s] == MS_LIVE) {
            st[op->s] = MS_FREED;
        }
    }
}

/* A slot in state `want` (a bit mask of 1 << MS_*) just before op i, or -1. */
static int pick_slot(hmut *m, const hop *ops, int i, unsigned want)
{
    uint8_t st[HOP_NSLOTS];
    int order[HOP_NSLOTS], cand[HOP_NSLOTS], n = 0;
    slot_states(ops, i, st, order);
    for (int s = 0; s < HOP_NSLOTS; s++) if (want & (1u << st[s])) cand[n++] = s;
    return n ? cand[rnd(m, (unsigned)n)] : -1;
}

/* ---- building ops ------------------------------------------------------------------- */

/* One random op of the dialect's mix; fault = 1: a fault op, 0: an ordinary op,
 * -1: either. */
static hop random_op(hmut *m, int fault)
{
    hop op;
    for (int tries = 0;; tries++) {
        uint8_t b[24];
        for (unsigned j = 0; j < sizeof b; j++) b[j] = (uint8_t)rnd(m, 256);
        hop_decode(m->d, b, sizeof b, &op, 1);
        if (fault < 0 || tries > 200 || (hop_base_class(&op) != 0) == fault) return op;
    }
}

/* The size of a layout's blocks: one some allocation of the stream uses, else one
 * drawn by the decoder; slab sizes only (at most 64 KiB: a layout of large blocks is
 * dozens of mappings per replay, and large blocks have no freelists to poison). */
static uint64_t some_size(hmut *m, const hop *ops, int n)
{
    int cand[HOP_MAX], k = 0;
    for (int i = 0; i < n; i++) if (ops[i].code == HOP_ALLOC && ops[i].size <= 65536) cand[k++] = i;
    if (k && rnd(m, 3)) return ops[cand[rnd(m, (unsigned)k)]].size;
    for (int tries = 0; tries < 1000; tries++) {
        hop op = random_op(m, 0);
        if (op.code == HOP_ALLOC && op.size <= 65536) return op.size;
    }
    return 32;
}

static int insert_ops(hop *ops, int n, int at, const hop *add, int k)
{
    if (n + k > HOP_MAX) k = HOP_MAX - n;
    if (k <= 0) return n;
    memmove(&ops[at + k], &ops[at], (size_t)(n - at) * sizeof *ops);
    memcpy(&ops[at], add, (size_t)k * sizeof *ops);
    return n + k;
}

static int delete_ops(hop *ops, int n, int at, int k)
{
    if (at + k > n) k = n - at;
    memmove(&ops[at], &ops[at + k], (size_t)(n - at - k) * sizeof *ops);
    return n - k;
}

/* Up to cnt slots with nothing live (empty first, then freed) in st, marked live. */
static int take_slots(hmut *m, uint8_t st[HOP_NSLOTS], int cnt, int *out)
{
    int k = 0;
    unsigned start = rnd(m, HOP_NSLOTS);
    for (int pass = 0; pass < 2 && k < cnt; pass++)
        for (unsigned j = 0; j < HOP_NSLOTS && k < cnt; j++) {
            unsigned s = (start + j) % HOP_NSLOTS;
            if (st[s] != (pass ? MS_FREED : MS_EMPTY)) continue;
            st[s] = MS_LIVE;
            out[k++] = (int)s;
        }
    return k;
}

/* "hold n blocks": n allocations of one size into slots with nothing live at `at`. */
static int layout_hold(hmut *m, hop *ops, int n, int at, int count, uint64_t size, int flush_after)
{
    uint8_t st[HOP_NSLOTS];
    int order[HOP_NSLOTS], v[HOP_NSLOTS];
    slot_states(ops, at, st, order);
    int k = take_slots(m, st, count, v);
    unsigned fill = rnd(m, 2) ? 0 : rnd(m, 256);
    hop add[HOP_NSLOTS + 1];
    for (int i = 0; i < k; i++) add[i] = (hop){ .code = HOP_ALLOC, .s = (uint8_t)v[i], .size = size, .fill = (uint8_t)fill };
    if (flush_after) add[k++] = (hop){ .code = HOP_FLUSH };
    return insert_ops(ops, n, at, add, k);
}

/* "free every other block": frees of every other slot live at `at`, in allocation order. */
static int layout_free_every_other(hmut *m, hop *ops, int n, int at)
{
    uint8_t st[HOP_NSLOTS];
    int order[HOP_NSLOTS], live[HOP_NSLOTS], k = 0;
    slot_states(ops, at, st, order);
    for (int s = 0; s < HOP_NSLOTS; s++) if (st[s] == MS_LIVE) live[k++] = s;
    for (int i = 1; i < k; i++)   /* insertion sort by allocation order */
        for (int j = i; j > 0 && order[live[j]] < order[live[j - 1]]; j--) { int t = live[j]; live[j] = live[j - 1]; live[j - 1] = t; }
    hop add[HOP_NSLOTS];
    int a = 0;
    for (int i = (int)rnd(m, 2); i < k; i += 2) add[a++] = (hop){ .code = HOP_FREE, .s = (uint8_t)live[i] };
    return insert_ops(ops, n, at, add, a);
}

/* Point op i's slot fields at slots live or freed just before it. */
static void retarget(hmut *m, hop *ops, int i)
{
    hop *op = &ops[i];
    unsigned want = rnd(m, 3) == 0 ? 1u << MS_LIVE : rnd(m, 2) ? 1u << MS_FREED : (1u << MS_LIVE) | (1u << MS_FREED);
    int s = pick_slot(m, ops, i, want);
    if (s < 0) s = pick_slot(m, ops, i, (1u << MS_LIVE) | (1u << MS_FREED));
    if (s < 0) return;
    if (rnd(m, 4) || op->t == 0) op->s = (uint8_t)s;
    else op->t = (uint8_t)s;
    if (rnd(m, 3) == 0) {
        int t = pick_slot(m, ops, i, (1u << MS_LIVE) | (1u << MS_FREED));
        if (t >= 0) op->t = (uint8_t)t;
    }
}

/* The attack template: hold, free every other, flush, a fault at a freed or live block
 * of the layout, flush, allocations that pop the lists, maybe on another thread. */
static int layout_attack(hmut *m, hop *ops, int n, int at)
{
    static hop t[HOP_MAX];
    int k = 0;
    uint64_t size = some_size(m, ops, n);
    memcpy(t, ops, (size_t)at * sizeof *ops);
    k = at;
    k = layout_hold(m, t, k, k, 4 + (int)rnd(m, rnd(m, 4) ? 16 : 60), size, 0);
    k = layout_free_every_other(m, t, k, k);
    if (rnd(m, 2)) t[k++] = (hop){ .code = HOP_FLUSH };
    int other = rnd(m, 3) == 0;
    if (other && k < HOP_MAX) t[k++] = (hop){ .code = HOP_THREAD, .a = (uint8_t)(1 + rnd(m, HOP_NTHREADS - 1)) };
    if (k < HOP_MAX) { t[k] = random_op(m, 1); retarget(m, t, k); k++; }
    if (other && k < HOP_MAX) t[k++] = (hop){ .code = HOP_THREAD, .a = 0 };
    if (rnd(m, 2) && k < HOP_MAX) t[k++] = (hop){ .code = HOP_FLUSH };
    k = layout_hold(m, t, k, k, 2 + (int)rnd(m, rnd(m, 4) ? 8 : 40), size, 0);
    int tail = n - at;
    if (k + tail > HOP_MAX) tail = HOP_MAX - k;
    if (tail > 0) memcpy(&t[k], &ops[at], (size_t)tail * sizeof *ops);
    k += tail > 0 ? tail : 0;
    memcpy(ops, t, (size_t)k * sizeof *ops);
    return k;
}

/* ---- probes: the distinctions the release checks make ------------------------------
 * Each release check separates a bad pointer from a good one by one property (docs/
 * checks.md): free by the block's state, its 16-byte alignment and block start, its
 * canary byte; a pop by the node's range (inside the carved slab), its stride (a block
 * start) and its state (FREE); a remote collect by the same on REMOTE nodes; realloc by
 * validating the pointer before any size error. A probe builds, in one edit, a short
 * clean layout and one fault that differs from a good pointer in exactly one such
 * property, then the ops that make the allocator act on it (the pops, the frees), so a
 * check that is missing shows as a divergence or an escape within a few ops. The base
 * stream loses its own faults most of the time: only the first detection of a stream is
 * judged against the other build, so an earlier fault would hide the probe's. */

/* Drop every fault op (ordinary ops and layouts stay). */
static int strip_faults(hop *ops, int n)
{
    int k = 0;
    for (int i = 0; i < n; i++) if (!hop_base_class(&ops[i])) ops[k++] = ops[i];
    return k;
}

/* A slab size for a probe: one the stream uses, a class or tier boundary (the edge
 * sizes up to 1024, where a stride is smallest or just changes), or a decoder draw. */
static uint64_t probe_size(hmut *m, const hop *ops, int n)
{
    if (rnd(m, 3) == 0) {
        for (int tries = 0; tries < 64; tries++) {
            uint64_t z = hop_edge_sizes[rnd(m, hop_nedge)];
            if (z <= 1024) return z;
        }
    }
    return some_size(m, ops, n);
}

/* Sizes the allocator must refuse whatever the pointer (beyond PTRDIFF_MAX; the huge
 * edge sizes): realloc's size error, which must not come before the pointer's check. */
static uint64_t refused_size(hmut *m)
{
    uint64_t c[16];
    unsigned k = 0;
    for (unsigned i = 0; i < hop_nedge && k < 16; i++) if (hop_edge_sizes[i] >= (1ull << 40)) c[k++] = hop_edge_sizes[i];
    return k ? c[rnd(m, k)] : ~0ull;
}

/* The byte offset of a forged link from its target block (uaf_link slot: int8): the
 * block start, inside its first 16 bytes (not a block start, yet the same state-table
 * byte), 8 (where a zero-filled block reads as a NULL link), or a granule or a few away. */
static uint8_t link_distance(hmut *m)
{
    switch (rnd(m, 5)) {
    case 0: return 0;
    case 1: case 2: return (uint8_t)(1 + rnd(m, 15));
    case 3: return 8;
    default: return (uint8_t)(int8_t)(16 * ((int)rnd(m, 9) - 4));
    }
}

/* A fill for a probe's block: user data that looks like the allocator's (kind 1: tag
 * and canary bytes; kind 3: zeros, so a word read as a link is NULL), else any. */
static uint8_t probe_fill(hmut *m)
{
    switch (rnd(m, 4)) {
    case 0: return (uint8_t)(0x20 | rnd(m, 32));
    case 1: return (uint8_t)(0x60 | rnd(m, 32));
    default: return (uint8_t)rnd(m, 256);
    }
}

#define PUSH(...) do { hop push_ = { __VA_ARGS__ }; if (k < HOP_MAX) t[k++] = push_; } while (0)

/* A forged freelist link at a chosen distance: blocks of size A (and maybe of a second
 * size B, another class: another slab), all freed and flushed onto their slabs' lists,
 * then one A block's link pointed at a freed block (itself, another A block, a B block)
 * plus an offset: 0, inside the first 16 bytes (not a block start, same state byte),
 * 16 bytes on, a stride or a few away; then A allocations that pop through the list,
 * sometimes on another thread's list instead (the remote path). */
static int probe_link(hmut *m, hop *t, int k)
{
    uint8_t st[HOP_NSLOTS];
    int order[HOP_NSLOTS], va[16], vb[4], pops[HOP_NSLOTS];
    slot_states(t, k, st, order);
    uint64_t za = probe_size(m, t, k), zb = probe_size(m, t, k);
    for (int tries = 0; tries < 8 && zb == za; tries++) zb = probe_size(m, t, k);
    if (za > zb && rnd(m, 4)) { uint64_t x = za; za = zb; zb = x; }   /* the victim on the finer grid */
    int na = take_slots(m, st, 2 + (int)rnd(m, 11), va);
    int nb = rnd(m, 3) ? take_slots(m, st, 1 + (int)rnd(m, 4), vb) : 0;
    /* with blocks of another class, the victim on the finest grid half of the time:
     * the smallest class's 16-byte stride, on whose grid every block start of another
     * slab lies (only the range tells such a node from a good one) */
    if (nb && rnd(m, 2) == 0) za = 1 + rnd(m, 15);
    if (na < 2) return k;
    /* remote: the A blocks belong to thread th and are freed by thread 0 (onto their
     * slab's remote list); th pops them, collecting the list first */
    int remote = rnd(m, 4) == 0;
    unsigned th = 1 + rnd(m, HOP_NTHREADS - 1);
    uint8_t fa = probe_fill(m), fb = probe_fill(m);
    for (int i = 0; i < nb; i++) PUSH(.code = HOP_ALLOC, .s = (uint8_t)vb[i], .size = zb, .fill = fb);
    if (remote) PUSH(.code = HOP_THREAD, .a = (uint8_t)th);
    for (int i = 0; i < na; i++) PUSH(.code = HOP_ALLOC, .s = (uint8_t)va[i], .size = za, .fill = rnd(m, 4) ? fa : probe_fill(m));
    if (remote) PUSH(.code = HOP_THREAD, .a = 0);
    /* freed in some order: the list order decides which node the forged one meets */
    for (int i = na - 1; i > 0; i--) { int j = (int)rnd(m, (unsigned)i + 1), x = va[i]; va[i] = va[j]; va[j] = x; }
    for (int i = 0; i < nb; i++) PUSH(.code = HOP_FREE, .s = (uint8_t)vb[i]);
    for (int i = 0; i < na; i++) PUSH(.code = HOP_FREE, .s = (uint8_t)va[i]);
    PUSH(.code = HOP_FLUSH);
    hop f = { .code = HOP_UAF_LINK, .s = (uint8_t)va[rnd(m, (unsigned)na)], .k = HOP_LINK_SLOT };
    unsigned pick = rnd(m, 8);
    if (pick == 0) {
        f.k = HOP_LINK_SELF;   /* a cycle */
    } else if (pick == 1) {
        f.k = HOP_LINK_STRIDE;
        f.t = (uint8_t)va[rnd(m, (unsigned)na)];
        f.a = (uint8_t)(int8_t)((int)rnd(m, 9) - 4);
    } else {
        int other = nb && rnd(m, 4);
        f.t = (uint8_t)(other ? vb[rnd(m, (unsigned)nb)] : va[rnd(m, (unsigned)na)]);
        f.a = other && rnd(m, 8) >= 5 ? 0 : link_distance(m);   /* 0: another slab's block start */
    }
    if (k < HOP_MAX) t[k++] = f;
    if (remote) PUSH(.code = HOP_THREAD, .a = (uint8_t)th);
    /* pops: more A allocations than the list holds, into slots other than the victims */
    int np = take_slots(m, st, na + 2 + (int)rnd(m, 14), pops);
    for (int i = 0; i < np; i++) PUSH(.code = HOP_ALLOC, .s = (uint8_t)pops[i], .size = za, .fill = (uint8_t)rnd(m, 256));
    if (remote) PUSH(.code = HOP_THREAD, .a = 0);
    return k;
}

/* A bad free (or realloc, usable size) of a live block's pointer moved by a little:
 * into its first 16 bytes, a granule or more in, before it, past the carved blocks;
 * the block's contents chosen among the fills that look like metadata (so the byte
 * before the bad pointer may read as a canary), then allocations of the same size
 * that would hand out whatever the bad free cached; sometimes from another thread. */
static int probe_bad_free(hmut *m, hop *t, int k)
{
    uint8_t st[HOP_NSLOTS];
    int order[HOP_NSLOTS], v[4], pops[16];
    slot_states(t, k, st, order);
    uint64_t z = rnd(m, 4) ? probe_size(m, t, k) : some_size(m, t, k);
    int nv = take_slots(m, st, 1 + (int)rnd(m, 3), v);
    if (!nv) return k;
    /* Half of the time the data imitates the canary: fill kind 1 writes the tag bytes
     * 0xA0|seed, 0x60|seed, 0xC0|seed, 0xE5 (harness/shadow.c), so the seed that makes
     * 0xA5 puts canary-valued bytes at offsets 0, 4 and 7 of the block. */
    uint8_t canary_fill = (uint8_t)(0x20 | (rnd(m, 2) << 4) | (HAK_CANARY & 15));
    for (int i = 0; i < nv; i++)
        PUSH(.code = HOP_ALLOC, .s = (uint8_t)v[i], .size = z, .fill = rnd(m, 2) ? canary_fill : probe_fill(m));
    static const uint8_t kinds[] = { HOP_BAD_MISALIGNED, HOP_BAD_MISALIGNED, HOP_BAD_MISALIGNED, HOP_BAD_INTERIOR, HOP_BAD_HEADER,
                                     HOP_BAD_UNCARVED, HOP_BAD_FREED };
    hop f = { .code = HOP_FREE_BAD, .s = (uint8_t)v[rnd(m, (unsigned)nv)], .k = kinds[rnd(m, sizeof kinds)],
              .a = (uint8_t)rnd(m, 256) };
    if (f.k == HOP_BAD_FREED) PUSH(.code = HOP_FREE, .s = f.s);
    unsigned th = rnd(m, 3) == 0 ? 1 + rnd(m, HOP_NTHREADS - 1) : 0;
    if (th) PUSH(.code = HOP_THREAD, .a = (uint8_t)th);
    if (k < HOP_MAX) t[k++] = f;
    if (th && rnd(m, 2)) PUSH(.code = HOP_FLUSH);
    if (th) PUSH(.code = HOP_THREAD, .a = 0);
    int np = take_slots(m, st, 1 + (int)rnd(m, 10), pops);
    for (int i = 0; i < np; i++) PUSH(.code = HOP_ALLOC, .s = (uint8_t)pops[i], .size = z, .fill = (uint8_t)rnd(m, 256));
    return k;
}

/* realloc of a bad pointer (freed, moved, wild, ...) with a size it must refuse anyway,
 * or malloc_usable_size of one: the pointer must be judged first. */
static int probe_bad_arg(hmut *m, hop *t, int k)
{
    uint8_t st[HOP_NSLOTS];
    int order[HOP_NSLOTS], v;
    slot_states(t, k, st, order);
    if (!take_slots(m, st, 1, &v)) return k;
    PUSH(.code = HOP_ALLOC, .s = (uint8_t)v, .size = rnd(m, 2) ? probe_size(m, t, k) : some_size(m, t, k),
         .fill = (uint8_t)rnd(m, 256));
    hop f = { .code = rnd(m, 4) ? HOP_REALLOC_BAD : HOP_USABLE_BAD, .s = (uint8_t)v, .k = (uint8_t)rnd(m, HOP_BAD_N),
              .a = (uint8_t)rnd(m, 256) };
    if (rnd(m, 2)) f.k = HOP_BAD_FREED;
    if (f.k == HOP_BAD_FREED) PUSH(.code = HOP_FREE, .s = (uint8_t)v);
    if (f.code == HOP_REALLOC_BAD) f.size = rnd(m, 4) ? refused_size(m) : probe_size(m, t, k);
    if (k < HOP_MAX) t[k++] = f;
    return k;
}
#undef PUSH

/* One probe: the stream (without its faults, most of the time) cut at a point (its end,
 * half of the time), the probe, then the rest of the stream. */
static int layout_probe(hmut *m, hop *ops, int n)
{
    static hop t[HOP_MAX];
    if (rnd(m, 4)) n = strip_faults(ops, n);
    if (n > 64) n = delete_ops(ops, n, 64, n - 64);   /* room for the probe, and a short replay */
    int at = rnd(m, 2) ? n : (int)rnd(m, (unsigned)n + 1), k;
    memcpy(t, ops, (size_t)at * sizeof *ops);
    switch (rnd(m, 8)) {
    case 0: case 1: case 2: case 3: case 4: k = probe_link(m, t, at); break;
    case 5: case 6: k = probe_bad_free(m, t, at); break;
    default: k = probe_bad_arg(m, t, at); break;
    }
    int tail = n - at;
    if (k + tail > HOP_MAX) tail = HOP_MAX - k;
    if (tail > 0) { memcpy(&t[k], &ops[at], (size_t)tail * sizeof *ops); k += tail; }
    memcpy(ops, t, (size_t)k * sizeof *ops);
    return k;
}

/* Re-draw one field byte of op i (any layout): encode it alone, change a byte after
 * the opcode, decode. */
static void redraw_field(hmut *m, hop *ops, int i)
{
    uint8_t b[64];
    long len = hop_encode(m->d, &ops[i], 1, b, sizeof b);
    if (len <= 1) return;
    unsigned j = 1 + rnd(m, (unsigned)len - 1);
    switch (rnd(m, 4)) {
    case 0: b[j] = (uint8_t)rnd(m, 256); break;
    case 1: b[j] ^= (uint8_t)(1u << rnd(m, 8)); break;
    case 2: b[j] = (uint8_t)(b[j] + 1 + rnd(m, 4)); break;
    default: b[j] = (uint8_t)(b[j] - 1 - rnd(m, 4)); break;
    }
    hop op;
    if (hop_decode(m->d, b, (size_t)len, &op, 1) == 1) ops[i] = op;
}

/* ---- one mutation ------------------------------------------------------------------ */

static int mutate_ops(hmut *m, hop *ops, int n)
{
    int at = n ? (int)rnd(m, (unsigned)n + 1) : 0;
    switch (rnd(m, 20)) {
    case 16: case 17: case 18: case 19:   /* a probe of one check's distinction */
        n = layout_probe(m, ops, n);
        break;
    case 0: case 1: {   /* insert a random op (a fault half of the time), retargeted */
        hop op = random_op(m, rnd(m, 2) ? 1 : -1);
        n = insert_ops(ops, n, at, &op, 1);
        if (at < n && rnd(m, 2)) retarget(m, ops, at);
        break;
    }
    case 2:   /* delete a run */
        if (n) { at = (int)rnd(m, (unsigned)n); n = delete_ops(ops, n, at, 1 + (int)rnd(m, rnd(m, 4) ? 2 : 16)); }
        break;
    case 3:   /* swap two ops */
        if (n > 1) { int j = (int)rnd(m, (unsigned)n); at = (int)rnd(m, (unsigned)n); hop t = ops[at]; ops[at] = ops[j]; ops[j] = t; }
        break;
    case 4: {   /* move or duplicate a run */
        if (n < 2) break;
        static hop run[HOP_MAX];
        int a = (int)rnd(m, (unsigned)n), k = 1 + (int)rnd(m, 8);
        if (a + k > n) k = n - a;
        memcpy(run, &ops[a], (size_t)k * sizeof *ops);
        if (rnd(m, 2)) n = delete_ops(ops, n, a, k);
        n = insert_ops(ops, n, (int)rnd(m, (unsigned)n + 1), run, k);
        break;
    }
    case 5: case 6: case 7:   /* re-draw a field */
        if (n) redraw_field(m, ops, (int)rnd(m, (unsigned)n));
        break;
    case 8: case 9: {   /* retarget a fault (or any op) at a live or freed slot */
        if (!n) break;
        int cand[HOP_MAX], k = 0;
        for (int i = 0; i < n; i++) if (hop_base_class(&ops[i])) cand[k++] = i;
        int i = k && rnd(m, 4) ? cand[rnd(m, (unsigned)k)] : (int)rnd(m, (unsigned)n);
        retarget(m, ops, i);
        /* a forged link's target moved to a chosen distance from its block */
        if (ops[i].code == HOP_UAF_LINK && ops[i].k == HOP_LINK_SLOT && rnd(m, 2)) ops[i].a = link_distance(m);
        break;
    }
    case 10: {   /* one allocation gets another's size (same class, same slab) */
        int cand[HOP_MAX], k = 0;
        for (int i = 0; i < n; i++) if (ops[i].code == HOP_ALLOC || ops[i].code == HOP_REALLOC) cand[k++] = i;
        if (k > 1) ops[cand[rnd(m, (unsigned)k)]].size = ops[cand[rnd(m, (unsigned)k)]].size;
        break;
    }
    case 11:   /* hold n blocks */
        n = layout_hold(m, ops, n, at, 1 + (int)rnd(m, rnd(m, 2) ? 16 : 64), some_size(m, ops, n), rnd(m, 2));
        break;
    case 12:   /* fill a slab: every slot without a live block, one size, then a flush */
        n = layout_hold(m, ops, n, at, HOP_NSLOTS, some_size(m, ops, n), 1);
        break;
    case 13:   /* free every other block */
        n = layout_free_every_other(m, ops, n, at);
        break;
    case 14: {   /* grow a fill phase: repeat an allocation into more slots */
        int cand[HOP_MAX], k = 0;
        for (int i = 0; i < n; i++) if (ops[i].code == HOP_ALLOC && ops[i].size <= 65536) cand[k++] = i;
        if (!k) break;
        int i = cand[rnd(m, (unsigned)k)];
        n = layout_hold(m, ops, n, i + 1, 1 + (int)rnd(m, 32), ops[i].size, 0);
        break;
    }
    default:   /* the attack template */
        n = layout_attack(m, ops, n, at);
        break;
    }
    return n;
}

/* Encode whole ops while they fit in max bytes; returns the length. Never starts with
 * the text magic (a binary stream must not be read as text). */
static size_t encode_fit(hop_dialect d, const hop *ops, int n, uint8_t *out, size_t max)
{
    size_t o = 0;
    for (int i = 0; i < n; i++) {
        /* through the decoder once: fields an edit set that the op does not use (a
         * second slot of a link kind without one, say) are dropped */
        uint8_t tmp[64];
        hop c;
        long l = hop_encode(d, &ops[i], 1, tmp, sizeof tmp);
        if (l < 0) continue;   /* not representable: skipped */
        hop_decode(d, tmp, (size_t)l, &c, 1);
        l = hop_encode(d, &c, 1, out + o, max - o);
        if (l < 0) break;      /* the rest does not fit */
        o += (size_t)l;
    }
    if (hop_is_text(out, o)) {   /* drop the first op */
        hop first;
        uint8_t tmp[64];
        hop_decode(d, out, o, &first, 1);
        long l = hop_encode(d, &first, 1, tmp, sizeof tmp);
        if (l > 0 && (size_t)l <= o) { memmove(out, out + l, o - (size_t)l); o -= (size_t)l; }
        else o = 0;
    }
    return o;
}

static int decode_any(hop_dialect d, const uint8_t *data, size_t size, hop *ops)
{
    if (hop_is_text(data, size)) {
        char err[200];
        int n = hop_parse_text((const char *)data, size, ops, HOP_MAX, err, sizeof err);
        if (n >= 0) return n;
    }
    return hop_decode(d, data, size, ops, HOP_MAX);
}

static hop_dialect target_dialect(void)
{
    if (&hakmem_fuzz_dialect) return (hop_dialect)hakmem_fuzz_dialect;
    const char *t = getenv("HAKMEM_MUTATOR_TARGET");
    int d = t ? hop_dialect_from_name(t) : -1;
    return d >= 0 ? (hop_dialect)d : HOP_DIALECT_OPS;
}

/* Byte-level fallback outside libFuzzer: a few random bytes changed. */
static size_t byte_mutate(hmut *m, uint8_t *data, size_t size, size_t max)
{
    if (LLVMFuzzerMutate) return LLVMFuzzerMutate(data, size, max);
    if (!size) return 0;
    for (unsigned k = 1 + rnd(m, 4); k; k--) data[rnd(m, (unsigned)size)] = (uint8_t)rnd(m, 256);
    return size;
}

size_t hakmem_mutate(uint8_t *data, size_t size, size_t max, unsigned seed, hop_dialect d);
size_t hakmem_mutate(uint8_t *data, size_t size, size_t max, unsigned seed, hop_dialect d)
{
    hmut m = { .x = 0x9E3779B97F4A7C15ull ^ ((uint64_t)seed << 1 | 1), .d = d };
    rnd(&m, 1);
    if (rnd(&m, 2) == 0) {   /* byte-level half of the time, then re-encoded whole */
        size = byte_mutate(&m, data, size, max);
        int n = decode_any(d, data, size, g_a);
        return encode_fit(d, g_a, n, data, max);
    }
    int n = decode_any(d, data, size, g_a);
    /* length pressure: long streams cost replay time, so beyond 48 ops a run is
     * deleted first, more often the longer the stream */
    if (n > 48 && (int)rnd(&m, HOP_MAX) < 2 * n) n = delete_ops(g_a, n, (int)rnd(&m, (unsigned)n), 1 + (int)rnd(&m, (unsigned)n / 4));
    for (unsigned k = 1 + (rnd(&m, 3) ? 0 : rnd(&m, 4)); k; k--) n = mutate_ops(&m, g_a, n);
    return encode_fit(d, g_a, n, data, max);
}

size_t hakmem_crossover(const uint8_t *d1, size_t s1, const uint8_t *d2, size_t s2, uint8_t *out, size_t max,
                        unsigned seed, hop_dialect d);
size_t hakmem_crossover(const uint8_t *d1, size_t s1, const uint8_t *d2, size_t s2, uint8_t *out, size_t max,
                        unsigned seed, hop_dialect d)
{
    hmut m = { .x = 0xD1B54A32D192ED03ull ^ ((uint64_t)seed << 1 | 1), .d = d };
    rnd(&m, 1);
    int na = decode_any(d, d1, s1, g_a), nb = decode_any(d, d2, s2, g_b);
    if (rnd(&m, 2)) {   /* rename B's slots */
        unsigned shift = 1 + rnd(&m, HOP_NSLOTS - 1);
        for (int i = 0; i < nb; i++) {
            g_b[i].s = (uint8_t)((g_b[i].s + shift) % HOP_NSLOTS);
            g_b[i].t = (uint8_t)((g_b[i].t + shift) % HOP_NSLOTS);
        }
        /* fields an op does not use must stay zero: re-encode and decode B */
        static uint8_t buf[HOP_MAX * 24];
        long l = hop_encode(d, g_b, nb, buf, sizeof buf);
        if (l >= 0) nb = hop_decode(d, buf, (size_t)l, g_b, HOP_MAX);
    }
    int i = (int)rnd(&m, (unsigned)na + 1), j = (int)rnd(&m, (unsigned)nb + 1), n;
    if (rnd(&m, 2)) {   /* A[0, i) + B[j, nb) */
        int k = nb - j;
        if (i + k > HOP_MAX) k = HOP_MAX - i;
        memcpy(&g_a[i], &g_b[j], (size_t)k * sizeof *g_a);
        n = i + k;
    } else {            /* B[j, j+k) inserted into A at i */
        int k = 1 + (int)rnd(&m, (unsigned)(nb - j > 0 ? nb - j : 1));
        if (j + k > nb) k = nb - j;
        n = insert_ops(g_a, na, i, &g_b[j], k > 0 ? k : 0);
    }
    return encode_fit(d, g_a, n, out, max);
}

/* ---- libFuzzer ---------------------------------------------------------------------- */

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed)
{
    return hakmem_mutate(data, size, max_size, seed, target_dialect());
}

size_t LLVMFuzzerCustomCrossOver(const uint8_t *data1, size_t size1, const uint8_t *data2, size_t size2,
                                 uint8_t *out, size_t max_out_size, unsigned int seed);
size_t LLVMFuzzerCustomCrossOver(const uint8_t *data1, size_t size1, const uint8_t *data2, size_t size2,
                                 uint8_t *out, size_t max_out_size, unsigned int seed)
{
    return hakmem_crossover(data1, size1, data2, size2, out, max_out_size, seed, target_dialect());
}

/* ---- AFL++ (custom mutator API) ------------------------------------------------------ */

typedef struct hmut_afl {
    unsigned seed;
    hop_dialect d;
    uint8_t *buf;
    size_t cap;
} hmut_afl;

void *afl_custom_init(void *afl, unsigned int seed);
void *afl_custom_init(void *afl, unsigned int seed)
{
    (void)afl;
    hmut_afl *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->seed = seed;
    s->d = target_dialect();
    return s;
}

size_t afl_custom_fuzz(void *data, uint8_t *buf, size_t buf_size, uint8_t **out_buf, uint8_t *add_buf,
                       size_t add_buf_size, size_t max_size);
size_t afl_custom_fuzz(void *data, uint8_t *buf, size_t buf_size, uint8_t **out_buf, uint8_t *add_buf,
                       size_t add_buf_size, size_t max_size)
{
    hmut_afl *s = data;
    if (s->cap < max_size) {
        uint8_t *nb = realloc(s->buf, max_size);
        if (!nb) { *out_buf = buf; return buf_size; }
        s->buf = nb;
        s->cap = max_size;
    }
    unsigned seed = s->seed = s->seed * 1103515245u + 12345u;
    size_t n;
    if (add_buf && add_buf_size && (seed >> 16) % 4 == 0) {
        n = hakmem_crossover(buf, buf_size, add_buf, add_buf_size, s->buf, max_size, seed, s->d);
    } else {
        n = buf_size < max_size ? buf_size : max_size;
        memcpy(s->buf, buf, n);
        n = hakmem_mutate(s->buf, n, max_size, seed, s->d);
    }
    *out_buf = s->buf;
    return n;
}

void afl_custom_deinit(void *data);
void afl_custom_deinit(void *data)
{
    hmut_afl *s = data;
    if (s) free(s->buf);
    free(s);
}
