/* check.h - CHECK(c) for test programs that run each test in a child process: a failed
 * check prints file:line and the condition, marks the test failed (test_failed) and
 * lets it go on. lsize(n) hides a size from the optimiser (so malloc(lsize(n)) is
 * never folded or elided). */
#ifndef HAKMEM_TESTS_CHECK_H
#define HAKMEM_TESTS_CHECK_H
#include <stdio.h>
#include <stddef.h>

static int test_failed;
#define CHECK(c)                                                                  \
    do {                                                                          \
        if (!(c)) {                                                               \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c); \
            test_failed = 1;                                                      \
        }                                                                         \
    } while (0)

static void *volatile sink;
static inline size_t lsize(size_t n) { sink = (void *)n; return (size_t)sink; }
#endif
