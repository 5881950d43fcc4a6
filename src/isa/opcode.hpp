#pragma once
// Opcodes, functional units, data types and instruction queues of the TSP ISA (programs/ISA.md).
// The per-opcode table (mnemonic, unit, operand shape, default timing) is isa/op_table.hpp; every
// consumer (assembler, engine, disassembler, docs) reads that one table.

#include <cstdint>

namespace tspemu {

enum class Unit : std::uint8_t { icu, mem, vxm, mxm, sxm, c2c };

enum class Opcode : std::uint8_t {
  // ICU: valid in every queue
  nop,
  repeat,
  sync,
  notify,
  ifetch,
  config,
  // MEM
  read,
  write,
  gather,
  scatter,
  // VXM
  add,
  sub,
  mul,
  min,
  max,
  bit_and,
  bit_or,
  bit_xor,
  shl,
  shr,
  cmp_eq,
  cmp_lt,
  cmp_le,
  select,
  neg,
  abs,
  bit_not,
  relu,
  tanh,
  exp,
  rsqrt,
  mov,
  cvt,
  // MXM
  lw,
  iw,
  abc,
  acc,
  // SXM
  shift,
  permute,
  distribute,
  rotate,
  transpose,
  // C2C
  send,
  receive,
  deskew,
  runtime_deskew,
  sac,  // appended: opcode numbers in bundles stay what they were
};
inline constexpr int kOpcodeCount = static_cast<int>(Opcode::sac) + 1;

// Element types of a vector op. Multi-byte types occupy 2 or 4 consecutive streams (byte planes).
enum class DType : std::uint8_t { none, i8, u8, i16, i32, f16, f32 };

[[nodiscard]] constexpr int dtype_bytes(DType t) {
  switch (t) {
    case DType::i8:
    case DType::u8:
      return 1;
    case DType::i16:
    case DType::f16:
      return 2;
    case DType::i32:
    case DType::f32:
      return 4;
    case DType::none:
      return 0;
  }
  return 0;
}

enum class Direction : std::uint8_t { east, west };
enum class Hemisphere : std::uint8_t { west, east };

// One instruction queue. kind + hemisphere + index identify it; the name is e.g. "MEM_W12",
// "VXM3", "SXM_E0", "MXM2.A", "C2C5" (isa/queue.hpp formats and parses names).
enum class QueueKind : std::uint8_t {
  mem,
  vxm,
  sxm,
  mxm_weights,
  mxm_activations,
  mxm_accumulate,
  c2c
};

struct QueueId {
  QueueKind kind = QueueKind::mem;
  Hemisphere hemisphere = Hemisphere::west;  // MEM and SXM; MXM plane and VXM ALU carry it in index
  std::int16_t index = 0;                    // slice, ALU, SXM unit, MXM plane or C2C port
  friend constexpr auto operator<=>(const QueueId&, const QueueId&) = default;
  template <class Archive>
  void serialize(Archive& archive) {
    archive(kind, hemisphere, index);
  }
};

}  // namespace tspemu
