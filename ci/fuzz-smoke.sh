#!/usr/bin/env bash
# ci/fuzz-smoke.sh TARGET... - a few seconds of fuzzing per target and engine, for CI
# (`make ci-fuzz-smoke`, called by .ci/run). It proves that every target builds and
# fuzzes with libFuzzer (ASan+UBSan) and with AFL++, and that a short run finds
# nothing; the long runs are the nightly's (ci/nightly.sh).
#
# libFuzzer goes through the harness's own job (`make fuzz-<name>`: both cores, its
# summary, exit 1 on any crash, divergence, false alarm or harm without fault) when
# fuzz/run-fuzz.sh exists, AFL++ through `make afl-<name>` when fuzz/run-afl.sh exists;
# otherwise the binaries are run directly. SMOKE_TIME seconds each (default 5);
# SMOKE_AFL=0 skips AFL++. Exit 1 if any run failed.
set -u
cd "$(dirname "$0")/.." || exit 2
[ $# -gt 0 ] || { echo "usage: [BUILD=build] [SMOKE_TIME=5] [SMOKE_AFL=1] $0 TARGET..." >&2; exit 2; }
B=${BUILD:-build} T=${SMOKE_TIME:-5} AFL=${SMOKE_AFL:-1}
MAKE=${MAKE:-make}
mk() { env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL "$MAKE" --no-print-directory BUILD="$B" "$@"; }
logs=$B/ci-smoke; mkdir -p "$logs"
fail=0 n=0 start=$(date +%s)

# the line that says it all: the harness's VERDICT, else an execs line
summary_of() {
    { grep -a -E '^VERDICT' "$1" || grep -a -E '^\[afl [^]]*/main\]|^execs' "$1"; } | tail -1 | cut -c1-120
}

# one run: NAME LOG COMMAND...; prints one line, the log's tail on failure
run() {
    local name=$1 log=$2; shift 2
    local t0; t0=$(date +%s)
    n=$((n + 1))
    if "$@" >"$log" 2>&1; then
        printf '[smoke] %-28s ok   (%ss) %s\n' "$name" $(( $(date +%s) - t0 )) "$(summary_of "$log")"
    else
        fail=$((fail + 1))
        printf '[smoke] %-28s FAIL (%ss), log: %s\n' "$name" $(( $(date +%s) - t0 )) "$log"
        tail -n 30 "$log" | sed 's/^/    | /'
    fi
}

# direct libFuzzer run: one process, stops at the first crash (exit != 0)
lf_direct() {
    local t=$1 d=$logs/$1
    mk deps-fuzz "$B/fuzz/$t" || return 1
    mkdir -p "$d/corpus" "$d/artifacts"
    local seeds=(); local sd; for sd in "corpus/$t" "corpus/text/$t"; do [ -d "$sd" ] && seeds+=("$sd"); done
    "$B/fuzz/$t" -max_total_time="$T" -timeout=20 -rss_limit_mb=4096 -malloc_limit_mb=0 \
        -artifact_prefix="$d/artifacts/" "$d/corpus" "${seeds[@]}"
}

# direct AFL++ run: one -M for T seconds; fails if it saved a crash
afl_direct() {
    local t=$1 d=$logs/$1/afl
    mk deps-afl "$B/afl/$t" || return 1
    rm -rf "$d"; mkdir -p "$d/in"
    local sd; for sd in "corpus/$t" "corpus/text/$t"; do [ -d "$sd" ] && find "$sd" -maxdepth 1 -type f -exec cp -t "$d/in" {} +; done
    [ -n "$(ls -A "$d/in")" ] || printf '\0' >"$d/in/empty"
    AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_NO_AFFINITY=1 AFL_SKIP_CRASHES=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 \
        timeout -k 10 $((T + 120)) afl-fuzz -V "$T" -t 20000 -i "$d/in" -o "$d/out" -M main -- "$B/afl/$t" || return 1
    local c; c=$(find "$d/out" -path '*/crashes/id:*' | wc -l)
    echo "execs $(sed -nE 's/^execs_done *: *//p' "$d/out/main/fuzzer_stats"), crashes $c"
    [ "$c" -eq 0 ]
}

for t in "$@"; do
    name=${t#fuzz_}
    if [ -x fuzz/run-fuzz.sh ]; then
        run "libFuzzer $t" "$logs/$t-libfuzzer.log" mk "fuzz-$name" FUZZ_TIME="$T"
    else
        run "libFuzzer $t" "$logs/$t-libfuzzer.log" lf_direct "$t"
    fi
    [ "$AFL" = 1 ] || continue
    if [ -x fuzz/run-afl.sh ]; then
        run "AFL++ $t" "$logs/$t-afl.log" mk "afl-$name" AFL_TIME="$T"
    else
        run "AFL++ $t" "$logs/$t-afl.log" afl_direct "$t"
    fi
done
echo "ci-fuzz-smoke: $((n - fail)) of $n runs ok in $(( $(date +%s) - start ))s (${T}s each; logs in $logs/)"
[ $fail -eq 0 ]
