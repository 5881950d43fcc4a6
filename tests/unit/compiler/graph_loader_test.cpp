// Loading well-formed graphs: names and defaults, placements, what the loader infers for computed
// tensors, initial data (recipes, literals, files) and the op table.
#include "scratch_dir.hpp"
#include "test_util.hpp"
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "isa/data_init.hpp"

namespace tspemu {
namespace {

const Tensor& tensor_named(const Graph& g, std::string_view name) {
  const std::int32_t i = g.find_tensor(name);
  EXPECT_GE(i, 0) << name;
  return g.tensor(i);
}

std::vector<std::int32_t> ids(const std::vector<TspId>& tsps) {
  std::vector<std::int32_t> out;
  for (TspId t : tsps) out.push_back(t.value);
  return out;
}

TEST(GraphLoader, MinimalGraphAndDefaults) {
  const Graph g = load_graph_from_string(R"(
[[tensor]]
name = "a"
shape = [2, 3]
dtype = "int16"
placement = {tsp = 0}
init = {recipe = "zero"}
[[op]]
kind = "neg"
inputs = ["a"]
output = "b"
[outputs]
names = ["b", "a"]
)",
                                         "dir/tiny.toml", test::chip_topology());
  EXPECT_EQ(g.name, "tiny");
  EXPECT_EQ(g.source_name, "dir/tiny.toml");
  EXPECT_EQ(g.topology_hint, "");
  EXPECT_EQ(g.seed, 0u);
  EXPECT_EQ(g.topology_tsps, 1u);
  ASSERT_EQ(g.tensors.size(), 2u);
  ASSERT_EQ(g.ops.size(), 1u);
  const Op& op = g.ops[0];
  EXPECT_EQ(op.kind, OpKind::neg);
  EXPECT_EQ(op.label(), "op[0] (neg)");
  EXPECT_EQ(op.inputs, (std::vector<std::int32_t>{0}));
  EXPECT_EQ(op.output, 1);
  EXPECT_EQ(op.where.to_string(), "dir/tiny.toml:8:1");
  const Tensor& b = g.tensor(1);
  EXPECT_EQ(b.name, "b");
  EXPECT_FALSE(b.declared);
  EXPECT_FALSE(b.init.has_value());
  EXPECT_EQ(b.producer, 0);
  EXPECT_EQ(b.dtype, DType::i16);
  EXPECT_EQ(b.shape, (Shape{2, 3}));
  EXPECT_EQ(b.placement.describe(), "tsp 0");
  EXPECT_EQ(g.outputs, (std::vector<std::int32_t>{1, 0}));
  const Tensor& a = g.tensor(0);
  EXPECT_TRUE(a.declared);
  EXPECT_EQ(a.producer, -1);
  EXPECT_EQ(a.where.to_string(), "dir/tiny.toml:2:1");
  ASSERT_TRUE(a.init.has_value());
  EXPECT_EQ(a.init->kind, DataInit::Kind::zero);
}

TEST(GraphLoader, GraphTable) {
  const Graph g = test::load(R"(
[graph]
name = "demo"
description = "what it does"
topology = "topologies/node.toml"
seed = 99
[[tensor]]
name = "a"
shape = [4]
dtype = "fp32"
placement = {tsp = 1}
init = {recipe = "uniform", lo = -1, hi = 1}
[[tensor]]
name = "b"
shape = [4]
dtype = "fp32"
placement = {tsp = 1}
init = {recipe = "uniform", lo = -1, hi = 1, seed = 5}
[outputs]
names = ["a"]
)");
  EXPECT_EQ(g.name, "demo");
  EXPECT_EQ(g.description, "what it does");
  EXPECT_EQ(g.topology_hint, "topologies/node.toml");
  EXPECT_EQ(g.seed, 99u);
  // A recipe without a seed takes splitmix64(graph seed, index of its [[tensor]] table).
  EXPECT_EQ(tensor_named(g, "a").init->seed, splitmix64_at(99, 0));
  EXPECT_EQ(tensor_named(g, "b").init->seed, 5u);
  EXPECT_EQ(tensor_named(g, "a").init->low, -1.0);
  EXPECT_EQ(tensor_named(g, "a").init->high, 1.0);
}

TEST(GraphLoader, PlacementForms) {
  const Graph g = test::load(R"(
[[tensor]]
name = "one"
shape = [2, 8]
dtype = "int8"
placement = {tsp = 7}
init = {recipe = "zero"}
[[tensor]]
name = "list"
shape = [2, 8]
dtype = "int8"
placement = {tsps = [1, 2, 5]}
init = {recipe = "zero"}
[[tensor]]
name = "range"
shape = [2, 8]
dtype = "int8"
placement = {tsps = "2..5", split_axis = 1}
init = {recipe = "zero"}
[[tensor]]
name = "node"
shape = [2, 8]
dtype = "int8"
placement = {node = 0, per_tsp = true}
init = {recipe = "zero"}
[[tensor]]
name = "rep"
shape = [2, 8]
dtype = "int8"
placement = {tsps = [3], per_tsp = false}
init = {recipe = "zero"}
[outputs]
names = ["one"]
)");
  const Tensor& one = tensor_named(g, "one");
  EXPECT_EQ(ids(one.placement.tsps), (std::vector<std::int32_t>{7}));
  EXPECT_EQ(one.placement.describe(), "tsp 7");
  const Tensor& list = tensor_named(g, "list");
  EXPECT_EQ(list.placement.describe(), "tsps 1, 2, 5 (replicated)");
  EXPECT_EQ(list.local_shape(), (Shape{2, 8}));
  const Tensor& range = tensor_named(g, "range");
  EXPECT_EQ(ids(range.placement.tsps), (std::vector<std::int32_t>{2, 3, 4, 5}));
  EXPECT_EQ(range.placement.describe(), "tsps 2..5 split along axis 1");
  EXPECT_EQ(range.local_shape(), (Shape{2, 2}));
  EXPECT_EQ(range.placement.position_of(TspId(4)), 2);
  EXPECT_EQ(range.placement.position_of(TspId(6)), -1);
  const Tensor& node = tensor_named(g, "node");
  EXPECT_EQ(ids(node.placement.tsps), (std::vector<std::int32_t>{0, 1, 2, 3, 4, 5, 6, 7}));
  EXPECT_EQ(node.placement.describe(), "tsps 0..7 (per-TSP values)");
  EXPECT_EQ(node.local_shape(), (Shape{2, 8}));
  EXPECT_EQ(tensor_named(g, "rep").placement.describe(), "tsp 3");
}

TEST(GraphLoader, RackPlacementCoversEveryNodeIncludingTheSpare) {
  const Topology rack = load_topology(test::source_path("topologies/rack.toml"));
  const Graph g = test::load(R"(
[[tensor]]
name = "x"
shape = [1]
dtype = "fp16"
placement = {rack = 0, per_tsp = true}
init = {recipe = "zero"}
[outputs]
names = ["x"]
)",
                             rack);
  EXPECT_EQ(tensor_named(g, "x").placement.tsps.size(), 72u);
  EXPECT_EQ(tensor_named(g, "x").placement.describe(), "tsps 0..71 (per-TSP values)");
}

