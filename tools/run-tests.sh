#!/usr/bin/env bash
# tools/run-tests.sh TARGET... - run each make test target, keep going on failure,
# print a status line per target and the closing "N passed, N failed" line.
set -u
pass=0; fail=0; failed=()
logdir=${BUILD:-build}/test-logs; mkdir -p "$logdir"
for t in "$@"; do
    start=$(date +%s)
    printf '[test] %-28s ... ' "$t"
    if ${MAKE:-make} --no-print-directory "$t" >"$logdir/$t.log" 2>&1; then
        pass=$((pass+1)); printf 'ok   (%ss)\n' $(( $(date +%s) - start ))
    else
        fail=$((fail+1)); failed+=("$t"); printf 'FAIL (%ss), log: %s\n' $(( $(date +%s) - start )) "$logdir/$t.log"
        tail -n 25 "$logdir/$t.log" | sed 's/^/    | /'
    fi
done
[ $fail -gt 0 ] && echo "failed: ${failed[*]}"
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
