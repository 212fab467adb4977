/* large_churn.c - run under LD_PRELOAD=libhakmem.so: must exit 0.
 *
 * A program cycling big blocks (16 slots of 100 KiB - 4 MiB: malloc into an empty slot,
 * otherwise grow by realloc to 1.5x or free, every page of each new byte range written)
 * must reuse the pages the allocator keeps resident instead of faulting in fresh ones:
 * at most one minor page fault per 16 pages it writes, plus the first touch of the
 * large tier's resident budget (64 MiB). An allocator that gives back the pages of the
 * block just freed while older free pages stay (the large tier once did, over a 16 MiB
 * budget) faults on nearly every page written and runs 25x slower: this counts the
 * faults (getrusage), not the time. Every 500 operations the program sleeps 120 ms:
 * waiting is not work, so free pages must not age while it waits (a wall-clock decay
 * gave them back at every pause, and on a loaded machine at every wait for a core).
 * Contents are checked at both ends of every block.
 * And a growing realloc must mostly stay in place: at most a third of them may move
 * (each move copies the whole block). Region blocks packed first fit, each new one right
 * after the last, found the pages after them taken and moved 415 of 743 (56%); with
 * room left after the blocks before a new one, 142 (19%). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define SLOTS 16
#define OPS 4000
#define MIN_SIZE (100u << 10)
#define MAX_SIZE (4u << 20)
#define PAGE 4096u
#define WARM_PAGES ((64u << 20) / PAGE)

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static long minflt(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_minflt;
}

/* Write one byte per page of [from, to) and the last byte; returns pages written. */
static unsigned long touch(unsigned char *p, size_t from, size_t to, unsigned char tag)
{
    unsigned long n = 0;
    for (size_t off = from; off < to; off += PAGE, n++) p[off] = tag;
    p[to - 1] = tag;
    return n;
}

int main(void)
{
    alarm(60);   /* never left running */
    static unsigned char *blk[SLOTS];
    static size_t sz[SLOTS];
    unsigned long pages = 0, moved = 0, reallocs = 0;
    long f0 = minflt();
    for (unsigned i = 0; i < OPS; i++) {
        if (i % 500 == 499) nanosleep(&(struct timespec){ 0, 120 * 1000 * 1000 }, NULL);
        uint64_t r = next();
        unsigned s = (unsigned)(r >> 59) % SLOTS;
        unsigned char tag = (unsigned char)(i | 1);
        if (!blk[s]) {
            size_t n = MIN_SIZE + (size_t)((r >> 8) % (MAX_SIZE - MIN_SIZE + 1));
            if (!(blk[s] = malloc(n))) { printf("FAIL: malloc(%zu)\n", n); return 1; }
            sz[s] = n;
            blk[s][0] = tag;
            pages += touch(blk[s], 0, n, tag);
            continue;
        }
        if (blk[s][0] != blk[s][sz[s] - 1]) { printf("FAIL: block of %zu bytes lost its contents\n", sz[s]); return 1; }
        size_t grown = sz[s] + sz[s] / 2;
        if ((r & 1) && grown <= MAX_SIZE) {
            unsigned char t = blk[s][0];
            unsigned char *q = realloc(blk[s], grown);
            if (!q) { printf("FAIL: realloc(%zu)\n", grown); return 1; }
            if (q[0] != t || q[sz[s] - 1] != t) { printf("FAIL: realloc to %zu lost the contents\n", grown); return 1; }
            moved += q != blk[s];
            reallocs++;
            pages += touch(q, sz[s], grown, t);
            blk[s] = q;
            sz[s] = grown;
        } else {
            free(blk[s]);
            blk[s] = NULL;
        }
    }
    for (unsigned s = 0; s < SLOTS; s++) free(blk[s]);
    long faults = minflt() - f0;
    unsigned long bound = pages / 16 + WARM_PAGES;
    int ok = (unsigned long)faults <= bound && moved * 3 <= reallocs;
    printf("%s: %ld minor faults for %lu pages written (at most %lu); %lu of %lu reallocs moved (at most a third)\n",
           ok ? "ok" : "FAIL", faults, pages, bound, moved, reallocs);
    return ok ? 0 : 1;
}
