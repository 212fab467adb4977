/* exhaustive.c - bounded-exhaustive mode: every op stream of up to DEPTH symbols over a
 * small-scope alphabet, each replayed through the oracle in-process (oracle_check), so
 * "no divergence up to depth k" is a statement about every such stream, not a sample.
 *
 *   hakmem-exhaustive [--depth K] [--slots N] [--checkpoint FILE] [--out DIR]
 *                     [--expect STATUS] [--escapes-ok] [--status-every S] [--budget S]
 *                     [--replay CMD] [--keep-going] [--known LIST] [--dump DIR [--dump-target T]]
 *                     [--count] [--list]
 *
 * The alphabet (x_alphabet below, one line per symbol) is text ops with slot
 * placeholders: $s and $t are slots (0..N-1, $t != $s), renamed away by symmetry:
 * a stream is enumerated only in canonical first-use order (the first slot a stream
 * names is 0, the next new one 1, ...), so streams that differ by a renaming of slots
 * are run once. Sizes are one representative per size class (two tiny classes, one
 * mid, one large, one huge: a mapping of its own): sizes of one class are equivalent.
 * `trim` (malloc_trim(0)) gives back what the heap can between any two symbols. A
 * symbol may be several ops (';'-separated): the layouts "spray" (8 blocks of a class through the cache onto its
 * slab freelist, in scratch slots >= 40) and "pop" (8 allocations that refill from
 * that list) put freelist faults within a few symbols. Each symbol has a
 * precondition on the state of its slots (e empty, l live, f freed) and the current
 * thread; streams in which an op would do nothing (free of an empty slot, a link fault
 * on a live block, a switch to the current thread) are not enumerated.
 *
 * Streams are checked depth by depth (all streams of 1 symbol, then of 2, ...). The
 * checkpoint file records the finished depths and the position in the current one,
 * for the same alphabet and the same executable; a run given the same file resumes.
 * A status line goes to stderr every few seconds. At the end: a Markdown table of
 * streams per depth and verdicts. The first violation (divergence, false alarm, bug,
 * escape; --escapes-ok only counts escapes) is written as a text op file in DIR and the
 * program exits 1 with the command that replays it; with --expect STATUS it exits 0
 * only if the first violation has that status (a weakened build must be caught).
 * With --keep-going it goes on, counts violations per depth and writes the first stream
 * of each kind (status, class, fault op), exiting 1 at the end if there was any.
 * --known names known holes, comma-separated patterns: the words the fault op's text
 * has, in order ("attack forge_df", "poke copy"); a violation in a stream that applied
 * such a fault is counted apart and does not fail the run (so a new hole in the same
 * stream would be masked: the open holes are few and listed).
 * A crash or a hang inside a replay writes the stream the same way (exit 3; exit 0
 * with --expect crash / --expect hang). */
#include "fuzz_entry.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* The small-scope alphabet. pre: per placeholder the states allowed ("s:l" = $s must be
 * live); "T0"/"T1": only on thread 0 / not on thread 0 (thread switches). */
