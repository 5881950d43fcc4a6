// Comparing emulated output bytes with the reference evaluator's: the first differing element and
// every other kind of mismatch, with exact messages.
#include "test_util.hpp"
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace tspemu {
namespace {

template <class T>
std::vector<std::uint8_t> bytes_of(const std::vector<T>& values) {
  std::vector<std::uint8_t> out(values.size() * sizeof(T));
  std::memcpy(out.data(), values.data(), out.size());
  return out;
}

// 'c': fp16 [4, 20] on tsps 1, 2 (replicated), every element 1.0.
TensorValue expected_c() {
  TensorValue v;
  v.name = "c";
  v.dtype = DType::f16;
  v.shape = {4, 20};
  v.placement = Placement{Placement::Kind::replicated, {TspId(1), TspId(2)}, -1};
  for (TspId t : v.placement.tsps) {
    v.shards.push_back(Shard{t, {4, 20}, bytes_of(std::vector<std::uint16_t>(80, 0x3c00))});
  }
  return v;
}

TEST(Compare, FirstDifferingElementInLocalCoordinates) {
  const TensorValue c = expected_c();
  std::vector<std::uint16_t> got(80, 0x3c00);
  got[3 * 20 + 17] = 0x3c01;
  got[3 * 20 + 18] = 0x0000;  // a later difference is not reported
  const auto m = first_difference(c, TspId(2), bytes_of(got));
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->message,
            "output 'c' element [3, 17] on tsp 2: expected 0x3c00 (1.0), got 0x3c01 (1.000977)");
  EXPECT_EQ(m->index, (Shape{3, 17}));
  EXPECT_EQ(m->expected_bits, 0x3c00u);
  EXPECT_EQ(m->got_bits, 0x3c01u);
  EXPECT_EQ(m->tsp, TspId(2));
  EXPECT_FALSE(first_difference(c, TspId(1), c.shards[0].bytes).has_value());
}

TEST(Compare, SizeAndPlacementMismatches) {
  const TensorValue c = expected_c();
  EXPECT_EQ(first_difference(c, TspId(1), std::vector<std::uint8_t>(100))->message,
            "output 'c' on tsp 1: expected 160 bytes ([4, 20] fp16), got 100");
  EXPECT_EQ(first_difference(c, TspId(5), c.shards[0].bytes)->message,
            "output 'c' on tsp 5: not expected there (it is on tsps 1, 2 (replicated))");
}

TEST(Compare, ElementFormats) {
  EXPECT_EQ(format_element(DType::f16, 0x3c00), "0x3c00 (1.0)");
  EXPECT_EQ(format_element(DType::f16, 0x8000), "0x8000 (-0.0)");
  EXPECT_EQ(format_element(DType::f16, 0x0001), "0x0001 (5.960464e-08)");
  EXPECT_EQ(format_element(DType::f16, 0xfc00), "0xfc00 (-inf)");
  EXPECT_EQ(format_element(DType::f16, 0x7e00), "0x7e00 (nan)");
  EXPECT_EQ(format_element(DType::f32, 0x3f800000), "0x3f800000 (1.0)");
  EXPECT_EQ(format_element(DType::f32, 0x3dcccccd), "0x3dcccccd (0.1)");
  EXPECT_EQ(format_element(DType::f32, 0x4b800001), "0x4b800001 (16777218.0)");
  EXPECT_EQ(format_element(DType::f32, 0xffc00000), "0xffc00000 (nan)");
  EXPECT_EQ(format_element(DType::i8, 0xff), "0xff (-1)");
  EXPECT_EQ(format_element(DType::i16, 0x007f), "0x007f (127)");
  EXPECT_EQ(format_element(DType::i32, 0x80000000), "0x80000000 (-2147483648)");
}

TEST(Compare, WholeResults) {
  EvalResult expected;
  expected.outputs.push_back(expected_c());
  TensorValue d;
  d.name = "d";
  d.dtype = DType::i32;
  d.shape = {2};
  d.placement = Placement{Placement::Kind::replicated, {TspId(0)}, -1};
  d.shards.push_back(Shard{TspId(0), {2}, bytes_of(std::vector<std::int32_t>{7, -7})});
  expected.outputs.push_back(d);

  std::vector<EmulatedOutput> got{
      {"d", TspId(0), bytes_of(std::vector<std::int32_t>{7, -7})},
      {"c", TspId(2), expected.outputs[0].shards[1].bytes},
      {"c", TspId(1), expected.outputs[0].shards[0].bytes},
  };
  EXPECT_FALSE(compare_outputs(expected, got).has_value());

  got[0].bytes = bytes_of(std::vector<std::int32_t>{7, 7});
  EXPECT_EQ(compare_outputs(expected, got)->message,
            "output 'd' element [1] on tsp 0: expected 0xfffffff9 (-7), got 0x00000007 (7)");
  got[0].bytes = bytes_of(std::vector<std::int32_t>{7, -7});

  std::vector<EmulatedOutput> missing(got.begin(), got.begin() + 2);
  EXPECT_EQ(compare_outputs(expected, missing)->message,
            "output 'c' on tsp 1: the run produced no value");

  std::vector<EmulatedOutput> extra = got;
  extra.push_back({"zz", TspId(0), {}});
  EXPECT_EQ(compare_outputs(expected, extra)->message,
            "output 'zz' on tsp 0: not a declared output");

  std::vector<EmulatedOutput> elsewhere = got;
  elsewhere.push_back({"d", TspId(3), {}});
  EXPECT_EQ(compare_outputs(expected, elsewhere)->message,
            "output 'd' on tsp 3: not expected there (it is on tsp 0)");

  std::vector<EmulatedOutput> twice = got;
  twice.push_back(got[1]);
  EXPECT_EQ(compare_outputs(expected, twice)->message,
            "output 'c' on tsp 2: the run reported it twice");
}

TEST(Compare, AgainstAnEvaluatedGraph) {
  const std::string text = R"(
[[tensor]]
name = "x"
shape = [2, 3]
dtype = "fp32"
placement = {tsps = [0, 1], per_tsp = true}
init = {values = [1, 2, 3, 4, 5, 6,  -1, -2, -3, -4, -5, -6]}
[[op]]
kind = "all_reduce"
inputs = ["x"]
output = "y"
[outputs]
names = ["y"]
)";
  const EvalResult r = evaluate(test::load(text));
  std::vector<EmulatedOutput> got;
  for (const Shard& s : r.outputs[0].shards) got.push_back({"y", s.tsp, s.bytes});
  EXPECT_FALSE(compare_outputs(r, got).has_value());
  got[1].bytes[4 * 4] ^= 0x01;  // element [1, 1] on tsp 1: +0 -> the smallest subnormal
  EXPECT_EQ(compare_outputs(r, got)->message,
            "output 'y' element [1, 1] on tsp 1: expected 0x00000000 (0.0), got 0x00000001 "
            "(1e-45)");
}

}  // namespace
}  // namespace tspemu
