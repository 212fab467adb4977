#!/usr/bin/env bash
# fuzz/run-afl.sh TARGET BINARY SECONDS - AFL++ on one target: one main (-M) and one
# secondary (-S) instance for SECONDS, persistent mode through AFL++'s libAFLDriver
# (the same LLVMFuzzerTestOneInput as libFuzzer), seeds from corpus/TARGET, output in
# $BUILD/afl/out/TARGET. Prints a status line every 10 s, then the findings.
set -u
t=$1 bin=$2 secs=$3
B=${BUILD:-build}
out=$B/afl/out/$t
mkdir -p "$out"
export AFL_SKIP_CPUFREQ=1 AFL_NO_UI=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_AFFINITY=1 \
       AFL_SUPPRESS_ENV_BANNER=1 AFL_QUIET=1 HAKMEM_FUZZ_STATS=$B/afl/out/$t/stats
# the structure-aware mutator (fuzz/mutator.c) next to AFL++'s own mutations
if [ -f "$B/afl/hakmem-mutator.so" ]; then
    export AFL_CUSTOM_MUTATOR_LIBRARY=$PWD/$B/afl/hakmem-mutator.so HAKMEM_MUTATOR_TARGET=$t
    case "$B" in /*) AFL_CUSTOM_MUTATOR_LIBRARY=$B/afl/hakmem-mutator.so;; esac
fi
in=corpus/$t
[ -n "$(ls -A "$in" 2>/dev/null)" ] || { echo "run-afl: no seeds in $in"; exit 1; }
# resume if there is a previous run
[ -d "$out/main/queue" ] && in=-
common=(-t 20000 -m none -x "fuzz/$t.dict" -V "$secs" -o "$out")
afl-fuzz -i "$in" "${common[@]}" -M main -- "$bin" > "$out/main.log" 2>&1 &
p1=$!
afl-fuzz -i "$in" "${common[@]}" -S sec -- "$bin" > "$out/sec.log" 2>&1 &
p2=$!
trap 'kill $p1 $p2 2>/dev/null' INT TERM
start=$(date +%s)
while kill -0 $p1 2>/dev/null || kill -0 $p2 2>/dev/null; do
    sleep 10
    el=$(( $(date +%s) - start ))
    for i in main sec; do
        f=$out/$i/fuzzer_stats
        [ -f "$f" ] || continue
        awk -v el="$el" -v i="$i" -v t="$t" -F' *: *' '
            { v[$1] = $2 }
            END { printf "[afl %s/%s] %3ds  execs %s (%s/s)  corpus %s  crashes %s  hangs %s  edges %s\n",
                  t, i, el, v["execs_done"], v["execs_per_sec"], v["corpus_count"], v["saved_crashes"], v["saved_hangs"], v["edges_found"] }' "$f"
    done
done
wait
echo "== afl $t: done; crashes:"
found=0
for c in "$out"/*/crashes/id:*; do
    [ -f "$c" ] || continue
    found=1
    echo "  $c"
    "$B/hakmem-replay" --target "$t" "$c" 2>&1 | grep -m1 -E 'hakmem-oracle|divergence|false_alarm|bug' | sed 's/^/    /'
    echo "    replay: $B/hakmem-replay --target $t --trace '$c'"
done
[ $found -eq 0 ] && echo "  none"
[ $found -eq 0 ]
