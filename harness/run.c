/* run.c - the replay of one op stream against one allocator build, with the shadow
 * model (shadow.h) checking every block the allocator hands out. Ops run in batches on
 * the harness threads (workers.h); faults are written through fault_write.h only. */
#include "shadow.h"
#include "fault_write.h"
#include "workers.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define NOTE(...) do { if (c->trace) snprintf(c->note, sizeof c->note, __VA_ARGS__); } while (0)

extern hctx *volatile g_live;       /* crash.c */
void crash_context_init(void);

/* ---- events ------------------------------------------------------------------------- */

/* The fault an address is about: the latest applied fault whose subject holds it
 * (by_subject = 1), else the latest fault applied at or before the current op, else -1. */
static int attribute_ptr(const hctx *c, uintptr_t p, int *by_subject)
{
    const hrun *r = c->out;
    for (int k = r->nf - 1; k >= 0; k--)
        for (int j = 0; j < r->f[k].nsub; j++)
            if (p >= r->f[k].sub[j].lo && p < r->f[k].sub[j].hi) { *by_subject = 1; return r->f[k].op; }
    *by_subject = 0;
    int lim = c->i < c->n ? c->i : c->n - 1;
    if (lim >= HOP_MAX) lim = HOP_MAX - 1;
    for (int i = lim; i >= 0; i--) if (r->fclass[i]) return i;
    return -1;
}

static hevent make_event(hctx *c, int kind, int slot, int other, const void *p)
{
    hevent e = { .op = c->phase == HP_DRAIN ? c->n + 1 : c->i, .seq = ++c->seq, .kind = kind, .slot = slot,
                 .other = other, .phase = c->phase, .fault = -1, .ptr = (uintptr_t)p };
    e.fault = attribute_ptr(c, (uintptr_t)p, &e.by_subject);
    return e;
}

static void on_report(hak_corruption_kind kind, const void *ptr, void *arg)
{
    hctx *c = arg;
    hrun *r = c->out;
    hevent e = make_event(c, (int)kind, -1, -1, ptr);
    if (c->phase != HP_PROBE) {   /* a probe's report: no program would have seen it */
        /* (only a report about it by subject says a fault was reported: one about it
         * only by order may be about an earlier fault, or none) */
        if (e.by_subject && e.fault >= 0 && e.fault < HOP_MAX) r->freported[e.fault] = 1;
        r->nreal++;
    }
    if (r->nreports < HR_MAXEV) r->rep[r->nreports] = e;
    r->nreports++;
    if (c->trace) fprintf(c->trace, "[%s]        REPORT %s ptr=%p (op %d%s; about fault op %d%s)\n", c->be->name,
                          hak_corruption_name(kind), ptr, e.op, c->phase == HP_DRAIN ? ", drain" : c->phase == HP_PROBE ? ", the harness's probe" : "", e.fault,
                          e.by_subject ? "" : ", by order");
}

/* Reports outside a replay (setting up the other heap's block) are counted only. */
static unsigned long g_stray_reports;
void on_stray_report(hak_corruption_kind kind, const void *ptr, void *arg)
{
    (void)kind; (void)ptr; (void)arg;
    g_stray_reports++;
}

static void harm(hctx *c, int kind, int slot, int other, const void *p)
{
    hrun *r = c->out;
    hevent e = make_event(c, kind, slot, other, p);
    e.reported = e.fault < 0 || !e.by_subject ? r->nreal > 0 : e.fault < HOP_MAX && r->freported[e.fault];
    if (r->nharms < HR_MAXEV) r->harm[r->nharms] = e;
    r->nharms++;
    if (c->trace) {
        fprintf(c->trace, "[%s]        HARM %s slot %d ptr=%p", c->be->name, oracle_harm_name(kind), slot, p);
        if (other >= 0) fprintf(c->trace, " (overlaps slot %d at %p)", other, (void *)c->slot[other].p);
        fprintf(c->trace, " (about fault op %d%s)\n", e.fault, e.by_subject ? "" : ", by order");
    }
}

static void fault_applied(hctx *c, int cls)
{
    hrun *r = c->out;
    if (!r->nfaults || c->i < r->first_fault) r->first_fault = c->i;
    r->nfaults++;
    if (c->i < HOP_MAX) r->fclass[c->i] = (uint8_t)cls;
    if (r->nf < HR_MAXF) r->f[r->nf++] = (hfault){ .op = c->i, .cls = (uint8_t)cls };
}

/* What the fault just applied is about: [lo, hi) of this heap. */
static void fault_subject(hctx *c, uintptr_t lo, uintptr_t hi)
{
    hrun *r = c->out;
    if (!r->nf || r->f[r->nf - 1].op != c->i) return;
    hfault *f = &r->f[r->nf - 1];
    if (f->nsub < HR_NSUBJ) f->sub[f->nsub++] = (hsubj){ lo, hi > lo ? hi : lo + 1 };
}

/* A write of [a, b) is about every block whose tag, link or (large) header it reached:
 * user pointers in [a - 7, b + 64]; and about a whole slab or SuperSlab whose start it
 * crossed (its metadata). */
static void fault_subject_write(hctx *c, uintptr_t a, uintptr_t b)
{
    fault_subject(c, a > 7 ? a - 7 : 0, b + 65);
    uintptr_t ss = (b - 1) & ~(c->ss_bytes - 1), slab = (b - 1) & ~(c->slab_bytes - 1);
    if (ss >= a && ss > 0) fault_subject(c, ss, ss + c->ss_bytes);
    else if (slab >= a && slab > 0) fault_subject(c, slab, slab + c->slab_bytes);
}

/* A fault that would not change memory here is not applied (it is counted as skipped):
 * what a build's own bytes hold differs between heaps (tags of large headers depend on
 * the address), so the same op must mean the same effect. */
