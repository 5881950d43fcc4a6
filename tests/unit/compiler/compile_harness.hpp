#pragma once
// The harness of the compiler's end-to-end tests (compile_*_test.cpp): graphs compiled in process,
// their bundles run (one TSP: an Engine on the TSP's program; several: the run driver with the
// in-process transport, as `tspemu compile` verifies), and for every graph
//   (1) every declared output is bit-exact against the reference evaluator (check_outputs),
//   (2) the run's cycle count equals the compiler's prediction exactly,
//   (3) a timing-only run takes the same number of cycles.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "compiler/compile.hpp"
#include "compiler/compiled_graph.hpp"
#include "compiler/reference_eval.hpp"
#include "topo/topology.hpp"

namespace tspemu {

std::string source_path(std::string_view relative);
const Topology& chip_topology();
const Topology& node_topology();

struct RunOutcome {
  Cycle cycles = 0;
  std::vector<EmulatedOutput> outputs;
};

// Runs a compiled bundle on every TSP of `topology`. One TSP: a lone Engine (no network);
// several: verify_compiled_bundle (the verification `tspemu compile` runs; it also checks the
// send schedule derived from the queues against the compiler's).
RunOutcome run_compiled(const CompileOutput& out, const Topology& topology, bool timing_only);

// Loads, compiles and runs `text` (as file "g.toml") and checks (1) to (3). Returns the stats.
CompileStats compile_and_check(std::string_view text, const Topology& topology);

// The what() of the ScheduleError compiling `text` throws, or a marker.
std::string compile_error(std::string_view text, const Topology& topology);

// SplitMix64: the seeded choices of the sweeps.
std::uint64_t splitmix64(std::uint64_t& state);

}  // namespace tspemu
