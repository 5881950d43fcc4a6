#!/usr/bin/env bash
# Compiler numbers for issue 6 (run on demand, not a CTest test):
#   usage: tests/bench/compiler/compiler_bench.sh <tspemu> <outdir>
#   e.g.   cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release &&
#          cmake --build build/release --target tspemu &&
#          tests/bench/compiler/compiler_bench.sh build/release/tspemu /tmp/compiler_bench
# Measures and prints three markdown tables (also written to <outdir>/results.md):
#   1. MXM utilisation of the single-TSP GEMM [2304 x 4096] x [4096 x N], N = 320 and 1280, int8 and
#      fp16, on topologies/chip.toml: `tspemu compile --report` (mxm_utilisation = ABC plane-cycles
#      / (cycles x 4 planes)), then `tspemu run --timing-only --local --report`, whose cycles must
#      equal the prediction.
#   2. all_reduce (fp32 sum, per_tsp over node 0) on the 8 TSPs of topologies/node.toml for 1 KiB to
#      8 MiB per TSP: predicted cycles, time at the topology's clock, effective GB/s (bytes per TSP /
#      time); a timing-only run confirms the cycles up to 1 MiB. Shapes: [1, 256] for 1 KiB, else
#      [rows, 320] with rows = round(bytes / 1280) (320 does not divide a power of two: the bytes
#      column gives the exact size used).
#   3. compile time (compile_ms + verify_ms, the compile report's wall-clock fields) of every
#      programs/graphs/*.toml on the topology its `# topology:` header names.
# Every compile runs under `timeout` (BENCH_TIMEOUT seconds, default 300); a shape that takes
# longer is reported as such. Needs bash, timeout and python3.
set -u -o pipefail

if [[ $# -ne 2 ]]; then
  echo "usage: $0 <tspemu> <outdir>" >&2
  exit 2
fi
TSPEMU=$(realpath "$1")
if [[ ! -x $TSPEMU ]]; then
  echo "$0: $1 is not an executable" >&2
  exit 2
fi
OUT=$(realpath -m "$2")
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
TIMEOUT=${BENCH_TIMEOUT:-300}
mkdir -p "$OUT"
RESULTS="$OUT/results.md"
: >"$RESULTS"

# shellcheck source=tests/bench/compiler/bench_lib.sh
source "$ROOT/tests/bench/compiler/bench_lib.sh"

# compile NAME GRAPH TOPOLOGY: compile with a report; sets STATUS (ok, timeout, failed: <msg>).
compile() {
  local name=$1 graph=$2 topo=$3
  rm -f "$OUT/$name.tspb" "$OUT/$name.compile.json"
  timeout "$TIMEOUT" "$TSPEMU" compile "$graph" --topology "$topo" -o "$OUT/$name.tspb" \
    --report "$OUT/$name.compile.json" >"$OUT/$name.compile.out" 2>"$OUT/$name.compile.err"
  local rc=$?
  if [[ $rc -eq 0 ]]; then
    STATUS=ok
  elif [[ $rc -eq 124 ]]; then
    STATUS="timeout (> ${TIMEOUT} s)"
  else
    STATUS="failed (exit $rc): $(head -c 300 "$OUT/$name.compile.err" | head -n 1)"
  fi
}

# run_timing NAME TOPOLOGY: timing-only run; sets RUN_CYCLES ("" on failure).
run_timing() {
  local name=$1 topo=$2
  RUN_CYCLES=""
  if timeout "$TIMEOUT" "$TSPEMU" run "$OUT/$name.tspb" --topology "$topo" --local --timing-only \
      --report "$OUT/$name.run.json" >"$OUT/$name.run.out" 2>"$OUT/$name.run.err"; then
    RUN_CYCLES=$(json "$OUT/$name.run.json" cycles)
  fi
}

fmt_ms() { python3 -c 'import sys; print("%.0f" % float(sys.argv[1]) if sys.argv[1] else "-")' "$1"; }

CHIP="$ROOT/topologies/chip.toml"
NODE="$ROOT/topologies/node.toml"
MHZ=$(python3 -c 'import sys,tomllib; print(tomllib.load(open(sys.argv[1],"rb"))["chip"]["clock_mhz"])' "$CHIP")

say "tspemu: $("$TSPEMU" --version | head -n 1); host: $(uname -n), $(nproc) cores; $(date -u +%Y-%m-%dT%H:%MZ)"
say ""

# ---- 1. single-TSP GEMM utilisation -------------------------------------------------------------
say "### 1. Single-TSP GEMM [2304 x 4096] x [4096 x N] (topologies/chip.toml)"
say ""
say "| dtype | N | predicted cycles | timing-only run cycles | equal | MXM utilisation | compile ms | verify ms | status |"
say "|---|---|---|---|---|---|---|---|---|"
for dtype in int8 fp16; do
  for n in 320 1280; do
    name="gemm_${dtype}_${n}"
    if [[ $dtype == int8 ]]; then lo=-128; hi=127; else lo=-1.0; hi=1.0; fi
    cat >"$OUT/$name.toml" <<TOML
# topology: topologies/chip.toml
[graph]
name = "$name"
seed = 7

[[tensor]]
name = "a"
shape = [2304, 4096]
dtype = "$dtype"
placement = {tsp = 0}
init = {recipe = "uniform", lo = $lo, hi = $hi}

[[tensor]]
name = "b"
shape = [4096, $n]
dtype = "$dtype"
placement = {tsp = 0}
init = {recipe = "uniform", lo = $lo, hi = $hi}

[[op]]
kind = "matmul"
inputs = ["a", "b"]
output = "c"

[outputs]
names = ["c"]
TOML
    compile "$name" "$OUT/$name.toml" "$CHIP"
    if [[ $STATUS == ok ]]; then
      r="$OUT/$name.compile.json"
      pred=$(json "$r" predicted_cycles)
      run_timing "$name" "$CHIP"
      eq=$([[ -n $RUN_CYCLES && $RUN_CYCLES == "$pred" ]] && echo yes || echo NO)
      util=$(python3 -c 'import sys; print("%.1f%%" % (100*float(sys.argv[1])))' "$(json "$r" mxm_utilisation)")
      say "| $dtype | $n | $pred | ${RUN_CYCLES:-run failed} | $eq | $util | $(fmt_ms "$(json "$r" compile_ms)") | $(fmt_ms "$(json "$r" verify_ms)") | ok |"
    else
      say "| $dtype | $n | - | - | - | - | - | - | $STATUS |"
    fi
  done
done
say ""

# ---- 2. all-reduce on 8 TSPs ---------------------------------------------------------------------
say "### 2. all_reduce fp32 sum, per_tsp over node 0, 8 TSPs (topologies/node.toml, ${MHZ} MHz)"
say ""
say "| size | shape | bytes per TSP | predicted cycles | timing-only run cycles | us | GB/s | compile ms | verify ms | status |"
say "|---|---|---|---|---|---|---|---|---|---|"
for label in 1KiB 4KiB 16KiB 64KiB 256KiB 1MiB 8MiB; do
  case $label in
    1KiB) bytes=1024 ;; 4KiB) bytes=4096 ;; 16KiB) bytes=16384 ;; 64KiB) bytes=65536 ;;
    256KiB) bytes=262144 ;; 1MiB) bytes=1048576 ;; 8MiB) bytes=8388608 ;;
  esac
  if [[ $label == 1KiB ]]; then rows=1; cols=256; else
    cols=320; rows=$(python3 -c 'import sys; print(round(int(sys.argv[1]) / 1280))' "$bytes"); fi
  actual=$((rows * cols * 4))
  name="allreduce_$label"
  cat >"$OUT/$name.toml" <<TOML
