#pragma once
// Topology generators: a [generator] table expands into TSPs and links, deterministically.
//
//   kind = "node"       one node of tsps_per_node TSPs, fully meshed by local links
//   kind = "rack"       nodes_per_rack such nodes; every node pair joined by links_per_node_pair
//                       global links
//   kind = "dragonfly"  racks such racks; every rack pair joined by links_per_rack_pair links
//
// Numbering: node n of rack r is NodeId r x nodes_per_rack + n; TSP t of that node is TspId
// (r x nodes_per_rack + n) x tsps_per_node + t. Links are numbered: every in-node link (by node,
// then TSP pair (i, j), i < j), then every intra-rack link (by rack, node pair (n, m), n < m,
// copy), then every inter-rack link (by rack pair (r, q), r < q, copy). Endpoint a is the lower id.
//
// Classes: in-node links are local, intra-rack links global, inter-rack links optical unless
// inter_rack_class = "global" (local ports carry local links, global ports the rest: PortPlan).
//
// Port assignment (L = tsps_per_node - 1 local ports, G = global_ports_per_tsp):
//   in-node:    TSP i reaches TSP j on port (j < i ? j : j - 1), so ports 0..L-1 are local;
//   intra-rack: a node's link ends toward the other nodes are numbered k = (rank of the other node
//               among the other nodes) x links_per_node_pair + copy; end k sits on TSP k mod
//               tsps_per_node, port L + k / tsps_per_node. The copies of one node pair land on
//               different TSPs, and every TSP carries the same number of intra-rack links (to
//               within one);
//   inter-rack: a rack's global ports still free after the intra-rack links, listed port-major
//               (all TSPs' port p, in TSP order, then port p + 1), are its inter-rack ends; the end
//               toward rack q, copy c, is entry (rank of q among the other racks) x
//               links_per_rack_pair + c. With the defaults (9 x 8 TSPs, 4 global ports, 2 links per
//               node pair) a rack has 144 free ports, so 145 racks use every one of them: each TSP
//               then carries 7 local + 2 intra-rack + 2 inter-rack links.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "topo/chip_params.hpp"
#include "topo/link.hpp"
#include "topo/topology.hpp"

namespace tspemu {

enum class GeneratorKind : std::uint8_t { node, rack, dragonfly };

[[nodiscard]] std::string_view generator_kind_name(GeneratorKind kind);
[[nodiscard]] std::optional<GeneratorKind> parse_generator_kind(std::string_view name);

struct GeneratorParams {
  GeneratorKind kind = GeneratorKind::node;
  std::int64_t tsps_per_node = 8;
  std::int64_t global_ports_per_tsp = 4;
  // rack and dragonfly
  std::int64_t nodes_per_rack = 9;
  std::int64_t links_per_node_pair = 2;
  std::optional<std::int64_t> spare_node;  // index of a node inside each rack marked spare
  // dragonfly
  std::int64_t racks = 1;
  std::int64_t links_per_rack_pair = 1;
  LinkClass inter_rack_class = LinkClass::optical;  // global or optical
};

// Why params do not fit the chip: the generator key to blame and the message.
struct GeneratorProblem {
  std::string key;
  std::string message;
};

// Checks that the machine fits: ports per TSP within chip.c2c_ports, intra-rack links within a
// node's global ports, inter-rack links within a rack's free global ports, TSP count within
// kMaxTsps, spare_node within the rack. Ranges of single keys are the loader's job.
[[nodiscard]] std::optional<GeneratorProblem> check_generator_fit(const GeneratorParams& params,
                                                                  const ChipParams& chip);

struct GeneratedMachine {
  std::vector<TspInfo> tsps;
  std::vector<Link> links;
  PortPlan port_plan;
};

// Expands params (throws InputError with the problem's key if check_generator_fit fails). Links
// take their values from `classes`.
[[nodiscard]] GeneratedMachine generate_machine(const GeneratorParams& params,
                                                const ChipParams& chip,
                                                const LinkClassTable& classes);

// Convenience for code and tests: generate_machine() assembled into a Topology.
[[nodiscard]] Topology generate_topology(std::string name, const GeneratorParams& params,
                                         const ChipParams& chip = {},
                                         const LinkClassTable& classes = default_link_classes());

}  // namespace tspemu
