# Shared body of the tspemu Slurm job scripts (cluster/slurm/*.sbatch); sourced, not run.
#
# The job scripts call, in order:
#   tspemu_job_setup DEFAULT_PROGRAM DEFAULT_TOPOLOGY   # resolve settings, make and record $TSPEMU_OUT
#   tspemu_job_run                                      # launch `tspemu run`, check report.json
#
# Settings come from the environment (sbatch exports the submitter's environment by default):
#   TSPEMU_PROGRAM    program (.tsa or .tspb); relative paths are relative to the submit directory
#   TSPEMU_TOPOLOGY   topology TOML
#   TSPEMU_OUT        output directory; may contain %j (job id), %A (array job id), %a (array task
#                     id), %x (job name), %% (a percent sign). Default: $SLURM_SUBMIT_DIR/tspemu-out/%j,
#                     or .../%A_%a in an array job (where it must contain %a: tasks must not share it)
#   TSPEMU_BIN        the tspemu executable. Default: build/release/tspemu of this repository if it
#                     exists, else `tspemu` on PATH (e.g. from a module or Spack)
#   TSPEMU_LAUNCHER   srun (default: `srun --mpi=pmix`) or mpirun
#   TSPEMU_DISTRIBUTION  block or cyclic rank placement (srun --distribution; mpirun --map-by
#                     slot|node); default: the launcher's own default
#   TSPEMU_ARGS       extra `tspemu run` arguments (split on whitespace)
#
# Output in $TSPEMU_OUT: report.json (from tspemu run), job.txt (`scontrol show job`), launch.txt
# (the exact command, placement and MPI settings).

tspemu_die() {
  echo "tspemu job: $*" >&2
  exit 2
}

# Expands %j %A %a %x %% in $1 for this job.
tspemu_expand_pattern() {
  local in=$1 out="" c
  local job=${SLURM_JOB_ID:-0} array=${SLURM_ARRAY_JOB_ID:-${SLURM_JOB_ID:-0}}
  local task=${SLURM_ARRAY_TASK_ID:-0} name=${SLURM_JOB_NAME:-tspemu}
  while [ -n "$in" ]; do
    c=${in:0:1}
    in=${in:1}
    if [ "$c" != "%" ]; then
      out+=$c
      continue
    fi
    c=${in:0:1}
    in=${in:1}
    case "$c" in
      j) out+=$job ;;
      A) out+=$array ;;
      a) out+=$task ;;
      x) out+=$name ;;
      %) out+=% ;;
      *) out+="%$c" ;;
    esac
  done
  printf '%s\n' "$out"
}

# Largest task count Slurm placed on one node ("72", "36(x2)", "40,32" -> 72, 36, 40).
tspemu_max_tasks_per_node() {
  local spec=${SLURM_TASKS_PER_NODE:-${SLURM_NTASKS:-1}} max=0 n
  for n in $(printf '%s\n' "$spec" | tr ',' '\n' | sed 's/(x[0-9]*)//'); do
    [ "$n" -gt "$max" ] && max=$n
  done
  echo "$max"
}

tspemu_find_bin() {
  if [ -z "${TSPEMU_BIN:-}" ]; then
    if [ -x "$TSPEMU_HOME/build/release/tspemu" ]; then
      TSPEMU_BIN=$TSPEMU_HOME/build/release/tspemu
    elif command -v tspemu >/dev/null; then
      TSPEMU_BIN=$(command -v tspemu)
    else
      tspemu_die "no tspemu: build it (launch/setup) or set TSPEMU_BIN"
    fi
  fi
  [ -x "$TSPEMU_BIN" ] || tspemu_die "TSPEMU_BIN=$TSPEMU_BIN is not an executable"
  export TSPEMU_BIN
}