# topology: topologies/node.toml
[graph]
name = "$name"
seed = 9

[[tensor]]
name = "x"
shape = [$rows, $cols]
dtype = "fp32"
placement = {node = 0, per_tsp = true}
init = {recipe = "uniform", lo = -1.0, hi = 1.0}

[[op]]
kind = "all_reduce"
inputs = ["x"]
output = "sum"
op = "sum"

[outputs]
names = ["sum"]
TOML
  compile "$name" "$OUT/$name.toml" "$NODE"
  if [[ $STATUS == ok ]]; then
    r="$OUT/$name.compile.json"
    pred=$(json "$r" predicted_cycles)
    runc="not run (> 1 MiB)"
    if [[ $actual -le 1048576 ]]; then
      run_timing "$name" "$NODE"
      runc=${RUN_CYCLES:-run failed}
      [[ -n $RUN_CYCLES && $RUN_CYCLES != "$pred" ]] && runc="$RUN_CYCLES (DIFFERS)"
    fi
    read -r us gbs < <(python3 -c 'import sys
c, b, mhz = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
us = c / mhz
print("%.2f %.2f" % (us, b / (us * 1e3)))' "$pred" "$actual" "$MHZ")
    say "| $label | [$rows, $cols] | $actual | $pred | $runc | $us | $gbs | $(fmt_ms "$(json "$r" compile_ms)") | $(fmt_ms "$(json "$r" verify_ms)") | ok |"
  else
    say "| $label | [$rows, $cols] | $actual | - | - | - | - | - | - | $STATUS |"
  fi
done
say ""

# ---- 3. compile time of the example graphs ----------------------------------------------------
say "### 3. Compile time of programs/graphs/*.toml"
say ""
say "| graph | topology | predicted cycles | compile ms | verify ms | total ms | status |"
say "|---|---|---|---|---|---|---|"
for graph in "$ROOT"/programs/graphs/*.toml; do
  base=$(basename "$graph" .toml)
  topo_rel=$(sed -n 's/^# topology: *//p' "$graph" | head -n 1)
  name="example_$base"
  compile "$name" "$graph" "$ROOT/$topo_rel"
  if [[ $STATUS == ok ]]; then
    r="$OUT/$name.compile.json"
    c=$(json "$r" compile_ms)
    v=$(json "$r" verify_ms)
    total=$(python3 -c 'import sys; print("%.0f" % (float(sys.argv[1]) + float(sys.argv[2])))' "$c" "$v")
    say "| $base | $topo_rel | $(json "$r" predicted_cycles) | $(fmt_ms "$c") | $(fmt_ms "$v") | $total | ok |"
  else
    say "| $base | $topo_rel | - | - | - | - | $STATUS |"
  fi
done
say ""
say "Reports, bundles and logs: $OUT"
