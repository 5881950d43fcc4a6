#include "common/numerics/transcendental.hpp"

#include <bit>
#include <cstdint>

#include "common/numerics/float_ops.hpp"  // detail::is_nan_f32

namespace tspemu {

namespace {

// ln 2 split for Cody-Waite reduction (fdlibm's constants): kLn2Hi has 32 significant bits, so
// k * kLn2Hi is exact for |k| < 2^21; kLn2Hi + kLn2Lo = ln 2 to within 1.2e-26.
constexpr double kLn2Hi = 0x1.62e42fee00000p-1;
constexpr double kLn2Lo = 0x1.a39ef35793c76p-33;
constexpr double kInvLn2 = 0x1.71547652b82fep+0;   // 1 / ln 2 rounded to nearest
constexpr double kHalfLn2 = 0x1.62e42fefa39efp-2;  // ln 2 / 2 rounded to nearest

// expm1(r) = r + r^2/2! + ... + r^13/13!, Horner form, for |r| <= ln2/2 + 2^-40. The Taylor
// remainder is below |r|^14/14! * e^|r| < 5.9e-18 < 2^-57 there, far below double rounding.
// The coefficients are 1/n! rounded to nearest (IEEE division of exact integers, folded by the
// compiler).
double expm1_poly(double r) {
  double p = 1.0 / 6227020800.0;  // 1/13!
  p = 1.0 / 479001600.0 + r * p;  // 1/12!
  p = 1.0 / 39916800.0 + r * p;   // 1/11!
  p = 1.0 / 3628800.0 + r * p;    // 1/10!
  p = 1.0 / 362880.0 + r * p;     // 1/9!
  p = 1.0 / 40320.0 + r * p;      // 1/8!
  p = 1.0 / 5040.0 + r * p;       // 1/7!
  p = 1.0 / 720.0 + r * p;        // 1/6!
  p = 1.0 / 120.0 + r * p;        // 1/5!
  p = 1.0 / 24.0 + r * p;         // 1/4!
  p = 1.0 / 6.0 + r * p;          // 1/3!
  p = 0.5 + r * p;                // 1/2!
  p = 1.0 + r * p;                // 1/1!
  return r * p;
}

bool negative(double x) {
  return (std::bit_cast<std::uint64_t>(x) >> 63) != 0;
}

// Exact fp32 -> fp64 in integer code (a host conversion would read a subnormal as 0 under DAZ).
double widen(float x) {
  const std::uint32_t bits = std::bit_cast<std::uint32_t>(x);
  const std::uint64_t sign = static_cast<std::uint64_t>(bits >> 31) << 63;
  std::uint64_t exponent = (bits >> 23) & 0xff;
  std::uint64_t mantissa = bits & 0x007fffff;
  if (exponent == 0xff) return std::bit_cast<double>(sign | 0x7ff0000000000000 | (mantissa << 29));
  if (exponent == 0) {
    if (mantissa == 0) return std::bit_cast<double>(sign);
    const int shift = std::countl_zero(mantissa) - 40;  // leading one to bit 23
    mantissa = (mantissa << shift) & 0x007fffff;
    exponent = static_cast<std::uint64_t>(1 - shift);
  }
  return std::bit_cast<double>(sign | ((exponent + 896) << 52) | (mantissa << 29));
}

constexpr float kFloatCanonicalNaN = std::bit_cast<float>(kFloatCanonicalNaNBits);
constexpr float kFloatInfinity = std::bit_cast<float>(std::uint32_t{0x7f800000});

}  // namespace

namespace detail {

// exp(x) = 2^k * exp(r), k = nearest integer to x / ln2, r = x - k ln2 (Cody-Waite, two steps).
double exp_kernel(double x) {
  const double t = x * kInvLn2;
  const int k = static_cast<int>(t < 0 ? t - 0.5 : t + 0.5);  // |k| <= 370 for |x| <= 256
  const double kd = k;
  const double r = (x - kd * kLn2Hi) - kd * kLn2Lo;
  const double power = std::bit_cast<double>(static_cast<std::uint64_t>(k + 1023) << 52);
  return (1.0 + expm1_poly(r)) * power;
}

// tanh|x| = u / (u + 2) with u = expm1(2|x|): for |x| < ln2/2, u = p (p + 2) with p = expm1(|x|)
// from the polynomial (no cancellation near 0); above, u = exp(2|x|) - 1 >= 1 (cancellation of at
// most one bit). tanh(x) = 1 - 1.6e-19 at |x| = 22, so 1 there and beyond (also for inf).
double tanh_kernel(double x) {
  const double a = negative(x) ? -x : x;
  double t = 1.0;
  if (a < kHalfLn2) {
    const double p = expm1_poly(a);
    const double u = p * (p + 2.0);
    t = u / (u + 2.0);
  } else if (a < 22.0) {
    const double u = exp_kernel(2.0 * a) - 1.0;
    t = u / (u + 2.0);
  }
  return negative(x) ? -t : t;
}

// 1/sqrt(x) by Newton's iteration y <- y + y (1/2 - x y^2 / 2) from the integer "magic constant"
// seed (relative error < 3.5% for every positive normal double), which converges quadratically:
// 3.5e-2, 1.8e-3, 5e-6, 4e-11, then double rounding (~2^-52). Four iterations.
double rsqrt_kernel(double x) {
  double y = std::bit_cast<double>(0x5fe6eb50c7b537a9 - (std::bit_cast<std::uint64_t>(x) >> 1));
  const double half_x = 0.5 * x;
  for (int i = 0; i < 4; ++i) y = y + y * (0.5 - half_x * y * y);
  return y;
}

}  // namespace detail

// ---- fp16 ---------------------------------------------------------------------------------------
// Thresholds: exp(12) = 162755 > 65520 (rounds to inf); exp(-18) = 1.5e-8 < 2^-25 (rounds to 0).

Half exp_f16(Half x) {
  if (is_nan(x)) return kHalfCanonicalNaN;
  const double d = half_to_double(x);
  if (d > 12.0) return kHalfPositiveInfinity;
  if (d < -18.0) return kHalfPositiveZero;
  return double_to_half(detail::exp_kernel(d));
}

Half tanh_f16(Half x) {
  if (is_nan(x)) return kHalfCanonicalNaN;
  if (is_zero(x)) return x;
  return double_to_half(detail::tanh_kernel(half_to_double(x)));
}

Half rsqrt_f16(Half x) {
  if (is_nan(x)) return kHalfCanonicalNaN;
  if (is_zero(x)) return sign_bit(x) ? kHalfNegativeInfinity : kHalfPositiveInfinity;
  if (sign_bit(x)) return kHalfCanonicalNaN;
  if (is_inf(x)) return kHalfPositiveZero;
  return double_to_half(detail::rsqrt_kernel(half_to_double(x)));
}

// ---- fp32 ---------------------------------------------------------------------------------------
// Thresholds: exp(89) = 4.5e38 > 3.4e38 (inf); exp(-110) = 1.7e-48 < 2^-150 (rounds to 0).

float exp_f32(float x) {
  if (detail::is_nan_f32(x)) return kFloatCanonicalNaN;
  const double d = widen(x);
  if (d > 89.0) return kFloatInfinity;
  if (d < -110.0) return 0.0F;
  return double_to_float(detail::exp_kernel(d));
}

float tanh_f32(float x) {
  if (detail::is_nan_f32(x)) return kFloatCanonicalNaN;
  const double d = widen(x);
  if (d == 0.0) return x;
  return double_to_float(detail::tanh_kernel(d));
}

float rsqrt_f32(float x) {
  if (detail::is_nan_f32(x)) return kFloatCanonicalNaN;
  const double d = widen(x);
  if (d == 0.0) return negative(d) ? -kFloatInfinity : kFloatInfinity;
  if (d < 0.0) return kFloatCanonicalNaN;
  if (d == static_cast<double>(kFloatInfinity)) return 0.0F;
  return double_to_float(detail::rsqrt_kernel(d));
}

}  // namespace tspemu
