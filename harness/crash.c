/* crash.c - if the allocator (or the harness) dies inside a replay, say where before the
 * fuzzer or the sanitizer takes over (see crash_context_init). */
#include "shadow.h"

#include <signal.h>
#include <string.h>
#include <unistd.h>

/* ---- crash context -----------------------------------------------------------------
 * If the allocator (or the harness) dies inside a replay, say where before the fuzzer
 * or the sanitizer takes over: one line naming the build, the op and the last fault.
 * A SIGSEGV/SIGBUS/SIGFPE/SIGILL handler chained to the previous one (libFuzzer's or
 * the sanitizer's, which save the input), and ASan's error-report callback. */
hctx *volatile g_live;
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
 * is what writes the crash file.) ASan's error-report callback is free. Only in an ASan
 * build, known at compile time: a weak reference would still be a call into the ASan
 * runtime in every other build, and OSS-Fuzz rejects a UBSan build that has one. */
#if defined(__SANITIZE_ADDRESS__)
#define CRASH_HAVE_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CRASH_HAVE_ASAN 1
#endif
#endif
#ifdef CRASH_HAVE_ASAN
#include <sanitizer/asan_interface.h>
static void asan_report_callback(const char *report) { (void)report; say_crash(0); }
#endif

void crash_context_init(void)
{
    static int done;
    if (done) return;
    done = 1;
#ifdef CRASH_HAVE_ASAN
    __asan_set_error_report_callback(asan_report_callback);
#endif
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

