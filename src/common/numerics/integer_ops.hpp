#pragma once
// Integer element-wise ops of the VXM (docs/design.md section 4: "saturating and modulo integer
// ops"). int8/int16/int32 lanes; every function is defined for every input (no undefined behaviour:
// the arithmetic happens in a wider or unsigned type and is narrowed explicitly).
//
//   *_wrap: two's complement modulo 2^bits (INT_MIN - 1 == INT_MAX, INT_MIN * -1 == INT_MIN).
//   *_sat:  the exact result clamped to [min, max].
//   shifts: the count is unsigned; counts >= the lane width shift everything out
//           (shift_left and shift_right_logical give 0, shift_right_arithmetic gives 0 or -1).

#include <cstdint>
#include <limits>
#include <type_traits>

#include "common/numerics/convert.hpp"  // LaneInt

namespace tspemu {

namespace detail {

template <LaneInt T>
constexpr T clamp_to(std::int64_t exact) {
  if (exact < std::numeric_limits<T>::min()) return std::numeric_limits<T>::min();
  if (exact > std::numeric_limits<T>::max()) return std::numeric_limits<T>::max();
  return static_cast<T>(exact);
}

// Modulo 2^bits; C++20 defines unsigned -> signed conversion as exactly this.
template <LaneInt T>
constexpr T wrap_to(std::uint64_t bits) {
  return static_cast<T>(static_cast<std::make_unsigned_t<T>>(bits));
}

template <LaneInt T>
constexpr std::uint64_t as_u64(T v) {
  return static_cast<std::uint64_t>(static_cast<std::int64_t>(v));
}

}  // namespace detail

template <LaneInt T>
[[nodiscard]] constexpr T add_wrap(T a, T b) {
  return detail::wrap_to<T>(detail::as_u64(a) + detail::as_u64(b));
}
template <LaneInt T>
[[nodiscard]] constexpr T sub_wrap(T a, T b) {
  return detail::wrap_to<T>(detail::as_u64(a) - detail::as_u64(b));
}
template <LaneInt T>
[[nodiscard]] constexpr T mul_wrap(T a, T b) {
  return detail::wrap_to<T>(detail::as_u64(a) * detail::as_u64(b));
}

// |a|, |b| <= 2^31, so sums and products of int32 values are exact in int64.
template <LaneInt T>
[[nodiscard]] constexpr T add_sat(T a, T b) {
  return detail::clamp_to<T>(std::int64_t{a} + std::int64_t{b});
}
template <LaneInt T>
[[nodiscard]] constexpr T sub_sat(T a, T b) {
  return detail::clamp_to<T>(std::int64_t{a} - std::int64_t{b});
}
template <LaneInt T>
[[nodiscard]] constexpr T mul_sat(T a, T b) {
  return detail::clamp_to<T>(std::int64_t{a} * std::int64_t{b});
}

template <LaneInt T>
[[nodiscard]] constexpr T shift_left(T a, std::uint32_t count) {
  if (count >= sizeof(T) * 8) return 0;
  return detail::wrap_to<T>(detail::as_u64(a) << count);
}
template <LaneInt T>
[[nodiscard]] constexpr T shift_right_arithmetic(T a, std::uint32_t count) {
  constexpr std::uint32_t kMaxCount = sizeof(T) * 8 - 1;
  // C++20: >> on a negative signed value is an arithmetic shift.
  return static_cast<T>(a >> (count > kMaxCount ? kMaxCount : count));
}
template <LaneInt T>
[[nodiscard]] constexpr T shift_right_logical(T a, std::uint32_t count) {
  if (count >= sizeof(T) * 8) return 0;
  using U = std::make_unsigned_t<T>;
  return static_cast<T>(static_cast<U>(static_cast<U>(a) >> count));
}

}  // namespace tspemu
