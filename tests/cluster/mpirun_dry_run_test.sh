#!/usr/bin/env bash
# launch/tspemu-mpirun --dry-run: the exact mpirun lines for the chip, node and rack topologies (TSP
# counts from the real `tspemu topo --json`), planned for 2 cores and for 80 cores, plus its refusals.
#   mpirun_dry_run_test.sh REPO TSPEMU
set -euo pipefail
repo=$1
tspemu=$2
wrapper=$repo/launch/tspemu-mpirun
failures=0
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

check() {  # check NAME EXPECTED_RC EXPECTED_OUTPUT COMMAND...
  local name=$1 want_rc=$2 want=$3 got rc=0
  shift 3
  got=$("$@" 2>&1) || rc=$?
  if [ "$rc" != "$want_rc" ] || [ "$got" != "$want" ]; then
    printf 'FAIL %s (exit %s, expected %s)\n  got:      %s\n  expected: %s\n' \
           "$name" "$rc" "$want_rc" "$got" "$want"
    failures=$((failures + 1))
  else
    printf 'ok   %s\n' "$name"
  fi
}

root=""
[ "$(id -u)" != 0 ] || root="--allow-run-as-root "
over="--oversubscribe --bind-to none --mca mpi_yield_when_idle 1 --mca coll_tuned_use_dynamic_rules 1 --mca coll_tuned_barrier_algorithm 1 --mca coll_tuned_allreduce_algorithm 1"
pinned="--bind-to core --map-by core"
prog=programs/asm/node_allreduce.tsa
topo=$repo/topologies

export TSPEMU=$tspemu TSPEMU_MPIRUN_CORES=2
unset MPIRUN
check chip-2-cores 0 "mpirun ${root}-n 1 $pinned $tspemu run $prog --topology $topo/chip.toml" \
  "$wrapper" --dry-run "$prog" --topology "$topo/chip.toml"
check node-2-cores 0 "mpirun ${root}-n 8 $over $tspemu run $prog --topology $topo/node.toml" \
  "$wrapper" --dry-run "$prog" --topology "$topo/node.toml"
check rack-2-cores 0 "mpirun ${root}-n 72 $over $tspemu run $prog --topology $topo/rack.toml --seed 7" \
  "$wrapper" "$prog" --topology "$topo/rack.toml" --seed 7 --dry-run
check node-80-cores 0 "mpirun ${root}-n 8 $pinned $tspemu run $prog --topology $topo/node.toml" \
  env TSPEMU_MPIRUN_CORES=80 "$wrapper" --dry-run "$prog" --topology "$topo/node.toml"
check rack-80-cores-timeout 0 \
  "timeout --kill-after=30 600 mpirun ${root}-n 72 $pinned $tspemu run $prog --topology $topo/rack.toml" \
  env TSPEMU_MPIRUN_CORES=80 "$wrapper" --timeout 600 --dry-run -n 72 "$prog" --topology="$topo/rack.toml"
check quoting-and-passthrough 0 \
  "mpirun ${root}-n 1 $pinned $tspemu run $prog --topology $topo/chip.toml --label a\\ b -n 3" \
  "$wrapper" --dry-run "$prog" --topology "$topo/chip.toml" -- --label "a b" -n 3
check print-tsps 0 "72" "$wrapper" --print-tsps --topology "$topo/rack.toml"

check rack-on-9-ranks 0 "mpirun ${root}-n 9 $over $tspemu run $prog --topology $topo/rack.toml" \
  "$wrapper" --dry-run -n 9 "$prog" --topology "$topo/rack.toml"
check rack-one-rank 0 "mpirun ${root}-n 1 $pinned $tspemu run $prog --topology $topo/rack.toml" \
  "$wrapper" --dry-run -n 1 "$prog" --topology "$topo/rack.toml"
check tsps-per-rank-sets-n 0 \
  "mpirun ${root}-n 3 $over $tspemu run $prog --topology $topo/rack.toml --tsps-per-rank 24" \
  "$wrapper" --dry-run "$prog" --topology "$topo/rack.toml" --tsps-per-rank 24
check tsps-per-rank-equals-sets-n 0 \
  "mpirun ${root}-n 2 $pinned $tspemu run $prog --topology $topo/node.toml --tsps-per-rank=4" \
  "$wrapper" --dry-run "$prog" --topology "$topo/node.toml" --tsps-per-rank=4
check n-too-many 2 \
  "tspemu-mpirun: -n 73 is more ranks than '$topo/rack.toml' has TSPs (72; tspemu runs one or more TSPs per rank): drop -n or give at most 72" \
  "$wrapper" --dry-run -n 73 "$prog" --topology "$topo/rack.toml"
check tsps-per-rank-bad 2 "tspemu-mpirun: --tsps-per-rank 'many' is not a positive TSP count" \
  "$wrapper" --dry-run "$prog" --topology "$topo/rack.toml" --tsps-per-rank many
check no-topology 2 \
  "tspemu-mpirun: no --topology given (usage: tspemu-mpirun PROGRAM --topology T [tspemu run options])" \
  "$wrapper" --dry-run "$prog"
check bad-timeout 2 "tspemu-mpirun: --timeout 'soon' is not a positive number of seconds" \
  "$wrapper" --dry-run --timeout soon "$prog" --topology "$topo/chip.toml"

# Without a usable `tspemu topo --json`: the `# tsps: N` line, else a clear error.
printf '# tsps: 4\nname = "x"\n' >"$work/four.toml"
printf 'name = "y"\n' >"$work/none.toml"
check header-fallback 0 "mpirun ${root}-n 4 $over /nonexistent/tspemu run $prog --topology $work/four.toml" \
  env TSPEMU=/nonexistent/tspemu "$wrapper" --dry-run "$prog" --topology "$work/four.toml"
check no-count 2 \
  "tspemu-mpirun: cannot tell how many TSPs '$work/none.toml' has: \`tspemu topo --json\` gave no \"tsps\" (/nonexistent/tspemu is not an executable (build it, or set TSPEMU)) and the file has no '# tsps: N' line" \
  env TSPEMU=/nonexistent/tspemu "$wrapper" --dry-run "$prog" --topology "$work/none.toml"

[ "$failures" = 0 ] || { echo "$failures check(s) failed"; exit 1; }
echo "all checks passed"
