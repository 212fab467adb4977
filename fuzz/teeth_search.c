/* teeth_search.c - the structure-aware mutator alone, without a fuzzer's coverage
 * feedback, against one build (make test-teeth-search): from fault-free seed files,
 * chains of hakmem_mutate (fuzz/mutator.c) are replayed through the oracle until the
 * first divergence, escape or crash (a detection), or until a number of mutations is
 * spent; a false alarm or a bug stops it too, as a failure (it is not a detection). Deterministic (a fixed mutation seed), so a weakened build that
 * the mutator's probes reach is flagged after the same count on every machine, and a
 * mutator that loses a probe fails the test instead of slowing verify-teeth down.
 *
 * Usage: hakmem-teeth-search [--rounds N] [--seed S] [--chain K] [--out FILE] SEED...
 * Exit 0: flagged (the count and the oracle's message on stdout; the stream as text in
 * FILE with --out); 1: not flagged within N mutations, or a false alarm or bug; 2: usage. */
#include "fuzz_entry.h"

#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

size_t hakmem_mutate(uint8_t *data, size_t size, size_t max, unsigned seed, hop_dialect d);

extern const int hakmem_fuzz_dialect;

#define TS_MAX_LEN 1024   /* the inputs' size limit, as verify-teeth runs libFuzzer (-max_len) */
#define TS_MAX_SEEDS 64

static const char USAGE[] = "usage: hakmem-teeth-search [--rounds N] [--seed S] [--chain K] [--out FILE] SEED...\n";
static const char HELP[] =
    "\nReplay chains of structure-aware mutations (fuzz/mutator.c) of the fault-free SEED\n"
    "files through the oracle against the build linked in, without coverage feedback,\n"
    "until the first divergence, escape or crash.\n\n"
    "  --rounds N   mutations at most (default 20000)\n"
    "  --seed S     the mutation seed (default 1): the search is deterministic\n"
    "  --chain K    mutations applied on top of each other before a chain restarts from\n"
    "               a seed (default 4)\n"
    "  --out FILE   write the flagged stream there, as text\n"
    "  -h, --help   this help, exit 0\n\n"
    "Exit 0: flagged; 1: not flagged within N mutations, or a false alarm or bug; 2: usage.\n";

static unsigned long g_round;

/* Chained after the harness's crash handler (which names the op): a weakened build may
 * die walking a forged link before it hands out a bad block; that flags it too. */
static void on_crash(int sig)
{
    char b[200];
    int n = g_round ? snprintf(b, sizeof b, "teeth-search: %s: flagged after %lu mutations (crash, signal %d)\n",
                               hak_build_name(), g_round, sig)
                    : snprintf(b, sizeof b, "hakmem-teeth-search: a seed crashed (signal %d)\n", sig);
    if (n > 0) { ssize_t w = write(1, b, (size_t)n); (void)w; }
    _exit(g_round ? 0 : 2);
}

static uint8_t *read_file(const char *fn, size_t *len)
{
    FILE *f = fopen(fn, "rb");
    if (!f) return NULL;
    uint8_t *b = malloc(TS_MAX_LEN);
    *len = b ? fread(b, 1, TS_MAX_LEN, f) : 0;
    fclose(f);
    return b;
}

