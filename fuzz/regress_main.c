/* regress_main.c - a plain main() for every fuzz target: replays files (or every file
 * of directories) through the target's oracle without libFuzzer, so each target also
 * builds with gcc, under Valgrind and with any sanitizer. `regress-<target> --help`
 * prints the whole usage (HELP below); a usage error prints one line saying what is
 * wrong and the usage line, and exits 2.
 *
 * Expected outcome per file: "ok" unless --expect says otherwise, or the text file has
 * "#expect STATUS" / "#expect STATUS BUILD" lines (the latter only apply when the hak_
 * build linked in is BUILD, e.g. a weakened variant that must diverge).
 *
 * --same-reports (in a driver linked with a debug-side hak_ build, debug-norel): each
 * stream through both builds, which must report the same list of (op, kind). */
#include "fuzz_entry.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

extern const char hakmem_fuzz_target[];
extern const int hakmem_fuzz_dialect;

static int verbose;
static const char *cur_file;
static unsigned file_timeout = 30;   /* seconds per stream; env HAKMEM_REGRESS_TIMEOUT */

/* A stream that hangs (an allocator loop, a lost hand-off) must not hang `make test`. */
static void on_alarm(int sig)
{
    (void)sig;
    char b[600];
    int n = snprintf(b, sizeof b, "TIMEOUT %s: no verdict after %u s (a hang)\n", cur_file ? cur_file : "?", file_timeout);
    if (n > 0) { ssize_t w = write(1, b, (size_t)n); (void)w; }
    _exit(124);
}
static const char *expect_default = "ok";
static int nfiles, nbad, same_reports, nreported;

static int status_matches(const char *want, int st)
{
    if (!strcmp(want, "any")) return 1;
    if (!strcmp(want, "violation")) return st >= HV_DIVERGENCE;
    return !strcmp(want, oracle_status_name(st));
}

#if defined(__SANITIZE_ADDRESS__)
#define RM_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RM_ASAN 1
#endif
#endif
#ifndef RM_ASAN
#define RM_ASAN 0
#endif

/* The expectation written in a text file for the build linked in ("skip" for a
 * "#skip-asan REASON" file in an ASan build: a known sanitizer-only problem that would
 * take minutes and gigabytes, documented in corpus/regressions/README.md). */
static void file_expect(const char *data, size_t len, char *want, size_t cap)
{
    snprintf(want, cap, "%s", expect_default);
    const char *me = hak_build_name();
    int specific = 0;
    for (size_t i = 0; i < len;) {
        const char *l = data + i;
        const char *e = memchr(l, '\n', len - i);
        size_t ll = e ? (size_t)(e - l) : len - i;
        i += ll + 1;
        if (RM_ASAN && ll >= 10 && !strncmp(l, "#skip-asan", 10)) { snprintf(want, cap, "skip"); return; }
        if (ll > 8 && !strncmp(l, "#expect ", 8)) {
            char st[32] = "", build[64] = "", line[128];
            snprintf(line, sizeof line, "%.*s", (int)(ll - 8), l + 8);
            int k = sscanf(line, "%31s %63s", st, build);
            if (k == 1 && !specific) snprintf(want, cap, "%s", st);
            if (k == 2 && !strcmp(build, me)) { snprintf(want, cap, "%s", st); specific = 1; }
        }
    }
}

/* The reports of one run as "op:kind op:kind ... (N reports)". */
static void describe_reports(char *b, size_t cap, const hrun *r)
{
    size_t o = 0;
    b[0] = 0;
    for (int k = 0; k < r->nreports && k < HR_MAXEV && o < cap; k++)
        o += (size_t)snprintf(b + o, cap - o, "%d:%s ", r->rep[k].op, hak_corruption_name(r->rep[k].kind));
    if (o < cap) snprintf(b + o, cap - o, "(%d report%s%s)", r->nreports, r->nreports == 1 ? "" : "s",
                          r->died ? ", died" : "");
}

/* What --same-reports leaves out of a stream, and counts:
 *  - underflows into a slot that may hold a large block (one allocated over 64 KiB, or
 *    aligned to more than 32 KiB or sized 32 KiB and up): a large block's header holds
 *    bytes derived from its address, so the write can give a byte the value it already
 *    has in one heap and not in the other: the builds would see different memory;
 *  - edges at a SuperSlab's end (blocks held until one ends where the next SuperSlab's
 *    header begins): an overflow there rewrites that header's list links in-band, and
 *    both builds then crash walking them, which ends the comparison. */
