#pragma once
// The reference evaluator's matrix products, exposed so the lowering and its tests can check one
// tile at a time (docs/graph-format.md, "matmul"). Plain loops over row-major arrays.
//
// fp16 x fp16 -> fp32 is defined by the MXM (programs/ISA.md, ABC): K is cut into chunks of
// kMatmulChunk = 320 in ascending order; each chunk is one MXM pass, a 320-term dot product
// computed exactly and rounded once to fp32 (terms beyond K in the last chunk are +0 x +0, as the
// chip's zero-filled lanes and weight rows give); the chunk results are added into an fp32
// accumulator in ascending chunk order, each addition rounded to nearest-even (the first chunk
// initialises the accumulator, as ABC with `clear` does).

#include <cstdint>
#include <span>
#include <vector>

#include "common/numerics/half.hpp"

namespace tspemu {

// Terms per MXM pass: the 320 rows of a weight array.
inline constexpr std::int64_t kMatmulChunk = 320;

// One MXM pass: sum_k a[k] * b[k] for a.size() == b.size() <= 320 terms, exact, rounded once to
// fp32, with the remaining lanes of the pass +0 x +0 (so an exact-zero sum of fewer than 320 terms
// is +0 even if every product is -0). Special values as common/numerics/exact_dot.hpp.
[[nodiscard]] float reference_dot_chunk_f16(std::span<const Half> a, std::span<const Half> b);

// C[m][n] = sum_k A[m][k] * B[k][n]; A is [M, K], B is [K, N], C is [M, N], all row-major.
// int8: exact, modulo 2^32 (two's complement int32).
[[nodiscard]] std::vector<std::int32_t> reference_matmul_i8(std::span<const std::int8_t> a,
                                                            std::span<const std::int8_t> b,
                                                            std::int64_t m, std::int64_t k,
                                                            std::int64_t n);
// fp16: the chunked rule above.
[[nodiscard]] std::vector<float> reference_matmul_f16(std::span<const Half> a,
                                                      std::span<const Half> b, std::int64_t m,
                                                      std::int64_t k, std::int64_t n);

}  // namespace tspemu
