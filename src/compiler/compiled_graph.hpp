#pragma once
// The compiled-graph record (issue 6): what `tspemu compile` attaches to a bundle under the name
// kCompiledGraphAttachment so that `tspemu run BUNDLE --check` can compare the run's outputs with
// the reference evaluator (compiler/reference_eval.hpp). It carries the whole graph (initial data
// included), where every shard of every declared output lies in the TSPs' declared-output data
// segments, and the compiler's predicted cycle count.
//
// Output layout. A shard of local shape [d0, ..., dn-1] is viewed as a matrix of rows = d0 * ... *
// dn-2 (1 for a rank-1 shape) and columns = dn-1 elements, and each row is cut into tiles =
// ceil(columns / 320) vectors: vector (r, t) holds elements 320 t .. min(320 (t + 1), columns) - 1
// of row r in lanes 0 .. min(320, columns - 320 t) - 1 (one element per lane, whatever the dtype: a
// data segment stores byte plane k of every element in its k-th slice). Each vector is one row of
// one declared-output data segment of the shard's TSP.
//
// Encoding: a cereal binary archive (isa/bundle_archive.hpp) of a u32 record version
// (kCompiledGraphRecordVersion), the graph, the layouts, the predicted cycles and each
// instruction's op. The bundle's
// checksum guards the bytes; decoding checks the structure (indices in range, shapes, placements,
// layouts consistent with the graph) but trusts the graph's semantics, which the loader validated
// before the compiler wrote the record.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/ids.hpp"
#include "common/vector.hpp"
#include "compiler/graph.hpp"
#include "compiler/reference_eval.hpp"

namespace tspemu {

inline constexpr std::string_view kCompiledGraphAttachment = "tspemu.compiled_graph";
// 2: all_reduce / reduce_scatter carry their participants' nodes and racks (the combination tree
// of issue 12; a version-1 record's collectives were left folds and are not evaluated any more).
// 3: the graph op of every instruction (instruction_ops).
inline constexpr std::uint32_t kCompiledGraphRecordVersion = 3;
// Elements per vector of an output layout (one per lane).
inline constexpr std::int64_t kOutputTileLanes = kVectorBytes;

// One vector (row r, lane tile t) of an output shard: row `row` of the declared-output data segment
// `segments[segment]` of that TSP; lanes 0 .. min(320, columns - 320 t) - 1 hold the elements.
struct OutputVectorRef {
  std::int32_t segment = 0;
  std::int32_t row = 0;
  friend bool operator==(const OutputVectorRef&, const OutputVectorRef&) = default;
};

struct OutputShardLayout {
  std::string tensor;  // graph tensor name (a declared graph output)
  TspId tsp{0};
  DType dtype = DType::f32;
  Shape local_shape;  // the shard's shape; rows = product of all dims but the last, columns = last
  std::vector<std::string> segments;     // names of DataSegments (is_output) in that TSP's program
  std::vector<OutputVectorRef> vectors;  // rows * tiles entries, row-major over (r, t)

  [[nodiscard]] std::int64_t rows() const;
  [[nodiscard]] std::int64_t columns() const;
  [[nodiscard]] std::int64_t tiles() const;  // ceil(columns / 320)
  friend bool operator==(const OutputShardLayout&, const OutputShardLayout&) = default;
};

// Which graph op each instruction of one TSP's program was lowered from: per queue (the program's
// queue order), per instruction (program order), the op's index in graph.ops, or -1 (not from an
// op). Disassembly and traces name instructions by it.
struct InstructionOps {
  TspId tsp;
  std::vector<std::vector<std::int32_t>> queues;
};

struct CompiledGraph {
  Graph graph;  // the whole graph (initial data included) for the reference evaluator
  std::vector<OutputShardLayout> outputs;       // graph [outputs] order, TSPs ascending
  Cycle predicted_cycles = 0;                   // the compiler's prediction of the run's `cycles`
  std::vector<InstructionOps> instruction_ops;  // per TSP program, in the bundle's order

  // The op index of instruction `index` of queue position `queue` in `tsp`'s program, or -1
  // (unknown TSP, out of range, or not from an op).
  [[nodiscard]] std::int32_t op_of(TspId tsp, std::size_t queue, std::size_t index) const;
};

// The record's bytes (deterministic: the same record gives the same bytes).
[[nodiscard]] std::vector<std::uint8_t> encode_compiled_graph(const CompiledGraph& record);

// Parses a record; `name` stands for its file in messages. Every problem is an InputError
// "<name>: malformed compiled graph record (<what>)", e.g.
//   "b.tspb: malformed compiled graph record (needs 8 more bytes at payload offset 12, 3 left)"
//   "b.tspb: malformed compiled graph record (record version 9; this tspemu reads version 1)"
//   "b.tspb: malformed compiled graph record (output layout 0: tensor 'x' is not a declared
//    output)"
[[nodiscard]] CompiledGraph decode_compiled_graph(std::span<const std::uint8_t> bytes,
                                                  const std::string& name);

// A declared output data segment as a run reports it (chip/engine.hpp OutputData: name, dtype,
// rows, columns, bytes row-major), viewed without copying: the compiler layer does not depend on
// the chip layer. The viewed strings and bytes must outlive the call.
struct OutputSegmentView {
  std::string_view name;
  DType dtype = DType::i8;
  std::int32_t rows = 0;
  std::int32_t columns = 0;
  std::span<const std::uint8_t> bytes;  // rows * columns * dtype_bytes(dtype)
};

// The EmulatedOutput of one shard, assembled from its TSP's declared outputs. A segment the run
// did not report, a row out of range, too few columns for a tile or a dtype other than the shard's
// is a RuntimeError naming the output, TSP, vector and segment, e.g.
//   "output 'c' on tsp 1: vector (row 0, tile 1) is row 9 of segment 'c_1', which has 4 rows"
[[nodiscard]] EmulatedOutput extract_output(const OutputShardLayout& layout,
                                            std::span<const OutputSegmentView> run_outputs);

}  // namespace tspemu
