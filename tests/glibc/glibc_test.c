/* glibc_test.c - glibc's malloc extensions against their documented behaviour:
 * mallinfo / mallinfo2, malloc_trim, malloc_stats, malloc_info, mallopt, the C23
 * free_sized / free_aligned_sized, and the version.
 *
 * Built per mode like tests/api (tests/tests.mk): rel / dbg call the prefixed API
 * (A(malloc_trim) is hak_malloc_trim, ...); pre / pred are plain programs calling the
 * libc names (A(malloc_trim) is malloc_trim) under LD_PRELOAD=libhakmem.so /
 * libhakmem-debug.so, and also check that mallinfo2 and mallinfo answer from hakmem's
 * heap. Each test runs in a child process;
 * the last line is "glibc[MODE]: N passed, M failed"; exit 1 if M > 0. */
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hakmem.h"

#define API_SELECT_WHO "glibc"
#include "../api_select.h"

#if PRELOAD_MODE
/* glibc 2.36 has no C23 sized frees: weak, so the preloaded object's are found at
 * run time (and their absence is a failed check, not a link error). */
__attribute__((weak)) void free_sized(void *p, size_t size);
__attribute__((weak)) void free_aligned_sized(void *p, size_t align, size_t size);
#endif

#include "../check.h"

static hak_heap_stats stats(void)
{
    hak_heap_stats s;
    memset(&s, 0xff, sizeof s);
    X(get_heap_stats)(&s);
    return s;
}

static void consistent(const hak_heap_stats *s)
{
    CHECK(s->small_mapped == s->superslabs * ((size_t)2 << 20));
    CHECK(s->small_live + s->small_free <= s->small_mapped);
    CHECK(s->mapped == s->small_mapped + s->large_live_bytes + s->large_cached_bytes);
    CHECK(s->live == s->small_live + s->large_live_bytes);
    CHECK(s->live <= s->mapped && s->resident <= s->mapped);
    CHECK(s->superslabs_empty <= s->superslabs);
}

static int reports[HAK_CORRUPT_KIND_COUNT];
static void record(hak_corruption_kind kind, const void *ptr, void *arg)
{
    (void)ptr; (void)arg;
    if ((unsigned)kind < HAK_CORRUPT_KIND_COUNT) reports[kind]++;
}

/* Live bytes and blocks follow allocation and free, tier by tier. */
static void t_stats_follow_blocks(void)
{
    enum { N = 5000 };
    static void *p[N];
    hak_heap_stats a = stats();
    consistent(&a);
    for (int i = 0; i < N; i++) p[i] = A(malloc)(lsize(100));
    void *big = A(malloc)(lsize(5u << 20));
    hak_heap_stats b = stats();
    consistent(&b);
    CHECK(b.small_live_blocks >= a.small_live_blocks + N);
    CHECK(b.small_live >= a.small_live + (size_t)N * 100);
    CHECK(b.large_live == a.large_live + 1);
    CHECK(b.large_live_bytes >= a.large_live_bytes + (5u << 20));
    CHECK(b.live >= a.live + (size_t)N * 100 + (5u << 20));
    CHECK(b.resident > 0);
    for (int i = 0; i < N; i++) A(free)(p[i]);
    A(free)(big);
    hak_heap_stats c = stats();
    consistent(&c);
    CHECK(c.small_live_blocks + N <= b.small_live_blocks);
    CHECK(c.large_live == a.large_live);
    CHECK(c.large_live_bytes == a.large_live_bytes);
}

#if PRELOAD_MODE
/* mallinfo2 is hakmem's heap (glibc's own arena would show none of this), in glibc's
 * terms: arena = uordblks + fordblks, mmapped regions = large blocks. */
