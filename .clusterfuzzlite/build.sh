#!/bin/bash -eu
# .clusterfuzzlite/build.sh - builds hakmem's fuzz targets for ClusterFuzzLite / OSS-Fuzz.
#
# The OSS-Fuzz build contract: compile with $CC $CFLAGS, link with $CXX $CXXFLAGS
# $LIB_FUZZING_ENGINE, and leave in $OUT one binary per target plus TARGET.dict,
# TARGET.options and TARGET_seed_corpus.zip. Intermediate files go to $WORK.
#
# This script deliberately does not call make: the flags below restate, in plain
# commands, what fuzz/fuzz.mk does for one libFuzzer binary, so the service build
# keeps working if make internals move. Keep them in step with:
#   - the Makefile's VARIANT_DEFS_release / VARIANT_DEFS_debug and ALLOC_EXTRA_fuzz
#   - fuzz/fuzz.mk's FUZZ_TARGETS, HARNESS_SRCS and HARNESS_CPPFLAGS
# `make test-ossfuzz-build` (ci/ci.mk) runs this script with a local stand-in
# environment and fails if a target of FUZZ_TARGETS is missing or does not run.
#
# Each binary = harness objects + one target file + the allocator compiled twice from
# the same unity source: the release build (prefix hak_) and the debug build (prefix
# hakd_), both with -DHAKMEM_TCACHE_SMALL=1 (tiny thread caches, so a few frees already
# reach the slab freelists that the harness corrupts).

: "${CC:?}" "${CXX:?}" "${OUT:?}"
CFLAGS=${CFLAGS-}
CXXFLAGS=${CXXFLAGS-$CFLAGS}
LIB_FUZZING_ENGINE=${LIB_FUZZING_ENGINE:--fsanitize=fuzzer}
WORK=${WORK:-$OUT/.work}

# The checkout: OSS-Fuzz runs us in WORKDIR ($SRC/hakmem); a local run may set SRC to it.
ROOT=
for d in "${HAKMEM_ROOT:-}" "$PWD" "${SRC:-}/hakmem" "${SRC:-}" "$(dirname "$0")/.."; do
    if [ -n "$d" ] && [ -f "$d/alloc/hakmem.c" ] && [ -f "$d/harness/ops.c" ]; then ROOT=$(cd "$d" && pwd); break; fi
done
[ -n "$ROOT" ] || { echo "build.sh: cannot find the hakmem checkout (alloc/hakmem.c)" >&2; exit 1; }
cd "$ROOT"

TARGETS="fuzz_freelist fuzz_ops fuzz_header"
HARNESS_SRCS="harness/ops.c harness/fault_write.c harness/shadow.c harness/workers.c harness/run.c harness/crash.c harness/judge.c harness/backends.c fuzz/fuzz_entry.c"
COMMON="-std=gnu11 -fno-strict-aliasing -pthread -D_GNU_SOURCE"
ALLOC_FLAGS="$COMMON -Iinclude -Ialloc -DHAKMEM_TCACHE_SMALL=1"
DEFS_release="-DHAKMEM_PREFIX=hak_ -DHAKMEM_BUILD_RELEASE=1 -DNDEBUG"
DEFS_debug="-DHAKMEM_PREFIX=hakd_ -DHAKMEM_BUILD_RELEASE=0 -DHAKMEM_DEBUG_COUNTERS=1"
HARNESS_FLAGS="$COMMON -Iinclude -Iharness -Ifuzz"

B=$WORK/hakmem-build
mkdir -p "$B" "$OUT"

# The allocator: one unity translation unit, two builds that coexist in one binary.
$CC $CFLAGS $ALLOC_FLAGS $DEFS_release -c alloc/hakmem.c -o "$B/alloc-release.o" & p1=$!
$CC $CFLAGS $ALLOC_FLAGS $DEFS_debug   -c alloc/hakmem.c -o "$B/alloc-debug.o" & p2=$!
wait $p1; wait $p2

HOBJS=
for src in $HARNESS_SRCS; do
    o=$B/$(basename "$src" .c).o
    $CC $CFLAGS $HARNESS_FLAGS -c "$src" -o "$o"
    HOBJS="$HOBJS $o"
done

# Writes the zip of the files given (flat names) with zip, or python3 if zip is absent.
zip_flat() {
    local zipf=$1; shift
    rm -f "$zipf"
    if command -v zip >/dev/null 2>&1; then
        zip -q -j "$zipf" "$@"
    else
        python3 - "$zipf" "$@" <<'PY'
import os, sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED) as z:
    for p in sys.argv[2:]:
        z.write(p, os.path.basename(p))
PY
    fi
}

for t in $TARGETS; do
    $CC $CFLAGS $HARNESS_FLAGS -c "fuzz/$t.c" -o "$B/$t.o"
    # C objects, but the contract links with $CXX (the engine is C++).
    $CXX $CXXFLAGS "$B/$t.o" $HOBJS "$B/alloc-release.o" "$B/alloc-debug.o" \
        $LIB_FUZZING_ENGINE -pthread -o "$OUT/$t"

    # Dictionary and options: the harness's own files when it has them.
    if [ -f "fuzz/$t.dict" ]; then
        cp "fuzz/$t.dict" "$OUT/$t.dict"
    else
        # fallback: the text-form magic, so a text seed stays text under mutation
        printf '# %s: fallback dictionary written by .clusterfuzzlite/build.sh\nmagic="#hakmem-ops\\x0a"\n' "$t" >"$OUT/$t.dict"
    fi
    if [ -f "fuzz/$t.options" ]; then
        cp "fuzz/$t.options" "$OUT/$t.options"
    else
        # fallback: a stream holds at most 512 ops; a report or a hang is a finding
        printf '[libfuzzer]\nmax_len = 8192\ntimeout = 25\n' >"$OUT/$t.options"
    fi

    # Seeds: the binary corpus and the text seeds (targets accept both forms).
    # Regressions are replayed by `make test`, not used as seeds: an unfixed one
    # would make every service run report the same known crash.
    seeds=()
    for d in "corpus/$t" "corpus/text/$t"; do
        [ -d "$d" ] || continue
        while IFS= read -r -d '' f; do seeds+=("$f"); done < <(find "$d" -maxdepth 1 -type f ! -name '.*' ! -name '*.md' -print0 | sort -z)
    done
    if [ ${#seeds[@]} -eq 0 ]; then : >"$B/empty"; seeds=("$B/empty"); fi   # never an empty zip
    zip_flat "$OUT/${t}_seed_corpus.zip" "${seeds[@]}"
    echo "build.sh: $t: $OUT/$t, ${#seeds[@]} seeds"
done
