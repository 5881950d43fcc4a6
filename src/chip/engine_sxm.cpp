// The engine's SXM rules: SHIFT (optionally masked), PERMUTE and DISTRIBUTE by lane maps, ROTATE,
// TRANSPOSE.
#include <fmt/format.h>

#include "chip/engine_impl.hpp"
#include "chip/sxm.hpp"

namespace tspemu {

void Engine::Impl::execute_sxm(ExecItem& item, Effect* effects) {
  [[maybe_unused]] const auto [q, instr, ops, position] = op_at(item);
  switch (instr.opcode) {
    case Opcode::shift:
    case Opcode::permute:
    case Opcode::distribute: {
      const int w = group_width(instr.dtype);
      if (options_.timing_only) {  // the reads are checked; nothing is copied or moved
        check_group(item, ops[1].stream, w, position);
        if (instr.opcode == Opcode::shift && instr.operand_count > 3 &&
            ops[3].kind == OperandKind::stream) {
          check_group(item, ops[3].stream, w, position);
        }
        emit_streams(item, effects, ops[0].stream, w, position, 0);
        return;
      }
      VectorGroup src;
      read_group(item, ops[1].stream, w, position, src);
      std::array<bool, kVectorBytes> mask{};
      const bool masked = instr.opcode == Opcode::shift && instr.operand_count > 3 &&
                          ops[3].kind == OperandKind::stream;
      if (masked) {
        VectorGroup m;
        read_group(item, ops[3].stream, w, position, m);
        for (std::size_t l = 0; l < kVectorBytes; ++l) mask[l] = m.element(l) != 0;
      }
      for (int i = 0; i < w; ++i) {
        const Vector& in = src.planes[static_cast<std::size_t>(i)];
        Vector& out = vec(item, static_cast<std::uint32_t>(i));
        if (instr.opcode == Opcode::shift) {
          const int n = static_cast<int>(ops[2].value);
          out = masked ? sxm_shift_select(in, n, mask) : sxm_shift(in, n);
        } else {
          const auto& lanes = program_.maps[static_cast<std::size_t>(ops[2].value)].lanes;
          out =
              instr.opcode == Opcode::permute ? sxm_permute(in, lanes) : sxm_distribute(in, lanes);
        }
      }
      emit_streams(item, effects, ops[0].stream, w, position, 0);
      return;
    }
    case Opcode::rotate: {
      const int n = static_cast<int>(ops[2].value);
      if (options_.timing_only) {
        check_group(item, ops[1].stream, n, position);
        emit_streams(item, effects, ops[0].stream, n * n, position, 0);
        return;
      }
      std::array<Vector, 4> in;
      for (int j = 0; j < n; ++j) {
        in[static_cast<std::size_t>(j)] =
            read_stream(item, ops[1].stream.index + j, ops[1].stream.direction, position);
      }
      std::array<Vector, 16> out;
      sxm_rotate(std::span<const Vector>(in.data(), static_cast<std::size_t>(n)), n,
                 std::span<Vector>(out.data(), static_cast<std::size_t>(n * n)));
      for (int i = 0; i < n * n; ++i)
        vec(item, static_cast<std::uint32_t>(i)) = out[static_cast<std::size_t>(i)];
      emit_streams(item, effects, ops[0].stream, n * n, position, 0);
      return;
    }
    case Opcode::transpose: {
      if (options_.timing_only) {
        check_group(item, ops[1].stream, 16, position);
        emit_streams(item, effects, ops[0].stream, 16, position, 0);
        return;
      }
      std::array<Vector, 16> in;
      for (int j = 0; j < 16; ++j) {
        in[static_cast<std::size_t>(j)] =
            read_stream(item, ops[1].stream.index + j, ops[1].stream.direction, position);
      }
      std::array<Vector, 16> out;
      sxm_transpose(in, out);
      for (std::uint32_t i = 0; i < 16; ++i) vec(item, i) = out[i];
      emit_streams(item, effects, ops[0].stream, 16, position, 0);
      return;
    }
    default:
      TSPEMU_ASSERT(false, "SXM op without an execution rule");
  }
}

}  // namespace tspemu
