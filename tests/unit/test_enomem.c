/* test_enomem.c - a failed large mapping gives the heap's warm memory back only when
 * that can help: never for a mapping above the address-space limit, nor, under the
 * kernel's heuristic overcommit, above RAM plus swap (the kernel refuses it whatever is
 * free). A program (or a fuzz campaign) asking for impossible sizes keeps its resident
 * SuperSlabs; one asking for what a give-back can make room for still gets it. */
#include <sys/resource.h>
#include <sys/wait.h>
#include "hakmem.c"
#include "unit.h"

static void *blocks[200000];

static unsigned resident_pool(void)
{
    unsigned n = 0;
    pthread_mutex_lock(&hak_g.lock);
    for (hak_superslab *ss = hak_g.pool; ss; ss = ss->next) n += ss->resident > 0;
    pthread_mutex_unlock(&hak_g.lock);
    return n;
}

int main(void)
{
    HAK_API(set_corruption_handler)(unit_record, NULL);
    /* Above the address-space limit nothing given back helps; below it, it may. */
    pid_t pid = fork();
    if (pid == 0) {
        struct rlimit rl = { (rlim_t)4 << 30, (rlim_t)4 << 30 };
        if (setrlimit(RLIMIT_AS, &rl)) _exit(3);
        _exit(hak_release_may_help((size_t)8 << 30) == 0 && hak_release_may_help((size_t)1 << 20) == 1 ? 0 : 1);
    }
    int st = 0;
    EXPECT(pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    EXPECT(hak_release_may_help((size_t)2 << 20));   /* 2 MiB: always worth a try */

    /* Warm SuperSlabs in the pool (a heap reset puts every one there, pages resident). */
    size_t n = sizeof blocks / sizeof blocks[0];
    for (size_t i = 0; i < n; i++) blocks[i] = HAK_API(malloc)(64);
    HAK_API(heap_reset)();
    unsigned warm = resident_pool();
    EXPECT(warm >= 4);
    size_t huge = (size_t)1 << 40;
    size_t map = (HAK_LARGE_HDR + huge + HAK_SS_MASK) & ~HAK_SS_MASK;
    void *p = HAK_API(malloc)(huge);
    if (p) {   /* a kernel that maps it (overcommit "always"): nothing to check */
        printf("test_enomem: a 1 TiB mapping succeeded here; the give-back is not exercised\n");
        HAK_API(free)(p);
    } else if (!hak_release_may_help(map)) {
        EXPECT_EQ(resident_pool(), warm);   /* a doomed request kept the warm memory */
    } else {
        printf("test_enomem: 1 TiB may fit after a give-back here (overcommit or limits); not checked\n");
    }
    EXPECT_EQ(unit_total_reports(), 0);
    return unit_finish("test_enomem");
}
