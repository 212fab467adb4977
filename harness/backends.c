/* backends.c - the allocators a replay can run against: the prefixed hakmem builds
 * linked into the harness, and the process's own malloc. */
#include "oracle.h"

#include <malloc.h>
#include <stdlib.h>


#define HAK_BACKEND(var, P, nm) const hbackend var = {                                   \
    nm, P##malloc, P##free, P##calloc, P##realloc, P##posix_memalign, P##aligned_alloc,    \
    P##memalign, P##valloc, P##pvalloc, P##malloc_usable_size, P##set_corruption_handler,  \
    P##thread_flush, P##heap_drain, P##heap_reset, P##owns, P##build_name, P##malloc_trim,  \
    P##block_size, P##geometry }
HAK_BACKEND(oracle_release, hak_, "release");
HAK_BACKEND(oracle_debug, hakd_, "debug");

static void *sys_malloc(size_t n) { return malloc(n); }
static void sys_free(void *p) { free(p); }
static void *sys_calloc(size_t n, size_t s) { return calloc(n, s); }
static void *sys_realloc(void *p, size_t n) { return realloc(p, n); }
static int sys_posix_memalign(void **o, size_t a, size_t n) { return posix_memalign(o, a, n); }
static void *sys_aligned_alloc(size_t a, size_t n) { return aligned_alloc(a, n); }
static void *sys_memalign(size_t a, size_t n) { return memalign(a, n); }
static void *sys_valloc(size_t n) { return valloc(n); }
static void *sys_pvalloc(size_t n) { return pvalloc(n); }
static size_t sys_usable(void *p) { return malloc_usable_size(p); }
static const char *sys_name(void) { return "system"; }
static int sys_trim(size_t pad) { return malloc_trim(pad); }
const hbackend oracle_system = {
    "system", sys_malloc, sys_free, sys_calloc, sys_realloc, sys_posix_memalign, sys_aligned_alloc,
    sys_memalign, sys_valloc, sys_pvalloc, sys_usable, NULL, NULL, NULL, NULL, NULL, sys_name, sys_trim, NULL, NULL,
};

const char *oracle_harm_name(int kind)
{
    static const char *const n[HH_NKINDS] = { "none", "misaligned", "out_of_heap", "overlap",
        "too_small", "calloc_not_zero", "contents_changed", "realloc_lost_contents" };
    return kind > 0 && kind < HH_NKINDS ? n[kind] : "?";
}

const char *oracle_status_name(int s)
{
    switch (s) {
    case HV_OK: return "ok";
    case HV_ESCAPE: return "escape";
    case HV_DIVERGENCE: return "divergence";
    case HV_FALSE_ALARM: return "false_alarm";
    case HV_BUG: return "bug";
    default: return "?";
    }
}

