#!/usr/bin/env python3
"""ci/nightly.py - the nightly fuzzing job on one machine (`make nightly`).

For each fuzz target, one after the other: libFuzzer (-fork on all cores), then AFL++
(one -M and -S on the other cores), each for its share of the budget. Then, per
target: every crash is reproduced, minimised (-minimize_crash=1) and, one per new
crash signature, filed as a text reproducer under corpus/regressions/ with a one-line
entry in corpus/regressions/README.md; the AFL++ queues are reduced with afl-cmin and
everything new is merged into corpus/<target>/ with libFuzzer -merge=1 (only inputs
that add coverage). Then `make verify`, the bounded-exhaustive search, `make
verify-teeth` (every weakened build must be caught), the reliability runs (soak, ThreadSanitizer stress, long preload runs) and `make coverage`, and ONE
Markdown summary (execs, new coverage, crashes, divergences, verify verdict) in the
output folder, written by ci/nightly_report.py.

State: everything lives in the output folder (NIGHTLY_OUT, default
$BUILD/nightly/<date>); running again with the same folder resumes its campaigns
(libFuzzer work corpus, AFL++ autoresume, the exhaustive checkpoint), a new folder
starts from corpus/. The only writes outside it are the products: new inputs in
corpus/<target>/ and new reproducers in corpus/regressions/ (review and commit them).

Exit status: 0 clean; 1 a crash, a divergence (or false alarm / harm without fault),
a failed verify, an exhaustive-search violation, a weakened build verify-teeth did not
catch, or a failed reliability run (soak RSS
growth, a ThreadSanitizer report, a long preload run); 2 usage; 3 the job itself
failed (build, lock, coverage)."""
import argparse
import configparser
import fcntl
import glob
import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, 'ci'))
import nightly_report  # noqa: E402  (the summary and the verdict)
from nightly_report import last_line, read_text  # noqa: E402
from ossfuzz_check import options_of  # noqa: E402  (fuzz/<t>.options, as the service reads it)

PROG = 'ci/nightly.py'
ENGINES = ('libfuzzer', 'afl')
DEFAULT_TARGETS = 'fuzz_freelist fuzz_ops fuzz_header'

SOAK_SAMPLE = 5   # seconds between the soak's RSS samples

# The run folder's tables (read by ci/nightly_report.py): file -> columns.
TABLES = {
    'campaigns.tsv': ('target', 'engine', 'seconds', 'execs', 'coverage', 'corpus', 'artifacts', 'hangs', 'status'),
    'progress.tsv': ('target', 'engine', 'seconds', 'execs', 'coverage'),
    'crashes.tsv': ('target', 'engine', 'kind', 'status', 'sig', 'artifact', 'reproducer', 'summary'),
    'merge.tsv': ('target', 'new_files', 'new_features', 'new_edges', 'cov', 'ft', 'files_before',
                  'files_after', 'status'),
}


def knobs():
    """The environment knobs that are plain numbers: variable -> (its value, empty for the
    default, and what it is). The last three default to a share of the budget."""
    return {
        'NIGHTLY_STATUS_EVERY': (os.environ.get('NIGHTLY_STATUS_EVERY') or '5', 'seconds between status lines'),
        'NIGHTLY_MIN_TIME': (os.environ.get('NIGHTLY_MIN_TIME') or '60', 'seconds per crash minimisation'),
        'NIGHTLY_MAX_CRASHES': (os.environ.get('NIGHTLY_MAX_CRASHES') or '200', 'crashes triaged per target and engine'),
        'NIGHTLY_RESERVE_PCT': (os.environ.get('NIGHTLY_RESERVE_PCT') or '15', 'percent of the budget kept for post-processing'),
        'NIGHTLY_SOAK_SECONDS': (os.environ.get('NIGHTLY_SOAK_SECONDS') or '300', 'soak seconds per allocator'),
        'NIGHTLY_TSAN_SECONDS': (os.environ.get('NIGHTLY_TSAN_SECONDS') or '120', 'ThreadSanitizer stress seconds per build'),
        'VERIFY_TIME': (os.environ.get('VERIFY_TIME') or '', "seconds of make verify's own campaign"),
        'NIGHTLY_VERIFY_BOX': (os.environ.get('NIGHTLY_VERIFY_BOX') or '', 'the time box of make verify'),
        'NIGHTLY_EXHAUSTIVE_TIME': (os.environ.get('NIGHTLY_EXHAUSTIVE_TIME') or '', 'seconds of the exhaustive search'),
    }


def nproc():
    return len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else (os.cpu_count() or 1)


def is_uint(s):
    return re.fullmatch(r'[0-9]+', str(s)) is not None


