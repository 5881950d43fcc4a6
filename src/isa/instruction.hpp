#pragma once
// The in-memory form of one instruction, shared by the assembler, bundles, the disassembler and the
// chip's engine. Operands are decoded once at assembly time, so the engine never parses text.

#include <cstdint>
#include <vector>

#include "common/error.hpp"
#include "common/ids.hpp"
#include "isa/opcode.hpp"

namespace tspemu {

// A stream operand: first stream of an SG1/SG2/SG4 group (width from the op's dtype) or of a range.
struct StreamRef {
  std::int8_t index = 0;  // 0 .. streams_per_direction-1
  Direction direction = Direction::east;
  std::int8_t count = 1;  // streams in a range operand (S0E..S15E); 1 otherwise
  friend constexpr bool operator==(const StreamRef&, const StreamRef&) = default;
  template <class Archive>
  void serialize(Archive& archive) {
    archive(index, direction, count);
  }
};

enum class OperandKind : std::uint8_t {
  none,       // "-": no stream (VXM result kept only for chaining)
  stream,     // S5E, S0E..S15E
  alu,        // ALU3: latest result of VXM ALU 3 (chaining within a lane)
  immediate,  // #3, #-1.5: broadcast to every lane, stored as the dtype's bit pattern
  address,    // MEM address 0..8191
  integer,    // counts, rows, shift amounts, cycles, accumulator numbers, strides
  symbol,     // index into Program::maps (PERMUTE/DISTRIBUTE maps)
};

struct Operand {
  OperandKind kind = OperandKind::none;
  StreamRef stream{};
  std::int64_t value = 0;  // address, integer, ALU number, map index, or immediate bit pattern
  friend constexpr bool operator==(const Operand&, const Operand&) = default;
  template <class Archive>
  void serialize(Archive& archive) {
    archive(kind, stream, value);
  }
};

inline constexpr int kMaxOperands = 4;

// The latest cycle at which a program may issue anything (2^50 cycles: 14 days at 900 MHz). Issue
// cycles, NOP ends and REPEAT ends are checked against it when a program is assembled or a bundle
// is read, so no cycle arithmetic of the assembler, the validator or the engine can overflow.
inline constexpr Cycle kMaxIssueCycle = Cycle{1} << 50;

struct Instruction {
  Opcode opcode = Opcode::nop;
  DType dtype = DType::none;      // element type (dst type for CVT)
  DType src_dtype = DType::none;  // CVT source type
  bool saturate = false;          // `.sat` integer variants
  std::uint8_t operand_count = 0;
  Operand operands[kMaxOperands] = {};
  // Issue cycle: explicit (`@1200`) or derived from the queue cursor at assembly; -1 = "at the
  // cursor at run time" (after SYNC, whose release cycle is known only when the program runs).
  Cycle issue_cycle = -1;
  SourceLocation where;  // .tsa file:line:column, for every error about this instruction

  friend bool operator==(const Instruction& a, const Instruction& b) {
    if (a.opcode != b.opcode || a.dtype != b.dtype || a.src_dtype != b.src_dtype ||
        a.saturate != b.saturate || a.operand_count != b.operand_count ||
        a.issue_cycle != b.issue_cycle) {
      return false;
    }
    for (int i = 0; i < a.operand_count; ++i) {
      if (!(a.operands[i] == b.operands[i])) return false;
    }
    return true;
  }
  template <class Archive>
  void serialize(Archive& archive) {
    archive(opcode, dtype, src_dtype, saturate, operand_count, operands, issue_cycle, where.file,
            where.line, where.column);
  }
};

}  // namespace tspemu
