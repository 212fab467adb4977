/* thread_freeres_fork.c - run under LD_PRELOAD=libhakmem.so: must exit 0.
 *
 * glibc frees a thread's strsignal() buffer in __libc_thread_freeres, after every
 * pthread-key destructor has run, so the allocator sees a free() from a thread whose
 * hakmem exit handler already ran. The thread's stack is larger than glibc's stack
 * cache, so it (with the thread's TLS) is unmapped at join. Then the process forks
 * and the child allocates: nothing of the dead thread may be touched any more.
 * Uses only libc names; prints one line and exits 0 when the child exited 0. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void *thread_main(void *arg)
{
    (void)arg;
    char *volatile p = malloc(100);   /* the thread uses the allocator */
    p[0] = 1;
    free(p);
    return (void *)strsignal(12345);  /* "Unknown signal 12345": a malloc'd TLS buffer */
}

int main(void)
{
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, (size_t)64 << 20);   /* > glibc's 40 MiB stack cache */
    for (int i = 0; i < 3; i++) {
        pthread_t t;
        if (pthread_create(&t, &attr, thread_main, NULL) != 0 || pthread_join(t, NULL) != 0) return 2;
    }
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) return 2;
    if (pid == 0) {
        alarm(10);
        char *volatile q = malloc(64);
        q[0] = 1;
        free(q);
        _exit(0);
    }
    int st = 0;
    if (waitpid(pid, &st, 0) != pid) return 2;
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
        printf("thread_freeres_fork: child exit 0\n");
        return 0;
    }
    printf("thread_freeres_fork: child %s %d\n", WIFSIGNALED(st) ? "killed by signal" : "exit",
           WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
    return 1;
}