static void fault_noop(hctx *c)
{
    hrun *r = c->out;
    if (c->i < HOP_MAX) r->noop[c->i] = 1;
    if (r->skip) r->nasym++;   /* the release run changed memory with it */
    else r->nskipped++;
    NOTE("no-op: memory already holds these bytes");
}

/* Write src[0..len) at dst as the current op's fault (class cls), if it changes memory.
 * Returns 1 if applied. */
static int fault_write(hctx *c, uint8_t *dst, const uint8_t *src, size_t len, int cls)
{
    uint8_t old[64];
    if (len > sizeof old) len = sizeof old;
    fw_copy(old, dst, len);
    if (!memcmp(old, src, len)) { fault_noop(c); return 0; }
    fault_applied(c, cls);
    fw_copy(dst, src, len);
    fault_subject_write(c, (uintptr_t)dst, (uintptr_t)dst + len);
    iv_taint(c, (uintptr_t)dst, (uintptr_t)dst + len);
    return 1;
}

/* ---- block bookkeeping -------------------------------------------------------------- */

static int is_pow2(uint64_t x) { return x && !(x & (x - 1)); }

/* A live block (a slot's or a held one) overlapping [a, b): its slot, HELD_BLOCK for a
 * held one, or -1. */
#define HELD_BLOCK (-2)
static int live_at(const hctx *c, uintptr_t a, uintptr_t b)
{
    int o = iv_overlap(c, a, b);
    if (o >= 0) return o;
    return held_overlap(c, a, b) ? HELD_BLOCK : -1;
}

/* malloc_usable_size of a block the allocator just handed out: the harness's own probe,
 * which no program makes. A report it raises is phase HP_PROBE: it covers no detection
 * made by a real op (the judge), and counts for no harm's "reported" (harm). */
static size_t probe_usable(hctx *c, void *p, int *reported)
{
    int was = c->phase, n = c->out->nreports;
    c->phase = HP_PROBE;
    size_t u = c->be->usable(p);
    c->phase = was;
    *reported = c->out->nreports != n;
    return u;
}

/* The checks every block the allocator hands out must pass, for slot si (-1: a held
 * block): aligned, in the heap, overlapping no live or held block, as big as asked.
 * 0 after recording the harm; else *usable is its usable size. */
static int block_ok(hctx *c, int si, uint8_t *p, size_t size, uint64_t align, size_t *usable)
{
    if ((uintptr_t)p & 15) { harm(c, HH_ALIGN, si, -1, p); return 0; }
    if (align > 16 && align <= (1u << 24) && ((uintptr_t)p & (align - 1))) { harm(c, HH_ALIGN, si, -1, p); return 0; }
    /* (a 0-byte block may legally end where its mapping ends: nothing to own) */
    if (c->be->owns && size && !c->be->owns(p, size)) { harm(c, HH_FOREIGN, si, -1, p); return 0; }
    /* Overlap of the requested bytes first: this needs no call into the allocator, so
     * a bad block is recorded before any report our own probing below could cause. */
    int o = size ? live_at(c, (uintptr_t)p, (uintptr_t)p + size) : -1;
    if (o != -1) { harm(c, HH_OVERLAP, si, o == HELD_BLOCK ? -1 : o, p); return 0; }
    int probe_reported;
    size_t u = probe_usable(c, p, &probe_reported);
    /* A probe that reported (a smashed header, say) gives no size: the heap's metadata
     * says what the block really is, unchecked. A block it knows nothing of is not the
     * heap's; one smaller than asked is harm either way. (The C library: as asked.) */
    if (probe_reported) {
        u = c->be->block_size ? c->be->block_size(p) : size;
        if (!u && size) { harm(c, HH_FOREIGN, si, -1, p); return 0; }
    }
    *usable = u;
    if (u < size) { harm(c, HH_SMALL, si, -1, p); return 0; }
    /* the usable bytes past the requested ones (held blocks: only granules the first
     * check did not cover) */
    if (u > size) {
        uintptr_t e = (uintptr_t)p + size, covered = size ? (e + 15) & ~(uintptr_t)15 : e;
        if ((o = iv_overlap(c, e, (uintptr_t)p + u)) >= 0) { harm(c, HH_OVERLAP, si, o, p); return 0; }
        if ((uintptr_t)p + u > covered && held_overlap(c, covered, (uintptr_t)p + u)) { harm(c, HH_OVERLAP, si, -1, p); return 0; }
    }
    return 1;
}

/* The allocator handed out p for slot s; check it and make it the slot's block. */
static void accept_block(hctx *c, int si, void *vp, size_t size, uint64_t align, int zeroed, uint8_t fill,
                         const hslot *prev)
{
    hslot *s = &c->slot[si];
    uint8_t *p = vp;
    s->old = NULL;
    if (!p) { s->state = SL_EMPTY; s->p = NULL; return; }
    s->p = p;
    s->size = size;
    s->alloc_thread = (uint8_t)c->cur;
    s->big = size > BIG_BLOCK || align > 16;
    s->tainted = 0;
    s->zero = 0;
    s->gen++;
    s->state = SL_BAD;
    size_t u = 0;
    if (!block_ok(c, si, p, size, align, &u)) return;
    s->usable = u;
    size_t span = u > size ? u : size;
    if (zeroed) {   /* the first 4 KiB and the last word must read as zero */
        static const uint8_t zeros[4096];
        size_t lim = size < 4096 ? size : 4096;
        if (memcmp(p, zeros, lim) || (size > 8 && memcmp(p + size - 8, zeros, 8))) { harm(c, HH_CALLOC, si, -1, p); return; }
    }
    s->state = SL_LIVE;
    if (span) iv_insert(c, (uintptr_t)p, (uintptr_t)p + span, si);
    /* what a user holding the block can read of its header (for write-back forgeries) */
    s->hdr_ok = c->be->owns ? c->be->owns(p - 16, 16) : !s->big;
    if (s->hdr_ok) fw_copy(s->hdr, p - 16, 16);
    s->base = p;
    if (prev && !prev->tainted) {   /* realloc: the old contents must have moved along */
        size_t keep = size < prev->ext ? size : prev->ext;
        if (pat_check(prev, si, p, keep) >= 0) harm(c, HH_REALLOC, si, -1, p);
    }
    if (zeroed) { s->fill = 0x60; s->ext = size; s->zero = 1; return; }   /* kind 3: zero */
    s->fill = fill;
    s->ext = (fill & 0x10) ? u : size;
    pat_fill(s, si);
}

