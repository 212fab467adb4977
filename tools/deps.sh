#!/usr/bin/env bash
# tools/deps.sh GROUP... - make sure the Debian packages a make target needs are here.
# Installs what is missing when running as root with apt-get; otherwise names what is
# missing and exits 1. Groups: build fuzz afl valgrind bench cov preload.
set -u
declare -A CHECK PKGS
CHECK[build]="command -v cc && command -v make";             PKGS[build]="gcc make"
CHECK[fuzz]="command -v clang && test -n \"\$(ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a 2>/dev/null)\""
PKGS[fuzz]="clang libclang-rt-14-dev"
CHECK[afl]="command -v afl-clang-fast && command -v afl-fuzz";  PKGS[afl]="afl++"
CHECK[valgrind]="command -v valgrind && test -f /usr/include/valgrind/memcheck.h"; PKGS[valgrind]="valgrind"
CHECK[bench]="test -e /usr/lib/x86_64-linux-gnu/libmimalloc.so.2 && test -e /usr/lib/x86_64-linux-gnu/libjemalloc.so.2 && test -e /usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4 && command -v gnuplot && command -v valgrind"
PKGS[bench]="libmimalloc2.0 libjemalloc2 libtcmalloc-minimal4 gnuplot-nox valgrind"
CHECK[cov]="command -v llvm-cov-14 || command -v llvm-cov";     PKGS[cov]="llvm-14"
CHECK[preload]="test -x /usr/bin/python3 && command -v git && command -v sort"; PKGS[preload]="python3 git coreutils"

missing=()
for g in "$@"; do
    [ -n "${CHECK[$g]:-}" ] || { echo "deps.sh: unknown group '$g'" >&2; exit 2; }
    bash -c "${CHECK[$g]}" >/dev/null 2>&1 || missing+=($g)
done
[ ${#missing[@]} -eq 0 ] && exit 0
pkgs=""; for g in "${missing[@]}"; do pkgs="$pkgs ${PKGS[$g]}"; done
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "deps.sh: installing:$pkgs" >&2
    stamp=/var/lib/apt/lists/partial
    if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -mmin -360 2>/dev/null | head -1)" ]; then
        apt-get update -qq >/dev/null 2>&1 || true
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $pkgs >/dev/null 2>&1 || true
    still=(); for g in "${missing[@]}"; do bash -c "${CHECK[$g]}" >/dev/null 2>&1 || still+=($g); done
    [ ${#still[@]} -eq 0 ] && exit 0
    missing=("${still[@]}")
fi
for g in "${missing[@]}"; do
    echo "deps.sh: missing for '$g': Debian packages: ${PKGS[$g]} (apt-get install ${PKGS[$g]})" >&2
done
exit 1
