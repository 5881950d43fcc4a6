#pragma once
// `tspemu run`: everything between the command line and the driver. Chooses the transport, loads
// topology and program, runs, gathers every TSP's outcome to rank 0, writes the report, --dump,
// --trace and --stats files, and returns a typed RunCompletion. It never prints and never starts or
// ends MPI: the cli owns the process (cli/mpi_session.hpp starts MPI and ends it) and prints what
// the runtime returns (cli/run_output.hpp), so tests and other front ends get the same values
// without parsing text.
//
// Errors. --local: load and run errors are thrown (tspemu::Error). Under MPI, setup (loading and
// checking inputs) is collective: every rank loads the same files, the ranks agree whether any
// failed, and the RunCompletion of the lowest failing rank carries the message (the others' carry
// only the exit code), so the job prints it once, with no MPI_Abort banner. During the run an
// error on one TSP ends the whole job through abort_job (net/mpi_transport.hpp: the message, then
// MPI_Abort): never a hang. That is the one place the runtime writes to stderr, because a job that
// is being aborted cannot return to its caller.
//
// --check (issue 6). A bundle compiled from a graph carries the record compiler/compiled_graph.hpp
// describes. After the run every rank extracts the output shards of its own TSPs (an extraction
// error is carried along, not thrown, so that the gather below always completes), rank 0 gathers
// them, evaluates the graph with the reference evaluator and compares bit for bit: it prints
// `check: passed (N output shards bit-exact against the reference evaluator)` before the digest
// line, or `check: FAILED: <first mismatch>` on stderr and exits 1 (the digest line is still
// printed). Whenever the bundle has the record, the report has `predicted_cycles` and the summary
// a `predicted cycles: P` line.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "chip/engine.hpp"
#include "clock/alignment.hpp"
#include "common/progress.hpp"
#include "compiler/compiled_graph.hpp"
#include "compiler/reference_eval.hpp"
#include "model/model_record.hpp"
#include "runtime/binding.hpp"
#include "runtime/driver.hpp"
#include "runtime/failover.hpp"

