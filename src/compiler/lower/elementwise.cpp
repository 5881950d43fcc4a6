// Element-wise ops and casts: one VXM op per vector.
#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>

#include "common/error.hpp"
#include "compiler/lower/context.hpp"
#include "compiler/lower/op_table.hpp"
#include "isa/op_table.hpp"
#include "isa/queue.hpp"

namespace tspemu::detail {

void Lowering::lower_elementwise(const Op& op) {
  const Tensor& out_t = graph_.tensor(op.output);
  const Shape out_shape = out_t.local_shape();
  auto& per = storage_[static_cast<std::size_t>(op.output)];
  per.resize(out_t.placement.tsps.size());
  for (std::size_t i = 0; i < out_t.placement.tsps.size(); ++i) {
    TspSchedule& s = sched(out_t.placement.tsps[i]);
    Storage out = new_storage(s, out_t.dtype, out_shape, out_t.name);
    bool clean = true;
    std::vector<const Storage*> ins;
    for (std::int32_t input : op.inputs) {
      const Tensor& in_t = graph_.tensor(input);
      const std::size_t pos =
          static_cast<std::size_t>(in_t.placement.position_of(out_t.placement.tsps[i]));
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
      ins.push_back(st);
    }
    const DType in_dtype = ins[0]->dtype;
    Instruction instr;
    if (op.kind == OpKind::cast) {
      instr.opcode = Opcode::cvt;
      instr.dtype = out_t.dtype;
      instr.src_dtype = in_dtype;
      instr.saturate = op.saturate;
    } else {
      instr.opcode = op_lowering(op.kind).vxm;
      instr.dtype = in_dtype;
      instr.saturate = op.saturate;
      clean = clean && keeps_zero_padding(op.kind, in_dtype);
    }
    std::vector<std::vector<std::int64_t>> row_maps;
    for (const Storage* st : ins) {
      std::vector<std::int64_t> map(static_cast<std::size_t>(out.rows));
      for (std::int64_t r = 0; r < out.rows; ++r) {
        auto index = row_index(r, out_shape);
        for (std::size_t d = 0; d < index.size(); ++d) {
          if (st->shape[d] == 1) index[d] = 0;
        }
        map[static_cast<std::size_t>(r)] = row_number(index, st->shape);
      }
      row_maps.push_back(std::move(map));
    }
    for (std::int64_t r = 0; r < out.rows; ++r) {
      for (std::int64_t t = 0; t < out.tiles; ++t) {
        std::vector<VxmInput> inputs;
        for (std::size_t k = 0; k < ins.size(); ++k) {
          inputs.push_back(
              {&ins[k]->at(row_maps[k][static_cast<std::size_t>(r)], t), 0, dtype_bytes(in_dtype)});
        }
        vxm_op(s, instr, inputs, dtype_bytes(out_t.dtype), out.at(r, t));
      }
    }
    out.padding_clean = clean;
    per[i] = std::move(out);
  }
}

}  // namespace tspemu::detail
