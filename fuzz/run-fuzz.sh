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
# libFuzzer's -jobs mode: JOBS long-lived worker processes sharing the work corpus
# (more than twice the throughput of -fork here, where every short fork job pays the
# process and thread start-up again). A job that crashes is replaced by a new one; the
# whole process group is stopped at the deadline. Each job logs to $jobdir/fuzz-N.log.
jobdir=$logdir/$t.jobs
rm -rf "$jobdir"; mkdir -p "$jobdir"
abs() { case "$1" in /*) echo "$1";; *) echo "$PWD/$1";; esac; }
absopts=()
for o in "${opts[@]}"; do case "$o" in -dict=*) absopts+=("-dict=$(abs "${o#-dict=}")");; *) absopts+=("$o");; esac; done
echo "[$t] fuzzing ${secs}s with $jobs job(s): $bin ${absopts[*]} $work corpus/$t"
a_stats=$(abs "$stats") a_esc=$(abs "$esc") a_bin=$(abs "$bin") a_crashes=$(abs "$crashes") a_work=$(abs "$work")
a_seeds=$(abs "corpus/$t") a_log=$(abs "$log")
( cd "$jobdir" && exec setsid env HAKMEM_FUZZ_STATS="$a_stats/s" HAKMEM_FUZZ_ESCAPES="$a_esc" \
    "$a_bin" -jobs=1000 -workers="$jobs" -max_total_time="$secs" -artifact_prefix="$a_crashes/" \
    "${absopts[@]}" "$a_work" "$a_seeds" >"$a_log" 2>&1 ) &
pid=$!
stop() { kill -TERM -- -"$pid" 2>/dev/null; sleep 1; kill -KILL -- -"$pid" 2>/dev/null; }
trap 'stop; exit 130' INT TERM
while kill -0 $pid 2>/dev/null; do
    sleep 5
    el=$(( $(date +%s) - start ))
    if [ $el -ge $((secs + 3)) ]; then stop; break; fi
    ncrash=$(find "$crashes" -newer "$logdir/$t.start" -type f ! -name '*.min*' | wc -l)
    # total execs: the last "#N" of every job log; coverage: the largest
    python3 - "$jobdir" "$t" "$el" "$secs" "$ncrash" <<'PY'
import glob, re, sys
d, t, el, secs, nc = sys.argv[1:]
ex = cov = ft = corp = 0
for fn in glob.glob(d + '/fuzz-*.log'):
    last = None
    for l in open(fn, errors='replace'):
        m = re.match(r'#(\d+)\s+\S+\s+cov: (\d+) ft: (\d+) corp: (\d+)', l)
        if m: last = [int(x) for x in m.groups()]
    if last:
        ex += last[0]; cov = max(cov, last[1]); ft = max(ft, last[2]); corp = max(corp, last[3])
print(f'[{t}] {int(el):3d}s/{secs}s  execs {ex}  cov {cov}  ft {ft}  corpus {corp}  crashes {nc}' if ex else f'[{t}] {int(el):3d}s/{secs}s  starting')
PY
done
wait $pid 2>/dev/null
el=$(( $(date +%s) - start ))
python3 fuzz/summary.py --target "$t" --log "$jobdir" --stats "$stats" --crashes "$crashes" --since "$logdir/$t.start" \
    --escapes "$esc" --seconds "$el" --jobs "$jobs" --replay "$B/hakmem-replay"
