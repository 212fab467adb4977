# tests/unit/unit.mk - white-box unit tests, each built against the release and the
# debug configuration (the test includes the whole allocator with prefix hakt_).
UNIT_TESTS := sizeclass header slab cache registry
UNIT_BUILDS := release debug
UNIT_DEFS_release := -DHAKMEM_PREFIX=hakt_ -DHAKMEM_BUILD_RELEASE=1 -DHAKMEM_VARIANT_NAME='"release"'
UNIT_DEFS_debug   := -DHAKMEM_PREFIX=hakt_ -DHAKMEM_BUILD_RELEASE=0 -DHAKMEM_DEBUG_COUNTERS=1

define unit_rule
$(BUILD)/unit/test_$(1)-$(2): tests/unit/test_$(1).c tests/unit/unit.h $(ALLOC_SRCS)
	@mkdir -p $$(@D)
	$(CC) $(CPPFLAGS_COMMON) -Itests/unit $(CFLAGS_COMMON) -O1 -g $(WARN) $(UNIT_DEFS_$(2)) $$< -o $$@
endef
$(foreach t,$(UNIT_TESTS),$(foreach b,$(UNIT_BUILDS),$(eval $(call unit_rule,$(t),$(b)))))
UNIT_BINS := $(foreach t,$(UNIT_TESTS),$(foreach b,$(UNIT_BUILDS),$(BUILD)/unit/test_$(t)-$(b)))

.PHONY: test-unit
test-unit: $(UNIT_BINS)
	@set -e; for t in $(UNIT_BINS); do $$t; done
TEST_TARGETS += test-unit
