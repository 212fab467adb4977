#!/usr/bin/env python3
"""teeth.py - how fast the harness flags a build, measured honestly (make verify-teeth,
make fuzz-holes).

For each build (a weakened release build: one check off; or the full release build,
to time how fast the open holes are found) and each of SEEDS libFuzzer seeds, fuzz from
the fault-free seeds only (corpus/<target>/seed-clean-*: no fault op, no copy of a
reproducer) in a fresh work corpus until the oracle aborts, or SECONDS pass. Prints a
status line every few seconds and a Markdown table: per build, how many seeds flagged
it, the median, min and max time to the first finding, and how (divergence, escape,
false alarm, bug, or "crash" when only a signal flagged it; only a divergence, an
escape or a crash counts as catching a weakened build). With --control (the same target
built on the full release build), each finding's input is replayed on it: a finding the
full build also fails on is not the missing check's (a crash of the harness, or a hole
of the release build itself) and does not count. Exit 1 if a build was not
caught by every seed, or its median time exceeds --goal (a check the harness cannot
see, or sees too slowly to trust a short campaign), 0 otherwise.

With --keep-going, violations do not stop a run (HAKMEM_FUZZ_KEEP_GOING=1): every one
is saved with the time it was found, and a second table gives each distinct finding
(verdict, fault class, fault op and kind) with the time each seed first found it.

Usage: teeth.py --target fuzz_ops --bin DIR/{variant}/fuzz_ops --seconds 60 --seeds 5
               [--control DIR/fuzz_ops] [--goal 10] [--jobs 2] [--keep-going] [--out build/teeth] VARIANT..."""
import argparse, configparser, glob, os, re, shutil, statistics, subprocess, sys, time


def target_options(target):
    """libFuzzer flags from fuzz/<target>.options ([libfuzzer] section): the flags every
    campaign of the target uses (make fuzz-*, the nightly job, the fuzzing service)."""
    cp = configparser.ConfigParser()
    cp.read(f'fuzz/{target}.options')
    opts = dict(cp['libfuzzer']) if cp.has_section('libfuzzer') else {}
    return [f'-{k}=' + (f'fuzz/{v}' if k == 'dict' else v) for k, v in opts.items()]


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


CAUGHT = ('divergence', 'escape', 'crash')
FUZZ_ENV = {'HAKMEM_FUZZ_ESCAPES_FATAL': '1'}


def confirm(control, finding, crash_file, timeout=120):
    """The finding, checked against the full release build: replay its input there. A
    finding the full build fails on too is not evidence of the missing check."""
    if not control or not finding or finding[0] not in CAUGHT or not crash_file:
        return finding
    try:
        p = subprocess.run([control, crash_file], env=dict(os.environ, **FUZZ_ENV), capture_output=True,
                           text=True, errors='replace', timeout=timeout)
        failed, out = p.returncode != 0, p.stdout + p.stderr
    except subprocess.TimeoutExpired:
        failed, out = True, f'timed out after {timeout} s'
    if not failed:
        return finding
    kind = classify(out)[0]
    return ('also on the full build', f'{finding[0]} here, {kind} on the full release build: {os.path.basename(crash_file)}')


def finding_key(msg):
    """(verdict, class, fault op and kind) of an oracle message."""
    m = re.search(r"hakmem-oracle: ([A-Z ]+?) at op \d+ \[(F\d)\] '([^']*)'", msg)
    if not m:
        return None
    w = m.group(3).split()
    op = w[0]
    if op in ('attack', 'free_bad', 'realloc_bad', 'usable_bad', 'uaf_link') and len(w) > 2:
        op += ' ' + (w[1] if op == 'attack' else w[2])
    elif op == 'poke' and len(w) > 5:
        op += ' %s %s' % (w[2], w[5])
    return (m.group(1).lower(), m.group(2), op)


