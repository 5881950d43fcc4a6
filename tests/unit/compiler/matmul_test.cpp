// matmul semantics: int8 x int8 -> int32 modulo 2^32; fp16 x fp16 -> fp32 by 320-term chunks, each
// exact and rounded once, added into an fp32 accumulator in ascending chunk order
// (docs/graph-format.md, "matmul"). The cases are built so that any other rule gives other bits.
#include "test_util.hpp"
#include <gtest/gtest.h>

#include <bit>
#include <cstdint>
#include <string>
#include <vector>

#include "common/numerics/exact_dot.hpp"
#include "common/numerics/float_ops.hpp"
#include "compiler/reference_eval_kernels.hpp"
#include "isa/data_init.hpp"

namespace tspemu {
namespace {

std::string bits_list(const std::vector<std::uint16_t>& bits) {
  std::string out = "bits = [";
  for (std::size_t i = 0; i < bits.size(); ++i) out += (i ? ", " : "") + std::to_string(bits[i]);
  return out + "]";
}

// y = a x b for a [1, K] and b [K, 1] given as fp16 bit patterns; returns y's fp32 bits.
std::uint32_t dot_graph(const std::vector<std::uint16_t>& a, const std::vector<std::uint16_t>& b) {
  const std::string k = std::to_string(a.size());
  const std::string text = "[[tensor]]\nname = \"a\"\nshape = [1, " + k +
                           "]\ndtype = \"fp16\"\nplacement = {tsp = 0}\ninit = {" + bits_list(a) +
                           "}\n[[tensor]]\nname = \"b\"\nshape = [" + k +
                           ", 1]\ndtype = \"fp16\"\nplacement = {tsp = 0}\ninit = {" +
                           bits_list(b) +
                           "}\n[[op]]\nkind = \"matmul\"\ninputs = [\"a\", \"b\"]\noutput = "
                           "\"y\"\n[outputs]\nnames = [\"y\"]\n";
  const TensorValue y = test::eval_output(text, "y", test::chip_topology());
  EXPECT_EQ(y.dtype, DType::f32);
  return test::float_bits(y.shards[0]).at(0);
}

constexpr std::uint16_t kOne = 0x3c00;
constexpr std::uint16_t k2048 = 0x6800;  // 2^11: 2048 x 2048 = 2^22

std::uint32_t exact_once(const std::vector<std::uint16_t>& a, const std::vector<std::uint16_t>& b) {
  std::vector<Half> ha;
  std::vector<Half> hb;
  for (auto v : a) ha.push_back(Half{v});
  for (auto v : b) hb.push_back(Half{v});
  return std::bit_cast<std::uint32_t>(exact_dot_f16(ha, hb));
}

TEST(Matmul, Int8HandComputed) {
  const std::string text = R"(
[[tensor]]
name = "a"
shape = [2, 2]
dtype = "int8"
placement = {tsp = 0}
init = {values = [1, 2, 3, 4]}
[[tensor]]
name = "b"
shape = [2, 3]
dtype = "int8"
placement = {tsp = 0}
init = {values = [5, 6, -7, 7, 8, -128]}
[[op]]
kind = "matmul"
inputs = ["a", "b"]
output = "c"
[outputs]
names = ["c"]
)";
  const TensorValue c = test::eval_output(text, "c", test::chip_topology());
  EXPECT_EQ(c.dtype, DType::i32);
  EXPECT_EQ(c.shape, (Shape{2, 3}));
  EXPECT_EQ(test::values_of<std::int32_t>(c.shards[0]),
            (std::vector<std::int32_t>{19, 22, -263, 43, 50, -533}));
}

TEST(Matmul, Int8AccumulationWrapsModulo2To32) {
  // 131072 products of (-128) x (-128) = 2^14 sum to 2^31, which wraps to -2^31.
  const std::string text = R"(
[[tensor]]
name = "a"
shape = [1, 131072]
dtype = "int8"
placement = {tsp = 0}
init = {recipe = "uniform", lo = -128, hi = -128}
[[tensor]]
name = "b"
shape = [131072, 1]
dtype = "int8"
placement = {tsp = 0}
init = {recipe = "uniform", lo = -128, hi = -128}
[[op]]
kind = "matmul"
inputs = ["a", "b"]
output = "c"
[outputs]
names = ["c"]
)";
  const TensorValue c = test::eval_output(text, "c", test::chip_topology());
  EXPECT_EQ(test::values_of<std::int32_t>(c.shards[0]),
            (std::vector<std::int32_t>{std::numeric_limits<std::int32_t>::min()}));
}

