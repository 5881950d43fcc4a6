// `tspemu run PROGRAM --topology T`: execute a bundle or assembly file (docs/design.md section 3).
// Under mpirun/srun one rank per TSP; `--local` runs every TSP in this process (the reference).
#include <fmt/format.h>

#include "cli/command.hpp"
#include "cli/mpi_session.hpp"
#include "cli/options.hpp"
#include "cli/run_output.hpp"
#include "common/error.hpp"
#include "runtime/run.hpp"

namespace tspemu::cli {
namespace {

struct RunArgs {
  RunRequest request;
  RunOutputOptions output;
  std::vector<std::string> dumps;
  std::string program;
  std::string topology;
};

int g_argc = 0;
char** g_argv = nullptr;

void add_run_command(CLI::App& app, CommandTable& table) {
  auto* sub = app.add_subcommand(
      "run",
      "Execute a program (.tspb bundle or .tsa assembly) on a topology; under mpirun one TSP or a "
      "block of TSPs per rank, with --local every TSP in this process. Ends stdout with "
      "`digest: <hex>`.");
  auto args = std::make_shared<RunArgs>();
  sub->add_option("program", args->program,
                  "Bundle (.tspb) or assembly (.tsa); with --restart, optional (the checkpoint's)");
  sub->add_option("--topology,-t", args->topology,
                  "Topology TOML (topologies/*.toml); with --restart, optional (the checkpoint's)");
  sub->add_flag("--local", args->request.local,
                "Emulate every TSP in this process (the reference transport; no MPI)");
  add_i64_option(sub, "--tsps-per-rank", args->request.tsps_per_rank,
                 "Under MPI: rank r emulates TSPs r*K .. r*K+K-1 (the job needs ceil(TSPs/K) "
                 "ranks); default: one TSP per rank, or whole racks or nodes per rank when the job "
                 "has fewer ranks than TSPs",
                 1, std::numeric_limits<std::int32_t>::max());
  add_path_option(sub, "--report", args->request.report,
                  "Write the run report (JSON) here (atomically, never over a link, device or "
                  "input)");
  add_path_option(
      sub, "--trace", args->request.trace,
      "Write the run as a Chrome/Perfetto trace (JSON): a process per TSP, a thread per "
      "queue, every instruction named by its graph op, C2C vectors as arrows");
  sub->add_option("--trace-cycles", args->request.trace_cycles,
                  "With --trace: only instructions issued in cycles FIRST:LAST");
  add_path_option(sub, "--stats", args->request.stats,
                  "Write per-interval unit busy cycles and link vectors as CSV (docs/report.md)");
  add_i64_option(sub, "--stats-interval", args->request.stats_interval,
                 "Cycles per --stats interval, 1..2^40", 1, std::int64_t{1} << 40);
  sub->add_option("--dump", args->dumps,
                  "Write a declared output's raw bytes: [tspN:]NAME=FILE (repeatable)");
  add_u64_option(sub, "--seed", args->request.seed,
                 "Seed of the link model (jitter, bit errors), 0..2^64-1; recorded in the report");
  add_u64_option(sub, "--shuffle-seed", args->request.shuffle_seed,
                 "Execute each cycle's ready ops in an order shuffled by this seed (results must "
                 "not change: a determinism check)");
  sub->add_flag("--timing-only", args->request.timing_only,
                "Check every timing and schedule rule without computing data");
  sub->add_flag("--check", args->request.check,
                "Compare the outputs bit for bit with the reference evaluator of the graph the "
                "bundle was compiled from (tspemu compile); exit 1 on the first difference");
  add_i64_option(sub, "--agree-epochs", args->request.agreement_epochs,
                 fmt::format("HAC epochs between global agreements (termination, control), "
                             "1..{}: a run ends at most this many epochs after its last activity",
                             kMaxAgreementEpochs),
                 1, kMaxAgreementEpochs);
  sub->add_option("--clock-seed", args->request.clock_seed,
                  "Drifting clocks: seed the oscillators, HAC phases and protocol draws with this "
                  "instead of the topology's [clock] seed (docs/clocks.md)");
  sub->add_option("--fail-tsp", args->request.fail_tsp,
                  "T@CYCLE: TSP T fails at that cycle; its node moves onto the rack's spare node, "
                  "the graph is recompiled for it and the run starts again (compiled bundles)");
  add_i64_option(sub, "--max-replays", args->request.max_replays,
                 fmt::format("Replays, 0..{}, of a run whose links flagged uncorrectable errors "
                             "(the inference is repeated with fresh FEC draws; default 3)",
                             kMaxReplays),
                 0, kMaxReplays);
  add_seconds_option(sub, "--watchdog", args->request.watchdog_seconds,
                     fmt::format("Seconds a rank may wait for another before the job is aborted, "
                                 "{}..{} (0: never)",
                                 kMinWatchdogSeconds, kMaxWatchdogSeconds),
                     kMinWatchdogSeconds, kMaxWatchdogSeconds, true);
  sub->add_option("--bind", args->request.bind,
                  "Pin each rank through hwloc: core (local rank i on core i mod cores) or none "
                  "(leave the launcher's binding)")
      ->check(CLI::IsMember({"none", "core"}))
      ->capture_default_str();
  add_path_option(sub, "--checkpoint-dir", args->request.checkpoint_dir,
                  "Write checkpoints into this directory (docs/checkpoint.md): every "
                  "--checkpoint-every epochs, on SIGUSR1 (and go on), on SIGTERM or SIGUSR2 (and "
                  "stop, exit code 3)");
  add_i64_option(sub, "--checkpoint-every", args->request.checkpoint_every,
                 "HAC epochs between checkpoints, 1..2^40 (default: only on signals)", 1,
                 std::int64_t{1} << 40);
  add_path_option(sub, "--restart", args->request.restart,
                  "Resume the run checkpointed in this directory, on any rank count or --local: "
                  "the same final digest as the uninterrupted run");
  sub->add_flag("--report-binding", args->output.report_binding,
                "Print every rank's host, local rank, cpuset and NUMA node");
  sub->add_flag("--quiet,-q", args->output.quiet, "Print only the final digest line");
  sub->add_flag("--progress,!--no-progress", args->output.progress,
                "Print how far the run is on stderr (rank 0), at most a line a second: cycle, "
                "percentage of the predicted cycles and ETA for compiled bundles, emulated "
                "cycles/s (default: when stderr is a terminal)");
  table.add(sub, [args, sub] {
    RunRequest request = args->request;
    request.program = args->program;
    request.topology = args->topology;
    if (request.restart) {
      // A restart runs on with the checkpointed run's options (runtime/run.hpp, with_restart).
      for (const char* option :
           {"--seed", "--shuffle-seed", "--timing-only", "--agree-epochs", "--clock-seed",
            "--trace-cycles", "--stats-interval", "--fail-tsp"}) {
        if (sub->count(option) > 0) {
          throw InputError(
              fmt::format("--restart goes on with the checkpointed run's options: "
                          "drop {} (docs/checkpoint.md)",
                          option));
        }
      }
    } else if (request.program.empty() || request.topology.empty()) {
      throw InputError(request.program.empty() ? "the program is required (or --restart DIR)"
                                               : "--topology is required (or --restart DIR)");
    }
    request = with_restart(request);
    for (const auto& d : args->dumps) {
      const auto eq = d.find('=');
      if (eq == std::string::npos || eq == 0 || eq + 1 == d.size()) {
        throw InputError(fmt::format("--dump {}: expected [tspN:]NAME=FILE", d));
      }
      request.dumps.emplace_back(d.substr(0, eq), d.substr(eq + 1));
    }
    RunPrinter printer(args->output);
    if (choose_run_mode(request) == RunMode::local) {
      return printer.finish(run_local(request, printer));
    }
    MpiSession session(g_argc, g_argv, request.watchdog_seconds);
    const RunCompletion result = run_mpi(request, session.comm(), printer);
    return session.finalize(printer.finish(result));
  });
}

const CommandRegistrar registrar{"run", &add_run_command};

}  // namespace

void set_process_arguments(int argc, char** argv) {
  g_argc = argc;
  g_argv = argv;
}

}  // namespace tspemu::cli
