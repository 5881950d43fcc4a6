#pragma once
// How each graph op is lowered: one row per OpKind (op_table.cpp). A new op adds its row here and
// its code in its family's file; nothing else switches on the op kind.

#include "compiler/graph.hpp"
#include "isa/opcode.hpp"

namespace tspemu::detail {

enum class LoweringFamily : std::uint8_t {
  elementwise,    // lower/elementwise.cpp
  matmul,         // lower/matmul.cpp
  reduce,         // lower/reduce.cpp
  data_movement,  // lower/data_movement.cpp
  collective,     // lower/collectives.cpp
};

struct OpLowering {
  OpKind kind;
  LoweringFamily family;
  Opcode vxm = Opcode::nop;  // element-wise ops: the VXM instruction (cast: CVT)
  // f(+0[, +0]) gives +0 bit for bit in floating point, so zero padding lanes stay zero (integers
  // always keep it). exp(0) = 1, rsqrt(0) = inf and -(+0) = -0 do not.
  bool float_keeps_zero_padding = true;
};

[[nodiscard]] const OpLowering& op_lowering(OpKind kind);

// Does the op keep +0 padding lanes +0 for this dtype?
[[nodiscard]] bool keeps_zero_padding(OpKind kind, DType dtype);

}  // namespace tspemu::detail
