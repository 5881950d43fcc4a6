#pragma once
// The one assumption tspemu's fp32 arithmetic (float_ops.hpp) makes about the host: binary32 +, -,
// * round to nearest-even and keep subnormals. True on x86-64 and AArch64 unless something changed
// the floating-point environment (fesetround, or flush-to-zero / denormals-are-zero, which
// -ffast-math objects and some libraries set process-wide). Everything else in common/numerics is
// integer code or exact double arithmetic and does not depend on it.

namespace tspemu {

// True if the calling thread's floating-point environment gives IEEE round-to-nearest-even binary32
// results with subnormals (probed with a few operations whose results differ otherwise).
[[nodiscard]] bool host_float_environment_is_ieee();

// Throws RuntimeError if host_float_environment_is_ieee() is false. Call once per thread that runs
// VXM fp32 ops (the environment is per thread).
void require_ieee_host_float_environment();

}  // namespace tspemu