static void t_mallinfo2(void)
{
    enum { N = 4000 };
    static void *p[N];
    struct mallinfo2 a = mallinfo2();
    for (int i = 0; i < N; i++) p[i] = malloc(lsize(200));
    void *big = malloc(lsize(3u << 20));
    struct mallinfo2 b = mallinfo2();
    hak_heap_stats s = stats();
    CHECK(b.arena == s.small_mapped);
    CHECK(b.arena == b.uordblks + b.fordblks);
    CHECK(b.uordblks >= a.uordblks + (size_t)N * 200);
    CHECK(b.hblks == a.hblks + 1);
    CHECK(b.hblkhd >= a.hblkhd + (3u << 20));
    CHECK(b.usmblks == 0 && b.smblks == 0 && b.fsmblks == 0);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    struct mallinfo m = mallinfo();   /* the int version: the same figures while they fit */
#pragma GCC diagnostic pop
    CHECK((size_t)m.arena == b.arena && (size_t)m.hblks == b.hblks && (size_t)m.hblkhd == b.hblkhd);
    CHECK(m.uordblks > 0 && (size_t)m.uordblks + (size_t)m.fordblks == (size_t)m.arena);
    for (int i = 0; i < N; i++) free(p[i]);
    free(big);
    struct mallinfo2 c = mallinfo2();
    CHECK(c.uordblks + (size_t)N * 200 <= b.uordblks);
    CHECK(c.hblks == a.hblks);
}
#endif


/* glibc: "returns 1 if memory was actually released back to the system, or 0 if it
 * was not possible to release any memory". Empty slabs and cached large mappings go. */
static void t_trim(void)
{
    enum { N = 20000 };
    static void *p[N];
    for (int i = 0; i < N; i++) { p[i] = A(malloc)(lsize(300)); memset(p[i], 1, 300); }
    void *big = A(malloc)(lsize(4u << 20));
    memset(big, 1, 4u << 20);
    for (int i = 0; i < N; i++) A(free)(p[i]);
    A(free)(big);   /* kept mapped for reuse */
    hak_heap_stats before = stats();
    CHECK(before.large_cached >= 1);
    CHECK(before.releasable >= (4u << 20));
    CHECK(A(malloc_trim)(0) == 1);
    hak_heap_stats after = stats();
    consistent(&after);
    CHECK(after.large_cached == 0 && after.large_cached_bytes == 0);
    CHECK(after.resident + (4u << 20) <= before.resident);
    CHECK(A(malloc_trim)(0) == 0);   /* nothing left to release */
    void *q = A(malloc)(lsize(300));   /* the heap works on after a trim */
    CHECK(q != NULL);
    memset(q, 2, 300);
    A(free)(q);
}

/* Redirect fd 2 into a temporary file while f runs; return what was written. */
static char *capture_stderr(void (*f)(void))
{
    char path[] = "/tmp/hakmem-glibc-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) return NULL;
    unlink(path);
    fflush(stderr);
    int saved = dup(2);
    dup2(fd, 2);
    f();
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    static char buf[4096];
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    close(fd);
    buf[n > 0 ? n : 0] = 0;
    return buf;
}

/* glibc prints "system bytes" and "in use bytes" per arena and in total, on stderr. */
static void t_malloc_stats(void)
{
    void *p = A(malloc)(lsize(1000));
    char *out = capture_stderr(A(malloc_stats));
    CHECK(out != NULL);
    if (!out) return;
    CHECK(strncmp(out, "Arena 0:\nsystem bytes     = ", strlen("Arena 0:\nsystem bytes     = ")) == 0);
    CHECK(strstr(out, "\nTotal (incl. mmap):\nsystem bytes     = ") != NULL);
    CHECK(strstr(out, "in use bytes     = ") != NULL);
    unsigned long sys = 0, used = 0;
    CHECK(sscanf(out, "Arena 0:\nsystem bytes = %lu\nin use bytes = %lu", &sys, &used) == 2);
    CHECK(sys >= (2u << 20) && used >= 1000 && used <= sys);
    A(free)(p);
}


/* glibc: options must be zero (else EINVAL); the XML is <malloc version="1"> with one
 * <heap nr=...> per arena holding <sizes> of free chunks, then totals. */
