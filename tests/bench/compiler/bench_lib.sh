# shellcheck shell=bash
# Shared by the compiler benchmark scripts (sourced, not run): results go to $RESULTS.

# say TEXT: print a line and append it to $RESULTS.
say() { echo "$*" | tee -a "$RESULTS"; }

# json FILE KEY: a top-level value of a JSON report ("" if absent or unreadable).
json() {
  python3 -c 'import json,sys
try:
    v = json.load(open(sys.argv[1])).get(sys.argv[2], "")
except Exception:
    v = ""
print(v)' "$1" "$2"
}

# bench_arguments "$@": the benchmarks' command line, <tspemu> <outdir> [<baseline tspemu>]; sets
# TSPEMU, OUT and BASE (empty without a baseline), or prints the usage and exits 2.
bench_arguments() {
  if [[ $# -lt 2 || $# -gt 3 ]]; then
    echo "usage: $0 <tspemu> <outdir> [<baseline tspemu>]" >&2
    exit 2
  fi
  TSPEMU=$(realpath "$1")
  BASE=""
  if [[ $# -eq 3 ]]; then BASE=$(realpath "$3"); fi
  for bin in "$TSPEMU" ${BASE:+"$BASE"}; do
    if [[ ! -x $bin ]]; then
      echo "$0: $bin is not an executable" >&2
      exit 2
    fi
  done
  # shellcheck disable=SC2034  # read by the scripts that source this file
  OUT=$(realpath -m "$2")
}

# bench_need_gnu_time: exits 2 unless GNU time is at /usr/bin/time (what timed uses).
bench_need_gnu_time() {
  [[ -x /usr/bin/time ]] || { echo "$0: needs GNU time at /usr/bin/time (apt-get install time)" >&2; exit 2; }
}

# timed LABEL CMD...: runs CMD under GNU time and timeout $TIMEOUT, its output
# in $OUT/LABEL.log; sets WALL (s), RSS_MB and OUTPUT; returns its code.
# shellcheck disable=SC2034  # WALL, RSS_MB and OUTPUT are read by the scripts that source this
timed() {
  local label=$1
  shift
  local rc=0
  OUTPUT=$(/usr/bin/time -o "$OUT/$label.time" -f "%e %M" timeout "$TIMEOUT" "$@" 2>&1) || rc=$?
  read -r WALL RSS_KB <"$OUT/$label.time" || { WALL="?"; RSS_KB=0; }
  RSS_MB=$((RSS_KB / 1024))
  echo "$OUTPUT" >"$OUT/$label.log"
  return $rc
}
