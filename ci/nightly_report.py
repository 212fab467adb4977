#!/usr/bin/env python3
"""nightly_report.py - the one Markdown summary of a nightly run (ci/nightly.py), and its verdict.

Reads what ci/nightly.py left in the run folder: campaigns.tsv, merge.tsv, crashes.tsv,
progress.tsv (execs and coverage at each status tick, plotted into progress.svg beside --out),
the oracle's per-process counters stats/<target>/*.json (HAKMEM_FUZZ_STATS, see
harness/), escapes/<target>/, and the logs of the bounded-exhaustive search
(exhaustive.log), of make verify-teeth (teeth.log) and of the reliability runs (soak.log, soak-report.md, tsan.log,
preload-long.log). ci/nightly.py calls summarise(); run as a program, it writes the
summary of a run folder again (the same options). Writes --out and prints nothing else
but errors.
Exit status: 0 clean, 1 a finding (reproduced crash, divergence, false alarm, harm
without fault, failed verify, an exhaustive-search violation, a weakened build not
caught, a failed reliability run),
3 the job itself went wrong (a campaign, a merge or coverage)."""
import argparse, csv, glob, json, math, os, re, subprocess, sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'harness'))
import fault_classes  # noqa: E402  (the one table: harness/fault_classes.def)

CLASSES = [(fault_classes.stats_key(c[0]), fault_classes.label(c[0])) for c in fault_classes.CLASSES]
COUNTERS = ['streams', 'debug', 'release', 'both', 'divergences', 'false_alarms', 'bugs', 'escapes']


def tsv(path):
    try:
        with open(path, newline='') as f:
            return list(csv.DictReader(f, delimiter='\t', quoting=csv.QUOTE_NONE))
    except OSError:
        return []


def num(s):
    try:
        return int(s)
    except (TypeError, ValueError):
        return 0


def load_stats(run, targets):
    """Sum the oracle counters of every process, per target and over all."""
    per, allc = {}, {}
    inputs = {}
    for t in targets:
        c = per.setdefault(t, {})
        for fn in glob.glob(os.path.join(run, 'stats', t, '*.json')):
            try:
                with open(fn) as f:
                    j = json.load(f)
            except (OSError, ValueError):
                continue
            inputs[t] = inputs.get(t, 0) + j.get('inputs', 0)
            for k, v in j.get('classes', {}).items():
                for dst in (c.setdefault(k, {}), allc.setdefault(k, {})):
                    for n in COUNTERS:
                        dst[n] = dst.get(n, 0) + v.get(n, 0)
    return per, allc, inputs


def git_rev():
    try:
        rev = subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(['git', 'status', '--porcelain', '--untracked-files=no'],
                               capture_output=True, text=True).stdout.strip()
        return rev + (' (with local changes)' if dirty else '') if rev else 'unknown'
    except OSError:
        return 'unknown'


def coverage_line(total):
    """llvm-cov report's TOTAL row -> 'lines 75.45%, ...' (or the text as given)."""
    f = total.split()
    if len(f) >= 13 and f[0] == 'TOTAL':
        return (f'lines {f[9]}, regions {f[3]}, functions {f[6]}, branches {f[12]} '
                f'(alloc/, by what make test runs: make coverage)')
    return total


def progress_series(run, camps):
    """(target, engine) -> [(seconds, execs, coverage)]: the status ticks of the campaign
    (progress.tsv) and its final numbers (campaigns.tsv), in time order."""
    ser = {}
    for r in tsv(os.path.join(run, 'progress.tsv')):
        ser.setdefault((r['target'], r['engine']), []).append((num(r['seconds']), num(r['execs']), num(r['coverage'])))
    for c in camps:
        m = re.match(r'\s*(\d+)', c.get('coverage') or '')
        if m and num(c['execs']):
            ser.setdefault((c['target'], c['engine']), []).append((num(c['seconds']), num(c['execs']), int(m.group(1))))
    return {k: sorted(set(v)) for k, v in ser.items()}


