#include "common/numerics/host_float.hpp"

#include <bit>
#include <cstdint>

#include "common/error.hpp"

namespace tspemu {

bool host_float_environment_is_ieee() {
  // volatile: the probes must run on this thread's environment, not be folded by the compiler.
  volatile float one = 1.0F;
  volatile float tie_low = 0x1p-24F;   // 1 + 2^-24 is halfway between 1 and 1 + 2^-23
  volatile float tie_high = 0x3p-24F;  // 1 + 3 * 2^-24 is halfway between 1 + 2^-23 and 1 + 2^-22
  volatile float smallest_subnormal = std::bit_cast<float>(std::uint32_t{1});
  volatile float scale = 0x1p24F;
  volatile float smallest_normal = 0x1p-126F;
  volatile float half = 0.5F;
  const bool ties_to_even = one + tie_low == 1.0F && one + tie_high == 1.0F + 0x1p-22F &&
                            -one - tie_low == -1.0F && -one - tie_high == -1.0F - 0x1p-22F;
  // Denormals-are-zero would read the subnormal input as 0; flush-to-zero would return 0.
  const bool subnormal_inputs = smallest_subnormal * scale == 0x1p-125F;
  const bool subnormal_results =
      std::bit_cast<std::uint32_t>(static_cast<float>(smallest_normal * half)) == 0x00400000;
  return ties_to_even && subnormal_inputs && subnormal_results;
}

void require_ieee_host_float_environment() {
  if (!host_float_environment_is_ieee()) {
    throw RuntimeError(
        "the host's floating-point environment is not IEEE round-to-nearest-even with subnormals "
        "(a directed rounding mode, flush-to-zero or denormals-are-zero is set); tspemu's fp32 "
        "arithmetic would not be bit-exact");
  }
}

}  // namespace tspemu
