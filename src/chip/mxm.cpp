#include "chip/mxm.hpp"

#include <atomic>
#include <cstring>

#include "chip/cycle_executor.hpp"
#include "common/error.hpp"

#if defined(__x86_64__)
#include <immintrin.h>
// The AVX2 kernel is compiled for any x86-64 build (target attribute) and chosen at run time.
#define TSPEMU_MXM_AVX2 1
#else
#define TSPEMU_MXM_AVX2 0
#endif
#if defined(__AVX512VNNI__) && defined(__AVX512F__)
#define TSPEMU_MXM_VNNI 1
#else
#define TSPEMU_MXM_VNNI 0
#endif

namespace tspemu {

namespace {

std::atomic<std::uint64_t> next_serial{1};

// Row-broadcast accumulation: for each activation lane k, add a[k] * (weight row k) to all 320
// outputs. The inner loop is contiguous over n, so it vectorises (widen, multiply, add), and the
// installed array is used as loaded (no re-layout on IW).
template <class T>
void matvec_rows(const std::array<Vector, kMxmRows>& rows, const Vector& activation,
                 std::span<std::int32_t, kMxmColumns> out) {
  alignas(64) std::array<std::int32_t, kMxmColumns> acc{};
  for (int k = 0; k < kMxmRows; ++k) {
    const std::int32_t a = static_cast<T>(activation.bytes[static_cast<std::size_t>(k)]);
    if (a == 0) continue;
    const std::uint8_t* row = rows[static_cast<std::size_t>(k)].bytes.data();
    for (std::size_t n = 0; n < kMxmColumns; ++n) {
      // a * w fits easily in 32 bits; the sum of 320 of them too (|sum| < 2^23), so no wrap.
      acc[n] += a * static_cast<std::int32_t>(static_cast<T>(row[n]));
    }
  }
  std::memcpy(out.data(), acc.data(), sizeof(acc));
}

}  // namespace

// AVX-512 VNNI layout: dpbusd multiplies 4 unsigned activation bytes by 4 signed weight bytes per
// 32-bit lane, so 16 outputs x 4 consecutive k are packed into one 64-byte block:
// blocks[n / 16][k / 4][n % 16][k % 4]. Activations are made unsigned and weights signed by
// flipping bit 7 (x ^ 0x80 = x + 128 or x - 128), and the flips are undone with exact integer
// corrections (see matvec_int8).
struct InstalledWeights::VnniLayout {
  alignas(64) std::array<std::uint8_t, kMxmRows * kMxmColumns> blocks;
  std::array<std::int32_t, kMxmColumns> column_sums;  // sum_k of the stored signed weight bytes
};

// fp16: weights decomposed (exact_dot.hpp) and transposed so each output's dot product runs over
// contiguous k.
struct InstalledWeights::F16Layout {
  std::uint64_t high_serial = 0;
  std::array<std::array<std::int16_t, kMxmRows>, kMxmColumns> significand;  // [n][k]
  std::array<std::array<std::uint8_t, kMxmRows>, kMxmColumns> scale;        // [n][k]
  std::array<bool, kMxmColumns> column_special;  // any inf/NaN weight in column n
};

InstalledWeights::InstalledWeights(const std::array<Vector, kMxmRows>& rows)
    : serial_(next_serial.fetch_add(1, std::memory_order_relaxed)), rows_(rows) {}

InstalledWeights::~InstalledWeights() = default;

const InstalledWeights::VnniLayout& InstalledWeights::vnni(bool is_signed) const {
  auto& cache = is_signed ? vnni_signed_ : vnni_unsigned_;
  if (!cache) {
    auto layout = std::make_unique<VnniLayout>();
    const std::uint8_t flip = is_signed ? 0x00 : 0x80;
    layout->column_sums.fill(0);
    for (std::size_t k = 0; k < kMxmRows; ++k) {
      const std::uint8_t* row = rows_[k].bytes.data();
      for (std::size_t n = 0; n < kMxmColumns; ++n) {
        const auto w = static_cast<std::uint8_t>(row[n] ^ flip);
        layout->blocks[((n >> 4) * (kMxmRows / 4) + (k >> 2)) * 64 + (n & 15) * 4 + (k & 3)] = w;
        layout->column_sums[n] += static_cast<std::int8_t>(w);
      }
    }
    cache = std::move(layout);
  }
  return *cache;
}

void InstalledWeights::matvec_int8_portable(const Vector& activation, bool is_signed,
                                            std::span<std::int32_t, kMxmColumns> out) const {
  if (is_signed) {
    matvec_rows<std::int8_t>(rows_, activation, out);
  } else {
    matvec_rows<std::uint8_t>(rows_, activation, out);
  }
}

namespace {

// The blocked kernel's two halves around the dot products: unsigned activation bytes (as 80
// little-endian words of 4 k each) and the exact corrections that undo the bit-7 flips.
struct BlockedActivation {
  alignas(64) std::array<std::uint32_t, kMxmRows / 4> words;
  std::uint32_t sum = 0;  // sum of the unsigned activation bytes
};

BlockedActivation blocked_activation(const Vector& activation, bool is_signed) {
  BlockedActivation out;
  alignas(64) std::array<std::uint8_t, kMxmRows> bytes;
  const std::uint8_t flip = is_signed ? 0x80 : 0x00;  // signed a -> a + 128
  for (std::size_t k = 0; k < kMxmRows; ++k) {
    bytes[k] = static_cast<std::uint8_t>(activation.bytes[k] ^ flip);
    out.sum += bytes[k];
  }
  std::memcpy(out.words.data(), bytes.data(), sizeof(bytes));
  return out;
}

//   signed:   sum (a + 128) w - 128 sum w = sum a w
//   unsigned: sum a (w - 128) + 128 sum a = sum a w        (all modulo 2^32, like the result)
void blocked_finish(const std::array<std::int32_t, kMxmColumns>& sums,
                    const std::array<std::int32_t, kMxmColumns>& column_sums,
                    std::uint32_t activation_sum, bool is_signed,
                    std::span<std::int32_t, kMxmColumns> out) {
  for (std::size_t n = 0; n < kMxmColumns; ++n) {
    const auto s = static_cast<std::uint32_t>(sums[n]);
    const std::uint32_t correction =
        is_signed ? 0U - 128U * static_cast<std::uint32_t>(column_sums[n]) : 128U * activation_sum;
    out[n] = static_cast<std::int32_t>(s + correction);
  }
}

}  // namespace

void InstalledWeights::matvec_int8_blocked_scalar(const Vector& activation, bool is_signed,
                                                  std::span<std::int32_t, kMxmColumns> out) const {
  const VnniLayout& layout = vnni(is_signed);
  const BlockedActivation a = blocked_activation(activation, is_signed);
  std::array<std::int32_t, kMxmColumns> sums{};
  // What one _mm512_dpbusd_epi32 does per 32-bit lane: 4 unsigned x signed byte products added.
  for (std::size_t nb = 0; nb < kMxmColumns / 16; ++nb) {
    for (std::size_t kq = 0; kq < kMxmRows / 4; ++kq) {
      const std::uint8_t* block = layout.blocks.data() + (nb * (kMxmRows / 4) + kq) * 64;
      for (std::size_t lane = 0; lane < 16; ++lane) {
        for (std::size_t j = 0; j < 4; ++j) {
          const std::int32_t x = (a.words[kq] >> (8 * j)) & 0xff;
          sums[nb * 16 + lane] += x * static_cast<std::int8_t>(block[lane * 4 + j]);
        }
      }
    }
  }
  blocked_finish(sums, layout.column_sums, a.sum, is_signed, out);
}

// AVX2 layout: VPMADDWD multiplies 16-bit pairs and adds each pair into a 32-bit lane, so 8
// outputs x 2 consecutive k fill one 32-byte row: w[n / 8][k / 2][n % 8][k % 2], weights widened
// to 16 bits (sign- or zero-extended). Every product fits 16 x 16 -> 32 bits and a pair's sum
// (at most 2 x 255 x 255) too: the kernel is exact, like the portable loop.
struct InstalledWeights::Avx2Layout {
  alignas(32) std::array<std::int16_t, kMxmRows * kMxmColumns> w;
};

const InstalledWeights::Avx2Layout& InstalledWeights::avx2(bool is_signed) const {
  auto& cache = is_signed ? avx2_signed_ : avx2_unsigned_;
  if (!cache) {
    auto layout = std::make_unique<Avx2Layout>();
    for (std::size_t k = 0; k < kMxmRows; ++k) {
      const std::uint8_t* row = rows_[k].bytes.data();
      for (std::size_t n = 0; n < kMxmColumns; ++n) {
        const auto v = is_signed ? static_cast<std::int16_t>(static_cast<std::int8_t>(row[n]))
                                 : static_cast<std::int16_t>(row[n]);
        layout->w[((n >> 3) * (kMxmRows / 2) + (k >> 1)) * 16 + (n & 7) * 2 + (k & 1)] = v;
      }
    }
    cache = std::move(layout);
  }
  return *cache;
}

namespace {

bool host_has_avx2() {
#if TSPEMU_MXM_AVX2
  static const bool has = __builtin_cpu_supports("avx2") != 0;
  return has;
#else
  return false;
#endif
}

#if TSPEMU_MXM_AVX2
// A helper, not a lambda: a lambda would not inherit the kernel's target attribute, and a build
// without -march (the dev, asan and tsan presets) then fails to inline the intrinsic.
__attribute__((target("avx2"))) inline __m256i load_weights(const std::int16_t* q) {
  return _mm256_load_si256(reinterpret_cast<const __m256i*>(q));
}

// 32 outputs per pass (4 accumulators share one broadcast of an activation pair).
__attribute__((target("avx2"))) void matvec_int8_avx2_kernel(
    const std::int16_t* w, const std::array<std::int16_t, kMxmRows>& a, std::int32_t* out) {
  constexpr std::size_t kPairs = kMxmRows / 2;       // 160
  constexpr std::size_t kBlockStride = kPairs * 16;  // int16s per 8-output block
  constexpr std::size_t kBlocksPerGroup = 4;
  static_assert(kMxmColumns % (8 * kBlocksPerGroup) == 0);
  for (std::size_t g = 0; g < kMxmColumns / (8 * kBlocksPerGroup); ++g) {
    const std::int16_t* base = w + g * kBlocksPerGroup * kBlockStride;
    __m256i acc0 = _mm256_setzero_si256();
    __m256i acc1 = _mm256_setzero_si256();
    __m256i acc2 = _mm256_setzero_si256();
    __m256i acc3 = _mm256_setzero_si256();
    for (std::size_t kp = 0; kp < kPairs; ++kp) {
      std::int32_t pair = 0;
      std::memcpy(&pair, a.data() + 2 * kp, sizeof(pair));
      const __m256i x = _mm256_set1_epi32(pair);
      const std::int16_t* p = base + kp * 16;
      acc0 = _mm256_add_epi32(acc0, _mm256_madd_epi16(load_weights(p), x));
      acc1 = _mm256_add_epi32(acc1, _mm256_madd_epi16(load_weights(p + kBlockStride), x));
      acc2 = _mm256_add_epi32(acc2, _mm256_madd_epi16(load_weights(p + 2 * kBlockStride), x));
      acc3 = _mm256_add_epi32(acc3, _mm256_madd_epi16(load_weights(p + 3 * kBlockStride), x));
    }
    std::int32_t* dst = out + g * 32;
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst), acc0);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + 8), acc1);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + 16), acc2);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + 24), acc3);
  }
}
#endif

}  // namespace

