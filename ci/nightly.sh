#!/usr/bin/env bash
# ci/nightly.sh - the nightly fuzzing job on one machine (`make nightly`).
#
# For each fuzz target, one after the other: libFuzzer (-fork on all cores), then AFL++
# (one -M and -S on the other cores), each for its share of the budget. Then, per
# target: every crash is reproduced, minimised (-minimize_crash=1) and, one per new
# crash signature, filed as a text reproducer under corpus/regressions/ with a one-line
# entry in corpus/regressions/README.md; the AFL++ queues are reduced with afl-cmin and
# everything new is merged into corpus/<target>/ with libFuzzer -merge=1 (only inputs
# that add coverage). Finally `make verify`, `make verify-teeth` and `make coverage`, and ONE Markdown
# summary (execs, new coverage, crashes, divergences, verify verdict) in the output
# folder.
#
# State: everything lives in the output folder (NIGHTLY_OUT, default
# $BUILD/nightly/<date>); running again with the same folder resumes its campaigns
# (libFuzzer work corpus, AFL++ autoresume), a new folder starts from corpus/. The
# only writes outside it are the products: new inputs in corpus/<target>/ and new
# reproducers in corpus/regressions/ (review and commit them).
#
# Exit status: 0 clean; 1 a crash, a divergence (or false alarm / harm without fault),
# a failed verify, a weakened build verify-teeth did not catch, or a failed reliability run (soak RSS growth, a ThreadSanitizer
# report, a long preload run); 2 usage; 3 the job itself failed (build, lock, coverage).
set -uo pipefail

usage() {
    cat <<EOF
usage: ci/nightly.sh [options]          (or: make nightly [NIGHTLY_BUDGET=...])

  -b, --budget SECONDS  whole job, fuzzing and post-processing (NIGHTLY_BUDGET, default 21600 = 6 h);
                        fuzzing gets $((100 - ${NIGHTLY_RESERVE_PCT:-15}))% of it (NIGHTLY_RESERVE_PCT=${NIGHTLY_RESERVE_PCT:-15} is kept
                        for merging, minimising, verify and coverage), split evenly over
                        targets x engines
  -o, --out DIR         output folder (NIGHTLY_OUT, default \$BUILD/nightly/<date>)
  -t, --targets "T ..." fuzz targets (NIGHTLY_TARGETS, default: FUZZ_TARGETS of fuzz/fuzz.mk)
  -e, --engines "E ..." libfuzzer and/or afl (NIGHTLY_ENGINES, default "libfuzzer afl")
  -j, --jobs N          cores to use (NIGHTLY_JOBS, default: all, $(nproc 2>/dev/null || echo 1) here)
      --corpus DIR      seeds and merge destination (NIGHTLY_CORPUS, default corpus)
      --regressions DIR where crashes are filed (NIGHTLY_REGRESSIONS, default <corpus>/regressions)
      --no-verify       skip make verify      --no-coverage   skip make coverage
  -h, --help            this text

Other knobs: BUILD (build), NIGHTLY_STATUS_EVERY (5 s), NIGHTLY_MIN_TIME (60 s per crash
minimisation), NIGHTLY_MAX_CRASHES (200 triaged per target and engine), VERIFY_TIME (verify's
own campaign, default a quarter of the reserve, 10..600 s), NIGHTLY_VERIFY_BOX (time box of
make verify, default half the reserve, at least 600 s), NIGHTLY_RELIAB (1: soak, ThreadSanitizer
stress and long preload runs; 0 skips them), NIGHTLY_SOAK_SECONDS (300 per allocator),
NIGHTLY_TSAN_SECONDS (120 per build).
Exit: 0 clean, 1 crash/divergence/verify/reliability failed, 2 usage, 3 job error.
EOF
}
die_usage() { echo "ci/nightly.sh: $*" >&2; usage >&2; exit 2; }

BUDGET=${NIGHTLY_BUDGET:-21600}
OUT=${NIGHTLY_OUT:-}
TARGETS=${NIGHTLY_TARGETS:-}
ENGINES=${NIGHTLY_ENGINES:-libfuzzer afl}
JOBS=${NIGHTLY_JOBS:-$(nproc 2>/dev/null || echo 1)}
CORPUS=${NIGHTLY_CORPUS:-corpus}
REG=${NIGHTLY_REGRESSIONS:-}
DO_VERIFY=1 DO_COVERAGE=1
while [ $# -gt 0 ]; do
    case "$1" in
        -b|--budget)  [ $# -ge 2 ] || die_usage "$1 needs a value"; BUDGET=$2; shift 2;;
        -o|--out)     [ $# -ge 2 ] || die_usage "$1 needs a value"; OUT=$2; shift 2;;
        -t|--targets) [ $# -ge 2 ] || die_usage "$1 needs a value"; TARGETS=$2; shift 2;;
        -e|--engines) [ $# -ge 2 ] || die_usage "$1 needs a value"; ENGINES=$2; shift 2;;
        -j|--jobs)    [ $# -ge 2 ] || die_usage "$1 needs a value"; JOBS=$2; shift 2;;
        --corpus)     [ $# -ge 2 ] || die_usage "$1 needs a value"; CORPUS=$2; shift 2;;
        --regressions) [ $# -ge 2 ] || die_usage "$1 needs a value"; REG=$2; shift 2;;
        --no-verify)  DO_VERIFY=0; shift;;
        --no-coverage) DO_COVERAGE=0; shift;;
        -h|--help)    usage; exit 0;;
        *)            die_usage "unknown argument '$1'";;
    esac