static void t_malloc_info(void)
{
    void *keep[64];
    for (int i = 0; i < 64; i++) keep[i] = A(malloc)(lsize(48));
    for (int i = 0; i < 64; i += 2) A(free)(keep[i]);
    void *big = A(malloc)(lsize(1u << 20));
    FILE *f = tmpfile();
    CHECK(f != NULL);
    if (!f) return;
    CHECK(A(malloc_info)(1, f) == EINVAL);
    CHECK(A(malloc_info)(0, f) == 0);
    fflush(f);
    long n = ftell(f);
    CHECK(n > 0 && n < 65536);
    static char xml[65536];
    rewind(f);
    size_t got = fread(xml, 1, sizeof xml - 1, f);
    xml[got] = 0;
    fclose(f);
    CHECK(strncmp(xml, "<malloc version=\"1\">\n<heap nr=\"0\">\n<sizes>\n", 42) == 0);
    CHECK(got > 10 && strcmp(xml + got - 10, "</malloc>\n") == 0);
    CHECK(strstr(xml, "</sizes>\n<total type=\"fast\" count=\"") != NULL);
    CHECK(strstr(xml, "<total type=\"mmap\" count=\"") != NULL);
    CHECK(strstr(xml, "<system type=\"current\" size=\"") != NULL);
    CHECK(strstr(xml, "</heap>\n") != NULL);
    /* every element is closed: as many '<' as '>', and no stray text */
    int lt = 0, gt = 0;
    for (char *c = xml; *c; c++) { lt += *c == '<'; gt += *c == '>'; }
    CHECK(lt == gt && lt >= 10);
    unsigned long count = 0, total = 0;
    char *mm = strstr(xml, "<total type=\"mmap\" count=\"");
    CHECK(mm && sscanf(mm, "<total type=\"mmap\" count=\"%lu\" size=\"%lu\"", &count, &total) == 2);
    CHECK(count >= 1 && total >= (1u << 20));
    for (int i = 1; i < 64; i += 2) A(free)(keep[i]);
    A(free)(big);
}


/* glibc returns 1 on success, 0 on a value it refuses; options it does not know are
 * accepted. M_TRIM_THRESHOLD bounds the memory kept for reuse. */
static void t_mallopt(void)
{
    CHECK(A(mallopt)(M_MXFAST, 64) == 1);
    CHECK(A(mallopt)(M_MXFAST, 0) == 1);
    CHECK(A(mallopt)(M_MXFAST, 100000) == 0);   /* glibc: above MAX_FAST_SIZE */
    CHECK(A(mallopt)(M_MXFAST, -1) == 0);
    CHECK(A(mallopt)(M_MMAP_THRESHOLD, 1 << 20) == 1);
    CHECK(A(mallopt)(M_MMAP_THRESHOLD, 64 << 20) == 0);   /* glibc: above HEAP_MAX_SIZE / 2 */
    CHECK(A(mallopt)(M_TOP_PAD, 1 << 16) == 1);
    CHECK(A(mallopt)(M_MMAP_MAX, 0) == 1);
    CHECK(A(mallopt)(M_ARENA_MAX, 1) == 1);
    CHECK(A(mallopt)(M_PERTURB, 0) == 1);
    CHECK(A(mallopt)(12345, 7) == 1);   /* unknown: accepted, ignored */
    /* M_TRIM_THRESHOLD 0: a freed large block is unmapped, not kept */
    CHECK(A(mallopt)(M_TRIM_THRESHOLD, 0) == 1);
    hak_heap_stats a = stats();
    void *big = A(malloc)(lsize(3u << 20));
    A(free)(big);
    hak_heap_stats b = stats();
    CHECK(b.large_cached == a.large_cached);
    CHECK(A(mallopt)(M_TRIM_THRESHOLD, 64 << 20) == 1);
    big = A(malloc)(lsize(3u << 20));
    A(free)(big);
    b = stats();
    CHECK(b.large_cached == a.large_cached + 1);
}


/* C23: free_sized(p, size) frees what malloc(size) returned; free_aligned_sized(p, a,
 * size) what aligned_alloc(a, size) returned. The pointer is checked as free checks
 * it, then the size: a size beyond the block is an invalid pointer. */