tspemu_job_setup() {
  local default_program=$1 default_topology=$2
  [ -n "${SLURM_JOB_ID:-}" ] || tspemu_die "not inside a Slurm job (submit with sbatch)"
  : "${SLURM_SUBMIT_DIR:=$PWD}"
  tspemu_find_bin
  TSPEMU_PROGRAM=${TSPEMU_PROGRAM:-$default_program}
  TSPEMU_TOPOLOGY=${TSPEMU_TOPOLOGY:-$default_topology}
  [ -n "$TSPEMU_PROGRAM" ] || tspemu_die "set TSPEMU_PROGRAM (the program to run)"
  [ -n "$TSPEMU_TOPOLOGY" ] || tspemu_die "set TSPEMU_TOPOLOGY (the machine to emulate)"
  [ -e "$TSPEMU_PROGRAM" ] || tspemu_die "TSPEMU_PROGRAM=$TSPEMU_PROGRAM does not exist"
  [ -f "$TSPEMU_TOPOLOGY" ] || tspemu_die "TSPEMU_TOPOLOGY=$TSPEMU_TOPOLOGY does not exist"

  local pattern
  if [ -n "${SLURM_ARRAY_JOB_ID:-}" ]; then
    pattern=${TSPEMU_OUT:-$SLURM_SUBMIT_DIR/tspemu-out/%A_%a}
    case "$pattern" in
      *%a*) ;;
      *) tspemu_die "TSPEMU_OUT=$pattern would be shared by every task of array job" \
                    "$SLURM_ARRAY_JOB_ID: put %a (and %A) in it, e.g. tspemu-out/%A_%a" ;;
    esac
  else
    pattern=${TSPEMU_OUT:-$SLURM_SUBMIT_DIR/tspemu-out/%j}
  fi
  TSPEMU_OUT=$(tspemu_expand_pattern "$pattern")
  mkdir -p "$TSPEMU_OUT" || tspemu_die "cannot create TSPEMU_OUT=$TSPEMU_OUT"
  export TSPEMU_BIN TSPEMU_PROGRAM TSPEMU_TOPOLOGY TSPEMU_OUT
  scontrol show job "$SLURM_JOB_ID" >"$TSPEMU_OUT/job.txt" 2>&1 || true

  # One or more TSPs per task: check before starting (possibly 72) ranks.
  TSPEMU_TSPS=$(TSPEMU="$TSPEMU_BIN" "$TSPEMU_HOME/launch/tspemu-mpirun" --print-tsps \
                  --topology "$TSPEMU_TOPOLOGY") ||
    tspemu_die "cannot read the TSP count of $TSPEMU_TOPOLOGY (see above)"
  SLURM_NTASKS=${SLURM_NTASKS:-${SLURM_NPROCS:-}}
  [ -n "$SLURM_NTASKS" ] ||
    tspemu_die "this job has no task count: submit with sbatch --ntasks=N (N <= $TSPEMU_TSPS) ..."
  if [ "$SLURM_NTASKS" -gt "$TSPEMU_TSPS" ]; then
    tspemu_die "this job has $SLURM_NTASKS tasks but $TSPEMU_TOPOLOGY has $TSPEMU_TSPS TSPs" \
               "(tspemu runs one or more TSPs per task): submit with at most" \
               "sbatch --ntasks=$TSPEMU_TSPS ..."
  fi

  # Oversubscription: under srun, or mpirun inside an allocation, Open MPI does not know that ranks
  # outnumber cores and busy-polls: every blocking wait then costs a scheduler slice (a 72-rank
  # barrier took 624 ms instead of ~1 ms: cluster/README.md).
  TSPEMU_TASKS_PER_NODE=$(tspemu_max_tasks_per_node)
  TSPEMU_NODE_CORES=$(nproc)
  TSPEMU_OVERSUBSCRIBED=0
  if [ "$TSPEMU_TASKS_PER_NODE" -gt "$TSPEMU_NODE_CORES" ]; then
    TSPEMU_OVERSUBSCRIBED=1
    export OMPI_MCA_mpi_yield_when_idle=${OMPI_MCA_mpi_yield_when_idle:-1}
    export OMPI_MCA_coll_tuned_use_dynamic_rules=${OMPI_MCA_coll_tuned_use_dynamic_rules:-1}
    export OMPI_MCA_coll_tuned_barrier_algorithm=${OMPI_MCA_coll_tuned_barrier_algorithm:-1}
    export OMPI_MCA_coll_tuned_allreduce_algorithm=${OMPI_MCA_coll_tuned_allreduce_algorithm:-1}
  fi
  if [ "$(id -u)" = 0 ]; then  # containers and CI run as root; mpirun refuses root without these
    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
  fi
}

