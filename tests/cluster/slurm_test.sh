#!/usr/bin/env bash
# The `slurm` tests: a local single-node Slurm (cluster/local-slurm) started once by the `start` case
# (a CTest fixture), used by the job cases, and stopped by the `stop` case.
#   slurm_test.sh CASE
# Environment (set by tests/cluster/CMakeLists.txt):
#   TSPEMU_TEST_REPO      the source tree
#   TSPEMU_TEST_SLURM     the local Slurm's directory (under the build tree)
#   TSPEMU_TEST_TSPEMU    tspemu
# Exit 77 (CTest: skipped) when Slurm is not installed.
set -euo pipefail
case_name=$1
repo=$TSPEMU_TEST_REPO
dir=$TSPEMU_TEST_SLURM
tspemu=$TSPEMU_TEST_TSPEMU
slurm=$repo/cluster/slurm

fail() { echo "FAIL: $*" >&2; exit 1; }
if ! command -v slurmctld >/dev/null && [ ! -x /usr/sbin/slurmctld ]; then
  echo "SKIP: slurmctld is not installed (apt-get install slurmctld slurmd slurm-client; launch/setup does)"
  exit 77
fi

# A fresh working (= submit) directory per case.
work=$dir/work/$case_name
use_slurm() {
  [ -f "$dir/env" ] || fail "the local Slurm is not running ($dir/env missing): the start test failed?"
  # shellcheck source=/dev/null
  source "$dir/env"
  rm -rf "$work"
  mkdir -p "$work"
  cd "$work"
  unset TSPEMU_OUT TSPEMU_PROGRAM TSPEMU_TOPOLOGY TSPEMU_LAUNCHER TSPEMU_DISTRIBUTION TSPEMU_ARGS
  export TSPEMU_BIN=$tspemu TSPEMU_HOME=$repo
  # The demo programs (cluster/slurm's defaults), copied so that relative paths are not assumed.
  cp "$repo/programs/asm/node_allreduce.tsa" node.tsa
  cp "$repo/programs/asm/rack_exchange.tsa" rack.tsa
}
# Submits a job with `sbatch --parsable --wait ARGS...`: prints its id (of "id" or "id;cluster")
# and returns sbatch's status, the job's exit code (so that `id=$(submit ...) || fail` sees a
# failed job: a status taken from a function that only parsed sbatch's output would not).
submit() {
  local out rc=0
  out=$(sbatch --parsable --wait "$@") || rc=$?
  echo "${out%%;*}"
  return "$rc"
}
# Digest printed in a report.
digest_of() { jq -er .digest "$1"; }
expect_in() {  # expect_in FILE TEXT
  grep -qF -- "$2" "$1" || { echo "---- $1"; cat "$1"; fail "$1 does not contain: $2"; }
}
show_job_output() { local f; for f in "$@"; do echo "---- $f"; cat "$f" 2>/dev/null || true; done; }

