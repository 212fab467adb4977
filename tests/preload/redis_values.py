#!/usr/bin/env python3
"""tests/preload/redis_values.py - print 300 Redis SET commands (RESP protocol, for
`redis-cli --pipe`) with values of 4 KB .. 1.5 MB: large blocks of many sizes for the
redis case of tests/preload/run.sh. Deterministic."""
import sys

out = sys.stdout
for i in range(300):
    key = "big:%d" % i
    val = ("v%d-" % i) * (1000 * (1 + i % 300))
    out.write("*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(key), key, len(val), val))
