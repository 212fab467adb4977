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
  - every check of the checks table (docs/coverage.md): its pass and fail direction,
    taken or not in the builds with every release check on, by which input first
    (text streams are replayed one file a process, unit programs run one at a time,
    each into its own profile folder, so a direction is traced to what took it),

in OUT/report.md (and OUT/summary.txt: llvm-cov's own table; OUT/html: annotated
sources). Exit 1 if alloc/ line coverage is below --min, if an exclusion no longer
matches its source, or if an excluded line was reached after all (the exclusion is
stale: remove it), if a check direction is untaken without a written reason, or a
reason stands for a direction that was taken. The profile is written continuously (%c),
so a program that dies by abort() (every misuse program) still counts.
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
TEXT_DIRS = ["corpus/regressions", "corpus/text"]   # replayed one file a process by FILE_DRIVER
FILE_DRIVER = "fuzz_ops"
CHECKS_DOC = EXCLUSIONS_DOC


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


def md_cells(line):
    """The cells of a Markdown table row; `\\|` inside a cell is a literal |."""
    cells = re.split(r"(?<!\\)\|", line.strip().strip("|"))
    return [c.strip().replace("\\|", "|") for c in cells]


def md_table(path, header):
    """The body rows (lists of cells) of the first table in path whose header row matches
    the regular expression header."""
    rows, on = [], False
    for line in open(os.path.join(ROOT, path), encoding="utf-8"):
        line = line.rstrip("\n")
        if not on:
            on = bool(re.match(header, line))
        elif not line.startswith("|"):
            break
        elif not set(md_cells(line)[0]) <= set("-: "):
            rows.append(md_cells(line))
    return rows


def parse_exclusions(path):
    """The table in docs/coverage.md headed | file | first line | lines | reason |."""
    return [(f.strip("`"), first.strip("`"), int(n), reason) for f, first, n, reason, *_ in
            md_table(path, r"^\|\s*file\s*\|\s*first line\s*\|\s*lines\s*\|\s*reason\s*\|")]


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


CHECK_CALLS = re.compile(r"\b(hak_report|HAK_CHECK|hak_ref_out_of_step)\(")
CHECK_REACH = 4   # a check call lies on its row's line or at most this many lines below


def parse_checks(path):
    """The table in docs/coverage.md headed | check | file | line | condition | fails when | fail witness |
    untaken because |: [(name, file, line text, condition, fail value (bool), {direction: reason}, witness)]."""
    rows = []
    for cells in md_table(path, r"^\|\s*check\s*\|\s*file\s*\|\s*line\s*\|\s*condition\s*\|"):
        name, f, text, cond, fails, wit, why = (cells + [""] * 7)[:7]
        reasons = {}
        m = re.match(r"^((?:pass|fail)(?:\s*,\s*(?:pass|fail))?)\s*:\s*(.+)$", why)
        if m:
            for d in re.split(r"\s*,\s*", m.group(1)):
                reasons[d] = m.group(2)
        elif why:
            reasons["?"] = why
        m = re.match(r"^`(.+)`\s+after\s+`(.+)`$", text)   # a line repeated elsewhere: the first after an anchor
        text = (m.group(1), m.group(2)) if m else text.strip("`")
        rows.append((name, f.strip("`"), text, cond.strip("`"), fails.strip() == "true", reasons,
                     wit.strip("`")))
    return rows


def resolve_checks(rows):
    """[(row, line number)] and errors: a line text that matches no line or several, a
    condition not on its line, a reason without its direction, and every check call of
    alloc/ that no row covers."""
    out, errors, lines_of = [], [], collections.defaultdict(list)
    for row in rows:
        name, f, text, cond, fails, reasons, _ = row
        try:
            src = open(os.path.join(ROOT, f), encoding="utf-8").read().split("\n")
        except OSError:
            errors.append(f"check `{name}` names a missing file: {f}")
            continue
        text, anchor = text if isinstance(text, tuple) else (text, None)
        at = [i + 1 for i, l in enumerate(src) if (anchor or text) in l]
        if len(at) != 1:
            errors.append(f"check `{name}`: line `{anchor or text}` matches {len(at)} lines of {f} (must match one)")
            continue
        if anchor:
            at = [i + 1 for i, l in enumerate(src) if i + 1 > at[0] and text in l][:1]
            if not at:
                errors.append(f"check `{name}`: no line `{text}` after `{anchor}` in {f}")
                continue
        if cond not in src[at[0] - 1]:
            errors.append(f"check `{name}`: condition `{cond}` is not on {f}:{at[0]}")
            continue
        if "?" in reasons:
            errors.append(f"check `{name}`: a reason must start with the direction it explains (pass: / fail:)")
        out.append((row, at[0]))
        lines_of[f].append(at[0])
    for path in sorted(glob.glob(os.path.join(ROOT, "alloc", "*.[ch]"))):
        f = os.path.relpath(path, ROOT)
        for n, l in enumerate(open(path, encoding="utf-8").read().split("\n"), 1):
            code = l.split("/*")[0].split("//")[0]
            if (not CHECK_CALLS.search(code) or re.match(r"\s*(#\s*define|static\b)", code)
                    or f == "alloc/report.c" or f == "alloc/internal.h"):
                continue
            if not any(0 <= n - k <= CHECK_REACH for k in lines_of.get(f, [])):
                errors.append(f"{f}:{n}: a check call no row of the checks table covers: {l.strip()}")
    return out, errors


