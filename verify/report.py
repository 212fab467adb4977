#!/usr/bin/env python3
"""report.py - the verify report: per fault class, who detected what.

Inputs (from verify/run-verify.sh): results/hakmem.jsonl (hakmem-replay --build both
--json), results/glibc.jsonl and results/scudo.jsonl (--build system --json, one child
per stream, a signal = detection), and the fuzz campaign's counters (fuzz-stats/).
Writes report.md (Markdown tables) and report.json."""
import argparse, glob, json, os, statistics, subprocess, sys, time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'harness'))
import fault_classes  # noqa: E402  (the one table: harness/fault_classes.def)

CLASSES = [(c[0], c[1], c[2] if c[0] else 'no fault (false alarms, bugs)') for c in fault_classes.CLASSES]


def load(path):
    out = {}
    if not os.path.exists(path):
        return None
    for l in open(path, errors='replace'):
        l = l.strip()
        if not l.startswith('{'):
            continue
        try:
            j = json.loads(l)
        except ValueError:
            continue
        out[j['file']] = j
    return out


def peer_detected(j):
    """A peer (system allocator) detected the fault: it died at or after the first fault."""
    if not j:
        return None
    return j.get('signal', 0) != 0 and j.get('first_fault', -1) >= 0 and j.get('detect_op', -1) >= j['first_fault']


