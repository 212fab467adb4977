# fuzz/fuzz.mk - the differential fuzz harness: targets, drivers, corpus jobs.
# Included by the Makefile. Main entry: `make fuzz-freelist` (FUZZ_TIME=60 seconds,
# both cores). See `make fuzz-help`.
#
# Binaries (all link one hak_ build and the hakd_ debug build):
#   $(BUILD)/fuzz/<target>           libFuzzer + ASan + UBSan (flavor fuzz)
#   $(BUILD)/fast/<target>           libFuzzer, no sanitizer (flavor fast)
#   $(BUILD)/cov/<target>            coverage build;  $(BUILD)/afl/<target>  AFL++
#   $(BUILD)/rgcc/regress-<target>   plain main() replay driver (gcc); also
#   $(BUILD)/fuzz/regress-<target>   (ASan) and $(BUILD)/valgrind/regress-<target>
#   $(BUILD)/hakmem-replay           convert / replay / trace streams (gcc)
#   $(BUILD)/fast/teeth/<variant>/fuzz_ops, $(BUILD)/rgcc/teeth/regress-<variant>
#                                    the same against a weakened release build

FUZZ_TARGETS := fuzz_freelist fuzz_ops fuzz_header

# Flavor rgcc: plain gcc -O2 like flavor gcc, but the allocator is compiled as for the
# fuzzing flavors (HARNESS_ALLOC_DEFS: small thread caches, congruent arenas), so a
# stream found by a fuzzer replays with the same cache flushes and refills in every
# driver here.
FLAVOR_CC_rgcc      := $(CC)
FLAVOR_CFLAGS_rgcc  := $(FLAVOR_CFLAGS_gcc)
ALLOC_EXTRA_rgcc    := $(HARNESS_ALLOC_DEFS)
$(foreach v,$(VARIANTS),$(eval $(call alloc_rule,rgcc,$(v))))
$(BUILD)/valgrind-small/alloc-%.o: alloc/hakmem.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS_COMMON) $(CFLAGS_COMMON) $(FLAVOR_CFLAGS_gcc) $(VARIANT_DEFS_$*) \
	    -DHAKMEM_VALGRIND=1 $(HARNESS_ALLOC_DEFS) -c $< -o $@
FUZZ_TIME    ?= 60
FUZZ_JOBS    ?= 2
AFL_TIME     ?= 60
TEETH_TIME   ?= 60
TEETH_TARGET ?= fuzz_ops

# The harness objects (harness/harness.mk) plus fuzz/fuzz_entry.c, the entry every
# driver here calls with one input.
FUZZ_ENTRY_NAMES := fuzz_entry
# $(call fuzz_objs,FLAVOR,HAK_VARIANT,MAIN_OBJS): objects of one binary
fuzz_objs = $(3) $(call hobj,$(1),$(HARNESS_NAMES) $(FUZZ_ENTRY_NAMES)) $(call alloc_obj,$(1),$(2)) $(call alloc_obj,$(1),debug)

AFL_DRIVER ?= $(firstword $(wildcard /usr/lib/afl/libAFLDriver.a /usr/local/lib/afl/libAFLDriver.a))
FLAVOR_MAINLD_fuzz := $(FLAVOR_LDFLAGS_fuzz)
FLAVOR_MAINLD_fast := $(FLAVOR_LDFLAGS_fast)
FLAVOR_MAINLD_cov  := $(FLAVOR_LDFLAGS_cov)
FLAVOR_MAINLD_afl  := $(AFL_DRIVER)
# link flags for a plain main() in a libFuzzer-instrumented flavor
FLAVOR_PLAINLD_rgcc :=
FLAVOR_PLAINLD_fuzz := -fsanitize=fuzzer-no-link $(SAN_LDFLAGS)
FLAVOR_PLAINLD_fast := -fsanitize=fuzzer-no-link