/* Check the contents of a live block; a change nobody announced is harm. */
static void check_contents(hctx *c, int si)
{
    hslot *s = &c->slot[si];
    if (s->state != SL_LIVE || s->tainted) return;
    if (pat_check(s, si, s->p, s->ext) >= 0) {
        harm(c, HH_CONTENT, si, -1, s->p);
        s->tainted = 1;
    }
}

static void do_free_live(hctx *c, int si)
{
    hslot *s = &c->slot[si];
    check_contents(c, si);
    iv_remove(c, (uintptr_t)s->p);
    c->be->free(s->p);
    s->state = SL_FREED;
    s->free_thread = (uint8_t)c->cur;
}

/* May the harness write [p, p+len) of a freed or live block of slot s? Not if the
 * block may be unmapped, nor outside the heap. */
static int writable(const hctx *c, const uint8_t *p, size_t len, int big)
{
    if (big || !p) return 0;
    if (c->be->owns) return c->be->owns(p, len);
    return 1;
}

/* May the harness write [p, p+len) around slot s's block? A freed big block may be
 * unmapped: never. A live big block: its header (64 bytes in hakmem, 16 elsewhere) and
 * its usable bytes, which are mapped; not past its end. */
static int writable_at(const hctx *c, const hslot *s, const uint8_t *p, size_t len)
{
    if (!p || !s->p) return 0;
    if (!s->big) return writable(c, p, len, 0);
    /* A big block: only its header and usable bytes are surely mapped. Freed, only a
     * hakmem heap can say whether it still is (its region map: an unmapped block's
     * regions are cleared before the munmap). */
    if (s->state != SL_LIVE && !c->be->owns) return 0;
    if (p < s->p - (c->be->owns ? 64 : 16) || p + len > s->p + s->usable) return 0;
    return c->be->owns ? c->be->owns(p, len) : 1;
}

/* The dangling pointer of slot s, if it is still a freed block no live block covers. */
static uint8_t *dangling(const hctx *c, int si)
{
    const hslot *s = &c->slot[si];
    if (s->state != SL_FREED || !s->p) return NULL;
    if (live_at(c, (uintptr_t)s->p, (uintptr_t)s->p + 1) != -1) return NULL;   /* handed out again */
    return s->p;
}

static uint8_t tag_of(const hctx *c, int si)
{
    const hslot *s = &c->slot[si];
    if ((s->state == SL_LIVE || s->state == SL_FREED) && writable(c, s->p - 1, 1, s->big))
        return fw_read1(s->p - 1);
    return 0xA0;
}

/* The pointer a bad-pointer kind names, or NULL if it does not apply now. */
static uint8_t *bad_pointer(hctx *c, const hop *op, int *from_slot)
{
    hslot *s = &c->slot[op->s];
    uint8_t *q = NULL;
    *from_slot = 0;
    switch (op->k) {
    case HOP_BAD_FREED:
        *from_slot = 1;
        return s->big && !c->be->owns ? NULL : dangling(c, op->s);   /* (hakmem checks its region map first) */
    case HOP_BAD_INTERIOR: {
        if (s->state != SL_LIVE) return NULL;
        size_t n = s->usable > 16 ? (s->usable - 1) / 16 : 0;
        *from_slot = 1;
        return n ? s->p + 16 * (1 + op->a % n) : s->p + 8;
    }
    case HOP_BAD_MISALIGNED:
        if (s->state != SL_LIVE) return NULL;
        *from_slot = 1;
        return s->p + 1 + op->a % 15;
    case HOP_BAD_STACK:
        q = c->stack_fake;
        q[-1] = (uint8_t)(0xA0 | (tag_of(c, op->s) & 0x1F));
        return q;
    case HOP_BAD_GLOBAL:
        q = global_fake(op->s);
        q[-1] = op->a ? op->a : (uint8_t)(0xA0 | (tag_of(c, op->s) & 0x1F));
        return q;
    case HOP_BAD_FOREIGN: return foreign_block();
    case HOP_BAD_OTHER: return c->other;
    case HOP_BAD_UNCARVED: {
        if ((s->state != SL_LIVE && s->state != SL_FREED) || s->big || !s->usable) return NULL;
        q = s->p + (s->usable + 1) * (1 + op->a % 64);
        if (live_at(c, (uintptr_t)q, (uintptr_t)q + 1) != -1) return NULL;   /* someone's live block */
        *from_slot = 1;
        return q;
    }
    case HOP_BAD_WILD: return (uint8_t *)(uintptr_t)hop_wild_values[op->a % hop_nwild];
    case HOP_BAD_HEADER:
        if (s->state != SL_LIVE) return NULL;
        q = s->p - 16 * (1 + op->a % 4);
        /* below a small block lies the block before it: a live one's pointer is no bad
         * pointer (freeing it is the user's right) */
        if (live_at(c, (uintptr_t)q, (uintptr_t)q + 1) != -1) return NULL;
        *from_slot = 1;
        return q;
    }
    return NULL;
}

