# tests/visibility/visibility.mk - ASan and Valgrind see use-after-free and overflow
# inside slabs (not only at the mmap boundary).
VIS_DIR := $(BUILD)/visibility

$(VIS_DIR)/uaf-asan: tests/visibility/uaf.c $(ALLOC_SRCS) | deps-fuzz
	@mkdir -p $(@D)
	$(CLANG) $(CPPFLAGS_COMMON) $(CFLAGS_COMMON) -O1 -g -fsanitize=address -fno-omit-frame-pointer \
	    $(VARIANT_DEFS_release) -c alloc/hakmem.c -o $(VIS_DIR)/alloc-asan.o
	$(CLANG) $(CPPFLAGS_COMMON) $(CFLAGS_COMMON) -O1 -g -fsanitize=address $< $(VIS_DIR)/alloc-asan.o -pthread -o $@

$(VIS_DIR)/uaf-valgrind: tests/visibility/uaf.c $(BUILD)/valgrind/alloc-release.o | deps-valgrind
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS_COMMON) $(CFLAGS_COMMON) -O1 -g $^ -pthread -o $@

.PHONY: test-visibility
test-visibility: $(VIS_DIR)/uaf-asan $(VIS_DIR)/uaf-valgrind
	@tests/visibility/run.sh $(VIS_DIR)
TEST_TARGETS += test-visibility
