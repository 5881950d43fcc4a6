#!/usr/bin/env bash
# A neighbour that never answers, made from outside: no hook in tspemu.
#
#   mpiexec -n N stall_rank.sh RANK CPU_SECONDS -- tspemu run PROGRAM --topology T --watchdog 2
#
# Every rank runs the command after `--`. The wrapper of rank RANK stops its tspemu with SIGSTOP
# once that process has used CPU_SECONDS of CPU time. MPI start-up and loading take a fraction of
# that, so the stop lands inside the window loop (under any load: CPU time only grows while the
# process runs), after which the rank neither sends nor receives: exactly a hung neighbour. Its
# neighbours' watchdog must then end the job with a message naming the window and the silent rank.
#
# Clean-up: when mpirun ends the job it signals this wrapper, which kills the stopped process; in
# case the wrapper itself is killed outright, a detached sleeper kills it after 120 s if it is
# still stopped (state T: never another process that reused the pid).
set -u
if [ $# -lt 4 ] || [ "$3" != "--" ]; then
  echo "usage: stall_rank.sh RANK CPU_SECONDS -- COMMAND..." >&2
  exit 2
fi
stall_rank=$1
cpu_seconds=$2
shift 3

"$@" &
child=$!
rank=${OMPI_COMM_WORLD_RANK:-${PMIX_RANK:-${PMI_RANK:-}}}
if [ "$rank" = "$stall_rank" ]; then
  sleeper=""
  trap 'kill -KILL "$child" 2>/dev/null; [ -z "$sleeper" ] || kill "$sleeper" 2>/dev/null' EXIT HUP INT TERM
  ticks_needed=$((cpu_seconds * $(getconf CLK_TCK)))
  while kill -0 "$child" 2>/dev/null; do
    # /proc/PID/stat: fields 14 and 15 are user and system time in clock ticks (the command name,
    # field 2, has no spaces here).
    ticks=$(awk '{ print $14 + $15 }' "/proc/$child/stat" 2>/dev/null || echo 0)
    if [ "${ticks:-0}" -ge "$ticks_needed" ]; then
      kill -STOP "$child"
      echo "stall_rank.sh: stopped rank $rank (pid $child) after $ticks CPU ticks" >&2
      (sleep 120; [ "$(awk '{ print $3 }' "/proc/$child/stat" 2>/dev/null)" != T ] ||
        kill -KILL "$child") >/dev/null 2>&1 </dev/null &
      sleeper=$!
      break
    fi
    sleep 0.05
  done
fi
wait "$child"
