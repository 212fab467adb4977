#!/usr/bin/env python3
"""test_teeth.py - fuzz/teeth.py's verdict (make test-teeth-report): fake fuzzers, one
per behaviour, stand in for the weakened builds' libFuzzer binaries, and teeth.py must
print one Markdown row per build with the seeds that caught it and the median, min and
max time, count only a divergence, an escape or a crash as caught, and exit 1 exactly
when a build is not caught by every seed or its median exceeds the bound.
Exit 1 on a failure."""
import os
import re
import stat
import subprocess
import sys
import tempfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..'))

# What each fake build does: (seconds before it stops, the oracle line, or None: survives)
FAKES = {
    'fast': (0.0, 'hakmem-oracle: DIVERGENCE at op 3 [F6] \'uaf_link 1 self\': release never reported'),
    'escape': (0.0, 'hakmem-oracle: ESCAPE at op 4 [F2] \'free_bad 0 misaligned 1\': harm nobody reported first'),
    'slow': (1.5, 'hakmem-oracle: DIVERGENCE at op 3 [F6] \'uaf_link 1 self\': release never reported'),
    'never': (0.2, None),
    'falsealarm': (0.0, 'hakmem-oracle: FALSE ALARM: release build reported use_after_free at op 1 before any fault'),
}

FAKE = '''#!/usr/bin/env python3
import os, sys, time
delay, line = %r
prefix = [a.split('=', 1)[1] for a in sys.argv[1:] if a.startswith('-artifact_prefix=')][0]
time.sleep(delay)
if line is None:
    sys.exit(0)
open(prefix + 'crash-0', 'w').write('x')
print(line, file=sys.stderr)
sys.exit(1)
'''

problems = []


def run(tmp, variants, goal):
    cmd = [sys.executable, os.path.join(ROOT, 'fuzz', 'teeth.py'), '--target', 'fuzz_ops', '--bin',
           os.path.join(tmp, 'bin', '{variant}', 'fuzz_ops'), '--seconds', '5', '--seeds', '3', '--goal', str(goal),
           '--jobs', '2', '--out', os.path.join(tmp, 'out')] + variants
    p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)
    rows = {}
    for ln in p.stdout.splitlines():
        cells = [c.strip() for c in ln.strip('|').split('|')]
        if ln.startswith('| ') and cells[0] in FAKES:
            rows[cells[0]] = cells
    return p.returncode, rows, p.stdout


with tempfile.TemporaryDirectory() as tmp:
    for v, spec in FAKES.items():
        d = os.path.join(tmp, 'bin', v)
        os.makedirs(d)
        fn = os.path.join(d, 'fuzz_ops')
        with open(fn, 'w') as f:
            f.write(FAKE % (spec,))
        os.chmod(fn, os.stat(fn).st_mode | stat.S_IXUSR)

    rc, rows, out = run(tmp, ['fast', 'escape'], 1.0)
    if rc != 0:
        problems.append(f'every build caught quickly: exit {rc}, want 0\n{out}')
    if not re.search(r'^\| weak build \| caught \(of 3 seeds\) \| median time to detection \(s\) \| min \(s\) \| max \(s\) \|',
                     out, re.M):
        problems.append(f'no table header with seeds caught, median, min and max:\n{out}')
    for v in ('fast', 'escape'):
        r = rows.get(v)
        if not r or r[1] != '3' or '**' in r[2] or float(r[2]) > 1.0 or float(r[3]) > float(r[4]):
            problems.append(f'{v}: row {r}, want 3 seeds caught with a median within the bound, min <= max')
    for v, bad in (('slow', 'a median over the bound'), ('never', 'a build no seed caught'),
                   ('falsealarm', 'a build flagged only by false alarms')):
        rc, rows, out = run(tmp, ['fast', v], 1.0)
        r = rows.get(v)
        if rc != 1:
            problems.append(f'{bad}: exit {rc}, want 1\n{out}')
        if not r or '**' not in r[2]:
            problems.append(f'{bad}: row {r}, want its median marked')
        if v != 'slow' and (not r or r[1] != '0'):
            problems.append(f'{bad}: row {r}, want 0 seeds caught')
        if 'FAILED' not in out or v not in out.split('FAILED', 1)[1]:
            problems.append(f'{bad}: the FAILED line does not name {v}\n{out}')

for p in problems:
    print('FAIL', p)
print('test-teeth-report:', 'FAILED' if problems else 'ok')
sys.exit(1 if problems else 0)
