#!/usr/bin/env bash
# fuzz/run-fuzz.sh TARGET BINARY SECONDS JOBS - one time-boxed libFuzzer campaign:
# seeds from corpus/TARGET, work corpus in $BUILD/fuzz-work/TARGET, crashes in
# $BUILD/crashes/TARGET, a status line every 5 s, then the summary (fuzz/summary.py).
# Options come from fuzz/TARGET.options ([libfuzzer] section, OSS-Fuzz style).
set -u
t=$1 bin=$2 secs=$3 jobs=$4
B=${BUILD:-build}
work=$B/fuzz-work/$t crashes=$B/crashes/$t stats=$B/fuzz-stats/$t esc=$B/escapes/$t logdir=$B/fuzz-logs
mkdir -p "$work" "$crashes" "$stats" "$esc" "$logdir" "corpus/$t"
rm -f "$stats"/*.json
log=$logdir/$t.log
opts=()
if [ -f "fuzz/$t.options" ]; then
    while IFS='=' read -r k v; do
        k=$(echo "$k" | tr -d ' '); v=$(echo "$v" | sed 's/^ *//; s/ *$//')
        case "$k" in ''|\#*|\[*) continue;; dict) v=fuzz/$v;; esac
        opts+=("-$k=$v")
    done < <(sed -n '/^\[libfuzzer\]/,/^\[/p' "fuzz/$t.options")
fi
start=$(date +%s)
touch "$logdir/$t.start"
echo "[$t] fuzzing ${secs}s on $jobs job(s): $bin ${opts[*]} $work corpus/$t"
HAKMEM_FUZZ_STATS=$stats/s HAKMEM_FUZZ_ESCAPES=$esc \
    "$bin" -fork="$jobs" -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 -max_total_time="$secs" \
    -artifact_prefix="$crashes/" "${opts[@]}" "$work" "corpus/$t" >"$log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null' INT TERM
while kill -0 $pid 2>/dev/null; do
    sleep 5
    kill -0 $pid 2>/dev/null || break
    line=$(grep -E '^#[0-9]+: cov:' "$log" | tail -1)
    ncrash=$(find "$crashes" -newer "$logdir/$t.start" -type f ! -name '*.min*' | wc -l)
    el=$(( $(date +%s) - start ))
    if [ -n "$line" ]; then
        echo "$line" | awk -v el="$el" -v secs="$secs" -v t="$t" -v nc="$ncrash" \
            '{ for (i = 1; i <= NF; i++) { if ($i == "cov:") c = $(i+1); if ($i == "ft:") f = $(i+1); if ($i == "corp:") p = $(i+1) }
               sub("#", "", $1); sub(":", "", $1);
               printf "[%s] %3ds/%ss  execs %s  cov %s  ft %s  corpus %s  crashes %s\n", t, el, secs, $1, c, f, p, nc }'
    else
        echo "[$t] ${el}s/${secs}s  starting (loading corpus)"
    fi
done
wait $pid
el=$(( $(date +%s) - start ))
python3 fuzz/summary.py --target "$t" --log "$log" --stats "$stats" --crashes "$crashes" --since "$logdir/$t.start" \
    --escapes "$esc" --seconds "$el" --jobs "$jobs" --replay "$B/hakmem-replay"
