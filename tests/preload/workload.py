"""tests/preload/workload.py - a deterministic, allocation-heavy python3 workload.

Run by tests/preload/run.sh with /usr/bin/python3 with and without
LD_PRELOAD=libhakmem.so; the two outputs must be identical. Standard library only.
Everything printed is derived from seeded data, never from addresses or timing.
"""
import collections
import hashlib
import json
import queue
import random
import re
import sys
import threading


def digest(obj):
    return hashlib.sha256(repr(obj).encode()).hexdigest()[:16]


def section_json(rng):
    data = [{"id": i, "name": "item%d" % i,
             "tags": [rng.choice("abcdefgh") * rng.randint(1, 5) for _ in range(rng.randint(0, 8))],
             "score": round(rng.random(), 6),
             "nested": {"a": list(range(i % 40)), "b": {"c": str(i) * (i % 7)}}}
            for i in range(15000)]
    text = json.dumps(data, sort_keys=True)
    back = json.loads(text)
    assert back == data
    pretty = json.dumps(back[:500], indent=2, sort_keys=True)
    print("json", len(text), hashlib.sha256(text.encode()).hexdigest()[:16], len(pretty))


def section_regex(rng):
    vocab = ["".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(2, 9)))
             for _ in range(3000)]
    text = " ".join(rng.choice(vocab) + rng.choice(["", ",", ".", "!", " 42", " x7"]) for _ in range(200000))
    words = re.findall(r"\b[a-z]{3,7}\b", text)
    counts = collections.Counter(words)
    print("regex words", len(words), "distinct", len(counts), sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:5])
    swapped = re.sub(r"([a-z]+)([0-9]+)", lambda m: m.group(2) + m.group(1).upper(), text)
    parts = re.split(r"[.!]\s*", swapped)
    print("regex sub", len(swapped), len(parts), digest(parts[:50]))


def section_sort(rng):
    rows = [(rng.randint(0, 10**6), "".join(rng.choice("xyzw") for _ in range(rng.randint(1, 12))), i)
            for i in range(100000)]
    by_num = sorted(rows)
    by_str = sorted(rows, key=lambda r: (r[1], -r[0]))
    rows.sort(key=lambda r: r[2] % 1000)
    print("sort", digest(by_num[:1000]), digest(by_str[-1000:]), digest(rows[::997]))


def section_dicts(rng):
    d = {}
    live = []
    for step in range(250000):
        if live and rng.random() < 0.45:
            k = live.pop(rng.randrange(len(live)))
            del d[k]
        else:
            k = "k%d-%s" % (step, "v" * rng.randint(0, 300))
            d[k] = [step] * rng.randint(0, 20)
            live.append(k)
    total = sum(len(v) for v in d.values())
    keys = sorted(d)
    sets = [frozenset(range(i, i + rng.randint(0, 50))) for i in range(20000)]
    union = set().union(*sets)
    print("dicts", len(d), total, digest(keys[:100]), len(union))


def section_strings(rng):
    s = ""
    for i in range(20000):
        s += str(i) * rng.randint(1, 20)      # realloc-style growth
    b = bytearray()
    for i in range(3000):
        b.extend(bytes([i % 251]) * rng.randint(1000, 40000))
    chunks = [b[i:i + 65536] for i in range(0, len(b), 65536)]
    print("strings", len(s), hashlib.sha256(s.encode()).hexdigest()[:16], len(b),
          hashlib.sha256(b).hexdigest()[:16], len(chunks))


def section_threads():
    """Producers pass buffers to consumers (cross-thread frees); results in a fixed order."""
    q = queue.Queue(maxsize=64)
    results = {}
    lock = threading.Lock()

    def producer(n):
        r = random.Random(n)
        for i in range(1500):
            q.put((n, i, bytes(r.randrange(256) for _ in range(r.randint(1, 300))) * r.randint(1, 50)))

    def consumer(n):
        acc = hashlib.sha256()
        count = 0
        while True:
            item = q.get()
            if item is None:
                break
            pn, i, buf = item
            acc.update(b"%d:%d:" % (pn, i) + hashlib.md5(buf).digest())
            count += 1
        with lock:
            results[n] = count

    consumers = [threading.Thread(target=consumer, args=(n,)) for n in range(4)]
    producers = [threading.Thread(target=producer, args=(n,)) for n in range(4)]
    for t in consumers + producers:
        t.start()
    for t in producers:
        t.join()
    for _ in consumers:
        q.put(None)
    for t in consumers:
        t.join()
    print("threads consumed", sum(results.values()))

    # Independent workers, each with its own deterministic result.
    out = [None] * 8

    def worker(n):
        r = random.Random(100 + n)
        d = collections.defaultdict(list)
        for i in range(20000):
            d[r.randint(0, 5000)].append("w%d" % i)
        out[n] = digest(sorted((k, len(v)) for k, v in d.items()))

    ts = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    print("threads workers", out)


def main():
    rng = random.Random(20250101)
    for section in (section_json, section_regex, section_sort, section_dicts, section_strings):
        section(rng)
        sys.stdout.flush()
    section_threads()


if __name__ == "__main__":
    main()
