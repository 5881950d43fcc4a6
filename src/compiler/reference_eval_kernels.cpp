#include "compiler/reference_eval_kernels.hpp"

#include <algorithm>
#include <cstddef>

#include "common/error.hpp"
#include "common/numerics/exact_dot.hpp"
#include "common/numerics/float_ops.hpp"

namespace tspemu {
namespace {

bool is_special(Half h) {
  return (h.bits & 0x7c00) == 0x7c00;
}

// A row-major [rows, k] fp16 matrix decomposed for the exact fixed-point dot product, with a flag
// per (row, chunk) saying whether that chunk holds an infinity or NaN (then the slow, general path
// of ExactDotAccumulator is taken).
struct Decomposed {
  std::vector<std::int16_t> significand;
  std::vector<std::uint8_t> scale;
  std::vector<bool> special;  // [row * chunks + chunk]

  Decomposed(std::span<const Half> values, std::int64_t rows, std::int64_t k, std::int64_t chunks)
      : significand(values.size()),
        scale(values.size()),
        special(static_cast<std::size_t>(rows * chunks), false) {
    for (std::int64_t r = 0; r < rows; ++r) {
      for (std::int64_t j = 0; j < k; ++j) {
        const auto i = static_cast<std::size_t>(r * k + j);
        if (is_special(values[i])) {
          special[static_cast<std::size_t>(r * chunks + j / kMatmulChunk)] = true;
          continue;
        }
        const F16Parts parts = decompose_f16(values[i]);
        significand[i] = parts.significand;
        scale[i] = parts.scale;
      }
    }
  }
};

}  // namespace

float reference_dot_chunk_f16(std::span<const Half> a, std::span<const Half> b) {
  TSPEMU_ASSERT(a.size() == b.size() && a.size() <= static_cast<std::size_t>(kMatmulChunk),
                "a chunk has at most 320 terms");
  ExactDotAccumulator acc;
  for (std::size_t i = 0; i < a.size(); ++i) acc.add(a[i], b[i]);
  // The pass's remaining lanes: +0 x +0 (only the sign of an exact-zero sum can notice).
  if (a.size() < static_cast<std::size_t>(kMatmulChunk))
    acc.add(kHalfPositiveZero, kHalfPositiveZero);
  return acc.result();
}

std::vector<std::int32_t> reference_matmul_i8(std::span<const std::int8_t> a,
                                              std::span<const std::int8_t> b, std::int64_t m,
                                              std::int64_t k, std::int64_t n) {
  TSPEMU_ASSERT(a.size() == static_cast<std::size_t>(m * k), "A is not [M, K]");
  TSPEMU_ASSERT(b.size() == static_cast<std::size_t>(k * n), "B is not [K, N]");
  // B transposed, so every dot product reads two contiguous rows.
  std::vector<std::int8_t> bt(b.size());
  for (std::int64_t r = 0; r < k; ++r) {
    for (std::int64_t c = 0; c < n; ++c) {
      bt[static_cast<std::size_t>(c * k + r)] = b[static_cast<std::size_t>(r * n + c)];
    }
  }
  std::vector<std::int32_t> out(static_cast<std::size_t>(m * n));
  for (std::int64_t i = 0; i < m; ++i) {
    const std::int8_t* row = a.data() + i * k;
    for (std::int64_t j = 0; j < n; ++j) {
      const std::int8_t* column = bt.data() + j * k;
      // Modulo 2^32 arithmetic is associative, so any order gives the chip's result.
      std::uint32_t sum = 0;
      for (std::int64_t x = 0; x < k; ++x) {
        sum += static_cast<std::uint32_t>(std::int32_t{row[x]} * std::int32_t{column[x]});
      }
      out[static_cast<std::size_t>(i * n + j)] = static_cast<std::int32_t>(sum);
    }
  }
  return out;
}

std::vector<float> reference_matmul_f16(std::span<const Half> a, std::span<const Half> b,
                                        std::int64_t m, std::int64_t k, std::int64_t n) {
  TSPEMU_ASSERT(a.size() == static_cast<std::size_t>(m * k), "A is not [M, K]");
  TSPEMU_ASSERT(b.size() == static_cast<std::size_t>(k * n), "B is not [K, N]");
  const std::int64_t chunks = (k + kMatmulChunk - 1) / kMatmulChunk;
  std::vector<Half> bt(b.size());
  for (std::int64_t r = 0; r < k; ++r) {
    for (std::int64_t c = 0; c < n; ++c) {
      bt[static_cast<std::size_t>(c * k + r)] = b[static_cast<std::size_t>(r * n + c)];
    }
  }
  const Decomposed da(a, m, k, chunks);
  const Decomposed db(bt, n, k, chunks);
  std::vector<float> out(static_cast<std::size_t>(m * n));
  for (std::int64_t i = 0; i < m; ++i) {
    for (std::int64_t j = 0; j < n; ++j) {
      float acc = 0.0F;
      for (std::int64_t c = 0; c < chunks; ++c) {
        const std::int64_t begin = c * kMatmulChunk;
        const std::int64_t end = std::min(k, begin + kMatmulChunk);
        const auto ra = static_cast<std::size_t>(i * k);
        const auto rb = static_cast<std::size_t>(j * k);
        float chunk = 0.0F;
        if (da.special[static_cast<std::size_t>(i * chunks + c)] ||
            db.special[static_cast<std::size_t>(j * chunks + c)]) {
          chunk = reference_dot_chunk_f16(
              std::span<const Half>(a.data() + ra + begin, static_cast<std::size_t>(end - begin)),
              std::span<const Half>(bt.data() + rb + begin, static_cast<std::size_t>(end - begin)));
        } else {
          // The exact sum in units of 2^-48 as two 64-bit partials (exact_dot.hpp): at most 320
          // terms below 2^53 each, so neither partial can overflow.
          std::int64_t low = 0;
          std::int64_t high = 0;
          for (std::int64_t x = begin; x < end; ++x) {
            const auto p = static_cast<std::size_t>(x);
            const std::int64_t product =
                std::int64_t{da.significand[ra + p]} * std::int64_t{db.significand[rb + p]};
            const int shift = da.scale[ra + p] + db.scale[rb + p];
            if (shift < 32) {
              low += product * (std::int64_t{1} << shift);
            } else {
              high += product * (std::int64_t{1} << (shift - 32));
            }
          }
          const ExactInt128 sum = combine_fixed48(low, high);
          if (sum != 0) {
            chunk = round_fixed48_to_float(sum);
          } else {
            // -0 only if the pass's every product is -0: all 320 lanes real and each a -0.
            bool negative_zero = end - begin == kMatmulChunk;
            for (std::int64_t x = begin; negative_zero && x < end; ++x) {
              const auto p = static_cast<std::size_t>(x);
              negative_zero = product_is_negative_zero(a[ra + p], bt[rb + p]);
            }
            chunk = negative_zero ? -0.0F : 0.0F;
          }
        }
        // The MXM accumulator: the first pass initialises it, later passes add with one RNE
        // rounding each, in ascending chunk order.
        acc = c == 0 ? chunk : add_f32(acc, chunk);
      }
      out[static_cast<std::size_t>(i * n + j)] = acc;
    }
  }
  return out;
}

}  // namespace tspemu