define fuzz_flavor
$(BUILD)/$(1)/h/%.o: fuzz/%.c
	@mkdir -p $$(@D)
	$$(FLAVOR_CC_$(1)) $$(HARNESS_CPPFLAGS) -Ifuzz $$(CFLAGS_COMMON) $$(FLAVOR_CFLAGS_$(1)) -c $$< -o $$@
endef
$(foreach f,$(FLAVORS) rgcc,$(eval $(call fuzz_flavor,$(f))))

# libFuzzer / AFL++ binaries of each target in each clang flavor; the libFuzzer ones
# carry the structure-aware mutator (fuzz/mutator.c, see fuzz/search.mk)
FUZZ_MUTATOR_fuzz = $(BUILD)/fuzz/h/mutator.o
FUZZ_MUTATOR_fast = $(BUILD)/fast/h/mutator.o
FUZZ_MUTATOR_cov  = $(BUILD)/cov/h/mutator.o
define fuzz_bin
$(BUILD)/$(1)/$(2): $(call fuzz_objs,$(1),release,$(BUILD)/$(1)/h/$(2).o $(FUZZ_MUTATOR_$(1)))
	$$(FLAVOR_CC_$(1)) $$(CFLAGS_COMMON) $$^ $$(FLAVOR_MAINLD_$(1)) -pthread -o $$@
endef
$(foreach f,fuzz fast cov afl,$(foreach t,$(FUZZ_TARGETS),$(eval $(call fuzz_bin,$(f),$(t)))))

# plain-main regression drivers
define regress_bin
$(BUILD)/$(1)/regress-$(2): $(call fuzz_objs,$(1),release,$(BUILD)/$(1)/h/$(2).o $(BUILD)/$(1)/h/regress_main.o)
	$$(FLAVOR_CC_$(1)) $$(CFLAGS_COMMON) $$^ $$(FLAVOR_PLAINLD_$(1)) -pthread -o $$@
endef
$(foreach f,rgcc fuzz fast,$(foreach t,$(FUZZ_TARGETS),$(eval $(call regress_bin,$(f),$(t)))))

# Valgrind: gcc harness objects + valgrind-aware allocator objects (client requests),
# with the small thread caches like every other driver here
$(BUILD)/valgrind/regress-%: $(BUILD)/rgcc/h/%.o $(BUILD)/rgcc/h/regress_main.o $(call hobj,rgcc,$(HARNESS_NAMES) $(FUZZ_ENTRY_NAMES)) \
                             $(BUILD)/valgrind-small/alloc-release.o $(BUILD)/valgrind-small/alloc-debug.o
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_COMMON) $^ -pthread -o $@

$(BUILD)/hakmem-replay: $(call fuzz_objs,rgcc,release,$(BUILD)/rgcc/h/replay.o)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_COMMON) $^ -pthread -o $@

$(BUILD)/rgcc/test-ops: $(BUILD)/rgcc/h/test_ops.o $(BUILD)/rgcc/h/ops.o
	$(CC) $(CFLAGS_COMMON) $^ -o $@

# Teeth: the same harness against each weakened release build
define teeth_bin
$(BUILD)/fast/teeth/$(1)/$(TEETH_TARGET): $(call fuzz_objs,fast,$(1),$(BUILD)/fast/h/$(TEETH_TARGET).o $(FUZZ_MUTATOR_fast))
	@mkdir -p $$(@D)
	$$(FLAVOR_CC_fast) $$(CFLAGS_COMMON) $$^ $$(FLAVOR_LDFLAGS_fast) -pthread -o $$@
$(BUILD)/rgcc/teeth/regress-$(1): $(call fuzz_objs,rgcc,$(1),$(BUILD)/rgcc/h/fuzz_ops.o $(BUILD)/rgcc/h/regress_main.o)
	@mkdir -p $$(@D)
	$$(CC) $$(CFLAGS_COMMON) $$^ -pthread -o $$@
