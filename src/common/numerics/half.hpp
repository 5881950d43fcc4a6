#pragma once
// IEEE 754 binary16 ("fp16") as tspemu defines it (docs/design.md section 4; policy in
// docs/numerics.md).
//
// Half is a bit pattern, not an arithmetic type: no implicit conversions, operator== compares bits
// (so a NaN equals itself and +0 != -0). Conversions are integer code, exact or rounded once to
// nearest-even, independent of the host's floating-point environment.
//
// NaN policy of the conversions (what numpy does, and what tests/reference expects): a NaN keeps
// its sign and the top bits of its payload; widening shifts the payload up, narrowing truncates it,
// and if the truncated payload would be zero it becomes 1 so the result stays a NaN. The quiet bit
// is not forced: conversions move bits, arithmetic (float_ops.hpp) quiets.

#include <bit>
#include <cstdint>

#include "common/numerics/detail/rounding.hpp"

namespace tspemu {

// Trivial on purpose (lanes are memcpy'd in and out of vectors): Half{} is +0, while `Half h;` is
// as uninitialised as any scalar.
struct Half {
  std::uint16_t bits;
  friend constexpr bool operator==(Half, Half) = default;
};
static_assert(sizeof(Half) == 2);

inline constexpr Half kHalfPositiveZero{0x0000};
inline constexpr Half kHalfNegativeZero{0x8000};
inline constexpr Half kHalfOne{0x3c00};
inline constexpr Half kHalfMax{0x7bff};  // 65504
inline constexpr Half kHalfPositiveInfinity{0x7c00};
inline constexpr Half kHalfNegativeInfinity{0xfc00};
// NaN produced by the transcendental functions (exp/tanh/rsqrt) for any NaN result.
inline constexpr Half kHalfCanonicalNaN{0x7e00};
// NaN produced by an invalid arithmetic operation (inf - inf, 0 * inf): x86's "real indefinite",
// which is what numpy on x86 (and so tests/reference) produces.
inline constexpr Half kHalfDefaultNaN{0xfe00};

// Bit patterns of fp32 values tspemu names, see the Half constants above.
inline constexpr std::uint32_t kFloatCanonicalNaNBits = 0x7fc00000;
inline constexpr std::uint32_t kFloatDefaultNaNBits = 0xffc00000;

[[nodiscard]] constexpr bool is_nan(Half h) {
  return (h.bits & 0x7c00) == 0x7c00 && (h.bits & 0x03ff) != 0;
}
[[nodiscard]] constexpr bool is_inf(Half h) {
  return (h.bits & 0x7fff) == 0x7c00;
}
[[nodiscard]] constexpr bool is_zero(Half h) {
  return (h.bits & 0x7fff) == 0;
}
[[nodiscard]] constexpr bool sign_bit(Half h) {
  return (h.bits & 0x8000) != 0;
}
[[nodiscard]] constexpr Half negate(Half h) {
  return Half{static_cast<std::uint16_t>(h.bits ^ 0x8000)};
}

// Exact (every fp16 value is an fp32 value). NaN payloads move to the top of the fp32 payload.
[[nodiscard]] constexpr float half_to_float(Half h) {
  const std::uint32_t sign = static_cast<std::uint32_t>(h.bits & 0x8000) << 16;
  std::uint32_t exponent = (h.bits >> 10) & 0x1f;
  std::uint32_t mantissa = h.bits & 0x03ff;
  if (exponent == 0x1f) return std::bit_cast<float>(sign | 0x7f800000 | (mantissa << 13));
  if (exponent == 0) {
    if (mantissa == 0) return std::bit_cast<float>(sign);
    // Subnormal m * 2^-24: normalise so the leading one becomes the hidden bit (bit 10).
    const int shift = std::countl_zero(mantissa) - 21;
    mantissa = (mantissa << shift) & 0x03ff;
    exponent = static_cast<std::uint32_t>(1 - shift);
  }
  return std::bit_cast<float>(sign | ((exponent + 112) << 23) | (mantissa << 13));
}

// Exact, like half_to_float (NaN payload to the top of the fp64 payload).
[[nodiscard]] constexpr double half_to_double(Half h) {
  const std::uint64_t sign = static_cast<std::uint64_t>(h.bits & 0x8000) << 48;
  std::uint64_t exponent = (h.bits >> 10) & 0x1f;
  std::uint64_t mantissa = h.bits & 0x03ff;
  if (exponent == 0x1f) {
    return std::bit_cast<double>(sign | 0x7ff0000000000000 | (mantissa << 42));
  }
  if (exponent == 0) {
    if (mantissa == 0) return std::bit_cast<double>(sign);
    const int shift = std::countl_zero(mantissa) - 53;
    mantissa = (mantissa << shift) & 0x03ff;
    exponent = static_cast<std::uint64_t>(1 - shift);
  }
  return std::bit_cast<double>(sign | ((exponent + 1008) << 52) | (mantissa << 42));
}

// Round to nearest, ties to even; overflow to +-inf (|x| >= 65520), gradual underflow to
// subnormals and then a signed zero.
[[nodiscard]] constexpr Half float_to_half(float x) {
  const std::uint32_t bits = std::bit_cast<std::uint32_t>(x);
  const bool negative = (bits >> 31) != 0;
  const std::uint16_t sign = negative ? 0x8000 : 0;
  const int exponent = static_cast<int>((bits >> 23) & 0xff);
  const std::uint32_t mantissa = bits & 0x007fffff;
  if (exponent == 0xff) {
    if (mantissa == 0) return Half{static_cast<std::uint16_t>(sign | 0x7c00)};
    const std::uint32_t payload = mantissa >> 13;
    return Half{static_cast<std::uint16_t>(sign | 0x7c00 | (payload != 0 ? payload : 1))};
  }
  // Common case first: a result in fp16's normal range (biased exponent 1..30).
  const int biased = exponent - 112;
  if (biased >= 1 && biased <= 30) {
    return Half{detail::round_normal<detail::Binary16, 23>(negative, biased, mantissa)};
  }
  if (exponent == 0) {
    if (mantissa == 0) return Half{sign};
    return Half{detail::round_pack<detail::Binary16>(negative, mantissa, -149)};
  }
  return Half{
      detail::round_pack<detail::Binary16>(negative, mantissa | 0x00800000, exponent - 150)};
}

// One rounding from double to fp16 (never via fp32, which could round twice). Same rules as
// float_to_half.
[[nodiscard]] constexpr Half double_to_half(double x) {
  const std::uint64_t bits = std::bit_cast<std::uint64_t>(x);
  const bool negative = (bits >> 63) != 0;
  const std::uint16_t sign = negative ? 0x8000 : 0;
  const int exponent = static_cast<int>((bits >> 52) & 0x7ff);
  const std::uint64_t mantissa = bits & 0x000fffffffffffff;
  if (exponent == 0x7ff) {
    if (mantissa == 0) return Half{static_cast<std::uint16_t>(sign | 0x7c00)};
    const auto payload = static_cast<std::uint16_t>(mantissa >> 42);
    return Half{static_cast<std::uint16_t>(sign | 0x7c00 | (payload != 0 ? payload : 1))};
  }
  const int biased = exponent - 1008;
  if (biased >= 1 && biased <= 30) {
    return Half{detail::round_normal<detail::Binary16, 52>(negative, biased, mantissa)};
  }
  if (exponent == 0) {
    if (mantissa == 0) return Half{sign};
    return Half{detail::round_pack<detail::Binary16>(negative, mantissa, -1074)};
  }
  return Half{detail::round_pack<detail::Binary16>(negative, mantissa | 0x0010000000000000,
                                                   exponent - 1075)};
}

// One rounding from double to fp32, to nearest, ties to even, in integer code (so it does not
// depend on the host's rounding mode or flush-to-zero setting). NaN rule as above.
[[nodiscard]] constexpr float double_to_float(double x) {
  const std::uint64_t bits = std::bit_cast<std::uint64_t>(x);
  const bool negative = (bits >> 63) != 0;
  const std::uint32_t sign = negative ? 0x80000000 : 0;
  const int exponent = static_cast<int>((bits >> 52) & 0x7ff);
  const std::uint64_t mantissa = bits & 0x000fffffffffffff;
  if (exponent == 0x7ff) {
    if (mantissa == 0) return std::bit_cast<float>(sign | 0x7f800000);
    const auto payload = static_cast<std::uint32_t>(mantissa >> 29);
    return std::bit_cast<float>(sign | 0x7f800000 | (payload != 0 ? payload : 1));
  }
  const int biased = exponent - 896;
  if (biased >= 1 && biased <= 254) {
    return std::bit_cast<float>(
        detail::round_normal<detail::Binary32, 52>(negative, biased, mantissa));
  }
  if (exponent == 0) {
    if (mantissa == 0) return std::bit_cast<float>(sign);
    return std::bit_cast<float>(detail::round_pack<detail::Binary32>(negative, mantissa, -1074));
  }
  return std::bit_cast<float>(detail::round_pack<detail::Binary32>(
      negative, mantissa | 0x0010000000000000, exponent - 1075));
}

}  // namespace tspemu
