// exact_dot_f16 against an independent reference: a 256-bit two's complement integer in units of
// 2^-96 built from exact double products, and correct rounding decided by comparing exact distances
// to the candidate floats (no shared code with exact_dot.hpp beyond half_to_double).
#include "common/numerics/exact_dot.hpp"

#include "exact_reference.hpp"
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

namespace tspemu {
namespace {

using namespace tspemu::test;  // NOLINT: test-only reference helpers

std::uint32_t bits(float f) {
  return std::bit_cast<std::uint32_t>(f);
}

Half random_finite(std::mt19937_64& rng, int max_biased_exponent) {
  for (;;) {
    const auto h = Half{static_cast<std::uint16_t>(rng())};
    const int e = (h.bits >> 10) & 0x1f;
    if (e != 0x1f && e <= max_biased_exponent) return h;
  }
}

float dot(const std::vector<Half>& a, const std::vector<Half>& b) {
  return exact_dot_f16(std::span<const Half>(a), std::span<const Half>(b));
}

// ---- tests ----------------------------------------------------------------------------------

TEST(ExactDot, MatchesTheReferenceOnRandomInputs) {
  std::mt19937_64 rng(12345);
  for (int trial = 0; trial < 300; ++trial) {
    // Vary the exponent range: full range, moderate, and subnormal-heavy.
    const int max_exponent = trial % 3 == 0 ? 30 : (trial % 3 == 1 ? 18 : 3);
    std::vector<Half> a(320), b(320);
    for (int i = 0; i < 320; ++i) {
      a[static_cast<std::size_t>(i)] = random_finite(rng, max_exponent);
      b[static_cast<std::size_t>(i)] = random_finite(rng, max_exponent);
    }
    ASSERT_EQ(bits(dot(a, b)), bits(reference_dot(a, b))) << "trial " << trial;
  }
}

TEST(ExactDot, OrderDoesNotMatter) {
  std::mt19937_64 rng(7);
  std::vector<Half> a(320), b(320);
  for (int i = 0; i < 320; ++i) {
    a[static_cast<std::size_t>(i)] = random_finite(rng, 30);
    b[static_cast<std::size_t>(i)] = random_finite(rng, 30);
  }
  const std::uint32_t expected = bits(dot(a, b));
  std::vector<std::size_t> order(320);
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  for (int round = 0; round < 20; ++round) {
    std::shuffle(order.begin(), order.end(), rng);
    std::vector<Half> pa, pb;
    for (std::size_t i : order) {
      pa.push_back(a[i]);
      pb.push_back(b[i]);
    }
    ASSERT_EQ(bits(dot(pa, pb)), expected);
  }
}

TEST(ExactDot, CancellationKeepsTheTinyTerm) {
  // 65504^2 - 65504^2 + (2^-24)^2: a float sum in any order would lose the last term.
  const std::vector<Half> a{kHalfMax, negate(kHalfMax), Half{0x0001}};
  const std::vector<Half> b{kHalfMax, kHalfMax, Half{0x0001}};
  EXPECT_EQ(bits(dot(a, b)), bits(std::ldexp(1.0F, -48)));
  // Many terms that cancel except for a subnormal product.
  std::vector<Half> c, d;
  for (int i = 0; i < 100; ++i) {
    c.push_back(Half{0x7000});  // 8192
    d.push_back(Half{0x6000});  // 512
    c.push_back(Half{0xf000});  // -8192
    d.push_back(Half{0x6000});
  }
  c.push_back(Half{0x0003});  // 3 * 2^-24
  d.push_back(Half{0x0005});  // 5 * 2^-24
  EXPECT_EQ(bits(dot(c, d)), bits(15.0F * std::ldexp(1.0F, -48)));
}

TEST(ExactDot, RoundsOnceToNearestEven) {
  // 2^24 + 1 is a tie between 2^24 and 2^24 + 2: even wins (2^24). 2^24 + 3 -> 2^24 + 4.
  const Half k4096{0x6c00};  // 4096
  const Half one = kHalfOne;
  EXPECT_EQ(dot({k4096, one}, {k4096, one}), 16777216.0F);
  EXPECT_EQ(dot({k4096, one, one, one}, {k4096, one, one, one}), 16777220.0F);
  // Just above the tie rounds up: 2^24 + 1 + 2^-24.
  EXPECT_EQ(dot({k4096, one, Half{0x0001}}, {k4096, one, kHalfOne}), 16777218.0F);
  // Subnormal products only: 2^-24 * 2^-24 * 3 terms.
  const Half tiny{0x0001};
  EXPECT_EQ(bits(dot({tiny, tiny, tiny}, {tiny, tiny, tiny})), bits(3.0F * std::ldexp(1.0F, -48)));
}

TEST(ExactDot, SpecialValues) {
  const Half inf = kHalfPositiveInfinity;
  const Half ninf = kHalfNegativeInfinity;
  const Half nan{0x7e01};
  const Half two{0x4000};
  const std::uint32_t kNaN = kFloatDefaultNaNBits;
  EXPECT_EQ(bits(dot({inf, two}, {two, two})), 0x7f800000U);
  EXPECT_EQ(bits(dot({inf, two}, {negate(two), two})), 0xff800000U);
  EXPECT_EQ(bits(dot({inf, ninf}, {two, two})), kNaN);               // +inf and -inf
  EXPECT_EQ(bits(dot({inf, two}, {kHalfPositiveZero, two})), kNaN);  // inf * 0
  EXPECT_EQ(bits(dot({nan, two}, {two, two})), kNaN);
  EXPECT_EQ(bits(dot({two, two}, {two, nan})), kNaN);
  EXPECT_EQ(bits(dot({inf, inf}, {two, two})), 0x7f800000U);
}

TEST(ExactDot, SignOfZero) {
  const Half one = kHalfOne;
  EXPECT_EQ(bits(dot({}, {})), 0U);
  EXPECT_EQ(bits(dot({negate(one)}, {kHalfPositiveZero})), 0x80000000U);  // -0 alone
  EXPECT_EQ(bits(dot({negate(one), one}, {kHalfPositiveZero, kHalfNegativeZero})), 0x80000000U);
  EXPECT_EQ(bits(dot({negate(one), one}, {kHalfPositiveZero, kHalfPositiveZero})), 0U);
  EXPECT_EQ(bits(dot({one, negate(one)}, {one, one})), 0U);  // exact cancellation is +0
}

TEST(ExactDot, RoundFixed48) {
  EXPECT_EQ(round_fixed48_to_float(ExactInt128{1} << 48), 1.0F);
  EXPECT_EQ(round_fixed48_to_float(-(ExactInt128{3} << 47)), -1.5F);
  EXPECT_EQ(bits(round_fixed48_to_float(1)), bits(std::ldexp(1.0F, -48)));
  // 2^24 + 1 units of 2^-48 at the top: a tie, to even.
  EXPECT_EQ(round_fixed48_to_float((ExactInt128{1} << 24) + 1), std::ldexp(16777216.0F, -48));
  // A carry out of rounding: 2^25 - 1 -> 2^25.
  EXPECT_EQ(round_fixed48_to_float((ExactInt128{1} << 25) - 1), std::ldexp(1.0F, 25 - 48));
  // Long accumulator: more than 512 terms (flush path) still exact.
  ExactDotAccumulator acc;
  for (int i = 0; i < 5000; ++i) acc.add(kHalfMax, kHalfMax);
  acc.add(Half{0x0001}, Half{0x0001});
  EXPECT_EQ(acc.fixed48(), (ExactInt128{5000} * 65504 * 65504 << 48) + 1);
}

}  // namespace
}  // namespace tspemu