case "$case_name" in
  start)
    # Free ports (other builds on this machine may run their own local Slurm at the same time).
    if [ -z "${TSPEMU_SLURMCTLD_PORT:-}" ]; then
      for base in $(seq 16817 2 16999); do
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$base") 2>/dev/null &&
           ! (exec 3<>"/dev/tcp/127.0.0.1/$((base + 1))") 2>/dev/null; then
          export TSPEMU_SLURMCTLD_PORT=$base TSPEMU_SLURMD_PORT=$((base + 1))
          break
        fi
      done
    fi
    if [ -s "$dir/pids" ]; then "$repo/cluster/local-slurm/stop" "$dir" || true; fi
    rm -rf "$dir"
    "$repo/cluster/local-slurm/start" "$dir"
    # shellcheck source=/dev/null
    source "$dir/env"
    [ "$(sinfo -h -o %T)" = idle ] || fail "node not idle after start"
    # A second start in the same directory is refused; so is one on ports already in use.
    out=$("$repo/cluster/local-slurm/start" "$dir" 2>&1) && fail "second start succeeded"
    ctld_pid=$(awk '$1 == "slurmctld" { print $2 }' "$dir/pids")
    [ "$out" = "cluster/local-slurm/start: a local Slurm from $dir is already running (slurmctld pid $ctld_pid); run cluster/local-slurm/stop $dir first" ] ||
      fail "unexpected message for a second start: $out"
    out=$("$repo/cluster/local-slurm/start" "$dir.other" 2>&1) && fail "start on busy ports succeeded"
    rm -rf "$dir.other"
    expected="cluster/local-slurm/start: port $TSPEMU_SLURMCTLD_PORT (for slurmctld) is already in use on this machine, probably by another Slurm (see: ss -ltnp 'sport = :$TSPEMU_SLURMCTLD_PORT'); choose free ports with TSPEMU_SLURMCTLD_PORT=... TSPEMU_SLURMD_PORT=... cluster/local-slurm/start $dir.other"
    [ "$out" = "$expected" ] || fail "unexpected message for busy ports: $out"
    echo "local Slurm up in $dir"
    ;;

  stop)
    [ -s "$dir/pids" ] || fail "no $dir/pids: the start test did not run"
    pids=$(awk '{ print $2 }' "$dir/pids")
    "$repo/cluster/local-slurm/stop" "$dir"
    for p in $pids; do
      if kill -0 "$p" 2>/dev/null; then fail "pid $p ($(cat "/proc/$p/comm" 2>/dev/null)) still running"; fi
    done
    # Nothing of this Slurm left: no slurmstepd holding a file under $dir.
    for p in /proc/[0-9]*; do
      [ "$(cat "$p/comm" 2>/dev/null)" = slurmstepd ] || continue
      for fd in "$p"/fd/*; do
        case "$(readlink "$fd" 2>/dev/null)" in "$dir"/*) fail "slurmstepd ${p#/proc/} still running" ;; esac
      done
    done
    out=$("$repo/cluster/local-slurm/stop" "$dir" 2>&1) || fail "second stop failed: $out"
    [ "$out" = "cluster/local-slurm/stop: nothing to stop in $dir" ] || fail "second stop said: $out"
    echo "stopped; nothing left running"
    ;;

  srun_hostname_8 | srun_hostname_72)
    n=${case_name##*_}
    use_slurm
    # shellcheck disable=SC2016  # $TSPEMU_BIN is expanded by the job
    printf '#!/bin/bash\nsrun --mpi=pmix hostname\n' >job.sh
    id=$(submit --time=5 --ntasks="$n" --output=job-%j.out job.sh) ||
      { show_job_output job-*.out; fail "sbatch --wait returned non-zero"; }
    lines=$(grep -c . "job-$id.out" || true)
    [ "$lines" = "$n" ] || { show_job_output "job-$id.out"; fail "expected $n lines of hostname, got $lines"; }
    echo "$n tasks ran under srun --mpi=pmix"
    ;;

  node_job | node_job_mpirun | rack_job)
    use_slurm
    case "$case_name" in
      rack_job) script=rack.sbatch; program=$work/rack.tsa; topology=$repo/topologies/rack.toml; n=72 ;;
      *) script=node.sbatch; program=$work/node.tsa; topology=$repo/topologies/node.toml; n=8 ;;
    esac
    [ "$case_name" != node_job_mpirun ] || export TSPEMU_LAUNCHER=mpirun
    id=$(TSPEMU_PROGRAM=$program TSPEMU_TOPOLOGY=$topology submit --time=10 "$slurm/$script") ||
      { show_job_output tspemu-*.out; fail "sbatch --wait returned non-zero"; }
    out=$work/tspemu-out/$id  # the default TSPEMU_OUT: <submit dir>/tspemu-out/<job id>
    [ -s "$out/report.json" ] || { show_job_output tspemu-*.out; fail "no $out/report.json"; }
    expect_in "$out/job.txt" "JobId=$id "
    expect_in "$out/launch.txt" "tasks: $n "
    if [ "$case_name" = node_job_mpirun ]; then
      expect_in "$out/launch.txt" "command: mpirun -n 8 "
    else
      expect_in "$out/launch.txt" "command: srun --mpi=pmix --ntasks=$n "
    fi
    [ "$(jq -r .ranks "$out/report.json")" = "$n" ] || fail "report.json: ranks != $n"
    # On a machine with fewer cores than tasks the job must have asked Open MPI to yield.
    if [ "$n" -gt "$(nproc)" ]; then expect_in "$out/launch.txt" "OMPI_MCA_mpi_yield_when_idle=1"; fi
    # The same program under mpirun, outside Slurm, through the wrapper: same digest.
    ( unset SLURM_CONF
      TSPEMU=$tspemu "$repo/launch/tspemu-mpirun" --timeout 300 "$program" --topology "$topology" \
        --report "$work/mpirun-report.json" >"$work/mpirun.out" 2>&1 ) ||
      { cat "$work/mpirun.out"; fail "launch/tspemu-mpirun failed"; }
    slurm_digest=$(digest_of "$out/report.json")
    mpirun_digest=$(digest_of "$work/mpirun-report.json")
    [ "$slurm_digest" = "$mpirun_digest" ] ||
      fail "digests differ: $script $slurm_digest, tspemu-mpirun $mpirun_digest"
    echo "$script: $n tasks, digest $slurm_digest (= tspemu-mpirun)"
    ;;

  determinism | determinism_detects_difference)
    use_slurm
    export TSPEMU_PROGRAM=$work/node.tsa TSPEMU_TOPOLOGY=$repo/topologies/node.toml
    [ "$case_name" = determinism ] || export TSPEMU_SEED_PER_TASK=1
    rc=0
    "$slurm/submit-determinism" --reps 3 --wait --time=10 >submit.out 2>submit.err || rc=$?
    array=$(awk '$1 == "array" { print $2 }' submit.out)
    verify=$(awk '$1 == "verify" { print $2 }' submit.out)
    if [ -z "$array" ] || [ -z "$verify" ]; then cat submit.out submit.err; fail "no job ids printed"; fi
    for a in 0 1 2; do
      [ -s "tspemu-out/${array}_$a/report.json" ] ||
        { show_job_output tspemu-determinism-*.out; fail "no report for array task $a"; }
    done
    expect_in "tspemu-out/${array}_0/launch.txt" "distribution: block"
    expect_in "tspemu-out/${array}_1/launch.txt" "distribution: cyclic"
    expect_in "tspemu-out/${array}_2/launch.txt" "distribution: block"
    verify_txt=tspemu-out/${array}_verify/verify.txt
    if [ "$case_name" = determinism ]; then
      [ "$rc" = 0 ] || { cat submit.err; show_job_output "tspemu-verify-$verify.out"; fail "determinism check failed"; }
      expect_in "$verify_txt" "verify: 3 reports, all digests identical"
      echo "3 repetitions (block, cyclic, block): identical digests"
    else
      [ "$rc" != 0 ] || fail "verify passed although every repetition had a different digest"
      expect_in "$verify_txt" "verify: 3 reports, 3 different digests:"
      expect_in "tspemu-verify-$verify.out" "tspemu verify job: the 3 reports differ or could not be read"
      echo "differing digests were caught"
    fi
    ;;

  rank_mismatch)
    use_slurm
    # The job script refuses more tasks than TSPs before starting any rank ...
    rc=0
    TSPEMU_PROGRAM=$work/node.tsa sbatch --wait --time=5 --ntasks=9 --output=job.out \
      "$slurm/node.sbatch" >/dev/null || rc=$?
    [ "$rc" != 0 ] || fail "a node job with 9 tasks succeeded"
    expect_in job.out "tspemu job: this job has 9 tasks but $repo/topologies/node.toml has 8 TSPs (tspemu runs one or more TSPs per task): submit with at most sbatch --ntasks=8 ..."
    # ... and a direct launch is refused by the run itself, on every rank together.
    # shellcheck disable=SC2016  # $TSPEMU_BIN is expanded by the job
    printf '#!/bin/bash\nsrun --mpi=pmix "$TSPEMU_BIN" run %s --topology %s\n' \
      "$work/node.tsa" "$repo/topologies/node.toml" >direct.sh
    rc=0
    sbatch --wait --time=5 --ntasks=9 --output=direct.out direct.sh >/dev/null || rc=$?
    [ "$rc" != 0 ] || fail "a direct 9-rank launch on the node topology succeeded"
    expect_in direct.out "tspemu: error: the topology has 8 TSPs but this job has 9 ranks: tspemu runs one or more TSPs per MPI rank, so start it with at most 8 ranks (\`mpirun -n 8 ...\` or fewer, or \`srun --mpi=pmix -n 8 ...\`)"
    echo "more tasks than TSPs are refused with the rank-count message"
    ;;

  rack_job_nodes_per_task)
    use_slurm
    # The rack on 9 tasks, a node each: the digest of the reference run in one process.
    id=$(TSPEMU_PROGRAM=$work/rack.tsa submit --time=10 --ntasks=9 "$slurm/rack.sbatch") ||
      { show_job_output tspemu-*.out; fail "sbatch --wait returned non-zero"; }
    out=$work/tspemu-out/$id
    [ -s "$out/report.json" ] || { show_job_output tspemu-*.out; fail "no $out/report.json"; }
    [ "$(jq -r .ranks "$out/report.json")" = 9 ] || fail "report.json: ranks != 9"
    [ "$(jq -r .partition "$out/report.json")" = "72 TSPs on 9 ranks: 8 TSPs per rank, whole nodes" ] ||
      fail "report.json: partition is '$(jq -r .partition "$out/report.json")'"
    "$tspemu" run "$work/rack.tsa" --topology "$repo/topologies/rack.toml" --local \
      --report "$work/local.json" >"$work/local.out" 2>&1 || { cat "$work/local.out"; fail "--local run failed"; }
    [ "$(digest_of "$out/report.json")" = "$(digest_of "$work/local.json")" ] ||
      fail "digests differ: 9 tasks $(digest_of "$out/report.json"), --local $(digest_of "$work/local.json")"
    echo "rack.sbatch on 9 tasks (a node each): digest $(digest_of "$out/report.json") (= --local)"
    ;;

  system_576)
    use_slurm
    # The 576-TSP graphs, compiled in the job and run on 8 tasks (a rack each): the golden digests
    # of their --local runs.
    id=$(submit --time=15 "$slurm/system-576.sbatch") ||
      { show_job_output tspemu-*.out; fail "sbatch --wait returned non-zero"; }
    for graph in allreduce_576 gemm_576; do
      report=$work/tspemu-out/$id/$graph/report.json
      [ -s "$report" ] || { show_job_output tspemu-*.out; fail "no $report"; }
      golden=$(sed -n "s/^$graph \([0-9a-f]*\)$/\1/p" "$repo/tests/e2e/compiler/golden_digests.txt")
      [ "$(digest_of "$report")" = "$golden" ] ||
        fail "$graph: digest $(digest_of "$report"), golden $golden"
      [ "$(jq -r .partition "$report")" = "576 TSPs on 8 ranks: 72 TSPs per rank, whole racks" ] ||
        fail "$graph: partition '$(jq -r .partition "$report")'"
      expect_in "tspemu-system-576-$id.out" "$graph digest $golden"
    done
    echo "system-576.sbatch on 8 tasks: both golden digests"
    ;;

  model_job)
    use_slurm
    # A small model card compiled in the job and run with --check on 2 tasks (4 TSPs each): its
    # golden digest, and the model's latency line; a card that does not exist stops the job.
    card=llama70b_small_decode
    id=$(TSPEMU_MODEL=$repo/programs/models/small/$card.toml \
      submit --time=10 --ntasks=2 "$slurm/model.sbatch") ||
      { show_job_output tspemu-*.out; fail "sbatch --wait returned non-zero"; }
    report=$work/tspemu-out/$id/report.json
    [ -s "$report" ] || { show_job_output tspemu-model-*.out; fail "no $report"; }
    golden=$(sed -n "s/^$card \([0-9a-f]*\)$/\1/p" "$repo/tests/e2e/compiler/golden_digests.txt")
    [ "$(digest_of "$report")" = "$golden" ] || fail "digest $(digest_of "$report"), golden $golden"
    [ "$(jq -r .partition "$report")" = "8 TSPs on 2 ranks: 4 TSPs per rank, contiguous TSPs" ] ||
      fail "partition '$(jq -r .partition "$report")'"
    expect_in "tspemu-model-$id.out" "$card digest $golden"
    expect_in "tspemu-model-$id.out" "check: passed"
    expect_in "tspemu-model-$id.out" "tokens/s per user"
    rc=0
    TSPEMU_MODEL=$work/nothing.toml sbatch --wait --time=5 --ntasks=2 --output=bad.out \
      "$slurm/model.sbatch" >/dev/null || rc=$?
    [ "$rc" != 0 ] || fail "a job for a missing card succeeded"
    expect_in bad.out "TSPEMU_MODEL=$work/nothing.toml does not exist"
    echo "model.sbatch: $card on 2 tasks, golden digest $golden"
    ;;

  bare_srun)
    use_slurm
    # srun without PMIx (what `srun -n 8` does where MpiDefault is none): every task sees
    # SLURM_NTASKS=8 but no PMIx, and tspemu refuses before MPI_Init with the hint.
    cat >job.sh <<EOF
#!/bin/bash
srun --mpi=none printenv SLURM_NTASKS >ntasks.out
srun --mpi=none "\$TSPEMU_BIN" run $work/node.tsa --topology $repo/topologies/node.toml
EOF
    rc=0
    sbatch --wait --time=5 --ntasks=8 --output=job.out job.sh >/dev/null || rc=$?
    [ "$rc" != 0 ] || fail "a bare srun launch succeeded"
    if [ "$(sort -u ntasks.out)" != 8 ] || [ "$(grep -c . ntasks.out)" != 8 ]; then
      cat ntasks.out
      fail "expected SLURM_NTASKS=8 in all 8 tasks"
    fi
    hint="tspemu: error: srun started this process as one of 8 tasks (SLURM_STEP_NUM_TASKS=8) without a process-management interface for MPI (no PMIx), so the tasks cannot form one MPI job; launch with \`srun --mpi=pmix ...\` (or set MpiDefault=pmix in slurm.conf), or with mpirun (launch/tspemu-mpirun builds the right line)"
    count=$(grep -cF -- "$hint" job.out || true)
    [ "$count" = 8 ] || { cat job.out; fail "expected the hint from each of the 8 tasks, got $count"; }
    echo "bare srun refused with the hint by all 8 tasks"
    ;;

  real_digests_node | real_digests_rack)
    # The real `tspemu run`: Slurm (srun and mpirun), launch/tspemu-mpirun and --local agree.
    if ! "$tspemu" --help 2>/dev/null | grep -qE '^ +run +'; then
      echo "SKIP: \`tspemu run\` is not available yet"
      exit 77
    fi
    use_slurm
    export TSPEMU_BIN=$tspemu
    if [ "$case_name" = real_digests_node ]; then
      script=node.sbatch; program=$repo/programs/asm/node_allreduce.tsa; topology=$repo/topologies/node.toml
    else
      script=rack.sbatch; program=$repo/programs/asm/rack_exchange.tsa; topology=$repo/topologies/rack.toml
    fi
    [ -f "$program" ] || { echo "SKIP: $program does not exist yet"; exit 77; }
    digests=()
    for launcher in srun mpirun; do
      id=$(TSPEMU_LAUNCHER=$launcher TSPEMU_OUT=$work/$launcher submit --time=20 "$slurm/$script") ||
        { show_job_output tspemu-*.out; fail "$script with $launcher failed"; }
      digests+=("$(digest_of "$work/$launcher/report.json")")
    done
    ( unset SLURM_CONF
      TSPEMU=$tspemu "$repo/launch/tspemu-mpirun" --timeout 600 "$program" --topology "$topology" \
        --report "$work/mpirun-report.json" ) >mpirun.out 2>&1 || { cat mpirun.out; fail "tspemu-mpirun failed"; }
    digests+=("$(digest_of "$work/mpirun-report.json")")
    "$tspemu" run "$program" --topology "$topology" --local --report "$work/local-report.json" \
      >local.out 2>&1 || { cat local.out; fail "tspemu run --local failed"; }
    digests+=("$(digest_of "$work/local-report.json")")
    "$tspemu" verify "$work/srun/report.json" "$work/mpirun/report.json" \
      "$work/mpirun-report.json" "$work/local-report.json" ||
      fail "digests differ (sbatch srun, sbatch mpirun, tspemu-mpirun, --local): ${digests[*]}"
    echo "$script: srun, mpirun, tspemu-mpirun and --local all give ${digests[0]}"
    ;;

  *) fail "unknown case $case_name" ;;
esac
