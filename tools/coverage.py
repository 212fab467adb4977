#!/usr/bin/env python3
"""tools/coverage.py - line and branch coverage of alloc/ by what `make test` runs.

Builds a second tree (--build, default build/covtree) with clang's source-based
coverage (every program and library of it instrumented), runs in it the suites of
`make test` that exercise the allocator (the SUITES table below: unit tests, API and
glibc semantics, misuse programs, stress, and the regression drivers over every corpus
folder), merges the profiles and reports alloc/ alone:

  - a Markdown table per alloc/ file (lines, branches, excluded lines) and the total,
  - the exclusions (lines no test can reach, each with its reason: docs/coverage.md),
  - every line and branch direction still not reached,

in OUT/report.md (and OUT/summary.txt: llvm-cov's own table; OUT/html: annotated
sources). Exit 1 if alloc/ line coverage is below --min, if an exclusion no longer
matches its source, or if an excluded line was reached after all (the exclusion is
stale: remove it). The profile is written continuously (%c), so a program that dies
by abort() (every misuse program) still counts.
"""
import argparse
import collections
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXCLUSIONS_DOC = "docs/coverage.md"

# name -> make targets built and run in the coverage tree (each is a `make test` target;
# `regress` replays the corpus with the plain-main drivers, as fuzz-regress's gcc half).
SUITES = [
    ("unit", ["test-unit"]),
    ("api", ["test-api"]),
    ("glibc", ["test-glibc"]),
    ("misuse", ["test-misuse"]),
    ("stress", ["test-stress"]),
    ("teeth", ["test-teeth-regress"]),
    ("regress", None),
]
FUZZ_TARGETS = ["fuzz_freelist", "fuzz_ops", "fuzz_header"]


def sh(cmd, env=None, quiet=False, merge=True):
    """Run cmd in the repository; (exit status, its output, seconds). merge: stderr with
    stdout (a suite's log); otherwise stderr is only shown on failure."""
    t0 = time.time()
    p = subprocess.run(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT if merge else subprocess.PIPE, text=True)
    if p.returncode or not quiet:
        log = p.stdout if merge else p.stderr
        print(f"    | exit {p.returncode}: {' '.join(cmd)}")
        print("\n".join("    | " + l for l in log.splitlines()[-15:]))
    return p.returncode, p.stdout, time.time() - t0


def parse_exclusions(path):
    """The table in docs/coverage.md headed | file | first line | lines | reason |."""
    rows, on = [], False
    for line in open(os.path.join(ROOT, path), encoding="utf-8"):
        line = line.rstrip("\n")
        if re.match(r"^\|\s*file\s*\|\s*first line\s*\|\s*lines\s*\|\s*reason\s*\|", line):
            on = True
            continue
        if on:
            if not line.startswith("|"):
                break
            cells = [c.strip() for c in line.strip("|").split("|")]
            if set(cells[0]) <= set("-: "):
                continue
            f, first, n, reason = cells[0], cells[1], cells[2], cells[3]
            rows.append((f.strip("`"), first.strip("`").replace("\\|", "|"), int(n), reason))
    return rows


def resolve_exclusions(rows):
    """file -> {line number: reason}; errors for patterns that match no line or several."""
    out, errors = collections.defaultdict(dict), []
    for f, first, n, reason in rows:
        try:
            src = open(os.path.join(ROOT, f), encoding="utf-8").read().split("\n")
        except OSError:
            errors.append(f"exclusion names a missing file: {f}")
            continue
        at = [i for i, l in enumerate(src) if first in l]
        if len(at) != 1:
            errors.append(f"exclusion `{first}` matches {len(at)} lines of {f} (must match one)")
            continue
        for k in range(at[0], at[0] + n):
            out[f][k + 1] = reason
    return out, errors


def parse_lcov(text):
    """file (relative) -> ({line: count}, LF, LH): llvm-cov's lines, every build merged.
    LF and LH are llvm-cov's own totals (each function in its best single build); the DA
    records are the union over builds."""
    files, cur = {}, None
    for line in text.splitlines():
        if line.startswith("SF:"):
            cur = os.path.relpath(line[3:], ROOT)
            files[cur] = [{}, 0, 0]
        elif line.startswith("DA:") and cur:
            n, c = line[3:].split(",")[:2]
            files[cur][0][int(n)] = files[cur][0].get(int(n), 0) + int(c)
        elif line.startswith("LF:") and cur:
            files[cur][1] = int(line[3:])
        elif line.startswith("LH:") and cur:
            files[cur][2] = int(line[3:])
    return files


