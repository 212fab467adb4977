#!/usr/bin/env python3
"""bench/run.py - run every benchmark against hakmem and its peers; write the report.

Allocators: hakmem release / debug / nochecks (LD_PRELOAD of $(BUILD)/libhakmem*.so),
glibc (no preload), mimalloc, jemalloc, tcmalloc (their Debian shared objects).
A missing allocator is skipped with a message saying what to install or build.

Method: ROUNDS rounds; within a round every benchmark runs once per allocator, the
allocator order rotating from round to round, so slow drifts of a shared, noisy
machine spread over all allocators instead of favouring one. Reported: median
ops/s, min-max, ratio to mimalloc, median peak RSS. For random_mixed also
instructions per op under callgrind (deterministic, immune to machine noise),
collected only inside random_mixed_loop (--toggle-collect), so process start,
the dynamic loader and setup are excluded; the loop's own instructions (PRNG,
touching the blocks) are shown separately and subtracted for "allocator instr/op".

Writes OUT/report.md, OUT/report.json, OUT/bench.{svg,png}, OUT/bench-ratio.{svg,png}
and OUT/callgrind/*. The goals are listed as pass/miss: they are reports,
never test failures (the exit status is 0 unless a benchmark itself failed and
--strict is given). Python 3 standard library only.
"""
import argparse
import datetime
import json
import os
import platform
import resource
import re
import shutil
import statistics
import subprocess
import sys
import time

import check_costs

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PEER_DIRS = ["/usr/lib/x86_64-linux-gnu", "/usr/lib64", "/usr/lib", "/usr/local/lib"]

# name, library (None = glibc, no preload), how to get it when missing.
def allocator_table(build):
    return [
        ("hakmem", os.path.join(build, "libhakmem.so"), "make libs"),
        ("hakmem-debug", os.path.join(build, "libhakmem-debug.so"), "make libs"),
        ("hakmem-nochecks", os.path.join(build, "libhakmem-nochecks.so"), "make libs"),
        ("glibc", None, ""),
        ("mimalloc", "libmimalloc.so.2", "apt-get install libmimalloc2.0"),
        ("jemalloc", "libjemalloc.so.2", "apt-get install libjemalloc2"),
        ("tcmalloc", "libtcmalloc_minimal.so.4", "apt-get install libtcmalloc-minimal4"),
    ]

ALLOC_LABEL = {
    "hakmem": "hakmem release",
    "hakmem-debug": "hakmem debug",
    "hakmem-nochecks": "hakmem nochecks",
}

# The two benchmarks written from outside definitions (see each file's opening comment).
GLIBC_THREAD_OP = ("free+malloc iteration of glibc's bench-malloc-thread (bench/glibc_thread.c): "
                   "1024 slots per thread, 4 B-32 KiB inverse-square sizes; fixed time "
                   "(1 s per run), not fixed work")
ALLOC_TEST_OP = ("one malloc (block filled) or one free (block read first) of alloc-test as "
                 "mimalloc-bench runs it (bench/alloc_test.c): 2^18 slots shared out among the "
                 "threads, 80/20-skewed slot picks, 5-1024 B sizes, half 5-8 B")

# name, binary, arguments (full run), (quick run), (smoke test), what one op is.
BENCHMARKS = [
    ("random_mixed", "random_mixed", ["20000000"], ["1000000"], ["20000"],
     "malloc+free pair, 1 thread, 256 slots, 16-1024 B"),
    ("rmix", "rmix", ["1", "20000000"], ["1", "1000000"], ["1", "20000"],
     "malloc+free pair: random_mixed's definition implemented a second time (bench/rmix.c)"),
    ("random_mixed_ref", "random_mixed_ref", ["20000000"], ["1000000"], ["20000"],
     "malloc+free pair: random_mixed's definition implemented a third time, from the "
     "definition alone (bench/random_mixed_ref.c: xoshiro128++, reads the first byte before free)"),
    ("larson-1t", "mt_larson", ["1", "2000000"], ["1", "200000"], ["1", "10000"],
     "malloc+free pair, 1 thread, 50% deferred frees"),
    ("mid", "mid_large", ["mid", "200000"], ["mid", "50000"], ["mid", "2000"],
     "malloc+free pair, 64 slots, 2-64 KiB"),
    ("large", "mid_large", ["large", "2000"], ["large", "300"], ["large", "50"],
     "malloc, realloc or free call, 16 slots, 100 KiB-4 MiB, 1.5x realloc growth"),
    ("rmix-wide-2t", "rmix", ["2", "5000000", "32768"], ["2", "500000", "32768"],
     ["2", "5000", "32768"],
     "malloc+free pair, 2 independent threads, 256 slots each, 16 B-32 KiB uniform "
     "(the shape of glibc's thread benchmark: tiny and mid tiers)"),
    ("larson-sized-2t", "mt_larson", ["2", "2000000", "256", "16", "1024", "50", "1", "1"],
     ["2", "200000", "256", "16", "1024", "50", "1", "1"],
     ["2", "10000", "256", "16", "1024", "50", "1", "1"],
     "larson-2t with every free given the block's size (free_sized, mi_free_size, "
     "tc_free_sized, sdallocx; glibc has none: plain free)"),
    ("glibc-thread-1t", "glibc_thread", ["1", "1000"], ["1", "200"], ["1", "20"],
     GLIBC_THREAD_OP + "; 1 thread (the main thread)"),
    ("alloc-test-1t", "alloc_test", ["1", "10000000"], ["1", "1000000"], ["1", "20000"],
     ALLOC_TEST_OP + "; 1 thread"),
]