typedef struct xsym { const char *ops, *pre; } xsym;
static const xsym x_alphabet[] = {
    /* ordinary ops: two tiny classes, one mid, one large, one huge; trim */
    { "alloc $s 32",                       "s:e" },
    { "alloc $s 100",                      "s:e" },
    { "alloc $s 3000",                     "s:e" },
    { "alloc $s 300000",                   "s:e" },
    { "alloc $s 4194304",                  "s:e" },   /* huge: a mapping of its own, beyond a large region */
    { "free $s",                           "s:l" },
    { "realloc $s 100",                    "s:l" },
    { "flush",                             "" },
    { "trim",                              "" },      /* malloc_trim(0): empty slabs, regions, cached mappings go */
    { "thread 1",                          "T0" },
    { "thread 0",                          "T1" },
    /* layouts (scratch slots 40-55) */
    { "alloc 40 32; alloc 41 32; alloc 42 32; alloc 43 32; alloc 44 32; alloc 45 32; alloc 46 32; alloc 47 32;"
      "free 40; free 41; free 42; free 43; free 44; free 45; free 46; free 47; flush", "" },
    { "alloc 48 32; alloc 49 32; alloc 50 32; alloc 51 32; alloc 52 32; alloc 53 32; alloc 54 32; alloc 55 32", "" },
    /* F1 double free, F8 freed pointer */
    { "double_free $s",                    "s:f" },
    { "realloc_bad $s freed 32",           "s:f" },
    { "realloc_bad $s freed 18446744073709551615", "s:f" },   /* a bad pointer behind an impossible size */
    { "usable_bad $s freed",               "s:f" },
    /* F8 the other bad pointers realloc and usable size validate alike (before the size) */
    { "realloc_bad $s interior 0 32",      "s:l" },
    { "usable_bad $s interior 0",          "s:l" },
    { "realloc_bad 0 wild 0 32",           "" },
    { "usable_bad 0 stack",                "" },
    /* F2 bad pointers: into the block, past the carved blocks, outside the heap */
    { "free_bad $s interior 0",            "s:l" },
    { "free_bad $s misaligned 0",          "s:l" },
    { "write $s fill 0x25",                "s:l" },   /* first byte = the canary: p + 1 looks like a block */
    { "free_bad $s uncarved 0",            "s:lf" },
    { "free_bad 0 stack",                  "" },
    { "free_bad 0 global own",             "" },
    { "free_bad 0 foreign",                "" },
    { "free_bad 0 other",                  "" },
    { "free_bad 0 wild 0",                 "" },
    /* F3 forged tag byte / copied header, F4 the next block's tag, F5 the own tag */
    { "forge $s 2 own",                    "s:l" },
    { "forge $s 4 own64",                  "s:l" },
    { "overflow $s 1 0x00",                "s:l" },
    { "overflow $s 16 0x41",               "s:l" },
    { "underflow $s 1 0x00",               "s:l" },
    { "underflow $s 8 0x41",               "s:l" },
    /* F6 freed block's link: null, self, each live or freed slot, another slab's
     * stride, outside the heap, a tag forged in a live block, the other heap */
    { "uaf_link $s null",                  "s:f" },
    { "uaf_link $s self",                  "s:f" },
    { "uaf_link $s slot $t +0",            "s:f t:lf" },
    { "uaf_link $s stride $t +1",          "s:f t:lf" },
    { "uaf_link $s global own",            "s:f" },
    { "uaf_link $s forged $t 0 own",       "s:f t:l" },
    /* the same link to a live block, with $s on its slab's freelist (not in the cache) */
    { "free $s; flush; uaf_link $s slot $t +0", "s:l t:l" },
    /* ... into the target's own 16-byte granule (its state entry is the target's: only
     * the stride check rejects it), and a cycle on a freelisted block (only the retag
     * on pop breaks it) */
    { "free $s; flush; uaf_link $s slot $t +8", "s:l t:lf" },
    { "free $s; flush; uaf_link $s self",  "s:l" },
    { "uaf_link $s partial 0x00",          "s:f" },
    { "uaf_link $s foreign",               "s:f" },
    { "uaf_link $s other",                 "s:f" },
    { "uaf_link $s wild 0",                "s:f" },
    { "uaf_write $s 8 0x4141414141414141", "s:f" },
    /* poke: the next block's tag, another block's tag or header copied over the own,
     * a live block's header copied onto a freed one */
    { "poke $s end -1 1 byte 0x00",        "s:l" },
    { "poke $s start -1 1 copy $t",        "s:l t:lf" },
    { "poke $s start -16 16 copy $t",      "s:f t:l" },
    /* attacks: a forged header then a double free; a forged header and a link to a live block */
    { "attack forge_df $s",                "s:f" },
    { "attack forge_link $s $t",           "s:f t:l" },
    /* F2 a pointer into the block's header */
    { "free_bad $s header 0",              "s:l" },
    /* layouts: the block at a slab's end (496 bytes: its class's last block ends at a
     * 32 KiB slab's end, and at the SuperSlab's; make test-exhaustive checks it does),
     * 64 held blocks */
    { "edge $s 496 slab",                  "s:e" },
    { "hold 64 32",                        "" },
};
#define X_NSYM ((int)(sizeof x_alphabet / sizeof x_alphabet[0]))
#define X_MAXSLOTS 4
#define X_MAXOPS 24      /* ops per symbol */
#define X_MAXDEPTH 12

enum { XS_E, XS_L, XS_F };

typedef struct xinst {   /* one symbol with its slots filled in */
    hop op[X_MAXOPS];
    int n;
} xinst;
static xinst g_inst[X_NSYM][X_MAXSLOTS][X_MAXSLOTS];
static unsigned g_pre[X_NSYM][2];   /* allowed states (bit mask) of $s, $t; 0: no such placeholder */
static int g_thread_pre[X_NSYM];    /* 0 none, 1: only on thread 0, 2: only off thread 0 */
static int g_nslots = 3;

