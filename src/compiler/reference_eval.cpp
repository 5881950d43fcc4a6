#include "compiler/reference_eval.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <map>
#include <type_traits>

#include "common/error.hpp"
#include "common/numerics/convert.hpp"
#include "common/numerics/float_ops.hpp"
#include "common/numerics/half.hpp"
#include "common/numerics/host_float.hpp"
#include "common/numerics/integer_ops.hpp"
#include "common/numerics/transcendental.hpp"
#include "compiler/reference_eval_kernels.hpp"

namespace tspemu {
namespace {

static_assert(std::endian::native == std::endian::little,
              "element bytes are little-endian and are memcpy'd to and from host values");

using Bytes = std::vector<std::uint8_t>;

// Calls f with a value of the C++ type of `dtype` (int8_t, int16_t, int32_t, Half, float).
template <class F>
decltype(auto) dispatch(DType dtype, F&& f) {
  switch (dtype) {
    case DType::i8:
      return f(std::int8_t{});
    case DType::i16:
      return f(std::int16_t{});
    case DType::i32:
      return f(std::int32_t{});
    case DType::f16:
      return f(Half{});
    case DType::f32:
      return f(float{});
    case DType::u8:
    case DType::none:
      break;
  }
  TSPEMU_ASSERT(false, "not a graph dtype");
  return f(float{});
}

template <class T>
std::vector<T> load(const Bytes& bytes) {
  TSPEMU_ASSERT(bytes.size() % sizeof(T) == 0, "byte count is not a whole number of elements");
  std::vector<T> values(bytes.size() / sizeof(T));
  if (!bytes.empty()) std::memcpy(values.data(), bytes.data(), bytes.size());
  return values;
}

template <class T>
Bytes store(const std::vector<T>& values) {
  Bytes bytes(values.size() * sizeof(T));
  if (!values.empty()) std::memcpy(bytes.data(), values.data(), bytes.size());
  return bytes;
}

template <class T>
inline constexpr bool kIsHalf = std::is_same_v<T, Half>;
template <class T>
inline constexpr bool kIsFloat = std::is_same_v<T, float>;

// ---- element functions (docs/graph-format.md, "Element-wise ops") ----

template <class T>
T binary(OpKind kind, T a, T b, bool saturate) {
  if constexpr (kIsHalf<T>) {
    switch (kind) {
      case OpKind::add:
        return add_f16(a, b);
      case OpKind::sub:
        return sub_f16(a, b);
      case OpKind::mul:
        return mul_f16(a, b);
      case OpKind::min:
        return min_f16(a, b);
      case OpKind::max:
        return max_f16(a, b);
      default:
        break;
    }
  } else if constexpr (kIsFloat<T>) {
    switch (kind) {
      case OpKind::add:
        return add_f32(a, b);
      case OpKind::sub:
        return sub_f32(a, b);
      case OpKind::mul:
        return mul_f32(a, b);
      case OpKind::min:
        return min_f32(a, b);
      case OpKind::max:
        return max_f32(a, b);
      default:
        break;
    }
  } else {
    switch (kind) {
      case OpKind::add:
        return saturate ? add_sat(a, b) : add_wrap(a, b);
      case OpKind::sub:
        return saturate ? sub_sat(a, b) : sub_wrap(a, b);
      case OpKind::mul:
        return saturate ? mul_sat(a, b) : mul_wrap(a, b);
      case OpKind::min:
        return a <= b ? a : b;
      case OpKind::max:
        return a >= b ? a : b;
      default:
        break;
    }
  }
  TSPEMU_ASSERT(false, "not a binary element op");
  return a;
}

template <class T>
T unary(OpKind kind, T a) {
  if constexpr (kIsHalf<T>) {
    switch (kind) {
      case OpKind::neg:
        return negate(a);
      case OpKind::abs:
        return Half{static_cast<std::uint16_t>(a.bits & 0x7fff)};
      case OpKind::relu:
        return max_f16(a, kHalfPositiveZero);
      case OpKind::tanh:
        return tanh_f16(a);
      case OpKind::exp:
        return exp_f16(a);
      case OpKind::rsqrt:
        return rsqrt_f16(a);
      default:
        break;
    }
  } else if constexpr (kIsFloat<T>) {
    switch (kind) {
      case OpKind::neg:
        return std::bit_cast<float>(std::bit_cast<std::uint32_t>(a) ^ 0x80000000U);
      case OpKind::abs:
        return std::bit_cast<float>(std::bit_cast<std::uint32_t>(a) & 0x7fffffffU);
      case OpKind::relu:
        return max_f32(a, 0.0F);
      case OpKind::tanh:
        return tanh_f32(a);
      case OpKind::exp:
        return exp_f32(a);
      case OpKind::rsqrt:
        return rsqrt_f32(a);
      default:
        break;
    }
  } else {
    switch (kind) {
      case OpKind::neg:
        return sub_wrap(T{0}, a);
      case OpKind::abs:
        return a < 0 ? sub_wrap(T{0}, a) : a;
      case OpKind::relu:
        return a < 0 ? T{0} : a;
      default:
        break;
    }
  }
  TSPEMU_ASSERT(false, "not a unary element op for this dtype");
  return a;
}

template <class T>
T fold_step(ReduceFn fn, T accumulated, T next, bool saturate) {
  switch (fn) {
    case ReduceFn::sum:
      return binary(OpKind::add, accumulated, next, saturate);
    case ReduceFn::max:
      return binary(OpKind::max, accumulated, next, false);
    case ReduceFn::min:
      return binary(OpKind::min, accumulated, next, false);
  }
  return accumulated;
}

// The halving tree of docs/graph-format.md, "Reductions", over v[0 .. m-1]: while m > 1, h =
// ceil(m / 2) and v[i] = op(v[i], v[i + h]) for every i < m - h whose partner is present (an
// absent one leaves v[i] as it is). Written as plain loops, independently of the lowering.
template <class T>
T halving_tree(ReduceFn fn, std::vector<T> v, std::vector<bool> present, bool saturate) {
  std::size_t m = v.size();
  while (m > 1) {
    const std::size_t h = (m + 1) / 2;
    for (std::size_t i = 0; i + h < m; ++i) {
      if (present[i + h]) v[i] = fold_step(fn, v[i], v[i + h], saturate);
    }
    m = h;
  }
  return v[0];
}

// The lanes of the chip's vectors: the last axis is reduced in tiles of this many elements.
constexpr std::size_t kTileLanes = 320;

template <class D, class S>
D convert(S a, bool saturate) {
  constexpr bool d_float = kIsHalf<D> || kIsFloat<D>;
  constexpr bool s_float = kIsHalf<S> || kIsFloat<S>;
  if constexpr (!d_float && !s_float) {
    const std::int64_t v = a;
    if (saturate) {
      return static_cast<D>(std::clamp<std::int64_t>(v, std::numeric_limits<D>::min(),
                                                     std::numeric_limits<D>::max()));
    }
    return static_cast<D>(v);  // C++20: modulo 2^bits
  } else if constexpr (d_float && !s_float) {
    if constexpr (kIsHalf<D>) {
      return int_to_half(a);
    } else {
      return int_to_float(a);
    }
  } else if constexpr (!d_float && s_float) {
    if constexpr (kIsHalf<S>) {
      return half_to_int<D>(a);
    } else {
      return float_to_int<D>(a);
    }
  } else if constexpr (kIsHalf<D> && kIsFloat<S>) {
    return float_to_half(a);
  } else if constexpr (kIsFloat<D> && kIsHalf<S>) {
    return half_to_float(a);
  } else {
    return a;
  }
}

// ---- shape helpers ----

// Shapes padded to rank 4 (leading 1s), so every kernel is four nested loops.
using Dims4 = std::array<std::int64_t, 4>;

Dims4 pad4(std::span<const std::int64_t> shape) {
  Dims4 d{1, 1, 1, 1};
  const std::size_t offset = 4 - shape.size();
  for (std::size_t i = 0; i < shape.size(); ++i) d[offset + i] = shape[i];
  return d;
}

Dims4 strides_of(const Dims4& dims) {
  Dims4 s{};
  std::int64_t stride = 1;
  for (std::size_t i = 4; i-- > 0;) {
    s[i] = stride;
    stride *= dims[i];
  }
  return s;
}

// out[i] = f(flat index into the input for each output position), visiting outputs row-major.
template <class F>
void for_each4(const Dims4& out, F&& f) {
  for (std::int64_t a = 0; a < out[0]; ++a) {
    for (std::int64_t b = 0; b < out[1]; ++b) {
      for (std::int64_t c = 0; c < out[2]; ++c) {
        for (std::int64_t d = 0; d < out[3]; ++d) f(Dims4{a, b, c, d});
      }
    }
  }
}

std::int64_t dot4(const Dims4& index, const Dims4& strides) {
  return index[0] * strides[0] + index[1] * strides[1] + index[2] * strides[2] +
         index[3] * strides[3];
}

// Strides of an input broadcast to `out`: 0 along the dimensions where it has size 1.
Dims4 broadcast_strides(const Dims4& in, const Dims4& out) {
  Dims4 s = strides_of(in);
  for (std::size_t i = 0; i < 4; ++i) {
    if (in[i] == 1 && out[i] != 1) s[i] = 0;
  }
  return s;
}

struct Split3 {
  std::size_t outer = 1, dim = 1, inner = 1;  // elements
};
Split3 split_at(std::span<const std::int64_t> shape, std::size_t axis) {
  Split3 s;
  for (std::size_t i = 0; i < axis; ++i) s.outer *= static_cast<std::size_t>(shape[i]);
  s.dim = static_cast<std::size_t>(shape[axis]);
  for (std::size_t i = axis + 1; i < shape.size(); ++i)
    s.inner *= static_cast<std::size_t>(shape[i]);
  return s;
}

// ---- local ops: one TSP's shards in, one shard out ----

struct LocalInput {
  DType dtype;
  const Shard* shard;
};

// The combination tree of all_reduce / reduce_scatter (docs/graph-format.md, "Collectives"): the
// participants' parts grouped by rack, then by node (ascending ids; parts[i] is the participant at
// placement position i, and positions ascend with TSP ids), each group's parts combined by the
// halving tree, element by element: per node over its TSPs, per rack over its nodes' results, then
// over the racks' results.
template <class T>
Bytes tree_elementwise(ReduceFn fn, bool saturate, const std::vector<const Bytes*>& parts,
                       const std::vector<std::int32_t>& nodes,
                       const std::vector<std::int32_t>& racks) {
  // rack -> node -> positions, every level in ascending order (std::map).
  std::map<std::int32_t, std::map<std::int32_t, std::vector<std::size_t>>> groups;
  for (std::size_t i = 0; i < parts.size(); ++i) groups[racks[i]][nodes[i]].push_back(i);
  const std::size_t elements = load<T>(*parts[0]).size();
  auto halve = [&](std::vector<std::vector<T>> level) {
    std::vector<T> result(elements);
    for (std::size_t e = 0; e < elements; ++e) {
      std::vector<T> v;
      for (const auto& values : level) v.push_back(values[e]);
      result[e] = halving_tree(fn, std::move(v), std::vector<bool>(level.size(), true), saturate);
    }
    return result;
  };
  std::vector<std::vector<T>> rack_values;
  for (const auto& [rack, by_node] : groups) {
    std::vector<std::vector<T>> node_values;
    for (const auto& [node, positions] : by_node) {
      std::vector<std::vector<T>> tsp_values;
      for (const std::size_t i : positions) tsp_values.push_back(load<T>(*parts[i]));
      node_values.push_back(halve(std::move(tsp_values)));
    }
    rack_values.push_back(halve(std::move(node_values)));
  }
  return store(halve(std::move(rack_values)));
}

Bytes concat_along(const std::vector<const Shard*>& parts, std::size_t element_bytes,
                   std::size_t axis) {
  const Split3 first = split_at(parts[0]->shape, axis);
  std::size_t total = 0;
  for (const Shard* s : parts) total += s->bytes.size();
  Bytes out;
  out.reserve(total);
  for (std::size_t o = 0; o < first.outer; ++o) {
    for (const Shard* s : parts) {
      const Split3 sp = split_at(s->shape, axis);
      const std::size_t block = sp.dim * sp.inner * element_bytes;
      const auto begin = s->bytes.begin() + static_cast<std::ptrdiff_t>(o * block);
      out.insert(out.end(), begin, begin + static_cast<std::ptrdiff_t>(block));
    }
  }
  return out;
}

Bytes run_local(const Op& op, const std::vector<LocalInput>& in, DType out_dtype,
                const Shape& out_shape) {
  const DType dtype = in[0].dtype;
  const Shard& x = *in[0].shard;
  switch (op.kind) {
    case OpKind::matmul: {
      const Shard& b = *in[1].shard;
      const std::int64_t m = x.shape[0];
      const std::int64_t k = x.shape[1];
      const std::int64_t n = b.shape[1];
      if (dtype == DType::i8) {
        return store(
            reference_matmul_i8(load<std::int8_t>(x.bytes), load<std::int8_t>(b.bytes), m, k, n));
      }
      return store(reference_matmul_f16(load<Half>(x.bytes), load<Half>(b.bytes), m, k, n));
    }
    case OpKind::add:
    case OpKind::sub:
    case OpKind::mul:
    case OpKind::min:
    case OpKind::max:
      return dispatch(dtype, [&](auto tag) {
        using T = decltype(tag);
        const std::vector<T> a = load<T>(x.bytes);
        const std::vector<T> b = load<T>(in[1].shard->bytes);
        const Dims4 out = pad4(out_shape);
        const Dims4 sa = broadcast_strides(pad4(x.shape), out);
        const Dims4 sb = broadcast_strides(pad4(in[1].shard->shape), out);
        std::vector<T> result;
        result.reserve(static_cast<std::size_t>(shape_elements(out_shape)));
        for_each4(out, [&](const Dims4& i) {
          result.push_back(binary(op.kind, a[static_cast<std::size_t>(dot4(i, sa))],
                                  b[static_cast<std::size_t>(dot4(i, sb))], op.saturate));
        });
        return store(result);
      });
    case OpKind::neg:
    case OpKind::abs:
    case OpKind::relu:
    case OpKind::tanh:
    case OpKind::exp:
    case OpKind::rsqrt:
      return dispatch(dtype, [&](auto tag) {
        using T = decltype(tag);
        std::vector<T> a = load<T>(x.bytes);
        for (T& v : a) v = unary(op.kind, v);
        return store(a);
      });
    case OpKind::cast:
      return dispatch(dtype, [&](auto source_tag) {
        using S = decltype(source_tag);
        return dispatch(out_dtype, [&](auto dest_tag) {
          using D = decltype(dest_tag);
          const std::vector<S> a = load<S>(x.bytes);
          std::vector<D> result(a.size());
          for (std::size_t i = 0; i < a.size(); ++i) result[i] = convert<D, S>(a[i], op.saturate);
          return store(result);
        });
      });
    case OpKind::reduce:
      return dispatch(dtype, [&](auto tag) {
        using T = decltype(tag);
        const std::vector<T> a = load<T>(x.bytes);
        const Split3 s = split_at(x.shape, static_cast<std::size_t>(op.axis));
        const bool last_axis = static_cast<std::size_t>(op.axis) + 1 == x.shape.size();
        std::vector<T> result(s.outer * s.inner);
        for (std::size_t o = 0; o < s.outer; ++o) {
          for (std::size_t i = 0; i < s.inner; ++i) {
            auto element = [&](std::size_t d) { return a[(o * s.dim + d) * s.inner + i]; };
            if (!last_axis) {
              // A leading axis: the halving tree over its n elements.
              std::vector<T> v(s.dim);
              for (std::size_t d = 0; d < s.dim; ++d) v[d] = element(d);
              result[o * s.inner + i] = halving_tree(op.reduce_fn, std::move(v),
                                                     std::vector<bool>(s.dim, true), op.saturate);
              continue;
            }
            // The last axis: tiles of 320 combined lane by lane (element 320 t + l of tile t;
            // the last tile may lack lanes), then the lanes of the result.
            const std::size_t tiles = (s.dim + kTileLanes - 1) / kTileLanes;
            const std::size_t lanes = std::min(s.dim, kTileLanes);
            std::vector<T> lane_values(lanes);
            for (std::size_t l = 0; l < lanes; ++l) {
              std::vector<T> v(tiles, T{});
              std::vector<bool> present(tiles, false);
              for (std::size_t t = 0; t < tiles; ++t) {
                const std::size_t d = t * kTileLanes + l;
                if (d < s.dim) {
                  v[t] = element(d);
                  present[t] = true;
                }
              }
              lane_values[l] =
                  halving_tree(op.reduce_fn, std::move(v), std::move(present), op.saturate);
            }
            result[o * s.inner + i] = halving_tree(op.reduce_fn, std::move(lane_values),
                                                   std::vector<bool>(lanes, true), op.saturate);
          }
        }
        return store(result);
      });
    case OpKind::transpose:
      return dispatch(dtype, [&](auto tag) {
        using T = decltype(tag);
        const std::vector<T> a = load<T>(x.bytes);
        // Output axis j reads input axis perm[j].
        const std::size_t rank = x.shape.size();
        const std::size_t offset = 4 - rank;
        const Dims4 in_strides = strides_of(pad4(x.shape));
        Dims4 read{0, 0, 0, 0};
        for (std::size_t j = 0; j < rank; ++j) {
          read[offset + j] = in_strides[offset + static_cast<std::size_t>(op.perm[j])];
        }
        std::vector<T> result;
        result.reserve(a.size());
        for_each4(pad4(out_shape), [&](const Dims4& i) {
          result.push_back(a[static_cast<std::size_t>(dot4(i, read))]);
        });
        return store(result);
      });
    case OpKind::reshape:
      return x.bytes;
    case OpKind::slice:
      return slice_along_axis(x.bytes, x.shape, static_cast<std::size_t>(dtype_bytes(dtype)),
                              static_cast<std::size_t>(op.axis), op.start, op.end - op.start);
    case OpKind::concat: {
      std::vector<const Shard*> parts;
      for (const LocalInput& i : in) parts.push_back(i.shard);
      return concat_along(parts, static_cast<std::size_t>(dtype_bytes(dtype)),
                          static_cast<std::size_t>(op.axis));
    }
    case OpKind::all_reduce:
    case OpKind::reduce_scatter:
    case OpKind::all_gather:
    case OpKind::broadcast:
    case OpKind::send:
      break;
  }
  TSPEMU_ASSERT(false, "collective in run_local");
  return {};
}

// ---- the evaluator ----

TensorValue initial_value(const Tensor& t) {
  TensorValue v{t.name, t.dtype, t.shape, t.placement, {}};
  const Bytes whole = initial_bytes(t);
  const Shape local = t.local_shape();
  const auto element_bytes = static_cast<std::size_t>(dtype_bytes(t.dtype));
  const std::size_t shard_bytes = static_cast<std::size_t>(shape_elements(local)) * element_bytes;
  for (std::size_t i = 0; i < t.placement.tsps.size(); ++i) {
    Shard s{t.placement.tsps[i], local, {}};
    switch (t.placement.kind) {
      case Placement::Kind::replicated:
        s.bytes = whole;
        break;
      case Placement::Kind::split:
        s.bytes = slice_along_axis(
            whole, t.shape, element_bytes, static_cast<std::size_t>(t.placement.split_axis),
            local[static_cast<std::size_t>(t.placement.split_axis)] * static_cast<std::int64_t>(i),
            local[static_cast<std::size_t>(t.placement.split_axis)]);
        break;
      case Placement::Kind::per_tsp: {
        const auto first = whole.begin() + static_cast<std::ptrdiff_t>(i * shard_bytes);
        s.bytes.assign(first, first + static_cast<std::ptrdiff_t>(shard_bytes));
        break;
      }
    }
    v.shards.push_back(std::move(s));
  }
  return v;
}

TensorValue run_op(const Graph& graph, const Op& op, const std::vector<TensorValue>& values) {
  const Tensor& t = graph.tensor(op.output);
  TensorValue out{t.name, t.dtype, t.shape, t.placement, {}};
  const Shape local = t.local_shape();
  const auto element_bytes = static_cast<std::size_t>(dtype_bytes(t.dtype));
  const TensorValue& x = values[static_cast<std::size_t>(op.inputs[0])];

  if (!is_collective(op.kind)) {
    bool all_replicated = true;
    for (std::int32_t input : op.inputs) {
      if (graph.tensor(input).placement.kind != Placement::Kind::replicated) all_replicated = false;
    }
    for (std::size_t pos = 0; pos < t.placement.tsps.size(); ++pos) {
      if (all_replicated && pos > 0) {
        // Same inputs on every TSP, and the op is a pure function of them.
        out.shards.push_back(Shard{t.placement.tsps[pos], local, out.shards[0].bytes});
        continue;
      }
      std::vector<LocalInput> in;
      for (std::int32_t input : op.inputs) {
        const TensorValue& v = values[static_cast<std::size_t>(input)];
        TSPEMU_ASSERT(v.shards[pos].tsp == t.placement.tsps[pos], "inputs on different TSPs");
        in.push_back(LocalInput{v.dtype, &v.shards[pos]});
      }
      out.shards.push_back(Shard{t.placement.tsps[pos], local, run_local(op, in, t.dtype, local)});
    }
  } else {
    switch (op.kind) {
      case OpKind::all_reduce:
      case OpKind::reduce_scatter: {
        // The topology's tree (node, rack, system), halving at each level: every TSP ends with
        // identical bits.
        std::vector<const Bytes*> parts;
        for (const Shard& s : x.shards) parts.push_back(&s.bytes);
        const Bytes reduced = dispatch(x.dtype, [&](auto tag) {
          return tree_elementwise<decltype(tag)>(op.reduce_fn, op.saturate, parts, op.tsp_nodes,
                                                 op.tsp_racks);
        });
        for (std::size_t pos = 0; pos < t.placement.tsps.size(); ++pos) {
          if (op.kind == OpKind::all_reduce) {
            out.shards.push_back(Shard{t.placement.tsps[pos], local, reduced});
          } else {
            const auto axis = static_cast<std::size_t>(op.axis);
            out.shards.push_back(
                Shard{t.placement.tsps[pos], local,
                      slice_along_axis(reduced, x.shards[0].shape, element_bytes, axis,
                                       local[axis] * static_cast<std::int64_t>(pos), local[axis])});
          }
        }
        break;
      }
      case OpKind::all_gather: {
        std::vector<const Shard*> parts;
        for (const Shard& s : x.shards) parts.push_back(&s);
        const Bytes gathered =
            concat_along(parts, element_bytes, static_cast<std::size_t>(op.axis));
        for (TspId tsp : t.placement.tsps) out.shards.push_back(Shard{tsp, local, gathered});
        break;
      }
      case OpKind::broadcast:
      case OpKind::send:
        for (TspId tsp : t.placement.tsps) {
          out.shards.push_back(Shard{tsp, local, x.shards[0].bytes});
        }
        break;
      default:
        TSPEMU_ASSERT(false, "not a collective");
    }
  }
  for (const Shard& s : out.shards) {
    TSPEMU_ASSERT(s.bytes.size() == static_cast<std::size_t>(shape_elements(local)) * element_bytes,
                  "a shard's byte count does not match its shape");
  }
  return out;
}

std::string value_text(DType dtype, std::uint64_t bits) {
  std::string text;
  if (dtype == DType::f16) {
    const Half h{static_cast<std::uint16_t>(bits)};
    if (is_nan(h)) return "nan";
    if (is_inf(h)) return sign_bit(h) ? "-inf" : "inf";
    text = fmt::format("{:.7g}", half_to_double(h));
  } else if (dtype == DType::f32) {
    const auto f = std::bit_cast<float>(static_cast<std::uint32_t>(bits));
    if (f != f) return "nan";
    if (f == std::numeric_limits<float>::infinity()) return "inf";
    if (f == -std::numeric_limits<float>::infinity()) return "-inf";
    text = fmt::format("{}", f);
  } else {
    const int width = 8 * dtype_bytes(dtype);
    const std::uint64_t sign = std::uint64_t{1} << (width - 1);
    const auto value = static_cast<std::int64_t>(bits ^ sign) - static_cast<std::int64_t>(sign);
    return fmt::format("{}", value);
  }
  if (text.find_first_of(".e") == std::string::npos) text += ".0";
  return text;
}

std::uint64_t element_bits(std::span<const std::uint8_t> bytes, std::size_t index,
                           std::size_t element_bytes) {
  std::uint64_t bits = 0;
  for (std::size_t k = 0; k < element_bytes; ++k) {
    bits |= std::uint64_t{bytes[index * element_bytes + k]} << (8 * k);
  }
  return bits;
}

}  // namespace

const Shard* TensorValue::on(TspId tsp) const {
  for (const Shard& s : shards) {
    if (s.tsp == tsp) return &s;
  }
  return nullptr;
}

const TensorValue* EvalResult::find(std::string_view name) const {
  for (const TensorValue& v : outputs) {
    if (v.name == name) return &v;
  }
  return nullptr;
}

Digest128 EvalResult::digest() const {
  Hasher h;
  h.str("tspemu graph outputs v1");
  h.u64(outputs.size());
  for (const TensorValue& v : outputs) {
    h.str(v.name).str(graph_dtype_name(v.dtype)).u64(v.shape.size());
    for (std::int64_t d : v.shape) h.i64(d);
    h.u64(static_cast<std::uint64_t>(v.placement.kind)).i64(v.placement.split_axis);
    h.u64(v.shards.size());
    for (const Shard& s : v.shards) {
      h.i64(s.tsp.value).u64(s.shape.size());
      for (std::int64_t d : s.shape) h.i64(d);
      h.u64(s.bytes.size()).bytes(s.bytes);
    }
  }
  return h.finish();
}

std::vector<TensorValue> evaluate_all(const Graph& graph) {
  // fp32 add/sub/mul are the host's binary32 operations (docs/numerics.md).
  require_ieee_host_float_environment();
  std::vector<TensorValue> values(graph.tensors.size());
  for (std::size_t i = 0; i < graph.tensors.size(); ++i) {
    if (graph.tensors[i].init) values[i] = initial_value(graph.tensors[i]);
  }
  for (const Op& op : graph.ops) {
    values[static_cast<std::size_t>(op.output)] = run_op(graph, op, values);
  }
  return values;
}

EvalResult evaluate(const Graph& graph) {
  std::vector<TensorValue> values = evaluate_all(graph);
  EvalResult result;
  for (std::int32_t t : graph.outputs) {
    result.outputs.push_back(values[static_cast<std::size_t>(t)]);
  }
  return result;
}

std::string format_element(DType dtype, std::uint64_t bits) {
  const int digits = 2 * dtype_bytes(dtype);
  return fmt::format("0x{:0{}x} ({})", bits, digits, value_text(dtype, bits));
}

std::optional<OutputMismatch> first_difference(const TensorValue& expected, TspId tsp,
                                               std::span<const std::uint8_t> got) {
  OutputMismatch m{expected.name, tsp, {}, 0, 0, {}};
  const Shard* shard = expected.on(tsp);
  if (shard == nullptr) {
    m.message = fmt::format("output '{}' on tsp {}: not expected there (it is on {})",
                            expected.name, tsp.value, expected.placement.describe());
    return m;
  }
  if (got.size() != shard->bytes.size()) {
    m.message =
        fmt::format("output '{}' on tsp {}: expected {} bytes ({} {}), got {}", expected.name,
                    tsp.value, shard->bytes.size(), format_shape(shard->shape),
                    graph_dtype_name(expected.dtype), got.size());
    return m;
  }
  if (std::equal(got.begin(), got.end(), shard->bytes.begin())) return std::nullopt;
  const auto element_bytes = static_cast<std::size_t>(dtype_bytes(expected.dtype));
  const std::size_t count = got.size() / element_bytes;
  for (std::size_t i = 0; i < count; ++i) {
    const std::uint64_t want = element_bits(shard->bytes, i, element_bytes);
    const std::uint64_t have = element_bits(got, i, element_bytes);
    if (want == have) continue;
    // Row-major index of element i in the local shape.
    m.index.assign(shard->shape.size(), 0);
    std::size_t rest = i;
    for (std::size_t d = shard->shape.size(); d-- > 0;) {
      const auto dim = static_cast<std::size_t>(shard->shape[d]);
      m.index[d] = static_cast<std::int64_t>(rest % dim);
      rest /= dim;
    }
    m.expected_bits = want;
    m.got_bits = have;
    m.message = fmt::format("output '{}' element {} on tsp {}: expected {}, got {}", expected.name,
                            format_shape(m.index), tsp.value, format_element(expected.dtype, want),
                            format_element(expected.dtype, have));
    return m;
  }
  return std::nullopt;
}

std::optional<OutputMismatch> compare_outputs(const EvalResult& expected,
                                              std::span<const EmulatedOutput> got) {
  std::map<std::pair<std::string, std::int32_t>, const EmulatedOutput*> by_key;
  for (const EmulatedOutput& o : got) {
    const auto [it, inserted] = by_key.emplace(std::pair(o.name, o.tsp.value), &o);
    if (!inserted) {
      return OutputMismatch{
          o.name,
          o.tsp,
          {},
          0,
          0,
          fmt::format("output '{}' on tsp {}: the run reported it twice", o.name, o.tsp.value)};
    }
  }
  for (const TensorValue& v : expected.outputs) {
    for (const Shard& s : v.shards) {
      const auto it = by_key.find(std::pair(v.name, s.tsp.value));
      if (it == by_key.end()) {
        return OutputMismatch{
            v.name,
            s.tsp,
            {},
            0,
            0,
            fmt::format("output '{}' on tsp {}: the run produced no value", v.name, s.tsp.value)};
      }
      if (auto m = first_difference(v, s.tsp, it->second->bytes)) return m;
    }
  }
  for (const EmulatedOutput& o : got) {
    const TensorValue* v = expected.find(o.name);
    if (v == nullptr) {
      return OutputMismatch{
          o.name, o.tsp,
          {},     0,
          0,      fmt::format("output '{}' on tsp {}: not a declared output", o.name, o.tsp.value)};
    }
    if (v->on(o.tsp) == nullptr) return first_difference(*v, o.tsp, o.bytes);
  }
  return std::nullopt;
}

}  // namespace tspemu
