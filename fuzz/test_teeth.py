#!/usr/bin/env python3
"""test_teeth.py - fuzz/teeth.py's verdict (make test-teeth-report): fake fuzzers, one
per behaviour, stand in for the weakened builds' libFuzzer binaries, and teeth.py must
print one Markdown row per build with the seeds that caught it and the median, min and
max time, count only a divergence, an escape or a crash as caught, and exit 1 exactly
when a build is not caught by every seed or its median exceeds the bound. With a
control (the full release build), a finding the control fails on too must not count.
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
    'crashy': (0.0, '==1==ERROR: AddressSanitizer: SEGV on unknown address 0x000000000010'),
}

# The full release build, replaying one input: passes it, or fails on it as well.
CONTROL = '''#!/usr/bin/env python3
import sys
if %r:
    print('==2==ERROR: AddressSanitizer: SEGV on unknown address 0x000000000010', file=sys.stderr)
    sys.exit(1)
sys.exit(0 if len(sys.argv) == 2 and open(sys.argv[1]).read() == 'x' else 3)
'''

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


def run(tmp, variants, goal, control=None):
    cmd = [sys.executable, os.path.join(ROOT, 'fuzz', 'teeth.py'), '--target', 'fuzz_ops', '--bin',
           os.path.join(tmp, 'bin', '{variant}', 'fuzz_ops'), '--seconds', '5', '--seeds', '3', '--goal', str(goal),
           '--jobs', '2', '--out', os.path.join(tmp, 'out')] + (['--control', control] if control else []) + variants
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
    controls = {}
    for name, fails in (('passes', False), ('fails', True)):
        fn = controls[name] = os.path.join(tmp, 'control-' + name)
        with open(fn, 'w') as f:
            f.write(CONTROL % (fails,))
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

    # the control: a crash counts only when the full release build passes the same input
    rc, rows, out = run(tmp, ['fast', 'crashy'], 1.0, controls['passes'])
    if rc != 0 or not rows.get('crashy') or rows['crashy'][1] != '3' or 'crash' not in rows['crashy'][5]:
        problems.append(f'a crash the full build passes: exit {rc}, row {rows.get("crashy")}, want 3 caught, exit 0\n{out}')
    rc, rows, out = run(tmp, ['fast', 'crashy'], 1.0, controls['fails'])
    r = rows.get('crashy')
    if rc != 1 or not r or r[1] != '0' or 'also on the full build' not in r[5]:
        problems.append(f'a crash the full build shares: exit {rc}, row {r}, want 0 caught, "also on the full build", exit 1\n{out}')
    if not rows.get('fast') or rows['fast'][1] != '0':
        problems.append(f'a divergence the full build shares must not count either: row {rows.get("fast")}\n{out}')

for p in problems:
    print('FAIL', p)
print('test-teeth-report:', 'FAILED' if problems else 'ok')
sys.exit(1 if problems else 0)