/* F7: the fault goes through the cross-thread path. */
static int fault_class(const hctx *c, const hop *op, int from_slot)
{
    int cls = hop_base_class(op);
    const hslot *s = &c->slot[op->s];
    switch (op->code) {
    case HOP_UAF_LINK: case HOP_UAF_WRITE:
        if (s->free_thread != s->alloc_thread) cls = HOP_F7;
        break;
    case HOP_POKE: case HOP_ATTACK:   /* the caller passes the class by where it wrote */
        break;
    case HOP_DOUBLE_FREE: case HOP_FREE_OLD: case HOP_FORGE:
        if (c->cur != s->alloc_thread) cls = HOP_F7;
        break;
    case HOP_FREE_BAD: case HOP_REALLOC_BAD: case HOP_USABLE_BAD:
        if (from_slot && c->cur != s->alloc_thread) cls = HOP_F7;
        break;
    default: break;
    }
    return cls;
}

/* ---- one op ------------------------------------------------------------------------- */

static void exec_alloc(hctx *c, const hop *op)
{
    const hbackend *be = c->be;
    hslot *s = &c->slot[op->s];
    if (s->state == SL_LIVE) do_free_live(c, op->s);
    void *p = NULL;
    size_t size = op->size;
    uint64_t align = 16;
    int zeroed = 0;
    switch (op->code) {
    case HOP_ALLOC: p = be->malloc(size); break;
    case HOP_CALLOC:
        p = be->calloc(op->n, size);
        if (__builtin_mul_overflow((size_t)op->n, op->size, &size)) size = SIZE_MAX;
        zeroed = 1;
        break;
    case HOP_ALIGNED:
        align = op->align;
        switch (op->k) {
        case HOP_AL_MEMALIGN: p = be->memalign(align, size); break;
        case HOP_AL_POSIX: if (be->posix_memalign(&p, align, size)) p = NULL; break;
        case HOP_AL_ALIGNED_ALLOC: p = be->aligned_alloc(align, size); break;
        case HOP_AL_VALLOC: align = 4096; p = be->valloc(size); break;
        case HOP_AL_PVALLOC: align = 4096; p = be->pvalloc(size); break;
        }
        if (!is_pow2(align)) { uint64_t a = 1; while (a < align && a < (1u << 24)) a <<= 1; align = a; }
        if (align < 16) align = 16;
        break;
    }
    accept_block(c, op->s, p, size, align, zeroed, op->fill, NULL);
    NOTE("-> %p", p);
}

static void exec_realloc(hctx *c, const hop *op)
{
    hslot *s = &c->slot[op->s];
    if (s->state != SL_LIVE) {
        void *p = c->be->realloc(NULL, op->size);
        accept_block(c, op->s, p, op->size, 16, 0, op->fill, NULL);
        NOTE("(new) -> %p", p);
        return;
    }
    check_contents(c, op->s);
    hslot old = *s;
    void *q = c->be->realloc(s->p, op->size);
    NOTE("%p -> %p", (void *)old.p, q);
    if (!q) {
        if (op->size == 0) {   /* freed */
            iv_remove(c, (uintptr_t)s->p);
            s->state = SL_FREED;
            s->free_thread = (uint8_t)c->cur;
        }
        return;   /* failed: the old block stays */
    }
    iv_remove(c, (uintptr_t)old.p);
    accept_block(c, op->s, q, op->size, 16, 0, op->fill, &old);
    if (q != (void *)old.p) { s->old = old.p; s->old_big = old.big; }
}

/* Slot s's dangling pointer for a write-after-free, or NULL. */
static uint8_t *uaf_target(hctx *c, const hslot *s, int si)
{
    return s->big && !c->be->owns ? NULL : dangling(c, si);
}

/* poke: where it lands decides its class (see ops.h). Returns 0 if it does not apply. */
static int poke_class(const hctx *c, const hslot *s, const uint8_t *dst, size_t len)
{
    if (s->state == SL_FREED) return s->free_thread != s->alloc_thread ? HOP_F7 : HOP_F6;
    if (s->state != SL_LIVE) return 0;
    if (dst >= s->p && dst + len <= s->p + s->usable) return 0;   /* the user's own bytes */
    int cls = dst < s->p ? HOP_F5 : HOP_F4;
    if (c->cur != s->alloc_thread) cls = HOP_F7;
    return cls;
}

/* Whether writing src[0..len) at dst changes a byte outside live slot s's own bytes.
 * A poke may straddle the block's start or end: what decides whether it is a fault is
 * the part outside, so a write whose outside bytes are already there is a no-op even if
 * it changes user bytes (which bytes are outside differ between builds: a large
 * header's words depend on the address). */
static int poke_changes_outside(const hctx *c, const hslot *s, const uint8_t *dst, const uint8_t *src, size_t len)
{
    uint8_t old[16];
    fw_copy(old, dst, len);
    for (size_t i = 0; i < len; i++)
        if ((dst + i < s->p || dst + i >= s->p + s->usable) && old[i] != src[i]
            && live_at(c, (uintptr_t)dst + i, (uintptr_t)dst + i + 1) == -1)   /* (another live block's byte: user data too) */
            return 1;
    return 0;
}

