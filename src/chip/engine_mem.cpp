// The engine's MEM rules: READ, WRITE, GATHER, SCATTER, and the bank ports (one read and one
// write per slice per cycle, never a read and a write of one bank).
#include <fmt/format.h>

#include "chip/engine_impl.hpp"

namespace tspemu {

void Engine::Impl::execute_mem(ExecItem& item, Effect* effects) {
  [[maybe_unused]] const auto [q, instr, ops, position] = op_at(item);
  switch (instr.opcode) {
    case Opcode::read: {
      const int slice = config_.slice_index(q.id.hemisphere, q.id.index);
      const int row = static_cast<int>(item.address);
      // Timing-only: whether the row was written is checked; no bytes are copied.
      const bool initialised = options_.timing_only ? sram_.initialised(slice, row)
                                                    : sram_.read(slice, row, vec(item, 0));
      if (!initialised) {
        fail(item.queue, item.instruction, item.exec,
             fmt::format("uninitialised SRAM read: {} address {} was never written and is not "
                         "declared zero-filled",
                         q.name, hex(row)));
      }
      emit_streams(item, effects, ops[1].stream, 1, position, 0);
      return;
    }
    case Opcode::write: {
      const Vector& value =
          read_stream(item, ops[1].stream.index, ops[1].stream.direction, position);
      if (!options_.timing_only) vec(item, 0) = value;  // timing-only: checked, not copied
      Effect& e = add_effect(item, effects, Effect::Kind::sram_row);
      e.unit = static_cast<std::int16_t>(config_.slice_index(q.id.hemisphere, q.id.index));
      e.index = static_cast<std::int32_t>(item.address);
      e.vecs[0] = vec_id(item, 0);
      return;
    }
    case Opcode::gather:
    case Opcode::scatter: {
      const int slice = config_.slice_index(q.id.hemisphere, q.id.index);
      const Vector& map_low =
          read_stream(item, ops[1].stream.index, ops[1].stream.direction, position);
      const Vector& map_high =
          read_stream(item, ops[1].stream.index + 1, ops[1].stream.direction, position);
      const bool gather = instr.opcode == Opcode::gather;
      const Vector* data =
          gather ? nullptr
                 : &read_stream(item, ops[0].stream.index, ops[0].stream.direction, position);
      Vector& out = vec(item, 0);
      if (options_.timing_only) {
        // The map's addresses are data, and a timing-only run has none: the stream reads above
        // are checked, but the per-lane address, bank and initialisation checks need a full run
        // (programs/ISA.md, "Timing-only runs").
        item.port_banks = 0;
        if (gather) {
          out = Vector{};
          emit_streams(item, effects, ops[0].stream, 1, position, 0);
        } else {
          add_effect(item, effects, Effect::Kind::timing_only_write);
        }
        return;
      }
      std::uint32_t banks = 0;
      for (std::size_t l = 0; l < kVectorBytes; ++l) {
        const int row = map_low.bytes[l] | (map_high.bytes[l] << 8);
        if (row >= config_.shape.mem_rows_per_slice) {
          fail(item.queue, item.instruction, item.exec,
               fmt::format("{} lane {} address {} is out of range 0..{}",
                           op_info(instr.opcode).mnemonic, l, hex(row),
                           hex(config_.shape.mem_rows_per_slice - 1)));
        }
        banks |= 1U << config_.bank_of(row);
        if (gather) {
          if (!sram_.initialised(slice, row)) {
            fail(item.queue, item.instruction, item.exec,
                 fmt::format("uninitialised SRAM read: {} address {} was never written and is "
                             "not declared zero-filled",
                             q.name, hex(row)));
          }
          const Vector* source = sram_.find_row(slice, row);
          out.bytes[l] = source != nullptr ? source->bytes[l] : 0;
        }
      }
      item.port_banks = banks;
      if (gather) {
        emit_streams(item, effects, ops[0].stream, 1, position, 0);
      } else {
        out = *data;
        vec(item, 1) = map_low;
        vec(item, 2) = map_high;
        Effect& e = add_effect(item, effects, Effect::Kind::sram_scatter);
        e.unit = static_cast<std::int16_t>(slice);
        e.vecs = {vec_id(item, 0), vec_id(item, 1), vec_id(item, 2), 0};
      }
      return;
    }
    default:
      TSPEMU_ASSERT(false, "MEM op without an execution rule");
  }
}

void Engine::Impl::reserve_ports(const ExecItem& item) {
  if (decoded_at(item.queue, item.instruction).unit != Unit::mem) return;
  const Instruction& instr = instruction_at(item.queue, item.instruction);
  const QueueState& q = queues_[static_cast<std::size_t>(item.queue)];
  const int slice = config_.slice_index(q.id.hemisphere, q.id.index);
  const bool is_read = instr.opcode == Opcode::read || instr.opcode == Opcode::gather;
  const Cycle access = is_read ? item.exec : item.land;
  std::uint32_t banks = item.port_banks;
  if (instr.opcode == Opcode::read || instr.opcode == Opcode::write) {
    banks = 1U << config_.bank_of(static_cast<int>(item.address));
  }
  // Owner: (issue cycle, opcode, queue) packed for the message about the earlier access.
  const std::int64_t owner =
      ((item.issue * 256) + static_cast<int>(instr.opcode)) * 65536 + item.queue;
  const auto conflict = ports_.reserve(
      slice, access, is_read ? BankPorts::Access::read : BankPorts::Access::write, banks, owner);
  if (!conflict) return;
  const Cycle other_issue = conflict.owner / 65536 / 256;
  const auto other_op = static_cast<Opcode>((conflict.owner / 65536) % 256);
  const std::string_view mine = op_info(instr.opcode).mnemonic;
  const std::string_view other = op_info(other_op).mnemonic;
  using Kind = BankPorts::Conflict::Kind;
  std::string message;
  if (conflict.kind == Kind::same_bank) {
    const std::uint32_t common = banks;
    int bank = 0;
    while (bank < 31 && ((common >> bank) & 1U) == 0) ++bank;
    const auto read_part = is_read
                               ? fmt::format("read ({} issued at cycle {})", mine, item.issue)
                               : fmt::format("read ({} issued at cycle {})", other, other_issue);
    const auto write_part = is_read
                                ? fmt::format("written ({} issued at cycle {})", other, other_issue)
                                : fmt::format("written ({} issued at cycle {})", mine, item.issue);
    message =
        fmt::format("MEM bank conflict in cycle {}: {} bank {} is {} and {} in the same cycle",
                    access, q.name, bank, read_part, write_part);
  } else {
    const bool reads = conflict.kind == Kind::second_read;
    message = fmt::format(
        "MEM port conflict in cycle {}: {} has two {} ({} issued at cycle {}, {} issued at cycle "
        "{}); a slice {} once per cycle",
        access, q.name, reads ? "reads" : "writes", mine, item.issue, other, other_issue,
        reads ? "reads" : "writes");
  }
  fail(item.queue, item.instruction, access, message);
}

}  // namespace tspemu