CONSTANT = re.compile(r"^[!(\s]*[A-Z][A-Z0-9_]*[)\s]*$")   # HAKMEM_BUILD_RELEASE, !HAKMEM_CHECK_CANARY, ...


def parse_branches(text):
    """file (relative) -> (llvm-cov's branch summary (count, covered), the directions no
    build took [(line, "true"|"false")]). A branch region is listed once per build that
    compiled it; a direction counts as taken if any build took it. A condition that is a
    configuration constant (folded by the compiler: no counter in any build) is left out."""
    out = {}
    for f in json.loads(text)["data"][0]["files"]:
        seen = {}
        try:
            src = open(f["filename"], encoding="utf-8").read().split("\n")
        except OSError:
            src = []
        for b in f["branches"]:
            if b[0] == b[2] and b[0] <= len(src) and CONSTANT.match(src[b[0] - 1][b[1] - 1:b[3] - 1]):
                continue
            k = tuple(b[:4])
            t, e = seen.get(k, (False, False))
            seen[k] = (t or b[4] > 0, e or b[5] > 0)
        untaken = sorted([(k[0], "true") for k, (t, _) in seen.items() if not t]
                         + [(k[0], "false") for k, (_, e) in seen.items() if not e])
        s = f["summary"]["branches"]
        out[os.path.relpath(f["filename"], ROOT)] = ((s["count"], s["covered"]), untaken)
    return out


