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

