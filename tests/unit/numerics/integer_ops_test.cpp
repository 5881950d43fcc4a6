#include "common/numerics/integer_ops.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <random>
#include <vector>

namespace tspemu {
namespace {

static_assert(add_wrap<std::int8_t>(127, 1) == -128);
static_assert(add_sat<std::int8_t>(127, 1) == 127);
static_assert(mul_wrap<std::int32_t>(std::numeric_limits<std::int32_t>::min(), -1) ==
              std::numeric_limits<std::int32_t>::min());
static_assert(mul_sat<std::int32_t>(std::numeric_limits<std::int32_t>::min(), -1) ==
              std::numeric_limits<std::int32_t>::max());
static_assert(shift_right_arithmetic<std::int16_t>(-5, 1) == -3);
static_assert(shift_right_logical<std::int8_t>(-1, 1) == 127);

// Brute-force references in int64, written without the library's tricks.
template <class T>
T reference_wrap(std::int64_t exact) {
  constexpr std::int64_t kModulus = std::int64_t{1} << (sizeof(T) * 8);
  std::int64_t r = exact % kModulus;
  if (r < 0) r += kModulus;
  if (r > std::numeric_limits<T>::max()) r -= kModulus;
  return static_cast<T>(r);
}

template <class T>
T reference_saturate(std::int64_t exact) {
  if (exact > std::numeric_limits<T>::max()) return std::numeric_limits<T>::max();
  if (exact < std::numeric_limits<T>::min()) return std::numeric_limits<T>::min();
  return static_cast<T>(exact);
}

template <class T>
void check_pair(T a, T b) {
  const std::int64_t x = a;
  const std::int64_t y = b;
  // x * y for int32 needs care: |x * y| <= 2^62 fits in int64.
  ASSERT_EQ(add_wrap(a, b), reference_wrap<T>(x + y)) << +a << " " << +b;
  ASSERT_EQ(sub_wrap(a, b), reference_wrap<T>(x - y)) << +a << " " << +b;
  ASSERT_EQ(mul_wrap(a, b), reference_wrap<T>(x * y)) << +a << " " << +b;
  ASSERT_EQ(add_sat(a, b), reference_saturate<T>(x + y)) << +a << " " << +b;
  ASSERT_EQ(sub_sat(a, b), reference_saturate<T>(x - y)) << +a << " " << +b;
  ASSERT_EQ(mul_sat(a, b), reference_saturate<T>(x * y)) << +a << " " << +b;
}

template <class T>
void check_shifts(T a) {
  constexpr std::uint32_t kBits = sizeof(T) * 8;
  const std::int64_t x = a;
  for (std::uint32_t n = 0; n < kBits + 10; ++n) {
    std::int64_t scaled = x;   // x * 2^n, wrapped
    std::int64_t floored = x;  // floor(x / 2^n)
    for (std::uint32_t i = 0; i < n; ++i) {
      scaled *= 2;
      scaled = reference_wrap<T>(scaled);
      floored = floored >= 0 ? floored / 2 : (floored - 1) / 2;
    }
    std::int64_t unsigned_value = x < 0 ? x + (std::int64_t{1} << kBits) : x;
    for (std::uint32_t i = 0; i < n; ++i) unsigned_value /= 2;
    ASSERT_EQ(shift_left(a, n), static_cast<T>(scaled)) << +a << " << " << n;
    ASSERT_EQ(shift_right_arithmetic(a, n), static_cast<T>(floored)) << +a << " >> " << n;
    ASSERT_EQ(shift_right_logical(a, n), reference_wrap<T>(unsigned_value)) << +a << " >>> " << n;
  }
}

template <class T>
std::vector<T> edges() {
  constexpr T kMin = std::numeric_limits<T>::min();
  constexpr T kMax = std::numeric_limits<T>::max();
  return {kMin,
          static_cast<T>(kMin + 1),
          static_cast<T>(kMin / 2),
          -2,
          -1,
          0,
          1,
          2,
          static_cast<T>(kMax / 2),
          static_cast<T>(kMax / 2 + 1),
          static_cast<T>(kMax - 1),
          kMax};
}

TEST(IntegerOps, AllInt8Pairs) {
  for (int a = -128; a <= 127; ++a) {
    for (int b = -128; b <= 127; ++b)
      check_pair<std::int8_t>(static_cast<std::int8_t>(a), static_cast<std::int8_t>(b));
    check_shifts<std::int8_t>(static_cast<std::int8_t>(a));
  }
}

template <class T>
void check_sampled(std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<T> values = edges<T>();
  for (int i = 0; i < 300; ++i) values.push_back(static_cast<T>(rng()));
  for (int i = 0; i < 100; ++i)
    values.push_back(static_cast<T>(static_cast<T>(rng()) >> (rng() % 16)));
  for (const T a : values) {
    for (const T b : values) check_pair<T>(a, b);
    check_shifts<T>(a);
  }
}

TEST(IntegerOps, SampledInt16PairsAndEdges) {
  check_sampled<std::int16_t>(23);
}
TEST(IntegerOps, SampledInt32PairsAndEdges) {
  check_sampled<std::int32_t>(29);
}

}  // namespace
}  // namespace tspemu
