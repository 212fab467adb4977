/* oracle.h - replay an op stream against an allocator build with a shadow model, and
 * the differential verdict between the release and the debug build.
 *
 * The claim checked (docs/claim.md states it in full):
 *   agreement     if debug reports a corruption, release reports one too, before the
 *                 stream ends and before it hands out a block the shadow says is bad;
 *   no false alarm no report before the first fault the stream actually applied;
 *   no silent harm harm (a bad block handed out, live contents changed) that a build
 *                 did not report first is an escape, listed separately.
 */
#ifndef HAKMEM_HARNESS_ORACLE_H
#define HAKMEM_HARNESS_ORACLE_H

#include <stdint.h>
#include <stdio.h>

#include "hakmem.h"
#include "ops.h"

/* One allocator under test: a prefixed hakmem build or the C library's malloc. */
typedef struct hbackend {
    const char *name;
    void  *(*malloc)(size_t);
    void   (*free)(void *);
    void  *(*calloc)(size_t, size_t);
    void  *(*realloc)(void *, size_t);
    int    (*posix_memalign)(void **, size_t, size_t);
    void  *(*aligned_alloc)(size_t, size_t);
    void  *(*memalign)(size_t, size_t);
    void  *(*valloc)(size_t);
    void  *(*pvalloc)(size_t);
    size_t (*usable)(void *);
    /* hakmem only (NULL for the C library) */
    hak_corruption_fn (*set_handler)(hak_corruption_fn, void *);
    void   (*thread_flush)(void);
    void   (*heap_drain)(void);
    void   (*heap_reset)(void);
    int    (*owns)(const void *, size_t);
    const char *(*build_name)(void);
    int    (*trim)(size_t);          /* malloc_trim (the C library's too) */
    size_t (*block_size)(const void *);   /* hakmem only: the metadata's usable size, unchecked */
    void   (*geometry)(size_t *, size_t *);   /* hakmem only: slab and SuperSlab sizes */
} hbackend;

extern const hbackend oracle_release;   /* hak_*: release or a weakened variant */
extern const hbackend oracle_debug;     /* hakd_* */
extern const hbackend oracle_system;    /* malloc & co. of the process (glibc, or an LD_PRELOADed one) */

/* Harm the shadow model saw (a block the allocator should never have handed out). */
enum {
    HH_ALIGN = 1,   /* pointer not 16-aligned (or not aligned as requested) */
    HH_FOREIGN,     /* not inside memory this heap manages */
    HH_OVERLAP,     /* overlaps a live block */
    HH_SMALL,       /* usable size smaller than requested */
    HH_CALLOC,      /* calloc block not zeroed */
    HH_CONTENT,     /* contents of an untainted live block changed */
    HH_REALLOC,     /* realloc lost contents */
    HH_NKINDS
};
const char *oracle_harm_name(int kind);

/* Every event is judged: a run keeps every applied fault (at most one an op) and up to
 * HR_MAXEV reports and harms each; a run with more is not judged ok (oracle_judge: it
 * is a divergence, "more events than the judge holds"), never judged by what fits. */
#define HR_MAXEV 1024
#define HR_MAXF  HOP_MAX
#define HR_NSUBJ 6

/* Phases of a run: the ops; the end of stream a program could do too (free every live
 * block, every thread returns its cache: thread exit); the harness-only drain (every
 * freelist checked as if popped), which production never runs; and the harness's own
 * probe of each block handed out (malloc_usable_size), which no program makes either. */
enum { HP_STREAM, HP_END, HP_DRAIN, HP_PROBE };

typedef struct hevent {
    int op;            /* op index; n for the end of stream, n + 1 for the drain */
    uint32_t seq;      /* order of events within the run */
    int kind;          /* hak_corruption_kind or HH_* */
    int slot;          /* harm: the slot concerned, -1 if none */
    int other;         /* harm: the overlapped slot, -1 if none */
    int phase;         /* HP_* */
    int fault;         /* op index of the fault the event is about, -1 if none was applied */
    int by_subject;    /* 1: its pointer lies in that fault's subject; 0: latest fault before it */
    int reported;      /* harm: a report of this build about its fault (or any, by order) came before */
    uintptr_t ptr;
} hevent;

/* What an applied fault is about: address ranges in this run's heap (the pointer freed,
 * the block written, the link target, every block whose metadata a write reached). */
typedef struct hsubj { uintptr_t lo, hi; } hsubj;
typedef struct hfault {
    int op;
    uint8_t cls, nsub;
    hsubj sub[HR_NSUBJ];
} hfault;

typedef struct hrun {
    const char *build;
    int nops;
    int nreports, nharms;          /* counts (events beyond HR_MAXEV are counted only: not judged ok) */
    int nreal;                     /* reports not raised by the harness's own probe (HP_PROBE) */
    int first_fault;               /* op index of the first applied fault, nops+2 if none */
    int nfaults;                   /* applied faults */
    int nskipped;                  /* faults not applied: they would not have changed memory here */
    int nasym;                     /* faults applied in the release run that changed nothing here */
    int nf;                        /* faults with subjects in f[] */
    uint8_t fclass[HOP_MAX];       /* class of the fault each op applied (0: none) */
    uint8_t noop[HOP_MAX];         /* 1: op i was a fault that would not have changed memory */
    uint8_t freported[HOP_MAX];    /* 1: a report about the fault of op i came (every report but probes', not only rep[]) */
    const uint8_t *skip;           /* in: faults to skip (the release run's noop[]), or NULL */
    volatile int progress;         /* op being replayed (read by a parent after a crash) */
    int died;                      /* system backend: the child died of signal `died` */
    int died_op;
    /* the arrays last: a run clears only the counts above (entries past them are never read) */
    hevent rep[HR_MAXEV], harm[HR_MAXEV];
    hfault f[HR_MAXF];
} hrun;

enum { HV_OK, HV_ESCAPE, HV_DIVERGENCE, HV_FALSE_ALARM, HV_BUG };
const char *oracle_status_name(int status);

/* A release report covers a debug detection only if it is about the same fault and
 * comes at most this many ops after it (the distribution is reported). */
#define HV_DELAY_MAX 16

typedef struct hverdict {
    int status;
    int cls;          /* attributed fault class (HOP_F*), 0 if the stream applied none */
    int fault_op;     /* op index of the attributed fault, -1 */
    int dbg_op, rel_op;       /* first detection of each build (in the stream, else at the drain), -1 none */
    int rel_cover_op; /* the release report that covers debug's detection, -1 none */
    int delay;        /* rel_cover_op - dbg_op if covered, else -1 (negative: release was first) */
    int dbg_drain, rel_drain;    /* the build's first detection came only at the drain */
    int rel_escape, dbg_escape;  /* harm before the build reported the fault behind it */
    int skipped;      /* faults skipped as no-ops (the release run) */
    char msg[1200];   /* one line explaining a non-OK status */
} hverdict;

/* Replay ops against `be` (reset first if it is a hakmem build). `other` is a live
 * block of another heap (for the "other" bad pointer / link), or NULL. */
void oracle_run(const hbackend *be, void *other, const hop *ops, int n, hrun *out, FILE *trace);

/* Replay against the release-side build and the debug build, and judge. */
void oracle_check(const hop *ops, int n, hrun *rel, hrun *dbg, hverdict *v, FILE *trace);
/* The verdict from two runs (exposed for the system/peer replays). */
void oracle_judge(const hop *ops, int n, const hrun *rel, const hrun *dbg, hverdict *v);

#endif
