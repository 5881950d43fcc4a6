#pragma once
// The VXM's element-wise operations as pure functions on vector operands (programs/ISA.md
// "VXM"; meanings in isa/op_table.cpp; numerics in common/numerics, never the host libm).
//
// Every op works on all 320 lanes. Operands are bit patterns of the op's element type (CVT: the
// source type), gathered from byte planes (chip/vector_group.hpp); the result has the op's element
// type (CVT: the destination type).
//
//   ADD SUB MUL     integers modulo 2^n, or saturating with .sat; floats IEEE, nearest-even
//   MIN MAX         integers by value; floats by common/numerics/float_ops.hpp (NaN propagates,
//                   equal operands give the first)
//   AND OR XOR NOT  integers, bitwise
//   SHL SHR         integers; the count is lane b read as unsigned; counts >= the width shift
//                   everything out; SHR is arithmetic for i8/i16/i32, logical for u8
//   CMPEQ CMPLT CMPLE  mask: all ones of the element width if true, else 0 (floats: IEEE compare,
//                   false if either is NaN)
//   SELECT mask, a, b  per lane: mask != 0 ? a : b
//   NEG ABS         integers modulo (NEG/ABS of the minimum is the minimum); floats flip/clear the
//                   sign bit (NaN payloads kept)
//   RELU            integers max(a, 0); floats max_f(a, +0) (float_ops.hpp: -0 stays -0, NaN
//                   propagates)
//   TANH EXP RSQRT  f16/f32, common/numerics/transcendental.hpp
//   MOV             copy
//   CVT.D.S         int -> int: modulo (truncate / extend), .sat clamps; int -> float:
//   nearest-even;
//                   float -> int: nearest-even, saturating, NaN -> 0 (u8: through i16 then clamped
//                   to 0..255, the same value); f16 <-> f32 as common/numerics/half.hpp
// Unsupported combinations (the assembler rejects them: op_table.hpp's dtype rules) throw Error
// internal.

#include <span>

#include "chip/vector_group.hpp"
#include "isa/opcode.hpp"

namespace tspemu {

struct VxmOp {
  Opcode opcode = Opcode::mov;
  DType dtype = DType::i8;        // element type (CVT: destination)
  DType src_dtype = DType::none;  // CVT: source
  bool saturate = false;
};

// operands: a (unary), a, b (binary), mask, a, b (SELECT). Each has the element width the op reads.
[[nodiscard]] VectorGroup vxm_compute(const VxmOp& op,
                                      std::span<const VectorGroup* const> operands);

// Operands the op reads: 1, 2 or 3.
[[nodiscard]] int vxm_operand_count(Opcode opcode);

}  // namespace tspemu
