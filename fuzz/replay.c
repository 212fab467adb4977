/* replay.c - hakmem-replay: convert, replay and explain op streams (the text form is
 * docs/op-format.md). `hakmem-replay --help` prints the whole usage (the HELP text
 * below); a usage error prints one line saying what is wrong, the usage line, and
 * exits 2. */
#include "fuzz_entry.h"

#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define USAGE "usage: hakmem-replay [-b BUILD] [-t TARGET] [--trace] [--json] [--to-text|--to-bin] [-o OUT] FILE...\n"
static const char HELP[] =
    USAGE
    "\n"
    "Replay op streams against hakmem's release and debug builds and say who detected\n"
    "what, or convert them between the binary form (what fuzzers mutate) and the text\n"
    "form (one op a line, first line \"#hakmem-ops\"; see docs/op-format.md).\n"
    "\n"
    "  -b, --build BUILD    both (default): release and debug, the differential verdict;\n"
    "                       release | debug: one build, its reports and harms;\n"
    "                       system: the process's own malloc (glibc, or what LD_PRELOAD\n"
    "                       put there), each stream in a child; a signal is a detection\n"
    "  -t, --target TARGET  dialect of binary inputs: ops | freelist | header (also\n"
    "                       fuzz_ops ...); default: guessed from the path, else ops\n"
    "      --trace          op-by-op trace on stdout\n"
    "      --json           one JSON object per file (what verify/report.py reads)\n"
    "      --to-text        print the stream as text (to OUT with -o)\n"
    "      --to-bin         print the stream in binary form, in TARGET's dialect\n"
    "  -o, --output OUT     write the converted stream to OUT (one input file only)\n"
    "  -h, --help           this help, exit 0\n"
    "  -V, --version        hakmem's version, exit 0\n"
    "\n"
    "Examples:\n"
    "  hakmem-replay corpus/text/f1-double-free.txt          the verdict of one stream\n"
    "  hakmem-replay --build release --trace FILE             what the release build did\n"
    "  hakmem-replay --to-text build/crashes/fuzz_ops/crash-X   a crash file, readable\n"
    "  hakmem-replay -t freelist --to-bin -o seed FILE.txt    a text stream as a seed\n"
    "\n"
    "Exit status: 0 when every stream's verdict is ok, 1 when one is a violation\n"
    "(divergence, escape, false alarm, crash), 2 on a usage error or an unreadable or\n"
    "invalid input file.\n";

/* A usage error: what is wrong, on one line, then the usage line; exit 2. */
__attribute__((format(printf, 1, 2), noreturn)) static void usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("hakmem-replay: ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\n" USAGE "Try 'hakmem-replay --help' for more information.\n", stderr);
    exit(2);
}

static hop g_ops[HOP_MAX];

static int load(const char *path, int dialect, int *n, int *was_text)
{
    FILE *f = fopen(path, "rb");
    if (!f) { perror(path); return -1; }
    static uint8_t buf[1 << 20];
    size_t len = fread(buf, 1, sizeof buf, f);
    fclose(f);
    *was_text = hop_is_text(buf, len);
    if (*was_text) {
        char err[256];
        *n = hop_parse_text((const char *)buf, len, g_ops, HOP_MAX, err, sizeof err);
        if (*n < 0) { fprintf(stderr, "%s: %s\n", path, err); return -1; }
    } else {
        *n = hop_decode((hop_dialect)dialect, buf, len, g_ops, HOP_MAX);
    }
    return 0;
}

static int guess_dialect(const char *path)
{
    if (strstr(path, "freelist")) return HOP_DIALECT_FREELIST;
    if (strstr(path, "header")) return HOP_DIALECT_HEADER;
    return HOP_DIALECT_OPS;
}

static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') fprintf(f, "\\%c", *s);
        else if ((unsigned char)*s < 32) fprintf(f, "\\u%04x", *s);
        else fputc(*s, f);
    }
    fputc('"', f);
}

/* The system allocator on one stream, in a child: the parent learns how far it got. */
static void run_system(const hop *ops, int n, hrun *out, int trace)
{
    hrun *sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (sh == MAP_FAILED) { perror("mmap"); exit(1); }
    memset((void *)sh, 0, sizeof *sh);
    sh->progress = -1;
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        /* silence the C library's own fatal message unless tracing */
        if (!trace) { FILE *nul = freopen("/dev/null", "w", stderr); (void)nul; }
        hak_heap_reset();
        void *other = hak_malloc(48);
        /* the run's record lives in the shared mapping: after a crash the parent
         * still sees how far it got and which faults were applied */
        oracle_run(&oracle_system, other, ops, n, sh, trace ? stdout : NULL);
        fflush(stdout);
        sh->progress = n + 1;
        _exit(0);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    int progress = sh->progress;
    memcpy(out, (void *)sh, sizeof *out);
    if (WIFSIGNALED(st) || progress != n + 1) {
        out->died = WIFSIGNALED(st) ? WTERMSIG(st) : 255;
        out->died_op = progress < 0 ? 0 : progress;
        out->build = "system";
    }
    out->nops = n;
    out->build = "system";
    munmap((void *)sh, sizeof *sh);
}

