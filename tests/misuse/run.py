#!/usr/bin/env python3
"""tests/misuse/run.py - run every misuse program in every build mode and check that it
died by SIGABRT with exactly the expected fixed line on stderr.

Each tests/misuse/NAME.c says what it expects in `//! expect: HAK_CORRUPT_...` (or
`//! expect: exit0` for programs that must succeed) and, optionally, in which modes it
runs (`//! modes: rel dbg`). The fixed lines are read from include/hakmem.h
(hak_corruption_message), so this file never restates them. Modes (see misuse.h):
  rel   hak_ prefixed API (libhakmem.a)        dbg   hakd_ prefixed API (libhakmem-debug.a)
  pre   libc names, LD_PRELOAD=libhakmem.so    pred  libc names, LD_PRELOAD=libhakmem-debug.so
Prints one status line per case as it goes and a Markdown table at the end.
Exit status 0 iff every cell is ok or an expected failure listed in XFAIL below.
"""
import argparse
import os
import re
import resource
import signal
import subprocess
import sys

MODES = ["rel", "dbg", "pre", "pred"]
PRELOAD = {"pre": "libhakmem.so", "pred": "libhakmem-debug.so"}
SETUP_EXIT = 77       # misuse.h: a layout assumption did not hold
NO_ABORT_EXIT = 1     # misuse.h: the misuse went unnoticed

# Expected failures: allocator bugs these programs found, which the allocator owner must
# fix (tests cannot edit alloc/). case -> {mode: reason}. A listed cell that passes is
# reported as XPASS and fails the run, so each entry is removed when its bug is fixed.
XFAIL = {
    # Allocator bug 1 (large_header_smash: SIGSEGV following header links written by an
    # underflow) was fixed in alloc/large.c: descriptors now live in allocator memory.
    # Allocator bug 3 (handler_reentrant: a handler that allocates, called inside a refill)
    # was fixed: reports raised inside internal operations are delivered afterwards.
}


def parse_messages(header):
    """kind enum name -> fixed line, from hak_corruption_message() in hakmem.h."""
    text = open(header).read()
    body = text[text.index("hak_corruption_message"):text.index("hak_corruption_name")]
    return dict(re.findall(r'case (HAK_CORRUPT_\w+):\s*return "([^"]+)";', body))


def parse_case(path):
    expect, modes = None, list(MODES)
    for line in open(path):
        m = re.match(r"\s*//!\s*(\w+):\s*(.*?)\s*$", line)
        if not m:
            continue
        if m.group(1) == "expect":
            expect = m.group(2)
        elif m.group(1) == "modes":
            modes = m.group(2).split()
    if expect is None:
        raise SystemExit(f"{path}: no '//! expect:' line")
    return expect, modes


def no_core():
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def describe(rc, stderr):
    if rc is None:
        return "timed out"
    if rc < 0:
        try:
            name = signal.Signals(-rc).name
        except ValueError:
            name = f"signal {-rc}"
        return f"died by {name}"
    first = stderr.strip().splitlines()[:1]
    return f"exit {rc}" + (f" ({first[0]})" if first else "")


def run_one(binary, mode, expect_line, build):
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    env.pop("HAKMEM_STATS", None)
    if mode in PRELOAD:
        env["LD_PRELOAD"] = os.path.abspath(os.path.join(build, PRELOAD[mode]))
    try:
        p = subprocess.run([binary], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=30, preexec_fn=no_core)
        rc, err = p.returncode, p.stderr.decode(errors="replace")
    except subprocess.TimeoutExpired as e:
        rc, err = None, (e.stderr or b"").decode(errors="replace")
    lines = err.splitlines()
    reports = [l for l in lines if l.startswith("hakmem:")]
    if expect_line is None:   # must succeed
        if rc == 0 and not reports:
            return True, "exit 0"
        return False, describe(rc, err) + (f", reported {reports!r}" if reports else "")
    if rc == -signal.SIGABRT and reports == [expect_line]:
        return True, "abort + expected line"
    if rc == SETUP_EXIT:
        return False, "setup assumption failed: " + (lines[-1] if lines else "?")
    why = describe(rc, err)
    if reports:
        why += f", stderr had {reports!r}"
    elif rc == -signal.SIGABRT:
        why += ", no hakmem line on stderr"
    return False, f"{why}; want SIGABRT + {expect_line!r}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--src", default="tests/misuse")
    ap.add_argument("--header", default="include/hakmem.h")
    ap.add_argument("cases", nargs="*", help="only these cases")
    args = ap.parse_args()

    messages = parse_messages(args.header)
    names = sorted(f[:-2] for f in os.listdir(args.src) if f.endswith(".c"))
    if args.cases:
        names = [n for n in names if n in args.cases]
    results = {}          # (case, mode) -> cell text
    failures, xfails = [], []
    for name in names:
        expect, modes = parse_case(os.path.join(args.src, name + ".c"))
        if expect == "exit0":
            want, label = None, "exit 0"
        else:
            if expect not in messages:
                raise SystemExit(f"{name}.c: unknown kind {expect}")
            want, label = messages[expect], expect[len("HAK_CORRUPT_"):].lower()
        status = []
        for mode in MODES:
            if mode not in modes:
                results[name, mode] = "-"
                continue
            binary = os.path.join(args.build, "tests", "misuse", f"{name}.{mode}")
            ok, detail = run_one(binary, mode, want, args.build)
            xf = XFAIL.get(name, {}).get(mode)
            if ok and not xf:
                cell = "ok"
            elif ok and xf:
                cell = "XPASS"
                failures.append(f"{name} [{mode}]: passes but is listed in XFAIL "
                                f"(allocator fixed? remove the entry): {xf}")
            elif xf:
                cell = "xfail"
                xfails.append(f"{name} [{mode}]: {detail} -- known allocator bug: {xf}")
            else:
                cell = "FAIL"
                failures.append(f"{name} [{mode}]: {detail}")
            results[name, mode] = cell
            status.append(f"{mode} {cell}")
        results[name, "expect"] = label
        print(f"[misuse] {name:28s} {', '.join(status)}", flush=True)

    print()
    print("| case | expected | " + " | ".join(MODES) + " |")
    print("|---|---|" + "---|" * len(MODES))
    for name in names:
        print(f"| {name} | {results[name, 'expect']} | "
              + " | ".join(results[name, m] for m in MODES) + " |")
    print()
    for x in xfails:
        print("expected failure:", x)
    for f in failures:
        print("FAIL:", f)
    cells = [v for (n, m), v in results.items() if m in MODES and v != "-"]
    print(f"misuse: {cells.count('ok')} ok, {cells.count('xfail')} expected failures, "
          f"{len(failures)} failed, {len(names)} programs x {len(MODES)} modes")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
