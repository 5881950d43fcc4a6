// The order ops are lowered in: a list schedule of the graph by critical path (docs/compiler.md,
// "Op order").
//
// Lowering an op reserves its units, streams and MEM ports at the earliest cycles they are free, so
// an op lowered earlier gets first pick. Program order would let an op that nothing waits for
// take the resources that the longest chain of dependent ops needs; instead, among the ops whose
// inputs are all lowered, the one with the longest estimated path to the end of the graph goes
// first (ties: program order). Every op still starts when its inputs are ready, whatever the
// order; the order decides who waits when two want the same resource at the same time.
#include <algorithm>
#include <set>

#include "compiler/lower/context.hpp"
#include "compiler/lower/op_table.hpp"

namespace tspemu::detail {

namespace {

std::int64_t vectors(const Tensor& t) {
  const Shape shape = t.local_shape();
  std::int64_t rows = 1;
  for (std::size_t d = 0; d + 1 < shape.size(); ++d) rows *= shape[d];
  const std::int64_t columns = shape.empty() ? 1 : shape.back();
  return rows * ((columns + kLanes - 1) / kLanes) * dtype_bytes(t.dtype);
}

}  // namespace

Cycle Lowering::estimated_cycles(const Op& op) const {
  // Orders of magnitude, not predictions: what an op costs relative to the others. `vectors`
  // counts byte planes; a VXM op streams about 16 of them per cycle (MEM ports both ways), an LW
  // 64 (the stream bound), an MXM unit one ABC per cycle.
  constexpr Cycle kLatency = 40;  // a stream's trip through the chip and back
  const Tensor& out = graph_.tensor(op.output);
  switch (op_lowering(op.kind).family) {
    case LoweringFamily::elementwise:
      return fused_into_consumer(op) ? 0 : kLatency + vectors(out) / 16;
    case LoweringFamily::matmul: {
      const Tensor& a = graph_.tensor(op.inputs[0]);
      const Shape as = a.local_shape();
      const Shape bs = graph_.tensor(op.inputs[1]).local_shape();
      const std::int64_t tiles =
          ((as.back() + kLanes - 1) / kLanes) * ((bs.back() + kLanes - 1) / kLanes);
      std::int64_t m = 1;
      for (std::size_t d = 0; d + 1 < as.size(); ++d) m *= as[d];
      const std::int64_t units = config_.shape.mxm_planes / (a.dtype == DType::f16 ? 2 : 1);
      const std::int64_t weight_cycles = tiles * kLanes * dtype_bytes(a.dtype) / 64;
      return 3 * kLatency + std::max(weight_cycles, m * tiles / units);
    }
    case LoweringFamily::reduce:
      return 2 * kLatency + vectors(graph_.tensor(op.inputs[0])) / 16;
    case LoweringFamily::data_movement:
      return kLatency + vectors(out);
    case LoweringFamily::collective:
      return 4 * kLatency + 2 * vectors(out);
  }
  return kLatency;
}

std::vector<std::int32_t> Lowering::lowering_order() const {
  const std::size_t n = graph_.ops.size();
  // Bottom level: an op's own cost plus the longest bottom level among the ops reading its result.
  std::vector<Cycle> level(n, 0);
  for (std::size_t i = n; i-- > 0;) {
    const Op& op = graph_.ops[i];
    Cycle after = 0;
    for (const std::int32_t reader : readers_[static_cast<std::size_t>(op.output)]) {
      after = std::max(after, level[static_cast<std::size_t>(reader)]);
    }
    level[i] = estimated_cycles(op) + after;
  }
  // The loader rejects a tensor used before the op producing it: ops are listed in a topological
  // order, so one backward pass computes the levels and counting unlowered producers suffices.
  std::vector<int> waiting(n, 0);
  for (std::size_t i = 0; i < n; ++i) {
    for (const std::int32_t input : graph_.ops[i].inputs) {
      if (graph_.tensor(input).producer >= 0) ++waiting[i];
    }
  }
  std::set<std::pair<Cycle, std::int32_t>> ready;  // (-level, index)
  for (std::size_t i = 0; i < n; ++i) {
    if (waiting[i] == 0) ready.emplace(-level[i], static_cast<std::int32_t>(i));
  }
  std::vector<std::int32_t> order;
  order.reserve(n);
  while (!ready.empty()) {
    const std::int32_t next = ready.begin()->second;
    ready.erase(ready.begin());
    order.push_back(next);
    for (const std::int32_t reader :
         readers_[static_cast<std::size_t>(graph_.ops[static_cast<std::size_t>(next)].output)]) {
      const Op& r = graph_.ops[static_cast<std::size_t>(reader)];
      // A reader may take the result more than once (mul(x, x)): one count per input slot.
      const auto uses = std::count(r.inputs.begin(), r.inputs.end(),
                                   graph_.ops[static_cast<std::size_t>(next)].output);
      waiting[static_cast<std::size_t>(reader)] -= static_cast<int>(uses);
      if (waiting[static_cast<std::size_t>(reader)] == 0) {
        ready.emplace(-level[static_cast<std::size_t>(reader)], reader);
      }
    }
  }
  TSPEMU_ASSERT(order.size() == n, "the op graph is acyclic");
  return order;
}

}  // namespace tspemu::detail
