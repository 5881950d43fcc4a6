// Placeholder until the topology layer lands in this same change.
#include "cli/command.hpp"
namespace tspemu::cli {
namespace {
void add_topo_command(CLI::App& app, CommandTable& table) {
  auto* sub = app.add_subcommand("topo", "Validate, summarise and route a topology");
  table.add(sub, [] { return 0; });
}
const CommandRegistrar registrar{"topo", &add_topo_command};
}  // namespace
}  // namespace tspemu::cli