namespace tspemu {

// Bounds of the run options. A run ends at the first agreement after its last activity, so an
// agreement interval of K epochs can add up to K epochs of empty windows at the end: 1,024 epochs
// (262,144 cycles at the default HAC period) costs well under a second, 2^31 cost hours. The
// watchdog needs at least a second to tell a stopped rank from one an oversubscribed host did not
// schedule (a time slice is milliseconds, and 72 ranks share 2 cores here).
inline constexpr std::int64_t kMaxAgreementEpochs = 1024;
// Replays of an inference whose links flagged uncorrectable errors (docs/network.md, "Replay").
inline constexpr std::int64_t kMaxReplays = 100;
inline constexpr double kMinWatchdogSeconds = 1.0;
inline constexpr double kMaxWatchdogSeconds = 1e6;

struct RunRequest {
  std::filesystem::path program;   // .tspb bundle or .tsa assembly
  std::filesystem::path topology;  // topology TOML
  bool local = false;              // every TSP in this process (the reference transport)
  // Under MPI: blocks of this many TSPs per rank (runtime/rank_partition.hpp); default whole racks
  // or nodes when the job has fewer ranks than TSPs.
  std::optional<std::int64_t> tsps_per_rank;
  std::optional<std::filesystem::path> report;
  std::vector<std::pair<std::string, std::filesystem::path>> dumps;  // [tspN:]NAME=FILE
  std::uint64_t seed = 1;
  std::optional<std::uint64_t> shuffle_seed;
  bool timing_only = false;
  std::int64_t agreement_epochs = 1;
  double watchdog_seconds = 300.0;
  std::string bind = "none";  // none | core
  bool check = false;  // compare outputs with the reference evaluator (compiled bundles only)
  std::optional<std::filesystem::path> trace;  // Chrome/Perfetto trace (runtime/trace.hpp)
  std::optional<std::string> trace_cycles;     // FIRST:LAST issue cycles to trace
  std::optional<std::filesystem::path> stats;  // per-interval CSV (runtime/interval_stats.hpp)
  std::int64_t stats_interval = 1024;          // its interval, cycles
  // An attempt whose links flagged uncorrectable errors is replayed, with fresh FEC draws, up to
  // this many times; then the run fails naming the last attempt's first such vector.
  std::int64_t max_replays = 3;
  // --fail-tsp T@CYCLE: TSP T fails permanently at that cycle; the run moves its node onto the
  // rack's spare node and reruns (runtime/failover.hpp).
  std::optional<std::string> fail_tsp;
  // Overrides the topology's [clock] seed (oscillator offsets, HAC phases and protocol draws).
  std::optional<std::uint64_t> clock_seed;
  // Checkpoints (docs/checkpoint.md): into this directory every checkpoint_every HAC epochs (0:
  // only when SIGUSR1, SIGUSR2 or SIGTERM asks; the signals are handled only with a directory).
  std::optional<std::filesystem::path> checkpoint_dir;
  std::int64_t checkpoint_every = 0;
  // Resume the run checkpointed in this directory (with_restart fills in what it ran).
  std::optional<std::filesystem::path> restart;
};

// --restart DIR: the request completed from DIR's manifest: its program and topology when the
// request names none (both or neither), and the options that reach results or the checkpointed
// state (seed, --timing-only, --clock-seed, --shuffle-seed, --agree-epochs, the trace range and
// the stats interval), which a restart takes from the manifest (the cli refuses them beside
// --restart). --checkpoint-every without --checkpoint-dir checkpoints into DIR again. --trace and
// --stats need a checkpointed run that recorded them. Throws InputError. Without --restart: the
// request unchanged.
[[nodiscard]] RunRequest with_restart(const RunRequest& request);

// Checks the options that do not need the inputs (ranges above, --bind, --check with
// --timing-only) and that every output path can be written without replacing an input, another
// output or anything that is not a regular file (common/output_file.hpp). The same checks in
// --local and under MPI. Throws InputError.
void validate_request(const RunRequest& request);

// The shards of `record`'s output layouts that are on `tsp`, extracted from that TSP's declared
// outputs (extract_output; its RuntimeError propagates).
[[nodiscard]] std::vector<EmulatedOutput> extract_tsp_outputs(const CompiledGraph& record,
                                                              TspId tsp,
                                                              std::span<const OutputData> outputs);

struct CheckResult {
  bool passed = false;
  std::int64_t shards = 0;  // expected output shards (every TSP of every declared output)
  std::string mismatch;     // OutputMismatch::message of the first difference; empty if passed
  // When passed: the graph-output digest (EvalResult::digest(), docs/graph-format.md) of the
  // emulated outputs, and per declared output the digest of that output alone, in [outputs]
  // order. They equal the reference's, so the golden output digests of docs/graph-format.md can
  // be reproduced from a run.
  Digest128 output_digest;
  std::vector<std::pair<std::string, Digest128>> outputs;
};

// Evaluates record.graph and compares every expected shard with `got` (compare_outputs).
[[nodiscard]] CheckResult check_outputs(const CompiledGraph& record,
                                        std::span<const EmulatedOutput> got);

// What a run is about to do, handed to RunObserver::started on rank 0 (or --local) once the inputs
// are loaded and before the emulation starts: the cli prints it at once, so a long run shows what
// is running.
struct RunStart {
  std::string program;  // as the user wrote it
  std::string topology_name;
  std::size_t tsps = 0;
  std::string transport;  // "local" or "mpi"
  int ranks = 1;
  std::string partition;  // which rank emulates which TSPs (rank_partition.hpp)
  // Under MPI: where every rank runs (hwloc), in rank order; empty in --local.
  std::vector<RankBinding> bindings;
};

// Rank 0's account of a finished run (the report, runtime/docs/report.md, has all of it and more).
struct RunSummary {
  RunStart start;
  Cycle cycles = 0;  // final_cycle + 1
  double clock_mhz = 0;
  double emulated_seconds = 0;            // cycles at clock_mhz
  std::optional<Cycle> predicted_cycles;  // compiled bundles: the compiler's prediction
  AlignmentResult alignment;
  std::int64_t windows = 0;
  Cycle window_cycles = 0;
  std::int64_t windows_skipped = 0;
  std::int64_t vectors_sent = 0;     // over every link
  std::int64_t instructions = 0;     // executed, every TSP
  double wall_seconds = 0;           // the whole command: loading, run, checking, report
  double run_seconds = 0;            // the emulation alone (the slowest rank's)
  std::optional<CheckResult> check;  // --check
  Digest128 digest;                  // the run digest (the final `digest:` line)
  // Bundles compiled from a model card (docs/models.md): the model and its per-token figures.
  std::optional<ModelRecord> model;
  ModelRunFigures model_figures;
  // Drifting clocks (docs/clocks.md): the HAC alignment and what RUNTIME_DESKEW corrected.
  struct Clocks {
    double ppm_spread = 0;           // the [clock] table's
    std::int64_t rounds_epochs = 0;  // parent/child alignment, tree levels one after another
    double residual_spread_cycles = 0;
    std::int64_t runtime_deskews = 0;  // over all TSPs
    Cycle pause_cycles = 0;
    Cycle max_correction_cycles = 0;
    std::int64_t late_deskews = 0;
  };
  std::optional<Clocks> clocks;
  // Attempts discarded for uncorrectable link errors (docs/network.md, "Replay").
  std::vector<ReplayRecord> replays;
  // --fail-tsp: the failure, the remap onto the spare node and the work lost.
  std::optional<FailoverRecord> failover;
  // Checkpoints written (docs/checkpoint.md) and the one this run resumed from.
  std::vector<CheckpointRecord> checkpoints;
  std::optional<CheckpointRecord> restarted_from;
};

// The result on this process. exit_code is the job's (equal on every rank); summary is there on
// rank 0 (and --local) when the run finished; error, when set, is a message this process must
// report (only one process of a job gets it).
struct RunCompletion {
  int exit_code = 0;
  std::optional<RunSummary> summary;
  std::optional<std::string> error;
  // A signal asked the run to stop (exit code kExitStopped): the checkpoint it wrote (rank 0 and
  // --local).
  std::optional<CheckpointRecord> stopped;
};

// How the caller follows a run while it works. Called on rank 0 (or --local) only.
class RunObserver {
 public:
  virtual ~RunObserver() = default;
  virtual void started(const RunStart& /*start*/) {}
  // Where the driver reports its progress (cycle, percentage of the predicted cycles); empty: no
  // progress. Called once, before the run.
  [[nodiscard]] virtual ProgressSink progress() { return {}; }
};

enum class RunMode { local, mpi };

// Where a run happens: --local, or MPI when a launcher started this process, or (no launcher) in
// this process when the topology has one TSP. Throws InputError with the fix when neither fits
// (a multi-TSP topology without mpirun or --local; a bare `srun` without PMIx).
[[nodiscard]] RunMode choose_run_mode(const RunRequest& request);

// Runs every TSP in this process. Throws tspemu::Error on bad input or a run error.
[[nodiscard]] RunCompletion run_local(const RunRequest& request, RunObserver& observer);

class WatchedComm;
// Runs this rank's TSPs of an MPI job on `comm` (MPI started by the caller, every rank calling).
// Never throws: every rank returns (to finalise together) or the job is aborted.
[[nodiscard]] RunCompletion run_mpi(const RunRequest& request, WatchedComm& comm,
                                    RunObserver& observer);

}  // namespace tspemu
