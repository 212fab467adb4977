#!/usr/bin/env bash
# tests/stress/run.sh BUILD [MODE...] - run the stress test in each mode (default: rel
# dbg pre pred; see tests/tests.mk), STRESS_SECONDS each (default 5). The test prints
# its own status lines every second. Exit 1 if any mode failed.
set -u
build=${1:-build}; shift
modes=${*:-rel dbg pre pred}
abs=$(cd "$build" && pwd)
export STRESS_SECONDS=${STRESS_SECONDS:-5}
fail=0; failed=""
for mode in $modes; do
    case $mode in
        pre)  pre="$abs/libhakmem.so" ;;
        pred) pre="$abs/libhakmem-debug.so" ;;
        *)    pre="" ;;
    esac
    echo "[stress] mode $mode${pre:+ (LD_PRELOAD=$pre)}, ${STRESS_SECONDS}s"
    LD_PRELOAD=$pre "$build/tests/stress/stress.$mode"
    rc=$?
    if [ $rc -ne 0 ]; then
        fail=1; failed="$failed $mode"
        echo "[stress] mode $mode FAILED (exit status $rc)"
    fi
done
[ $fail -eq 0 ] && echo "[stress] all modes ok: $modes" || echo "[stress] failed modes:$failed"
exit $fail
