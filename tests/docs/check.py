#!/usr/bin/env python3
"""tests/docs/check.py [--replay BIN] - the documentation says what the code does.

Checks, one status line each, exit 1 if any fails:
  self-contained  no tracked file refers to anything outside the repository (a parent
                  directory's files, the product brief) or to internal issue numbers
  links           every relative Markdown link of every .md file names a file that exists
  environment     every variable the code reads (C getenv, Python os.environ / getenv,
                  the HAKMEM_/NIGHTLY_/SMOKE_/VERIFY_/BENCH_/STRESS_ defaults of the
                  scripts) and every `make` variable a user may set (`NAME ?=`) is
                  listed in docs/environment.md
  workflow        .github/workflows/test.yml runs the README's test command on push and
                  pull request
  op-format       (with --replay) every example stream in docs/op-format.md parses, and
                  survives text -> binary -> text unchanged; every example error is
                  refused with the message the document gives
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
failures = []


def status(name, problems):
    if problems:
        failures.append(name)
        print(f"[docs] {name:<16} FAIL")
        for p in problems[:40]:
            print(f"    | {p}")
        if len(problems) > 40:
            print(f"    | ... and {len(problems) - 40} more")
    else:
        print(f"[docs] {name:<16} ok")


def tracked_files():
    try:
        out = subprocess.run(["git", "-C", ROOT, "ls-files", "-z"], capture_output=True, check=True).stdout
        files = [f for f in out.decode().split("\0") if f]
    except (OSError, subprocess.CalledProcessError):   # a tarball, not a clone
        files = []
        for d, dirs, names in os.walk(ROOT):
            dirs[:] = [x for x in dirs if x not in (".git", "build")]
            files += [os.path.relpath(os.path.join(d, n), ROOT) for n in names]
    return [f for f in files if os.path.isfile(os.path.join(ROOT, f))]


def text_of(path):
    try:
        with open(os.path.join(ROOT, path), encoding="utf-8") as f:
            return f.read()
    except (UnicodeDecodeError, OSError):
        return None   # binary (corpus inputs)


def check_self_contained(files):
    # Built from pieces so that this file does not match itself.
    outside = re.compile(r"\.\./" + r"shared|" + "BRI" + r"EF\.md|of the " + "brief")
    issue = re.compile(r"\b[Ii]ssues?[ -]#?[0-9]+\b|\b[Ii]ssue-[0-9]+\b")
    problems = []
    for f in files:
        t = text_of(f)
        if t is None:
            continue
        for n, line in enumerate(t.splitlines(), 1):
            if outside.search(line) or issue.search(line):
                problems.append(f"{f}:{n}: {line.strip()[:110]}")
    status("self-contained", problems)


def check_links(files):
    link = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
    problems = []
    for f in files:
        if not f.endswith(".md"):
            continue
        t = text_of(f) or ""
        t = re.sub(r"```.*?```", "", t, flags=re.S)   # code blocks hold no links
        for m in link.finditer(t):
            target = m.group(1).split("#")[0]
            if not target or re.match(r"[a-z]+:", target):
                continue
            path = os.path.normpath(os.path.join(os.path.dirname(os.path.join(ROOT, f)), target))
            if not os.path.exists(path):
                problems.append(f"{f}: link to {m.group(1)}: no such file")
    status("links", problems)


def check_environment(files):
    doc = text_of("docs/environment.md") or ""
    listed = set(re.findall(r"`([A-Z][A-Z0-9_]*)(?:<[A-Z]+>)?`", doc))
    prefixes = set(re.findall(r"`([A-Z][A-Z0-9_]*_)<[A-Z]+>`", doc))
    read = {}
    c_get = re.compile(r'getenv\("([A-Z][A-Z0-9_]*)"')
    py_get = re.compile(r"""os\.(?:environ(?:\.get)?[\[(]|getenv\()\s*['"]([A-Z][A-Z0-9_]*)['"]""")
    sh_get = re.compile(r"\$\{((?:HAKMEM|NIGHTLY|SMOKE|VERIFY|BENCH|STRESS)_[A-Z0-9_]*):?[-=]")
    mk_set = re.compile(r"^([A-Z][A-Z0-9_]*)\s*\?=", re.M)
    for f in files:
        t = text_of(f)
        if t is None or f.startswith("tests/docs/"):
            continue
        pats = []
        if f.endswith((".c", ".h")):
            pats = [c_get]
        elif f.endswith(".py"):
            pats = [py_get]
        elif f.endswith(".sh") or f in (".ci/run",):
            pats = [sh_get]
        elif f.endswith(".mk") or os.path.basename(f) == "Makefile":
            pats = [mk_set]
        for p in pats:
            for name in p.findall(t):
                read.setdefault(name, f)
    problems = [f"{name} (read in {where}) is not in docs/environment.md"
                for name, where in sorted(read.items())
                if name not in listed and not any(name.startswith(p) for p in prefixes)]
    status("environment", problems)


def check_workflow():
    problems = []
    wf = text_of(".github/workflows/test.yml")
    readme = text_of("README.md") or ""
    if wf is None:
        problems.append(".github/workflows/test.yml is missing")
    else:
        m = re.search(r"```sh\n(.*?)```", readme, re.S)
        cmds = [l.split("#")[0].strip() for l in (m.group(1) if m else "").splitlines() if l.strip()]
        test_cmd = next((c for c in cmds if c.startswith("make test")), None)
        if not test_cmd:
            problems.append("the README's first command block has no `make test`")
        elif not re.search(r"^\s*run:\s*" + re.escape(test_cmd) + r"\s*$", wf, re.M):
            problems.append(f"the workflow does not run `{test_cmd}`")
        for ev in ("push", "pull_request"):
            if not re.search(r"^\s*" + ev + r":", wf, re.M):
                problems.append(f"the workflow does not run on {ev}")
    status("workflow", problems)


def replay(binary, *args):
    return subprocess.run([binary, *args], capture_output=True, text=True)


def op_lines(text):
    return [l.split("#")[0].strip() for l in text.splitlines() if l.split("#")[0].strip()]


def check_op_format(binary):
    doc = text_of("docs/op-format.md")
    problems = []
    if doc is None:
        status("op-format", ["docs/op-format.md is missing"])
        return
    blocks = re.findall(r"```ops\n(.*?)```", doc, re.S)
    errors = re.findall(r"```ops-error\n(.*?)```", doc, re.S)
    if len(blocks) < 10:
        problems.append(f"only {len(blocks)} example streams (```ops blocks)")
    with tempfile.TemporaryDirectory() as tmp:
        txt, binp, back = (os.path.join(tmp, n) for n in ("ex.txt", "ex.bin", "back.txt"))
        for i, b in enumerate(blocks, 1):
            with open(txt, "w") as f:
                f.write("#hakmem-ops\n" + b)
            r = replay(binary, "--to-text", txt)   # parse, print canonically
            if r.returncode:
                problems.append(f"example {i} does not parse: {r.stderr.strip()}\n{b}")
                continue
            canon = op_lines(r.stdout)
            if len(canon) != len(op_lines(b)):
                problems.append(f"example {i}: {len(op_lines(b))} lines but {len(canon)} ops")
            r = replay(binary, "--target", "ops", "--to-bin", "-o", binp, txt)
            r2 = replay(binary, "--target", "ops", "--to-text", "-o", back, binp) if not r.returncode else r
            if r.returncode or r2.returncode:
                problems.append(f"example {i} does not encode: {(r.stderr or r2.stderr).strip()}")
                continue
            with open(back) as f:
                again = op_lines(f.read())
            if again != canon:
                problems.append(f"example {i}: text -> binary -> text changed it:\n{canon}\n{again}")
        for i, b in enumerate(errors, 1):
            for line in b.splitlines():
                if not line.strip():
                    continue
                m = re.match(r"(.*?)\s+# error: (.*)$", line)
                if not m:
                    problems.append(f"error example {i}: no '# error: MESSAGE' on: {line}")
                    continue
                with open(txt, "w") as f:
                    f.write("#hakmem-ops\n" + m.group(1) + "\n")
                r = replay(binary, "--to-text", txt)
                if r.returncode != 2 or m.group(2) not in r.stderr:
                    problems.append(f"'{m.group(1)}': wanted exit 2 and '{m.group(2)}', got exit {r.returncode}: {r.stderr.strip()}")
    # every op and every kind the parser knows appears in some example
    words = set()
    for b in blocks:
        for l in op_lines(b):
            words.update(l.split())
    for name in re.findall(r"^\| `([a-z_]+)` \|", doc, re.M):
        if name not in words:
            problems.append(f"`{name}` (in a table) appears in no example")
    status("op-format", problems)


def main():
    ap = argparse.ArgumentParser(description="check that the documentation matches the code")
    ap.add_argument("--replay", help="hakmem-replay binary: also check docs/op-format.md's examples")
    a = ap.parse_args()
    files = tracked_files()
    check_self_contained(files)
    check_links(files)
    check_environment(files)
    check_workflow()
    if a.replay:
        check_op_format(a.replay)
    print(f"docs: {'all checks ok' if not failures else 'failed: ' + ', '.join(failures)}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
