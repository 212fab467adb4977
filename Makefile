# hakmem - one entry point. `make help` lists the targets.
#
# Layout of build products (all under $(BUILD)):
#   $(BUILD)/<flavor>/alloc-<variant>.o  the allocator (alloc/hakmem.c, a unity build)
#   $(BUILD)/libhakmem.a, libhakmem-debug.a             prefixed API (hak_, hakd_)
#   $(BUILD)/libhakmem.so, libhakmem-debug.so, libhakmem-nochecks.so   LD_PRELOAD objects
# flavors: gcc (plain, the default for tests and libraries), and clang flavors from
# clang.mk: fuzz (ASan+UBSan+libFuzzer), fast (libFuzzer only), cov, afl.
# variants: release, debug, nochecks (release checks compiled out, for measurement only),
# debug-norel (debug with the release checks compiled out: the reference's independence
# test) and weak-<check> (one release check switched off, for verify-teeth).

BUILD   ?= build
CC      ?= cc
ifeq ($(origin CC),default)
CC      := gcc
endif
PYTHON  ?= python3

WARN    := -Wall -Wextra -Wundef -Wshadow -Wstrict-prototypes -Wno-unused-function
OPT     ?= -O2 -g
CPPFLAGS_COMMON := -Iinclude -Ialloc -D_GNU_SOURCE -MMD -MP
CFLAGS_COMMON   := -std=gnu11 -fno-strict-aliasing -pthread

include clang.mk

FLAVOR_CC_gcc      := $(CC)
FLAVOR_CFLAGS_gcc  := $(OPT) $(WARN) -fPIC
FLAVOR_LDFLAGS_gcc :=

FLAVORS  := gcc fuzz fast cov afl

# Variant -> preprocessor definitions.
VARIANT_DEFS_release  := -DHAKMEM_PREFIX=hak_  -DHAKMEM_BUILD_RELEASE=1 -DNDEBUG
VARIANT_DEFS_debug    := -DHAKMEM_PREFIX=hakd_ -DHAKMEM_BUILD_RELEASE=0 -DHAKMEM_DEBUG_COUNTERS=1
VARIANT_DEFS_nochecks := -DHAKMEM_PREFIX=hak_  -DHAKMEM_BUILD_RELEASE=1 -DNDEBUG -DHAKMEM_RELEASE_CHECKS=0
# The debug build with every release check compiled out, as a hak_ build: its record
# alone must report what the full debug build reports (make test-ref-independent).
VARIANT_DEFS_debug-norel := -DHAKMEM_PREFIX=hak_ -DHAKMEM_BUILD_RELEASE=0 -DHAKMEM_DEBUG_COUNTERS=1 \
    -DHAKMEM_RELEASE_CHECKS=0 -DHAKMEM_CHECK_FREE_STATE=0 -DHAKMEM_VARIANT_NAME='"debug-norel"'
# Weakened release builds: each switches off exactly one release check (alloc/config.h).
WEAK_CHECKS := FREE_STRIDE FREE_STATE CANARY LINK_RANGE LINK_STRIDE LINK_STATE REMOTE_LINK ARG_FIRST POP_RETAG
weak_name    = $(subst _,-,$(shell echo $(1) | tr A-Z a-z))
$(foreach c,$(WEAK_CHECKS),$(eval VARIANT_DEFS_weak-$(call weak_name,$(c)) := \
    -DHAKMEM_PREFIX=hak_ -DHAKMEM_BUILD_RELEASE=1 -DNDEBUG -DHAKMEM_CHECK_$(c)=0 \
    -DHAKMEM_VARIANT_NAME='"weak-$(call weak_name,$(c))"'))
WEAK_VARIANTS := $(foreach c,$(WEAK_CHECKS),weak-$(call weak_name,$(c)))
# A judge self-test build: every check on, and malloc_trim raises a report about nothing
# (the verdict must be a false alarm, also after a harmless fault: the fault-free twin).
VARIANT_DEFS_alarm-trim := -DHAKMEM_PREFIX=hak_ -DHAKMEM_BUILD_RELEASE=1 -DNDEBUG -DHAKMEM_TEST_FALSE_ALARM=1 \
    -DHAKMEM_VARIANT_NAME='"alarm-trim"'
VARIANTS := release debug nochecks debug-norel $(WEAK_VARIANTS) alarm-trim

# $(call alloc_obj,FLAVOR,VARIANT): the allocator object for that build.
alloc_obj = $(BUILD)/$(1)/alloc-$(2).o
# Extra allocator definitions a flavor needs (e.g. sanitizer hooks are automatic).
# The harness's flavors: small thread caches (a stream reaches flushes and refills
# quickly), and arenas aligned to 2^40 so that the release and the debug heap of one
# process are congruent: a fault that rewrites a pointer's low five bytes leaves the same
# arena offset, so the same block, in both (alloc/config.h, docs/claim.md).
HARNESS_ALLOC_DEFS := -DHAKMEM_TCACHE_SMALL=1 -DHAKMEM_ARENA_ALIGN_BITS=40
ALLOC_EXTRA_fuzz := $(HARNESS_ALLOC_DEFS)
ALLOC_EXTRA_fast := $(HARNESS_ALLOC_DEFS)
ALLOC_EXTRA_cov  := $(HARNESS_ALLOC_DEFS)
ALLOC_EXTRA_afl  := $(HARNESS_ALLOC_DEFS)

