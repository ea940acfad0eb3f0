#!/usr/bin/env python3
"""newswire's ratio to each peer, per poll, from a ../shared/farm bench.py JSON file.
    ratios.py RESULTS.json
Medians over repetitions; a ratio below 1 means newswire needed less."""
import json, statistics, sys

d = json.load(open(sys.argv[1]))
med = {}
for r in d["rows"]:
    if r.get("rc", 0) != 0:
        continue
    med.setdefault((r["peer"], r["poll"]), []).append(r)
def m(peer, poll, key):
    rows = med.get((peer, poll), [])
    return statistics.median(x[key] for x in rows) if rows else None
peers = sorted({p for p, _ in med if p != "newswire"})
print("| poll | peer | wall ratio | CPU ratio | RSS ratio |")
print("|---|---|---|---|---|")
for poll, name in ((1, "first (empty store)"), (2, "unchanged")):
    for p in peers:
        cells = []
        for key in ("wall_s", "cpu_s", "peak_rss_mb"):
            a, b = m("newswire", poll, key), m(p, poll, key)
            cells.append("-" if a is None or not b else f"{a / b:.3f}")
        print(f"| {name} | {p} | " + " | ".join(cells) + " |")
