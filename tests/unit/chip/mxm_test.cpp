// MXM kernels against plain loops written here (int8) and the independent exact reference (fp16).
#include "chip/mxm.hpp"

#include "exact_reference.hpp"
#include <gtest/gtest.h>

#include <bit>
#include <memory>
#include <random>
#include <vector>

namespace tspemu {
namespace {

using Rows = std::array<Vector, kMxmRows>;

std::unique_ptr<Rows> random_rows(std::mt19937_64& rng) {
  auto rows = std::make_unique<Rows>();
  for (auto& row : *rows) {
    for (auto& b : row.bytes) b = static_cast<std::uint8_t>(rng());
  }
  return rows;
}

Vector random_vector(std::mt19937_64& rng) {
  Vector v;
  for (auto& b : v.bytes) b = static_cast<std::uint8_t>(rng());
  return v;
}

// out[n] = sum_k a[k] * W[k][n], 64-bit, then modulo 2^32.
std::vector<std::int32_t> reference_int8(const Rows& rows, const Vector& a, bool is_signed) {
  std::vector<std::int32_t> out(kMxmColumns);
  for (int n = 0; n < kMxmColumns; ++n) {
    std::int64_t sum = 0;
    for (int k = 0; k < kMxmRows; ++k) {
      const std::uint8_t x = a.bytes[static_cast<std::size_t>(k)];
      const std::uint8_t w = rows[static_cast<std::size_t>(k)].bytes[static_cast<std::size_t>(n)];
      const std::int64_t xv = is_signed ? static_cast<std::int8_t>(x) : x;
      const std::int64_t wv = is_signed ? static_cast<std::int8_t>(w) : w;
      sum += xv * wv;
    }
    out[static_cast<std::size_t>(n)] = static_cast<std::int32_t>(static_cast<std::uint32_t>(sum));
  }
  return out;
}

TEST(Mxm, Int8MatchesPlainLoop) {
  std::mt19937_64 rng(1);
  for (int trial = 0; trial < 4; ++trial) {
    const auto rows = random_rows(rng);
    // Extreme rows and activations too: all -128 / 255 saturate nothing but stress the corrections.
    if (trial == 3) {
      for (auto& row : *rows) row = Vector::filled(0x80);
    }
    const InstalledWeights weights(*rows);
    for (bool is_signed : {true, false}) {
      for (int a_trial = 0; a_trial < 3; ++a_trial) {
        const Vector a =
            a_trial == 2 ? Vector::filled(is_signed ? 0x80 : 0xff) : random_vector(rng);
        std::array<std::int32_t, kMxmColumns> fast{};
        std::array<std::int32_t, kMxmColumns> portable{};
        std::array<std::int32_t, kMxmColumns> blocked{};
        std::array<std::int32_t, kMxmColumns> avx2{};
        const bool has_avx2 = weights.matvec_int8_avx2(a, is_signed, avx2);
        weights.matvec_int8(a, is_signed, fast);
        weights.matvec_int8_portable(a, is_signed, portable);
        weights.matvec_int8_blocked_scalar(a, is_signed, blocked);
        const auto expected = reference_int8(*rows, a, is_signed);
        for (int n = 0; n < kMxmColumns; ++n) {
          ASSERT_EQ(fast[static_cast<std::size_t>(n)], expected[static_cast<std::size_t>(n)])
              << "signed " << is_signed << " n " << n;
          ASSERT_EQ(portable[static_cast<std::size_t>(n)], expected[static_cast<std::size_t>(n)]);
          ASSERT_EQ(blocked[static_cast<std::size_t>(n)], expected[static_cast<std::size_t>(n)]);
          if (has_avx2) {
            ASSERT_EQ(avx2[static_cast<std::size_t>(n)], expected[static_cast<std::size_t>(n)]);
          }
        }
      }
    }
  }
}

Half random_half(std::mt19937_64& rng, int max_biased_exponent) {
  for (;;) {
    const auto h = Half{static_cast<std::uint16_t>(rng())};
    const int e = (h.bits >> 10) & 0x1f;
    if (e != 0x1f && e <= max_biased_exponent) return h;
  }
}

struct F16Case {
  std::unique_ptr<Rows> low = std::make_unique<Rows>();
  std::unique_ptr<Rows> high = std::make_unique<Rows>();
  std::vector<std::vector<Half>> w = std::vector<std::vector<Half>>(kMxmColumns);  // [n][k]
  void set(int k, int n, Half h) {
    (*low)[static_cast<std::size_t>(k)].bytes[static_cast<std::size_t>(n)] =
        static_cast<std::uint8_t>(h.bits);
    (*high)[static_cast<std::size_t>(k)].bytes[static_cast<std::size_t>(n)] =
        static_cast<std::uint8_t>(h.bits >> 8);
    auto& column = w[static_cast<std::size_t>(n)];
    column.resize(kMxmRows);
    column[static_cast<std::size_t>(k)] = h;
  }
};

void check_f16(const F16Case& c, const std::vector<Half>& a, const char* what) {
  Vector a_low;
  Vector a_high;
  for (int k = 0; k < kMxmRows; ++k) {
    a_low.bytes[static_cast<std::size_t>(k)] =
        static_cast<std::uint8_t>(a[static_cast<std::size_t>(k)].bits);
    a_high.bytes[static_cast<std::size_t>(k)] =
        static_cast<std::uint8_t>(a[static_cast<std::size_t>(k)].bits >> 8);
  }
  const InstalledWeights low(*c.low);
  const InstalledWeights high(*c.high);
  std::array<float, kMxmColumns> out{};
  low.matvec_f16(high, a_low, a_high, out);
  for (int n = 0; n < kMxmColumns; ++n) {
    const std::uint32_t expected = test::reference_dot_bits(a, c.w[static_cast<std::size_t>(n)]);
    ASSERT_EQ(std::bit_cast<std::uint32_t>(out[static_cast<std::size_t>(n)]), expected)
        << what << " n " << n;
  }
}

TEST(Mxm, Fp16MatchesExactReference) {
  std::mt19937_64 rng(2);
  for (int max_exponent : {30, 16, 2}) {
    F16Case c;
    for (int k = 0; k < kMxmRows; ++k) {
      for (int n = 0; n < kMxmColumns; ++n) c.set(k, n, random_half(rng, max_exponent));
    }
    std::vector<Half> a(kMxmRows);
    for (auto& h : a) h = random_half(rng, max_exponent);
    check_f16(c, a, "random");
  }
}

TEST(Mxm, Fp16SpecialsAndSignedZeros) {
  std::mt19937_64 rng(3);
  F16Case c;
  for (int k = 0; k < kMxmRows; ++k) {
    for (int n = 0; n < kMxmColumns; ++n) c.set(k, n, random_half(rng, 20));
  }
  c.set(5, 7, kHalfPositiveInfinity);  // column 7: inf weight
  c.set(9, 8, Half{0x7e00});           // column 8: NaN weight
  c.set(1, 9, kHalfPositiveInfinity);  // column 9: +inf and -inf
  c.set(2, 9, kHalfNegativeInfinity);
  for (int k = 0; k < kMxmRows; ++k) c.set(k, 10, kHalfNegativeZero);  // column 10: all -0
  std::vector<Half> a(kMxmRows);
  for (auto& h : a) h = random_half(rng, 20);
  a[5] = kHalfOne;
  a[1] = kHalfOne;
  a[2] = kHalfOne;
  check_f16(c, a, "specials");
  // A zero activation: every finite column gives a signed zero (-0 where every product is -0).
  std::vector<Half> zeros(kMxmRows, kHalfPositiveZero);
  check_f16(c, zeros, "zero activation");
  // An infinite activation turns every column into inf or NaN.
  a[0] = kHalfNegativeInfinity;
  check_f16(c, a, "inf activation");
}

}  // namespace
}  // namespace tspemu
