/* report.c - the corruption handler and the global heap state.
 * One handler, one kind enum (include/hakmem.h). The default handler writes the
 * kind's fixed line to stderr and aborts; a settable handler records and returns,
 * and the caller recovers (see hakmem.h). */
#include <stdlib.h>
#include <unistd.h>

typedef struct hak_large hak_large;

/* Everything shared by the threads of one heap. `lock` guards the pool, the lists and
 * the large tier's live list. */
static struct {
    pthread_mutex_t lock;
    _Atomic int init_state;            /* 0 none, 1 initialising, 2 ready */
    pthread_key_t key;                 /* thread-exit destructor */
    hak_superslab *pool;               /* SuperSlabs without an owner */
    unsigned npool;
    hak_superslab *all;                /* every SuperSlab ever mapped */
    hak_thread *threads[HAKMEM_MAX_THREADS];   /* initialised threads (TLS addresses) */
    unsigned nthreads;
    unsigned hint_users[HAK_ST_HINT + 1];   /* set-up threads (and the orphan heap) per allocation hint */
    unsigned hint_next;                /* where the search for an unused hint starts */
    _Atomic(hak_corruption_fn) handler;
    void *_Atomic handler_arg;
} hak_g = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void hak_write_line(const char *msg)
{
    size_t n = strlen(msg);
    char buf[160];
    if (n > sizeof buf - 2) n = sizeof buf - 2;
    memcpy(buf, msg, n);
    buf[n++] = '\n';
    ssize_t r = write(2, buf, n);
    (void)r;
}

/* Reports found in the middle of an internal operation (a refill, a flush, a drain)
 * are queued and delivered when the operation is over: a recording handler may call
 * malloc, and must find the allocator's state whole. The default handler aborts at
 * once (it never returns, so nothing can be re-entered). */
#define HAK_REPORT_QUEUE 16
static __thread struct {
    unsigned depth, n;
    hak_corruption_kind kind[HAK_REPORT_QUEUE];
    const void *ptr[HAK_REPORT_QUEUE];
} hak_rq __attribute__((tls_model("initial-exec")));

static void hak_report_deliver(hak_corruption_kind kind, const void *ptr)
{
    hak_corruption_fn fn = atomic_load_explicit(&hak_g.handler, memory_order_acquire);
    if (fn) {
        fn(kind, ptr, atomic_load_explicit(&hak_g.handler_arg, memory_order_relaxed));
        return;
    }
    hak_write_line(hak_corruption_message(kind));
    abort();
}

static hak_noinline void hak_report(hak_corruption_kind kind, const void *ptr)
{
    HAK_STAT_INC(reports);
    if (hak_rq.depth && atomic_load_explicit(&hak_g.handler, memory_order_acquire)) {
        if (hak_rq.n < HAK_REPORT_QUEUE) {   /* past that, only the first ones are told */
            hak_rq.kind[hak_rq.n] = kind;
            hak_rq.ptr[hak_rq.n++] = ptr;
        }
        return;
    }
    hak_report_deliver(kind, ptr);
}

/* Bracket an internal operation. */
static inline void hak_internal_begin(void) { hak_rq.depth++; }
static inline void hak_internal_end(void)
{
    if (--hak_rq.depth || hak_likely(!hak_rq.n)) return;
    unsigned n = hak_rq.n;
    hak_corruption_kind kind[HAK_REPORT_QUEUE];
    const void *ptr[HAK_REPORT_QUEUE];
    memcpy(kind, hak_rq.kind, n * sizeof kind[0]);
    memcpy(ptr, hak_rq.ptr, n * sizeof ptr[0]);
    hak_rq.n = 0;
    for (unsigned i = 0; i < n; i++) hak_report_deliver(kind[i], ptr[i]);
}

static hak_noinline void hak_internal_error(const char *what, int line)
{
    char buf[160];
    int n = snprintf(buf, sizeof buf, "hakmem: internal error: %s (alloc line %d)", what, line);
    (void)n;
    hak_write_line(buf);
    abort();
}

HAK_EXPORT hak_corruption_fn HAK_API(set_corruption_handler)(hak_corruption_fn fn, void *arg)
{
    atomic_store_explicit(&hak_g.handler_arg, arg, memory_order_relaxed);
    return atomic_exchange_explicit(&hak_g.handler, fn, memory_order_acq_rel);
}

HAK_EXPORT const char *HAK_API(build_name)(void) { return HAKMEM_VARIANT_NAME; }
