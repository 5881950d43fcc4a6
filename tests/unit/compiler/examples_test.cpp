// Every example graph in programs/graphs/: its header names its commands and topology, it loads
// against that topology, evaluates, and gives its golden digest (so any change to the evaluator's
// semantics, the seeded recipe or the examples shows up here and must be explained).
#include "test_util.hpp"
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "common/numerics/float_ops.hpp"
#include "compiler/reference_eval_kernels.hpp"

namespace tspemu {
namespace {

struct Header {
  std::vector<std::string> lines;  // leading comment lines, without "# "
  std::string topology;
};

Header read_header(const std::string& path) {
  std::ifstream in(path);
  Header h;
  std::string line;
  while (std::getline(in, line) && line.rfind('#', 0) == 0) {
    h.lines.push_back(line);
    if (line.rfind("# topology: ", 0) == 0) h.topology = line.substr(12);
  }
  return h;
}

// Golden digests of evaluate(graph).digest(), one per example. Recompute with
// TSPEMU_PRINT_DIGESTS=1 build/<dir>/tests/unit/compiler/compiler_test --gtest_filter='Examples*'
// only after a deliberate, documented change of semantics or of an example.
const std::map<std::string, std::string>& golden() {
  static const std::map<std::string, std::string> g{
      {"allreduce_node", "a36e5ad66be1c070f50a47804d3bd430"},
      {"allreduce_rack", "f59a8777b7f7fbf5af03beafaf9c7031"},
      {"decoder_layer", "94bb612d2f304d5f6611f52c35412de9"},
      {"gemm_colsplit_8", "29e7addb44d5203750ac896f6a3fba2c"},
      {"gemm_fp16", "0bb4ccc140f58854f78411d47e435018"},
      {"gemm_int8", "9f53d5634335ee85eec1fb0e43b1d906"},
      {"gemm_rowsplit_16", "cfff9e4cae1f2732fc1ad5d974482d59"},
      {"mlp_2layer", "a98b977cfa969473fbcb925c10b737e8"},
  };
  return g;
}

std::vector<std::string> example_files() {
  std::vector<std::string> files;
  for (const auto& entry :
       std::filesystem::directory_iterator(test::source_path("programs/graphs"))) {
    if (entry.path().extension() == ".toml") files.push_back(entry.path().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

TEST(Examples, EveryExampleHasAGoldenDigest) {
  std::vector<std::string> stems;
  for (const std::string& f : example_files()) stems.push_back(std::filesystem::path(f).stem());
  std::vector<std::string> expected;
  for (const auto& [stem, digest] : golden()) expected.push_back(stem);
  EXPECT_EQ(stems, expected);
}

TEST(Examples, LoadEvaluateAndMatchTheirGoldenDigests) {
  const bool print = std::getenv("TSPEMU_PRINT_DIGESTS") != nullptr;
  for (const std::string& file : example_files()) {
    SCOPED_TRACE(file);
    const std::string stem = std::filesystem::path(file).stem();
    const Header h = read_header(file);
    ASSERT_GE(h.lines.size(), 3u);
    EXPECT_EQ(h.lines[0].rfind("# compile: tspemu compile programs/graphs/" + stem +
                                   ".toml --topology " + h.topology + " -o " + stem + ".tspb",
                               0),
              0u)
        << h.lines[0];
    EXPECT_EQ(h.lines[1],
              "# run: tspemu run " + stem + ".tspb --topology " + h.topology + " --local --check");
    ASSERT_FALSE(h.topology.empty()) << "no '# topology: ' header line";
    const Topology topology = load_topology(test::source_path(h.topology));
    const Graph graph = load_graph(file, topology);
    EXPECT_EQ(graph.name, stem);
    EXPECT_EQ(graph.topology_hint, h.topology);
    const EvalResult first = evaluate(graph);
    const EvalResult second = evaluate(load_graph(file, topology));
    EXPECT_EQ(first.digest(), second.digest()) << "evaluation is not deterministic";
    if (print) std::printf("      {\"%s\", \"%s\"},\n", stem.c_str(), first.digest().hex().c_str());
    EXPECT_EQ(first.digest().hex(), golden().at(stem));
  }
}

// ---- what the examples compute, checked against the definitions and double precision ----------

struct Evaluated {
  Graph graph;
  std::vector<TensorValue> values;
  const TensorValue& operator[](std::string_view name) const {
    return values.at(static_cast<std::size_t>(graph.find_tensor(name)));
  }
};

Evaluated evaluate_example(std::string_view stem, std::string_view topology) {
  const Topology t = load_topology(test::source_path("topologies/" + std::string(topology)));
  Graph g = load_graph(test::source_path("programs/graphs/" + std::string(stem) + ".toml"), t);
  std::vector<TensorValue> values = evaluate_all(g);
  return Evaluated{std::move(g), std::move(values)};
}

std::vector<float> halves_to_floats(const Shard& s) {
  std::vector<float> out;
  for (std::uint16_t b : test::half_bits(s)) out.push_back(half_to_float(Half{b}));
  return out;
}

void expect_all_shards_identical(const TensorValue& v) {
  for (const Shard& s : v.shards) {
    EXPECT_EQ(s.bytes, v.shards[0].bytes) << v.name << " differs on tsp " << s.tsp.value;
  }
}

TEST(Examples, GemmInt8IsTheExactProduct) {
  const Evaluated e = evaluate_example("gemm_int8", "chip.toml");
  const auto a = test::values_of<std::int8_t>(e["a"].shards[0]);
  const auto b = test::values_of<std::int8_t>(e["b"].shards[0]);
  const auto c = test::values_of<std::int32_t>(e["c"].shards[0]);
  ASSERT_EQ(c.size(), 64u * 400u);
  for (std::size_t i = 0; i < 64; ++i) {
    for (std::size_t j = 0; j < 400; ++j) {
      std::int64_t sum = 0;
      for (std::size_t k = 0; k < 700; ++k) sum += std::int64_t{a[i * 700 + k]} * b[k * 400 + j];
      ASSERT_EQ(c[i * 400 + j], sum) << i << ", " << j;  // |sum| < 2^31: no wrap
    }
  }
}

TEST(Examples, GemmFp16IsWithinThreeRoundingsOfTheExactProduct) {
  const Evaluated e = evaluate_example("gemm_fp16", "chip.toml");
  const auto a = halves_to_floats(e["a"].shards[0]);
  const auto b = halves_to_floats(e["b"].shards[0]);
  const auto c = test::values_of<float>(e["c"].shards[0]);
  for (std::size_t i = 0; i < 64; ++i) {
    for (std::size_t j = 0; j < 400; ++j) {
      double exact = 0.0;  // products of fp16 values are exact in double; 700 of them nearly so
      double magnitude = 0.0;
      for (std::size_t k = 0; k < 700; ++k) {
        exact += double{a[i * 700 + k]} * b[k * 400 + j];
        magnitude += std::abs(double{a[i * 700 + k]} * b[k * 400 + j]);
      }
      // 3 chunk roundings + 2 accumulator roundings, each <= 2^-24 of at most `magnitude`.
      ASSERT_LE(std::abs(c[i * 400 + j] - exact), 5 * 0x1p-24 * magnitude + 1e-30)
          << i << ", " << j;
    }
  }
}

TEST(Examples, ColumnSplitGemmEqualsTheSingleTspProduct) {
  const Evaluated e = evaluate_example("gemm_colsplit_8", "node.toml");
  const Tensor& b = e.graph.tensor(e.graph.find_tensor("b"));
  const auto a = test::values_of<Half>(e["a"].shards[0]);
  const auto whole_b = test::values_of<Half>(initial_bytes(b));
  const std::vector<float> single = reference_matmul_f16(a, whole_b, 32, 640, 2560);
  const TensorValue& c = e["c"];
  ASSERT_EQ(c.shards.size(), 8u);
  for (std::size_t t = 0; t < 8; ++t) {
    EXPECT_EQ(c.shards[t].tsp.value, static_cast<std::int32_t>(t));
    const auto local = test::values_of<float>(c.shards[t]);
    for (std::size_t i = 0; i < 32; ++i) {
      for (std::size_t j = 0; j < 320; ++j) {
        ASSERT_EQ(std::bit_cast<std::uint32_t>(local[i * 320 + j]),
                  std::bit_cast<std::uint32_t>(single[i * 2560 + t * 320 + j]))
            << "tsp " << t << " element " << i << ", " << j;
      }
    }
  }
}

// The combination tree of all_reduce (docs/graph-format.md, "Collectives") for TSPs 0..n-1 of one
// rack, 8 per node, written out again here: the halving tree over each node's TSPs, then over the
// nodes' values. `add` combines two vectors element-wise.
template <class V, class Add>
V halving(std::vector<V> v, Add add) {
  for (std::size_t m = v.size(); m > 1;) {
    const std::size_t h = (m + 1) / 2;
    for (std::size_t i = 0; i + h < m; ++i) v[i] = add(v[i], v[i + h]);
    m = h;
  }
  return v[0];
}
template <class V, class Add>
V rack_tree(const std::vector<V>& per_tsp, Add add) {
  std::vector<V> nodes;
  for (std::size_t first = 0; first < per_tsp.size(); first += 8) {
    const auto end = std::min(per_tsp.size(), first + 8);
    nodes.push_back(halving(std::vector<V>(per_tsp.begin() + static_cast<std::ptrdiff_t>(first),
                                           per_tsp.begin() + static_cast<std::ptrdiff_t>(end)),
                            add));
  }
  return halving(std::move(nodes), add);
}

TEST(Examples, RowSplitGemmCombinesThePartialsInTheTree) {
  const Evaluated e = evaluate_example("gemm_rowsplit_16", "rack.toml");
  const TensorValue& a = e["a"];
  const TensorValue& b = e["b"];
  std::vector<std::vector<float>> partials;
  for (std::size_t t = 0; t < 16; ++t) {
    partials.push_back(reference_matmul_f16(test::values_of<Half>(a.shards[t]),
                                            test::values_of<Half>(b.shards[t]), 32, 320, 256));
  }
  // TSPs 0..15 are nodes 0 and 1 of the rack: each node's 8 partials, then the two nodes.
  const std::vector<float> folded =
      rack_tree(partials, [](std::vector<float> x, const std::vector<float>& y) {
        for (std::size_t i = 0; i < x.size(); ++i) x[i] = add_f32(x[i], y[i]);
        return x;
      });
  const TensorValue& c = e["c"];
  ASSERT_EQ(c.shards.size(), 16u);
  expect_all_shards_identical(c);
  EXPECT_EQ(test::values_of<float>(c.shards[0]), folded);
}

TEST(Examples, AllReduceNodeIsTheHalvingTree) {
  const Evaluated e = evaluate_example("allreduce_node", "node.toml");
  const TensorValue& x = e["x"];
  std::vector<std::vector<float>> per_tsp;
  for (std::size_t t = 0; t < 8; ++t) per_tsp.push_back(test::values_of<float>(x.shards[t]));
  const std::vector<float> folded =
      rack_tree(per_tsp, [](std::vector<float> a, const std::vector<float>& b) {
        for (std::size_t i = 0; i < a.size(); ++i) a[i] = add_f32(a[i], b[i]);
        return a;
      });
  const TensorValue& sum = e["sum"];
  ASSERT_EQ(sum.shards.size(), 8u);
  expect_all_shards_identical(sum);
  EXPECT_EQ(test::float_bits(sum.shards[0]),
            test::values_of<std::uint32_t>(std::vector<std::uint8_t>(
                reinterpret_cast<const std::uint8_t*>(folded.data()),
                reinterpret_cast<const std::uint8_t*>(folded.data() + folded.size()))));
  // The TSPs' inputs differ (per_tsp): the recipe covers the stacked [8, 4, 320] tensor.
  EXPECT_NE(x.shards[0].bytes, x.shards[1].bytes);
}

TEST(Examples, AllReduceRackCombinesSeventyTwoTspsInFp16) {
  const Evaluated e = evaluate_example("allreduce_rack", "rack.toml");
  const TensorValue& x = e["x"];
  ASSERT_EQ(x.shards.size(), 72u);
  std::vector<std::vector<std::uint16_t>> per_tsp;
  double exact0 = 0.0;
  for (std::size_t t = 0; t < 72; ++t) {
    per_tsp.push_back(test::half_bits(x.shards[t]));
    exact0 += half_to_double(Half{per_tsp.back()[0]});
  }
  const std::vector<std::uint16_t> folded =
      rack_tree(per_tsp, [](std::vector<std::uint16_t> a, const std::vector<std::uint16_t>& b) {
        for (std::size_t i = 0; i < a.size(); ++i) a[i] = add_f16(Half{a[i]}, Half{b[i]}).bits;
        return a;
      });
  const TensorValue& sum = e["sum"];
  ASSERT_EQ(sum.shards.size(), 72u);
  expect_all_shards_identical(sum);
  EXPECT_EQ(test::half_bits(sum.shards[0]), folded);
  EXPECT_NEAR(half_to_double(Half{folded[0]}), exact0, 0.1);  // 71 fp16 roundings, 7 levels deep
}

TEST(Examples, MlpMatchesADoublePrecisionForwardPass) {
  const Evaluated e = evaluate_example("mlp_2layer", "chip.toml");
  const auto x = halves_to_floats(e["x"].shards[0]);
  const auto w1 = halves_to_floats(e["w1"].shards[0]);
  const auto b1 = test::values_of<float>(e["b1"].shards[0]);
  const auto w2 = halves_to_floats(e["w2"].shards[0]);
  const auto b2 = test::values_of<float>(e["b2"].shards[0]);
  const auto y = test::values_of<float>(e["y"].shards[0]);
  for (std::size_t i = 0; i < 32; ++i) {
    std::vector<double> r(512);
    for (std::size_t j = 0; j < 512; ++j) {
      double h = b1[j];
      for (std::size_t k = 0; k < 256; ++k) h += double{x[i * 256 + k]} * w1[k * 512 + j];
      r[j] = std::max(h, 0.0);
    }
    for (std::size_t j = 0; j < 128; ++j) {
      double out = b2[j];
      for (std::size_t k = 0; k < 512; ++k) out += r[k] * w2[k * 128 + j];
      ASSERT_NEAR(y[i * 128 + j], out, 2e-3) << i << ", " << j;
    }
  }
}

TEST(Examples, DecoderLayerIsAWellFormedAttentionAndMlp) {
  const Evaluated e = evaluate_example("decoder_layer", "node.toml");
  const TensorValue& p = e["p"];
  ASSERT_EQ(p.placement.kind, Placement::Kind::per_tsp);
  ASSERT_EQ(p.shards.size(), 4u);
  for (const Shard& s : p.shards) {
    const auto v = test::values_of<float>(s);
    ASSERT_EQ(v.size(), 256u);
    for (std::size_t i = 0; i < 16; ++i) {
      double row = 0.0;
      for (std::size_t j = 0; j < 16; ++j) {
        if (j > i) {
          EXPECT_EQ(std::bit_cast<std::uint32_t>(v[i * 16 + j]), 0u) << "causal mask";
        } else {
          EXPECT_GT(v[i * 16 + j], 0.0F);
        }
        row += v[i * 16 + j];
      }
      EXPECT_NEAR(row, 1.0, 1e-5) << "softmax row " << i << " on tsp " << s.tsp.value;
    }
    EXPECT_EQ(v[0], 1.0F);  // row 0 attends to itself only
  }
  EXPECT_NE(p.shards[0].bytes, p.shards[1].bytes);  // different heads
  const TensorValue& y = e["y"];
  ASSERT_EQ(y.placement.kind, Placement::Kind::replicated);
  expect_all_shards_identical(y);
  for (float v : test::values_of<float>(y.shards[0])) {
    ASSERT_TRUE(std::isfinite(v));
    ASSERT_LT(std::abs(v), 20.0F);
  }
  // The residual stream: y = h + mlp and h = x + attn, element by element in fp32.
  const auto x = test::values_of<float>(e["x"].shards[0]);
  const auto attn = test::values_of<float>(e["attn"].shards[0]);
  const auto h = test::values_of<float>(e["h"].shards[0]);
  for (std::size_t i = 0; i < h.size(); ++i) ASSERT_EQ(h[i], add_f32(x[i], attn[i]));
}

}  // namespace
}  // namespace tspemu
