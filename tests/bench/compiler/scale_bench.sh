#!/usr/bin/env bash
# Racks and beyond (issue 12), run on demand (not a CTest test):
#   usage: tests/bench/compiler/scale_bench.sh <tspemu> <outdir> [<baseline tspemu>]
#   e.g.   cmake --build --preset ci --target tspemu &&
#          tests/bench/compiler/scale_bench.sh build/ci/tspemu /tmp/scale
# Prints one markdown table (also <outdir>/results.md), per case: predicted cycles, the issue's
# bar, compile wall time and peak RSS (GNU time), and for the runs their wall time, peak RSS and
# digest. Cases:
#   - a 1 KiB fp32 all_reduce ([1, 256] per TSP) on a node (bar 700 cycles), a rack (2,000), the
#     576-TSP system-8 (3,500; compile <= 3 s and 1 GiB) and, with SCALE_BENCH_145=1, the
#     10,440-TSP system-145 (compile <= 60 s and 8 GiB; then a --local --timing-only run);
#   - system-8: the all_reduce run --local, under `mpirun -n 8` (a rack per rank) and
#     `mpirun -n 72` (a node per rank): one digest, and the -n 8 wall time (bar 60 s);
#   - an 8 MiB fp32 all_reduce on a node ([6552, 320] per TSP): GB/s against the link bound
#     measured from the same topology: every TSP must send 2 (n - 1) / n of the data over its n - 1
#     links, so the busiest link carries at least 2 S / (n x 320 B) vectors at the link's
#     serialisation (ceil(wire bits / bandwidth x clock), from `tspemu topo --resolved`).
# A baseline binary's cycles are printed alongside ("before"; up to 576 TSPs). Runs under `timeout`
# (BENCH_TIMEOUT, default 900 s). Needs bash, GNU time (/usr/bin/time), timeout, python3, mpirun.
set -u -o pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
# shellcheck source=tests/bench/compiler/bench_lib.sh
source "$ROOT/tests/bench/compiler/bench_lib.sh"
bench_arguments "$@"
bench_need_gnu_time
TIMEOUT=${BENCH_TIMEOUT:-900}
mkdir -p "$OUT"
RESULTS="$OUT/results.md"
: >"$RESULTS"
export OMPI_MCA_mpi_yield_when_idle=1 OMPI_MCA_rmaps_base_oversubscribe=1
if [[ $(id -u) == 0 ]]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi

# graph NAME TOPOLOGY TSPS ROWS COLUMNS: a per-TSP fp32 all_reduce graph, written to $OUT/NAME.toml.
graph() {
  cat >"$OUT/$1.toml" <<EOF
[graph]
name = "$1"
topology = "$2"
seed = 5
[[tensor]]
name = "x"
shape = [$4, $5]
dtype = "fp32"
placement = {tsps = "0..$(($3 - 1))", per_tsp = true}
init = {recipe = "uniform", lo = -1.0, hi = 1.0}
[[op]]
kind = "all_reduce"
inputs = ["x"]
output = "sum"
[outputs]
names = ["sum"]
EOF
}

cycles_of() { sed -n 's/^predicted cycles: \([0-9]*\)$/\1/p' <<<"$1"; }
digest_of() { sed -n 's/^digest: \([0-9a-f]*\)$/\1/p' <<<"$1"; }

say "| case | cycles | bar | before | compile s | compile MiB | notes |"
say "|---|---|---|---|---|---|---|"
compile_case() {  # NAME TOPOLOGY TSPS ROWS COLUMNS BAR
  local name=$1 topo=$ROOT/topologies/$2.toml
  graph "$name" "topologies/$2.toml" "$3" "$4" "$5"
  local before="-"
  # The baseline's compile grew quadratically in TSPs (9.6 GB at 576): not tried beyond.
  if [[ -n $BASE && $3 -le 576 ]]; then
    if timed "$name.base" "$BASE" compile "$OUT/$name.toml" --topology "$topo" -o "$OUT/$name.base.tspb"; then
      before=$(cycles_of "$OUTPUT")
    else
      before="fails"
    fi
  fi
  if timed "$name" "$TSPEMU" compile "$OUT/$name.toml" --topology "$topo" -o "$OUT/$name.tspb" \
      --report "$OUT/$name.compile.json"; then
    CYCLES=$(cycles_of "$OUTPUT")
  else
    CYCLES="fails"
  fi
  say "| $name | $CYCLES | $6 | $before | $WALL | $RSS_MB | ${7:-} |"
}

