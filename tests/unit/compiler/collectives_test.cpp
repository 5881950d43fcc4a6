// Collectives: which TSP holds what afterwards, and the combination tree of reductions
// (docs/graph-format.md, "Collectives"). On the shipped 8-TSP node topology unless named.
#include "test_util.hpp"
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "topo/loader.hpp"

namespace tspemu {
namespace {

std::vector<std::int32_t> tsps_of(const TensorValue& v) {
  std::vector<std::int32_t> out;
  for (const Shard& s : v.shards) out.push_back(s.tsp.value);
  return out;
}

// A graph whose output y is the all_reduce (sum) of a per-TSP [1, 2] fp16 tensor x.
std::string fp16_all_reduce(const std::string& tsps, const std::string& values) {
  return R"(
[[tensor]]
name = "x"
shape = [1, 2]
dtype = "fp16"
placement = {tsps = )" +
         tsps + R"(, per_tsp = true}
init = {values = )" +
         values + R"(}
[[op]]
kind = "all_reduce"
inputs = ["x"]
output = "y"
[outputs]
names = ["y"]
)";
}

TEST(Collectives, AllReduceIsTheHalvingTreeOverANodesTsps) {
  // Per TSP [1, 2] fp16 on four TSPs of one node: the halving tree (x0 + x2) + (x1 + x3).
  // Column 0 = 2048, 1, 1, 1: (2048 + 1 -> 2048, ties to even) + (1 + 1) = 2050; column 1 = 1, 1,
  // 2048, 1: (1 + 2048 -> 2048) + 2 = 2050. (The left fold of issue 6 gave 2048 and 2052.)
  const std::string text = fp16_all_reduce("[0, 1, 2, 3]", "[2048, 1,  1, 1,  1, 2048,  1, 1]");
  const TensorValue y = test::eval_output(text, "y");
  EXPECT_EQ(y.placement.kind, Placement::Kind::replicated);
  EXPECT_EQ(tsps_of(y), (std::vector<std::int32_t>{0, 1, 2, 3}));
  for (const Shard& s : y.shards) {
    EXPECT_EQ(s.shape, (Shape{1, 2}));
    EXPECT_EQ(test::half_bits(s), (std::vector<std::uint16_t>{0x6801, 0x6801}));
  }
}

TEST(Collectives, AllReduceCombinesEachNodeFirstThenTheNodes) {
  // TSPs 0, 1, 2 of node 0 and TSP 8 of node 1 (topologies/rack.toml). The tree: node 0's value
  // is (x0 + x2) + x1, node 1's is x8, the rack's is node 0 + node 1. Column 0 = 1, 1, 2048, 1:
  // (1 + 2048 -> 2048) + 1 -> 2048, + 1 -> 2048. A halving tree over the four as one group would
  // give (x0 + x2) + (x1 + x8) = 2048 + 2 = 2050; the left fold ((1 + 1) + 2048) + 1 = 2052.
  // Column 1 = 2, 2, 2, 2048: node 0 (2 + 2) + 2 = 6, + 2048 = 2054.
  static const Topology rack = load_topology(test::source_path("topologies/rack.toml"));
  const std::string text = fp16_all_reduce("[0, 1, 2, 8]", "[1, 2,  1, 2,  2048, 2,  1, 2048]");
  const TensorValue y = test::eval_output(text, "y", rack);
  EXPECT_EQ(tsps_of(y), (std::vector<std::int32_t>{0, 1, 2, 8}));
  for (const Shard& s : y.shards) {
    EXPECT_EQ(test::half_bits(s), (std::vector<std::uint16_t>{0x6800, 0x6803}));
  }
}

TEST(Collectives, AllReduceIntegerSumWrapsOrSaturatesAndMaxMin) {
  const std::string base = R"(
[[tensor]]
name = "x"
shape = [1]
dtype = "int8"
placement = {tsps = [1, 4, 6], per_tsp = true}
init = {values = [100, 100, -100]}
[[op]]
kind = "all_reduce"
inputs = ["x"]
output = "wrap"
[[op]]
kind = "all_reduce"
inputs = ["x"]
output = "sat"
saturate = true
[[op]]
kind = "all_reduce"
inputs = ["x"]
output = "hi"
op = "max"
[[op]]
kind = "all_reduce"
inputs = ["x"]
output = "lo"
op = "min"
[outputs]
names = ["wrap", "sat", "hi", "lo"]
)";
  const EvalResult r = evaluate(test::load(base));
  // TSPs 1, 4, 6 of one node: the tree is (x1 + x6) + x4 = (100 + -100) + 100 = 100, saturating
  // or not (the left fold saturated at 100 + 100 = 127, then 127 - 100 = 27).
  const std::vector<std::pair<const char*, std::int8_t>> expected{
      {"wrap", 100}, {"sat", 100}, {"hi", 100}, {"lo", -100}};
  for (const auto& [name, value] : expected) {
    const TensorValue& v = *r.find(name);
    EXPECT_EQ(tsps_of(v), (std::vector<std::int32_t>{1, 4, 6})) << name;
    for (const Shard& s : v.shards) {
      EXPECT_EQ(test::values_of<std::int8_t>(s), (std::vector<std::int8_t>{value})) << name;
    }
  }
}

