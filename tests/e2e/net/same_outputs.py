#!/usr/bin/env python3
"""Exits 0 iff two run reports (docs/report.md) hold the same declared outputs on every TSP: the
same names, sizes and digests (their run digests may differ: timing, FEC flags, replays), and, if
given, REPORT_A records exactly REPLAYS replayed attempts.

  same_outputs.py REPORT_A REPORT_B [REPLAYS]
"""
import json
import sys


def outputs(path):
    report = json.load(open(path))
    return {t["tsp"]: [(o["name"], o["bytes"], o["digest"]) for o in t["outputs"]]
            for t in report["per_tsp"]}


if len(sys.argv) > 3:
    replays = json.load(open(sys.argv[1])).get("replays", [])
    if len(replays) != int(sys.argv[3]):
        sys.exit(f"{sys.argv[1]}: {len(replays)} replays, expected {sys.argv[3]}: {replays}")
a, b = outputs(sys.argv[1]), outputs(sys.argv[2])
if a != b:
    diff = [t for t in sorted(set(a) | set(b)) if a.get(t) != b.get(t)]
    sys.exit(f"outputs differ on TSPs {diff[:8]} ({len(diff)} in all)")
print(f"same outputs on {len(a)} TSPs")
