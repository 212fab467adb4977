#!/usr/bin/env python3
"""tests/reports/check_nightly_plot.py - the nightly summary plots executions and
coverage over the run: a synthetic run folder (two campaigns, status ticks in
progress.tsv) goes through ci/nightly_report.py; the summary must link progress.svg,
which must be well-formed SVG with one line per campaign in each panel, ending at the
campaign's final numbers. Exit 1 on a failure."""
import os
import subprocess
import sys
import tempfile
import xml.dom.minidom

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
problems = []
with tempfile.TemporaryDirectory() as run:
    with open(os.path.join(run, "campaigns.tsv"), "w") as f:
        f.write("target\tengine\tseconds\texecs\tcoverage\tcorpus\tartifacts\thangs\tstatus\n")
        f.write("fuzz_ops\tlibfuzzer\t60\t90000\t812 edges, 2300 features\t40\t0\t0\tok\n")
        f.write("fuzz_ops\tafl\t60\t50000\t700 edges (of the -M)\t30\t0\t0\tok\n")
    with open(os.path.join(run, "progress.tsv"), "w") as f:
        f.write("target\tengine\tseconds\texecs\tcoverage\n")
        for s in range(5, 60, 5):
            f.write(f"fuzz_ops\tlibfuzzer\t{s}\t{s * 1500}\t{300 + 8 * s}\n")
            f.write(f"fuzz_ops\tafl\t{s}\t{s * 800}\t{200 + 8 * s}\n")
    out = os.path.join(run, "summary.md")
    r = subprocess.run([sys.executable, os.path.join(ROOT, "ci", "nightly_report.py"), "--run", run,
                        "--targets", "fuzz_ops", "--engines", "libfuzzer afl", "--out", out],
                       capture_output=True, text=True)
    if r.returncode != 0:
        problems.append(f"nightly_report.py exit {r.returncode}: {r.stderr.strip()[:300]}")
    summary = open(out).read() if os.path.exists(out) else ""
    if "![executions and coverage" not in summary or "(progress.svg)" not in summary:
        problems.append("the summary does not link progress.svg")
    svg = os.path.join(run, "progress.svg")
    try:
        doc = xml.dom.minidom.parse(svg)
        lines = doc.getElementsByTagName("polyline")
        if len(lines) != 4:
            problems.append(f"{len(lines)} lines, wanted 4 (2 campaigns x executions, coverage)")
        for pl in lines:
            pts = pl.getAttribute("points").split()
            if len(pts) != 12:   # 11 ticks + the final numbers
                problems.append(f"a line has {len(pts)} points, wanted 12")
        if "fuzz_ops / libfuzzer" not in open(svg).read():
            problems.append("no legend entry for fuzz_ops / libfuzzer")
    except (OSError, xml.parsers.expat.ExpatError) as e:
        problems.append(f"progress.svg: {e}")
for p in problems:
    print(f"[reports] nightly plot: {p}")
print(f"[reports] nightly plot {'ok' if not problems else 'FAIL'}")
sys.exit(1 if problems else 0)
