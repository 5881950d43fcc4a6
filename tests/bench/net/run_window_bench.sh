#!/usr/bin/env bash
# Wall time per lockstep window: MpiTransport::exchange vs a bare MPI neighbour exchange of the same
# pattern (the lower bound), as a table with their ratio (goal <= 1.2; docs/network.md).
#
#   tests/bench/net/run_window_bench.sh [BUILD_DIR] [WINDOWS] [REPS]
#   e.g. cmake --preset release && cmake --build --preset release --target net_window_bench
#        tests/bench/net/run_window_bench.sh build/release 10000 5
#
# Each configuration runs REPS times alternating bare and transport (so both see the same machine
# load); the table shows medians, and in brackets the fastest run (least disturbed by other load). Rows: 8 ranks = the full mesh of one node (7
# neighbours); 72 ranks = the rack pattern (11 neighbours); vectors = per neighbour per window
# (0 = the idle program: header-only messages). Override the rows with
# CONFIGS="ranks:vectors ..." (default "8:0 72:0 8:1 72:1").
set -euo pipefail

build=${1:-build/release}
windows=${2:-10000}
reps=${3:-5}
bench="$build/tests/bench/net/net_window_bench"
if [[ ! -x "$bench" ]]; then
  echo "run_window_bench.sh: $bench not found; build the target net_window_bench first" >&2
  exit 2
fi

# The settings every tspemu launch uses (docs/network.md, "Open MPI settings").
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1 OMPI_MCA_mpi_yield_when_idle=1
export OMPI_MCA_coll_tuned_use_dynamic_rules=1 OMPI_MCA_coll_tuned_barrier_algorithm=1
export OMPI_MCA_coll_tuned_allreduce_algorithm=1

run() {  # ranks mode vectors -> microseconds per window
  timeout 600 mpirun -n "$1" --oversubscribe "$bench" "$2" "$windows" "$3" |
    sed -n 's/.*us_per_window=\([0-9.]*\).*/\1/p'
}
median() { sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
minimum() { sort -g | head -n 1; }
ratio() { awk -v t="$1" -v b="$2" 'BEGIN {printf "%.2f", t / b}'; }

printf '%s windows, %s repetitions; %s cores, load average %s\n' \
  "$windows" "$reps" "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)"
printf '| ranks | pattern | neighbours | vectors/nbr/window | bare MPI us/window | MpiTransport us/window | ratio (fastest runs) |\n'
printf '|---|---|---|---|---|---|---|\n'
for config in ${CONFIGS:-8:0 72:0 8:1 72:1}; do
  ranks=${config%%:*}
  vectors=${config##*:}
  bare=()
  transport=()
  for ((r = 0; r < reps; ++r)); do
    bare+=("$(run "$ranks" bare "$vectors")")
    transport+=("$(run "$ranks" transport "$vectors")")
  done
  b=$(printf '%s\n' "${bare[@]}" | median)
  t=$(printf '%s\n' "${transport[@]}" | median)
  bmin=$(printf '%s\n' "${bare[@]}" | minimum)
  tmin=$(printf '%s\n' "${transport[@]}" | minimum)
  if ((ranks <= 8)); then pattern="node mesh"; nbrs=$((ranks - 1)); else pattern="rack"; nbrs=11; fi
  printf '| %s | %s | %s | %s | %s (%s) | %s (%s) | %s (%s) |\n' "$ranks" "$pattern" "$nbrs" \
    "$vectors" "$b" "$bmin" "$t" "$tmin" "$(ratio "$t" "$b")" "$(ratio "$tmin" "$bmin")"
done
