#pragma once
// What `tspemu topo FILE [--json]` prints: counts, links per class, port use, diameters, hop-count
// histograms and a routing summary, as text for people and as JSON for scripts (key list in
// topologies/README.md).

#include <nlohmann/json.hpp>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "topo/link.hpp"
#include "topo/routing.hpp"
#include "topo/topology.hpp"

namespace tspemu {

// Use of the ports a port plan assigns (totals over all TSPs).
struct PortPlanUsage {
  PortPlan plan;
  std::int64_t local_used = 0;
  std::int64_t local_free = 0;
  std::int64_t global_used = 0;
  std::int64_t global_free = 0;
};

struct TopologySummary {
  std::string name;
  Digest128 digest;
  std::size_t tsps = 0;
  std::size_t nodes = 0;
  std::size_t spare_nodes = 0;
  std::size_t racks = 0;
  std::size_t links = 0;
  std::array<std::size_t, kLinkClassCount> links_by_class{};
  std::int64_t c2c_ports = 0;
  // ports_used_histogram[k] = TSPs with exactly k ports carrying a link (size c2c_ports + 1).
  std::vector<std::uint64_t> ports_used_histogram;
  std::optional<PortPlanUsage> port_usage;  // when the topology has a port plan
  RoutingStats routing;
};

[[nodiscard]] TopologySummary summarize(const Topology& topology, const Routing& routing);

// Keys: name, digest, tsps, nodes, spare_nodes, racks, links, links_by_class, c2c_ports,
// ports_used_per_tsp, port_plan (or null), diameter, mean_hops, hop_histogram, connected,
// unreachable_pairs, node_diameter, node_mean_hops, node_hop_histogram, routing. Histograms are
// arrays indexed by the counted quantity (hops, ports, next hops).
[[nodiscard]] nlohmann::ordered_json summary_to_json(const TopologySummary& summary);

[[nodiscard]] std::string summary_to_text(const TopologySummary& summary);

}  // namespace tspemu
