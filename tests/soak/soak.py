#!/usr/bin/env python3
"""tests/soak/soak.py - run the soak workload (tests/soak/soak.c) under each allocator in
turn, sample RSS, write a Markdown report and judge it.

Allocators: hakmem release and debug (LD_PRELOAD), glibc (no preload) and mimalloc
(LD_PRELOAD of libmimalloc.so.2, when installed). Each runs SECONDS with one RSS sample
every SAMPLE seconds. Checks, each a failure:
  - a run that does not exit 0 (the workload verifies every block);
  - hakmem's RSS keeps growing at the fixed live set: the median of the last third of
    the samples above 1.15 x the higher of the first and middle thirds' + 4 MiB (a heap
    that keeps growing has each third above the one before; one whose RSS dips and comes
    back, 97 / 72 / 98 MiB in a CI run, gives its memory back and takes it again);
  - hakmem's RSS (median of the last third) above 1.5 x mimalloc's + 16 MiB.
Medians, not means: a heap's RSS at one instant swings by tens of MiB (free large pages
held for reuse, threads exiting mid-churn), and on a loaded machine two such samples in
a third of eight moved its mean past the bound with no growth at all. A heap that keeps
growing has every late sample high, so its median shows it as its mean did.
--self-test judges made-up sample series (flat with spikes: ok; steady growth: fail;
twice mimalloc's: fail) and runs nothing.
Usage: soak.py --build BUILD [--seconds N] [--sample S] [--out report.md] | --self-test
Exit 0 when every check passes, 1 otherwise, 2 on usage errors."""
import argparse
import os
import statistics
import subprocess
import sys

MIMALLOC = "/usr/lib/x86_64-linux-gnu/libmimalloc.so.2"
GROWTH_RATIO, GROWTH_SLACK_KB = 1.15, 4096
PEER_RATIO, PEER_SLACK_KB = 1.5, 16384


def run(binary, preload, seconds, sample, threads):
    env = dict(os.environ, SOAK_SECONDS=str(seconds), SOAK_SAMPLE=str(sample), SOAK_THREADS=str(threads))
    env.pop("LD_PRELOAD", None)
    if preload:
        env["LD_PRELOAD"] = preload
    p = subprocess.run([binary], env=env, capture_output=True, text=True, timeout=seconds * 3 + 120)
    samples, ops = [], 0
    for line in p.stdout.splitlines():
        f = line.split()
        if f and f[0] == "sample":
            samples.append((float(f[1]), int(f[2])))
        elif f and f[0] == "done":
            ops = int(f[1])
    return p.returncode, samples, ops, p.stderr.strip()


def thirds(samples):
    rss = [r for _, r in samples]
    n = len(rss)
    if n < 3:
        return None
    k = n // 3
    return statistics.median(rss[:k]), statistics.median(rss[k:n - k]), statistics.median(rss[n - k:])


def judge(results):
    """results: name -> (exit code, samples, ops, thirds); the list of problems."""
    problems = []
    for name, (rc, samples, ops, t) in results.items():
        if rc != 0 or not t:
            problems.append(f"{name}: exit {rc}, {len(samples)} samples")
    for name in ("hakmem", "hakmem-debug"):
        if name not in results:
            continue
        rc, samples, ops, t = results[name]
        if t and t[2] > GROWTH_RATIO * max(t[0], t[1]) + GROWTH_SLACK_KB:
            problems.append(f"{name}: RSS keeps growing at a fixed live set: {t[0]:.0f} / {t[1]:.0f} -> {t[2]:.0f} KiB")
    if "mimalloc" in results and results["mimalloc"][3] and results.get("hakmem", (0, 0, 0, None))[3]:
        ours, peer = results["hakmem"][3][2], results["mimalloc"][3][2]
        if ours > PEER_RATIO * peer + PEER_SLACK_KB:
            problems.append(f"hakmem: RSS {ours:.0f} KiB against mimalloc's {peer:.0f} KiB")
    return problems


