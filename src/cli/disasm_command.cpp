// `tspemu disasm IN.tspb [--timing] [-o OUT.tsa]`: print a bundle as assembly text that
// reassembles to the same program; --timing annotates every instruction with its issue, operand,
// result and busy cycles from the op timing table (programs/ISA.md, "Timing"). A compiled graph's
// bundle also names, per instruction, the graph op it was lowered from (`; op[3] (matmul 'w1')`).
#include <fmt/format.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli/command.hpp"
#include "cli/options.hpp"
#include "common/error.hpp"
#include "common/output_file.hpp"
#include "common/text.hpp"
#include "compiler/compiled_graph.hpp"
#include "isa/bundle.hpp"
#include "isa/disassembler.hpp"
#include "topo/chip_config.hpp"
#include "topo/loader.hpp"

namespace tspemu::cli {
namespace {

struct DisasmOptions {
  std::string input;
  std::optional<std::filesystem::path> output;
  std::string topology;
  bool timing = false;
};

int run_disasm(const DisasmOptions& options) {
  if (options.output) {
    std::vector<NamedPath> inputs = {{"the bundle", options.input}};
    if (!options.topology.empty()) inputs.push_back({"--topology", options.topology});
    const std::vector<NamedPath> outputs = {{"-o", *options.output}};
    check_output_paths(inputs, outputs);
  }
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
  // A compiled graph's bundle names the graph op every instruction was lowered from.
  std::optional<CompiledGraph> record;
  if (const auto* attachment = bundle.find_attachment(kCompiledGraphAttachment)) {
    record = decode_compiled_graph(attachment->bytes, options.input);
    disassemble_options.annotate = [&record](TspId tsp, std::size_t queue, std::size_t index) {
      const std::int32_t op = record->op_of(tsp, queue, index);
      if (op < 0) return std::string();
      return record->graph.ops[static_cast<std::size_t>(op)].label();
    };
  }
  std::string text;
  if (!bundle.topology_name.empty()) {
    // Quoted and escaped: a name may hold anything, and a newline would end the comment.
    text += fmt::format("; topology: {} (digest {})\n", quoted_text(bundle.topology_name),
                        bundle.topology_digest.hex());
  }
  text += disassemble(bundle.program, disassemble_options);
  if (options.output) {
    write_output_file(*options.output, text, "-o");
  } else {
    std::fputs(text.c_str(), stdout);
  }
  return kExitOk;
}

void add_disasm_command(CLI::App& app, CommandTable& table) {
  auto options = std::make_shared<DisasmOptions>();
  auto* sub = app.add_subcommand("disasm", "Print a .tspb bundle as .tsa assembly text");
  sub->add_option("input", options->input, "Bundle (.tspb)")->required();
  add_path_option(sub, "-o,--output", options->output, "Write the text here instead of stdout");
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
