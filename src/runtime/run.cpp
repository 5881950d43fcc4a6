#include "runtime/run.hpp"

#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>
#include <fmt/format.h>
#include <mpi.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <new>
#include <span>
#include <string_view>

#include "chip/kokkos_session.hpp"
#include "common/error.hpp"
#include "common/log.hpp"
#include "common/memory_budget.hpp"
#include "common/output_file.hpp"
#include "common/progress.hpp"
#include "isa/bundle_archive.hpp"
#include "net/link_model.hpp"
#include "net/local_transport.hpp"
#include "net/mpi_transport.hpp"
#include "net/watched_comm.hpp"
#include "runtime/binding.hpp"
#include "runtime/driver.hpp"
#include "runtime/fault_injection.hpp"
#include "runtime/interval_stats.hpp"
#include "runtime/program_source.hpp"
#include "runtime/rank_partition.hpp"
#include "runtime/trace.hpp"
#include "topo/chip_config.hpp"
#include "topo/loader.hpp"

namespace tspemu {
namespace {

using Json = nlohmann::json;

struct Setup {
  std::optional<Topology> topology;
  ChipConfig chip;
  Bundle bundle;
  Digest128 program_digest;               // of the bundle file (or the assembled program)
  std::optional<CompiledGraph> compiled;  // the bundle's compiled-graph record, if it has one
  AlignmentResult alignment;  // initial program alignment: program cycle 0 = its start_cycle
};

// What rank 0 needs for --check: every TSP's extracted output shards, or the first (lowest rank)
// extraction error.
struct CheckInput {
  std::vector<EmulatedOutput> outputs;
  std::optional<std::string> error;
};

// True when an MPI launcher (mpirun, srun --mpi=pmix) started this process.
bool launched_by_mpi() {
  for (const char* var : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE"}) {
    if (std::getenv(var) != nullptr) return true;
  }
  return false;
}

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
const Tensor* graph_dump_tensor(const std::string& spec, const Setup& setup) {
  if (!setup.compiled) return nullptr;
  std::string name = spec;
  if (names_a_tsp(spec)) name = spec.substr(spec.find(':') + 1);
  const Graph& graph = setup.compiled->graph;
  for (const auto index : graph.outputs) {
    if (graph.tensor(index).name == name) return &graph.tensor(index);
  }
  return nullptr;
}

bool has_graph_dumps(const RunRequest& request, const Setup& setup) {
  return std::any_of(request.dumps.begin(), request.dumps.end(),
                     [&](const auto& d) { return graph_dump_tensor(d.first, setup) != nullptr; });
}

void check_dumps(const RunRequest& request, const Setup& setup) {
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

Setup load_setup(const RunRequest& request) {
  constexpr std::string_view kNeedsGraph =
      "--check needs a bundle compiled from a graph (tspemu compile)";
  validate_request(request);
  if (request.check && request.program.extension() == ".tsa") {
    throw InputError(fmt::format("{}: {}; an assembly program has no graph record",
                                 request.program.string(), kNeedsGraph));
  }
  Setup setup;
  setup.topology.emplace(load_topology(request.topology));
  setup.chip = chip_config_from_params(setup.topology->chip());
  setup.bundle =
      load_program_for(request.program, *setup.topology, setup.chip.shape, setup.program_digest);
  if (const auto* record = setup.bundle.find_attachment(kCompiledGraphAttachment)) {
    setup.compiled = decode_compiled_graph(record->bytes, request.program.string());
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
  return setup;
}

Json outcome_to_json(const TspOutcome& t) {
  Json units = Json::array();
  for (const auto& u : t.result.units) {
    units.push_back({{"unit", u.name},
                     {"instructions", u.instructions},
                     {"busy_cycles", u.busy_cycles},
                     {"utilisation", t.result.cycles > 0 ? static_cast<double>(u.busy_cycles) /
                                                               static_cast<double>(t.result.cycles)
                                                         : 0.0}});
  }
  Json links = Json::array();
  for (const auto& [link, vectors] : t.link_vectors) {
    links.push_back({link.value, vectors});
  }
  Json outputs = Json::array();
  for (const auto& o : t.result.outputs) {
    outputs.push_back(
        {{"name", o.name}, {"bytes", o.bytes.size()}, {"digest", digest_of(o.bytes).hex()}});
  }
  return Json{
      {"tsp", t.tsp.value},
      {"digest", t.digest.hex()},
      {"final_cycle", t.result.final_cycle},
      {"cycles", t.result.cycles},
      {"instructions", std::accumulate(t.result.instructions_by_opcode.begin(),
                                       t.result.instructions_by_opcode.end(), std::int64_t{0})},
      {"mxm_int8_macs", t.result.mxm_int8_macs},
      {"mxm_fp16_macs", t.result.mxm_fp16_macs},
      {"sram_touched_pages", t.result.sram_touched_pages},
      {"vectors_sent", t.vectors_sent},
      {"vectors_received", t.vectors_received},
      {"fec_corrected", t.fec_corrected},
      {"units", units},
      {"link_vectors_sent", links},
      {"outputs", outputs}};
}

// Rank 0 gets every rank's per-TSP JSON (as text), others get nothing.
std::vector<Json> gather_outcomes(WatchedComm& comm, const std::vector<Json>& mine) {
  std::vector<Json> out;
  for (const std::string& part : comm.gather(Json(mine).dump(), "the gather of the TSP results")) {
    for (const auto& t : Json::parse(part)) out.push_back(t);
  }
  return out;
}

// This process's output shards for --check (extract_tsp_outputs over its TSPs).
std::vector<EmulatedOutput> extract_local_outputs(const Setup& setup,
                                                  const DriverOutcome& outcome) {
  std::vector<EmulatedOutput> out;
  for (const auto& t : outcome.local) {
    for (auto& o : extract_tsp_outputs(*setup.compiled, t.tsp, t.result.outputs)) {
      out.push_back(std::move(o));
    }
  }
  return out;
}

// One rank's CheckInput as bytes for the gather (the job's own data: the archive's bounds are a
// safeguard, not a trust boundary): has-error flag, then the error or the shards.
std::string encode_check_part(const CheckInput& part) {
  std::vector<std::uint8_t> bytes;
  detail::BundleOutputArchive archive(bytes);
  archive(part.error.has_value());
  if (part.error) {
    archive(*part.error);
  } else {
    archive(static_cast<std::uint64_t>(part.outputs.size()));
    for (const auto& o : part.outputs) archive(o.name, o.tsp.value, o.bytes);
  }
  return std::string(bytes.begin(), bytes.end());
}

// Rank 0: the parts in rank order merged; the lowest rank's error wins.
CheckInput merge_check_parts(const std::vector<std::string>& parts) {
  CheckInput merged;
  for (const std::string& text : parts) {
    const std::span<const std::uint8_t> bytes(reinterpret_cast<const std::uint8_t*>(text.data()),
                                              text.size());
    detail::BoundedInputArchive archive(bytes);
    bool has_error = false;
    archive(has_error);
    if (has_error) {
      std::string error;
      archive(error);
      if (!merged.error) merged.error = std::move(error);
      continue;
    }
    std::uint64_t count = 0;
    archive(count);
    for (std::uint64_t i = 0; i < count; ++i) {
      EmulatedOutput o;
      archive(o.name, o.tsp.value, o.bytes);
      merged.outputs.push_back(std::move(o));
    }
  }
  return merged;
}

// The bytes of a graph output as --dump writes it (docs/graph-format.md, "Outputs of a run"):
// with tspN:, that TSP's shard; else replicated: the value (the first TSP's shard), split: the
// shards joined along the split axis (the logical tensor, row-major), per_tsp: the shards one after
// another in placement order.
std::vector<std::uint8_t> graph_dump_bytes(const std::string& spec, const Tensor& t,
                                           const Setup& setup,
                                           std::span<const EmulatedOutput> shards) {
  const auto shard_of = [&](TspId tsp) -> const std::vector<std::uint8_t>& {
    for (const EmulatedOutput& o : shards) {
      if (o.name == t.name && o.tsp == tsp) return o.bytes;
    }
    throw RuntimeError(fmt::format("--dump {}: the run produced no shard of '{}' on TSP {}", spec,
                                   t.name, tsp.value));
  };
  if (names_a_tsp(spec)) {
    return shard_of(parse_dump_name(spec, setup.topology->tsp_count()).first);
  }
  const auto& tsps = t.placement.tsps;
  std::vector<std::uint8_t> out;
  if (t.placement.kind == Placement::Kind::replicated) return shard_of(tsps.front());
  if (t.placement.kind == Placement::Kind::per_tsp) {
    for (const TspId tsp : tsps) {
      const auto& b = shard_of(tsp);
      out.insert(out.end(), b.begin(), b.end());
    }
    return out;
  }
  // Split along axis k: per outer index (the dimensions before k), each shard's contiguous block.
  const auto k = static_cast<std::size_t>(t.placement.split_axis);
  const Shape local = t.placement.local_shape(t.shape);
  std::int64_t outer = 1;
  for (std::size_t d = 0; d < k; ++d) outer *= t.shape[d];
  std::int64_t block = dtype_bytes(t.dtype);
  for (std::size_t d = k; d < local.size(); ++d) block *= local[d];
  std::vector<const std::vector<std::uint8_t>*> parts;
  for (const TspId tsp : tsps) parts.push_back(&shard_of(tsp));
  for (std::int64_t o = 0; o < outer; ++o) {
    for (const auto* part : parts) {
      const auto begin = part->begin() + o * block;
      out.insert(out.end(), begin, begin + block);
    }
  }
  return out;
}

void write_graph_dumps(const RunRequest& request, const Setup& setup,
                       std::span<const EmulatedOutput> shards) {
  for (const auto& [spec, path] : request.dumps) {
    const Tensor* t = graph_dump_tensor(spec, setup);
    if (t == nullptr) continue;
    write_output_file(path,
                      std::span<const std::uint8_t>(graph_dump_bytes(spec, *t, setup, shards)),
                      "--dump " + spec);
  }
}

void write_dumps(const RunRequest& request, const Setup& setup, const DriverOutcome& outcome) {
  for (const auto& [spec, path] : request.dumps) {
    if (graph_dump_tensor(spec, setup) != nullptr) continue;  // written from the gathered shards
    const auto [tsp, name] = parse_dump_name(spec, setup.topology->tsp_count());
    for (const auto& t : outcome.local) {
      if (t.tsp != tsp) continue;
      for (const auto& o : t.result.outputs) {
        if (o.name == name) {
          write_output_file(path, std::span<const std::uint8_t>(o.bytes), "--dump " + spec);
        }
      }
    }
  }
}

// The report's "alignment" object (cycles are global, counted from reset; program cycle 0 is
// start_cycle).
Json alignment_to_json(const AlignmentResult& a) {
  return Json{{"root", a.tree.root.value},
              {"tree_height", a.tree.height},
              {"max_link_latency_cycles", a.max_link_latency_cycles},
              {"cost_cycles", a.cost_cycles},
              {"formula_cost_cycles", a.formula_cost_cycles},
              {"start_skew_cycles", a.start_skew_cycles},
              {"start_cycle", a.start_cycle},
              {"max_arrival_latency_cycles", a.max_arrival_latency_cycles}};
}

// Rank 0 only: the report, the summary and the final digest line.
int finish_on_root(const RunRequest& request, const Setup& setup, const DriverOutcome& outcome,
                   std::vector<Json> tsps, const std::string& transport_name, int ranks,
                   const std::string& partition, double wall_seconds, const CheckInput* check_input,
                   const std::vector<RankBinding>* bindings = nullptr) {
  // --check first: an extraction error ends the run before any report is written.
  std::optional<CheckResult> check;
  if (request.check) {
    TSPEMU_ASSERT(setup.compiled && check_input != nullptr, "--check without its inputs");
    if (check_input->error) throw RuntimeError(*check_input->error);
    check = check_outputs(*setup.compiled, check_input->outputs);
  }

  std::sort(tsps.begin(), tsps.end(),
            [](const Json& a, const Json& b) { return a["tsp"].get<int>() < b["tsp"].get<int>(); });
  std::vector<Digest128> digests;
  digests.reserve(tsps.size());
  for (const auto& t : tsps) digests.push_back(Digest128::from_hex(t["digest"].get<std::string>()));
  const Digest128 digest = combine_tsp_digests(digests);
  const Topology& topology = *setup.topology;
  const Cycle cycles = outcome.final_cycle + 1;
  const double clock_hz = topology.chip().clock_mhz * 1e6;
  const double emulated_seconds = static_cast<double>(cycles) / clock_hz;

  // Per-link and direction vector counts from the senders' tallies.
  std::map<std::pair<std::int64_t, std::int64_t>, std::int64_t> link_sent;  // (link, sender) -> n
  std::int64_t vectors = 0;
  std::int64_t fec_corrected = 0;
  std::int64_t int8_macs = 0;
  std::int64_t fp16_macs = 0;
  std::int64_t instructions = 0;
  for (const auto& t : tsps) {
    instructions += t["instructions"].get<std::int64_t>();
    for (const auto& lv : t["link_vectors_sent"]) {
      link_sent[{lv[0].get<std::int64_t>(), t["tsp"].get<std::int64_t>()}] +=
          lv[1].get<std::int64_t>();
    }
    vectors += t["vectors_sent"].get<std::int64_t>();
    fec_corrected += t["fec_corrected"].get<std::int64_t>();
    int8_macs += t["mxm_int8_macs"].get<std::int64_t>();
    fp16_macs += t["mxm_fp16_macs"].get<std::int64_t>();
  }
  Json links = Json::array();
  for (const auto& [key, n] : link_sent) {
    const Link& link = topology.link(LinkId{static_cast<std::int32_t>(key.first)});
    const Cycle ser = serialisation_cycles(link.params.bandwidth_gbps, topology.chip().clock_mhz,
                                           static_cast<int>(link.params.wire_bytes_per_vector));
    const auto from = key.second;
    const auto to = link.a.tsp.value == from ? link.b.tsp.value : link.a.tsp.value;
    links.push_back(
        {{"link", key.first},
         {"from_tsp", from},
         {"to_tsp", to},
         {"vectors", n},
         {"utilisation",
          cycles > 0 ? static_cast<double>(n * ser) / static_cast<double>(cycles) : 0.0}});
  }

  Json report{
      {"tool", "tspemu"},
      {"program", request.program.string()},
      {"program_digest", setup.program_digest.hex()},
      {"topology",
       {{"name", topology.name()},
        {"file", request.topology.string()},
        {"digest", topology.digest().hex()}}},
      {"tsps", topology.tsp_count()},
      {"transport", transport_name},
      {"ranks", ranks},
      {"partition", partition},
      {"seed", request.seed},
      {"timing_only", request.timing_only},
      {"cycles", cycles},
      {"final_cycle", outcome.final_cycle},
      {"emulated_seconds", emulated_seconds},
      {"wall_seconds", wall_seconds},
      // The emulation alone (the driver's run, the slowest rank's): wall_seconds less loading,
      // checking and reporting.
      {"run_seconds", outcome.run_seconds},
      {"instructions", instructions},
      {"instructions_per_second",
       wall_seconds > 0 ? static_cast<double>(instructions) / wall_seconds : 0.0},
      {"run_instructions_per_second",
       outcome.run_seconds > 0 ? static_cast<double>(instructions) / outcome.run_seconds : 0.0},
      {"emulated_cycles_per_second",
       wall_seconds > 0 ? static_cast<double>(cycles) / wall_seconds : 0.0},
      {"mxm_int8_macs", int8_macs},
      {"mxm_fp16_macs", fp16_macs},
      {"emulated_macs_per_second",
       wall_seconds > 0 ? static_cast<double>(int8_macs + fp16_macs) / wall_seconds : 0.0},
      {"window_cycles", outcome.window_cycles},
      {"windows", outcome.windows},
      {"windows_skipped", outcome.windows_skipped},
      {"agreement_epochs", request.agreement_epochs},
      {"vectors_sent", vectors},
      // Per-neighbour exchange messages over all ranks: sent, and elided because the send
      // schedule says they would be empty (net/exchange_plan.hpp).
      // rank_messages: the MPI messages that carried them between ranks (one per pair of ranks,
      // direction and window with traffic; 0 in --local).
      {"exchange_messages",
       {{"sent", outcome.transport.messages_sent},
        {"elided", outcome.transport.messages_elided},
        {"rank_messages", outcome.transport.rank_messages_sent}}},
      {"fec_corrected", fec_corrected},
      {"links", links},
      {"alignment", alignment_to_json(setup.alignment)},
      {"per_tsp", tsps},
      {"digest", digest.hex()},
  };
  if (request.shuffle_seed) report["shuffle_seed"] = *request.shuffle_seed;
  if (setup.compiled) report["predicted_cycles"] = setup.compiled->predicted_cycles;
  if (check) {
    report["check"] = {{"status", check->passed ? "passed" : "failed"}, {"shards", check->shards}};
    if (!check->passed) report["check"]["mismatch"] = check->mismatch;
    if (check->passed) {
      report["check"]["output_digest"] = check->output_digest.hex();
      Json outputs = Json::array();
      for (const auto& [name, d] : check->outputs) {
        outputs.push_back({{"name", name}, {"digest", d.hex()}});
      }
      report["check"]["outputs"] = outputs;
    }
  }
  if (bindings != nullptr) {
    report["bindings"] = *bindings;
    report["binding_summary"] = sharing_summary(*bindings);
  }
  if (request.report) write_output_file(*request.report, report.dump(2) + "\n", "--report");

  if (!request.quiet) {
    std::printf("cycles: %lld (%.3f us emulated at %.0f MHz)\n", static_cast<long long>(cycles),
                emulated_seconds * 1e6, topology.chip().clock_mhz);
    if (setup.compiled) {
      std::printf("predicted cycles: %lld\n",
                  static_cast<long long>(setup.compiled->predicted_cycles));
    }
    if (topology.tsp_count() > 1) {
      std::printf(
          "alignment: tree height %lld from TSP 0, cost %lld cycles (formula %lld), start skew "
          "%lld\n",
          static_cast<long long>(setup.alignment.tree.height),
          static_cast<long long>(setup.alignment.cost_cycles),
          static_cast<long long>(setup.alignment.formula_cost_cycles),
          static_cast<long long>(setup.alignment.start_skew_cycles));
    }
    std::printf("windows: %lld of %lld cycles (%lld skipped); vectors on links: %lld\n",
                static_cast<long long>(outcome.windows),
                static_cast<long long>(outcome.window_cycles),
                static_cast<long long>(outcome.windows_skipped), static_cast<long long>(vectors));
    std::printf(
        "wall: %.3f s (%.3g emulated cycles/s, %.3g instructions/s); emulation alone %.3f s (%.3g "
        "instructions/s)\n",
        wall_seconds, wall_seconds > 0 ? static_cast<double>(cycles) / wall_seconds : 0.0,
        wall_seconds > 0 ? static_cast<double>(instructions) / wall_seconds : 0.0,
        outcome.run_seconds,
        outcome.run_seconds > 0 ? static_cast<double>(instructions) / outcome.run_seconds : 0.0);
  }
  if (check && check->passed && !request.quiet) {
    std::printf("check: passed (%lld output shard%s bit-exact against the reference evaluator)\n",
                static_cast<long long>(check->shards), check->shards == 1 ? "" : "s");
    for (const auto& [name, d] : check->outputs) {
      std::printf("check: output '%s' digest %s\n", name.c_str(), d.hex().c_str());
    }
    std::printf("check: output digest %s (docs/graph-format.md, \"The examples\")\n",
                check->output_digest.hex().c_str());
  }
  if (check && !check->passed) {
    std::fflush(stdout);
    std::fprintf(stderr, "check: FAILED: %s\n", check->mismatch.c_str());
    std::fflush(stderr);
  }
  std::printf("digest: %s\n", digest.hex().c_str());
  std::fflush(stdout);
  return check && !check->passed ? kExitRuntimeError : kExitOk;
}

void print_error(const std::string& text) {
  write_error_line(text);
}

DriverOptions driver_options(const RunRequest& request) {
  DriverOptions options{request.seed, request.shuffle_seed, request.timing_only,
                        request.agreement_epochs};
  if (request.stats) options.stats_interval = request.stats_interval;
  if (request.trace) {
    options.trace = true;
    std::tie(options.trace_begin, options.trace_end) = trace_range(true, request.trace_cycles);
  }
  // A .tspb went through the bundle reader, which validated it; assembly did not.
  options.program_validated = request.program.extension() != ".tsa";
  return options;
}

void write_trace(const RunRequest& request, const Setup& setup, const DriverOutcome& outcome,
                 const std::vector<std::string>& parts) {
  const auto [begin, end] = trace_range(true, request.trace_cycles);
  const std::string text = write_trace_json(
      parts, *setup.topology, setup.bundle, setup.compiled ? &*setup.compiled : nullptr,
      outcome.executed_windows, outcome.window_cycles, begin, end);
  write_output_file(*request.trace, text, "--trace");
}

// Progress lines on rank 0's stderr when asked (or when it is a terminal).
std::optional<ProgressPrinter> progress_printer(const RunRequest& request, int rank) {
  std::optional<ProgressPrinter> printer;
  if (rank == 0 && request.progress.value_or(is_terminal(stderr))) printer.emplace("run", stderr);
  return printer;
}

DriverOptions driver_options_with_progress(const RunRequest& request, const Setup& setup,
                                           std::optional<ProgressPrinter>& printer) {
  DriverOptions options = driver_options(request);
  if (printer) {
    options.progress = printer->sink();
    if (setup.compiled) options.expected_cycles = setup.compiled->predicted_cycles;
  }
  return options;
}

// The run's first line, printed (and flushed) before it starts, so that a long run shows what is
// running at once (progress lines follow on stderr).
void print_run_header(const RunRequest& request, const Setup& setup, const char* transport,
                      int ranks) {
  if (request.quiet) return;
  const Topology& topology = *setup.topology;
  std::printf("tspemu run: %s on topology '%s' (%zu TSP%s), %s transport, %d rank%s\n",
              request.program.string().c_str(), topology.name().c_str(), topology.tsp_count(),
              topology.tsp_count() == 1 ? "" : "s", transport, ranks, ranks == 1 ? "" : "s");
  std::fflush(stdout);
}

int run_local(const RunRequest& request) {
  const auto start = std::chrono::steady_clock::now();
  const Setup setup = load_setup(request);
  print_run_header(request, setup, "local", 1);
  ensure_kokkos_initialized();
  LocalTransport transport(network_layout_of(*setup.topology));
  auto printer = progress_printer(request, 0);
  RunDriver driver(*setup.topology, setup.chip, setup.bundle, transport,
                   driver_options_with_progress(request, setup, printer));
  const DriverOutcome outcome = driver.run();
  write_dumps(request, setup, outcome);
  if (has_graph_dumps(request, setup)) {
    write_graph_dumps(request, setup, extract_local_outputs(setup, outcome));
  }
  if (request.trace) write_trace(request, setup, outcome, {encode_trace_part(outcome)});
  if (request.stats) {
    write_output_file(*request.stats,
                      write_interval_stats_csv({encode_interval_stats(outcome, *setup.topology,
                                                                      request.stats_interval)}),
                      "--stats");
  }
  std::vector<Json> tsps;
  for (const auto& t : outcome.local) tsps.push_back(outcome_to_json(t));
  CheckInput check;
  if (request.check) check.outputs = extract_local_outputs(setup, outcome);
  const double wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return finish_on_root(request, setup, outcome, std::move(tsps), "local", 1,
                        fmt::format("{} TSPs in one process", setup.topology->tsp_count()), wall,
                        &check);
}

// The watch on MPI_Init and MPI_Finalize: at least 10 s, because under oversubscription start-up
// alone can take seconds, and such a watch cannot tell a slow rank from a stopped one.
double blocking_call_seconds(const RunRequest& request) {
  return request.watchdog_seconds > 0 ? std::max(request.watchdog_seconds, 10.0) : 0.0;
}

int run_mpi(const RunRequest& request, int argc, char** argv) {
  const auto fault = injected_fault_from_environment();
  reach_fault_point(fault, FaultPhase::init);
  {
    const BlockingCallWatch watch("MPI_Init_thread", blocking_call_seconds(request));
    int provided = 0;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
  }
  const auto start = std::chrono::steady_clock::now();
  // Every wait from here on is watched (net/watched_comm.hpp).
  auto comm = std::make_unique<WatchedComm>(MPI_COMM_WORLD, request.watchdog_seconds);
  const int rank = comm->rank();
  const int size = comm->size();
  if (size > 1) set_log_rank(rank);
  auto finalize = [&](int code) {
    // MPI_Finalize waits for every rank but cannot be polled: a watched barrier first names a rank
    // that will not arrive; the watch on MPI_Finalize itself is the last resort.
    (void)comm->allreduce_max(0, "the barrier before MPI_Finalize");
    reach_fault_point(fault, FaultPhase::finalize);
    comm.reset();
    const BlockingCallWatch watch("MPI_Finalize", blocking_call_seconds(request));
    MPI_Finalize();
    return code;
  };

  // Collective setup: every rank loads the same inputs; the lowest failing rank speaks.
  Setup setup;
  RankPartition partition;
  int code = kExitOk;
  std::string message;
  try {
    if (auto hint = launcher_mismatch_hint(size)) throw InputError(*hint);
    setup = load_setup(request);
    partition = partition_tsps(*setup.topology, size, request.tsps_per_rank);
  } catch (const Error& e) {
    code = e.exit_code();
    message = e.what();
  } catch (const std::bad_alloc&) {
    code = kExitRuntimeError;
    message = out_of_memory_message();
  } catch (const std::exception& e) {
    code = kExitRuntimeError;
    message = fmt::format("internal error: {} (this is a tspemu bug)", e.what());
  }
  reach_fault_point(fault, FaultPhase::setup);
  const std::int64_t first_failing = comm->allreduce_min(
      code != kExitOk ? rank : INT_MAX, "the start-up agreement that every rank loaded its inputs");
  if (first_failing != INT_MAX) {
    if (rank == first_failing) print_error(message);
    const auto exit_code =
        static_cast<int>(comm->allreduce_max(code, "the start-up agreement on the exit code"));
    return finalize(exit_code);
  }

  DriverOutcome outcome;
  std::vector<Json> tsps;
  CheckInput check;
  std::vector<RankBinding> bindings;
  std::unique_ptr<MpiTransport> transport;
  int agreed_error = kExitOk;
  try {
    // Where every rank runs (hwloc): pin first if asked, then record it for the report and header.
    reach_fault_point(fault, FaultPhase::bind);
    bindings = exchange_bindings(*comm);
    const BindPolicy policy = parse_bind_policy(request.bind);
    if (policy != BindPolicy::none) {
      bind_to_core(policy, bindings[static_cast<std::size_t>(rank)].local_rank);
      bindings = exchange_bindings(*comm);
    }
    if (rank == 0) print_run_header(request, setup, "mpi", size);
    if (rank == 0 && !request.quiet) {
      std::printf("partition: %s\n", describe_partition(partition, size).c_str());
      std::printf("binding: %s\n", sharing_summary(bindings).c_str());
      if (request.report_binding) {
        for (const auto& b : bindings) std::printf("  %s\n", describe_binding(b).c_str());
      }
      std::fflush(stdout);
    }

    ensure_kokkos_initialized();
    transport =
        std::make_unique<MpiTransport>(*comm, network_layout_of(*setup.topology),
                                       MpiTransportOptions{.rank_of_tsp = partition.rank_of_tsp});
    reach_fault_point(fault, FaultPhase::run);
    auto printer = progress_printer(request, rank);
    RunDriver driver(*setup.topology, setup.chip, setup.bundle, *transport,
                     driver_options_with_progress(request, setup, printer));
    outcome = driver.run();
    reach_fault_point(fault, FaultPhase::gather);
    // The exchange counters are per rank; the report gives the job's totals.
    const auto messages =
        comm->allreduce_sum({outcome.transport.messages_sent, outcome.transport.messages_elided,
                             outcome.transport.rank_messages_sent},
                            "the sum of the exchange counters");
    outcome.transport.messages_sent = messages[0];
    outcome.transport.messages_elided = messages[1];
    outcome.transport.rank_messages_sent = messages[2];
    outcome.run_seconds =
        static_cast<double>(comm->allreduce_max(
            static_cast<std::int64_t>(outcome.run_seconds * 1e6), "the slowest rank's run time")) /
        1e6;
    write_dumps(request, setup, outcome);
    if (request.trace) {
      // Every rank's slices to rank 0, which writes the same file as --local.
      const std::vector<std::string> parts =
          comm->gather(encode_trace_part(outcome), "the gather of the trace");
      if (rank == 0) write_trace(request, setup, outcome, parts);
    }
    if (request.stats) {
      const std::vector<std::string> parts =
          comm->gather(encode_interval_stats(outcome, *setup.topology, request.stats_interval),
                       "the gather of the interval statistics");
      if (rank == 0) {
        write_output_file(*request.stats, write_interval_stats_csv(parts), "--stats");
      }
    }
    std::vector<Json> mine;
    for (const auto& t : outcome.local) mine.push_back(outcome_to_json(t));
    tsps = gather_outcomes(*comm, mine);
    if (request.check || has_graph_dumps(request, setup)) {
      // Never throws between here and the gather: every rank reaches it.
      CheckInput part;
      try {
        part.outputs = extract_local_outputs(setup, outcome);
      } catch (const Error& e) {
        part.outputs.clear();
        part.error = e.what();
      }
      const std::vector<std::string> parts = comm->gather(
          encode_check_part(part), "the gather of the output shards for --check and --dump");
      if (rank == 0) {
        check = merge_check_parts(parts);
        if (has_graph_dumps(request, setup)) {
          if (check.error) throw RuntimeError(*check.error);
          write_graph_dumps(request, setup, check.outputs);
        }
      }
    }
  } catch (const AgreedScheduleError& e) {
    // Every rank raised it in the same agreement: rank 0 speaks, every rank finalises.
    if (rank == 0) print_error(e.what());
    agreed_error = e.exit_code();
  } catch (const Error& e) {
    abort_job(e, MPI_COMM_WORLD);
  } catch (const std::bad_alloc&) {
    abort_job(RuntimeError(out_of_memory_message()), MPI_COMM_WORLD);
  } catch (const std::exception& e) {
    abort_job(Error(ErrorKind::internal,
                    fmt::format("internal error: {} (this is a tspemu bug)", e.what())),
              MPI_COMM_WORLD);
  }
  int result = agreed_error;
  if (rank == 0 && agreed_error == kExitOk) {
    // The reference evaluation of --check and the report can take a while: rank 0 keeps answering
    // the others' status queries meanwhile, so their watchdog sees it alive.
    const double wall =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    result = comm->busy("checking the outputs and writing the report", [&] {
      try {
        return finish_on_root(request, setup, outcome, std::move(tsps), "mpi", size,
                              describe_partition(partition, size), wall, &check, &bindings);
      } catch (const Error& e) {
        print_error(e.what());
        return e.exit_code();
      }
    });
  }
  reach_fault_point(fault, FaultPhase::result);
  result = std::stoi(comm->broadcast(std::to_string(result), "the broadcast of the exit code"));
  transport.reset();
  return finalize(result);
}

}  // namespace

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

std::vector<EmulatedOutput> extract_tsp_outputs(const CompiledGraph& record, TspId tsp,
                                                std::span<const OutputData> outputs) {
  std::vector<OutputSegmentView> views;
  views.reserve(outputs.size());
  for (const auto& o : outputs) {
    views.push_back(OutputSegmentView{o.name, o.dtype, o.rows, o.columns, o.bytes});
  }
  std::vector<EmulatedOutput> out;
  for (const auto& layout : record.outputs) {
    if (layout.tsp == tsp) out.push_back(extract_output(layout, views));
  }
  return out;
}

CheckResult check_outputs(const CompiledGraph& record, std::span<const EmulatedOutput> got) {
  require_memory(
      graph_tensor_bytes(record.graph, false),
      fmt::format("--check: evaluating graph '{}' (every tensor on every TSP)", record.graph.name));
  const EvalResult expected = evaluate(record.graph);
  CheckResult result;
  for (const auto& v : expected.outputs)
    result.shards += static_cast<std::int64_t>(v.shards.size());
  const auto mismatch = compare_outputs(expected, got);
  result.passed = !mismatch;
  if (mismatch) {
    result.mismatch = mismatch->message;
    return result;
  }
  // The digests of what the run produced: the expected values' structure with the emulated bytes
  // (equal to the expected ones here, but taken from the run).
  EvalResult emulated = expected;
  for (TensorValue& v : emulated.outputs) {
    for (Shard& shard : v.shards) {
      for (const EmulatedOutput& o : got) {
        if (o.name == v.name && o.tsp == shard.tsp) shard.bytes = o.bytes;
      }
    }
  }
  result.output_digest = emulated.digest();
  for (const TensorValue& v : emulated.outputs) {
    EvalResult one;
    one.outputs.push_back(v);
    result.outputs.emplace_back(v.name, one.digest());
  }
  return result;
}

int run_main(const RunRequest& request, int argc, char** argv) {
  try {
    if (!request.local) {
      // A bare `srun` without PMIx cannot start an MPI job with this Open MPI: say why before
      // MPI_Init fails obscurely.
      if (auto hint = launcher_mismatch_hint_before_init()) throw InputError(*hint);
    }
    if (request.local || !launched_by_mpi()) {
      if (!request.local) {
        // Not under a launcher: fine for one TSP; a bigger machine needs mpirun or --local.
        const Topology topology = load_topology(request.topology);
        if (topology.tsp_count() != 1) {
          throw InputError(fmt::format(
              "topology '{}' has {} TSPs: run it under `mpirun -n R` (R ranks of up to {} TSPs "
              "each) or pass --local to emulate every TSP in this process",
              topology.name(), topology.tsp_count(), topology.tsp_count()));
        }
      }
      return run_local(request);
    }
    return run_mpi(request, argc, argv);
  } catch (const Error& e) {
    print_error(e.what());
    return e.exit_code();
  } catch (const std::bad_alloc&) {
    print_error(out_of_memory_message());
    return kExitRuntimeError;
  } catch (const std::exception& e) {
    print_error(fmt::format("internal error: {} (this is a tspemu bug)", e.what()));
    return kExitRuntimeError;
  }
}

}  // namespace tspemu
