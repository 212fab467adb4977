#!/usr/bin/env bash
# tools/deps.sh [--all] GROUP... - make sure the Debian packages that a make target
# needs are installed, and say so out loud when they are not.
#
# Nothing missing: silent, exit 0. Something missing: one line per group says which
# packages and why. Then, as root (with apt-get, and HAKMEM_NO_INSTALL not 1), they are
# installed with apt's own output shown and checked again; otherwise the exact
# `apt-get install` line is printed and the script exits 1 without installing.
# `--all` (what `make deps` runs) is every group. Exit 2 on an unknown group.
# Groups and their packages are Debian 12's default names (clang is clang-14 there;
# libclang-rt-dev brings libclang-rt-14-dev, the libFuzzer and sanitizer runtimes).
set -u
declare -A CHECK PKGS WHY
GROUPS_ALL=(build install preload fuzz afl valgrind cov bench)

CHECK[build]="command -v cc && command -v make && command -v readelf"
PKGS[build]="gcc make binutils"
WHY[build]="compile the allocator, its libraries and the tests"

CHECK[install]="command -v pkg-config"
PKGS[install]="pkg-config"
WHY[install]="the install test builds a program with pkg-config alone"

CHECK[preload]="test -x /usr/bin/python3 && command -v git && command -v sort && command -v shuf && command -v sqlite3 && command -v redis-server && command -v redis-benchmark && test -f /usr/lib/python3.11/test/test_dict.py"
PKGS[preload]="python3 git coreutils sqlite3 redis-server libpython3.11-testsuite"
WHY[preload]="real programs run under LD_PRELOAD=libhakmem.so (python3 and its own regression tests, sqlite3, redis, git), and the test scripts"

CHECK[fuzz]="command -v clang && test -n \"\$(ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a 2>/dev/null)\""
PKGS[fuzz]="clang libclang-rt-dev"
WHY[fuzz]="libFuzzer, ASan and UBSan builds: the fuzz targets, verify, the OSS-Fuzz build check"

CHECK[afl]="command -v afl-clang-fast && command -v afl-fuzz"
PKGS[afl]="afl++"
WHY[afl]="AFL++ builds of the fuzz targets (make afl-*, the CI fuzz smoke)"

CHECK[valgrind]="command -v valgrind && test -f /usr/include/valgrind/memcheck.h"
PKGS[valgrind]="valgrind"
WHY[valgrind]="the Valgrind-aware build, its replay and the visibility tests; callgrind counts"

CHECK[cov]="command -v llvm-cov && command -v llvm-profdata"
PKGS[cov]="llvm"
WHY[cov]="llvm-cov and llvm-profdata for coverage reports (make coverage, nightly)"

CHECK[bench]="test -e /usr/lib/x86_64-linux-gnu/libmimalloc.so.2 && test -e /usr/lib/x86_64-linux-gnu/libjemalloc.so.2 && test -e /usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4 && command -v gnuplot && command -v valgrind"
PKGS[bench]="libmimalloc2.0 libjemalloc2 libtcmalloc-minimal4 gnuplot-nox valgrind"
WHY[bench]="the allocators hakmem is compared with, and the plots (make bench)"

want=()
for g in "$@"; do
    if [ "$g" = --all ]; then want+=("${GROUPS_ALL[@]}"); continue; fi
    [ -n "${CHECK[$g]:-}" ] || { echo "deps.sh: unknown group '$g' (groups: ${GROUPS_ALL[*]})" >&2; exit 2; }
    want+=("$g")
done
[ ${#want[@]} -gt 0 ] || { echo "usage: tools/deps.sh [--all] GROUP... (groups: ${GROUPS_ALL[*]})" >&2; exit 2; }

have() { bash -c "${CHECK[$1]}" >/dev/null 2>&1; }
missing=(); pkgs=()
for g in "${want[@]}"; do
    [[ " ${missing[*]} " == *" $g "* ]] && continue
    have "$g" && continue
    missing+=("$g")
    for p in ${PKGS[$g]}; do [[ " ${pkgs[*]} " == *" $p "* ]] || pkgs+=("$p"); done
done
[ ${#missing[@]} -eq 0 ] && exit 0

for g in "${missing[@]}"; do
    echo "deps.sh: missing '$g' (${WHY[$g]}): Debian packages ${PKGS[$g]}" >&2
done
line="apt-get install -y ${pkgs[*]}"

if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null || [ "${HAKMEM_NO_INSTALL:-0}" = 1 ]; then
    why="not root"
    [ "$(id -u)" = 0 ] && why="HAKMEM_NO_INSTALL=1"
    command -v apt-get >/dev/null || why="no apt-get on this machine"
    echo "deps.sh: not installing ($why). To install them, run as root:" >&2
    echo "  $line" >&2
    exit 1
fi

# Root: install, with apt's own account of what it did. Parallel make jobs may both get
# here: apt waits for the other's lock instead of failing.
apt_opts=(-q -y -o DPkg::Lock::Timeout=300)
if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -mmin -360 2>/dev/null | head -n 1)" ]; then
    echo "deps.sh: apt-get update (package lists older than 6 hours or absent)" >&2
    apt-get update -q -o DPkg::Lock::Timeout=300 2>&1 | tail -n 3 | sed 's/^/  apt: /' >&2
fi
echo "deps.sh: installing as root: $line" >&2
DEBIAN_FRONTEND=noninteractive apt-get install "${apt_opts[@]}" "${pkgs[@]}" 2>&1 \
    | grep -Ev '^(Reading|Building|Selecting|Preparing|Unpacking|Setting up|Processing|Get:|\(Reading)' \
    | sed 's/^/  apt: /' >&2
still=()
for g in "${missing[@]}"; do have "$g" || still+=("$g"); done
if [ ${#still[@]} -eq 0 ]; then
    echo "deps.sh: installed ${pkgs[*]}: '${missing[*]}' ready" >&2
    exit 0
fi
for g in "${still[@]}"; do
    echo "deps.sh: '$g' still missing after apt-get (packages ${PKGS[$g]}); see apt's lines above" >&2
done
exit 1
