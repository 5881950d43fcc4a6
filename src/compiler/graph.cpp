#include "compiler/graph.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "isa/data_init.hpp"

namespace tspemu {

std::int64_t shape_elements(std::span<const std::int64_t> shape) {
  std::int64_t n = 1;
  for (std::int64_t d : shape) n *= d;
  return n;
}

std::string format_shape(std::span<const std::int64_t> shape) {
  return fmt::format("[{}]", fmt::join(shape, ", "));
}

std::string_view graph_dtype_name(DType dtype) {
  switch (dtype) {
    case DType::i8:
      return "int8";
    case DType::i16:
      return "int16";
    case DType::i32:
      return "int32";
    case DType::f16:
      return "fp16";
    case DType::f32:
      return "fp32";
    case DType::u8:
    case DType::none:
      break;
  }
  return "?";
}

std::optional<DType> parse_graph_dtype(std::string_view name) {
  for (DType t : {DType::i8, DType::i16, DType::i32, DType::f16, DType::f32}) {
    if (graph_dtype_name(t) == name) return t;
  }
  return std::nullopt;
}

// ---- placement -------------------------------------------------------------------------------

Shape Placement::local_shape(std::span<const std::int64_t> logical) const {
  Shape local(logical.begin(), logical.end());
  if (kind == Kind::split) {
    const auto axis = static_cast<std::size_t>(split_axis);
    TSPEMU_ASSERT(axis < local.size(), "split axis beyond the rank");
    local[axis] /= static_cast<std::int64_t>(tsps.size());
  }
  return local;
}

Shape Placement::logical_shape(std::span<const std::int64_t> local) const {
  Shape logical(local.begin(), local.end());
  if (kind == Kind::split) {
    const auto axis = static_cast<std::size_t>(split_axis);
    TSPEMU_ASSERT(axis < logical.size(), "split axis beyond the rank");
    logical[axis] *= static_cast<std::int64_t>(tsps.size());
  }
  return logical;
}

std::int64_t Placement::position_of(TspId tsp) const {
  const auto it = std::lower_bound(tsps.begin(), tsps.end(), tsp);
  if (it == tsps.end() || *it != tsp) return -1;
  return it - tsps.begin();
}

std::string format_tsp_list(std::span<const TspId> tsps) {
  std::string out;
  std::size_t i = 0;
  while (i < tsps.size()) {
    std::size_t j = i;
    while (j + 1 < tsps.size() && tsps[j + 1].value == tsps[j].value + 1) ++j;
    if (!out.empty()) out += ", ";
    if (j == i) {
      out += fmt::format("{}", tsps[i].value);
    } else if (j == i + 1) {
      out += fmt::format("{}, {}", tsps[i].value, tsps[j].value);
    } else {
      out += fmt::format("{}..{}", tsps[i].value, tsps[j].value);
    }
    i = j + 1;
  }
  return out;
}

std::string Placement::describe() const {
  if (tsps.size() == 1 && kind == Kind::replicated) return fmt::format("tsp {}", tsps[0].value);
  const std::string list = format_tsp_list(tsps);
  const char* noun = tsps.size() == 1 ? "tsp" : "tsps";
  switch (kind) {
    case Kind::replicated:
      return fmt::format("{} {} (replicated)", noun, list);
    case Kind::split:
      return fmt::format("{} {} split along axis {}", noun, list, split_axis);
    case Kind::per_tsp:
      return fmt::format("{} {} (per-TSP values)", noun, list);
  }
  return list;
}

std::int64_t Tensor::local_bytes() const {
  return shape_elements(local_shape()) * dtype_bytes(dtype);
}

// ---- ops
// -----------------------------------------------------------------------------------------

std::span<const OpSpec> op_specs() {
  static const std::vector<OpSpec> specs{
      {OpKind::matmul,
       "matmul",
       2,
       2,
       {},
       "[M, K] x [K, N]: int8 x int8 -> int32 (modulo 2^32), fp16 x fp16 -> fp32 (320-term "
       "chunks)"},
      {OpKind::add, "add", 2, 2, {"saturate"}, "a + b, with broadcasting"},
      {OpKind::sub, "sub", 2, 2, {"saturate"}, "a - b, with broadcasting"},
      {OpKind::mul, "mul", 2, 2, {"saturate"}, "a * b, with broadcasting"},
      {OpKind::min, "min", 2, 2, {}, "min(a, b), with broadcasting"},
      {OpKind::max, "max", 2, 2, {}, "max(a, b), with broadcasting"},
      {OpKind::neg, "neg", 1, 1, {}, "-a"},
      {OpKind::abs, "abs", 1, 1, {}, "|a|"},
      {OpKind::relu, "relu", 1, 1, {}, "max(a, 0)"},
      {OpKind::tanh, "tanh", 1, 1, {}, "tanh(a) (fp16, fp32)"},
      {OpKind::exp, "exp", 1, 1, {}, "e^a (fp16, fp32)"},
      {OpKind::rsqrt, "rsqrt", 1, 1, {}, "1 / sqrt(a) (fp16, fp32)"},
      {OpKind::cast, "cast", 1, 1, {"dtype", "saturate"}, "convert to another dtype"},
      {OpKind::reduce,
       "reduce",
       1,
       1,
       {"op", "axis", "saturate"},
       "sum / max / min along an axis (kept with size 1), in the halving tree order"},
      {OpKind::transpose, "transpose", 1, 1, {"perm"}, "permute axes (default: reverse them)"},
      {OpKind::reshape, "reshape", 1, 1, {"shape"}, "same elements, new shape"},
      {OpKind::slice, "slice", 1, 1, {"axis", "start", "end"}, "[start, end) along an axis"},
      {OpKind::concat, "concat", 2, -1, {"axis"}, "join along an axis"},
      {OpKind::all_reduce,
       "all_reduce",
       1,
       1,
       {"op", "saturate"},
       "fold of every TSP's value in ascending TSP order; every TSP gets the result"},
      {OpKind::reduce_scatter,
       "reduce_scatter",
       1,
       1,
       {"op", "axis", "saturate"},
       "all_reduce, then TSP i keeps slice i along axis"},
      {OpKind::all_gather,
       "all_gather",
       1,
       1,
       {"axis"},
       "every TSP gets the concatenation of all TSPs' values along axis"},
      {OpKind::broadcast, "broadcast", 1, 1, {"to"}, "copy a one-TSP tensor to a set of TSPs"},
      {OpKind::send, "send", 1, 1, {"to"}, "move a one-TSP tensor to another TSP"},
  };
  return specs;
}

const OpSpec& op_spec(OpKind kind) {
  for (const OpSpec& s : op_specs()) {
    if (s.kind == kind) return s;
  }
  TSPEMU_ASSERT(false, "op kind without a spec");
  return op_specs().front();
}

std::string_view op_kind_name(OpKind kind) {
  return op_spec(kind).name;
}

std::optional<OpKind> parse_op_kind(std::string_view name) {
  for (const OpSpec& s : op_specs()) {
    if (s.name == name) return s.kind;
  }
  return std::nullopt;
}

std::string_view reduce_fn_name(ReduceFn fn) {
  switch (fn) {
    case ReduceFn::sum:
      return "sum";
    case ReduceFn::max:
      return "max";
    case ReduceFn::min:
      return "min";
  }
  return "?";
}

bool is_collective(OpKind kind) {
  return kind == OpKind::all_reduce || kind == OpKind::reduce_scatter ||
         kind == OpKind::all_gather || kind == OpKind::broadcast || kind == OpKind::send;
}

bool is_elementwise_binary(OpKind kind) {
  return kind == OpKind::add || kind == OpKind::sub || kind == OpKind::mul || kind == OpKind::min ||
         kind == OpKind::max;
}

bool is_elementwise_unary(OpKind kind) {
  return kind == OpKind::neg || kind == OpKind::abs || kind == OpKind::relu ||
         kind == OpKind::tanh || kind == OpKind::exp || kind == OpKind::rsqrt;
}

std::string Op::label() const {
  if (name.empty()) return fmt::format("op[{}] ({})", index, op_kind_name(kind));
  return fmt::format("op[{}] ({} '{}')", index, op_kind_name(kind), name);
}

// ---- the graph ---------------------------------------------------------------------------------

std::int32_t Graph::find_tensor(std::string_view tensor_name) const {
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    if (tensors[i].name == tensor_name) return static_cast<std::int32_t>(i);
  }
  return -1;
}