def nice_step(top, ticks=4):
    raw = max(top, 1) / ticks
    mag = 10 ** math.floor(math.log10(raw))
    return next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)


def short(v):
    for div, suf in ((1e9, 'G'), (1e6, 'M'), (1e3, 'k')):
        if abs(v) >= div:
            return f'{v / div:g}{suf}'
    return f'{v:g}'


def svg_plot(path, series):
    """Two panels, execs and coverage against seconds into the campaign, one line per
    target and engine. Plain SVG: nothing to install."""
    colors = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#e377c2', '#17becf']
    W, PH, ML, MR, MT, MB = 820, 230, 80, 200, 34, 42
    xmax = max((p[0] for pts in series.values() for p in pts), default=1) or 1
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{2 * PH}" font-family="sans-serif" font-size="12">',
           f'<rect width="{W}" height="{2 * PH}" fill="white"/>']
    for pi, (title, idx) in enumerate((('executions', 1), ('coverage (libFuzzer: edges; AFL++: edges of the -M)', 2))):
        y0, pw, ph = pi * PH + MT, W - ML - MR, PH - MT - MB
        ymax = max((p[idx] for pts in series.values() for p in pts), default=1) or 1
        xs, ys = nice_step(xmax), nice_step(ymax)
        xtop, ytop = math.ceil(xmax / xs) * xs, math.ceil(ymax / ys) * ys
        X = lambda v: ML + pw * v / xtop
        Y = lambda v: y0 + ph - ph * v / ytop
        out.append(f'<text x="{ML}" y="{y0 - 12}" font-weight="bold">{title}</text>')
        for k in range(int(round(ytop / ys)) + 1):
            yv = k * ys
            out.append(f'<line x1="{ML}" y1="{Y(yv):.1f}" x2="{ML + pw}" y2="{Y(yv):.1f}" stroke="#ddd"/>')
            out.append(f'<text x="{ML - 6}" y="{Y(yv) + 4:.1f}" text-anchor="end">{short(yv)}</text>')
        for k in range(int(round(xtop / xs)) + 1):
            xv = k * xs
            out.append(f'<line x1="{X(xv):.1f}" y1="{y0 + ph}" x2="{X(xv):.1f}" y2="{y0 + ph + 4}" stroke="black"/>')
            out.append(f'<text x="{X(xv):.1f}" y="{y0 + ph + 17}" text-anchor="middle">{short(xv)}</text>')
        out.append(f'<text x="{ML + pw / 2}" y="{y0 + ph + 34}" text-anchor="middle">seconds into the campaign</text>')
        out.append(f'<rect x="{ML}" y="{y0}" width="{pw}" height="{ph}" fill="none" stroke="black"/>')
        for si, ((t, e), pts) in enumerate(sorted(series.items())):
            col = colors[si % len(colors)]
            dash = '' if e == 'libfuzzer' else ' stroke-dasharray="6 3"'
            xy = ' '.join(f'{X(p[0]):.1f},{Y(p[idx]):.1f}' for p in pts)
            out.append(f'<polyline points="{xy}" fill="none" stroke="{col}" stroke-width="2"{dash}/>')
            if pi == 0:
                ly = MT + 16 * si
                out.append(f'<line x1="{W - MR + 12}" y1="{ly}" x2="{W - MR + 36}" y2="{ly}" stroke="{col}" stroke-width="2"{dash}/>')
                out.append(f'<text x="{W - MR + 42}" y="{ly + 4}">{t} / {e}</text>')
    out.append('</svg>')
    with open(path, 'w') as f:
        f.write('\n'.join(out) + '\n')


def cell(s):
    return str(s).replace('|', '\\|').replace('\n', ' ')


def read_text(path):
    """The file's text, '' if it cannot be read."""
    try:
        with open(path, 'rb') as f:
            return f.read().decode('utf-8', 'replace')
    except OSError:
        return ''


def last_line(path):
    """The file's last line (tail -1), '' if it has none or cannot be read."""
    lines = read_text(path).splitlines()
    return lines[-1] if lines else ''


