#pragma once
// `tspemu run`: everything between the command line and the driver. Owns the process-level
// lifecycle (MPI, Kokkos), chooses the transport, loads topology and program, runs, gathers every
// TSP's outcome to rank 0, and writes the report and the final `digest:` line.
//
// Errors. Setup (loading and checking inputs) is collective: every rank loads the same files, the
// ranks agree whether any failed, and the lowest failing rank prints its message once; every rank
// then exits with that error's code, with no MPI_Abort banner. During the run an error on one TSP
// ends the whole job through Transport::abort (message, then MPI_Abort): never a hang.
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
#include "compiler/compiled_graph.hpp"
#include "compiler/reference_eval.hpp"

namespace tspemu {

// Bounds of the run options. A run ends at the first agreement after its last activity, so an
// agreement interval of K epochs can add up to K epochs of empty windows at the end: 1,024 epochs
// (262,144 cycles at the default HAC period) costs well under a second, 2^31 cost hours. The
// watchdog needs at least a second to tell a stopped rank from one an oversubscribed host did not
// schedule (a time slice is milliseconds, and 72 ranks share 2 cores here).
inline constexpr std::int64_t kMaxAgreementEpochs = 1024;
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
  bool report_binding = false;
  bool quiet = false;  // only the digest line on stdout
  bool check = false;  // compare outputs with the reference evaluator (compiled bundles only)
  std::optional<std::filesystem::path> trace;  // Chrome/Perfetto trace (runtime/trace.hpp)
  std::optional<std::string> trace_cycles;     // FIRST:LAST issue cycles to trace
  std::optional<bool> progress;  // progress lines on stderr (rank 0); default: stderr is a tty
  std::optional<std::filesystem::path> stats;  // per-interval CSV (runtime/interval_stats.hpp)
  std::int64_t stats_interval = 1024;          // its interval, cycles
};

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

// Returns the process exit code. Never throws.
int run_main(const RunRequest& request, int argc, char** argv);

}  // namespace tspemu