TEST(Matmul, Fp16HandComputed) {
  // [1, 2] x [[3], [4]] = 11; 0.5 x 0.25 + ... exact.
  EXPECT_EQ(dot_graph({0x3c00, 0x4000}, {0x4200, 0x4400}), 0x41300000U);  // 11.0
}

TEST(Matmul, Fp16RoundsEachChunkOnceThenAccumulates) {
  // K = 640: chunk 0 (k < 320) sums exactly to 2^24 + 1, chunk 1 to 1.
  // Chunked: fl(2^24 + 1) = 2^24 (tie to even), then fl(2^24 + 1) = 2^24 again.
  // One rounding of the whole exact sum 2^24 + 2 would give 2^24 + 2.
  std::vector<std::uint16_t> a(640, 0);
  std::vector<std::uint16_t> b(640, 0);
  for (int i = 0; i < 4; ++i) a[i] = b[i] = k2048;  // 4 x 2^22 = 2^24
  a[4] = b[4] = kOne;
  a[320] = b[320] = kOne;
  EXPECT_EQ(exact_once(a, b), 0x4b800001U) << "the case must discriminate";
  EXPECT_EQ(dot_graph(a, b), 0x4b800000U);  // 16777216.0
}

TEST(Matmul, Fp16ChunksAreAddedInAscendingOrder) {
  // K = 960: chunk sums 1, 1, 2^24. Ascending: (1 + 1) + 2^24 = 2^24 + 2 (exact). Any order that
  // adds 2^24 to a single 1 first loses that 1: 2^24.
  std::vector<std::uint16_t> a(960, 0);
  std::vector<std::uint16_t> b(960, 0);
  a[0] = b[0] = kOne;
  a[320] = b[320] = kOne;
  for (int i = 640; i < 644; ++i) a[i] = b[i] = k2048;
  EXPECT_EQ(dot_graph(a, b), 0x4b800001U);  // 16777218.0
  // Reversed chunk order, for contrast.
  std::vector<std::uint16_t> ra(a.rbegin(), a.rend());
  std::vector<std::uint16_t> rb(b.rbegin(), b.rend());
  EXPECT_EQ(dot_graph(ra, rb), 0x4b800000U);
}

TEST(Matmul, Fp16PartialChunkIsZeroPaddedToA320LanePass) {
  // Every product -0 x 1 = -0. A full pass of such products sums to -0; a short pass also adds
  // the zero-filled lanes (+0 x +0), so its sum is +0.
  EXPECT_EQ(dot_graph({0x8000, 0x8000, 0x8000}, {kOne, kOne, kOne}), 0x00000000U);
  EXPECT_EQ(
      dot_graph(std::vector<std::uint16_t>(320, 0x8000), std::vector<std::uint16_t>(320, kOne)),
      0x80000000U);
  // Two full passes: -0 + -0 = -0. Then a short third: -0 + +0 = +0.
  EXPECT_EQ(
      dot_graph(std::vector<std::uint16_t>(640, 0x8000), std::vector<std::uint16_t>(640, kOne)),
      0x80000000U);
  EXPECT_EQ(
      dot_graph(std::vector<std::uint16_t>(641, 0x8000), std::vector<std::uint16_t>(641, kOne)),
      0x00000000U);
}

