#pragma once
// The MXM: matrix planes of 320 x 320 weights with their weight buffers and accumulators
// (programs/ISA.md, "MXM"; docs/design.md section 4).
//
// Per plane: a weight BUFFER of 320 rows (LW writes rows into it), the INSTALLED array (IW copies
// the buffer into it; double-buffered, so ABCs keep using the old array until IW completes) and
// `accumulators` accumulators of 320 x 32 bits (i32 or f32 bit patterns).
//
//   int8 ABC (i8 x i8 or u8 x u8): out[n] = sum_k a[k] * W[k][n] modulo 2^32, where a[k] is lane k
//     of the activation vector and W[k][n] lane n of weight row k.
//   fp16 ABC on planes p, p+1: W[k][n] = plane p byte (low) | plane p+1 byte (high); each out[n] is
//     the exact 320-term dot product rounded once to fp32 (common/numerics/exact_dot.hpp).
//
// The kernels are pure functions of (installed array, activation): the engine calls them in
// parallel for different planes. Each installed array caches the layouts its kernels read (the
// AVX-512 VNNI blocked layout, the fp16 decomposition); a cache is built by the first ABC that
// needs it, which is safe because only the ABC of that plane (or, for fp16, of the pair's first
// plane) touches it within a cycle.

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "common/numerics/exact_dot.hpp"
#include "common/vector.hpp"

namespace tspemu {

inline constexpr int kMxmRows = kVectorBytes;  // 320 weight rows (the dot product's length)
inline constexpr int kMxmColumns = kVectorBytes;

using AccumulatorLanes = std::array<std::uint32_t, kVectorBytes>;  // i32 or f32 bit patterns

// One installed 320 x 320 byte array and the derived layouts its kernels use.
class InstalledWeights {
 public:
  explicit InstalledWeights(const std::array<Vector, kMxmRows>& rows);
  ~InstalledWeights();
  InstalledWeights(const InstalledWeights&) = delete;
  InstalledWeights& operator=(const InstalledWeights&) = delete;

  [[nodiscard]] const std::array<Vector, kMxmRows>& rows() const { return rows_; }

  // int8 ABC: out[n] = sum_k a[k] * W[k][n] (mod 2^32); both operands signed or both unsigned.
  void matvec_int8(const Vector& activation, bool is_signed,
                   std::span<std::int32_t, kMxmColumns> out) const;
  // The same with the portable loop only (no VNNI), for tests and the benchmark.
  void matvec_int8_portable(const Vector& activation, bool is_signed,
                            std::span<std::int32_t, kMxmColumns> out) const;
  // The AVX2 kernel (16-bit products summed in pairs by VPMADDWD: exact for int8 and uint8, no
  // saturating step). Returns false, leaving out untouched, if this CPU has no AVX2.
  bool matvec_int8_avx2(const Vector& activation, bool is_signed,
                        std::span<std::int32_t, kMxmColumns> out) const;
  // The VNNI kernel's exact arithmetic (blocked layout, bit-7 flips, corrections) in scalar code:
  // lets hosts without AVX-512 VNNI test everything but the intrinsics themselves.
  void matvec_int8_blocked_scalar(const Vector& activation, bool is_signed,
                                  std::span<std::int32_t, kMxmColumns> out) const;

  // fp16 ABC with this array as the low bytes and `high` as the high bytes of every weight;
  // activation_low/high are the SG2's byte planes. out[n] = exact dot product rounded to fp32.
  // parallel_columns: compute the 320 independent output columns with Kokkos::parallel_for on the
  // host execution space (the engine asks for it only when no enclosing parallel_for runs, i.e.
  // when the ABC is the only op of its cycle). Results are identical either way: every column is
  // an exact, order-free sum rounded once.
  void matvec_f16(const InstalledWeights& high, const Vector& activation_low,
                  const Vector& activation_high, std::span<float, kMxmColumns> out,
                  bool parallel_columns = false) const;

 private:
  struct VnniLayout;
  struct Avx2Layout;
  struct F16Layout;
  const VnniLayout& vnni(bool is_signed) const;
  const Avx2Layout& avx2(bool is_signed) const;
  const F16Layout& f16(const InstalledWeights& high) const;

  std::uint64_t serial_;  // identifies this installation (the fp16 cache names its high plane)
  std::array<Vector, kMxmRows> rows_;
  mutable std::unique_ptr<VnniLayout> vnni_signed_;
  mutable std::unique_ptr<VnniLayout> vnni_unsigned_;
  mutable std::unique_ptr<Avx2Layout> avx2_signed_;
  mutable std::unique_ptr<Avx2Layout> avx2_unsigned_;
  mutable std::unique_ptr<F16Layout> f16_;
};

struct MxmPlane {
  // LW target; allocated by the first LW (+0 until written), so that a TSP that never loads
  // weights does not carry 100 KiB per plane.
  std::unique_ptr<std::array<Vector, kMxmRows>> buffer;
  std::shared_ptr<const InstalledWeights> installed;  // nullptr until the first IW completes
  std::vector<AccumulatorLanes> accumulators;
};

// True if this build runs the AVX-512 VNNI kernel (compiled with __AVX512VNNI__).
[[nodiscard]] bool mxm_uses_vnni();
// The int8 kernel matvec_int8 runs on this host: "avx512-vnni" (compiled in), "avx2" (chosen at
// run time when the CPU has it) or "portable". All three give identical results (tested).
[[nodiscard]] const char* mxm_int8_kernel();

}  // namespace tspemu