done
is_uint() { case "$1" in ''|*[!0-9]*) return 1;; esac; }
is_uint "$BUDGET" && [ "$BUDGET" -ge 30 ] || die_usage "budget must be a number of seconds >= 30 (got '$BUDGET')"
is_uint "$JOBS" && [ "$JOBS" -ge 1 ] || die_usage "jobs must be a positive number (got '$JOBS')"
for e in $ENGINES; do case "$e" in libfuzzer|afl) ;; *) die_usage "unknown engine '$e' (libfuzzer, afl)";; esac; done
[ -n "$ENGINES" ] || die_usage "no engine"
STATUS_EVERY=${NIGHTLY_STATUS_EVERY:-5}
MIN_TIME=${NIGHTLY_MIN_TIME:-60}
MAX_CRASHES=${NIGHTLY_MAX_CRASHES:-200}
RESERVE_PCT=${NIGHTLY_RESERVE_PCT:-15}
for v in STATUS_EVERY MIN_TIME MAX_CRASHES RESERVE_PCT; do is_uint "${!v}" || die_usage "$v must be a number"; done

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 3
BUILD=${BUILD:-build}
MAKE=${MAKE:-make}
mk() { env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL "$MAKE" --no-print-directory BUILD="$BUILD" "$@"; }
if [ -z "$TARGETS" ]; then
    TARGETS=$(mk -s ci-print-FUZZ_TARGETS 2>/dev/null)
    [ -n "$TARGETS" ] || TARGETS="fuzz_freelist fuzz_ops fuzz_header"
fi
for t in $TARGETS; do [ -f "fuzz/$t.c" ] || die_usage "unknown target '$t' (no fuzz/$t.c)"; done
DATE=$(date +%Y-%m-%d)
RUN=$(date +%H%M%S)
OUT=$(realpath -m "${OUT:-$BUILD/nightly/$DATE}")
CORPUS=$(realpath -m "$CORPUS")
REG=$(realpath -m "${REG:-$CORPUS/regressions}")
B=$(realpath -m "$BUILD")
RD=$OUT/run-$RUN            # this run: logs, stats, crash triage, summary
W=$OUT/work                 # campaigns, resumed by the next run into the same folder
mkdir -p "$RD" "$W" || exit 3
ln -sfn "run-$RUN" "$OUT/latest"
LOG=$RD/nightly.log
exec > >(tee -a "$LOG") 2>&1
TEE_PID=$!

exec 9>"$OUT/.lock"
if ! flock -n 9; then echo "ci/nightly.sh: another run holds $OUT/.lock" >&2; exit 3; fi

# Background campaigns still running (only ours, by pid; emptied as soon as they are reaped).
PIDS=()
cleanup() { local p; for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; PIDS=(); }
trap 'cleanup; echo "ci/nightly.sh: interrupted"; exit 3' INT TERM
trap cleanup EXIT

T0=$(date +%s)
say() { printf '[nightly %s] %s\n' "$(date +%H:%M:%S)" "$*"; }
ntargets=$(echo $TARGETS | wc -w); nengines=$(echo $ENGINES | wc -w)
FUZZ_SECS=$(( BUDGET * (100 - RESERVE_PCT) / 100 ))
PER=$(( FUZZ_SECS / (ntargets * nengines) ))
[ $PER -ge 5 ] || PER=5
# a crash minimisation gets at most a quarter of one campaign
[ $MIN_TIME -le $(( PER / 4 > 5 ? PER / 4 : 5 )) ] || MIN_TIME=$(( PER / 4 > 5 ? PER / 4 : 5 ))
say "budget ${BUDGET}s: $ntargets target(s) x $nengines engine(s), ${PER}s each on $JOBS core(s); out $OUT (run $RUN)"
say "targets: $TARGETS; engines: $ENGINES; corpus $CORPUS; regressions $REG"

# ---------------------------------------------------------------- dependencies, build
groups="build fuzz cov preload"; case " $ENGINES " in *" afl "*) groups="$groups afl";; esac
tools/deps.sh $groups || { say "missing dependencies (see above)"; exit 3; }
bins=("$BUILD/hakmem-replay")
for t in $TARGETS; do
    bins+=("$BUILD/fuzz/$t")
    case " $ENGINES " in *" afl "*) bins+=("$BUILD/afl/$t");; esac
done
say "building ${bins[*]}"
if ! mk -j"$JOBS" "${bins[@]}" >"$RD/build.log" 2>&1; then
    tail -20 "$RD/build.log"; say "build failed (log: $RD/build.log)"; exit 3
fi
REPLAY=$B/hakmem-replay

# ---------------------------------------------------------------- helpers
# libFuzzer flags from fuzz/<t>.options ([libfuzzer] section, OSS-Fuzz style)
lf_opts() {
    local t=$1 k v
    [ -f "fuzz/$t.options" ] || return 0
    sed -n '/^\[libfuzzer\]/,/^\[/p' "fuzz/$t.options" | while IFS='=' read -r k v; do
        k=$(echo "$k" | tr -d ' '); v=$(echo "$v" | sed 's/^ *//; s/ *$//')
        case "$k" in ''|\#*|\[*) continue;; dict) v=$ROOT/fuzz/$v;; esac
        printf -- '-%s=%s\n' "$k" "$v"
    done
}
opt_val() { lf_opts "$1" | sed -n "s/^-$2=//p" | tail -1; }
seed_dirs() { local d; for d in "$CORPUS/$1" "$CORPUS/text/$1"; do [ -d "$d" ] && echo "$d"; done; }
elapsed() { echo $(( $(date +%s) - $1 )); }

# one row per campaign / crash / merge, tab-separated, read by ci/nightly-report.py
CAMP=$RD/campaigns.tsv CRASHES=$RD/crashes.tsv MERGES=$RD/merge.tsv PROG=$RD/progress.tsv
printf 'target\tengine\tseconds\texecs\tcoverage\tcorpus\tartifacts\thangs\tstatus\n' >"$CAMP"
# one row per status tick of a campaign: the plot of execs and coverage over the run
printf 'target\tengine\tseconds\texecs\tcoverage\n' >"$PROG"
printf 'target\tengine\tkind\tstatus\tsig\tartifact\treproducer\tsummary\n' >"$CRASHES"
printf 'target\tnew_files\tnew_features\tnew_edges\tcov\tft\tfiles_before\tfiles_after\tstatus\n' >"$MERGES"

