#include "topo/topology.hpp"

#include <algorithm>
#include <bit>
#include <utility>

#include "common/error.hpp"

namespace tspemu {
namespace {

std::uint64_t float_bits(double value) {
  // +0.0 and -0.0 describe the same machine.
  return std::bit_cast<std::uint64_t>(value == 0.0 ? 0.0 : value);
}

void hash_link_params(Hasher& h, const LinkParams& p) {
  h.i64(p.latency_cycles).i64(p.latency_min_cycles).i64(p.latency_max_cycles);
  h.u64(float_bits(p.bandwidth_gbps)).u64(float_bits(p.bit_error_rate));
  h.i64(p.wire_bytes_per_vector);
  // Hashed only when set, so that every digest from before the bell-shaped jitter still holds.
  if (p.jitter_std_cycles != 0.0) h.str("jitter_std").u64(float_bits(p.jitter_std_cycles));
  if (p.uncorrectable_rate != 0.0) h.str("uncorrectable").u64(float_bits(p.uncorrectable_rate));
}

Digest128 compute_digest(const ChipParams& chip, const std::optional<PortPlan>& plan,
                         std::span<const TspInfo> tsps, std::span<const Link> links) {
  Hasher h;
  // Bump the version tag whenever the serialisation below changes meaning.
  h.str("tspemu.topology.v1");
  h.str("chip").str("clock_mhz").u64(float_bits(chip.clock_mhz));
  for (const ChipIntParam& p : chip_int_params()) h.str(p.key).i64(chip.*(p.member));
  h.str("op_timing").u64(chip.op_timing.size());
  for (const auto& [mnemonic, o] : chip.op_timing) {  // std::map: sorted by name
    h.str(mnemonic);
    for (const std::optional<Cycle>* v :
         {&o.skew_cycles, &o.func_delay_cycles, &o.occupancy_cycles}) {
      h.u64(v->has_value() ? 1 : 0).i64(v->value_or(0));
    }
  }
  h.str("port_plan").u64(plan ? 1 : 0);
  if (plan) h.i64(plan->local_ports).i64(plan->global_ports);
  h.str("tsps").u64(tsps.size());
  for (const TspInfo& t : tsps) {
    h.i64(t.node.value).i64(t.rack.value).u64(t.spare ? 1 : 0);
  }
  h.str("links").u64(links.size());
  for (const Link& l : links) {
    h.i64(l.a.tsp.value).i64(l.a.port.value).i64(l.b.tsp.value).i64(l.b.port.value);
    h.u64(static_cast<std::uint64_t>(l.cls));
    hash_link_params(h, l.params);
  }
  return h.finish();
}

}  // namespace

Topology Topology::assemble(std::string name, ChipParams chip, LinkClassTable link_classes,
                            std::optional<PortPlan> port_plan, std::vector<TspInfo> tsps,
                            std::vector<Link> links) {
  TSPEMU_ASSERT(!tsps.empty(), "a topology has at least one TSP");
  TSPEMU_ASSERT(static_cast<std::int64_t>(tsps.size()) <= kMaxTsps, "TSP count checked by loader");
  Topology t;
  t.name_ = std::move(name);
  t.chip_ = std::move(chip);
  t.link_classes_ = link_classes;
  t.port_plan_ = port_plan;

  // Nodes and racks from the TSPs' ids, which must be dense.
  std::int32_t max_node = -1;
  std::int32_t max_rack = -1;
  for (std::size_t i = 0; i < tsps.size(); ++i) {
    TSPEMU_ASSERT(tsps[i].id.index() == i, "TSP ids are dense and in order");
    max_node = std::max(max_node, tsps[i].node.value);
    max_rack = std::max(max_rack, tsps[i].rack.value);
  }
  t.nodes_.resize(static_cast<std::size_t>(max_node) + 1);
  t.racks_.resize(static_cast<std::size_t>(max_rack) + 1);
  std::vector<bool> node_seen(t.nodes_.size(), false);
  for (const TspInfo& tsp : tsps) {
    TSPEMU_ASSERT(tsp.node.value >= 0 && tsp.rack.value >= 0, "node and rack ids are >= 0");
    NodeInfo& node = t.nodes_[tsp.node.index()];
    if (!node_seen[tsp.node.index()]) {
      node_seen[tsp.node.index()] = true;
      node.id = tsp.node;
      node.rack = tsp.rack;
      node.spare = tsp.spare;
    }
    TSPEMU_ASSERT(node.rack == tsp.rack, "every node lies in one rack");
    TSPEMU_ASSERT(node.spare == tsp.spare, "spare is a property of a whole node");
    node.tsps.push_back(tsp.id);
  }
  std::vector<bool> rack_seen(t.racks_.size(), false);
  for (std::size_t n = 0; n < t.nodes_.size(); ++n) {
    TSPEMU_ASSERT(node_seen[n], "node ids are dense");
    RackInfo& rack = t.racks_[t.nodes_[n].rack.index()];
    rack.id = t.nodes_[n].rack;
    rack.nodes.push_back(t.nodes_[n].id);
    rack_seen[rack.id.index()] = true;
  }
  for (bool seen : rack_seen) TSPEMU_ASSERT(seen, "rack ids are dense");

  // Port table.
  const auto ports = static_cast<std::size_t>(t.chip_.c2c_ports);
  t.port_links_.assign(tsps.size() * ports, -1);
  for (std::size_t i = 0; i < links.size(); ++i) {
    const Link& l = links[i];
    TSPEMU_ASSERT(l.id.index() == i, "link ids are dense and in order");
    TSPEMU_ASSERT(l.a.tsp != l.b.tsp, "no self-loops");
    for (const Endpoint& e : {l.a, l.b}) {
      TSPEMU_ASSERT(e.tsp.value >= 0 && e.tsp.index() < tsps.size(), "link to an existing TSP");
      TSPEMU_ASSERT(e.port.value >= 0 && e.port.index() < ports, "port within c2c_ports");
      std::int32_t& slot = t.port_links_[e.tsp.index() * ports + e.port.index()];
      TSPEMU_ASSERT(slot < 0, "a port carries one link");
      slot = static_cast<std::int32_t>(i);
    }
  }

  t.tsps_ = std::move(tsps);
  t.links_ = std::move(links);
  t.digest_ = compute_digest(t.chip_, t.port_plan_, t.tsps_, t.links_);
  return t;
}

std::optional<LinkId> Topology::link_at(TspId tsp, PortId port) const {
  const auto ports = static_cast<std::size_t>(chip_.c2c_ports);
  TSPEMU_ASSERT(port.value >= 0 && port.index() < ports, "port within c2c_ports");
  const std::int32_t id = port_links_.at(tsp.index() * ports + port.index());
  if (id < 0) return std::nullopt;
  return LinkId{id};
}

std::int64_t Topology::ports_used(TspId tsp) const {
  const auto ports = static_cast<std::size_t>(chip_.c2c_ports);
  std::int64_t used = 0;
  for (std::size_t p = 0; p < ports; ++p) used += port_links_.at(tsp.index() * ports + p) >= 0;
  return used;
}

}  // namespace tspemu