$(BUILD)/rgcc/teeth/hakmem-replay-$(1): $(call fuzz_objs,rgcc,$(1),$(BUILD)/rgcc/h/replay.o)
	@mkdir -p $$(@D)
	$$(CC) $$(CFLAGS_COMMON) $$^ -pthread -o $$@
endef
$(foreach v,$(WEAK_VARIANTS) alarm-trim,$(eval $(call teeth_bin,$(v))))

fuzz-dicts: $(BUILD)/hakmem-replay
	@for t in $(FUZZ_TARGETS); do \
	    { echo "# $$t.dict - generated by fuzz/gen-dict.sh (make fuzz-dicts): ops in the $${t#fuzz_} dialect"; \
	      fuzz/gen-dict.sh $(BUILD)/hakmem-replay $$t; } > fuzz/$$t.dict; \
	done

.PHONY: fuzz-holes fuzz-holes-all test-fuzz-order fuzz-dicts fuzz-help fuzz-build fuzz-regress fuzz-merge fuzz-min coverage valgrind-replay verify-teeth \
        test-teeth-regress test-fuzz-ops fuzz-bench corpus-bin fuzz-clean-work \
        $(addprefix fuzz-,$(subst fuzz_,,$(FUZZ_TARGETS))) $(addprefix afl-,$(subst fuzz_,,$(FUZZ_TARGETS)))

fuzz-help:
	@echo "make fuzz-freelist         fuzz freelist-link faults, FUZZ_TIME=$(FUZZ_TIME)s on $(FUZZ_JOBS) cores, then a summary"
	@echo "make fuzz-ops | fuzz-header   the other targets (same knobs)"
	@echo "make afl-freelist ...      AFL++ (one -M, one -S), AFL_TIME=$(AFL_TIME)"
	@echo "make fuzz-regress          replay corpus/ and corpus/regressions/ (gcc and ASan drivers)"
	@echo "make fuzz-merge            merge $(BUILD)/fuzz-work/<target> into corpus/<target>"
	@echo "make fuzz-min CRASH=FILE   minimise a crash, print it as text"
	@echo "make coverage              alloc/ line and branch coverage by the tests: $(BUILD)/coverage/report.md"
	@echo "make valgrind-replay       the corpus under Valgrind"
	@echo "make fuzz-bench            exec/s of the harness (gcc -O2, the fast and the ASan flavor)"
	@echo "make verify-teeth          each weakened release build must be caught, median <= TEETH_GOAL=$(TEETH_GOAL) s (TEETH_TIME=$(TEETH_TIME) cap)"
	@echo "make verify-exhaustive DEPTH=k   every stream up to k symbols of the small-scope alphabet (resumable)"
	@echo "make verify-teeth-mutator  time to detection with and without the structure-aware mutator"
	@echo "make fuzz-holes-mutator    the open holes' time to finding on release, with and without it"
	@echo "$(BUILD)/hakmem-replay --trace FILE   replay and explain one stream"

fuzz-build: deps-fuzz $(foreach t,$(FUZZ_TARGETS),$(BUILD)/fuzz/$(t) $(BUILD)/rgcc/regress-$(t)) $(BUILD)/hakmem-replay

# make fuzz-<name>: fuzz one target (the main job is fuzz-freelist); afl-<name>: AFL++
# FUZZ_FLAVOR: fast (libFuzzer, no sanitizer: several times the streams per second, and
# the oracle's shadow model sees every bad block itself) or fuzz (ASan+UBSan, which also
# catches the harness's and the allocator's own memory errors; the nightly runs both).
FUZZ_FLAVOR ?= fast
define fuzz_job
fuzz-$(subst fuzz_,,$(1)): deps-fuzz $(BUILD)/$$(FUZZ_FLAVOR)/$(1) $(BUILD)/hakmem-replay
	@BUILD=$(BUILD) fuzz/run-fuzz.sh $(1) $(BUILD)/$$(FUZZ_FLAVOR)/$(1) $$(FUZZ_TIME) $$(FUZZ_JOBS)
