// Temporary: replaced by the topology work.
#include "cli/command.hpp"
namespace tspemu::cli {
void add_topo_command(CLI::App& app, CommandTable& table) {
  auto* sub = app.add_subcommand("topo", "Validate, summarise and route a topology");
  table.add(sub, [] { return 0; });
}
}  // namespace tspemu::cli