// What the loader infers for op outputs (docs/graph-format.md, "Placement of computed tensors").
TEST(GraphLoader, InfersShapesDtypesAndPlacements) {
  const Graph g = test::load(R"(
[[tensor]]
name = "x"
shape = [8, 64]
dtype = "fp16"
placement = {tsps = "0..3"}
init = {recipe = "zero"}
[[tensor]]
name = "w_cols"
shape = [64, 32]
dtype = "fp16"
placement = {tsps = "0..3", split_axis = 1}
init = {recipe = "zero"}
[[tensor]]
name = "x_rows"
shape = [8, 64]
dtype = "fp16"
placement = {tsps = "0..3", split_axis = 0}
init = {recipe = "zero"}
[[tensor]]
name = "x_k"
shape = [8, 64]
dtype = "fp16"
placement = {tsps = "0..3", split_axis = 1}
init = {recipe = "zero"}
[[tensor]]
name = "w_k"
shape = [64, 32]
dtype = "fp16"
placement = {tsps = "0..3", split_axis = 0}
init = {recipe = "zero"}
[[tensor]]
name = "w"
shape = [64, 32]
dtype = "fp16"
placement = {tsps = "0..3"}
init = {recipe = "zero"}
[[op]]
kind = "matmul"
inputs = ["x", "w_cols"]
output = "col_split"
[[op]]
kind = "matmul"
inputs = ["x_rows", "w"]
output = "row_split"
[[op]]
kind = "matmul"
inputs = ["x_k", "w_k"]
output = "partial"
[[op]]
kind = "matmul"
inputs = ["x", "w"]
output = "replicated"
[[op]]
kind = "transpose"
inputs = ["col_split"]
output = "transposed"
[[op]]
kind = "reduce"
inputs = ["col_split"]
output = "row_sums"
op = "max"
axis = 1
[[op]]
kind = "reduce"
inputs = ["col_split"]
output = "col_sums"
op = "sum"
axis = 0
[[op]]
kind = "slice"
inputs = ["col_split"]
output = "rows_0_3"
axis = 0
start = 0
end = 4
[[op]]
kind = "concat"
inputs = ["col_split", "col_split"]
output = "twice"
axis = 0
[[op]]
kind = "add"
inputs = ["col_split", "row_sums"]
output = "mixed"
[[op]]
kind = "cast"
inputs = ["partial"]
output = "partial16"
dtype = "fp16"
[[op]]
kind = "reduce_scatter"
inputs = ["partial"]
output = "scattered"
axis = 1
[[op]]
kind = "all_gather"
inputs = ["scattered"]
output = "gathered"
axis = 1
[outputs]
names = ["gathered"]
)");
  struct Expect {
    const char* name;
    DType dtype;
    Shape shape;
    const char* placement;
    Shape local;
  };
  const std::vector<Expect> expected{
      {"col_split", DType::f32, {8, 32}, "tsps 0..3 split along axis 1", {8, 8}},
      {"row_split", DType::f32, {8, 32}, "tsps 0..3 split along axis 0", {2, 32}},
      {"partial", DType::f32, {8, 32}, "tsps 0..3 (per-TSP values)", {8, 32}},
      {"replicated", DType::f32, {8, 32}, "tsps 0..3 (replicated)", {8, 32}},
      {"transposed", DType::f32, {32, 8}, "tsps 0..3 split along axis 0", {8, 8}},
      {"row_sums", DType::f32, {8, 1}, "tsps 0..3 (per-TSP values)", {8, 1}},
      {"col_sums", DType::f32, {1, 32}, "tsps 0..3 split along axis 1", {1, 8}},
      {"rows_0_3", DType::f32, {4, 32}, "tsps 0..3 split along axis 1", {4, 8}},
      {"twice", DType::f32, {16, 32}, "tsps 0..3 split along axis 1", {16, 8}},
      {"mixed", DType::f32, {8, 8}, "tsps 0..3 (per-TSP values)", {8, 8}},
      {"partial16", DType::f16, {8, 32}, "tsps 0..3 (per-TSP values)", {8, 32}},
      {"scattered", DType::f32, {8, 32}, "tsps 0..3 split along axis 1", {8, 8}},
      {"gathered", DType::f32, {8, 32}, "tsps 0..3 (replicated)", {8, 32}},
  };
  for (const Expect& e : expected) {
    SCOPED_TRACE(e.name);
    const Tensor& t = tensor_named(g, e.name);
    EXPECT_EQ(t.dtype, e.dtype);
    EXPECT_EQ(t.shape, e.shape);
    EXPECT_EQ(t.placement.describe(), e.placement);
    EXPECT_EQ(t.local_shape(), e.local);
  }
}

