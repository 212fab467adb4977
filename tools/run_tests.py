#!/usr/bin/env python3
"""tools/run_tests.py TARGET... - run each make test target (`make test`), keep going on
failure, print a status line per target (its log's last 25 lines on failure) and the
closing "N passed, N failed" line, after each failed target's last 8 lines again (a CI
excerpt that keeps only the tail still shows why). Logs in $BUILD/test-logs/TARGET.log; MAKE names the
make program. Exit 1 if any target failed, 2 on wrong usage."""
import argparse
import os
import subprocess
import sys
import time


def main(argv=None):
    ap = argparse.ArgumentParser(prog='tools/run_tests.py', description='Run make test targets one after the other.')
    ap.add_argument('targets', nargs='+', metavar='TARGET', help='a make target')
    a = ap.parse_args(argv)
    logdir = os.path.join(os.environ.get('BUILD') or 'build', 'test-logs')
    os.makedirs(logdir, exist_ok=True)
    make = os.environ.get('MAKE') or 'make'
    failed, tails = [], {}
    for t in a.targets:
        start = time.time()
        print(f'[test] {t:<28} ... ', end='', flush=True)
        log = os.path.join(logdir, f'{t}.log')
        with open(log, 'wb') as out:
            rc = subprocess.run([make, '--no-print-directory', t], stdout=out, stderr=subprocess.STDOUT).returncode
        secs = int(time.time() - start)
        if rc == 0:
            print(f'ok   ({secs}s)', flush=True)
            continue
        failed.append(t)
        print(f'FAIL ({secs}s), log: {log}')
        with open(log, errors='replace') as f:
            lines = f.read().splitlines()
        for line in lines[-25:]:
            print(f'    | {line}')
        tails[t] = lines[-8:]
        sys.stdout.flush()
    for t in failed:
        print(f'[test] {t} failed; its log ends:')
        for line in tails[t]:
            print(f'    | {line}')
    if failed:
        print(f"failed: {' '.join(failed)}")
    print(f'{len(a.targets) - len(failed)} passed, {len(failed)} failed')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