bool InstalledWeights::matvec_int8_avx2(const Vector& activation, bool is_signed,
                                        std::span<std::int32_t, kMxmColumns> out) const {
  if (!host_has_avx2()) return false;
  const Avx2Layout& layout = avx2(is_signed);
  alignas(32) std::array<std::int16_t, kMxmRows> a;
  for (std::size_t k = 0; k < kMxmRows; ++k) {
    a[k] = is_signed ? static_cast<std::int16_t>(static_cast<std::int8_t>(activation.bytes[k]))
                     : static_cast<std::int16_t>(activation.bytes[k]);
  }
#if TSPEMU_MXM_AVX2
  matvec_int8_avx2_kernel(layout.w.data(), a, out.data());
  return true;
#else
  return false;
#endif
}

void InstalledWeights::matvec_int8(const Vector& activation, bool is_signed,
                                   std::span<std::int32_t, kMxmColumns> out) const {
#if TSPEMU_MXM_VNNI
  const VnniLayout& layout = vnni(is_signed);
  const BlockedActivation a = blocked_activation(activation, is_signed);
  constexpr int kBlocksPerGroup = 4;  // 64 outputs per pass: 4 accumulators share a broadcast
  constexpr int kGroups = kMxmColumns / 16 / kBlocksPerGroup;  // 5
  constexpr std::size_t kBlockStride = (kMxmRows / 4) * 64;    // bytes per 16-output block
  static_assert(kMxmColumns % (16 * kBlocksPerGroup) == 0);
  alignas(64) std::array<std::int32_t, kMxmColumns> sums;
  for (int g = 0; g < kGroups; ++g) {
    const std::uint8_t* base =
        layout.blocks.data() + static_cast<std::size_t>(g * kBlocksPerGroup) * kBlockStride;
    __m512i acc0 = _mm512_setzero_si512();
    __m512i acc1 = _mm512_setzero_si512();
    __m512i acc2 = _mm512_setzero_si512();
    __m512i acc3 = _mm512_setzero_si512();
    for (std::size_t kq = 0; kq < kMxmRows / 4; ++kq) {
      const __m512i x = _mm512_set1_epi32(static_cast<int>(a.words[kq]));
      const std::uint8_t* p = base + kq * 64;
      acc0 = _mm512_dpbusd_epi32(acc0, x, _mm512_load_si512(p));
      acc1 = _mm512_dpbusd_epi32(acc1, x, _mm512_load_si512(p + kBlockStride));
      acc2 = _mm512_dpbusd_epi32(acc2, x, _mm512_load_si512(p + 2 * kBlockStride));
      acc3 = _mm512_dpbusd_epi32(acc3, x, _mm512_load_si512(p + 3 * kBlockStride));
    }
    std::int32_t* dst = sums.data() + g * 64;
    _mm512_store_si512(dst, acc0);
    _mm512_store_si512(dst + 16, acc1);
    _mm512_store_si512(dst + 32, acc2);
    _mm512_store_si512(dst + 48, acc3);
  }
  blocked_finish(sums, layout.column_sums, a.sum, is_signed, out);
#else
  if (!matvec_int8_avx2(activation, is_signed, out)) {
    matvec_int8_portable(activation, is_signed, out);
  }
#endif
}

