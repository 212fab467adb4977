#!/usr/bin/env bash
# verify/run-verify.sh - the steps of `make verify` (see verify/verify.mk):
#   1. a fuzz campaign of VERIFY_TIME seconds split over the targets (fuzz/run-fuzz.sh)
#   2. the streams: corpus/text, corpus/regressions, corpus/<target>, and a sample of
#      VERIFY_SAMPLE streams per target from the campaign (plus its crash files)
#   3. each stream on release+debug, on the C library's malloc, and on Scudo
#   4. verify/report.py writes $BUILD/verify/report.md and report.json
set -u
B=${BUILD:-build}
out=$B/verify
replay=$B/hakmem-replay
targets=${FUZZ_TARGETS:-fuzz_freelist fuzz_ops fuzz_header}
rm -rf "$out"; mkdir -p "$out/results"
nt=$(echo $targets | wc -w)
per=$(( ${VERIFY_TIME:-60} / nt )); [ $per -ge 5 ] || per=5
if [ "${VERIFY_TIME:-60}" -gt 0 ]; then
    for t in $targets; do
        echo "[verify] campaign: $t for ${per}s"
        BUILD=$B fuzz/run-fuzz.sh "$t" "$B/fuzz/$t" "$per" 2 > "$out/campaign-$t.txt" 2>&1
        grep -E '^(execs|coverage|VERDICT)' "$out/campaign-$t.txt" | sed "s/^/[verify]   /"
    done
fi
# stream lists: "dialect<TAB>path"
lists=$out/streams.tsv
: > "$lists"
for f in corpus/text/*.txt corpus/regressions/*.txt corpus/regressions/*/*.txt; do
    [ -f "$f" ] && printf 'ops\t%s\n' "$f" >> "$lists"
done
for t in $targets; do
    d=${t#fuzz_}
    for f in corpus/$t/*; do [ -f "$f" ] && printf '%s\t%s\n' "$d" "$f" >> "$lists"; done
    if [ -d "$B/fuzz-work/$t" ]; then
        ls -t "$B/fuzz-work/$t" 2>/dev/null | head -n "${VERIFY_SAMPLE:-400}" | while read -r f; do printf '%s\t%s\n' "$d" "$B/fuzz-work/$t/$f"; done >> "$lists"
    fi
    if [ -d "$B/crashes/$t" ]; then
        for f in "$B/crashes/$t"/crash-*; do [ -f "$f" ] && case "$f" in *.min*) ;; *) printf '%s\t%s\n' "$d" "$f" >> "$lists";; esac; done
    fi
done
n=$(wc -l < "$lists")
echo "[verify] $n streams"
run_all() {   # $1 = label, rest = command prefix
    label=$1; shift
    : > "$out/results/$label.jsonl"
    i=0
    for d in ops freelist header; do
        files=$(awk -F'\t' -v d=$d '$1 == d { print $2 }' "$lists")
        [ -n "$files" ] || continue
        echo "$files" | xargs -d '\n' -n 50 "$@" --target "$d" --json >> "$out/results/$label.jsonl" 2>/dev/null
        i=$(wc -l < "$out/results/$label.jsonl")
        echo "[verify]   $label: $i/$n streams"
    done
}
echo "[verify] replaying on release + debug"
run_all hakmem timeout 600 "$replay" --build both
echo "[verify] replaying on the C library's malloc (glibc)"
run_all glibc timeout 600 "$replay" --build system
if [ -n "${SCUDO_LIB:-}" ] && [ -f "${SCUDO_LIB}" ]; then
    echo "[verify] replaying on LLVM Scudo ($SCUDO_LIB)"
    run_all scudo env LD_PRELOAD="$SCUDO_LIB" SCUDO_OPTIONS=dealloc_type_mismatch=false timeout 600 "$replay" --build system
else
    echo "[verify] LLVM Scudo not found (libclang_rt.scudo_standalone-x86_64.so): its column is skipped"
fi
python3 verify/report.py --results "$out/results" --campaign "$B/fuzz-stats" --out "$out" --scudo "${SCUDO_LIB:-}"
