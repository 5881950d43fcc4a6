#include "common/numerics/half.hpp"

#include "reference_csv.hpp"
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <stdexcept>

namespace tspemu {
namespace {

using test::load_reference;

float float_from_bits(std::uint32_t bits) {
  return std::bit_cast<float>(bits);
}
std::uint32_t bits_of(float x) {
  return std::bit_cast<std::uint32_t>(x);
}

// The value of a finite fp16 pattern computed independently of half.hpp: (-1)^s * m * 2^(e - 25)
// with the hidden bit, by exact scaling with powers of two.
double half_value(std::uint16_t bits) {
  const int exponent = (bits >> 10) & 0x1f;
  const int mantissa = bits & 0x3ff;
  double value = exponent == 0 ? mantissa : mantissa + 1024;
  for (int e = exponent == 0 ? 1 : exponent; e < 25; ++e) value *= 0.5;
  for (int e = 25; e < exponent; ++e) value *= 2.0;
  return (bits & 0x8000) != 0 ? -value : value;
}

bool is_nan_bits16(std::uint32_t bits) {
  return (bits & 0x7fff) > 0x7c00;
}

static_assert(half_to_float(Half{0x3c00}) == 1.0F);
static_assert(half_to_float(Half{0x0001}) == 0x1p-24F);
static_assert(float_to_half(65519.0F) == kHalfMax);
static_assert(float_to_half(65520.0F) == kHalfPositiveInfinity);
static_assert(double_to_half(-0.0) == kHalfNegativeZero);
static_assert(double_to_float(0x1p-150) == 0.0F);  // tie between 0 and 2^-149: even is 0
static_assert(double_to_float(0x1.0000000000001p-150) == 0x1p-149F);

TEST(Half, MissingReferenceFileErrorNamesThePath) {
  try {
    (void)load_reference("no_such_file.csv", "x16,result16", "/nonexistent/dir");
    FAIL() << "expected an exception";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(),
                 "cannot open reference vector file /nonexistent/dir/no_such_file.csv (regenerate "
                 "it with tests/reference/make_vectors.py)");
  }
}

TEST(Half, FloatToHalfMatchesReference) {
  const auto table = load_reference("fp32_to_fp16.csv", "a32,result16");
  ASSERT_GT(table.rows.size(), 12000U);
  int mismatches = 0;
  for (const auto& row : table.rows) {
    const std::uint32_t input = row.values.at(0);
    const std::uint32_t expected = row.values.at(1);
    const Half got = float_to_half(float_from_bits(input));
    if (got.bits != expected && ++mismatches <= 10) {
      ADD_FAILURE() << table.path << ":" << row.line << ": float_to_half(0x" << std::hex << input
                    << ") = 0x" << got.bits << ", reference 0x" << expected;
    }
    // double_to_half agrees on every non-NaN value (a host float -> double widening is exact).
    if (!std::isnan(float_from_bits(input))) {
      EXPECT_EQ(double_to_half(static_cast<double>(float_from_bits(input))).bits, expected)
          << table.path << ":" << row.line;
    }
  }
  EXPECT_EQ(mismatches, 0);
}

TEST(Half, EveryHalfWidensExactlyAndNarrowsBack) {
  for (std::uint32_t b = 0; b < 65536; ++b) {
    const Half h{static_cast<std::uint16_t>(b)};
    const float f = half_to_float(h);
    const double d = half_to_double(h);
    ASSERT_EQ(float_to_half(f), h) << std::hex << b;
    ASSERT_EQ(double_to_half(d), h) << std::hex << b;
    if (is_nan(h)) {
      ASSERT_TRUE(is_nan_bits16(b));
      ASSERT_EQ(bits_of(f), ((b & 0x8000U) << 16) | 0x7f800000U | ((b & 0x3ffU) << 13));
      ASSERT_EQ(std::bit_cast<std::uint64_t>(d), (std::uint64_t{b & 0x8000U} << 48) |
                                                     0x7ff0000000000000U |
                                                     (std::uint64_t{b & 0x3ffU} << 42));
    } else if (is_inf(h)) {
      ASSERT_EQ(f, sign_bit(h) ? -std::numeric_limits<float>::infinity()
                               : std::numeric_limits<float>::infinity());
      ASSERT_EQ(d, static_cast<double>(f));
    } else {
      ASSERT_EQ(d, half_value(static_cast<std::uint16_t>(b))) << std::hex << b;
      ASSERT_EQ(static_cast<double>(f), d) << std::hex << b;
      ASSERT_EQ(std::signbit(f), sign_bit(h));
      ASSERT_EQ(std::signbit(d), sign_bit(h));
    }
  }
}

// Between every pair of adjacent finite fp16 values (and between 65504 and the overflow threshold)
// the midpoint rounds to the even neighbour and the nearest fp32/fp64 values on either side of it
// round to the nearer neighbour.
TEST(Half, MidpointsRoundToEvenAndNeighboursToNearest) {
  for (std::uint32_t b = 0; b < 0x7c00; ++b) {
    const double low = half_value(static_cast<std::uint16_t>(b));
    const double high = b == 0x7bff ? 65536.0 : half_value(static_cast<std::uint16_t>(b + 1));
    const double mid = (low + high) / 2;  // exact: at most 12 significant bits
    const auto low_half = static_cast<std::uint16_t>(b);
    const auto high_half = static_cast<std::uint16_t>(b + 1);  // 0x7c00 = inf above 65504
    const std::uint16_t even = (b & 1) == 0 ? low_half : high_half;
    for (const std::uint16_t sign : {std::uint16_t{0}, std::uint16_t{0x8000}}) {
      const double s = sign != 0 ? -1.0 : 1.0;
      const auto f_mid = static_cast<float>(s * mid);
      ASSERT_EQ(static_cast<double>(f_mid), s * mid);
      EXPECT_EQ(float_to_half(f_mid).bits, sign | even) << std::hex << b;
      EXPECT_EQ(double_to_half(s * mid).bits, sign | even) << std::hex << b;
      const float f_below = std::nextafter(f_mid, 0.0F);
      const float f_above =
          std::nextafter(f_mid, static_cast<float>(s) * std::numeric_limits<float>::infinity());
      EXPECT_EQ(float_to_half(f_below).bits, sign | low_half) << std::hex << b;
      EXPECT_EQ(float_to_half(f_above).bits, sign | high_half) << std::hex << b;
      EXPECT_EQ(double_to_half(std::nextafter(s * mid, 0.0)).bits, sign | low_half);
      EXPECT_EQ(double_to_half(std::nextafter(s * mid, s * 1e300)).bits, sign | high_half);
    }
  }
}

// double -> fp16 rounds once: a double just above a midpoint, whose conversion to fp32 would land
// exactly on the midpoint, must still round up (going through float would round to even).
TEST(Half, DoubleToHalfDoesNotRoundTwice) {
  int double_rounding_cases = 0;
  for (std::uint32_t b = 0; b < 0x7bff; b += 2) {  // even low neighbour: via float would pick it
    const double low = half_value(static_cast<std::uint16_t>(b));
    const double high = half_value(static_cast<std::uint16_t>(b + 1));
    const double mid = (low + high) / 2;
    const double just_above = mid + (high - low) * 0x1p-30;
    EXPECT_EQ(double_to_half(just_above).bits, b + 1) << std::hex << b;
    if (float_to_half(static_cast<float>(just_above)).bits == b) ++double_rounding_cases;
  }
  EXPECT_GT(double_rounding_cases, 15000);  // the hazard is real, and double_to_half avoids it
}

TEST(Half, DoubleToFloatAgreesWithIeeeHostConversion) {
  std::mt19937_64 rng(7);
  for (int i = 0; i < 200000; ++i) {
    // Random doubles over the whole fp32 range and beyond, including the subnormal range.
    const std::uint64_t bits = (rng() & 0x800fffffffffffffU) |
                               ((static_cast<std::uint64_t>(rng() % 330) + 1023 - 165) << 52);
    const double d = std::bit_cast<double>(bits);
    ASSERT_EQ(bits_of(double_to_float(d)), bits_of(static_cast<float>(d))) << std::hexfloat << d;
  }
  EXPECT_EQ(bits_of(double_to_float(std::numeric_limits<double>::infinity())), 0x7f800000U);
  EXPECT_EQ(bits_of(double_to_float(-0.0)), 0x80000000U);
  EXPECT_EQ(bits_of(double_to_float(0x1.fffffefffffffp127)), 0x7f7fffffU);
  EXPECT_EQ(bits_of(double_to_float(0x1.ffffffp127)), 0x7f800000U);  // halfway to 2^128: inf
  EXPECT_EQ(bits_of(double_to_float(std::bit_cast<double>(std::uint64_t{0x7ff8000000000001}))),
            0x7fc00000U);
  EXPECT_EQ(bits_of(double_to_float(std::bit_cast<double>(std::uint64_t{0xfff0000000000001}))),
            0xff800001U);  // payload truncated to 0 becomes 1: stays a NaN
}

TEST(Half, NanNarrowingKeepsSignAndTopPayloadBits) {
  EXPECT_EQ(float_to_half(float_from_bits(0x7fc00000)), kHalfCanonicalNaN);
  EXPECT_EQ(float_to_half(float_from_bits(0xffc00000)), kHalfDefaultNaN);
  EXPECT_EQ(float_to_half(float_from_bits(0x7f800001)).bits, 0x7c01);  // payload 0 -> 1
  EXPECT_EQ(float_to_half(float_from_bits(0x7f8d18d2)).bits, 0x7c68);  // signalling stays so
  EXPECT_EQ(double_to_half(std::bit_cast<double>(std::uint64_t{0xfff0000000000001})).bits, 0xfc01);
}

}  // namespace
}  // namespace tspemu
