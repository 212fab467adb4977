# ci/ci.mk - CI jobs (included by the Makefile):
#   make nightly              the nightly fuzzing job on this machine (ci/nightly.py;
#                             NIGHTLY_BUDGET=seconds, NIGHTLY_OUT=folder, see ci/nightly.py -h)
#   make ossfuzz              the fuzz targets for OSS-Fuzz / ClusterFuzzLite, from the
#                             service's environment (ci/ossfuzz.mk; .clusterfuzzlite/build.sh)
#   make test-ossfuzz         (in make test) builds them as the service does, for every
#                             engine and sanitizer of .clusterfuzzlite/project.yaml and
#                             coverage, and checks every binary as its runner does
#                             (ci/ossfuzz_check.py; OSSFUZZ_FUZZ_SECONDS per binary)
#   make ci-fuzz-smoke        a few seconds of libFuzzer and AFL++ per target (.ci/run;
#                             ci/fuzz_smoke.py)
#   make test-nightly         (in make test) the nightly job's command line, triage, filing and
#                             verdict on fabricated run folders (ci/test_nightly.py)

.PHONY: nightly test-ossfuzz ci-fuzz-smoke test-nightly ci-print-%

# nightly.py builds what it needs through make and checks its own dependencies.
nightly:
	@BUILD=$(BUILD) $(PYTHON) ci/nightly.py

# No build, no fuzzer: stand-in fuzz binaries that print what the real ones print.
test-nightly:
	@$(PYTHON) ci/test_nightly.py

TEST_TARGETS += test-nightly

include ci/ossfuzz.mk

# The stand-in for the service: ci/ossfuzz_check.py sets base-builder's environment
# per engine and sanitizer, runs .clusterfuzzlite/build.sh, then the runner's checks.
# ci/test_ossfuzz_check.py first: each check catches what it is for.
OSSFUZZ_FUZZ_SECONDS ?= 3
test-ossfuzz: deps-fuzz deps-afl deps-cov
	@$(PYTHON) ci/test_ossfuzz_check.py
	@$(PYTHON) ci/ossfuzz_check.py --fuzz-seconds $(OSSFUZZ_FUZZ_SECONDS) --dir $(BUILD)/ossfuzz $(FUZZ_TARGETS)

TEST_TARGETS += test-ossfuzz

# Fuzz smoke: seconds per target and engine, through the harness's own jobs
# (make fuzz-<t> / afl-<t>: they build, fuzz, summarise, and fail on any finding).
SMOKE_TIME ?= 5
SMOKE_AFL  ?= 1
ci-fuzz-smoke:
	@BUILD=$(BUILD) SMOKE_TIME=$(SMOKE_TIME) SMOKE_AFL=$(SMOKE_AFL) $(PYTHON) ci/fuzz_smoke.py $(FUZZ_TARGETS)

# `make ci-print-VAR`: a make variable's value, for scripts (ci/nightly.py asks for FUZZ_TARGETS).
ci-print-%:
	@echo $($*)
