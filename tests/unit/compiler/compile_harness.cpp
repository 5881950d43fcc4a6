#include "compile_harness.hpp"

#include <gtest/gtest.h>

#include "chip/engine.hpp"
#include "chip/kokkos_session.hpp"
#include "common/error.hpp"
#include "compiler/graph_loader.hpp"
#include "compiler/reference_eval.hpp"
#include "runtime/compile_verification.hpp"
#include "runtime/driver.hpp"
#include "runtime/run.hpp"
#include "topo/chip_config.hpp"
#include "topo/loader.hpp"

namespace tspemu {

std::string source_path(std::string_view relative) {
  return std::string(TSPEMU_SOURCE_DIR) + "/" + std::string(relative);
}

const Topology& chip_topology() {
  static const Topology t = load_topology(source_path("topologies/chip.toml"));
  return t;
}

const Topology& node_topology() {
  static const Topology t = load_topology(source_path("topologies/node.toml"));
  return t;
}

RunOutcome run_compiled(const CompileOutput& out, const Topology& topology, bool timing_only) {
  ensure_kokkos_initialized();
  const ChipConfig chip = chip_config_from_params(topology.chip());
  RunOutcome outcome;
  if (topology.tsp_count() == 1) {
    EXPECT_EQ(out.bundle.program.tsps.size(), 1U);
    EngineOptions options;
    options.timing_only = timing_only;
    options.hac_period_cycles = topology.chip().hac_period_cycles;
    Engine engine(out.bundle.program.tsps.at(0), chip, options);
    const RunResult result = engine.run();
    outcome.cycles = result.cycles;
    if (!timing_only) outcome.outputs = extract_tsp_outputs(out.record, TspId{0}, result.outputs);
    return outcome;
  }
  // The verification `tspemu compile` runs (runtime/compile_verification.hpp), with data or not.
  VerifyOptions options;
  options.timing_only = timing_only;
  VerifiedRun run = verify_compiled_bundle(out, topology, options, "g.toml");
  outcome.cycles = run.cycles;
  outcome.outputs = std::move(run.outputs);
  return outcome;
}

CompileStats compile_and_check(std::string_view text, const Topology& topology) {
  const Graph graph = load_graph_from_string(text, "g.toml", topology);
  const CompileOutput out = compile_graph(graph, topology);
  EXPECT_EQ(out.record.predicted_cycles, out.stats.predicted_cycles);

  const RunOutcome full = run_compiled(out, topology, false);
  const CheckResult check = check_outputs(out.record, full.outputs);
  EXPECT_TRUE(check.passed) << check.mismatch;
  EXPECT_EQ(check.mismatch, "");
  // Every shard of every declared output was produced and compared.
  std::int64_t shards = 0;
  for (const TensorValue& v : evaluate(graph).outputs) {
    shards += static_cast<std::int64_t>(v.shards.size());
  }
  EXPECT_EQ(check.shards, shards);
  EXPECT_EQ(static_cast<std::int64_t>(full.outputs.size()), shards);

  EXPECT_EQ(full.cycles, out.stats.predicted_cycles);
  const RunOutcome timing = run_compiled(out, topology, true);
  EXPECT_EQ(timing.cycles, out.stats.predicted_cycles);
  return out.stats;
}

std::string compile_error(std::string_view text, const Topology& topology) {
  const Graph graph = load_graph_from_string(text, "g.toml", topology);
  try {
    (void)compile_graph(graph, topology);
  } catch (const ScheduleError& e) {
    return e.what();
  } catch (const Error& e) {
    return std::string("<other error> ") + e.what();
  }
  return "<no error>";
}

std::uint64_t splitmix64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

}  // namespace tspemu
