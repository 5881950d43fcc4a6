// The engine's MXM rules: LW into the weight buffer, IW installs it (double-buffered), ABC
// multiplies a vector by the installed weights (int8 exact, fp16 exact dot products), ACC reads an
// accumulator onto streams.
#include <fmt/format.h>

#include <bit>

#include "chip/engine_impl.hpp"
#include "common/numerics/float_ops.hpp"

namespace tspemu {

void Engine::Impl::execute_mxm(ExecItem& item, Effect* effects) {
  [[maybe_unused]] const auto [q, instr, ops, position] = op_at(item);
  switch (instr.opcode) {
    case Opcode::lw: {
      const StreamRef& src = ops[1].stream;
      for (int i = 0; i < src.count; ++i) {
        if (options_.timing_only) {
          (void)read_stream(item, src.index + i, src.direction, position);  // checked, not copied
        } else {
          vec(item, static_cast<std::uint32_t>(i)) =
              read_stream(item, src.index + i, src.direction, position);
        }
        Effect& e = add_effect(item, effects, Effect::Kind::weight_row);
        e.unit = q.id.index;
        e.index = static_cast<std::int32_t>(ops[0].value + i);
        e.vecs[0] = vec_id(item, static_cast<std::uint32_t>(i));
      }
      return;
    }
    case Opcode::iw: {
      // The buffer as of the operand cycle; installed when IW completes (double-buffered). Only
      // this plane's weight unit touches its staging queue in this phase.
      // Timing-only: no snapshot (nullptr); the install gives placeholder weights.
      auto& staged = staged_[static_cast<std::size_t>(q.id.index)];
      const auto& buffer = planes_[static_cast<std::size_t>(q.id.index)].buffer;
      if (options_.timing_only) {
        staged.push_back(nullptr);
      } else {
        staged.push_back(buffer ? std::make_unique<std::array<Vector, kMxmRows>>(*buffer)
                                : std::make_unique<std::array<Vector, kMxmRows>>());
      }
      Effect& e = add_effect(item, effects, Effect::Kind::install);
      e.unit = q.id.index;
      return;
    }
    case Opcode::abc: {
      const int plane = q.id.index;
      const bool f16 = instr.dtype == DType::f16;
      const MxmPlane& p = planes_[static_cast<std::size_t>(plane)];
      for (int pl : {plane, plane + 1}) {
        if (pl == plane + 1 && !f16) break;
        if (!planes_[static_cast<std::size_t>(pl)].installed) {
          fail(item.queue, item.instruction, item.exec,
               fmt::format("ABC on MXM plane {}: no weights installed (no IW has completed)", pl));
        }
      }
      AccumulatorLanes& out = accumulators_[item.acc_slot];
      const StreamRef& a = ops[0].stream;
      if (options_.timing_only) {
        out.fill(0);  // timing-only: no arithmetic (the operands were checked above)
        (void)read_stream(item, a.index, a.direction, position);
        if (f16) (void)read_stream(item, a.index + 1, a.direction, position);
      } else if (f16) {
        const Vector& low = read_stream(item, a.index, a.direction, position);
        const Vector& high = read_stream(item, a.index + 1, a.direction, position);
        std::array<float, kMxmColumns> dots;
        p.installed->matvec_f16(*planes_[static_cast<std::size_t>(plane + 1)].installed, low, high,
                                dots, alone_in_cycle_);
        for (std::size_t n = 0; n < kMxmColumns; ++n)
          out[n] = std::bit_cast<std::uint32_t>(dots[n]);
      } else {
        const Vector& act = read_stream(item, a.index, a.direction, position);
        std::span<std::int32_t, kMxmColumns> dst(reinterpret_cast<std::int32_t*>(out.data()),
                                                 kMxmColumns);
        p.installed->matvec_int8(act, instr.dtype != DType::u8, dst);
      }
      Effect& e = add_effect(item, effects, Effect::Kind::accumulate);
      e.unit = static_cast<std::int16_t>(plane);
      e.index = static_cast<std::int32_t>(ops[1].value);
      e.clear = instr.operand_count > 2 && ops[2].value != 0;
      e.floating = f16;
      e.vecs[0] = item.acc_slot;
      return;
    }
    case Opcode::acc: {
      // Read (and, with clear, reset) the accumulator at the operand cycle. Only this plane's ACC
      // touches its accumulators in this phase: ABC results are added in the landing step.
      MxmPlane& p = planes_[static_cast<std::size_t>(q.id.index)];
      AccumulatorLanes& acc = p.accumulators[static_cast<std::size_t>(ops[1].value)];
      for (std::uint32_t b = 0; b < 4 && !options_.timing_only; ++b) {
        Vector& plane_bytes = vec(item, b);
        for (std::size_t n = 0; n < kVectorBytes; ++n) {
          plane_bytes.bytes[n] = static_cast<std::uint8_t>(acc[n] >> (8 * b));
        }
      }
      if (instr.operand_count > 2 && ops[2].value != 0) acc.fill(0);
      emit_streams(item, effects, ops[0].stream, 4, position, 0);
      return;
    }
    default:
      TSPEMU_ASSERT(false, "MXM op without an execution rule");
  }
}

}  // namespace tspemu
