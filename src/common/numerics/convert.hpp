#pragma once
// Integer <-> floating-point conversions of the VXM's CONVERT ops (docs/design.md section 4;
// docs/numerics.md). Integer code only, so they do not depend on the host's rounding mode.
//
//   int -> fp16/fp32: round to nearest, ties to even (exact for |v| <= 2048 / 2^24); int32 values
//                     with |v| >= 65520 become +-inf in fp16.
//   fp16/fp32 -> int: round to nearest, ties to even (2.5 -> 2, -0.5 -> 0), then saturate to the
//                     target's range (+inf -> max, -inf -> min); NaN -> 0.
// fp16 <-> fp32 and double -> fp16/fp32 are in half.hpp.

#include <bit>
#include <concepts>
#include <cstdint>
#include <limits>

#include "common/numerics/detail/rounding.hpp"
#include "common/numerics/half.hpp"

namespace tspemu {

// The VXM's signed integer lane types.
template <class T>
concept LaneInt =
    std::same_as<T, std::int8_t> || std::same_as<T, std::int16_t> || std::same_as<T, std::int32_t>;

namespace detail {

constexpr std::uint64_t magnitude_of(std::int64_t v) {
  return v < 0 ? std::uint64_t{0} - static_cast<std::uint64_t>(v) : static_cast<std::uint64_t>(v);
}

// sign * significand * 2^exponent (significand < 2^24) rounded to nearest-even and saturated to T.
template <LaneInt T>
constexpr T round_saturate(bool negative, std::uint64_t significand, int exponent) {
  constexpr std::uint64_t kMaxMagnitude = static_cast<std::uint64_t>(std::numeric_limits<T>::max());
  std::uint64_t magnitude = 0;
  if (exponent >= 0) {
    // Any value >= 2^40 saturates every lane type; below that the shift is exact.
    magnitude = exponent >= 16 ? kMaxMagnitude + 2 : significand << exponent;
  } else {
    magnitude = shift_right_round_even(significand, -exponent);
  }
  if (negative)
    return magnitude > kMaxMagnitude + 1 ? std::numeric_limits<T>::min()
                                         : static_cast<T>(0 - static_cast<std::int64_t>(magnitude));
  return magnitude > kMaxMagnitude ? std::numeric_limits<T>::max() : static_cast<T>(magnitude);
}

}  // namespace detail

template <LaneInt T>
[[nodiscard]] constexpr float int_to_float(T value) {
  if (value == 0) return 0.0F;
  return std::bit_cast<float>(
      detail::round_pack<detail::Binary32>(value < 0, detail::magnitude_of(value), 0));
}

template <LaneInt T>
[[nodiscard]] constexpr Half int_to_half(T value) {
  if (value == 0) return kHalfPositiveZero;
  return Half{detail::round_pack<detail::Binary16>(value < 0, detail::magnitude_of(value), 0)};
}

template <LaneInt T>
[[nodiscard]] constexpr T float_to_int(float x) {
  const std::uint32_t bits = std::bit_cast<std::uint32_t>(x);
  const bool negative = (bits >> 31) != 0;
  const int exponent = static_cast<int>((bits >> 23) & 0xff);
  const std::uint32_t mantissa = bits & 0x007fffff;
  if (exponent == 0xff) {
    if (mantissa != 0) return 0;  // NaN
    return negative ? std::numeric_limits<T>::min() : std::numeric_limits<T>::max();
  }
  if (exponent == 0) return 0;  // zero or subnormal: |x| < 2^-126 rounds to 0
  return detail::round_saturate<T>(negative, mantissa | 0x00800000, exponent - 150);
}

template <LaneInt T>
[[nodiscard]] constexpr T half_to_int(Half h) {
  return float_to_int<T>(half_to_float(h));
}

}  // namespace tspemu
