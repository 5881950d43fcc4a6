#pragma once
// Exact fp16 x fp16 dot products rounded once to fp32: the MXM's fp16 mode (docs/design.md section
// 4; programs/ISA.md, "MXM": "f16 x f16 -> exact sum, rounded ONCE to f32 (RNE)").
//
// Why exact: a finite binary16 value is m * 2^(u - 24) with an integer significand |m| < 2^11 and
// u = max(biased exponent, 1) - 1 in [0, 29]. A product of two is (m1 * m2) * 2^(u1 + u2 - 48): an
// integer multiple of 2^-48 below 2^32 in magnitude. So a fixed-point accumulator whose least
// significant bit is 2^-48 holds every product and every sum of products exactly (a signed 128-bit
// integer has room for 2^(127 - 80) = 2^47 terms). The sum is rounded once to binary32, to nearest,
// ties to even. The result therefore does not depend on the order of the terms: that is what lets
// the emulator split a dot product over lanes or threads and stay bit-exact.
//
// Special values (defined by tspemu, order-independent):
//   - any NaN operand, or a product inf * 0, or +inf and -inf products in one sum -> NaN
//     (kFloatDefaultNaNBits, the x86 "invalid" NaN that float_ops.hpp also produces);
//   - otherwise any infinite product -> an infinity of that sign;
//   - an exact zero sum is +0, except that a sum whose every product is -0 is -0 (what IEEE
//     addition gives in any order). An empty sum is +0.
// A finite sum never overflows fp32 (|sum| < 2^32 * n) and never needs fp32 subnormals
// (nonzero |sum| >= 2^-48).

#include <bit>
#include <cstddef>
#include <cstdint>
#include <span>

#include "common/numerics/half.hpp"

namespace tspemu {

__extension__ using ExactInt128 = __int128;
__extension__ using ExactUInt128 = unsigned __int128;

// A finite binary16 value as significand and scale: value = significand * 2^(scale - 24).
struct F16Parts {
  std::int16_t significand = 0;  // |significand| < 2^11, sign included (a zero of either sign is 0)
  std::uint8_t scale = 0;        // 0 .. 29
};

// Finite inputs only (callers test is_nan / is_inf first).
[[nodiscard]] constexpr F16Parts decompose_f16(Half h) {
  const int biased = (h.bits >> 10) & 0x1f;
  int magnitude = h.bits & 0x03ff;
  if (biased != 0) magnitude |= 0x0400;
  const int scale = biased == 0 ? 0 : biased - 1;
  const int significand = sign_bit(h) ? -magnitude : magnitude;
  return F16Parts{static_cast<std::int16_t>(significand), static_cast<std::uint8_t>(scale)};
}

// sum * 2^-48 rounded to the nearest binary32 (ties to even). Exact zero gives +0.
[[nodiscard]] constexpr float round_fixed48_to_float(ExactInt128 sum) {
  if (sum == 0) return 0.0F;
  const bool negative = sum < 0;
  const ExactUInt128 magnitude =
      negative ? ExactUInt128{0} - static_cast<ExactUInt128>(sum) : static_cast<ExactUInt128>(sum);
  const auto high = static_cast<std::uint64_t>(magnitude >> 64);
  const auto low = static_cast<std::uint64_t>(magnitude);
  const int top = high != 0 ? 127 - std::countl_zero(high) : 63 - std::countl_zero(low);  // msb
  // Keep 24 significant bits: shift right by top - 23 with round-to-nearest-even.
  ExactUInt128 significand = magnitude;
  int exponent = top;  // value = magnitude * 2^-48, msb at 2^(top - 48)
  if (top > 23) {
    const int shift = top - 23;
    const ExactUInt128 kept = magnitude >> shift;
    const ExactUInt128 rest = magnitude - (kept << shift);
    const ExactUInt128 half = ExactUInt128{1} << (shift - 1);
    significand = kept + ((rest > half || (rest == half && (kept & 1) != 0)) ? 1 : 0);
    if (significand == (ExactUInt128{1} << 24)) {  // rounding carried into a new bit
      significand >>= 1;
      ++exponent;
    }
  } else {
    significand <<= (23 - top);
  }
  // msb weight 2^(exponent - 48): biased exponent = exponent - 48 + 127, in [79, 168]: always
  // normal.
  const auto biased = static_cast<std::uint32_t>(exponent - 48 + 127);
  const auto fraction = static_cast<std::uint32_t>(significand) & 0x007fffffU;
  return std::bit_cast<float>((negative ? 0x80000000U : 0U) | (biased << 23) | fraction);
}

// True if a * b is -0 (one operand a zero, signs differ, neither NaN nor infinite).
[[nodiscard]] constexpr bool product_is_negative_zero(Half a, Half b) {
  const bool finite = (a.bits & 0x7c00) != 0x7c00 && (b.bits & 0x7c00) != 0x7c00;
  return finite && (is_zero(a) || is_zero(b)) && sign_bit(a) != sign_bit(b);
}

// Sum of 64-bit partial sums with weights 2^0 and 2^32 (units of 2^-48), as add_parts keeps them:
// the MXM's vectorised loop accumulates the same two partials for up to 512 terms.
[[nodiscard]] constexpr ExactInt128 combine_fixed48(std::int64_t low, std::int64_t high) {
  return ExactInt128{low} + (ExactInt128{high} << 32);
}

// Accumulates products exactly; result() rounds once. Any number of terms (flushes its 64-bit
// partial sums into the 128-bit total every 512 terms).
class ExactDotAccumulator {
 public:
  constexpr void add(Half a, Half b) {
    const bool a_special = (a.bits & 0x7c00) == 0x7c00;
    const bool b_special = (b.bits & 0x7c00) == 0x7c00;
    if (a_special || b_special) {
      add_special(a, b);
      return;
    }
    accumulate(decompose_f16(a), decompose_f16(b));
    if (!product_is_negative_zero(a, b)) all_negative_zero_ = false;
  }

