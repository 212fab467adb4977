"""fault_classes.py - the fault-class table for scripts, read from fault_classes.def
(the one definition the C code uses too).

CLASSES: list of (number, id, short name, description); id is 'none' for class 0.
stats_key(n): the key of class n in the oracle's JSON counters ('none0', 'F1', ...)."""
import os, re

_DEF = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'fault_classes.def')
_LINE = re.compile(r'^HOP_FAULT_CLASS\((\d+),\s*"([^"]*)",\s*"([^"]*)",\s*"([^"]*)"\)\s*$')


def _load():
    out = []
    with open(_DEF) as f:
        for line in f:
            m = _LINE.match(line.strip())
            if m:
                out.append((int(m.group(1)), m.group(2), m.group(3), m.group(4)))
    if not out or [c[0] for c in out] != list(range(len(out))):
        raise SystemExit('fault_classes.py: %s is malformed' % _DEF)
    return out


CLASSES = _load()


def stats_key(n):
    return 'none0' if n == 0 else CLASSES[n][1]


def label(n):
    """'F1 double free' style label; 'no fault' for class 0."""
    c = CLASSES[n]
    return c[2] if n == 0 else '%s %s' % (c[1], c[2])
