#include "compiler/compile.hpp"

#include <fmt/format.h>

#include "common/memory_budget.hpp"
#include "compiler/lower/context.hpp"

namespace tspemu {

CompileOutput compile_graph(const Graph& graph, const Topology& topology,
                            const ProgressSink& progress, const ClockSchedule& clock) {
  // The bundle holds every TSP's initial data as literal rows, and its encoding a second copy.
  require_memory(2 * graph_tensor_bytes(graph, true),
                 fmt::format("compiling graph '{}' (the initial data of every TSP, twice: the "
                             "bundle and its encoding)",
                             graph.name));
  return detail::Lowering(graph, topology, progress, clock).run();
}

}  // namespace tspemu
