#!/usr/bin/env python3
"""bench/smoke.py BINDIR LIBHAKMEM OUTDIR - the fast test of the benchmarks (test-bench-smoke):
every benchmark runs once with tiny iteration counts against glibc and LIBHAKMEM and
must exit 0 and print a RESULT line; usage errors must exit 2 and --help 0; then
bench/run.py --smoke must produce report.md and report.json with a result for every
benchmark and both allocators. Never checks timings. Exit 1 on a failure."""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
RESULT = re.compile(r'^RESULT bench=[a-z_]+ .*ops_per_sec=[0-9]+ rss_kb=[0-9]+ .*bad=0$', re.M)

# name, program, arguments: each run once per allocator
CASES = [('random_mixed', 'random_mixed', ['20000']),
         ('random_mixed small', 'random_mixed', ['5000', '7', '1', '64', '3'])]
CASES += [(f'mt_larson {t}t', 'mt_larson', [str(t), '10000']) for t in (1, 2, 4)]
CASES += [('mt_larson 100% share', 'mt_larson', ['2', '5000', '16', '16', '2k', '100']),
          ('mt_larson sized frees', 'mt_larson', ['2', '5000', '256', '16', '1024', '50', '1', '1']),
          ('rmix', 'rmix', ['1', '20000']),
          ('random_mixed_ref', 'random_mixed_ref', ['20000']),
          ('rmix 3t', 'rmix', ['3', '5000', '4096', '2'])]
for t in (2, 5):
    CASES += [(f'prodcons {t}t', 'prodcons', [str(t), '5000']), (f'exchange {t}t', 'exchange', [str(t), '5000'])]
CASES += [('mid', 'mid_large', ['mid', '2000']), ('large', 'mid_large', ['large', '50'])]
CASES += [('glibc_thread 1t', 'glibc_thread', ['1', '20']),
          ('glibc_thread 3t capped', 'glibc_thread', ['3', '0', '5000', '7']),
          ('alloc_test 1t', 'alloc_test', ['1', '20000']),
          ('alloc_test 3t small', 'alloc_test', ['3', '20000', '300', '12', '5'])]

PROGRAMS = ('random_mixed', 'random_mixed_ref', 'rmix', 'mt_larson', 'prodcons', 'exchange', 'mid_large',
            'glibc_thread', 'alloc_test')
# arguments each program must refuse with exit 2 (besides a bogus one)
BAD_ARGS = [('random_mixed min > max', 'random_mixed', ['10', '4', '100', '50']),
            ('prodcons 1 thread', 'prodcons', ['1']),
            ('glibc_thread no duration, no cap', 'glibc_thread', ['1', '0', '0']),
            ('glibc_thread 0 threads', 'glibc_thread', ['0']),
            ('alloc_test max_exp 3', 'alloc_test', ['1', '100', '4096', '3']),
            ('alloc_test < 64 slots a thread', 'alloc_test', ['4', '100', '200'])]


def run(cmd, preload=None, timeout=20):
    env = dict(os.environ)
    env.pop('LD_PRELOAD', None)
    if preload:
        env['LD_PRELOAD'] = preload
    try:
        p = subprocess.run(cmd, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           errors='replace', timeout=timeout)
        return p.returncode, p.stdout + p.stderr
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b'').decode('utf-8', 'replace') if isinstance(e.stdout, bytes) else (e.stdout or '')
        return 124, out + f'\n(timed out after {timeout}s)'


def tail(text, n=3):
    return ' '.join(text.strip().splitlines()[-n:])