def campaign(stats_dir):
    res = {}
    for t in sorted(glob.glob(os.path.join(stats_dir, '*'))):
        tot = {'inputs': 0, 'ops': 0, 'faults': 0, 'divergences': 0, 'escapes': 0, 'false_alarms': 0, 'bugs': 0}
        for fn in glob.glob(os.path.join(t, '*.json')):
            try:
                j = json.load(open(fn))
            except (OSError, ValueError):
                continue
            for k in ('inputs', 'ops', 'faults'):
                tot[k] += j.get(k, 0)
            for c in j.get('classes', {}).values():
                for k in ('divergences', 'escapes', 'false_alarms', 'bugs'):
                    tot[k] += c.get(k, 0)
        res[os.path.basename(t)] = tot
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--results', required=True)
    ap.add_argument('--campaign', default='')
    ap.add_argument('--out', required=True)
    ap.add_argument('--scudo', default='')
    a = ap.parse_args()
    hk = load(os.path.join(a.results, 'hakmem.jsonl')) or {}
    gl = load(os.path.join(a.results, 'glibc.jsonl'))
    sc = load(os.path.join(a.results, 'scudo.jsonl'))
    rows, divs, escapes, alarms, crashes = [], [], [], [], []
    for cid, key, name in CLASSES:
        streams = [j for j in hk.values() if j.get('class', 0) == cid and 'debug_op' in j]
        if cid == 0:
            streams = [j for j in streams if j.get('faults', 0) == 0]
        d = [j for j in streams if j['debug_op'] >= 0]
        r = [j for j in streams if j['release_op'] >= 0]
        both = [j for j in streams if j['debug_op'] >= 0 and j['release_op'] >= 0]
        dv = [j for j in streams if j['status'] == 'divergence']
        es = [j for j in streams if j['status'] == 'escape']
        fa = [j for j in streams if j['status'] in ('false_alarm', 'bug')]
        delays = [j['delay'] for j in both if j['delay'] >= 0]
        row = {'class': key, 'name': name, 'streams': len(streams), 'debug': len(d), 'release': len(r),
               'agreement': len(streams) - len(dv), 'divergences': len(dv), 'escapes': len(es),
               'false_alarms_or_bugs': len(fa),
               'median_delay': statistics.median(delays) if delays else None,
               'reproducers': [j['file'] for j in dv]}
        for peer, res in (('glibc', gl), ('scudo', sc)):
            if res is None:
                row[peer] = None
            else:
                row[peer] = sum(1 for j in streams if peer_detected(res.get(j['file'])))
        rows.append(row)
        divs += dv; escapes += es; alarms += fa
    crashes = [j for j in hk.values() if j.get('status') == 'crash']
    camp = campaign(a.campaign) if a.campaign else {}
    try:
        rev = subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], capture_output=True, text=True).stdout.strip()
    except OSError:
        rev = '?'
    rep = {'generated': time.strftime('%Y-%m-%d %H:%M:%S'), 'git': rev, 'streams': len(hk), 'classes': rows,
           'divergences': [{'file': j['file'], 'msg': j.get('msg', '')} for j in divs],
           'escapes': [{'file': j['file'], 'msg': j.get('msg', '')} for j in escapes],
           'false_alarms_and_bugs': [{'file': j['file'], 'msg': j.get('msg', '')} for j in alarms],
           'crashes': [{'file': j['file'], 'signal': j.get('signal')} for j in crashes],
           'campaign': camp, 'scudo_lib': a.scudo or None}
    os.makedirs(a.out, exist_ok=True)
    json.dump(rep, open(os.path.join(a.out, 'report.json'), 'w'), indent=1)

    def peer(v):
        return 'skipped' if v is None else str(v)
    md = [f'# hakmem verify report', '',
          f'Generated {rep["generated"]} at git {rev}: {len(hk)} streams (seeds, regressions and a sample of the '
          f'fuzz campaign) replayed on the release and the debug build, and on the C library\'s malloc and LLVM Scudo '
          f'(one child process per stream; an abort or signal after the first fault counts as detection).', '',
          'A stream counts under the fault class its first detection is attributed to (the latest fault applied at or '
          'before it). *Agreement*: release reported whenever debug did, before handing out a bad block. *Escape*: harm '
          '(a bad block handed out, live contents changed) that no build reported first. *Delay*: release report op - '
          'debug report op.', '',
          '| class | fault | streams | debug detected | release detected | agreement | divergences | escapes | '
          'median delay (ops) | glibc detected | Scudo detected |',
          '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|']
    for r in rows:
        if not r['streams']:
            continue
        md_delay = '-' if r['median_delay'] is None else f'{r["median_delay"]:g}'
        extra = f' ({r["false_alarms_or_bugs"]} false alarm/bug)' if r['false_alarms_or_bugs'] else ''
        md.append(f'| {r["class"]} | {r["name"]}{extra} | {r["streams"]} | {r["debug"]} | {r["release"]} | '
                  f'{r["agreement"]}/{r["streams"]} | {r["divergences"]} | {r["escapes"]} | {md_delay} | '
                  f'{peer(r["glibc"])} | {peer(r["scudo"])} |')
    md += ['', '## Divergences (release missed what debug caught)', '']
    md += [f'- `{j["file"]}`: {j.get("msg", "")}' for j in divs] or ['none']
    md += ['', '## Escapes (harm nobody reported first)', '']
    md += [f'- `{j["file"]}`: {j.get("msg", "")}' for j in escapes[:50]] or ['none']
    md += ['', '## False alarms and harm without a fault', '']
    md += [f'- `{j["file"]}`: {j.get("msg", "")}' for j in alarms[:50]] or ['none']
    md += ['', '## Streams that crashed the allocator', '']
    md += [f'- `{j["file"]}`: signal {j.get("signal")}' for j in crashes[:50]] or ['none']
    if camp:
        md += ['', '## Fuzz campaign', '', '| target | streams | ops | faults applied | divergences | escapes | false alarms | bugs |',
               '|---|---:|---:|---:|---:|---:|---:|---:|']
        for t, v in camp.items():
            md.append(f'| {t} | {v["inputs"]} | {v["ops"]} | {v["faults"]} | {v["divergences"]} | {v["escapes"]} | '
                      f'{v["false_alarms"]} | {v["bugs"]} |')
    if not a.scudo:
        md += ['', 'Note: LLVM Scudo (libclang_rt.scudo_standalone-x86_64.so) was not found; its column is skipped.']
    bad = bool(divs or escapes or alarms or crashes)
    md += ['', f'Verdict: {"release guards covered every debug detection" if not bad else "NOT SAFE to drop the debug guards"}'
           f': {len(divs)} divergence(s), {len(escapes)} escape(s), {len(alarms)} false alarm(s)/bug(s), {len(crashes)} crash(es) '
           f'(a divergence: debug detected a fault release did not report in time; an escape: harm no report came before).', '']
    open(os.path.join(a.out, 'report.md'), 'w').write('\n'.join(md))
    print('\n'.join(md[6:6 + 2 + sum(1 for r in rows if r['streams'])]))
    print(f'\n[verify] {md[-2]}')
    print(f'[verify] report: {os.path.join(a.out, "report.md")} and report.json')
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