# ---------------------------------------------------------------- libFuzzer campaign
run_libfuzzer() {
    local t=$1
    local fz=$B/fuzz/$t d=$W/$t/libfuzzer art=$RD/artifacts/$t/libfuzzer
    local log=$RD/logs/$t-libfuzzer.log st=$RD/stats/$t esc=$RD/escapes/$t
    mkdir -p "$d/corpus" "$art" "$RD/logs" "$st" "$esc"
    local opts; mapfile -t opts < <(lf_opts "$t")
    local seeds; mapfile -t seeds < <(seed_dirs "$t")
    say "$t: libFuzzer -fork=$JOBS for ${PER}s (work corpus $d/corpus, resumes; seeds ${seeds[*]:-none})"
    local start; start=$(date +%s)
    ( cd "$d" && HAKMEM_FUZZ_STATS=$st/libfuzzer HAKMEM_FUZZ_ESCAPES=$esc exec timeout -k 30 $((PER + 300)) \
        "$fz" -fork="$JOBS" -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 -max_total_time="$PER" \
        -artifact_prefix="$art/" "${opts[@]}" "$d/corpus" "${seeds[@]}" ) >"$log" 2>&1 &
    local pid=$!; PIDS+=("$pid")
    local line=""
    while kill -0 $pid 2>/dev/null; do
        sleep "$STATUS_EVERY"
        kill -0 $pid 2>/dev/null || break
        line=$(grep -aE '^#[0-9]+: cov:' "$log" | tail -1)
        printf '[nightly %s] %s libfuzzer %4ds/%ss  %s  artifacts %s\n' "$(date +%H:%M:%S)" "$t" "$(elapsed $start)" "$PER" \
            "$(echo "${line:-starting}" | awk '{ for (i = 1; i <= NF; i++) { if ($i == "cov:") c = $(i+1); if ($i == "ft:") f = $(i+1); if ($i == "corp:") p = $(i+1) }
                 if (c == "") { print "loading corpus"; exit } sub("#", "", $1); sub(":", "", $1);
                 printf "execs %s  cov %s  ft %s  corpus %s", $1, c, f, p }')" \
            "$(find "$art" -type f | wc -l)"
        [[ $line =~ ^\#([0-9]+):\ cov:\ ([0-9]+) ]] && \
            printf '%s\tlibfuzzer\t%s\t%s\t%s\n' "$t" "$(elapsed $start)" "${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}" >>"$PROG"
    done
    wait $pid; local rc=$?
    PIDS=()
    line=$(grep -aE '^#[0-9]+: cov:' "$log" | tail -1)
    local execs cov corp
    execs=$(echo "$line" | sed -nE 's/^#([0-9]+):.*/\1/p'); cov=$(echo "$line" | sed -nE 's/.* cov: ([0-9]+) ft: ([0-9]+).*/\1 edges, \2 features/p')
    corp=$(find "$d/corpus" -type f | wc -l)
    # fork mode exits with the code of its last finding (1, 70 timeout, 71 oom, ...):
    # findings are triaged below; only a run that did not wind down is a job error
    local status=ok
    grep -qa "^INFO: exiting:" "$log" || status="no clean exit (rc $rc, log $log)"
    printf '%s\tlibfuzzer\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$t" "$(elapsed $start)" "${execs:-0}" "${cov:--}" "$corp" \
        "$(find "$art" -type f | wc -l)" 0 "$status" >>"$CAMP"
    say "$t: libFuzzer done: ${execs:-0} execs, ${cov:-no coverage line}, $(find "$art" -type f | wc -l) artifact(s)"
}

# ---------------------------------------------------------------- AFL++ campaign
afl_plot_sum() {  # DIR -> "execs crashes hangs edges corpus" (edges/corpus of the -M), cumulative over resumes
    local d=$1 f execs=0 cr=0 hg=0 edges=0 corp=0 l
    for f in "$d"/*/plot_data; do
        [ -f "$f" ] || continue
        l=$(grep -v '^#' "$f" | tail -1 | tr -d ' ')
        [ -n "$l" ] || continue
        IFS=, read -r _ _ _ cc _ _ _ sc sh _ _ te ef <<<"$l"
        execs=$((execs + ${te:-0})); cr=$((cr + ${sc:-0})); hg=$((hg + ${sh:-0}))
        case "$f" in */main/*) edges=${ef:-0}; corp=${cc:-0};; esac
    done
    echo "$execs $cr $hg $edges $corp"
}
run_afl() {
    local t=$1
    local bin=$B/afl/$t d=$W/$t/afl seeds=$W/$t/afl-seeds
    local st=$RD/stats/$t esc=$RD/escapes/$t
    mkdir -p "$d" "$seeds" "$RD/logs" "$st" "$esc"
    # seeds: the corpus (binary and text); AFL++ reads one flat folder
    rm -f "$seeds"/*
    local sd; for sd in $(seed_dirs "$t"); do find "$sd" -maxdepth 1 -type f ! -name '.*' ! -name '*.md' -exec cp -t "$seeds" {} +; done
    [ -n "$(ls -A "$seeds")" ] || printf '\0' >"$seeds/empty"
    local to; to=$(opt_val "$t" timeout); to=${to:-20}
    local dict=(); [ -f "fuzz/$t.dict" ] && dict=(-x "$ROOT/fuzz/$t.dict")
    local n=$JOBS; [ $n -ge 2 ] || n=2
    say "$t: AFL++ -M main + $((n - 1)) -S for ${PER}s (out $d, autoresume)"
    local start i role pids=(); start=$(date +%s)
    # a resumed campaign counts on from its last session: report this run's share
    local base_ex base_cr base_hg
    read -r base_ex base_cr base_hg _ _ <<<"$(afl_plot_sum "$d")"
    local base_stats=0 f v
    for f in "$d"/*/fuzzer_stats; do
        [ -f "$f" ] || continue
        v=$(sed -nE 's/^execs_done *: *([0-9]+).*/\1/p' "$f"); base_stats=$((base_stats + ${v:-0}))
    done
    for i in $(seq 0 $((n - 1))); do
        if [ $i -eq 0 ]; then role=(-M main); else role=(-S "s$i"); fi
        AFL_NO_UI=1 AFL_AUTORESUME=1 AFL_SKIP_CPUFREQ=1 AFL_NO_AFFINITY=1 AFL_SKIP_CRASHES=1 AFL_IGNORE_SEED_PROBLEMS=1 \
        AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_ALLOW_TMP=1 \
        HAKMEM_FUZZ_STATS=$st/afl HAKMEM_FUZZ_ESCAPES=$esc \
            timeout -k 30 $((PER + 120)) afl-fuzz -V "$PER" -t "${to}000" "${dict[@]}" -i "$seeds" -o "$d" "${role[@]}" -- "$bin" \
            >"$RD/logs/$t-afl-${role[1]}.log" 2>&1 &
        pids+=($!); PIDS+=($!)
        [ $i -eq 0 ] && sleep 1   # the -M sets up the sync folder first
    done
    local alive=1 s_ex s_cr s_hg s_ed s_co
    while [ $alive -eq 1 ]; do
        sleep "$STATUS_EVERY"
        alive=0; for i in "${pids[@]}"; do kill -0 "$i" 2>/dev/null && alive=1; done
        [ $alive -eq 1 ] || break
        read -r s_ex s_cr s_hg s_ed s_co <<<"$(afl_plot_sum "$d")"
        s_ex=$((s_ex - base_ex)); s_cr=$((s_cr - base_cr)); s_hg=$((s_hg - base_hg))
        if [ "$s_ex" -le 0 ]; then
            printf '[nightly %s] %s afl       %4ds/%ss  starting (calibrating seeds; AFL++ writes its first numbers after a few seconds)\n' \
                "$(date +%H:%M:%S)" "$t" "$(elapsed $start)" "$PER"
            continue
        fi
        printf '[nightly %s] %s afl       %4ds/%ss  execs %s  edges %s  corpus %s  crashes %s  hangs %s\n' "$(date +%H:%M:%S)" \
            "$t" "$(elapsed $start)" "$PER" "$s_ex" "$s_ed" "$s_co" "$s_cr" "$s_hg"
        printf '%s\tafl\t%s\t%s\t%s\n' "$t" "$(elapsed $start)" "$s_ex" "${s_ed:-0}" >>"$PROG"
    done
    local rc=0; for i in "${pids[@]}"; do wait "$i" || rc=$?; done
    PIDS=()
    # final numbers: fuzzer_stats is written at exit
    local execs=$((-base_stats)) edges=0 corp=0
    for f in "$d"/*/fuzzer_stats; do
        [ -f "$f" ] || continue
        v=$(sed -nE 's/^execs_done *: *([0-9]+).*/\1/p' "$f"); execs=$((execs + ${v:-0}))
        case "$f" in */main/*) edges=$(sed -nE 's/^edges_found *: *([0-9]+).*/\1/p' "$f"); corp=$(sed -nE 's/^corpus_count *: *([0-9]+).*/\1/p' "$f");; esac
    done
    local ncr nhg; ncr=$(find "$d" -path '*/crashes/id:*' -newer "$RD/build.log" | wc -l); nhg=$(find "$d" -path '*/hangs/id:*' -newer "$RD/build.log" | wc -l)
    local status=ok; [ $rc -eq 0 ] || status="exit $rc (see $RD/logs/$t-afl-*.log)"
    grep -qa "We're done here\|Time limit was reached" "$RD/logs/$t-afl-main.log" 2>/dev/null || status="main did not finish cleanly (rc $rc, see $RD/logs/$t-afl-main.log)"
    printf '%s\tafl\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$t" "$(elapsed $start)" "$execs" "${edges:-0} edges (of the -M)" "${corp:-0}" \
        "$ncr" "$nhg" "$status" >>"$CAMP"
    say "$t: AFL++ done: $execs execs, ${edges:-0} edges, $ncr crash(es), $nhg hang(s)${status:+; $status}"
}

# ---------------------------------------------------------------- crash triage and filing
# The signature of an oracle message: what failed, the fault class and op, and the
# debug build's report (the text before the first '|'), with op indexes, slots and
# addresses blotted out, so that a minimised input keeps its original's signature.
oracle_sig() {
    echo "$1" | cut -d'|' -f1 | sed -E 's/0x[0-9a-fA-F]+/X/g; s/(^|[^F0-9A-Za-z_])-?[0-9]+/\1N/g; s/ +$//' | cut -c1-300
}

# Runs one input in the ASan libFuzzer build; sets R_REPRO (0/1), R_KIND, R_SIG, R_SUM.
reproduce() {
    local t=$1 f=$2 log=$3
    local fz=$B/fuzz/$t
    local to; to=$(opt_val "$t" timeout); to=${to:-20}
    timeout -k 5 $((to * 3 + 30)) "$fz" -timeout="$to" -rss_limit_mb=4096 -malloc_limit_mb=0 "$f" >"$log" 2>&1
    local rc=$?
    R_REPRO=1; [ $rc -eq 0 ] && R_REPRO=0
    local ora san lf
    ora=$(grep -a -m1 '^hakmem-oracle: ' "$log")
    san=$(grep -a -m1 -E '^SUMMARY: (AddressSanitizer|UndefinedBehaviorSanitizer|LeakSanitizer|MemorySanitizer)' "$log" | sed "s#$ROOT/##g")
    lf=$(grep -a -m1 -E '^SUMMARY: libFuzzer' "$log")
    [ $rc -eq 124 ] || [ $rc -eq 137 ] && lf=${lf:-SUMMARY: libFuzzer: timeout (killed by the harness)}
    case "$ora" in
        *DIVERGENCE*) R_KIND=divergence;; *"FALSE ALARM"*) R_KIND=false_alarm;; *": BUG"*) R_KIND=bug;;
        *ESCAPE*) R_KIND=escape;; *) R_KIND=crash;;
    esac
    case "$lf" in *timeout*) [ -z "$san" ] && R_KIND=timeout;; *out-of-memory*) R_KIND=oom;; esac
    case "$san" in *LeakSanitizer*) R_KIND=leak;; esac
    # signature: the sanitizer's SUMMARY (names file:line and function) when there is
    # one, else the oracle's line with op indexes, slots and addresses blotted out
    if [ -n "$san" ]; then R_SIG=$san
    elif [ -n "$ora" ]; then R_SIG=$(oracle_sig "$ora")
    elif [ -n "$lf" ]; then R_SIG="$lf in $t"
    else R_SIG="exit status $rc"; fi
    R_SUM=$(printf '%s%s%s' "${ora:0:300}" "${ora:+${san:+ | }}" "${san#SUMMARY: }")
    [ -n "$R_SUM" ] || R_SUM=${lf#SUMMARY: }
    [ -n "$R_SUM" ] || R_SUM="exit status $rc"
    return 0
}
sig_hash() { printf '%s' "$1" | sha1sum | cut -c1-10; }
is_text() { head -c 11 "$1" 2>/dev/null | grep -q '^#hakmem-ops'; }

