/* fault_write.c - uninstrumented accessors for injected faults (see fault_write.h).
 * Each function is noinline and carries no_sanitize("address"): clang does not inline
 * functions with different sanitizer attributes into each other, and noinline keeps
 * gcc from doing it either. Under Valgrind, error reporting is switched off around the
 * access (a no-op when not running under Valgrind). */
#include "fault_write.h"

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define FW_VG 1
#endif
#endif
#ifndef FW_VG
#define VALGRIND_DISABLE_ERROR_REPORTING do {} while (0)
#define VALGRIND_ENABLE_ERROR_REPORTING do {} while (0)
#endif

#define FW_ATTR __attribute__((noinline, no_sanitize("address")))

FW_ATTR void fw_write8(void *p, uint64_t v)
{
    VALGRIND_DISABLE_ERROR_REPORTING;
    volatile uint8_t *d = p;
    for (int i = 0; i < 8; i++) d[i] = (uint8_t)(v >> (8 * i));
    VALGRIND_ENABLE_ERROR_REPORTING;
}

FW_ATTR void fw_write1(void *p, uint8_t v)
{
    VALGRIND_DISABLE_ERROR_REPORTING;
    *(volatile uint8_t *)p = v;
    VALGRIND_ENABLE_ERROR_REPORTING;
}

FW_ATTR void fw_fill(void *p, uint8_t v, size_t n)
{
    VALGRIND_DISABLE_ERROR_REPORTING;
    volatile uint8_t *d = p;
    for (size_t i = 0; i < n; i++) d[i] = v;
    VALGRIND_ENABLE_ERROR_REPORTING;
}

FW_ATTR void fw_copy(void *dst, const void *src, size_t n)
{
    VALGRIND_DISABLE_ERROR_REPORTING;
    volatile uint8_t *d = dst;
    const volatile uint8_t *s = src;
    for (size_t i = 0; i < n; i++) d[i] = s[i];
    VALGRIND_ENABLE_ERROR_REPORTING;
}

FW_ATTR uint8_t fw_read1(const void *p)
{
    VALGRIND_DISABLE_ERROR_REPORTING;
    uint8_t v = *(const volatile uint8_t *)p;
    VALGRIND_ENABLE_ERROR_REPORTING;
    return v;
}

FW_ATTR uint64_t fw_read8(const void *p)
{
    VALGRIND_DISABLE_ERROR_REPORTING;
    const volatile uint8_t *s = p;
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v |= (uint64_t)s[i] << (8 * i);
    VALGRIND_ENABLE_ERROR_REPORTING;
    return v;
}
