#!/usr/bin/env bash
# tests/glibc/run.sh BUILD - glibc's malloc extensions in every mode: rel and dbg with
# the prefixed API, pre and pred with the libc names under LD_PRELOAD; then the
# HAKMEM_STATS report of each build, on stderr and in HAKMEM_STATS_FILE under ls
# (which closes stderr before it exits). One status line per case; exit 1 on a failure.
set -u
build=${1:-build}
abs=$(cd "$build" && pwd)
fail=0
ok()  { printf '[glibc] %-34s ok\n' "$1"; }
bad() { printf '[glibc] %-34s FAIL %s\n' "$1" "$2"; fail=1; }
for mode in rel dbg pre pred; do
    case $mode in
        rel|dbg) pre="" ;;
        pre)     pre="$abs/libhakmem.so" ;;
        pred)    pre="$abs/libhakmem-debug.so" ;;
    esac
    out=$(LD_PRELOAD=$pre "$build/tests/glibc/glibc_test.$mode" $mode 2>&1)
    if [ $? -eq 0 ]; then ok "glibc_test $mode: $(printf '%s\n' "$out" | tail -n 1)"
    else bad "glibc_test $mode" ""; printf '%s\n' "$out" | sed 's/^/    | /'; fi
done

work=$(mktemp -d "${TMPDIR:-/tmp}/hakmem-stats.XXXXXX")
trap 'rm -rf "$work"' EXIT
# Rows every build prints, and the counter rows only a debug build has.
common="mapped resident live superslabs superslabs_empty small_live_blocks large_live large_cached releasable"
for so in libhakmem.so libhakmem-debug.so; do
    name=release; [ $so = libhakmem-debug.so ] && name=debug
    # stderr: a program that keeps it open
    err=$(HAKMEM_STATS=1 LD_PRELOAD=$abs/$so /usr/bin/python3 -c 'x = [str(i) for i in range(5000)]' 2>&1 >/dev/null)
    # the file: ls closes stderr at exit, so only the file can hold the report
    rm -f "$work"/stats.*
    HAKMEM_STATS=1 HAKMEM_STATS_FILE="$work/stats.%p" LD_PRELOAD=$abs/$so ls -R "$abs" >/dev/null 2>&1
    files=("$work"/stats.*)
    file=$(cat "${files[@]}" 2>/dev/null)
    for what in stderr file; do
        text=$err; [ $what = file ] && text=$file
        case=$(printf 'HAKMEM_STATS %s %s' $name $what)
        if ! printf '%s\n' "$text" | grep -q "^hakmem $name statistics: pid [0-9]*, hakmem [0-9.]*$"; then
            bad "$case" "no header line: $(printf '%s' "$text" | head -c 200)"; continue
        fi
        missing=""
        for row in $common; do printf '%s\n' "$text" | grep -Eq "^  $row +[0-9]+$" || missing="$missing $row"; done
        printf '%s\n' "$text" | grep -Eq '^  mapped +[1-9]' || missing="$missing mapped>0"
        printf '%s\n' "$text" | grep -Eq '^  live +[1-9]' || missing="$missing live>0"
        if [ $name = debug ]; then
            printf '%s\n' "$text" | grep -Eq '^  refills +[1-9]' || missing="$missing refills"
        else
            printf '%s\n' "$text" | grep -Eq '^  refills ' && missing="$missing (release printed counters)"
        fi
        [ -z "$missing" ] && ok "$case" || bad "$case" "rows:$missing"
    done
    [ ${#files[@]} -eq 1 ] && [ -e "${files[0]}" ] && [ "${files[0]}" = "$work/stats.$(basename "${files[0]}" | cut -d. -f2)" ] \
        && ok "HAKMEM_STATS_FILE %p: one file ($name)" || bad "HAKMEM_STATS_FILE %p ($name)" "files: ${files[*]}"
done
# not asked for: nothing printed
out=$(LD_PRELOAD=$abs/libhakmem-debug.so /usr/bin/env true 2>&1)
[ -z "$out" ] && ok "no HAKMEM_STATS: silent" || bad "no HAKMEM_STATS: silent" "$out"
# a file that cannot be opened: one line on stderr, the program unharmed
out=$(HAKMEM_STATS=1 HAKMEM_STATS_FILE=/nonexistent/dir/x LD_PRELOAD=$abs/libhakmem.so /usr/bin/env true 2>&1; echo "rc=$?")
[ "$out" = "$(printf 'hakmem: HAKMEM_STATS_FILE cannot be opened; statistics not written\nrc=0')" ] \
    && ok "HAKMEM_STATS_FILE unwritable" || bad "HAKMEM_STATS_FILE unwritable" "$out"
exit $fail
