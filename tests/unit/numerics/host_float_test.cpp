#include "common/numerics/host_float.hpp"

#include <gtest/gtest.h>

#include <cfenv>

#include "common/error.hpp"

#if defined(__SSE2__)
#include <xmmintrin.h>
#endif

namespace tspemu {
namespace {

TEST(HostFloat, DefaultEnvironmentIsIeee) {
  EXPECT_TRUE(host_float_environment_is_ieee());
  EXPECT_NO_THROW(require_ieee_host_float_environment());
}

TEST(HostFloat, DirectedRoundingIsDetected) {
  for (const int mode : {FE_UPWARD, FE_DOWNWARD, FE_TOWARDZERO}) {
    ASSERT_EQ(std::fesetround(mode), 0);
    const bool ieee = host_float_environment_is_ieee();
    std::fesetround(FE_TONEAREST);
    EXPECT_FALSE(ieee) << "rounding mode " << mode;
  }
  ASSERT_EQ(std::fesetround(FE_UPWARD), 0);
  try {
    require_ieee_host_float_environment();
    std::fesetround(FE_TONEAREST);
    FAIL() << "expected RuntimeError";
  } catch (const RuntimeError& e) {
    std::fesetround(FE_TONEAREST);
    EXPECT_STREQ(e.what(),
                 "the host's floating-point environment is not IEEE round-to-nearest-even with "
                 "subnormals (a directed rounding mode, flush-to-zero or denormals-are-zero is "
                 "set); tspemu's fp32 arithmetic would not be bit-exact");
  }
}

#if defined(__SSE2__)
TEST(HostFloat, FlushToZeroAndDenormalsAreZeroAreDetected) {
  const unsigned int saved = _mm_getcsr();
  for (const unsigned int flag : {0x8000U /* FTZ */, 0x0040U /* DAZ */}) {
    _mm_setcsr(saved | flag);
    const bool ieee = host_float_environment_is_ieee();
    _mm_setcsr(saved);
    EXPECT_FALSE(ieee) << "MXCSR flag " << flag;
  }
}
#endif

}  // namespace
}  // namespace tspemu
