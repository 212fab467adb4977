#!/usr/bin/env bash
# bench/smoke.sh BINDIR LIBHAKMEM OUTDIR - the fast test of the benchmarks (test-bench-smoke):
# every benchmark runs once with tiny iteration counts against glibc and LIBHAKMEM and
# must exit 0 and print a RESULT line; usage errors must exit 2 and --help 0; then
# bench/run.py --smoke must produce report.md and report.json. Never checks timings.
set -u
bindir=$1 lib=$2 out=$3
[ -f "$lib" ] || { echo "smoke: $lib missing (make libs)"; exit 1; }
lib=$(cd "$(dirname "$lib")" && pwd)/$(basename "$lib")
fail=0

check() { # name preload cmd...
    local name=$1 pre=$2; shift 2
    local o rc
    o=$(LD_PRELOAD=$pre timeout 20 "$@" 2>&1); rc=$?
    if [ $rc -ne 0 ]; then
        echo "smoke: FAIL $name: exit $rc: $(echo "$o" | tail -n 3)"; fail=1; return
    fi
    if ! echo "$o" | grep -Eq '^RESULT bench=[a-z_]+ .*ops_per_sec=[0-9]+ rss_kb=[0-9]+ .*bad=0$'; then
        echo "smoke: FAIL $name: no RESULT line: $(echo "$o" | tail -n 3)"; fail=1; return
    fi
    echo "smoke: ok   $name: $(echo "$o" | grep '^RESULT' | cut -c1-90)"
}

for alloc in glibc hakmem; do
    pre=; [ $alloc = hakmem ] && pre=$lib
    check "$alloc random_mixed" "$pre" "$bindir/random_mixed" 20000
    check "$alloc random_mixed small" "$pre" "$bindir/random_mixed" 5000 7 1 64 3
    for t in 1 2 4; do
        check "$alloc mt_larson ${t}t" "$pre" "$bindir/mt_larson" $t 10000
    done
    check "$alloc mt_larson 100% share" "$pre" "$bindir/mt_larson" 2 5000 16 16 2k 100
    check "$alloc mt_larson sized frees" "$pre" "$bindir/mt_larson" 2 5000 256 16 1024 50 1 1
    check "$alloc rmix" "$pre" "$bindir/rmix" 1 20000
    check "$alloc rmix 3t" "$pre" "$bindir/rmix" 3 5000 4096 2
    for t in 2 5; do
        check "$alloc prodcons ${t}t" "$pre" "$bindir/prodcons" $t 5000
        check "$alloc exchange ${t}t" "$pre" "$bindir/exchange" $t 5000
    done
    check "$alloc mid" "$pre" "$bindir/mid_large" mid 2000
    check "$alloc large" "$pre" "$bindir/mid_large" large 50
done

for b in random_mixed rmix mt_larson prodcons exchange mid_large; do
    "$bindir/$b" --help >/dev/null 2>&1 || { echo "smoke: FAIL $b --help: not exit 0"; fail=1; }
    "$bindir/$b" bogus-arg >/dev/null 2>&1
    [ $? -eq 2 ] || { echo "smoke: FAIL $b bogus-arg: not exit 2"; fail=1; }
done
"$bindir/random_mixed" 10 4 100 50 >/dev/null 2>&1
[ $? -eq 2 ] || { echo "smoke: FAIL random_mixed min > max: not exit 2"; fail=1; }
"$bindir/prodcons" 1 >/dev/null 2>&1
[ $? -eq 2 ] || { echo "smoke: FAIL prodcons 1 thread: not exit 2"; fail=1; }
echo "smoke: usage checks done"

# The runner, end to end, on glibc and hakmem release.
rm -rf "$out"; mkdir -p "$out"
build=$(dirname "$lib")
if python3 "$(dirname "$0")/run.py" --smoke --build "$build" --bin "$bindir" --out "$out" \
        --allocators glibc,hakmem --strict >"$out/run.log" 2>&1; then
    for f in report.md report.json; do
        [ -s "$out/$f" ] || { echo "smoke: FAIL runner wrote no $f"; fail=1; }
    done
    python3 - "$out/report.json" <<'PY' || fail=1
import json, sys
r = json.load(open(sys.argv[1]))
want = {b["name"] for b in r["benchmarks"]}
for b in want:
    for a in ("glibc", "hakmem"):
        if a not in r["results"].get(b, {}):
            sys.exit(f"smoke: FAIL runner has no result for {b} / {a}")
print(f"smoke: ok   runner: {len(want)} benchmarks x 2 allocators, "
      f"callgrind: {', '.join(sorted(r['callgrind'])) or 'none'}")
PY
else
    echo "smoke: FAIL runner: $(tail -n 5 "$out/run.log")"; fail=1
fi
[ $fail -eq 0 ] && echo "smoke: all passed"
exit $fail
