# bench/bench.mk - benchmarks against glibc, mimalloc, jemalloc, tcmalloc.
# Included by the Makefile.
#   make bench          all benchmarks x all allocators, BENCH_ROUNDS rounds (default 5);
#                       writes $(BUILD)/bench/report.md, report.json, bench.svg/png
#   make bench-quick    the same with ~10x fewer iterations and 1 round (or BENCH_QUICK=1)
#   make bench-example  copy the last report and its plots to bench/results/ (committed)
#   make bench-bins     only build the benchmark programs ($(BUILD)/bench/bin/)
#   make bench-shapes   what each part of a thread cache's fast path costs on this CPU
#                       (bench/shapes.c, no allocator): $(BUILD)/bench/shapes.md
#   make test-bench-smoke  (in `make test`) every benchmark once, tiny, on glibc and hakmem
# Knobs: BENCH_ROUNDS=N, BENCH_QUICK=1, BENCH_ARGS='--allocators hakmem,mimalloc ...'
# (see python3 bench/run.py --help).

BENCH_DIR    := $(BUILD)/bench
BENCH_BIN    := $(BENCH_DIR)/bin
BENCH_PROGS  := random_mixed random_mixed_ref rmix mt_larson prodcons exchange mid_large shapes glibc_thread alloc_test
BENCH_EXES   := $(addprefix $(BENCH_BIN)/,$(BENCH_PROGS))
# Plain -O2 (the benchmark loop must not be what we measure); -g for callgrind annotate.
BENCH_CFLAGS := -std=gnu11 -O2 -g $(WARN) -pthread
# The preload objects the runner compares (release, debug, release minus its checks).
BENCH_HAKMEM := $(BUILD)/libhakmem.so $(BUILD)/libhakmem-debug.so $(BUILD)/libhakmem-nochecks.so
# Release minus one check each (the weakened builds, Makefile WEAK_VARIANTS): what each
# release check costs, counted under callgrind (measurement only, never installed).
BENCH_WEAK_LIBS := $(foreach v,$(WEAK_VARIANTS),$(BENCH_DIR)/lib/libhakmem-$(v).so)
.SECONDARY: $(foreach v,$(WEAK_VARIANTS),$(BUILD)/gcc/preload-$(v).o)
BENCH_ROUNDS ?=
BENCH_QUICK  ?= 0
BENCH_ARGS   ?=

BENCH_RUN = BENCH_COMMAND='make bench$(if $(filter 1,$(BENCH_QUICK)), BENCH_QUICK=1)$(if \
    $(BENCH_ROUNDS), BENCH_ROUNDS=$(BENCH_ROUNDS))$(if $(BENCH_ARGS), BENCH_ARGS="$(BENCH_ARGS)")' \
    $(PYTHON) bench/run.py --build $(BUILD) --bin $(BENCH_BIN) --out $(BENCH_DIR) \
    $(if $(filter 1,$(BENCH_QUICK)),--quick) $(if $(BENCH_ROUNDS),--rounds $(BENCH_ROUNDS)) \
    $(BENCH_ARGS)

$(BENCH_BIN)/%: bench/%.c bench/bench_util.h
	@mkdir -p $(@D)
	$(CC) $(BENCH_CFLAGS) $< -o $@

.PHONY: bench bench-quick bench-bins bench-shapes test-bench-smoke
bench-bins: $(BENCH_EXES)

$(BENCH_DIR)/lib/libhakmem-%.so: $(BUILD)/gcc/preload-%.o alloc/preload.map
	@mkdir -p $(@D)
	$(CC) $(PRELOAD_LDFLAGS) $(filter %.o,$^) -o $@

bench: deps-bench $(BENCH_EXES) $(BENCH_HAKMEM) $(BENCH_WEAK_LIBS)
	$(BENCH_RUN)

bench-shapes: $(BENCH_BIN)/shapes
	$(PYTHON) bench/shapes.py --bin $< --rounds $(or $(BENCH_ROUNDS),7) --out $(BENCH_DIR)/shapes.md

bench-quick:
	@$(MAKE) --no-print-directory bench BENCH_QUICK=1

# The committed example (bench/results/): the last `make bench` report with its plots,
# under the names the report links to.
.PHONY: bench-example
bench-example:
	@test -f $(BENCH_DIR)/report.md || { echo "no $(BENCH_DIR)/report.md: run make bench first"; exit 1; }
	cp $(BENCH_DIR)/report.md bench/results/example-report.md
	cp $(wildcard $(BENCH_DIR)/*.svg $(BENCH_DIR)/*.png) bench/results/

# Runs, prints a RESULT line, and the runner's report pipeline works. No timings.
test-bench-smoke: $(BENCH_EXES) $(BUILD)/libhakmem.so
	$(PYTHON) bench/smoke.py $(BENCH_BIN) $(BUILD)/libhakmem.so $(BENCH_DIR)/smoke

TEST_TARGETS += test-bench-smoke
