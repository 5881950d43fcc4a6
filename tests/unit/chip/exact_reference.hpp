#pragma once
// An exact reference for fp16 dot products, independent of common/numerics/exact_dot.hpp: a 256-bit
// two's complement integer in units of 2^-96 built from exact double products, rounded to fp32 by
// comparing exact distances to the neighbours of an approximation.

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstdint>
#include <vector>

#include "common/numerics/half.hpp"

namespace tspemu::test {

struct Big {  // value = (two's complement of limbs) * 2^-96
  std::array<std::uint32_t, 8> limb{};
};

inline Big big_add(const Big& a, const Big& b) {
  Big r;
  std::uint64_t carry = 0;
  for (std::size_t i = 0; i < 8; ++i) {
    const std::uint64_t s = std::uint64_t{a.limb[i]} + b.limb[i] + carry;
    r.limb[i] = static_cast<std::uint32_t>(s);
    carry = s >> 32;
  }
  return r;
}
inline Big big_neg(const Big& a) {
  Big r;
  for (std::size_t i = 0; i < 8; ++i) r.limb[i] = ~a.limb[i];
  Big one;
  one.limb[0] = 1;
  return big_add(r, one);
}
inline bool big_negative(const Big& a) {
  return (a.limb[7] >> 31) != 0;
}
inline bool big_zero(const Big& a) {
  return std::all_of(a.limb.begin(), a.limb.end(), [](std::uint32_t x) { return x == 0; });
}
inline Big big_abs(const Big& a) {
  return big_negative(a) ? big_neg(a) : a;
}
inline int big_compare_unsigned(const Big& a, const Big& b) {
  for (std::size_t i = 8; i-- > 0;) {
    if (a.limb[i] != b.limb[i]) return a.limb[i] < b.limb[i] ? -1 : 1;
  }
  return 0;
}
// An exact double (finite, a multiple of 2^-96, below 2^150) as a Big.
inline Big big_from_double(double d) {
  Big r;
  if (d == 0) return r;
  const auto bits = std::bit_cast<std::uint64_t>(d);
  const int e = static_cast<int>((bits >> 52) & 0x7ff);
  std::uint64_t m = bits & ((std::uint64_t{1} << 52) - 1);
  int exponent = e - 1075;  // value = m * 2^exponent
  if (e == 0) {
    exponent = -1074;
  } else {
    m |= std::uint64_t{1} << 52;
  }
  while ((m & 1) == 0) {  // drop trailing zeros so the exponent is as large as possible
    m >>= 1;
    ++exponent;
  }
  const int shift = exponent + 96;
  EXPECT_GE(shift, 0) << "reference needs multiples of 2^-96: " << d;
  for (int b = 0; b < 53; ++b) {
    if (((m >> b) & 1) != 0) {
      const int pos = b + shift;
      r.limb[static_cast<std::size_t>(pos / 32)] |= std::uint32_t{1} << (pos % 32);
    }
  }
  return (bits >> 63) != 0 ? big_neg(r) : r;
}
inline long double big_to_long_double(const Big& a) {
  const Big m = big_abs(a);
  long double v = 0;
  for (std::size_t i = 8; i-- > 0;) v = v * 4294967296.0L + m.limb[i];
  v = std::ldexp(v, -96);
  return big_negative(a) ? -v : v;
}

// The float nearest the exact sum (ties to even), by exact comparison with the neighbours of an
// approximation.
inline float reference_round(const Big& sum) {
  if (big_zero(sum)) return 0.0F;
  const auto approx = static_cast<float>(big_to_long_double(sum));
  float best = approx;
  Big best_distance = big_abs(big_add(sum, big_neg(big_from_double(approx))));
  for (float candidate : {std::nextafter(approx, -INFINITY), std::nextafter(approx, INFINITY)}) {
    const Big distance = big_abs(big_add(sum, big_neg(big_from_double(candidate))));
    const int c = big_compare_unsigned(distance, best_distance);
    if (c < 0 || (c == 0 && (std::bit_cast<std::uint32_t>(candidate) & 1) == 0)) {
      best = candidate;
      best_distance = distance;
    }
  }
  return best;
}

inline float reference_dot(const std::vector<Half>& a, const std::vector<Half>& b) {
  Big sum;
  for (std::size_t i = 0; i < a.size(); ++i) {
    // Exact: two 11-bit significands give a 22-bit product, well inside a double.
    sum = big_add(sum, big_from_double(half_to_double(a[i]) * half_to_double(b[i])));
  }
  return reference_round(sum);
}

// With the special-value rules of exact_dot.hpp, decided from the products' IEEE meaning: NaN for
// a NaN operand, inf * 0 or infinities of both signs; an infinity otherwise if any product is
// infinite; -0 if every product is -0 (what IEEE addition gives in any order); else the exact sum.
inline std::uint32_t reference_dot_bits(const std::vector<Half>& a, const std::vector<Half>& b) {
  bool nan = false;
  bool plus_inf = false;
  bool minus_inf = false;
  bool all_minus_zero = !a.empty();
  std::vector<Half> fa, fb;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const double x = half_to_double(a[i]);
    const double y = half_to_double(b[i]);
    const double p = x * y;  // the host's IEEE product: NaN for NaN operands and inf * 0
    if (std::isnan(p)) {
      nan = true;
    } else if (std::isinf(p)) {
      (p > 0 ? plus_inf : minus_inf) = true;
    }
    if (!(p == 0 && std::signbit(p))) all_minus_zero = false;
    if (std::isfinite(p)) {
      fa.push_back(a[i]);
      fb.push_back(b[i]);
    }
  }
  if (nan || (plus_inf && minus_inf)) return 0xffc00000U;
  if (plus_inf) return 0x7f800000U;
  if (minus_inf) return 0xff800000U;
  const float r = reference_dot(fa, fb);
  if (r == 0 && all_minus_zero) return 0x80000000U;
  return std::bit_cast<std::uint32_t>(r);
}

}  // namespace tspemu::test
