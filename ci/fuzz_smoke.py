#!/usr/bin/env python3
"""ci/fuzz_smoke.py TARGET... - a few seconds of fuzzing per target and engine, for CI
(`make ci-fuzz-smoke`, called by .ci/run). It proves that every target builds and
fuzzes with libFuzzer (ASan+UBSan) and with AFL++, and that a short run finds
nothing; the long runs are the nightly's (ci/nightly.py).

libFuzzer goes through the harness's own job (`make fuzz-<name>`: both cores, its
summary, exit 1 on any crash, divergence, false alarm or harm without fault), AFL++
through `make afl-<name>`, where the Makefile has those jobs; otherwise the binaries
are run directly. SMOKE_TIME seconds each (default 5); SMOKE_AFL=0 skips AFL++.
Exit 1 if any run failed, 2 on wrong usage."""
import argparse
import os
import re
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Smoke:
    def __init__(self, build, seconds, make):
        self.B, self.T, self.make = build, seconds, make
        self.logs = os.path.join(build, 'ci-smoke')
        self.n = self.failed = 0

    def mk(self, *args, log=None):
        e = {k: v for k, v in os.environ.items() if k not in ('MAKEFLAGS', 'MFLAGS', 'MAKELEVEL')}
        return subprocess.run([self.make, '--no-print-directory', f'BUILD={self.B}', *args], env=e,
                              stdin=subprocess.DEVNULL, stdout=log or subprocess.DEVNULL,
                              stderr=subprocess.STDOUT).returncode

    def has_job(self, name):
        return self.mk('-n', name) == 0

    def seeds(self, t):
        return [d for d in (os.path.join('corpus', t), os.path.join('corpus', 'text', t)) if os.path.isdir(d)]

    @staticmethod
    def summary_of(log):
        """The line that says it all: the harness's VERDICT, else an execs line."""
        with open(log, errors='replace') as f:
            lines = f.read().splitlines()
        pick = [l for l in lines if l.startswith('VERDICT')] or \
               [l for l in lines if re.match(r'^\[afl [^]]*/main\]|^execs', l)]
        return pick[-1][:120] if pick else ''

    def run(self, name, log, fn):
        """One run: prints one line, and the log's tail on failure."""
        t0 = time.time()
        self.n += 1
        with open(log, 'w') as f:
            ok = fn(f)
        secs = int(time.time() - t0)
        if ok:
            print(f'[smoke] {name:<28} ok   ({secs}s) {self.summary_of(log)}', flush=True)
            return
        self.failed += 1
        print(f'[smoke] {name:<28} FAIL ({secs}s), log: {log}', flush=True)
        with open(log, errors='replace') as f:
            for l in f.read().splitlines()[-30:]:
                print(f'    | {l}')

    def lf_direct(self, t, log):
        """Direct libFuzzer run: one process, stops at the first crash (exit != 0)."""
        if self.mk('deps-fuzz', f'{self.B}/fuzz/{t}', log=log):
            return False
        d = os.path.join(self.logs, t)
        os.makedirs(os.path.join(d, 'corpus'), exist_ok=True)
        os.makedirs(os.path.join(d, 'artifacts'), exist_ok=True)
        log.flush()
        return subprocess.run([f'{self.B}/fuzz/{t}', f'-max_total_time={self.T}', '-timeout=20', '-rss_limit_mb=4096',
                               '-malloc_limit_mb=0', f'-artifact_prefix={d}/artifacts/', f'{d}/corpus',
                               *self.seeds(t)], stdout=log, stderr=subprocess.STDOUT,
                              stdin=subprocess.DEVNULL).returncode == 0

    def afl_direct(self, t, log):
        """Direct AFL++ run: one -M for T seconds; fails if it saved a crash."""
        if self.mk('deps-afl', f'{self.B}/afl/{t}', log=log):
            return False
        d = os.path.join(self.logs, t, 'afl')
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(os.path.join(d, 'in'))
        for sd in self.seeds(t):
            for e in os.scandir(sd):
                if e.is_file():
                    shutil.copyfile(e.path, os.path.join(d, 'in', e.name))
        if not os.listdir(os.path.join(d, 'in')):
            with open(os.path.join(d, 'in', 'empty'), 'wb') as f:
                f.write(b'\0')
        e = dict(os.environ, AFL_NO_UI='1', AFL_SKIP_CPUFREQ='1', AFL_NO_AFFINITY='1', AFL_SKIP_CRASHES='1',
                 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES='1')
        log.flush()
        if subprocess.run(['timeout', '-k', '10', str(self.T + 120), 'afl-fuzz', '-V', str(self.T), '-t', '20000',
                           '-i', f'{d}/in', '-o', f'{d}/out', '-M', 'main', '--', f'{self.B}/afl/{t}'], env=e,
                          stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL).returncode:
            return False
        crashes = [f for top, _, fs in os.walk(f'{d}/out') if os.path.basename(top) == 'crashes'
                   for f in fs if f.startswith('id:')]
        with open(f'{d}/out/main/fuzzer_stats', errors='replace') as f:
            m = re.search(r'^execs_done *: *(\S+)', f.read(), re.M)
        print(f"execs {m.group(1) if m else '?'}, crashes {len(crashes)}", file=log, flush=True)
        return not crashes


