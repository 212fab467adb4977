#!/usr/bin/env bash
# tests/install/run.sh BUILD - `make install` into a temporary prefix, then use it as a
# user would: build a program with pkg-config alone (hakmem and hakmem-debug) and run
# it, LD_PRELOAD the installed shared library under real programs (sort, python3), run
# the installed hakmem-replay; then a staged install (DESTDIR, LIBDIR, INCLUDEDIR) and
# `make uninstall`, which must leave nothing behind. One line per check; exit 1 on failure.
set -u
build=${1:-build}
src=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/hakmem-install.XXXXXX")
trap 'rm -rf "$work"' EXIT
fail=0
ok()  { printf '[install] %-44s ok\n' "$1"; }
bad() { printf '[install] %-44s FAIL %s\n' "$1" "$2"; fail=1; }
check() { local name=$1; shift; if "$@" >"$work/out" 2>&1; then ok "$name"; else bad "$name" "$(head -c 400 "$work/out")"; fi; }
ver() { sed -n "s/^#define HAKMEM_VERSION_$1 \([0-9]*\).*/\1/p" "$src/include/hakmem.h"; }
MAJ=$(ver MAJOR); MIN=$(ver MINOR); PAT=$(ver PATCH)
mk() { make -C "$src" --no-print-directory -s BUILD="$(cd "$build" && pwd)" "$@"; }

P=$work/prefix
check "make install PREFIX=tmp" mk install PREFIX="$P"
L=$P/lib
for s in libhakmem libhakmem-debug; do
    check "$s.so.$MAJ.$MIN installed"      test -f "$L/$s.so.$MAJ.$MIN"
    check "$s.so.$MAJ -> $s.so.$MAJ.$MIN"  test "$(readlink "$L/$s.so.$MAJ")" = "$s.so.$MAJ.$MIN"
    check "$s.so -> $s.so.$MAJ"            test "$(readlink "$L/$s.so")" = "$s.so.$MAJ"
    soname=$(readelf -d "$L/$s.so.$MAJ.$MIN" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
    check "$s SONAME $s.so.$MAJ"           test "$soname" = "$s.so.$MAJ"
    check "$s.a installed"                 test -f "$L/$s.a"
done
check "include/hakmem.h installed" cmp "$src/include/hakmem.h" "$P/include/hakmem.h"
check "bin/hakmem-replay installed" test -x "$P/bin/hakmem-replay"

export PKG_CONFIG_PATH=$L/pkgconfig
check "pkg-config --modversion hakmem = $MAJ.$MIN.$PAT" test "$(pkg-config --modversion hakmem)" = "$MAJ.$MIN.$PAT"
check "pkg-config --libs hakmem" test "$(echo $(pkg-config --libs hakmem))" = "-L$L -lhakmem"
check "pkg-config --cflags hakmem-debug" test "$(echo $(pkg-config --cflags hakmem-debug))" = "-I$P/include"
# The programs are built from a copy outside the tree: nothing but pkg-config finds hakmem.
cp "$src/tests/install/prog.c" "$work/prog.c"
for pc in hakmem hakmem-debug; do
    def=""; [ $pc = hakmem-debug ] && def=-DDEBUG_PC
    check "cc prog.c \$(pkg-config $pc)" sh -c "cd '$work' && cc $def prog.c \$(pkg-config --cflags --libs $pc) -o prog-$pc"
    check "ldd prog-$pc: the installed .so" sh -c "LD_LIBRARY_PATH='$L' ldd '$work/prog-$pc' | grep -q '=> $L/lib$pc.so.$MAJ '"
    check "prog-$pc runs" sh -c "LD_LIBRARY_PATH='$L' '$work/prog-$pc' | grep -qx '[a-z]* $MAJ.$MIN.$PAT: ok'"
done

# The installed library preloaded under real programs: same output as glibc's, and
# its statistics (in a file) show it did the allocating.
seq 1 200000 | sed 's/^\(.*\)$/k\1 \1/' | shuf --random-source=<(yes) > "$work/input"
sort "$work/input" > "$work/sort.glibc"
HAKMEM_STATS=1 HAKMEM_STATS_FILE="$work/sort.stats" LD_PRELOAD="$L/libhakmem.so.$MAJ" sort "$work/input" > "$work/sort.hak" 2>"$work/sort.err"
check "LD_PRELOAD installed .so: sort output" cmp "$work/sort.glibc" "$work/sort.hak"
check "LD_PRELOAD installed .so: sort used it" grep -Eq '^  live +[1-9]' "$work/sort.stats"
check "LD_PRELOAD installed .so: nothing reported" test ! -s "$work/sort.err"
py='import json, collections; d = collections.Counter(str(i % 977) for i in range(300000)); print(json.dumps(sorted(d.items())[:5]), sum(d.values()))'
want=$(/usr/bin/python3 -c "$py")
got=$(LD_PRELOAD="$L/libhakmem-debug.so.$MAJ" /usr/bin/python3 -c "$py" 2>&1)
check "LD_PRELOAD installed debug .so: python3" test "$want" = "$got"
seed=$(ls "$src"/corpus/text/clean-*.txt 2>/dev/null | head -n 1)
check "installed hakmem-replay replays a seed" test -n "$seed" -a -x "$P/bin/hakmem-replay"
[ -n "$seed" ] && check "installed hakmem-replay --build both" "$P/bin/hakmem-replay" --build both "$seed"

# A staged install with distribution paths: files under DESTDIR, paths without it.
S=$work/stage
args=(DESTDIR="$S" PREFIX=/usr LIBDIR=/usr/lib/x86_64-linux-gnu INCLUDEDIR=/usr/include/hakmem)
check "make install DESTDIR=stage LIBDIR= INCLUDEDIR=" mk install "${args[@]}"
check "staged: libdir in the .pc" grep -qx 'libdir=/usr/lib/x86_64-linux-gnu' "$S/usr/lib/x86_64-linux-gnu/pkgconfig/hakmem.pc"
check "staged: includedir in the .pc" grep -qx 'includedir=/usr/include/hakmem' "$S/usr/lib/x86_64-linux-gnu/pkgconfig/hakmem-debug.pc"
check "staged: no staging path in any file" sh -c "! grep -rq '$S' '$S'"
check "staged: header" test -f "$S/usr/include/hakmem/hakmem.h"
check "staged: replay" test -x "$S/usr/bin/hakmem-replay"
n=$(find "$S" \( -type f -o -type l \) | wc -l)
check "staged: 12 files and links" test "$n" = 12
check "make uninstall (staged)" mk uninstall "${args[@]}"
check "uninstall leaves no file" test -z "$(find "$S" \( -type f -o -type l \))"
check "make uninstall PREFIX=tmp" mk uninstall PREFIX="$P"
check "uninstall leaves no file (prefix)" test -z "$(find "$P" \( -type f -o -type l \))"
exit $fail
