/* judge.c - the differential verdict between the release-side and the debug build
 * (the claim is stated in oracle.h and docs/claim.md). */
#include "oracle.h"

#include <stdio.h>
#include <string.h>

void on_stray_report(hak_corruption_kind kind, const void *ptr, void *arg);   /* run.c */

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

/* An event is "about" a fault by its subject (the pointer lies in what the fault wrote
 * or named) or only by order (the latest fault before it). A first detection or an
 * unreported harm that is about a fault only by order may not be about any fault. */
static int by_order(const hrun *rel, const hrun *dbg)
{
    const hrun *runs[2] = { rel, dbg };
    for (int k = 0; k < 2; k++) {
        const hrun *r = runs[k];
        int nr = r->nreports < HR_MAXEV ? r->nreports : HR_MAXEV, nh = r->nharms < HR_MAXEV ? r->nharms : HR_MAXEV;
        for (int i = 0; i < nr; i++) if (!r->rep[i].by_subject) return 1;
        for (int i = 0; i < nh; i++) if (!r->harm[i].by_subject && !r->harm[i].reported) return 1;
    }
    return 0;
}

/* The ops a twin needs to replay when every event is about a fault by its subject: up
 * to the last first-detection of either build and the report covering debug's (a false
 * alarm that mattered came by then); the whole stream if one came only at the end or
 * the drain. */
static int twin_prefix(const hrun *rel, const hrun *dbg, const hverdict *v, int n)
{
    int k = v->rel_cover_op;
    const hrun *runs[2] = { rel, dbg };
    for (int j = 0; j < 2; j++) {
        const hrun *r = runs[j];
        int nr = r->nreports < HR_MAXEV ? r->nreports : HR_MAXEV;
        for (int i = 0; i < nr; i++) {
            if (r->rep[i].phase == HP_END || r->rep[i].phase == HP_DRAIN) return n;
            if (r->rep[i].op > k) k = r->rep[i].op;
            break;   /* (the first report of each build) */
        }
    }
    return k + 1 < n ? k + 1 : n;
}

/* The fault-free twin: the stream replayed with every fault skipped is a legal program.
 * A report there is a false alarm, harm there a bug, whatever the faults of the stream
 * seemed to explain (a harmless fault before a report that is about none would
 * otherwise pass it off as a detection). Run when some event was about a fault only by
 * order (by_order); its verdict replaces v when it finds one. */
static void twin_check(const hop *ops, int n, int other, hverdict *v, FILE *trace)
{
    static hrun tw[2];
    static uint8_t all[HOP_MAX];
    const hbackend *be[2] = { &oracle_release, &oracle_debug }, *peer[2] = { &oracle_debug, &oracle_release };
    memset(all, 1, sizeof all);
    for (int k = 0; k < 2; k++) {
        hrun *r = &tw[k];
        if (trace) fprintf(trace, "[%s] the fault-free twin: the stream again with every fault skipped\n", be[k]->name);
        r->skip = all;
        oracle_run(be[k], other ? other_block(peer[k]) : NULL, ops, n, r, trace);
        r->skip = NULL;
        if (r->nreports) {
            v->status = HV_FALSE_ALARM;
            snprintf(v->msg, sizeof v->msg, "hakmem-oracle: FALSE ALARM: %s build reported %s at op %d with every fault of the stream "
                     "skipped (a legal program: the report is about no fault)", r->build, hak_corruption_name(r->rep[0].kind), r->rep[0].op);
            return;
        }
        if (r->nharms) {
            v->status = HV_BUG;
            snprintf(v->msg, sizeof v->msg, "hakmem-oracle: BUG: %s build did harm at op %d with every fault of the stream skipped: %s slot %d",
                     r->build, r->harm[0].op, oracle_harm_name(r->harm[0].kind), r->harm[0].slot);
            return;
        }
    }
}