// ---- initial data
// --------------------------------------------------------------------------------

std::uint64_t graph_tensor_bytes(const Graph& graph, bool initialised_only) {
  std::uint64_t total = 0;
  for (const Tensor& t : graph.tensors) {
    if (initialised_only && !t.init) continue;
    total += static_cast<std::uint64_t>(t.local_bytes()) * t.placement.tsps.size();
  }
  return total;
}

namespace {

// Elements [first, first + count) of initial_bytes(tensor), each computed alone: seeded recipes
// are a function of the element index, so a shard never costs the whole tensor (a per-TSP
// tensor on 576 TSPs used to generate all 576 shards for each of them).
std::vector<std::uint8_t> initial_range(const Tensor& tensor, std::size_t first,
                                        std::size_t count) {
  TSPEMU_ASSERT(tensor.init.has_value(), "initial_bytes of a computed tensor");
  const DataInit& init = *tensor.init;
  const auto element_bytes = static_cast<std::size_t>(dtype_bytes(tensor.dtype));
  std::vector<std::uint8_t> out(count * element_bytes, 0);
  switch (init.kind) {
    case DataInit::Kind::zero:
      break;
    case DataInit::Kind::literal:
    case DataInit::Kind::file_bytes:
      TSPEMU_ASSERT(init.bytes.size() >= (first + count) * element_bytes,
                    "init bytes do not match the tensor");
      std::copy_n(init.bytes.begin() + static_cast<std::ptrdiff_t>(first * element_bytes),
                  out.size(), out.begin());
      break;
    case DataInit::Kind::seeded_uniform:
      for (std::size_t i = 0; i < count; ++i) {
        const std::uint64_t bits = seeded_element(init, tensor.dtype, first + i);
        for (std::size_t k = 0; k < element_bytes; ++k) {
          out[i * element_bytes + k] = static_cast<std::uint8_t>(bits >> (8 * k));
        }
      }
      break;
  }
  return out;
}

}  // namespace

