/* test_cache.c - thread caches: refill takes half a bin, a full bin flushes its older
 * half, frees of another thread's blocks go home to the owner's remote list at once
 * and are reused before fresh memory, thread exit
 * returns SuperSlabs to the pool, and reset empties everything. */
#include <semaphore.h>
#include <sys/wait.h>
#include "hakmem.c"
#include "unit.h"

static void *blocks[4096];

static unsigned remote_cached;
static int remote_set_up;
static void *remote_free_thread(void *arg)
{
    for (int i = 0; i < 64; i++) HAK_API(free)(((void **)arg)[i]);
    /* a thread that only frees others' blocks needs no cache: it is not even set up */
    remote_set_up = hak_tls.initialized;
    remote_cached = remote_set_up ? hak_bin_count(&hak_tls, hak_size_class(200)) : 0;
    HAK_API(thread_flush)();
    return NULL;
}
/* A thread that leaves free blocks on its partial lists and stays alive over a fork. */
static void *fork_blocks[4000];
static sem_t fork_ready, fork_done;
static void *partial_holder_thread(void *arg)
{
    (void)arg;
    for (int i = 0; i < 4000; i++) fork_blocks[i] = HAK_API(malloc)(64);
    for (int i = 0; i < 4000; i += 2) HAK_API(free)(fork_blocks[i]);
    HAK_API(thread_flush)();
    sem_post(&fork_ready);
    sem_wait(&fork_done);
    return NULL;
}
static void *alloc_and_exit_thread(void *arg)
{
    (void)arg;
    for (int i = 0; i < 100; i++) blocks[i] = HAK_API(malloc)(48);
    return NULL;   /* blocks stay live: the SuperSlab is abandoned, not empty */
}

