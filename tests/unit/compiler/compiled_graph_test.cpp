// The compiled-graph record: encode/decode round trips of the example graphs, every malformed
// record an InputError with the exact message, and extract_output over hand-made run outputs
// (several tiles per row, a column count that is not a multiple of 320, vectors in any order).
#include "compiler/compiled_graph.hpp"

#include "test_util.hpp"
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "compiler/compile.hpp"
#include "isa/data_init.hpp"

namespace tspemu {
namespace {

std::string topology_of(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line) && line.rfind('#', 0) == 0) {
    if (line.rfind("# topology: ", 0) == 0) return line.substr(12);
  }
  return {};
}

// A layout for every output shard: one segment per shard, "<tensor>@<tsp>", vector (r, t) in its
// row r * tiles + t.
CompiledGraph record_for(const Graph& graph) {
  CompiledGraph record;
  record.graph = graph;
  record.predicted_cycles = 12345;
  for (const auto index : graph.outputs) {
    const Tensor& t = graph.tensor(index);
    for (const TspId tsp : t.placement.tsps) {
      OutputShardLayout l;
      l.tensor = t.name;
      l.tsp = tsp;
      l.dtype = t.dtype;
      l.local_shape = t.local_shape();
      l.segments = {t.name + "@" + std::to_string(tsp.value)};
      for (std::int64_t v = 0; v < l.rows() * l.tiles(); ++v) {
        l.vectors.push_back(OutputVectorRef{0, static_cast<std::int32_t>(v)});
      }
      record.outputs.push_back(l);
    }
  }
  return record;
}

std::string decode_error(std::span<const std::uint8_t> bytes) {
  try {
    (void)decode_compiled_graph(bytes, "b.tspb");
  } catch (const InputError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(CompiledGraph, ExampleGraphsRoundTrip) {
  std::vector<std::string> files;
  for (const auto& entry :
       std::filesystem::directory_iterator(test::source_path("programs/graphs"))) {
    if (entry.path().extension() == ".toml") files.push_back(entry.path().string());
  }
  std::sort(files.begin(), files.end());
  ASSERT_FALSE(files.empty());
  for (const std::string& file : files) {
    SCOPED_TRACE(file);
    const Topology topology = load_topology(test::source_path(topology_of(file)));
    const Graph graph = load_graph(file, topology);
    const CompiledGraph record = record_for(graph);
    const std::vector<std::uint8_t> bytes = encode_compiled_graph(record);
    const CompiledGraph back = decode_compiled_graph(bytes, "b.tspb");
    EXPECT_EQ(encode_compiled_graph(back), bytes);  // deterministic, nothing lost
    EXPECT_EQ(back.outputs, record.outputs);
    EXPECT_EQ(back.predicted_cycles, 12345);
    const Graph& g = back.graph;
    EXPECT_EQ(g.name, graph.name);
    EXPECT_EQ(g.description, graph.description);
    EXPECT_EQ(g.source_name, graph.source_name);
    EXPECT_EQ(g.topology_hint, graph.topology_hint);
    EXPECT_EQ(g.seed, graph.seed);
    EXPECT_EQ(g.topology_tsps, graph.topology_tsps);
    EXPECT_EQ(g.outputs, graph.outputs);
    ASSERT_EQ(g.tensors.size(), graph.tensors.size());
    for (std::size_t i = 0; i < g.tensors.size(); ++i) {
      const Tensor& a = g.tensors[i];
      const Tensor& b = graph.tensors[i];
      EXPECT_EQ(a.name, b.name);
      EXPECT_EQ(a.dtype, b.dtype);
      EXPECT_EQ(a.shape, b.shape);
      EXPECT_EQ(a.placement, b.placement);
      EXPECT_EQ(a.init, b.init);
      EXPECT_EQ(a.init_file, b.init_file);
      EXPECT_EQ(a.producer, b.producer);
      EXPECT_EQ(a.declared, b.declared);
      EXPECT_EQ(a.where.to_string(), b.where.to_string());
    }
    ASSERT_EQ(g.ops.size(), graph.ops.size());
    for (std::size_t i = 0; i < g.ops.size(); ++i) {
      const Op& a = g.ops[i];
      const Op& b = graph.ops[i];
      EXPECT_EQ(a.kind, b.kind);
      EXPECT_EQ(a.label(), b.label());
      EXPECT_EQ(a.inputs, b.inputs);
      EXPECT_EQ(a.output, b.output);
      EXPECT_EQ(a.saturate, b.saturate);
      EXPECT_EQ(a.reduce_fn, b.reduce_fn);
      EXPECT_EQ(a.axis, b.axis);
      EXPECT_EQ(a.perm, b.perm);
      EXPECT_EQ(a.new_shape, b.new_shape);
      EXPECT_EQ(a.start, b.start);
      EXPECT_EQ(a.end, b.end);
      EXPECT_EQ(a.to_dtype, b.to_dtype);
      EXPECT_EQ(a.to_tsps, b.to_tsps);
      EXPECT_EQ(a.where.to_string(), b.where.to_string());
    }
  }
}

// A small graph with literal data: the decoded graph evaluates to the same outputs.
constexpr const char* kSmallGraph = R"(
[[tensor]]
name = "a"
shape = [2, 3]
dtype = "fp16"
placement = {tsp = 0}
init = {values = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]}

[[tensor]]
name = "b"
shape = [2, 3]
dtype = "fp16"
placement = {tsp = 0}
init = {recipe = "uniform", lo = -1.0, hi = 1.0}

[[op]]
kind = "add"
inputs = ["a", "b"]
output = "c"

[outputs]
names = ["c"]
)";

