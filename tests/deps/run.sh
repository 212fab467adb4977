#!/usr/bin/env bash
# tests/deps/run.sh - tools/deps.sh says what it does: silent when nothing is missing;
# when something is, the group, its packages and why, then (not root, or
# HAKMEM_NO_INSTALL=1) the exact apt-get line and exit 1 without installing; usage
# errors exit 2. "Missing" is staged with a PATH that lacks the tool; apt never runs.
set -u
src=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/hakmem-deps.XXXXXX")
trap 'rm -rf "$work"' EXIT
fail=0
ok()  { printf '[deps] %-44s ok\n' "$1"; }
bad() { printf '[deps] %-44s FAIL\n' "$1"; sed 's/^/    | /' "$work/out"; fail=1; }
# expect NAME RC GREP-PATTERN... -- COMMAND...
expect() {
    local name=$1 rc=$2; shift 2
    local pats=()
    while [ "$1" != -- ]; do pats+=("$1"); shift; done; shift
    "$@" >"$work/out" 2>&1
    local got=$?
    [ $got -eq "$rc" ] || { echo "exit $got, wanted $rc" >>"$work/out"; bad "$name"; return; }
    for p in "${pats[@]}"; do
        grep -qxF -- "$p" "$work/out" || { echo "no line: $p" >>"$work/out"; bad "$name"; return; }
    done
    ok "$name"
}
# A PATH with the basics but no pkg-config, an `id` that says "not root" or "root",
# and an apt-get stand-in.
mkdir -p "$work/bin" "$work/rootbin"
for t in bash env sed grep find head tail id ls test cat; do
    p=$(command -v $t) && ln -s "$p" "$work/bin/$t" && ln -s "$p" "$work/rootbin/$t"
done
rm "$work/bin/id" "$work/rootbin/id"
printf '#!/bin/sh\necho 1000\n' > "$work/bin/id"; chmod +x "$work/bin/id"
printf '#!/bin/sh\necho 0\n' > "$work/rootbin/id"; chmod +x "$work/rootbin/id"
# apt-get stand-in: says what it was asked, installs nothing
printf '#!/bin/sh\necho "E: stand-in apt-get $1: nothing installed"; exit 100\n' > "$work/rootbin/apt-get"
chmod +x "$work/rootbin/apt-get"; cp "$work/rootbin/apt-get" "$work/bin/apt-get"

expect "present: silent, exit 0" 0 -- sh -c "tools_out=\$('$src/tools/deps.sh' build 2>&1) && test -z \"\$tools_out\""
why="deps.sh: missing 'install' (the install test builds a program with pkg-config alone): Debian packages pkg-config"
expect "missing, not root: the apt-get line, exit 1" 1 "$why" \
    "deps.sh: not installing (not root). To install them, run as root:" "  apt-get install -y pkg-config" \
    -- env PATH="$work/bin" bash "$src/tools/deps.sh" install
expect "missing, root, HAKMEM_NO_INSTALL=1: no apt" 1 "$why" \
    "deps.sh: not installing (HAKMEM_NO_INSTALL=1). To install them, run as root:" "  apt-get install -y pkg-config" \
    -- env PATH="$work/rootbin" HAKMEM_NO_INSTALL=1 bash "$src/tools/deps.sh" install
expect "missing, root: installs, shows apt, rechecks" 1 "$why" \
    "deps.sh: installing as root: apt-get install -y pkg-config" \
    "  apt: E: stand-in apt-get install: nothing installed" \
    "deps.sh: 'install' still missing after apt-get (packages pkg-config); see apt's lines above" \
    -- env PATH="$work/rootbin" bash "$src/tools/deps.sh" install
expect "unknown group: exit 2" 2 \
    "deps.sh: unknown group 'nosuch' (groups: build install preload fuzz afl valgrind cov bench)" \
    -- bash "$src/tools/deps.sh" nosuch
expect "no group: usage, exit 2" 2 \
    "usage: tools/deps.sh [--all] GROUP... (groups: build install preload fuzz afl valgrind cov bench)" \
    -- bash "$src/tools/deps.sh"
# Debian 12's default names, not pinned versions (clang is clang-14 there).
expect "default package names" 0 -- sh -c "! grep -nE '(clang|llvm|libclang-rt)-1[0-9]' '$src/tools/deps.sh' | grep -v '^[0-9]*:#'"
exit $fail
