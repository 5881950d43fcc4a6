#!/usr/bin/env bash
# The compiler at the chip's rates (issue 11), run on demand (not a CTest test):
#   usage: tests/bench/compiler/rates_bench.sh <tspemu> <outdir> [<baseline tspemu>]
#   e.g.   cmake --build --preset ci --target tspemu &&
#          tests/bench/compiler/rates_bench.sh build/ci/tspemu /tmp/rates
# Compiles each graph below for topologies/chip.toml (or the topology an example names) with
# `tspemu compile --report`, confirms the predicted cycles with a timing-only run, and prints one
# markdown table (also <outdir>/results.md): cycles, the bound the chip allows, their ratio and the
# issue's bar. Bounds are computed here from the topology's [chip] section, in the same run:
#   - matvec [1 x K] x [K x N]: the weights' bytes over the streams' bandwidth,
#     K * N * bytes / (2 * streams_per_direction * lanes) cycles (int8 [1x4096]x[4096x4096]: 819);
#     bar: 1.25 x bound + 300.
#   - GEMM [2304 x 4096] x [4096 x N]: MXM utilisation (ABC plane-cycles / (cycles x planes)); bar:
#     >= 95 % for N = 1280.
#   - reduce sum along the last axis of [8, 1024] fp32: bar 500 cycles; softmax of [16, 1024] fp32:
#     reported; ten chained element-wise ops on [1, 640] fp32: bar 150 cycles.
#   - decoder_layer and mlp_2layer (programs/graphs/): reported.
# With a baseline binary, its cycles are printed alongside ("before"); a graph it cannot compile
# (say, SRAM full) shows its error. Every compile runs under `timeout` (BENCH_TIMEOUT, default 600
# seconds). Needs bash, timeout and python3 (3.11: tomllib).
set -u -o pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
# shellcheck source=tests/bench/compiler/bench_lib.sh
source "$ROOT/tests/bench/compiler/bench_lib.sh"
bench_arguments "$@"
TIMEOUT=${BENCH_TIMEOUT:-600}
CHIP="$ROOT/topologies/chip.toml"
mkdir -p "$OUT/graphs"
RESULTS="$OUT/results.md"
: >"$RESULTS"

# The graphs, written by one python script: matvecs, GEMMs, reduce, softmax, the ten-op chain.
python3 - "$OUT/graphs" <<'EOF'
import sys
out = sys.argv[1]

def tensor(name, shape, dtype, lo, hi):
    return (f'[[tensor]]\nname = "{name}"\nshape = {shape}\ndtype = "{dtype}"\n'
            f'placement = {{tsp = 0}}\ninit = {{recipe = "uniform", lo = {lo}, hi = {hi}}}\n\n')

def op(kind, inputs, output, extra=""):
    ins = ", ".join(f'"{i}"' for i in inputs)
    return f'[[op]]\nkind = "{kind}"\n{extra}inputs = [{ins}]\noutput = "{output}"\n\n'

def write(name, body, outputs):
    names = ", ".join(f'"{o}"' for o in outputs)
    text = f'[graph]\nname = "{name}"\nseed = 11\n\n{body}[outputs]\nnames = [{names}]\n'
    open(f"{out}/{name}.toml", "w").write(text)

for m, k, n, tag in [(1, 4096, 4096, "matvec"), (2304, 4096, 1280, "gemm1280"),
                     (2304, 4096, 320, "gemm320")]:
    for dt, lo, hi in [("int8", -128, 127), ("fp16", -2.0, 2.0)]:
        write(f"{tag}_{dt}", tensor("a", [m, k], dt, lo, hi) + tensor("b", [k, n], dt, lo, hi)
              + op("matmul", ["a", "b"], "c"), ["c"])

write("reduce_8x1024", tensor("x", [8, 1024], "fp32", -1.0, 1.0)
      + op("reduce", ["x"], "y", 'op = "sum"\naxis = 1\n'), ["y"])

write("softmax_16x1024", tensor("s", [16, 1024], "fp32", -4.0, 4.0)
      + op("reduce", ["s"], "m", 'op = "max"\naxis = 1\n') + op("sub", ["s", "m"], "d")
      + op("exp", ["d"], "e") + op("reduce", ["e"], "z", 'op = "sum"\naxis = 1\n')
      + op("rsqrt", ["z"], "r") + op("mul", ["r", "r"], "r2") + op("mul", ["e", "r2"], "p"), ["p"])

chain = [("mul", ["x", "b"]), ("add", ["t1", "b"]), ("tanh", ["t2"]), ("mul", ["t3", "x"]),
         ("exp", ["t4"]), ("sub", ["t5", "b"]), ("abs", ["t6"]), ("max", ["t7", "x"]),
         ("add", ["t8", "b"]), ("rsqrt", ["t9"])]