static void t_free_sized(void)
{
#if PRELOAD_MODE
    CHECK(free_sized != NULL && free_aligned_sized != NULL);
    if (!free_sized || !free_aligned_sized) return;
#endif
    hak_corruption_fn prev = X(set_corruption_handler)(record, NULL);
    memset(reports, 0, sizeof reports);
    A(free_sized)(NULL, 10);
    A(free_aligned_sized)(NULL, 64, 10);
    static const size_t sizes[] = {1, 16, 100, 1024, 1025, 5000, 131072, 200000, 3u << 20};
    for (unsigned i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        hak_heap_stats a = stats();
        void *p = A(malloc)(lsize(sizes[i]));
        A(free_sized)(p, sizes[i]);
        hak_heap_stats b = stats();
        CHECK(b.live <= a.live);   /* freed */
        p = A(aligned_alloc)(256, lsize(sizes[i]));
        A(free_aligned_sized)(p, 256, sizes[i]);
        CHECK(stats().live <= a.live);
    }
    CHECK(reports[HAK_CORRUPT_NONE] == 0 && reports[HAK_CORRUPT_INVALID_POINTER] == 0);
    char *p = A(malloc)(lsize(100));
    A(free_sized)(p, 100000);   /* claims a bigger block */
    CHECK(reports[HAK_CORRUPT_INVALID_POINTER] == 1);
    A(free_sized)(p + 16, 16);   /* not a block start */
    CHECK(reports[HAK_CORRUPT_INVALID_POINTER] == 2);
    A(free_sized)(p, 100);
    A(free_sized)(p, 100);   /* the pointer is checked first: a double free */
    CHECK(reports[HAK_CORRUPT_DOUBLE_FREE] == 1);
    char *l = A(malloc)(lsize(300000));
    A(free_sized)(l, 5u << 20);
    CHECK(reports[HAK_CORRUPT_INVALID_POINTER] == 3);
    A(free_sized)(l, 300000);
    A(free_sized)(l, 300000);
    CHECK(reports[HAK_CORRUPT_DOUBLE_FREE] == 2);
    void *q = A(aligned_alloc)(64, lsize(64));
    A(free_aligned_sized)(q, 3, 64);          /* not a power of two */
    size_t over = ((uintptr_t)q & -(uintptr_t)q) << 1;   /* an alignment q does not have */
    A(free_aligned_sized)(q, over, 64);
    CHECK(reports[HAK_CORRUPT_INVALID_POINTER] == 5);
    A(free_aligned_sized)(q, 64, 64);
    int before = reports[HAK_CORRUPT_DOUBLE_FREE];
    A(free_aligned_sized)(q, 64, 64);
    CHECK(reports[HAK_CORRUPT_DOUBLE_FREE] == before + 1);
    X(set_corruption_handler)(prev, NULL);
}

static void t_version(void)
{
    CHECK(X(version)() == HAKMEM_VERSION);
    CHECK(HAKMEM_VERSION == HAKMEM_VERSION_MAJOR * 10000 + HAKMEM_VERSION_MINOR * 100 + HAKMEM_VERSION_PATCH);
}

static const struct { const char *name; void (*fn)(void); } tests[] = {
    {"stats_follow_blocks", t_stats_follow_blocks},
#if PRELOAD_MODE
    {"mallinfo2", t_mallinfo2},
#endif
    {"malloc_trim", t_trim},
    {"malloc_stats", t_malloc_stats},
    {"malloc_info", t_malloc_info},
    {"mallopt", t_mallopt},
    {"free_sized", t_free_sized},
    {"version", t_version},
};

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "?";
    int passed = 0, failed = 0;
    for (unsigned i = 0; i < sizeof tests / sizeof tests[0]; i++) {
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0) {
            test_failed = 0;
            tests[i].fn();
            _exit(test_failed);
        }
        int st = 0;
        waitpid(pid, &st, 0);
        int ok = WIFEXITED(st) && WEXITSTATUS(st) == 0;
        if (ok) passed++;
        else { failed++; printf("FAIL %s (%s)\n", tests[i].name, WIFSIGNALED(st) ? strsignal(WTERMSIG(st)) : "checks"); }
    }
    printf("glibc[%s]: %d passed, %d failed\n", mode, passed, failed);
    return failed != 0;
}