def parser():
    reserve = knobs()['NIGHTLY_RESERVE_PCT'][0]
    fuzz_pct = 100 - int(reserve) if is_uint(reserve) and int(reserve) <= 100 else 85
    ap = argparse.ArgumentParser(
        prog=PROG, formatter_class=argparse.RawDescriptionHelpFormatter,
        usage='%(prog)s [options]          (or: make nightly [NIGHTLY_BUDGET=...])',
        description='The nightly fuzzing job: libFuzzer and AFL++ campaigns per target, crash triage\n'
                    'and filing, corpus merge, make verify, the exhaustive search, verify-teeth,\n'
                    'reliability runs,'
                    'make coverage, and one Markdown summary in the output folder. A rerun into the\n'
                    'same folder resumes its campaigns.',
        epilog=f'''Other knobs: BUILD (build), NIGHTLY_STATUS_EVERY (5 s), NIGHTLY_MIN_TIME (60 s per crash
minimisation), NIGHTLY_MAX_CRASHES (200 triaged per target and engine), VERIFY_TIME (verify's
own campaign, default a quarter of the reserve, 10..600 s), NIGHTLY_VERIFY_BOX (time box of
make verify, default half the reserve, at least 600 s), NIGHTLY_EXHAUSTIVE_TIME (the exhaustive
search, default a quarter of the reserve, 60..3600 s), NIGHTLY_RELIAB (1: soak, ThreadSanitizer
stress and long preload runs; 0 skips them), NIGHTLY_SOAK_SECONDS (300 per allocator),
NIGHTLY_TSAN_SECONDS (120 per build).
Exit: 0 clean, 1 crash/divergence/verify/exhaustive/teeth/reliability failed, 2 usage, 3 job error.''')
    ap.add_argument('-b', '--budget', metavar='SECONDS', default=os.environ.get('NIGHTLY_BUDGET') or '21600',
                    help=f'whole job, fuzzing and post-processing (NIGHTLY_BUDGET, default 21600 = 6 h); '
                         f'fuzzing gets {fuzz_pct}%% of it (NIGHTLY_RESERVE_PCT={reserve} is kept for merging, '
                         f'minimising, verify and coverage), split evenly over targets x engines')
    ap.add_argument('-o', '--out', metavar='DIR', default=os.environ.get('NIGHTLY_OUT') or '',
                    help='output folder (NIGHTLY_OUT, default $BUILD/nightly/<date>)')
    ap.add_argument('-t', '--targets', metavar='"T ..."', default=os.environ.get('NIGHTLY_TARGETS') or '',
                    help='fuzz targets (NIGHTLY_TARGETS, default: FUZZ_TARGETS of fuzz/fuzz.mk)')
    ap.add_argument('-e', '--engines', metavar='"E ..."', default=os.environ.get('NIGHTLY_ENGINES') or 'libfuzzer afl',
                    help='libfuzzer and/or afl (NIGHTLY_ENGINES, default "libfuzzer afl")')
    ap.add_argument('-j', '--jobs', metavar='N', default=os.environ.get('NIGHTLY_JOBS') or str(nproc()),
                    help=f'cores to use (NIGHTLY_JOBS, default: all, {nproc()} here)')
    ap.add_argument('--corpus', metavar='DIR', default=os.environ.get('NIGHTLY_CORPUS') or 'corpus',
                    help='seeds and merge destination (NIGHTLY_CORPUS, default corpus)')
    ap.add_argument('--regressions', metavar='DIR', default=os.environ.get('NIGHTLY_REGRESSIONS') or '',
                    help='where crashes are filed (NIGHTLY_REGRESSIONS, default <corpus>/regressions)')
    ap.add_argument('--no-verify', dest='verify', action='store_false', help='skip make verify (and the exhaustive search and verify-teeth)')
    ap.add_argument('--no-coverage', dest='coverage', action='store_false', help='skip make coverage')
    return ap


def parse_args(argv):
    """Options and knobs, checked; a wrong one is a usage error (exit 2)."""
    ap = parser()
    a = ap.parse_args(argv)
    if not is_uint(a.budget) or int(a.budget) < 30:
        ap.error(f"budget must be a number of seconds >= 30 (got '{a.budget}')")
    if not is_uint(a.jobs) or int(a.jobs) < 1:
        ap.error(f"jobs must be a positive number (got '{a.jobs}')")
    a.budget, a.jobs = int(a.budget), int(a.jobs)
    a.engines = a.engines.split()
    if not a.engines:
        ap.error('no engine')
    for e in a.engines:
        if e not in ENGINES:
            ap.error(f"unknown engine '{e}' (libfuzzer, afl)")
    a.knobs = {}
    for k, (v, what) in knobs().items():
        if v and not is_uint(v):
            ap.error(f"{k} ({what}) must be a number (got '{v}')")
        a.knobs[k] = int(v) if v else None
    if a.knobs['NIGHTLY_RESERVE_PCT'] > 100:
        ap.error('NIGHTLY_RESERVE_PCT must be at most 100')
    reliab = (os.environ.get('NIGHTLY_RELIAB') or '1') == '1'
    if reliab and a.knobs['NIGHTLY_SOAK_SECONDS'] < 3 * SOAK_SAMPLE:   # the soak's own minimum, said up front
        ap.error(f'NIGHTLY_SOAK_SECONDS must cover at least three RSS samples ({3 * SOAK_SAMPLE} s)')
    a.reliability = reliab
    a.targets = a.targets.split() if a.targets else None
    a.error = ap.error
    return a


class Tee:
    """sys.stdout / sys.stderr that also go to the run's log (as `exec > >(tee -a LOG)`)."""

    def __init__(self, stream, log):
        self.stream, self.log = stream, log

    def write(self, s):
        self.stream.write(s)
        self.log.write(s)
        return len(s)

    def flush(self):
        self.stream.flush()
        self.log.flush()


def say(msg):
    print(f'[nightly {time.strftime("%H:%M:%S")}] {msg}', flush=True)


def count_files(d, top_only=False):
    if top_only:
        try:
            return sum(1 for e in os.scandir(d) if e.is_file())
        except OSError:
            return 0
    return sum(len(fs) for _, _, fs in os.walk(d))


def find_files(d, pattern, newer=None):
    """Files under d whose path matches the regular expression pattern (find -path),
    newer than mtime `newer` if given, sorted (find | sort in the C locale)."""
    rx = re.compile(pattern)
    out = []
    for top, _, fs in os.walk(d):
        for f in fs:
            p = os.path.join(top, f)
            if rx.search(p):
                try:
                    if newer is None or os.stat(p).st_mtime > newer:
                        out.append(p)
                except OSError:
                    pass
    return sorted(out)


def first_line(text, pattern):
    m = re.search(pattern, text, re.M)
    if not m:
        return ''
    s = text.rfind('\n', 0, m.start()) + 1
    e = text.find('\n', m.start())
    return text[s:e if e >= 0 else len(text)]


def last_match(text, pattern):
    ms = list(re.finditer(pattern, text, re.M))
    return ms[-1] if ms else None


def cut(s, n):
    """The first n bytes of s, as `cut -c1-n` does."""
    return s.encode('utf-8', 'replace')[:n].decode('utf-8', 'ignore')


def oracle_sig(line):
    """The signature of an oracle message: what failed, the fault class and op, and the
    debug build's report (the text before the first '|'), with op indexes, slots and
    addresses blotted out, so that a minimised input keeps its original's signature."""
    s = line.split('|')[0]
    s = re.sub(r'0x[0-9a-fA-F]+', 'X', s)
    s = re.sub(r'(^|[^F0-9A-Za-z_])-?[0-9]+', r'\1N', s)
    return cut(s.rstrip(' '), 300)


def sig_hash(sig):
    return hashlib.sha1(sig.encode('utf-8', 'replace')).hexdigest()[:10]