def failed(rc):
    """An exit status as the run folder records it: '' or '-' (not run), '0', or a failure."""
    return str(rc) not in ('', '-', '0')


OPTIONS = ('run', 'date', 'budget', 'per', 'jobs', 'seconds', 'targets', 'engines', 'corpus', 'regressions',
           'verify-rc', 'verify-verdict', 'coverage-rc', 'coverage-total', 'coverage-html',
           'exhaustive-rc', 'teeth-rc', 'reliability-rc', 'out')


def summarise(**kw):
    """Write the summary of run folder kw['run'] to kw['out'] (every OPTIONS name, with '_'
    for '-'; missing ones are ''); returns the night's exit status (0, 1 or 3)."""
    a = argparse.Namespace(**{o.replace('-', '_'): '' for o in OPTIONS})
    for k, v in kw.items():
        if not hasattr(a, k):
            raise TypeError(f'summarise: unknown field {k}')
        setattr(a, k, str(v))
    targets = a.targets.split()
    camps = tsv(os.path.join(a.run, 'campaigns.tsv'))
    merges = tsv(os.path.join(a.run, 'merge.tsv'))
    crashes = tsv(os.path.join(a.run, 'crashes.tsv'))
    per, allc, _ = load_stats(a.run, targets)

    execs = sum(num(c['execs']) for c in camps)
    repro = [c for c in crashes if c['status'] != 'not reproduced']
    flaky = [c for c in crashes if c['status'] == 'not reproduced']
    sigs = {}
    for c in repro:
        s = sigs.setdefault(c['sig'], dict(c, count=0, targets=set(), engines=set()))
        s['count'] += 1
        s['targets'].add(c['target'])
        s['engines'].add(c['engine'])
    new_sigs = [s for s in sigs.values() if s['status'].startswith('new')]
    div_stats = sum(v.get('divergences', 0) for v in allc.values())
    fa_stats = sum(v.get('false_alarms', 0) + v.get('bugs', 0) for v in allc.values())
    div_sigs = [s for s in sigs.values() if s['kind'] == 'divergence']
    divergences = max(div_stats, len(div_sigs))
    escapes = sum(v.get('escapes', 0) for v in allc.values())
    esc_files = len(glob.glob(os.path.join(a.run, 'escapes', '*', '*')))
    verify_failed = failed(a.verify_rc)
    job_errors = [f"{c['target']}/{c['engine']}: {c['status']}" for c in camps if c['status'] != 'ok']
    job_errors += [f"{m['target']} merge: {m['status']}" for m in merges if m['status'] not in ('ok', 'nothing to merge')]
    if failed(a.coverage_rc):
        job_errors.append(f'make coverage: exit {a.coverage_rc}')

    findings = []
    if sigs:
        findings.append(f'{len(sigs)} crash signature(s) ({len(new_sigs)} new, {len(repro)} reproduced artifact(s))')
    if divergences:
        findings.append(f'{divergences} divergence(s)')
    if fa_stats:
        findings.append(f'{fa_stats} false alarm(s) / harm without fault')
    if verify_failed:
        findings.append(f'make verify failed (exit {a.verify_rc})')
    if failed(a.exhaustive_rc):
        findings.append(f'make verify-exhaustive failed (exit {a.exhaustive_rc})')
    if failed(a.teeth_rc):
        findings.append(f'make verify-teeth: a weakened build was not caught (exit {a.teeth_rc})')
    if failed(a.reliability_rc):
        findings.append('a reliability run failed (soak, ThreadSanitizer or long preload runs)')
    rc = 1 if findings else (3 if job_errors else 0)

    L = []
    L.append(f'# hakmem nightly fuzzing, {a.date}\n')
    if findings:
        L.append(f'**Verdict: FAIL** - ' + '; '.join(findings) + '.\n')
    elif job_errors:
        L.append(f'**Verdict: JOB ERROR** - no finding, but: ' + '; '.join(job_errors) + '.\n')
    else:
        L.append(f'**Verdict: PASS** - no crash, no divergence in {execs} executions; verify: {a.verify_verdict}.\n')
    L.append(f'Commit {git_rev()}; budget {a.budget} s ({a.per} s per target and engine, {a.jobs} core(s)); '
             f'wall time {a.seconds} s; targets {", ".join(targets)}; engines {a.engines}.\n')

    L.append('## Campaigns\n')
    L.append('| target | engine | time (s) | execs | exec/s | coverage at the end | corpus | crash artifacts | hangs | status |')
    L.append('|---|---|---:|---:|---:|---|---:|---:|---:|---|')
    for c in camps:
        s = max(num(c['seconds']), 1)
        L.append(f"| {c['target']} | {c['engine']} | {c['seconds']} | {num(c['execs'])} | {num(c['execs']) // s} | "
                 f"{cell(c['coverage'])} | {c['corpus']} | {c['artifacts']} | {c['hangs']} | {cell(c['status'])} |")
    L.append(f'| **all** | | | **{execs}** | | | | **{sum(num(c["artifacts"]) for c in camps)}** | '
             f'{sum(num(c["hangs"]) for c in camps)} | |\n')

    series = progress_series(a.run, camps)
    L.append('## Executions and coverage over the run\n')
    if series:
        svg = os.path.join(os.path.dirname(os.path.abspath(a.out)), 'progress.svg')
        svg_plot(svg, series)
        L.append(f'![executions and coverage of each campaign over its time](progress.svg)\n')
        L.append(f'One line per target and engine (solid: libFuzzer, dashed: AFL++), from the status line ci/nightly.py '
                 f'records every {os.environ.get("NIGHTLY_STATUS_EVERY", "5")} s (`progress.tsv`) and the final numbers.\n')
    else:
        L.append('(no campaign recorded execs: nothing to plot)\n')

    L.append(f'## New coverage, merged into {a.corpus}/<target>/\n')
    L.append('Inputs from the libFuzzer work corpus and the afl-cmin-reduced AFL++ queues that add coverage '
             '(`-merge=1`); edges and features as libFuzzer counts them in the ASan build.\n')
    L.append('| target | inputs added | new edges | new features | edges / features now | corpus files before -> after | status |')
    L.append('|---|---:|---:|---:|---|---|---|')
    for m in merges:
        L.append(f"| {m['target']} | {m['new_files']} | {m['new_edges']} | {m['new_features']} | {m['cov']} / {m['ft']} | "
                 f"{m['files_before']} -> {m['files_after']} | {cell(m['status'])} |")
    L.append('')

    L.append('## Oracle: reports by fault class\n')
    L.append('Counted by the targets themselves (all targets, both engines; a stream counts under the fault class its '
             'first detection is attributed to). The claim holds while divergences, false alarms and harm without '
             'fault stay 0; escapes (harm neither build reported) are listed, not failed.\n')
    L.append('| class | streams | debug reported | release reported | both | divergences | false alarms | harm without fault | escapes |')
    L.append('|---|---:|---:|---:|---:|---:|---:|---:|---:|')
    tot = {n: 0 for n in COUNTERS}
    for key, name in CLASSES:
        v = allc.get(key)
        if not v:
            continue
        for n in COUNTERS:
            tot[n] += v.get(n, 0)
        L.append(f"| {name} | {v.get('streams', 0)} | {v.get('debug', 0)} | {v.get('release', 0)} | {v.get('both', 0)} | "
                 f"{v.get('divergences', 0)} | {v.get('false_alarms', 0)} | {v.get('bugs', 0)} | {v.get('escapes', 0)} |")
    L.append(f"| **all** | {tot['streams']} | {tot['debug']} | {tot['release']} | {tot['both']} | **{tot['divergences']}** | "
             f"**{tot['false_alarms']}** | **{tot['bugs']}** | {tot['escapes']} |\n")
    if not allc:
        L.append('(no counters were written: HAKMEM_FUZZ_STATS produced no file)\n')
    if escapes:
        L.append(f'Escapes: {escapes}; {esc_files} example stream(s) kept in `{os.path.join(a.run, "escapes")}/`.\n')

    L.append('## Crashes\n')
    if not sigs and not flaky:
        L.append('None.\n')
    if sigs:
        L.append('One row per failure signature (sanitizer report or oracle message). New ones are filed as text '
                 f'reproducers in `{a.regressions}/` with a line in its README.md; `make fuzz-regress` (in `make test`) '
                 'replays them and fails until they are fixed.\n')
        L.append('| kind | status | artifacts | target / engine | reproducer | summary |')
        L.append('|---|---|---:|---|---|---|')
        for s in sorted(sigs.values(), key=lambda s: (not s['status'].startswith('new'), s['kind'])):
            L.append(f"| {s['kind']} | {cell(s['status'])} | {s['count']} | {', '.join(sorted(s['targets']))} / "
                     f"{', '.join(sorted(s['engines']))} | `{cell(s['reproducer'])}` | {cell(s['summary'][:400])} |")
        L.append('')
    if flaky:
        L.append(f'{len(flaky)} artifact(s) did not fail when run again (timeouts under load, usually); kept in '
                 f'`{os.path.join(a.run, "crashes")}/`.\n')

    L.append('## Verify and coverage\n')
    L.append(f'- `make verify`: exit {a.verify_rc}; {cell(a.verify_verdict)} (log `{os.path.join(a.run, "verify.log")}`)')
    L.append(f'- `make coverage`: exit {a.coverage_rc}; {cell(coverage_line(a.coverage_total))} '
             f'(summary `{os.path.join(a.run, "coverage-summary.txt")}`, HTML `{a.coverage_html}`)')
    if job_errors:
        L.append('- job errors: ' + '; '.join(cell(e) for e in job_errors))
    L.append('')
    L.append('## Files\n')
    L.append(f'- this run: `{a.run}/` (nightly.log, logs/, artifacts/, crashes/ with triage logs, stats/, *.tsv)')
    L.append(f'- campaigns, resumed by a rerun into the same folder: `{os.path.join(os.path.dirname(a.run), "work")}/`')
    L.append('- replay a reproducer: `build/hakmem-replay --trace FILE`; minimise an artifact: `make fuzz-min CRASH=FILE`')
    if a.exhaustive_rc not in ('', '-'):   # its per-depth table and closing lines
        L.append('\n## Bounded-exhaustive search\n')
        L += [l for l in read_text(os.path.join(a.run, 'exhaustive.log')).splitlines()
              if l.startswith(('|', 'hakmem-exhaustive: '))]
    if a.teeth_rc not in ('', '-'):   # the teeth table and its bound
        L.append('\n## Teeth (weakened builds, time to detection)\n')
        lines = read_text(os.path.join(a.run, 'teeth.log')).splitlines()
        L += [l for l in lines if l.startswith('|')]
        L.append('')
        L += [l for l in lines if l.startswith(('(bound', 'teeth: '))] or \
            [f"no table (exit {a.teeth_rc}): {last_line(os.path.join(a.run, 'teeth.log'))}"]
    if a.reliability_rc not in ('', '-'):   # TSan and long preload outcome, the soak's table
        L.append('\n## Reliability\n')
        L.append(f"- ThreadSanitizer: {last_line(os.path.join(a.run, 'tsan.log'))}")
        L.append(f"- long preload runs: {last_line(os.path.join(a.run, 'preload-long.log'))}")
        L.append('')
        soak = os.path.join(a.run, 'soak-report.md')
        if os.path.isfile(soak):
            L += [re.sub(r'^# ', '### ', l) for l in read_text(soak).splitlines()]
        else:
            L.append(f"soak: no report ({last_line(os.path.join(a.run, 'soak.log'))})")
    with open(a.out, 'w') as f:
        f.write('\n'.join(L) + '\n')
    return rc


def main():
    ap = argparse.ArgumentParser(description='Write the Markdown summary of a nightly run folder again '
                                 '(ci/nightly.py writes it at the end of each run).')
    for o in OPTIONS:
        ap.add_argument('--' + o, default='', required=o in ('run', 'out'))
    return summarise(**vars(ap.parse_args()))


if __name__ == '__main__':
    sys.exit(main())
