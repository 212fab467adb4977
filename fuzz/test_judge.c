/* test_judge.c - unit test of the verdict's bounds (harness/judge.c): a run whose reports
 * or harms do not all fit in what the judge holds (HR_MAXEV) is a divergence, never ok,
 * whatever the part that fits says; a run with nothing to say is ok. */
#include "oracle.h"

#include <string.h>

static int fails;
#define CHECK(c, ...) do { if (!(c)) { fails++; fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
    fprintf(stderr, __VA_ARGS__); fprintf(stderr, "\n"); } } while (0)

/* A run in which every fault (one at op 0) was reported by subject: n reports held. */
static void reported_run(hrun *r, const char *build, int n)
{
    memset(r, 0, sizeof *r);
    r->build = build;
    r->nops = 2;
    r->first_fault = 0;
    r->nfaults = r->nf = 1;
    r->f[0] = (hfault){ .op = 0, .cls = 1 };
    r->fclass[0] = 1;
    r->freported[0] = 1;
    r->nreports = r->nreal = n;
    for (int i = 0; i < n && i < HR_MAXEV; i++)
        r->rep[i] = (hevent){ .op = 0, .seq = (uint32_t)i + 1, .kind = 1, .slot = -1, .other = -1, .phase = HP_STREAM,
                              .fault = 0, .by_subject = 1 };
}

int main(void)
{
    static hrun rel, dbg;
    static hop ops[2];
    hverdict v;
    reported_run(&rel, "release", 1);
    reported_run(&dbg, "debug", 1);
    oracle_judge(ops, 2, &rel, &dbg, &v);
    CHECK(v.status == HV_OK, "one report each about the one fault: status %d (%s)", v.status, v.msg);
    reported_run(&rel, "release", 0);
    rel.nf = rel.nfaults = 0;
    rel.fclass[0] = 0;
    rel.first_fault = 4;
    reported_run(&dbg, "debug", 0);
    dbg.nf = dbg.nfaults = 0;
    dbg.fclass[0] = 0;
    dbg.first_fault = 4;
    oracle_judge(ops, 2, &rel, &dbg, &v);
    CHECK(v.status == HV_OK, "no fault, no event: status %d (%s)", v.status, v.msg);
    for (int k = 0; k < 4; k++) {   /* too many reports / harms, in either build */
        reported_run(&rel, "release", HR_MAXEV);
        reported_run(&dbg, "debug", HR_MAXEV);
        hrun *r = k & 1 ? &dbg : &rel;
        if (k < 2) r->nreports = r->nreal = HR_MAXEV + 1;
        else r->nharms = HR_MAXEV + 1;   /* (the held ones left zero: the verdict must not read them) */
        oracle_judge(ops, 2, &rel, &dbg, &v);
        CHECK(v.status == HV_DIVERGENCE && strstr(v.msg, "more events than the judge holds"),
              "%s build with %d reports, %d harms: status %d (%s)", r->build, r->nreports, r->nharms, v.status, v.msg);
    }
    reported_run(&rel, "release", HR_MAXEV);
    reported_run(&dbg, "debug", HR_MAXEV);
    oracle_judge(ops, 2, &rel, &dbg, &v);
    CHECK(v.status == HV_OK, "exactly HR_MAXEV reports each: status %d (%s)", v.status, v.msg);
    printf("test-judge-bounds: %s\n", fails ? "FAILED" : "ok");
    return fails ? 1 : 0;
}
