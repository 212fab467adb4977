#!/usr/bin/env python3
"""ci/ossfuzz_check.py - build the fuzz targets as OSS-Fuzz / ClusterFuzzLite builds them,
then check every binary the way the service's runner checks a build.

    ci/ossfuzz_check.py [--builds libfuzzer-address,...] [--fuzz-seconds N]
                        [--dir build/ossfuzz] TARGET...

First it checks the service files (project.yaml's fields, .dockerignore, that build.sh
only calls make, the cflite_*.yml workflows). Then, for each build (ENGINE-SANITIZER;
default: libFuzzer with every sanitizer that
.clusterfuzzlite/project.yaml lists plus coverage, and AFL++ with address), this script
  1. sets the environment that OSS-Fuzz's base-builder image and its `compile` script set
     for that engine and sanitizer (CC, CXX, CFLAGS, CXXFLAGS, LIB_FUZZING_ENGINE,
     SANITIZER, FUZZING_ENGINE, SRC, OUT, WORK; the values are in BUILDER below), and runs
     .clusterfuzzlite/build.sh in the checkout, as the service does;
  2. finds the fuzz targets in OUT the way the runner finds them (executable ELF files
     that contain LLVMFuzzerTestOneInput), requires exactly TARGET... and, for each, its
     .dict, an .options file the runner can parse, and a non-empty _seed_corpus.zip;
  3. moves OUT elsewhere (a build that hard-codes its OUT path breaks on the service),
     and checks each binary: built for x86-64; call sites into each sanitizer runtime
     counted in its disassembly (enough for the sanitizer asked for, none or few for the
     others, with the runner's thresholds); the engine's own checks (libFuzzer: coverage
     instrumentation and at least 100 edges, a clean start; AFL++: afl-fuzz gets to
     "All set and ready to roll" and finds edges); the seed corpus runs clean; a few
     seconds of fuzzing from it run (libFuzzer and AFL++ both, under the runner's
     ASAN_OPTIONS / UBSAN_OPTIONS and the target's .options); for the coverage
     build, the corpus run writes a profile that llvm-profdata and llvm-cov read.
Every failed check prints one "BAD BUILD: ..." line (the service's wording where it has
one). A crash that the short fuzz run finds after it got going is not a bad build but a
defect the service's fuzzing job would report: it prints a "FINDING: ..." line (the
oracle's verdict if it gave one) and keeps the input in <dir>/findings/. The closing
tables give, per binary, the counts and exec/s (wall-clock, and per CPU-second, which
is per core and does not depend on the machine's load), and per build the streams per
CPU-second of each fault class, the units of the nightly summary.
Exit 0 if every check passed (findings included), 1 if any failed, 2 on misuse.

The checks are this project's own, written from how OSS-Fuzz's base-runner checks a build
(bad_build_check, test_all.py, run_fuzzer); where this script is stricter (a UBSan
"runtime error" line fails a run even when the sanitizer recovered; every target must
pass, where the runner lets 10% of them fail; the coverage build is checked too). One deliberate difference from the image: base-clang
adds -stdlib=libc++ to CXXFLAGS; Debian's libFuzzer is built against libstdc++, so the
stand-in links against that (hakmem has no C++ of its own, only the engine is C++).
"""

import argparse
import configparser
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "harness"))
import fault_classes  # noqa: E402  (the one table of fault classes: harness/fault_classes.def)

# --- the build environment, as OSS-Fuzz's images set it --------------------------------
# base-clang's CFLAGS (its Dockerfile), base-builder's SANITIZER_FLAGS_* and
# COVERAGE_FLAGS* (its Dockerfile), and what `compile` / compile_libfuzzer / compile_afl
# do with them. One table: nothing else in the repository restates these.
BUILDER = {
    "cflags": "-O1 -fno-omit-frame-pointer -gline-tables-only "
              "-Wno-error=incompatible-function-pointer-types -Wno-error=int-conversion "
              "-Wno-error=deprecated-declarations -Wno-error=implicit-function-declaration "
              "-Wno-error=implicit-int -Wno-error=unknown-warning-option "
              "-Wno-error=vla-cxx-extension -DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION",
    "cxxflags_extra": "-stdlib=libc++",     # not applied here: see the docstring
    "sanitizer_flags": {
        "address": "-fsanitize=address -fsanitize-address-use-after-scope",
        "undefined": "-fsanitize=array-bounds,bool,builtin,enum,function,"
                     "integer-divide-by-zero,null,object-size,return,"
                     "returns-nonnull-attribute,shift,signed-integer-overflow,"
                     "unsigned-integer-overflow,unreachable,vla-bound,vptr "
                     "-fno-sanitize-recover=array-bounds,bool,builtin,enum,function,"
                     "integer-divide-by-zero,null,object-size,return,"
                     "returns-nonnull-attribute,shift,signed-integer-overflow,"
                     "unreachable,vla-bound,vptr",
        "coverage": "",
    },
    "coverage_flags": "-fsanitize=fuzzer-no-link",
    "coverage_flags_by_sanitizer": {
        "coverage": "-fprofile-instr-generate -fcoverage-mapping -pthread -Wl,--no-as-needed "
                    "-Wl,-ldl -Wl,-lm -Wno-unused-command-line-argument",
    },
    # `compile` appends this to CFLAGS (not CXXFLAGS) in an undefined build
    "c_extra_by_sanitizer": {"undefined": "-fno-sanitize=function"},
}
# Engines: the compilers and engine library each compile_<engine> script sets up; the
# stand-in's AFL++ is Debian's (tools/deps.sh afl). AFL++ brings its own coverage
# instrumentation, so `compile` clears COVERAGE_FLAGS for it.
ENGINES = {
    "libfuzzer": {"cc": "clang", "cxx": "clang++", "lib": "-fsanitize=fuzzer",
                  "coverage_flags": True},
    "afl": {"cc": "afl-clang-fast", "cxx": "afl-clang-fast++",
            "lib": "/usr/lib/afl/libAFLDriver.a", "coverage_flags": False,
            "env": {"AFL_QUIET": "1", "AFL_IGNORE_PROBLEMS": "1", "AFL_IGNORE_UNKNOWN_ENVS": "1",
                    "ASAN_OPTIONS": "detect_leaks=0:symbolize=0:detect_odr_violation=0:abort_on_error=1"}},
}
# The sanitizers each engine is built with on OSS-Fuzz (AFL++ and honggfuzz: address only).
ENGINE_SANITIZERS = {"libfuzzer": ("address", "undefined", "memory", "coverage"),
                     "afl": ("address",)}

