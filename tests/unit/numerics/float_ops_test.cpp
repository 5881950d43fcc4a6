#include "common/numerics/float_ops.hpp"

#include "reference_csv.hpp"
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <random>
#include <string>

namespace tspemu {
namespace {

float f32(std::uint32_t bits) {
  return std::bit_cast<float>(bits);
}
std::uint32_t bits_of(float x) {
  return std::bit_cast<std::uint32_t>(x);
}
Half h(std::uint16_t bits) {
  return Half{bits};
}

static_assert(add_f16(kHalfOne, kHalfOne) == Half{0x4000});
static_assert(sub_f16(kHalfOne, kHalfOne) == kHalfPositiveZero);
static_assert(mul_f16(Half{0x0001}, Half{0x3800}) == kHalfPositiveZero);  // 2^-25: tie to even 0
static_assert(mul_f16(Half{0x0003}, Half{0x3800}) == Half{0x0002});       // 1.5 * 2^-24 -> even 2

TEST(FloatOps, Fp16ArithmeticMatchesReference) {
  const auto table = test::load_reference("fp16_arith.csv", "op,a,b,result");
  ASSERT_GT(table.rows.size(), 30000U);
  std::map<std::string, int> rows_per_op;
  int mismatches = 0;
  for (const auto& row : table.rows) {
    const Half a = h(static_cast<std::uint16_t>(row.values.at(0)));
    const Half b = h(static_cast<std::uint16_t>(row.values.at(1)));
    const std::uint32_t expected = row.values.at(2);
    Half got{};
    if (row.op == "add") {
      got = add_f16(a, b);
    } else if (row.op == "sub") {
      got = sub_f16(a, b);
    } else if (row.op == "mul") {
      got = mul_f16(a, b);
    } else if (row.op == "min") {
      got = min_f16(a, b);
    } else if (row.op == "max") {
      got = max_f16(a, b);
    } else {
      FAIL() << table.path << ":" << row.line << ": unknown op '" << row.op << "'";
    }
    ++rows_per_op[row.op];
    if (got.bits != expected && ++mismatches <= 10) {
      ADD_FAILURE() << table.path << ":" << row.line << ": " << row.op << "(0x" << std::hex
                    << a.bits << ", 0x" << b.bits << ") = 0x" << got.bits << ", reference 0x"
                    << expected;
    }
  }
  EXPECT_EQ(mismatches, 0);
  EXPECT_EQ(rows_per_op.size(), 5U);  // every op is covered
}

// An independent path: fp32 host arithmetic then fp32 -> fp16. Rounding twice is harmless here
// because 24 >= 2 * 11 + 2 (Figueroa, "When is double rounding innocuous?", 1995).
TEST(FloatOps, Fp16ArithmeticAgreesWithFloatPathOnRandomPairs) {
  std::mt19937 rng(11);
  for (int i = 0; i < 300000; ++i) {
    const Half a = h(static_cast<std::uint16_t>(rng()));
    const Half b = h(static_cast<std::uint16_t>(rng()));
    if (is_nan(a) || is_nan(b)) continue;
    const float x = half_to_float(a);
    const float y = half_to_float(b);
    if (!std::isnan(x + y)) {
      ASSERT_EQ(add_f16(a, b), float_to_half(x + y)) << a.bits << " " << b.bits;
    }
    if (!std::isnan(x - y)) {
      ASSERT_EQ(sub_f16(a, b), float_to_half(x - y)) << a.bits << " " << b.bits;
    }
    if (!std::isnan(x * y)) {
      ASSERT_EQ(mul_f16(a, b), float_to_half(x * y)) << a.bits << " " << b.bits;
    }
  }
}

TEST(FloatOps, Fp16NanRules) {
  const Half qnan_a{0x7e03};
  const Half snan_b{0xfc05};
  EXPECT_EQ(add_f16(qnan_a, snan_b), Half{0xfe05});  // both NaN: add/mul take the second
  EXPECT_EQ(mul_f16(qnan_a, snan_b), Half{0xfe05});
  EXPECT_EQ(sub_f16(qnan_a, snan_b), qnan_a);  // sub/min/max take the first
  EXPECT_EQ(min_f16(snan_b, qnan_a), Half{0xfe05});
  EXPECT_EQ(add_f16(qnan_a, kHalfOne), qnan_a);
  EXPECT_EQ(add_f16(kHalfOne, snan_b), Half{0xfe05});        // quieted, sign kept
  EXPECT_EQ(sub_f16(kHalfOne, Half{0x7e01}), Half{0x7e01});  // no sign flip
  EXPECT_EQ(mul_f16(Half{0x7c01}, kHalfOne), Half{0x7e01});
  EXPECT_EQ(sub_f16(kHalfPositiveInfinity, kHalfPositiveInfinity), kHalfDefaultNaN);
  EXPECT_EQ(add_f16(kHalfNegativeInfinity, kHalfPositiveInfinity), kHalfDefaultNaN);
  EXPECT_EQ(mul_f16(kHalfNegativeZero, kHalfPositiveInfinity), kHalfDefaultNaN);
  EXPECT_EQ(min_f16(kHalfOne, Half{0x7d00}), Half{0x7f00});
  EXPECT_EQ(max_f16(Half{0xfe10}, kHalfOne), Half{0xfe10});
  EXPECT_EQ(min_f16(kHalfPositiveZero, kHalfNegativeZero), kHalfPositiveZero);  // first on ties
  EXPECT_EQ(min_f16(kHalfNegativeZero, kHalfPositiveZero), kHalfNegativeZero);
  EXPECT_EQ(max_f16(kHalfPositiveZero, kHalfNegativeZero), kHalfPositiveZero);
  EXPECT_EQ(max_f16(kHalfNegativeInfinity, kHalfPositiveInfinity), kHalfPositiveInfinity);
}

TEST(FloatOps, Fp16SignedZerosAndOverflow) {
  EXPECT_EQ(add_f16(kHalfNegativeZero, kHalfNegativeZero), kHalfNegativeZero);
  EXPECT_EQ(add_f16(kHalfNegativeZero, kHalfPositiveZero), kHalfPositiveZero);
  EXPECT_EQ(sub_f16(kHalfNegativeZero, kHalfPositiveZero), kHalfNegativeZero);
  EXPECT_EQ(mul_f16(kHalfNegativeZero, kHalfOne), kHalfNegativeZero);
  EXPECT_EQ(add_f16(kHalfMax, Half{0x4bff}), kHalfMax);               // 65504 + 15.99 < 65520
  EXPECT_EQ(add_f16(kHalfMax, Half{0x4c00}), kHalfPositiveInfinity);  // 65504 + 16: tie, even = inf
  EXPECT_EQ(mul_f16(negate(kHalfMax), Half{0x4000}), kHalfNegativeInfinity);
}

TEST(FloatOps, Fp32NanRulesAreExplicit) {
  const float qnan_a = f32(0x7fc00123);
  const float snan_b = f32(0xff800005);
  EXPECT_EQ(bits_of(add_f32(qnan_a, snan_b)), 0xffc00005U);  // both NaN: add/mul: second
  EXPECT_EQ(bits_of(mul_f32(qnan_a, snan_b)), 0xffc00005U);
  EXPECT_EQ(bits_of(sub_f32(qnan_a, snan_b)), 0x7fc00123U);  // sub/min/max: first
  EXPECT_EQ(bits_of(max_f32(snan_b, qnan_a)), 0xffc00005U);
  EXPECT_EQ(bits_of(add_f32(qnan_a, 1.0F)), 0x7fc00123U);
  EXPECT_EQ(bits_of(add_f32(1.0F, snan_b)), 0xffc00005U);
  EXPECT_EQ(bits_of(sub_f32(1.0F, f32(0x7fc00009))), 0x7fc00009U);
  EXPECT_EQ(bits_of(mul_f32(f32(0x7f800001), 2.0F)), 0x7fc00001U);
  const float inf = std::numeric_limits<float>::infinity();
  EXPECT_EQ(bits_of(sub_f32(inf, inf)), kFloatDefaultNaNBits);
  EXPECT_EQ(bits_of(add_f32(-inf, inf)), kFloatDefaultNaNBits);
  EXPECT_EQ(bits_of(mul_f32(0.0F, -inf)), kFloatDefaultNaNBits);
  EXPECT_EQ(bits_of(min_f32(1.0F, f32(0x7f900000))), 0x7fd00000U);
  EXPECT_EQ(bits_of(max_f32(f32(0xffc00007), 1.0F)), 0xffc00007U);
  EXPECT_EQ(bits_of(min_f32(0.0F, -0.0F)), 0x00000000U);  // first operand on ties
  EXPECT_EQ(bits_of(min_f32(-0.0F, 0.0F)), 0x80000000U);
  EXPECT_EQ(bits_of(max_f32(-0.0F, 0.0F)), 0x80000000U);
  EXPECT_EQ(min_f32(-inf, 3.0F), -inf);
  EXPECT_EQ(max_f32(2.0F, 3.0F), 3.0F);
}

// fp32 add/sub/mul are the host's; check them against an exact-then-round-once path: the double
// result rounded by double_to_float (integer code). A product of two floats is exact in double and
// a sum rounds harmlessly twice (53 >= 2 * 24 + 2), so this is the correctly rounded result.
TEST(FloatOps, Fp32ArithmeticIsCorrectlyRoundedWithSubnormals) {
  std::mt19937 rng(13);
  for (int i = 0; i < 300000; ++i) {
    std::uint32_t a_bits = rng();
    std::uint32_t b_bits = rng();
    if (i % 3 == 0) {  // keep exponents close so that sums cancel and round in interesting ways
      b_bits = (b_bits & 0x807fffffU) | (a_bits & 0x7f800000U);
    } else if (i % 3 == 1) {  // tiny operands: subnormal results
      a_bits &= 0x81ffffffU;
      b_bits = (b_bits & 0x803fffffU) | 0x3f000000U;
    }
    const float a = f32(a_bits);
    const float b = f32(b_bits);
    if (std::isnan(a) || std::isnan(b)) continue;
    const double x = a;
    const double y = b;
    if (!std::isnan(x + y)) {
      ASSERT_EQ(bits_of(add_f32(a, b)), bits_of(double_to_float(x + y)));
    }
    if (!std::isnan(x - y)) {
      ASSERT_EQ(bits_of(sub_f32(a, b)), bits_of(double_to_float(x - y)));
    }
    if (!std::isnan(x * y)) {
      ASSERT_EQ(bits_of(mul_f32(a, b)), bits_of(double_to_float(x * y)));
    }
  }
}

}  // namespace
}  // namespace tspemu