ALLOC_SRCS := $(wildcard alloc/*.c alloc/*.h include/*.h)

define alloc_rule
$(BUILD)/$(1)/alloc-$(2).o: alloc/hakmem.c
	@mkdir -p $$(@D)
	$$(FLAVOR_CC_$(1)) $$(CPPFLAGS_COMMON) $$(CFLAGS_COMMON) $$(FLAVOR_CFLAGS_$(1)) \
	    $$(VARIANT_DEFS_$(2)) $$(ALLOC_EXTRA_$(1)) -c $$< -o $$@
endef
$(foreach f,$(FLAVORS),$(foreach v,$(VARIANTS),$(eval $(call alloc_rule,$(f),$(v)))))

# Valgrind-aware build: client requests (MALLOCLIKE/FREELIKE) compiled in.
$(BUILD)/valgrind/alloc-%.o: alloc/hakmem.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS_COMMON) $(CFLAGS_COMMON) $(FLAVOR_CFLAGS_gcc) $(VARIANT_DEFS_$*) \
	    -DHAKMEM_VALGRIND=1 -c $< -o $@

# Static libraries with the prefixed API.
$(BUILD)/libhakmem.a: $(call alloc_obj,gcc,release)
	ar rcs $@ $^
$(BUILD)/libhakmem-debug.a: $(call alloc_obj,gcc,debug)
	ar rcs $@ $^

# LD_PRELOAD objects: the libc names on top of one variant.
$(BUILD)/gcc/preload-%.o: alloc/preload.c $(ALLOC_SRCS)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS_COMMON) $(CFLAGS_COMMON) $(FLAVOR_CFLAGS_gcc) $(VARIANT_DEFS_$*) -c $< -o $@
# -Bsymbolic: the libc names call this object's own hak_* even if the executable exports others.
PRELOAD_LDFLAGS := -shared -pthread -Wl,-z,nodelete -Wl,-Bsymbolic -Wl,--version-script=alloc/preload.map
# The installed two carry their SONAME (tools/install.mk).
$(BUILD)/libhakmem.so: $(BUILD)/gcc/preload-release.o alloc/preload.map include/hakmem.h
	$(CC) $(PRELOAD_LDFLAGS) -Wl,-soname,$(call soname,libhakmem) $(filter %.o,$^) -o $@
$(BUILD)/libhakmem-debug.so: $(BUILD)/gcc/preload-debug.o alloc/preload.map include/hakmem.h
	$(CC) $(PRELOAD_LDFLAGS) -Wl,-soname,$(call soname,libhakmem-debug) $(filter %.o,$^) -o $@
$(BUILD)/libhakmem-nochecks.so: $(BUILD)/gcc/preload-nochecks.o alloc/preload.map
	$(CC) $(PRELOAD_LDFLAGS) $(filter %.o,$^) -o $@

LIBS := $(BUILD)/libhakmem.a $(BUILD)/libhakmem-debug.a $(BUILD)/libhakmem.so \
        $(BUILD)/libhakmem-debug.so $(BUILD)/libhakmem-nochecks.so

.PHONY: all libs test help deps clean
.DEFAULT_GOAL := all
all: libs
libs: deps-build $(LIBS)

deps-%:
	@tools/deps.sh $*
# Every Debian package any target needs, at once (as root; otherwise the apt-get line).
deps:
	@tools/deps.sh --all

# Every fragment appends its test targets to TEST_TARGETS.
TEST_TARGETS :=
-include tools/install.mk
-include tests/tests.mk
-include tests/visibility/visibility.mk
-include harness/harness.mk
-include fuzz/fuzz.mk
-include fuzz/search.mk
-include verify/verify.mk
-include bench/bench.mk
-include ci/ci.mk

# `make test`: everything a commit must pass. Prints one closing summary line.
test: libs
	@$(PYTHON) tools/run_tests.py $(TEST_TARGETS)

help:
	@echo "make                 build the libraries ($(BUILD)/libhakmem.so for LD_PRELOAD)"
	@echo "make test            all tests (unit, misuse, stress, preload, fuzz regressions, ...)"
	@echo "make fuzz-freelist   the main job: differential fuzzing of freelist faults (FUZZ_TIME=60)"
	@echo "make fuzz-<target>   fuzz one target; make afl-<target>; make fuzz-regress"
	@echo "make verify          the verify report; make verify-teeth: weakened builds are caught"
	@echo "make bench           benchmarks against glibc, mimalloc, jemalloc, tcmalloc"
	@echo "make bench-shapes    what each part of a thread-cache fast path costs on this CPU (no allocator)"
	@echo "make install         PREFIX=/usr/local DESTDIR= LIBDIR= INCLUDEDIR= (tools/install.mk); make uninstall"
	@echo "make deps            install every Debian package any target needs (as root)"
	@echo "make nightly         the nightly fuzzing job (ci/nightly.py)"

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
# Dependency files are never remade: without this rule make tries to, by its built-in
# "X from X.o" rule, which for preload-<variant>.d matched the preload object's pattern
# rule and deleted the real dependency file when the bogus link failed, so the
# LD_PRELOAD objects were not rebuilt when alloc/ changed.
%.d: ;
