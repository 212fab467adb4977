/* fuzz_entry.c - the entry every fuzz target and driver calls with one input: decode,
 * replay against both builds, judge, count per fault class (campaign statistics), and
 * abort with one line on a violation so the fuzzer keeps the input. */
#include "fuzz_entry.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>


int oracle_abort_on_violation = 1;
int oracle_escapes_fatal = 1;   /* an escape is a failure; HAKMEM_FUZZ_ESCAPES_FATAL=0 only counts them */

typedef struct hstats_class {
    unsigned long streams, dbg, rel, both, diverge, escape, false_alarm, bug, dbg_drain, rel_drain, rel_only, skipped;
    unsigned long delay[65];   /* delay in ops, 64 = 64 or more */
} hstats_class;
static struct {
    const char *target;
    const char *path;
    unsigned long inputs, ops, faults;
    hstats_class cls[HOP_NCLASSES];
    time_t last_write;
    const char *escape_dir;        /* HAKMEM_FUZZ_ESCAPES: every violation as a text stream */
    int keep_going;                /* HAKMEM_FUZZ_KEEP_GOING=1: record violations, do not abort */
    double t0;
    unsigned escapes_saved;
    int ready;
} g_stats;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void stats_atexit(void) { oracle_stats_flush(); }

void oracle_stats_init(const char *target)
{
    if (g_stats.ready) return;
    g_stats.ready = 1;
    g_stats.target = target;
    g_stats.path = getenv("HAKMEM_FUZZ_STATS");
    g_stats.escape_dir = getenv("HAKMEM_FUZZ_ESCAPES");
    const char *kg = getenv("HAKMEM_FUZZ_KEEP_GOING");
    g_stats.keep_going = kg && *kg == '1';
    g_stats.t0 = now_s();
    const char *e = getenv("HAKMEM_FUZZ_ESCAPES_FATAL");
    if (e && *e == '0') oracle_escapes_fatal = 0;
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
    fprintf(f, "{\"target\": \"%s\", \"build\": \"%s\", \"delay_max\": %d, \"inputs\": %lu, \"ops\": %lu, \"faults\": %lu, \"classes\": {",
            g_stats.target ? g_stats.target : "?", hak_build_name(), HV_DELAY_MAX, g_stats.inputs, g_stats.ops, g_stats.faults);
    for (int k = 0; k < HOP_NCLASSES; k++) {
        const hstats_class *s = &g_stats.cls[k];
        fprintf(f, "%s\"%s%d\": {\"streams\": %lu, \"debug\": %lu, \"release\": %lu, \"both\": %lu, \"divergences\": %lu, "
                "\"escapes\": %lu, \"false_alarms\": %lu, \"bugs\": %lu, \"debug_at_drain\": %lu, \"release_at_drain\": %lu, "
                "\"release_only\": %lu, \"skipped_faults\": %lu, \"delay\": [", k ? ", " : "", k ? "F" : "none", k,
                s->streams, s->dbg, s->rel, s->both, s->diverge, s->escape, s->false_alarm, s->bug, s->dbg_drain, s->rel_drain,
                s->rel_only, s->skipped);
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
    if (v->dbg_op >= 0 && v->dbg_drain) s->dbg_drain++;
    if (v->rel_op >= 0 && v->rel_drain) s->rel_drain++;
    if (v->dbg_op < 0 && v->rel_op >= 0) s->rel_only++;
    s->skipped += (unsigned long)v->skipped;
    if (v->rel_cover_op >= 0) {   /* debug's detection covered by a release report of the same fault */
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

/* A violation as a text stream in $HAKMEM_FUZZ_ESCAPES/<status>-<hash>.txt (at most 200
 * per process), with when it was found: the fuzzer keeps the aborting input too, but
 * with HAKMEM_FUZZ_KEEP_GOING=1 (or for escapes with HAKMEM_FUZZ_ESCAPES_FATAL=0) this
 * is the only record, and one campaign can time every distinct finding. */
static void save_finding(const hop *ops, int n, const hverdict *v)
{
    if (!g_stats.escape_dir || g_stats.escapes_saved >= 200) return;
    uint64_t h = 1469598103934665603ull;
    const uint8_t *b = (const uint8_t *)ops;
    for (size_t i = 0; i < (size_t)n * sizeof *ops; i++) h = (h ^ b[i]) * 1099511628211ull;
    char fn[4096];
    snprintf(fn, sizeof fn, "%s/%s-%016llx.txt", g_stats.escape_dir, oracle_status_name(v->status), (unsigned long long)h);
    FILE *f = fopen(fn, "w");
    if (!f) return;
    fprintf(f, "%s\n# %s\n# found after %.3f s, input %lu of process %d\n#expect %s\n", HOP_TEXT_MAGIC, v->msg,
            now_s() - g_stats.t0, g_stats.inputs, (int)getpid(), oracle_status_name(v->status));
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
    if (v.status != HV_OK) save_finding(g_ops, n, &v);
    if (out) *out = v;
    if (v.status >= HV_DIVERGENCE || (v.status == HV_ESCAPE && oracle_escapes_fatal)) {
        if (oracle_abort_on_violation && !g_stats.keep_going) {
            fprintf(stderr, "%s\n", v.msg);
            oracle_stats_flush();
            abort();
        }
    }
    return v.status;
}