static long dropped_underflows, dropped_edges;
static int same_reports_filter(hop *ops, int n)
{
    uint8_t big[256] = { 0 };
    int k = 0;
    for (int i = 0; i < n; i++) {
        const hop *o = &ops[i];
        uint64_t size = o->code == HOP_CALLOC ? o->size * o->n : o->size;
        if (o->code == HOP_ALLOC || o->code == HOP_CALLOC || o->code == HOP_REALLOC || o->code == HOP_ALIGNED)
            big[o->s] |= size > 65536 || (o->code == HOP_ALIGNED && (o->align > 32768 || size >= 32768));
        if (o->code == HOP_UNDERFLOW && big[o->s]) { dropped_underflows++; continue; }
        if (o->code == HOP_EDGE && o->k == HOP_EDGE_SUPERSLAB) { dropped_edges++; continue; }
        ops[k++] = *o;
    }
    return k;
}

/* --same-reports: the hak_ build and the hakd_ build report the same (op, kind) list on
 * ops[0..n) (less the ops above). 1 if they do; otherwise 0 after printing both
 * lists for `what` (and a random stream's ops, to replay it from the log). */
static int same_reports_check(const char *what, hop *ops, int n)
{
    static hrun a, b;
    hverdict v;
    n = same_reports_filter(ops, n);
    oracle_check(ops, n, &a, &b, &v, NULL);
    nreported += b.nreports > 0;
    int same = a.nreports == b.nreports && a.died == b.died;
    for (int k = 0; same && k < a.nreports && k < HR_MAXEV; k++)
        same = a.rep[k].op == b.rep[k].op && a.rep[k].kind == b.rep[k].kind;
    if (!same || verbose) {
        char da[400], db[400];
        describe_reports(da, sizeof da, &b);
        describe_reports(db, sizeof db, &a);
        printf("%s %s: %s: %s | %s: %s\n", same ? "same" : "MISMATCH", what, hakd_build_name(), da, hak_build_name(), db);
    }
    if (!same && !cur_file) {
        char t[160];
        printf("    %s\n", HOP_TEXT_MAGIC);
        for (int i = 0; i < n; i++) printf("    %s\n", hop_format(&ops[i], t, sizeof t));
    }
    return same;
}

static void run_file_same(const char *path, const uint8_t *buf, size_t len)
{
    static hop ops[HOP_MAX];
    char err[256];
    int n = hop_is_text(buf, len) ? hop_parse_text((const char *)buf, len, ops, HOP_MAX, err, sizeof err)
                                  : hop_decode((hop_dialect)hakmem_fuzz_dialect, buf, len, ops, HOP_MAX);
    nfiles++;
    if (n < 0) { printf("ERROR %s: %s\n", path, err); nbad++; return; }
    cur_file = path;
    alarm(file_timeout);
    if (!same_reports_check(path, ops, n)) nbad++;
    alarm(0);
}

/* --order-check: the files, and each file's verdict signature per order */
static int order_check;
static char **ord_files;
static size_t ord_n, ord_cap;

static void run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) { perror(path); nbad++; return; }
    static uint8_t buf[1 << 20];
    size_t len = fread(buf, 1, sizeof buf, f);
    fclose(f);
    if (same_reports) { run_file_same(path, buf, len); return; }
    char want[32];
    if (hop_is_text(buf, len)) file_expect((const char *)buf, len, want, sizeof want);
    else snprintf(want, sizeof want, "%s", expect_default);
    if (order_check) {   /* a known-open hole (expected not ok) may end by layout until it is closed */
        if (strcmp(want, "ok")) { printf("order check: skipped %s (expects %s)\n", path, want); return; }
        /* a stream whose point is the heap an earlier stream left (it says why) */
        if (hop_is_text(buf, len) && memmem(buf, len, "\n#order-dependent ", 18)) {
            printf("order check: skipped %s (#order-dependent)\n", path);
            return;
        }
        if (ord_n == ord_cap) { ord_cap = ord_cap ? 2 * ord_cap : 256; ord_files = realloc(ord_files, ord_cap * sizeof *ord_files); }
        ord_files[ord_n++] = strdup(path);
        return;
    }
    hverdict v;
    nfiles++;
    if (!strcmp(want, "skip")) { printf("skip %s (#skip-asan)\n", path); return; }
    cur_file = path;
    alarm(file_timeout);
    int st = oracle_fuzz_input(buf, len, (hop_dialect)hakmem_fuzz_dialect, &v);
    alarm(0);
    if (st < 0) { printf("ERROR %s: %s\n", path, v.msg); nbad++; return; }
    int ok = status_matches(want, st);
    if (!ok) nbad++;
    if (!ok || verbose)
        printf("%s %s: %s (expected %s)%s%s\n", ok ? "ok  " : "FAIL", path, oracle_status_name(st), want,
               v.msg[0] ? "\n    " : "", v.msg);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void run_path(const char *path)
{
    struct stat st;
    if (stat(path, &st)) { perror(path); nbad++; return; }
    if (!S_ISDIR(st.st_mode)) { run_file(path); return; }
    DIR *d = opendir(path);
    if (!d) { perror(path); nbad++; return; }
    char **names = NULL;
    size_t n = 0, cap = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.' || !strcmp(e->d_name, "README.md")) continue;
        if (n == cap) { cap = cap ? 2 * cap : 64; names = realloc(names, cap * sizeof *names); }
        size_t l = strlen(path) + strlen(e->d_name) + 2;
        names[n] = malloc(l);
        snprintf(names[n++], l, "%s/%s", path, e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof *names, cmp_str);
    for (size_t i = 0; i < n; i++) { run_path(names[i]); free(names[i]); }
    free(names);
}

