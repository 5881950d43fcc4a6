#pragma once
// The VXM's special functions EXP, TANH and RSQRT (docs/design.md section 4; algorithms, derivation
// and measured errors in docs/numerics.md). Never the host libm: only +, -, *, / in double and
// integer bit manipulation, compiled with -ffp-contract=off.
//
// fp16: correctly rounded (nearest-even) for all 65,536 inputs, checked exhaustively against
//       tests/reference/fp16_{exp,tanh,rsqrt}.csv.
// fp32: the same double algorithms, rounded once to fp32. Proven bound: within 0.5 + 2^-26 ulp of
//       the exact value (kernel relative error < 2^-50), so never more than 1 ulp from the
//       correctly rounded result. Measured: correctly rounded for every fp32 input (exhaustive
//       sweep, docs/numerics.md) and for every row of tests/reference/fp32_*.csv (asserted).
//
// Special values (both widths):
//   any NaN in -> canonical NaN out (0x7e00 / 0x7fc00000)
//   exp:   exp(-inf) = +0, exp(+inf) = +inf, overflow -> +inf, underflow -> subnormal then +0
//   tanh:  tanh(+-0) = +-0, tanh(+-inf) = +-1
//   rsqrt: rsqrt(+0) = +inf, rsqrt(-0) = -inf, rsqrt(+inf) = +0, rsqrt(x < 0) = NaN
// Subnormal inputs and outputs are computed exactly like normal ones (never flushed).

#include "common/numerics/half.hpp"

namespace tspemu {

[[nodiscard]] Half exp_f16(Half x);
[[nodiscard]] Half tanh_f16(Half x);
[[nodiscard]] Half rsqrt_f16(Half x);

[[nodiscard]] float exp_f32(float x);
[[nodiscard]] float tanh_f32(float x);
[[nodiscard]] float rsqrt_f32(float x);

namespace detail {
// The double-precision kernels, exposed for tests and docs/numerics.md's error measurement.
// Domain as used: exp_kernel |x| <= 256; tanh_kernel any x (inf gives +-1); rsqrt_kernel a positive
// normal double. Relative error over all fp32 inputs: below 1.7, 5.6 and 1.7 * 2^-53 (< 2^-50).
[[nodiscard]] double exp_kernel(double x);
[[nodiscard]] double tanh_kernel(double x);
[[nodiscard]] double rsqrt_kernel(double x);
}  // namespace detail

}  // namespace tspemu
