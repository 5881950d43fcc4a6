#!/usr/bin/env python3
"""Checks a `tspemu run --trace` file against the Chrome trace-event format and tspemu's promises.

usage: check_trace.py TRACE RUN_REPORT [FIRST LAST]
- the file is JSON: an object with a "traceEvents" array;
- every event has a "ph" of M (metadata), X (complete), s / f (flow), i (instant), with the fields
  that phase needs (pid, tid, ts, dur >= 1 and name for X; id for flows; s "g" for instants);
- every X names its graph op (args.op) and its issue cycle (args.issue_cycle == ts);
- every flow start has exactly one end with the same id, not earlier;
- every process and thread with slices is named (process_name / thread_name metadata);
- without a range: the X count is the run report's "instructions"; with FIRST LAST: every X's ts
  lies in FIRST..LAST and there is at least one.
Prints "check_trace: ok (N slices, F flows)" or the first problem, exit 1.
"""
import json
import sys

trace = json.load(open(sys.argv[1]))
report = json.load(open(sys.argv[2]))
first, last = (int(sys.argv[3]), int(sys.argv[4])) if len(sys.argv) > 4 else (None, None)


def fail(what):
    print(f"check_trace: {what}")
    sys.exit(1)


if not isinstance(trace, dict) or not isinstance(trace.get("traceEvents"), list):
    fail("no traceEvents array")
slices, starts, ends, processes, threads, used = 0, {}, {}, set(), set(), set()
for e in trace["traceEvents"]:
    ph = e.get("ph")
    if ph == "M":
        if e.get("name") == "process_name":
            processes.add(e["pid"])
        elif e.get("name") == "thread_name":
            threads.add((e["pid"], e["tid"]))
    elif ph == "X":
        for key in ("pid", "tid", "ts", "dur", "name", "args"):
            if key not in e:
                fail(f"X event without {key}: {e}")
        if e["dur"] < 1 or not isinstance(e["ts"], int):
            fail(f"X event with a bad ts or dur: {e}")
        if "op" not in e["args"] or e["args"].get("issue_cycle") != e["ts"]:
            fail(f"X event without its op or issue cycle: {e}")
        if first is not None and not first <= e["ts"] <= last:
            fail(f"X event outside {first}..{last}: {e}")
        used.add((e["pid"], e["tid"]))
        slices += 1
    elif ph in ("s", "f"):
        for key in ("id", "pid", "tid", "ts"):
            if key not in e:
                fail(f"flow event without {key}: {e}")
        (starts if ph == "s" else ends).setdefault(e["id"], []).append(e)
    elif ph == "i":
        if e.get("s") != "g" or "ts" not in e:
            fail(f"instant event that is not global: {e}")
    else:
        fail(f"unknown phase {ph!r}: {e}")
for fid, s in starts.items():
    f = ends.get(fid, [])
    if len(s) != 1 or len(f) != 1 or f[0]["ts"] < s[0]["ts"]:
        fail(f"flow {fid}: {len(s)} start(s), {len(f)} end(s)")
if set(ends) - set(starts):
    fail("flow ends without starts")
for pid, tid in sorted(used):
    if pid not in processes or (pid, tid) not in threads:
        fail(f"slices on unnamed process/thread {pid}/{tid}")
if first is None and slices != report["instructions"]:
    fail(f"{slices} slices, but the run report counts {report['instructions']} instructions")
if first is not None and slices == 0:
    fail("no slice in the range")
print(f"check_trace: ok ({slices} slices, {len(starts)} flows)")