declare -A SEEN   # signature hash -> filed reproducer, within this run
triage_target() {
    local t=$1 short=${1#fuzz_} list=$RD/crashes/$1/list
    mkdir -p "$RD/crashes/$t"
    : >"$list"
    # crashes up to MAX_CRASHES; timeouts and ooms cost a full -timeout each, so 10
    find "$RD/artifacts/$t/libfuzzer" -type f \( -name 'crash-*' -o -name 'leak-*' \) 2>/dev/null \
        | sort | head -n "$MAX_CRASHES" | sed 's/^/libfuzzer\t/' >>"$list"
    find "$RD/artifacts/$t/libfuzzer" -type f \( -name 'timeout-*' -o -name 'oom-*' \) 2>/dev/null \
        | sort | head -n 10 | sed 's/^/libfuzzer\t/' >>"$list"
    find "$W/$t/afl" -path '*/crashes/id:*' -newer "$RD/build.log" 2>/dev/null | sort | head -n "$MAX_CRASHES" | sed 's/^/afl\t/' >>"$list"
    find "$W/$t/afl" -path '*/hangs/id:*' -newer "$RD/build.log" 2>/dev/null | sort | head -n 10 | sed 's/^/afl-hang\t/' >>"$list"
    local n; n=$(wc -l <"$list")
    [ "$n" -gt 0 ] || return 0
    say "$t: triaging $n artifact(s)"
    local engine f i=0
    while IFS=$'\t' read -r engine f; do
        i=$((i + 1))
        local base; base=$(basename "$f" | tr ':,' '__')
        local cd=$RD/crashes/$t/$engine-$base
        cp "$f" "$cd.input"
        reproduce "$t" "$cd.input" "$cd.log"
        if [ $R_REPRO -eq 0 ] && [ "$engine" != libfuzzer ]; then
            # not in the ASan build: does the AFL++ build (no sanitizer, -O2) still fail?
            timeout -k 5 60 "$B/afl/$t" "$cd.input" >"$cd.afl.log" 2>&1; local arc=$?
            if [ $arc -ne 0 ]; then
                R_REPRO=1; R_KIND=crash
                R_SUM="$(grep -a -m1 '^hakmem-oracle: ' "$cd.afl.log" | cut -c1-300)"
                [ -n "$R_SUM" ] || R_SUM="exit status $arc in the AFL++ build only (not under ASan)"
                R_SIG="afl-only: $(oracle_sig "$R_SUM")"
            fi
        fi
        local eng=${engine%-hang}
        if [ $R_REPRO -eq 0 ]; then
            local akind=crash
            case "$engine-$base" in afl-hang-*|libfuzzer-timeout-*) akind=timeout;; libfuzzer-oom-*) akind=oom;; esac
            printf '%s\t%s\t%s\tnot reproduced\t-\t%s\t-\t%s\n' "$t" "$eng" "$akind" "$cd.input" "does not fail when run again (flaky or load-dependent)" >>"$CRASHES"
            continue
        fi
        [ "$R_KIND" = escape ] && R_KIND=crash   # an escape only aborts with HAKMEM_FUZZ_ESCAPES_FATAL=1
        local h; h=$(sig_hash "$R_SIG")
        local status repro=-
        if [ -n "${SEEN[$h]:-}" ]; then
            status="duplicate"; repro=${SEEN[$h]}
        elif [ -f "$REG/README.md" ] && grep -q "sig:$h" "$REG/README.md"; then
            status="known"; repro=$(grep -m1 "sig:$h" "$REG/README.md" | awk -F'|' '{ gsub(/[ `]/, "", $2); print $2 }')
            SEEN[$h]=$repro
        else
            file_crash "$t" "$eng" "$cd" "$h"
            status=$F_STATUS; repro=$F_NAME; SEEN[$h]=$repro
        fi
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$t" "$eng" "$R_KIND" "$status" "$h" "$cd.input" "$repro" "$R_SUM" >>"$CRASHES"
        say "$t: [$i/$n] $R_KIND ($status, sig:$h): ${R_SUM:0:160}"
    done <"$list"
}

