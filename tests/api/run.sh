#!/usr/bin/env bash
# tests/api/run.sh BUILD - run the API semantics test in every mode (see tests/tests.mk):
# rel and dbg with the prefixed API, pre and pred with the libc names under LD_PRELOAD.
# One status line per mode; exit 1 if any mode failed.
set -u
build=${1:-build}
abs=$(cd "$build" && pwd)
fail=0
for mode in rel dbg pre pred; do
    case $mode in
        rel)  pre="";                           want=release ;;
        dbg)  pre="";                           want=debug ;;
        pre)  pre="$abs/libhakmem.so";          want=release ;;
        pred) pre="$abs/libhakmem-debug.so";    want=debug ;;
    esac
    start=$(date +%s)
    out=$(LD_PRELOAD=$pre API_EXPECT_BUILD=$want "$build/tests/api/api_test.$mode" 2>&1)
    rc=$?
    last=$(printf '%s\n' "$out" | tail -n 1)
    if [ $rc -eq 0 ]; then
        printf '[api] %-5s ok    %s (%ss)\n' "$mode" "$last" $(( $(date +%s) - start ))
        printf '%s\n' "$out" | grep -E '^(xfail|XPASS)' | sed 's/^/    | /'
    else
        fail=1
        printf '[api] %-5s FAIL  exit %s (%ss)\n' "$mode" "$rc" $(( $(date +%s) - start ))
        printf '%s\n' "$out" | sed 's/^/    | /'
    fi
done
exit $fail
