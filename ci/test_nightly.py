#!/usr/bin/env python3
"""ci/test_nightly.py - the nightly job's own test (`make test-nightly`, in make test),
without a build or a fuzzer:

  - the command lines of ci/nightly.py and ci/fuzz_smoke.py: --help exits 0, wrong
    usage prints the usage and exits 2 (before anything runs);
  - signatures: op indexes, slots and addresses do not change one, the fault class does;
    a run's output is classified as the triage files it (divergence, timeout, leak, ...);
  - triage on a fabricated run folder, with stand-in fuzz binaries that print what the
    real ones print: a reproduced divergence is filed once as a text reproducer with a
    README row inside the table, its twin is a duplicate, an artifact that no longer
    fails is 'not reproduced', and the next night knows the filed one;
  - the verdict: that run folder makes the summary FAIL with exit 1; clean it is PASS,
    exit 0; a campaign that did not wind down is a JOB ERROR, exit 3; a failed
    exhaustive search, verify-teeth or reliability run is exit 1.
Exit 1 on any failure."""
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import nightly  # noqa: E402
import nightly_report  # noqa: E402

problems = []
checks = 0


def check(ok, what):
    global checks
    checks += 1
    if not ok:
        problems.append(what)
        print(f'[nightly-test] FAIL: {what}')


def cli(prog, *args):
    env = dict(os.environ, NIGHTLY_BUDGET='', NIGHTLY_TARGETS='', NIGHTLY_ENGINES='libfuzzer afl')
    return subprocess.run([sys.executable, os.path.join(HERE, prog), *args], capture_output=True, text=True,
                          env=env, stdin=subprocess.DEVNULL, timeout=60)


# ---------------------------------------------------------------- command lines
r = cli('nightly.py', '--help')
check(r.returncode == 0 and 'usage: ci/nightly.py' in r.stdout and 'NIGHTLY_SOAK_SECONDS' in r.stdout,
      f'nightly.py --help: exit {r.returncode}, wanted 0 and the help text')
for args, why in ((['--bogus'], 'unrecognized'), (['-b', '10'], 'budget'), (['-b'], 'expected one argument'),
                  (['-j', '0'], 'jobs'), (['-e', 'honggfuzz'], 'unknown engine'), (['-t', 'fuzz_nope'], 'unknown target'),
                  (['stray'], 'unrecognized')):
    r = cli('nightly.py', *args)
    check(r.returncode == 2 and 'usage:' in r.stderr and why in r.stderr,
          f'nightly.py {" ".join(args)}: exit {r.returncode}, wanted 2 with usage and "{why}": {r.stderr[-200:]}')
r = subprocess.run([sys.executable, os.path.join(HERE, 'nightly.py')], capture_output=True, text=True, timeout=60,
                   env=dict(os.environ, NIGHTLY_MIN_TIME='soon'))
check(r.returncode == 2 and 'NIGHTLY_MIN_TIME' in r.stderr, f'NIGHTLY_MIN_TIME=soon: exit {r.returncode}, wanted 2')
r = subprocess.run([sys.executable, os.path.join(HERE, 'nightly.py')], capture_output=True, text=True, timeout=60,
                   env=dict(os.environ, NIGHTLY_SOAK_SECONDS='10', NIGHTLY_RELIAB='1'))
check(r.returncode == 2 and 'three RSS samples' in r.stderr, f'NIGHTLY_SOAK_SECONDS=10: exit {r.returncode}, wanted 2')
r = cli('fuzz_smoke.py', '--help')
check(r.returncode == 0 and 'TARGET' in r.stdout, f'fuzz_smoke.py --help: exit {r.returncode}, wanted 0')
for args in ([], ['fuzz_nope'], ['--seconds', 'x', 'fuzz_ops']):
    r = cli('fuzz_smoke.py', *args)
    check(r.returncode == 2 and 'usage:' in r.stderr, f'fuzz_smoke.py {" ".join(args)}: exit {r.returncode}, wanted 2')

# ---------------------------------------------------------------- signatures and classes
ORA = 'hakmem-oracle: DIVERGENCE F1 double free at op {op} (slot {slot}, 0x{addr:x}): debug reported double_free | release: none'
a = nightly.oracle_sig(ORA.format(op=12, slot=3, addr=0x7f0012340010))
b = nightly.oracle_sig(ORA.format(op=7, slot=0, addr=0x55aa00001000))
check(a == b and 'F1' in a and '12' not in a and 'release' not in a, f'oracle_sig does not blot out op/slot/address: {a!r} {b!r}')
c = nightly.oracle_sig(ORA.format(op=12, slot=3, addr=1).replace('F1 double free', 'F2 write after free'))
check(nightly.sig_hash(a) != nightly.sig_hash(c), 'two fault classes share a signature')
check(len(nightly.sig_hash(a)) == 10, 'a signature hash is 10 hex digits')
kind, sig, summ = nightly.classify(ORA.format(op=1, slot=1, addr=16) + '\n', 1, 'fuzz_ops')
check((kind, sig) == ('divergence', a), f'an oracle divergence is classified {kind} / {sig}')
san = 'SUMMARY: AddressSanitizer: heap-buffer-overflow /src/hakmem/alloc/slab.c:10 in f'
kind, sig, summ = nightly.classify(f'hakmem-oracle: BUG x\n{san}\n', 1, 'fuzz_ops', root='/src/hakmem')
check(kind == 'bug' and sig == san.replace('/src/hakmem/', '') and ' | AddressSanitizer' in summ,
      f'a sanitizer report: {kind} / {sig} / {summ}')
