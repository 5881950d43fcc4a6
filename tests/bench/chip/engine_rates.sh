#!/usr/bin/env bash
# The engine's instruction rates against issue 13's bars, run on demand (not a CTest test):
#   usage: tests/bench/chip/engine_rates.sh <tspemu> <outdir> [<baseline tspemu>] [runs]
#   e.g.   tests/bench/chip/engine_rates.sh build/ci/tspemu /tmp/rates
# Compiles decoder_layer (topologies/node.toml) and gemm_rowsplit_16 (topologies/rack.toml) from
# programs/graphs/, runs each --local (one process, one core) with full data and --timing-only
# `runs` times (default 7), and prints the median of the report's run_seconds (the emulation) and
# wall_seconds (the whole command: loading the bundle, the run, the report) as instructions/s, with
# the bars: timing-only >= 5 M/s on both, full data >= 1 M/s on decoder_layer. With a baseline
# binary its figures are printed alongside (each binary runs the bundle it compiled), runs
# interleaved.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
if [[ $# -lt 2 ]]; then
  sed -n 2,9p "$0" >&2
  exit 2
fi
NEW=$(realpath "$1")
OUT=$2
BASE=${3:+$(realpath "$3")}
RUNS=${4:-7}
mkdir -p "$OUT"
PY=python3
median() {  # one JSON key of a set of reports: the median
  "$PY" - "$@" <<'PYEOF'
import json, statistics, sys
key = sys.argv[1]
print(statistics.median(json.load(open(p))[key] for p in sys.argv[2:]))
PYEOF
}
row() {  # graph topology mode binary label (the bundle: $OUT/<graph>.<label>.tspb)
  local graph=$1 topo=$2 mode=$3 bin=$4 label=$5
  local flags=()
  [[ "$mode" == timing-only ]] && flags=(--timing-only)
  local reports=()
  for ((i = 0; i < RUNS; i++)); do
    local r="$OUT/$graph.$mode.$label.$i.json"
    "$bin" run "$OUT/$graph.$label.tspb" --topology "$ROOT/topologies/$topo.toml" --local -q \
      "${flags[@]}" --report "$r" >/dev/null
    reports+=("$r")
  done
  local instr run wall
  instr=$(median instructions "${reports[@]}")
  run=$(median run_seconds "${reports[@]}")
  wall=$(median wall_seconds "${reports[@]}")
  "$PY" -c "
i, r, w = float('$instr'), float('$run'), float('$wall')
print(f'| $graph | $mode | $label | {int(i):,} | {r:.4f} | {i / r / 1e6:.2f} | {w:.4f} | {i / w / 1e6:.2f} |')"
}
{
  echo "| graph | mode | binary | instructions | run s | run M instr/s | wall s | wall M instr/s |"
  echo "|---|---|---|---|---|---|---|---|"
  for spec in "decoder_layer node" "gemm_rowsplit_16 rack"; do
    read -r graph topo <<<"$spec"
    # Each binary runs a bundle it compiled itself: bundle formats change between versions.
    "$NEW" compile "$ROOT/programs/graphs/$graph.toml" --topology "$ROOT/topologies/$topo.toml" \
      -o "$OUT/$graph.new.tspb" >/dev/null
    if [[ -n "$BASE" ]]; then
      "$BASE" compile "$ROOT/programs/graphs/$graph.toml" --topology "$ROOT/topologies/$topo.toml" \
        -o "$OUT/$graph.baseline.tspb" >/dev/null
    fi
    for mode in full timing-only; do
      row "$graph" "$topo" "$mode" "$NEW" new
      [[ -n "$BASE" ]] && row "$graph" "$topo" "$mode" "$BASE" baseline
    done
  done
  echo
  echo "bars: timing-only >= 5 M instr/s (both graphs); full data >= 1 M instr/s (decoder_layer)"
} | tee "$OUT/results.md"