void oracle_check(const hop *ops, int n, hrun *rel, hrun *dbg, hverdict *v, FILE *trace)
{
    int other = needs_other(ops, n);
    /* Each run starts from a fresh heap; the other heap's block is made just before.
     * The debug run skips the faults that changed nothing in the release run, so both
     * runs get the same effects. */
    rel->skip = NULL;
    oracle_run(&oracle_release, other ? other_block(&oracle_debug) : NULL, ops, n, rel, trace);
    dbg->skip = rel->noop;
    oracle_run(&oracle_debug, other ? other_block(&oracle_release) : NULL, ops, n, dbg, trace);
    /* A fault that changed release's memory was a no-op in debug's (bytes that depend on
     * the address, such as a large header's check words), or applied in one heap and not
     * the other (a freed pointer another block covers in one heap only): replay both with
     * every fault skipped that was a no-op or not applicable in either, until both runs
     * agree on every fault (skipping one may move later blocks: a few rounds at most). */
    static uint8_t both[HOP_MAX];
    int m = n < HOP_MAX ? n : HOP_MAX;
    memset(both, 0, (size_t)m);
    for (int round = 0; round < 4 && (dbg->nasym || (round > 0 && rel->nasym)); round++) {
        for (int i = 0; i < m; i++) both[i] |= rel->noop[i] | dbg->noop[i];
        rel->skip = both;
        oracle_run(&oracle_release, other ? other_block(&oracle_debug) : NULL, ops, n, rel, trace);
        dbg->skip = both;
        oracle_run(&oracle_debug, other ? other_block(&oracle_release) : NULL, ops, n, dbg, trace);
    }
    if (dbg->nasym || rel->nasym) {
        /* Still apart (each round made another fault a no-op in one run only): skip every
         * fault from the first one the runs ever disagreed on; before it both applied the
         * same faults to the same layout, so from there on they agree. */
        int first = m;
        for (int i = 0; i < m; i++) if (both[i] | rel->noop[i] | dbg->noop[i]) { first = i; break; }
        for (int i = first; i < m; i++) both[i] = 1;
        rel->skip = both;
        oracle_run(&oracle_release, other ? other_block(&oracle_debug) : NULL, ops, n, rel, trace);
        dbg->skip = both;
        oracle_run(&oracle_debug, other ? other_block(&oracle_release) : NULL, ops, n, dbg, trace);
    }
    rel->skip = dbg->skip = NULL;
    oracle_judge(ops, n, rel, dbg, v);
    if (v->status != HV_FALSE_ALARM && v->status != HV_BUG && (rel->nreports || dbg->nreports || by_order(rel, dbg)))
        twin_check(ops, by_order(rel, dbg) ? n : twin_prefix(rel, dbg, v, n), other, v, trace);
}

/* The first harm of r that no earlier report of r was about: a report about the same
 * fault when the harm's pointer lies in a fault's subject; any earlier report when the
 * harm is about a fault only by order (its cause is not known well enough to say that
 * a report was about something else). An escape in that build. */
static const hevent *unreported_harm(const hrun *r)
{
    int nh = r->nharms < HR_MAXEV ? r->nharms : HR_MAXEV;
    for (int h = 0; h < nh; h++)   /* (decided when the harm happened: every report counts) */
        if (!r->harm[h].reported) return &r->harm[h];
    return NULL;
}

/* The detection of r that the verdict is about: its first report made by an op a program
 * makes (the ops and the end of stream), else its first report at the harness's own
 * probe, else at the drain. */
static const hevent *first_detection(const hrun *r)
{
    int nr = r->nreports < HR_MAXEV ? r->nreports : HR_MAXEV;
    for (int k = 0; k < nr; k++) if (r->rep[k].phase == HP_STREAM || r->rep[k].phase == HP_END) return &r->rep[k];
    for (int k = 0; k < nr; k++) if (r->rep[k].phase == HP_PROBE) return &r->rep[k];
    return nr ? &r->rep[0] : NULL;
}

/* A report in a phase no program has (the probe, the drain) covers only a detection
 * made in such a phase too: production would not have seen it. */
static int program_phase(int phase) { return phase == HP_STREAM || phase == HP_END; }