static void exec_poke(hctx *c, const hop *op)
{
    hslot *s = &c->slot[op->s];
    size_t len = op->b ? op->b : 1;
    if (s->state == SL_FREED && !dangling(c, op->s)) return;
    if (!s->p) return;
    uint8_t *anchor = op->k >= HOP_POKE_END_BYTE ? s->p + s->usable + 1 : s->p;
    uint8_t *dst = anchor + (int8_t)op->a;
    int cls = poke_class(c, s, dst, len);
    if (!cls || !writable_at(c, s, dst, len)) return;
    uint8_t src[16];
    switch (op->k % 3) {
    case 0: memset(src, (int)(op->val & 0xFF), len); break;
    case 1: for (size_t i = 0; i < len; i++) src[i] = (uint8_t)(op->val >> (8 * (i % 8))); break;
    default: {
        const hslot *t = &c->slot[op->t];
        const uint8_t *from = t->p ? t->p + (int8_t)op->a : NULL;
        if ((t->state != SL_LIVE && !(t->state == SL_FREED && dangling(c, op->t)))
            || !writable_at(c, t, from, len)) return;
        fw_copy(src, from, len);
        break;
    }
    }
    if (s->state == SL_LIVE && !poke_changes_outside(c, s, dst, src, len)) {
        fault_noop(c);   /* only user bytes (its own, or a live neighbour's) would change: not a fault here */
        return;
    }
    if (fault_write(c, dst, src, len, cls)) {
        fault_subject(c, (uintptr_t)s->p, (uintptr_t)s->p + 1);
        NOTE("wrote %zu byte(s) at %p (%s%+d)", len, (void *)dst, op->k >= HOP_POKE_END_BYTE ? "end" : "start", (int8_t)op->a);
    }
}

static void exec_attack(hctx *c, const hop *op)
{
    hslot *s = &c->slot[op->s];
    uint8_t *q = uaf_target(c, s, op->s);
    if (!q || !s->hdr_ok || !writable_at(c, s, q - 16, 16)) return;
    switch (op->k) {
    case HOP_ATK_FORGE_DF: {
        /* write back the header the block had while live, then free it again. Always
         * applied: the double free is the fault even where the write changes nothing (an
         * allocator whose in-band bytes stay the same at free; whether the bytes around
         * them changed since depends on what earlier streams left in that memory) */
        int cls = c->cur != s->alloc_thread ? HOP_F7 : HOP_F1;
        fault_applied(c, cls);
        fw_copy(q - 16, s->hdr, 16);
        fault_subject_write(c, (uintptr_t)q - 16, (uintptr_t)q);
        iv_taint(c, (uintptr_t)q - 16, (uintptr_t)q);
        fault_subject(c, (uintptr_t)q, (uintptr_t)q + 1);
        NOTE("header of %p restored, free(%p)", (void *)q, (void *)q);
        c->be->free(q);
        break;
    }
    case HOP_ATK_FORGE_LINK: {
        /* the freed block's header onto a live block's, then the freed block's link to it */
        hslot *t = &c->slot[op->t];
        if (op->t == op->s || t->state != SL_LIVE || !writable_at(c, t, t->p - 16, 16) || !writable_at(c, s, q, 8)) return;
        uint8_t hdr[16], link[8];
        fw_copy(hdr, q - 16, 16);
        uint64_t v = (uintptr_t)t->p;
        for (int i = 0; i < 8; i++) link[i] = (uint8_t)(v >> (8 * i));
        int cls = s->free_thread != s->alloc_thread ? HOP_F7 : HOP_F6;
        uint8_t old_h[16], old_l[8];
        fw_copy(old_h, t->p - 16, 16);
        fw_copy(old_l, q, 8);
        if (!memcmp(old_h, hdr, 16) && !memcmp(old_l, link, 8)) { fault_noop(c); return; }
        fault_applied(c, cls);
        fw_copy(t->p - 16, hdr, 16);
        fw_copy(q, link, 8);
        fault_subject_write(c, (uintptr_t)t->p - 16, (uintptr_t)t->p);
        fault_subject_write(c, (uintptr_t)q, (uintptr_t)q + 8);
        iv_taint(c, (uintptr_t)t->p - 16, (uintptr_t)t->p);
        fault_subject(c, (uintptr_t)t->p, (uintptr_t)t->p + 1);
        NOTE("header of %p copied onto %p, link of %p := %p", (void *)q, (void *)t->p, (void *)q, (void *)t->p);
        break;
    }
    }
}

static void exec_fault_here(hctx *c, const hop *op);

/* A fault op: skipped where the other run found it a no-op or not applicable; else
 * applied here if it can be. One that does not apply here (whether it does depends on
 * addresses: a freed pointer another block now covers, a big block that may be unmapped)
 * is marked like a no-op, so both runs end up skipping it (oracle_check). */
static void exec_fault(hctx *c, const hop *op)
{
    hrun *r = c->out;
    if (r->skip && c->i < HOP_MAX && r->skip[c->i]) {   /* a no-op in the release run */
        r->nskipped++;
        NOTE("skipped: a no-op in the release run");
        return;
    }
    int before = r->nfaults;
    exec_fault_here(c, op);
    if (r->nfaults == before && c->i < HOP_MAX && !r->noop[c->i]) {
        r->noop[c->i] = 1;   /* (not counted as skipped: it did not apply, as a fault on an empty slot) */
        if (r->skip) r->nasym++;   /* the release run applied it */
    }
}

