/* fault_write.h - the only way the harness touches memory behind the allocator's back
 * (freed blocks, tags, bytes past a block). These accessors are deliberately not
 * instrumented by ASan and hide their accesses from Valgrind, so an injected fault is
 * not reported as a harness bug, while every other access of the harness and of the
 * allocator stays checked. */
#ifndef HAKMEM_FUZZ_FAULT_WRITE_H
#define HAKMEM_FUZZ_FAULT_WRITE_H

#include <stddef.h>
#include <stdint.h>

void    fw_write8(void *p, uint64_t v);
void    fw_write1(void *p, uint8_t v);
void    fw_fill(void *p, uint8_t v, size_t n);
void    fw_copy(void *dst, const void *src, size_t n);
uint8_t fw_read1(const void *p);
uint64_t fw_read8(const void *p);

#endif
