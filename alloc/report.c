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

static hak_noinline void hak_report(hak_corruption_kind kind, const void *ptr)
{
    HAK_STAT_INC(reports);
    hak_corruption_fn fn = atomic_load_explicit(&hak_g.handler, memory_order_acquire);
    if (fn) {
        fn(kind, ptr, atomic_load_explicit(&hak_g.handler_arg, memory_order_relaxed));
        return;
    }
    hak_write_line(hak_corruption_message(kind));
    abort();
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