/* One file's verdict as a comparable string. */
static void signature(const char *path, char *out, size_t cap)
{
    FILE *f = fopen(path, "rb");
    static uint8_t buf[1 << 20];
    size_t len = f ? fread(buf, 1, sizeof buf, f) : 0;
    if (f) fclose(f);
    hverdict v;
    cur_file = path;
    alarm(file_timeout);
    int st = oracle_fuzz_input(buf, len, (hop_dialect)hakmem_fuzz_dialect, &v);
    alarm(0);
    /* (not the fault class when no build reported: whether a fault that writes a large
     * header's address-dependent bytes is a no-op depends on the mapping it got) */
    snprintf(out, cap, "%s dbg@%d%s rel@%d%s cover@%d", st < 0 ? "error" : oracle_status_name(st), v.dbg_op,
             v.dbg_drain ? "(drain)" : "", v.rel_op, v.rel_drain ? "(drain)" : "", v.rel_cover_op);
}

static int run_order_check(void)
{
    size_t n = ord_n;
    char (*sig)[3][96] = calloc(n ? n : 1, sizeof *sig);
    size_t *perm = malloc((n ? n : 1) * sizeof *perm);
    unsigned long long x = 0x9E3779B97F4A7C15ull;
    for (int pass = 0; pass < 3; pass++) {
        for (size_t i = 0; i < n; i++) perm[i] = pass == 1 ? n - 1 - i : i;
        if (pass == 2)   /* a fixed shuffle (Fisher-Yates, xorshift) */
            for (size_t i = n; i > 1; i--) {
                x ^= x << 13; x ^= x >> 7; x ^= x << 17;
                size_t j = (size_t)(x % i), t = perm[i - 1];
                perm[i - 1] = perm[j]; perm[j] = t;
            }
        for (size_t i = 0; i < n; i++) signature(ord_files[perm[i]], sig[perm[i]][pass], sizeof sig[0][0]);
    }
    int bad = 0;
    for (size_t i = 0; i < n; i++)
        if (strcmp(sig[i][0], sig[i][1]) || strcmp(sig[i][0], sig[i][2])) {
            bad++;
            printf("ORDER-DEPENDENT %s\n    forward:  %s\n    backward: %s\n    shuffled: %s\n", ord_files[i], sig[i][0], sig[i][1], sig[i][2]);
        }
    printf("%s (%s): order check of %zu input(s) in 3 orders, %d order-dependent\n", hakmem_fuzz_target, hak_build_name(), n, bad);
    free(sig);
    free(perm);
    return bad ? 1 : 0;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* N random streams of about `ops` ops each: the exec/s of the harness itself. */
static int bench(long n, int ops, unsigned long seed, int clean)
{
    static uint8_t buf[8192];
    static hop tmp[HOP_MAX];
    size_t len = (size_t)ops * 4;
    if (len > sizeof buf) len = sizeof buf;
    unsigned long long x = seed * 0x9E3779B97F4A7C15ull + 1, total_ops = 0;
    int st_count[5] = { 0 };
    const char *dump = getenv("HAKMEM_BENCH_DUMP");
    double t0 = now_s();
    for (long i = 0; i < n; i++) {
        for (size_t j = 0; j < len; j++) {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            buf[j] = (uint8_t)(x >> 24);
        }
        if (dump) {   /* the input about to run, for a crash in the allocator */
            FILE *f = fopen(dump, "wb");
            if (f) { fwrite(buf, 1, len, f); fclose(f); }
        }
        int m = hop_decode((hop_dialect)hakmem_fuzz_dialect, buf, len, tmp, HOP_MAX);
        if (same_reports) {   /* the stream is rebuilt by the same --bench/--ops/--seed */
            char what[96];
            snprintf(what, sizeof what, "random stream %ld of --bench %ld --ops %d --seed %lu", i, n, ops, seed);
            nfiles++;
            if (!same_reports_check(what, tmp, m)) nbad++;
            total_ops += (unsigned long long)m;
            continue;
        }
        int st;
        if (clean) {   /* fault-free streams: drop the fault ops */
            static hrun r, d;
            hverdict v;
            int k = 0;
            for (int j = 0; j < m; j++) {
                const hop *o = &tmp[j];
                if (hop_base_class(o)) continue;
                if (clean > 1 && (o->code == HOP_THREAD || o->code == HOP_ALIGNED || o->size > HAK_TINY_MAX)) continue;
                tmp[k++] = *o;
            }
            m = k;
            oracle_check(tmp, m, &r, &d, &v, NULL);
            st = v.status;
        } else {
            st = oracle_fuzz_input(buf, len, (hop_dialect)hakmem_fuzz_dialect, NULL);
        }
        total_ops += (unsigned long long)m;
        if (st >= 0 && st < 5) st_count[st]++;
    }
    double dt = now_s() - t0;
    if (same_reports) {
        printf("%s (%s vs %s): %d random stream(s), %.1f ops/stream, left out: %ld underflows into large blocks, %ld SuperSlab edges; "
               "%d with reports, %d with other reports\n", hakmem_fuzz_target, hakd_build_name(), hak_build_name(), nfiles,
               (double)total_ops / (double)n, dropped_underflows, dropped_edges, nreported, nbad);
        return nbad ? 1 : 0;
    }
    printf("bench %s (%s%s): %ld streams, %.1f ops/stream, %.2f s, %.0f exec/s "
           "(ok %d, escape %d, divergence %d, false_alarm %d, bug %d)\n",
           hakmem_fuzz_target, hak_build_name(), clean > 1 ? ", fault-free, tiny, one thread" : clean ? ", fault-free" : "", n, (double)total_ops / (double)n, dt, (double)n / dt,
           st_count[0], st_count[1], st_count[2], st_count[3], st_count[4]);
    return 0;
}

#define USAGE "usage: %s [-v] [--expect STATUS | --order-check | --same-reports] PATH...\n" \
              "       %s --bench N [--ops K] [--seed S] [--clean|--tiny|--same-reports]\n"
static const char HELP[] =
    "\n"
    "Replay op streams (files, or every file of directories) through the %s fuzz\n"
    "target's oracle, against the release-side build linked in (%s) and the debug\n"
    "build, without libFuzzer; text (\"#hakmem-ops\", docs/op-format.md) and binary\n"
    "inputs alike.\n"
    "\n"
    "  -v, --verbose        one line per input, not only the unexpected ones\n"
    "  -e, --expect STATUS  the verdict every input must reach unless its file says\n"
    "                       otherwise (#expect lines): ok (default), escape, divergence,\n"
    "                       false_alarm, bug, violation (divergence, false_alarm or bug),\n"
    "                       any\n"
    "      --order-check    replay every input forward, backward and shuffled in this\n"
    "                       one process: no verdict may depend on what ran before it\n"
    "      --same-reports   (a driver linked with debug-norel, build/rgcc/ref/) each\n"
    "                       input, or each --bench stream, through both builds: they\n"
    "                       must report the same list of (op, kind); underflows into\n"
    "                       large blocks (address-derived header bytes) and SuperSlab\n"
    "                       edges (both builds crash on the header) are left out\n"
    "  -b, --bench N        no inputs: N random streams, the harness's own exec/s\n"
    "      --ops K          ops per random stream (default 100)\n"
    "      --seed S         seed of the random streams (default 1)\n"
    "      --clean          fault ops dropped from the random streams\n"
    "      --tiny           fault ops, threads, aligned and non-tiny sizes dropped\n"
    "  -h, --help           this help, exit 0\n"
    "\n"
    "Environment: HAKMEM_REGRESS_TIMEOUT (seconds per input, default 30),\n"
    "HAKMEM_BENCH_DUMP=FILE (--bench writes each input there first), HAKMEM_FUZZ_STATS\n"
    "(docs/environment.md).\n"
    "Exit status: 0 when every input reached its expected verdict, 1 when one did not\n"
    "(or an order check or a --same-reports comparison differed), 2 on a usage error.\n";

static const char *prog;
__attribute__((format(printf, 1, 2), noreturn)) static void usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", prog);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fprintf(stderr, USAGE, prog, prog);
    fprintf(stderr, "Try '%s --help' for more information.\n", prog);
    exit(2);
}