TEST(GraphLoader, DeclaredComputedTensorsAreChecked) {
  const Graph g = test::load(R"(
[[tensor]]
name = "a"
shape = [2, 4]
dtype = "int8"
placement = {tsps = [0, 1], split_axis = 1}
init = {recipe = "zero"}
[[tensor]]
name = "c"
shape = [2, 4]
dtype = "int32"
placement = {tsps = [0, 1], split_axis = 1}
[[tensor]]
name = "d"
shape = [2, 4]
dtype = "int32"
[[op]]
kind = "cast"
inputs = ["a"]
output = "c"
dtype = "int32"
[[op]]
kind = "relu"
inputs = ["c"]
output = "d"
[outputs]
names = ["d"]
)");
  const Tensor& c = tensor_named(g, "c");
  EXPECT_TRUE(c.declared);
  EXPECT_EQ(c.producer, 0);
  EXPECT_EQ(g.ops[0].output, g.find_tensor("c"));
  const Tensor& d = tensor_named(g, "d");
  EXPECT_EQ(d.placement.describe(), "tsps 0, 1 split along axis 1");  // filled in from the op
}

TEST(GraphLoader, InitialShardsFollowThePlacement) {
  const Graph g = test::load(R"(
[[tensor]]
name = "s"
shape = [2, 4]
dtype = "int16"
placement = {tsps = [2, 6], split_axis = 1}
init = {values = [0, 1, 2, 3, 10, 11, 12, 13]}
[[tensor]]
name = "p"
shape = [3]
dtype = "int8"
placement = {tsps = [2, 6], per_tsp = true}
init = {recipe = "uniform", seed = 7, lo = -8, hi = 8}
[outputs]
names = ["s", "p"]
)");
  const Tensor& s = tensor_named(g, "s");
  EXPECT_EQ(test::values_of<std::int16_t>(initial_shard_bytes(s, 0)),
            (std::vector<std::int16_t>{0, 1, 10, 11}));
  EXPECT_EQ(test::values_of<std::int16_t>(initial_shard_bytes(s, 1)),
            (std::vector<std::int16_t>{2, 3, 12, 13}));
  // per_tsp: the recipe covers the stacked [2, 3] tensor; TSP i holds stacked row i.
  const Tensor& p = tensor_named(g, "p");
  EXPECT_EQ(test::values_of<std::int8_t>(initial_bytes(p)),
            (std::vector<std::int8_t>{-8, -1, 4, 3, -1, 4}));
  EXPECT_EQ(test::values_of<std::int8_t>(initial_shard_bytes(p, 1)),
            (std::vector<std::int8_t>{3, -1, 4}));
  const EvalResult r = evaluate(g);
  EXPECT_EQ(r.find("p")->shards[1].bytes, initial_shard_bytes(p, 1));
  EXPECT_EQ(r.find("s")->shards[0].bytes, initial_shard_bytes(s, 0));
}

