/* fuzz_ops.c - every op and every fault class (F1..F8, harness/fault_classes.def) mixed.
 *
 * Property: the whole claim on arbitrary streams: for every fault the debug build
 * reports (double free, invalid free, forged chunk, overflow, underflow, use-after-free
 * of links, the cross-thread path, realloc/usable_size of bad pointers), the release
 * build reports too, before it hands out a bad block and before the stream ends;
 * fault-free streams (all tiers, calloc, realloc, the aligned family, usable_size,
 * worker threads) never report and never get a block that is misaligned, outside the
 * heap, overlapping, too small or whose contents changed. */
#include "fuzz_entry.h"

const char hakmem_fuzz_target[] = "fuzz_ops";
const int hakmem_fuzz_dialect = HOP_DIALECT_OPS;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    oracle_fuzz_input(data, size, HOP_DIALECT_OPS, NULL);
    return 0;
}
