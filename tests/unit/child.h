/* child.h - run a unit-test scenario in a fork child, so each starts from a heap the
 * parent never touched (the parent allocates nothing from the heap under test) and a
 * scenario that must abort can. Include after unit.h. */
#ifndef HAKMEM_UNIT_CHILD_H
#define HAKMEM_UNIT_CHILD_H
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Run fn in a child. want_abort 0: the child must exit 0 (it exits with its failure
 * count). want_abort 1: it must die by SIGABRT with `line` (a prefix) on stderr. */
static void unit_child(const char *name, void (*fn)(void), int want_abort, const char *line)
{
    int fds[2];
    if (pipe(fds) != 0) { unit_fail++; return; }
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        if (want_abort) dup2(fds[1], 2);
        fn();
        fflush(stdout);
        fflush(stderr);
        _exit(unit_fail > 255 ? 255 : unit_fail);
    }
    close(fds[1]);
    char err[4096];
    size_t n = 0;
    ssize_t r;
    while (n < sizeof err - 1 && (r = read(fds[0], err + n, sizeof err - 1 - n)) > 0) n += (size_t)r;
    err[n] = 0;
    close(fds[0]);
    int st = 0;
    waitpid(pid, &st, 0);
    int ok;
    if (want_abort)
        ok = WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT && strncmp(err, line, strlen(line)) == 0;
    else
        ok = WIFEXITED(st) && WEXITSTATUS(st) == 0;
    if (ok) unit_pass++;
    else {
        unit_fail++;
        fprintf(stderr, "scenario '%s': status %#x, stderr: %s\n", name, st, err);
    }
}
#endif
