#include "topo/generator.hpp"

#include <fmt/format.h>

#include "common/error.hpp"

namespace tspemu {
namespace {

struct Shape {
  std::int64_t tsps_per_node;
  std::int64_t local_ports;
  std::int64_t global_ports;
  std::int64_t nodes_per_rack;
  std::int64_t links_per_node_pair;
  std::int64_t racks;
  std::int64_t links_per_rack_pair;
};

Shape shape_of(const GeneratorParams& p) {
  Shape s{p.tsps_per_node, p.tsps_per_node - 1, p.global_ports_per_tsp, 1, 0, 1, 0};
  if (p.kind != GeneratorKind::node) {
    s.nodes_per_rack = p.nodes_per_rack;
    s.links_per_node_pair = p.links_per_node_pair;
  }
  if (p.kind == GeneratorKind::dragonfly) {
    s.racks = p.racks;
    s.links_per_rack_pair = p.links_per_rack_pair;
  }
  return s;
}

// Rank of `other` among 0..count-1 without `self`.
std::int64_t rank_among_others(std::int64_t other, std::int64_t self) {
  return other < self ? other : other - 1;
}

// (TSP index inside its rack, port) of one link end.
struct RackPort {
  std::int64_t tsp_in_rack;
  std::int64_t port;
};

// Intra-rack end k of node n (see generator.hpp).
RackPort intra_rack_end(const Shape& s, std::int64_t node_in_rack, std::int64_t k) {
  return {node_in_rack * s.tsps_per_node + k % s.tsps_per_node,
          s.local_ports + k / s.tsps_per_node};
}

// A rack's global ports left free by the intra-rack links, port-major.
std::vector<RackPort> free_rack_ports(const Shape& s) {
  const std::int64_t tsps_per_rack = s.nodes_per_rack * s.tsps_per_node;
  std::vector<bool> used(static_cast<std::size_t>(tsps_per_rack * s.global_ports), false);
  const std::int64_t ends_per_node = (s.nodes_per_rack - 1) * s.links_per_node_pair;
  for (std::int64_t n = 0; n < s.nodes_per_rack; ++n) {
    for (std::int64_t k = 0; k < ends_per_node; ++k) {
      const RackPort e = intra_rack_end(s, n, k);
      used[static_cast<std::size_t>(e.tsp_in_rack * s.global_ports + e.port - s.local_ports)] =
          true;
    }
  }
  std::vector<RackPort> free;
  for (std::int64_t g = 0; g < s.global_ports; ++g) {
    for (std::int64_t t = 0; t < tsps_per_rack; ++t) {
      if (!used[static_cast<std::size_t>(t * s.global_ports + g)]) {
        free.push_back({t, s.local_ports + g});
      }
    }
  }
  return free;
}

Link make_link(std::size_t id, std::int64_t tsp_a, std::int64_t port_a, std::int64_t tsp_b,
               std::int64_t port_b, LinkClass cls, const LinkClassTable& classes) {
  Link l;
  l.id = LinkId{static_cast<std::int32_t>(id)};
  l.a = {TspId{static_cast<std::int32_t>(tsp_a)}, PortId{static_cast<std::int32_t>(port_a)}};
  l.b = {TspId{static_cast<std::int32_t>(tsp_b)}, PortId{static_cast<std::int32_t>(port_b)}};
  l.cls = cls;
  l.params = classes[static_cast<std::size_t>(cls)];
  return l;
}

}  // namespace

std::string_view generator_kind_name(GeneratorKind kind) {
  switch (kind) {
    case GeneratorKind::node:
      return "node";
    case GeneratorKind::rack:
      return "rack";
    case GeneratorKind::dragonfly:
      return "dragonfly";
  }
  return "?";
}

std::optional<GeneratorKind> parse_generator_kind(std::string_view name) {
  for (GeneratorKind k : {GeneratorKind::node, GeneratorKind::rack, GeneratorKind::dragonfly}) {
    if (generator_kind_name(k) == name) return k;
  }
  return std::nullopt;
}

std::optional<GeneratorProblem> check_generator_fit(const GeneratorParams& params,
                                                    const ChipParams& chip) {
  const Shape s = shape_of(params);
  if (s.tsps_per_node < 1 || s.global_ports < 0 || s.nodes_per_rack < 1 || s.racks < 1 ||
      s.links_per_node_pair < 0 || s.links_per_rack_pair < 0) {
    return GeneratorProblem{"kind", "generator parameters must be positive"};
  }
  if (s.local_ports + s.global_ports > chip.c2c_ports) {
    return GeneratorProblem{
        "global_ports_per_tsp",
        fmt::format("tsps_per_node = {} needs {} local ports and global_ports_per_tsp = {} more, "
                    "{} ports per TSP, but chip.c2c_ports = {}",
                    s.tsps_per_node, s.local_ports, s.global_ports, s.local_ports + s.global_ports,
                    chip.c2c_ports)};
  }
  const std::int64_t node_global_ports = s.tsps_per_node * s.global_ports;
  const std::int64_t intra_ends = (s.nodes_per_rack - 1) * s.links_per_node_pair;
  if (intra_ends > node_global_ports) {
    return GeneratorProblem{
        "links_per_node_pair",
        fmt::format("each node needs (nodes_per_rack - 1) x links_per_node_pair = {} global ports "
                    "for intra-rack links but has only tsps_per_node x global_ports_per_tsp = {}",
                    intra_ends, node_global_ports)};
  }
  const std::int64_t rack_free_ports = s.nodes_per_rack * (node_global_ports - intra_ends);
  const std::int64_t inter_ends = (s.racks - 1) * s.links_per_rack_pair;
  if (inter_ends > rack_free_ports) {
    return GeneratorProblem{
        "racks",
        fmt::format("each rack needs (racks - 1) x links_per_rack_pair = {} global ports for "
                    "inter-rack links but has only {} left after its intra-rack links",
                    inter_ends, rack_free_ports)};
  }
  const std::int64_t tsps = s.racks * s.nodes_per_rack * s.tsps_per_node;
  if (tsps > kMaxTsps) {
    return GeneratorProblem{"racks", fmt::format("the machine would have {} TSPs, more than the "
                                                 "{} a topology may hold",
                                                 tsps, kMaxTsps)};
  }
  if (params.inter_rack_class == LinkClass::local) {
    return GeneratorProblem{"inter_rack_class",
                            "inter-rack links use global ports, so their class is global or "
                            "optical, not local"};
  }
  if (params.kind != GeneratorKind::node && params.spare_node &&
      (*params.spare_node < 0 || *params.spare_node >= s.nodes_per_rack)) {
    return GeneratorProblem{
        "spare_node", fmt::format("value {} is out of range [0, {}] (nodes_per_rack = {})",
                                  *params.spare_node, s.nodes_per_rack - 1, s.nodes_per_rack)};
  }
  return std::nullopt;
}

GeneratedMachine generate_machine(const GeneratorParams& params, const ChipParams& chip,
                                  const LinkClassTable& classes) {
  if (auto problem = check_generator_fit(params, chip)) {
    throw InputError(problem->message, ErrorContext{.key = "generator." + problem->key});
  }
  const Shape s = shape_of(params);
  const std::int64_t tsps_per_rack = s.nodes_per_rack * s.tsps_per_node;
  GeneratedMachine m;
  m.port_plan = PortPlan{s.local_ports, s.global_ports};

  const std::int64_t tsp_count = s.racks * tsps_per_rack;
  m.tsps.reserve(static_cast<std::size_t>(tsp_count));
  for (std::int64_t t = 0; t < tsp_count; ++t) {
    const std::int64_t node = t / s.tsps_per_node;
    const bool spare = params.kind != GeneratorKind::node && params.spare_node &&
                       node % s.nodes_per_rack == *params.spare_node;
    m.tsps.push_back(TspInfo{TspId{static_cast<std::int32_t>(t)},
                             NodeId{static_cast<std::int32_t>(node)},
                             RackId{static_cast<std::int32_t>(t / tsps_per_rack)}, spare});
  }

  const std::int64_t node_links = s.tsps_per_node * (s.tsps_per_node - 1) / 2;
  const std::int64_t rack_links =
      s.nodes_per_rack * (s.nodes_per_rack - 1) / 2 * s.links_per_node_pair;
  const std::int64_t system_links = s.racks * (s.racks - 1) / 2 * s.links_per_rack_pair;
  m.links.reserve(static_cast<std::size_t>(s.racks * s.nodes_per_rack * node_links +
                                           s.racks * rack_links + system_links));

  // In-node full mesh.
  for (std::int64_t node = 0; node < s.racks * s.nodes_per_rack; ++node) {
    const std::int64_t base = node * s.tsps_per_node;
    for (std::int64_t i = 0; i < s.tsps_per_node; ++i) {
      for (std::int64_t j = i + 1; j < s.tsps_per_node; ++j) {
        m.links.push_back(make_link(m.links.size(), base + i, rank_among_others(j, i), base + j,
                                    rank_among_others(i, j), LinkClass::local, classes));
      }
    }
  }
  // Intra-rack: every node pair, links_per_node_pair times.
  for (std::int64_t r = 0; r < s.racks; ++r) {
    const std::int64_t base = r * tsps_per_rack;
    for (std::int64_t n = 0; n < s.nodes_per_rack; ++n) {
      for (std::int64_t q = n + 1; q < s.nodes_per_rack; ++q) {
        for (std::int64_t c = 0; c < s.links_per_node_pair; ++c) {
          const RackPort a =
              intra_rack_end(s, n, rank_among_others(q, n) * s.links_per_node_pair + c);
          const RackPort b =
              intra_rack_end(s, q, rank_among_others(n, q) * s.links_per_node_pair + c);
          m.links.push_back(make_link(m.links.size(), base + a.tsp_in_rack, a.port,
                                      base + b.tsp_in_rack, b.port, LinkClass::global, classes));
        }
      }
    }
  }
  // Inter-rack: every rack pair, links_per_rack_pair times, on the racks' free global ports.
  if (s.racks > 1) {
    const std::vector<RackPort> free = free_rack_ports(s);
    for (std::int64_t r = 0; r < s.racks; ++r) {
      for (std::int64_t q = r + 1; q < s.racks; ++q) {
        for (std::int64_t c = 0; c < s.links_per_rack_pair; ++c) {
          const RackPort& a =
              free[static_cast<std::size_t>(rank_among_others(q, r) * s.links_per_rack_pair + c)];
          const RackPort& b =
              free[static_cast<std::size_t>(rank_among_others(r, q) * s.links_per_rack_pair + c)];
          m.links.push_back(make_link(m.links.size(), r * tsps_per_rack + a.tsp_in_rack, a.port,
                                      q * tsps_per_rack + b.tsp_in_rack, b.port,
                                      params.inter_rack_class, classes));
        }
      }
    }
  }
  return m;
}

Topology generate_topology(std::string name, const GeneratorParams& params, const ChipParams& chip,
                           const LinkClassTable& classes) {
  GeneratedMachine m = generate_machine(params, chip, classes);
  return Topology::assemble(std::move(name), chip, classes, m.port_plan, std::move(m.tsps),
                            std::move(m.links));
}

}  // namespace tspemu
