# tests/visibility/visibility.mk - ASan and Valgrind see use-after-free and overflow
# inside slabs (not only at the mmap boundary).
VIS_DIR := $(BUILD)/visibility

$(VIS_DIR)/uaf-asan: tests/visibility/uaf.c $(ALLOC_SRCS) | deps-fuzz
	@mkdir -p $(@D)
	$(CLANG) $(CPPFLAGS_COMMON) $(CFLAGS_COMMON) -O1 -g -fsanitize=address -fno-omit-frame-pointer \
	    $(VARIANT_DEFS_release) -c alloc/hakmem.c -o $(VIS_DIR)/alloc-asan.o
	$(CLANG) $(CPPFLAGS_COMMON) $(CFLAGS_COMMON) -O1 -g -fsanitize=address $< $(VIS_DIR)/alloc-asan.o -o $@

$(VIS_DIR)/uaf-valgrind: tests/visibility/uaf.c $(BUILD)/valgrind/alloc-release.o | deps-valgrind
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS_COMMON) $(CFLAGS_COMMON) -O1 -g $^ -o $@

.PHONY: test-visibility
test-visibility: $(VIS_DIR)/uaf-asan $(VIS_DIR)/uaf-valgrind
	@set -e; b=$(VIS_DIR); \
	 ! $$b/uaf-asan uaf-read 2>$$b/asan-uaf.log && grep -q 'ERROR: AddressSanitizer: use-after-poison' $$b/asan-uaf.log \
	   && echo "asan: use-after-free inside a slab: flagged"; \
	 ! $$b/uaf-asan overflow 2>$$b/asan-ovf.log && grep -q 'ERROR: AddressSanitizer' $$b/asan-ovf.log \
	   && echo "asan: 1-byte overflow inside a slab: flagged"; \
	 $$b/uaf-asan clean >/dev/null && echo "asan: clean run: silent"; \
	 rc=0; valgrind -q --error-exitcode=9 $$b/uaf-valgrind uaf-read >/dev/null 2>$$b/vg-uaf.log || rc=$$?; test $$rc = 9; \
	   grep -q 'Invalid read of size 1' $$b/vg-uaf.log && grep -q "free'd" $$b/vg-uaf.log \
	   && echo "valgrind: use-after-free inside a slab: flagged"; \
	 rc=0; valgrind -q --error-exitcode=9 $$b/uaf-valgrind overflow >/dev/null 2>$$b/vg-ovf.log || rc=$$?; test $$rc != 0; \
	   grep -q 'Invalid write of size 1' $$b/vg-ovf.log && echo "valgrind: 1-byte overflow inside a slab: flagged"; \
	 valgrind -q --error-exitcode=9 --leak-check=full $$b/uaf-valgrind clean >/dev/null && echo "valgrind: clean run: silent"
TEST_TARGETS += test-visibility
