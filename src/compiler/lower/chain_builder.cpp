#include <algorithm>
#include <cstdlib>

#include "compiler/lower/lowering.hpp"

namespace tspemu::detail {

void set_geometry(Storage& storage, DType dtype, const Shape& shape) {
  storage.dtype = dtype;
  storage.shape = shape;
  storage.columns = shape.empty() ? 1 : shape.back();
  storage.rows = 1;
  for (std::size_t d = 0; d + 1 < shape.size(); ++d) storage.rows *= shape[d];
  storage.tiles = (storage.columns + kLanes - 1) / kLanes;
}

Operand address_operand(std::int32_t address) {
  Operand o;
  o.kind = OperandKind::address;
  o.value = address;
  return o;
}

Operand integer_operand(std::int64_t value) {
  Operand o;
  o.kind = OperandKind::integer;
  o.value = value;
  return o;
}

Operand immediate_operand(std::uint64_t bits) {
  Operand o;
  o.kind = OperandKind::immediate;
  o.value = static_cast<std::int64_t>(bits);
  return o;
}

Operand stream_placeholder() {
  Operand o;
  o.kind = OperandKind::stream;
  return o;
}

Operand none_operand() {
  return Operand{};
}

int ChainBuilder::value(Direction direction, int width, Cycle arrive_offset, int consumer_pos) {
  ChainValue v;
  v.direction = direction;
  v.width = width;
  v.diag_offset =
      direction == Direction::east ? arrive_offset - consumer_pos : arrive_offset + consumer_pos;
  for (int k = 0; k < kMaxValueWidth; ++k) {
    v.from_pos[static_cast<std::size_t>(k)] = consumer_pos;
    v.to_pos[static_cast<std::size_t>(k)] = consumer_pos;
  }
  c_.values.push_back(v);
  return static_cast<int>(c_.values.size() - 1);
}

Direction ChainBuilder::direction_from(const VectorLoc& loc, int consumer_pos) const {
  return direction(s_.slice_position(loc.group.slices[0]), consumer_pos);
}

ChainOp ChainBuilder::mem_op(Opcode opcode, int slice, std::int32_t address, int value,
                             int component) const {
  ChainOp op;
  op.queue = s_.slice_queue(slice);
  op.instr.opcode = opcode;
  op.instr.operand_count = 2;
  op.instr.operands[0] = address_operand(address);
  op.instr.operands[1] = stream_placeholder();
  op.operand_value[1] = static_cast<std::int8_t>(value);
  op.operand_component[1] = static_cast<std::int8_t>(component);
  op.mem_slice = slice;
  op.mem_address = address;
  op.mem_write = opcode == Opcode::write;
  op.mem_bank = s_.bank_of(address);
  return op;
}

void ChainBuilder::read(const VectorLoc& loc, int value, int first_plane, int count,
                        int consumer_pos, Cycle arrive_offset, Cycle& earliest) {
  for (int k = 0; k < count; ++k) {
    read_plane(loc, first_plane + k, value, k, consumer_pos, arrive_offset, earliest);
  }
}

void ChainBuilder::read_plane(const VectorLoc& loc, int plane, int value, int component,
                              int consumer_pos, Cycle arrive_offset, Cycle& earliest) {
  const OpTiming& t = timing(Opcode::read, DType::none);
  const int slice = loc.group.slices[static_cast<std::size_t>(plane)];
  const int p = s_.slice_position(slice);
  ChainOp op = mem_op(Opcode::read, slice, loc.address, value, component);
  op.offset = arrive_offset - (t.skew_cycles + t.func_delay_cycles) - std::abs(consumer_pos - p);
  // The READ's operand cycle (anchor + offset + skew) must be at or after the landing cycle.
  earliest = std::max(earliest, loc.ready - (op.offset + t.skew_cycles));
  ChainValue& v = c_.values[static_cast<std::size_t>(value)];
  v.from_pos[static_cast<std::size_t>(component)] = p;
  v.to_pos[static_cast<std::size_t>(component)] = consumer_pos;
  c_.ops.push_back(op);
}

void ChainBuilder::from(int value, int producer_pos) {
  ChainValue& v = c_.values[static_cast<std::size_t>(value)];
  for (int k = 0; k < kMaxValueWidth; ++k) v.from_pos[static_cast<std::size_t>(k)] = producer_pos;
}

Cycle ChainBuilder::write(const VectorLoc& dst, int value, int producer_pos, Cycle write_offset) {
  const OpTiming& t = timing(Opcode::write, DType::none);
  Cycle landing = 0;
  ChainValue& v = c_.values[static_cast<std::size_t>(value)];
  for (int k = 0; k < dst.group.width; ++k) {
    const int slice = dst.group.slices[static_cast<std::size_t>(k)];
    const int q = s_.slice_position(slice);
    ChainOp op = mem_op(Opcode::write, slice, dst.address, value, k);
    // Written at producer_pos in cycle anchor + write_offset, seen one position further per cycle.
    op.offset = write_offset + std::abs(q - producer_pos) - t.skew_cycles;
    op.mem_write_delay = t.skew_cycles + t.func_delay_cycles;
    landing = std::max(landing, op.offset + op.mem_write_delay);
    v.from_pos[static_cast<std::size_t>(k)] = producer_pos;
    // The value must reach the farthest of the slices it is written to.
    int& to = v.to_pos[static_cast<std::size_t>(k)];
    to = v.direction == Direction::east ? std::max(to, q) : std::min(to, q);
    c_.ops.push_back(op);
  }
  return landing;
}

int ChainBuilder::op(ChainOp op) {
  c_.ops.push_back(std::move(op));
  return static_cast<int>(c_.ops.size() - 1);
}

}  // namespace tspemu::detail