static void exec_fault_here(hctx *c, const hop *op)
{
    hslot *s = &c->slot[op->s];
    const hbackend *be = c->be;
    int from_slot = 0;
    uint8_t *q;
    switch (op->code) {
    case HOP_DOUBLE_FREE:
        if ((s->big && !be->owns) || !(q = dangling(c, op->s))) return;
        fault_applied(c, fault_class(c, op, 1));
        fault_subject(c, (uintptr_t)q, (uintptr_t)q + 1);
        be->free(q);
        break;
    case HOP_FREE_OLD:
        /* (not once the allocator handed the address out again, to a slot or held) */
        if (!s->old || (s->old_big && !be->owns) || live_at(c, (uintptr_t)s->old, (uintptr_t)s->old + 1) != -1) return;
        fault_applied(c, fault_class(c, op, 1));
        fault_subject(c, (uintptr_t)s->old, (uintptr_t)s->old + 1);
        be->free(s->old);
        break;
    case HOP_FREE_BAD: case HOP_REALLOC_BAD: case HOP_USABLE_BAD: {
        if (!(q = bad_pointer(c, op, &from_slot))) return;
        fault_applied(c, fault_class(c, op, from_slot));
        fault_subject(c, (uintptr_t)q, (uintptr_t)q + 1);
        if (from_slot && s->p) fault_subject(c, (uintptr_t)s->p, (uintptr_t)s->p + 1);
        if (op->code == HOP_FREE_BAD) {
            NOTE("free(%p)", (void *)q);
            be->free(q);
        } else if (op->code == HOP_USABLE_BAD) {
            size_t u = be->usable(q);
            NOTE("usable(%p) = %zu", (void *)q, u);
        } else {
            void *r = be->realloc(q, op->size);
            NOTE("realloc(%p) -> %p", (void *)q, r);
            if (r) {
                /* Accepted a pointer it should have refused: whatever it did to slot s's
                 * block is unknown, so the slot forgets it (without freeing) and holds r. */
                if (s->state == SL_LIVE) iv_remove(c, (uintptr_t)s->p);
                accept_block(c, op->s, r, op->size, 16, 0, 0, NULL);
            }
        }
        break;
    }
    case HOP_FORGE: {
        if (s->state != SL_LIVE || s->usable < 32) return;
        size_t n = (s->usable - 1) / 16;
        size_t k = 1 + (op->a ? op->a - 1u : 0u) % n;
        if (op->b == 1) {   /* copy a 64-byte header: needs the forged block 64 bytes in */
            if (n < 4) return;
            k = 4 + (op->a ? op->a - 1u : 0u) % (n - 3);
        }
        q = s->p + 16 * k;
        if (op->b == 1) {   /* (the C library's big blocks may start right after a page boundary) */
            if (be->owns ? be->owns(s->p - 64, 64) : !s->big) fw_copy(q - 64, s->p - 64, 64); else return;
        } else {
            fw_write1(q - 1, op->b == 0 ? tag_of(c, op->s) : op->b);
        }
        fault_applied(c, fault_class(c, op, 1));
        fault_subject(c, (uintptr_t)q, (uintptr_t)q + 1);
        fault_subject(c, (uintptr_t)s->p, (uintptr_t)s->p + 1);
        s->tainted = 1;
        NOTE("free(%p)", (void *)q);
        be->free(q);
        break;
    }
    case HOP_OVERFLOW: {
        if (s->state != SL_LIVE || !writable(c, s->p + s->usable, op->a, s->big)) return;
        uint8_t src[64];
        memset(src, op->b, op->a);
        if (fault_write(c, s->p + s->usable, src, op->a, fault_class(c, op, 1)))
            NOTE("wrote %u x 0x%02x at %p", op->a, op->b, (void *)(s->p + s->usable));
        break;
    }
    case HOP_UNDERFLOW:
        if (s->state != SL_LIVE || !writable_at(c, s, s->p - op->a, 1)) return;
        if (fault_write(c, s->p - op->a, &op->b, 1, fault_class(c, op, 1))) {
            fault_subject(c, (uintptr_t)s->p, (uintptr_t)s->p + 1);
            NOTE("wrote 0x%02x at %p", op->b, (void *)(s->p - op->a));
        }
        break;
    case HOP_UAF_LINK: {
        if (!(q = uaf_target(c, s, op->s)) || !writable_at(c, s, q, 8)) return;
        const hslot *t = &c->slot[op->t];
        uint64_t link;
        switch (op->k) {
        case HOP_LINK_NULL: link = 0; break;
        case HOP_LINK_WILD: link = hop_wild_values[op->a % hop_nwild]; break;
        case HOP_LINK_SLOT:
            if (t->state == SL_EMPTY || !t->p) return;
            link = (uintptr_t)t->p + (uint64_t)(int64_t)(int8_t)op->a;
            break;
        case HOP_LINK_STRIDE:
            if (t->state == SL_EMPTY || !t->p || !t->usable) return;
            link = (uintptr_t)t->p + (uint64_t)((int64_t)(int8_t)op->a * (int64_t)(t->usable + 1));
            break;
        case HOP_LINK_GLOBAL: {
            /* A fake free block outside the heap, placed a whole number of strides
             * above the freed block when a region of ours lies above it (the global
             * area, or the replaying thread's stack area), so stride checks pass and
             * only a range check can reject it; with a FREE tag of the class. The k-th
             * such fault of the stream gets window k of the region: where in a window
             * the fake falls depends on the heap's address, so two fakes sharing one
             * could coincide in one heap and not in the other. Past the last window the
             * fault is not applied (in either heap). */
            uint8_t *g = global_fake(op->s + 16);
            size_t st = s->usable + 1;
            unsigned k = c->nfakes;
            uintptr_t regions[2][2] = {   /* first window, windows */
                { (uintptr_t)g_global_area + 8192, (HOP_GLOBAL_AREA - 8192) / HOP_FAKE_WINDOW },
                { (uintptr_t)c->stack_fake + 256, (HOP_STACK_AREA - 512) / HOP_FAKE_WINDOW },
            };
            for (int r = 0; r < 2 && st >= 16 && st <= 2048 && !(st & 15); r++) {
                uintptr_t lo = regions[r][0], p0 = (uintptr_t)q;
                if (lo <= p0) continue;
                if (k >= regions[r][1]) return;
                lo += (uintptr_t)k * HOP_FAKE_WINDOW;
                uintptr_t cand = p0 + (lo - p0 + st - 1) / st * st;
                if (cand + 64 <= lo + HOP_FAKE_WINDOW) { g = (uint8_t *)cand; c->nfakes++; break; }
            }
            g[-1] = op->a ? op->a : (uint8_t)(0x60 | (tag_of(c, op->s) & 0x1F));
            memset(g, 0, 16);   /* its own link: NULL, a clean end of the list */
            link = (uintptr_t)g;
            break;
        }
        case HOP_LINK_FORGED: {
            if (t->state != SL_LIVE || t->usable < 32 || op->t == op->s) return;
            size_t n = (t->usable - 1) / 16;
            uint8_t *f = t->p + 16 * (1 + op->a % n);
            fw_write1(f - 1, op->b ? op->b : (uint8_t)(0x60 | (tag_of(c, op->s) & 0x1F)));
            iv_taint(c, (uintptr_t)f - 1, (uintptr_t)f);
            link = (uintptr_t)f;
            break;
        }
        case HOP_LINK_PARTIAL: {
            uint8_t b = op->a;
            if (fault_write(c, q, &b, 1, fault_class(c, op, 1))) {
                uint64_t nl = fw_read8(q);
                fault_subject(c, (uintptr_t)nl, (uintptr_t)nl + 1);
                NOTE("link of %p now %#llx", (void *)q, (unsigned long long)nl);
            }
            return;
        }
        case HOP_LINK_SELF: link = (uintptr_t)q; break;
        case HOP_LINK_FOREIGN: link = (uintptr_t)foreign_block(); break;
        case HOP_LINK_OTHER: if (!c->other) return; link = (uintptr_t)c->other; break;
        default: return;
        }
        uint8_t lb[8];
        for (int i = 0; i < 8; i++) lb[i] = (uint8_t)(link >> (8 * i));
        uint64_t was = fw_read8(q);
        if (fault_write(c, q, lb, 8, fault_class(c, op, 1))) {
            fault_subject(c, (uintptr_t)link, (uintptr_t)link + 1);
            if (op->k == HOP_LINK_SLOT || op->k == HOP_LINK_STRIDE || op->k == HOP_LINK_FORGED)
                fault_subject(c, (uintptr_t)t->p, (uintptr_t)t->p + 1);
            NOTE("link of %p := %#llx (was %#llx)", (void *)q, (unsigned long long)link, (unsigned long long)was);
        }
        break;
    }
    case HOP_UAF_WRITE: {
        if (!(q = uaf_target(c, s, op->s))) return;
        size_t room = s->usable >= 8 ? s->usable - 7 : 1;
        size_t off = op->a % room;
        if (!writable_at(c, s, q + off, 8)) return;
        uint8_t vb[8];
        for (int i = 0; i < 8; i++) vb[i] = (uint8_t)(op->val >> (8 * i));
        if (fault_write(c, q + off, vb, 8, fault_class(c, op, 1))) {
            fault_subject(c, (uintptr_t)q, (uintptr_t)q + 1);
            fault_subject(c, (uintptr_t)op->val, (uintptr_t)op->val + 1);   /* the value, where a link is read as a pointer */
            NOTE("wrote %#llx at %p", (unsigned long long)op->val, (void *)(q + off));
        }
        break;
    }
    case HOP_POKE: exec_poke(c, op); break;
    case HOP_ATTACK: exec_attack(c, op); break;
    }
}