/* Why release's reports do not cover debug's detection d (NULL if one does: *cover). */
static const char *coverage(const hrun *rel, const hevent *d, const hevent **cover)
{
    int nr = rel->nreports < HR_MAXEV ? rel->nreports : HR_MAXEV;
    const char *why = "release never reported";
    *cover = NULL;
    for (int k = 0; k < nr; k++) {
        const hevent *r = &rel->rep[k];
        if (d->fault >= 0 && r->fault != d->fault) { why = "release reported only about another fault"; continue; }
        if (d->by_subject && !r->by_subject) { why = "release's report is about that fault only by order (its pointer is in no subject)"; continue; }
        if (d->phase != HP_DRAIN && r->phase == HP_DRAIN) { why = "release reported it only at the harness-only drain"; continue; }
        if (program_phase(d->phase) && r->phase == HP_PROBE) { why = "release reported it only at the harness's own malloc_usable_size probe"; continue; }
        if (r->op - d->op > HV_DELAY_MAX) { why = "release reported it too late (more than HV_DELAY_MAX ops after debug)"; continue; }
        const hevent *h = unreported_harm(rel);
        if (h && h->seq < r->seq) { why = "release handed out a bad block before it reported"; continue; }
        *cover = r;
        return NULL;
    }
    return why;
}

static void describe_run(char *b, size_t cap, const hrun *r)
{
    size_t o = 0;
    const hevent *d = first_detection(r);
    if (r->died) o += (size_t)snprintf(b + o, cap - o, "died of signal %d at op %d", r->died, r->died_op);
    else if (d) o += (size_t)snprintf(b + o, cap - o, "reported %s at op %d%s (ptr %#lx, about fault op %d)", hak_corruption_name(d->kind),
                                      d->op, d->phase == HP_DRAIN ? " (drain)" : d->phase == HP_PROBE ? " (the harness's probe)" : "",
                                      (unsigned long)d->ptr, d->fault);
    else o += (size_t)snprintf(b + o, cap - o, "no report");
    const hevent *h = unreported_harm(r);
    if (o < cap && h) {
        o += (size_t)snprintf(b + o, cap - o, "%s handed out a bad block at op %d: %s, slot %d ptr %#lx (about fault op %d)",
                              r->nreports ? ", but unreported" : ",", h->op, oracle_harm_name(h->kind), h->slot,
                              (unsigned long)h->ptr, h->fault);
        if (o < cap && h->other >= 0) snprintf(b + o, cap - o, " overlapping slot %d", h->other);
    }
}

static int first_op(const hrun *r)
{
    const hevent *d = first_detection(r);
    return r->died ? r->died_op : d ? d->op : -1;
}

/* The fault a detection is attributed to when the report says nothing: the latest applied
 * fault at or before op. */
static int attribute(const hrun *r, int op)
{
    if (op > r->nops) op = r->nops;
    int lim = op < HOP_MAX ? op : HOP_MAX - 1;
    for (int i = lim; i >= 0; i--) if (i < r->nops && r->fclass[i]) return i;
    return r->nfaults ? r->first_fault : -1;
}

