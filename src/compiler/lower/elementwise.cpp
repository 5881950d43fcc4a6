// Element-wise ops and casts, chained in the VXM (lower/vxm_chain.hpp).
//
// An element-wise op whose result only one element-wise op reads, on the same TSPs and in the same
// shape, and which is not a graph output, is not lowered on its own: its consumer takes it over,
// and the consumer of that, and so on. The last op of such a run lowers the whole expression, one
// chain per output vector: the run's stored inputs are read once, every intermediate result goes
// from ALU to ALU, and only the last is written. An intermediate tensor nothing else reads is
// never materialised (issue 11: ten chained ops on a [1, 640] tensor in about 100 cycles instead
// of 612).
#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <functional>

#include "common/error.hpp"
#include "compiler/lower/context.hpp"
#include "compiler/lower/op_table.hpp"
#include "compiler/lower/vxm_chain.hpp"
#include "isa/op_table.hpp"
#include "isa/queue.hpp"

namespace tspemu::detail {

bool Lowering::fused_into_consumer(const Op& op) const {
  if (op_lowering(op.kind).family != LoweringFamily::elementwise) return false;
  const std::int32_t out = op.output;
  const auto& readers = readers_[static_cast<std::size_t>(out)];
  if (is_output_[static_cast<std::size_t>(out)] || readers.size() != 1) return false;
  const Op& consumer = graph_.ops[static_cast<std::size_t>(readers.front())];
  if (op_lowering(consumer.kind).family != LoweringFamily::elementwise) return false;
  // Read once, in the consumer's own shape and placement (no broadcast of it).
  if (std::count(consumer.inputs.begin(), consumer.inputs.end(), out) != 1) return false;
  const Tensor& t = graph_.tensor(out);
  const Tensor& c = graph_.tensor(consumer.output);
  return t.placement.tsps == c.placement.tsps && t.local_shape() == c.local_shape();
}

void Lowering::lower_elementwise(const Op& op) {
  if (fused_into_consumer(op)) return;  // lowered with its consumer's chain
  const Tensor& out_t = graph_.tensor(op.output);
  const Shape out_shape = out_t.local_shape();
  auto& per = storage_[static_cast<std::size_t>(op.output)];
  per.resize(out_t.placement.tsps.size());
  for (std::size_t i = 0; i < out_t.placement.tsps.size(); ++i) {
    const TspId tsp = out_t.placement.tsps[i];
    TspSchedule& s = sched(tsp);
    Storage out = new_storage(s, out_t.dtype, out_shape, out_t.name);
    // The stored inputs of the fused expression, each at the output's width (a computed [R, 1]
    // is broadcast along the lanes first; a constant one is stored pre-broadcast), and whether
    // every lane beyond the last column stays +0.
    bool clean = true;
    std::map<std::int32_t, const Storage*> stored;
    std::function<void(const Op&)> collect = [&](const Op& o) {
      if (o.kind != OpKind::cast)
        clean = clean && keeps_zero_padding(o.kind, graph_.tensor(o.inputs[0]).dtype);
      for (const std::int32_t input : o.inputs) {
        const Tensor& in_t = graph_.tensor(input);
        if (in_t.producer >= 0 &&
            fused_into_consumer(graph_.ops[static_cast<std::size_t>(in_t.producer)])) {
          collect(graph_.ops[static_cast<std::size_t>(in_t.producer)]);
          continue;
        }
        if (stored.contains(input)) continue;
        const auto pos = static_cast<std::size_t>(in_t.placement.position_of(tsp));
        const Storage* st = &storage(input, pos);
        if (st->columns != out.columns) {
          if (in_t.producer < 0 && in_t.init) {
            st = &lane_broadcast_constant(input, pos, out.columns);
          } else {
            cleaned_.push_back(lane_broadcast(s, *st, out.columns, in_t.name));
            st = &cleaned_.back();
          }
        }
        clean = clean && st->padding_clean;
        stored[input] = st;
      }
    };
    collect(op);
    for (std::int64_t r = 0; r < out.rows; ++r) {
      for (std::int64_t t = 0; t < out.tiles; ++t) {
        VxmChain chain;
        // The value of tensor `tensor` at output row r (broadcast over leading axes of size 1).
        std::function<int(std::int32_t, std::int64_t)> value = [&](std::int32_t tensor,
                                                                   std::int64_t row) -> int {
          const Tensor& tt = graph_.tensor(tensor);
          if (tt.producer >= 0) {
            const Op& producer = graph_.ops[static_cast<std::size_t>(tt.producer)];
            if (&producer != &op && fused_into_consumer(producer)) {
              return expression(chain, producer, row, value);
            }
          }
          const Storage& st = *stored.at(tensor);
          auto index = row_index(row, out_shape);
          for (std::size_t d = 0; d < index.size(); ++d) {
            if (st.shape[d] == 1) index[d] = 0;
          }
          return chain.leaf(st.at(row_number(index, st.shape), t), dtype_bytes(st.dtype));
        };
        chain.store(expression(chain, op, r, value), out.at(r, t));
        chain.place(s);
      }
    }
    out.padding_clean = clean;
    per[i] = std::move(out);
  }
}

int Lowering::expression(VxmChain& chain, const Op& op, std::int64_t row,
                         const std::function<int(std::int32_t, std::int64_t)>& value) {
  const Tensor& out_t = graph_.tensor(op.output);
  const DType in_dtype = graph_.tensor(op.inputs[0]).dtype;
  Instruction instr;
  if (op.kind == OpKind::cast) {
    instr.opcode = Opcode::cvt;
    instr.dtype = out_t.dtype;
    instr.src_dtype = in_dtype;
  } else {
    instr.opcode = op_lowering(op.kind).vxm;
    instr.dtype = in_dtype;
  }
  instr.saturate = op.saturate;
  std::vector<int> operands;
  for (const std::int32_t input : op.inputs) operands.push_back(value(input, row));
  return chain.op(instr, operands, dtype_bytes(out_t.dtype));
}

}  // namespace tspemu::detail