TEST(GraphLoader, InitFromAFileNextToTheGraph) {
  const testing::ScratchDir dir("tspemu_graph_test");
  {
    std::ofstream bin(dir / "w.bin", std::ios::binary);
    const char bytes[] = {0x00, 0x3c, 0x00, static_cast<char>(0xc0)};  // fp16 1.0, -2.0
    bin.write(bytes, 4);
    std::ofstream toml(dir / "g.toml");
    toml << "[[tensor]]\nname = \"w\"\nshape = [2]\ndtype = \"fp16\"\nplacement = {tsp = 0}\n"
            "init = {file = \"w.bin\"}\n[outputs]\nnames = [\"w\"]\n";
  }
  const Graph g = load_graph(dir / "g.toml", test::chip_topology());
  const Tensor& w = tensor_named(g, "w");
  EXPECT_EQ(w.init->kind, DataInit::Kind::file_bytes);
  EXPECT_EQ(w.init_file, "w.bin");
  EXPECT_EQ(test::values_of<std::uint16_t>(initial_bytes(w)),
            (std::vector<std::uint16_t>{0x3c00, 0xc000}));
}

TEST(GraphLoader, MissingFileIsAnInputError) {
  try {
    (void)load_graph("/nonexistent/dir/g.toml", test::chip_topology());
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_STREQ(e.what(),
                 "/nonexistent/dir/g.toml: cannot read graph file: No such file or directory");
  }
}

TEST(GraphLoader, OpTableIsCompleteAndUnique) {
  std::set<std::string_view> names;
  for (const OpSpec& s : op_specs()) {
    EXPECT_TRUE(names.insert(s.name).second) << s.name;
    EXPECT_EQ(parse_op_kind(s.name), s.kind);
    EXPECT_EQ(op_kind_name(s.kind), s.name);
    EXPECT_FALSE(s.summary.empty());
  }
  EXPECT_EQ(names.size(), static_cast<std::size_t>(OpKind::send) + 1);
  EXPECT_FALSE(parse_op_kind("softmax").has_value());  // built from other ops, see decoder_layer
  for (DType t : {DType::i8, DType::i16, DType::i32, DType::f16, DType::f32}) {
    EXPECT_EQ(parse_graph_dtype(graph_dtype_name(t)), t);
  }
  EXPECT_FALSE(parse_graph_dtype("uint8").has_value());
}

TEST(GraphLoader, FormatHelpers) {
  EXPECT_EQ(format_shape(Shape{64, 700}), "[64, 700]");
  EXPECT_EQ(format_tsp_list(
                std::vector<TspId>{TspId(0), TspId(1), TspId(2), TspId(5), TspId(7), TspId(8)}),
            "0..2, 5, 7, 8");
}

}  // namespace
}  // namespace tspemu