TEST(CompiledGraph, DecodedGraphEvaluatesAlike) {
  const Graph graph = test::load(kSmallGraph, test::chip_topology());
  const CompiledGraph back =
      decode_compiled_graph(encode_compiled_graph(record_for(graph)), "b.tspb");
  EXPECT_EQ(evaluate(back.graph).digest(), evaluate(graph).digest());
}

TEST(CompiledGraph, ACollectiveMustRecordItsTree) {
  const Graph graph = test::load(R"(
[[tensor]]
name = "x"
shape = [1, 4]
dtype = "int32"
placement = {tsps = [0, 1, 2, 3], per_tsp = true}
init = {values = [1, 2, 3, 4,  5, 6, 7, 8,  9, 10, 11, 12,  13, 14, 15, 16]}
[[op]]
kind = "all_reduce"
inputs = ["x"]
output = "y"
[outputs]
names = ["y"]
)");
  CompiledGraph record = record_for(graph);
  EXPECT_EQ(record.graph.ops[0].tsp_nodes, (std::vector<std::int32_t>{0, 0, 0, 0}));
  EXPECT_EQ(record.graph.ops[0].tsp_racks, (std::vector<std::int32_t>{0, 0, 0, 0}));
  record.graph.ops[0].tsp_nodes.pop_back();
  EXPECT_EQ(decode_error(encode_compiled_graph(record)),
            "b.tspb: malformed compiled graph record (op 0: 4 TSPs but 3 nodes and 4 racks "
            "recorded)");
}

