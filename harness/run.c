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

extern hctx *volatile g_live;       /* crash.c */
void crash_context_init(void);

/* ---- events ------------------------------------------------------------------------- */

static void on_report(hak_corruption_kind kind, const void *ptr, void *arg)
{
    hctx *c = arg;
    hrun *r = c->out;
    if (r->nreports < HR_MAXEV)
        r->rep[r->nreports] = (hevent){ c->i, ++c->seq, (int)kind, -1, -1, (uintptr_t)ptr };
    r->nreports++;
    if (c->trace) fprintf(c->trace, "[%s]        REPORT %s ptr=%p (op %d)\n", c->be->name, hak_corruption_name(kind), ptr, c->i);
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
    if (r->nharms < HR_MAXEV) r->harm[r->nharms] = (hevent){ c->i, ++c->seq, kind, slot, other, (uintptr_t)p };
    r->nharms++;
    if (c->trace) {
        fprintf(c->trace, "[%s]        HARM %s slot %d ptr=%p", c->be->name, oracle_harm_name(kind), slot, p);
        if (other >= 0) fprintf(c->trace, " (overlaps slot %d at %p)", other, (void *)c->slot[other].p);
        fprintf(c->trace, "\n");
    }
}

static void fault_applied(hctx *c, int cls)
{
    hrun *r = c->out;
    if (!r->nfaults || c->i < r->first_fault) r->first_fault = c->i;
    r->nfaults++;
    if (c->i < HOP_MAX) r->fclass[c->i] = (uint8_t)cls;
}

/* ---- block bookkeeping -------------------------------------------------------------- */

static int is_pow2(uint64_t x) { return x && !(x & (x - 1)); }

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
    if ((uintptr_t)p & 15) { harm(c, HH_ALIGN, si, -1, p); return; }
    if (align > 16 && align <= (1u << 24) && ((uintptr_t)p & (align - 1))) { harm(c, HH_ALIGN, si, -1, p); return; }
    /* (a 0-byte block may legally end where its mapping ends: nothing to own) */
    if (c->be->owns && size && !c->be->owns(p, size)) { harm(c, HH_FOREIGN, si, -1, p); return; }
    /* Overlap of the requested bytes first: this needs no call into the allocator, so
     * a bad block is recorded before any report our own probing below could cause. */
    int o = size ? iv_overlap(c, (uintptr_t)p, (uintptr_t)p + size) : -1;
    if (o >= 0) { harm(c, HH_OVERLAP, si, o, p); return; }
    size_t u = c->be->usable(p);
    s->usable = u;
    if (u < size) { harm(c, HH_SMALL, si, -1, p); return; }
    size_t span = u > size ? u : size;
    if (span > size && (o = iv_overlap(c, (uintptr_t)p + size, (uintptr_t)p + span)) >= 0) {
        harm(c, HH_OVERLAP, si, o, p);
        return;
    }
    if (zeroed) {   /* the first 4 KiB and the last word must read as zero */
        static const uint8_t zeros[4096];
        size_t lim = size < 4096 ? size : 4096;
        if (memcmp(p, zeros, lim) || (size > 8 && memcmp(p + size - 8, zeros, 8))) { harm(c, HH_CALLOC, si, -1, p); return; }
    }
    s->state = SL_LIVE;
    if (span) iv_insert(c, (uintptr_t)p, (uintptr_t)p + span, si);
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

/* The dangling pointer of slot s, if it is still a freed block no live block covers. */
static uint8_t *dangling(const hctx *c, int si)
{
    const hslot *s = &c->slot[si];
    if (s->state != SL_FREED || !s->p) return NULL;
    if (iv_overlap(c, (uintptr_t)s->p, (uintptr_t)s->p + 1) >= 0) return NULL;
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
        return s->big ? NULL : dangling(c, op->s);
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
        if (iv_overlap(c, (uintptr_t)q, (uintptr_t)q + 1) >= 0) return NULL;   /* someone's live block */
        *from_slot = 1;
        return q;
    }
    case HOP_BAD_WILD: return (uint8_t *)(uintptr_t)hop_wild_values[op->a % hop_nwild];
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

#define NOTE(...) do { if (c->trace) snprintf(c->note, sizeof c->note, __VA_ARGS__); } while (0)

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

