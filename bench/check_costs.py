"""bench/check_costs.py - what each release check costs, in allocator instructions per op.

The release build is compared under callgrind with the same build minus one check
(BUILD/bench/lib/libhakmem-weak-<check>.so, one per HAKMEM_CHECK_* switch of
alloc/config.h) and with every check off (libhakmem-nochecks.so). A check's cost is
release minus release-without-it. Only instructions executed inside the hakmem object
are counted (the benchmark's own loop, its spinning and libc are left out), so the
figure is the allocator's and the same on any machine. random_mixed runs the local
paths (free, pop); prodcons-2t frees every block from the other thread (remote frees,
collects). Under valgrind the two prodcons threads take turns, so how many blocks a
collect takes at once can move its count by a little between runs; random_mixed's is
exact. Used by bench/run.py; runnable alone for a quick table:

    python3 bench/check_costs.py --build build [--iters N]
"""
import argparse
import glob
import os
import re
import shutil
import subprocess

# Programs: name, binary, functions whose calls are counted, arguments for n ops.
PROGS = [
    ("random_mixed", "random_mixed", ["random_mixed_loop"], lambda n: [str(n)]),
    ("prodcons-2t", "prodcons", ["producer", "consumer"], lambda n: ["2", str(n)]),
]

_DEFINE_RE = re.compile(r"^#define HAKMEM_CHECK_(\w+)\s+\S+\s*/\*\s*(.*?)\s*\*/", re.M)
_ROW_RE = re.compile(r"^\s*([\d,]+)\s+\(\s*[\d.]+%\)\s+(\S.*?)\s*$")


def check_descriptions(root):
    """{CHECK: one-line comment} from alloc/config.h, the switches' one definition."""
    try:
        with open(os.path.join(root, "alloc", "config.h")) as f:
            text = f.read()
    except OSError:
        return {}
    return {m.group(1): m.group(2) for m in _DEFINE_RE.finditer(text)}


def libraries(build):
    """[(label, check or None, path)]: release, each single-check-off build, nochecks."""
    out = [("release", None, os.path.join(build, "libhakmem.so"))]
    for path in sorted(glob.glob(os.path.join(build, "bench", "lib", "libhakmem-weak-*.so"))):
        name = os.path.basename(path)[len("libhakmem-"):-len(".so")]
        out.append((name, name[len("weak-"):].replace("-", "_").upper(), path))
    out.append(("nochecks", "ALL", os.path.join(build, "libhakmem-nochecks.so")))
    return [e for e in out if os.path.exists(e[2])]


def object_instructions(outfile, objprefix):
    """Self instructions of the functions of the object whose name starts with objprefix.
    callgrind_annotate names a function's object on one of its rows only (code inlined
    from other files gets rows of its own without it), so rows go by function name."""
    p = subprocess.run(["callgrind_annotate", "--inclusive=no", "--threshold=100", outfile],
                       capture_output=True, text=True, timeout=300)
    rows, ours, in_table = [], set(), False
    for line in p.stdout.splitlines():
        if "file:function" in line:
            in_table = True
            continue
        m = _ROW_RE.match(line) if in_table else None
        if not m:
            continue
        loc = m.group(2)
        obj = re.search(r"\s\[(.*)\]$", loc)
        fn = (loc[:obj.start()] if obj else loc).rpartition(":")[2]
        rows.append((fn, int(m.group(1).replace(",", ""))))
        if obj and os.path.basename(obj.group(1)).startswith(objprefix):
            ours.add(fn)
    return sum(n for fn, n in rows if fn in ours)


