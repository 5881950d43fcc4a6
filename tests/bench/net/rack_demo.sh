#!/usr/bin/env bash
# The 72-TSP rack demo under mpirun, one rank per TSP: total wall time, and per rank its wall time,
# CPU time and peak resident memory (VmHWM: GNU time's "maximum resident set size", i.e. the kernel's
# ru_maxrss at exit), as a table and a summary.
#
#   tests/bench/net/rack_demo.sh [TSPEMU] [REPS]
#   e.g. tests/bench/net/rack_demo.sh build/release/tspemu 3
#
# TSPEMU defaults to build/release/tspemu of this checkout. Every rank runs under /usr/bin/time
# (GNU time, Debian package `time`), which forks it and reports on it when it exits; the MPI
# environment passes through. Each repetition prints its summary line; the per-rank table is the
# last repetition's. PROGRAM / TOPOLOGY override the demo (programs/asm/rack_exchange.tsa,
# topologies/rack.toml); KEEP=1 keeps the work directory (per-rank files and the report).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
tspemu=${1:-$here/build/release/tspemu}
reps=${2:-1}
program=${PROGRAM:-$here/programs/asm/rack_exchange.tsa}
topology=${TOPOLOGY:-$here/topologies/rack.toml}
if [[ ! -x "$tspemu" ]]; then
  echo "rack_demo.sh: $tspemu is not an executable; build tspemu or pass its path" >&2
  exit 2
fi
if [[ ! -x /usr/bin/time ]]; then
  echo "rack_demo.sh: /usr/bin/time (GNU time) not found: apt-get install time" >&2
  exit 2
fi
tsps=$("$tspemu" topo "$topology" --json | sed -n 's/.*"tsps": *\([0-9]*\).*/\1/p' | head -n 1)

# The settings every tspemu launch uses (docs/network.md, "Open MPI settings").
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1 OMPI_MCA_mpi_yield_when_idle=1
export OMPI_MCA_coll_tuned_use_dynamic_rules=1 OMPI_MCA_coll_tuned_barrier_algorithm=1
export OMPI_MCA_coll_tuned_allreduce_algorithm=1

work=$(mktemp -d "${TMPDIR:-/tmp}/rack_demo.XXXXXX")
if [[ "${KEEP:-0}" != 1 ]]; then
  trap 'rm -rf "$work"' EXIT
fi

printf '%s on %s: %s ranks on %s cores, load average %s\n' "$(basename "$program")" \
  "$(basename "$topology")" "$tsps" "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)"
for rep in $(seq 1 "$reps"); do
  rm -f "$work"/rank.* "$work/report.json"
  start=$(date +%s.%N)
  # shellcheck disable=SC2016  # $0 and $OMPI_COMM_WORLD_RANK expand in each rank's shell
  timeout --kill-after=10 600 mpirun -n "$tsps" --oversubscribe --bind-to none \
    sh -c 'exec /usr/bin/time -f "%e %M %U %S" -o "$0/rank.$OMPI_COMM_WORLD_RANK" "$@"' "$work" \
    "$tspemu" run "$program" --topology "$topology" --report "$work/report.json" --quiet \
    >"$work/stdout" 2>"$work/stderr" || {
    echo "rack_demo.sh: the run failed; its stderr:" >&2
    cat "$work/stderr" >&2
    exit 1
  }
  end=$(date +%s.%N)
  digest=$(sed -n 's/^digest: //p' "$work/stdout")
  tspemu_wall=$(sed -n 's/^ *"wall_seconds": *\([0-9.e+-]*\).*/\1/p' "$work/report.json")
  # Per-rank lines: rank wall_s max_rss_kib user_s sys_s.
  for r in $(seq 0 $((tsps - 1))); do
    printf '%d %s\n' "$r" "$(tail -n 1 "$work/rank.$r")"
  done >"$work/ranks"
  median_rss=$(awk '{ print $3 }' "$work/ranks" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
  awk -v rep="$rep" -v total="$(awk -v a="$start" -v b="$end" 'BEGIN { print b - a }')" \
    -v inner="$tspemu_wall" -v digest="$digest" -v median="$median_rss" '
    { n++; cpu += $4 + $5; sum_rss += $3
      if (n == 1 || $3 > max_rss) max_rss = $3
      if (n == 1 || $3 < min_rss) min_rss = $3
      if (n == 1 || $2 > max_wall) max_wall = $2 }
    END { printf "run %d: mpirun wall %.2f s (rank 0 from MPI_Init to report %.2f s), " \
            "slowest rank %.2f s, CPU %.2f s over all ranks; peak RSS per rank min %.1f / median " \
            "%.1f / max %.1f MiB, sum %.0f MiB; digest %s\n", rep, total, inner, max_wall, cpu, \
            min_rss / 1024, median / 1024, max_rss / 1024, sum_rss / 1024, digest }
  ' "$work/ranks"
done

echo
echo "per rank (last run): wall s, peak RSS MiB (VmHWM), user s, sys s"
printf '%6s %8s %10s %8s %8s\n' rank wall_s rss_MiB user_s sys_s
awk '{ printf "%6d %8.2f %10.1f %8.2f %8.2f\n", $1, $2, $3 / 1024, $4, $5 }' "$work/ranks"
