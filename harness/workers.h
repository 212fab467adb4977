/* workers.h - run a function on harness thread k (0: the caller) and wait for it. */
#ifndef HAKMEM_HARNESS_WORKERS_H
#define HAKMEM_HARNESS_WORKERS_H

#include <pthread.h>

void workers_start(void);                          /* idempotent; a fork child restarts them */
void run_on(int k, void (*fn)(void *), void *arg);  /* k in 0..HOP_NTHREADS-1 */

#endif
