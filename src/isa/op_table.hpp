#pragma once
// The op table: one entry per opcode with its mnemonic, unit, the queues it may be issued to, its
// operand signature, the element types it accepts and its default timing. The assembler, the
// disassembler, the bundle validator, the chip engine and programs/ISA.md all read this one table
// (ISA.md's tables are rendered from it and a test checks they match).

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "common/ids.hpp"
#include "isa/instruction.hpp"
#include "isa/op_timing.hpp"
#include "isa/opcode.hpp"

namespace tspemu {

// What an operand slot holds; decides how it is parsed, checked and printed (programs/ISA.md,
// "Operands"). Widths of stream groups come from the instruction's dtype (1 stream if none).
enum class OperandRole : std::uint8_t {
  dst,             // stream group written: S4E (SG2/SG4 by dtype)
  dst_or_none,     // VXM result: stream group, or `-` (kept in the ALU only, for chaining)
  src,             // stream group read
  value,           // VXM source: stream group, ALU<k> or #immediate (CVT: of the source dtype)
  lane_addresses,  // GATHER/SCATTER map: SG2 stream of u16 row addresses, one per lane
  mask,            // SHIFT's optional select mask: stream group of the dtype (absent: kind none)
  dst_range,       // consecutive streams written: S0E..S15E (one stream is a range of 1)
  src_range,       // consecutive streams read
  address,         // MEM row address 0..rows-1
  weight_row,      // LW: first weight-buffer row, 0..lanes-1
  count,           // NOP cycles, REPEAT repetitions: >= 1
  spacing,         // REPEAT cycles between repetitions: >= 1
  stride,          // REPEAT address increment per repetition (signed; optional, default 0)
  lane_shift,      // SHIFT lanes north (+) or south (-)
  rotate_size,     // ROTATE block size: 3 or 4
  accumulator,     // acc0..acc3: stored as the number
  clear,           // optional keyword `clear`: integer 1 if present, 0 if absent
  lane_map,        // name of a .map: stored as the index into TspProgram::maps
  superlanes,      // CONFIG superlanes=<n>: 1..superlanes
  cycles,          // RUNTIME_DESKEW t: cycles >= 0
};

struct OperandSpec {
  OperandRole role = OperandRole::src;
  std::string_view name;  // as in the signature: "Sd", "addr", "accN"
  bool optional = false;  // trailing optional operand; absent = the role's default
};

enum class DtypeRule : std::uint8_t {
  none,      // no dtype suffix (dtype stays DType::none)
  required,  // a suffix is required (VXM ops)
  optional,  // a suffix may be given; default_dtype when absent
};

inline constexpr std::uint8_t queue_kind_bit(QueueKind kind) {
  return static_cast<std::uint8_t>(1U << static_cast<unsigned>(kind));
}
inline constexpr std::uint8_t dtype_bit(DType t) {
  return static_cast<std::uint8_t>(1U << static_cast<unsigned>(t));
}

struct OpInfo {
  Opcode opcode = Opcode::nop;
  std::string_view mnemonic;
  Unit unit = Unit::icu;
  std::uint8_t queue_kinds = 0;  // queue_kind_bit() of every queue kind it may be issued to
  std::uint8_t operand_count = 0;
  std::array<OperandSpec, kMaxOperands> operands{};
  DtypeRule dtype_rule = DtypeRule::none;
  std::uint8_t dtypes = 0;  // dtype_bit() of every allowed element type (CVT: destination)
  DType default_dtype = DType::none;
  std::uint8_t src_dtypes = 0;  // CVT only: allowed source types (a second suffix is required)
  bool saturate = false;        // `.sat` allowed (integer dtypes only)
  OpTiming timing;              // default timing (integer variant where float_timing differs)
  bool has_float_timing = false;
  OpTiming float_timing;  // f16/f32 variant of ADD SUB MUL MIN MAX
  std::string_view summary;

