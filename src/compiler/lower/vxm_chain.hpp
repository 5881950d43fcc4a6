#pragma once
// A DAG of VXM ops placed as one chain: ALU chaining inside the VXM (programs/ISA.md, "VXM": an
// operand `ALUj` is ALU j's latest result). Leaves are stored vectors, read from MEM so that each
// arrives at the VXM exactly when its consumer reads it, or immediates; an operand that is another
// op is read from that op's ALU register, which the scheduler holds until then (no other result
// lands on that ALU in between: lower/tsp_schedule.hpp); only the results asked for are written
// back to SRAM. So a chain of ten element-wise ops reads its inputs once, writes its result once,
// and pays the ALUs' latencies only, not a MEM round trip per op.
//
// Lanes move on the SXM: shift(node, d) is the node's value with lane l + d in lane l (a SHIFT on
// one of the hemisphere's SXM units, which the value reaches by stream from the VXM and leaves by
// stream back). A shifted value passes the VXM in one cycle, so the ops reading it issue exactly
// then; the SHIFTs of one value all read it as it passes the SXM, on different units.
//
// Ops issue as soon as their operands are ready. A tree of independent ops therefore runs its
// levels in parallel on different ALUs (16 per lane). Conflicts inside the chain are resolved
// before placing: an op whose stored operands share a MEM slice (one read per slice and cycle)
// first stages all but one of them in an ALU with a MOV; an op whose reads or writes would meet
// another's on a slice port or queue in the same cycle issues a cycle later.

#include <cstdint>
#include <span>
#include <vector>

#include "compiler/lower/lowering.hpp"
#include "compiler/lower/tsp_schedule.hpp"

namespace tspemu::detail {

class VxmChain {
 public:
  // Node handles are indices in creation order; an op's operands must exist before it.
  int leaf(const VectorLoc& loc, int width);
  int immediate(std::uint64_t bits);
  // instr: opcode, dtype, src_dtype, saturate (operands are filled here); width: of the result in
  // streams (bytes per element).
  int op(const Instruction& instr, std::span<const int> operands, int width);
  // Writes node's result into `dst` (dst.ready is set by place()).
  void store(int node, VectorLoc& dst);
  // node's value (an op or a leaf) with lanes moved down by `lanes` (-320 < lanes < 320: lane l of
  // the result is lane l + lanes of the value, zero beyond the edges; negative moves lanes up), by
  // a SHIFT of `dtype` on the SXM of `hemisphere`. Every shift of one node uses the same
  // hemisphere.
  int shift(int node, int lanes, Hemisphere hemisphere, DType dtype, int width);

  // Places the whole DAG as one chain at the earliest anchor >= earliest at which it fits (and at
  // which every stored leaf is ready). Returns the cycle from which every stored result is
  // readable (-1 if nothing is stored).
  Cycle place(TspSchedule& s, Cycle earliest = 0);

  [[nodiscard]] int op_count() const;

 private:
  enum class Kind : std::uint8_t { leaf, immediate, op, shift };
  struct Node {
    Kind kind = Kind::op;
    VectorLoc loc;           // leaf
    std::uint64_t bits = 0;  // immediate
    Instruction instr;       // op
    std::vector<int> operands;
    int width = 1;
    std::vector<VectorLoc*> stores;
    // shift: lanes moved down, on which SXM (the unit is the node's rank among the shifts of
    // its source).
    int lanes = 0;
    Hemisphere hemisphere = Hemisphere::west;
    int unit = 0;
  };
  std::vector<Node> nodes_;
};

}  // namespace tspemu::detail