afl-$(subst fuzz_,,$(1)): deps-afl $(BUILD)/afl/$(1) $(BUILD)/afl/hakmem-mutator.so
	@BUILD=$(BUILD) fuzz/run-afl.sh $(1) $(BUILD)/afl/$(1) $$(AFL_TIME)
endef
$(foreach t,$(FUZZ_TARGETS),$(eval $(call fuzz_job,$(t))))

# Seeds are written as text (corpus/text/*.txt for every target, corpus/text/<target>/
# for one); the binaries the fuzzers start from (corpus/<target>/seed-*) are generated
# from them in the target's dialect and committed.
corpus-bin: $(BUILD)/hakmem-replay
	@for t in $(FUZZ_TARGETS); do \
	    mkdir -p corpus/$$t; rm -f corpus/$$t/seed-*; \
	    for f in corpus/text/*.txt $$(ls corpus/text/$$t/*.txt 2>/dev/null); do \
	        $(BUILD)/hakmem-replay --target $$t --to-bin -o corpus/$$t/seed-$$(basename $$f .txt) $$f || exit 1; \
	    done; \
	done; echo "corpus-bin: corpus/<target>/ regenerated from corpus/text/"

REGRESS_DIRS = corpus/regressions corpus/text corpus/$(1)
fuzz-regress: deps-fuzz $(foreach t,$(FUZZ_TARGETS),$(BUILD)/rgcc/regress-$(t) $(BUILD)/fuzz/regress-$(t))
	@set -e; for t in $(FUZZ_TARGETS); do \
	    echo "== $$t (gcc)"; $(BUILD)/rgcc/regress-$$t $(call REGRESS_DIRS,$$t); \
	    echo "== $$t (ASan+UBSan)"; $(BUILD)/fuzz/regress-$$t $(call REGRESS_DIRS,$$t); \
	done

# The judge's own teeth: against a build whose malloc_trim reports a corruption that is
# not there, every stream in corpus/regressions/judge/ must be called a false alarm (each
# file says so: #expect false_alarm alarm-trim), also where a harmless fault comes first;
# against the real builds they replay ok. And the judge's rules that take a sequence of
# streams in one process (corpus/regressions/pairs/, in name order: a stream that leaves
# the heap's large mappings so that a fault of the next applies in one build's heap only).
test-judge-teeth: $(BUILD)/rgcc/teeth/regress-alarm-trim $(BUILD)/rgcc/regress-fuzz_ops
	$(BUILD)/rgcc/teeth/regress-alarm-trim -v corpus/regressions/judge
	$(BUILD)/rgcc/regress-fuzz_ops -v corpus/regressions/judge
	$(BUILD)/rgcc/regress-fuzz_ops -v corpus/regressions/pairs
TEST_TARGETS += test-judge-teeth

# Deterministic teeth: each weakened build must be flagged on its committed reproducer
# (corpus/regressions/teeth/<variant>.txt, and <variant>-*.txt for more): a divergence, or a crash the oracle names
# (a weakened build may die walking a wild link before it can hand out a bad block).
test-teeth-regress: $(foreach v,$(WEAK_VARIANTS),$(BUILD)/rgcc/teeth/regress-$(v))
	@fail=0; for v in $(WEAK_VARIANTS); do \
	    f=corpus/regressions/teeth/$$v.txt; \
	    if [ ! -f $$f ]; then echo "$$v: missing reproducer $$f"; fail=1; continue; fi; \
	    for f in $$f corpus/regressions/teeth/$$v-*.txt; do [ -f $$f ] || continue; \
	    out=$$($(BUILD)/rgcc/teeth/regress-$$v -v --expect divergence $$f 2>&1); rc=$$?; \
	    if [ $$rc -eq 0 ]; then echo "$$v: flagged (divergence): $$f"; \
	    elif echo "$$out" | grep -q "hakmem-oracle: CRASH"; then echo "$$v: flagged (crash named by the oracle): $$f"; \
	    else echo "$$v: NOT flagged: $$f"; echo "$$out" | head -5; fail=1; fi; \
	    done; \
	done; exit $$fail

test-fuzz-ops: $(BUILD)/rgcc/test-ops
	$(BUILD)/rgcc/test-ops

# Verdicts must not depend on the streams replayed before: every corpus file, forward,
# backward and shuffled in one process (heap_reset returns a heap to a fixed layout).
test-fuzz-order: $(BUILD)/rgcc/regress-fuzz_freelist
	$(BUILD)/rgcc/regress-fuzz_freelist --order-check corpus/regressions $(foreach t,$(FUZZ_TARGETS),corpus/$(t)) corpus/text

# The reference is independent: the debug build with every release check compiled out
# (debug-norel, linked as the hak_ build) reports on every stream of the corpus
# (corpus/<target>/ in each target's dialect, corpus/text/, corpus/regressions/) exactly
# what the full debug build reports, op for op and kind for kind (regress --same-reports).
# The two heaps lie at different addresses, and some bytes a fault may write hold
# addresses (freelist links) or are derived from them (a large block's header): such a
# write can be a no-op in one heap and not in the other. Address randomisation is
# switched off (setarch -R, if the system allows it), so each run compares the same
# memory as the last.
define ref_bin
$(BUILD)/rgcc/ref/regress-$(1): $(call fuzz_objs,rgcc,debug-norel,$(BUILD)/rgcc/h/$(1).o $(BUILD)/rgcc/h/regress_main.o)
	@mkdir -p $$(@D)
	$$(CC) $$(CFLAGS_COMMON) $$^ -pthread -o $$@
endef
$(foreach t,$(FUZZ_TARGETS),$(eval $(call ref_bin,$(t))))
.PHONY: test-ref-independent
test-ref-independent: $(foreach t,$(FUZZ_TARGETS),$(BUILD)/rgcc/ref/regress-$(t))
	@set -e; fixed=""; if setarch -R true 2>/dev/null; then fixed="setarch -R"; \
	else echo "test-ref-independent: setarch -R refused, addresses stay randomised"; fi; \
	for t in $(FUZZ_TARGETS); do \
	    $$fixed $(BUILD)/rgcc/ref/regress-$$t --same-reports $(call REGRESS_DIRS,$$t); \
	done

TEST_TARGETS += test-fuzz-ops fuzz-regress test-teeth-regress test-fuzz-order test-ref-independent

fuzz-merge: deps-fuzz $(foreach t,$(FUZZ_TARGETS),$(BUILD)/fuzz/$(t))
	@for t in $(FUZZ_TARGETS); do \
	    mkdir -p corpus/$$t $(BUILD)/fuzz-work/$$t; \
	    echo "== merging $(BUILD)/fuzz-work/$$t into corpus/$$t"; \
	    $(BUILD)/fuzz/$$t -merge=1 -timeout=10 corpus/$$t $(BUILD)/fuzz-work/$$t 2>&1 | grep -E "MERGE-OUTER: [0-9]+ new files" || true; \
	done

fuzz-min: deps-fuzz $(foreach t,$(FUZZ_TARGETS),$(BUILD)/fuzz/$(t)) $(BUILD)/hakmem-replay
	@test -n "$(CRASH)" || { echo "usage: make fuzz-min CRASH=path/to/crash-file [TARGET=fuzz_freelist] [FUZZ_MIN_BIN=a teeth binary]"; exit 2; }
	@t="$(TARGET)"; [ -n "$$t" ] || case "$(CRASH)" in *freelist*) t=fuzz_freelist;; *header*) t=fuzz_header;; *) t=fuzz_ops;; esac; \
	bin="$(FUZZ_MIN_BIN)"; [ -n "$$bin" ] || bin=$(BUILD)/fuzz/$$t; \
	echo "minimising $(CRASH) with $$bin"; \
	$$bin -minimize_crash=1 -runs=20000 -max_total_time=60 -exact_artifact_path=$(CRASH).min $(CRASH) >$(CRASH).min.log 2>&1 || true; \
	test -s $(CRASH).min || cp $(CRASH) $(CRASH).min; \
	$(BUILD)/hakmem-replay --target $$t --to-text -o $(CRASH).min.txt $(CRASH).min; \
	echo "minimised: $(CRASH).min ($$(wc -c <$(CRASH).min) bytes), as text: $(CRASH).min.txt"; \
	cat $(CRASH).min.txt; \
	$(BUILD)/hakmem-replay $(CRASH).min.txt || true; \
	echo "keep it: cp $(CRASH).min.txt corpus/regressions/<name>.txt and describe it in corpus/regressions/README.md"

# exec/s of the harness on one core: random streams of ~100 ops (release + debug run,
# resets, drain), and the single-thread tiny-only ceiling (no worker hand-offs, no mmap)
fuzz-bench: deps-fuzz $(BUILD)/rgcc/regress-fuzz_freelist $(BUILD)/fast/regress-fuzz_freelist $(BUILD)/rgcc/regress-fuzz_ops \
            $(BUILD)/fuzz/regress-fuzz_freelist
	@printf 'gcc -O2:         '; $(BUILD)/rgcc/regress-fuzz_freelist --bench 3000 --ops 100
	@printf 'gcc -O2:         '; $(BUILD)/rgcc/regress-fuzz_ops --bench 3000 --ops 100
	@printf 'clang -O2:       '; $(BUILD)/fast/regress-fuzz_freelist --bench 3000 --ops 100
	@printf 'ASan (the fuzz flavor, as libFuzzer runs it): '; $(BUILD)/fuzz/regress-fuzz_freelist --bench 2000 --ops 100
	@printf 'gcc -O2:         '; $(BUILD)/rgcc/regress-fuzz_freelist --bench 10000 --ops 100 --tiny
	@printf 'clang -O2:       '; $(BUILD)/fast/regress-fuzz_freelist --bench 10000 --ops 100 --tiny

# Coverage of alloc/ by what `make test` runs: a second tree ($(COV_BUILD)) where every
# program and library is built by clang with source-based coverage, the allocator's
# suites run in it (tools/coverage.py lists them), and one report of alloc/ alone:
# a Markdown table per file and the total, the exclusions with their reasons
# (docs/coverage.md), every line and branch direction not reached. Fails below
# COVERAGE_MIN percent of alloc/ lines. A fuzzing run's work folder, if present, is
# replayed too (its verdicts unchecked).
COV_BUILD    ?= $(BUILD)/covtree
# (atomic counters: a racy increment in the threaded tests made a branch's derived count
# negative or falsely positive, a direction "taken" that never was)
COV_CC       := $(CLANG) -Qunused-arguments $(COV_CFLAGS) -fprofile-update=atomic -mllvm -runtime-counter-relocation
COVERAGE_MIN ?= 99.5
coverage: deps-fuzz deps-cov
	@$(PYTHON) tools/coverage.py --build $(COV_BUILD) --out $(BUILD)/coverage --cc '$(COV_CC)' --make '$(MAKE)' \
	    --min $(COVERAGE_MIN) --llvm-cov $(LLVM_COV) --llvm-profdata $(LLVM_PROFDATA) \
	    $(if $(wildcard $(BUILD)/fuzz-work),--extra-corpus $(BUILD)/fuzz-work)
# In make test: each exclusion still names exactly one line of alloc/ (a change there
# must not leave one pointing at other code, or at nothing, until the next coverage run).
.PHONY: test-coverage-exclusions
test-coverage-exclusions:
	@$(PYTHON) tools/coverage.py --check-exclusions
TEST_TARGETS += test-coverage-exclusions
# In make test: the fail witnesses of the checks table (docs/coverage.md) that are text
# streams or unit programs, each replayed alone in the coverage tree (only the op-stream
# driver and those programs are built there), must still take their check's fail side;
# the full account of both directions of every check is make coverage's.
.PHONY: test-check-directions
test-check-directions: deps-fuzz deps-cov
	@$(PYTHON) tools/coverage.py --quick --build $(COV_BUILD) --cc '$(COV_CC)' --make '$(MAKE)' \
	    --llvm-cov $(LLVM_COV) --llvm-profdata $(LLVM_PROFDATA)
TEST_TARGETS += test-check-directions

# One Valgrind process per stream: heap_reset() forgets blocks without telling Valgrind
# (no FREELIKE), so blocks of one stream would "overlap" blocks of the next.
valgrind-replay: deps-valgrind $(foreach t,$(FUZZ_TARGETS),$(BUILD)/valgrind/regress-$(t))
	@set -e; for t in $(FUZZ_TARGETS); do \
	    if [ $$t = fuzz_ops ]; then files=$$(find corpus/text corpus/regressions corpus/$$t -type f ! -name README.md | sort); \
	    else files=$$(find corpus/$$t -type f | sort); fi; \
	    echo "== $$t under valgrind: $$(echo "$$files" | wc -l) streams, one process each"; \
	    echo "$$files" | xargs -P 2 -I{} sh -c 'valgrind -q --error-exitcode=99 --leak-check=no $(BUILD)/valgrind/regress-'$$t' {} >/dev/null 2>$(BUILD)/valgrind/last-$$$$.log || { echo "FAIL {}"; cat $(BUILD)/valgrind/last-$$$$.log | head -30; exit 255; }'; \
	done; echo "valgrind-replay: no Valgrind errors"

TEETH_SEEDS ?= 5   # (also used by search.mk)
TEETH_GOAL  ?= 10
# Each weakened build, fuzzed from the fault-free seeds with TEETH_SEEDS libFuzzer seeds:
# a table of the seeds that caught it and the median, min and max time to detection;
# fails unless every seed catches every build and each median is <= TEETH_GOAL s.
verify-teeth: deps-fuzz $(BUILD)/fast/$(TEETH_TARGET) $(foreach v,$(WEAK_VARIANTS),$(BUILD)/fast/teeth/$(v)/$(TEETH_TARGET))
	@$(PYTHON) fuzz/teeth.py --target $(TEETH_TARGET) --bin '$(BUILD)/fast/teeth/{variant}/$(TEETH_TARGET)' \
	    --control $(BUILD)/fast/$(TEETH_TARGET) --seconds $(TEETH_TIME) --seeds $(TEETH_SEEDS) --goal $(TEETH_GOAL) \
	    --out $(BUILD)/teeth $(WEAK_VARIANTS)
# The same measurement on the full release build (a table, not a pass/fail): how fast
# the main job's engine finds whatever the release checks still miss.
fuzz-holes: deps-fuzz $(BUILD)/fast/fuzz_freelist
	@$(PYTHON) fuzz/teeth.py --target fuzz_freelist --bin '$(BUILD)/fast/fuzz_freelist' --seconds $(TEETH_TIME) \
	    --seeds $(TEETH_SEEDS) --goal $(TEETH_GOAL) --out $(BUILD)/holes release || true
# Every distinct finding on the full release build, with the time each seed first found it.
fuzz-holes-all: deps-fuzz $(BUILD)/fast/fuzz_freelist
	@$(PYTHON) fuzz/teeth.py --target fuzz_freelist --bin '$(BUILD)/fast/fuzz_freelist' --seconds $(TEETH_TIME) \
	    --seeds $(TEETH_SEEDS) --goal $(TEETH_GOAL) --keep-going --out $(BUILD)/holes-all release || true

fuzz-clean-work:
	rm -rf $(BUILD)/fuzz-work $(BUILD)/crashes $(BUILD)/fuzz-stats $(BUILD)/escapes
