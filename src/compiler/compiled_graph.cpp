#include "compiler/compiled_graph.hpp"

#include <cereal/types/optional.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <new>
#include <optional>
#include <stdexcept>

#include "common/error.hpp"
#include "isa/bundle_archive.hpp"
#include "isa/op_table.hpp"

namespace tspemu {

// Non-intrusive cereal functions for the graph IR (graph.hpp stays free of serialisation). Found
// by argument-dependent lookup: they live in the types' namespace.
template <class Archive>
void serialize(Archive& archive, SourceLocation& where) {
  archive(where.file, where.line, where.column);
}

template <class Archive>
void serialize(Archive& archive, Placement& placement) {
  archive(placement.kind, placement.tsps, placement.split_axis);
}

template <class Archive>
void serialize(Archive& archive, Tensor& tensor) {
  archive(tensor.name, tensor.dtype, tensor.shape, tensor.placement, tensor.init, tensor.init_file,
          tensor.producer, tensor.declared, tensor.where);
}

template <class Archive>
void serialize(Archive& archive, InstructionOps& tags) {
  archive(tags.tsp, tags.queues);
}

template <class Archive>
void serialize(Archive& archive, Op& op) {
  archive(op.kind, op.name, op.index, op.inputs, op.output, op.saturate, op.reduce_fn, op.axis,
          op.perm, op.new_shape, op.start, op.end, op.to_dtype, op.to_tsps, op.tsp_nodes,
          op.tsp_racks, op.where);
}

template <class Archive>
void save(Archive& archive, const Graph& graph) {
  archive(graph.name, graph.description, graph.source_name, graph.topology_hint, graph.seed,
          static_cast<std::uint64_t>(graph.topology_tsps), graph.tensors, graph.ops, graph.outputs);
}

template <class Archive>
void load(Archive& archive, Graph& graph) {
  std::uint64_t topology_tsps = 0;
  archive(graph.name, graph.description, graph.source_name, graph.topology_hint, graph.seed,
          topology_tsps, graph.tensors, graph.ops, graph.outputs);
  graph.topology_tsps = static_cast<std::size_t>(topology_tsps);
}

template <class Archive>
void serialize(Archive& archive, OutputVectorRef& ref) {
  archive(ref.segment, ref.row);
}

template <class Archive>
void serialize(Archive& archive, OutputShardLayout& layout) {
  archive(layout.tensor, layout.tsp, layout.dtype, layout.local_shape, layout.segments,
          layout.vectors);
}

namespace {

bool is_graph_dtype(DType d) {
  return d == DType::i8 || d == DType::i16 || d == DType::i32 || d == DType::f16 || d == DType::f32;
}

// Shape problems, or nothing; `what` names the shape in the message.
std::optional<std::string> shape_problem(const Shape& shape, const std::string& what) {
  if (shape.empty() || shape.size() > kMaxTensorRank) {
    return fmt::format("{} has rank {}, not 1..{}", what, shape.size(), kMaxTensorRank);
  }
  for (const auto d : shape) {
    if (d < 1 || d > kMaxTensorDim) {
      return fmt::format("{} {} has a dimension outside 1..{}", what,
                         format_shape(std::span<const std::int64_t>(shape)), kMaxTensorDim);
    }
  }
  return std::nullopt;
}

// The structural checks decode_compiled_graph promises (the header comment); throws PayloadError.
void check_structure(const CompiledGraph& record) {
  auto fail = [](std::string message) { throw detail::PayloadError{std::move(message)}; };
  const Graph& g = record.graph;
  const auto tensor_count = static_cast<std::int64_t>(g.tensors.size());
  const auto op_count = static_cast<std::int64_t>(g.ops.size());
  auto tensor_index_ok = [&](std::int32_t i) { return i >= 0 && i < tensor_count; };
  for (std::size_t i = 0; i < g.tensors.size(); ++i) {
    const Tensor& t = g.tensors[i];
    const std::string what = fmt::format("tensor {} ('{}')", i, t.name);
    if (!is_graph_dtype(t.dtype)) {
      fail(fmt::format("{}: dtype {} is not a graph dtype", what, static_cast<int>(t.dtype)));
    }
    if (auto p = shape_problem(t.shape, what + ": shape")) fail(*p);
    const Placement& pl = t.placement;
    if (pl.kind > Placement::Kind::per_tsp) fail(what + ": unknown placement kind");
    if (pl.tsps.empty()) fail(what + ": placement has no TSPs");
    for (std::size_t k = 0; k < pl.tsps.size(); ++k) {
      if (pl.tsps[k].value < 0 || (k > 0 && pl.tsps[k].value <= pl.tsps[k - 1].value)) {
        fail(what + ": placement TSPs are not ascending and non-negative");
      }
    }
    if (pl.kind == Placement::Kind::split) {
      if (pl.split_axis < 0 || static_cast<std::size_t>(pl.split_axis) >= t.shape.size() ||
          t.shape[static_cast<std::size_t>(pl.split_axis)] %
                  static_cast<std::int64_t>(pl.tsps.size()) !=
              0) {
        fail(what + ": split axis does not divide the shape over the TSPs");
      }
    }
    if (t.producer < -1 || t.producer >= op_count) fail(what + ": producer out of range");
    if (t.init) {
      if (t.init->kind > DataInit::Kind::seeded_uniform) fail(what + ": unknown init kind");
      if (t.init->kind == DataInit::Kind::literal || t.init->kind == DataInit::Kind::file_bytes) {
        const std::int64_t copies =
            pl.kind == Placement::Kind::per_tsp ? static_cast<std::int64_t>(pl.tsps.size()) : 1;
        const auto expected =
            static_cast<std::uint64_t>(copies * t.elements() * dtype_bytes(t.dtype));
        if (t.init->bytes.size() != expected) {
          fail(fmt::format("{}: initial data has {} bytes, not {}", what, t.init->bytes.size(),
                           expected));
        }
      }
    }
  }
  for (std::size_t i = 0; i < g.ops.size(); ++i) {
    const Op& op = g.ops[i];
    const std::string what = fmt::format("op {}", i);
    if (op.kind > OpKind::send) fail(what + ": unknown kind");
    if (op.reduce_fn > ReduceFn::min) fail(what + ": unknown reduce function");
    if (op.to_dtype != DType::none && !is_graph_dtype(op.to_dtype)) {
      fail(what + ": cast to a dtype that is not a graph dtype");
    }
    if (!tensor_index_ok(op.output)) fail(what + ": output tensor index out of range");
    for (const auto input : op.inputs) {
      if (!tensor_index_ok(input)) fail(what + ": input tensor index out of range");
    }
    if ((op.kind == OpKind::all_reduce || op.kind == OpKind::reduce_scatter) &&
        !op.inputs.empty() && tensor_index_ok(op.inputs[0])) {
      const std::size_t n = g.tensor(op.inputs[0]).placement.tsps.size();
      if (op.tsp_nodes.size() != n || op.tsp_racks.size() != n) {
        fail(fmt::format("{}: {} TSPs but {} nodes and {} racks recorded", what, n,
                         op.tsp_nodes.size(), op.tsp_racks.size()));
      }
    }
  }
  for (const InstructionOps& tags : record.instruction_ops) {
    for (const auto& queue : tags.queues) {
      for (const std::int32_t op : queue) {
        if (op < -1 || op >= static_cast<std::int32_t>(g.ops.size())) {
          fail(fmt::format("tsp {}: instruction op index {} out of range", tags.tsp.value, op));
        }
      }
    }
  }
  for (const auto o : g.outputs) {
    if (!tensor_index_ok(o)) fail(fmt::format("output tensor index {} out of range", o));
  }
  for (std::size_t i = 0; i < record.outputs.size(); ++i) {
    const OutputShardLayout& l = record.outputs[i];
    const std::string what = fmt::format("output layout {}", i);
    const std::int32_t index = g.find_tensor(l.tensor);
    if (index < 0 || std::find(g.outputs.begin(), g.outputs.end(), index) == g.outputs.end()) {
      fail(fmt::format("{}: tensor '{}' is not a declared output", what, l.tensor));
    }
    const Tensor& t = g.tensor(index);
    if (t.placement.position_of(l.tsp) < 0) {
      fail(fmt::format("{}: '{}' is not on tsp {}", what, l.tensor, l.tsp.value));
    }
    if (l.dtype != t.dtype) fail(fmt::format("{}: dtype differs from tensor '{}'", what, l.tensor));
    if (l.local_shape != t.local_shape()) {
      fail(fmt::format("{}: local shape {} differs from tensor '{}' ({})", what,
                       format_shape(std::span<const std::int64_t>(l.local_shape)), l.tensor,
                       format_shape(std::span<const std::int64_t>(t.local_shape()))));
    }
    const std::int64_t needed = l.rows() * l.tiles();
    if (static_cast<std::int64_t>(l.vectors.size()) != needed) {
      fail(fmt::format("{}: {} vectors, the shard needs {}", what, l.vectors.size(), needed));
    }
    for (const auto& v : l.vectors) {
      if (v.segment < 0 || static_cast<std::size_t>(v.segment) >= l.segments.size() || v.row < 0) {
        fail(fmt::format("{}: vector (segment {}, row {}) out of range", what, v.segment, v.row));
      }
    }
  }
}

}  // namespace

std::int64_t OutputShardLayout::rows() const {
  std::int64_t rows = 1;
  for (std::size_t i = 0; i + 1 < local_shape.size(); ++i) rows *= local_shape[i];
  return rows;
}

std::int64_t OutputShardLayout::columns() const {
  return local_shape.empty() ? 1 : local_shape.back();
}

std::int64_t OutputShardLayout::tiles() const {
  return (columns() + kOutputTileLanes - 1) / kOutputTileLanes;
}

std::vector<std::uint8_t> encode_compiled_graph(const CompiledGraph& record) {
  std::vector<std::uint8_t> out;
  detail::BundleOutputArchive archive(out);
  archive(kCompiledGraphRecordVersion, record.graph, record.outputs, record.predicted_cycles,
          record.instruction_ops);
  return out;
}

CompiledGraph decode_compiled_graph(std::span<const std::uint8_t> bytes, const std::string& name) {
  auto fail = [&](const std::string& what) {
    throw InputError(SourceLocation{name, 0, 0},
                     fmt::format("malformed compiled graph record ({})", what));
  };
  CompiledGraph record;
  try {
    detail::BoundedInputArchive archive(bytes);
    std::uint32_t version = 0;
    archive(version);
    if (version < kCompiledGraphRecordVersion) {
      fail(
          fmt::format("record version {}, written by an older tspemu; this tspemu reads version "
                      "{}: compile the graph again",
                      version, kCompiledGraphRecordVersion));
    }
    if (version != kCompiledGraphRecordVersion) {
      fail(fmt::format("record version {}; this tspemu reads version {}", version,
                       kCompiledGraphRecordVersion));
    }
    archive(record.graph, record.outputs, record.predicted_cycles, record.instruction_ops);
    if (archive.remaining() != 0) fail(fmt::format("{} bytes left over", archive.remaining()));
    check_structure(record);
  } catch (const detail::PayloadError& e) {
    fail(e.message);
  } catch (const cereal::Exception& e) {
    fail(e.what());
  } catch (const std::length_error& e) {
    fail(e.what());
  } catch (const std::bad_alloc&) {
    fail("a size field is too large");
  }
  return record;
}

std::int32_t CompiledGraph::op_of(TspId tsp, std::size_t queue, std::size_t index) const {
  for (const InstructionOps& tags : instruction_ops) {
    if (tags.tsp != tsp) continue;
    if (queue >= tags.queues.size() || index >= tags.queues[queue].size()) return -1;
    return tags.queues[queue][index];
  }
  return -1;
}

EmulatedOutput extract_output(const OutputShardLayout& layout,
                              std::span<const OutputSegmentView> run_outputs) {
  auto fail = [&](const std::string& what) {
    throw RuntimeError(
        fmt::format("output '{}' on tsp {}: {}", layout.tensor, layout.tsp.value, what));
  };
  const std::int64_t rows = layout.rows();
  const std::int64_t columns = layout.columns();
  const std::int64_t tiles = layout.tiles();
  if (static_cast<std::int64_t>(layout.vectors.size()) != rows * tiles) {
    fail(fmt::format("the layout has {} vectors, the shard {} needs {}", layout.vectors.size(),
                     format_shape(std::span<const std::int64_t>(layout.local_shape)),
                     rows * tiles));
  }
  // Resolve the segments once: the run's output of that name on this TSP.
  std::vector<const OutputSegmentView*> segments;
  for (const auto& name : layout.segments) {
    const auto it = std::find_if(run_outputs.begin(), run_outputs.end(),
                                 [&](const OutputSegmentView& o) { return o.name == name; });
    if (it == run_outputs.end()) fail(fmt::format("the run has no output segment '{}'", name));
    if (it->dtype != layout.dtype) {
      fail(fmt::format("segment '{}' holds {}, the shard is {}", name, dtype_name(it->dtype),
                       graph_dtype_name(layout.dtype)));
    }
    const auto expected = static_cast<std::size_t>(it->rows) *
                          static_cast<std::size_t>(it->columns) *
                          static_cast<std::size_t>(dtype_bytes(it->dtype));
    if (it->rows < 0 || it->columns < 0 || it->bytes.size() != expected) {
      fail(fmt::format("segment '{}' reports {} bytes for {} x {} elements", name, it->bytes.size(),
                       it->rows, it->columns));
    }
    segments.push_back(&*it);
  }
  const auto element = static_cast<std::size_t>(dtype_bytes(layout.dtype));
  EmulatedOutput out{layout.tensor, layout.tsp, {}};
  out.bytes.resize(static_cast<std::size_t>(rows * columns) * element);
  for (std::int64_t r = 0; r < rows; ++r) {
    for (std::int64_t t = 0; t < tiles; ++t) {
      const OutputVectorRef& ref = layout.vectors[static_cast<std::size_t>(r * tiles + t)];
      if (ref.segment < 0 || static_cast<std::size_t>(ref.segment) >= segments.size()) {
        fail(fmt::format("vector (row {}, tile {}) names segment {} of {}", r, t, ref.segment,
                         segments.size()));
      }
      const OutputSegmentView& seg = *segments[static_cast<std::size_t>(ref.segment)];
      const std::int64_t lanes = std::min(kOutputTileLanes, columns - kOutputTileLanes * t);
      if (ref.row < 0 || ref.row >= seg.rows) {
        fail(fmt::format("vector (row {}, tile {}) is row {} of segment '{}', which has {} rows", r,
                         t, ref.row, seg.name, seg.rows));
      }
      if (lanes > seg.columns) {
        fail(fmt::format("vector (row {}, tile {}) needs {} lanes, segment '{}' has {} columns", r,
                         t, lanes, seg.name, seg.columns));
      }
      const std::size_t from =
          static_cast<std::size_t>(ref.row) * static_cast<std::size_t>(seg.columns) * element;
      const std::size_t to = static_cast<std::size_t>(r * columns + kOutputTileLanes * t) * element;
      std::memcpy(out.bytes.data() + to, seg.bytes.data() + from,
                  static_cast<std::size_t>(lanes) * element);
    }
  }
  return out;
}

}  // namespace tspemu
