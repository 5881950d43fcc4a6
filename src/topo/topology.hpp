#pragma once
// A whole machine: chip parameters, TSPs grouped into nodes and racks, and the links between them
// (docs/design.md sections 2 and 6). Built by the loader (topo/loader.hpp) from a topology TOML,
// either explicit ([[tsp]], [[link]]) or a [generator] table (topo/generator.hpp); immutable
// afterwards.
//
// Numbering: TSPs, nodes, racks and links are dense 0..N-1 in topology order. A node is the
// 8-TSP unit that a Dragonfly treats as one virtual router; every TSP belongs to exactly one node
// and every node to exactly one rack.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/digest.hpp"
#include "common/ids.hpp"
#include "topo/chip_params.hpp"
#include "topo/clock_params.hpp"
#include "topo/link.hpp"

namespace tspemu {

struct TspInfo {
  TspId id;
  NodeId node;
  RackId rack;
  bool spare =
      false;  // its node is a rack's spare (docs/design.md section 8); still wired and routed
};

struct NodeInfo {
  NodeId id;
  RackId rack;
  bool spare = false;
  std::vector<TspId> tsps;  // ascending
};

struct RackInfo {
  RackId id;
  std::vector<NodeId> nodes;  // ascending
};

// Optional roles of the C2C ports: ports 0..local_ports-1 carry local links, the next global_ports
// carry global or optical links, and any further ports are unwired. Generators always set one
// (node: 7 local + 4 global = the 11 cabled ports of a GroqCard); explicit files may ([port_plan]).
struct PortPlan {
  std::int64_t local_ports = 0;
  std::int64_t global_ports = 0;
  friend bool operator==(const PortPlan&, const PortPlan&) = default;
};

class Topology {
 public:
  Topology() = default;

  // Derives nodes, racks and the port table from the TSPs and links and checks the invariants a
  // loader or generator must already have established with located errors (dense ids, every node
  // in one rack, ports in range and used once, no self-loops, spare flags whole per node); a
  // violation here is a tspemu bug (TSPEMU_ASSERT).
  static Topology assemble(std::string name, ChipParams chip, LinkClassTable link_classes,
                           std::optional<PortPlan> port_plan, std::vector<TspInfo> tsps,
                           std::vector<Link> links);

  // The file's `name` key, or its file name without extension. Not part of the digest.
  [[nodiscard]] const std::string& name() const { return name_; }
  [[nodiscard]] const ChipParams& chip() const { return chip_; }
  // The [clock] table (not in the digest: topo/clock_params.hpp says why).
  [[nodiscard]] const ClockParams& clock() const { return clock_; }
  void set_clock(const ClockParams& clock) { clock_ = clock; }
  // Class defaults after [link_class.*] overrides (links already carry their resolved values).
  [[nodiscard]] const LinkClassTable& link_classes() const { return link_classes_; }
  [[nodiscard]] const std::optional<PortPlan>& port_plan() const { return port_plan_; }

  [[nodiscard]] std::span<const TspInfo> tsps() const { return tsps_; }
  [[nodiscard]] std::span<const NodeInfo> nodes() const { return nodes_; }
  [[nodiscard]] std::span<const RackInfo> racks() const { return racks_; }
  [[nodiscard]] std::span<const Link> links() const { return links_; }
  [[nodiscard]] const TspInfo& tsp(TspId id) const { return tsps_.at(id.index()); }
  [[nodiscard]] const NodeInfo& node(NodeId id) const { return nodes_.at(id.index()); }
  [[nodiscard]] const RackInfo& rack(RackId id) const { return racks_.at(id.index()); }
  [[nodiscard]] const Link& link(LinkId id) const { return links_.at(id.index()); }
  [[nodiscard]] std::size_t tsp_count() const { return tsps_.size(); }
  [[nodiscard]] std::size_t node_count() const { return nodes_.size(); }
  [[nodiscard]] std::size_t rack_count() const { return racks_.size(); }
  [[nodiscard]] std::size_t link_count() const { return links_.size(); }

  // The link on a port, or nothing if the port is free. port must be < chip().c2c_ports.
  [[nodiscard]] std::optional<LinkId> link_at(TspId tsp, PortId port) const;
  // Number of ports of `tsp` that carry a link.
  [[nodiscard]] std::int64_t ports_used(TspId tsp) const;

  // XXH3-128 over a canonical serialisation of everything a program bundle may depend on: chip
  // parameters (including op_timing overrides), port plan, TSPs with node/rack/spare, and links in
  // order with endpoints, class and resolved values. Not covered: the name, descriptions, source
  // positions and how the file was written (generator or explicit), so a generated machine and its
  // explicit resolved form have the same digest. Bundles record it (docs/design.md section 5).
  [[nodiscard]] const Digest128& digest() const { return digest_; }

 private:
  std::string name_;
  ChipParams chip_;
  ClockParams clock_;
  LinkClassTable link_classes_{};
  std::optional<PortPlan> port_plan_;
  std::vector<TspInfo> tsps_;
  std::vector<NodeInfo> nodes_;
  std::vector<RackInfo> racks_;
  std::vector<Link> links_;
  std::vector<std::int32_t> port_links_;  // [tsp * c2c_ports + port] = link id, or -1 if free
  Digest128 digest_;
};

// Most TSPs a topology may hold: routing keeps an n x n byte matrix of hop counts (4 GiB here).
inline constexpr std::int64_t kMaxTsps = 65'536;

}  // namespace tspemu
