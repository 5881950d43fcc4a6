#pragma once
// The tensor-graph IR (docs/design.md section 5, "Graphs"): tensors with shape, dtype, placement
// over TSPs and optional initial data; ops in program order; declared outputs. The strict TOML
// loader (compiler/graph_loader.hpp) is the only producer: it resolves names to indices, infers
// every computed tensor's shape, dtype and placement, and rejects malformed graphs with located
// errors. The reference evaluator (compiler/reference_eval.hpp) and the lowering consume it.
//
// The format and the exact semantics of every op are in docs/graph-format.md. In short:
//   - A tensor has a logical shape and a placement over an ascending list of TSPs: replicated
//     (every TSP holds the whole value; one TSP is the common case), split (TSP list[i] holds
//     slice i of the logical tensor along split_axis) or per_tsp (every TSP holds its own value of
//     the full shape, e.g. partial sums before an all_reduce).
//   - Non-collective ops are local: every TSP of the inputs' (common) TSP list applies the op to
//     its own shards. Collectives (all_reduce, reduce_scatter, all_gather, broadcast, send) move
//     and combine shards between TSPs.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "common/ids.hpp"
#include "isa/opcode.hpp"
#include "isa/program.hpp"

namespace tspemu {

// Row-major dimensions, outermost first. Rank 1..kMaxTensorRank, every dimension >= 1.
using Shape = std::vector<std::int64_t>;

inline constexpr std::size_t kMaxTensorRank = 4;
inline constexpr std::int64_t kMaxTensorDim = std::int64_t{1} << 24;

// Elements of a shape (1 for an empty shape).
[[nodiscard]] std::int64_t shape_elements(std::span<const std::int64_t> shape);
// "[64, 700]"
[[nodiscard]] std::string format_shape(std::span<const std::int64_t> shape);

// The five element types a graph may use: int8, int16, int32, fp16, fp32 (DType::i8 .. f32; u8
// and none are not graph types).
[[nodiscard]] std::string_view graph_dtype_name(DType dtype);
[[nodiscard]] std::optional<DType> parse_graph_dtype(std::string_view name);

// ---- placement -------------------------------------------------------------------------------

struct Placement {
  enum class Kind : std::uint8_t { replicated, split, per_tsp };
  Kind kind = Kind::replicated;
  std::vector<TspId> tsps;       // strictly ascending, non-empty
  std::int32_t split_axis = -1;  // kind == split: the logical axis that is cut into tsps.size()

  [[nodiscard]] bool on_one_tsp() const { return tsps.size() == 1; }
  // The shape each TSP holds: the logical shape with split_axis divided by the TSP count.
  [[nodiscard]] Shape local_shape(std::span<const std::int64_t> logical) const;
  // The logical shape of a tensor whose TSPs each hold `local`.
  [[nodiscard]] Shape logical_shape(std::span<const std::int64_t> local) const;
  // Index of `tsp` in tsps, or -1.
  [[nodiscard]] std::int64_t position_of(TspId tsp) const;
  // "tsp 3", "tsps 0..7 (replicated)", "tsps 0..7 split along axis 1", "tsps 0, 2 (per-TSP
  // values)".
  [[nodiscard]] std::string describe() const;
  friend bool operator==(const Placement&, const Placement&) = default;
};

// "0..7", "0, 2, 5..9": ascending TSP ids with runs compressed.
[[nodiscard]] std::string format_tsp_list(std::span<const TspId> tsps);

// ---- tensors -----------------------------------------------------------------------------------

struct Tensor {
  std::string name;
  DType dtype = DType::f32;
  Shape shape;  // logical
  Placement placement;
  // Initial data for the whole logical tensor (replicated, split) or for the stacked tensor
  // [tsps.size(), shape...] (per_tsp: TSP list[i] holds stacked slice i). Kind seeded_uniform
  // keeps its recipe (the same definition as assembly data: isa/data_init.hpp); literal and
  // file_bytes keep the bytes (row-major, little-endian elements). Absent for computed tensors.
  std::optional<DataInit> init;
  std::string init_file;       // the file an init was read from (as written in the graph)
  std::int32_t producer = -1;  // index of the op whose output this is; -1 for initial tensors
  bool declared = false;       // has a [[tensor]] table (else inferred from its op)
  SourceLocation where;        // the [[tensor]] table, or the producing op

