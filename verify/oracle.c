/* oracle.c - the shadow model, the replay of one op stream against one allocator
 * build, and the differential verdict (the claim is stated in oracle.h).
 *
 * Shadow model: per slot the block's address, requested and usable size, the fill
 * pattern it was given (a pure function of the fill byte, slot, generation and base
 * address, so it can be re-derived instead of stored), and whether an injected fault
 * wrote into it (tainted: contents no longer checked). Live blocks are also kept in an
 * address-sorted interval array: every pointer an allocator returns is checked against
 * it for overlap. A block that fails a check is never written by the harness.
 *
 * Threads: thread 0 is the replaying thread; ops after "thread k" run on worker k,
 * handed over with semaphores (the replaying thread waits), so the schedule is part of
 * the input and replays are deterministic. Workers live for the whole process.
 *
 * Speed matters (>= 100k streams/s on one core without sanitizers): fills and checks
 * touch the first HEAD and last TAIL bytes of a block only, which is where an allocator
 * writes (links at p[0..8), tags at p-1 and at p+usable). */
#include "oracle.h"
#include "fault_write.h"

#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---- backends ----------------------------------------------------------------------- */

#define HAK_BACKEND(var, P, nm) const hbackend var = {                                   \
    nm, P##malloc, P##free, P##calloc, P##realloc, P##posix_memalign, P##aligned_alloc,    \
    P##memalign, P##valloc, P##pvalloc, P##malloc_usable_size, P##set_corruption_handler,  \
    P##thread_flush, P##heap_drain, P##heap_reset, P##owns, P##build_name }
HAK_BACKEND(oracle_release, hak_, "release");
HAK_BACKEND(oracle_debug, hakd_, "debug");

static void *sys_malloc(size_t n) { return malloc(n); }
static void sys_free(void *p) { free(p); }
static void *sys_calloc(size_t n, size_t s) { return calloc(n, s); }
static void *sys_realloc(void *p, size_t n) { return realloc(p, n); }
static int sys_posix_memalign(void **o, size_t a, size_t n) { return posix_memalign(o, a, n); }
static void *sys_aligned_alloc(size_t a, size_t n) { return aligned_alloc(a, n); }
static void *sys_memalign(size_t a, size_t n) { return memalign(a, n); }
static void *sys_valloc(size_t n) { return valloc(n); }
static void *sys_pvalloc(size_t n) { return pvalloc(n); }
static size_t sys_usable(void *p) { return malloc_usable_size(p); }
static const char *sys_name(void) { return "system"; }
const hbackend oracle_system = {
    "system", sys_malloc, sys_free, sys_calloc, sys_realloc, sys_posix_memalign, sys_aligned_alloc,
    sys_memalign, sys_valloc, sys_pvalloc, sys_usable, NULL, NULL, NULL, NULL, NULL, sys_name,
};

const char *oracle_harm_name(int kind)
{
    static const char *const n[HH_NKINDS] = { "none", "misaligned", "out_of_heap", "overlap",
        "too_small", "calloc_not_zero", "contents_changed", "realloc_lost_contents" };
    return kind > 0 && kind < HH_NKINDS ? n[kind] : "?";
}

const char *oracle_status_name(int s)
{
    switch (s) {
    case HV_OK: return "ok";
    case HV_ESCAPE: return "escape";
    case HV_DIVERGENCE: return "divergence";
    case HV_FALSE_ALARM: return "false_alarm";
    case HV_BUG: return "bug";
    default: return "?";
    }
}

/* ---- worker threads ----------------------------------------------------------------- */

/* Hand-off: a flag each way, spun on briefly (a futex wake-up costs tens of
 * microseconds on a busy machine, a spin across cores well under one), then a
 * semaphore sleep. The sleeping flags make the poster wake a sleeper; a post that
 * races with a waker that saw its flag in time is harmless (flags are re-checked). */
