#pragma once
// Program -> .tsa text. The output reassembles to an equal Program (assemble(disassemble(p)) == p
// for every program the assembler produced; equality ignores source locations): every instruction
// with a known issue cycle carries an explicit `@N`, data keeps its init recipe, floats print as
// the shortest decimal that reads back to the same bits (NaNs as hex bit patterns).

#include <functional>
#include <span>
#include <string>

#include "isa/op_table.hpp"
#include "isa/program.hpp"

namespace tspemu {

struct DisassembleOptions {
  // Annotate every instruction with `; issue T | operands T+skew | result T+skew+d | busy [T,
  // T+occ) | sweep done ...` from this timing table (the defaults if null).
  bool timing = false;
  const OpTimingTable* timing_table = nullptr;
  int superlanes = 20;  // for the superlane-sweep column: done = result + superlanes - 1
  // A comment for instruction `index` of the program's `queue`-th queue of `tsp` (empty: none),
  // appended as `; <text>` (after the timing annotation): the compiler's graph op, for one.
  std::function<std::string(TspId tsp, std::size_t queue, std::size_t index)> annotate;
};

[[nodiscard]] std::string disassemble(const Program& program,
                                      const DisassembleOptions& options = {});

// One instruction without issue cycle: "ADD.i8.sat S4E, S0E, #3", "PERMUTE S2E, S0E, rev". Map
// operands print by name when `maps` has them (else "map#<index>"). For messages and traces.
[[nodiscard]] std::string disassemble_instruction(const Instruction& instruction,
                                                  std::span<const LaneMap> maps = {});

}  // namespace tspemu