int main(int argc, char **argv)
{
    unsigned long rounds = 20000, chain = 4;
    unsigned seed = 1;
    const char *out = NULL;
    static const struct option lo[] = {
        { "rounds", 1, 0, 'r' }, { "seed", 1, 0, 's' }, { "chain", 1, 0, 'c' }, { "out", 1, 0, 'o' },
        { "help", 0, 0, 'h' }, { 0, 0, 0, 0 } };
    int c;
    char *end;
    while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        switch (c) {
        case 'r': rounds = strtoul(optarg, &end, 10); if (*end || !rounds) goto usage; break;
        case 's': seed = (unsigned)strtoul(optarg, &end, 10); if (*end) goto usage; break;
        case 'c': chain = strtoul(optarg, &end, 10); if (*end || !chain) goto usage; break;
        case 'o': out = optarg; break;
        case 'h': fputs(USAGE, stdout); fputs(HELP, stdout); return 0;
        default: goto usage;
        }
    }
    int nseeds = argc - optind;
    if (nseeds < 1 || nseeds > TS_MAX_SEEDS) {
        fprintf(stderr, "hakmem-teeth-search: %s\n", nseeds < 1 ? "no seed file" : "too many seed files");
        goto usage;
    }
    static uint8_t *seeds[TS_MAX_SEEDS];
    static size_t lens[TS_MAX_SEEDS];
    for (int i = 0; i < nseeds; i++) {
        if (!(seeds[i] = read_file(argv[optind + i], &lens[i]))) {
            fprintf(stderr, "hakmem-teeth-search: cannot read %s\n", argv[optind + i]);
            return 2;
        }
    }
    hop_dialect d = (hop_dialect)hakmem_fuzz_dialect;
    oracle_abort_on_violation = 0;
    oracle_stats_init(hop_dialect_name(d));
    signal(SIGSEGV, on_crash);   /* before the first replay installs the harness's handler */
    signal(SIGBUS, on_crash);
    signal(SIGFPE, on_crash);
    signal(SIGILL, on_crash);
    /* Seeds must be fault-free and judged ok: a fault in a seed is the answer handed to
     * the search, and a seed that is flagged already proves nothing about it. */
    for (int i = 0; i < nseeds; i++) {
        static hop ops[HOP_MAX];
        int n = hop_is_text(seeds[i], lens[i]) ? -1 : hop_decode(d, seeds[i], lens[i], ops, HOP_MAX);
        if (n < 0) {
            fprintf(stderr, "hakmem-teeth-search: seed %s is text; seeds are binary streams\n", argv[optind + i]);
            return 2;
        }
        for (int k = 0; k < n; k++) {
            if (hop_base_class(&ops[k])) {
                char t[160];
                fprintf(stderr, "hakmem-teeth-search: seed %s has a fault op (op %d '%s'); seeds must be fault-free\n",
                        argv[optind + i], k, hop_format(&ops[k], t, sizeof t));
                return 2;
            }
        }
        hverdict v;
        int st = oracle_fuzz_input(seeds[i], lens[i], d, &v);
        if (st != HV_OK) {
            fprintf(stderr, "hakmem-teeth-search: seed %s is not judged ok (%s): %s\n", argv[optind + i],
                    oracle_status_name(st), v.msg);
            return 2;
        }
    }
    static uint8_t buf[TS_MAX_LEN];
    size_t len = 0;
    unsigned long x = seed * 2654435761ul + 1;
    for (g_round = 1; g_round <= rounds; g_round++) {
        if ((g_round - 1) % chain == 0) {   /* restart the chain from a seed */
            x = x * 6364136223846793005ul + 1442695040888963407ul;
            int i = (int)((x >> 33) % (unsigned long)nseeds);
            memcpy(buf, seeds[i], lens[i]);
            len = lens[i];
        }
        len = hakmem_mutate(buf, len, sizeof buf, seed * 1000003u + (unsigned)g_round, d);
        hverdict v;
        int st = oracle_fuzz_input(buf, len, d, &v);
        if (st == HV_FALSE_ALARM || st == HV_BUG) {   /* no detection: a bug of the build or the harness */
            printf("teeth-search: %s: a %s after %lu mutations, not a detection: %s\n", hak_build_name(),
                   oracle_status_name(st), g_round, v.msg);
            return 1;
        }
        if (st == HV_ESCAPE || st == HV_DIVERGENCE) {
            printf("teeth-search: %s: flagged after %lu mutations (%s): %s\n", hak_build_name(), g_round,
                   oracle_status_name(st), v.msg);
            if (out) {
                FILE *f = fopen(out, "w");
                if (f) {
                    static hop ops[HOP_MAX];
                    int n = hop_decode(d, buf, len, ops, HOP_MAX);
                    fprintf(f, "%s\n# found by hakmem-teeth-search after %lu mutations: %s\n", HOP_TEXT_MAGIC, g_round, v.msg);
                    for (int k = 0; k < n; k++) { char t[160]; fprintf(f, "%s\n", hop_format(&ops[k], t, sizeof t)); }
                    fclose(f);
                }
            }
            return 0;
        }
    }
    printf("teeth-search: %s: not flagged in %lu mutations\n", hak_build_name(), rounds);
    return 1;
usage:
    fputs(USAGE, stderr);
    return 2;
}
