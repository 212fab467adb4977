/* hakmem.c - the allocator as one translation unit.
 * Each build (release, debug, weakened variants) compiles this file once with its
 * own HAKMEM_PREFIX; everything but the prefixed API is static, so builds never clash
 * and the compiler sees the hot paths whole. Module order follows dependencies. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1   /* mremap, RUSAGE_THREAD */
#endif
#include <stdio.h>
#include <sys/resource.h>
#include "internal.h"
#include "header.h"
#include "report.c"
#include "os.c"
#include "registry.c"
#include "slab.c"
#include "pool.c"
#include "thread.c"
#include "large.c"
#include "debug.c"
#include "api.c"
#include "stats.c"
