#!/usr/bin/env python3
"""bench/shapes.py - run every thread-cache shape of bench/shapes.c, alternating, and
write a Markdown table: median ops/s with min-max, and the median of the per-round
ratios to the `array` shape (hakmem's cache without its checks). Rounds rotate the
order so that no shape always runs first or last; the per-round ratio cancels most of
a shared machine's drift between rounds.

    python3 bench/shapes.py --bin build/bench/bin/shapes [--rounds 7] [--iters N] [--out FILE]
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import time


def run(binary, shape, iters):
    out = subprocess.run([binary, shape, str(iters)], capture_output=True, text=True, timeout=600)
    m = re.search(r"ops_per_sec=([0-9.]+)", out.stdout)
    if out.returncode != 0 or not m:
        sys.exit(f"shapes.py: {shape} failed (exit {out.returncode}): {out.stderr.strip()}")
    return float(m.group(1))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bin", required=True, help="the shapes program")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--iters", type=int, default=20000000)
    ap.add_argument("--out", help="also write the table here")
    a = ap.parse_args()
    names = subprocess.run([a.bin, "--list"], capture_output=True, text=True, check=True).stdout.split()
    res = {n: [] for n in names}
    t0 = time.time()
    for r in range(a.rounds):
        order = names[r % len(names):] + names[:r % len(names)]
        if r % 2:
            order.reverse()
        for n in order:
            res[n].append(run(a.bin, n, a.iters))
        print(f"[shapes] round {r + 1}/{a.rounds} done ({time.time() - t0:.0f} s)", file=sys.stderr, flush=True)
    base = res["array"]
    lines = [f"shapes: {a.rounds} rounds x {a.iters} ops, load average {os.getloadavg()[0]:.1f} at the end", "",
             "| shape | median M ops/s (min-max) | per-round ratio to array: median (min-max) |",
             "|---|---:|---:|"]
    for n in names:
        v = res[n]
        ratio = [x / b for x, b in zip(v, base)]
        lines.append(f"| {n} | {statistics.median(v) / 1e6:.1f} ({min(v) / 1e6:.1f}-{max(v) / 1e6:.1f}) | "
                     f"{statistics.median(ratio):.2f} ({min(ratio):.2f}-{max(ratio):.2f}) |")
    text = "\n".join(lines) + "\n"
    print(text, end="")
    if a.out:
        with open(a.out, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