def weak_group(label):
    """A profile group whose allocator has a release check compiled out: the weakened
    builds' reproducers, debug-norel unit programs."""
    return label == "teeth" or bool(re.search(r"weak-|norel|nochecks", label))


def check_branches(js, resolved):
    """For each resolved row: (pass taken, fail taken) in the export js (a parsed
    llvm-cov text export), over every instance of the row's branch (each function
    copy of each object). Leaves wrapped in hak_likely/hak_unlikely and HAK_CHECK are
    branches of the macro's expansion at the row's line."""
    macro_at = {}   # line of hak_likely / hak_unlikely -> column of its __builtin_expect (the whole test)
    for n, l in enumerate(open(os.path.join(ROOT, "alloc/internal.h"), encoding="utf-8").read().split("\n"), 1):
        if re.match(r"#define hak_(un)?likely\(", l):
            macro_at[n] = l.index("__builtin_expect") + 1
    by_file = collections.defaultdict(list)
    for i, ((_, f, _, _, _, _, _), ln) in enumerate(resolved):
        by_file[os.path.join(ROOT, f)].append((i, ln))
    res = [[False, False] for _ in resolved]
    srcs = {}
    for fj in js["data"][0]["files"]:
        fn = os.path.realpath(fj["filename"])
        rows = [(i, ln) for k, v in by_file.items() if os.path.realpath(k) == fn for i, ln in v]
        if not rows:
            continue
        src = srcs.setdefault(fn, open(fn, encoding="utf-8").read().split("\n"))
        for i, ln in rows:
            (_, _, _, cond, fails, _, _) = resolved[i][0]
            line = src[ln - 1]
            hits = []
            for b in fj["branches"]:
                if b[0] != ln:
                    continue
                t = line[b[1] - 1:b[3] - 1] if b[2] == b[0] else line[b[1] - 1:]
                if (t == cond) if b[2] == b[0] else t.startswith(cond):
                    hits.append((b[4], b[5]))
            for e in fj.get("expansions", []):
                r = e["source_region"]
                if r[0] != ln or not line[r[1] - 1:].startswith(cond):
                    continue
                for b in e["branches"]:
                    if e["filenames"][b[6]].endswith("alloc/internal.h") and macro_at.get(b[0]) == b[1]:
                        hits.append((b[4], b[5]))
            for t, f_ in hits:
                if max(t, f_) >= 1 << 62:   # a count llvm-cov could not derive (saturated): no evidence
                    continue
                fail_n, pass_n = (t, f_) if fails else (f_, t)
                res[i][0] |= pass_n > 0
                res[i][1] |= fail_n > 0
    return res


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


SUITE_OBJECTS = {"api": "tests/api/", "glibc": "tests/glibc/", "misuse": "tests/misuse/",
                 "stress": "tests/stress/"}


def group_result(args, build, objs, label, d, checks, cache={}):
    """The check rows' (pass, fail) directions taken by one profile group (the inputs of
    one label, in folder d), from the objects that group ran; None without profiles."""
    if d in cache:
        return cache[d]
    rel = lambda o: os.path.relpath(o, build)
    cache[d] = None
    raws = glob.glob(os.path.join(d, "*.profraw"))
    pd = os.path.join(d, "group.profdata")
    if not raws or sh([args.llvm_profdata, "merge", "-sparse", "-o", pd] + raws, quiet=True)[0]:
        return None
    m = re.match(r"regress-(\S+) ", label)
    if label.endswith(".txt") and not m:
        cands = [o for o in objs if rel(o) == f"rgcc/regress-{FILE_DRIVER}"]
    elif m:
        cands = [o for o in objs if rel(o) == f"rgcc/regress-{m.group(1)}"]
    elif label.startswith("tests/unit: "):
        cands = [o for o in objs if rel(o) == "unit/" + label.split(": ", 1)[1]]
    else:
        cands = [o for o in objs if rel(o).startswith(SUITE_OBJECTS.get(label, "\0")) or o.endswith(".so")]
    if not cands:
        return None
    a = [cands[0]] + [x for o in cands[1:] for x in ("-object", o)] + [f"-instr-profile={pd}"]
    rc, js, _ = sh([args.llvm_cov, "export", "-format=text", "-skip-functions"] + a + ["alloc"], quiet=True, merge=False)
    cache[d] = check_branches(json.loads(js), checks) if rc == 0 else None
    return cache[d]