body = tensor("x", [1, 640], "fp32", -1.0, 1.0) + tensor("b", [1, 640], "fp32", -1.0, 1.0)
for i, (kind, ins) in enumerate(chain):
    body += op(kind, ins, "y" if i == 9 else f"t{i + 1}")
write("chain10_1x640", body, ["y"])
EOF

# The stream bound of a matvec's weights on `CHIP`, in cycles (one decimal).
stream_bound() {  # K N BYTES
  python3 - "$CHIP" "$1" "$2" "$3" <<'EOF'
import math, sys, tomllib
chip = tomllib.load(open(sys.argv[1], "rb"))["chip"]
lanes = chip["superlanes"] * chip["lanes_per_superlane"]
k, n, b = (int(v) for v in sys.argv[2:5])
print(round(k * n * b / (2 * chip["streams_per_direction"] * lanes), 1))
EOF
}

# measure BIN NAME GRAPH TOPOLOGY: compile (report in OUT/NAME.<bin>.json), then a timing-only run.
# Sets CYCLES (or an error text) and UTIL.
measure() {
  local bin=$1 name=$2 graph=$3 topo=$4 tag
  tag=$([[ $bin == "$TSPEMU" ]] && echo new || echo base)
  local report="$OUT/$name.$tag.json" bundle="$OUT/$name.$tag.tspb"
  rm -f "$report" "$bundle"
  CYCLES="" UTIL=""
  if ! timeout "$TIMEOUT" "$bin" compile "$graph" --topology "$topo" -o "$bundle" \
    --report "$report" >"$OUT/$name.$tag.out" 2>"$OUT/$name.$tag.err"; then
    CYCLES="failed: $(head -c 80 "$OUT/$name.$tag.err" | tr '\n' ' ')"
    return
  fi
  CYCLES=$(json "$report" predicted_cycles)
  UTIL=$(python3 -c "print(f'{100 * float(\"$(json "$report" mxm_utilisation)\"):.1f} %')")
  local run
  run=$(timeout "$TIMEOUT" "$bin" run "$bundle" --topology "$topo" --local --timing-only 2>&1 |
    sed -n 's/^cycles: \([0-9]*\).*/\1/p')
  if [[ $run != "$CYCLES" ]]; then CYCLES="$CYCLES (timing-only run: $run)"; fi
}

row() {  # NAME GRAPH TOPOLOGY BOUND BAR
  local name=$1 graph=$2 topo=$3 bound=$4 bar=$5 before="" ratio="-"
  if [[ -n $BASE ]]; then
    measure "$BASE" "$name" "$graph" "$topo"
    before=$CYCLES
  fi
  measure "$TSPEMU" "$name" "$graph" "$topo"
  if [[ $bound != "-" && $CYCLES =~ ^[0-9]+$ ]]; then
    ratio=$(python3 -c "print(f'{$CYCLES / $bound:.2f}')")
  fi
  if [[ -n $BASE ]]; then
    say "| $name | $before | $CYCLES | $bound | $ratio | $UTIL | $bar |"
  else
    say "| $name | $CYCLES | $bound | $ratio | $UTIL | $bar |"
  fi
}

if [[ -n $BASE ]]; then
  say "| graph | cycles before | cycles | bound | cycles / bound | MXM utilisation | bar |"
  say "|---|---|---|---|---|---|---|"
else
  say "| graph | cycles | bound | cycles / bound | MXM utilisation | bar |"
  say "|---|---|---|---|---|---|"
fi
G="$OUT/graphs"
b8=$(stream_bound 4096 4096 1)
b16=$(stream_bound 4096 4096 2)
row matvec_int8 "$G/matvec_int8.toml" "$CHIP" "$b8" "<= $(python3 -c "print(int(1.25 * $b8 + 300))")"
row matvec_fp16 "$G/matvec_fp16.toml" "$CHIP" "$b16" "<= $(python3 -c "print(int(1.25 * $b16 + 300))")"
row reduce_8x1024 "$G/reduce_8x1024.toml" "$CHIP" - "<= 500"
row softmax_16x1024 "$G/softmax_16x1024.toml" "$CHIP" - "reported"
row chain10_1x640 "$G/chain10_1x640.toml" "$CHIP" - "<= 150"
for n in 1280 320; do
  for dt in int8 fp16; do
    row "gemm${n}_$dt" "$G/gemm${n}_$dt.toml" "$CHIP" - \
      "$([[ $n == 1280 ]] && echo "MXM >= 95 %" || echo "MXM above 78 % (int8)")"
  done
done
for name in decoder_layer mlp_2layer; do
  graph="$ROOT/programs/graphs/$name.toml"
  topo="$ROOT/$(sed -n 's/^# topology: *//p' "$graph" | head -n 1)"
  row "$name" "$graph" "$topo" - "reported"
done