# --- the runner's environment (base-runner's Dockerfile and run_fuzzer) ----------------
RUNNER = {
    "ASAN_OPTIONS": "alloc_dealloc_mismatch=0:allocator_may_return_null=1:"
                    "allocator_release_to_os_interval_ms=500:check_malloc_usable_size=0:"
                    "detect_container_overflow=1:detect_odr_violation=0:detect_leaks=1:"
                    "detect_stack_use_after_return=1:fast_unwind_on_fatal=0:handle_abort=1:"
                    "handle_segv=1:handle_sigill=1:max_uar_stack_size_log=16:print_scariness=1:"
                    "quarantine_size_mb=10:strict_memcmp=1:strip_path_prefix=/workspace/:"
                    "symbolize=1:use_sigaltstack=1:dedup_token_length=3",
    "UBSAN_OPTIONS": "print_stacktrace=1:print_summary=1:silence_unsigned_overflow=1:"
                     "strip_path_prefix=/workspace/:symbolize=1:dedup_token_length=3",
    "MSAN_OPTIONS": "print_stats=1:strip_path_prefix=/workspace/:symbolize=1:dedup_token_length=3",
}
FUZZER_ARGS = ["-rss_limit_mb=2560", "-timeout=25"]
AFL_FUZZER_ARGS = ["-m", "none", "-t", "5000+"]
AFL_RUN_ENV = {"AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES": "1", "AFL_SKIP_CPUFREQ": "1",
               "AFL_TRY_AFFINITY": "1", "AFL_FAST_CAL": "1", "AFL_CMPLOG_ONLY_NEW": "1",
               "AFL_FORKSRV_INIT_TMOUT": "30000", "AFL_IGNORE_PROBLEMS": "1",
               "AFL_IGNORE_UNKNOWN_ENVS": "1", "AFL_NO_UI": "1"}
AFL_RUN_SANITIZER_EXTRA = {"ASAN_OPTIONS": "abort_on_error=1:symbolize=0:detect_odr_violation=0",
                           "MSAN_OPTIONS": "exit_code=86:symbolize=0",
                           "UBSAN_OPTIONS": "symbolize=0"}

# --- the runner's thresholds (bad_build_check) -----------------------------------------
MIN_RUNS = 4
MIN_EDGES = 100
RUNTIMES = ("asan", "ubsan", "msan", "dfsan")
# sanitizer asked for -> {runtime: (min, max)} of call sites; None = no bound
CALL_BOUNDS = {
    "address": {"asan": (1000, None), "ubsan": (None, 200), "msan": (None, 3), "dfsan": (None, 0)},
    "undefined": {"asan": (None, 0), "ubsan": (168, None), "msan": (None, 3), "dfsan": (None, 0)},
    # the runner skips a coverage build; here it gets the bounds of a build without any
    # sanitizer (the engine's own runtime makes a few __ubsan calls in every build)
    "coverage": {"asan": (None, 0), "ubsan": (None, 200), "msan": (None, 3), "dfsan": (None, 0)},
}
CALL_RE = re.compile(r"\bcallq?\s+[0-9a-f]+\s+<__(asan|ubsan|msan|dfsan)")
SAN_NAME = {"asan": "ASan", "ubsan": "UBSan", "msan": "MSan", "dfsan": "DFSan",
            "address": "ASan", "undefined": "UBSan", "coverage": "coverage"}