TEST(Matmul, Fp16SpecialValuesPerChunk) {
  std::vector<std::uint16_t> a(640, 0);
  std::vector<std::uint16_t> b(640, kOne);
  a[0] = 0x7c00;    // chunk 0 = +inf
  a[320] = 0xfc00;  // chunk 1 = -inf; +inf + -inf = the default NaN
  EXPECT_EQ(dot_graph(a, b), 0xffc00000U);
  a[320] = 0x3c00;  // chunk 1 = 1: inf + 1 = inf
  EXPECT_EQ(dot_graph(a, b), 0x7f800000U);
  a[5] = 0x7e00;  // NaN operand: chunk 0 is the default NaN, and stays NaN
  EXPECT_EQ(dot_graph(a, b), 0xffc00000U);
  // inf x 0 inside one chunk: NaN.
  EXPECT_EQ(dot_graph({0x7c00, kOne}, {0x0000, kOne}), 0xffc00000U);
}

// The fast path (two 64-bit partial sums) must equal the definition written the slow way, on
// random data with zeros of both signs, subnormals, infinities and NaNs mixed in.
TEST(Matmul, Fp16KernelEqualsTheDefinitionOnRandomData) {
  const std::int64_t m = 6;
  const std::int64_t k = 705;
  const std::int64_t n = 7;
  auto random_halves = [](std::size_t count, std::uint64_t seed) {
    std::vector<Half> v(count);
    for (std::size_t i = 0; i < count; ++i) {
      const std::uint64_t x = splitmix64_at(seed, i);
      switch (x % 97) {
        case 0:
          v[i] = Half{0x8000};
          break;
        case 1:
          v[i] = Half{static_cast<std::uint16_t>(x >> 32 & 0x83ff)};  // subnormal or zero
          break;
        default:
          // Finite values with exponents up to 2^15.
          v[i] = Half{static_cast<std::uint16_t>((x >> 16) % 0x7c00 | (x & 0x8000))};
      }
    }
    return v;
  };
  std::vector<Half> a = random_halves(static_cast<std::size_t>(m * k), 11);
  std::vector<Half> b = random_halves(static_cast<std::size_t>(k * n), 12);
  a[3] = kHalfPositiveInfinity;                                      // row 0, chunk 0 special
  a[static_cast<std::size_t>(2 * k + 400)] = Half{0x7e01};           // row 2, chunk 1 NaN
  b[static_cast<std::size_t>(650 * n + 4)] = kHalfNegativeInfinity;  // column 4, chunk 2
  for (std::int64_t j = 0; j < k; ++j) a[static_cast<std::size_t>(5 * k + j)] = Half{0x8000};
  const std::vector<float> fast = reference_matmul_f16(a, b, m, k, n);
  for (std::int64_t i = 0; i < m; ++i) {
    for (std::int64_t j = 0; j < n; ++j) {
      float acc = 0.0F;
      for (std::int64_t c = 0; c * 320 < k; ++c) {
        ExactDotAccumulator chunk;
        for (std::int64_t x = 0; x < 320; ++x) {
          const std::int64_t kk = c * 320 + x;
          if (kk < k) {
            chunk.add(a[static_cast<std::size_t>(i * k + kk)],
                      b[static_cast<std::size_t>(kk * n + j)]);
          } else {
            chunk.add(kHalfPositiveZero, kHalfPositiveZero);  // the pass's zero-filled lanes
          }
        }
        acc = c == 0 ? chunk.result() : add_f32(acc, chunk.result());
      }
      EXPECT_EQ(std::bit_cast<std::uint32_t>(fast[static_cast<std::size_t>(i * n + j)]),
                std::bit_cast<std::uint32_t>(acc))
          << i << ", " << j;
    }
  }
}

TEST(Matmul, OneChunkHelperPadsShortChunks) {
  const std::vector<Half> a{Half{0x8000}};
  const std::vector<Half> b{kHalfOne};
  EXPECT_EQ(std::bit_cast<std::uint32_t>(reference_dot_chunk_f16(a, b)), 0x00000000U);
  const std::vector<Half> a320(320, Half{0x8000});
  const std::vector<Half> b320(320, kHalfOne);
  EXPECT_EQ(std::bit_cast<std::uint32_t>(reference_dot_chunk_f16(a320, b320)), 0x80000000U);
}

}  // namespace
}  // namespace tspemu
