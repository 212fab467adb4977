/* address_space_limit.c - run under LD_PRELOAD=libhakmem.so: must exit 0.
 *
 * Under a tight limit (112 MiB) small blocks must work at all. Under 256 MiB:
 * the allocator's SuperSlab arena is a window of addresses, not a
 * reservation: small and large blocks share what the limit allows. The program
 * re-executes itself with RLIMIT_AS set (the arena is placed in the child, under the
 * limit), then:
 *   - allocates 64-byte blocks until malloc returns NULL: it must be NULL with errno
 *     ENOMEM, after at least 16 MiB of blocks (no crash, no abort, no hang);
 *   - still gets a 32 MiB block (the window is found with mmap's 3/4 steps, so it
 *     leaves that much of the limit to the rest of the program);
 *   - frees every small block and then gets a 50 MiB block: freed SuperSlabs give their
 *     address space back (glibc's heap does), not only their pages;
 *   - gets as many small blocks again: the memory is reusable.
 * Blocks are chained through their first word, so the test needs no other memory. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#define LIMIT ((rlim_t)256 << 20)   /* 256 MiB of address space */
#define TIGHT ((rlim_t)112 << 20)   /* barely above the heap's fixed mappings and libc's */
#define BLOCK 64

static size_t fill(void **head)
{
    size_t n = 0;
    for (;;) {
        void **p = malloc(BLOCK);
        if (!p) break;
        *p = *head;
        *head = p;
        n++;
    }
    return n;
}

static void drain(void **head)
{
    while (*head) {
        void **p = *head;
        *head = *p;
        free(p);
    }
}

int main(int argc, char **argv)
{
    if (argc < 2) {   /* a tight limit first (the heap's own mappings leave little), then LIMIT */
        static const rlim_t limits[2] = { TIGHT, LIMIT };
        static const char *const modes[2] = { "tight", "child" };
        for (int k = 0; k < 2; k++) {
            pid_t pid = fork();
            if (pid == 0) {
                struct rlimit rl = { limits[k], limits[k] };
                if (setrlimit(RLIMIT_AS, &rl) != 0) { perror("setrlimit"); _exit(1); }
                execl("/proc/self/exe", argv[0], modes[k], (char *)NULL);
                perror("execl");
                _exit(1);
            }
            int st;
            if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) return 1;
        }
        return 0;
    }
    if (!strcmp(argv[1], "tight")) {   /* small blocks work at all */
        void *p[1000];
        for (int i = 0; i < 1000; i++) if (!(p[i] = malloc(16 + i))) { printf("FAIL: malloc(%d) under %lu KiB\n", 16 + i, (unsigned long)(TIGHT >> 10)); return 1; }
        for (int i = 0; i < 1000; i++) free(p[i]);
        printf("ok: small blocks under a %lu MiB limit\n", (unsigned long)(TIGHT >> 20));
        return 0;
    }
    void *head = NULL;
    errno = 0;
    size_t n1 = fill(&head);
    int err = errno;
    if (err != ENOMEM) { printf("FAIL: malloc returned NULL with errno %d, not ENOMEM\n", err); return 1; }
    if (n1 * BLOCK < ((size_t)16 << 20)) { printf("FAIL: only %zu blocks before ENOMEM\n", n1); return 1; }
    char *big = malloc((size_t)32 << 20);
    if (!big) { printf("FAIL: no 32 MiB block beside a full small-block heap\n"); return 1; }
    memset(big, 1, (size_t)32 << 20);
    free(big);
    drain(&head);
    char *huge = malloc((size_t)50 << 20);
    if (!huge) { printf("FAIL: no 50 MiB block after freeing every small block\n"); return 1; }
    memset(huge, 2, (size_t)50 << 20);
    free(huge);
    size_t n2 = fill(&head);
    if (n2 < n1 - n1 / 100) { printf("FAIL: %zu blocks after freeing, %zu before\n", n2, n1); return 1; }
    drain(&head);
    printf("ok: %zu MiB of %d-byte blocks before ENOMEM, then a 32 MiB block, free all, a 50 MiB block, then %zu again\n",
           n1 * BLOCK >> 20, BLOCK, n2);
    return 0;
}
