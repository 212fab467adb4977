#!/usr/bin/env python3
"""summary.py - the closing summary of a fuzz campaign (fuzz/run-fuzz.sh).

Reads the libFuzzer log (coverage), the per-process counters the targets write
($HAKMEM_FUZZ_STATS.<pid>.json, see harness/) and the crash files, replays each
new crash with hakmem-replay to say what it is, and prints one VERDICT line.
Exit status: 0 if the verdict is positive, 1 otherwise."""
import argparse, glob, json, os, re, subprocess, sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'harness'))
import fault_classes  # noqa: E402  (the one table: harness/fault_classes.def)

CLASS_NAMES = {fault_classes.stats_key(c[0]): fault_classes.label(c[0]) for c in fault_classes.CLASSES}


def load_stats(d):
    tot = {'inputs': 0, 'ops': 0, 'faults': 0, 'classes': {}, 'delay_max': None}
    for fn in glob.glob(os.path.join(d, '*.json')):
        try:
            j = json.load(open(fn))
        except (OSError, ValueError):
            continue
        for k in ('inputs', 'ops', 'faults'):
            tot[k] += j.get(k, 0)
        tot['delay_max'] = j.get('delay_max', tot['delay_max'])   # HV_DELAY_MAX, as the targets report it
        for c, v in j.get('classes', {}).items():
            t = tot['classes'].setdefault(c, {'delay': [0] * 65})
            for k, x in v.items():
                if k == 'delay':
                    t['delay'] = [a + b for a, b in zip(t['delay'], x)]
                else:
                    t[k] = t.get(k, 0) + x
    return tot


def median_delay(hist):
    n = sum(hist)
    if not n:
        return None
    half, acc = (n + 1) // 2, 0
    for d, c in enumerate(hist):
        acc += c
        if acc >= half:
            return d
    return None


def classify(replay, path):
    """What a crash file is: (kind, one line)."""
    try:
        p = subprocess.run([replay, path], capture_output=True, text=True, timeout=20)
    except subprocess.TimeoutExpired:
        return 'timeout', 'replay timed out'
    out = (p.stdout + p.stderr).splitlines()
    for l in out:
        m = re.search(r'hakmem-oracle: (DIVERGENCE|FALSE ALARM|BUG|ESCAPE|CRASH)', l)
        if m:
            kind = m.group(1).lower().replace(' ', '_')
            return kind, l.strip()
    if p.returncode < 0:
        return 'crash', f'replay died of signal {-p.returncode}'
    return 'not_reproduced', (out[0].strip() if out else 'no output') + ' (does not reproduce in the gcc build)'