#define SPIN_LIMIT 32   /* spins before sleeping: short, 2 cores host 4 harness threads (fuzz-bench: 1000 -> 32 doubled exec/s) */
typedef struct hworker {
    pthread_t th;
    _Atomic int go, done, go_sleeping, done_sleeping;
    sem_t go_sem, done_sem;
    void (*fn)(void *);
    void *arg;
} hworker;
static hworker g_workers[HOP_NTHREADS];
static pid_t g_workers_pid;

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static void wait_flag(_Atomic int *flag, _Atomic int *sleeping, sem_t *sem)
{
    for (int spins = 0; !atomic_load(flag);) {
        if (++spins < SPIN_LIMIT) { cpu_relax(); continue; }
        atomic_store(sleeping, 1);
        if (!atomic_load(flag)) while (sem_wait(sem) && errno == EINTR) {}
        atomic_store(sleeping, 0);
        spins = 0;
    }
    atomic_store(flag, 0);
}

static void raise_flag(_Atomic int *flag, _Atomic int *sleeping, sem_t *sem)
{
    atomic_store(flag, 1);
    if (atomic_load(sleeping)) sem_post(sem);
}

static void *worker_main(void *arg)
{
    hworker *w = arg;
    for (;;) {
        wait_flag(&w->go, &w->go_sleeping, &w->go_sem);
        w->fn(w->arg);
        raise_flag(&w->done, &w->done_sleeping, &w->done_sem);
    }
    return NULL;
}

static int g_workers_up;
static void workers_forget(void) { g_workers_up = 0; }   /* a forked child has none */

static void workers_start(void)
{
    if (g_workers_up) return;
    if (!g_workers_pid) pthread_atfork(NULL, NULL, workers_forget);
    g_workers_pid = getpid();
    g_workers_up = 1;
    for (int k = 1; k < HOP_NTHREADS; k++) {
        hworker *w = &g_workers[k];
        memset(w, 0, sizeof *w);
        sem_init(&w->go_sem, 0, 0);
        sem_init(&w->done_sem, 0, 0);
        if (pthread_create(&w->th, NULL, worker_main, w)) { perror("pthread_create"); abort(); }
    }
}

/* Run fn(arg) on thread k and wait for it. */
static void run_on(int k, void (*fn)(void *), void *arg)
{
    if (k == 0) { fn(arg); return; }
    hworker *w = &g_workers[k];
    w->fn = fn;
    w->arg = arg;
    raise_flag(&w->go, &w->go_sleeping, &w->go_sem);
    wait_flag(&w->done, &w->done_sleeping, &w->done_sem);
}

/* ---- shadow model ------------------------------------------------------------------- */

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
} hslot;

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
} hctx;

/* Fake blocks outside every heap: a global area and a C-library block, each with room
 * for a forged header before the block (a 64-byte large header fits). */
static _Alignas(64) uint8_t g_global_area[16384];
static uint8_t *g_foreign;
extern void *__libc_malloc(size_t);

static uint8_t *global_fake(int idx) { return g_global_area + 1024 + 128 * (idx & 15); }

static uint8_t *foreign_block(void)
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

static int iv_lower(const hctx *c, uintptr_t a)   /* first interval with b > a */
{
    int lo = 0, hi = c->niv;
    while (lo < hi) {
        int m = (lo + hi) / 2;
        if (c->iv[m].b > a) hi = m; else lo = m + 1;
    }
    return lo;
}

/* A live slot overlapping [a, b), or -1. */
static int iv_overlap(const hctx *c, uintptr_t a, uintptr_t b)
{
    int i = iv_lower(c, a);
    return i < c->niv && c->iv[i].a < b ? c->iv[i].slot : -1;
}

static void iv_insert(hctx *c, uintptr_t a, uintptr_t b, int slot)
{
    int i = iv_lower(c, a);
    memmove(&c->iv[i + 1], &c->iv[i], (size_t)(c->niv - i) * sizeof c->iv[0]);
    c->iv[i] = (hiv){ a, b, slot };
    c->niv++;
}

static void iv_remove(hctx *c, uintptr_t a)
{
    int i = iv_lower(c, a);
    if (i < c->niv && c->iv[i].a == a) {
        memmove(&c->iv[i], &c->iv[i + 1], (size_t)(c->niv - i - 1) * sizeof c->iv[0]);
        c->niv--;
    }
}

/* A fault wrote [a, b): live blocks there no longer have known contents. */
static void iv_taint(hctx *c, uintptr_t a, uintptr_t b)
{
    for (int i = iv_lower(c, a); i < c->niv && c->iv[i].a < b; i++) c->slot[c->iv[i].slot].tainted = 1;
}

