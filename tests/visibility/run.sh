#!/usr/bin/env bash
# tests/visibility/run.sh DIR - ASan and Valgrind must see inside the heap: each misuse
# mode of uaf.c is flagged with the expected report, and a clean run is silent (with
# leak checking under Valgrind). DIR holds uaf-asan and uaf-valgrind. One line per
# case; exit 1 if any case failed.
set -u
b=${1:?usage: run.sh DIR}
fail=0
check() {   # NAME OK
    if [ "$2" = 1 ]; then echo "$1: ok"; else echo "$1: FAILED (logs in $b)"; fail=1; fi
}
# asan MODE PATTERN: the run must fail and its log hold PATTERN
asan() {
    local ok=0
    if ! "$b/uaf-asan" "$1" >/dev/null 2>"$b/asan-$1.log" && grep -q "$2" "$b/asan-$1.log"; then ok=1; fi
    check "asan: $1 flagged" $ok
}
# vg MODE PATTERN [RC]: Valgrind must report PATTERN and the run exit with RC (default
# 9, Valgrind's error code; "fail" = any failure, e.g. the allocator's abort as well)
vg() {
    local ok=0 rc=0 want=${3:-9}
    { valgrind -q --error-exitcode=9 "$b/uaf-valgrind" "$1" >/dev/null 2>"$b/vg-$1.log"; } 2>/dev/null || rc=$?
    if { [ $rc = "$want" ] || { [ "$want" = fail ] && [ $rc != 0 ]; }; } && grep -q "$2" "$b/vg-$1.log"; then ok=1; fi
    check "valgrind: $1 flagged" $ok
}
for m in uaf-read remote-uaf large-uaf; do asan $m 'ERROR: AddressSanitizer: use-after-poison'; done
asan overflow 'ERROR: AddressSanitizer'
ok=0; "$b/uaf-asan" clean >/dev/null 2>"$b/asan-clean.log" && ok=1
check "asan: clean run silent" $ok
ok=0; "$b/uaf-asan" trim-shadow >"$b/asan-trim-shadow.log" 2>&1 && ok=1
check "asan: a trimmed region's shadow dropped, not written" $ok
for m in uaf-read remote-uaf large-uaf; do vg $m 'Invalid read of size 1'; done
grep -q "free'd" "$b/vg-uaf-read.log" && ok=1 || ok=0
check "valgrind: uaf-read names the free" $ok
vg overflow 'Invalid write of size 1' fail   # the next tag: free also reports it
ok=0; valgrind -q --error-exitcode=9 --leak-check=full "$b/uaf-valgrind" clean >/dev/null 2>"$b/vg-clean.log" && ok=1
check "valgrind: clean run silent (leak check)" $ok
exit $fail
