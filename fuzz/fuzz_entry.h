/* fuzz_entry.h - one input through the oracle, with campaign statistics: what every
 * fuzz target (libFuzzer, AFL++) and the plain-main regression driver call. */
#ifndef HAKMEM_FUZZ_ENTRY_H
#define HAKMEM_FUZZ_ENTRY_H

#include "oracle.h"

/* Fuzz-target entry: decode (text if it starts with HOP_TEXT_MAGIC, else binary in
 * dialect d), check, count, and on a violation print one message and abort() unless
 * oracle_abort_on_violation is 0. Returns the verdict status. */
extern int oracle_abort_on_violation;
extern int oracle_escapes_fatal;      /* env HAKMEM_FUZZ_ESCAPES_FATAL=1 */
int oracle_fuzz_input(const uint8_t *data, size_t size, hop_dialect d, hverdict *out);

/* Counters per fault class, written as JSON to $HAKMEM_FUZZ_STATS.<pid>.json at exit
 * and every few seconds (if the variable is set). */
void oracle_stats_init(const char *target);
void oracle_stats_flush(void);

#endif