def classify(text, rc, target, root=ROOT):
    """What one run of an input in the libFuzzer build showed, from its output and exit
    status: (kind, signature, summary). kind is divergence, false_alarm, bug, escape,
    crash, timeout, oom or leak. The signature is the sanitizer's SUMMARY (it names
    file:line and function) when there is one, else the oracle's line with op indexes,
    slots and addresses blotted out."""
    ora = first_line(text, r'^hakmem-oracle: ')
    san = first_line(text, r'^SUMMARY: (AddressSanitizer|UndefinedBehaviorSanitizer|LeakSanitizer|MemorySanitizer)')
    san = san.replace(root + '/', '')
    lf = first_line(text, r'^SUMMARY: libFuzzer')
    if rc in (124, 137) and not lf:
        lf = 'SUMMARY: libFuzzer: timeout (killed by the harness)'
    if 'DIVERGENCE' in ora:
        kind = 'divergence'
    elif 'FALSE ALARM' in ora:
        kind = 'false_alarm'
    elif ': BUG' in ora:
        kind = 'bug'
    elif 'ESCAPE' in ora:
        kind = 'escape'
    else:
        kind = 'crash'
    if 'timeout' in lf:
        if not san:
            kind = 'timeout'
    elif 'out-of-memory' in lf:
        kind = 'oom'
    if 'LeakSanitizer' in san:
        kind = 'leak'
    if san:
        sig = san
    elif ora:
        sig = oracle_sig(ora)
    elif lf:
        sig = f'{lf} in {target}'
    else:
        sig = f'exit status {rc}'
    summary = ora[:300] + (' | ' if ora and san else '') + san.removeprefix('SUMMARY: ')
    summary = summary or lf.removeprefix('SUMMARY: ') or f'exit status {rc}'
    return kind, sig, summary


def is_text(path):
    try:
        with open(path, 'rb') as f:
            return f.read(11) == b'#hakmem-ops'
    except OSError:
        return False


def readme_row(readme, row):
    """One row into the table of corpus/regressions/README.md (| file | found | what
    happened | status |): after the table's last row, wherever the table is; a new
    README with that table if there is none."""
    text = read_text(readme) if os.path.exists(readme) else None
    if text is None or not re.search(r'^\| *file *\|', text, re.M):
        if text is None:
            text = '# corpus/regressions - every reproducer the harness ever found\n'
        text += '\n| file | found | what happened | status |\n|---|---|---|---|\n'
    lines = text.splitlines(keepends=True)
    last = max(i for i, l in enumerate(lines) if l.startswith('|'))
    if not lines[last].endswith('\n'):
        lines[last] += '\n'
    lines.insert(last + 1, row + '\n')
    with open(readme + '.tmp', 'w') as f:
        f.write(''.join(lines))
    os.replace(readme + '.tmp', readme)


def known_reproducer(readme, h):
    """The reproducer the README lists for signature hash h, or None."""
    for l in read_text(readme).splitlines():
        if f'sig:{h}' in l:
            f = l.split('|')
            return re.sub(r'[ `]', '', f[1]) if len(f) > 1 else ''
    return None


def status_fields(line):
    """libFuzzer's status line '#N: cov: C ft: F corp: P ...' -> the nightly's summary of it."""
    f = line.split()
    val = {k: f[i + 1] for i, k in enumerate(f[:-1]) if k in ('cov:', 'ft:', 'corp:')}
    if 'cov:' not in val:
        return 'loading corpus'
    return f"execs {f[0].strip('#:')}  cov {val['cov:']}  ft {val.get('ft:', '')}  corpus {val.get('corp:', '')}"


def afl_stat(path, key):
    m = re.search(rf'^{key} *: *([0-9]+)', read_text(path), re.M)
    return int(m.group(1)) if m else None


