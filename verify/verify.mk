# verify/verify.mk - `make verify`: the verify report ($(BUILD)/verify/report.md, .json).
# Replays the corpus (seeds and regressions) and the streams of a time-boxed fuzz
# campaign (VERIFY_TIME seconds over the three targets) on release and debug (the
# differential verdict), and the same streams on the C library's malloc and on LLVM
# Scudo (each stream in a child process; an abort or signal counts as detection).

VERIFY_TIME    ?= 60
VERIFY_SAMPLE  ?= 400
SCUDO_LIB      ?= $(firstword $(wildcard /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.scudo_standalone-x86_64.so))

.PHONY: verify
verify: deps-fuzz $(BUILD)/hakmem-replay $(foreach t,$(FUZZ_TARGETS),$(BUILD)/fuzz/$(t))
	@BUILD=$(BUILD) VERIFY_TIME=$(VERIFY_TIME) VERIFY_SAMPLE=$(VERIFY_SAMPLE) SCUDO_LIB=$(SCUDO_LIB) \
	    FUZZ_TARGETS="$(FUZZ_TARGETS)" verify/run-verify.sh

# The committed example, verify/results/example-report.md: the last `make verify` report
# (its build/ paths are that run's outputs: crash files, logs).
.PHONY: verify-example
verify-example:
	@test -f $(BUILD)/verify/report.md || { echo "no $(BUILD)/verify/report.md: run make verify first"; exit 1; }
	cp $(BUILD)/verify/report.md verify/results/example-report.md
