// `tspemu model CARD.toml --topology T [-o GRAPH.toml]`: expand a model card (docs/models.md) into
// its tensor graph, check it against the topology like any graph file, print what it holds, and
// write the graph's TOML if asked (to read it, or to edit and compile it as a graph).
// `tspemu compile CARD.toml` does the same expansion itself.
#include <fmt/format.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli/command.hpp"
#include "cli/options.hpp"
#include "common/memory_budget.hpp"
#include "common/output_file.hpp"
#include "compiler/graph_loader.hpp"
#include "model/expand.hpp"
#include "model/model_card.hpp"
#include "topo/loader.hpp"

namespace tspemu::cli {
namespace {

struct ModelOptions {
  std::string card;
  std::string topology;
  std::optional<std::filesystem::path> output;
};

int run_model(const ModelOptions& options) {
  {
    const std::vector<NamedPath> inputs = {{"the model card", options.card},
                                           {"--topology", options.topology}};
    std::vector<NamedPath> outputs;
    if (options.output) outputs.push_back({"-o", *options.output});
    check_output_paths(inputs, outputs);
  }
  const Topology topology = load_topology(options.topology);
  const ModelCard card = load_model_card(options.card);
  ModelGraphSummary summary;
  std::string toml;
  const Graph graph = expand_model(card, topology, &summary, &toml);
  if (options.output) write_output_file(*options.output, toml, "-o");
  fmt::print("model {}: {} {} layers, width {}, {} heads ({} KV), FFN {}, {} parameters\n",
             card.name, card.layers,
             card.architecture == ModelArchitecture::decoder ? "decoder" : "encoder", card.width,
             card.heads, card.kv_heads, card.ffn_width, summary.parameters);
  fmt::print(
      "run: {}, {} token(s){} on TSPs {}..{} ({} stage(s) x {} TSP(s))\n",
      model_phase_name(card.phase), card.tokens,
      card.phase == ModelPhase::decode ? fmt::format(", KV cache of {} tokens", card.context_tokens)
                                       : "",
      card.first_tsp, card.first_tsp + card.tsps() - 1, card.pipeline_stages, card.tensor_parallel);
  fmt::print("graph {}: {} tensors, {} ops; weights and KV cache up to {} per TSP\n", graph.name,
             summary.tensors, summary.ops,
             format_bytes(static_cast<std::uint64_t>(summary.weight_bytes_per_tsp)));
  if (options.output) fmt::print("wrote {}\n", options.output->string());
  return kExitOk;
}

void add_model_command(CLI::App& app, CommandTable& table) {
  auto options = std::make_shared<ModelOptions>();
  auto* sub = app.add_subcommand(
      "model", "Expand a model card (.toml, docs/models.md) into its tensor graph and check it");
  sub->add_option("card", options->card, "Model card (.toml)")->required();
  sub->add_option("--topology", options->topology, "Topology TOML the model runs on")->required();
  add_path_option(sub, "-o,--output", options->output, "Graph TOML to write");
  table.add(sub, [options] { return run_model(*options); });
}

const CommandRegistrar registrar{"model", &add_model_command};

}  // namespace
}  // namespace tspemu::cli
