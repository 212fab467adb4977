/* peer.h - for the preload test programs that compare themselves with other
 * allocators: the process's resident set, and a run of the same program under glibc
 * malloc (no LD_PRELOAD) or another LD_PRELOAD object, whose one-line answer is read
 * back. Header-only; each program is one translation unit. */
#ifndef HAK_TEST_PEER_H
#define HAK_TEST_PEER_H
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define PEER_MIMALLOC "/usr/lib/x86_64-linux-gnu/libmimalloc.so.2"

/* Resident set size in KiB (/proc/self/statm). */
static long peer_rss_kb(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long size = 0, res = 0;
    if (!f || fscanf(f, "%ld %ld", &size, &res) != 2) { perror("statm"); exit(1); }
    fclose(f);
    return res * (sysconf(_SC_PAGESIZE) / 1024);
}

/* Run /proc/self/exe ARG with LD_PRELOAD=preload (NULL: unset, glibc malloc); its
 * first line of output goes to out. 1 if it exited 0. */
static int peer_run(const char *argv0, const char *arg, const char *preload, char *out, size_t outsz)
{
    int fd[2];
    if (pipe(fd) != 0) { perror("pipe"); return 0; }
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) { perror("fork"); return 0; }
    if (pid == 0) {
        dup2(fd[1], 1);
        close(fd[0]);
        if (preload) setenv("LD_PRELOAD", preload, 1); else unsetenv("LD_PRELOAD");
        execl("/proc/self/exe", argv0, arg, (char *)NULL);
        _exit(127);
    }
    close(fd[1]);
    size_t n = 0;
    ssize_t r;
    while (n + 1 < outsz && (r = read(fd[0], out + n, outsz - 1 - n)) > 0) n += (size_t)r;
    out[n] = 0;
    close(fd[0]);
    char *nl = strchr(out, '\n');
    if (nl) *nl = 0;
    int st;
    return waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}
#endif