TEST(CompiledGraph, MalformedRecords) {
  const Graph graph = test::load(kSmallGraph, test::chip_topology());
  const CompiledGraph record = record_for(graph);
  const std::vector<std::uint8_t> bytes = encode_compiled_graph(record);

  EXPECT_EQ(decode_error({}),
            "b.tspb: malformed compiled graph record (needs 4 more bytes at payload offset 0, 0 "
            "left)");
  std::vector<std::uint8_t> bad = bytes;
  bad[0] = 9;
  EXPECT_EQ(decode_error(bad),
            "b.tspb: malformed compiled graph record (record version 9; this tspemu reads "
            "version 3)");
  bad = bytes;
  bad[0] = 1;
  EXPECT_EQ(decode_error(bad),
            "b.tspb: malformed compiled graph record (record version 1, written by an older "
            "tspemu; this tspemu reads version 3: compile the graph again)");
  bad = bytes;
  bad.push_back(0);
  EXPECT_EQ(decode_error(bad), "b.tspb: malformed compiled graph record (1 bytes left over)");
  // The graph's name is the first string: its length field.
  bad = bytes;
  for (int i = 0; i < 8; ++i) bad[4 + static_cast<std::size_t>(i)] = 0xff;
  EXPECT_EQ(decode_error(bad).rfind("b.tspb: malformed compiled graph record (a size field says "
                                    "18446744073709551615 elements with ",
                                    0),
            0U)
      << decode_error(bad);

  auto structure_error = [](const CompiledGraph& r) {
    return decode_error(encode_compiled_graph(r));
  };
  CompiledGraph r = record;
  r.outputs[0].tensor = "a";
  EXPECT_EQ(structure_error(r),
            "b.tspb: malformed compiled graph record (output layout 0: tensor 'a' is not a "
            "declared output)");
  r = record;
  r.outputs[0].tsp = TspId{3};
  EXPECT_EQ(structure_error(r),
            "b.tspb: malformed compiled graph record (output layout 0: 'c' is not on tsp 3)");
  r = record;
  r.outputs[0].local_shape = {3, 2};
  EXPECT_EQ(structure_error(r),
            "b.tspb: malformed compiled graph record (output layout 0: local shape [3, 2] differs "
            "from tensor 'c' ([2, 3]))");
  r = record;
  r.outputs[0].vectors.pop_back();
  EXPECT_EQ(structure_error(r),
            "b.tspb: malformed compiled graph record (output layout 0: 1 vectors, the shard needs "
            "2)");
  r = record;
  r.outputs[0].vectors[1].segment = 1;
  EXPECT_EQ(structure_error(r),
            "b.tspb: malformed compiled graph record (output layout 0: vector (segment 1, row 1) "
            "out of range)");
  r = record;
  r.graph.ops[0].inputs[1] = 7;
  EXPECT_EQ(structure_error(r),
            "b.tspb: malformed compiled graph record (op 0: input tensor index out of range)");
  r = record;
  r.graph.tensors[0].init->bytes.pop_back();
  EXPECT_EQ(structure_error(r),
            "b.tspb: malformed compiled graph record (tensor 0 ('a'): initial data has 11 bytes, "
            "not 12)");
  r = record;
  r.graph.tensors[1].shape = {2, 0};
  EXPECT_EQ(structure_error(r),
            "b.tspb: malformed compiled graph record (tensor 1 ('b'): shape [2, 0] has a "
            "dimension outside 1..16777216)");
  r = record;
  r.graph.tensors[1].placement.tsps = {TspId{1}, TspId{0}};
  EXPECT_EQ(structure_error(r),
            "b.tspb: malformed compiled graph record (tensor 1 ('b'): placement TSPs are not "
            "ascending and non-negative)");

  // Every prefix and many byte mutations: an InputError with the prefix, never a crash.
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    const std::string message = decode_error(std::span<const std::uint8_t>(bytes.data(), n));
    EXPECT_EQ(message.rfind("b.tspb: malformed compiled graph record (", 0), 0U) << n;
  }
  int rejected = 0;
  for (std::uint64_t trial = 0; trial < 2000; ++trial) {
    bad = bytes;
    const std::uint64_t x = splitmix64_at(77, trial);
    bad[static_cast<std::size_t>(x % bad.size())] = static_cast<std::uint8_t>(x >> 32);
    try {
      (void)decode_compiled_graph(bad, "b.tspb");
    } catch (const InputError& e) {
      EXPECT_EQ(std::string(e.what()).rfind("b.tspb: malformed compiled graph record (", 0), 0U);
      ++rejected;
    }
  }
  EXPECT_GT(rejected, 0);
}

// Run outputs: fp16 elements with value = 1000 r + c (as raw 16-bit patterns, any bits will do).
struct Segment {
  std::string name;
  DType dtype;
  std::int32_t rows;
  std::int32_t columns;
  std::vector<std::uint8_t> bytes;
  [[nodiscard]] OutputSegmentView view() const {
    return OutputSegmentView{name, dtype, rows, columns, bytes};
  }
};

std::uint16_t element_bits(std::int64_t r, std::int64_t c) {
  return static_cast<std::uint16_t>(1000 * r + c);
}