class Night:
    """One run of the job: its configuration, folders and the tables it writes."""

    def __init__(self, a, root=ROOT, build=None, date=None, run_id=None):
        self.root = root
        self.build = build or os.environ.get('BUILD') or 'build'
        self.make = os.environ.get('MAKE') or 'make'
        self.budget, self.jobs, self.engines = a.budget, a.jobs, a.engines
        self.do_verify, self.do_coverage, self.do_reliability = a.verify, a.coverage, a.reliability
        self.knobs = a.knobs
        self.status_every = a.knobs['NIGHTLY_STATUS_EVERY']
        self.min_time = a.knobs['NIGHTLY_MIN_TIME']
        self.max_crashes = a.knobs['NIGHTLY_MAX_CRASHES']
        self.reserve = a.knobs['NIGHTLY_RESERVE_PCT']
        self.soak_secs = a.knobs['NIGHTLY_SOAK_SECONDS']
        self.tsan_secs = a.knobs['NIGHTLY_TSAN_SECONDS']
        self.targets = a.targets
        self.date = date or time.strftime('%Y-%m-%d')
        self.run_id = run_id or time.strftime('%H%M%S')
        ab = lambda p: os.path.abspath(os.path.join(root, p))
        self.out = ab(a.out or os.path.join(self.build, 'nightly', self.date))
        self.corpus = ab(a.corpus)
        self.reg = ab(a.regressions or os.path.join(self.corpus, 'regressions'))
        self.B = ab(self.build)
        self.rd = os.path.join(self.out, f'run-{self.run_id}')   # this run: logs, stats, triage, summary
        self.w = os.path.join(self.out, 'work')                  # campaigns, resumed by the next run
        self.replay = os.path.join(self.B, 'hakmem-replay')
        self.procs = []       # background campaigns still running (ours, by pid)
        self.seen = {}        # signature hash -> filed reproducer, within this run
        self.per = 5
        self.t0 = time.time()

    # ------------------------------------------------------------ helpers
    def path(self, *p):
        return os.path.join(self.rd, *p)

    def row(self, table, *fields):
        with open(self.path(table), 'a') as f:
            f.write('\t'.join(re.sub(r'[\t\n]', ' ', str(x)) for x in fields) + '\n')

    def make_env(self):
        e = dict(os.environ)
        for k in ('MAKEFLAGS', 'MFLAGS', 'MAKELEVEL'):
            e.pop(k, None)
        return e

    def mk_cmd(self, *args):
        return [self.make, '--no-print-directory', f'BUILD={self.build}', *args]

    def start(self, cmd, log=None, cwd=None, extra_env=None):
        """Start cmd in the background (ours, by pid), output to log (or discarded)."""
        e = self.make_env()
        e.update(extra_env or {})
        with open(log or os.devnull, 'wb') as out:
            p = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                 cwd=cwd or self.root, env=e)
        self.procs.append(p)
        return p

    def run(self, cmd, log=None, cwd=None, extra_env=None):
        """Run cmd to completion: its exit status as a shell reports it."""
        return self.reap(self.start(cmd, log, cwd, extra_env))

    def reap(self, p):
        """Wait for p: its exit status, 128 + the signal's number if a signal ended it."""
        rc = p.wait()
        if p in self.procs:
            self.procs.remove(p)
        return 128 - rc if rc < 0 else rc

    def cleanup(self):
        for p in self.procs:
            if p.poll() is None:
                try:
                    p.terminate()
                except OSError:
                    pass
        self.procs = []

    def has_target(self, name):
        return self.run(self.mk_cmd('-n', name)) == 0

    def elapsed(self, start):
        return int(time.time() - start)

    def lf_opts(self, t):
        """libFuzzer flags from fuzz/<t>.options ([libfuzzer] section, OSS-Fuzz style)."""
        p = os.path.join(self.root, 'fuzz', t + '.options')
        if not os.path.isfile(p):
            return []
        try:
            opts = options_of(p).get('libfuzzer', {})
        except configparser.Error as e:
            raise SystemExit(f'{PROG}: {p}: {e}')
        return [f'-{k}=' + (os.path.join(self.root, 'fuzz', v) if k == 'dict' else v) for k, v in opts.items()]

    def opt_val(self, t, key, default):
        v = [o.split('=', 1)[1] for o in self.lf_opts(t) if o.startswith(f'-{key}=')]
        return v[-1] if v else default

    def seed_dirs(self, t):
        return [d for d in (os.path.join(self.corpus, t), os.path.join(self.corpus, 'text', t)) if os.path.isdir(d)]

    def build_mtime(self):
        return os.stat(self.path('build.log')).st_mtime

    # ------------------------------------------------------------ libFuzzer campaign
    def run_libfuzzer(self, t):
        fz = os.path.join(self.B, 'fuzz', t)
        d = os.path.join(self.w, t, 'libfuzzer')
        art = self.path('artifacts', t, 'libfuzzer')
        log = self.path('logs', f'{t}-libfuzzer.log')
        st, esc = self.path('stats', t), self.path('escapes', t)
        for x in (os.path.join(d, 'corpus'), art, self.path('logs'), st, esc):
            os.makedirs(x, exist_ok=True)
        seeds = self.seed_dirs(t)
        say(f"{t}: libFuzzer -fork={self.jobs} for {self.per}s (work corpus {d}/corpus, resumes; "
            f"seeds {' '.join(seeds) or 'none'})")
        start = time.time()
        p = self.start(['timeout', '-k', '30', str(self.per + 300), fz, f'-fork={self.jobs}', '-ignore_crashes=1',
                        '-ignore_timeouts=1', '-ignore_ooms=1', f'-max_total_time={self.per}',
                        f'-artifact_prefix={art}/', *self.lf_opts(t), os.path.join(d, 'corpus'), *seeds],
                       log, cwd=d, extra_env={'HAKMEM_FUZZ_STATS': os.path.join(st, 'libfuzzer'),
                                              'HAKMEM_FUZZ_ESCAPES': esc})
        status_rx = r'^#[0-9]+: cov:.*$'
        while p.poll() is None:
            time.sleep(self.status_every)
            if p.poll() is not None:
                break
            m = last_match(read_text(log), status_rx)
            line = m.group(0) if m else ''
            print(f'[nightly {time.strftime("%H:%M:%S")}] {t} libfuzzer {self.elapsed(start):4d}s/{self.per}s  '
                  f'{status_fields(line)}  artifacts {count_files(art)}', flush=True)
            m = re.match(r'^#([0-9]+): cov: ([0-9]+)', line)
            if m:
                self.row('progress.tsv', t, 'libfuzzer', self.elapsed(start), m.group(1), m.group(2))
        rc = self.reap(p)
        text = read_text(log)
        m = last_match(text, status_rx)
        line = m.group(0) if m else ''
        execs = re.match(r'^#([0-9]+):', line)
        execs = execs.group(1) if execs else '0'
        cov = re.search(r' cov: ([0-9]+) ft: ([0-9]+)', line)
        cov = f'{cov.group(1)} edges, {cov.group(2)} features' if cov else ''
        # fork mode exits with the code of its last finding (1, 70 timeout, 71 oom, ...):
        # findings are triaged below; only a run that did not wind down is a job error
        status = 'ok' if re.search(r'^INFO: exiting:', text, re.M) else f'no clean exit (rc {rc}, log {log})'
        nart = count_files(art)
        self.row('campaigns.tsv', t, 'libfuzzer', self.elapsed(start), execs, cov or '-',
                 count_files(os.path.join(d, 'corpus')), nart, 0, status)
        say(f"{t}: libFuzzer done: {execs} execs, {cov or 'no coverage line'}, {nart} artifact(s)")

    # ------------------------------------------------------------ AFL++ campaign
    @staticmethod
    def afl_plot_sum(d):
        """(execs, crashes, hangs, edges, corpus) over every instance's plot_data, edges and
        corpus of the -M; cumulative over resumes."""
        execs = cr = hg = edges = corp = 0
        for f in sorted(glob.glob(os.path.join(d, '*', 'plot_data'))):
            rows = [l.replace(' ', '') for l in read_text(f).splitlines() if l.strip() and not l.startswith('#')]
            if not rows:
                continue
            v = rows[-1].split(',')
            n = lambda i: int(v[i]) if len(v) > i and v[i].isdigit() else 0
            execs, cr, hg = execs + n(11), cr + n(7), hg + n(8)
            if os.path.basename(os.path.dirname(f)) == 'main':
                edges, corp = n(12), n(3)
        return execs, cr, hg, edges, corp

    def run_afl(self, t):
        binp = os.path.join(self.B, 'afl', t)
        d, seeds = os.path.join(self.w, t, 'afl'), os.path.join(self.w, t, 'afl-seeds')
        st, esc = self.path('stats', t), self.path('escapes', t)
        for x in (d, seeds, self.path('logs'), st, esc):
            os.makedirs(x, exist_ok=True)
        # seeds: the corpus (binary and text); AFL++ reads one flat folder
        for e in os.scandir(seeds):
            if not e.is_dir():
                os.unlink(e.path)
        for sd in self.seed_dirs(t):
            for e in os.scandir(sd):
                if e.is_file() and not e.name.startswith('.') and not e.name.endswith('.md'):
                    shutil.copyfile(e.path, os.path.join(seeds, e.name))
        if not os.listdir(seeds):
            with open(os.path.join(seeds, 'empty'), 'wb') as f:
                f.write(b'\0')
        to = self.opt_val(t, 'timeout', '20')
        dict_ = os.path.join(self.root, 'fuzz', t + '.dict')
        dict_args = ['-x', dict_] if os.path.isfile(dict_) else []
        n = max(self.jobs, 2)
        say(f'{t}: AFL++ -M main + {n - 1} -S for {self.per}s (out {d}, autoresume)')
        start = time.time()
        # a resumed campaign counts on from its last session: report this run's share
        base_ex, base_cr, base_hg, _, _ = self.afl_plot_sum(d)
        base_stats = sum(afl_stat(f, 'execs_done') or 0 for f in glob.glob(os.path.join(d, '*', 'fuzzer_stats')))
        aenv = {'AFL_NO_UI': '1', 'AFL_AUTORESUME': '1', 'AFL_SKIP_CPUFREQ': '1', 'AFL_NO_AFFINITY': '1',
                'AFL_SKIP_CRASHES': '1', 'AFL_IGNORE_SEED_PROBLEMS': '1', 'AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES': '1',
                'AFL_ALLOW_TMP': '1', 'HAKMEM_FUZZ_STATS': os.path.join(st, 'afl'), 'HAKMEM_FUZZ_ESCAPES': esc}
        procs = []
        for i in range(n):
            role = ['-M', 'main'] if i == 0 else ['-S', f's{i}']
            procs.append(self.start(['timeout', '-k', '30', str(self.per + 120), 'afl-fuzz', '-V', str(self.per),
                                     '-t', f'{to}000', *dict_args, '-i', seeds, '-o', d, *role, '--', binp],
                                    self.path('logs', f'{t}-afl-{role[1]}.log'), extra_env=aenv))
            if i == 0:
                time.sleep(1)   # the -M sets up the sync folder first
        while True:
            time.sleep(self.status_every)
            if all(p.poll() is not None for p in procs):
                break
            ex, cr, hg, ed, co = self.afl_plot_sum(d)
            ex, cr, hg = ex - base_ex, cr - base_cr, hg - base_hg
            now = time.strftime('%H:%M:%S')
            if ex <= 0:
                print(f'[nightly {now}] {t} afl       {self.elapsed(start):4d}s/{self.per}s  starting (calibrating '
                      f'seeds; AFL++ writes its first numbers after a few seconds)', flush=True)
                continue
            print(f'[nightly {now}] {t} afl       {self.elapsed(start):4d}s/{self.per}s  execs {ex}  edges {ed}  '
                  f'corpus {co}  crashes {cr}  hangs {hg}', flush=True)
            self.row('progress.tsv', t, 'afl', self.elapsed(start), ex, ed)
        rc = 0
        for p in procs:
            r = self.reap(p)
            rc = r or rc
        # final numbers: fuzzer_stats is written at exit
        execs, edges, corp = -base_stats, 0, 0
        for f in glob.glob(os.path.join(d, '*', 'fuzzer_stats')):
            execs += afl_stat(f, 'execs_done') or 0
            if os.path.basename(os.path.dirname(f)) == 'main':
                edges, corp = afl_stat(f, 'edges_found') or 0, afl_stat(f, 'corpus_count') or 0
        since = self.build_mtime()
        ncr = len(find_files(d, r'/crashes/id:[^/]*$', since))
        nhg = len(find_files(d, r'/hangs/id:[^/]*$', since))
        status = 'ok' if rc == 0 else f'exit {rc} (see {self.rd}/logs/{t}-afl-*.log)'
        main_log = self.path('logs', f'{t}-afl-main.log')
        if not re.search(r"We're done here|Time limit was reached", read_text(main_log)):
            status = f'main did not finish cleanly (rc {rc}, see {main_log})'
        self.row('campaigns.tsv', t, 'afl', self.elapsed(start), execs, f'{edges} edges (of the -M)', corp,
                 ncr, nhg, status)
        say(f'{t}: AFL++ done: {execs} execs, {edges} edges, {ncr} crash(es), {nhg} hang(s); {status}')

    # ------------------------------------------------------------ crash triage and filing
    def reproduce(self, t, f, log):
        """Runs one input in the ASan libFuzzer build: (reproduced, kind, sig, summary)."""
        to = int(self.opt_val(t, 'timeout', '20'))
        rc = self.run(['timeout', '-k', '5', str(to * 3 + 30), os.path.join(self.B, 'fuzz', t), f'-timeout={to}',
                       '-rss_limit_mb=4096', '-malloc_limit_mb=0', f], log)
        kind, sig, summary = classify(read_text(log), rc, t, self.root)
        return rc != 0, kind, sig, summary

    def triage_target(self, t):
        cdir = self.path('crashes', t)
        os.makedirs(cdir, exist_ok=True)
        art = self.path('artifacts', t, 'libfuzzer')
        afl = os.path.join(self.w, t, 'afl')
        since = self.build_mtime()
        # crashes up to MAX_CRASHES; timeouts and ooms cost a full -timeout each, so 10
        items = [('libfuzzer', p) for p in find_files(art, r'/(crash|leak)-[^/]*$')[:self.max_crashes]]
        items += [('libfuzzer', p) for p in find_files(art, r'/(timeout|oom)-[^/]*$')[:10]]
        items += [('afl', p) for p in find_files(afl, r'/crashes/id:[^/]*$', since)[:self.max_crashes]]
        items += [('afl-hang', p) for p in find_files(afl, r'/hangs/id:[^/]*$', since)[:10]]
        with open(os.path.join(cdir, 'list'), 'w') as f:
            f.writelines(f'{e}\t{p}\n' for e, p in items)
        if not items:
            return
        say(f'{t}: triaging {len(items)} artifact(s)')
        for i, (engine, f) in enumerate(items, 1):
            base = re.sub(r'[:,]', '_', os.path.basename(f))
            cd = os.path.join(cdir, f'{engine}-{base}')
            shutil.copyfile(f, cd + '.input')
            repro, kind, sig, summary = self.reproduce(t, cd + '.input', cd + '.log')
            if not repro and engine != 'libfuzzer':
                # not in the ASan build: does the AFL++ build (no sanitizer, -O2) still fail?
                arc = self.run(['timeout', '-k', '5', '60', os.path.join(self.B, 'afl', t), cd + '.input'],
                               cd + '.afl.log')
                if arc != 0:
                    repro, kind = True, 'crash'
                    summary = cut(first_line(read_text(cd + '.afl.log'), r'^hakmem-oracle: '), 300)
                    summary = summary or f'exit status {arc} in the AFL++ build only (not under ASan)'
                    sig = 'afl-only: ' + oracle_sig(summary)
            eng = engine.removesuffix('-hang')
            if not repro:
                akind = 'crash'
                if engine == 'afl-hang' or base.startswith('timeout-') and engine == 'libfuzzer':
                    akind = 'timeout'
                elif engine == 'libfuzzer' and base.startswith('oom-'):
                    akind = 'oom'
                self.row('crashes.tsv', t, eng, akind, 'not reproduced', '-', cd + '.input', '-',
                         'does not fail when run again (flaky or load-dependent)')
                continue
            if kind == 'escape':
                kind = 'crash'   # an escape only aborts with HAKMEM_FUZZ_ESCAPES_FATAL=1
            h = sig_hash(sig)
            readme = os.path.join(self.reg, 'README.md')
            known = known_reproducer(readme, h) if os.path.isfile(readme) else None
            if h in self.seen:
                status, repro_name = 'duplicate', self.seen[h]
            elif known is not None:
                status, repro_name = 'known', known
            else:
                status, repro_name = self.file_crash(t, eng, cd, h, kind, sig, summary)
            self.seen[h] = repro_name
            self.row('crashes.tsv', t, eng, kind, status, h, cd + '.input', repro_name, summary)
            say(f'{t}: [{i}/{len(items)}] {kind} ({status}, sig:{h}): {summary[:160]}')

    def file_crash(self, t, eng, cd, h, kind, sig, summary):
        """Minimise (if libFuzzer reproduces it), convert to text, write the reproducer and
        its README line. Returns (status, reproducer)."""
        short = t.removeprefix('fuzz_')
        inp = cd + '.input'
        if kind != 'timeout' and not sig.startswith('afl-only'):
            to = self.opt_val(t, 'timeout', '20')
            # -minimize_crash runs child steps of -max_total_time each until one fails to
            # shrink the input; the outer timeout bounds the whole (the best input so far
            # is already in -exact_artifact_path)
            step = max(self.min_time // 6, 2)
            self.run(['timeout', '-k', '5', str(self.min_time), os.path.join(self.B, 'fuzz', t), '-minimize_crash=1',
                      f'-max_total_time={step}', '-runs=1000000', f'-timeout={to}', '-rss_limit_mb=4096',
                      '-malloc_limit_mb=0', f'-exact_artifact_path={cd}.min', inp], cd + '.min.log')
            if os.path.isfile(cd + '.min') and os.path.getsize(cd + '.min') > 0:
                # keep the minimised input only if it is still the same failure
                r = self.reproduce(t, cd + '.min', cd + '.min.check.log')
                if r[0] and sig_hash(r[2]) == h:
                    inp = cd + '.min'
        if is_text(inp):
            shutil.copyfile(inp, cd + '.txt')
        elif self.run([self.replay, '--target', short, '--to-text', '-o', cd + '.txt', inp], cd + '.txt.log') != 0:
            return f'new, not filed: no text form ({cd}.txt.log)', cd + '.input'
        # the text form must fail the same way, or the regression test would not guard it
        check = 'text form reproduces'
        r = self.reproduce(t, cd + '.txt', cd + '.txt.check.log')
        if not r[0] or sig_hash(r[2]) != h:
            check = f'text form does NOT reproduce the same failure: binary input kept at {inp}'
        os.makedirs(self.reg, exist_ok=True)
        name = f'nightly-{self.date}-{short}-{h}.txt'
        body = [l for l in read_text(cd + '.txt').splitlines() if not l.startswith('#hakmem-ops')]
        with open(os.path.join(self.reg, name), 'w') as f:
            f.write('\n'.join(['#hakmem-ops',
                               f'# Found by {PROG} on {self.date}: target {t}, engine {eng}, {kind} (sig:{h}).',
                               f'# {summary[:400]}',
                               f"# {check}; input {os.path.getsize(inp)} bytes{', minimised' if inp == cd + '.min' else ''}.",
                               f'# Replay: build/hakmem-replay --trace corpus/regressions/{name}', *body]) + '\n')
        what = summary[:300].replace('|', '\\|')
        readme_row(os.path.join(self.reg, 'README.md'),
                   f'| {name} | {PROG} {self.date}, {t}/{eng} (sig:{h}) | {kind}: {what} | open |')
        return 'new', name

    # ------------------------------------------------------------ corpus merge
    def merge_target(self, t):
        fz, dst, log = os.path.join(self.B, 'fuzz', t), os.path.join(self.corpus, t), self.path('logs', f'{t}-merge.log')
        os.makedirs(dst, exist_ok=True)
        before = count_files(dst, top_only=True)
        srcs = []
        lfc = os.path.join(self.w, t, 'libfuzzer', 'corpus')
        if os.path.isdir(lfc):
            srcs.append(lfc)
        queues = sorted(glob.glob(os.path.join(self.w, t, 'afl', '*', 'queue')))
        if queues:
            # AFL++: all instances' queues, reduced to the inputs with distinct edge tuples
            q, cm = self.path('afl-queue', t), self.path('afl-cmin', t)
            shutil.rmtree(q, ignore_errors=True)
            shutil.rmtree(cm, ignore_errors=True)
            os.makedirs(q)
            # one flat folder (afl-cmin keys files by name): hard links, and numbered
            # names where two instances used the same id
            for qd in queues:
                for e in os.scandir(qd):
                    if not (e.is_file() and e.name.startswith('id:')):
                        continue
                    dst_name, k = os.path.join(q, e.name), 0
                    while os.path.exists(dst_name):
                        k += 1
                        dst_name = os.path.join(q, f'{e.name}.~{k}~')
                    try:
                        os.link(e.path, dst_name)
                    except OSError:
                        shutil.copyfile(e.path, dst_name)
            nq = count_files(q)
            if nq:
                say(f'{t}: afl-cmin over {nq} AFL++ queue entries')
                if self.run(['timeout', '-k', '10', str(max(self.per, 600)), 'afl-cmin', '-t', '5000', '-i', q,
                             '-o', cm, '--', os.path.join(self.B, 'afl', t)],
                            self.path('logs', f'{t}-afl-cmin.log'), extra_env={'AFL_ALLOW_TMP': '1'}) == 0:
                    srcs.append(cm)
                    say(f'{t}: afl-cmin kept {count_files(cm)} of {nq}')
                else:
                    srcs.append(q)
                    say(f"{t}: afl-cmin failed ({self.path('logs', f'{t}-afl-cmin.log')}), merging the whole queue")
        if not srcs:
            self.row('merge.tsv', t, 0, 0, 0, '-', '-', before, before, 'nothing to merge')
            return
        say(f'{t}: libFuzzer -merge=1 into {dst}')
        to = self.opt_val(t, 'timeout', '20')
        rc = self.run(['timeout', '-k', '10', str(max(self.per, 900)), fz, '-merge=1', f'-timeout={to}',
                       '-rss_limit_mb=4096', '-malloc_limit_mb=0',
                       f"-merge_control_file={self.path('logs', f'{t}-merge.ctl')}", dst, *srcs], log)
        text = read_text(log)
        m = last_match(text, r'^MERGE-OUTER: ([0-9]+) new files with ([0-9]+) new features added; ([0-9]+) new coverage edges')
        nf, nft, ned = m.groups() if m else ('0', '0', '0')
        m = last_match(text, r'DONE +cov: ([0-9]+) ft: ([0-9]+)')
        cov, ft = m.groups() if m else ('', '')
        status = 'ok' if rc == 0 else f'merge exit {rc} (log {log})'
        self.row('merge.tsv', t, nf, nft, ned, cov or '-', ft or '-', before, count_files(dst, top_only=True), status)
        say(f"{t}: merged {nf} new input(s) (+{ned} edges, +{nft} features; now cov {cov or '?'} ft {ft or '?'}) "
            f'into {dst}')

    # ------------------------------------------------------------ after the campaigns
    def make_step(self, box, log, *args):
        """make ARGS under a time box (timeout -k 30 BOX), output to log: its exit status."""
        return self.run(['timeout', '-k', '30', str(box), *self.mk_cmd(*args)], log)

    def verify(self):
        if not self.has_target('verify'):
            say('make verify: no such target, skipped')
            return '-', 'no `make verify` target'
        # verify runs its own short campaign: a quarter of the reserve, 10..600 s,
        # unless VERIFY_TIME is given
        vt = self.knobs['VERIFY_TIME']
        vt = min(self.budget * self.reserve // 400, 600) if vt is None else vt
        vt = max(vt, 10)
        say(f'make verify VERIFY_TIME={vt}')
        start = time.time()
        # time box: half the reserve, at least 10 minutes (a hung replay must not eat the night)
        box = self.knobs['NIGHTLY_VERIFY_BOX']
        box = max(self.budget * self.reserve // 200, 600) if box is None else box
        log = self.path('verify.log')
        rc = self.make_step(box, log, 'verify', f'VERIFY_TIME={vt}')
        if rc == 124:
            with open(log, 'a') as f:
                f.write(f'{PROG}: make verify timed out after {box}s\n')
        for f in ('report.md', 'report.json'):
            src = os.path.join(self.B, 'verify', f)
            if os.path.isfile(src):
                shutil.copyfile(src, self.path('verify-' + f))
        verdict = first_line(read_text(self.path('verify-report.md')), r'^Verdict')
        if rc == 124:
            verdict = f'timed out after {box}s'
        # no report: say so, with the last line it printed (a campaign's VERDICT is not the report's)
        verdict = verdict or f'no report (exit {rc}); last output: {last_line(log)}'
        for rx in (r'^[#* ]+', r'^\[verify\] *', r'^[Vv]erdict: *', r'\.$'):
            verdict = re.sub(rx, '', verdict, count=1)
        verdict = cut(verdict, 400) or f'(no verdict line; exit {rc})'
        say(f'make verify: exit {rc} in {self.elapsed(start)}s: {verdict}')
        return rc, verdict

    def exhaustive(self):
        """Bounded-exhaustive mode: as deep as its share of the reserve allows (a quarter,
        60 s .. 1 h, NIGHTLY_EXHAUSTIVE_TIME), resumed night after night from the
        checkpoint in the work folder (a rebuilt allocator starts over)."""
        if not self.has_target('verify-exhaustive'):
            return '-'
        et = self.knobs['NIGHTLY_EXHAUSTIVE_TIME']
        et = min(self.budget * self.reserve // 400, 3600) if et is None else et
        et = max(et, 60)
        say(f'make verify-exhaustive (budget {et}s)')
        log = self.path('exhaustive.log')
        rc = self.make_step(et + 300, log, 'verify-exhaustive', 'DEPTH=12', f'EXHAUSTIVE_BUDGET={et}',
                            f"EXHAUSTIVE_CKPT={os.path.join(self.w, 'exhaustive.checkpoint')}")
        tail = [l for l in read_text(log).splitlines() if l.startswith('hakmem-exhaustive: ')][-2:]
        say(f"make verify-exhaustive: exit {rc}: {' '.join(tail)}")
        return rc

    def teeth(self):
        """Teeth: each weakened release build fuzzed from the fault-free seeds (make
        verify-teeth with its defaults: 5 seeds, 60 s cap, median bound 10 s); a build not
        caught fails the night."""
        if not self.has_target('verify-teeth'):
            return '-'
        say('make verify-teeth')
        log = self.path('teeth.log')
        rc = self.make_step(3600, log, 'verify-teeth')
        tail = [l for l in read_text(log).splitlines() if l.startswith('teeth: ')][-1:]
        say(f"make verify-teeth: exit {rc}: {' '.join(tail)}")
        return rc

    def reliability(self):
        """The soak (RSS over time at a fixed live set, hakmem against glibc and mimalloc;
        fails if hakmem's RSS keeps growing), the stress test under ThreadSanitizer, and
        the long real-program runs under LD_PRELOAD."""
        ss, ts = self.soak_secs, self.tsan_secs
        say(f'soak {ss}s per allocator, ThreadSanitizer stress {ts}s per build, long preload runs')
        rc = 0
        if self.make_step(4 * ss + 600, self.path('soak.log'), 'test-soak', f'SOAK_SECONDS={ss}', f'SOAK_SAMPLE={SOAK_SAMPLE}'):
            rc = 1
        if os.path.isfile(os.path.join(self.B, 'soak', 'report.md')):
            shutil.copyfile(os.path.join(self.B, 'soak', 'report.md'), self.path('soak-report.md'))
        if self.make_step(2 * ts + 900, self.path('tsan.log'), 'test-tsan', f'TSAN_SECONDS={ts}'):
            rc = 1
        if self.make_step(7200, self.path('preload-long.log'), 'test-preload', 'PRELOAD_LONG=1'):
            rc = 1
        tails = '; '.join(last_line(self.path(f)) for f in ('soak.log', 'tsan.log', 'preload-long.log'))
        say(f'reliability: exit {rc}; {tails}')
        return rc

    def coverage(self):
        say('make coverage')
        start = time.time()
        rc = self.make_step(1800, self.path('coverage.log'), 'coverage')
        total = 'not run'
        summ = os.path.join(self.B, 'coverage', 'summary.txt')
        if os.path.isfile(summ):
            shutil.copyfile(summ, self.path('coverage-summary.txt'))
            rows = [l for l in read_text(summ).splitlines() if l.startswith('TOTAL')]
            total = rows[-1] if rows else ''
        if rc != 0:
            total = f"make coverage failed (exit {rc}, {self.path('coverage.log')})"
        say(f'make coverage: exit {rc} in {self.elapsed(start)}s')
        return rc, total

    # ------------------------------------------------------------ the run
    def setup(self):
        """The folders, the log (everything printed goes to nightly.log too) and the lock."""
        os.makedirs(self.rd, exist_ok=True)
        os.makedirs(self.w, exist_ok=True)
        latest = os.path.join(self.out, 'latest')
        if os.path.islink(latest) or os.path.isfile(latest):
            os.unlink(latest)
        if not os.path.exists(latest):
            os.symlink(f'run-{self.run_id}', latest)
        self.log = open(self.path('nightly.log'), 'a')
        sys.stdout = Tee(sys.__stdout__, self.log)
        sys.stderr = Tee(sys.__stderr__, self.log)
        self.lock = open(os.path.join(self.out, '.lock'), 'w')
        try:
            fcntl.flock(self.lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            print(f"{PROG}: another run holds {os.path.join(self.out, '.lock')}", file=sys.stderr)
            return False
        return True

    def prepare(self):
        """Targets, the budget's split, dependencies and the build: False on a job error."""
        if self.targets is None:
            r = subprocess.run(self.mk_cmd('-s', 'ci-print-FUZZ_TARGETS'), capture_output=True, text=True,
                               cwd=self.root, env=self.make_env())
            self.targets = r.stdout.split() or DEFAULT_TARGETS.split()
        fuzz_secs = self.budget * (100 - self.reserve) // 100
        self.per = max(fuzz_secs // (len(self.targets) * len(self.engines)), 5)
        # a crash minimisation gets at most a quarter of one campaign
        self.min_time = min(self.min_time, max(self.per // 4, 5))
        say(f'budget {self.budget}s: {len(self.targets)} target(s) x {len(self.engines)} engine(s), {self.per}s each '
            f'on {self.jobs} core(s); out {self.out} (run {self.run_id})')
        say(f"targets: {' '.join(self.targets)}; engines: {' '.join(self.engines)}; corpus {self.corpus}; "
            f'regressions {self.reg}')
        for name, cols in TABLES.items():
            with open(self.path(name), 'w') as f:
                f.write('\t'.join(cols) + '\n')
        groups = ['build', 'fuzz', 'cov', 'preload'] + (['afl'] if 'afl' in self.engines else [])
        p = subprocess.Popen([os.path.join(self.root, 'tools', 'deps.sh'), *groups], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=self.root, text=True,
                             errors='replace')
        for line in p.stdout:
            print(line, end='', flush=True)
        if p.wait() != 0:
            say('missing dependencies (see above)')
            return False
        bins = [f'{self.build}/hakmem-replay']
        for t in self.targets:
            bins.append(f'{self.build}/fuzz/{t}')
            if 'afl' in self.engines:
                bins.append(f'{self.build}/afl/{t}')
        say(f"building {' '.join(bins)}")
        blog = self.path('build.log')
        if self.run(self.mk_cmd(f'-j{self.jobs}', *bins), blog) != 0:
            print('\n'.join(read_text(blog).splitlines()[-20:]))
            say(f'build failed (log: {blog})')
            return False
        return True

    def night(self):
        """Everything after setup(): the job's exit status."""
        if not self.prepare():
            return 3
        for t in self.targets:
            for e in self.engines:
                self.run_libfuzzer(t) if e == 'libfuzzer' else self.run_afl(t)
            self.triage_target(t)
            self.merge_target(t)
        say(f'fuzzing, triage and merge took {self.elapsed(self.t0)}s')
        verify_rc, verdict, exh_rc, teeth_rc = '-', 'not run', '-', '-'
        if self.do_verify:
            verify_rc, verdict = self.verify()
            exh_rc = self.exhaustive()
            teeth_rc = self.teeth()
        rel_rc = self.reliability() if self.do_reliability else '-'
        cov_rc, cov_total = self.coverage() if self.do_coverage else ('-', 'not run')
        # the summary and the verdict
        summary = self.path('summary.md')
        try:
            rc = nightly_report.summarise(
                run=self.rd, date=self.date, budget=self.budget, per=self.per, jobs=self.jobs,
                seconds=self.elapsed(self.t0), targets=' '.join(self.targets), engines=' '.join(self.engines),
                corpus=self.corpus, regressions=self.reg, verify_rc=verify_rc, verify_verdict=verdict,
                coverage_rc=cov_rc, coverage_total=cov_total,
                coverage_html=os.path.join(self.B, 'coverage', 'html', 'index.html'),
                exhaustive_rc=exh_rc, teeth_rc=teeth_rc, reliability_rc=rel_rc, out=summary)
        except Exception as e:   # the job itself failed: say where
            import traceback
            traceback.print_exc()
            say(f'the summary failed: {e}')
            return 3
        for f in ('summary.md', 'progress.svg'):   # the summary's plot, beside each copy
            if os.path.isfile(self.path(f)):
                shutil.copyfile(self.path(f), os.path.join(self.out, f))
        for l in read_text(summary).splitlines():
            if l.startswith('**Verdict'):
                print(l)
        say(f"summary: {os.path.join(self.out, 'summary.md')} (this run: {self.rd}); took {self.elapsed(self.t0)}s; "
            f'exit {rc}')
        return rc


def main(argv=None):
    a = parse_args(sys.argv[1:] if argv is None else argv)
    os.chdir(ROOT)
    n = Night(a)
    if n.targets:
        for t in n.targets:
            if not os.path.isfile(os.path.join(ROOT, 'fuzz', t + '.c')):
                a.error(f"unknown target '{t}' (no fuzz/{t}.c)")

    def interrupted(signum, frame):
        n.cleanup()
        print(f'{PROG}: interrupted', flush=True)
        sys.exit(3)
    signal.signal(signal.SIGINT, interrupted)
    signal.signal(signal.SIGTERM, interrupted)
    try:
        if not n.setup():
            return 3
        return n.night()
    finally:
        n.cleanup()
        sys.stdout.flush()


if __name__ == '__main__':
    sys.exit(main())