def check_directions(args, build, objs, groups, checks):
    """For each check row's (pass, fail) direction, the first input that took it in a
    build with every release check on (None: untaken): a text stream (one process per
    file), a unit program, a suite or a corpus folder."""
    # Counters are keyed by function name and structure, not by binary: every build's copy
    # of a function lands on the same record, so a weakened build's counts are kept out by
    # its process, never merged (a group is one process, one suite or one corpus folder).
    # The most specific inputs are asked first: text streams, unit programs, then suites.
    rank = lambda g: 0 if g[0].endswith(".txt") else 1 if g[0].startswith("tests/unit: ") else 2
    by = [[None, None] for _ in checks]
    for label, d in sorted((g for g in groups if not weak_group(g[0])), key=rank):
        if all(p and f for p, f in by):
            break
        for i, r in enumerate(group_result(args, build, objs, label, d, checks) or []):
            for k in (0, 1):
                if r[k] and by[i][k] is None:
                    by[i][k] = label
    return by


def witness_errors(args, build, objs, groups, checks, by):
    """Each row's named fail witness must take its fail direction; a row whose fail
    direction was taken must name one (the quick check in make test replays them)."""
    errors, dirs = [], {label: d for label, d in groups}
    for i, ((name, f, _, _, _, _, wit), ln) in enumerate(checks):
        if not wit:
            if by[i][1]:
                errors.append(f"check `{name}` ({f}:{ln}): no fail witness named; `{by[i][1]}` takes it")
            continue
        if wit not in dirs:
            errors.append(f"check `{name}` ({f}:{ln}): the fail witness `{wit}` is no input of this run")
            continue
        r = group_result(args, build, objs, wit, dirs[wit], checks)
        if not r or not r[i][1]:
            errors.append(f"check `{name}` ({f}:{ln}): the fail witness `{wit}` does not take the fail direction"
                          + (f" (`{by[i][1]}` does)" if by[i][1] else ""))
    return errors


