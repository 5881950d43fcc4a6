#!/usr/bin/env bash
# A whole job suspended and resumed, as `scontrol suspend` / `resume` or a debugger does: every
# rank's process is stopped, stays stopped longer than the watchdog limit, and continues.
#
#   mpiexec -n N suspend_job.sh CPU_SECONDS STOP_SECONDS -- tspemu run PROGRAM ... --watchdog W
#
# The wrapper of every rank stops its tspemu with SIGSTOP once that process has used CPU_SECONDS of
# CPU time (inside the window loop, whatever the load), keeps it stopped for STOP_SECONDS of wall
# time, then sends SIGCONT. A rank that is still running meanwhile waits for a stopped peer, polls,
# uses CPU and is stopped in turn, so the ranks are all stopped for most of STOP_SECONDS. After the
# resume no rank may blame a peer for the time it was itself stopped: the run must end normally,
# with the digest of an undisturbed run.
set -u
if [ $# -lt 4 ] || [ "$3" != "--" ]; then
  echo "usage: suspend_job.sh CPU_SECONDS STOP_SECONDS -- COMMAND..." >&2
  exit 2
fi
cpu_seconds=$1
stop_seconds=$2
shift 3

"$@" &
child=$!
trap 'kill -CONT "$child" 2>/dev/null; kill -KILL "$child" 2>/dev/null' HUP INT TERM
ticks_needed=$((cpu_seconds * $(getconf CLK_TCK)))
while kill -0 "$child" 2>/dev/null; do
  # /proc/PID/stat: fields 14 and 15 are user and system time in clock ticks.
  ticks=$(awk '{ print $14 + $15 }' "/proc/$child/stat" 2>/dev/null || echo 0)
  if [ "${ticks:-0}" -ge "$ticks_needed" ]; then
    kill -STOP "$child"
    sleep "$stop_seconds"
    kill -CONT "$child"
    break
  fi
  sleep 0.05
done
wait "$child"