  [[nodiscard]] std::int64_t elements() const { return shape_elements(shape); }
  [[nodiscard]] Shape local_shape() const { return placement.local_shape(shape); }
  [[nodiscard]] std::int64_t local_bytes() const;
};

// ---- ops
// -----------------------------------------------------------------------------------------

enum class OpKind : std::uint8_t {
  matmul,
  add,
  sub,
  mul,
  min,
  max,
  neg,
  abs,
  relu,
  tanh,
  exp,
  rsqrt,
  cast,
  reduce,
  transpose,
  reshape,
  slice,
  concat,
  all_reduce,
  reduce_scatter,
  all_gather,
  broadcast,
  send,
};

enum class ReduceFn : std::uint8_t { sum, max, min };

// One row of the op table: the TOML spelling, arity and option keys (self-describing, STYLE.md
// habit 3; docs/graph-format.md lists the same table).
struct OpSpec {
  OpKind kind;
  std::string_view name;  // the `kind = "..."` spelling
  std::int32_t min_inputs;
  std::int32_t max_inputs;  // -1: any number >= min_inputs
  std::vector<std::string_view> options;
  std::string_view summary;
};
[[nodiscard]] std::span<const OpSpec> op_specs();
[[nodiscard]] const OpSpec& op_spec(OpKind kind);
[[nodiscard]] std::string_view op_kind_name(OpKind kind);
[[nodiscard]] std::optional<OpKind> parse_op_kind(std::string_view name);
[[nodiscard]] std::string_view reduce_fn_name(ReduceFn fn);
[[nodiscard]] bool is_collective(OpKind kind);
[[nodiscard]] bool is_elementwise_binary(OpKind kind);  // add sub mul min max
[[nodiscard]] bool is_elementwise_unary(OpKind kind);   // neg abs relu tanh exp rsqrt

struct Op {
  OpKind kind = OpKind::add;
  std::string name;                  // optional `name`; empty if not given
  std::int32_t index = 0;            // position among the [[op]] tables (program order)
  std::vector<std::int32_t> inputs;  // tensor indices
  std::int32_t output = -1;          // tensor index

  // Options (which apply depends on kind; docs/graph-format.md).
  bool saturate = false;               // integer add/sub/mul, sums, int->int cast
  ReduceFn reduce_fn = ReduceFn::sum;  // reduce, all_reduce, reduce_scatter
  std::int32_t axis = -1;              // reduce, slice, concat, reduce_scatter, all_gather
  std::vector<std::int32_t> perm;      // transpose: output axis j is input axis perm[j]
  Shape new_shape;                     // reshape
  std::int64_t start = 0, end = 0;     // slice: [start, end) along axis
  DType to_dtype = DType::none;        // cast
  std::vector<TspId> to_tsps;          // broadcast: destinations; send: the one destination
  // all_reduce, reduce_scatter: the node and rack of each participating TSP (the input's
  // placement order), from the topology the graph was loaded against: the combination tree
  // follows them (docs/graph-format.md, "Collectives").
  std::vector<std::int32_t> tsp_nodes;
  std::vector<std::int32_t> tsp_racks;

  SourceLocation where;  // the [[op]] table

  // "op[3] (matmul 'mm1')" or "op[3] (matmul)": how messages name it.
  [[nodiscard]] std::string label() const;
};

// ---- the graph ---------------------------------------------------------------------------------

struct Graph {
  std::string name;               // [graph] name, or the file's stem
  std::string description;        // [graph] description (free text)
  std::string source_name;        // the file as named to the loader
  std::string topology_hint;      // [graph] topology: the topology file it was written for
  std::uint64_t seed = 0;         // [graph] seed: seeds the recipes that name none
  std::size_t topology_tsps = 0;  // TSP count of the topology it was validated against

  std::vector<Tensor> tensors;        // [[tensor]] tables in file order, then inferred op outputs
  std::vector<Op> ops;                // program order (file order)
  std::vector<std::int32_t> outputs;  // tensor indices, in [outputs] order

  // Index of the tensor with this name, or -1.
  [[nodiscard]] std::int32_t find_tensor(std::string_view tensor_name) const;
  [[nodiscard]] const Tensor& tensor(std::int32_t index) const {
    return tensors.at(static_cast<std::size_t>(index));
  }
};

// ---- memory estimates
// ---------------------------------------------------------------------------

// Bytes of every TSP's copy of the graph's tensors: only the initialised ones (what a bundle holds
// as data) or all of them (what the reference evaluator holds). A floor for the memory a compile
// or a --check needs, so that a graph that cannot fit is refused up front (common/memory_budget).
[[nodiscard]] std::uint64_t graph_tensor_bytes(const Graph& graph, bool initialised_only);

// ---- initial data
// --------------------------------------------------------------------------------

// The bytes an initialised tensor starts with: the whole logical tensor (replicated, split) or the
// stacked per-TSP tensor (per_tsp), row-major, little-endian elements. A seeded_uniform recipe
// gives element i the value isa/data_init.hpp's seeded_element(init, dtype, i) gives assembly data.
[[nodiscard]] std::vector<std::uint8_t> initial_bytes(const Tensor& tensor);

// The bytes that TSP tensor.placement.tsps[position] starts with (its local shape, row-major).
[[nodiscard]] std::vector<std::uint8_t> initial_shard_bytes(const Tensor& tensor,
                                                            std::size_t position);

// The row-major sub-block [begin, begin + extent) along `axis` of a row-major tensor of `shape`
// with `element_bytes`-byte elements. Used for split shards; exposed for the lowering.
[[nodiscard]] std::vector<std::uint8_t> slice_along_axis(std::span<const std::uint8_t> bytes,
                                                         std::span<const std::int64_t> shape,
                                                         std::size_t element_bytes,
                                                         std::size_t axis, std::int64_t begin,
                                                         std::int64_t extent);

}  // namespace tspemu