static void exec_fault(hctx *c, const hop *op)
{
    hslot *s = &c->slot[op->s];
    const hbackend *be = c->be;
    int from_slot = 0;
    uint8_t *q;
    switch (op->code) {
    case HOP_DOUBLE_FREE:
        if (s->big || !(q = dangling(c, op->s))) return;
        fault_applied(c, fault_class(c, op, 1));
        be->free(q);
        break;
    case HOP_FREE_OLD:
        if (!s->old || s->old_big || iv_overlap(c, (uintptr_t)s->old, (uintptr_t)s->old + 1) >= 0) return;
        fault_applied(c, fault_class(c, op, 1));
        be->free(s->old);
        break;
    case HOP_FREE_BAD:
        if (!(q = bad_pointer(c, op, &from_slot))) return;
        fault_applied(c, fault_class(c, op, from_slot));
        NOTE("free(%p)", (void *)q);
        be->free(q);
        break;
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
        s->tainted = 1;
        NOTE("free(%p)", (void *)q);
        be->free(q);
        break;
    }
    case HOP_OVERFLOW:
        if (s->state != SL_LIVE || !writable(c, s->p + s->usable, op->a, s->big)) return;
        fault_applied(c, fault_class(c, op, 1));
        fw_fill(s->p + s->usable, op->b, op->a);
        iv_taint(c, (uintptr_t)s->p + s->usable, (uintptr_t)s->p + s->usable + op->a);
        NOTE("wrote %u x 0x%02x at %p", op->a, op->b, (void *)(s->p + s->usable));
        break;
    case HOP_UNDERFLOW:
        if (s->state != SL_LIVE || !writable(c, s->p - op->a, 1, s->big && op->a > 64)) return;
        fault_applied(c, fault_class(c, op, 1));
        fw_write1(s->p - op->a, op->b);
        iv_taint(c, (uintptr_t)s->p - op->a, (uintptr_t)s->p - op->a + 1);
        NOTE("wrote 0x%02x at %p", op->b, (void *)(s->p - op->a));
        break;
    case HOP_UAF_LINK: {
        if (s->big || !(q = dangling(c, op->s)) || !writable(c, q, 8, 0)) return;
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
             * only a range check can reject it; with a FREE tag of the class. */
            uint8_t *g = global_fake(op->s + 16);
            size_t st = s->usable + 1;
            uintptr_t regions[2][2] = {
                { (uintptr_t)g_global_area + 8192, (uintptr_t)g_global_area + sizeof g_global_area },
                { (uintptr_t)c->stack_fake + 256, (uintptr_t)c->stack_fake + 256 + 2048 + 128 },
            };
            for (int r = 0; r < 2 && st >= 16 && st <= 2048 && !(st & 15); r++) {
                uintptr_t lo = regions[r][0], p0 = (uintptr_t)q;
                if (lo <= p0) continue;
                uintptr_t cand = p0 + (lo - p0 + st - 1) / st * st;
                if (cand + 64 <= regions[r][1]) { g = (uint8_t *)cand; break; }
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
        case HOP_LINK_PARTIAL:
            fault_applied(c, fault_class(c, op, 1));
            fw_write1(q, op->a);
            NOTE("link of %p now %#llx", (void *)q, (unsigned long long)fw_read8(q));
            return;
        case HOP_LINK_SELF: link = (uintptr_t)q; break;
        case HOP_LINK_FOREIGN: link = (uintptr_t)foreign_block(); break;
        case HOP_LINK_OTHER: if (!c->other) return; link = (uintptr_t)c->other; break;
        default: return;
        }
        fault_applied(c, fault_class(c, op, 1));
        NOTE("link of %p := %#llx (was %#llx)", (void *)q, (unsigned long long)link, (unsigned long long)fw_read8(q));
        fw_write8(q, link);
        break;
    }
    case HOP_UAF_WRITE: {
        if (s->big || !(q = dangling(c, op->s))) return;
        size_t room = s->usable >= 8 ? s->usable - 7 : 1;
        size_t off = op->a % room;
        if (!writable(c, q + off, 8, 0)) return;
        fault_applied(c, fault_class(c, op, 1));
        fw_write8(q + off, op->val);
        NOTE("wrote %#llx at %p", (unsigned long long)op->val, (void *)(q + off));
        break;
    }
    case HOP_REALLOC_BAD: {
        if (!(q = bad_pointer(c, op, &from_slot))) return;
        fault_applied(c, fault_class(c, op, from_slot));
        void *r = be->realloc(q, op->size);
        NOTE("realloc(%p) -> %p", (void *)q, r);
        if (r) {
            /* Accepted a pointer it should have refused: whatever it did to slot s's
             * block is unknown, so the slot forgets it (without freeing) and holds r. */
            if (s->state == SL_LIVE) iv_remove(c, (uintptr_t)s->p);
            accept_block(c, op->s, r, op->size, 16, 0, 0, NULL);
        }
        break;
    }
    case HOP_USABLE_BAD: {
        if (!(q = bad_pointer(c, op, &from_slot))) return;
        fault_applied(c, fault_class(c, op, from_slot));
        size_t u = be->usable(q);
        NOTE("usable(%p) = %zu", (void *)q, u);
        break;
    }
    }
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
    case HOP_THREAD: break;
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
    _Alignas(16) uint8_t stack_area[4096];
    static hctx ctx;   /* not the heap under test; replays never nest */
    hctx *c = &ctx;
    memset(c, 0, sizeof *c);
    memset((void *)out, 0, offsetof(hrun, fclass));
    memset(out->fclass, 0, (size_t)(n < HOP_MAX ? n : HOP_MAX));
    out->build = be->name;
    out->nops = n;
    out->first_fault = n + 1;
    c->be = be;
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
        while (j < n && ops[j].code != HOP_THREAD) j++;
        c->batch_end = j;
        run_on(c->cur, exec_batch, c);
    }
    /* End of stream: free every live block, return every thread's cache, then check
     * every freelist as if popped, so a poisoned list is seen before the stream ends. */
    c->i = n;
    out->progress = n;
    c->cur = 0;
    for (int si = 0; si < HOP_NSLOTS; si++) if (c->slot[si].state == SL_LIVE) do_free_live(c, si);
    if (be->thread_flush) {
        for (int k = 1; k < HOP_NTHREADS; k++) if (c->used_threads & (1u << k)) run_on(k, flush_thunk, c);
        be->thread_flush();
    }
    if (be->heap_drain) be->heap_drain();
    if (be->set_handler) be->set_handler(on_stray_report, NULL);
    g_live = NULL;
    if (trace) fprintf(trace, "[%s] end: %d report(s), %d harm(s), %d fault(s) applied\n", be->name, out->nreports, out->nharms, out->nfaults);
}