/* A whole number in [lo, hi], or a usage error naming the option. */
static long num_arg(const char *opt, const char *v, long lo, long hi)
{
    char *end;
    errno = 0;
    long n = strtol(v, &end, 0);
    if (!*v || *end || errno || n < lo || n > hi) usage_error("%s wants a number from %ld to %ld, not '%s'", opt, lo, hi, v);
    return n;
}

int main(int argc, char **argv)
{
    long nbench = 0;
    int ops = 100, clean = 0;
    unsigned long seed = 1;
    const char *slash = strrchr(argv[0], '/');
    prog = slash ? slash + 1 : argv[0];
    enum { OPT_ORDER = 256, OPT_OPS, OPT_SEED, OPT_CLEAN, OPT_TINY, OPT_SAME };
    static const struct option longopts[] = {
        { "verbose", no_argument, NULL, 'v' },      { "expect", required_argument, NULL, 'e' },
        { "order-check", no_argument, NULL, OPT_ORDER }, { "bench", required_argument, NULL, 'b' },
        { "ops", required_argument, NULL, OPT_OPS }, { "seed", required_argument, NULL, OPT_SEED },
        { "clean", no_argument, NULL, OPT_CLEAN },  { "tiny", no_argument, NULL, OPT_TINY },
        { "same-reports", no_argument, NULL, OPT_SAME },
        { "help", no_argument, NULL, 'h' },         { NULL, 0, NULL, 0 },
    };
    opterr = 0;   /* our own one-line messages */
    int c;
    while ((c = getopt_long(argc, argv, ":ve:b:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'v': verbose = 1; break;
        case 'e':
            if (!status_matches(optarg, HV_OK) && !status_matches(optarg, HV_ESCAPE) && !status_matches(optarg, HV_DIVERGENCE)
                && !status_matches(optarg, HV_FALSE_ALARM) && !status_matches(optarg, HV_BUG))
                usage_error("unknown status '%s' (ok, escape, divergence, false_alarm, bug, violation, any)", optarg);
            expect_default = optarg;
            break;
        case OPT_ORDER: order_check = 1; break;
        case 'b': nbench = num_arg("--bench", optarg, 1, 1L << 40); break;
        case OPT_OPS: ops = (int)num_arg("--ops", optarg, 1, 4096); break;
        case OPT_SEED: seed = (unsigned long)num_arg("--seed", optarg, 0, LONG_MAX); break;
        case OPT_CLEAN: clean = 1; break;
        case OPT_TINY: clean = 2; break;
        case OPT_SAME: same_reports = 1; break;
        case 'h':
            printf(USAGE, prog, prog);
            printf(HELP, hakmem_fuzz_target, hak_build_name());
            return 0;
        case ':': usage_error("option '%s' needs an argument", argv[optind - 1]);
        default:
            if (optopt) usage_error("unknown option '-%c'", optopt);
            usage_error("unknown option '%s'", argv[optind - 1]);
        }
    }
    if (nbench && optind < argc) usage_error("--bench takes no input paths");
    if (nbench && order_check) usage_error("--bench and --order-check exclude each other");
    if (same_reports && (order_check || clean)) usage_error("--same-reports excludes --order-check, --clean and --tiny");
    if (!nbench && optind >= argc) usage_error("no input path (or --bench N)");
    oracle_abort_on_violation = 0;
    oracle_stats_init(hakmem_fuzz_target);
    const char *to = getenv("HAKMEM_REGRESS_TIMEOUT");
    if (to && atoi(to) > 0) file_timeout = (unsigned)atoi(to);
    signal(SIGALRM, on_alarm);
    if (nbench > 0) return bench(nbench, ops, seed, clean);
    for (int i = optind; i < argc; i++) run_path(argv[i]);
    if (order_check) return run_order_check();
    if (same_reports)
        printf("%s (%s vs %s): %d input(s), left out: %ld underflows into large blocks, %ld SuperSlab edges; "
               "%d with reports, %d with other reports\n", hakmem_fuzz_target, hakd_build_name(), hak_build_name(), nfiles,
               dropped_underflows, dropped_edges, nreported, nbad);
    else
        printf("%s (%s): %d input(s), %d unexpected\n", hakmem_fuzz_target, hak_build_name(), nfiles, nbad);
    return nbad ? 1 : 0;
}
