# tests/tests.mk - the misuse, API, stress and LD_PRELOAD test suites (included by the
# Makefile). Targets: test-misuse test-api test-stress test-preload test-soak test-tsan, all appended to
# TEST_TARGETS so `make test` runs them. The unit tests live in tests/unit/unit.mk.
-include tests/unit/unit.mk

TEST_OUT  := $(BUILD)/tests
TEST_JOBS ?= $(shell nproc 2>/dev/null || echo 2)
# Test programs commit misuse on purpose: the compiler must neither elide malloc/free
# pairs (-fno-builtin) nor warn about the misuse it can see.
TEST_CFLAGS := -std=gnu11 -O1 -g -pthread -fno-builtin $(WARN) \
    -Wno-use-after-free -Wno-free-nonheap-object -Wno-mismatched-dealloc
TEST_CPPFLAGS := -Iinclude -D_GNU_SOURCE

# Build modes of a test program (see tests/misuse/misuse.h): the prefix P under test,
# the other heap's prefix OTHER, and the static libraries linked in. The preload modes
# use the libc names and link only the library the preloaded object does not define.
TEST_MODES := rel dbg pre pred
TEST_MODE_DEFS_rel  := -DP=hak_ -DOTHER=hakd_
TEST_MODE_DEFS_dbg  := -DP=hakd_ -DOTHER=hak_
TEST_MODE_DEFS_pre  := -DP= -DOTHER=hakd_ -DHAK_TEST_PRELOAD=1 -DHAK_TEST_PRELOAD_PREFIX='"hak_"'
TEST_MODE_DEFS_pred := -DP= -DOTHER=hak_ -DHAK_TEST_PRELOAD=1 -DHAK_TEST_PRELOAD_PREFIX='"hakd_"'
TEST_MODE_LIBS_rel  := $(BUILD)/libhakmem.a $(BUILD)/libhakmem-debug.a
TEST_MODE_LIBS_dbg  := $(BUILD)/libhakmem.a $(BUILD)/libhakmem-debug.a
TEST_MODE_LIBS_pre  := $(BUILD)/libhakmem-debug.a
TEST_MODE_LIBS_pred := $(BUILD)/libhakmem.a
TEST_PRELOAD_SOS    := $(BUILD)/libhakmem.so $(BUILD)/libhakmem-debug.so

# $(call test_mode_rule,DIR,MODE): $(TEST_OUT)/DIR/NAME.MODE from tests/DIR/NAME.c.
define test_mode_rule
$(TEST_OUT)/$(1)/%.$(2): tests/$(1)/%.c $(TEST_MODE_LIBS_$(2))
	@mkdir -p $$(@D)
	$$(CC) $$(TEST_CPPFLAGS) -Itests/$(1) $$(TEST_MODE_DEFS_$(2)) $$(TEST_CFLAGS) -MMD -MP -MF $$@.d \
	    $$< -o $$@ $$(TEST_MODE_LIBS_$(2)) -ldl
endef
$(foreach d,misuse api stress glibc,$(foreach m,$(TEST_MODES),$(eval $(call test_mode_rule,$(d),$(m)))))

# Build prerequisites in parallel unless the caller already runs make with -j.
TEST_SUBMAKE = $(MAKE) --no-print-directory $(if $(filter -j%,$(MAKEFLAGS)),,-j$(TEST_JOBS))

