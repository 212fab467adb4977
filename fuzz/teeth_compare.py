#!/usr/bin/env python3
"""fuzz/teeth_compare.py - time to first detection of each weakened release build,
with the structure-aware mutator (BUILD/fast/teeth/<variant>/TARGET) and without it
(BUILD/fast/teeth-plain/<variant>/TARGET: stock libFuzzer mutations), over several
libFuzzer seeds. Each run is one libFuzzer job from a fresh work corpus, stopped at its
first crash or after --seconds. Two runs at a time. Prints a Markdown table (median and
every run's time; a run that found nothing counts as > the limit) and exits 0; a
comparison, not a test.

    fuzz/teeth_compare.py --build build --target fuzz_ops --seconds 30 --seeds 5 \
        [--corpus clean|all] weak-free-state ...
"""
import argparse
import concurrent.futures as cf
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time


def run_one(binary, seeds_dir, secs, seed, workdir):
    os.makedirs(workdir, exist_ok=True)
    work = os.path.join(workdir, "work")
    crash = os.path.join(workdir, "crash") + "/"
    os.makedirs(work, exist_ok=True)
    os.makedirs(crash, exist_ok=True)
    cmd = [binary, f"-seed={seed}", f"-max_total_time={secs}", "-timeout=20", "-rss_limit_mb=4096",
           "-max_len=1024", f"-artifact_prefix={crash}", "-print_final_stats=1", work, seeds_dir]
    t0 = time.monotonic()
    with open(os.path.join(workdir, "log"), "w") as log:
        subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, timeout=secs + 60)
    dt = time.monotonic() - t0
    text = open(os.path.join(workdir, "log"), errors="replace").read()
    m = re.findall(r"stat::number_of_executed_units: (\d+)", text)
    execs = int(m[-1]) if m else 0
    found = any(f.startswith("crash-") or f.startswith("timeout-") for f in os.listdir(crash))
    return found, dt, execs


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--target", default="fuzz_ops")
    ap.add_argument("--seconds", type=int, default=30)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--corpus", choices=["clean", "all"], default="clean")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("variants", nargs="+")
    a = ap.parse_args()
    src = os.path.join("corpus", a.target)
    tmp = tempfile.mkdtemp(prefix="teeth-compare-", dir=a.build)
    seeds_dir = os.path.join(tmp, "seeds")
    os.makedirs(seeds_dir)
    for f in sorted(os.listdir(src)):
        if a.corpus == "all" or f.startswith("seed-clean"):
            shutil.copy(os.path.join(src, f), seeds_dir)
    if not os.listdir(seeds_dir):
        print(f"teeth_compare: no seeds in {src}", file=sys.stderr)
        return 2
    modes = [("mutator", "teeth"), ("plain", "teeth-plain")]
    jobs = {}
    with cf.ThreadPoolExecutor(max_workers=a.jobs) as ex:
        for v in a.variants:
            for mode, sub in modes:
                b = os.path.join(a.build, "fast", sub, v, a.target)
                for s in range(1, a.seeds + 1):
                    wd = os.path.join(tmp, v, mode, str(s))
                    jobs[(v, mode, s)] = ex.submit(run_one, b, seeds_dir, a.seconds, s, wd)
        res = {k: f.result() for k, f in jobs.items()}
    print(f"time to first detection (s), {a.target}, {a.corpus} seeds, {a.seeds} libFuzzer seeds, "
          f"limit {a.seconds} s, one job each")
    print()
    print("| weakened build | median with mutator | median plain | with mutator (each seed) | plain (each seed) | found (mut/plain) |")
    print("|---|---:|---:|---|---|---|")

    def cell(v, mode):
        ts = [res[(v, mode, s)] for s in range(1, a.seeds + 1)]
        times = [t if f else float("inf") for f, t, _ in ts]
        med = statistics.median(times)
        medtxt = f">{a.seconds}" if med == float("inf") else f"{med:.1f}"
        each = " ".join(f"{t:.1f}" if f else f">{a.seconds}" for f, t, _ in ts)
        return medtxt, each, sum(1 for f, _, _ in ts if f)

    for v in a.variants:
        mm, me, mf = cell(v, "mutator")
        pm, pe, pf = cell(v, "plain")
        print(f"| {v} | {mm} | {pm} | {me} | {pe} | {mf}/{a.seeds} vs {pf}/{a.seeds} |")
    print()
    print(f"(logs: {tmp}/<variant>/<mode>/<seed>/log)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