def read_project_yaml(path):
    """The top-level scalars and lists of a flat project.yaml (the only shapes it uses)."""
    data, key = {}, None
    with open(path) as f:
        for raw in f:
            line = raw.split("#", 1)[0].rstrip() if not raw.lstrip().startswith("#") else ""
            if not line.strip():
                continue
            m = re.match(r"^([a-z_]+):\s*(.*)$", line)
            if m:
                key, val = m.group(1), m.group(2).strip().strip("'\"")
                data[key] = val if val else []
            elif line.lstrip().startswith("- ") and key and isinstance(data.get(key), list):
                data[key].append(line.lstrip()[2:].strip().strip("'\""))
            else:
                raise ValueError(f"{path}: cannot read line: {raw.rstrip()}")
    return data


class Report:
    def __init__(self):
        self.bad = []
        self.rows = []
        self.findings = []
        self.lock = threading.Lock()

    def found(self, msg):
        with self.lock:
            self.findings.append(msg)
            sys.stdout.write(f"FINDING: {msg}\n")
            sys.stdout.flush()

    def fail(self, msg):
        with self.lock:
            self.bad.append(msg)
            sys.stdout.write(f"BAD BUILD: {msg}\n")
            sys.stdout.flush()


def builder_env(engine, sanitizer, src, out, work):
    """The environment `compile` hands to build.sh for ENGINE and SANITIZER."""
    e = ENGINES[engine]
    cov = BUILDER["coverage_flags_by_sanitizer"].get(sanitizer, BUILDER["coverage_flags"])
    if not e["coverage_flags"]:
        cov = ""
    cflags = " ".join(x for x in (BUILDER["cflags"], BUILDER["sanitizer_flags"][sanitizer], cov) if x)
    cxxflags = cflags
    extra = BUILDER["c_extra_by_sanitizer"].get(sanitizer)
    if extra:
        cflags += " " + extra
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    env.update(CC=e["cc"], CXX=e["cxx"], CFLAGS=cflags, CXXFLAGS=cxxflags,
               LIB_FUZZING_ENGINE=e["lib"], SANITIZER=sanitizer, FUZZING_ENGINE=engine,
               FUZZING_LANGUAGE="c", ARCHITECTURE="x86_64", SRC=src, OUT=out, WORK=work,
               UBSAN_OPTIONS="silence_unsigned_overflow=1")
    env.update(e.get("env", {}))
    return env


def find_targets(out):
    """Fuzz targets in OUT, found the way the runner finds them."""
    found = []
    for name in sorted(os.listdir(out)):
        p = os.path.join(out, name)
        if name == "llvm-symbolizer" or name.startswith(("afl-", "jazzer_")):
            continue
        if not os.path.isfile(p) or not os.access(p, os.X_OK):
            continue
        with open(p, "rb") as f:
            data = f.read()
        if data[:4] != b"\x7fELF" and not data.startswith(b"#!"):
            continue
        if b"LLVMFuzzerTestOneInput" in data:
            found.append(name)
    return found


def elf_machine(path):
    with open(path, "rb") as f:
        h = f.read(20)
    return int.from_bytes(h[18:20], "little") if h[:4] == b"\x7fELF" else None


def call_counts(path):
    dis = subprocess.run(["objdump", "-d", "--no-show-raw-insn", path], capture_output=True,
                         text=True, errors="replace", check=False).stdout
    counts = dict.fromkeys(RUNTIMES, 0)
    for m in CALL_RE.finditer(dis):
        counts[m.group(1)] += 1
    return counts


def check_calls(rep, sanitizer, binpath, counts):
    for rt, (lo, hi) in CALL_BOUNDS[sanitizer].items():
        n = counts[rt]
        if lo is not None and n < lo:
            rep.fail(f"{binpath} does not seem to be compiled with {SAN_NAME[rt]} "
                     f"({n} call sites into __{rt}*, at least {lo} wanted).")
        if hi is not None and n > hi:
            rep.fail(f"{SAN_NAME[sanitizer]} build of {binpath} seems to be compiled with "
                     f"{SAN_NAME[rt]} ({n} call sites into __{rt}*, at most {hi} allowed).")


def options_of(path):
    """The .options file, as the runner reads it: {section: {key: value}}."""
    cp = configparser.ConfigParser()
    cp.read(path)
    return {s: dict(cp[s]) for s in cp.sections()}


def runner_env(opts, engine, extra=None):
    env = dict(os.environ)
    for var, sect in (("ASAN_OPTIONS", "asan"), ("UBSAN_OPTIONS", "ubsan"), ("MSAN_OPTIONS", "msan")):
        v = RUNNER[var]
        if opts.get(sect):
            v += ":" + ":".join(f"{k}={x}" for k, x in opts[sect].items())
        if engine == "afl":
            v += ":" + AFL_RUN_SANITIZER_EXTRA[var]
        env[var] = v
    if engine == "afl":
        env.update(AFL_RUN_ENV)
    env.update(extra or {})
    return env


def libfuzzer_args(opts, out, target):
    args = [f"-{k}={v}" for k, v in opts.get("libfuzzer", {}).items()]
    if not any(a.startswith("-dict=") for a in args) and os.path.exists(os.path.join(out, target + ".dict")):
        args.append(f"-dict={target}.dict")
    return args


CLK_TCK = os.sysconf("SC_CLK_TCK")