# Multi-threaded benchmarks at each thread count (the machine may have fewer cores:
# above that they run oversubscribed). The total work is the same at every count.
THREADS = [2, 4, 8, 16]
MT_BENCHMARKS = [
    # name, binary, total ops (full, quick, smoke), args after "threads per-thread-count", op
    ("rmix", "rmix", (20000000, 2000000, 20000), [],
     "malloc+free pair, independent threads (rmix: 256 slots, 16-1024 B each), nothing shared"),
    ("larson", "mt_larson", (4000000, 400000, 20000), [],
     "malloc+free pair, 256 slots per thread, 50% freed by the next thread"),
    ("prodcons", "prodcons", (4000000, 400000, 20000), [],
     "malloc+free pair: threads/2 producers malloc 16-1024 B, the other threads free every block"),
    ("exchange", "exchange", (4000000, 400000, 20000), [],
     "malloc+free pair, 512 slots, 16 B-16 KiB log-uniform, 32 of every 64 blocks' worth sent "
     "to the next thread, which keeps them a while"),
    # its "totals" are the duration in ms of every thread (_PER keeps it whole)
    ("glibc-thread", "glibc_thread", (1000, 200, 20), [], GLIBC_THREAD_OP),
    ("alloc-test", "alloc_test", (10000000, 1000000, 20000), [], ALLOC_TEST_OP),
]
# Producers are half the threads: prodcons's count is per producer.
# glibc-thread runs for a fixed time: every thread gets the whole duration.
_PER = {"prodcons": lambda total, t: total // max(1, t // 2),
        "glibc-thread": lambda total, t: total}