TEST(Collectives, ReduceScatterGivesTspIThePartIOfTheSum) {
  const std::string text = R"(
[[tensor]]
name = "x"
shape = [2, 4]
dtype = "int32"
placement = {tsps = [2, 5], per_tsp = true}
init = {values = [1, 2, 3, 4, 5, 6, 7, 8,  10, 20, 30, 40, 50, 60, 70, 80]}
[[op]]
kind = "reduce_scatter"
inputs = ["x"]
output = "cols"
axis = 1
[[op]]
kind = "reduce_scatter"
inputs = ["x"]
output = "rows"
axis = 0
[outputs]
names = ["cols", "rows"]
)";
  const EvalResult r = evaluate(test::load(text));
  const TensorValue& cols = *r.find("cols");
  EXPECT_EQ(cols.shape, (Shape{2, 4}));
  EXPECT_EQ(cols.placement.kind, Placement::Kind::split);
  EXPECT_EQ(cols.placement.split_axis, 1);
  EXPECT_EQ(tsps_of(cols), (std::vector<std::int32_t>{2, 5}));
  EXPECT_EQ(cols.shards[0].shape, (Shape{2, 2}));
  EXPECT_EQ(test::values_of<std::int32_t>(cols.shards[0]),
            (std::vector<std::int32_t>{11, 22, 55, 66}));
  EXPECT_EQ(test::values_of<std::int32_t>(cols.shards[1]),
            (std::vector<std::int32_t>{33, 44, 77, 88}));
  const TensorValue& rows = *r.find("rows");
  EXPECT_EQ(test::values_of<std::int32_t>(rows.shards[0]),
            (std::vector<std::int32_t>{11, 22, 33, 44}));
  EXPECT_EQ(test::values_of<std::int32_t>(rows.shards[1]),
            (std::vector<std::int32_t>{55, 66, 77, 88}));
}

TEST(Collectives, AllGatherConcatenatesInTspOrder) {
  const std::string text = R"(
[[tensor]]
name = "x"
shape = [4, 2]
dtype = "int16"
placement = {tsps = [3, 7], split_axis = 0}
init = {values = [0, 1, 2, 3, 4, 5, 6, 7]}
[[op]]
kind = "all_gather"
inputs = ["x"]
output = "whole"
axis = 0
[[op]]
kind = "all_gather"
inputs = ["x"]
output = "wide"
axis = 1
[outputs]
names = ["whole", "wide"]
)";
  const EvalResult r = evaluate(test::load(text));
  const TensorValue& whole = *r.find("whole");
  EXPECT_EQ(whole.placement.kind, Placement::Kind::replicated);
  EXPECT_EQ(whole.shape, (Shape{4, 2}));
  EXPECT_EQ(tsps_of(whole), (std::vector<std::int32_t>{3, 7}));
  for (const Shard& s : whole.shards) {
    EXPECT_EQ(test::values_of<std::int16_t>(s),
              (std::vector<std::int16_t>{0, 1, 2, 3, 4, 5, 6, 7}));
  }
  const TensorValue& wide = *r.find("wide");
  EXPECT_EQ(wide.shape, (Shape{2, 4}));
  for (const Shard& s : wide.shards) {
    EXPECT_EQ(test::values_of<std::int16_t>(s),
              (std::vector<std::int16_t>{0, 1, 4, 5, 2, 3, 6, 7}));
  }
}

