#include "compiler/lower/op_table.hpp"

#include "common/error.hpp"
#include "compiler/lower/context.hpp"

namespace tspemu::detail {
namespace {

using F = LoweringFamily;

const OpLowering kOps[] = {
    {OpKind::matmul, F::matmul},
    {OpKind::add, F::elementwise, Opcode::add},
    {OpKind::sub, F::elementwise, Opcode::sub},
    {OpKind::mul, F::elementwise, Opcode::mul},
    {OpKind::min, F::elementwise, Opcode::min},
    {OpKind::max, F::elementwise, Opcode::max},
    {OpKind::neg, F::elementwise, Opcode::neg, false},
    {OpKind::abs, F::elementwise, Opcode::abs},
    {OpKind::relu, F::elementwise, Opcode::relu},
    {OpKind::tanh, F::elementwise, Opcode::tanh},
    {OpKind::exp, F::elementwise, Opcode::exp, false},
    {OpKind::rsqrt, F::elementwise, Opcode::rsqrt, false},
    {OpKind::cast, F::elementwise, Opcode::cvt},
    {OpKind::reduce, F::reduce},
    {OpKind::transpose, F::data_movement},
    {OpKind::reshape, F::data_movement},
    {OpKind::slice, F::data_movement},
    {OpKind::concat, F::data_movement},
    {OpKind::all_reduce, F::collective},
    {OpKind::reduce_scatter, F::collective},
    {OpKind::all_gather, F::collective},
    {OpKind::broadcast, F::collective},
    {OpKind::send, F::collective},
};

}  // namespace

const OpLowering& op_lowering(OpKind kind) {
  for (const OpLowering& row : kOps) {
    if (row.kind == kind) return row;
  }
  TSPEMU_ASSERT(false, "an op kind without a lowering row");
  return kOps[0];
}

bool keeps_zero_padding(OpKind kind, DType dtype) {
  return !is_float(dtype) || op_lowering(kind).float_keeps_zero_padding;
}

void Lowering::lower(const Op& op) {
  switch (op_lowering(op.kind).family) {
    case LoweringFamily::elementwise:
      return lower_elementwise(op);
    case LoweringFamily::matmul:
      return lower_matmul(op);
    case LoweringFamily::reduce:
      return lower_reduce(op);
    case LoweringFamily::data_movement:
      return lower_data_movement(op);
    case LoweringFamily::collective:
      return lower_collective(op);
  }
}

}  // namespace tspemu::detail