int main(int argc, char **argv)
{
    const char *build = "both", *outpath = NULL;
    int dialect = -1, trace = 0, json = 0, to_text = 0, to_bin = 0, i;
    enum { OPT_TRACE = 256, OPT_JSON, OPT_TO_TEXT, OPT_TO_BIN };
    static const struct option longopts[] = {
        { "build", required_argument, NULL, 'b' },   { "target", required_argument, NULL, 't' },
        { "trace", no_argument, NULL, OPT_TRACE },    { "json", no_argument, NULL, OPT_JSON },
        { "to-text", no_argument, NULL, OPT_TO_TEXT }, { "to-bin", no_argument, NULL, OPT_TO_BIN },
        { "output", required_argument, NULL, 'o' },  { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },       { NULL, 0, NULL, 0 },
    };
    opterr = 0;   /* our own one-line messages */
    int c;
    while ((c = getopt_long(argc, argv, ":b:t:o:hV", longopts, NULL)) != -1) {
        switch (c) {
        case 'b':
            build = optarg;
            if (strcmp(build, "both") && strcmp(build, "release") && strcmp(build, "debug") && strcmp(build, "system"))
                usage_error("unknown build '%s' (both, release, debug, system)", build);
            break;
        case 't':
            dialect = hop_dialect_from_name(optarg);
            if (dialect < 0) usage_error("unknown target '%s' (ops, freelist, header)", optarg);
            break;
        case OPT_TRACE: trace = 1; break;
        case OPT_JSON: json = 1; break;
        case OPT_TO_TEXT: to_text = 1; break;
        case OPT_TO_BIN: to_bin = 1; break;
        case 'o': outpath = optarg; break;
        case 'h': fputs(HELP, stdout); return 0;
        case 'V': printf("hakmem-replay (hakmem %d.%d.%d)\n", HAKMEM_VERSION_MAJOR, HAKMEM_VERSION_MINOR, HAKMEM_VERSION_PATCH); return 0;
        case ':': usage_error("option '%s' needs an argument", argv[optind - 1]);
        default:
            if (optopt) usage_error("unknown option '-%c'", optopt);
            usage_error("unknown option '%s'", argv[optind - 1]);
        }
    }
    i = optind;
    if (i >= argc) usage_error("no input file");
    if (to_text && to_bin) usage_error("--to-text and --to-bin exclude each other");
    if (outpath && !to_text && !to_bin) usage_error("-o needs --to-text or --to-bin");
    if (outpath && argc - i != 1) usage_error("-o takes one input file, not %d", argc - i);
    oracle_abort_on_violation = 0;
    int worst = 0;
    for (; i < argc; i++) {
        const char *path = argv[i];
        int d = dialect >= 0 ? dialect : guess_dialect(path), n, was_text;
        if (load(path, d, &n, &was_text)) {
            worst = 2;
            if (json) { printf("{\"file\": "); json_str(stdout, path); printf(", \"status\": \"invalid\"}\n"); }
            continue;
        }
        if (to_text || to_bin) {
            FILE *f = outpath ? fopen(outpath, "wb") : stdout;
            if (!f) { perror(outpath); return 2; }
            if (to_text) {
                char t[160];
                fprintf(f, "%s\n# from %s (%s dialect)\n", HOP_TEXT_MAGIC, path, hop_dialect_name((hop_dialect)d));
                for (int k = 0; k < n; k++) fprintf(f, "%s\n", hop_format(&g_ops[k], t, sizeof t));
            } else {
                static uint8_t bin[HOP_MAX * 16];
                long len = hop_encode((hop_dialect)d, g_ops, n, bin, sizeof bin);
                if (len < 0) { fprintf(stderr, "%s: cannot encode\n", path); return 2; }
                fwrite(bin, 1, (size_t)len, f);
            }
            if (outpath) fclose(f);
            continue;
        }
        FILE *tr = trace ? stdout : NULL;
        static hrun rel, dbg, sys;
        hverdict v;
        memset(&v, 0, sizeof v);
        if (json && strcmp(build, "system")) {
            /* one child per stream: an allocator crash costs one stream, not the batch */
            fflush(stdout);
            pid_t pid = fork();
            if (pid > 0) {
                int st = 0;
                waitpid(pid, &st, 0);
                if (WIFSIGNALED(st)) {
                    printf("{\"file\": "); json_str(stdout, path);
                    printf(", \"build\": \"%s\", \"ops\": %d, \"status\": \"crash\", \"signal\": %d}\n", build, n, WTERMSIG(st));
                    if (worst < 1) worst = 1;
                } else if (WIFEXITED(st) && WEXITSTATUS(st) > worst) {
                    worst = WEXITSTATUS(st);
                }
                continue;
            }
            if (pid == 0) { FILE *nul = freopen("/dev/null", "w", stderr); (void)nul; }
        }
        if (!strcmp(build, "both")) {
            oracle_check(g_ops, n, &rel, &dbg, &v, tr);
            if (v.status != HV_OK && worst < 1) worst = 1;   /* an escape fails like a divergence */
            if (json) {
                printf("{\"file\": "); json_str(stdout, path);
                printf(", \"ops\": %d, \"faults\": %d, \"status\": \"%s\", \"class\": %d, \"fault_op\": %d, \"debug_op\": %d, "
                       "\"release_op\": %d, \"delay\": %d, \"debug_kind\": \"%s\", \"release_kind\": \"%s\", "
                       "\"release_escape\": %d, \"debug_escape\": %d, \"release_cover_op\": %d, \"debug_at_drain\": %d, "
                       "\"release_at_drain\": %d, \"skipped_faults\": %d, \"release_build\": \"%s\", \"msg\": ",
                       n, rel.nfaults, oracle_status_name(v.status), v.cls, v.fault_op, v.dbg_op, v.rel_op, v.delay,
                       dbg.nreports ? hak_corruption_name(dbg.rep[0].kind) : "none",
                       rel.nreports ? hak_corruption_name(rel.rep[0].kind) : "none",
                       v.rel_escape, v.dbg_escape, v.rel_cover_op, v.dbg_drain, v.rel_drain, v.skipped, hak_build_name());
                json_str(stdout, v.msg);
                printf("}\n");
                fflush(stdout);
                if (json) _exit(v.status != HV_OK ? 1 : 0);
            } else {
                printf("%s: %s [F%d]%s%s\n", path, oracle_status_name(v.status), v.cls, v.msg[0] ? "\n  " : "", v.msg);
                if (v.status == HV_OK)
                    printf("  debug: %s at op %d | release: %s at op %d\n",
                           dbg.nreports ? hak_corruption_name(dbg.rep[0].kind) : "no report", v.dbg_op,
                           rel.nreports ? hak_corruption_name(rel.rep[0].kind) : "no report", v.rel_op);
            }
        } else {
            hrun *r = &sys;
            if (!strcmp(build, "system")) run_system(g_ops, n, r, trace);
            else if (!strcmp(build, "release")) { hakd_heap_reset(); oracle_run(&oracle_release, hakd_malloc(48), g_ops, n, r, tr); }
            else { hak_heap_reset(); oracle_run(&oracle_debug, hak_malloc(48), g_ops, n, r, tr); }
            int det = r->died ? r->died_op : r->nreports ? r->rep[0].op : -1;
            int escape = r->nharms && (det < 0 || r->harm[0].op < det);
            if (json) {
                printf("{\"file\": "); json_str(stdout, path);
                printf(", \"build\": \"%s\", \"ops\": %d, \"faults\": %d, \"first_fault\": %d, \"detect_op\": %d, \"signal\": %d, "
                       "\"kind\": \"%s\", \"harms\": %d, \"harm\": \"%s\", \"escape\": %d}\n",
                       build, n, r->nfaults, r->nfaults ? r->first_fault : -1, det, r->died,
                       r->nreports ? hak_corruption_name(r->rep[0].kind) : "none", r->nharms,
                       r->nharms ? oracle_harm_name(r->harm[0].kind) : "none", escape);
                fflush(stdout);
                if (strcmp(build, "system")) _exit(0);
            } else {
                printf("%s [%s]: ", path, build);
                if (r->died) printf("died of signal %d at op %d", r->died, r->died_op);
                else if (r->nreports) printf("reported %s at op %d", hak_corruption_name(r->rep[0].kind), r->rep[0].op);
                else printf("no report");
                if (r->nharms) printf("; harm %s at op %d (slot %d)", oracle_harm_name(r->harm[0].kind), r->harm[0].op, r->harm[0].slot);
                printf("; %d fault(s) applied\n", r->nfaults);
            }
        }
    }
    return worst;
}