check(nightly.classify('', 124, 'fuzz_ops')[0] == 'timeout', 'exit 124 (killed by timeout) is not a timeout')
check(nightly.classify('SUMMARY: LeakSanitizer: 8 byte(s) leaked\n', 1, 'fuzz_ops')[0] == 'leak', 'a leak')
check(nightly.classify('SUMMARY: libFuzzer: out-of-memory (malloc(1))\n', 1, 'fuzz_ops')[0] == 'oom', 'an oom')
check(nightly.status_fields('#4944: cov: 8193 ft: 8552 corp: 504 exec/s: 98 oom/timeout/crash: 0/0/0') ==
      'execs 4944  cov 8193  ft 8552  corpus 504', 'libFuzzer status line')
check(nightly.status_fields('') == 'loading corpus', 'no status line yet')

# ---------------------------------------------------------------- triage and filing
FAKE_FUZZER = f'''#!{sys.executable}
# stand-in for a libFuzzer binary: an input with "poke" fails as a divergence, at the op
# number it holds; -minimize_crash writes nothing (no smaller input)
import sys
args = [a for a in sys.argv[1:] if not a.startswith('-')]
if '-minimize_crash=1' in sys.argv or not args:
    sys.exit(0)
data = open(args[-1], 'rb').read().decode('latin-1')
if 'poke' in data:
    op = len(data)
    print({ORA!r}.format(op=op, slot=op % 5, addr=0x7f0000000000 + op))
    sys.exit(1)
print('INFO: ok')
'''
FAKE_AFL = f'#!{sys.executable}\nimport sys\nsys.exit(0)\n'


def write(path, text, mode=0o644):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        f.write(text)
    os.chmod(path, mode)


def tsv(path):
    return nightly_report.tsv(path)