def self_test():
    """The judge on made-up series of 16 samples (KiB); 0 if every verdict is right."""
    def series(rss):
        s = [(i + 1.0, r) for i, r in enumerate(rss)]
        return (0, s, 1, thirds(s))
    flat = [100 << 10] * 16
    spiky = list(flat)
    spiky[12] = spiky[15] = 160 << 10          # two spikes in the last third
    growing = [(100 << 10) + i * (6 << 10) for i in range(16)]
    dip = [100 << 10] * 5 + [70 << 10] * 6 + [100 << 10] * 5   # gives memory back, then takes it again
    late = [100 << 10] * 5 + [70 << 10] * 6 + [140 << 10] * 5  # ... and then grows past where it started
    cases = [("flat with spikes", {"hakmem": series(spiky), "mimalloc": series(flat)}, False),
             ("steady growth", {"hakmem": series(growing), "mimalloc": series(flat)}, True),
             ("dip and back", {"hakmem": series(dip), "mimalloc": series(flat)}, False),
             ("dip then growth", {"hakmem": series(late), "mimalloc": series(flat)}, True),
             ("twice mimalloc", {"hakmem": series([2 * r + (20 << 10) for r in flat]), "mimalloc": series(flat)}, True),
             ("flat", {"hakmem": series(flat), "mimalloc": series(flat)}, False)]
    bad = 0
    for name, res, should_fail in cases:
        got = judge(res)
        ok = bool(got) == should_fail
        bad += not ok
        print(f"[soak] self-test {name:17s} {'ok' if ok else 'WRONG'}: {'; '.join(got) or 'no problem'}")
    return 1 if bad else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build")
    ap.add_argument("--self-test", action="store_true", help="judge made-up sample series, run nothing")
    ap.add_argument("--seconds", type=float, default=8)
    ap.add_argument("--sample", type=float, default=1)
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--out")
    a = ap.parse_args()
    if a.self_test:
        return self_test()
    if not a.build:
        ap.error("--build is required")
    if a.seconds < 3 * a.sample:
        ap.error("--seconds must cover at least three samples")
    build = os.path.abspath(a.build)
    binary = os.path.join(build, "tests", "soak", "soak")
    allocs = [("hakmem", os.path.join(build, "libhakmem.so")), ("hakmem-debug", os.path.join(build, "libhakmem-debug.so")),
              ("glibc", None)]
    if os.path.exists(MIMALLOC):
        allocs.append(("mimalloc", MIMALLOC))
    results = {}
    for name, pre in allocs:
        rc, samples, ops, err = run(binary, pre, a.seconds, a.sample, a.threads)
        t = thirds(samples)
        results[name] = (rc, samples, ops, t)
        print(f"[soak] {name:13s} exit {rc}, {len(samples)} samples, {ops} ops"
              + (f", RSS thirds {t[0] / 1024:.0f} / {t[1] / 1024:.0f} / {t[2] / 1024:.0f} MiB" if t else ""), flush=True)
        if rc != 0 or not t:
            print(f"[soak] {name} stderr: {err[-300:]}")
    problems = judge(results)
    lines = [f"# soak: RSS at a fixed live set ({a.seconds:g} s each, {a.threads} threads with churn, a sample every {a.sample:g} s)",
             "", "| allocator | exit | ops | RSS first third, median (MiB) | middle (MiB) | last third (MiB) | max (MiB) | growth last/middle |",
             "|---|---|---|---|---|---|---|---|"]
    for name, (rc, samples, ops, t) in results.items():
        if t:
            mx = max(r for _, r in samples)
            lines.append(f"| {name} | {rc} | {ops} | {t[0] / 1024:.1f} | {t[1] / 1024:.1f} | {t[2] / 1024:.1f} | {mx / 1024:.1f} | {t[2] / t[1]:.2f} |")
        else:
            lines.append(f"| {name} | {rc} | {ops} | - | - | - | - | - |")
    lines += ["", "RSS samples (KiB):", "", "| t (s) | " + " | ".join(results) + " |", "|---|" + "---|" * len(results)]
    n = max(len(r[1]) for r in results.values())
    for i in range(n):
        row = [f"{results[k][1][i][1]}" if i < len(results[k][1]) else "" for k in results]
        t = next((results[k][1][i][0] for k in results if i < len(results[k][1])), 0)
        lines.append(f"| {t:.0f} | " + " | ".join(row) + " |")
    lines += ["", "**Verdict: " + ("ok" if not problems else "FAIL: " + "; ".join(problems)) + "**", ""]
    out = a.out or os.path.join(build, "soak", "report.md")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as f:
        f.write("\n".join(lines))
    for p in problems:
        print(f"[soak] FAIL: {p}")
    print(f"[soak] {'ok' if not problems else 'FAILED'}; report {out}")
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main())