/* ---- fill patterns ------------------------------------------------------------------ */

static inline uint64_t mix64(uint64_t x)
{
    x ^= x >> 31; x *= 0x7fb5d329728ea185ull;
    x ^= x >> 27; x *= 0x81dadef4bc2dd44dull;
    return x ^ (x >> 33);
}

/* Word w of a block's pattern. Kinds (fill >> 5) include user data that looks like the
 * allocator's own: tags of every family, pointers into the block, to the next block,
 * into the SuperSlab. A correct allocator must not react to any of it. */
static uint64_t pat_word(const hslot *s, int slotno, unsigned w)
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
static inline uint8_t pat_byte(const hslot *s, int slotno, size_t i, size_t ext)
{
    if (ext > HEAD + TAIL && i >= HEAD) {
        size_t j = i - (ext - TAIL);   /* tail: words 64, 65 */
        return (uint8_t)(pat_word(s, slotno, 64 + (unsigned)(j / 8)) >> (8 * (j % 8)));
    }
    return (uint8_t)(pat_word(s, slotno, (unsigned)(i / 8)) >> (8 * (i % 8)));
}

static void pat_fill(const hslot *s, int slotno)
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
static long pat_check(const hslot *s, int slotno, const uint8_t *at, size_t limit)
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
static void on_stray_report(hak_corruption_kind kind, const void *ptr, void *arg)
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

/* ---- crash context -----------------------------------------------------------------
 * If the allocator (or the harness) dies inside a replay, say where before the fuzzer
 * or the sanitizer takes over: one line naming the build, the op and the last fault.
 * A SIGSEGV/SIGBUS/SIGFPE/SIGILL handler chained to the previous one (libFuzzer's or
 * the sanitizer's, which save the input), and ASan's error-report callback. */
static hctx *volatile g_live;
static volatile sig_atomic_t g_crash_said;
static struct sigaction g_old_act[32];

static void say_crash(int sig)
{
    hctx *c = g_live;
    if (!c || g_crash_said) return;
    g_crash_said = 1;
    char line[600], a[160], b[160] = "none";
    int i = c->i, f = -1;
    if (i < c->n) hop_format(&c->ops[i], a, sizeof a); else snprintf(a, sizeof a, "end of stream (free all, flush, drain)");
    for (int k = (i < c->n ? i : c->n - 1); k >= 0; k--) if (k < HOP_MAX && c->out->fclass[k]) { f = k; break; }
    if (f >= 0) hop_format(&c->ops[f], b, sizeof b);
    int n = snprintf(line, sizeof line, "hakmem-oracle: CRASH%s%.0d in the %s build at op %d (thread %d) '%s'; last fault: op %d [F%d] '%s'\n",
                     sig ? " signal " : "", sig, c->be->name, i, c->cur, a, f, f >= 0 ? c->out->fclass[f] : 0, b);
    if (n > 0) { ssize_t w = write(2, line, (size_t)(n < (int)sizeof line ? n : (int)sizeof line - 1)); (void)w; }
}

static void crash_handler(int sig, siginfo_t *si, void *uc)
{
    say_crash(sig);
    struct sigaction *old = &g_old_act[sig];
    if (old->sa_flags & SA_SIGINFO) { if (old->sa_sigaction) { old->sa_sigaction(sig, si, uc); return; } }
    else if (old->sa_handler != SIG_DFL && old->sa_handler != SIG_IGN) { old->sa_handler(sig); return; }
    signal(sig, SIG_DFL);
    raise(sig);
}

/* (Not __sanitizer_set_death_callback: it has one slot, and libFuzzer's callback in it
 * is what writes the crash file.) ASan's error-report callback is free. */
void __asan_set_error_report_callback(void (*)(const char *)) __attribute__((weak));
static void asan_report_callback(const char *report) { (void)report; say_crash(0); }

