#pragma once
// Checks that a Program is well formed for a chip: every rule the assembler enforces on .tsa text,
// applied to the in-memory form. The assembler calls the pieces (and locates each problem at the
// offending token); bundle loading and the compiler call validate_program() on a whole Program.
// Schedule rules that need execution (stream values, bank conflicts, busy units) are the engine's.

#include <optional>
#include <span>
#include <string>

#include "common/ids.hpp"
#include "isa/chip_shape.hpp"
#include "isa/op_table.hpp"
#include "isa/program.hpp"

namespace tspemu {

// A problem found by a check. `part` says which piece of the checked thing it is about, so the
// assembler can point at that token: an operand index (-1: the instruction as a whole), a lane map
// entry index, or a DataPart.
struct Problem {
  int part = -1;
  std::string message;
};

enum class DataPart : int { name, dtype, shape, at, address, init };

// "S5E", "S0E..S15E".
[[nodiscard]] std::string stream_text(const StreamRef& stream);

// The op may be issued to the queue: "READ is not valid in queue VXM3 (MEM queues only)".
[[nodiscard]] std::optional<std::string> check_op_queue(const OpInfo& info, QueueId queue,
                                                        const ChipShape& shape);
// Element types and `.sat`: "AND does not take f16 (i8, u8, i16, i32)", ".sat is not valid for
// ADD.f16 (integer types only)". src_dtype is CVT's source type (DType::none otherwise).
[[nodiscard]] std::optional<std::string> check_op_types(const OpInfo& info, DType dtype,
                                                        DType src_dtype, bool saturate);
// Ops only a large VXM ALU executes (an fp32 -> fp16 cast: GroqAPI's linear-layer notebook) on a
// small one: "CVT.f16.f32 needs a large VXM ALU (VXM0, 2, 5, 7, 8, 10, 13, 15), not VXM3".
[[nodiscard]] bool needs_large_alu(const Instruction& instruction);
[[nodiscard]] std::optional<std::string> check_alu_class(const Instruction& instruction,
                                                         QueueId queue, const ChipShape& shape);
// Every operand against its role, plus the cross-operand rules (ROTATE/TRANSPOSE/LW counts, f16
// ABC planes, map sizes, the chip edges). Assumes check_op_queue and check_op_types passed.
[[nodiscard]] std::optional<Problem> check_operands(const Instruction& instruction, QueueId queue,
                                                    const ChipShape& shape,
                                                    std::span<const LaneMap> maps);
// Everything above, plus structure (opcode and enums in range, operand count, operand kinds):
// what a loaded bundle needs before anything indexes a table with its fields.
[[nodiscard]] std::optional<Problem> check_instruction(const Instruction& instruction,
                                                       QueueId queue, const ChipShape& shape,
                                                       std::span<const LaneMap> maps);

// A queue's issue cursor (programs/ISA.md, "Issue cycles"): starts at 0; an instruction issues at
// the cursor or at an explicit later cycle, then the cursor moves to issue + 1 (NOP n: issue + n;
// REPEAT n, d: previous issue + n*d + 1). After SYNC, DESKEW and RUNTIME_DESKEW the cursor is
// unknown until an explicit issue cycle: the engine resolves those at run time (issue_cycle -1).
class IssueCursor {
 public:
  [[nodiscard]] bool known() const { return known_; }
  // The cycle an instruction without an explicit issue cycle gets: the cursor, or -1 if unknown.
  [[nodiscard]] Cycle next() const { return known_ ? next_ : -1; }

  // Checks and applies one instruction whose issue_cycle is set (explicit, cursor, or -1).
  // previous: the queue's previous instruction (nullptr if none), for REPEAT.
  // Problems: "issue cycle @100 is before the queue's next free cycle 120", REPEAT rules.
  [[nodiscard]] std::optional<std::string> advance(const Instruction& instruction,
                                                   const Instruction* previous, QueueId queue,
                                                   const ChipShape& shape);

 private:
  Cycle next_ = 0;
  bool known_ = true;
  Cycle last_issue_ = -1;  // issue cycle of the previous instruction, -1 if unknown
};

// A PERMUTE map: lanes() entries, a bijection; a DISTRIBUTE map: 16 entries in -1..15. part: the
// offending entry's index, or -1 for the whole map.
[[nodiscard]] std::optional<Problem> check_lane_map(const LaneMap& map, const ChipShape& shape);

// A data segment on its own (shape, placement, init consistency). part: a DataPart.
[[nodiscard]] std::optional<Problem> check_data_segment(const DataSegment& data,
                                                        const ChipShape& shape);
// "data 'b' overlaps data 'a' in MEM_W3 rows 0..3" if `later` shares SRAM rows with `earlier`.
[[nodiscard]] std::optional<std::string> check_data_overlap(const DataSegment& later,
                                                            const DataSegment& earlier);

// The whole program: TSPs sorted and unique, queues sorted, unique and present on the chip, every
// instruction, issue cycles, maps, data segments and overlaps. Throws InputError located at
// `origin` (a bundle path) naming TSP, queue and instruction index, e.g.
//   "x.tspb: tsp 0, queue MEM_W3, instruction 4: address 0x2000 out of range 0..0x1fff".
void validate_program(const Program& program, const ChipShape& shape, const std::string& origin);

}  // namespace tspemu
