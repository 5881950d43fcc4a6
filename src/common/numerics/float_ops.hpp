#pragma once
// Element-wise fp16/fp32 arithmetic of the VXM (docs/design.md section 4; docs/numerics.md).
//
// Results are IEEE 754 add/sub/mul rounded once to nearest-even, with subnormals kept (never
// flushed). fp16: the exact result is formed in double (a sum or product of two fp16 values always
// fits in 53 bits) and rounded once by integer code. fp32: the host's IEEE binary32 operation,
// which on x86-64 (SSE2 scalar code, -ffp-contract=off, default MXCSR) is exactly the IEEE
// round-to-nearest-even result; require_ieee_host_float_environment() checks that assumption.
//
// NaN rules are explicit code here, so every host gives the same bits. They are what numpy's
// float16 ops do on x86-64 (SSE rules, with the compiler's operand order), so tests/reference
// matches bit for bit; fp32 follows the same rules for consistency:
//   - a NaN operand propagates, quieted (quiet bit set; sign and payload kept, no sign flip in
//   sub);
//     if both operands are NaN (IEEE 754 leaves the choice open), add and mul return the second
//     operand's, sub, min and max the first's;
//   - an invalid operation on non-NaN operands (inf - inf, 0 * inf) gives the default NaN
//     kHalfDefaultNaN (0xfe00) / kFloatDefaultNaNBits (0xffc00000).
// min/max (numpy's np.minimum/np.maximum): NaN operands propagate by the rule above; otherwise
// min(a, b) = (a <= b ? a : b) and max(a, b) = (a >= b ? a : b), so for equal operands, including
// +0 and -0, the FIRST operand is returned.

#include <bit>
#include <cstdint>

#include "common/numerics/half.hpp"

namespace tspemu {

namespace detail {

constexpr Half quiet(Half h) {
  return Half{static_cast<std::uint16_t>(h.bits | 0x0200)};
}

// The NaN result of an fp16 operation given that an operand is a NaN: `preferred` if it is one.
constexpr Half propagate_nan(Half preferred, Half other) {
  return quiet(is_nan(preferred) ? preferred : other);
}

constexpr bool is_nan_f32(float x) {
  return (std::bit_cast<std::uint32_t>(x) & 0x7fffffff) > 0x7f800000;
}

// The NaN result of an fp32 operation whose result is NaN: `preferred` quieted if it is a NaN, else
// `other` quieted if it is one, else (an invalid operation) the default NaN.
constexpr float nan_result_f32(float preferred, float other) {
  std::uint32_t bits = kFloatDefaultNaNBits;
  if (is_nan_f32(preferred)) {
    bits = std::bit_cast<std::uint32_t>(preferred) | 0x00400000;
  } else if (is_nan_f32(other)) {
    bits = std::bit_cast<std::uint32_t>(other) | 0x00400000;
  }
  return std::bit_cast<float>(bits);
}

// Rounds an exact double result of an fp16 operation (never a NaN input: callers check first).
constexpr Half finish_f16(double exact) {
  return exact != exact ? kHalfDefaultNaN : double_to_half(exact);
}

}  // namespace detail

// ---- fp16 ---------------------------------------------------------------------------------------

[[nodiscard]] constexpr Half add_f16(Half a, Half b) {
  if (is_nan(a) || is_nan(b)) return detail::propagate_nan(b, a);
  return detail::finish_f16(half_to_double(a) + half_to_double(b));
}

[[nodiscard]] constexpr Half sub_f16(Half a, Half b) {
  if (is_nan(a) || is_nan(b)) return detail::propagate_nan(a, b);
  return detail::finish_f16(half_to_double(a) - half_to_double(b));
}

[[nodiscard]] constexpr Half mul_f16(Half a, Half b) {
  if (is_nan(a) || is_nan(b)) return detail::propagate_nan(b, a);
  return detail::finish_f16(half_to_double(a) * half_to_double(b));
}

[[nodiscard]] constexpr Half min_f16(Half a, Half b) {
  if (is_nan(a) || is_nan(b)) return detail::propagate_nan(a, b);
  return half_to_double(a) <= half_to_double(b) ? a : b;
}

[[nodiscard]] constexpr Half max_f16(Half a, Half b) {
  if (is_nan(a) || is_nan(b)) return detail::propagate_nan(a, b);
  return half_to_double(a) >= half_to_double(b) ? a : b;
}

// ---- fp32 ---------------------------------------------------------------------------------------

[[nodiscard]] constexpr float add_f32(float a, float b) {
  const float r = a + b;
  return detail::is_nan_f32(r) ? detail::nan_result_f32(b, a) : r;
}

[[nodiscard]] constexpr float sub_f32(float a, float b) {
  const float r = a - b;
  return detail::is_nan_f32(r) ? detail::nan_result_f32(a, b) : r;
}

[[nodiscard]] constexpr float mul_f32(float a, float b) {
  const float r = a * b;
  return detail::is_nan_f32(r) ? detail::nan_result_f32(b, a) : r;
}

[[nodiscard]] constexpr float min_f32(float a, float b) {
  if (detail::is_nan_f32(a) || detail::is_nan_f32(b)) return detail::nan_result_f32(a, b);
  return a <= b ? a : b;
}

[[nodiscard]] constexpr float max_f32(float a, float b) {
  if (detail::is_nan_f32(a) || detail::is_nan_f32(b)) return detail::nan_result_f32(a, b);
  return a >= b ? a : b;
}

}  // namespace tspemu