std::vector<std::uint8_t> initial_bytes(const Tensor& tensor) {
  std::int64_t count = tensor.elements();
  if (tensor.placement.kind == Placement::Kind::per_tsp) {
    count *= static_cast<std::int64_t>(tensor.placement.tsps.size());
  }
  return initial_range(tensor, 0, static_cast<std::size_t>(count));
}

std::vector<std::uint8_t> slice_along_axis(std::span<const std::uint8_t> bytes,
                                           std::span<const std::int64_t> shape,
                                           std::size_t element_bytes, std::size_t axis,
                                           std::int64_t begin, std::int64_t extent) {
  TSPEMU_ASSERT(axis < shape.size(), "slice axis beyond the rank");
  TSPEMU_ASSERT(begin >= 0 && extent >= 0 && begin + extent <= shape[axis], "slice out of range");
  // outer x dim x inner, with the slice taken from the middle factor.
  std::size_t outer = 1;
  for (std::size_t i = 0; i < axis; ++i) outer *= static_cast<std::size_t>(shape[i]);
  std::size_t inner = element_bytes;
  for (std::size_t i = axis + 1; i < shape.size(); ++i) inner *= static_cast<std::size_t>(shape[i]);
  const auto dim = static_cast<std::size_t>(shape[axis]);
  const auto b = static_cast<std::size_t>(begin);
  const auto e = static_cast<std::size_t>(extent);
  TSPEMU_ASSERT(bytes.size() == outer * dim * inner, "byte count does not match the shape");
  std::vector<std::uint8_t> out(outer * e * inner);
  for (std::size_t o = 0; o < outer; ++o) {
    if (e * inner == 0) break;
    std::memcpy(out.data() + o * e * inner, bytes.data() + (o * dim + b) * inner, e * inner);
  }
  return out;
}

std::vector<std::uint8_t> initial_shard_bytes(const Tensor& tensor, std::size_t position) {
  const Placement& p = tensor.placement;
  TSPEMU_ASSERT(position < p.tsps.size(), "shard position beyond the placement");
  const auto elements = static_cast<std::size_t>(tensor.elements());
  switch (p.kind) {
    case Placement::Kind::replicated:
      return initial_range(tensor, 0, elements);
    case Placement::Kind::split: {
      // outer x dim x inner, the shard taking `extent` of the middle factor.
      const auto axis = static_cast<std::size_t>(p.split_axis);
      std::size_t outer = 1;
      for (std::size_t i = 0; i < axis; ++i) outer *= static_cast<std::size_t>(tensor.shape[i]);
      std::size_t inner = 1;
      for (std::size_t i = axis + 1; i < tensor.shape.size(); ++i) {
        inner *= static_cast<std::size_t>(tensor.shape[i]);
      }
      const auto dim = static_cast<std::size_t>(tensor.shape[axis]);
      const std::size_t extent = dim / p.tsps.size();
      std::vector<std::uint8_t> out;
      out.reserve(outer * extent * inner * static_cast<std::size_t>(dtype_bytes(tensor.dtype)));
      for (std::size_t o = 0; o < outer; ++o) {
        const auto block =
            initial_range(tensor, (o * dim + extent * position) * inner, extent * inner);
        out.insert(out.end(), block.begin(), block.end());
      }
      return out;
    }
    case Placement::Kind::per_tsp:
      return initial_range(tensor, position * elements, elements);
  }
  return initial_bytes(tensor);
}

}  // namespace tspemu