TEST(Collectives, BroadcastAndSend) {
  const std::string text = R"(
[[tensor]]
name = "x"
shape = [3]
dtype = "fp32"
placement = {tsp = 3}
init = {values = [1.5, -2.0, 0.25]}
[[op]]
kind = "broadcast"
inputs = ["x"]
output = "b"
to = [0, 3, 7]
[[op]]
kind = "send"
inputs = ["x"]
output = "s"
to = 6
[[op]]
kind = "broadcast"
inputs = ["x"]
output = "r"
to = "4..5"
[outputs]
names = ["b", "s", "r"]
)";
  const EvalResult r = evaluate(test::load(text));
  const std::vector<std::uint32_t> x{0x3fc00000, 0xc0000000, 0x3e800000};
  EXPECT_EQ(tsps_of(*r.find("b")), (std::vector<std::int32_t>{0, 3, 7}));
  for (const Shard& s : r.find("b")->shards) EXPECT_EQ(test::float_bits(s), x);
  EXPECT_EQ(tsps_of(*r.find("s")), (std::vector<std::int32_t>{6}));
  EXPECT_EQ(test::float_bits(r.find("s")->shards[0]), x);
  EXPECT_EQ(tsps_of(*r.find("r")), (std::vector<std::int32_t>{4, 5}));
}

TEST(Collectives, LocalOpsRunOnEveryTspsOwnShard) {
  // x split by columns over 4 TSPs ([2, 2] each); bias [2, 1] replicated broadcasts along the
  // columns; the sum stays split along axis 1.
  const std::string text = R"(
[[tensor]]
name = "x"
shape = [2, 8]
dtype = "int32"
placement = {tsps = "0..3", split_axis = 1}
init = {values = [0, 1, 2, 3, 4, 5, 6, 7,  10, 11, 12, 13, 14, 15, 16, 17]}
[[tensor]]
name = "bias"
shape = [2, 1]
dtype = "int32"
placement = {tsps = "0..3"}
init = {values = [100, 200]}
[[op]]
kind = "add"
inputs = ["x", "bias"]
output = "y"
[[op]]
kind = "reduce"
inputs = ["x"]
output = "partial"
op = "sum"
axis = 1
[[op]]
kind = "all_reduce"
inputs = ["partial"]
output = "total"
[outputs]
names = ["y", "partial", "total"]
)";
  const EvalResult r = evaluate(test::load(text));
  const TensorValue& y = *r.find("y");
  EXPECT_EQ(y.placement.kind, Placement::Kind::split);
  EXPECT_EQ(y.shape, (Shape{2, 8}));
  EXPECT_EQ(test::values_of<std::int32_t>(y.shards[0]),
            (std::vector<std::int32_t>{100, 101, 210, 211}));
  EXPECT_EQ(test::values_of<std::int32_t>(y.shards[3]),
            (std::vector<std::int32_t>{106, 107, 216, 217}));
  // Reducing along the split axis gives each TSP the sum of its own columns.
  const TensorValue& partial = *r.find("partial");
  EXPECT_EQ(partial.placement.kind, Placement::Kind::per_tsp);
  EXPECT_EQ(test::values_of<std::int32_t>(partial.shards[1]), (std::vector<std::int32_t>{5, 25}));
  const TensorValue& total = *r.find("total");
  for (const Shard& s : total.shards) {
    EXPECT_EQ(test::values_of<std::int32_t>(s), (std::vector<std::int32_t>{28, 108}));
  }
}

}  // namespace
}  // namespace tspemu
