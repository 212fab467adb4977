/* workers.c - the harness's worker threads: thread 0 is the replaying thread; ops after
 * "thread k" run on worker k, handed over and waited for, so the schedule is part of the
 * input and replays are deterministic. Workers live for the whole process. */
#include "workers.h"

#include <errno.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sched.h>

#include "ops.h"

/* Hand-off: a flag each way, spun on briefly (a futex wake-up costs tens of
 * microseconds on a busy machine, a spin across cores well under one), then a
 * semaphore sleep. The sleeping flags make the poster wake a sleeper; a post that
 * races with a waker that saw its flag in time is harmless (flags are re-checked). */
#define SPIN_LIMIT 32   /* spins before sleeping: short, 2 cores host 4 harness threads (fuzz-bench: 1000 -> 32 doubled exec/s) */
typedef struct hworker {
    pthread_t th;
    _Atomic int go, done, go_sleeping, done_sleeping;
    sem_t go_sem, done_sem;
    void (*fn)(void *);
    void *arg;
} hworker;
static hworker g_workers[HOP_NTHREADS];
static pid_t g_workers_pid;

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static void wait_flag(_Atomic int *flag, _Atomic int *sleeping, sem_t *sem)
{
    for (int spins = 0; !atomic_load(flag);) {
        if (++spins < SPIN_LIMIT) { cpu_relax(); continue; }
        atomic_store(sleeping, 1);
        if (!atomic_load(flag)) while (sem_wait(sem) && errno == EINTR) {}
        atomic_store(sleeping, 0);
        spins = 0;
    }
    atomic_store(flag, 0);
}

static void raise_flag(_Atomic int *flag, _Atomic int *sleeping, sem_t *sem)
{
    atomic_store(flag, 1);
    if (atomic_load(sleeping)) sem_post(sem);
}

static void *worker_main(void *arg)
{
    hworker *w = arg;
    for (;;) {
        wait_flag(&w->go, &w->go_sleeping, &w->go_sem);
        w->fn(w->arg);
        raise_flag(&w->done, &w->done_sleeping, &w->done_sem);
    }
    return NULL;
}

static int g_workers_up;
static int g_colocated_cpu = -1;
static void workers_forget(void) { g_workers_up = 0; g_colocated_cpu = -1; }   /* a forked child has none */

void workers_start(void)
{
    if (g_workers_up) return;
    if (!g_workers_pid) pthread_atfork(NULL, NULL, workers_forget);
    g_workers_pid = getpid();
    g_workers_up = 1;
    for (int k = 1; k < HOP_NTHREADS; k++) {
        hworker *w = &g_workers[k];
        memset(w, 0, sizeof *w);
        sem_init(&w->go_sem, 0, 0);
        sem_init(&w->done_sem, 0, 0);
        if (pthread_create(&w->th, NULL, worker_main, w)) { perror("pthread_create"); abort(); }
    }
}

/* Co-location: the workers may run only on the CPU the replaying thread is on (that
 * thread itself is never pinned; the workers follow it when it moves). A hand-off to a
 * thread on the same CPU is a plain switch when the poster sleeps; one to another CPU
 * costs a wake-up interrupt and, on a busy machine, a wait for that CPU: perf showed
 * the hand-offs (try_to_wake_up, finish_task_switch) at ~50% of a fault-stream replay.
 * HAKMEM_HARNESS_NO_COLOCATE=1 turns it off. */
static int g_colocate = -1;
static void workers_follow(void)
{
    if (g_colocate < 0) { const char *e = getenv("HAKMEM_HARNESS_NO_COLOCATE"); g_colocate = !(e && *e == '1'); }
    if (!g_colocate) return;
    int cpu = sched_getcpu();
    if (cpu < 0 || cpu == g_colocated_cpu) return;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    for (int k = 1; k < HOP_NTHREADS; k++)
        if (pthread_setaffinity_np(g_workers[k].th, sizeof set, &set)) { g_colocate = 0; return; }
    g_colocated_cpu = cpu;
}

/* Run fn(arg) on thread k and wait for it. */
void run_on(int k, void (*fn)(void *), void *arg)
{
    if (k == 0) { fn(arg); return; }
    workers_follow();
    hworker *w = &g_workers[k];
    w->fn = fn;
    w->arg = arg;
    raise_flag(&w->go, &w->go_sleeping, &w->go_sem);
    wait_flag(&w->done, &w->done_sleeping, &w->done_sem);
}