/* ---- layout builders ----------------------------------------------------------------- */

/* Allocate one block into the held set, checked as a slot's block is (block_ok); NULL
 * when the allocator or the set is out of room, or the block is bad (harm: it is never
 * held, written or freed). */
static void *hold_one(hctx *c, size_t size, size_t *usable)
{
    if (!held_ready(c) || !held_room_for(c, size)) return NULL;
    uint8_t *p = c->be->malloc(size);
    if (!p) return NULL;
    size_t u = 0;
    if (!block_ok(c, -1, p, size, 16, &u)) return NULL;
    *usable = u;
    uintptr_t a = (uintptr_t)p, b = a + (u > size ? u : size) + (u == 0 && size == 0);
    held_add(c, a, b);
    c->held[c->nheld++] = (hheld){ a, b };
    return p;
}

static void exec_hold(hctx *c, const hop *op)
{
    unsigned n = 16u * (op->a + 1u), from = c->nheld;
    size_t u, bytes = 0;
    for (unsigned i = 0; i < n && bytes < HOP_HOLD_BYTES && hold_one(c, op->size, &u); i++) bytes += u;
    NOTE("%u block(s) held", c->nheld - from);
}

/* Hold blocks of the size until the allocator hands out one that ends within 48 bytes
 * before a slab or SuperSlab boundary (the heap's geometry), with no room for another
 * block of its stride before it; that one becomes slot s's. A tiny slab holds one class
 * and every one is laid out alike: once the last blocks of HOP_EDGE_MISSES slabs ended
 * further from their boundary, no slab's will do (nor a SuperSlab's, which ends with
 * a slab), and the op gives up rather than fill megabytes for nothing. */
static void exec_edge(hctx *c, const hop *op)
{
    hslot *s = &c->slot[op->s];
    if (s->state == SL_LIVE) do_free_live(c, op->s);
    uintptr_t bound = op->k == HOP_EDGE_SUPERSLAB ? c->ss_bytes : c->slab_bytes, sb = c->slab_bytes;
    unsigned from = c->nheld, misses = 0;
    void *hit = NULL;
    size_t u = 0;
    if (op->size && op->size <= 65536) {
        size_t bytes = 0;
        for (unsigned tries = 0; tries < HOP_EDGE_TRIES && bytes < HOP_HOLD_BYTES; tries++) {
            void *p = hold_one(c, op->size, &u);
            if (!p) break;
            bytes += u;
            uintptr_t end = (uintptr_t)p + u, next = (end + bound - 1) & ~(bound - 1);
            if (next - end <= 48 && next - end < u + 1) { hit = p; c->nheld--; held_forget(c, c->held[c->nheld].a, c->held[c->nheld].b); break; }   /* the last block before it */
            uintptr_t snext = (end + sb - 1) & ~(sb - 1);
            if (op->size <= HAK_TINY_MAX && snext - end > 48 && snext - end < u + 1 && ++misses >= HOP_EDGE_MISSES) break;
        }
    }
    NOTE("%u held, slot's block %p", c->nheld - from, hit);
    accept_block(c, op->s, hit, op->size, 16, 0, op->fill, NULL);
}

