// The engine's VXM rules: every element-wise op (chip/vxm.hpp computes), its operands read from
// streams, ALU registers or immediates, the result on streams and in the ALU's register.
#include <fmt/format.h>

#include "chip/engine_impl.hpp"
#include "chip/vxm.hpp"

namespace tspemu {

const Engine::Impl::AluRegister& Engine::Impl::alu_result(const ExecItem& item,
                                                          std::int64_t alu) const {
  const AluRegister& reg = alus_[static_cast<std::size_t>(alu)];
  if (!reg.valid) {
    fail(item.queue, item.instruction, item.exec,
         fmt::format("ALU{} holds no result in cycle {}", alu, item.exec));
  }
  return reg;
}

void Engine::Impl::read_value(const ExecItem& item, const Operand& operand, int count,
                              VectorGroup& out) const {
  switch (operand.kind) {
    case OperandKind::stream:
      read_group(item, operand.stream, count,
                 queues_[static_cast<std::size_t>(item.queue)].position, out);
      return;
    case OperandKind::alu: {
      out = alu_result(item, operand.value).value;
      for (int i = out.count; i < count; ++i) out.planes[static_cast<std::size_t>(i)] = Vector{};
      out.count = count;
      return;
    }
    case OperandKind::immediate:
      out = VectorGroup::broadcast(static_cast<std::uint32_t>(operand.value), count);
      return;
    default:
      TSPEMU_ASSERT(false, "VXM operand kind");
  }
}

void Engine::Impl::check_value(const ExecItem& item, const Operand& operand, int count) const {
  if (operand.kind == OperandKind::stream) {
    check_group(item, operand.stream, count,
                queues_[static_cast<std::size_t>(item.queue)].position);
  } else if (operand.kind == OperandKind::alu) {
    (void)alu_result(item, operand.value);
  }
}

void Engine::Impl::execute_vxm(ExecItem& item, Effect* effects) {
  [[maybe_unused]] const auto [q, instr, ops, position] = op_at(item);
  const VxmOp op{instr.opcode, instr.dtype, instr.src_dtype, instr.saturate};
  const int operand_count = vxm_operand_count(instr.opcode);
  const DType operand_type = instr.opcode == Opcode::cvt ? instr.src_dtype : instr.dtype;
  if (options_.timing_only) {
    // The fast path: the operands are checked, nothing is copied or computed, and the result's
    // pool vectors carry no data (a timing-only stream file and ALU register keep presence only).
    for (int i = 0; i < operand_count; ++i)
      check_value(item, ops[1 + i], dtype_bytes(operand_type));
    emit_vxm_result(item, effects, dtype_bytes(op.dtype));
    return;
  }
  std::array<VectorGroup, 3> values;
  std::array<const VectorGroup*, 3> pointers{};
  for (int i = 0; i < operand_count; ++i) {
    read_value(item, ops[1 + i], dtype_bytes(operand_type), values[static_cast<std::size_t>(i)]);
    pointers[static_cast<std::size_t>(i)] = &values[static_cast<std::size_t>(i)];
  }
  const VectorGroup result =
      vxm_compute(op, std::span<const VectorGroup* const>(pointers.data(),
                                                          static_cast<std::size_t>(operand_count)));
  for (int i = 0; i < result.count; ++i) {
    vec(item, static_cast<std::uint32_t>(i)) = result.planes[static_cast<std::size_t>(i)];
  }
  emit_vxm_result(item, effects, result.count);
}

void Engine::Impl::emit_vxm_result(ExecItem& item, Effect* effects, int count) {
  [[maybe_unused]] const auto [q, instr, ops, position] = op_at(item);
  if (ops[0].kind == OperandKind::stream) {
    emit_streams(item, effects, ops[0].stream, count, position, 0);
  }
  Effect& e = add_effect(item, effects, Effect::Kind::alu);
  e.unit = q.id.index;
  e.count = static_cast<std::uint8_t>(count);
  for (int i = 0; i < count; ++i) {
    e.vecs[static_cast<std::size_t>(i)] = vec_id(item, static_cast<std::uint32_t>(i));
  }
}

}  // namespace tspemu
