// `tspemu asm IN.tsa -o OUT.tspb [--topology T]`: assemble a text program into a bundle
// (programs/ISA.md). Input errors (syntax, operands, issue cycles) exit with code 2 and one located
// message: "prog.tsa:7:5: unknown mnemonic 'ADDD'".
#include <fmt/format.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "cli/command.hpp"
#include "cli/options.hpp"
#include "common/error.hpp"
#include "common/log.hpp"
#include "common/output_file.hpp"
#include "isa/assembler.hpp"
#include "isa/bundle.hpp"
#include "runtime/send_schedule.hpp"
#include "topo/chip_config.hpp"
#include "topo/loader.hpp"

namespace tspemu::cli {
namespace {

struct AsmOptions {
  std::string input;
  std::filesystem::path output;
  std::string topology;
};

int run_asm(const AsmOptions& options) {
  std::vector<NamedPath> inputs = {{"the program", options.input}};
  if (!options.topology.empty()) inputs.push_back({"--topology", options.topology});
  const std::vector<NamedPath> outputs = {{"-o", options.output}};
  check_output_paths(inputs, outputs);
  ChipShape shape;
  Bundle bundle;
  std::int64_t tsp_count = -1;
  if (!options.topology.empty()) {
    // The program is checked against the topology's chip, and the bundle records which topology
    // it was built for (a run on another topology is refused by digest).
    const Topology topology = load_topology(options.topology);
    shape = chip_config_from_params(topology.chip()).shape;
    bundle.topology_name = topology.name();
    bundle.topology_digest = topology.digest();
    tsp_count = static_cast<std::int64_t>(topology.tsp_count());
  }
  bundle.program = assemble_file(options.input, shape);
  for (const auto& tsp : bundle.program.tsps) {
    if (tsp_count >= 0 && tsp.tsp.value >= tsp_count) {
      throw InputError(SourceLocation{options.input, 0, 0},
                       fmt::format(".tsp {} does not exist in topology '{}' (TSPs 0..{})",
                                   tsp.tsp.value, bundle.topology_name, tsp_count - 1));
    }
  }
  // With a topology the bundle carries the send schedule the runtime checks traffic against.
  if (!options.topology.empty()) {
    bundle.send_schedule = derive_send_schedule(bundle.program, load_topology(options.topology));
  }
  write_bundle(options.output, bundle);
  std::size_t instructions = 0;
  for (const auto& tsp : bundle.program.tsps) {
    for (const auto& queue : tsp.queues) instructions += queue.instructions.size();
  }
  log().info("asm: {} -> {} ({} TSPs, {} instructions)", options.input, options.output.string(),
             bundle.program.tsps.size(), instructions);
  return kExitOk;
}

void add_asm_command(CLI::App& app, CommandTable& table) {
  auto options = std::make_shared<AsmOptions>();
  auto* sub = app.add_subcommand("asm", "Assemble a .tsa text program into a .tspb bundle");
  sub->add_option("input", options->input, "Assembly source (.tsa)")->required();
  add_path_option(sub, "-o,--output", options->output, "Bundle to write (.tspb)")->required();
  sub->add_option("--topology", options->topology,
                  "Topology TOML whose [chip] the program targets (default: the published chip)");
  table.add(sub, [options] { return run_asm(*options); });
}

const CommandRegistrar registrar{"asm", &add_asm_command};

}  // namespace
}  // namespace tspemu::cli
