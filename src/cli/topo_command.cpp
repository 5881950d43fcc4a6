// `tspemu topo FILE [--json] [--resolved]`: load and validate a topology, route it, and print a
// summary (counts, links per class, ports used, diameters, hop histograms, routing), as text or as
// JSON (keys: topologies/README.md). A malformed file is an InputError: one located line on
// stderr, exit code 2.
#include <cstdio>
#include <memory>
#include <string>

#include "cli/command.hpp"
#include "topo/loader.hpp"
#include "topo/routing.hpp"
#include "topo/summary.hpp"

namespace tspemu::cli {
namespace {

struct TopoOptions {
  std::string file;
  bool json = false;
  bool resolved = false;
};

int run_topo(const TopoOptions& options) {
  const Topology topology = load_topology(options.file);
  if (options.resolved) {
    std::fputs(topology_to_toml(topology).c_str(), stdout);
    return 0;
  }
  const Routing routing(topology);
  const TopologySummary summary = summarize(topology, routing);
  if (options.json) {
    std::fputs((summary_to_json(summary).dump(2) + "\n").c_str(), stdout);
  } else {
    std::fputs(summary_to_text(summary).c_str(), stdout);
  }
  return 0;
}

void add_topo_command(CLI::App& app, CommandTable& table) {
  auto* sub = app.add_subcommand(
      "topo", "Validate, summarise and route a topology (counts, diameter, hop histogram)");
  auto options = std::make_shared<TopoOptions>();
  sub->add_option("file", options->file, "Topology TOML (see topologies/README.md)")->required();
  auto* json =
      sub->add_flag("--json", options->json,
                    "Print the summary as JSON (keys tsps, links, diameter, hop_histogram, ...)");
  sub->add_flag("--resolved", options->resolved,
                "Print the explicit, fully resolved TOML of the topology instead of a summary")
      ->excludes(json);
  table.add(sub, [options] { return run_topo(*options); });
}

const CommandRegistrar registrar{"topo", &add_topo_command};

}  // namespace
}  // namespace tspemu::cli