with tempfile.TemporaryDirectory() as tmp:
    B = os.path.join(tmp, 'build')
    write(os.path.join(B, 'fuzz', 'fuzz_ops'), FAKE_FUZZER, 0o755)
    write(os.path.join(B, 'afl', 'fuzz_ops'), FAKE_AFL, 0o755)
    corpus = os.path.join(tmp, 'corpus')
    readme = os.path.join(corpus, 'regressions', 'README.md')
    write(readme, '# regressions\n\n| file | found | what happened | status |\n|---|---|---|---|\n'
                  '| old.txt | by hand | ok | fixed |\n\nText after the table.\n')
    out = os.path.join(tmp, 'night')

    def night(run_id, built):
        a = nightly.parse_args(['-o', out, '--corpus', corpus, '-j', '1', '-t', 'fuzz_ops', '-b', '60'])
        n = nightly.Night(a, build=B, date='2026-01-02', run_id=run_id)
        os.makedirs(n.rd)
        os.makedirs(n.w, exist_ok=True)
        for name, cols in nightly.TABLES.items():
            write(n.path(name), '\t'.join(cols) + '\n')
        write(n.path('build.log'), 'built\n')
        os.utime(n.path('build.log'), (built, built))
        return n

    t0 = time.time() - 1000
    n = night('010000', t0)
    art = n.path('artifacts', 'fuzz_ops', 'libfuzzer')
    write(os.path.join(art, 'crash-aaaa'), '#hakmem-ops\nalloc 0 16\npoke 0 start -5 16 copy 1\n')
    write(os.path.join(art, 'crash-bbbb'), '#hakmem-ops\nalloc 0 16\nalloc 1 32\npoke 0 start -5 16 copy 1\n')
    write(os.path.join(art, 'timeout-cccc'), '#hakmem-ops\nalloc 0 16\n')
    hang = os.path.join(n.w, 'fuzz_ops', 'afl', 'main', 'hangs', 'id:000000,src:000001')
    write(hang, '#hakmem-ops\nfree 0\n')   # AFL++'s, after this run's build: this run's
    os.utime(hang, (t0 + 10, t0 + 10))
    n.triage_target('fuzz_ops')
    rows = tsv(n.path('crashes.tsv'))
    got = sorted((r['kind'], r['status']) for r in rows)
    want = sorted([('divergence', 'new'), ('divergence', 'duplicate'), ('timeout', 'not reproduced'),
                   ('timeout', 'not reproduced')])
    check(got == want, f'triage rows {got}, wanted {want}')
    new = [r for r in rows if r['status'] == 'new']
    filed = os.path.join(corpus, 'regressions', new[0]['reproducer']) if new else ''
    check(bool(new) and new[0]['reproducer'] == f"nightly-2026-01-02-ops-{new[0]['sig']}.txt",
          f'the reproducer name: {new[0]["reproducer"] if new else None}')
    text = open(filed).read() if filed and os.path.exists(filed) else ''
    check(text.startswith('#hakmem-ops\n# Found by ci/nightly.py on 2026-01-02') and 'poke 0 start -5 16 copy 1' in text
          and text.count('#hakmem-ops') == 1, f'the filed reproducer: {text[:200]!r}')
    dup = [r for r in rows if r['status'] == 'duplicate']
    check(bool(dup) and bool(new) and dup[0]['reproducer'] == new[0]['reproducer'], 'a duplicate names the filed reproducer')
    lines = open(readme).read().splitlines()
    i = next((k for k, l in enumerate(lines) if new and new[0]['reproducer'] in l), None)
    check(i is not None and lines[i - 1].startswith('| old.txt') and lines[-1] == 'Text after the table.'
          and f"sig:{new[0]['sig']}" in lines[i] and lines[i].endswith('| open |'),
          f'the README row is not the table\'s new last row: {lines}')
    # the next night finds the same failure: known, not filed again
    n2 = night('020000', t0 + 100)   # built after the hang: not this run's
    write(os.path.join(n2.path('artifacts', 'fuzz_ops', 'libfuzzer'), 'crash-dddd'), '#hakmem-ops\npoke 1 start -5 16 copy 0\n')
    n2.triage_target('fuzz_ops')
    rows2 = tsv(n2.path('crashes.tsv'))
    check([(r['status'], r['reproducer']) for r in rows2] == [('known', new[0]['reproducer'] if new else '')],
          f'the next night: {[(r["status"], r["reproducer"]) for r in rows2]}')
    check(len(os.listdir(os.path.join(corpus, 'regressions'))) == 2, 'a known failure was filed again')

    # ------------------------------------------------------------ the verdict
    def verdict(run, **kw):
        write(os.path.join(run, 'campaigns.tsv'),
              '\t'.join(nightly.TABLES['campaigns.tsv']) + '\n'
              + f"fuzz_ops\tlibfuzzer\t30\t9000\t800 edges, 2000 features\t40\t3\t0\t{kw.pop('status', 'ok')}\n")
        out_md = os.path.join(run, 'summary.md')
        args = dict(run=run, targets='fuzz_ops', engines='libfuzzer', verify_rc=0, coverage_rc=0, out=out_md)
        args.update(kw)
        rc = nightly_report.summarise(**args)
        head = next((l for l in open(out_md).read().splitlines() if l.startswith('**Verdict')), '')
        return rc, head

    rc, head = verdict(n.rd)
    check(rc == 1 and head.startswith('**Verdict: FAIL**') and '1 new' in head,
          f'a run with a new divergence: exit {rc}, {head!r}; wanted 1 and FAIL')
    clean = os.path.join(tmp, 'clean')
    os.makedirs(clean)
    rc, head = verdict(clean)
    check(rc == 0 and head.startswith('**Verdict: PASS**'), f'a clean run: exit {rc}, {head!r}; wanted 0 and PASS')
    rc, head = verdict(clean, status='no clean exit (rc 1)')
    check(rc == 3 and head.startswith('**Verdict: JOB ERROR**'), f'a campaign that did not wind down: exit {rc}, {head!r}')
    rc, head = verdict(clean, verify_rc=1)
    check(rc == 1 and 'make verify failed' in head, f'a failed verify: exit {rc}, {head!r}')
    write(os.path.join(clean, 'exhaustive.log'), '| depth | streams |\nhakmem-exhaustive: VIOLATION at depth 3\n')
    rc, head = verdict(clean, exhaustive_rc=1)
    md = open(os.path.join(clean, 'summary.md')).read()
    check(rc == 1 and 'verify-exhaustive failed' in head and '## Bounded-exhaustive search' in md
          and 'VIOLATION at depth 3' in md, f'an exhaustive-search violation: exit {rc}, {head!r}')
    write(os.path.join(clean, 'teeth.log'), '| build | flagged |\n|---|---|\n| weak-canary | 4/5 |\n'
                                            'teeth: FAILED: not caught by every seed within a median of 10 s: weak-canary\n')
    rc, head = verdict(clean, exhaustive_rc=0, teeth_rc=1)
    md = open(os.path.join(clean, 'summary.md')).read()
    check(rc == 1 and 'weakened build was not caught' in head and '## Teeth' in md and '| weak-canary | 4/5 |' in md
          and 'teeth: FAILED' in md, f'a weakened build not caught: exit {rc}, {head!r}')
    write(os.path.join(clean, 'tsan.log'), 'WARNING: ThreadSanitizer: data race\ntest-tsan: FAIL\n')
    rc, head = verdict(clean, exhaustive_rc=0, teeth_rc=0, reliability_rc=1)
    md = open(os.path.join(clean, 'summary.md')).read()
    check(rc == 1 and 'reliability' in head and '- ThreadSanitizer: test-tsan: FAIL' in md and 'soak: no report' in md,
          f'a failed reliability run: exit {rc}, {head!r}')

print(f'[nightly-test] {checks - len(problems)} of {checks} checks ok')
sys.exit(1 if problems else 0)
