// `tspemu disasm IN.tspb [--timing] [-o OUT.tsa]`: print a bundle as assembly text that
// reassembles to the same program; --timing annotates every instruction with its issue, operand,
// result and busy cycles from the op timing table (programs/ISA.md, "Timing").
#include <fmt/format.h>

#include <cstdio>
#include <memory>
#include <string>

#include "chip/chip_config.hpp"
#include "cli/command.hpp"
#include "common/atomic_file.hpp"
#include "common/error.hpp"
#include "isa/bundle.hpp"
#include "isa/disassembler.hpp"
#include "topo/loader.hpp"

namespace tspemu::cli {
namespace {

struct DisasmOptions {
  std::string input;
  std::string output;
  std::string topology;
  bool timing = false;
};

int run_disasm(const DisasmOptions& options) {
  // Without --topology: the default chip and timing table.
  ChipConfig config;
  if (!options.topology.empty()) {
    config = chip_config_from_params(load_topology(options.topology).chip());
  }
  const Bundle bundle = read_bundle(options.input, config.shape);
  DisassembleOptions disassemble_options;
  disassemble_options.timing = options.timing;
  disassemble_options.timing_table = &config.timing;
  disassemble_options.superlanes = config.shape.superlanes;
  std::string text;
  if (!bundle.topology_name.empty()) {
    text += fmt::format("; topology: {} (digest {})\n", bundle.topology_name,
                        bundle.topology_digest.hex());
  }
  text += disassemble(bundle.program, disassemble_options);
  if (options.output.empty()) {
    std::fputs(text.c_str(), stdout);
  } else {
    write_file_atomically(options.output, text);
  }
  return kExitOk;
}

void add_disasm_command(CLI::App& app, CommandTable& table) {
  auto options = std::make_shared<DisasmOptions>();
  auto* sub = app.add_subcommand("disasm", "Print a .tspb bundle as .tsa assembly text");
  sub->add_option("input", options->input, "Bundle (.tspb)")->required();
  sub->add_option("-o,--output", options->output, "Write the text here instead of stdout");
  sub->add_flag("--timing", options->timing,
                "Annotate each instruction with issue/operand/result/busy cycles");
  sub->add_option("--topology", options->topology,
                  "Topology TOML whose [chip] (shape and op_timing) to use (default: the "
                  "published chip and default timing)");
  table.add(sub, [options] { return run_disasm(*options); });
}

const CommandRegistrar registrar{"disasm", &add_disasm_command};

}  // namespace
}  // namespace tspemu::cli
