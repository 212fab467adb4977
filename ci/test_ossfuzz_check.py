#!/usr/bin/env python3
"""ci/test_ossfuzz_check.py - the checks of ci/ossfuzz_check.py must catch what they are
for (run by `make test-ossfuzz` before the builds; a second or so).

Each case breaks one thing in a copy of the service files, or feeds the sanitizer check
the call-site counts of a broken build, and requires the BAD BUILD line it must give;
the repository's own files must give none. Last, `make ossfuzz` without OUT (or with an
unknown SANITIZER) must stop with exit 2 and say why. Exit 0 if every case holds."""
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ossfuzz_check as oc  # noqa: E402

FILES = [".clusterfuzzlite/project.yaml", ".clusterfuzzlite/build.sh", ".clusterfuzzlite/Dockerfile",
         ".dockerignore"] + [os.path.join(".github/workflows", f)
                             for f in sorted(os.listdir(os.path.join(oc.ROOT, ".github/workflows")))
                             if f.startswith("cflite_")]


def quiet_report():
    rep = oc.Report()
    rep.fail = rep.bad.append          # collect, do not print
    return rep


def service_problems(edit=None):
    with tempfile.TemporaryDirectory() as d:
        for f in FILES:
            os.makedirs(os.path.dirname(os.path.join(d, f)), exist_ok=True)
            shutil.copy(os.path.join(oc.ROOT, f), os.path.join(d, f))
        if edit:
            edit(d)
        rep = quiet_report()
        oc.check_service_files(rep, oc.read_project_yaml(os.path.join(d, ".clusterfuzzlite/project.yaml")), d)
        return rep.bad


def rewrite(path, old, new):
    def edit(d):
        p = os.path.join(d, path)
        with open(p) as f:
            s = f.read()
        assert old in s, f"{path} has no '{old}' to break"
        with open(p, "w") as f:
            f.write(s.replace(old, new))
    return edit


def remove(path):
    return lambda d: os.remove(os.path.join(d, path))


CASES = [
    ("no .dockerignore", remove(".dockerignore"), "keep build/ out"),
    ("project.yaml without main_repo", rewrite(".clusterfuzzlite/project.yaml", "main_repo:", "#main_repo:"),
     "has no main_repo"),
    ("project.yaml with an engine the check cannot build",
     rewrite(".clusterfuzzlite/project.yaml", "  - afl\n", "  - afl\n  - honggfuzz\n"), "engine honggfuzz"),
    ("build.sh restating flags", rewrite(".clusterfuzzlite/build.sh", "make -j", "$CC $CFLAGS -c x.c\nmake -j"),
     "restate no compiler flag"),
    ("no continuous build upload", rewrite(".github/workflows/cflite_build.yml", "upload-build: true", "upload-build: false"),
     "upload-build: true"),
    ("PR fuzzing without SARIF", rewrite(".github/workflows/cflite_pr.yml", "output-sarif: true\n          # storage",
                                         "output-sarif: false\n          # storage"),
     "without `output-sarif: true`"),
    ("a workflow sanitizer project.yaml does not list",
     rewrite(".github/workflows/cflite_pr.yml", "          - undefined\n", "          - undefined\n          - memory\n"),
     "sanitizer memory is not in"),
    ("no pruning", remove(".github/workflows/cflite_cron.yml"), "mode prune"),
]

# call-site counts of broken builds -> the line the check must give
CALLS = [
    ("UBSan build with the weak ASan callback (the bug the service found)", "undefined",
     {"asan": 1, "ubsan": 1234, "msan": 0, "dfsan": 0}, "UBSan build of B seems to be compiled with ASan"),
    ("ASan build without ASan", "address", {"asan": 12, "ubsan": 4, "msan": 0, "dfsan": 0},
     "does not seem to be compiled with ASan"),
    ("ASan build with UBSan too (the old combined flavor)", "address",
     {"asan": 3400, "ubsan": 1234, "msan": 0, "dfsan": 0}, "ASan build of B seems to be compiled with UBSan"),
    ("UBSan build without UBSan", "undefined", {"asan": 0, "ubsan": 4, "msan": 0, "dfsan": 0},
     "does not seem to be compiled with UBSan"),
    ("coverage build with ASan", "coverage", {"asan": 1, "ubsan": 3, "msan": 0, "dfsan": 0},
     "coverage build of B seems to be compiled with ASan"),
]


def make_ossfuzz(*args):
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "OUT")}
    return subprocess.run(["make", "-s", "--no-print-directory", "-C", oc.ROOT, "ossfuzz", *args],
                          env=env, capture_output=True, text=True, check=False)


def main():
    failed = 0

    def verdict(ok, name, detail=""):
        nonlocal failed
        failed += not ok
        print(f"{'ok  ' if ok else 'FAIL'} {name}{': ' + detail if detail and not ok else ''}")

    base = service_problems()
    verdict(not base, "the repository's service files pass", "; ".join(base))
    for name, edit, want in CASES:
        got = service_problems(edit)
        verdict(any(want in g for g in got), f"caught: {name}", f"wanted '{want}', got {got}")
    for name, san, counts, want in CALLS:
        rep = quiet_report()
        oc.check_calls(rep, san, "B", counts)
        verdict(any(want in g for g in rep.bad), f"caught: {name}", f"wanted '{want}', got {rep.bad}")
    rep = quiet_report()
    oc.check_calls(rep, "undefined", "B", {"asan": 0, "ubsan": 1234, "msan": 0, "dfsan": 0})
    verdict(not rep.bad, "a good UBSan build passes", "; ".join(rep.bad))
    p = make_ossfuzz()
    verdict(p.returncode == 2 and "OUT is not set" in p.stdout + p.stderr, "make ossfuzz without OUT: exit 2",
            f"exit {p.returncode}: {(p.stdout + p.stderr).strip()[:200]}")
    with tempfile.TemporaryDirectory() as d:
        p = make_ossfuzz(f"OUT={d}", "SANITIZER=thread")
        verdict(p.returncode == 2 and "unknown SANITIZER=thread" in p.stdout + p.stderr and not os.listdir(d),
                "make ossfuzz SANITIZER=thread: exit 2, nothing built",
                f"exit {p.returncode}: {(p.stdout + p.stderr).strip()[:200]}")
    total = 1 + len(CASES) + len(CALLS) + 3
    print(f"test_ossfuzz_check: {total - failed} of {total} cases hold")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