def own_cpu_ticks(pid):
    """utime + stime of one live process, in clock ticks (0 if it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            rest = f.read().rsplit(")", 1)[1].split()
        return int(rest[11]) + int(rest[12])
    except (OSError, IndexError, ValueError):
        return 0


def descendants(pid):
    out, todo = [], [pid]
    while todo:
        q = todo.pop()
        out.append(q)
        try:
            for task in os.listdir(f"/proc/{q}/task"):
                with open(f"/proc/{q}/task/{task}/children") as f:
                    todo.extend(int(c) for c in f.read().split())
        except (OSError, ValueError):
            pass
    return out


def run(cmd, cwd, env, log, timeout):
    """Run CMD with output to LOG; returns (exit status, output, wall seconds, CPU
    seconds of the process and everything it started). The CPU time is what makes
    exec/s comparable on a loaded machine: executions per CPU-second = per core. It is
    the larger of wait4's count (the process and the children it reaped) and the sum
    of what /proc showed for each descendant (afl-fuzz kills its fork server, whose
    child then is never reaped and its time would be lost)."""
    t0 = time.time()
    seen = {}
    with open(log, "w+b") as f:
        f.write((" ".join(cmd) + "\n").encode())
        f.flush()
        p = subprocess.Popen(cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=f,
                             stderr=subprocess.STDOUT)
        timed_out = False
        while True:
            for q in descendants(p.pid):
                seen[q] = max(seen.get(q, 0), own_cpu_ticks(q))
            pid, status, ru = os.wait4(p.pid, os.WNOHANG)
            if pid:
                break
            if time.time() - t0 > timeout:
                timed_out = True
                p.kill()
                pid, status, ru = os.wait4(p.pid, 0)
                break
            time.sleep(0.1)
        p.returncode = os.waitstatus_to_exitcode(status)
        f.seek(0)
        text = f.read().decode(errors="replace")
    rc = -999 if timed_out else p.returncode
    if timed_out:
        text += "\n[ossfuzz_check: timed out]\n"
    cpu = max(ru.ru_utime + ru.ru_stime, sum(seen.values()) / CLK_TCK)
    return rc, text, time.time() - t0, cpu


ANSI_RE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][0-9A-Za-z]")


def tail(text, n=12):
    """The lines that say what happened (the oracle's, the sanitizer's), then the last N."""
    lines = [l for l in ANSI_RE.sub("", text).splitlines() if l.strip()]
    key = [l for l in lines[:-n] if re.search(r"hakmem-oracle:|ERROR: |runtime error:", l)][:3]
    return "\n".join("    | " + l[:200] for l in key + lines[-n:])


FINDINGS_DIR = None   # set by main(): <dir>/findings, kept across runs


def keep_finding(rep, binp, artifact, work, txt):
    """A crash the short fuzz run found: the build works (it fuzzed until then), so it
    is not a bad build, but a defect the service's job would report. Keep the input,
    name the oracle's verdict if it gave one, and report it."""
    os.makedirs(FINDINGS_DIR, exist_ok=True)
    build = os.path.basename(os.path.dirname(work))
    name = os.path.basename(artifact).replace(":", "_").replace(",", "_")
    if not name.startswith(os.path.basename(binp)):
        name = os.path.basename(binp) + "-" + name
    dst = os.path.join(FINDINGS_DIR, f"{build}-{name}")
    shutil.copyfile(artifact, dst)
    why = re.search(r"hakmem-oracle: .*", ANSI_RE.sub("", txt))
    if not why:
        # afl-fuzz keeps the target's output to itself: run the input once more
        _, again, *_ = run([binp, dst], os.path.dirname(binp), runner_env({}, "libfuzzer"),
                           os.path.join(work, "logs", os.path.basename(dst) + ".log"), 120)
        why = re.search(r"hakmem-oracle: .*", again)
    why = why.group(0)[:200] if why else "no oracle line (a sanitizer or signal; see the log)"
    rep.found(f"{binp}: {why}; input: {dst} (replay: build/hakmem-replay --target "
              f"{os.path.basename(binp)} --trace {dst})")


def stats_path(work, t):
    """Where the harness writes its per-process counters (HAKMEM_FUZZ_STATS, the same
    counters the nightly summary adds up): <path>.<pid>.json."""
    return os.path.join(work, "stats", t)


def class_streams(work, t):
    """Streams per fault class over every process of one fuzz run."""
    tot = {}
    for fn in glob.glob(stats_path(work, t) + ".*.json"):
        try:
            with open(fn) as f:
                j = json.load(f)
        except (OSError, ValueError):
            continue
        for k, v in j.get("classes", {}).items():
            tot[k] = tot.get(k, 0) + v.get("streams", 0)
    return tot


