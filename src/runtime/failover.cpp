#include "runtime/failover.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <map>

#include "common/error.hpp"

namespace tspemu {

TspFailure parse_tsp_failure(const std::string& text) {
  const auto at = text.find('@');
  TspFailure f;
  std::int32_t tsp = -1;
  const char* begin = text.data();
  const char* end = text.data() + text.size();
  bool ok = at != std::string::npos && at > 0;
  if (ok) {
    const auto [p, ec] = std::from_chars(begin, begin + at, tsp);
    ok = ec == std::errc{} && p == begin + at && tsp >= 0;
  }
  if (ok) {
    const auto [p, ec] = std::from_chars(begin + at + 1, end, f.cycle);
    ok = ec == std::errc{} && p == end && at + 1 < text.size() && f.cycle >= 0;
  }
  if (!ok) {
    throw InputError(fmt::format(
        "--fail-tsp '{}': expected T@CYCLE, a TSP and the program cycle at which it fails (e.g. "
        "9@1000)",
        text));
  }
  f.tsp = TspId(tsp);
  return f;
}

Failover plan_failover(const Topology& topology, const CompiledGraph& record,
                       const TspFailure& failure, const ClockSchedule& clock) {
  if (failure.tsp.value >= static_cast<std::int32_t>(topology.tsp_count())) {
    throw InputError(fmt::format("--fail-tsp {}@{}: the topology has TSPs 0..{}", failure.tsp.value,
                                 failure.cycle, topology.tsp_count() - 1));
  }
  Failover f;
  f.record.failure = failure;
  const TspInfo& info = topology.tsp(failure.tsp);
  f.record.failed_node = info.node;
  const NodeInfo& failed = topology.node(info.node);
  const NodeInfo* spare = nullptr;
  for (const NodeInfo& n : topology.nodes()) {
    if (n.rack == failed.rack && n.spare) spare = &n;
  }
  if (spare == nullptr) {
    throw InputError(fmt::format(
        "--fail-tsp {}: rack {} of topology '{}' has no spare node to move node {} onto (a "
        "generated rack marks one with spare_node; topologies/README.md)",
        failure.tsp.value, failed.rack.value, topology.name(), failed.id.value));
  }
  if (spare->id == failed.id) {
    throw InputError(fmt::format("--fail-tsp {}: TSP {} is on the spare node {} itself",
                                 failure.tsp.value, failure.tsp.value, spare->id.value));
  }
  if (spare->tsps.size() != failed.tsps.size()) {
    throw InputError(fmt::format("--fail-tsp {}: spare node {} has {} TSPs, node {} has {}",
                                 failure.tsp.value, spare->id.value, spare->tsps.size(),
                                 failed.id.value, failed.tsps.size()));
  }
  f.record.spare_node = spare->id;
  std::map<std::int32_t, TspId> to;
  for (std::size_t i = 0; i < failed.tsps.size(); ++i) {
    f.record.remap.emplace_back(failed.tsps[i], spare->tsps[i]);
    to[failed.tsps[i].value] = spare->tsps[i];
  }
  const auto mapped = [&](TspId t) {
    const auto it = to.find(t.value);
    return it == to.end() ? t : it->second;
  };

  Graph graph = record.graph;
  const auto uses_spare = [&](std::span<const TspId> tsps) {
    return std::any_of(tsps.begin(), tsps.end(),
                       [&](TspId t) { return topology.tsp(t).node == spare->id; });
  };
  for (Tensor& t : graph.tensors) {
    if (uses_spare(t.placement.tsps)) {
      throw InputError(fmt::format(
          "--fail-tsp {}: tensor '{}' already lives on spare node {} ({}): the program uses the "
          "spare, so there is nowhere to move node {} to",
          failure.tsp.value, t.name, spare->id.value, t.placement.describe(), failed.id.value));
    }
    std::vector<TspId> tsps;
    for (TspId x : t.placement.tsps) tsps.push_back(mapped(x));
    if (!std::is_sorted(tsps.begin(), tsps.end(), [](TspId a, TspId b) { return a < b; })) {
      throw InputError(fmt::format(
          "--fail-tsp {}: moving node {} onto spare node {} would reorder the TSPs of tensor '{}' "
          "({}): tspemu remaps only when every placement keeps its order (which keeps every "
          "output bit-identical)",
          failure.tsp.value, failed.id.value, spare->id.value, t.name, t.placement.describe()));
    }
    t.placement.tsps = std::move(tsps);
  }
  for (Op& op : graph.ops) {
    for (TspId& x : op.to_tsps) x = mapped(x);
    if (!op.tsp_nodes.empty()) {
      // The combination tree follows the participants' nodes and racks: the new ones.
      const Tensor& in = graph.tensor(op.inputs.front());
      op.tsp_nodes.clear();
      op.tsp_racks.clear();
      for (TspId x : in.placement.tsps) {
        op.tsp_nodes.push_back(topology.tsp(x).node.value);
        op.tsp_racks.push_back(topology.tsp(x).rack.value);
      }
    }
  }
  f.record.lost_cycles = std::min(failure.cycle, record.predicted_cycles);
  f.recompiled = compile_graph(graph, topology, {}, clock);
  return f;
}

}  // namespace tspemu