const InstalledWeights::F16Layout& InstalledWeights::f16(const InstalledWeights& high) const {
  if (!f16_ || f16_->high_serial != high.serial_) {
    auto layout = f16_ ? std::move(f16_) : std::make_unique<F16Layout>();
    layout->high_serial = high.serial_;
    layout->column_special.fill(false);
    for (std::size_t k = 0; k < kMxmRows; ++k) {
      for (std::size_t n = 0; n < kMxmColumns; ++n) {
        const Half w{static_cast<std::uint16_t>(rows_[k].bytes[n] | (high.rows_[k].bytes[n] << 8))};
        if ((w.bits & 0x7c00) == 0x7c00) {
          layout->column_special[n] = true;
          layout->significand[n][k] = 0;
          layout->scale[n][k] = 0;
          continue;
        }
        const F16Parts parts = decompose_f16(w);
        layout->significand[n][k] = parts.significand;
        layout->scale[n][k] = parts.scale;
      }
    }
    f16_ = std::move(layout);
  }
  return *f16_;
}

void InstalledWeights::matvec_f16(const InstalledWeights& high, const Vector& activation_low,
                                  const Vector& activation_high, std::span<float, kMxmColumns> out,
                                  bool parallel_columns) const {
  const F16Layout& layout = f16(high);
  std::array<Half, kMxmRows> a;
  alignas(64) std::array<std::int16_t, kMxmRows> a_significand;
  alignas(64) std::array<std::uint8_t, kMxmRows> a_scale;
  bool activation_special = false;
  for (std::size_t k = 0; k < kMxmRows; ++k) {
    a[k] =
        Half{static_cast<std::uint16_t>(activation_low.bytes[k] | (activation_high.bytes[k] << 8))};
    if ((a[k].bits & 0x7c00) == 0x7c00) {
      activation_special = true;
      break;
    }
    const F16Parts parts = decompose_f16(a[k]);
    a_significand[k] = parts.significand;
    a_scale[k] = parts.scale;
  }
  auto weight = [&](std::size_t k, std::size_t n) {
    return Half{static_cast<std::uint16_t>(rows_[k].bytes[n] | (high.rows_[k].bytes[n] << 8))};
  };
  if (activation_special) {
    for (std::size_t k = 0; k < kMxmRows; ++k) {
      a[k] = Half{
          static_cast<std::uint16_t>(activation_low.bytes[k] | (activation_high.bytes[k] << 8))};
    }
  }
  // One output column: reads shared inputs, writes only out[n] (safe to run columns in parallel).
  auto column = [&](std::size_t n) {
    if (activation_special || layout.column_special[n]) {
      ExactDotAccumulator acc;
      for (std::size_t k = 0; k < kMxmRows; ++k) acc.add(a[k], weight(k, n));
      out[n] = acc.result();
      return;
    }
    // The exact sum as two 64-bit partials (exact_dot.hpp, ExactDotAccumulator::add_parts):
    // branch-free so it vectorises.
    const std::int16_t* ws = layout.significand[n].data();
    const std::uint8_t* wu = layout.scale[n].data();
    std::int64_t low = 0;
    std::int64_t high_part = 0;
    for (std::size_t k = 0; k < kMxmRows; ++k) {
      // |product| < 2^22: a 32-bit multiply, then widened (no 64-bit multiply in AVX2).
      const std::int32_t product = std::int32_t{a_significand[k]} * std::int32_t{ws[k]};
      const int shift = a_scale[k] + wu[k];
      const std::int64_t term = std::int64_t{product} << (shift & 31);  // C++20: defined for <0
      low += shift < 32 ? term : 0;
      high_part += shift < 32 ? 0 : term;
    }
    const ExactInt128 sum = combine_fixed48(low, high_part);
    if (sum != 0) {
      out[n] = round_fixed48_to_float(sum);
      return;
    }
    // Exact zero: -0 only if every product is -0 (exact_dot.hpp).
    bool all_negative_zero = true;
    for (std::size_t k = 0; k < kMxmRows && all_negative_zero; ++k) {
      all_negative_zero = product_is_negative_zero(a[k], weight(k, n));
    }
    out[n] = all_negative_zero ? -0.0F : 0.0F;
  };
  if (parallel_columns) {
    auto one = [&](int n) { column(static_cast<std::size_t>(n)); };
    cycle_executor().parallel_for("tspemu::chip::mxm_f16_columns", static_cast<int>(kMxmColumns),
                                  one);
  } else {
    for (std::size_t n = 0; n < kMxmColumns; ++n) column(n);
  }
}

bool mxm_uses_vnni() {
  return TSPEMU_MXM_VNNI != 0;
}

const char* mxm_int8_kernel() {
  if (mxm_uses_vnni()) return "avx512-vnni";
  return host_has_avx2() ? "avx2" : "portable";
}

}  // namespace tspemu
