#pragma once
// Internal to common/numerics: the one rounding routine behind every conversion that can be inexact
// (double -> fp16/fp32, fp32 -> fp16, integer -> fp16/fp32, fp -> integer). Integer arithmetic
// only, so results never depend on the host's floating-point environment (rounding mode, FTZ/DAZ).

#include <bit>
#include <cstdint>

namespace tspemu::detail {

// IEEE 754 binary interchange formats, described by their field widths.
template <class BitsT, int MantissaBits, int ExponentBits>
struct BinaryFormat {
  using Bits = BitsT;
  static constexpr int kMantissaBits = MantissaBits;  // stored fraction bits (no hidden bit)
  static constexpr int kExponentBits = ExponentBits;
  static constexpr int kBias = (1 << (ExponentBits - 1)) - 1;
  static constexpr std::uint64_t kInfBits = ((std::uint64_t{1} << ExponentBits) - 1)
                                            << MantissaBits;
  static constexpr std::uint64_t kSignBit = std::uint64_t{1} << (MantissaBits + ExponentBits);
};
using Binary16 = BinaryFormat<std::uint16_t, 10, 5>;
using Binary32 = BinaryFormat<std::uint32_t, 23, 8>;

// value >> shift, rounded to nearest, ties to even. Any shift >= 0 is allowed (>= 64 gives 0 or,
// for shift == 64 and value > 2^63, 1).
constexpr std::uint64_t shift_right_round_even(std::uint64_t value, int shift) {
  if (shift <= 0) return value;
  if (shift > 64) return 0;
  if (shift == 64) return value > (std::uint64_t{1} << 63) ? 1 : 0;
  const std::uint64_t kept = value >> shift;
  const std::uint64_t rest = value & ((std::uint64_t{1} << shift) - 1);
  const std::uint64_t half = std::uint64_t{1} << (shift - 1);
  return kept + ((rest > half || (rest == half && (kept & 1) != 0)) ? 1 : 0);
}

// The bits of Format nearest to (negative ? -1 : +1) * magnitude * 2^exponent, rounding to nearest,
// ties to even, with gradual underflow (subnormals, then a signed zero) and overflow to a signed
// infinity. magnitude must be non-zero; exponent may be anything a double or int64 can produce.
template <class Format>
constexpr typename Format::Bits round_pack(bool negative, std::uint64_t magnitude, int exponent) {
  constexpr int kPrecision = Format::kMantissaBits + 1;
  const int leading_zeros = std::countl_zero(magnitude);
  const std::uint64_t normalized = magnitude << leading_zeros;  // bit 63 set
  // normalized * 2^(exponent - leading_zeros) lies in [2^top, 2^(top + 1)).
  const int top = exponent + 63 - leading_zeros;
  int biased = top + Format::kBias;
  int shift = 64 - kPrecision;
  if (biased < 1) {  // subnormal range: the quantum stays 2^(1 - bias - mantissa bits)
    shift += 1 - biased;
    biased = 1;
  }
  std::uint64_t bits = 0;
  if (biased >= static_cast<int>(Format::kInfBits >> Format::kMantissaBits)) {
    bits = Format::kInfBits;
  } else {
    // The significand keeps its hidden bit, so a carry out of rounding (or out of the subnormal
    // range) moves into the exponent field by itself.
    bits = (static_cast<std::uint64_t>(biased - 1) << Format::kMantissaBits) +
           shift_right_round_even(normalized, shift);
    if (bits > Format::kInfBits) bits = Format::kInfBits;
  }
  return static_cast<typename Format::Bits>(bits | (negative ? Format::kSignBit : 0));
}

// Fast path of round_pack for a normal binary source (hidden bit implied) whose result is a normal
// value of Format: `biased` is the result's biased exponent (1 <= biased < max), `fraction` the
// source's stored fraction with SourceFractionBits bits. A carry out of rounding rolls into the
// exponent, up to the infinity pattern, which is the correct overflow result.
template <class Format, int SourceFractionBits>
constexpr typename Format::Bits round_normal(bool negative, int biased, std::uint64_t fraction) {
  constexpr int kDrop = SourceFractionBits - Format::kMantissaBits;
  constexpr std::uint64_t kHalf = std::uint64_t{1} << (kDrop - 1);
  const std::uint64_t kept =
      (static_cast<std::uint64_t>(biased) << Format::kMantissaBits) | (fraction >> kDrop);
  const std::uint64_t rest = fraction & ((std::uint64_t{1} << kDrop) - 1);
  const std::uint64_t round_up = (rest > kHalf || (rest == kHalf && (kept & 1) != 0)) ? 1 : 0;
  return static_cast<typename Format::Bits>((kept + round_up) | (negative ? Format::kSignBit : 0));
}

}  // namespace tspemu::detail