def main(argv=None):
    ap = argparse.ArgumentParser(
        prog='ci/fuzz_smoke.py', usage='[BUILD=build] [SMOKE_TIME=5] [SMOKE_AFL=1] %(prog)s TARGET...',
        description='A few seconds of libFuzzer and AFL++ per fuzz target (make ci-fuzz-smoke); '
                    'exit 1 if any run failed or found something.')
    ap.add_argument('targets', nargs='+', metavar='TARGET', help='fuzz targets (fuzz/TARGET.c)')
    ap.add_argument('--seconds', default=os.environ.get('SMOKE_TIME') or '5', help='seconds per run (SMOKE_TIME, default 5)')
    ap.add_argument('--afl', default=os.environ.get('SMOKE_AFL') or '1', choices=('0', '1'),
                    help='1 runs AFL++ too, 0 skips it (SMOKE_AFL, default 1)')
    a = ap.parse_args(argv)
    if not re.fullmatch(r'[0-9]+', a.seconds) or int(a.seconds) < 1:
        ap.error(f"seconds must be a positive number (got '{a.seconds}')")
    os.chdir(ROOT)
    for t in a.targets:
        if not os.path.isfile(os.path.join('fuzz', t + '.c')):
            ap.error(f"unknown target '{t}' (no fuzz/{t}.c)")
    s = Smoke(os.environ.get('BUILD') or 'build', int(a.seconds), os.environ.get('MAKE') or 'make')
    os.makedirs(s.logs, exist_ok=True)
    start = time.time()
    for t in a.targets:
        name = t.removeprefix('fuzz_')
        lf_log, afl_log = os.path.join(s.logs, f'{t}-libfuzzer.log'), os.path.join(s.logs, f'{t}-afl.log')
        if s.has_job(f'fuzz-{name}'):
            s.run(f'libFuzzer {t}', lf_log, lambda log: s.mk(f'fuzz-{name}', f'FUZZ_TIME={s.T}', log=log) == 0)
        else:
            s.run(f'libFuzzer {t}', lf_log, lambda log: s.lf_direct(t, log))
        if a.afl != '1':
            continue
        if s.has_job(f'afl-{name}'):
            s.run(f'AFL++ {t}', afl_log, lambda log: s.mk(f'afl-{name}', f'AFL_TIME={s.T}', log=log) == 0)
        else:
            s.run(f'AFL++ {t}', afl_log, lambda log: s.afl_direct(t, log))
    print(f'ci-fuzz-smoke: {s.n - s.failed} of {s.n} runs ok in {int(time.time() - start)}s '
          f'({s.T}s each; logs in {s.logs}/)')
    return 1 if s.failed else 0


if __name__ == '__main__':
    sys.exit(main())
