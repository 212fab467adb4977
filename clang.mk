# clang.mk - clang-only flag sets: fuzzing, sanitizers, coverage.
# Included by the Makefile; nothing here is needed for the gcc build and tests.

CLANG       ?= clang
CLANGXX     ?= clang++
LLVM_COV    ?= $(shell command -v llvm-cov || command -v llvm-cov-14)
LLVM_PROFDATA ?= $(shell command -v llvm-profdata || command -v llvm-profdata-14)

CLANG_WARN  := -Wall -Wextra -Wundef -Wshadow -Wstrict-prototypes -Wno-unused-function

# Instrument for libFuzzer, but let each link decide the driver.
FUZZER_CFLAGS   := -fsanitize=fuzzer-no-link
FUZZER_LDFLAGS  := -fsanitize=fuzzer

# Address + undefined behaviour: the default for fuzzing.
SAN_CFLAGS      := -fsanitize=address,undefined -fno-sanitize-recover=undefined \
                   -fno-omit-frame-pointer
SAN_LDFLAGS     := -fsanitize=address,undefined

# Source-based coverage for llvm-cov.
COV_CFLAGS      := -fprofile-instr-generate -fcoverage-mapping
COV_LDFLAGS     := -fprofile-instr-generate

# Flavors: name -> compiler and flags. Each alloc variant and harness file is built per flavor.
FLAVOR_CC_fuzz      := $(CLANG)
FLAVOR_CFLAGS_fuzz  := -O1 -g $(FUZZER_CFLAGS) $(SAN_CFLAGS) $(CLANG_WARN)
FLAVOR_LDFLAGS_fuzz := $(FUZZER_LDFLAGS) $(SAN_LDFLAGS)

FLAVOR_CC_fast      := $(CLANG)
FLAVOR_CFLAGS_fast  := -O2 -g $(FUZZER_CFLAGS) $(CLANG_WARN)
FLAVOR_LDFLAGS_fast := $(FUZZER_LDFLAGS)

FLAVOR_CC_cov       := $(CLANG)
FLAVOR_CFLAGS_cov   := -O1 -g $(FUZZER_CFLAGS) $(COV_CFLAGS) $(CLANG_WARN)
FLAVOR_LDFLAGS_cov  := $(FUZZER_LDFLAGS) $(COV_LDFLAGS)

FLAVOR_CC_afl       := afl-clang-fast
FLAVOR_CFLAGS_afl   := -O2 -g $(CLANG_WARN)
FLAVOR_LDFLAGS_afl  :=