def check_libfuzzer(rep, b, t, out, work, opts, seeds, secs):
    """bad_build_check's engine and startup checks, the seed corpus, a short fuzz run."""
    binp = os.path.join(out, t)
    row = {}
    prof = os.path.join(work, "prof")
    env = runner_env(opts, "libfuzzer", {"LLVM_PROFILE_FILE": os.path.join(prof, t + "-%p.profraw")})
    logs = os.path.join(work, "logs")
    if b["sanitizer"] != "coverage":
        # engine: a few runs with no corpus must find inputs, i.e. there are edges
        rc, txt, *_ = run([binp, "-seed=1337", f"-runs={MIN_RUNS}"], out, env,
                         os.path.join(logs, t + ".engine.log"), 120)
        if "no interesting inputs were found" in txt:
            rep.fail(f"{binp} does not seem to have coverage instrumentation.\n{tail(txt)}")
            return row
        m = re.search(r"INFO: Loaded \d+ module.*\(.*(?:counters|guards)\):\s+(\d+)", txt)
        row["edges"] = int(m.group(1)) if m else 0
        if m and row["edges"] < MIN_EDGES:
            rep.fail(f"{binp} seems to have only partial coverage instrumentation ({row['edges']} edges).")
        # startup: as run_fuzzer runs it with SKIP_SEED_CORPUS
        rc, txt, *_ = run([binp] + FUZZER_ARGS + ["-seed=1337", f"-runs={MIN_RUNS}"] + libfuzzer_args(opts, out, t),
                         out, env, os.path.join(logs, t + ".startup.log"), 120)
        if f"Done {MIN_RUNS} runs" not in txt:
            rep.fail(f"{binp} seems to have either startup crash or exit:\n{tail(txt)}")
            return row
    # the seed corpus, every input once
    rc, txt, *_ = run([binp] + FUZZER_ARGS + ["-runs=0", seeds] + libfuzzer_args(opts, out, t),
                     out, env, os.path.join(logs, t + ".seeds.log"), 300)
    if rc != 0:
        rep.fail(f"{binp} has a crashing input in its seed corpus:\n{tail(txt)}")
        return row
    if "runtime error:" in txt:
        rep.fail(f"{binp}: UBSan reported on its seed corpus (stricter than the runner: "
                 f"a recovered report fails here too):\n{tail(txt)}")
    if b["sanitizer"] == "coverage":
        check_profile(rep, binp, prof, t, row)
        return row
    # a few seconds of fuzzing from a copy of the seeds
    corpus = os.path.join(work, "corpus", t)
    shutil.copytree(seeds, corpus, dirs_exist_ok=True)
    env = dict(env, HAKMEM_FUZZ_STATS=stats_path(work, t))
    rc, txt, dt, cpu = run([binp] + FUZZER_ARGS + [corpus] + libfuzzer_args(opts, out, t)
                      + [f"-max_total_time={secs}", "-print_final_stats=1", f"-artifact_prefix={work}/{t}-"],
                      out, env, os.path.join(logs, t + ".fuzz.log"), secs + 120)
    row["cpu"] = cpu
    m = re.search(r"stat::number_of_executed_units:\s+(\d+)", txt)
    execs = int(m.group(1)) if m else 0
    m = re.search(r"stat::average_exec_per_sec:\s+(\d+)", txt)
    row["execs"], row["exec_s"] = execs, int(m.group(1)) if m else 0
    row["exec_cpu_s"] = int(execs / cpu) if cpu > 0 else 0
    art = re.search(r"Test unit written to (\S+)", txt)
    if rc != 0 and art and execs > len(os.listdir(seeds)):
        keep_finding(rep, binp, art.group(1), work, txt)
    elif rc != 0:
        rep.fail(f"{binp}: fuzzing from the seed corpus for {secs}s stopped (exit {rc}) "
                 f"without a reproducer:\n{tail(txt)}")
    elif "runtime error:" in txt:
        rep.fail(f"{binp}: UBSan reported while fuzzing (stricter than the runner):\n{tail(txt)}")
    return row


def llvm_tool(name):
    for c in (f"{name}-14", name):
        if shutil.which(c):
            return c
    return None


def check_profile(rep, binp, prof, t, row):
    raws = [os.path.join(prof, f) for f in os.listdir(prof)] if os.path.isdir(prof) else []
    raws = [r for r in raws if os.path.basename(r).startswith(t + "-") and os.path.getsize(r) > 0]
    if not raws:
        rep.fail(f"{binp}: coverage build wrote no profile over its seed corpus.")
        return
    pd, cov = llvm_tool("llvm-profdata"), llvm_tool("llvm-cov")
    if not pd or not cov:
        rep.fail(f"{binp}: llvm-profdata / llvm-cov missing (tools/deps.sh cov).")
        return
    data = os.path.join(prof, t + ".profdata")
    p = subprocess.run([pd, "merge", "-sparse", "-o", data] + raws, capture_output=True, text=True, check=False)
    if p.returncode != 0:
        rep.fail(f"{binp}: llvm-profdata merge failed: {p.stderr.strip()[:300]}")
        return
    p = subprocess.run([cov, "report", binp, f"-instr-profile={data}"], capture_output=True, text=True, check=False)
    m = re.search(r"^TOTAL\s+(\d+)\s+(\d+)\s+(\S+)%", p.stdout, re.M)
    if p.returncode != 0 or not m or int(m.group(1)) == 0:
        rep.fail(f"{binp}: llvm-cov report found no covered regions: {(p.stderr or p.stdout).strip()[:300]}")
        return
    row["cov"] = f"{m.group(3)}% regions"