def main():
    ap = argparse.ArgumentParser()
    for a in ('target', 'log', 'stats', 'crashes', 'since', 'escapes', 'replay'):
        ap.add_argument('--' + a)
    ap.add_argument('--seconds', type=float, default=0)
    ap.add_argument('--jobs', type=int, default=1)
    a = ap.parse_args()

    cov = ft = corp = None
    lf_execs = 0
    logs = sorted(glob.glob(os.path.join(a.log, 'fuzz-*.log'))) if os.path.isdir(a.log) else [a.log]
    for fn in logs:   # one log per libFuzzer job: execs add up, coverage is the best job's
        last = None
        try:
            for l in open(fn, errors='replace'):
                m = re.match(r'#(\d+):?\s+(?:\S+\s+)?cov: (\d+) ft: (\d+) corp: (\d+)', l)
                if m:
                    last = [int(x) for x in m.groups()]
        except OSError:
            continue
        if last:
            lf_execs += last[0]
            cov, ft, corp = (max(x or 0, y) for x, y in zip((cov, ft, corp), last[1:]))
    st = load_stats(a.stats)
    execs = st['inputs'] or lf_execs
    secs = max(a.seconds, 1)
    print(f'\n== {a.target}: summary ({a.seconds:.0f} s, {a.jobs} job(s))')
    print(f'execs        {execs} ({execs / secs:.0f} exec/s over {a.jobs} job(s), {execs / secs / max(a.jobs, 1):.0f} exec/s per job; {st["ops"]} ops, '
          f'{st["faults"]} faults applied)')
    print(f'coverage     cov {cov}  ft {ft}  corpus {corp}   (libFuzzer log: {a.log})')

    cls = st['classes']
    tot = {k: 0 for k in ('streams', 'debug', 'release', 'both', 'divergences', 'escapes', 'false_alarms', 'bugs',
                          'release_only', 'debug_at_drain', 'skipped_faults')}
    print('\nreports by fault class (a stream counts under the fault its first detection is about; "covered": '
          'a release report about the same fault, in the stream, at most %s ops after debug\'s and before any harm):\n' % st['delay_max'])
    print('| class | streams | debug reported | release reported | covered | release only | debug at drain | '
          'divergences | escapes | faults skipped (no-op) | median delay (ops) |')
    print('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|')
    delay_all = [0] * 65
    for key in CLASS_NAMES:
        v = cls.get(key)
        if not v:
            continue
        for k in tot:
            tot[k] += v.get(k, 0)
        delay_all = [x + y for x, y in zip(delay_all, v.get('delay', [0] * 65))]
        md = median_delay(v.get('delay', []))
        print(f'| {CLASS_NAMES.get(key, key)} | {v.get("streams", 0)} | {v.get("debug", 0)} | {v.get("release", 0)} | '
              f'{v.get("both", 0)} | {v.get("release_only", 0)} | {v.get("debug_at_drain", 0)} | {v.get("divergences", 0)} | '
              f'{v.get("escapes", 0)} | {v.get("skipped_faults", 0)} | {"-" if md is None else md} |')
    if sum(delay_all):
        print('\ndelay of the covering release report after debug\'s (ops; 0 = the same op or earlier):')
        print('| delay | 0 | 1 | 2-4 | 5-16 | >16 |\n|---|---:|---:|---:|---:|---:|')
        b = [delay_all[0], delay_all[1], sum(delay_all[2:5]), sum(delay_all[5:17]), sum(delay_all[17:])]
        print('| streams | ' + ' | '.join(str(x) for x in b) + ' |')

    crashes, slow = [], []
    if a.crashes and os.path.isdir(a.crashes):
        since = os.path.getmtime(a.since) if a.since and os.path.exists(a.since) else 0
        for fn in sorted(glob.glob(os.path.join(a.crashes, '*'))):
            if '.min' in fn or os.path.getmtime(fn) < since:
                continue
            # libFuzzer's slow-unit-* are inputs over -report_slow_units seconds: not failures
            (slow if os.path.basename(fn).startswith('slow-unit-') else crashes).append(fn)
    kinds = {}
    print(f'\ndivergences  {tot["divergences"]}')
    print(f'escapes      {tot["escapes"]}' + (f'   (inputs kept in {a.escapes}/)' if tot['escapes'] and a.escapes else ''))
    print(f'false alarms {tot["false_alarms"]}')
    print(f'bugs         {tot["bugs"]}  (harm with no fault applied)')
    print(f'crash files  {len(crashes)} new in {a.crashes}/')
    groups = {}
    for i, fn in enumerate(crashes):
        kind, line = classify(a.replay, fn) if a.replay and i < 200 else ('?', '')
        kinds[kind] = kinds.get(kind, 0) + 1
        m = re.search(r"\[(F\d)\] '(\w+(?: [a-z_]+)?)[^']*': ([^|]*)", line)
        key = (kind, m.group(1), m.group(2), m.group(3).strip()[:80]) if m else (kind, '-', '-', line[:80])
        groups.setdefault(key, []).append(fn)
        if i >= 20:
            continue
        print(f'  {fn}: {kind}\n    {line[:400]}')
        print(f'    replay:   {a.replay} --trace {fn}\n    minimise: make fuzz-min CRASH={fn}')
    if len(crashes) > 20:
        print(f'  ... and {len(crashes) - 20} more')
    if groups:
        print('\ndistinct findings (kind, fault class, fault op, why), with one reproducer each:\n')
        print('| kind | class | fault op | why | files | reproducer |\n|---|---|---|---|---:|---|')
        for (kind, fc, op, why), fs in sorted(groups.items(), key=lambda x: -len(x[1])):
            print(f'| {kind} | {fc} | {op} | {why} | {len(fs)} | {fs[0]} |')
    if slow:
        print(f'slow inputs  {len(slow)} (libFuzzer slow-unit-*, not failures), e.g. {slow[0]}')

    if not execs:
        print('\nVERDICT: no streams were run (see the libFuzzer logs)')
        return 1
    # Every count is a failure of the claim: a divergence (debug detected a fault that
    # release did not report in time), an escape (harm no report came before), a false
    # alarm, a bug (harm with no fault), or a crash file of any other kind.
    div = max(tot['divergences'], kinds.get('divergence', 0))
    esc = max(tot['escapes'], kinds.get('escape', 0))
    fa = max(tot['false_alarms'], kinds.get('false_alarm', 0))
    bug = max(tot['bugs'], kinds.get('bug', 0))
    other = sum(v for k, v in kinds.items() if k not in ('divergence', 'escape', 'false_alarm', 'bug'))
    fails = [(div, 'divergence(s)'), (esc, 'escape(s)'), (fa, 'false alarm(s)'), (bug, 'bug(s)'), (other, 'other crash file(s)')]
    if any(n for n, _ in fails):
        what = ', '.join(f'{n} {w}' for n, w in fails if n)
        print(f'\nVERDICT: NOT SAFE to drop the debug guards: {what} in {execs} streams (each listed above with its replay '
              f'and minimise commands)')
        return 1
    print(f'\nVERDICT: release guards covered every debug detection ({execs} streams, {tot["debug"]} debug detections, '
          f'{tot["both"]} covered, 0 divergences, 0 escapes, 0 false alarms, 0 bugs)')
    return 0


if __name__ == '__main__':
    sys.exit(main())