  [[nodiscard]] bool allows_queue(QueueKind kind) const {
    return (queue_kinds & queue_kind_bit(kind)) != 0;
  }
  [[nodiscard]] bool allows_dtype(DType t) const { return (dtypes & dtype_bit(t)) != 0; }
  [[nodiscard]] int required_operand_count() const;
};

// The entry of an opcode. Asserts that the opcode is in range (bundles are validated on load).
[[nodiscard]] const OpInfo& op_info(Opcode opcode);
// By upper-case mnemonic ("READ", "RUNTIME_DESKEW"); nullptr if there is none.
[[nodiscard]] const OpInfo* find_op(std::string_view mnemonic);
[[nodiscard]] std::span<const OpInfo> all_ops();

// "ADD.T Sd|-, a, b", "CVT.D.S Sd|-, a", "READ addr, Sd", "REPEAT n, d[, stride]".
[[nodiscard]] std::string op_signature(const OpInfo& info);

// dtype names: "i8" "u8" "i16" "i32" "f16" "f32" ("" for none).
[[nodiscard]] std::string_view dtype_name(DType t);
[[nodiscard]] std::optional<DType> parse_dtype(std::string_view name);
[[nodiscard]] constexpr bool is_float(DType t) {
  return t == DType::f16 || t == DType::f32;
}
[[nodiscard]] constexpr bool is_integer(DType t) {
  return t == DType::i8 || t == DType::u8 || t == DType::i16 || t == DType::i32;
}
[[nodiscard]] constexpr bool is_signed_integer(DType t) {
  return t == DType::i8 || t == DType::i16 || t == DType::i32;
}
// Streams a group of this element type spans: 1, 2 or 4 (1 for DType::none).
[[nodiscard]] constexpr int dtype_streams(DType t) {
  return t == DType::none ? 1 : dtype_bytes(t);
}
inline constexpr std::uint8_t kAllElementTypes = dtype_bit(DType::i8) | dtype_bit(DType::u8) |
                                                 dtype_bit(DType::i16) | dtype_bit(DType::i32) |
                                                 dtype_bit(DType::f16) | dtype_bit(DType::f32);
// "i8, u8, i16" for a dtype_bit() mask, in DType order.
[[nodiscard]] std::string dtype_list(std::uint8_t mask);

// ---- timing --------------------------------------------------------------------------------

// A row of the timing table: one per opcode, plus a `<MNEMONIC>_FP` row for the f16/f32 variants
// of ADD SUB MUL MIN MAX, whose default latency differs. These names are the keys of
// [chip.op_timing.<NAME>] in a topology.
struct TimingKey {
  std::string_view name;
  Opcode opcode = Opcode::nop;
  bool floating = false;
};
[[nodiscard]] std::span<const TimingKey> timing_keys();
// Row of timing_keys() that times this opcode with this element type.
[[nodiscard]] int timing_index(Opcode opcode, DType dtype);

// One [chip.op_timing.<NAME>] table as the topology layer read it; absent fields keep the default.
struct TimingOverride {
  std::string name;
  std::optional<Cycle> skew_cycles;
  std::optional<Cycle> func_delay_cycles;
  std::optional<Cycle> occupancy_cycles;
  SourceLocation where;  // the table header, for errors
};

// Timing of every opcode of one chip: the op table's defaults plus the topology's overrides.
class OpTimingTable {
 public:
  OpTimingTable();  // the defaults

  // Defaults plus overrides. Throws InputError located at the override:
  //   "unknown mnemonic 'REED' in [chip.op_timing]"
  //   "[chip.op_timing.IW] occupancy_cycles = 0: must be 1..1000000"
  [[nodiscard]] static OpTimingTable with_overrides(std::span<const TimingOverride> overrides);

  [[nodiscard]] const OpTiming& get(Opcode opcode, DType dtype) const {
    return rows_[static_cast<std::size_t>(timing_index(opcode, dtype))];
  }
  [[nodiscard]] const OpTiming& of(const Instruction& instruction) const {
    return get(instruction.opcode, instruction.dtype);
  }
  [[nodiscard]] const OpTiming& row(int index) const {
    return rows_.at(static_cast<std::size_t>(index));
  }
  friend bool operator==(const OpTimingTable&, const OpTimingTable&) = default;

 private:
  std::vector<OpTiming> rows_;  // by timing_index
};

// Markdown tables for programs/ISA.md (a test checks that ISA.md contains them verbatim).
[[nodiscard]] std::string render_op_table_markdown();
[[nodiscard]] std::string render_timing_table_markdown();

}  // namespace tspemu