static void exec_op(void *arg)
{
    hctx *c = arg;
    const hop *op = &c->ops[c->i];
    hslot *s = &c->slot[op->s];
    switch (op->code) {
    case HOP_ALLOC: case HOP_CALLOC: case HOP_ALIGNED: exec_alloc(c, op); break;
    case HOP_REALLOC: exec_realloc(c, op); break;
    case HOP_FREE:
        if (s->state == SL_LIVE) do_free_live(c, op->s);
        else c->be->free(NULL);
        break;
    case HOP_USABLE:
        if (s->state == SL_LIVE) {
            size_t u = c->be->usable(s->p);
            if (u < s->size) harm(c, HH_SMALL, op->s, -1, s->p);
            NOTE("= %zu", u);
        }
        break;
    case HOP_WRITE:
        if (s->state == SL_LIVE) {
            s->fill = op->fill;
            s->gen++;
            s->base = s->p;
            s->zero = 0;
            s->ext = (op->fill & 0x10) ? s->usable : s->size;
            s->tainted = 0;
            pat_fill(s, op->s);
        }
        break;
    case HOP_FLUSH: if (c->be->thread_flush) c->be->thread_flush(); break;
    case HOP_TRIM: c->be->trim(0); break;
    case HOP_THREAD: break;
    case HOP_HOLD: exec_hold(c, op); break;
    case HOP_EDGE: exec_edge(c, op); break;
    default: exec_fault(c, op); break;
    }
}

static void flush_thunk(void *arg) { hctx *c = arg; c->be->thread_flush(); }

static void trace_op(hctx *c)
{
    if (!c->trace) return;
    char buf[160];
    fprintf(c->trace, "[%s] %4d t%d %-44s %s%s\n", c->be->name, c->i, c->cur, hop_format(&c->ops[c->i], buf, sizeof buf),
            c->note, c->out->fclass[c->i] ? "   [fault]" : "");
}

/* Ops [c->i, c->batch_end) on the current thread. */
static void exec_batch(void *arg)
{
    hctx *c = arg;
    for (; c->i < c->batch_end; c->i++) {
        c->out->progress = c->i;
        c->note[0] = 0;
        exec_op(c);
        trace_op(c);
    }
}

void oracle_run(const hbackend *be, void *other, const hop *ops, int n, hrun *out, FILE *trace)
{
    _Alignas(16) uint8_t stack_area[HOP_STACK_AREA];
    static hctx ctx;   /* not the heap under test; replays never nest */
    hctx *c = &ctx;
    memset(c, 0, offsetof(hctx, held));   /* the held-block arrays (from `held` on) are mapped once */
    held_new_stream(c);
    memset((void *)out, 0, offsetof(hrun, fclass));
    memset(out->fclass, 0, (size_t)(n < HOP_MAX ? n : HOP_MAX));
    memset(out->noop, 0, (size_t)(n < HOP_MAX ? n : HOP_MAX));
    memset(out->freported, 0, (size_t)(n < HOP_MAX ? n : HOP_MAX));
    out->build = be->name;
    out->nops = n;
    out->first_fault = n + 2;   /* after the drain (op n + 1): a report in a fault-free stream is a false alarm */
    c->be = be;
    size_t slab = 1u << 16, ss = 1u << 21;
    if (be->geometry) be->geometry(&slab, &ss);
    c->slab_bytes = slab;
    c->ss_bytes = ss;
    c->ops = ops;
    c->n = n;
    c->out = out;
    c->trace = trace;
    c->other = other;
    memset(stack_area, 0x5A, sizeof stack_area);
    c->stack_fake = stack_area + 256;
    workers_start();
    crash_context_init();
    g_live = c;
    if (be->heap_reset) be->heap_reset();
    if (be->set_handler) be->set_handler(on_report, c);
    /* Ops run in batches: from one "thread" op to the next, on that thread, with one
     * hand-off per batch (a hand-off costs two context switches). */
    c->i = 0;
    while (c->i < n) {
        if (ops[c->i].code == HOP_THREAD) {
            c->cur = ops[c->i].a;
            c->used_threads |= 1u << ops[c->i].a;
            trace_op(c);
            c->i++;
            continue;
        }
        int j = c->i;
        /* (a switch to the thread already running is no switch: the batch goes on) */
        while (j < n && !(ops[j].code == HOP_THREAD && ops[j].a != c->cur)) j++;
        c->batch_end = j;
        run_on(c->cur, exec_batch, c);
    }
    /* End of stream: a harness-only drain (HP_DRAIN: every freelist checked as if
     * popped); then as a program could end it (HP_END): free every live and held block,
     * every thread returns its cache (as at thread exit); then the drain again. */
    c->i = n;
    out->progress = n;
    c->cur = 0;
    /* Check every list before the final frees can empty a slab and release it with its
     * lists unread (a drain: counted apart, like the one after). */
    c->phase = HP_DRAIN;
    if (be->heap_drain) be->heap_drain();
    c->phase = HP_END;
    for (int si = 0; si < HOP_NSLOTS; si++) if (c->slot[si].state == SL_LIVE) do_free_live(c, si);
    for (unsigned h = 0; h < c->nheld; h++) be->free((void *)c->held[h].a);
    c->nheld = 0;
    if (be->thread_flush) {
        for (int k = 1; k < HOP_NTHREADS; k++) if (c->used_threads & (1u << k)) run_on(k, flush_thunk, c);
        be->thread_flush();
    }
    c->phase = HP_DRAIN;
    if (be->heap_drain) be->heap_drain();
    if (be->set_handler) be->set_handler(on_stray_report, NULL);
    g_live = NULL;
    if (trace) fprintf(trace, "[%s] end: %d report(s), %d harm(s), %d fault(s) applied\n", be->name, out->nreports, out->nharms, out->nfaults);
}