def check_afl(rep, b, t, out, work, opts, seeds, secs):
    """What run_fuzzer and bad_build_check do for AFL++, over the seed corpus."""
    binp = os.path.join(out, t)
    row = {}
    corpus = os.path.join(work, "corpus", t)
    shutil.copytree(seeds, corpus, dirs_exist_ok=True)
    with open(os.path.join(corpus, "input"), "w") as f:   # run_fuzzer's extra input
        f.write("input\n")
    fout = os.path.join(work, "afl-out", t)
    shutil.rmtree(fout, ignore_errors=True)
    os.makedirs(os.path.dirname(fout), exist_ok=True)
    dict_arg = []
    d = opts.get("libfuzzer", {}).get("dict") or (t + ".dict")
    if os.path.exists(os.path.join(out, d)):
        dict_arg = ["-x", d]
    env = runner_env(opts, "afl", {"HAKMEM_FUZZ_STATS": stats_path(work, t)})
    rc, txt, _, cpu = run(["afl-fuzz"] + AFL_FUZZER_ARGS + ["-V", str(secs), "-i", corpus, "-o", fout]
                     + dict_arg + ["--", binp], out, env,
                     os.path.join(work, "logs", t + ".afl.log"), secs + 180)
    if "All set and ready to roll" not in txt:
        rep.fail(f"fuzzing {binp} with afl-fuzz failed.\n{tail(txt)}")
        return row
    if re.search(r"target binary (crashed|terminated)", txt):
        rep.fail(f"{binp} seems to have either startup crash or exit:\n{tail(txt)}")
        return row
    stats = {}
    sf = os.path.join(fout, "default", "fuzzer_stats")
    if os.path.exists(sf):
        with open(sf) as f:
            for line in f:
                k, _, v = line.partition(":")
                stats[k.strip()] = v.strip()
    row["edges"] = int(stats.get("edges_found", 0) or 0)
    row["execs"] = int(stats.get("execs_done", 0) or 0)
    row["exec_s"] = int(float(stats.get("execs_per_sec", 0) or 0))
    row["exec_cpu_s"] = int(row["execs"] / cpu) if cpu > 0 else 0
    row["cpu"] = cpu
    if rc != 0:
        rep.fail(f"{binp}: afl-fuzz exited {rc}:\n{tail(txt)}")
    if row["edges"] < MIN_EDGES:
        rep.fail(f"{binp} seems to have only partial AFL++ instrumentation ({row['edges']} edges found).")
    found = sorted(glob.glob(os.path.join(fout, "default", "crashes", "id:*")))
    for c in found[:3]:
        keep_finding(rep, binp, c, work, txt)
    if len(found) > 3:
        rep.found(f"{binp}: {len(found) - 3} more crash input(s) in {fout}/default/crashes")
    return row


def check_build(rep, b, targets, base, secs, jobs):
    name = f"{b['engine']}-{b['sanitizer']}"
    out = os.path.join(base, name, "out")
    work = os.path.join(base, name, "work")
    shutil.rmtree(os.path.join(base, name), ignore_errors=True)
    os.makedirs(out)
    os.makedirs(work)
    env = builder_env(b["engine"], b["sanitizer"], ROOT, out, work)
    print(f"== {name}: CC={env['CC']} CFLAGS='{env['CFLAGS']}' "
          f"LIB_FUZZING_ENGINE={env['LIB_FUZZING_ENGINE']}", flush=True)
    t0 = time.time()
    log = os.path.join(base, name, "build.log")
    # as `compile` runs it: bash -eux $SRC/build.sh, from the checkout
    rc, txt, dt, _ = run(["bash", "-eux", os.path.join(ROOT, ".clusterfuzzlite", "build.sh")], ROOT, env, log, 900)
    print(f"   build.sh: exit {rc} in {dt:.0f}s (log: {log})", flush=True)
    if rc != 0:
        rep.fail(f"{name}: .clusterfuzzlite/build.sh failed (exit {rc}):\n{tail(txt, 20)}")
        return
    found = find_targets(out)
    for t in sorted(set(targets) - set(found)):
        rep.fail(f"{name}: fuzz target {t} is missing from OUT")
    for t in sorted(set(found) - set(targets)):
        rep.fail(f"{name}: OUT has a fuzz target {t} that is not in the project's target list")
    checked = [t for t in targets if t in found]
    for t in checked:
        for suffix in (".dict", ".options", "_seed_corpus.zip"):
            p = os.path.join(out, t + suffix)
            if not os.path.isfile(p) or os.path.getsize(p) == 0:
                rep.fail(f"{name}: {t}{suffix} missing or empty in OUT")
    # the runner's OUT is never where the build wrote it: move ours away
    moved = os.path.join(base, name, "not-out")
    os.rename(out, moved)
    try:
        def one(t):
            binp = os.path.join(moved, t)
            row = {"build": name, "target": t}
            if elf_machine(binp) != 62:
                rep.fail(f"{binp} is not built for architecture: x86_64")
            row.update(call_counts(binp))
            check_calls(rep, b["sanitizer"], binp, row)
            try:
                opts = options_of(os.path.join(moved, t + ".options"))
            except configparser.Error as e:
                rep.fail(f"{binp}: {t}.options does not parse: {e}")
                opts = {}
            seeds = os.path.join(work, "seeds", t)
            os.makedirs(seeds, exist_ok=True)
            try:
                with zipfile.ZipFile(os.path.join(moved, t + "_seed_corpus.zip")) as z:
                    z.extractall(seeds)
                    row["seeds"] = len([n for n in z.namelist() if not n.endswith("/")])
            except (OSError, zipfile.BadZipFile) as e:
                rep.fail(f"{binp}: {t}_seed_corpus.zip does not unzip: {e}")
                return row
            os.makedirs(os.path.join(work, "logs"), exist_ok=True)
            chk = check_afl if b["engine"] == "afl" else check_libfuzzer
            os.makedirs(os.path.join(work, "stats"), exist_ok=True)
            row.update(chk(rep, b, t, moved, work, opts, seeds, secs))
            row["classes"] = class_streams(work, t)
            return row
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            rep.rows.extend(pool.map(one, checked))
    finally:
        os.rename(moved, out)
    print(f"   checked {len(checked)} targets in {time.time() - t0:.0f}s", flush=True)


