#!/usr/bin/env python3
"""tmin.py - minimise a text op stream: drop ops (chunks, then single lines) while the
replay keeps ending the same way (same exit status, or same first line of output
matching --match). Usage:
    fuzz/tmin.py [--match REGEX] [--replay build/hakmem-replay] FILE [OUT]
The original is kept; the result goes to OUT (default FILE.min.txt)."""
import argparse, os, re, subprocess, sys, tempfile

TIMEOUT = 60

def outcome(replay, lines, match):
    with tempfile.NamedTemporaryFile('w', suffix='.txt', delete=False) as f:
        f.write('#hakmem-ops\n' + ''.join(lines))
        path = f.name
    try:
        p = subprocess.run([replay, path], capture_output=True, text=True, timeout=TIMEOUT)
        out = p.stdout + p.stderr
        key = p.returncode
        if match:
            m = re.search(match, out)
            key = (key, m is not None)
        return key
    except subprocess.TimeoutExpired:
        return 'timeout'
    finally:
        os.unlink(path)

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--match')
    ap.add_argument('--replay', default=os.path.join(os.environ.get('BUILD', 'build'), 'hakmem-replay'))
    ap.add_argument('--timeout', type=float, default=60, help='seconds per replay (a hang = outcome "timeout")')
    ap.add_argument('file'); ap.add_argument('out', nargs='?')
    a = ap.parse_args()
    global TIMEOUT
    TIMEOUT = a.timeout
    ops = [l if l.endswith('\n') else l + '\n' for l in open(a.file) if l.strip() and not l.startswith('#')]
    want = outcome(a.replay, ops, a.match)
    print(f'tmin: {len(ops)} ops, outcome {want}', file=sys.stderr)
    chunk = max(1, len(ops) // 2)
    while chunk >= 1:
        i, changed = 0, False
        while i < len(ops):
            trial = ops[:i] + ops[i + chunk:]
            if trial and outcome(a.replay, trial, a.match) == want:
                ops, changed = trial, True
            else:
                i += chunk
        if not changed:
            chunk //= 2
    out = a.out or a.file.rsplit('.', 1)[0] + '.min.txt'
    with open(out, 'w') as f:
        f.write('#hakmem-ops\n' + ''.join(ops))
    print(f'tmin: {len(ops)} ops -> {out}', file=sys.stderr)

if __name__ == '__main__':
    main()
