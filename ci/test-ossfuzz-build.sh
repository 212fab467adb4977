#!/usr/bin/env bash
# ci/test-ossfuzz-build.sh TARGET... - check .clusterfuzzlite/build.sh here, with a
# local stand-in for the OSS-Fuzz build environment (run by `make test-ossfuzz-build`).
#
# Runs build.sh with CC=clang CXX=clang++ CFLAGS=... LIB_FUZZING_ENGINE=-fsanitize=fuzzer
# SRC=<repo> OUT=... WORK=..., then requires, for exactly the TARGETs given (fuzz.mk's
# FUZZ_TARGETS): an executable $OUT/TARGET, TARGET.dict, TARGET.options with a
# [libfuzzer] section, a non-empty TARGET_seed_corpus.zip; and that each binary runs
# over its unzipped seed corpus (-runs=0) with its dictionary and options.
set -u
cd "$(dirname "$0")/.." || exit 2
[ $# -gt 0 ] || { echo "usage: OUT=DIR WORK=DIR [CFLAGS=...] $0 TARGET..." >&2; exit 2; }
export CC=${CC_OSSFUZZ:-clang} CXX=${CXX_OSSFUZZ:-clang++}
export CFLAGS=${CFLAGS:--O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fsanitize=fuzzer-no-link}
export CXXFLAGS=$CFLAGS
export LIB_FUZZING_ENGINE=-fsanitize=fuzzer
export SRC=$PWD
OUT=$(realpath -m "${OUT:-build/ossfuzz-out}") WORK=$(realpath -m "${WORK:-build/ossfuzz-work}")
export OUT WORK
# as on the service: UB is fatal, unsigned wrap-around (hashes) is not
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:silence_unsigned_overflow=1
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}

fail=0
bad() { echo "test-ossfuzz-build: FAIL: $*"; fail=1; }

rm -rf "$OUT" "$WORK"; mkdir -p "$OUT" "$WORK"
start=$(date +%s)
echo "== .clusterfuzzlite/build.sh (CC=$CC CXX=$CXX CFLAGS='$CFLAGS' LIB_FUZZING_ENGINE=$LIB_FUZZING_ENGINE)"
# run it from $SRC like the base-builder image does, with a clean environment for make vars
if ! (cd "$SRC" && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL bash .clusterfuzzlite/build.sh) >"$WORK/build.log" 2>&1; then
    sed 's/^/    | /' "$WORK/build.log" | tail -30
    bad "build.sh failed (log: $WORK/build.log)"; exit 1
fi
sed 's/^/    /' "$WORK/build.log" | grep 'build.sh:'
echo "   build.sh took $(( $(date +%s) - start ))s"

unzip_to() {   # ZIP DIR
    mkdir -p "$2"
    if command -v unzip >/dev/null 2>&1; then unzip -q -o "$1" -d "$2"
    else python3 -m zipfile -e "$1" "$2"; fi
}

# libFuzzer flags from the [libfuzzer] section of an OSS-Fuzz .options file
options_flags() {
    sed -n '/^\[libfuzzer\]/,/^\[/p' "$1" | while IFS='=' read -r k v; do
        k=$(echo "$k" | tr -d ' '); v=$(echo "$v" | sed 's/^ *//; s/ *$//')
        case "$k" in ''|\#*|\[*) continue;; dict) v=$OUT/$v;; esac
        printf -- '-%s=%s\n' "$k" "$v"
    done
}

for t in "$@"; do
    echo "== $t"
    for f in "$t" "$t.dict" "$t.options" "${t}_seed_corpus.zip"; do
        [ -s "$OUT/$f" ] || bad "$t: $OUT/$f missing or empty"
    done
    [ -x "$OUT/$t" ] || { bad "$t: $OUT/$t not executable"; continue; }
    grep -q '^\[libfuzzer\]' "$OUT/$t.options" 2>/dev/null || bad "$t: $t.options has no [libfuzzer] section"
    seeds=$WORK/seeds/$t
    unzip_to "$OUT/${t}_seed_corpus.zip" "$seeds" || { bad "$t: cannot unzip ${t}_seed_corpus.zip"; continue; }
    n=$(find "$seeds" -type f | wc -l)
    mapfile -t opts < <(options_flags "$OUT/$t.options")
    grep -q '^-dict=' <(printf '%s\n' "${opts[@]}") || opts+=("-dict=$OUT/$t.dict")
    # -runs=0: execute every seed once, no mutation. Also parses the dictionary.
    if (cd "$WORK" && "$OUT/$t" -runs=0 "${opts[@]}" "$seeds") >"$WORK/$t.run.log" 2>&1; then
        echo "   $n seeds ran clean ($(grep -aoE 'cov: [0-9]+ ft: [0-9]+' "$WORK/$t.run.log" | tail -1)); ${opts[*]}"
    else
        grep -aE 'ERROR|SUMMARY|hakmem-oracle|ParseDictionary|Running:' "$WORK/$t.run.log" | tail -8 | sed 's/^/    | /'
        bad "$t: fails on its seed corpus (log: $WORK/$t.run.log)"
    fi
done

# the service must build exactly the targets fuzz.mk knows
for f in "$OUT"/*; do
    [ -f "$f" ] && [ -x "$f" ] || continue
    b=$(basename "$f"); case " $* " in *" $b "*) ;; *) bad "build.sh builds $b, which is not in FUZZ_TARGETS ($*)";; esac
done
echo "test-ossfuzz-build: $([ $fail = 0 ] && echo ok || echo FAILED) in $(( $(date +%s) - start ))s ($# targets, OUT=$OUT)"
exit $fail