void put16(std::vector<std::uint8_t>& bytes, std::size_t element, std::uint16_t v) {
  bytes[2 * element] = static_cast<std::uint8_t>(v);
  bytes[2 * element + 1] = static_cast<std::uint8_t>(v >> 8);
}

// Shard [2, 650] fp16 on tsp 1: tiles 0 and 1 (320 lanes each) in segment "wide" (rows 0..3 in
// the order (1,1), (0,0), (1,0), (0,1)), tile 2 (10 lanes) of row r in row 2 - r of "narrow" (16
// columns).
struct MultiTile {
  OutputShardLayout layout;
  Segment wide{"wide", DType::f16, 4, 320, std::vector<std::uint8_t>(4 * 320 * 2, 0xee)};
  Segment narrow{"narrow", DType::f16, 3, 16, std::vector<std::uint8_t>(3 * 16 * 2, 0xee)};
  std::vector<std::uint8_t> expected = std::vector<std::uint8_t>(2 * 650 * 2);

  MultiTile() {
    layout.tensor = "c";
    layout.tsp = TspId{1};
    layout.dtype = DType::f16;
    layout.local_shape = {2, 650};
    layout.segments = {"narrow", "wide"};
    const std::int32_t wide_row[2][2] = {{1, 3}, {2, 0}};
    for (std::int32_t r = 0; r < 2; ++r) {
      for (std::int32_t t = 0; t < 3; ++t) {
        const OutputVectorRef ref =
            t < 2 ? OutputVectorRef{1, wide_row[r][t]} : OutputVectorRef{0, 2 - r};
        layout.vectors.push_back(ref);
        Segment& seg = t < 2 ? wide : narrow;
        const std::int64_t lanes = std::min<std::int64_t>(320, 650 - 320 * t);
        for (std::int64_t l = 0; l < lanes; ++l) {
          const std::int64_t c = 320 * t + l;
          put16(seg.bytes, static_cast<std::size_t>(ref.row * seg.columns + l), element_bits(r, c));
          put16(expected, static_cast<std::size_t>(r * 650 + c), element_bits(r, c));
        }
      }
    }
  }
};

std::string extract_error(const OutputShardLayout& layout,
                          const std::vector<OutputSegmentView>& views) {
  try {
    (void)extract_output(layout, views);
  } catch (const RuntimeError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(CompiledGraph, ExtractOutputAcrossTilesAndSegments) {
  const MultiTile m;
  const Segment other{"other", DType::i8, 1, 4, {1, 2, 3, 4}};
  const std::vector<OutputSegmentView> views{other.view(), m.wide.view(), m.narrow.view()};
  EXPECT_EQ(m.layout.rows(), 2);
  EXPECT_EQ(m.layout.columns(), 650);
  EXPECT_EQ(m.layout.tiles(), 3);
  const EmulatedOutput out = extract_output(m.layout, views);
  EXPECT_EQ(out.name, "c");
  EXPECT_EQ(out.tsp, TspId{1});
  EXPECT_EQ(out.bytes, m.expected);
}

TEST(CompiledGraph, ExtractOutputRankOneAndInt32) {
  // [5] i32: one row, one tile of 5 lanes, in row 1 of a 2 x 8 segment.
  Segment seg{"v", DType::i32, 2, 8, std::vector<std::uint8_t>(2 * 8 * 4, 0)};
  for (std::size_t i = 0; i < 20; ++i) seg.bytes[32 + i] = static_cast<std::uint8_t>(i + 1);
  OutputShardLayout l{"v", TspId{0}, DType::i32, {5}, {"v"}, {OutputVectorRef{0, 1}}};
  EXPECT_EQ(l.rows(), 1);
  const EmulatedOutput out = extract_output(l, std::vector<OutputSegmentView>{seg.view()});
  ASSERT_EQ(out.bytes.size(), 20U);
  for (std::size_t i = 0; i < 20; ++i) EXPECT_EQ(out.bytes[i], i + 1);
}

TEST(CompiledGraph, ExtractOutputErrors) {
  const MultiTile m;
  const Segment other{"other", DType::i8, 1, 4, {1, 2, 3, 4}};
  const std::vector<OutputSegmentView> views{other.view(), m.wide.view(), m.narrow.view()};

  OutputShardLayout l = m.layout;
  l.segments[0] = "nope";
  EXPECT_EQ(extract_error(l, views), "output 'c' on tsp 1: the run has no output segment 'nope'");
  l = m.layout;
  l.segments[0] = "other";
  EXPECT_EQ(extract_error(l, views),
            "output 'c' on tsp 1: segment 'other' holds i8, the shard is fp16");
  l = m.layout;
  l.vectors[2].row = 3;
  EXPECT_EQ(extract_error(l, views),
            "output 'c' on tsp 1: vector (row 0, tile 2) is row 3 of segment 'narrow', which has "
            "3 rows");
  l = m.layout;
  l.vectors[2] = OutputVectorRef{0, 0};
  l.vectors[1] = OutputVectorRef{0, 0};
  EXPECT_EQ(extract_error(l, views),
            "output 'c' on tsp 1: vector (row 0, tile 1) needs 320 lanes, segment 'narrow' has 16 "
            "columns");
  l = m.layout;
  l.vectors[4].segment = 2;
  EXPECT_EQ(extract_error(l, views),
            "output 'c' on tsp 1: vector (row 1, tile 1) names segment 2 of 2");
  l = m.layout;
  l.vectors.pop_back();
  EXPECT_EQ(extract_error(l, views),
            "output 'c' on tsp 1: the layout has 5 vectors, the shard [2, 650] needs 6");
}

}  // namespace
}  // namespace tspemu

