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

struct RunRequest {
  std::filesystem::path program;   // .tspb bundle or .tsa assembly
  std::filesystem::path topology;  // topology TOML
  bool local = false;              // every TSP in this process (the reference transport)
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
};

// The shards of `record`'s output layouts that are on `tsp`, extracted from that TSP's declared
// outputs (extract_output; its RuntimeError propagates).
[[nodiscard]] std::vector<EmulatedOutput> extract_tsp_outputs(const CompiledGraph& record,
                                                              TspId tsp,
                                                              std::span<const OutputData> outputs);

struct CheckResult {
  bool passed = false;
  std::int64_t shards = 0;  // expected output shards (every TSP of every declared output)
  std::string mismatch;     // OutputMismatch::message of the first difference; empty if passed
};

// Evaluates record.graph and compares every expected shard with `got` (compare_outputs).
[[nodiscard]] CheckResult check_outputs(const CompiledGraph& record,
                                        std::span<const EmulatedOutput> got);

// Returns the process exit code. Never throws.
int run_main(const RunRequest& request, int argc, char** argv);

}  // namespace tspemu