typedef struct xstate {
    uint8_t st[X_MAXSLOTS];
    uint8_t used;        /* slots named so far (canonical order) */
    uint8_t cur;         /* current thread */
} xstate;

/* ---- alphabet ------------------------------------------------------------------------ */

static void die(const char *fmt, const char *a, const char *b)
{
    fprintf(stderr, "hakmem-exhaustive: ");
    fprintf(stderr, fmt, a, b);
    fprintf(stderr, "\n");
    exit(2);
}

static unsigned parse_states(const char *p)
{
    unsigned m = 0;
    for (; *p && *p != ' '; p++) m |= *p == 'e' ? 1u << XS_E : *p == 'l' ? 1u << XS_L : *p == 'f' ? 1u << XS_F : 0;
    return m;
}

static void build_alphabet(void)
{
    for (int k = 0; k < X_NSYM; k++) {
        const char *pre = x_alphabet[k].pre, *p;
        if ((p = strstr(pre, "s:"))) g_pre[k][0] = parse_states(p + 2);
        if ((p = strstr(pre, "t:"))) g_pre[k][1] = parse_states(p + 2);
        if (strstr(pre, "T0")) g_thread_pre[k] = 1;
        if (strstr(pre, "T1")) g_thread_pre[k] = 2;
        int has_s = strstr(x_alphabet[k].ops, "$s") != NULL, has_t = strstr(x_alphabet[k].ops, "$t") != NULL;
        if (has_s != (g_pre[k][0] != 0) || has_t != (g_pre[k][1] != 0))
            die("symbol '%s': placeholders and precondition '%s' disagree", x_alphabet[k].ops, pre);
        for (int s = 0; s < X_MAXSLOTS; s++)
            for (int t = 0; t < X_MAXSLOTS; t++) {
                char text[1024], line[256], err[200];
                size_t o = 0;
                for (const char *q = x_alphabet[k].ops; *q && o + 4 < sizeof text; q++) {
                    if (q[0] == '$' && (q[1] == 's' || q[1] == 't')) { o += (size_t)snprintf(text + o, sizeof text - o, "%d", q[1] == 's' ? s : t); q++; }
                    else text[o++] = *q;
                }
                text[o] = 0;
                xinst *in = &g_inst[k][s][t];
                in->n = 0;
                for (char *save = NULL, *tok = strtok_r(text, ";", &save); tok; tok = strtok_r(NULL, ";", &save)) {
                    snprintf(line, sizeof line, "%s", tok);
                    if (in->n == X_MAXOPS) die("symbol '%s': more than X_MAXOPS ops%s", x_alphabet[k].ops, "");
                    if (hop_parse_line(line, &in->op[in->n], err, sizeof err) != 1) die("alphabet op '%s': %s", line, err);
                    in->n++;
                }
            }
    }
}

/* Abstract effect of one op on the slot states (the precondition model). */
static void step(xstate *x, const hop *op)
{
    if (op->code == HOP_THREAD) { x->cur = op->a; return; }
    if (op->s >= g_nslots) return;
    switch (op->code) {
    case HOP_ALLOC: case HOP_CALLOC: case HOP_ALIGNED: case HOP_EDGE: x->st[op->s] = XS_L; break;
    case HOP_REALLOC: x->st[op->s] = op->size == 0 && x->st[op->s] == XS_L ? XS_F : XS_L; break;
    case HOP_FREE: if (x->st[op->s] == XS_L) x->st[op->s] = XS_F; break;
    default: break;
    }
}

/* ---- enumeration --------------------------------------------------------------------- */

/* streams, by verdict; those with a fault op (withf) and of those the ones in which
 * neither build applied any (idle: a fault that would not have changed memory, or had
 * nothing to act on, is skipped: such a stream checks only its ordinary ops) */
typedef struct xcount { unsigned long long streams, st[5], withf, idle; double secs; } xcount;

static hop g_ops[HOP_MAX];
static int g_nops;
static int g_depth_now;          /* the depth being enumerated */
static int g_sym[X_MAXDEPTH], g_sym_s[X_MAXDEPTH], g_sym_t[X_MAXDEPTH];
static unsigned long long g_index, g_skip;   /* streams seen at this depth; to skip (resume) */
static int g_checking;
static const char *g_dump;       /* --dump DIR: write every stream there (binary, --dump-target's dialect) */
static hop_dialect g_dump_dialect = HOP_DIALECT_OPS;
static xcount g_cnt;
static const char *g_out = "build/exhaustive";
static const char *g_replay = "build/hakmem-replay";   /* --replay: the command that replays a stream */
static const char *g_expect;
static int g_escapes_fatal = 1;   /* an escape is a violation (--escapes-ok: only counted) */
static int g_keep_going;         /* --keep-going: count violations, write the first of each kind */
static unsigned long long g_violations, g_known_hits;
static char g_known[16][64];     /* --known LIST: violations whose fault op matches are known holes */
static int g_nknown;
static unsigned long long g_known_count[16];
static char g_seen_kind[64][48];
static int g_nseen_kind;
static volatile int g_running;   /* a replay is under way (for the crash handler) */

