#!/usr/bin/env python3
"""tests/cli/check_cli.py BINARY... - the command-line tools answer like tools should:
--help prints the full help (a usage line, the options, more than a screenful of
nothing) on stdout and exits 0; a bad option, a missing option argument, a bad option
value and a missing input each print one line saying what is wrong, then the usage line,
on stderr, and exit 2, with nothing on stdout. One status line per binary and case."""
import os
import subprocess
import sys

failed = 0


def run(args):
    return subprocess.run(args, capture_output=True, text=True, timeout=60)


def case(binary, name, ok, detail=""):
    global failed
    label = f"{os.path.basename(binary)} {name}"
    if ok:
        print(f"[cli] {label:<52} ok")
    else:
        failed += 1
        print(f"[cli] {label:<52} FAIL {detail}")


def usage_error(binary, name, args, says):
    r = run([binary, *args])
    lines = r.stderr.splitlines()
    prog = os.path.basename(binary)
    ok = (r.returncode == 2 and not r.stdout and len(lines) >= 2
          and lines[0].startswith(prog + ": ") and says in lines[0] and lines[1].startswith("usage: "))
    case(binary, name, ok, f"exit {r.returncode}, stdout {r.stdout[:80]!r}, stderr {r.stderr[:300]!r}")


def check(binary, value_opt):
    r = run([binary, "--help"])
    out = r.stdout
    case(binary, "--help: exit 0, full help on stdout",
         r.returncode == 0 and out.startswith("usage: ") and "--help" in out and len(out.splitlines()) >= 8
         and not r.stderr, f"exit {r.returncode}, {len(out.splitlines())} lines, stderr {r.stderr[:100]!r}")
    case(binary, "-h = --help", run([binary, "-h"]).stdout == out)
    usage_error(binary, "unknown option", ["--no-such-option", "x"], "'--no-such-option'")
    usage_error(binary, "unknown short option", ["-Q", "x"], "'-Q'")
    opt, bad, says = value_opt
    usage_error(binary, "missing option argument", [opt], "needs an argument")
    usage_error(binary, "bad option value", [opt, bad, "x"], says)
    usage_error(binary, "no input", [], "no input")


def main():
    for b in sys.argv[1:]:
        name = os.path.basename(b)
        if name.startswith("hakmem-replay"):
            check(b, ("--build", "nosuch", "unknown build 'nosuch'"))
        else:   # regress-<target>
            check(b, ("--expect", "nosuch", "unknown status 'nosuch'"))
    print(f"cli: {len(sys.argv) - 1} program(s), {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