compile_case allreduce_1k_node node 8 1 256 700
compile_case allreduce_1k_rack rack 72 1 256 2000
compile_case allreduce_1k_576 system-8 576 1 256 "3500; compile 3 s, 1024 MiB"
if [[ ${SCALE_BENCH_145:-0} == 1 ]]; then
  compile_case allreduce_1k_10440 system-145 10440 1 256 "compile 60 s, 8192 MiB"
fi

# The 8 MiB node all_reduce against the link bound.
compile_case allreduce_8m_node node 8 6552 320 "link-bound"
resolved=$("$TSPEMU" topo "$ROOT/topologies/node.toml" --resolved)
read -r bound gbps link_gbps <<<"$(python3 - "$resolved" "$CYCLES" <<'EOF'
import math, sys, tomllib
t = tomllib.loads(sys.argv[1])
cycles = int(sys.argv[2])
clock_mhz = t["chip"]["clock_mhz"]
# The node's full mesh is of the "local" link class.
cls = t["link_class"]["local"]
ser = math.ceil(cls["wire_bytes_per_vector"] * 8 / (cls["bandwidth_gbps"] * 1e9) * clock_mhz * 1e6)
n, S = 8, 6552 * 320 * 4
vectors_per_link = math.ceil(2 * S / (n * 320))
bound = vectors_per_link * ser
seconds = cycles / (clock_mhz * 1e6)
algo_gbps = S / seconds / 1e9          # data reduced per second
link_gbps = 320 / ser * clock_mhz * 1e6 / 1e9  # one link direction's payload rate
print(bound, f"{algo_gbps:.1f}", f"{link_gbps:.1f}")
EOF
)"
say ""
say "8 MiB node all_reduce: $CYCLES cycles, link bound $bound cycles (ratio $(python3 -c "print(f'{$CYCLES/$bound:.3f}')")); $gbps GB/s of data reduced per TSP ($link_gbps GB/s per link direction x 7 links)"

# The 576-TSP runs: one digest for --local, a rack per rank and a node per rank.
say ""
say "| system-8 run | wall s | peak MiB (largest process) | digest |"
say "|---|---|---|---|"
S8=$ROOT/topologies/system-8.toml
timed run576.local "$TSPEMU" run "$OUT/allreduce_1k_576.tspb" --topology "$S8" --local --check
say "| --local --check | $WALL | $RSS_MB | $(digest_of "$OUTPUT") |"
timed run576.np8 mpirun -n 8 "$TSPEMU" run "$OUT/allreduce_1k_576.tspb" --topology "$S8" --check
say "| mpirun -n 8 --check (a rack per rank; bar 60 s) | $WALL | $RSS_MB | $(digest_of "$OUTPUT") |"
timed run576.np72 mpirun -n 72 "$TSPEMU" run "$OUT/allreduce_1k_576.tspb" --topology "$S8" --check
say "| mpirun -n 72 --check (a node per rank) | $WALL | $RSS_MB | $(digest_of "$OUTPUT") |"
if [[ ${SCALE_BENCH_145:-0} == 1 ]]; then
  timed run10440.local "$TSPEMU" run "$OUT/allreduce_1k_10440.tspb" \
    --topology "$ROOT/topologies/system-145.toml" --local --timing-only
  say "| system-145 --local --timing-only | $WALL | $RSS_MB | $(digest_of "$OUTPUT") |"
fi
echo "results: $RESULTS"
