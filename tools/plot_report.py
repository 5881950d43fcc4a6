#!/usr/bin/env python3
"""Plots of a tspemu run (`tspemu report RUN.json --plot DIR [--stats STATS.csv]` runs this).

usage: plot_report.py RUN_REPORT OUT_DIR [STATS_CSV]
Writes into OUT_DIR:
  links.png        link utilisation as a heat map: from-TSP x to-TSP, each cell the utilisation of
                   the link direction between them (vectors x serialisation / cycles; docs/report.md)
  units.png        per unit class (MEM, VXM, MXM, SXM, C2C) the mean utilisation per TSP (bars)
  utilisation.png  with STATS_CSV (`tspemu run --stats FILE --stats-interval N`): per unit class the
                   busy share over time, interval by interval, summed over TSPs
Needs matplotlib (Debian: python3-matplotlib; launch/setup installs it). Prints the files written.
"""
import csv
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")  # headless
import matplotlib.pyplot as plt  # noqa: E402

report_path, out_dir = sys.argv[1], sys.argv[2]
stats_path = sys.argv[3] if len(sys.argv) > 3 else None
report = json.load(open(report_path))
os.makedirs(out_dir, exist_ok=True)
written = []
title = f"{os.path.basename(report.get('program', ''))} on {report['topology']['name']}"

# Link heat map.
tsps = report["tsps"]
grid = [[0.0] * tsps for _ in range(tsps)]
for link in report.get("links", []):
    grid[link["from_tsp"]][link["to_tsp"]] = max(grid[link["from_tsp"]][link["to_tsp"]],
                                                 link["utilisation"])
fig, ax = plt.subplots(figsize=(7, 6))
image = ax.imshow(grid, cmap="viridis", origin="upper", interpolation="nearest")
ax.set_xlabel("to TSP")
ax.set_ylabel("from TSP")
ax.set_title(f"link utilisation: {title}")
fig.colorbar(image, ax=ax, label="utilisation")
fig.savefig(os.path.join(out_dir, "links.png"), dpi=100)
written.append("links.png")

# Unit classes per TSP.
classes = ["MEM", "VXM", "MXM", "SXM", "C2C"]
per_class = {c: [0.0] * tsps for c in classes}
for entry in report["per_tsp"]:
    counts = {c: 0 for c in classes}
    for unit in entry.get("units", []):
        for c in classes:
            if unit["unit"].startswith(c):
                per_class[c][entry["tsp"]] += unit["utilisation"]
                counts[c] += 1
    for c in classes:
        if counts[c]:
            per_class[c][entry["tsp"]] /= counts[c]
fig, ax = plt.subplots(figsize=(9, 4))
width = 0.8 / len(classes)
for i, c in enumerate(classes):
    ax.bar([t + i * width for t in range(tsps)], per_class[c], width, label=c)
ax.set_xlabel("TSP")
ax.set_ylabel("mean utilisation of the units that issued")
ax.set_title(f"units: {title}")
ax.legend()
fig.savefig(os.path.join(out_dir, "units.png"), dpi=100)
written.append("units.png")

# Utilisation over time.
if stats_path:
    interval = 1
    busy = {}  # (class, first_cycle) -> busy cycles summed over TSPs
    with open(stats_path) as f:
        for row in csv.DictReader(f):
            interval = int(row["interval_cycles"])
            if row["kind"] == "unit_busy":
                key = (row["name"], int(row["first_cycle"]))
                busy[key] = busy.get(key, 0) + int(row["value"])
    starts = sorted({k[1] for k in busy})
    fig, ax = plt.subplots(figsize=(9, 4))
    for c in classes:
        series = [busy.get((c, s), 0) / float(interval) / tsps for s in starts]
        if any(series):
            ax.plot(starts, series, label=c, drawstyle="steps-post")
    ax.set_xlabel("cycle")
    ax.set_ylabel("busy cycles per cycle per TSP")
    ax.set_title(f"utilisation over time ({interval}-cycle intervals): {title}")
    ax.legend()
    fig.savefig(os.path.join(out_dir, "utilisation.png"), dpi=100)
    written.append("utilisation.png")

for name in written:
    print(os.path.join(out_dir, name))
