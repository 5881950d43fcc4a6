#include "runtime/run.hpp"

#include <fmt/format.h>
#include <mpi.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <map>

#include "chip/kokkos_session.hpp"
#include "common/atomic_file.hpp"
#include "common/error.hpp"
#include "common/log.hpp"
#include "net/link_model.hpp"
#include "net/local_transport.hpp"
#include "net/mpi_transport.hpp"
#include "runtime/binding.hpp"
#include "runtime/driver.hpp"
#include "runtime/program_source.hpp"
#include "topo/loader.hpp"

namespace tspemu {
namespace {

using Json = nlohmann::json;

struct Setup {
  std::optional<Topology> topology;
  ChipConfig chip;
  Bundle bundle;
  AlignmentResult alignment;  // initial program alignment: program cycle 0 = its start_cycle
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

void check_dumps(const RunRequest& request, const Setup& setup) {
  for (const auto& [spec, path] : request.dumps) {
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
  Setup setup;
  setup.topology.emplace(load_topology(request.topology));
  setup.chip = chip_config_from_params(setup.topology->chip());
  setup.bundle = load_program_for(request.program, *setup.topology, setup.chip.shape);
  check_dumps(request, setup);
  if (request.agreement_epochs < 1) {
    throw InputError(fmt::format("--agree-epochs {} must be at least 1", request.agreement_epochs));
  }
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
  for (std::size_t l = 0; l < t.link_vectors.size(); ++l) {
    if (t.link_vectors[l] != 0) links.push_back({l, t.link_vectors[l]});
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
std::vector<Json> gather_outcomes(MPI_Comm comm, const std::vector<Json>& mine) {
  int rank = 0;
  int size = 1;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  const std::string text = Json(mine).dump();
  int length = static_cast<int>(text.size());
  std::vector<int> lengths(static_cast<std::size_t>(size));
  MPI_Gather(&length, 1, MPI_INT, lengths.data(), 1, MPI_INT, 0, comm);
  std::vector<int> offsets(static_cast<std::size_t>(size), 0);
  std::string all;
  if (rank == 0) {
    int total = 0;
    for (int r = 0; r < size; ++r) {
      offsets[static_cast<std::size_t>(r)] = total;
      total += lengths[static_cast<std::size_t>(r)];
    }
    all.resize(static_cast<std::size_t>(total));
  }
  MPI_Gatherv(text.data(), length, MPI_CHAR, all.data(), lengths.data(), offsets.data(), MPI_CHAR,
              0, comm);
  std::vector<Json> out;
  if (rank == 0) {
    for (int r = 0; r < size; ++r) {
      const Json part =
          Json::parse(all.substr(static_cast<std::size_t>(offsets[static_cast<std::size_t>(r)]),
                                 static_cast<std::size_t>(lengths[static_cast<std::size_t>(r)])));
      for (const auto& t : part) out.push_back(t);
    }
  }
  return out;
}

void write_dumps(const RunRequest& request, const Setup& setup, const DriverOutcome& outcome) {
  for (const auto& [spec, path] : request.dumps) {
    const auto [tsp, name] = parse_dump_name(spec, setup.topology->tsp_count());
    for (const auto& t : outcome.local) {
      if (t.tsp != tsp) continue;
      for (const auto& o : t.result.outputs) {
        if (o.name == name) write_file_atomically(path, std::span<const std::uint8_t>(o.bytes));
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
                   double wall_seconds, const std::vector<RankBinding>* bindings = nullptr) {
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
  for (const auto& t : tsps) {
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
      {"topology",
       {{"name", topology.name()},
        {"file", request.topology.string()},
        {"digest", topology.digest().hex()}}},
      {"tsps", topology.tsp_count()},
      {"transport", transport_name},
      {"ranks", ranks},
      {"seed", request.seed},
      {"timing_only", request.timing_only},
      {"cycles", cycles},
      {"final_cycle", outcome.final_cycle},
      {"emulated_seconds", emulated_seconds},
      {"wall_seconds", wall_seconds},
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
      {"fec_corrected", fec_corrected},
      {"links", links},
      {"alignment", alignment_to_json(setup.alignment)},
      {"per_tsp", tsps},
      {"digest", digest.hex()},
  };
  if (request.shuffle_seed) report["shuffle_seed"] = *request.shuffle_seed;
  if (bindings != nullptr) {
    report["bindings"] = *bindings;
    report["binding_summary"] = sharing_summary(*bindings);
  }
  if (request.report) write_file_atomically(*request.report, report.dump(2) + "\n");

  if (!request.quiet) {
    std::printf("tspemu run: %s on topology '%s' (%zu TSP%s), %s transport, %d rank%s\n",
                request.program.string().c_str(), topology.name().c_str(), topology.tsp_count(),
                topology.tsp_count() == 1 ? "" : "s", transport_name.c_str(), ranks,
                ranks == 1 ? "" : "s");
    std::printf("cycles: %lld (%.3f us emulated at %.0f MHz)\n", static_cast<long long>(cycles),
                emulated_seconds * 1e6, topology.chip().clock_mhz);
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
    std::printf("wall: %.3f s (%.3g emulated cycles/s)\n", wall_seconds,
                wall_seconds > 0 ? static_cast<double>(cycles) / wall_seconds : 0.0);
  }
  std::printf("digest: %s\n", digest.hex().c_str());
  std::fflush(stdout);
  return kExitOk;
}

void print_error(const std::string& text) {
  std::fprintf(stderr, "tspemu: error: %s\n", text.c_str());
  std::fflush(stderr);
}

int run_local(const RunRequest& request) {
  const auto start = std::chrono::steady_clock::now();
  const Setup setup = load_setup(request);
  ensure_kokkos_initialized();
  LocalTransport transport(network_layout_of(*setup.topology));
  RunDriver driver(*setup.topology, setup.chip, setup.bundle, transport,
                   DriverOptions{request.seed, request.shuffle_seed, request.timing_only,
                                 request.agreement_epochs});
  const DriverOutcome outcome = driver.run();
  write_dumps(request, setup, outcome);
  std::vector<Json> tsps;
  for (const auto& t : outcome.local) tsps.push_back(outcome_to_json(t));
  const double wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return finish_on_root(request, setup, outcome, std::move(tsps), "local", 1, wall);
}

int run_mpi(const RunRequest& request, int argc, char** argv) {
  int provided = 0;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
  const auto start = std::chrono::steady_clock::now();
  int rank = 0;
  int size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  if (size > 1) set_log_rank(rank);

  // Collective setup: every rank loads the same inputs; the lowest failing rank speaks.
  Setup setup;
  int code = kExitOk;
  std::string message;
  try {
    if (auto hint = launcher_mismatch_hint(size)) throw InputError(*hint);
    setup = load_setup(request);
    (void)parse_bind_policy(request.bind);
    if (auto problem =
            rank_count_problem(size, static_cast<std::int64_t>(setup.topology->tsp_count()))) {
      throw InputError(*problem);
    }
  } catch (const Error& e) {
    code = e.exit_code();
    message = e.what();
  } catch (const std::exception& e) {
    code = kExitRuntimeError;
    message = fmt::format("internal error: {} (this is a tspemu bug)", e.what());
  }
  int failing = code != kExitOk ? rank : INT_MAX;
  int first_failing = INT_MAX;
  MPI_Allreduce(&failing, &first_failing, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
  if (first_failing != INT_MAX) {
    if (rank == first_failing) print_error(message);
    int exit_code = code;
    MPI_Allreduce(&code, &exit_code, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    MPI_Finalize();
    return exit_code;
  }

  // Where every rank runs (hwloc): pin first if asked, then record it for the report and header.
  std::vector<RankBinding> bindings;
  {
    const BindPolicy policy = parse_bind_policy(request.bind);
    RankBinding mine = query_binding(MPI_COMM_WORLD);
    if (policy != BindPolicy::none) {
      bind_to_core(policy, mine.local_rank);
      mine = query_binding(MPI_COMM_WORLD);
    }
    bindings = gather_bindings(MPI_COMM_WORLD, mine, 0);
    if (rank == 0 && !request.quiet) {
      std::printf("binding: %s\n", sharing_summary(bindings).c_str());
      if (request.report_binding) {
        for (const auto& b : bindings) std::printf("  %s\n", describe_binding(b).c_str());
      }
      std::fflush(stdout);
    }
  }

  ensure_kokkos_initialized();
  std::unique_ptr<MpiTransport> transport;
  try {
    MpiTransportOptions options;
    options.watchdog_seconds = request.watchdog_seconds;
    transport =
        std::make_unique<MpiTransport>(MPI_COMM_WORLD, network_layout_of(*setup.topology), options);
  } catch (const Error& e) {
    print_error(e.what());
    MPI_Abort(MPI_COMM_WORLD, e.exit_code());
  }
  DriverOutcome outcome;
  std::vector<Json> tsps;
  int agreed_error = kExitOk;
  try {
    RunDriver driver(*setup.topology, setup.chip, setup.bundle, *transport,
                     DriverOptions{request.seed, request.shuffle_seed, request.timing_only,
                                   request.agreement_epochs});
    outcome = driver.run();
    write_dumps(request, setup, outcome);
    std::vector<Json> mine;
    for (const auto& t : outcome.local) mine.push_back(outcome_to_json(t));
    tsps = gather_outcomes(transport->comm(), mine);
  } catch (const AgreedScheduleError& e) {
    // Every rank raised it in the same agreement: rank 0 speaks, every rank finalises.
    if (rank == 0) print_error(e.what());
    agreed_error = e.exit_code();
  } catch (const Error& e) {
    transport->abort(e);
  } catch (const std::exception& e) {
    transport->abort(Error(ErrorKind::internal,
                           fmt::format("internal error: {} (this is a tspemu bug)", e.what())));
  }
  int result = agreed_error;
  if (rank == 0 && agreed_error == kExitOk) {
    const double wall =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    try {
      result =
          finish_on_root(request, setup, outcome, std::move(tsps), "mpi", size, wall, &bindings);
    } catch (const Error& e) {
      print_error(e.what());
      result = e.exit_code();
    }
  }
  MPI_Bcast(&result, 1, MPI_INT, 0, MPI_COMM_WORLD);
  transport.reset();
  MPI_Finalize();
  return result;
}

}  // namespace

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
              "topology '{}' has {} TSPs: run it under `mpirun -n {}` (one rank per TSP) or pass "
              "--local to emulate every TSP in this process",
              topology.name(), topology.tsp_count(), topology.tsp_count()));
        }
      }
      return run_local(request);
    }
    return run_mpi(request, argc, argv);
  } catch (const Error& e) {
    print_error(e.what());
    return e.exit_code();
  } catch (const std::exception& e) {
    print_error(fmt::format("internal error: {} (this is a tspemu bug)", e.what()));
    return kExitRuntimeError;
  }
}

}  // namespace tspemu
