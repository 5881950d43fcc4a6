#include "isa/data_init.hpp"

#include <gtest/gtest.h>

#include "isa/queue.hpp"

namespace tspemu {
namespace {

DataSegment segment(DType dtype, int rows, int columns) {
  DataSegment data;
  data.name = "x";
  data.dtype = dtype;
  data.rows = rows;
  data.columns = columns;
  for (int k = 0; k < dtype_bytes(dtype); ++k)
    data.at.slices.push_back(mem_queue(Hemisphere::east, k));
  return data;
}

// Golden values computed independently (Python: the formulas of programs/ISA.md, struct 'f'/'e'
// for the rounding to f32/f16).
TEST(DataInit, SplitMix64MatchesTheReferenceGenerator) {
  EXPECT_EQ(splitmix64_at(0, 0), 0xe220a8397b1dcdafULL);  // SplitMix64 seeded with 0, 1st output
  EXPECT_EQ(splitmix64_at(0, 1), 0x6e789e6aa1b965f4ULL);
  EXPECT_EQ(splitmix64_at(7, 0), 0x63cbe1e459320dd7ULL);
}

TEST(DataInit, SeededIntegers) {
  DataSegment data = segment(DType::i8, 1, 8);
  data.init.kind = DataInit::Kind::seeded_uniform;
  data.init.seed = 7;
  data.init.low = -8;
  data.init.high = 8;
  const std::vector<std::uint8_t> bytes = element_bytes(data);
  const std::vector<int> expected = {-8, -1, 4, 3, -1, 4, -7, 7};
  ASSERT_EQ(bytes.size(), 8U);
  for (std::size_t i = 0; i < 8; ++i) EXPECT_EQ(static_cast<std::int8_t>(bytes[i]), expected[i]);

  DataSegment wide = segment(DType::i32, 1, 3);
  wide.init.kind = DataInit::Kind::seeded_uniform;
  wide.init.seed = 9;
  wide.init.low = -2147483648.0;
  wide.init.high = 2147483647.0;
  const std::vector<std::int64_t> expected_wide = {1047552100, 128969314, -994735690};
  for (std::uint64_t i = 0; i < 3; ++i) {
    EXPECT_EQ(static_cast<std::int32_t>(seeded_element(wide.init, DType::i32, i)),
              expected_wide[i]);
  }
}

TEST(DataInit, SeededFloats) {
  DataInit init;
  init.kind = DataInit::Kind::seeded_uniform;
  init.seed = 16;
  init.low = -1.5;
  init.high = 2.0;
  const std::vector<std::uint64_t> f32 = {0xbe5daaa0, 0xbf9c6261, 0x3fbc198f, 0x3f115584};
  for (std::uint64_t i = 0; i < f32.size(); ++i)
    EXPECT_EQ(seeded_element(init, DType::f32, i), f32[i]);
  init.seed = 3;
  init.low = -4.0;
  init.high = 4.0;
  const std::vector<std::uint64_t> f16 = {0xc22f, 0x3e69, 0x3b3b, 0xc2d6};
  for (std::uint64_t i = 0; i < f16.size(); ++i)
    EXPECT_EQ(seeded_element(init, DType::f16, i), f16[i]);
}

TEST(DataInit, MaterializeSplitsBytePlanesAndZeroFillsLanes) {
  DataSegment data = segment(DType::i16, 2, 3);
  data.init.kind = DataInit::Kind::literal;
  // Elements 0x0102, 0x0304, ... little-endian.
  data.init.bytes = {0x02, 0x01, 0x04, 0x03, 0x06, 0x05, 0x08, 0x07, 0x0a, 0x09, 0x0c, 0x0b};
  const std::vector<Vector> vectors = materialize(data);
  ASSERT_EQ(vectors.size(), 4U);   // 2 planes x 2 rows, plane-major
  EXPECT_EQ(vectors[0][0], 0x02);  // plane 0 (low bytes), row 0
  EXPECT_EQ(vectors[0][2], 0x06);
  EXPECT_EQ(vectors[1][0], 0x08);  // plane 0, row 1
  EXPECT_EQ(vectors[2][1], 0x03);  // plane 1 (high bytes), row 0
  EXPECT_EQ(vectors[3][2], 0x0b);
  for (const Vector& v : vectors) {
    for (std::size_t lane = 3; lane < kVectorBytes; ++lane) EXPECT_EQ(v[lane], 0);
  }
  EXPECT_EQ(elements_from_vectors(data, vectors), data.init.bytes);
}

TEST(DataInit, ZeroAndRegions) {
  DataSegment data = segment(DType::f32, 3, 320);
  EXPECT_EQ(materialize(data).size(), 12U);
  for (const Vector& v : materialize(data)) EXPECT_EQ(v, Vector{});
  data.initialized = false;
  EXPECT_TRUE(materialize(data).empty());
  EXPECT_EQ(element_bytes(data).size(), 3U * 320 * 4);
}

}  // namespace
}  // namespace tspemu