  // Finite operands already decomposed (the MXM's fast path). Does not know the signs of zero
  // operands, so a zero sum of such terms reads as +0: callers that need the -0 rule use add() or
  // check product_is_negative_zero() themselves.
  constexpr void add_parts(F16Parts a, F16Parts b) {
    all_negative_zero_ = false;
    accumulate(a, b);
  }

  // The fp32 result (rules in the header comment).
  [[nodiscard]] constexpr float result() const {
    if (nan_ || (positive_inf_ && negative_inf_)) return std::bit_cast<float>(kFloatDefaultNaNBits);
    if (positive_inf_) return std::bit_cast<float>(0x7f800000U);
    if (negative_inf_) return std::bit_cast<float>(0xff800000U);
    const ExactInt128 sum = fixed48();
    if (sum == 0) return (terms_nonempty() && all_negative_zero_) ? -0.0F : 0.0F;
    return round_fixed48_to_float(sum);
  }

  // The exact finite sum in units of 2^-48 (no specials).
  [[nodiscard]] constexpr ExactInt128 fixed48() const {
    return total_ + combine_fixed48(low_, high_);
  }

 private:
  constexpr void accumulate(F16Parts a, F16Parts b) {
    const std::int64_t product = std::int64_t{a.significand} * std::int64_t{b.significand};
    const int shift = a.scale + b.scale;  // 0 .. 58
    // Two 64-bit partial sums (weights 2^0 and 2^32 of the 2^-48 unit): |product| < 2^22, so a
    // shifted term is below 2^53 and 512 of them below 2^62.
    if (shift < 32) {
      low_ += product * (std::int64_t{1} << shift);
    } else {
      high_ += product * (std::int64_t{1} << (shift - 32));
    }
    if (++pending_ == 512) flush();
  }

  constexpr void flush() {
    total_ += ExactInt128{low_} + (ExactInt128{high_} << 32);
    low_ = 0;
    high_ = 0;
    pending_ = 0;
    had_terms_ = true;
  }
  [[nodiscard]] constexpr bool terms_nonempty() const { return had_terms_ || pending_ > 0; }

  constexpr void add_special(Half a, Half b) {
    all_negative_zero_ = false;
    had_terms_ = true;
    if (is_nan(a) || is_nan(b) || is_zero(a) || is_zero(b)) {
      nan_ = true;  // NaN operand, or inf * 0
      return;
    }
    if (sign_bit(a) != sign_bit(b)) {
      negative_inf_ = true;
    } else {
      positive_inf_ = true;
    }
  }

  ExactInt128 total_ = 0;
  std::int64_t low_ = 0;
  std::int64_t high_ = 0;
  int pending_ = 0;
  bool had_terms_ = false;
  bool all_negative_zero_ = true;
  bool nan_ = false;
  bool positive_inf_ = false;
  bool negative_inf_ = false;
};

// sum_i a[i] * b[i], exact, rounded once to fp32. a and b must have the same length.
[[nodiscard]] constexpr float exact_dot_f16(std::span<const Half> a, std::span<const Half> b) {
  ExactDotAccumulator acc;
  const std::size_t n = a.size() < b.size() ? a.size() : b.size();
  for (std::size_t i = 0; i < n; ++i) acc.add(a[i], b[i]);
  return acc.result();
}

}  // namespace tspemu
