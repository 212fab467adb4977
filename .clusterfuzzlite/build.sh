#!/bin/bash -eu
# .clusterfuzzlite/build.sh - builds hakmem's fuzz targets for ClusterFuzzLite / OSS-Fuzz.
#
# The service's `compile` runs this from the checkout (the Dockerfile's WORKDIR) with
# CC, CXX, CFLAGS, CXXFLAGS, LIB_FUZZING_ENGINE, SANITIZER, FUZZING_ENGINE, OUT and WORK
# set. `make ossfuzz` (ci/ossfuzz.mk) reads exactly those and writes every target of
# fuzz/fuzz.mk's FUZZ_TARGETS to $OUT with its .dict, .options and _seed_corpus.zip.
# Nothing here restates a flag. `make test-ossfuzz` checks this path as the service does.
make -j"$(nproc)" ossfuzz
