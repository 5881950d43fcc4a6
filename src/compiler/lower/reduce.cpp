// reduce along any axis.
#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>

#include "common/error.hpp"
#include "compiler/lower/context.hpp"
#include "isa/op_table.hpp"
#include "isa/queue.hpp"

namespace tspemu::detail {

void Lowering::lower_reduce(const Op& op) {
  const Tensor& in_t = graph_.tensor(op.inputs[0]);
  const Tensor& out_t = graph_.tensor(op.output);
  const Shape in_shape = in_t.local_shape();
  const auto axis = static_cast<std::size_t>(op.axis);
  if (axis + 1 == in_shape.size()) return lower_lane_reduce(op);
  auto& per = storage_[static_cast<std::size_t>(op.output)];
  per.resize(out_t.placement.tsps.size());
  for (std::size_t i = 0; i < out_t.placement.tsps.size(); ++i) {
    TspSchedule& s = sched(out_t.placement.tsps[i]);
    const Storage& x =
        storage(op.inputs[0],
                static_cast<std::size_t>(in_t.placement.position_of(out_t.placement.tsps[i])));
    Storage out = new_storage(s, out_t.dtype, out_t.local_shape(), out_t.name);
    const int width = dtype_bytes(x.dtype);
    Instruction instr;
    instr.opcode = reduce_opcode(op.reduce_fn);
    instr.dtype = x.dtype;
    instr.saturate = op.saturate;
    const std::int64_t n = in_shape[axis];
    for (std::int64_t r = 0; r < out.rows; ++r) {
      auto index = row_index(r, out.shape);
      for (std::int64_t t = 0; t < out.tiles; ++t) {
        // acc = x[0]; acc = op(acc, x[j]) for j = 1 .. n-1: every step a VXM op, in order.
        index[axis] = 0;
        VectorLoc acc_loc = x.at(row_number(index, in_shape), t);
        VectorLoc temp;
        if (n == 1) {
          copy_vector(s, acc_loc, width, out.at(r, t));
          continue;
        }
        for (std::int64_t j = 1; j < n; ++j) {
          index[axis] = j;
          VectorLoc& dst = j + 1 == n ? out.at(r, t) : temp;
          if (j + 1 < n) {
            dst = scratch_vector(s, width);
          }
          const VxmInput inputs[2] = {{&acc_loc, 0, width},
                                      {&x.at(row_number(index, in_shape), t), 0, width}};
          vxm_op(s, instr, inputs, width, dst);
          acc_loc = dst;
        }
      }
    }
    out.padding_clean = x.padding_clean;
    per[i] = std::move(out);
  }
}

// Reduce along the last axis: transpose, fold the rows in ascending order (lane-parallel over the
// original rows), transpose back. acc = x[.., 0]; acc = op(acc, x[.., c]) for c = 1 .. C-1.
void Lowering::lower_lane_reduce(const Op& op) {
  const Tensor& in_t = graph_.tensor(op.inputs[0]);
  const Tensor& out_t = graph_.tensor(op.output);
  auto& per = storage_[static_cast<std::size_t>(op.output)];
  per.resize(out_t.placement.tsps.size());
  for (std::size_t i = 0; i < out_t.placement.tsps.size(); ++i) {
    TspSchedule& s = sched(out_t.placement.tsps[i]);
    const Storage& x =
        storage(op.inputs[0],
                static_cast<std::size_t>(in_t.placement.position_of(out_t.placement.tsps[i])));
    const int width = dtype_bytes(x.dtype);
    if (x.columns == 1) {
      Storage out = new_storage(s, out_t.dtype, out_t.local_shape(), out_t.name);
      for (std::int64_t r = 0; r < x.rows; ++r) copy_vector(s, x.at(r, 0), width, out.at(r, 0));
      per[i] = std::move(out);
      continue;
    }
    const Storage columns = transpose_2d(s, x, out_t.name);  // [C, R]
    Storage folded = new_storage(s, x.dtype, Shape{1, x.rows}, fmt::format("_{}_fold", out_t.name));
    Instruction instr;
    instr.opcode = reduce_opcode(op.reduce_fn);
    instr.dtype = x.dtype;
    instr.saturate = op.saturate;
    for (std::int64_t t = 0; t < columns.tiles; ++t) {
      VectorLoc acc = columns.at(0, t);
      for (std::int64_t c = 1; c < x.columns; ++c) {
        VectorLoc temp;
        VectorLoc& dst = c + 1 == x.columns ? folded.at(0, t) : temp;
        if (c + 1 < x.columns) temp = scratch_vector(s, width);
        const VxmInput inputs[2] = {{&acc, 0, width}, {&columns.at(c, t), 0, width}};
        vxm_op(s, instr, inputs, width, dst);
        acc = dst;
      }
    }
    Storage result = transpose_2d(s, folded, out_t.name);  // [R, 1]
    result.shape = out_t.local_shape();
    per[i] = std::move(result);
  }
}

}  // namespace tspemu::detail