# Minimise (if libFuzzer reproduces it), convert to text, write the reproducer and its
# README line. Sets F_STATUS and F_NAME.
file_crash() {
    local t=$1 eng=$2 cd=$3 h=$4 short=${1#fuzz_} fz=$B/fuzz/$1
    local kind=$R_KIND sum=$R_SUM sig=$R_SIG in=$cd.input
    if [ "$kind" != timeout ] && [ "${sig#afl-only}" = "$sig" ]; then
        local to; to=$(opt_val "$t" timeout); to=${to:-20}
        # -minimize_crash runs child steps of -max_total_time each until one fails to
        # shrink the input; the outer timeout bounds the whole (the best input so far
        # is already in -exact_artifact_path)
        local step=$(( MIN_TIME / 6 > 2 ? MIN_TIME / 6 : 2 ))
        timeout -k 5 "$MIN_TIME" "$fz" -minimize_crash=1 -max_total_time="$step" -runs=1000000 -timeout="$to" \
            -rss_limit_mb=4096 -malloc_limit_mb=0 -exact_artifact_path="$cd.min" "$in" >"$cd.min.log" 2>&1
        if [ -s "$cd.min" ]; then
            # keep the minimised input only if it is still the same failure
            reproduce "$t" "$cd.min" "$cd.min.check.log"
            if [ $R_REPRO -eq 1 ] && [ "$(sig_hash "$R_SIG")" = "$h" ]; then in=$cd.min; fi
            R_KIND=$kind R_SUM=$sum R_SIG=$sig R_REPRO=1
        fi
    fi
    if is_text "$in"; then cp "$in" "$cd.txt"
    elif ! "$REPLAY" --target "$short" --to-text -o "$cd.txt" "$in" >"$cd.txt.log" 2>&1; then
        F_STATUS="new, not filed: no text form ($cd.txt.log)"; F_NAME=$cd.input; return
    fi
    # the text form must fail the same way, or the regression test would not guard it
    local check="text form reproduces"
    reproduce "$t" "$cd.txt" "$cd.txt.check.log"
    if [ $R_REPRO -eq 0 ] || [ "$(sig_hash "$R_SIG")" != "$h" ]; then check="text form does NOT reproduce the same failure: binary input kept at $in"; fi
    R_KIND=$kind R_SUM=$sum R_SIG=$sig R_REPRO=1
    mkdir -p "$REG"
    F_NAME=nightly-$DATE-$short-$h.txt
    {
        echo '#hakmem-ops'
        echo "# Found by ci/nightly.sh on $DATE: target $t, engine $eng, $kind (sig:$h)."
        echo "# ${sum:0:400}"
        echo "# $check; input $(wc -c <"$in") bytes$([ "$in" = "$cd.min" ] && echo ", minimised")."
        echo "# Replay: build/hakmem-replay --trace corpus/regressions/$F_NAME"
        grep -v '^#hakmem-ops' "$cd.txt"
    } >"$REG/$F_NAME"
    readme_row "| $F_NAME | ci/nightly.sh $DATE, $t/$eng (sig:$h) | $kind: $(echo "${sum:0:300}" | sed 's/|/\\|/g') | open |"
    F_STATUS=new
}

# One row into the table of corpus/regressions/README.md (| file | found | what
# happened | status |): after the table's last row, wherever the table is; a new
# README with that table if there is none.
readme_row() {
    local f=$REG/README.md
    if [ ! -f "$f" ] || ! grep -q '^| *file *|' "$f"; then
        [ -f "$f" ] || printf '# corpus/regressions - every reproducer the harness ever found\n' >"$f"
        printf '\n| file | found | what happened | status |\n|---|---|---|---|\n' >>"$f"
    fi
    local last; last=$(grep -n '^|' "$f" | tail -1 | cut -d: -f1)
    awk -v n="$last" -v row="$1" '{ print } NR == n { print row }' "$f" >"$f.tmp" && mv "$f.tmp" "$f"
}

# ---------------------------------------------------------------- corpus merge
merge_target() {
    local t=$1 fz=$B/fuzz/$1 dst=$CORPUS/$1 log=$RD/logs/$1-merge.log
    mkdir -p "$dst"
    local srcs=() before; before=$(find "$dst" -maxdepth 1 -type f | wc -l)
    [ -d "$W/$t/libfuzzer/corpus" ] && srcs+=("$W/$t/libfuzzer/corpus")
    if [ -d "$W/$t/afl" ] && ls -d "$W/$t"/afl/*/queue >/dev/null 2>&1; then
        # AFL++: all instances' queues, reduced to the inputs with distinct edge tuples
        local q=$RD/afl-queue/$t cm=$RD/afl-cmin/$t
        rm -rf "$q" "$cm"; mkdir -p "$q"
        # one flat folder (afl-cmin keys files by name): hard links, and numbered
        # backups where two instances used the same id
        local qd
        for qd in "$W/$t"/afl/*/queue; do
            find "$qd" -maxdepth 1 -type f -name 'id:*' -exec cp -l --backup=numbered -t "$q" {} + 2>/dev/null ||
                find "$qd" -maxdepth 1 -type f -name 'id:*' -exec cp --backup=numbered -t "$q" {} +
        done
        local nq; nq=$(find "$q" -type f | wc -l)
        if [ "$nq" -gt 0 ]; then
            say "$t: afl-cmin over $nq AFL++ queue entries"
            if AFL_ALLOW_TMP=1 timeout -k 10 $(( PER > 600 ? PER : 600 )) afl-cmin -t 5000 -i "$q" -o "$cm" -- "$B/afl/$t" >"$RD/logs/$t-afl-cmin.log" 2>&1; then
                srcs+=("$cm"); say "$t: afl-cmin kept $(find "$cm" -type f | wc -l) of $nq"
            else
                srcs+=("$q"); say "$t: afl-cmin failed ($RD/logs/$t-afl-cmin.log), merging the whole queue"
            fi
        fi
    fi
    [ ${#srcs[@]} -gt 0 ] || { printf '%s\t0\t0\t0\t-\t-\t%s\t%s\tnothing to merge\n' "$t" "$before" "$before" >>"$MERGES"; return; }
    say "$t: libFuzzer -merge=1 into $dst"
    local to; to=$(opt_val "$t" timeout); to=${to:-20}
    timeout -k 10 $(( PER > 900 ? PER : 900 )) "$fz" -merge=1 -timeout="$to" -rss_limit_mb=4096 -malloc_limit_mb=0 \
        -merge_control_file="$RD/logs/$t-merge.ctl" "$dst" "${srcs[@]}" >"$log" 2>&1
    local rc=$?
    local nf nft ned cov ft
    read -r nf nft ned <<<"$(sed -nE 's/^MERGE-OUTER: ([0-9]+) new files with ([0-9]+) new features added; ([0-9]+) new coverage edges.*/\1 \2 \3/p' "$log" | tail -1)"
    read -r cov ft <<<"$(sed -nE 's/.*DONE +cov: ([0-9]+) ft: ([0-9]+).*/\1 \2/p' "$log" | tail -1)"
    local status=ok; [ $rc -eq 0 ] || status="merge exit $rc (log $log)"
    local after; after=$(find "$dst" -maxdepth 1 -type f | wc -l)
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$t" "${nf:-0}" "${nft:-0}" "${ned:-0}" "${cov:--}" "${ft:--}" "$before" "$after" "$status" >>"$MERGES"
    say "$t: merged ${nf:-0} new input(s) (+${ned:-0} edges, +${nft:-0} features; now cov ${cov:-?} ft ${ft:-?}) into $dst"
}

# ---------------------------------------------------------------- the run
for t in $TARGETS; do
    for e in $ENGINES; do
        case "$e" in libfuzzer) run_libfuzzer "$t";; afl) run_afl "$t";; esac
    done
    triage_target "$t"
    merge_target "$t"
done
say "fuzzing, triage and merge took $(elapsed $T0)s"

VERIFY_RC=- VERIFY_VERDICT="not run"
if [ $DO_VERIFY = 1 ]; then
    if mk -n verify >/dev/null 2>&1; then
        # verify runs its own short campaign: a quarter of the reserve, 10..600 s,
        # unless VERIFY_TIME is given
        vt=${VERIFY_TIME:-$(( BUDGET * RESERVE_PCT / 400 ))}
        [ "$vt" -ge 10 ] || vt=10; [ -n "${VERIFY_TIME:-}" ] || [ "$vt" -le 600 ] || vt=600
        say "make verify VERIFY_TIME=$vt"
        vstart=$(date +%s)
        # time box: half the reserve, at least 10 minutes (a hung replay must not eat the night)
        vbox=${NIGHTLY_VERIFY_BOX:-$(( BUDGET * RESERVE_PCT / 200 > 600 ? BUDGET * RESERVE_PCT / 200 : 600 ))}
        timeout -k 30 "$vbox" env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL "$MAKE" --no-print-directory BUILD="$BUILD" \
            verify VERIFY_TIME="$vt" >"$RD/verify.log" 2>&1; VERIFY_RC=$?
        [ $VERIFY_RC -ne 124 ] || echo "ci/nightly.sh: make verify timed out after ${vbox}s" >>"$RD/verify.log"
        for f in report.md report.json; do [ -f "$B/verify/$f" ] && cp "$B/verify/$f" "$RD/verify-$f"; done
        VERIFY_VERDICT=$(grep -a -m1 '^Verdict' "$RD/verify-report.md" 2>/dev/null)
        [ $VERIFY_RC -ne 124 ] || VERIFY_VERDICT="timed out after ${vbox}s"
        # no report: say so, with the last line it printed (a campaign's VERDICT is not the report's)
        [ -n "$VERIFY_VERDICT" ] || VERIFY_VERDICT="no report (exit $VERIFY_RC); last output: $(tail -1 "$RD/verify.log")"
        VERIFY_VERDICT=$(echo "$VERIFY_VERDICT" | sed -E 's/^[#* ]+//; s/^\[verify\] *//; s/^[Vv]erdict: *//; s/\.$//' | cut -c1-400)
        [ -n "$VERIFY_VERDICT" ] || VERIFY_VERDICT="(no verdict line; exit $VERIFY_RC)"
        say "make verify: exit $VERIFY_RC in $(elapsed $vstart)s: $VERIFY_VERDICT"
    else
        VERIFY_VERDICT="no \`make verify\` target"
        say "make verify: no such target, skipped"
    fi
fi
# Bounded-exhaustive mode: as deep as its share of the reserve allows (a quarter, 60 s
# .. 1 h, NIGHTLY_EXHAUSTIVE_TIME), resumed night after night from the checkpoint in
# the work folder (a rebuilt allocator starts over).
EXH_RC=-
if [ $DO_VERIFY = 1 ] && mk -n verify-exhaustive >/dev/null 2>&1; then
    et=${NIGHTLY_EXHAUSTIVE_TIME:-$(( BUDGET * RESERVE_PCT / 400 ))}
    [ "$et" -ge 60 ] || et=60; [ -n "${NIGHTLY_EXHAUSTIVE_TIME:-}" ] || [ "$et" -le 3600 ] || et=3600
    say "make verify-exhaustive (budget ${et}s)"
    timeout -k 30 $(( et + 300 )) env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL "$MAKE" --no-print-directory BUILD="$BUILD" \
        verify-exhaustive DEPTH=12 EXHAUSTIVE_BUDGET="$et" EXHAUSTIVE_CKPT="$W/exhaustive.checkpoint" \
        >"$RD/exhaustive.log" 2>&1; EXH_RC=$?
    say "make verify-exhaustive: exit $EXH_RC: $(grep -a '^hakmem-exhaustive: ' "$RD/exhaustive.log" | tail -2 | tr '\n' ' ')"
fi
# Teeth: each weakened release build fuzzed from the fault-free seeds (make verify-teeth,
# its defaults: 5 seeds, 60 s cap, median bound 10 s); a build not caught fails the night.
TEETH_RC=-
if [ $DO_VERIFY = 1 ] && mk -n verify-teeth >/dev/null 2>&1; then
    say "make verify-teeth"
    timeout -k 30 3600 env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL "$MAKE" --no-print-directory BUILD="$BUILD" \
        verify-teeth >"$RD/teeth.log" 2>&1; TEETH_RC=$?
    say "make verify-teeth: exit $TEETH_RC: $(grep -a '^teeth: ' "$RD/teeth.log" | tail -1)"
fi
# Reliability: the soak (RSS over time at a fixed live set, hakmem against glibc and
# mimalloc; fails if hakmem's RSS keeps growing), the stress test under ThreadSanitizer,
# and the long real-program runs under LD_PRELOAD (NIGHTLY_RELIAB=0 skips them).
REL_RC=-
if [ "${NIGHTLY_RELIAB:-1}" = 1 ]; then
    REL_RC=0
    ss=${NIGHTLY_SOAK_SECONDS:-300} ts=${NIGHTLY_TSAN_SECONDS:-120}
    say "soak ${ss}s per allocator, ThreadSanitizer stress ${ts}s per build, long preload runs"
    timeout -k 30 $(( 4 * ss + 600 )) env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL "$MAKE" --no-print-directory BUILD="$BUILD" \
        test-soak SOAK_SECONDS="$ss" SOAK_SAMPLE=5 >"$RD/soak.log" 2>&1 || REL_RC=1
    cp "$B/soak/report.md" "$RD/soak-report.md" 2>/dev/null
    timeout -k 30 $(( 2 * ts + 900 )) env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL "$MAKE" --no-print-directory BUILD="$BUILD" \
        test-tsan TSAN_SECONDS="$ts" >"$RD/tsan.log" 2>&1 || REL_RC=1
    timeout -k 30 7200 env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL "$MAKE" --no-print-directory BUILD="$BUILD" \
        test-preload PRELOAD_LONG=1 >"$RD/preload-long.log" 2>&1 || REL_RC=1
    say "reliability: exit $REL_RC; $(tail -1 "$RD/soak.log"); $(tail -1 "$RD/tsan.log"); $(tail -1 "$RD/preload-long.log")"
fi
COV_RC=- COV_TOTAL="not run"
if [ $DO_COVERAGE = 1 ]; then
    say "make coverage"
    cstart=$(date +%s)
    timeout -k 30 1800 env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL "$MAKE" --no-print-directory BUILD="$BUILD" \
        coverage >"$RD/coverage.log" 2>&1; COV_RC=$?
    if [ -f "$B/coverage/summary.txt" ]; then
        cp "$B/coverage/summary.txt" "$RD/coverage-summary.txt"
        COV_TOTAL=$(grep -a '^TOTAL' "$B/coverage/summary.txt" | tail -1)
    fi
    [ $COV_RC -eq 0 ] || COV_TOTAL="make coverage failed (exit $COV_RC, $RD/coverage.log)"
    say "make coverage: exit $COV_RC in $(elapsed $cstart)s"
fi

# ---------------------------------------------------------------- summary and verdict
python3 ci/nightly-report.py --run "$RD" --date "$DATE" --budget "$BUDGET" --per "$PER" --jobs "$JOBS" \
    --seconds "$(elapsed $T0)" --targets "$TARGETS" --engines "$ENGINES" --corpus "$CORPUS" --regressions "$REG" \
    --verify-rc "$VERIFY_RC" --verify-verdict "$VERIFY_VERDICT" --coverage-rc "$COV_RC" --coverage-total "$COV_TOTAL" \
    --coverage-html "$B/coverage/html/index.html" --out "$RD/summary.md"
RC=$?
if [ "$EXH_RC" != - ]; then   # the exhaustive table, and a violation fails the night
    { echo; echo "## Bounded-exhaustive search"; echo; grep -a -E '^(\||hakmem-exhaustive: )' "$RD/exhaustive.log"; } >>"$RD/summary.md"
    [ "$EXH_RC" = 0 ] || RC=1
fi
if [ "$TEETH_RC" != - ]; then   # the teeth table; a weakened build not caught fails the night
    { echo; echo "## Teeth (weakened builds, time to detection)"; echo; grep -a '^|' "$RD/teeth.log"; echo;
      grep -a -E '^(\(bound|teeth: )' "$RD/teeth.log" || echo "no table (exit $TEETH_RC): $(tail -1 "$RD/teeth.log")"; } >>"$RD/summary.md"
    [ "$TEETH_RC" = 0 ] || RC=1
fi
if [ "$REL_RC" != - ]; then   # soak table, TSan and long preload outcome; any failure fails the night
    { echo; echo "## Reliability"; echo; echo "- ThreadSanitizer: $(tail -1 "$RD/tsan.log")";
      echo "- long preload runs: $(tail -1 "$RD/preload-long.log")"; echo;
      sed 's/^# /### /' "$RD/soak-report.md" 2>/dev/null || echo "soak: no report ($(tail -1 "$RD/soak.log"))"; } >>"$RD/summary.md"
    [ "$REL_RC" = 0 ] || RC=1
fi
cp "$RD/summary.md" "$OUT/summary.md" 2>/dev/null
cp "$RD/progress.svg" "$OUT/progress.svg" 2>/dev/null   # the summary's plot, beside each copy
sed -n '/^\*\*Verdict/p' "$RD/summary.md" 2>/dev/null
say "summary: $OUT/summary.md (this run: $RD); took $(elapsed $T0)s; exit $RC"
exec >&- 2>&-
wait $TEE_PID 2>/dev/null
exit $RC