def measure(bindir, build, iters, outdir, timeout, log=print):
    """{prog: {label: allocator instructions per op}}; {} without valgrind."""
    if not (shutil.which("valgrind") and shutil.which("callgrind_annotate")):
        log("[bench] skip check costs: valgrind not found (apt-get install valgrind)")
        return {}
    os.makedirs(outdir, exist_ok=True)
    res = {}
    for prog, binary, fns, argf in PROGS:
        exe = os.path.join(bindir, binary)
        if not os.access(exe, os.X_OK):
            continue
        for label, _, lib in libraries(build):
            out = os.path.join(outdir, f"{prog}.{label}.out")
            cmd = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}"] + \
                [f"--toggle-collect={fn}" for fn in fns] + [exe] + argf(iters)
            env = dict(os.environ, LD_PRELOAD=lib)
            try:
                rc = subprocess.run(cmd, env=env, capture_output=True, timeout=timeout).returncode
            except subprocess.TimeoutExpired:
                rc = "timeout"
            if rc != 0 or not os.path.exists(out):
                log(f"[bench] check cost {prog} {label}: FAILED ({rc})")
                continue
            per_op = object_instructions(out, "libhakmem") / iters
            res.setdefault(prog, {})[label] = per_op
            log(f"[bench] check cost {prog:<12} {label:<18} {per_op:.2f} allocator instr/op")
    return res


def markdown(costs, build, root, iters):
    """The report section: one row per check, its cost in each program."""
    if not costs:
        return []
    progs = [p for p, *_ in PROGS if p in costs]
    desc = check_descriptions(root)
    L = [f"## What each release check costs (callgrind, {iters} ops)", "",
         "Allocator instructions per op (those executed in the hakmem object only) of the "
         "release build minus the same build with one check switched off "
         "(`-DHAKMEM_CHECK_<name>=0`; *all* = the nochecks build, every check that follows "
         "`HAKMEM_RELEASE_CHECKS` off, the baseline `FREE_STATE` kept). "
         "random_mixed runs the local free and pop paths, prodcons-2t the remote ones.", ""]
    L.append("| check | what it checks | " + " | ".join(f"{p}: cost (instr/op)" for p in progs)
             + " |")
    L.append("|---|---|" + "---:|" * len(progs))
    rel = {p: costs[p].get("release") for p in progs}
    L.append("| (release, every check on) | | " + " | ".join(
        f"{rel[p]:.2f} in all" if rel[p] is not None else "-" for p in progs) + " |")
    single = {p: 0.0 for p in progs}
    for label, check, _ in libraries(build):
        if check is None:
            continue
        cells = []
        for p in progs:
            v = costs[p].get(label)
            if v is None or rel[p] is None:
                cells.append("-")
                continue
            d = rel[p] - v
            if check != "ALL":
                single[p] += d
            cells.append(f"{d:+.2f} ({100 * d / rel[p]:+.1f}%)")
        what = "every check but FREE_STATE" if check == "ALL" else desc.get(check, "")
        name = "*all*" if check == "ALL" else f"`{check}`"
        L.append(f"| {name} | {what} | " + " | ".join(cells) + " |")
    L.append("| sum of the single-check rows | | " + " | ".join(
        f"{single[p]:+.2f}" for p in progs) + " |")
    L.append("")
    L.append("A cost below zero means the build without the check runs more: the fast "
             "path uses what the check proves. The state byte's compare (`FREE_STATE`) also "
             "proves the block is this thread's, so without it free asks the slab and the "
             "SuperSlab's owner instead; with `FREE_STATE` and `FREE_STRIDE` on, a foreign or "
             "bin-full free skips the region lookup (prodcons-2t's frees are all foreign). "
             "Small differences also come from the compiler laying out each build anew.")
    L.append("")
    return L


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default=os.environ.get("BUILD", "build"))
    ap.add_argument("--bin", help="benchmark binaries (default BUILD/bench/bin)")
    ap.add_argument("--out", help="callgrind files (default BUILD/bench/check-costs)")
    ap.add_argument("--iters", type=int, default=200000)
    ap.add_argument("--timeout", type=int, default=600)
    args = ap.parse_args()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    costs = measure(args.bin or os.path.join(args.build, "bench", "bin"), args.build,
                    args.iters, args.out or os.path.join(args.build, "bench", "check-costs"),
                    args.timeout)
    print("\n".join(markdown(costs, args.build, root, args.iters)))
    return 0 if costs else 1


if __name__ == "__main__":
    raise SystemExit(main())
