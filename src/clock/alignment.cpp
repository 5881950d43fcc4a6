#include "clock/alignment.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <deque>

#include "clock/hac.hpp"
#include "common/error.hpp"

namespace tspemu {

SpanningTree breadth_first_tree(const Topology& topology, TspId root) {
  const auto n = topology.tsp_count();
  TSPEMU_ASSERT(root.value >= 0 && root.index() < n, "spanning tree root out of range");
  SpanningTree tree;
  tree.root = root;
  tree.parent.assign(n, -1);
  tree.parent_link.assign(n, -1);
  tree.depth.assign(n, -1);
  tree.order.reserve(n);
  tree.depth[root.index()] = 0;
  std::deque<TspId> queue{root};
  const auto ports = topology.chip().c2c_ports;
  while (!queue.empty()) {
    const TspId tsp = queue.front();
    queue.pop_front();
    tree.order.push_back(tsp);
    for (std::int64_t p = 0; p < ports; ++p) {
      const auto link_id = topology.link_at(tsp, PortId{static_cast<std::int32_t>(p)});
      if (!link_id) continue;
      const TspId child = topology.link(*link_id).far_end(tsp).tsp;
      if (tree.depth[child.index()] >= 0) continue;
      tree.parent[child.index()] = tsp.value;
      tree.parent_link[child.index()] = link_id->value;
      tree.depth[child.index()] = tree.depth[tsp.index()] + 1;
      tree.height = std::max<std::int64_t>(tree.height, tree.depth[child.index()]);
      queue.push_back(child);
    }
  }
  if (tree.order.size() != n) {
    const auto missing = std::find(tree.depth.begin(), tree.depth.end(), -1) - tree.depth.begin();
    throw InputError(fmt::format(
        "topology '{}': no chain of links joins TSP {} to TSP {} ({} of {} TSPs are unreachable), "
        "so initial program alignment cannot send it the start vector",
        topology.name(), missing, root.value, n - tree.order.size(), n));
  }
  return tree;
}

AlignmentResult emulate_initial_alignment(const Topology& topology,
                                          const AlignmentArrival& arrival) {
  AlignmentResult r;
  r.tree = breadth_first_tree(topology);
  const SpanningTree& tree = r.tree;
  const auto n = topology.tsp_count();
  r.period_cycles = topology.chip().hac_period_cycles;
  // Ideal clocks: every chip's HAC overflows at the same global cycles (offset 0). Drift mode will
  // give each TSP its own counter here.
  const HacCounter hac(r.period_cycles);

  for (std::size_t t = 0; t < n; ++t) {
    if (tree.parent_link[t] < 0) continue;
    const Link& link = topology.link(LinkId{tree.parent_link[t]});
    r.max_link_latency_cycles = std::max(r.max_link_latency_cycles, link.params.latency_max_cycles);
  }
  r.formula_cost_cycles =
      alignment_cost_cycles(r.max_link_latency_cycles, tree.height, r.period_cycles);

  // The root DESKEWs at reset: cycle 0 is a boundary, so it transmits there.
  r.root_transmit_cycle = hac.next_boundary(0);
  r.start_cycle = r.root_transmit_cycle + r.formula_cost_cycles;
  r.arrival_cycles.assign(n, r.root_transmit_cycle);
  r.receive_cycles.assign(n, r.root_transmit_cycle);
  r.start_cycles.assign(n, r.start_cycle);

  // Breadth-first order visits every parent before its children: a parent forwards the vector at
  // the boundary at which it received it.
  Cycle last_receive = r.root_transmit_cycle;
  for (const TspId tsp : tree.order) {
    const auto t = tsp.index();
    if (tree.parent[t] < 0) continue;
    const auto parent = static_cast<std::size_t>(tree.parent[t]);
    const Cycle sent = r.receive_cycles[parent];
    const Cycle arrived = arrival(LinkId{tree.parent_link[t]}, TspId{tree.parent[t]}, sent);
    TSPEMU_ASSERT(arrived > sent, "a start vector must arrive after it was sent");
    r.arrival_cycles[t] = arrived;
    r.max_arrival_latency_cycles = std::max(r.max_arrival_latency_cycles, arrived - sent);
    // The child polls its port at every epoch boundary: it RECEIVEs at the first one at or after
    // the arrival (a RECEIVE in the arrival cycle itself finds the vector).
    r.receive_cycles[t] = hac.next_boundary(arrived);
    last_receive = std::max(last_receive, r.receive_cycles[t]);
    // Starts at the announced boundary, or, having learnt of it too late, where it received it.
    r.start_cycles[t] = std::max(r.start_cycle, r.receive_cycles[t]);
  }
  r.cost_cycles = last_receive - r.root_transmit_cycle;
  const auto [lo, hi] = std::minmax_element(r.start_cycles.begin(), r.start_cycles.end());
  r.start_skew_cycles = *hi - *lo;
  return r;
}

}  // namespace tspemu