WORKFLOW_STEP_RE = re.compile(r"^(\s*)- name:")


def workflow_steps(path):
    """Each step of a workflow file that uses a ClusterFuzzLite action, as
    (action, {key: value} of its `with:`), read by indentation (no YAML library)."""
    steps, cur, ind = [], None, None
    with open(path) as f:
        lines = [l.rstrip("\n") for l in f]
    for line in lines:
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        m = WORKFLOW_STEP_RE.match(line)
        if m:
            cur, ind = {"uses": None, "with": {}}, len(m.group(1))
            steps.append(cur)
            continue
        if cur is None:
            continue
        lead = len(line) - len(line.lstrip())
        if lead <= ind:
            cur = None
            continue
        k, _, v = line.strip().partition(":")
        v = v.split(" #", 1)[0].strip().strip("'\"")
        if k == "uses":
            cur["uses"] = v
        elif lead > ind + 2 and k not in ("with", "if", "id", "name"):
            cur["with"][k] = v
    return [(s["uses"].split("/")[-1].split("@")[0], s["with"]) for s in steps
            if s["uses"] and "clusterfuzzlite/actions/" in s["uses"]]


def matrix_values(path, key="sanitizer"):
    vals, inside, ind = [], False, 0
    with open(path) as f:
        for line in f:
            if re.match(rf"^\s*{key}:\s*$", line):
                inside, ind = True, len(line) - len(line.lstrip())
                continue
            if inside:
                m = re.match(r"^(\s*)-\s*(\S+)", line)
                if m and len(m.group(1)) >= ind:
                    vals.append(m.group(2))
                else:
                    inside = False
    return vals


def check_service_files(rep, project, root=ROOT):
    """What the service reads besides the build: project.yaml, the Docker context, the
    workflows. Each line here is a way the service setup has been seen to go wrong."""
    cfl = os.path.join(root, ".clusterfuzzlite")
    for key in ("language", "sanitizers", "fuzzing_engines", "homepage", "main_repo"):
        if not project.get(key):
            rep.fail(f".clusterfuzzlite/project.yaml has no {key} (OSS-Fuzz needs it)")
    if project.get("language") not in (None, "c"):
        rep.fail(f".clusterfuzzlite/project.yaml: language is {project['language']}, the targets are C")
    for key in ("homepage", "main_repo"):
        if project.get(key) and not str(project[key]).startswith("https://"):
            rep.fail(f".clusterfuzzlite/project.yaml: {key} is not an https URL")
    sans = set(project.get("sanitizers") or [])
    for e in project.get("fuzzing_engines") or []:
        if e not in ENGINES:
            rep.fail(f".clusterfuzzlite/project.yaml lists engine {e}, which make test-ossfuzz does not build")
    with open(os.path.join(cfl, "build.sh")) as f:
        body = [l for l in f if l.strip() and not l.lstrip().startswith("#")]
    if not any(re.match(r"^\s*make\b.*\bossfuzz\b", l) for l in body) or any(
            re.search(r"\$CC\b|\$\{CC\}|-fsanitize|-D[A-Z]", l) for l in body):
        rep.fail(".clusterfuzzlite/build.sh must call `make ossfuzz` and restate no compiler flag")
    try:
        with open(os.path.join(root, ".dockerignore")) as f:
            ignored = {l.strip().strip("/") for l in f if l.strip() and not l.startswith("#")}
    except OSError:
        ignored = set()
    if "build" not in ignored:
        rep.fail(".dockerignore does not keep build/ out of the image (COPY . copies it)")
    wdir = os.path.join(root, ".github", "workflows")
    flows = sorted(f for f in os.listdir(wdir) if f.startswith("cflite_") and f.endswith(".yml")) \
        if os.path.isdir(wdir) else []
    uploads, modes = False, set()
    for fl in flows:
        path = os.path.join(wdir, fl)
        for v in matrix_values(path):
            if v not in sans:
                rep.fail(f".github/workflows/{fl}: sanitizer {v} is not in project.yaml's sanitizers")
        for action, w in workflow_steps(path):
            if action == "build_fuzzers":
                if w.get("language") != "c":
                    rep.fail(f".github/workflows/{fl}: build_fuzzers without `language: c`")
                uploads |= w.get("upload-build") == "true"
            if action == "run_fuzzers":
                mode = w.get("mode", "code-change")
                modes.add(mode)
                if mode in ("code-change", "batch") and w.get("output-sarif") != "true":
                    rep.fail(f".github/workflows/{fl}: run_fuzzers ({mode}) without `output-sarif: true`")
    if not uploads:
        rep.fail(".github/workflows: no build_fuzzers step with `upload-build: true` (continuous "
                 "builds): pull-request fuzzing cannot tell a new crash from an old one")
    for mode in ("code-change", "batch", "prune", "coverage"):
        if mode not in modes:
            rep.fail(f".github/workflows: no run_fuzzers step in mode {mode}")