void oracle_judge(const hop *ops, int n, const hrun *rel, const hrun *dbg, hverdict *v)
{
    char a[400], b[400], optext[160];
    memset(v, 0, sizeof *v);
    const hevent *dd = first_detection(dbg), *rd = first_detection(rel), *cover = NULL;   /* (dd: may move on, below) */
    const hevent *dh = unreported_harm(dbg), *rh = unreported_harm(rel);
    v->dbg_op = first_op(dbg);
    v->rel_op = first_op(rel);
    v->dbg_drain = dd && dd->phase == HP_DRAIN;
    v->rel_drain = rd && rd->phase == HP_DRAIN;
    v->rel_escape = rh != NULL;
    v->dbg_escape = dh != NULL;
    v->skipped = rel->nskipped;
    v->rel_cover_op = -1;
    v->delay = -1;
    const char *why = NULL;
    if (dd) {
        why = coverage(rel, dd, &cover);
        if (cover) { v->rel_cover_op = cover->op; v->delay = cover->op - dd->op; }
    }
    /* Fault by fault: every other fault debug reported by subject in the stream (before
     * any harm it had not reported) must be covered as well; the first that is not is
     * the detection the verdict is about. */
    int ndr = dbg->nreports < HR_MAXEV ? dbg->nreports : HR_MAXEV;
    for (int k = 0; dd && !why && k < ndr; k++) {
        const hevent *e = &dbg->rep[k], *c2;
        if (e == dd || !program_phase(e->phase) || !e->by_subject || e->fault < 0 || e->fault == dd->fault) continue;
        if (dh && dh->seq < e->seq) break;
        int seen = 0;
        for (int j = 0; j < k; j++) seen |= dbg->rep[j].fault == e->fault && dbg->rep[j].by_subject && program_phase(dbg->rep[j].phase);
        if (seen) continue;
        const char *w = coverage(rel, e, &c2);
        if (w) { dd = e; why = w; v->rel_cover_op = -1; v->delay = -1; }
    }
    /* attribution: what debug detected, else release, else the first harm, else the first fault */
    const hrun *src = dd ? dbg : rel;
    const hevent *ev = dd ? dd : rd ? rd : rh ? rh : dh;
    if (ev && ev->fault >= 0) v->fault_op = ev->fault;
    else if (ev) v->fault_op = attribute(src, ev->op);
    else if (dbg->died) v->fault_op = attribute(dbg, dbg->died_op);
    else if (rel->died) v->fault_op = attribute(rel, rel->died_op);
    else v->fault_op = rel->nfaults ? rel->first_fault : dbg->nfaults ? dbg->first_fault : -1;
    if (v->fault_op >= 0 && v->fault_op >= n) v->fault_op = -1;
    v->cls = v->fault_op >= 0 ? (src->fclass[v->fault_op] ? src->fclass[v->fault_op]
                                 : (rel->fclass[v->fault_op] ? rel->fclass[v->fault_op] : dbg->fclass[v->fault_op])) : 0;
    if (v->fault_op >= 0) hop_format(&ops[v->fault_op], optext, sizeof optext);
    else snprintf(optext, sizeof optext, "(no fault)");
    describe_run(a, sizeof a, dbg);
    describe_run(b, sizeof b, rel);

    const hrun *runs[2] = { rel, dbg };
    for (int k = 0; k < 2; k++) {
        const hrun *r = runs[k];
        if (r->nreports > HR_MAXEV || r->nharms > HR_MAXEV) {   /* what is not held cannot be judged ok */
            v->status = HV_DIVERGENCE;
            snprintf(v->msg, sizeof v->msg, "hakmem-oracle: DIVERGENCE: more events than the judge holds: %s build: %d reports, "
                     "%d harms (HR_MAXEV %d) | debug: %s | release: %s", r->build, r->nreports, r->nharms, HR_MAXEV, a, b);
            return;
        }
        if (r->nreports && r->rep[0].op < r->first_fault) {
            v->status = HV_FALSE_ALARM;
            snprintf(v->msg, sizeof v->msg, "hakmem-oracle: FALSE ALARM: %s build reported %s at op %d before any fault was applied "
                     "(first fault: op %d) | debug: %s | release: %s", r->build, hak_corruption_name(r->rep[0].kind),
                     r->rep[0].op, r->nfaults ? r->first_fault : -1, a, b);
            return;
        }
        if (r->nharms && r->harm[0].op < r->first_fault && (!r->nreports || r->harm[0].seq < r->rep[0].seq)) {
            v->status = HV_BUG;
            snprintf(v->msg, sizeof v->msg, "hakmem-oracle: BUG: %s build did harm at op %d with no fault applied before it: %s slot %d "
                     "| debug: %s | release: %s", r->build, r->harm[0].op, oracle_harm_name(r->harm[0].kind), r->harm[0].slot, a, b);
            return;
        }
    }
    /* Debug's detection counts only if debug itself did no unreported harm before it:
     * otherwise neither build caught the fault in time, an escape below. */
    if (dd && why && !(dh && dh->seq < dd->seq)) {
        v->status = HV_DIVERGENCE;
        snprintf(v->msg, sizeof v->msg, "hakmem-oracle: DIVERGENCE at op %d [F%d] '%s': %s | debug: %s | release (%s): %s",
                 v->fault_op, v->cls, optext, why, a, rel->build, b);
        return;
    }
    if (rh || dh) {
        v->status = HV_ESCAPE;
        snprintf(v->msg, sizeof v->msg, "hakmem-oracle: ESCAPE at op %d [F%d] '%s': harm no report of its fault came before, in %s | debug: %s | release: %s",
                 v->fault_op, v->cls, optext, rh && dh ? "both builds" : rh ? "the release build" : "the debug build", a, b);
        return;
    }
    v->status = HV_OK;
}