tspemu_job_run() {
  local launcher=${TSPEMU_LAUNCHER:-srun} dist=${TSPEMU_DISTRIBUTION:-}
  local cmd=()
  case "$dist" in '' | block | cyclic) ;; *) tspemu_die "TSPEMU_DISTRIBUTION=$dist: expected block or cyclic" ;; esac
  case "$launcher" in
    srun)
      cmd=(srun --mpi=pmix --ntasks="$SLURM_NTASKS" --kill-on-bad-exit=1)
      [ -z "$dist" ] || cmd+=(--distribution="$dist")
      ;;
    mpirun)
      cmd=(mpirun -n "$SLURM_NTASKS")
      [ "$TSPEMU_OVERSUBSCRIBED" = 0 ] || cmd+=(--oversubscribe --bind-to none)
      case "$dist" in
        block) cmd+=(--map-by slot) ;;
        cyclic) cmd+=(--map-by node) ;;
      esac
      ;;
    *) tspemu_die "TSPEMU_LAUNCHER=$launcher: expected srun or mpirun" ;;
  esac
  # shellcheck disable=SC2206  # TSPEMU_ARGS is split on purpose
  local extra=(${TSPEMU_ARGS:-})
  cmd+=("$TSPEMU_BIN" run "$TSPEMU_PROGRAM" --topology "$TSPEMU_TOPOLOGY"
        --report "$TSPEMU_OUT/report.json" ${extra[@]+"${extra[@]}"})

  rm -f "$TSPEMU_OUT/report.json"
  {
    echo "command: $(printf '%q ' "${cmd[@]}")"
    echo "launcher: $launcher"
    echo "distribution: ${dist:-default}"
    echo "tasks: $SLURM_NTASKS (at most $TSPEMU_TASKS_PER_NODE per node; $TSPEMU_NODE_CORES cores on $(hostname))"
    echo "nodes: ${SLURM_JOB_NODELIST:-?}"
    echo "oversubscribed: $TSPEMU_OVERSUBSCRIBED"
    env | grep '^OMPI_MCA_' | sort || true  # none set (no oversubscription): not an error
  } >"$TSPEMU_OUT/launch.txt"
  echo "tspemu job $SLURM_JOB_ID: $SLURM_NTASKS tasks, $launcher${dist:+ ($dist)}, output in $TSPEMU_OUT"

  local rc=0
  "${cmd[@]}" || rc=$?
  if [ "$rc" != 0 ]; then
    echo "tspemu job: tspemu run failed (exit $rc); see this job's output and $TSPEMU_OUT" >&2
    exit "$rc"
  fi
  [ -s "$TSPEMU_OUT/report.json" ] ||
    { echo "tspemu job: tspemu run exited 0 but wrote no $TSPEMU_OUT/report.json" >&2; exit 1; }
  echo "tspemu job $SLURM_JOB_ID: report in $TSPEMU_OUT/report.json"
}

# verify.sbatch: `tspemu verify` over the reports of a determinism array (see verify.sbatch).
tspemu_verify_job() {
  [ -n "${SLURM_JOB_ID:-}" ] || tspemu_die "not inside a Slurm job (submit with sbatch)"
  : "${SLURM_SUBMIT_DIR:=$PWD}"
  tspemu_find_bin
  local reports=() a dir
  if [ -n "${TSPEMU_VERIFY_REPORTS:-}" ]; then
    read -r -a reports <<<"$TSPEMU_VERIFY_REPORTS"
  else
    if [ -z "${TSPEMU_VERIFY_ARRAY:-}" ] || [ -z "${TSPEMU_VERIFY_COUNT:-}" ] ||
       [ -z "${TSPEMU_VERIFY_PATTERN:-}" ]; then
      tspemu_die "set TSPEMU_VERIFY_ARRAY, TSPEMU_VERIFY_COUNT and TSPEMU_VERIFY_PATTERN" \
                 "(cluster/slurm/submit-determinism does), or TSPEMU_VERIFY_REPORTS"
    fi
    case "$TSPEMU_VERIFY_PATTERN" in
      *%a*) ;;
      *) tspemu_die "TSPEMU_VERIFY_PATTERN=$TSPEMU_VERIFY_PATTERN has no %a" ;;
    esac
    for ((a = 0; a < TSPEMU_VERIFY_COUNT; ++a)); do
      dir=$(SLURM_ARRAY_JOB_ID=$TSPEMU_VERIFY_ARRAY SLURM_ARRAY_TASK_ID=$a \
              tspemu_expand_pattern "$TSPEMU_VERIFY_PATTERN")
      reports+=("$dir/report.json")
    done
  fi
  [ "${#reports[@]}" -ge 2 ] || tspemu_die "need at least 2 reports to compare, got ${#reports[@]}"
  local missing=0 r
  for r in "${reports[@]}"; do
    if [ ! -s "$r" ]; then
      echo "tspemu verify job: missing report $r" >&2
      missing=1
    fi
  done
  [ "$missing" = 0 ] || tspemu_die "some reports are missing (see above); nothing was compared"

  TSPEMU_OUT=$(tspemu_expand_pattern "${TSPEMU_OUT:-$SLURM_SUBMIT_DIR/tspemu-out/%j}")
  mkdir -p "$TSPEMU_OUT" || tspemu_die "cannot create TSPEMU_OUT=$TSPEMU_OUT"
  scontrol show job "$SLURM_JOB_ID" >"$TSPEMU_OUT/job.txt" 2>&1 || true
  local rc=0
  "$TSPEMU_BIN" verify "${reports[@]}" >"$TSPEMU_OUT/verify.txt" 2>&1 || rc=$?
  cat "$TSPEMU_OUT/verify.txt"
  if [ "$rc" != 0 ]; then
    echo "tspemu verify job: the ${#reports[@]} reports differ or could not be read (exit $rc)" >&2
    exit "$rc"
  fi
  echo "tspemu verify job $SLURM_JOB_ID: ${#reports[@]} reports identical ($TSPEMU_OUT/verify.txt)"
}
