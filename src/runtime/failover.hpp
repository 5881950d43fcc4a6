#pragma once
// Spare-node failover (docs/design.md section 8; ISCA'22: every rack keeps a spare node and the
// runtime moves a failed node's work onto it). `tspemu run --fail-tsp T@CYCLE` declares that TSP T
// fails permanently at program cycle CYCLE. The run then:
//   1. finds T's node and the spare node of T's rack (the topology marks it), and maps the failed
//      node's TSPs onto the spare's, in order (the i-th TSP of one onto the i-th of the other);
//   2. rewrites the bundle's graph (compiled bundles only: their record holds it) with every
//      placement, destination and collective's node/rack list remapped, and compiles it again for
//      the same topology (and clocks) — the compiled schedule of the new placement;
//   3. runs that program from the start, as the real system reruns the inference: the work up to
//      the failure is lost.
// It refuses, located and clear, when the bundle is not compiled from a graph, when the rack has
// no spare node, when the failed node is the spare or the program already uses the spare, or when
// the remap would reorder a tensor's TSPs (a placement is an ordered list, and keeping the order
// is what keeps every output bit-identical: slice i stays slice i, reductions combine in the same
// order). A pure function of its inputs: every rank computes the same remap and program.

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/ids.hpp"
#include "compiler/compile.hpp"
#include "compiler/compiled_graph.hpp"
#include "topo/topology.hpp"

namespace tspemu {

struct TspFailure {
  TspId tsp;
  Cycle cycle = 0;
};

// "T@CYCLE" (the --fail-tsp value); InputError naming the option otherwise.
[[nodiscard]] TspFailure parse_tsp_failure(const std::string& text);

// What the report says about a failover.
struct FailoverRecord {
  TspFailure failure;
  NodeId failed_node;
  NodeId spare_node;
  std::vector<std::pair<TspId, TspId>> remap;  // failed node's TSP -> spare node's, ascending
  Cycle lost_cycles = 0;  // the work up to the failure (at most the original program's length)
};

struct Failover {
  FailoverRecord record;
  CompileOutput recompiled;
};

// Plans and compiles the failover of `record`'s graph (see above). Throws InputError.
[[nodiscard]] Failover plan_failover(const Topology& topology, const CompiledGraph& record,
                                     const TspFailure& failure, const ClockSchedule& clock);

}  // namespace tspemu
