#!/usr/bin/env python3
"""teeth.py - how fast the harness flags a build, measured honestly (make verify-teeth,
make fuzz-holes).

For each build (a weakened release build: one check off; or the full release build,
to time how fast the open holes are found) and each of SEEDS libFuzzer seeds, fuzz from
the fault-free seeds only (corpus/<target>/seed-clean-*: no fault op, no copy of a
reproducer) in a fresh work corpus until the oracle aborts, or SECONDS pass. Prints a
status line every few seconds and a Markdown table: per build, how many seeds flagged
it, the median and min-max time to the first finding, and how (divergence, escape,
false alarm, bug, or "crash" when only a signal flagged it). Exit 1 if a build was not
flagged by every seed (a check the harness cannot see), 0 otherwise.

Usage: teeth.py --target fuzz_ops --bin DIR/{variant}/fuzz_ops --seconds 60 --seeds 5
               [--goal 10] [--jobs 2] [--out build/teeth] VARIANT..."""
import argparse, glob, os, re, shutil, statistics, subprocess, sys, time


def classify(log):
    m = re.search(r'hakmem-oracle: (DIVERGENCE|ESCAPE|FALSE ALARM|BUG)[^\n]*', log)
    if m:
        return m.group(1).lower().replace(' ', '_'), m.group(0)[15:140]
    m = re.search(r'hakmem-oracle: CRASH[^\n]*', log)
    if m:
        return 'crash', m.group(0)[15:140]
    m = re.search(r'ERROR: (\w+): ([\w -]+)', log)
    if m:
        return 'crash', m.group(0)[:120]
    return 'crash', 'died (see the log)'


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--target', required=True)
    ap.add_argument('--bin', required=True, help='binary path with {variant} in it')
    ap.add_argument('--seconds', type=float, default=60)
    ap.add_argument('--seeds', type=int, default=5)
    ap.add_argument('--goal', type=float, default=10, help='median seconds a build must be flagged within (reported)')
    ap.add_argument('--jobs', type=int, default=2)
    ap.add_argument('--out', default='build/teeth')
    ap.add_argument('variants', nargs='+')
    a = ap.parse_args()

    seeds_dir = os.path.join(a.out, 'seeds')
    shutil.rmtree(a.out, ignore_errors=True)
    os.makedirs(seeds_dir)
    clean = sorted(glob.glob(f'corpus/{a.target}/seed-clean-*'))
    if not clean:
        sys.exit(f'teeth.py: no fault-free seeds corpus/{a.target}/seed-clean-* (make corpus-bin)')
    for f in clean:
        shutil.copy(f, seeds_dir)

    todo = [(v, s) for v in a.variants for s in range(1, a.seeds + 1)]
    running, results = [], {}
    t_start = last = time.time()
    while todo or running:
        while todo and len(running) < a.jobs:
            v, s = todo.pop(0)
            d = os.path.join(a.out, v, f'seed{s}')
            os.makedirs(os.path.join(d, 'work'))
            os.makedirs(os.path.join(d, 'crash'))
            cmd = [a.bin.format(variant=v), f'-seed={s}', f'-max_total_time={int(a.seconds)}', '-timeout=20',
                   '-rss_limit_mb=4096', f'-artifact_prefix={d}/crash/', f'-dict=fuzz/{a.target}.dict', '-max_len=1024',
                   os.path.join(d, 'work'), seeds_dir]
            logf = open(os.path.join(d, 'log'), 'w')
            p = subprocess.Popen(cmd, stdout=logf, stderr=subprocess.STDOUT, env=dict(os.environ, HAKMEM_FUZZ_ESCAPES_FATAL='1'))
            running.append((v, s, d, p, time.time(), logf))
        for r in list(running):
            v, s, d, p, t0, logf = r
            if p.poll() is not None:
                dt = time.time() - t0
                logf.close()
                log = open(os.path.join(d, 'log'), errors='replace').read()
                crashed = bool(glob.glob(os.path.join(d, 'crash', 'crash-*')) or glob.glob(os.path.join(d, 'crash', 'timeout-*')))
                results[(v, s)] = (dt, classify(log) if crashed else None)
                running.remove(r)
        if time.time() - last >= 5:
            last = time.time()
            print(f'[teeth] {len(results)}/{len(a.variants) * a.seeds} runs done, {len(running)} running, '
                  f'{time.time() - t_start:.0f}s', flush=True)
        time.sleep(0.2)

    fail = 0
    print(f'\n| build | flagged (of {a.seeds} seeds) | median time to finding (s) | min-max (s) | how | example |')
    print('|---|---:|---:|---:|---|---|')
    for v in a.variants:
        rs = [results[(v, s)] for s in range(1, a.seeds + 1)]
        hits = [r for r in rs if r[1]]
        times = [r[0] for r in hits]
        hows = sorted({r[1][0] for r in hits})
        med = statistics.median([r[0] if r[1] else float('inf') for r in rs])
        medtxt = f'{med:.1f}' if med != float('inf') else f'>{a.seconds:.0f}'
        if med > a.goal:
            medtxt = f'**{medtxt}**'
        if len(hits) < len(rs):
            fail = 1
        ex = hits[0][1][1] if hits else 'survived'
        mm = f'{min(times):.1f}-{max(times):.1f}' if times else '-'
        print(f'| {v} | {len(hits)} | {medtxt} | {mm} | {", ".join(hows) or "**not flagged**"} | {ex} |')
    print(f'\n(goal: median <= {a.goal:.0f} s; fault-free seeds only; logs and crash files in {a.out}/<build>/seed<k>/)')
    print('teeth: every build was flagged by every seed' if not fail else 'teeth: FAILED: a build was not flagged by every seed')
    return fail


if __name__ == '__main__':
    sys.exit(main())