int main(void)
{
    HAK_API(set_corruption_handler)(unit_record, NULL);
    hak_thread *t = &hak_tls;
    void *p = HAK_API(malloc)(40);
    EXPECT(t->initialized);
    unsigned cls = hak_size_class(40);
    unsigned cap = hak_bin_cap(cls);
    EXPECT_EQ(cap, HAKMEM_TCACHE_TINY_CAP);
    EXPECT_EQ(hak_bin_count(t, cls), cap / 2 - 1);     /* refill brought half a bin */
    EXPECT(t->slots[hak_bin_base(cls) - 1] == NULL);
    EXPECT(t->slots[hak_bin_base(cls) + cap] == HAK_BIN_FULL);
    EXPECT_EQ(hak_state_load(p), t->st_alloc);
    HAK_API(free)(p);
    EXPECT_EQ(hak_state_load(p), HAK_ST_CACHED);
    EXPECT(t->bins[cls][-1] == p);

    /* fill the bin past its capacity: the older half goes back to the slab */
    unsigned n = cap * 2;
    for (unsigned i = 0; i < n; i++) blocks[i] = HAK_API(malloc)(40);
    for (unsigned i = 0; i < n; i++) HAK_API(free)(blocks[i]);
    EXPECT(hak_bin_count(t, cls) <= cap);
    EXPECT(t->slots[hak_bin_base(cls) + cap] == HAK_BIN_FULL);
    hak_slab *sl = t->active[cls];
    EXPECT(sl != NULL && sl->free != NULL);
    EXPECT_EQ(hak_state_load(sl->free), HAK_ST_FREE);
    HAK_API(thread_flush)();
    EXPECT_EQ(hak_bin_count(t, cls), 0);

    /* cross-thread frees go home at once: the freeing thread caches none of them, they
     * wait REMOTE on the owner's remote list, and the owner reuses them before carving */
    void *mine[64];
    for (int i = 0; i < 64; i++) mine[i] = HAK_API(malloc)(200);
    pthread_t th;
    pthread_create(&th, NULL, remote_free_thread, mine);
    pthread_join(th, NULL);
    EXPECT_EQ(remote_cached, 0);
    EXPECT_EQ(remote_set_up, 0);
    for (int i = 0; i < 64; i++) EXPECT_EQ(hak_state_load(mine[i]), HAK_ST_REMOTE);
    hak_slab *rs = hak_slab_head(hak_ss_of((uintptr_t)mine[0]), hak_slab_at(hak_ss_of((uintptr_t)mine[0]), (uintptr_t)mine[0]));
    EXPECT(atomic_load(&rs->remote) != NULL);
    HAK_API(thread_flush)();
    unsigned carved = atomic_load(&rs->count);
    for (int i = 0; i < 64; i++) mine[i] = HAK_API(malloc)(200);
    EXPECT(atomic_load(&rs->remote) == NULL);
    EXPECT_EQ(atomic_load(&rs->count), carved);
    for (int i = 0; i < 64; i++) HAK_API(free)(mine[i]);
    HAK_API(heap_drain)();
    EXPECT_EQ(unit_total_reports(), 0);

    /* a refill takes the free blocks of the class's other slabs before carving fresh
     * memory, and keeps its active slab (a slab left on no list would be stranded) */
    {
        unsigned c = hak_size_class(300);
        void *b[8];
        for (int i = 0; i < 8; i++) b[i] = HAK_API(malloc)(300);
        hak_slab *a = t->active[c];
        HAK_API(free)(b[0]);
        HAK_API(thread_flush)();                  /* b[0] back on a: a has free blocks */
        hak_slab *fresh = hak_new_slab(t, c);
        EXPECT(fresh != NULL && fresh != a && fresh->used == 0);
        t->active[c] = fresh;
        hak_partial_add(t, a);
        EXPECT(hak_refill(t, c) > 0);
        EXPECT(t->active[c] == fresh);
        EXPECT(a->free == NULL && !a->in_partial);   /* b[0] was taken first */
        EXPECT(t->bins[c][-1] != b[0]);              /* ...so it is deepest in the bin */
        int found = 0;
        for (void **q = &t->slots[hak_bin_base(c)]; q < t->bins[c]; q++) found += *q == b[0];
        EXPECT_EQ(found, 1);
        EXPECT(fresh->used > 0);
        for (int i = 1; i < 8; i++) HAK_API(free)(b[i]);
        HAK_API(thread_flush)();
        EXPECT_EQ(unit_total_reports(), 0);
    }

    /* fork with a live thread whose slabs sit on its partial lists: in the child its
     * SuperSlabs go to the pool with no partial-list state left (stale links would
     * hide their free blocks and corrupt the adopter's lists) */
    {
        sem_init(&fork_ready, 0, 0);
        sem_init(&fork_done, 0, 0);
        pthread_t holder;
        pthread_create(&holder, NULL, partial_holder_thread, NULL);
        sem_wait(&fork_ready);
        pid_t pid = fork();
        if (pid == 0) {
            int stale = 0;
            for (hak_superslab *ss = hak_g.pool; ss; ss = ss->next)
                for (unsigned i = 1; i < HAK_SLABS_PER_SS; i++) stale += hak_ss_slab(ss, i)->in_partial != 0;
            _exit(stale ? 1 : 0);
        }
        int st = -1;
        EXPECT(pid > 0 && waitpid(pid, &st, 0) == pid);
        EXPECT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
        sem_post(&fork_done);
        pthread_join(holder, NULL);
        for (int i = 1; i < 4000; i += 2) HAK_API(free)(fork_blocks[i]);
    }

    /* an exiting thread gives its SuperSlabs to the pool; we adopt and free its blocks */
    pthread_create(&th, NULL, alloc_and_exit_thread, NULL);
    pthread_join(th, NULL);
    EXPECT(hak_g.npool >= 1);
    for (int i = 0; i < 100; i++) HAK_API(free)(blocks[i]);
    EXPECT_EQ(unit_total_reports(), 0);

    /* reset: all caches empty, all SuperSlabs back in the pool, heap reusable */
    HAK_API(heap_reset)();
    EXPECT_EQ(hak_bin_count(t, cls), 0);
    unsigned nss = 0;
    for (hak_superslab *s = hak_g.all; s; s = s->all_next) nss++;
    EXPECT_EQ(hak_g.npool, nss);
    void *q = HAK_API(malloc)(40);
    EXPECT(q != NULL);
    HAK_API(free)(q);
    HAK_API(heap_drain)();
    EXPECT_EQ(unit_total_reports(), 0);
    return unit_finish("cache");
}