def main(argv=None):
    ap = argparse.ArgumentParser(prog='bench/smoke.py', description='The fast test of the benchmarks (no timings).')
    ap.add_argument('bindir', help='folder of the benchmark programs')
    ap.add_argument('lib', help='libhakmem.so to preload')
    ap.add_argument('out', help='output folder of the runner check')
    a = ap.parse_args(argv)
    if not os.path.isfile(a.lib):
        print(f'smoke: {a.lib} missing (make libs)')
        return 1
    lib = os.path.abspath(a.lib)
    fails = []

    def fail(msg):
        print(f'smoke: FAIL {msg}')
        fails.append(msg)

    for alloc, pre in (('glibc', None), ('hakmem', lib)):
        for name, prog, args in CASES:
            rc, out = run([os.path.join(a.bindir, prog), *args], pre)
            m = RESULT.search(out)
            if rc != 0:
                fail(f'{alloc} {name}: exit {rc}: {tail(out)}')
            elif not m:
                fail(f'{alloc} {name}: no RESULT line: {tail(out)}')
            else:
                print(f'smoke: ok   {alloc} {name}: {m.group(0)[:90]}')

    for prog in PROGRAMS:
        if run([os.path.join(a.bindir, prog), '--help'])[0] != 0:
            fail(f'{prog} --help: not exit 0')
        if run([os.path.join(a.bindir, prog), 'bogus-arg'])[0] != 2:
            fail(f'{prog} bogus-arg: not exit 2')
    for name, prog, args in BAD_ARGS:
        if run([os.path.join(a.bindir, prog), *args])[0] != 2:
            fail(f'{name}: not exit 2')
    # bench/shapes.c: every thread-cache shape serves the loop without losing a block state
    shapes = os.path.join(a.bindir, 'shapes')
    rc, out = run([shapes, '--list'])
    names = out.split() if rc == 0 else []
    if len(names) < 2:
        fail(f'shapes --list: exit {rc}: {tail(out)}')
    for n in names:
        rc, out = run([shapes, n, '20000'])
        if rc != 0 or not re.search(rf'^RESULT shape={re.escape(n)} ops=20000 ops_per_sec=[0-9]+ check=[0-9]+$', out, re.M):
            fail(f'shapes {n}: exit {rc}: {tail(out)}')
    if names:
        print(f'smoke: ok   shapes: {len(names)} shapes')
    for args in (['no-such-shape'], ['array', '0'], ['array', '12x'], []):
        if run([shapes, *args])[0] != 2:
            fail(f"shapes {' '.join(args)}: not exit 2")
    if run([shapes, '--help'])[0] != 0:
        fail('shapes --help: not exit 0')
    print('smoke: usage checks done')

    # The runner, end to end, on glibc and hakmem release.
    shutil.rmtree(a.out, ignore_errors=True)
    os.makedirs(a.out)
    with open(os.path.join(a.out, 'run.log'), 'w') as log:
        rc = subprocess.run([sys.executable, os.path.join(HERE, 'run.py'), '--smoke', '--build', os.path.dirname(lib),
                             '--bin', a.bindir, '--out', a.out, '--allocators', 'glibc,hakmem', '--strict'],
                            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL).returncode
    if rc != 0:
        with open(os.path.join(a.out, 'run.log'), errors='replace') as f:
            fail(f'runner: {tail(f.read(), 5)}')
    else:
        for f in ('report.md', 'report.json'):
            p = os.path.join(a.out, f)
            if not (os.path.isfile(p) and os.path.getsize(p) > 0):
                fail(f'runner wrote no {f}')
        try:
            with open(os.path.join(a.out, 'report.json')) as f:
                r = json.load(f)
            want = {b['name'] for b in r['benchmarks']}
            missing = [f'{b} / {al}' for b in sorted(want) for al in ('glibc', 'hakmem')
                       if al not in r['results'].get(b, {})]
            if missing:
                fail(f"runner has no result for {', '.join(missing)}")
            else:
                print(f"smoke: ok   runner: {len(want)} benchmarks x 2 allocators, "
                      f"callgrind: {', '.join(sorted(r['callgrind'])) or 'none'}")
        except (OSError, ValueError, KeyError) as e:
            fail(f'runner report.json: {e}')
    if not fails:
        print('smoke: all passed')
    return 1 if fails else 0


if __name__ == '__main__':
    sys.exit(main())
