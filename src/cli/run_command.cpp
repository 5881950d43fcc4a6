// `tspemu run PROGRAM --topology T`: execute a bundle or assembly file (DESIGN.md section 3).
// Under mpirun/srun one rank per TSP; `--local` runs every TSP in this process (the reference).
#include <fmt/format.h>

#include "cli/command.hpp"
#include "common/error.hpp"
#include "runtime/run.hpp"

namespace tspemu::cli {
namespace {

struct RunArgs {
  RunRequest request;
  std::vector<std::string> dumps;
  std::string program;
  std::string topology;
  std::string report;
};

int g_argc = 0;
char** g_argv = nullptr;

void add_run_command(CLI::App& app, CommandTable& table) {
  auto* sub = app.add_subcommand(
      "run",
      "Execute a program (.tspb bundle or .tsa assembly) on a topology; under mpirun one rank per "
      "TSP, with --local every TSP in this process. Ends stdout with `digest: <hex>`.");
  auto args = std::make_shared<RunArgs>();
  sub->add_option("program", args->program, "Bundle (.tspb) or assembly (.tsa)")->required();
  sub->add_option("--topology,-t", args->topology, "Topology TOML (topologies/*.toml)")->required();
  sub->add_flag("--local", args->request.local,
                "Emulate every TSP in this process (the reference transport; no MPI)");
  sub->add_option("--report", args->report, "Write the run report (JSON) here, atomically");
  sub->add_option("--dump", args->dumps,
                  "Write a declared output's raw bytes: [tspN:]NAME=FILE (repeatable)");
  sub->add_option("--seed", args->request.seed,
                  "Seed of the link model (jitter, bit errors); recorded in the report")
      ->capture_default_str();
  sub->add_option("--shuffle-seed", args->request.shuffle_seed,
                  "Execute each cycle's ready ops in an order shuffled by this seed (results must "
                  "not change: a determinism check)");
  sub->add_flag("--timing-only", args->request.timing_only,
                "Check every timing and schedule rule without computing data");
  sub->add_flag("--check", args->request.check,
                "Compare the outputs bit for bit with the reference evaluator of the graph the "
                "bundle was compiled from (tspemu compile); exit 1 on the first difference");
  sub->add_option("--agree-epochs", args->request.agreement_epochs,
                  "HAC epochs between global agreements (termination, control)")
      ->capture_default_str();
  sub->add_option("--watchdog", args->request.watchdog_seconds,
                  "Seconds a rank may wait for a neighbour before the job is aborted (0: never)")
      ->capture_default_str();
  sub->add_option("--bind", args->request.bind,
                  "Pin each rank through hwloc: core (local rank i on core i mod cores) or none "
                  "(leave the launcher's binding)")
      ->capture_default_str();
  sub->add_flag("--report-binding", args->request.report_binding,
                "Print every rank's host, local rank, cpuset and NUMA node");
  sub->add_flag("--quiet,-q", args->request.quiet, "Print only the final digest line");
  table.add(sub, [args] {
    RunRequest request = args->request;
    request.program = args->program;
    request.topology = args->topology;
    if (!args->report.empty()) request.report = args->report;
    for (const auto& d : args->dumps) {
      const auto eq = d.find('=');
      if (eq == std::string::npos || eq == 0 || eq + 1 == d.size()) {
        throw InputError(fmt::format("--dump {}: expected [tspN:]NAME=FILE", d));
      }
      request.dumps.emplace_back(d.substr(0, eq), d.substr(eq + 1));
    }
    return run_main(request, g_argc, g_argv);
  });
}

const CommandRegistrar registrar{"run", &add_run_command};

}  // namespace

void set_process_arguments(int argc, char** argv) {
  g_argc = argc;
  g_argv = argv;
}

}  // namespace tspemu::cli
