#!/usr/bin/env python3
"""docs/report.md documents every key a report has.

usage: check_report_keys.py DOC RUN_REPORT COMPILE_REPORT
Every top-level key of both reports, every key of the run report's per_tsp entries, and the keys
of its nested objects (alignment, check, exchange_messages, topology, links, units) must appear in
DOC in backquotes: `key`, or among the keys of a backquoted `{a, b}`. Exit 1 listing the undocumented ones.
"""
import json
import re
import sys

doc = open(sys.argv[1]).read()
# Every identifier inside a backquoted span: `key`, or `{a, b, c}` listing an object's keys.
documented = {w for span in re.findall(r"`([^`]+)`", doc) for w in re.findall(r"[a-z_0-9]+", span)}
run = json.load(open(sys.argv[2]))
compile_report = json.load(open(sys.argv[3]))

keys = set(run) | set(compile_report)
for entry in run.get("per_tsp", []):
    keys |= set(entry)
    for unit in entry.get("units", []):
        keys |= set(unit)
for name in ("alignment", "check", "exchange_messages", "topology", "model"):
    if isinstance(run.get(name), dict):
        keys |= set(run[name])
for link in run.get("links", []):
    keys |= set(link)
for op in compile_report.get("ops", []):
    keys |= set(op)
if isinstance(compile_report.get("model"), dict):
    keys |= set(compile_report["model"])

missing = sorted(k for k in keys if k not in documented)
for k in missing:
    print(f"{sys.argv[1]}: report key '{k}' is not documented")
print(f"check_report_keys: {len(keys)} keys, {len(missing)} undocumented")
sys.exit(1 if missing else 0)
