#!/usr/bin/env bash
# fuzz/run-teeth.sh TARGET SECONDS VARIANT... - verify-teeth: fuzz each weakened release
# build ($BUILD/fast/teeth/<variant>/TARGET, the harness with one release check off)
# from the seed corpus until the harness flags it (libFuzzer stops at the first crash)
# or SECONDS pass. Two variants run at a time. Prints a Markdown table with the time to
# detection and how it was flagged; exits 1 if any variant survives.
set -u
t=$1 secs=$2; shift 2
B=${BUILD:-build}
out=$B/teeth
rm -rf "$out"; mkdir -p "$out"
run_one() {
    v=$1 d=$out/$1
    mkdir -p "$d/work" "$d/crash"
    s=$(date +%s.%N)
    "$B/fast/teeth/$v/$t" -max_total_time="$secs" -timeout=20 -rss_limit_mb=4096 -artifact_prefix="$d/crash/" \
        -dict="fuzz/$t.dict" -max_len=1024 -print_final_stats=1 "$d/work" "corpus/$t" >"$d/log" 2>&1
    e=$(date +%s.%N)
    echo "$s $e" > "$d/time"
}
pids=()
for v in "$@"; do
    echo "[teeth] $v: fuzzing $t (at most ${secs}s)"
    run_one "$v" & pids+=($!)
    if [ ${#pids[@]} -ge 2 ]; then wait "${pids[0]}"; pids=("${pids[@]:1}"); fi
done
wait
fail=0
echo
echo "| weakened build | flagged | time to detection (s) | execs | how |"
echo "|---|---|---:|---:|---|"
for v in "$@"; do
    d=$out/$v
    read -r s e < "$d/time"
    dt=$(echo "$e - $s" | bc 2>/dev/null || python3 -c "print($e - $s)")
    execs=$(grep -oE 'stat::number_of_executed_units: [0-9]+' "$d/log" | tail -1 | awk '{print $2}')
    [ -n "$execs" ] || execs=$(grep -oE '^#[0-9]+' "$d/log" | tail -1 | tr -d '#')
    how=$(grep -m1 -oE "hakmem-oracle: [^']*'[^']*'" "$d/log" | sed 's/hakmem-oracle: //' | cut -c1-110)
    if ls "$d/crash"/crash-* >/dev/null 2>&1; then
        [ -n "$how" ] || how="crash ($(grep -m1 -oE 'ERROR: [A-Za-z]+: [a-z -]+' "$d/log"))"
        printf '| %s | yes | %.1f | %s | %s (%s) |\n' "$v" "$dt" "${execs:-?}" "$how" "$(ls "$d/crash" | head -1)"
    else
        printf '| %s | **NO** | >%s | %s | survived |\n' "$v" "$secs" "${execs:-?}"
        fail=1
    fi
done
echo
[ $fail -eq 0 ] && echo "verify-teeth: every weakened build was flagged" || echo "verify-teeth: FAILED: a weakened build survived (the harness lacks teeth)"
echo "(logs and crash files: $out/<variant>/)"
exit $fail
