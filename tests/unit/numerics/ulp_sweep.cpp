// Measures the error of tspemu's fp32 EXP/TANH/RSQRT over every stride-th fp32 bit pattern (all of
// them with stride 1) against the host's long double libm (64-bit significand, so its own error is
// ~2^-63, far below what is measured). Prints, per function: inputs checked, results that are not
// the correctly rounded fp32 value, the largest error in fp32 ulps (fractional, vs the long double
// value), and the largest relative error of the double kernel in units of 2^-53.
//
//   numerics_ulp_sweep [stride]      (default 1; docs/numerics.md quotes the output)

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "common/numerics/transcendental.hpp"

namespace {

struct Function {
  const char* name;
  float (*f32)(float);
  double (*kernel)(double);
  long double (*exact)(long double);
  bool (*nontrivial)(float);  // inputs outside this are special-cased (inf, 0, +-1, NaN)
};

long double exact_exp(long double x) {
  return std::exp(x);
}
long double exact_tanh(long double x) {
  return std::tanh(x);
}
long double exact_rsqrt(long double x) {
  return 1.0L / std::sqrt(x);
}

bool exp_domain(float x) {
  return x >= -110.0F && x <= 89.0F;
}
bool tanh_domain(float x) {
  return x != 0.0F && x > -22.0F && x < 22.0F;
}
bool rsqrt_domain(float x) {
  return x > 0.0F && std::isfinite(x);
}

// One fp32 ulp at the magnitude of v (the spacing of fp32 values just below |v|'s binade top).
long double ulp_at(long double v) {
  int exponent = 0;
  (void)std::frexp(std::fabs(v), &exponent);  // |v| = m * 2^exponent, m in [0.5, 1)
  if (exponent < -125) exponent = -125;       // subnormal spacing 2^-149
  return std::ldexp(1.0L, exponent - 24);
}

}  // namespace

int main(int argc, char** argv) {
  const std::uint64_t stride = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1;
  if (stride == 0) {
    std::fprintf(stderr, "usage: numerics_ulp_sweep [stride >= 1]\n");
    return 2;
  }
  const Function functions[] = {
      {"exp", &tspemu::exp_f32, &tspemu::detail::exp_kernel, &exact_exp, &exp_domain},
      {"tanh", &tspemu::tanh_f32, &tspemu::detail::tanh_kernel, &exact_tanh, &tanh_domain},
      {"rsqrt", &tspemu::rsqrt_f32, &tspemu::detail::rsqrt_kernel, &exact_rsqrt, &rsqrt_domain},
  };
  for (const Function& function : functions) {
    std::uint64_t checked = 0;
    std::uint64_t not_correctly_rounded = 0;
    long double max_ulp = 0;
    float worst_input = 0;
    long double max_kernel_error = 0;  // relative, in units of 2^-53
    for (std::uint64_t bits = 0; bits < (std::uint64_t{1} << 32); bits += stride) {
      const float x = std::bit_cast<float>(static_cast<std::uint32_t>(bits));
      if (!function.nontrivial(x)) continue;
      ++checked;
      const long double exact = function.exact(x);
      const float got = function.f32(x);
      const long double kernel_error =
          std::fabs((static_cast<long double>(function.kernel(x)) - exact) / exact) * 0x1p53L;
      if (kernel_error > max_kernel_error) max_kernel_error = kernel_error;
      const float correctly_rounded = static_cast<float>(exact);
      const bool same =
          std::bit_cast<std::uint32_t>(got) == std::bit_cast<std::uint32_t>(correctly_rounded);
      // Overflow (exp near 88.72): inf is the right answer when the exact value rounds to inf.
      const long double ulp =
          same && std::isinf(got)
              ? 0
              : std::fabs(static_cast<long double>(got) - exact) / ulp_at(exact);
      if (!same) {
        ++not_correctly_rounded;
        if (not_correctly_rounded <= 5) {
          std::printf("  %s(%a) = %a, correctly rounded %a (%.9Lf ulp)\n", function.name,
                      static_cast<double>(x), static_cast<double>(got),
                      static_cast<double>(correctly_rounded), ulp);
        }
      }
      if (ulp > max_ulp) {
        max_ulp = ulp;
        worst_input = x;
      }
    }
    std::printf(
        "%-5s inputs %llu (stride %llu)  not correctly rounded %llu  max error %.9Lf ulp at %a  "
        "kernel max relative error %.2Lf * 2^-53\n",
        function.name, static_cast<unsigned long long>(checked),
        static_cast<unsigned long long>(stride),
        static_cast<unsigned long long>(not_correctly_rounded), max_ulp,
        static_cast<double>(worst_input), max_kernel_error);
  }
  return 0;
}
