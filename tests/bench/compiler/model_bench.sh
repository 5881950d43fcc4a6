#!/usr/bin/env bash
# The full-size model cards, one layer at a time (issue 15), run on demand (not a CTest test):
#   usage: tests/bench/compiler/model_bench.sh <tspemu> <outdir> [<baseline tspemu>]
#   e.g.   cmake --build build/release --target tspemu &&
#          tests/bench/compiler/model_bench.sh build/release/tspemu /tmp/models
# For BERT-Large (topologies/node.toml), Llama-2 7B (rack.toml) and Llama-2 70B (system-8.toml),
# compiles the card cut to MODEL_BENCH_LAYERS layers (default 1) in one pipeline stage (full width,
# full sequence or KV cache, the card's tensor parallelism) with `tspemu compile --report` under
# GNU time, then runs the bundle --local --timing-only. Prints one markdown table (also
# <outdir>/results.md): compile wall seconds and peak RSS, instructions, bundle bytes, predicted
# and run cycles (they must agree), run wall seconds and peak RSS. The full model is about
# `layers` times the per-layer figures (instructions, compile time and memory all grow linearly with
# the layers on this compiler; docs/models.md). With a baseline binary, its compile seconds and
# peak RSS for the same card are printed alongside, compiles interleaved, and the two bundles are
# compared byte for byte (a change that only speeds the compiler up must leave them identical).
# Every command runs under `timeout` (BENCH_TIMEOUT, default 1800 s). Needs bash, GNU time
# (/usr/bin/time), timeout, cmp and python3.
set -u -o pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
# shellcheck source=tests/bench/compiler/bench_lib.sh
source "$ROOT/tests/bench/compiler/bench_lib.sh"
bench_arguments "$@"
bench_need_gnu_time
TIMEOUT=${BENCH_TIMEOUT:-1800}
LAYERS=${MODEL_BENCH_LAYERS:-1}
mkdir -p "$OUT"
RESULTS="$OUT/results.md"
: >"$RESULTS"

say "| card | layers | compile s | compile peak MiB | instructions | bundle MiB | predicted cycles | run cycles | run s | run peak MiB | baseline compile s | baseline peak MiB | bundles |"
say "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
for spec in bert_large:node llama2_7b:rack llama2_70b:system-8; do
  card=${spec%%:*}
  topo="$ROOT/topologies/${spec##*:}.toml"
  cut="$OUT/${card}_l$LAYERS.toml"
  sed -e "s/^layers = .*/layers = $LAYERS/" -e "s/^pipeline_stages = .*/pipeline_stages = 1/" \
    -e "s/^name = \"\(.*\)\"/name = \"\1_l$LAYERS\"/" "$ROOT/programs/models/$card.toml" >"$cut"
  status=0
  timed "$card.compile" "$TSPEMU" compile "$cut" --topology "$topo" -o "$OUT/$card.tspb" \
    --report "$OUT/$card.compile.json" || status=$?
  if [[ $status -ne 0 ]]; then
    say "| $card | $LAYERS | failed (exit $status after $WALL s): $(tail -1 "$OUT/$card.compile.log") |"
    continue
  fi
  compile_s=$WALL compile_mib=$RSS_MB
  base_s="" base_mib="" same=""
  if [[ -n $BASE ]]; then
    status=0
    timed "$card.baseline" "$BASE" compile "$cut" --topology "$topo" -o "$OUT/$card.baseline.tspb" ||
      status=$?
    base_s=$WALL base_mib=$RSS_MB
    if [[ $status -ne 0 ]]; then
      same="baseline failed (exit $status)"
    elif cmp -s "$OUT/$card.tspb" "$OUT/$card.baseline.tspb"; then
      same="identical"
    else
      same="DIFFERENT"
    fi
  fi
  status=0
  timed "$card.run" "$TSPEMU" run "$OUT/$card.tspb" --topology "$topo" --local --timing-only -q \
    --report "$OUT/$card.run.json" || status=$?
  run_cycles=$(json "$OUT/$card.run.json" cycles)
  [[ $status -eq 0 ]] || run_cycles="failed (exit $status)"
  bundle_mib=$(($(stat -c %s "$OUT/$card.tspb") / 1048576))
  say "| $card | $LAYERS | $compile_s | $compile_mib | $(json "$OUT/$card.compile.json" instructions) | $bundle_mib | $(json "$OUT/$card.compile.json" predicted_cycles) | $run_cycles | $WALL | $RSS_MB | $base_s | $base_mib | $same |"
done