def _mt_entries():
    out = []
    for t in THREADS:
        for name, binary, totals, extra, what in MT_BENCHMARKS:
            per = _PER.get(name, lambda total, n: total // n)
            args = [[str(t), str(max(1, per(tot, t)))] + extra for tot in totals]
            out.append((f"{name}-{t}t", binary, args[0], args[1], args[2],
                        what + f"; {t} threads"))
    return out


BENCHMARKS += _mt_entries()

# Benchmarks run by the hakmem variants too (debug, nochecks): the single-threaded
# ones and 2 threads. The scaling rows (4+ threads) compare hakmem release and peers.
VARIANT_BENCHES = {b for b, *_ in BENCHMARKS if not re.search(r"-(\d+)t$", b)
                   or int(re.search(r"-(\d+)t$", b).group(1)) <= 2}


def bench_threads(bench):
    m = re.search(r"-(\d+)t$", bench)
    return int(m.group(1)) if m else 1


RESULT_RE = re.compile(r"^RESULT (.*)$", re.M)


def log(msg):
    print(msg, flush=True)


def find_peer(lib):
    if os.path.isabs(lib) or os.sep in lib:
        return lib if os.path.exists(lib) else None
    for d in PEER_DIRS:
        p = os.path.join(d, lib)
        if os.path.exists(p):
            return p
    return None


def resolve_allocators(build, wanted):
    """[(name, path-or-None)] of the allocators present; prints a line per skip."""
    out = []
    for name, lib, how in allocator_table(build):
        if wanted and name not in wanted:
            continue
        env_override = os.environ.get("BENCH_LIB_" + name.upper().replace("-", "_"))
        if env_override:
            lib = env_override
        if lib is None:
            out.append((name, None))
            continue
        path = find_peer(lib)
        if path is None:
            log(f"[bench] skip {name}: {lib} not found ({how})")
            continue
        out.append((name, os.path.abspath(path)))
    return out


def parse_result(text):
    m = RESULT_RE.findall(text)
    if not m:
        return None
    fields = {}
    for tok in m[-1].split():
        k, _, v = tok.partition("=")
        try:
            fields[k] = float(v) if "." in v else int(v)
        except ValueError:
            fields[k] = v
    return fields


def run_once(cmd, lib, timeout):
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    if lib:
        env["LD_PRELOAD"] = lib
    t0 = time.monotonic()
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    try:
        p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, f"timeout after {timeout}s", time.monotonic() - t0
    wall = time.monotonic() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    res = parse_result(p.stdout)
    if res is not None:
        # The child's CPU time (runs are sequential, so the delta is this child's):
        # unlike wall time it does not grow while the process waits for a core that
        # another job holds. Includes process start (about a millisecond).
        cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
        res["cpu_secs"] = cpu
        if cpu > 0 and isinstance(res.get("ops"), (int, float)):
            res["ops_per_cpu_sec"] = res["ops"] / cpu
    if p.returncode != 0 or res is None:
        err = (p.stderr.strip().splitlines() or ["no output"])[-1]
        what = f"exit {p.returncode}" if p.returncode >= 0 else f"signal {-p.returncode}"
        return None, f"{what}: {err}"[:200], wall
    return res, None, wall


def fmt_rate(v):
    if v is None:
        return "-"
    for div, unit in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if v >= div:
            return f"{v / div:.2f} {unit}"
    return f"{v:.0f}"


def fmt_mib(kb):
    return "-" if kb is None else f"{kb / 1024:.1f} MiB"


def fmt_ratio(r):
    return "-" if r is None else f"{r:.2f}x"


# ---------------------------------------------------------------- callgrind --

# Programs counted under callgrind: binary, the timed loop's function, arguments.
CALLGRIND_PROGS = [
    ("random_mixed", "random_mixed", "random_mixed_loop", lambda n: [str(n)]),
    ("rmix", "rmix", "rmix_loop", lambda n: ["1", str(n)]),
    ("random_mixed_ref", "random_mixed_ref", "ref_loop", lambda n: [str(n)]),
]


def callgrind(bindir, allocs, iters, outdir, timeout, progs):
    """Instructions per op of each program in progs under callgrind, per allocator:
    {program: {allocator: entry}}."""
    if not shutil.which("valgrind"):
        log("[bench] skip callgrind: valgrind not found (apt-get install valgrind)")
        return {}
    os.makedirs(outdir, exist_ok=True)
    res = {}
    for prog, binary, loopfn, argf in CALLGRIND_PROGS:
        if prog not in progs:
            continue
        for name, lib in allocs:
            out = os.path.join(outdir, f"{prog}.{name}.out")
            cmd = ["valgrind", "--tool=callgrind", f"--toggle-collect={loopfn}",
                   f"--callgrind-out-file={out}", os.path.join(bindir, binary)] + argf(iters)
            env = dict(os.environ)
            env.pop("LD_PRELOAD", None)
            if lib:
                env["LD_PRELOAD"] = lib
            t0 = time.monotonic()
            try:
                p = subprocess.run(cmd, env=env, capture_output=True, text=True,
                                   timeout=timeout)
                rc = p.returncode
            except subprocess.TimeoutExpired:
                rc = "timeout"
            wall = time.monotonic() - t0
            total = None
            if rc == 0 and os.path.exists(out):
                with open(out) as f:
                    for line in f:
                        if line.startswith("totals:") or line.startswith("summary:"):
                            total = int(line.split()[1])
            if total is None:
                log(f"[bench] callgrind {prog} {name:<16} FAILED ({rc}) ({wall:.1f} s)")
                continue
            loop_self, top = annotate(out, loopfn)
            entry = {
                "iterations": iters,
                "instructions": total,
                "instr_per_op": total / iters,
                "loop_instr_per_op": loop_self / iters if loop_self is not None else None,
                "alloc_instr_per_op": (total - loop_self) / iters if loop_self is not None
                else None,
                "top": top,
                "file": out,
            }
            res.setdefault(prog, {})[name] = entry
            extra = (f", allocator {entry['alloc_instr_per_op']:.1f}"
                     if entry["alloc_instr_per_op"] is not None else "")
            log(f"[bench] callgrind {prog:<12} {name:<16} {entry['instr_per_op']:.1f} instr/op"
                f"{extra} ({wall:.1f} s)")
    return res


ANNOT_RE = re.compile(r"^\s*([\d,]+)\s+\(\s*[\d.]+%\)\s+(\S.*?)\s*$")


def annotate(out, loopfn):
    """(self instructions of loopfn, top functions) via callgrind_annotate."""
    if not shutil.which("callgrind_annotate"):
        return None, []
    try:
        p = subprocess.run(["callgrind_annotate", "--inclusive=no", "--threshold=99.9", out],
                           capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired:
        return None, []
    loop_self, funcs = 0, {}
    in_table = False
    for line in p.stdout.splitlines():
        if "file:function" in line:
            in_table = True
            continue
        if not in_table:
            continue
        m = ANNOT_RE.match(line)
        if not m:
            if line.startswith("-- ") or line.startswith("----"):
                if funcs:
                    break
            continue
        n = int(m.group(1).replace(",", ""))
        loc = m.group(2)
        # "file:function [object]": inlined code is listed per source file; merge by function.
        objm = re.search(r"\s\[(.*)\]$", loc)
        obj = os.path.basename(objm.group(1)) if objm else ""
        floc = loc[:objm.start()] if objm else loc
        src, _, fn = floc.rpartition(":")
        if fn == loopfn:
            loop_self += n
        # Keep the source file: inlined code shows where in the allocator the work is.
        key = fn + (f" ({os.path.basename(src)})" if src and src != "???" else "") + \
            (f" [{obj}]" if obj else "")
        funcs[key] = funcs.get(key, 0) + n
    top = sorted(funcs.items(), key=lambda kv: -kv[1])[:15]
    return loop_self, [{"function": k, "instructions": v} for k, v in top]


# ----------------------------------------------------------------- report ----

def summarize(samples):
    ops = [s["ops_per_sec"] for s in samples]
    rss = [s["rss_kb"] for s in samples]
    out = {
        "median": statistics.median(ops), "min": min(ops), "max": max(ops),
        "rss_kb": statistics.median(rss), "rss_kb_max": max(rss), "runs": len(ops),
    }
    cpu = [s["ops_per_cpu_sec"] for s in samples if "ops_per_cpu_sec" in s]
    if len(cpu) == len(samples):
        out.update(cpu_median=statistics.median(cpu), cpu_min=min(cpu), cpu_max=max(cpu))
    return out


def pair_ratios(ss, ref):
    """Each round's ops/s over the reference allocator's in the same round (they ran
    minutes apart at most, so a drift of the machine between rounds cancels): median,
    min, max and the number of rounds both ran in; None without such rounds."""
    by_round = {x["round"]: x["ops_per_sec"] for x in ref if "round" in x}
    rs = [x["ops_per_sec"] / by_round[x["round"]] for x in ss if x.get("round") in by_round]
    if not rs:
        return None
    return {"median": statistics.median(rs), "min": min(rs), "max": max(rs), "rounds": len(rs)}


ALLOC_INSTR_MAX = 41.2   # allocator instructions per malloc+free pair on random_mixed (40.2 measured; the goal: no increase over 41.16, with every release check on)


def evaluate_goals(stats, cg):
    """The goals, each pass/miss/n/a (reports, never failures)."""
    goals = []

    def med(bench, alloc):
        s = stats.get(bench, {}).get(alloc)
        return s["median"] if s else None

    def noise(bench, a, b):
        """A note when the two allocators' min-max ranges overlap: within noise."""
        sa, sb = stats.get(bench, {}).get(a), stats.get(bench, {}).get(b)
        if sa and sb and sa["runs"] > 1 and sb["runs"] > 1 and \
                sa["min"] <= sb["max"] and sb["min"] <= sa["max"]:
            return " (min-max ranges overlap)"
        return ""

    def add(goal, target, measured, status):
        goals.append({"goal": goal, "target": target, "measured": measured, "status": status})

    def vs_mimalloc(bench, factor, label):
        r, m = med(bench, "hakmem"), med(bench, "mimalloc")
        target = f">= {factor:.2f}x"
        if r and m:
            add(f"{bench}: {label} vs mimalloc ops/s", target,
                f"{r / m:.2f}x" + noise(bench, "hakmem", "mimalloc"),
                "pass" if r >= factor * m else "miss")
        else:
            add(f"{bench}: {label} vs mimalloc ops/s", target, "no data", "n/a")

    for bench in ("random_mixed", "rmix", "random_mixed_ref"):
        vs_mimalloc(bench, 1.05, "release")
        r, m = stats.get(bench, {}).get("hakmem"), stats.get(bench, {}).get("mimalloc")
        if r and m and "cpu_median" in r and "cpu_median" in m:
            ov = r["cpu_min"] <= m["cpu_max"] and m["cpu_min"] <= r["cpu_max"] and r["runs"] > 1
            add(f"{bench}: release vs mimalloc ops per CPU second", ">= 1.05x",
                f"{r['cpu_median'] / m['cpu_median']:.2f}x"
                + (" (min-max ranges overlap)" if ov else ""),
                "pass" if r["cpu_median"] >= 1.05 * m["cpu_median"] else "miss")
    # The same instruction goal on every implementation of random_mixed's definition.
    for prog in [p for p, *_ in CALLGRIND_PROGS if p in cg or p == "random_mixed"]:
        pc = cg.get(prog, {})
        pi, pm = pc.get("hakmem"), pc.get("mimalloc")
        if pi and pi["alloc_instr_per_op"] is not None:
            al = pi["alloc_instr_per_op"]
            add(f"{prog}: release allocator instr per malloc+free (callgrind)",
                f"<= {ALLOC_INSTR_MAX:.1f}",
                f"{al:.1f}" + (f" (mimalloc {pm['alloc_instr_per_op']:.1f})"
                               if pm and pm["alloc_instr_per_op"] is not None else ""),
                "pass" if al <= ALLOC_INSTR_MAX else "miss")
        else:
            add(f"{prog}: release allocator instr per malloc+free (callgrind)",
                f"<= {ALLOC_INSTR_MAX:.1f}", "no data", "n/a")
    rm = cg.get("random_mixed", {})
    ci = rm.get("hakmem")
    rel, gl = med("random_mixed", "hakmem"), med("random_mixed", "glibc")
    if rel and gl:
        add("random_mixed: release vs glibc ops/s", ">= 1.30x",
            f"{rel / gl:.2f}x" + noise("random_mixed", "hakmem", "glibc"),
            "pass" if rel >= 1.3 * gl else "miss")

    dbg = med("random_mixed", "hakmem-debug")
    cd = rm.get("hakmem-debug")
    if rel and dbg:
        parts = [f"ops/s {100 * (rel / dbg - 1):+.1f}%"
                 + noise("random_mixed", "hakmem", "hakmem-debug")]
        if ci and cd:
            parts.append(f"instr/op {100 * (cd['instr_per_op'] / ci['instr_per_op'] - 1):+.1f}%")
        add("release vs debug speedup on random_mixed", "report", ", ".join(parts), "report")

    cn = rm.get("hakmem-nochecks")
    if ci and cn:
        cost = 100 * (ci["instr_per_op"] / cn["instr_per_op"] - 1)
        add("release checks cost, random_mixed instr/op vs nochecks", "<= 5%", f"{cost:+.1f}%",
            "pass" if cost <= 5 else "miss")

    # Every multi-threaded benchmark: ops/s and peak RSS against mimalloc.
    for bench in [b for b, *_ in BENCHMARKS if b in stats]:
        mt = bench_threads(bench) > 1
        if mt:
            vs_mimalloc(bench, 1.0, "release")
        r, m = stats[bench].get("hakmem"), stats[bench].get("mimalloc")
        limit = 1.0 if mt else 1.2
        if r and m:
            ratio = r["rss_kb"] / m["rss_kb"]
            add(f"{bench}: release peak RSS vs mimalloc", f"<= {limit:.2f}x",
                f"{ratio:.2f}x ({fmt_mib(r['rss_kb'])} vs {fmt_mib(m['rss_kb'])})",
                "pass" if ratio <= limit else "miss")
    return goals


def markdown(meta, allocs, stats, failures, cg, goals, files, contention, sections=()):
    names = [a for a, _ in allocs]
    L = []
    L.append("# hakmem benchmarks")
    L.append("")
    L.append(f"- command: `{meta['command']}`")
    L.append(f"- date: {meta['date']}, git {meta['git']}, host: {meta['host']}")
    L.append(f"- load average (1 min) at start / end: {meta['load'][0]} / {meta['load'][1]} "
             "(other work on the machine widens the min-max ranges; callgrind figures are "
             "unaffected)")
    L.append(f"- rounds: {meta['rounds']} (allocator order rotated per round)"
             f"{'' if meta['mode'] == 'full' else ', ' + meta['mode'] + ' mode'}; "
             "figures are medians")
    if meta["skipped"]:
        L.append(f"- skipped: {', '.join(meta['skipped'])}")
    L.append("")
    L.append("## Throughput: median ops/s (ratio to mimalloc)")
    L.append("")
    L.append("| benchmark | " + " | ".join(ALLOC_LABEL.get(a, a) for a in names) + " |")
    L.append("|---|" + "---:|" * len(names))
    for bench, *_ in BENCHMARKS:
        if bench not in stats:
            continue
        mi = stats[bench].get("mimalloc")
        cells = []
        for a in names:
            s = stats[bench].get(a)
            if s is None:
                cells.append("FAIL" if (bench, a) in failures else "-")
                continue
            r = f" ({s['median'] / mi['median']:.2f}x)" if mi else ""
            cells.append(fmt_rate(s["median"]) + r)
        L.append(f"| {bench} | " + " | ".join(cells) + " |")
    L.append("")
    L.append("## Detail")
    L.append("")
    L.append("`vs mimalloc` is the ratio of the medians; `per round` is the median (min-max) of "
             "each round's ratio, both runs from the same round, which cancels the machine's drift "
             "between rounds.")
    L.append("")
    L.append("| benchmark | allocator | median ops/s | min - max | vs mimalloc | per round | ops per CPU-s "
             "(min - max) | vs mimalloc | peak RSS (median) | RSS vs mimalloc |")
    L.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for bench, *_, what in BENCHMARKS:
        if bench not in stats:
            continue
        mi = stats[bench].get("mimalloc")
        for a in names:
            s = stats[bench].get(a)
            if s is None:
                if (bench, a) in failures:
                    L.append(f"| {bench} | {ALLOC_LABEL.get(a, a)} | FAIL: "
                             f"{failures[(bench, a)].replace('|', '/')} | | | | | | | |")
                continue
            L.append(f"| {bench} | {ALLOC_LABEL.get(a, a)} | {fmt_rate(s['median'])} | "
                     f"{fmt_rate(s['min'])} - {fmt_rate(s['max'])} | "
                     f"{fmt_ratio(s['median'] / mi['median'] if mi else None)} | "
                     + (f"{s['paired']['median']:.2f}x ({s['paired']['min']:.2f}-{s['paired']['max']:.2f}) | "
                        if "paired" in s else "- | ")
                     + (f"{fmt_rate(s['cpu_median'])} ({fmt_rate(s['cpu_min'])} - "
                        f"{fmt_rate(s['cpu_max'])}) | "
                        + (f"{s['cpu_median'] / mi['cpu_median']:.2f}x | "
                           if mi and 'cpu_median' in mi else "- | ")
                        if "cpu_median" in s else "- | - | ")
                     + f"{fmt_mib(s['rss_kb'])} | "
                     f"{fmt_ratio(s['rss_kb'] / mi['rss_kb'] if mi else None)} |")
    L.append("")
    L.append("One op: " + "; ".join(f"**{b}** = {w}" for b, *_, w in BENCHMARKS
                                    if b in stats) + ".")
    L.append("")
    scal = [name for name, *_ in MT_BENCHMARKS
            if any(f"{name}-{t}t" in stats for t in THREADS)]
    counts = [1] + THREADS   # a 1-thread row where the benchmark has one (glibc-thread-1t)
    if scal:
        L.append("## Scaling: median ops/s by thread count (ratio to mimalloc; peak RSS ratio)")
        L.append("")
        L.append(f"The machine has {os.cpu_count()} CPUs: counts above that run oversubscribed. "
                 "The total work is the same at every count (glibc-thread: the same time).")
        L.append("")
        peers = [a for a in names if a not in ("hakmem-debug", "hakmem-nochecks")]
        L.append("| benchmark | threads | " + " | ".join(ALLOC_LABEL.get(a, a) for a in peers)
                 + " | hakmem RSS vs mimalloc |")
        L.append("|---|---:|" + "---:|" * (len(peers) + 1))
        for name in scal:
            for t in counts:
                st = stats.get(f"{name}-{t}t")
                if not st:
                    continue
                mi = st.get("mimalloc")
                cells = []
                for a in peers:
                    x = st.get(a)
                    cells.append("-" if not x else fmt_rate(x["median"]) + (
                        f" ({x['median'] / mi['median']:.2f}x)" if mi else ""))
                h = st.get("hakmem")
                rss = f"{h['rss_kb'] / mi['rss_kb']:.2f}x" if h and mi else "-"
                L.append(f"| {name} | {t} | " + " | ".join(cells) + f" | {rss} |")
        L.append("")
    if contention:
        L.append("## Contention (debug build counters, HAKMEM_STATS=1, one run each)")
        L.append("")
        L.append("*pool lock waits*: acquisitions of the shared pool's lock that found it held; "
                 "*CAS retries*: remote-free pushes whose compare-and-swap lost a race; both per "
                 "million ops, with the raw remote frees and collects for scale; a collect's "
                 "nodes go into a thread cache (*cached*, checked once) or onto the slab's "
                 "freelist (*listed*, read again by a later pop).")
        L.append("")
        L.append("| benchmark | threads | pool locks | pool lock waits | remote frees | "
                 "remote CAS retries | retries / M ops | remote collects | cached | listed |")
        L.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for bench, c in contention.items():
            ops = c.get("ops") or 0
            per = f"{1e6 * c.get('remote_cas_retries', 0) / ops:.1f}" if ops else "-"
            L.append(f"| {bench.rsplit('-', 1)[0]} | {bench_threads(bench)} | "
                     f"{c.get('pool_locks', '-')} | {c.get('pool_lock_waits', '-')} | "
                     f"{c.get('remote_frees', '-')} | {c.get('remote_cas_retries', '-')} | {per} | "
                     f"{c.get('remote_collects', '-')} | {c.get('remote_cached', '-')} | "
                     f"{c.get('remote_listed', '-')} |")
        L.append("")
    for prog, table in cg.items():
        it = next(iter(table.values()))["iterations"]
        L.append(f"## Instructions per op (callgrind, {prog} {it} ops)")
        L.append("")
        L.append(f"Counted with `valgrind --tool=callgrind --toggle-collect=<timed loop>`: "
                 "only the benchmark loop and what it calls (process start, loader, setup "
                 "excluded). *loop* is the loop's own code (PRNG, touching blocks, call "
                 "overhead), the same for every allocator; *allocator* = total - loop.")
        L.append("")
        L.append("| allocator | instr/op | loop | allocator instr/op | vs mimalloc (allocator) |")
        L.append("|---|---:|---:|---:|---:|")
        cm = table.get("mimalloc")
        for a in names:
            c = table.get(a)
            if not c:
                continue
            al, lp = c["alloc_instr_per_op"], c["loop_instr_per_op"]
            ratio = (al / cm["alloc_instr_per_op"]
                     if cm and al is not None and cm["alloc_instr_per_op"] else None)
            lp_s = "-" if lp is None else f"{lp:.1f}"
            al_s = "-" if al is None else f"{al:.1f}"
            L.append(f"| {ALLOC_LABEL.get(a, a)} | {c['instr_per_op']:.1f} | {lp_s} | {al_s} | "
                     f"{fmt_ratio(ratio)} |")
        L.append("")
        c = table.get("hakmem")
        if c and c["top"] and prog == "random_mixed":
            L.append(f"Top functions for hakmem release (self instructions per op):")
            L.append("")
            L.append("| function | instr/op |")
            L.append("|---|---:|")
            for t in c["top"][:10]:
                L.append(f"| `{t['function']}` | {t['instructions'] / c['iterations']:.1f} |")
            L.append("")
    L.extend(sections)
    L.append("## Goals (reports, not tests)")
    L.append("")
    L.append("| goal | target | measured | status |")
    L.append("|---|---|---|---|")
    for g in goals:
        L.append(f"| {g['goal']} | {g['target']} | {g['measured']} | **{g['status']}** |")
    L.append("")
    if files:   # beside the report, so the links hold wherever report and plots are copied
        for f in files:
            if f.endswith(".svg"):
                what = "relative to mimalloc" if "ratio" in f else "median ops/s"
                L.append(f"![{what}, min-max error bars]({os.path.basename(f)})")
                L.append("")
        L.append("Plots: " + ", ".join(f"[{os.path.basename(f)}]({os.path.basename(f)})" for f in files))
        L.append("")
    return "\n".join(L)


def plot(outdir, allocs, stats):
    """Grouped bars with min-max error bars via gnuplot: ops/s (log scale) and the
    ratio to mimalloc's median, every benchmark and allocator."""
    gp = shutil.which("gnuplot")
    if not gp:
        log("[bench] skip plot: gnuplot not found (apt-get install gnuplot-nox)")
        return []
    # The hakmem variants last: they skip the scaling rows, whose empty slots then sit
    # at the end of each group instead of between hakmem and its peers.
    variants = ("hakmem-debug", "hakmem-nochecks")
    names = [a for a, _ in allocs if a not in variants] + [a for a, _ in allocs if a in variants]
    benches = [b for b, *_ in BENCHMARKS if b in stats]
    if not benches:
        return []

    def write(path, scale):
        """Three columns per allocator: median, min, max (scaled), NaN when missing
        (an empty slot: the cluster keeps its shape)."""
        with open(path, "w") as f:
            f.write("bench " + " ".join(f'"{ALLOC_LABEL.get(a, a)}" min max' for a in names)
                    + "\n")
            for b in benches:
                k = scale(b)
                row = []
                for a in names:
                    x = stats[b].get(a)
                    if x is None or k is None:
                        row += ["NaN", "NaN", "NaN"]
                    else:
                        row += [f"{x[q] * k:.6g}" for q in ("median", "min", "max")]
                f.write(b + " " + " ".join(row) + "\n")

    dat = os.path.join(outdir, "bench.dat")
    write(dat, lambda b: 1e-6)
    datr = os.path.join(outdir, "bench-ratio.dat")
    write(datr, lambda b: 1.0 / stats[b]["mimalloc"]["median"] if "mimalloc" in stats[b]
          else None)
    terms = subprocess.run([gp, "-e", "set terminal"], capture_output=True, text=True)
    tlist = terms.stdout + terms.stderr
    width = max(1100, 70 * len(benches) + 250)
    outputs = [("svg", f"svg size {width},560 dynamic font 'sans,11'")]
    if re.search(r"^\s*pngcairo\s", tlist, re.M):
        outputs.append(("png", f"pngcairo size {width},560 font 'sans,10'"))
    elif re.search(r"^\s*png\s", tlist, re.M):
        outputs.append(("png", f"png size {width},560"))
    files = []
    n = len(names)
    for base, data, ylabel, extra in (
            ("bench", dat, "M ops/s (log scale; median, min-max bars)", "set logscale y\n"),
            ("bench-ratio", datr, "ops/s relative to the median of mimalloc (min-max bars)",
             "set yrange [0:*]\nset offsets 0, 0, graph 0.05, 0\n"
             "set arrow from graph 0, first 1 to graph 1, first 1 nohead dt 2\n")):
        for ext, term in outputs:
            out = os.path.join(outdir, f"{base}.{ext}")
            script = (
                f"set terminal {term}\nset termoption noenhanced\nset output '{out}'\n"
                "set style data histogram\n"
                "set style histogram errorbars gap 1 lw 1\nset style fill solid 0.85 border -1\n"
                "set boxwidth 0.9\nset key outside right top vertical\n"
                "set grid ytics\nset xtics nomirror rotate by -45 scale 0\n"
                f"set ylabel '{ylabel}'\nset title 'hakmem vs peers'\n{extra}"
                f"plot for [i=0:{n - 1}] '{data}' using (column(2+3*i)):(column(3+3*i)):"
                "(column(4+3*i)):xtic(1) title columnheader(2+3*i)\n")
            p = subprocess.run([gp], input=script, capture_output=True, text=True)
            if p.returncode == 0 and os.path.exists(out):
                files.append(out)
            else:
                log(f"[bench] plot {out} failed: {p.stderr.strip()[:200]}")
    return files


STAT_RE = re.compile(r"^\s+([a-z_]+)\s+(\d+)$", re.M)
CONTENTION_KEYS = ("pool_locks", "pool_lock_waits", "remote_frees", "remote_cas_retries",
                   "remote_collects", "remote_cached", "remote_listed")


def contention(bindir, lib, benches, mode, timeout):
    """Contention counters of the debug build (HAKMEM_STATS=1 prints them at exit),
    one run of each multi-threaded benchmark: {bench: {counter: value, "ops": ops}}."""
    res = {}
    for bench, binary, full, quick, smoke, _ in benches:
        if bench_threads(bench) < 2:
            continue
        cmd = [os.path.join(bindir, binary)] + {"full": full, "quick": quick,
                                                 "smoke": smoke}[mode]
        env = dict(os.environ, LD_PRELOAD=lib, HAKMEM_STATS="1")
        try:
            p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            continue
        r = parse_result(p.stdout)
        if p.returncode != 0 or r is None:
            continue
        c = {k: int(v) for k, v in STAT_RE.findall(p.stderr) if k in CONTENTION_KEYS}
        c["ops"] = r.get("ops")
        res[bench] = c
        log(f"[bench] contention {bench:<13} " + " ".join(f"{k}={c.get(k, '-')}"
                                                          for k in CONTENTION_KEYS))
    return res


def git_rev():
    try:
        p = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                           text=True, timeout=10)
        rev = p.stdout.strip() or "none"
        d = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True, timeout=10)
        return rev + ("+dirty" if d.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def host():
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{platform.machine()} {cpu}, {os.cpu_count()} CPUs, Linux {platform.release()}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.environ.get("BUILD", "build"),
                    help="build directory with libhakmem*.so (default: build)")
    ap.add_argument("--bin", help="directory with the benchmark binaries (default BUILD/bench/bin)")
    ap.add_argument("--out", help="report directory (default BUILD/bench)")
    ap.add_argument("--rounds", type=int, help="rounds (default 5, quick 1)")
    ap.add_argument("--quick", action="store_true", help="about 10x fewer iterations, 1 round")
    ap.add_argument("--smoke", action="store_true",
                    help="tiny iteration counts, 1 round: checks the pipeline, not speed")
    ap.add_argument("--allocators", help="comma list (default all): " + ", ".join(
        a for a, _, _ in allocator_table("")))
    ap.add_argument("--benchmarks", help="comma list (default all): " + ", ".join(
        b for b, *_ in BENCHMARKS))
    ap.add_argument("--no-callgrind", action="store_true", help="skip instructions per op")
    ap.add_argument("--no-contention", action="store_true",
                    help="skip the debug build's contention counters")
    ap.add_argument("--callgrind-iters", type=int, help="random_mixed ops under callgrind "
                    "(default 200000, quick 50000)")
    ap.add_argument("--timeout", type=int, default=600, help="seconds per run (default 600)")
    ap.add_argument("--strict", action="store_true", help="exit 1 if any run failed")
    args = ap.parse_args()

    rounds = args.rounds or (1 if args.quick or args.smoke else 5)
    mode = "smoke" if args.smoke else "quick" if args.quick else "full"
    bindir = args.bin or os.path.join(args.build, "bench", "bin")
    outdir = args.out or os.path.join(args.build, "bench")
    os.makedirs(outdir, exist_ok=True)
    wanted = set(args.allocators.split(",")) if args.allocators else None
    if wanted:
        unknown = wanted - {a for a, _, _ in allocator_table("")}
        if unknown:
            ap.error(f"unknown allocator(s): {', '.join(sorted(unknown))}")
    bwanted = set(args.benchmarks.split(",")) if args.benchmarks else None
    if bwanted:
        unknown = bwanted - {b for b, *_ in BENCHMARKS}
        if unknown:
            ap.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
    benches = [b for b in BENCHMARKS if not bwanted or b[0] in bwanted]

    for _, binary, *_ in benches:
        if not os.access(os.path.join(bindir, binary), os.X_OK):
            sys.exit(f"run.py: {os.path.join(bindir, binary)} missing (make bench builds it)")

    allocs = resolve_allocators(args.build, wanted)
    present = {a for a, _ in allocs}
    skipped = [a for a, _, _ in allocator_table(args.build)
               if (not wanted or a in wanted) and a not in present]
    if not allocs:
        sys.exit("run.py: no allocator to run")
    log(f"[bench] {len(benches)} benchmarks x {len(allocs)} allocators x {rounds} rounds"
        f"{'' if mode == 'full' else f' ({mode})'}: {', '.join(present_name for present_name, _ in allocs)}")

    load_start = round(os.getloadavg()[0], 2)
    samples = {}      # (bench, alloc) -> [result dict]
    failures = {}     # (bench, alloc) -> message
    t_start = time.monotonic()
    for r in range(rounds):
        for bi, (bench, binary, full, quick, smoke, _) in enumerate(benches):
            cmd = [os.path.join(bindir, binary)] + {"full": full, "quick": quick,
                                                     "smoke": smoke}[mode]
            # Rotate the allocator order per round and per benchmark.
            k = (r + bi) % len(allocs)
            for name, lib in allocs[k:] + allocs[:k]:
                if name in ("hakmem-debug", "hakmem-nochecks") and bench not in VARIANT_BENCHES:
                    continue
                res, err, wall = run_once(cmd, lib, args.timeout)
                tag = f"[bench] r{r + 1}/{rounds} {bench:<13} {name:<16}"
                if err:
                    failures[(bench, name)] = err
                    log(f"{tag} FAILED: {err} ({wall:.1f} s)")
                    continue
                res["round"] = r
                samples.setdefault((bench, name), []).append(res)
                log(f"{tag} {fmt_rate(res['ops_per_sec']):>9} ops/s  peak RSS "
                    f"{fmt_mib(res['rss_kb']):>10}  ({wall:.2f} s)")

    cg = {}
    progs = {b[0] for b in benches} & {c[0] for c in CALLGRIND_PROGS}
    if not args.no_callgrind and progs:
        iters = args.callgrind_iters or {"full": 200000, "quick": 50000, "smoke": 2000}[mode]
        cg = callgrind(bindir, allocs, iters, os.path.join(outdir, "callgrind"), args.timeout,
                       progs)
        for prog, table in cg.items():
            for name, c in table.items():
                with open(os.path.join(outdir, "callgrind", f"{prog}.{name}.top.txt"),
                          "w") as f:
                    f.write(f"# self instructions, {prog} {c['iterations']} ops, {name}\n")
                    for t in c["top"]:
                        f.write(f"{t['instructions'] / c['iterations']:10.2f} /op  "
                                f"{t['function']}\n")

    costs, costs_md = {}, []
    if not args.no_callgrind and "hakmem" in dict(allocs):
        iters = args.callgrind_iters or {"full": 200000, "quick": 50000, "smoke": 2000}[mode]
        costs = check_costs.measure(bindir, args.build, iters,
                                    os.path.join(outdir, "check-costs"), args.timeout, log)
        costs_md = check_costs.markdown(costs, args.build, ROOT, iters)

    cont = {}
    dbg = dict(allocs).get("hakmem-debug")
    if dbg and not args.no_contention:
        cont = contention(bindir, dbg, benches, mode, args.timeout)

    stats = {}
    for (bench, name), ss in samples.items():
        stats.setdefault(bench, {})[name] = summarize(ss)
    for (bench, name), ss in samples.items():
        paired = pair_ratios(ss, samples.get((bench, "mimalloc"), []))
        if paired and name != "mimalloc":
            stats[bench][name]["paired"] = paired
    goals = evaluate_goals(stats, cg)
    files = plot(outdir, allocs, stats)

    cmdline = os.environ.get("BENCH_COMMAND") or " ".join(
        [os.path.basename(sys.argv[0])] + sys.argv[1:])
    meta = {
        "command": cmdline, "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "git": git_rev(), "host": host(), "rounds": rounds, "mode": mode,
        "skipped": skipped, "seconds": round(time.monotonic() - t_start, 1),
        "load": [load_start, round(os.getloadavg()[0], 2)],
    }
    md = markdown(meta, allocs, stats, failures, cg, goals, files, cont, costs_md)
    with open(os.path.join(outdir, "report.md"), "w") as f:
        f.write(md + "\n")
    report = {
        "meta": meta,
        "allocators": [{"name": a, "lib": lib} for a, lib in allocs],
        "benchmarks": [{"name": b, "binary": binary, "op": what,
                        "args": {"full": full, "quick": quick, "smoke": smoke}[mode]}
                       for b, binary, full, quick, smoke, what in benches],
        "results": {b: {a: dict(s, samples=[x["ops_per_sec"] for x in samples[(b, a)]],
                                rss_samples=[x["rss_kb"] for x in samples[(b, a)]])
                        for a, s in st.items()} for b, st in stats.items()},
        "failures": [{"benchmark": b, "allocator": a, "error": e}
                     for (b, a), e in failures.items()],
        "callgrind": cg,
        "contention": cont,
        "check_costs": costs,
        "goals": goals,
        "plots": files,
    }
    with open(os.path.join(outdir, "report.json"), "w") as f:
        json.dump(report, f, indent=1)

    print()
    print(md)
    log(f"[bench] wrote {os.path.join(outdir, 'report.md')}, report.json"
        f"{', ' + ', '.join(os.path.basename(x) for x in files) if files else ''} "
        f"({meta['seconds']} s)")
    if failures:
        log(f"[bench] {len(failures)} benchmark/allocator pairs failed at least once")
    return 1 if (args.strict and failures) else 0


if __name__ == "__main__":
    sys.exit(main())
