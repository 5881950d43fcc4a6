// `tspemu run`: the --local and MPI runs (runtime/run.hpp); inputs in run_setup.cpp, outputs and
// --check in run_outputs.cpp, the report in run_report.cpp.
#include "runtime/run.hpp"

#include <fmt/format.h>
#include <mpi.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <climits>
#include <cstdlib>
#include <memory>
#include <string_view>

#include "chip/kokkos_session.hpp"
#include "common/error.hpp"
#include "common/output_file.hpp"
#include "net/local_transport.hpp"
#include "net/mpi_transport.hpp"
#include "net/watched_comm.hpp"
#include "runtime/binding.hpp"
#include "runtime/driver.hpp"
#include "runtime/fault_injection.hpp"
#include "runtime/interval_stats.hpp"
#include "runtime/rank_partition.hpp"
#include "runtime/run_parts.hpp"
#include "runtime/trace.hpp"
#include "topo/loader.hpp"

namespace tspemu {
namespace {

using detail::CheckInput;
using detail::RunSetup;

// True when an MPI launcher (mpirun, srun --mpi=pmix) started this process.
bool launched_by_mpi() {
  for (const char* var : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE"}) {
    if (std::getenv(var) != nullptr) return true;
  }
  return false;
}

// Rank 0 gets every rank's TSP records, others get nothing.
std::vector<detail::TspRecord> gather_records(WatchedComm& comm,
                                              const std::vector<detail::TspRecord>& mine) {
  std::vector<detail::TspRecord> out;
  for (const std::string& part :
       comm.gather(detail::encode_tsp_records(mine), "the gather of the TSP results")) {
    detail::decode_tsp_records(part, out);
  }
  return out;
}

// The driver's options; the progress sink only where the observer listens (rank 0).
DriverOptions driver_options(const RunRequest& request, const RunSetup& setup,
                             ProgressSink progress) {
  DriverOptions options{request.seed, request.shuffle_seed, request.timing_only,
                        request.agreement_epochs};
  if (request.stats) options.stats_interval = request.stats_interval;
  if (request.trace) {
    options.trace = true;
    std::tie(options.trace_begin, options.trace_end) = trace_range(true, request.trace_cycles);
  }
  // A .tspb went through the bundle reader, which validated it; assembly did not.
  options.program_validated = request.program.extension() != ".tsa";
  options.time_base = &setup.time_base;
  if (progress) {
    options.progress = std::move(progress);
    if (setup.compiled) options.expected_cycles = setup.compiled->predicted_cycles;
  }
  return options;
}

// The checkpoint plan of one attempt (the replays before it go into its manifests), and where the
// first attempt of a restarted run resumes. `plan` must outlive the driver.
void wire_checkpoints(const RunSetup& setup, std::int64_t attempt,
                      const std::vector<ReplayRecord>& replays, const RunRequest& request,
                      CheckpointPlan& plan, DriverOptions& options) {
  options.attempt = attempt;
  if (setup.checkpoint) {
    plan = *setup.checkpoint;
    plan.replays = replays;
    options.checkpoint = &plan;
  }
  if (setup.resume && attempt == setup.resume->attempt) {
    options.resume = &*setup.resume;
    options.resume_directory = *request.restart;
  }
}

// The attempt a run starts with: a restarted run's, or the first.
std::int64_t first_attempt(const RunSetup& setup) {
  return setup.resume ? setup.resume->attempt : 0;
}

// What a run keeps across its replay attempts: the attempts discarded (a restarted run's earlier
// ones first), the checkpoints written, and the one the first attempt resumed from.
struct AttemptHistory {
  std::vector<ReplayRecord> replays;
  std::vector<CheckpointRecord> checkpoints;
  std::optional<CheckpointRecord> restarted_from;