def default_builds(project):
    sans = list(project.get("sanitizers") or ["address"])
    engines = list(project.get("fuzzing_engines") or ["libfuzzer"])
    builds = []
    for e in engines:
        if e not in ENGINES:
            raise SystemExit(f"ossfuzz_check: project.yaml lists engine {e}, which this stand-in cannot build")
        for s in sans + (["coverage"] if e == "libfuzzer" else []):
            if s in ENGINE_SANITIZERS[e] and s in BUILDER["sanitizer_flags"]:
                builds.append({"engine": e, "sanitizer": s})
    return builds


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("targets", nargs="*", metavar="TARGET")
    ap.add_argument("--builds", help="comma-separated ENGINE-SANITIZER list "
                    "(default: from .clusterfuzzlite/project.yaml, plus libfuzzer-coverage)")
    ap.add_argument("--fuzz-seconds", type=int, default=3)
    ap.add_argument("--dir", default=os.path.join(ROOT, "build", "ossfuzz"))
    ap.add_argument("--jobs", type=int, default=2)
    a = ap.parse_args()
    if not a.targets:
        ap.print_usage(sys.stderr)
        print("ossfuzz_check: name the fuzz targets (fuzz.mk's FUZZ_TARGETS)", file=sys.stderr)
        return 2
    project = read_project_yaml(os.path.join(ROOT, ".clusterfuzzlite", "project.yaml"))
    if a.builds:
        builds = []
        for spec in a.builds.split(","):
            e, _, s = spec.partition("-")
            if e not in ENGINES or s not in BUILDER["sanitizer_flags"] or s not in ENGINE_SANITIZERS[e]:
                print(f"ossfuzz_check: unknown build '{spec}'", file=sys.stderr)
                return 2
            builds.append({"engine": e, "sanitizer": s})
    else:
        builds = default_builds(project)
    rep = Report()
    check_service_files(rep, project)
    base = os.path.abspath(a.dir)
    global FINDINGS_DIR
    FINDINGS_DIR = os.path.join(base, "findings")
    os.makedirs(base, exist_ok=True)
    t0 = time.time()
    for b in builds:
        check_build(rep, b, a.targets, base, a.fuzz_seconds, a.jobs)
    print()
    print(f"| build | target | asan calls | ubsan calls | edges | seeds | execs in {a.fuzz_seconds}s "
          f"| exec/s | execs per CPU-s | coverage |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    for r in rep.rows:
        print(f"| {r['build']} | {r['target']} | {r.get('asan', '')} | {r.get('ubsan', '')} | "
              f"{r.get('edges', '')} | {r.get('seeds', '')} | {r.get('execs', '')} | "
              f"{r.get('exec_s', '')} | {r.get('exec_cpu_s', '')} | {r.get('cov', '')} |")
    print()
    keys = [fault_classes.stats_key(c[0]) for c in fault_classes.CLASSES]
    print("Streams per CPU-second by fault class (the nightly summary's units), summed over "
          "the targets of each build:")
    print()
    print("| build | CPU s | " + " | ".join(fault_classes.label(c[0]) for c in fault_classes.CLASSES) + " |")
    print("| --- | ---: | " + " | ".join("---:" for _ in keys) + " |")
    for b in builds:
        name = f"{b['engine']}-{b['sanitizer']}"
        rows = [r for r in rep.rows if r["build"] == name and r.get("cpu")]
        cpu = sum(r["cpu"] for r in rows)
        if not rows or cpu <= 0:
            continue
        per = {k: sum(r.get("classes", {}).get(k, 0) for r in rows) / cpu for k in keys}
        print(f"| {name} | {cpu:.1f} | " + " | ".join(f"{per[k]:.0f}" for k in keys) + " |")
    print()
    n = len(rep.rows)
    if rep.bad:
        print(f"ossfuzz_check: FAIL: {len(rep.bad)} BAD BUILD line(s), {len(builds)} builds, "
              f"{n} binaries, {time.time() - t0:.0f}s")
        return 1
    found = f"; {len(rep.findings)} finding(s) from fuzzing, not build problems (FINDING lines above)" \
        if rep.findings else ""
    print(f"ossfuzz_check: PASS: {len(builds)} builds "
          f"({', '.join(b['engine'] + '-' + b['sanitizer'] for b in builds)}), {n} binaries, "
          f"{time.time() - t0:.0f}s{found}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
