#include "topo/summary.hpp"

#include <fmt/format.h>

namespace tspemu {
namespace {

std::string plural(std::uint64_t count, std::string_view one, std::string_view many) {
  return fmt::format("{} {}", count, count == 1 ? one : many);
}

double percent(std::uint64_t part, std::uint64_t whole) {
  return whole == 0 ? 0.0 : 100.0 * static_cast<double>(part) / static_cast<double>(whole);
}

void append_histogram(std::string& out, const std::vector<std::uint64_t>& histogram,
                      std::string_view one, std::string_view many) {
  std::uint64_t total = 0;
  for (std::uint64_t c : histogram) total += c;
  if (total == 0) out += "    (no pairs)\n";
  for (std::size_t k = 0; k < histogram.size(); ++k) {
    if (histogram[k] == 0) continue;
    out += fmt::format("  {:>3} {:<9} {:>12} {:6.2f} %\n", k, k == 1 ? one : many, histogram[k],
                       percent(histogram[k], total));
  }
}

}  // namespace

TopologySummary summarize(const Topology& topology, const Routing& routing) {
  TopologySummary s;
  s.name = topology.name();
  s.digest = topology.digest();
  s.tsps = topology.tsp_count();
  s.nodes = topology.node_count();
  for (const NodeInfo& node : topology.nodes()) s.spare_nodes += node.spare ? 1 : 0;
  s.racks = topology.rack_count();
  s.links = topology.link_count();
  for (const Link& l : topology.links()) ++s.links_by_class[static_cast<std::size_t>(l.cls)];
  s.c2c_ports = topology.chip().c2c_ports;
  s.ports_used_histogram.assign(static_cast<std::size_t>(s.c2c_ports) + 1, 0);
  for (const TspInfo& t : topology.tsps()) {
    ++s.ports_used_histogram[static_cast<std::size_t>(topology.ports_used(t.id))];
  }
  if (const auto& plan = topology.port_plan()) {
    PortPlanUsage u{.plan = *plan};
    for (const TspInfo& t : topology.tsps()) {
      for (std::int64_t p = 0; p < plan->local_ports + plan->global_ports; ++p) {
        const bool used = topology.link_at(t.id, PortId{static_cast<std::int32_t>(p)}).has_value();
        if (p < plan->local_ports) {
          (used ? u.local_used : u.local_free) += 1;
        } else {
          (used ? u.global_used : u.global_free) += 1;
        }
      }
    }
    s.port_usage = u;
  }
  s.routing = compute_routing_stats(routing);
  return s;
}

nlohmann::ordered_json summary_to_json(const TopologySummary& s) {
  using nlohmann::ordered_json;
  ordered_json j;
  j["name"] = s.name;
  j["digest"] = s.digest.hex();
  j["tsps"] = s.tsps;
  j["nodes"] = s.nodes;
  j["spare_nodes"] = s.spare_nodes;
  j["racks"] = s.racks;
  j["links"] = s.links;
  ordered_json by_class = ordered_json::object();
  for (LinkClass cls : kLinkClasses) {
    by_class[std::string(link_class_name(cls))] = s.links_by_class[static_cast<std::size_t>(cls)];
  }
  j["links_by_class"] = by_class;
  j["c2c_ports"] = s.c2c_ports;
  j["ports_used_per_tsp"] = s.ports_used_histogram;
  if (s.port_usage) {
    const PortPlanUsage& u = *s.port_usage;
    j["port_plan"] = {{"local_ports", u.plan.local_ports}, {"global_ports", u.plan.global_ports},
                      {"local_used", u.local_used},        {"local_free", u.local_free},
                      {"global_used", u.global_used},      {"global_free", u.global_free}};
  } else {
    j["port_plan"] = nullptr;
  }
  const RoutingStats& r = s.routing;
  j["diameter"] = r.tsp.diameter;
  j["mean_hops"] = r.tsp.mean_hops;
  j["hop_histogram"] = r.tsp.hop_histogram;
  j["connected"] = r.tsp.connected();
  j["unreachable_pairs"] = r.tsp.unreachable_pairs;
  j["node_diameter"] = r.node.diameter;
  j["node_mean_hops"] = r.node.mean_hops;
  j["node_hop_histogram"] = r.node.hop_histogram;
  std::size_t min_width = 0;
  for (std::size_t w = 1; w < r.ecmp_width_histogram.size(); ++w) {
    if (r.ecmp_width_histogram[w] != 0) {
      min_width = w;
      break;
    }
  }
  j["routing"] = {
      {"reachable_pairs", r.tsp.reachable_pairs},
      {"next_hop_entries", r.next_hop_entries},
      {"ecmp_width_min", min_width},
      {"ecmp_width_max", r.ecmp_width_histogram.empty() ? 0 : r.ecmp_width_histogram.size() - 1},
      {"ecmp_width_mean",
       r.tsp.reachable_pairs == 0
           ? 0.0
           : static_cast<double>(r.next_hop_entries) / static_cast<double>(r.tsp.reachable_pairs)},
      {"ecmp_width_histogram", r.ecmp_width_histogram}};
  return j;
}

std::string summary_to_text(const TopologySummary& s) {
  std::string out;
  out += fmt::format("topology   {}\n", s.name);
  out += fmt::format("digest     {}\n", s.digest.hex());
  out += fmt::format("TSPs       {} in {}{} in {}\n", s.tsps, plural(s.nodes, "node", "nodes"),
                     s.spare_nodes > 0 ? fmt::format(" ({} spare)", s.spare_nodes) : "",
                     plural(s.racks, "rack", "racks"));
  out += fmt::format("links      {}: {} local, {} global, {} optical\n", s.links,
                     s.links_by_class[0], s.links_by_class[1], s.links_by_class[2]);
  out += fmt::format("ports      {} C2C ports per TSP; ports used per TSP:", s.c2c_ports);
  const char* separator = " ";
  for (std::size_t k = 0; k < s.ports_used_histogram.size(); ++k) {
    if (s.ports_used_histogram[k] == 0) continue;
    out +=
        fmt::format("{}{} on {}", separator, k, plural(s.ports_used_histogram[k], "TSP", "TSPs"));
    separator = ", ";
  }
  out += "\n";
  if (s.port_usage) {
    const PortPlanUsage& u = *s.port_usage;
    out += fmt::format(
        "port plan  {} local + {} global per TSP; local ports {} used, {} free; global ports {} "
        "used, {} free\n",
        u.plan.local_ports, u.plan.global_ports, u.local_used, u.local_free, u.global_used,
        u.global_free);
  }
  const RoutingStats& r = s.routing;
  out += fmt::format(
      "diameter   {} between TSPs (mean {:.3f}); {} between nodes (mean {:.3f})\n",
      plural(static_cast<std::uint64_t>(r.tsp.diameter), "hop", "hops"), r.tsp.mean_hops,
      plural(static_cast<std::uint64_t>(r.node.diameter), "hop", "hops"), r.node.mean_hops);
  if (!r.tsp.connected()) {
    out += fmt::format("WARNING    not connected: {} ordered TSP pairs have no route\n",
                       r.tsp.unreachable_pairs);
  }
  out += "hop histogram, TSP level (ordered pairs):\n";
  append_histogram(out, r.tsp.hop_histogram, "hop", "hops");
  out += "hop histogram, node level (ordered pairs):\n";
  append_histogram(out, r.node.hop_histogram, "hop", "hops");
  const double mean_width =
      r.tsp.reachable_pairs == 0
          ? 0.0
          : static_cast<double>(r.next_hop_entries) / static_cast<double>(r.tsp.reachable_pairs);
  out += fmt::format(
      "routing    minimal routes for {} ordered pairs; {} equal-cost next-hop entries (mean {:.3f} "
      "per pair)\n",
      r.tsp.reachable_pairs, r.next_hop_entries, mean_width);
  out += "equal-cost next hops per pair (ordered pairs):\n";
  append_histogram(out, r.ecmp_width_histogram, "next hop", "next hops");
  return out;
}

}  // namespace tspemu