  explicit AttemptHistory(const RunSetup& setup)
      : replays(setup.resume ? setup.resume->replays : std::vector<ReplayRecord>{}) {}
  void add(const DriverOutcome& attempt) {
    checkpoints.insert(checkpoints.end(), attempt.checkpoints.begin(), attempt.checkpoints.end());
    if (attempt.restarted_from) restarted_from = attempt.restarted_from;
  }
  // Into the final attempt's outcome, for the report.
  void move_into(DriverOutcome& outcome) {
    outcome.replays = std::move(replays);
    outcome.checkpoints = std::move(checkpoints);
    outcome.restarted_from = std::move(restarted_from);
  }
};

void write_trace(const RunRequest& request, const RunSetup& setup, const DriverOutcome& outcome,
                 const std::vector<std::string>& parts) {
  const auto [begin, end] = trace_range(true, request.trace_cycles);
  const std::string text = write_trace_json(
      parts, *setup.topology, setup.bundle, setup.compiled ? &*setup.compiled : nullptr,
      outcome.executed_windows, outcome.window_cycles, begin, end);
  write_output_file(*request.trace, text, "--trace");
}

RunStart run_start(const RunRequest& request, const RunSetup& setup, std::string transport,
                   int ranks, std::string partition) {
  RunStart start;
  start.program = request.program.string();
  start.topology_name = setup.topology->name();
  start.tsps = setup.topology->tsp_count();
  start.transport = std::move(transport);
  start.ranks = ranks;
  start.partition = std::move(partition);
  return start;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

RunMode choose_run_mode(const RunRequest& request) {
  if (request.local) return RunMode::local;
  // A bare `srun` without PMIx cannot start an MPI job with this Open MPI: say why before
  // MPI_Init fails obscurely.
  if (auto hint = launcher_mismatch_hint_before_init()) throw InputError(*hint);
  if (launched_by_mpi()) return RunMode::mpi;
  // Not under a launcher: fine for one TSP; a bigger machine needs mpirun or --local.
  const Topology topology = load_topology(request.topology);
  if (topology.tsp_count() != 1) {
    throw InputError(fmt::format(
        "topology '{}' has {} TSPs: run it under `mpirun -n R` (R ranks of up to {} TSPs each) or "
        "pass --local to emulate every TSP in this process",
        topology.name(), topology.tsp_count(), topology.tsp_count()));
  }
  return RunMode::local;
}

// This process's vectors flagged uncorrectable in attempt `attempt`: how many, and its lowest TSP's
// first.
ReplayRecord flagged_vectors(const DriverOutcome& outcome, std::int64_t attempt) {
  ReplayRecord flagged{.attempt = attempt};
  for (const TspOutcome& t : outcome.local) {
    if (t.fec_uncorrectable > 0 && flagged.first.empty()) {
      flagged.first = fmt::format("TSP {}: {}", t.tsp.value, t.first_uncorrectable);
    }
    flagged.uncorrectable_vectors += t.fec_uncorrectable;
  }
  return flagged;
}

// An attempt with uncorrectable vectors is replayed unless it was the last one allowed. Every rank
// of an MPI job decides alike (the count is agreed); rank 0's message names the vector.
void check_replay_limit(const RunRequest& request, const ReplayRecord& flagged) {
  if (flagged.attempt < request.max_replays) return;
  throw AgreedScheduleError(fmt::format(
      "uncorrectable bit errors in attempt {} of {} ({} vector{}; first: {}): the inference was "
      "replayed {} time{} (--max-replays) and never ran clean",
      flagged.attempt + 1, request.max_replays + 1, flagged.uncorrectable_vectors,
      flagged.uncorrectable_vectors == 1 ? "" : "s", flagged.first, request.max_replays,
      request.max_replays == 1 ? "" : "s"));
}

RunCompletion run_local(const RunRequest& request, RunObserver& observer) {
  const auto fault = injected_fault_from_environment();
  const auto start = std::chrono::steady_clock::now();
  const RunSetup setup = detail::load_run_setup(request);
  RunStart what = run_start(request, setup, "local", 1,
                            fmt::format("{} TSPs in one process", setup.topology->tsp_count()));
  observer.started(what);
  ensure_kokkos_initialized();
  if (request.checkpoint_dir) install_checkpoint_signals();
  DriverOutcome outcome;
  AttemptHistory history(setup);
  for (std::int64_t attempt = first_attempt(setup);; ++attempt) {
    LocalTransport transport(network_layout_of(*setup.topology));
    DriverOptions options = driver_options(request, setup, observer.progress());
    CheckpointPlan plan;
    wire_checkpoints(setup, attempt, history.replays, request, plan, options);
    options.before_window = window_fault_hook(fault);
    RunDriver driver(*setup.topology, setup.chip, setup.bundle, transport, options);
    outcome = driver.run();
    history.add(outcome);
    if (outcome.stopped) {
      return RunCompletion{.exit_code = kExitStopped, .stopped = outcome.stopped};
    }
    ReplayRecord flagged = flagged_vectors(outcome, attempt);
    if (flagged.uncorrectable_vectors == 0) break;
    check_replay_limit(request, flagged);
    history.replays.push_back(std::move(flagged));
  }
  history.move_into(outcome);
  detail::write_dumps(request, setup, outcome);
  if (detail::has_graph_dumps(request, setup)) {
    detail::write_graph_dumps(request, setup, detail::extract_local_outputs(setup, outcome));
  }
  if (request.trace) write_trace(request, setup, outcome, {encode_trace_part(outcome)});
  if (request.stats) {
    write_output_file(*request.stats,
                      write_interval_stats_csv({encode_interval_stats(outcome, *setup.topology,
                                                                      request.stats_interval)}),
                      "--stats");
  }
  std::vector<detail::TspRecord> tsps;
  for (const auto& t : outcome.local) tsps.push_back(detail::tsp_record(t));
  CheckInput check;
  if (request.check) check.outputs = detail::extract_local_outputs(setup, outcome);
  RunCompletion result;
  result.summary = detail::finish_run(request, setup, outcome, std::move(tsps), std::move(what),
                                      seconds_since(start), &check);
  if (result.summary->check && !result.summary->check->passed) result.exit_code = kExitRuntimeError;
  return result;
}

RunCompletion run_mpi(const RunRequest& request, WatchedComm& comm, RunObserver& observer) {
  const auto fault = injected_fault_from_environment();
  const auto start = std::chrono::steady_clock::now();
  const int rank = comm.rank();
  const int size = comm.size();

  // Collective setup: every rank loads the same inputs; the lowest failing rank speaks.
  RunSetup setup;
  RankPartition partition;
  int code = kExitOk;
  std::string message;
  try {
    if (auto hint = launcher_mismatch_hint(size)) throw InputError(*hint);
    setup = detail::load_run_setup(request);
    partition = partition_tsps(*setup.topology, size, request.tsps_per_rank);
  } catch (const std::exception& e) {
    const ErrorReport report = report_exception(e);
    code = report.exit_code;
    message = report.message;
  }
  reach_fault_point(fault, FaultPhase::setup);
  const std::int64_t first_failing = comm.allreduce_min(
      code != kExitOk ? rank : INT_MAX, "the start-up agreement that every rank loaded its inputs");
  RunCompletion result;
  if (first_failing != INT_MAX) {
    if (rank == first_failing) result.error = message;
    result.exit_code =
        static_cast<int>(comm.allreduce_max(code, "the start-up agreement on the exit code"));
    return result;
  }

  DriverOutcome outcome;
  std::vector<detail::TspRecord> tsps;
  CheckInput check;
  RunStart what;
  std::unique_ptr<MpiTransport> transport;
  try {
    // Where every rank runs (hwloc): pin first if asked, then record it for the report and header.
    reach_fault_point(fault, FaultPhase::bind);
    std::vector<RankBinding> bindings = exchange_bindings(comm);
    const BindPolicy policy = parse_bind_policy(request.bind);
    if (policy != BindPolicy::none) {
      bind_to_core(policy, bindings[static_cast<std::size_t>(rank)].local_rank);
      bindings = exchange_bindings(comm);
    }
    what = run_start(request, setup, "mpi", size, describe_partition(partition, size));
    what.bindings = std::move(bindings);
    ProgressSink progress;
    if (rank == 0) {
      observer.started(what);
      progress = observer.progress();
    }

    ensure_kokkos_initialized();
    if (request.checkpoint_dir) install_checkpoint_signals();
    reach_fault_point(fault, FaultPhase::run);
    AttemptHistory history(setup);
    for (std::int64_t attempt = first_attempt(setup);; ++attempt) {
      transport = std::make_unique<MpiTransport>(
          comm, network_layout_of(*setup.topology),
          MpiTransportOptions{.rank_of_tsp = partition.rank_of_tsp,
                              .corrupt_window = corrupt_window_of_this_rank(fault)});
      DriverOptions options = driver_options(request, setup, progress);
      CheckpointPlan plan;
      wire_checkpoints(setup, attempt, history.replays, request, plan, options);
      options.before_window = window_fault_hook(fault);
      RunDriver driver(*setup.topology, setup.chip, setup.bundle, *transport, options);
      outcome = driver.run();
      history.add(outcome);
      if (outcome.stopped) break;  // every rank alike: the stop was agreed
      // Replay? Every rank learns the job's count; rank 0 the first vector (lowest TSP).
      ReplayRecord flagged = flagged_vectors(outcome, attempt);
      flagged.uncorrectable_vectors = comm.allreduce_sum(
          {flagged.uncorrectable_vectors}, "the count of uncorrectable vectors (replay or not)")[0];
      if (flagged.uncorrectable_vectors == 0) break;
      const std::vector<std::string> firsts =
          comm.gather(flagged.first, "the gather of the first uncorrectable vector of every rank");
      for (const std::string& f : firsts) {
        if (!f.empty()) {
          flagged.first = f;  // ranks hold ascending TSP blocks: the first non-empty is lowest
          break;
        }
      }
      check_replay_limit(request, flagged);
      history.replays.push_back(std::move(flagged));
    }
    if (outcome.stopped) {
      result.exit_code = kExitStopped;
      if (rank == 0) result.stopped = outcome.stopped;
      transport.reset();
      return result;
    }
    history.move_into(outcome);
    reach_fault_point(fault, FaultPhase::gather);
    // The exchange counters are per rank; the report gives the job's totals.
    const auto messages =
        comm.allreduce_sum({outcome.transport.messages_sent, outcome.transport.messages_elided,
                            outcome.transport.rank_messages_sent},
                           "the sum of the exchange counters");
    outcome.transport.messages_sent = messages[0];
    outcome.transport.messages_elided = messages[1];
    outcome.transport.rank_messages_sent = messages[2];
    outcome.run_seconds =
        static_cast<double>(comm.allreduce_max(static_cast<std::int64_t>(outcome.run_seconds * 1e6),
                                               "the slowest rank's run time")) /
        1e6;
    detail::write_dumps(request, setup, outcome);
    if (request.trace) {
      // Every rank's slices to rank 0, which writes the same file as --local.
      const std::vector<std::string> parts =
          comm.gather(encode_trace_part(outcome), "the gather of the trace");
      if (rank == 0) write_trace(request, setup, outcome, parts);
    }
    if (request.stats) {
      const std::vector<std::string> parts =
          comm.gather(encode_interval_stats(outcome, *setup.topology, request.stats_interval),
                      "the gather of the interval statistics");
      if (rank == 0) {
        write_output_file(*request.stats, write_interval_stats_csv(parts), "--stats");
      }
    }
    std::vector<detail::TspRecord> mine;
    for (const auto& t : outcome.local) mine.push_back(detail::tsp_record(t));
    tsps = gather_records(comm, mine);
    if (request.check || detail::has_graph_dumps(request, setup)) {
      // Never throws between here and the gather: every rank reaches it.
      CheckInput part;
      try {
        part.outputs = detail::extract_local_outputs(setup, outcome);
      } catch (const Error& e) {
        part.outputs.clear();
        part.error = e.what();
      }
      const std::vector<std::string> parts =
          comm.gather(detail::encode_check_part(part),
                      "the gather of the output shards for --check and --dump");
      if (rank == 0) {
        check = detail::merge_check_parts(parts);
        if (detail::has_graph_dumps(request, setup)) {
          if (check.error) throw RuntimeError(*check.error);
          detail::write_graph_dumps(request, setup, check.outputs);
        }
      }
    }
  } catch (const AgreedScheduleError& e) {
    // Every rank raised it in the same agreement: rank 0 speaks, every rank finalises.
    if (rank == 0) result.error = e.what();
    result.exit_code = e.exit_code();
  } catch (const std::exception& e) {
    abort_job(e, MPI_COMM_WORLD);
  }
  if (rank == 0 && result.exit_code == kExitOk) {
    // The reference evaluation of --check and the report can take a while: rank 0 keeps answering
    // the others' status queries meanwhile, so their watchdog sees it alive.
    const double wall = seconds_since(start);
    result.exit_code = comm.busy("checking the outputs and writing the report", [&] {
      try {
        result.summary = detail::finish_run(request, setup, outcome, std::move(tsps),
                                            std::move(what), wall, &check);
        return result.summary->check && !result.summary->check->passed ? kExitRuntimeError
                                                                       : kExitOk;
      } catch (const std::exception& e) {
        ErrorReport report = report_exception(e);
        result.error = std::move(report.message);
        return report.exit_code;
      }
    });
  }
  reach_fault_point(fault, FaultPhase::result);
  result.exit_code =
      std::stoi(comm.broadcast(std::to_string(result.exit_code), "the broadcast of the exit code"));
  transport.reset();
  return result;
}

}  // namespace tspemu