namespace tspemu {
namespace {

// Every instruction of a compiled program names the graph op it was lowered from (disassembly and
// traces use it): the tags are aligned with the queues, in range, survive encoding, and each op of
// a two-op graph owns instructions.
TEST(CompiledGraph, EveryInstructionNamesItsOp) {
  const Graph graph = test::load(R"(
[[tensor]]
name = "a"
shape = [2, 320]
dtype = "int8"
placement = {tsp = 0}
init = {recipe = "uniform", lo = -5, hi = 5}
[[op]]
kind = "neg"
inputs = ["a"]
output = "b"
[[op]]
kind = "transpose"
inputs = ["b"]
output = "c"
[outputs]
names = ["b", "c"]
)",
                                 test::chip_topology());
  const CompileOutput out = compile_graph(graph, test::chip_topology());
  const CompiledGraph back = decode_compiled_graph(encode_compiled_graph(out.record), "b.tspb");
  ASSERT_EQ(back.instruction_ops.size(), out.bundle.program.tsps.size());
  std::vector<int> per_op(graph.ops.size(), 0);
  for (std::size_t p = 0; p < out.bundle.program.tsps.size(); ++p) {
    const TspProgram& program = out.bundle.program.tsps[p];
    EXPECT_EQ(back.instruction_ops[p].tsp, program.tsp);
    ASSERT_EQ(back.instruction_ops[p].queues.size(), program.queues.size());
    for (std::size_t q = 0; q < program.queues.size(); ++q) {
      ASSERT_EQ(back.instruction_ops[p].queues[q].size(), program.queues[q].instructions.size());
      for (std::size_t i = 0; i < program.queues[q].instructions.size(); ++i) {
        const std::int32_t op = back.op_of(program.tsp, q, i);
        ASSERT_GE(op, 0) << "queue " << q << " instruction " << i;
        ASSERT_LT(op, static_cast<std::int32_t>(graph.ops.size()));
        ++per_op[static_cast<std::size_t>(op)];
      }
    }
  }
  EXPECT_GT(per_op[0], 0);
  EXPECT_GT(per_op[1], 0);
  EXPECT_EQ(back.op_of(TspId(5), 0, 0), -1);
  CompiledGraph bad = out.record;
  bad.instruction_ops[0].queues[0][0] = 7;
  EXPECT_EQ(decode_error(encode_compiled_graph(bad)),
            "b.tspb: malformed compiled graph record (tsp 0: instruction op index 7 out of range)");
}

}  // namespace
}  // namespace tspemu
