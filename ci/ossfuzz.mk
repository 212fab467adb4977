# ci/ossfuzz.mk - `make ossfuzz`: the fuzz targets for OSS-Fuzz / ClusterFuzzLite
# (included by ci/ci.mk; .clusterfuzzlite/build.sh calls it).
#
# It takes the build environment the service's `compile` script exports and adds no
# compiler flags of its own beyond the project's (CFLAGS_COMMON, CPPFLAGS_COMMON,
# VARIANT_DEFS_*, HARNESS_CPPFLAGS and the fuzzing flavors' ALLOC_EXTRA_fuzz):
#   CC, CFLAGS            compile every C file (allocator, harness, targets)
#   CXX, CXXFLAGS         link (the engine is C++)
#   LIB_FUZZING_ENGINE    the engine to link; default by FUZZING_ENGINE:
#                         libfuzzer -fsanitize=fuzzer, afl Debian's libAFLDriver.a
#   SANITIZER, FUZZING_ENGINE   name the object folder, so objects of two builds never mix
#   OUT                   gets TARGET, TARGET.dict, TARGET.options, TARGET_seed_corpus.zip
#                         for every target of FUZZ_TARGETS, and nothing else
#   WORK                  intermediate files ($(WORK)/hakmem-<engine>-<sanitizer>/)
# Each binary: one target file + fuzz/fuzz_entry.c + the harness + the allocator compiled
# twice from its unity source, release (hak_) and debug (hakd_), as fuzz.mk's fuzz_objs
# lists them for every other fuzz binary here.
# `make test-ossfuzz` (ci/ci.mk) runs it the way the service does and checks the result.

SANITIZER      ?= address
FUZZING_ENGINE ?= libfuzzer
OSSFUZZ_SANITIZERS := address undefined memory coverage none
OSSFUZZ_ENGINES    := libfuzzer afl honggfuzz centipede none
LIB_FUZZING_ENGINE_libfuzzer := -fsanitize=fuzzer
LIB_FUZZING_ENGINE_afl       := $(AFL_DRIVER)
LIB_FUZZING_ENGINE ?= $(LIB_FUZZING_ENGINE_$(FUZZING_ENGINE))
WORK ?= $(BUILD)/ossfuzz-work

OSSFUZZ_B := $(WORK)/hakmem-$(FUZZING_ENGINE)-$(SANITIZER)
ALLOC_EXTRA_ossfuzz := $(ALLOC_EXTRA_fuzz)
# fuzz.mk's object list of one fuzz binary, moved under $(OSSFUZZ_B)
ossfuzz_objs = $(patsubst $(BUILD)/ossfuzz/%,$(OSSFUZZ_B)/%,$(call fuzz_objs,ossfuzz,release,$(BUILD)/ossfuzz/h/$(1).o))
OSSFUZZ_FILES = $(foreach t,$(FUZZ_TARGETS),$(OUT)/$(t) $(OUT)/$(t).dict $(OUT)/$(t).options $(OUT)/$(t)_seed_corpus.zip)

# A bad environment is an error before anything is built (and OUT never defaults: files
# would land in /).
ifneq ($(filter ossfuzz,$(MAKECMDGOALS)),)
ifeq ($(strip $(OUT)),)
$(error make ossfuzz: OUT is not set (the folder for the binaries; see ci/ossfuzz.mk))
endif
ifeq ($(filter $(SANITIZER),$(OSSFUZZ_SANITIZERS)),)
$(error make ossfuzz: unknown SANITIZER=$(SANITIZER) (one of: $(OSSFUZZ_SANITIZERS)))
endif
ifeq ($(filter $(FUZZING_ENGINE),$(OSSFUZZ_ENGINES)),)
$(error make ossfuzz: unknown FUZZING_ENGINE=$(FUZZING_ENGINE) (one of: $(OSSFUZZ_ENGINES)))
endif
ifeq ($(strip $(LIB_FUZZING_ENGINE)),)
$(error make ossfuzz: LIB_FUZZING_ENGINE is not set and FUZZING_ENGINE=$(FUZZING_ENGINE) has no default)
endif
endif

.PHONY: ossfuzz
ossfuzz: $(OSSFUZZ_FILES)
	@echo "ossfuzz: $(FUZZING_ENGINE)/$(SANITIZER): $(FUZZ_TARGETS) in $(OUT)"

$(OSSFUZZ_B)/alloc-%.o: alloc/hakmem.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS_COMMON) $(CFLAGS_COMMON) $(CFLAGS) $(VARIANT_DEFS_$*) $(ALLOC_EXTRA_ossfuzz) -c $< -o $@
$(OSSFUZZ_B)/h/%.o: harness/%.c
	@mkdir -p $(@D)
	$(CC) $(HARNESS_CPPFLAGS) $(CFLAGS_COMMON) $(CFLAGS) -c $< -o $@
$(OSSFUZZ_B)/h/%.o: fuzz/%.c
	@mkdir -p $(@D)
	$(CC) $(HARNESS_CPPFLAGS) -Ifuzz $(CFLAGS_COMMON) $(CFLAGS) -c $< -o $@

define ossfuzz_target
$(OUT)/$(1): $(call ossfuzz_objs,$(1))
	@mkdir -p $$(@D)
	$$(CXX) $$(CXXFLAGS) $$^ $$(LIB_FUZZING_ENGINE) -pthread -o $$@
$(OUT)/$(1).dict: fuzz/$(1).dict
	@mkdir -p $$(@D)
	cp $$< $$@
$(OUT)/$(1).options: fuzz/$(1).options
	@mkdir -p $$(@D)
	cp $$< $$@
# The seeds the fuzz jobs start from (corpus/<target>/, flat). Regressions are replayed by
# `make test`, not seeded: an unfixed one would make every service run report it again.
$(OUT)/$(1)_seed_corpus.zip: $(filter-out %.md,$(wildcard corpus/$(1)/*))
	@mkdir -p $$(@D)
	@test -n "$$^" || { echo "make ossfuzz: corpus/$(1)/ has no seeds"; exit 1; }
	rm -f $$@
	cd corpus/$(1) && $(PYTHON) -m zipfile -c $$(abspath $$@) $$(notdir $$^)
endef
$(foreach t,$(FUZZ_TARGETS),$(eval $(call ossfuzz_target,$(t))))