def quick(args, build, make, env):
    """make test's part: replay only the fail witnesses the checks table names that are
    text streams or unit programs (each alone, in the instrumented tree), and fail if a
    witness no longer takes its check's fail direction."""
    rows = parse_checks(CHECKS_DOC)
    checks, errors = resolve_checks(rows)
    rel_build = os.path.relpath(build, ROOT)
    wits = sorted({c[6] for c, _ in checks if c[6].endswith(".txt") or c[6].startswith("tests/unit: ")})
    driver = os.path.join(build, "rgcc", f"regress-{FILE_DRIVER}")
    units = {w: os.path.join(build, "unit", w.split(": ", 1)[1]) for w in wits if w.startswith("tests/unit: ")}
    targets = [os.path.relpath(driver, ROOT)] + [os.path.relpath(u, ROOT) for u in units.values()]
    t0 = time.time()
    rc, _, _ = sh(make + targets, env=env, quiet=True)
    if rc:
        print("coverage: quick: the instrumented driver and unit programs did not build")
        return 1
    prof = os.path.join(build, "quick")
    shutil.rmtree(prof, ignore_errors=True)
    groups = []
    for i, w in enumerate(wits):
        d = os.path.join(prof, "g%04d" % i)
        os.makedirs(d)
        groups.append((w, d))
        cmd = [units[w]] if w in units else [driver, os.path.join(ROOT, w)]
        r, _, _ = sh(cmd, env=dict(env, LLVM_PROFILE_FILE=os.path.join(d, "%c%m-%p.profraw")), quiet=True)
        if r:
            errors.append(f"quick: `{w}` failed (exit {r})")
    objs = [driver] + list(units.values())
    n = 0
    for i, ((name, f, _, _, _, _, wit), ln) in enumerate(checks):
        if wit not in wits:
            continue
        n += 1
        res = group_result(args, build, objs, wit, dict(groups)[wit], checks)
        if not res or not res[i][1]:
            errors.append(f"check `{name}` ({f}:{ln}): its fail witness `{wit}` no longer takes the fail direction")
    for e in errors:
        print("coverage: " + e)
    print(f"coverage: quick: {n} fail directions of {len(checks)} checks, by {len(wits)} witnesses (text streams, "
          f"unit programs) replayed alone in {os.path.relpath(build, ROOT)} ({time.time() - t0:.0f} s): "
          + ("all taken" if not errors else "FAIL"))
    return 1 if errors else 0


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
    ap.add_argument("--quick", action="store_true",
                    help="only replay the checks table's fail witnesses that are text streams or unit programs, and "
                         "fail if one no longer takes its check's fail direction (make test)")
    ap.add_argument("--check-exclusions", action="store_true",
                    help="only check that every exclusion and every check row of docs/coverage.md names one line "
                         "of its file, and that every check call of alloc/ has a row")
    args = ap.parse_args()
    if args.check_exclusions:
        rows = parse_exclusions(EXCLUSIONS_DOC)
        excl, errors = resolve_exclusions(rows)
        for e in errors:
            print("coverage: " + e)
        print(f"coverage: {len(rows)} exclusion(s), {sum(len(v) for v in excl.values())} line(s): "
              + ("ok" if not errors and rows else "FAIL"))
        crows = parse_checks(CHECKS_DOC)
        _, cerr = resolve_checks(crows)
        for e in cerr:
            print("coverage: " + e)
        print(f"coverage: {len(crows)} check(s) in the checks table: " + ("ok" if not cerr and crows else "FAIL"))
        return 0 if not errors and rows and not cerr and crows else 1

    build = os.path.join(ROOT, args.build) if not os.path.isabs(args.build) else args.build
    out = os.path.join(ROOT, args.out) if not os.path.isabs(args.out) else args.out
    prof = os.path.join(build, "prof")
    os.makedirs(out, exist_ok=True)
    rel_build = os.path.relpath(build, ROOT)
    make = [args.make, "--no-print-directory", f"-j{args.jobs}", f"BUILD={rel_build}", f"CC={args.cc}",
            "STRESS_SECONDS=1"]
    env = dict(os.environ)
    env.pop("MAKEFLAGS", None)
    env.pop("MFLAGS", None)
    groups = []   # (label, profile folder), in the order they ran

    def group_env(label):
        """The environment of one profile group: its own folder of profiles."""
        d = os.path.join(prof, "g%04d" % len(groups))
        os.makedirs(d, exist_ok=True)
        groups.append((label, d))
        with open(os.path.join(d, "label"), "w") as fh:
            fh.write(label)
        return dict(env, LLVM_PROFILE_FILE=os.path.join(d, "%c%m-%p.profraw"))
    def fresh_build(build, cc):
        """The coverage tree, emptied if its objects came from another compiler command."""
        stamp = os.path.join(build, "cc.txt")
        if os.path.exists(stamp) and open(stamp).read() != cc:
            shutil.rmtree(build)
        os.makedirs(build, exist_ok=True)
        with open(stamp, "w") as fh:
            fh.write(cc)
    if args.quick:
        fresh_build(build, args.cc)
        return quick(args, build, make, env)
    failed = []
    wanted = args.suites.split(",")
    if not args.no_run:
        fresh_build(build, args.cc)
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
                    for d in ["corpus/regressions", "corpus/text", f"corpus/{t}"]:
                        # the text folders one file a process under one driver, so a check
                        # direction can be traced to the file that took it
                        per_file = t == FILE_DRIVER and d in TEXT_DIRS
                        runs = ([[f] for f in sorted(glob.glob(os.path.join(ROOT, d, "*.txt")))] if per_file
                                else [[d]])
                        for run in runs:
                            label = os.path.relpath(run[0], ROOT) if per_file else f"regress-{t} {d}"
                            r, _, s_ = sh([f"{rel_build}/rgcc/regress-{t}"] + run, env=group_env(label), quiet=True)
                            rc, secs = rc or r, secs + s_
                    for extra in args.extra_corpus:   # verdicts of unreviewed streams are not checked
                        d = os.path.join(extra, t)
                        if os.path.isdir(d):
                            secs += sh([f"{rel_build}/rgcc/regress-{t}", d], env=group_env(f"regress-{t} {d}"),
                                       quiet=True)[2]
            elif name == "unit":   # one program a group: the first to take a direction is named
                rc, _, secs = sh(make + ["unit-bins"], env=env, quiet=True)
                bins = subprocess.run(make + ["-s", "list-unit-bins"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                      text=True).stdout.split()
                for b in bins if rc == 0 else []:
                    r, _, s_ = sh([b], env=group_env("tests/unit: " + os.path.basename(b)), quiet=True)
                    rc, secs = rc or r, secs + s_
            else:
                rc, _, secs = sh(make + targets, env=group_env(name), quiet=True)
            print(f"[coverage] {name:<8} {'ok' if rc == 0 else 'FAIL'} ({secs:.0f}s)")
            if rc:
                failed.append(name)

    if args.no_run:
        for d in sorted(glob.glob(os.path.join(prof, "g[0-9]*"))):
            if os.path.exists(os.path.join(d, "label")):
                groups.append((open(os.path.join(d, "label")).read(), d))
    raws = glob.glob(os.path.join(prof, "**", "*.profraw"), recursive=True)
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

    # the checks: both directions of each, in the builds with every release check on
    checks, cerr = resolve_checks(parse_checks(CHECKS_DOC))
    errors += cerr
    by = check_directions(args, build, objs, groups, checks)
    check_rows, untaken_checks = [], 0
    errors += witness_errors(args, build, objs, groups, checks, by)
    for ((name, f, _, cond, fails, reasons, _), ln), taken in zip(checks, by):
        cells = []
        for k, d in enumerate(("pass", "fail")):
            if taken[k]:
                cells.append(f"yes: {taken[k]}")
                if d in reasons:
                    errors.append(f"check `{name}` ({f}:{ln}): the {d} direction was taken ({taken[k]}) "
                                  f"but the table says why it is not: remove the reason")
            elif d in reasons:
                cells.append(f"no (reason: {reasons[d]})")
            else:
                cells.append("**NO**")
                untaken_checks += 1
                errors.append(f"check `{name}` ({f}:{ln}, `{cond}` {'true' if fails == (d == 'fail') else 'false'}): "
                              f"the {d} direction is untaken and the checks table gives no reason")
        check_rows.append((name, f"{f}:{ln}", cond, "true" if fails else "false", cells))
    check_lines = {(c[1], ln) for c, ln in checks}

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
    ndir = 2 * len(check_rows)
    ntaken = sum(1 for r in check_rows for c in r[4] if c.startswith("yes"))
    nreason = sum(1 for r in check_rows for c in r[4] if c.startswith("no (reason"))
    md += ["", f"## Checks ({CHECKS_DOC}): both directions", "",
           f"{len(check_rows)} checks, {ndir} directions: {ntaken} taken, {nreason} untaken with a reason, "
           f"{untaken_checks} untaken without one. Taken means in a build with every release check on (weakened "
           "builds, debug-norel and nochecks do not count); `by` is the first input that took it (a text stream "
           "replayed alone, a test program, or a corpus folder).", "",
           "| check | site | condition | fails when | pass | fail |", "|---|---|---|---|---|---|"]
    md += [f"| {n} | {site} | `{c.replace('|', '¦')}` | {fw} | {cells[0].replace('|', '¦')} | {cells[1].replace('|', '¦')} |"
           for n, site, c, fw, cells in check_rows]
    md += ["", f"## Lines not reached ({len(missing_lines)})", "", "| file | line | source |", "|---|---:|---|"]
    md += [f"| {f} | {n} | `{s.replace('|', '¦')}` |" for f, n, s in missing_lines]
    nchk = sum(1 for f, n, _, _ in missing_branches if (f, n) in check_lines)
    md += ["", f"## Branch directions not taken ({len(missing_branches)})", "",
           f"Over every build, weakened ones included; {nchk} of them are on a check's line (the checks table above "
           f"says which matter), {len(missing_branches) - nchk} are other branches (list-length guards, "
           "error paths of the OS calls).", "",
           "| file | line | direction | source |", "|---|---:|---|---|"]
    md += [f"| {f} | {n} | {d} | `{s.replace('|', '¦')}` |" for f, n, d, s in missing_branches]
    report = "\n".join(md) + "\n"
    with open(os.path.join(out, "report.md"), "w") as fh:
        fh.write(report)
    # the console gets the tables, not the long lists
    print("\n".join(md[:md.index(f"## Lines not reached ({len(missing_lines)})")]))
    print(f"coverage: checks: {ntaken}/{ndir} directions taken, {nreason} untaken with a reason, "
          f"{untaken_checks} untaken without one")
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
