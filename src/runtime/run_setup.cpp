// `tspemu run`'s inputs: the request's checks, the topology, chip, program and its compiled-graph
// record, the initial alignment, and the --dump names (runtime/run_parts.hpp).
#include <fmt/format.h>

#include <algorithm>
#include <string_view>

#include "common/error.hpp"
#include "common/output_file.hpp"
#include "runtime/checkpoint.hpp"
#include "runtime/clock_plan.hpp"
#include "runtime/program_source.hpp"
#include "runtime/run_parts.hpp"
#include "runtime/trace.hpp"
#include "topo/loader.hpp"

namespace tspemu {
namespace detail {
namespace {

void check_dumps(const RunRequest& request, const RunSetup& setup) {
  for (const auto& [spec, path] : request.dumps) {
    if (const Tensor* t = graph_dump_tensor(spec, setup)) {
      if (names_a_tsp(spec)) {
        const auto [tsp, name] = parse_dump_name(spec, setup.topology->tsp_count());
        if (std::find(t->placement.tsps.begin(), t->placement.tsps.end(), tsp) ==
            t->placement.tsps.end()) {
          throw InputError(fmt::format("--dump {}: graph output '{}' has no shard on TSP {}", spec,
                                       name, tsp.value));
        }
      }
      continue;
    }
    const auto [tsp, name] = parse_dump_name(spec, setup.topology->tsp_count());
    bool found = false;
    for (const auto& program : setup.bundle.program.tsps) {
      if (program.tsp != tsp) continue;
      for (const auto& data : program.data) found = found || (data.is_output && data.name == name);
    }
    if (!found) {
      throw InputError(
          fmt::format("--dump {}: TSP {} declares no output named '{}'", spec, tsp.value, name));
    }
  }
}

}  // namespace

// "tsp3:c" -> (3, "c"); "c" -> (0, "c") on a single-TSP machine, else an error.
std::pair<TspId, std::string> parse_dump_name(const std::string& spec, std::size_t tsp_count) {
  if (spec.rfind("tsp", 0) == 0) {
    const auto colon = spec.find(':');
    if (colon != std::string::npos) {
      try {
        std::size_t used = 0;
        const int tsp = std::stoi(spec.substr(3, colon - 3), &used);
        if (used == colon - 3 && tsp >= 0 && static_cast<std::size_t>(tsp) < tsp_count) {
          return {TspId{tsp}, spec.substr(colon + 1)};
        }
      } catch (const std::exception&) {
      }
      throw InputError(fmt::format("--dump {}: TSP must be tsp0..tsp{}", spec, tsp_count - 1));
    }
  }
  if (tsp_count != 1) {
    throw InputError(fmt::format("--dump {}: this machine has {} TSPs; name the TSP as tspN:{}",
                                 spec, tsp_count, spec));
  }
  return {TspId{0}, spec};
}

// True if a --dump spec starts with a TSP (tspN:NAME).
bool names_a_tsp(const std::string& spec) {
  return spec.rfind("tsp", 0) == 0 && spec.find(':') != std::string::npos;
}

// A --dump of a compiled graph's output tensor (by the name the graph gives it), whole or, with
// tspN:, that TSP's shard; nullptr if `spec` names no graph output (a data segment, then).
const Tensor* graph_dump_tensor(const std::string& spec, const RunSetup& setup) {
  if (!setup.compiled) return nullptr;
  std::string name = spec;
  if (names_a_tsp(spec)) name = spec.substr(spec.find(':') + 1);
  const Graph& graph = setup.compiled->graph;
  for (const auto index : graph.outputs) {
    if (graph.tensor(index).name == name) return &graph.tensor(index);
  }
  return nullptr;
}

bool has_graph_dumps(const RunRequest& request, const RunSetup& setup) {
  return std::any_of(request.dumps.begin(), request.dumps.end(),
                     [&](const auto& d) { return graph_dump_tensor(d.first, setup) != nullptr; });
}

RunSetup load_run_setup(const RunRequest& request) {
  constexpr std::string_view kNeedsGraph =
      "--check needs a bundle compiled from a graph (tspemu compile)";
  validate_request(request);
  if (request.check && request.program.extension() == ".tsa") {
    throw InputError(fmt::format("{}: {}; an assembly program has no graph record",
                                 request.program.string(), kNeedsGraph));
  }
  RunSetup setup;
  setup.topology.emplace(load_topology(request.topology));
  if (request.clock_seed) {
    if (!setup.topology->clock().present) {
      throw InputError(fmt::format(
          "--clock-seed {}: topology '{}' has ideal clocks (no [clock] table), so there is no "
          "clock to seed (docs/clocks.md)",
          *request.clock_seed, request.topology.string()));
    }
    ClockParams clock = setup.topology->clock();
    clock.seed = *request.clock_seed;
    setup.topology->set_clock(clock);
  }
  setup.chip = chip_config_from_params(setup.topology->chip());
  setup.bundle =
      load_program_for(request.program, *setup.topology, setup.chip.shape, setup.program_digest);
  if (const auto* record = setup.bundle.find_attachment(kCompiledGraphAttachment)) {
    setup.compiled = decode_compiled_graph(record->bytes, request.program.string());
  }
  if (const auto* record = setup.bundle.find_attachment(kModelAttachment)) {
    setup.model = decode_model_record(record->bytes, request.program.string());
  }
  if (request.check && !setup.compiled) {
    throw InputError(
        fmt::format("{}: {}; this one has no graph record", request.program.string(), kNeedsGraph));
  }
  check_dumps(request, setup);
  // Every rank emulates the same alignment (a pure function of topology and seed). With ideal
  // clocks and the worst-case link latency in the start epoch every TSP starts in the same cycle;
  // a skew would need per-TSP cycle offsets, which only drift mode can cause.
  setup.alignment = emulate_run_alignment(*setup.topology, request.seed);
  TSPEMU_ASSERT(setup.alignment.start_skew_cycles == 0,
                "initial program alignment with ideal clocks must start every TSP together");
  // Drifting clocks: the HACs are aligned first (echo, then parent/child), and each TSP's program
  // starts at its aligned epoch boundary, its residual skew from TSP 0's.
  ClockPlan plan = plan_clock(*setup.topology);
  setup.time_base = std::move(plan.time_base);
  setup.hac_sync = std::move(plan.sync);
  if (request.fail_tsp) {
    if (!setup.compiled) {
      throw InputError(fmt::format(
          "{}: --fail-tsp needs a bundle compiled from a graph (tspemu compile): failover "
          "recompiles its graph for the spare node, and this bundle has no graph record",
          request.program.string()));
    }
    Failover f = plan_failover(*setup.topology, *setup.compiled,
                               parse_tsp_failure(*request.fail_tsp), plan.schedule);
    setup.bundle = std::move(f.recompiled.bundle);
    setup.compiled = std::move(f.recompiled.record);
    setup.failover = std::move(f.record);
  }
  if (request.checkpoint_dir || request.restart) {
    CheckpointIdentity identity;
    identity.program = std::filesystem::absolute(request.program);
    identity.topology = std::filesystem::absolute(request.topology);
    identity.program_digest = setup.program_digest;
    identity.topology_digest = setup.topology->digest();
    identity.tsps = static_cast<std::int64_t>(setup.topology->tsp_count());
    identity.seed = request.seed;
    identity.timing_only = request.timing_only;
    identity.clock_seed = request.clock_seed;
    identity.shuffle_seed = request.shuffle_seed;
    identity.agreement_epochs = request.agreement_epochs;
    identity.trace = request.trace.has_value();
    if (identity.trace) {
      std::tie(identity.trace_begin, identity.trace_end) = trace_range(true, request.trace_cycles);
    }
    identity.stats_interval = request.stats ? request.stats_interval : 0;
    if (request.restart) {
      setup.resume = read_manifest(*request.restart);
      const CheckpointIdentity& was = setup.resume->run;
      if (was.program_digest != identity.program_digest) {
        throw InputError(fmt::format(
            "--restart {}: the checkpoint is of program {} (digest {}), not of {} (digest {})",
            request.restart->string(), was.program.string(), was.program_digest.hex(),
            request.program.string(), identity.program_digest.hex()));
      }
      if (was.topology_digest != identity.topology_digest || was.tsps != identity.tsps) {
        throw InputError(fmt::format(
            "--restart {}: the checkpoint is of topology {} (digest {}), not of {} (digest {})",
            request.restart->string(), was.topology.string(), was.topology_digest.hex(),
            request.topology.string(), identity.topology_digest.hex()));
      }
    }
    if (request.checkpoint_dir) {
      check_checkpoint_directory(*request.checkpoint_dir, identity);
      setup.checkpoint =
          CheckpointPlan{*request.checkpoint_dir, request.checkpoint_every, identity, {}};
    }
  }
  return setup;
}

}  // namespace detail

RunRequest with_restart(const RunRequest& request) {
  if (!request.restart) return request;
  const std::filesystem::path& dir = *request.restart;
  const CheckpointManifest m = read_manifest(dir);
  RunRequest r = request;
  if (r.program.empty() != r.topology.empty()) {
    throw InputError(
        fmt::format("--restart {}: name both the program and --topology, or neither "
                    "(the checkpoint's own are {} and {})",
                    dir.string(), m.run.program.string(), m.run.topology.string()));
  }
  if (r.program.empty()) {
    r.program = m.run.program;
    r.topology = m.run.topology;
  }
  r.seed = m.run.seed;
  r.timing_only = m.run.timing_only;
  r.clock_seed = m.run.clock_seed;
  r.shuffle_seed = m.run.shuffle_seed;
  r.agreement_epochs = m.run.agreement_epochs;
  if (r.trace) {
    if (!m.run.trace) {
      throw InputError(
          fmt::format("--trace: the run checkpointed in {} did not record a trace, so "
                      "a restart cannot write one (trace from the start)",
                      dir.string()));
    }
    r.trace_cycles.reset();
    if (std::pair(m.run.trace_begin, m.run.trace_end) != trace_range(true, std::nullopt)) {
      r.trace_cycles = fmt::format("{}:{}", m.run.trace_begin, m.run.trace_end);
    }
  }
  if (r.stats) {
    if (m.run.stats_interval == 0) {
      throw InputError(
          fmt::format("--stats: the run checkpointed in {} did not count interval "
                      "statistics, so a restart cannot write them",
                      dir.string()));
    }
    r.stats_interval = m.run.stats_interval;
  }
  if (r.checkpoint_every > 0 && !r.checkpoint_dir) r.checkpoint_dir = dir;
  return r;
}

void validate_request(const RunRequest& request) {
  if (request.check && request.timing_only) {
    throw InputError("--check compares data, so it cannot be combined with --timing-only");
  }
  if (request.agreement_epochs < 1 || request.agreement_epochs > kMaxAgreementEpochs) {
    throw InputError(fmt::format("--agree-epochs {} is out of range 1..{}",
                                 request.agreement_epochs, kMaxAgreementEpochs));
  }
  if (!(request.watchdog_seconds == 0 || (request.watchdog_seconds >= kMinWatchdogSeconds &&
                                          request.watchdog_seconds <= kMaxWatchdogSeconds))) {
    throw InputError(fmt::format("--watchdog {} s is out of range: 0 (off) or {}..{} s",
                                 request.watchdog_seconds, kMinWatchdogSeconds,
                                 kMaxWatchdogSeconds));
  }
  (void)parse_bind_policy(request.bind);
  if (request.checkpoint_every < 0) {
    throw InputError(fmt::format("--checkpoint-every {} is negative", request.checkpoint_every));
  }
  if (request.checkpoint_every > 0 && !request.checkpoint_dir) {
    throw InputError("--checkpoint-every needs --checkpoint-dir DIR (where the checkpoints go)");
  }
  if (request.fail_tsp && (request.checkpoint_dir || request.restart)) {
    throw InputError(
        "--fail-tsp reruns a recompiled program after the failover, so it cannot be combined "
        "with checkpoints (--checkpoint-dir, --restart)");
  }
  if (request.local && request.tsps_per_rank) {
    throw InputError(
        "--tsps-per-rank places TSPs on MPI ranks; --local emulates every TSP in this process");
  }
  const std::vector<NamedPath> inputs = {{"the program", request.program},
                                         {"--topology", request.topology}};
  std::vector<NamedPath> outputs;
  if (request.report) outputs.push_back({"--report", *request.report});
  if (request.trace) outputs.push_back({"--trace", *request.trace});
  if (request.stats) outputs.push_back({"--stats", *request.stats});
  (void)trace_range(request.trace.has_value(), request.trace_cycles);
  for (const auto& [name, path] : request.dumps) outputs.push_back({"--dump " + name, path});
  check_output_paths(inputs, outputs);
}

}  // namespace tspemu