static void crash_context_init(void)
{
    static int done;
    if (done) return;
    done = 1;
    if (__asan_set_error_report_callback) __asan_set_error_report_callback(asan_report_callback);
    static const int sigs[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL };
    for (unsigned k = 0; k < sizeof sigs / sizeof sigs[0]; k++) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_sigaction = crash_handler;
        sa.sa_flags = SA_SIGINFO | SA_NODEFER | SA_ONSTACK;
        sigemptyset(&sa.sa_mask);
        sigaction(sigs[k], &sa, &g_old_act[sigs[k]]);
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

/* ---- the verdict -------------------------------------------------------------------- */

static int needs_other(const hop *ops, int n)
{
    for (int i = 0; i < n; i++) {
        const hop *o = &ops[i];
        if ((o->code == HOP_FREE_BAD || o->code == HOP_REALLOC_BAD || o->code == HOP_USABLE_BAD) && o->k == HOP_BAD_OTHER) return 1;
        if (o->code == HOP_UAF_LINK && o->k == HOP_LINK_OTHER) return 1;
    }
    return 0;
}

static void *other_block(const hbackend *be)
{
    be->set_handler(on_stray_report, NULL);
    be->heap_reset();
    return be->malloc(48);
}

void oracle_check(const hop *ops, int n, hrun *rel, hrun *dbg, hverdict *v, FILE *trace)
{
    int other = needs_other(ops, n);
    /* Each run starts from a fresh heap; the other heap's block is made just before. */
    oracle_run(&oracle_release, other ? other_block(&oracle_debug) : NULL, ops, n, rel, trace);
    oracle_run(&oracle_debug, other ? other_block(&oracle_release) : NULL, ops, n, dbg, trace);
    oracle_judge(ops, n, rel, dbg, v);
}

static int harm_before_report(const hrun *r)
{
    return r->nharms && (!r->nreports || r->harm[0].seq < r->rep[0].seq);
}

static void describe_run(char *b, size_t cap, const hrun *r)
{
    size_t o = 0;
    if (r->died) o += (size_t)snprintf(b + o, cap - o, "died of signal %d at op %d", r->died, r->died_op);
    else if (r->nreports) o += (size_t)snprintf(b + o, cap - o, "reported %s at op %d (ptr %#lx)", hak_corruption_name(r->rep[0].kind), r->rep[0].op, (unsigned long)r->rep[0].ptr);
    else o += (size_t)snprintf(b + o, cap - o, "no report");
    if (o < cap && harm_before_report(r)) {
        const hevent *h = &r->harm[0];
        o += (size_t)snprintf(b + o, cap - o, "%s handed out a bad block at op %d: %s, slot %d ptr %#lx",
                              r->nreports ? ", but first" : ",", h->op, oracle_harm_name(h->kind), h->slot, (unsigned long)h->ptr);
        if (o < cap && h->other >= 0) snprintf(b + o, cap - o, " overlapping slot %d", h->other);
    }
}

static int first_op(const hrun *r) { return r->died ? r->died_op : r->nreports ? r->rep[0].op : -1; }

/* The fault a detection is attributed to: the latest applied fault at or before op. */
static int attribute(const hrun *r, int op)
{
    if (op > r->nops) op = r->nops;
    int lim = op < HOP_MAX ? op : HOP_MAX - 1;
    for (int i = lim; i >= 0; i--) if (i < r->nops && r->fclass[i]) return i;
    return r->nfaults ? r->first_fault : -1;
}

void oracle_judge(const hop *ops, int n, const hrun *rel, const hrun *dbg, hverdict *v)
{
    char a[320], b[320], optext[160];
    memset(v, 0, sizeof *v);
    v->dbg_op = first_op(dbg);
    v->rel_op = first_op(rel);
    v->delay = v->dbg_op >= 0 && v->rel_op >= 0 ? v->rel_op - v->dbg_op : -1;
    v->rel_escape = harm_before_report(rel);
    v->dbg_escape = harm_before_report(dbg);
    /* attribution: what debug detected, else release, else the first harm, else the first fault */
    const hrun *src = v->dbg_op >= 0 ? dbg : rel;
    int at = v->dbg_op >= 0 ? v->dbg_op : v->rel_op >= 0 ? v->rel_op
           : rel->nharms ? rel->harm[0].op : dbg->nharms ? dbg->harm[0].op : -1;
    v->fault_op = at >= 0 ? attribute(src, at) : (rel->nfaults ? rel->first_fault : -1);
    if (v->fault_op < 0 && dbg->nfaults) v->fault_op = dbg->first_fault;
    v->cls = v->fault_op >= 0 && v->fault_op < n ? (src->fclass[v->fault_op] ? src->fclass[v->fault_op]
                                                    : (rel->fclass[v->fault_op] ? rel->fclass[v->fault_op] : dbg->fclass[v->fault_op])) : 0;
    if (v->fault_op >= 0 && v->fault_op < n) hop_format(&ops[v->fault_op], optext, sizeof optext);
    else snprintf(optext, sizeof optext, "(no fault)");
    describe_run(a, sizeof a, dbg);
    describe_run(b, sizeof b, rel);

    const hrun *runs[2] = { rel, dbg };
    for (int k = 0; k < 2; k++) {
        const hrun *r = runs[k];
        if (r->nreports && r->rep[0].op < r->first_fault) {
            v->status = HV_FALSE_ALARM;
            snprintf(v->msg, sizeof v->msg, "hakmem-oracle: FALSE ALARM: %s build reported %s at op %d before any fault was applied "
                     "(first fault: op %d) | debug: %s | release: %s", r->build, hak_corruption_name(r->rep[0].kind),
                     r->rep[0].op, r->nfaults ? r->first_fault : -1, a, b);
            return;
        }
        if (r->nharms && r->harm[0].op < r->first_fault && harm_before_report(r)) {
            v->status = HV_BUG;
            snprintf(v->msg, sizeof v->msg, "hakmem-oracle: BUG: %s build did harm at op %d with no fault applied before it: %s slot %d "
                     "| debug: %s | release: %s", r->build, r->harm[0].op, oracle_harm_name(r->harm[0].kind), r->harm[0].slot, a, b);
            return;
        }
    }
    if (v->dbg_op >= 0 && (v->rel_op < 0 || v->rel_escape)) {
        v->status = HV_DIVERGENCE;
        snprintf(v->msg, sizeof v->msg, "hakmem-oracle: DIVERGENCE at op %d [F%d] '%s': debug %s | release (%s) %s",
                 v->fault_op, v->cls, optext, a, rel->build, b);
        return;
    }
    if (v->rel_escape || v->dbg_escape) {
        v->status = HV_ESCAPE;
        snprintf(v->msg, sizeof v->msg, "hakmem-oracle: ESCAPE at op %d [F%d] '%s': harm nobody reported first | debug: %s | release: %s",
                 v->fault_op, v->cls, optext, a, b);
        return;
    }
    v->status = HV_OK;
}

/* ---- fuzz entry and statistics ------------------------------------------------------ */

int oracle_abort_on_violation = 1;
int oracle_escapes_fatal = 0;

typedef struct hstats_class {
    unsigned long streams, dbg, rel, both, diverge, escape, false_alarm, bug;
    unsigned long delay[65];   /* delay in ops, 64 = 64 or more */
} hstats_class;
static struct {
    const char *target;
    const char *path;
    unsigned long inputs, ops, faults;
    hstats_class cls[HOP_NCLASSES];
    time_t last_write;
    const char *escape_dir;
    unsigned escapes_saved;
    int ready;
} g_stats;

static void stats_atexit(void) { oracle_stats_flush(); }

void oracle_stats_init(const char *target)
{
    if (g_stats.ready) return;
    g_stats.ready = 1;
    g_stats.target = target;
    g_stats.path = getenv("HAKMEM_FUZZ_STATS");
    g_stats.escape_dir = getenv("HAKMEM_FUZZ_ESCAPES");
    const char *e = getenv("HAKMEM_FUZZ_ESCAPES_FATAL");
    if (e && *e == '1') oracle_escapes_fatal = 1;
    if (g_stats.path && *g_stats.path) atexit(stats_atexit);
}

void oracle_stats_flush(void)
{
    if (!g_stats.path || !*g_stats.path) return;
    char fn[4096], tmp[4200];
    snprintf(fn, sizeof fn, "%s.%d.json", g_stats.path, (int)getpid());
    snprintf(tmp, sizeof tmp, "%s.tmp", fn);
    FILE *f = fopen(tmp, "w");
    if (!f) return;
    fprintf(f, "{\"target\": \"%s\", \"build\": \"%s\", \"inputs\": %lu, \"ops\": %lu, \"faults\": %lu, \"classes\": {",
            g_stats.target ? g_stats.target : "?", hak_build_name(), g_stats.inputs, g_stats.ops, g_stats.faults);
    for (int k = 0; k < HOP_NCLASSES; k++) {
        const hstats_class *s = &g_stats.cls[k];
        fprintf(f, "%s\"%s%d\": {\"streams\": %lu, \"debug\": %lu, \"release\": %lu, \"both\": %lu, \"divergences\": %lu, "
                "\"escapes\": %lu, \"false_alarms\": %lu, \"bugs\": %lu, \"delay\": [", k ? ", " : "", k ? "F" : "none", k,
                s->streams, s->dbg, s->rel, s->both, s->diverge, s->escape, s->false_alarm, s->bug);
        for (int d = 0; d < 65; d++) fprintf(f, "%s%lu", d ? "," : "", s->delay[d]);
        fprintf(f, "]}");
    }
    fprintf(f, "}}\n");
    fclose(f);
    rename(tmp, fn);
}

static void stats_add(const hverdict *v, int nops, int nfaults)
{
    hstats_class *s = &g_stats.cls[v->cls < HOP_NCLASSES ? v->cls : 0];
    g_stats.inputs++;
    g_stats.ops += (unsigned long)nops;
    g_stats.faults += (unsigned long)nfaults;
    s->streams++;
    if (v->dbg_op >= 0) s->dbg++;
    if (v->rel_op >= 0) s->rel++;
    if (v->dbg_op >= 0 && v->rel_op >= 0) {
        s->both++;
        int d = v->delay < 0 ? 0 : v->delay > 64 ? 64 : v->delay;
        s->delay[d]++;
    }
    switch (v->status) {
    case HV_DIVERGENCE: s->diverge++; break;
    case HV_ESCAPE: s->escape++; break;
    case HV_FALSE_ALARM: s->false_alarm++; break;
    case HV_BUG: s->bug++; break;
    }
    if (g_stats.path && (g_stats.inputs & 255) == 0) {
        time_t now = time(NULL);
        if (now - g_stats.last_write >= 2) { g_stats.last_write = now; oracle_stats_flush(); }
    }
}

static void save_escape(const hop *ops, int n, const hverdict *v)
{
    if (!g_stats.escape_dir || g_stats.escapes_saved >= 50) return;
    uint64_t h = 1469598103934665603ull;
    const uint8_t *b = (const uint8_t *)ops;
    for (size_t i = 0; i < (size_t)n * sizeof *ops; i++) h = (h ^ b[i]) * 1099511628211ull;
    char fn[4096];
    snprintf(fn, sizeof fn, "%s/escape-%016llx.txt", g_stats.escape_dir, (unsigned long long)h);
    FILE *f = fopen(fn, "w");
    if (!f) return;
    fprintf(f, "%s\n# %s\n", HOP_TEXT_MAGIC, v->msg);
    for (int i = 0; i < n; i++) { char t[160]; fprintf(f, "%s\n", hop_format(&ops[i], t, sizeof t)); }
    fclose(f);
    g_stats.escapes_saved++;
}

static hop g_ops[HOP_MAX];
static hrun g_rel, g_dbg;

int oracle_fuzz_input(const uint8_t *data, size_t size, hop_dialect d, hverdict *out)
{
    hverdict v;
    int n;
    if (!g_stats.ready) oracle_stats_init(hop_dialect_name(d));
    if (hop_is_text(data, size)) {
        char err[256];
        n = hop_parse_text((const char *)data, size, g_ops, HOP_MAX, err, sizeof err);
        if (n < 0) {
            if (!oracle_abort_on_violation) fprintf(stderr, "hakmem-oracle: text input: %s\n", err);
            if (out) { memset(out, 0, sizeof *out); out->status = -1; snprintf(out->msg, sizeof out->msg, "%s", err); }
            return -1;
        }
    } else {
        n = hop_decode(d, data, size, g_ops, HOP_MAX);
    }
    oracle_check(g_ops, n, &g_rel, &g_dbg, &v, NULL);
    stats_add(&v, n, g_rel.nfaults);
    if (v.status == HV_ESCAPE) save_escape(g_ops, n, &v);
    if (out) *out = v;
    if (v.status >= HV_DIVERGENCE || (v.status == HV_ESCAPE && oracle_escapes_fatal)) {
        if (oracle_abort_on_violation) {
            fprintf(stderr, "%s\n", v.msg);
            oracle_stats_flush();
            abort();
        }
    }
    return v.status;
}