def distinct_findings(a):
    first = {}   # key -> {(variant, seed): seconds}
    for v in a.variants:
        for s in range(1, a.seeds + 1):
            for fn in glob.glob(os.path.join(a.out, v, f'seed{s}', 'findings', '*.txt')):
                txt = open(fn, errors='replace').read()
                k = finding_key(txt)
                t = re.search(r'# found after ([\d.]+) s', txt)
                if not k or not t:
                    continue
                d = first.setdefault((v,) + k, {})
                d[s] = min(d.get(s, 1e9), float(t.group(1)))
    print(f'\n| build | verdict | class | fault op | seeds that found it (of {a.seeds}) | median first time (s) | min (s) |')
    print('|---|---|---|---|---:|---:|---:|')
    for key in sorted(first, key=lambda k: (k[0], statistics.median(first[k].values()))):
        ts = list(first[key].values())
        print(f'| {key[0]} | {key[1]} | {key[2]} | {key[3]} | {len(ts)} | {statistics.median(ts):.1f} | {min(ts):.1f} |')


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--target', required=True)
    ap.add_argument('--bin', required=True, help='binary path with {variant} in it')
    ap.add_argument('--seconds', type=float, default=60)
    ap.add_argument('--seeds', type=int, default=5)
    ap.add_argument('--goal', type=float, default=10, help='median seconds every build must be flagged within (exit 1 otherwise)')
    ap.add_argument('--jobs', type=int, default=2)
    ap.add_argument('--out', default='build/teeth')
    ap.add_argument('--control', help='the target on the full release build: a finding counts only if it passes there')
    ap.add_argument('--keep-going', action='store_true', help='time every distinct finding, not only the first')
    ap.add_argument('--arg', action='append', default=[], metavar='FLAG',
                    help="one more libFuzzer flag after the target's options (repeatable): to compare engine settings")
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
            cmd = [a.bin.format(variant=v)] + target_options(a.target) + a.arg + [
                   f'-seed={s}', f'-max_total_time={int(a.seconds)}', f'-artifact_prefix={d}/crash/',
                   os.path.join(d, 'work'), seeds_dir]
            logf = open(os.path.join(d, 'log'), 'w')
            env = dict(os.environ, **FUZZ_ENV)
            if a.keep_going:
                os.makedirs(os.path.join(d, 'findings'))
                env.update(HAKMEM_FUZZ_KEEP_GOING='1', HAKMEM_FUZZ_ESCAPES=os.path.join(d, 'findings'))
            p = subprocess.Popen(cmd, stdout=logf, stderr=subprocess.STDOUT, env=env)
            running.append((v, s, d, p, time.time(), logf))
        for r in list(running):
            v, s, d, p, t0, logf = r
            if p.poll() is not None:
                dt = time.time() - t0
                logf.close()
                log = open(os.path.join(d, 'log'), errors='replace').read()
                found = sorted(glob.glob(os.path.join(d, 'crash', 'crash-*')) + glob.glob(os.path.join(d, 'crash', 'timeout-*')))
                finding = classify(log) if found else None
                if not a.keep_going:
                    finding = confirm(a.control, finding, found[0] if found else None)
                results[(v, s)] = (dt, finding)
                running.remove(r)
        if time.time() - last >= 5:
            last = time.time()
            print(f'[teeth] {len(results)}/{len(a.variants) * a.seeds} runs done, {len(running)} running, '
                  f'{time.time() - t_start:.0f}s', flush=True)
        time.sleep(0.2)

    if a.keep_going:   # runs did not stop at their first finding: only the findings table means something
        distinct_findings(a)
        print(f'(fault-free seeds only; every finding in {a.out}/<build>/seed<k>/findings/)')
        return 0
    fail = []
    print(f'\n| weak build | caught (of {a.seeds} seeds) | median time to detection (s) | min (s) | max (s) | how | example |')
    print('|---|---:|---:|---:|---:|---|---|')
    for v in a.variants:
        rs = [results[(v, s)] for s in range(1, a.seeds + 1)]
        # caught: a divergence, an escape, or a crash (a weakened build may die walking a
        # forged link) that the full release build passes (--control); a false alarm, a
        # bug, or a finding the full build shares is a finding against the harness or the
        # allocator as a whole, not evidence that this check is missing
        hits = [r for r in rs if r[1] and r[1][0] in CAUGHT]
        others = sorted({r[1][0] for r in rs if r[1] and r[1][0] not in CAUGHT})
        times = [r[0] for r in hits]
        hows = sorted({r[1][0] for r in hits})
        # a seed that did not catch the build counts as never (the median of the five)
        med = statistics.median([r[0] if r in hits else float('inf') for r in rs])
        medtxt = f'{med:.1f}' if med != float('inf') else f'>{a.seconds:.0f}'
        if len(hits) < len(rs) or med > a.goal:
            medtxt = f'**{medtxt}**'
            fail.append(v)
        ex = hits[0][1][1] if hits else next((r[1][1] for r in rs if r[1]), 'survived')
        lo, hi = (f'{min(times):.1f}', f'{max(times):.1f}') if times else ('-', '-')
        how = ", ".join(hows) or "**not caught**"
        if others:
            how += f' (also {", ".join(others)}: not counted)'
        print(f'| {v} | {len(hits)} | {medtxt} | {lo} | {hi} | {how} | {ex} |')
    control = (f'each finding replayed on {a.control}, counted only if it passes there' if a.control
               else 'findings not replayed on the full build (no --control)')
    print(f'\n(bound: every seed catches the build, median <= {a.goal:g} s; {a.seconds:g} s cap per run; fault-free seeds '
          f'only; {a.jobs} job(s); {control}; logs and crash files in {a.out}/<build>/seed<k>/)')
    if fail:
        print(f'teeth: FAILED: not caught by every seed within a median of {a.goal:g} s: {" ".join(fail)}')
    else:
        print(f'teeth: every build was caught by every seed, median <= {a.goal:g} s')
    return 1 if fail else 0


if __name__ == '__main__':
    sys.exit(main())
