# ci/ci.mk - CI jobs (included by the Makefile):
#   make nightly              the nightly fuzzing job on this machine (ci/nightly.sh;
#                             NIGHTLY_BUDGET=seconds, NIGHTLY_OUT=folder, see ci/nightly.sh -h)
#   make test-ossfuzz-build   (in make test) runs .clusterfuzzlite/build.sh with a local
#                             stand-in for the OSS-Fuzz environment, then every binary it
#                             produced over its seed corpus: the scale-out path cannot rot
#   make ci-fuzz-smoke        a few seconds of libFuzzer and AFL++ per target (.ci/run)

.PHONY: nightly test-ossfuzz-build ci-fuzz-smoke ci-print-%

# nightly.sh builds what it needs through make and checks its own dependencies.
nightly:
	@BUILD=$(BUILD) ci/nightly.sh

# The stand-in environment: what base-builder would export for an ASan+UBSan libFuzzer build.
OSSFUZZ_OUT    := $(BUILD)/ossfuzz-out
OSSFUZZ_WORK   := $(BUILD)/ossfuzz-work
OSSFUZZ_CFLAGS ?= -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fsanitize=fuzzer-no-link
test-ossfuzz-build: deps-fuzz
	@OUT=$(OSSFUZZ_OUT) WORK=$(OSSFUZZ_WORK) CFLAGS="$(OSSFUZZ_CFLAGS)" \
	    ci/test-ossfuzz-build.sh $(FUZZ_TARGETS)

TEST_TARGETS += test-ossfuzz-build

# Fuzz smoke: seconds per target and engine, through the harness's own jobs
# (make fuzz-<t> / afl-<t>: they build, fuzz, summarise, and fail on any finding).
SMOKE_TIME ?= 5
SMOKE_AFL  ?= 1
ci-fuzz-smoke:
	@BUILD=$(BUILD) SMOKE_TIME=$(SMOKE_TIME) SMOKE_AFL=$(SMOKE_AFL) ci/fuzz-smoke.sh $(FUZZ_TARGETS)

# `make ci-print-VAR`: a make variable's value, for scripts (ci/nightly.sh asks for FUZZ_TARGETS).
ci-print-%:
	@echo $($*)