static void write_stream(const char *why, const char *msg, char *path, size_t cap)
{
    mkdir(g_out, 0777);
    unsigned long long h = 1469598103934665603ull;
    for (int i = 0; i < g_nops; i++) {
        const uint8_t *b = (const uint8_t *)&g_ops[i];
        for (size_t j = 0; j < sizeof g_ops[i]; j++) h = (h ^ b[j]) * 1099511628211ull;
    }
    snprintf(path, cap, "%s/%s-%016llx.txt", g_out, why, h);
    FILE *f = fopen(path, "w");
    if (!f) { snprintf(path, cap, "(could not write %s/: %s)", g_out, strerror(errno)); return; }
    fprintf(f, "%s\n# hakmem-exhaustive: %s, depth %d (%d ops), build %s\n# %s\n", HOP_TEXT_MAGIC, why, g_depth_now, g_nops,
            hak_build_name(), msg);
    for (int i = 0; i < g_nops; i++) { char t[160]; fprintf(f, "%s\n", hop_format(&g_ops[i], t, sizeof t)); }
    fclose(f);
}

static void on_fatal_signal(int sig)
{
    if (!g_running) { signal(sig, SIG_DFL); raise(sig); return; }
    char path[512], msg[64];
    snprintf(msg, sizeof msg, "%s in a replay", sig == SIGALRM ? "a hang (no progress)" : strsignal(sig));
    write_stream(sig == SIGALRM ? "hang" : "crash", msg, path, sizeof path);
    fprintf(stderr, "hakmem-exhaustive: %s; stream written to %s\n  replay: %s --trace %s\n", msg, path, g_replay, path);
    if (g_expect && !strcmp(g_expect, sig == SIGALRM ? "hang" : "crash")) {
        fprintf(stderr, "hakmem-exhaustive: expected %s: found\n", g_expect);
        _exit(0);
    }
    _exit(3);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static const char *g_ckpt;
static unsigned long long g_ckpt_id;
static xcount g_done[X_MAXDEPTH + 1];
static unsigned long long g_total_now;
static double g_t_depth, g_next_status, g_status_every = 3;
static double g_deadline;        /* --budget: stop (resumable) at this time, 0: none */
static int g_out_of_time;
static unsigned long long g_counted;   /* streams counted (the count pass checks the deadline too) */

static void checkpoint_write(void)
{
    if (!g_ckpt) return;
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", g_ckpt);
    FILE *f = fopen(tmp, "w");
    if (!f) return;
    fprintf(f, "hakmem-exhaustive-checkpoint2 %016llx %d\n", g_ckpt_id, g_nslots);
    for (int d = 1; d < g_depth_now; d++)
        fprintf(f, "done %d %llu %llu %llu %llu %llu %llu %llu %llu %.2f\n", d, g_done[d].streams, g_done[d].st[0],
                g_done[d].st[1], g_done[d].st[2], g_done[d].st[3], g_done[d].st[4], g_done[d].withf, g_done[d].idle,
                g_done[d].secs);
    fprintf(f, "at %d %llu %llu %llu %llu %llu %llu %llu %llu %.2f\n", g_depth_now, g_index, g_cnt.st[0], g_cnt.st[1],
            g_cnt.st[2], g_cnt.st[3], g_cnt.st[4], g_cnt.withf, g_cnt.idle, g_cnt.secs + (now_s() - g_t_depth));
    fclose(f);
    rename(tmp, g_ckpt);
}

/* Reads the checkpoint; returns the depth to resume at (1: none) and sets g_skip. */
static int checkpoint_read(void)
{
    if (!g_ckpt) return 1;
    FILE *f = fopen(g_ckpt, "r");
    if (!f) return 1;
    char line[512];
    unsigned long long id = 0;
    int slots = 0, at = 1;
    if (!fgets(line, sizeof line, f) || sscanf(line, "hakmem-exhaustive-checkpoint2 %llx %d", &id, &slots) != 2 ||
        id != g_ckpt_id || slots != g_nslots) {
        fprintf(stderr, "hakmem-exhaustive: checkpoint %s is for another alphabet or executable: starting over\n", g_ckpt);
        fclose(f);
        return 1;
    }
    while (fgets(line, sizeof line, f)) {
        int d;
        xcount c = { 0 };
        unsigned long long a = 0;
        if (sscanf(line, "done %d %llu %llu %llu %llu %llu %llu %llu %llu %lf", &d, &c.streams, &c.st[0], &c.st[1], &c.st[2],
                   &c.st[3], &c.st[4], &c.withf, &c.idle, &c.secs) == 10 && d >= 1 && d <= X_MAXDEPTH) { g_done[d] = c; at = d + 1; }
        else if (sscanf(line, "at %d %llu %llu %llu %llu %llu %llu %llu %llu %lf", &d, &a, &c.st[0], &c.st[1], &c.st[2],
                        &c.st[3], &c.st[4], &c.withf, &c.idle, &c.secs) == 10 && d == at) { g_skip = a; g_cnt = c; }
    }
    fclose(f);
    return at;
}

static void status(int final)
{
    alarm(120);   /* watchdog: a replay that makes no progress for 2 minutes is a hang */
    double t = now_s();
    if (!final && t < g_next_status) return;
    g_next_status = t + g_status_every;
    double el = g_cnt.secs + (t - g_t_depth);
    unsigned long long ran = g_index - g_skip;
    double rate = (t - g_t_depth) > 0 ? (double)ran / (t - g_t_depth) : 0;
    fprintf(stderr, "[exhaustive] depth %d: %llu/%llu streams (%.0f%%), %.0f streams/s, %.0f s; ok %llu escape %llu%s\n",
            g_depth_now, g_index, g_total_now, g_total_now ? 100.0 * (double)g_index / (double)g_total_now : 100.0, rate, el,
            g_cnt.st[HV_OK], g_cnt.st[HV_ESCAPE], rate > 0 && !final ? "" : "");
    checkpoint_write();
}


/* Does op text t contain the words of pattern k, in that order ("attack forge_df",
 * "poke copy")? */
static int known_match(const char *t, const char *k)
{
    char w[64];
    const char *p = t;
    for (const char *q = k; *q;) {
        while (*q == ' ') q++;
        size_t l = 0;
        while (q[l] && q[l] != ' ' && l + 1 < sizeof w) { w[l] = q[l]; l++; }
        if (!l) break;
        w[l] = 0;
        q += l;
        for (;;) {   /* the next whole word of t equal to w */
            while (*p == ' ') p++;
            if (!*p) return 0;
            size_t m = strcspn(p, " ");
            int eq = m == l && !strncmp(p, w, l);
            p += m;
            if (eq) break;
        }
    }
    return 1;
}

static void dump_stream(void)
{
    static uint8_t buf[HOP_MAX * 24];
    long l = hop_encode(g_dump_dialect, g_ops, g_nops, buf, sizeof buf);
    if (l < 0) return;
    char path[4200];
    snprintf(path, sizeof path, "%s/x%d-%09llu", g_dump, g_depth_now, g_index);
    FILE *f = fopen(path, "wb");
    if (!f) { perror(path); exit(2); }
    fwrite(buf, 1, (size_t)l, f);
    fclose(f);
}

static void check_stream(void)
{
    static hrun rel, dbg;
    if (g_dump) { g_index++; dump_stream(); return; }
    hverdict v;
    if (g_out_of_time) return;
    if (g_deadline && (g_index & 255) == 0 && now_s() > g_deadline) { g_out_of_time = 1; return; }
    g_index++;
    if (g_index <= g_skip) return;
    g_running = 1;
    oracle_check(g_ops, g_nops, &rel, &dbg, &v, NULL);
    g_running = 0;
    g_cnt.streams++;
    if (v.status >= 0 && v.status < 5) g_cnt.st[v.status]++;
    int withf = 0;
    for (int i = 0; i < g_nops && !withf; i++) withf = hop_base_class(&g_ops[i]) != HOP_F_NONE;
    g_cnt.withf += (unsigned)withf;
    g_cnt.idle += (unsigned)(withf && !rel.nfaults && !dbg.nfaults);
    int violation = v.status >= HV_DIVERGENCE || (v.status == HV_ESCAPE && g_escapes_fatal);
    if (violation && g_nknown) {
        /* known if a known hole's fault was applied in the stream (in either run): the
         * heap is then corrupt in a known, unreported way, and what follows (a later
         * fault the harm gets attributed to, say) is its consequence */
        for (int c = 0; c < g_nops && c < HOP_MAX && violation; c++) {
            if (!rel.fclass[c] && !dbg.fclass[c]) continue;
            char t[160];
            hop_format(&g_ops[c], t, sizeof t);
            for (int i = 0; i < g_nknown; i++)
                if (known_match(t, g_known[i])) { g_known_count[i]++; g_known_hits++; violation = 0; break; }
        }
        if (!violation) { status(0); return; }
    }
    if (g_keep_going && violation) {
        /* one file per kind: status, class and the fault op's name and kind */
        char kind[48];
        const hop *f = v.fault_op >= 0 && v.fault_op < g_nops ? &g_ops[v.fault_op] : NULL;
        snprintf(kind, sizeof kind, "%s-F%d-%s-%d", oracle_status_name(v.status), v.cls, f ? hop_code_name(f->code) : "none",
                 f ? f->k : 0);
        g_violations++;
        int seen = 0;
        for (int i = 0; i < g_nseen_kind; i++) if (!strcmp(g_seen_kind[i], kind)) seen = 1;
        if (!seen && g_nseen_kind < 64) {
            char path[512];
            snprintf(g_seen_kind[g_nseen_kind++], sizeof g_seen_kind[0], "%s", kind);
            write_stream(kind, v.msg, path, sizeof path);
            printf("hakmem-exhaustive: %s at depth %d, stream %llu: %s\n  replay: %s --trace %s\n", oracle_status_name(v.status),
                   g_depth_now, g_index, path, g_replay, path);
        }
        status(0);
        return;
    }
    if (violation) {
        char path[512];
        write_stream(oracle_status_name(v.status), v.msg, path, sizeof path);
        status(1);
        fprintf(stderr, "%s\n", v.msg);
        printf("hakmem-exhaustive: %s at depth %d, stream %llu: written to %s\n  replay: %s --trace %s\n",
               oracle_status_name(v.status), g_depth_now, g_index, path, g_replay, path);
        if (g_expect) {
            int ok = !strcmp(g_expect, oracle_status_name(v.status));
            printf("hakmem-exhaustive: expected %s: %s\n", g_expect, ok ? "found" : "NOT what was found");
            exit(ok ? 0 : 1);
        }
        exit(1);
    }
    status(0);
}

/* Every stream of exactly `left` more symbols from state x (canonical slot order). */
static unsigned long long enumerate(const xstate *x, int depth, int left)
{
    if (left == 0) {
        if (g_checking) check_stream();
        else if (g_deadline && !g_out_of_time && (++g_counted & 0xFFFFF) == 0 && now_s() > g_deadline) g_out_of_time = 1;
        return 1;
    }
    if (g_out_of_time && !g_checking) return 0;   /* the count ran out of time: the total is unknown */
    unsigned long long n = 0;
    for (int k = 0; k < X_NSYM; k++) {
        if (g_thread_pre[k] == 1 && x->cur != 0) continue;
        if (g_thread_pre[k] == 2 && x->cur == 0) continue;
        int ns = g_pre[k][0] ? (x->used < g_nslots ? x->used + 1 : g_nslots) : 1;
        for (int s = 0; s < ns; s++) {
            if (g_pre[k][0] && !(g_pre[k][0] & (1u << x->st[s]))) continue;
            int used1 = g_pre[k][0] && s + 1 > x->used ? s + 1 : x->used;
            int nt = g_pre[k][1] ? (used1 < g_nslots ? used1 + 1 : g_nslots) : 1;
            for (int t = 0; t < nt; t++) {
                if (g_pre[k][1] && (t == s || !(g_pre[k][1] & (1u << x->st[t])))) continue;
                const xinst *in = &g_inst[k][s][t];
                if (g_nops + in->n > HOP_MAX) continue;
                xstate y = *x;
                y.used = (uint8_t)(g_pre[k][1] && t + 1 > used1 ? t + 1 : used1);
                for (int i = 0; i < in->n; i++) { g_ops[g_nops + i] = in->op[i]; step(&y, &in->op[i]); }
                g_nops += in->n;
                g_sym[depth] = k; g_sym_s[depth] = s; g_sym_t[depth] = t;
                n += enumerate(&y, depth + 1, left - 1);
                g_nops -= in->n;
            }
        }
    }
    return n;
}

static unsigned long long alphabet_id(void)
{
    unsigned long long h = 1469598103934665603ull;
    for (int k = 0; k < X_NSYM; k++) {
        for (const char *p = x_alphabet[k].ops; *p; p++) h = (h ^ (uint8_t)*p) * 1099511628211ull;
        for (const char *p = x_alphabet[k].pre; *p; p++) h = (h ^ (uint8_t)*p) * 1099511628211ull;
        h = (h ^ 0xFF) * 1099511628211ull;
    }
    struct stat st;   /* the executable too: a rebuilt allocator must be checked again */
    if (!stat("/proc/self/exe", &st)) h ^= ((unsigned long long)st.st_mtime * 1000003ull) ^ (unsigned long long)st.st_size;
    return h;
}

static void usage(FILE *f, const char *me)
{
    fprintf(f, "usage: %s [--depth K] [--slots N] [--checkpoint FILE] [--out DIR] [--expect STATUS]\n"
               "          [--escapes-ok] [--status-every SECONDS] [--budget SECONDS] [--replay CMD]\n"
               "          [--keep-going] [--known LIST] [--dump DIR [--dump-target T]] [--count] [--list]\n"
               "  every op stream of 1..K symbols (default 3) of the small-scope alphabet over N slots\n"
               "  (default 3, at most %d), checked by the oracle; --count only counts them; --list\n"
               "  prints the alphabet; --budget stops at a deadline (resume with the same checkpoint);\n"
               "  --keep-going counts violations instead of stopping at the first (one file per kind);\n"
               "  --known LIST: comma-separated patterns of known holes (words the fault op's text has\n"
               "  in that order, e.g. 'attack forge_df,poke copy'): counted apart, they fail nothing;\n"
               "  --dump writes every stream to DIR in T's binary dialect instead of checking it\n"
               "  (candidates for a corpus merge).\n"
               "  Exit 0: no violation; 1: a violation (stream written to DIR,\n"
               "  default build/exhaustive); 3: a crash or hang in a replay; 2: usage.\n", me, X_MAXSLOTS);
}

int main(int argc, char **argv)
{
    int depth = 3, count_only = 0;
    static const struct option lo[] = {
        { "depth", required_argument, 0, 'd' }, { "slots", required_argument, 0, 'n' },
        { "checkpoint", required_argument, 0, 'c' }, { "out", required_argument, 0, 'o' },
        { "expect", required_argument, 0, 'e' }, { "escapes-ok", no_argument, 0, 'E' },
        { "status-every", required_argument, 0, 'S' }, { "count", no_argument, 0, 'C' },
        { "list", no_argument, 0, 'l' }, { "budget", required_argument, 0, 'b' },
        { "replay", required_argument, 0, 'r' },
        { "keep-going", no_argument, 0, 'k' }, { "dump", required_argument, 0, 'D' },
        { "dump-target", required_argument, 0, 'T' }, { "known", required_argument, 0, 'K' }, { "help", no_argument, 0, 'h' }, { 0, 0, 0, 0 },
    };
    int list = 0;
    for (int c; (c = getopt_long(argc, argv, "d:n:c:o:e:ES:Clhb:r:kK:D:T:", lo, NULL)) != -1;) {
        switch (c) {
        case 'd': depth = atoi(optarg); break;
        case 'n': g_nslots = atoi(optarg); break;
        case 'c': g_ckpt = optarg; break;
        case 'o': g_out = optarg; break;
        case 'e': g_expect = optarg; break;
        case 'E': g_escapes_fatal = 0; break;
        case 'S': g_status_every = atof(optarg); break;
        case 'C': count_only = 1; break;
        case 'l': list = 1; break;
        case 'r': g_replay = optarg; break;
        case 'k': g_keep_going = 1; break;
        case 'D': g_dump = optarg; break;
        case 'T': { int d = hop_dialect_from_name(optarg); if (d < 0) { usage(stderr, argv[0]); return 2; } g_dump_dialect = (hop_dialect)d; break; }
        case 'K':
            for (char *save = NULL, *k = strtok_r(optarg, ",", &save); k; k = strtok_r(NULL, ",", &save)) {
                if (g_nknown == 16) { usage(stderr, argv[0]); return 2; }
                snprintf(g_known[g_nknown++], sizeof g_known[0], "%s", k);
            }
            break;
        case 'b': g_deadline = atof(optarg); if (g_deadline <= 0) { usage(stderr, argv[0]); return 2; } break;
        case 'h': usage(stdout, argv[0]); return 0;
        default: usage(stderr, argv[0]); return 2;
        }
    }
    if (optind < argc || depth < 1 || depth > X_MAXDEPTH || g_nslots < 1 || g_nslots > X_MAXSLOTS || g_status_every <= 0) {
        usage(stderr, argv[0]);
        return 2;
    }
    struct stat cst;   /* the checkpoint is replaced by rename: only ever a regular file */
    if (g_ckpt && !stat(g_ckpt, &cst) && !S_ISREG(cst.st_mode)) {
        fprintf(stderr, "hakmem-exhaustive: --checkpoint %s is not a regular file\n", g_ckpt);
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    build_alphabet();
    if (list) {
        for (int k = 0; k < X_NSYM; k++) printf("%-60.60s  %s\n", x_alphabet[k].ops, x_alphabet[k].pre);
        printf("%d symbols\n", X_NSYM);
        return 0;
    }
    oracle_abort_on_violation = 0;
    g_ckpt_id = alphabet_id();
    int start = count_only ? 1 : checkpoint_read();
    signal(SIGALRM, on_fatal_signal);
    signal(SIGSEGV, on_fatal_signal);
    signal(SIGBUS, on_fatal_signal);
    signal(SIGABRT, on_fatal_signal);
    signal(SIGFPE, on_fatal_signal);
    xstate x0 = { .used = 0, .cur = 0 };
    if (g_deadline) g_deadline += now_s();
    int reached = 0;
    printf("hakmem-exhaustive: %d symbols, %d slots, depth 1..%d, build %s\n", X_NSYM, g_nslots, depth, hak_build_name());
    for (int d = 1; d <= depth; d++) {
        g_depth_now = d;
        g_checking = 0;
        g_total_now = enumerate(&x0, 0, d);
        if (count_only) { printf("depth %d: %llu streams\n", d, g_total_now); continue; }
        if (d < start) {
            fprintf(stderr, "[exhaustive] depth %d: %llu streams, done before (checkpoint)\n", d, g_done[d].streams);
            continue;
        }
        if (d > start) { g_skip = 0; memset(&g_cnt, 0, sizeof g_cnt); }
        else if (g_skip) fprintf(stderr, "[exhaustive] depth %d: resuming after stream %llu\n", d, g_skip);
        g_index = 0;
        g_t_depth = now_s();
        g_next_status = g_t_depth + g_status_every;
        g_checking = 1;
        alarm(120);
        enumerate(&x0, 0, d);
        if (g_out_of_time) {   /* resumable: the checkpoint has the position */
            status(1);
            printf("hakmem-exhaustive: budget used up at depth %d, %llu/%llu streams (resume with the same checkpoint)\n",
                   d, g_index, g_total_now);
            break;
        }
        reached = d;
        status(1);
        g_cnt.secs += now_s() - g_t_depth;
        g_cnt.streams = g_index;
        g_done[d] = g_cnt;
        g_depth_now = d + 1;
        g_index = 0;
        memset(&g_cnt, 0, sizeof g_cnt);
        g_t_depth = now_s();
        checkpoint_write();
    }
    alarm(0);
    if (count_only) return 0;
    unsigned long long total = 0;
    printf("\n| depth | streams | ok | escape | divergence | false alarm | bug | with a fault op | of those, no fault applied | time (s) |\n"
           "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (int d = 1; d <= reached; d++) {
        const xcount *c = &g_done[d];
        total += c->streams;
        printf("| %d | %llu | %llu | %llu | %llu | %llu | %llu | %llu | %llu (%.1f%%) | %.1f |\n", d, c->streams, c->st[HV_OK],
               c->st[HV_ESCAPE], c->st[HV_DIVERGENCE], c->st[HV_FALSE_ALARM], c->st[HV_BUG], c->withf, c->idle,
               c->withf ? 100.0 * (double)c->idle / (double)c->withf : 0.0, c->secs);
    }
    printf("(a fault that would not change memory, or has nothing to act on, is skipped in both builds: a stream whose\n"
           " every fault was skipped checks only its ordinary ops)\n");
    for (int i = 0; i < g_nknown; i++)
        printf("hakmem-exhaustive: known hole '%s': %llu stream(s)%s\n", g_known[i], g_known_count[i],
               g_known_count[i] ? "" : " (none up to this depth)");
    if (g_violations) {
        printf("\nhakmem-exhaustive: %llu streams up to depth %d (%s build): %llu violation(s) of %d kind(s), the first "
               "stream of each kind in %s/\n", total, reached, hak_build_name(), g_violations, g_nseen_kind, g_out);
        return 1;
    }
    printf("\nhakmem-exhaustive: %llu streams up to depth %d (%s build): no violation\n", total, reached, hak_build_name());
    if (reached < depth) return 0;
    if (g_expect) { printf("hakmem-exhaustive: expected %s: NOT found\n", g_expect); return 1; }
    return 0;
}