def pct(a, b):
    return f"{100.0 * a / b:.2f}%" if b else "-"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default="build/covtree", help="the coverage build tree")
    ap.add_argument("--out", default="build/coverage", help="where the report goes")
    ap.add_argument("--cc", default="clang", help="the instrumenting compiler command")
    ap.add_argument("--make", default="make")
    ap.add_argument("--jobs", default="2")
    ap.add_argument("--min", type=float, default=0.0, help="fail below this alloc/ line coverage (percent)")
    ap.add_argument("--llvm-cov", default="llvm-cov")
    ap.add_argument("--llvm-profdata", default="llvm-profdata")
    ap.add_argument("--extra-corpus", action="append", default=[],
                    help="a folder of more streams to replay (e.g. a fuzzing run's work dir); its verdicts are not checked")
    ap.add_argument("--suites", default=",".join(s for s, _ in SUITES), help="comma-separated subset of the suites")
    ap.add_argument("--no-run", action="store_true", help="report the profiles already in the tree")
    ap.add_argument("--check-exclusions", action="store_true",
                    help="only check that every exclusion of docs/coverage.md names one line of its file")
    args = ap.parse_args()
    if args.check_exclusions:
        rows = parse_exclusions(EXCLUSIONS_DOC)
        excl, errors = resolve_exclusions(rows)
        for e in errors:
            print("coverage: " + e)
        print(f"coverage: {len(rows)} exclusion(s), {sum(len(v) for v in excl.values())} line(s): "
              + ("ok" if not errors and rows else "FAIL"))
        return 0 if not errors and rows else 1

    build = os.path.join(ROOT, args.build) if not os.path.isabs(args.build) else args.build
    out = os.path.join(ROOT, args.out) if not os.path.isabs(args.out) else args.out
    prof = os.path.join(build, "prof")
    os.makedirs(out, exist_ok=True)
    rel_build = os.path.relpath(build, ROOT)
    make = [args.make, "--no-print-directory", f"-j{args.jobs}", f"BUILD={rel_build}", f"CC={args.cc}",
            "STRESS_SECONDS=1"]
    env = dict(os.environ, LLVM_PROFILE_FILE=os.path.join(prof, "%c%m-%p.profraw"))
    env.pop("MAKEFLAGS", None)
    env.pop("MFLAGS", None)
    failed = []
    wanted = args.suites.split(",")
    if not args.no_run:
        stamp = os.path.join(build, "cc.txt")   # objects of another compiler command are stale
        if os.path.exists(stamp) and open(stamp).read() != args.cc:
            shutil.rmtree(build)
        os.makedirs(build, exist_ok=True)
        with open(stamp, "w") as fh:
            fh.write(args.cc)
        shutil.rmtree(prof, ignore_errors=True)
        os.makedirs(prof)
        for name, targets in SUITES:
            if name not in wanted:
                continue
            if targets is None:
                drivers = [f"{rel_build}/rgcc/regress-{t}" for t in FUZZ_TARGETS]
                rc, _, _ = sh(make + drivers, env=env, quiet=True)
                secs = 0.0
                for t in FUZZ_TARGETS:
                    dirs = ["corpus/regressions", "corpus/text", f"corpus/{t}"]
                    r, _, s = sh([f"{rel_build}/rgcc/regress-{t}"] + dirs, env=env, quiet=True)
                    rc, secs = rc or r, secs + s
                    for extra in args.extra_corpus:   # verdicts of unreviewed streams are not checked
                        d = os.path.join(extra, t)
                        if os.path.isdir(d):
                            secs += sh([f"{rel_build}/rgcc/regress-{t}", d], env=env, quiet=True)[2]
            else:
                rc, _, secs = sh(make + targets, env=env, quiet=True)
            print(f"[coverage] {name:<8} {'ok' if rc == 0 else 'FAIL'} ({secs:.0f}s)")
            if rc:
                failed.append(name)

    raws = glob.glob(os.path.join(prof, "*.profraw"))
    if not raws:
        print("coverage: no profiles written (nothing ran?)")
        return 1
    profdata = os.path.join(out, "all.profdata")
    rc, _, _ = sh([args.llvm_profdata, "merge", "-sparse", "-o", profdata] + raws, quiet=True)
    if rc:
        return 1
    # every instrumented program or library of the tree (its coverage map names its sources)
    # (a binary older than the allocator's sources is stale: a suite not run this time)
    newest = max(os.path.getmtime(f) for f in glob.glob(os.path.join(ROOT, "alloc", "*")))
    objs = []
    for path in sorted(glob.glob(os.path.join(build, "**", "*"), recursive=True)):
        if (not os.path.isfile(path) or path.endswith((".o", ".a", ".d", ".profraw"))
                or not os.access(path, os.X_OK) and not path.endswith(".so")
                or os.path.getmtime(path) < newest):
            continue
        with open(path, "rb") as fh:
            head = fh.read(4)
            if head != b"\x7fELF":
                continue
            if b"__llvm_covmap" not in fh.read():
                continue
        objs.append(path)
    if not objs:
        print("coverage: no instrumented binaries in " + build)
        return 1
    cov_args = [objs[0]] + [a for o in objs[1:] for a in ("-object", o)] + [f"-instr-profile={profdata}"]
    rc, lcov, _ = sh([args.llvm_cov, "export", "-format=lcov", "-skip-expansions"] + cov_args + ["alloc"], quiet=True, merge=False)
    if rc:
        return 1
    rc, js, _ = sh([args.llvm_cov, "export", "-format=text", "-skip-functions"] + cov_args + ["alloc"],
                   quiet=True, merge=False)
    if rc:
        return 1
    branches_of = parse_branches(js)
    _, summary, _ = sh([args.llvm_cov, "report"] + cov_args + ["alloc"], quiet=True, merge=False)
    with open(os.path.join(out, "summary.txt"), "w") as fh:
        fh.write("\n".join(l for l in summary.splitlines() if not l.startswith("warning:")) + "\n")
    sh([args.llvm_cov, "show", "-format=html", f"-output-dir={os.path.join(out, 'html')}"] + cov_args + ["alloc"],
       quiet=True, merge=False)

    files = {f: v for f, v in parse_lcov(lcov).items() if f.startswith("alloc/")}
    excl, errors = resolve_exclusions(parse_exclusions(EXCLUSIONS_DOC))
    rows, missing_lines, missing_branches = [], [], []
    tot = collections.Counter()
    for f in sorted(files):
        lines, lf, lh = files[f]
        (bf, bh), untaken = branches_of.get(f, ((0, 0), []))
        ex = excl.get(f, {})
        for n in sorted(ex):
            if lines.get(n, 0) > 0:
                errors.append(f"{f}:{n} is excluded ({ex[n]}) but was reached: remove the exclusion")
        if lf == 0:   # no code of its own (config.h: only macro lines, counted where expanded)
            continue
        code = {n: c for n, c in lines.items() if n not in ex}
        nexcl = sum(1 for n in lines if n in ex)
        lh, lf = sum(1 for c in code.values() if c > 0), len(code)
        rows.append((f, lh, lf, bh, bf, nexcl))
        tot.update(lh=lh, lf=lf, bh=bh, bf=bf, ex=nexcl)
        src = open(os.path.join(ROOT, f), encoding="utf-8").read().split("\n")
        for n in sorted(n for n, c in code.items() if c == 0):
            missing_lines.append((f, n, src[n - 1].strip() if n <= len(src) else ""))
        for ln, d in untaken:
            if ln not in ex:
                missing_branches.append((f, ln, d, src[ln - 1].strip() if ln <= len(src) else ""))

    total = 100.0 * tot["lh"] / tot["lf"] if tot["lf"] else 0.0
    md = ["# Coverage of alloc/", "",
          "By the suites of `make test` that run the allocator (" + ", ".join(wanted) + "), "
          "clang source-based coverage. Lines: a line counts as reached if any build (release, debug, "
          "debug-norel, weakened, preload, a unit test's) ran it (llvm-cov's line records, merged); excluded "
          "lines (below) count in neither column. Branches: llvm-cov's count of branch directions (for each "
          "function its best single build), exclusions not applied.", "",
          "| file | lines | line cover | branches | branch cover | excluded lines |",
          "|---|---:|---:|---:|---:|---:|"]
    for f, lh, lf, bh, bf, nexcl in rows:
        md.append(f"| {f} | {lh}/{lf} | {pct(lh, lf)} | {bh}/{bf} | {pct(bh, bf)} | {nexcl} |")
    md.append(f"| **total** | {tot['lh']}/{tot['lf']} | **{pct(tot['lh'], tot['lf'])}** | {tot['bh']}/{tot['bf']} "
              f"| **{pct(tot['bh'], tot['bf'])}** | {tot['ex']} |")
    strict = re.search(r"^TOTAL\s.*", summary, re.M)
    if strict:
        f_ = strict.group(0).split()
        md += ["", f"llvm-cov's own line total, each function counted in its best single build (no union "
               f"over builds): {int(f_[7]) - int(f_[8])}/{f_[7]} = {f_[9]} (summary.txt)."]
    md += ["", f"Goal: lines >= {args.min:.1f}%.", "", f"## Excluded lines ({EXCLUSIONS_DOC})", "",
           "| file | lines | reason |", "|---|---|---|"]
    for f, first, n, reason in parse_exclusions(EXCLUSIONS_DOC):
        at = sorted(k for k, r in excl.get(f, {}).items() if r == reason)
        span = f"{at[0]}-{at[-1]}" if at else "?"
        md.append(f"| {f} | {span} (`{first}`) | {reason} |")
    md += ["", f"## Lines not reached ({len(missing_lines)})", "", "| file | line | source |", "|---|---:|---|"]
    md += [f"| {f} | {n} | `{s.replace('|', '¦')}` |" for f, n, s in missing_lines]
    md += ["", f"## Branch directions not taken ({len(missing_branches)})", "",
           "| file | line | direction | source |", "|---|---:|---|---|"]
    md += [f"| {f} | {n} | {d} | `{s.replace('|', '¦')}` |" for f, n, d, s in missing_branches]
    report = "\n".join(md) + "\n"
    with open(os.path.join(out, "report.md"), "w") as fh:
        fh.write(report)
    # the console gets the tables, not the long lists
    print("\n".join(md[:md.index(f"## Lines not reached ({len(missing_lines)})")]))
    for f, n, s in missing_lines[:60]:
        print(f"  not reached: {f}:{n}: {s}")
    print(f"coverage: {os.path.relpath(out, ROOT)}/report.md (every line and branch not reached), "
          f"{os.path.relpath(out, ROOT)}/html/index.html")
    for e in errors:
        print("coverage: " + e)
    if failed:
        print("coverage: suites that failed in the coverage build: " + ", ".join(failed))
    ok = not errors and not failed and total + 1e-9 >= args.min
    if total + 1e-9 < args.min:
        print(f"coverage: FAIL: alloc/ lines {total:.2f}% < {args.min:.1f}%")
    else:
        print(f"coverage: alloc/ lines {total:.2f}% (goal >= {args.min:.1f}%), branches {pct(tot['bh'], tot['bf'])}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
