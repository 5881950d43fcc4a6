#include "common/numerics/convert.hpp"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

namespace tspemu {
namespace {

float f32(std::uint32_t bits) {
  return std::bit_cast<float>(bits);
}
std::uint32_t bits_of(float x) {
  return std::bit_cast<std::uint32_t>(x);
}

static_assert(float_to_int<std::int8_t>(2.5F) == 2);
static_assert(float_to_int<std::int8_t>(-2.5F) == -2);
static_assert(float_to_int<std::int8_t>(127.5F) == 127);
static_assert(int_to_half<std::int16_t>(2049) == Half{0x6800});  // 2049 -> tie -> 2048 (even)
static_assert(int_to_float<std::int32_t>(16777217) == 16777216.0F);

// Oracle for fp -> int: the host's nearbyint in double (round to nearest-even in the default
// environment), then saturation; NaN -> 0.
template <LaneInt T>
T oracle_to_int(double x) {
  if (std::isnan(x)) return 0;
  const double r = std::nearbyint(x);
  if (r <= static_cast<double>(std::numeric_limits<T>::min())) return std::numeric_limits<T>::min();
  if (r >= static_cast<double>(std::numeric_limits<T>::max())) return std::numeric_limits<T>::max();
  return static_cast<T>(r);
}

TEST(Convert, SmallIntegersAreExact) {
  for (int v = -32768; v <= 32767; ++v) {
    const auto v16 = static_cast<std::int16_t>(v);
    ASSERT_EQ(int_to_float(v16), static_cast<float>(v));
    ASSERT_EQ(int_to_float(static_cast<std::int32_t>(v)), static_cast<float>(v));
    // fp16: exact up to 2048, then rounded once (v is exact in fp32, so float_to_half is one
    // rounding).
    ASSERT_EQ(int_to_half(v16), float_to_half(static_cast<float>(v))) << v;
    if (v >= -128 && v <= 127) {
      const auto v8 = static_cast<std::int8_t>(v);
      ASSERT_EQ(int_to_float(v8), static_cast<float>(v));
      ASSERT_EQ(half_to_float(int_to_half(v8)), static_cast<float>(v));
    }
  }
  EXPECT_EQ(int_to_half<std::int16_t>(0).bits, 0x0000);  // +0, never -0
}

TEST(Convert, Int32RoundsToNearestEven) {
  std::vector<std::int32_t> values = {std::numeric_limits<std::int32_t>::min(),
                                      std::numeric_limits<std::int32_t>::max(),
                                      16777216,
                                      16777217,
                                      16777218,
                                      16777219,
                                      -16777217,
                                      -16777219,
                                      65504,
                                      65519,
                                      65520,
                                      -65520,
                                      65535,
                                      2147483584,
                                      2147483583};
  std::mt19937 rng(17);
  for (int i = 0; i < 200000; ++i)
    values.push_back(static_cast<std::int32_t>(rng()) >> (rng() % 31));
  for (const std::int32_t v : values) {
    ASSERT_EQ(bits_of(int_to_float(v)), bits_of(static_cast<float>(v))) << v;  // host: RNE
    ASSERT_EQ(int_to_half(v), double_to_half(static_cast<double>(v))) << v;    // exact double
  }
  EXPECT_EQ(int_to_half<std::int32_t>(65519).bits, 0x7bff);
  EXPECT_EQ(int_to_half<std::int32_t>(65520).bits, 0x7c00);
  EXPECT_EQ(int_to_half<std::int32_t>(-65520).bits, 0xfc00);
  EXPECT_EQ(int_to_float<std::int32_t>(std::numeric_limits<std::int32_t>::min()), -0x1p31F);
}

TEST(Convert, EveryHalfToEveryIntType) {
  for (std::uint32_t b = 0; b < 65536; ++b) {
    const Half h{static_cast<std::uint16_t>(b)};
    const double x = half_to_double(h);
    ASSERT_EQ(half_to_int<std::int8_t>(h), oracle_to_int<std::int8_t>(x)) << std::hex << b;
    ASSERT_EQ(half_to_int<std::int16_t>(h), oracle_to_int<std::int16_t>(x)) << std::hex << b;
    ASSERT_EQ(half_to_int<std::int32_t>(h), oracle_to_int<std::int32_t>(x)) << std::hex << b;
  }
}

TEST(Convert, FloatToIntRoundsToNearestEvenAndSaturates) {
  std::vector<float> values = {0.5F,
                               1.5F,
                               2.5F,
                               -0.5F,
                               -1.5F,
                               -2.5F,
                               0.49999997F,
                               0.50000006F,
                               127.49999F,
                               127.5F,
                               -128.5F,
                               -128.50002F,
                               32767.5F,
                               -32768.5F,
                               2147483520.0F,
                               2147483648.0F,
                               -2147483648.0F,
                               -2147483904.0F,
                               f32(1),
                               f32(0x80000001),
                               0x1p-126F,
                               1e30F,
                               -1e30F,
                               std::numeric_limits<float>::infinity(),
                               -std::numeric_limits<float>::infinity(),
                               f32(0x7fc00000),
                               f32(0xff800001)};
  std::mt19937 rng(19);
  for (int i = 0; i < 300000; ++i) {
    const std::uint32_t sign = rng() & 0x80000000U;
    // exponents around the integer range, plus fully random patterns
    values.push_back(i % 2 == 0 ? f32(rng())
                                : f32(sign | ((rng() % 40 + 120) << 23) | (rng() & 0x7fffffU)));
  }
  for (const float x : values) {
    ASSERT_EQ(float_to_int<std::int8_t>(x), oracle_to_int<std::int8_t>(x)) << std::hexfloat << x;
    ASSERT_EQ(float_to_int<std::int16_t>(x), oracle_to_int<std::int16_t>(x)) << std::hexfloat << x;
    ASSERT_EQ(float_to_int<std::int32_t>(x), oracle_to_int<std::int32_t>(x)) << std::hexfloat << x;
  }
  EXPECT_EQ(float_to_int<std::int8_t>(-128.5F), -128);
  EXPECT_EQ(float_to_int<std::int8_t>(-0.0F), 0);
  EXPECT_EQ(float_to_int<std::int32_t>(f32(0x7fc00000)), 0);
  EXPECT_EQ(float_to_int<std::int32_t>(2147483648.0F), std::numeric_limits<std::int32_t>::max());
  EXPECT_EQ(float_to_int<std::int16_t>(-std::numeric_limits<float>::infinity()), -32768);
}

}  // namespace
}  // namespace tspemu