# --- misuse: one program per misuse, each must abort with its exact fixed line -------
MISUSE_NAMES := $(sort $(notdir $(basename $(wildcard tests/misuse/*.c))))
MISUSE_BINS  := $(foreach n,$(MISUSE_NAMES),$(foreach m,$(TEST_MODES),$(TEST_OUT)/misuse/$(n).$(m)))

.PHONY: test-misuse misuse-bins
misuse-bins: $(MISUSE_BINS) $(TEST_PRELOAD_SOS)
test-misuse:
	@$(TEST_SUBMAKE) misuse-bins
	@$(PYTHON) tests/misuse/run.py --build $(BUILD)
TEST_TARGETS += test-misuse

# --- api: glibc semantics of the whole API, per build ---------------------------------
API_BINS := $(foreach m,$(TEST_MODES),$(TEST_OUT)/api/api_test.$(m))

.PHONY: test-api api-bins
api-bins: $(API_BINS) $(TEST_PRELOAD_SOS)
test-api:
	@$(TEST_SUBMAKE) api-bins
	@tests/api/run.sh $(BUILD)
TEST_TARGETS += test-api

# --- layout: release and debug hand out the same blocks in the same order ----------
$(TEST_OUT)/layout/same_layout: tests/layout/same_layout.c $(BUILD)/libhakmem.a $(BUILD)/libhakmem-debug.a
	@mkdir -p $(@D)
	$(CC) $(TEST_CPPFLAGS) $(TEST_CFLAGS) -MMD -MP -MF $@.d $< -o $@ $(BUILD)/libhakmem.a $(BUILD)/libhakmem-debug.a -ldl

.PHONY: test-layout
test-layout: $(TEST_OUT)/layout/same_layout
	@$(TEST_OUT)/layout/same_layout
TEST_TARGETS += test-layout

# --- glibc: mallinfo2, malloc_trim, malloc_stats, malloc_info, mallopt, free_sized --
GLIBC_BINS := $(foreach m,$(TEST_MODES),$(TEST_OUT)/glibc/glibc_test.$(m))

.PHONY: test-glibc glibc-bins
glibc-bins: $(GLIBC_BINS) $(TEST_PRELOAD_SOS)
test-glibc: deps-preload
	@$(TEST_SUBMAKE) glibc-bins
	@tests/glibc/run.sh $(BUILD)
TEST_TARGETS += test-glibc

# --- install: make install into a temporary prefix, used with pkg-config alone ------
.PHONY: test-install
test-install: deps-install deps-preload libs $(BUILD)/hakmem-replay
	@tests/install/run.sh $(BUILD)
TEST_TARGETS += test-install

# --- deps: tools/deps.sh names what is missing, and why, before it installs ---------
.PHONY: test-deps
test-deps:
	@tests/deps/run.sh
TEST_TARGETS += test-deps

# --- cli: --help exits 0 with the full help; misuse is one line + usage, exit 2 ------
.PHONY: test-cli
CLI_BINS := $(BUILD)/hakmem-replay $(foreach t,fuzz_freelist fuzz_ops fuzz_header,$(BUILD)/rgcc/regress-$(t))
test-cli: $(CLI_BINS)
	@$(PYTHON) tests/cli/check_cli.py $(CLI_BINS)
TEST_TARGETS += test-cli

# --- docs: self-contained, links resolve, every variable listed, op-format examples --
.PHONY: test-docs
test-docs: $(BUILD)/hakmem-replay
	@$(PYTHON) tests/docs/check.py --replay $(BUILD)/hakmem-replay
TEST_TARGETS += test-docs

# --- reports: the nightly summary's plot of executions and coverage ------------------
.PHONY: test-reports
test-reports:
	@$(PYTHON) tests/reports/check_nightly_plot.py
TEST_TARGETS += test-reports

# --- stress: many threads, cross-thread frees, churn, fork; release, debug, preload ---
STRESS_BINS := $(foreach m,$(TEST_MODES),$(TEST_OUT)/stress/stress.$(m))
STRESS_SECONDS ?= 4

.PHONY: test-stress stress-bins
stress-bins: $(STRESS_BINS) $(TEST_PRELOAD_SOS)
test-stress:
	@$(TEST_SUBMAKE) stress-bins
	@STRESS_SECONDS=$(STRESS_SECONDS) tests/stress/run.sh $(BUILD)
TEST_TARGETS += test-stress

# --- preload: real programs under LD_PRELOAD, compared with their glibc runs ----------
PRELOAD_PROGS := $(patsubst tests/preload/%.c,$(TEST_OUT)/preload/%,$(wildcard tests/preload/*.c))

$(TEST_OUT)/preload/%: tests/preload/%.c
	@mkdir -p $(@D)
	$(CC) $(TEST_CPPFLAGS) $(TEST_CFLAGS) -MMD -MP -MF $@.d $< -o $@

# This one links libhakmem.a and exports its hak_* symbols (see the program).
$(TEST_OUT)/preload/interpose_static_lib: tests/preload/interpose_static_lib.c $(BUILD)/libhakmem.a
	@mkdir -p $(@D)
	$(CC) $(TEST_CPPFLAGS) $(TEST_CFLAGS) -MMD -MP -MF $@.d -rdynamic $< -o $@ $(BUILD)/libhakmem.a

PRELOAD_LONG ?= 0
.PHONY: test-preload preload-bins
preload-bins: $(PRELOAD_PROGS) $(TEST_PRELOAD_SOS)
test-preload: deps-preload
	@$(TEST_SUBMAKE) preload-bins
	@PRELOAD_LONG=$(PRELOAD_LONG) tests/preload/run.sh $(BUILD)
TEST_TARGETS += test-preload

# --- soak: RSS over time at a fixed live set, with glibc and mimalloc in the same run --
SOAK_SECONDS ?= 8
SOAK_SAMPLE  ?= 0.5
$(TEST_OUT)/soak/soak: tests/soak/soak.c
	@mkdir -p $(@D)
	$(CC) $(TEST_CPPFLAGS) $(TEST_CFLAGS) -MMD -MP -MF $@.d $< -o $@

.PHONY: test-soak
test-soak: $(TEST_OUT)/soak/soak $(TEST_PRELOAD_SOS)
	@$(PYTHON) tests/soak/soak.py --self-test
	@$(PYTHON) tests/soak/soak.py --build $(BUILD) --seconds $(SOAK_SECONDS) --sample $(SOAK_SAMPLE)
TEST_TARGETS += test-soak

# --- tsan: the stress test and both allocator builds under ThreadSanitizer ------------
# Every report fails the run; benign races on hints are relaxed atomics under TSan
# (HAK_HINT_LOAD in alloc/internal.h). The fork rounds are skipped (TSan cannot follow
# a multi-threaded fork child that starts threads).
TSAN_OUT     := $(BUILD)/tsan
TSAN_SECONDS ?= 3
TSAN_EXTRA   ?=
$(TSAN_OUT)/alloc-release.o $(TSAN_OUT)/alloc-debug.o: $(TSAN_OUT)/alloc-%.o: alloc/hakmem.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS_COMMON) $(CFLAGS_COMMON) -O1 -g -fsanitize=thread $(VARIANT_DEFS_$*) -c $< -o $@
$(TSAN_OUT)/stress.rel $(TSAN_OUT)/stress.dbg: $(TSAN_OUT)/stress.%: tests/stress/stress.c $(TSAN_OUT)/alloc-release.o $(TSAN_OUT)/alloc-debug.o
	$(CC) $(TEST_CPPFLAGS) -Itests/stress $(TEST_MODE_DEFS_$*) $(TEST_CFLAGS) -fsanitize=thread -MMD -MP -MF $@.d \
	    $< -o $@ $(TSAN_OUT)/alloc-release.o $(TSAN_OUT)/alloc-debug.o -ldl

.PHONY: test-tsan
test-tsan: $(TSAN_OUT)/stress.rel $(TSAN_OUT)/stress.dbg
	@set -e; for m in rel dbg; do \
	    echo "[tsan] stress.$$m, $(TSAN_SECONDS)s"; \
	    TSAN_OPTIONS="halt_on_error=1 exitcode=66 $(TSAN_EXTRA)" STRESS_SECONDS=$(TSAN_SECONDS) $(TSAN_OUT)/stress.$$m; \
	done; echo "[tsan] no ThreadSanitizer report"
TEST_TARGETS += test-tsan
