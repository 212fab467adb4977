/* address_space_limit.c - run under LD_PRELOAD=libhakmem.so: must exit 0.
 *
 * Under `ulimit -v` the allocator's SuperSlab arena takes half the address space left
 * at its first use, so small blocks run out long before the limit while large blocks
 * still fit beside them. The program re-executes itself with RLIMIT_AS set (the arena
 * is reserved in the child, under the limit), then:
 *   - allocates 64-byte blocks until malloc returns NULL: it must be NULL with errno
 *     ENOMEM, after at least 16 MiB of blocks (no crash, no abort, no hang);
 *   - still gets a 32 MiB block (the large tier lives outside the arena);
 *   - frees every small block and gets as many again: the memory is reusable.
 * Blocks are chained through their first word, so the test needs no other memory. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define LIMIT ((rlim_t)256 << 20)   /* 256 MiB of address space */
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
    if (argc < 2 || strcmp(argv[1], "child") != 0) {
        struct rlimit rl = { LIMIT, LIMIT };
        if (setrlimit(RLIMIT_AS, &rl) != 0) { perror("setrlimit"); return 1; }
        execl("/proc/self/exe", argv[0], "child", (char *)NULL);
        perror("execl");
        return 1;
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
    size_t n2 = fill(&head);
    if (n2 < n1 - n1 / 100) { printf("FAIL: %zu blocks after freeing, %zu before\n", n2, n1); return 1; }
    drain(&head);
    printf("ok: %zu MiB of %d-byte blocks before ENOMEM, then a 32 MiB block, then %zu again\n",
           n1 * BLOCK >> 20, BLOCK, n2);
    return 0;
}
