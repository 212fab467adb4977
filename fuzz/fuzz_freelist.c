/* fuzz_freelist.c - the main target: freelist-link faults under refill pressure.
 *
 * Property: a use-after-free write into a freed block's link (NULL, wild, another
 * SuperSlab, slab or class, a live block, the middle of a block, a forged header in
 * user memory, a 1-byte partial overwrite, a cycle), on the local or the remote
 * (cross-thread) freelist, is reported by the release build whenever the debug build's
 * registry validation reports it, and before release pops the poisoned link into a
 * block it hands out (the shadow model checks every returned pointer), or at the
 * latest at the end-of-stream drain. Fault-free streams never report, whatever the
 * user data. The decoder dialect is biased to alloc/free/flush/uaf_link so that
 * slabs fill, thread caches flush and refills pop the poisoned lists.
 * Violations abort with one line from the oracle (harness/judge.c). */
#include "fuzz_entry.h"

const char hakmem_fuzz_target[] = "fuzz_freelist";
const int hakmem_fuzz_dialect = HOP_DIALECT_FREELIST;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    oracle_fuzz_input(data, size, HOP_DIALECT_FREELIST, NULL);
    return 0;
}
