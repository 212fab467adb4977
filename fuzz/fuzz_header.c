/* fuzz_header.c - header faults and invalid frees.
 *
 * Property: a free (or realloc / malloc_usable_size) of anything that is not a live
 * block of this heap - interior or misaligned pointers, stack, global, C-library or
 * other-build pointers, never-carved slab memory, forged chunks with a copied tag,
 * freed blocks - and a block whose tag was overwritten by an overflow of the previous
 * block or an underflow of its own, is reported by release whenever debug reports it,
 * and never turns into a bad block handed out later. The dialect is biased to
 * free_bad/forge/overflow/underflow/double_free. */
#include "fuzz_entry.h"

const char hakmem_fuzz_target[] = "fuzz_header";
const int hakmem_fuzz_dialect = HOP_DIALECT_HEADER;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    oracle_fuzz_input(data, size, HOP_DIALECT_HEADER, NULL);
    return 0;
}
