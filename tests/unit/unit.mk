# tests/unit/unit.mk - white-box unit tests, each built against the release and the
# debug configuration (the test includes the whole allocator with prefix hakt_), and
# the tests that also hold without any release check against debug-norel (the debug
# build with every release check compiled out: its record alone must catch all).
# The registry test is about the debug record: debug builds only.
UNIT_TESTS := sizeclass header slab cache enomem reset os heap preload trim checks
UNIT_BUILDS := release debug
UNIT_NOREL_TESTS := slab cache registry
UNIT_DEFS_release := -DHAKMEM_PREFIX=hakt_ -DHAKMEM_BUILD_RELEASE=1 -DHAKMEM_VARIANT_NAME='"release"'
UNIT_DEFS_debug   := -DHAKMEM_PREFIX=hakt_ -DHAKMEM_BUILD_RELEASE=0 -DHAKMEM_DEBUG_COUNTERS=1
UNIT_DEFS_debug-norel := $(UNIT_DEFS_debug) -DHAKMEM_RELEASE_CHECKS=0 -DHAKMEM_CHECK_FREE_STATE=0 \
    -DHAKMEM_VARIANT_NAME='"debug-norel"'

define unit_rule
$(BUILD)/unit/test_$(1)-$(2): tests/unit/test_$(1).c tests/unit/unit.h tests/unit/child.h $(ALLOC_SRCS)
	@mkdir -p $$(@D)
	$(CC) $(CPPFLAGS_COMMON) -Itests/unit $(CFLAGS_COMMON) -O1 -g $(WARN) $(UNIT_DEFS_$(2)) $$< -o $$@
endef
$(foreach t,$(UNIT_TESTS),$(foreach b,$(UNIT_BUILDS),$(eval $(call unit_rule,$(t),$(b)))))
$(foreach t,$(UNIT_NOREL_TESTS),$(eval $(call unit_rule,$(t),debug-norel)))
$(eval $(call unit_rule,registry,debug))
UNIT_BINS := $(foreach t,$(UNIT_TESTS),$(foreach b,$(UNIT_BUILDS),$(BUILD)/unit/test_$(t)-$(b))) \
             $(BUILD)/unit/test_registry-debug $(foreach t,$(UNIT_NOREL_TESTS),$(BUILD)/unit/test_$(t)-debug-norel)

.PHONY: test-unit
test-unit: $(UNIT_BINS)
	@set -e; for t in $(UNIT_BINS); do $$t; done
TEST_TARGETS += test-unit
# The unit programs without running them, and their list (tools/coverage.py runs each
# alone, so a check direction can be traced to the program that took it).
.PHONY: unit-bins list-unit-bins
unit-bins: $(UNIT_BINS)
list-unit-bins:
	@echo $(UNIT_BINS)
