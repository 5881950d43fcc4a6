#include "compiler/compile.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <deque>
#include <map>
#include <memory>
#include <optional>

#include "topo/chip_config.hpp"
#include "common/error.hpp"
#include "common/memory_budget.hpp"
#include "compiler/lower/lowering.hpp"
#include "isa/op_table.hpp"
#include "isa/queue.hpp"
#include "topo/routing.hpp"

namespace tspemu {

namespace {

using detail::Chain;
using detail::ChainBuilder;
using detail::ChainOp;
using detail::kLanes;
using detail::kNotWritten;
using detail::Storage;
using detail::stream_placeholder;
using detail::TspSchedule;
using detail::VectorLoc;

// Leading (row) index of a row number of `shape` (all dims but the last), and back.
std::vector<std::int64_t> row_index(std::int64_t row, const Shape& shape) {
  const std::size_t lead = shape.empty() ? 0 : shape.size() - 1;
  std::vector<std::int64_t> index(lead, 0);
  for (std::size_t d = lead; d-- > 0;) {
    index[d] = row % shape[d];
    row /= shape[d];
  }
  return index;
}

std::int64_t row_number(const std::vector<std::int64_t>& index, const Shape& shape) {
  std::int64_t row = 0;
  for (std::size_t d = 0; d < index.size(); ++d) row = row * shape[d] + index[d];
  return row;
}

std::uint64_t one_bits(DType dtype) {
  switch (dtype) {
    case DType::f16:
      return 0x3c00;
    case DType::f32:
      return 0x3f800000;
    default:
      return 1;
  }
}

Opcode elementwise_opcode(OpKind kind) {
  switch (kind) {
    case OpKind::add:
      return Opcode::add;
    case OpKind::sub:
      return Opcode::sub;
    case OpKind::mul:
      return Opcode::mul;
    case OpKind::min:
      return Opcode::min;
    case OpKind::max:
      return Opcode::max;
    case OpKind::neg:
      return Opcode::neg;
    case OpKind::abs:
      return Opcode::abs;
    case OpKind::relu:
      return Opcode::relu;
    case OpKind::tanh:
      return Opcode::tanh;
    case OpKind::exp:
      return Opcode::exp;
    case OpKind::rsqrt:
      return Opcode::rsqrt;
    default:
      TSPEMU_ASSERT(false, "unreachable op kind");
      return Opcode::nop;
  }
}

Opcode reduce_opcode(ReduceFn fn) {
  switch (fn) {
    case ReduceFn::sum:
      return Opcode::add;
    case ReduceFn::max:
      return Opcode::max;
    case ReduceFn::min:
      return Opcode::min;
  }
  return Opcode::add;
}

// Does f(+0, +0) give +0 bit for bit (so zero padding lanes stay zero)?
bool keeps_zero_padding(OpKind kind, DType dtype) {
  switch (kind) {
    case OpKind::exp:
    case OpKind::rsqrt:
      return false;
    case OpKind::neg:
      return !is_float(dtype);
    default:
      return true;
  }
}

// A data segment over an allocation: `rows` rows of `columns` elements of `dtype`, byte plane k in
// the allocation's k-th slice. Not initialised (a region) until the caller says otherwise.
DataSegment segment_at(const TspSchedule& s, const TspSchedule::Allocation& alloc, std::string name,
                       DType dtype, std::int32_t rows, std::int32_t columns) {
  DataSegment seg;
  seg.name = std::move(name);
  seg.dtype = dtype;
  seg.rows = rows;
  seg.columns = columns;
  for (int k = 0; k < alloc.group.width; ++k) {
    seg.at.slices.push_back(s.slice_queue(alloc.group.slices[static_cast<std::size_t>(k)]));
  }
  seg.at.address = alloc.address;
  seg.initialized = false;
  return seg;
}

// The initial bytes of loc's row in its segment (columns x dtype bytes, row-major elements); the
// segment becomes literal data, zero-filled, on first use.
std::span<std::uint8_t> literal_row(TspSchedule& s, const VectorLoc& loc) {
  DataSegment& seg = s.segment(loc.segment);
  const auto row_bytes =
      static_cast<std::size_t>(seg.columns) * static_cast<std::size_t>(dtype_bytes(seg.dtype));
  if (seg.init.kind != DataInit::Kind::literal) {
    seg.init.kind = DataInit::Kind::literal;
    seg.init.bytes.assign(static_cast<std::size_t>(seg.rows) * row_bytes, 0);
    seg.initialized = true;
  }
  return {seg.init.bytes.data() + static_cast<std::size_t>(loc.segment_row) * row_bytes, row_bytes};
}

// One C2C link direction's next free send cycle and the spacing sends on it keep.
struct LinkLane {
  Cycle next_free = 0;
};

// A vector on its way between TSPs: one byte plane of a stored vector.
struct PlaneRef {
  TspId tsp;
  VectorLoc loc;
  int plane = 0;
};

class Lowering {
 public:
  Lowering(const Graph& graph, const Topology& topology)
      : graph_(graph), topology_(topology), config_(chip_config_from_params(topology.chip())) {
    if (config_.shape.lanes() != kLanes) {
      throw InputError(fmt::format(
          "the compiler lowers to 320-lane chips; topology '{}' has {} superlanes ({} lanes)",
          topology.name(), config_.shape.superlanes, config_.shape.lanes()));
    }
    storage_.resize(graph.tensors.size());
  }

  CompileOutput run();

 private:
  TspSchedule& sched(TspId tsp) {
    auto it = schedules_.find(tsp.value);
    if (it == schedules_.end()) {
      it = schedules_.emplace(tsp.value, std::make_unique<TspSchedule>(tsp, config_)).first;
    }
    return *it->second;
  }
  Storage& storage(std::int32_t tensor, std::size_t position) {
    auto& per = storage_[static_cast<std::size_t>(tensor)];
    TSPEMU_ASSERT(position < per.size() && per[position].has_value(), "tensor lowered before use");
    return *per[position];
  }
  [[noreturn]] void unsupported(const Op& op, const std::string& what) const {
    throw ScheduleError(fmt::format("{}: {} is not supported by the lowering", op.label(), what),
                        ErrorContext{.where = op.where});
  }

  Storage new_storage(TspSchedule& s, DType dtype, const Shape& shape, const std::string& name,
                      int bank = -1, const Storage* like = nullptr);
  void load_initial(const Tensor& tensor);
  const Storage& zero_padded(const Storage& x, TspSchedule& s, const std::string& name);
  const VectorLoc& zero_vector(TspSchedule& s, int index);
  const Storage& lane_broadcast_constant(std::int32_t tensor, std::size_t position,
                                         std::int64_t columns);

  // [R, C] -> [C, R] for R, C <= 320 (one tile each way), every byte plane by diagonals:
  // GATHER from a zero-padded 320-row staging copy, PERMUTE (rotate), SCATTER into a zero-filled
  // 320-row result (see the definition).
  Storage transpose_block(TspSchedule& s, const Storage& x, const std::string& name);
  // [R, C] -> [C, R] for any R and C: every 320 x 320 block through transpose_block.
  Storage transpose_2d(TspSchedule& s, const Storage& x, const std::string& name);
  // A [R, 1] value repeated along its last axis to [R, columns] (two transposes).
  Storage lane_broadcast(TspSchedule& s, const Storage& x, std::int64_t columns,
                         const std::string& name);
  std::int32_t rotate_map(TspSchedule& s, std::int64_t j);

  void lower(const Op& op);
  void lower_elementwise(const Op& op);
  void lower_matmul(const Op& op);
  void lower_reduce(const Op& op);
  void lower_lane_reduce(const Op& op);
  void lower_alias(const Op& op);
  void lower_collective(const Op& op);

  // One VXM op on stored vectors (or immediates), result written to `dst`. Returns the cycle `dst`
  // is readable from.
  struct VxmInput {
    const VectorLoc* loc = nullptr;  // nullptr: immediate
    std::uint64_t immediate = 0;
    int width = 1;
  };
  Cycle vxm_op(TspSchedule& s, Instruction instr, std::span<const VxmInput> inputs, int out_width,
               VectorLoc& dst);

  // dst = src bit for bit (MOV of the dtype's width through the VXM).
  Cycle copy_vector(TspSchedule& s, const VectorLoc& src, int width, VectorLoc& dst);
  // A one-row vector of `width` slices outside any segment (fold temporaries, received values),
  // in none of the slices `avoid` lists.
  static VectorLoc scratch_vector(TspSchedule& s, int width,
                                  std::span<const std::int16_t> avoid = {});

  // Moves one byte plane of a stored vector to a slice of another TSP over a minimal route;
  // returns the cycle the destination row is readable from.
  Cycle transfer(const PlaneRef& source, TspId dst_tsp, const VectorLoc& dst, int dst_plane);
  std::vector<TspId> route(TspId src, TspId dst, Cycle ready);
  // Among the parallel links from a to its neighbour b, the one free soonest (ties: the lowest
  // id), and when it is free.
  std::pair<LinkId, Cycle> soonest_link(TspId a, TspId b);
  Cycle link_free(TspId a, TspId b);
  // Moves a whole vector (every byte plane).
  Cycle transfer_vector(TspId src_tsp, const VectorLoc& src, TspId dst_tsp, VectorLoc& dst);

  const Graph& graph_;
  const Topology& topology_;
  ChipConfig config_;
  std::unique_ptr<Routing> routing_;
  std::map<std::int32_t, std::unique_ptr<TspSchedule>> schedules_;
  std::vector<std::vector<std::optional<Storage>>> storage_;
  std::map<std::tuple<std::int32_t, std::size_t, std::int64_t>, Storage> broadcast_constants_;
  std::map<std::pair<std::int32_t, int>, VectorLoc> zero_vectors_;
  std::deque<Storage> cleaned_;  // keeps derived copies alive (stable addresses)
  std::map<std::pair<std::int32_t, std::int64_t>, Storage> masks_;
  std::map<std::pair<std::int32_t, std::int64_t>, std::int32_t> rotate_maps_;
  std::map<std::pair<std::int32_t, bool>, LinkLane> link_lanes_;         // (link, a->b?)
  std::map<std::pair<std::int32_t, std::int32_t>, Cycle> last_receive_;  // (tsp, port)
  struct PlaneState {
    Cycle last_iw_operand = -(Cycle{1} << 40);
    Cycle last_abc_operand = -(Cycle{1} << 40);
  };
  std::map<std::pair<std::int32_t, int>, PlaneState> planes_;  // (tsp, MXM plane)
  SendSchedule send_rows_;
  std::vector<Cycle> op_finish_;
  std::int64_t temp_counter_ = 0;
};

// ---- storage ----------------------------------------------------------------------------------

Storage Lowering::new_storage(TspSchedule& s, DType dtype, const Shape& shape,
                              const std::string& name, int bank, const Storage* like) {
  Storage st;
  detail::set_geometry(st, dtype, shape);
  const int width = dtype_bytes(dtype);
  const std::int64_t stripes = std::min<std::int64_t>(st.rows, detail::kStripeGroups);
  st.vecs.resize(static_cast<std::size_t>(st.rows * st.tiles));
  for (std::int64_t t = 0; t < st.tiles; ++t) {
    for (std::int64_t g = 0; g < stripes; ++g) {
      const auto rows = static_cast<std::int32_t>((st.rows - g + stripes - 1) / stripes);
      const auto alloc = like != nullptr ? s.allocate_like(like->at(g, t).group, rows, bank)
                                         : s.allocate(width, rows, bank);
      const std::int32_t index =
          s.add_segment(segment_at(s, alloc, fmt::format("{}_t{}_g{}", name, t, g), dtype, rows,
                                   static_cast<std::int32_t>(st.tile_columns(t))));
      for (std::int64_t r = g, row = 0; r < st.rows; r += stripes, ++row) {
        VectorLoc& loc = st.at(r, t);
        loc.group = alloc.group;
        loc.address = alloc.address + static_cast<std::int32_t>(row);
        loc.ready = kNotWritten;
        loc.segment = index;
        loc.segment_row = static_cast<std::int32_t>(row);
      }
    }
  }
  return st;
}

void Lowering::load_initial(const Tensor& tensor) {
  const std::int32_t index = graph_.find_tensor(tensor.name);
  auto& per = storage_[static_cast<std::size_t>(index)];
  per.resize(tensor.placement.tsps.size());
  const Shape local = tensor.local_shape();
  const std::size_t b = static_cast<std::size_t>(dtype_bytes(tensor.dtype));
  for (std::size_t i = 0; i < tensor.placement.tsps.size(); ++i) {
    TspSchedule& s = sched(tensor.placement.tsps[i]);
    Storage st = new_storage(s, tensor.dtype, local, tensor.name);
    const std::vector<std::uint8_t> bytes = initial_shard_bytes(tensor, i);
    // Fill every segment with its rows' elements, then mark the vectors ready at cycle 0.
    for (std::int64_t t = 0; t < st.tiles; ++t) {
      const std::int64_t cols = st.tile_columns(t);
      for (std::int64_t r = 0; r < st.rows; ++r) {
        VectorLoc& loc = st.at(r, t);
        const std::size_t src = (static_cast<std::size_t>(r * st.columns + t * kLanes)) * b;
        std::copy_n(bytes.begin() + static_cast<std::ptrdiff_t>(src),
                    static_cast<std::size_t>(cols) * b, literal_row(s, loc).begin());
        loc.ready = 0;
      }
    }
    per[i] = std::move(st);
  }
}

const VectorLoc& Lowering::zero_vector(TspSchedule& s, int index) {
  const auto key = std::make_pair(s.tsp().value, index);
  auto it = zero_vectors_.find(key);
  if (it != zero_vectors_.end()) return it->second;
  const auto alloc = s.allocate(1, 1);
  DataSegment seg = segment_at(s, alloc, fmt::format("_zero{}", index), DType::i8, 1,
                               static_cast<std::int32_t>(kLanes));
  seg.init.kind = DataInit::Kind::zero;
  seg.initialized = true;
  VectorLoc loc;
  loc.group = alloc.group;
  loc.address = alloc.address;
  loc.ready = 0;
  loc.segment = s.add_segment(std::move(seg));
  return zero_vectors_.emplace(key, loc).first->second;
}

// A constant [..., 1] tensor used against wider rows: stored once with every lane of a row
// holding the row's value, so element-wise ops read it like any other operand.
const Storage& Lowering::lane_broadcast_constant(std::int32_t tensor, std::size_t position,
                                                 std::int64_t columns) {
  const auto key = std::make_tuple(tensor, position, columns);
  auto it = broadcast_constants_.find(key);
  if (it != broadcast_constants_.end()) return it->second;
  const Tensor& t = graph_.tensor(tensor);
  TspSchedule& s = sched(t.placement.tsps[position]);
  Shape shape = t.local_shape();
  shape.back() = columns;
  Storage st = new_storage(s, t.dtype, shape, fmt::format("_{}_x{}", t.name, columns));
  const std::vector<std::uint8_t> bytes = initial_shard_bytes(t, position);
  const std::size_t b = static_cast<std::size_t>(dtype_bytes(t.dtype));
  for (std::int64_t tile = 0; tile < st.tiles; ++tile) {
    const std::int64_t cols = st.tile_columns(tile);
    for (std::int64_t r = 0; r < st.rows; ++r) {
      VectorLoc& loc = st.at(r, tile);
      const std::span<std::uint8_t> row = literal_row(s, loc);
      const auto value =
          bytes.begin() + static_cast<std::ptrdiff_t>(static_cast<std::size_t>(r) * b);
      for (std::int64_t c = 0; c < cols; ++c) {
        std::copy_n(value, b,
                    row.begin() + static_cast<std::ptrdiff_t>(static_cast<std::size_t>(c) * b));
      }
      loc.ready = 0;
    }
  }
  return broadcast_constants_.emplace(key, std::move(st)).first->second;
}

// ---- chains -------------------------------------------------------------------------------------

Cycle Lowering::vxm_op(TspSchedule& s, Instruction instr, std::span<const VxmInput> inputs,
                       int out_width, VectorLoc& dst) {
  // Two operands stored in the same MEM slice cannot both arrive at the VXM in one cycle (a slice
  // reads once per cycle): copy the later one to slices the others do not use first.
  std::vector<VxmInput> own(inputs.begin(), inputs.end());
  std::vector<VectorLoc> copies;
  copies.reserve(own.size());
  for (std::size_t j = 1; j < own.size(); ++j) {
    if (own[j].loc == nullptr) continue;
    std::vector<std::int16_t> others;
    bool shared = false;
    for (std::size_t i = 0; i < own.size(); ++i) {
      if (i == j || own[i].loc == nullptr) continue;
      for (int k = 0; k < own[i].loc->group.width; ++k) {
        const std::int16_t slice = own[i].loc->group.slices[static_cast<std::size_t>(k)];
        others.push_back(slice);
        for (int q = 0; q < own[j].loc->group.width; ++q) {
          shared = shared || own[j].loc->group.slices[static_cast<std::size_t>(q)] == slice;
        }
      }
    }
    if (!shared) continue;
    copies.push_back(scratch_vector(s, own[j].width, others));
    copy_vector(s, *own[j].loc, own[j].width, copies.back());
    own[j].loc = &copies.back();
  }
  inputs = own;
  Chain chain;
  ChainBuilder b(s, chain);
  const int v = b.vxm_position();
  const OpTiming& t = s.config().timing.of(instr);
  Cycle earliest = 0;
  ChainOp op;
  op.any_vxm_alu = true;
  op.offset = 0;
  op.occupancy = t.occupancy_cycles;
  op.instr = instr;
  op.instr.operand_count = static_cast<std::uint8_t>(inputs.size() + 1);
  // Result: written at the VXM, travelling towards dst's hemisphere.
  const Direction out_dir =
      s.slice_position(dst.group.slices[0]) > v ? Direction::east : Direction::west;
  const int out_value =
      b.value(out_dir, out_width, t.skew_cycles + t.func_delay_cycles, v);  // arrive = write here
  b.from(out_value, v);
  op.instr.operands[0] = stream_placeholder();
  op.operand_value[0] = static_cast<std::int8_t>(out_value);
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const VxmInput& in = inputs[i];
    if (in.loc == nullptr) {
      op.instr.operands[i + 1] = detail::immediate_operand(in.immediate);
      continue;
    }
    const int value = b.value(b.direction_from(*in.loc, v), in.width, t.skew_cycles, v);
    b.read(*in.loc, value, 0, in.width, v, t.skew_cycles, earliest);
    op.instr.operands[i + 1] = stream_placeholder();
    op.operand_value[i + 1] = static_cast<std::int8_t>(value);
  }
  b.op(op);
  const Cycle landing = b.write(dst, out_value, v, t.skew_cycles + t.func_delay_cycles);
  const auto placed = s.place(chain, earliest);
  dst.ready = placed.anchor + landing;
  return dst.ready;
}

Cycle Lowering::copy_vector(TspSchedule& s, const VectorLoc& src, int width, VectorLoc& dst) {
  Instruction mov;
  mov.opcode = Opcode::mov;
  mov.dtype = width == 1 ? DType::i8 : width == 2 ? DType::i16 : DType::i32;
  const VxmInput inputs[1] = {{&src, 0, width}};
  return vxm_op(s, mov, inputs, width, dst);
}

VectorLoc Lowering::scratch_vector(TspSchedule& s, int width, std::span<const std::int16_t> avoid) {
  const auto alloc = s.allocate(width, 1, -1, avoid);
  VectorLoc loc;
  loc.group = alloc.group;
  loc.address = alloc.address;
  return loc;
}

// A copy of x whose last tile has +0 beyond the last column (SELECT against a lane mask).
const Storage& Lowering::zero_padded(const Storage& x, TspSchedule& s, const std::string& name) {
  if (x.padding_clean || x.columns % kLanes == 0) return x;
  const std::int64_t last = x.tiles - 1;
  const std::int64_t cols = x.tile_columns(last);
  const int width = dtype_bytes(x.dtype);
  // The mask: one row of the dtype, 1 in the used lanes, 0 beyond.
  const auto mask_key = std::make_pair(s.tsp().value, cols * 8 + width);
  auto mask_it = masks_.find(mask_key);
  if (mask_it == masks_.end()) {
    Storage mask = new_storage(s, x.dtype, Shape{kLanes}, fmt::format("_mask{}_{}", cols, width));
    VectorLoc& loc = mask.at(0, 0);
    const std::span<std::uint8_t> row = literal_row(s, loc);
    const std::uint64_t one = one_bits(x.dtype);
    for (std::int64_t c = 0; c < cols; ++c) {
      for (int k = 0; k < width; ++k) {
        row[static_cast<std::size_t>(c * width + k)] = static_cast<std::uint8_t>(one >> (8 * k));
      }
    }
    loc.ready = 0;
    mask_it = masks_.emplace(mask_key, std::move(mask)).first;
  }
  Storage out = x;
  Shape tail_shape{x.rows, cols};
  Storage tail = new_storage(s, x.dtype, tail_shape, fmt::format("_{}_padded", name));
  for (std::int64_t r = 0; r < x.rows; ++r) {
    Instruction instr;
    instr.opcode = Opcode::select;
    instr.dtype = x.dtype;
    const VxmInput inputs[3] = {
        {&mask_it->second.at(0, 0), 0, width}, {&x.at(r, last), 0, width}, {nullptr, 0, width}};
    vxm_op(s, instr, inputs, width, tail.at(r, 0));
    out.at(r, last) = tail.at(r, 0);
  }
  out.padding_clean = true;
  cleaned_.push_back(std::move(out));
  return cleaned_.back();
}

// ---- lane transposes
// ------------------------------------------------------------------------------

std::int32_t Lowering::rotate_map(TspSchedule& s, std::int64_t j) {
  const auto key = std::make_pair(s.tsp().value, j);
  auto it = rotate_maps_.find(key);
  if (it != rotate_maps_.end()) return it->second;
  LaneMap map;
  map.name = fmt::format("_rotate{}", j);
  map.lanes.resize(static_cast<std::size_t>(kLanes));
  for (std::int64_t l = 0; l < kLanes; ++l) {
    map.lanes[static_cast<std::size_t>(l)] =
        static_cast<std::int16_t>(((l - j) % kLanes + kLanes) % kLanes);
  }
  const std::int32_t index = s.add_lane_map(std::move(map));
  rotate_maps_.emplace(key, index);
  return index;
}

// The transpose of one 320 x 320 block, per byte plane, in diagonals. The block is staged in one
// slice S (rows 0..R-1 copied, rows R..319 declared zero) and the result goes to one slice Y
// (declared zero). Diagonal j: GATHER with addresses S + (l + j) mod 320 puts S[(l + j) mod 320][l]
// in lane l; PERMUTE rotates lane l to lane (l + j) mod 320; SCATTER with addresses
// Y + (l' - j) mod 320 stores lane l' = S[l'][l' - j] at Y row l' - j, lane l': Y = S^T. Only the
// diagonals j = (r - c) mod 320 with r < R, c < C carry data; the others would write zeros over
// zeros. The GATHER is read westward by the west SXM, which writes the rotated vector eastward to
// the SCATTER, so S and Y are west slices and the address maps (stored as data) east ones.
Storage Lowering::transpose_block(TspSchedule& s, const Storage& x, const std::string& name) {
  TSPEMU_ASSERT(x.rows <= kLanes && x.columns <= kLanes, "transpose block within one tile");
  const int width = dtype_bytes(x.dtype);
  const int m = config_.shape.mem_slices_per_hemisphere;
  std::vector<std::int16_t> east, west;
  for (int k = 0; k < m; ++k) {
    west.push_back(static_cast<std::int16_t>(k));
    east.push_back(static_cast<std::int16_t>(m + k));
  }
  const std::int32_t bank_rows = config_.shape.rows_per_bank();
  auto one_bank = [&](int w, std::int32_t rows, std::span<const std::int16_t> avoid) {
    auto alloc = s.allocate(w, rows, 0, avoid);
    if (alloc.address / bank_rows != (alloc.address + rows - 1) / bank_rows) {
      alloc = s.allocate(w, rows, 1, avoid);
    }
    return alloc;
  };
  auto zero_segment = [&](const TspSchedule::Allocation& alloc, const std::string& seg_name) {
    DataSegment seg = segment_at(s, alloc, seg_name, x.dtype, static_cast<std::int32_t>(kLanes),
                                 static_cast<std::int32_t>(kLanes));
    seg.init.kind = DataInit::Kind::zero;
    seg.initialized = true;
    return s.add_segment(std::move(seg));
  };
  const std::string tag = fmt::format("_{}_{}", name, temp_counter_++);
  // 1. Stage x in one west slice group: rows 0..R-1 copied, the rest zero.
  const auto stage = one_bank(width, static_cast<std::int32_t>(kLanes), east);
  zero_segment(stage, tag + "_stage");
  Cycle staged = 0;
  for (std::int64_t r = 0; r < x.rows; ++r) {
    VectorLoc dst;
    dst.group = stage.group;
    dst.address = stage.address + static_cast<std::int32_t>(r);
    Instruction mov;
    mov.opcode = Opcode::mov;
    mov.dtype = x.dtype;
    const VxmInput inputs[1] = {{&x.at(r, 0), 0, width}};
    staged = std::max(staged, vxm_op(s, mov, inputs, width, dst));
  }
  // 2. The result block.
  const auto result = one_bank(width, static_cast<std::int32_t>(kLanes), east);
  const std::int32_t result_segment = zero_segment(result, tag);
  // 3. The diagonals and their address maps (u16 per lane: low byte plane, high byte plane).
  std::vector<std::int64_t> diagonals;
  for (std::int64_t d = -(x.columns - 1); d <= x.rows - 1; ++d) {
    diagonals.push_back(((d % kLanes) + kLanes) % kLanes);
  }
  std::sort(diagonals.begin(), diagonals.end());
  diagonals.erase(std::unique(diagonals.begin(), diagonals.end()), diagonals.end());
  const auto rows = static_cast<std::int32_t>(diagonals.size());
  auto map_segment = [&](std::int32_t base, bool gather, const std::string& seg_name) {
    const auto alloc = s.allocate(2, rows, -1, west);
    DataSegment seg =
        segment_at(s, alloc, seg_name, DType::i16, rows, static_cast<std::int32_t>(kLanes));
    seg.initialized = true;
    seg.init.kind = DataInit::Kind::literal;
    seg.init.bytes.resize(static_cast<std::size_t>(rows) * static_cast<std::size_t>(kLanes) * 2);
    for (std::size_t i = 0; i < diagonals.size(); ++i) {
      const std::int64_t j = diagonals[i];
      for (std::int64_t l = 0; l < kLanes; ++l) {
        const std::int64_t row = gather ? (l + j) % kLanes : ((l - j) % kLanes + kLanes) % kLanes;
        const auto address = static_cast<std::uint16_t>(base + row);
        const std::size_t at =
            (i * static_cast<std::size_t>(kLanes) + static_cast<std::size_t>(l)) * 2;
        seg.init.bytes[at] = static_cast<std::uint8_t>(address & 0xff);
        seg.init.bytes[at + 1] = static_cast<std::uint8_t>(address >> 8);
      }
    }
    s.add_segment(std::move(seg));
    return alloc;
  };
  // Every byte plane sits at the same address in its slice, so one map pair serves all planes.
  const auto gather_map = map_segment(stage.address, true, tag + "_gmap");
  const auto scatter_map = map_segment(result.address, false, tag + "_smap");
  const OpTiming& t_gather = s.config().timing.get(Opcode::gather, DType::none);
  const OpTiming& t_permute = s.config().timing.get(Opcode::permute, DType::none);
  const OpTiming& t_scatter = s.config().timing.get(Opcode::scatter, DType::none);
  const int sxm_pos = queue_position(sxm_queue(Hemisphere::west, 0), config_.shape);
  Cycle done = 0;
  for (int k = 0; k < width; ++k) {
    const int s_slice = stage.group.slices[static_cast<std::size_t>(k)];
    const int y_slice = result.group.slices[static_cast<std::size_t>(k)];
    const int p = s.slice_position(s_slice);
    const int q = s.slice_position(y_slice);
    for (std::size_t i = 0; i < diagonals.size(); ++i) {
      const std::int64_t j = diagonals[i];
      Chain chain;
      ChainBuilder cb(s, chain);
      Cycle earliest = staged - t_gather.skew_cycles;
      // GATHER at slice p, its map arriving there at the operand cycle.
      VectorLoc gmap;
      gmap.group = gather_map.group;
      gmap.address = gather_map.address + static_cast<std::int32_t>(i);
      const int gmap_value = cb.value(cb.direction_from(gmap, p), 2, t_gather.skew_cycles, p);
      cb.read(gmap, gmap_value, 0, 2, p, t_gather.skew_cycles, earliest);
      const Cycle gather_write = t_gather.skew_cycles + t_gather.func_delay_cycles;
      const Cycle permute_read = gather_write + (p - sxm_pos);
      const int gathered = cb.value(Direction::west, 1, permute_read, sxm_pos);
      cb.from(gathered, p);
      ChainOp gather;
      gather.queue = s.slice_queue(s_slice);
      gather.instr.opcode = Opcode::gather;
      gather.instr.operand_count = 2;
      gather.instr.operands[0] = stream_placeholder();
      gather.operand_value[0] = static_cast<std::int8_t>(gathered);
      gather.instr.operands[1] = stream_placeholder();
      gather.operand_value[1] = static_cast<std::int8_t>(gmap_value);
      gather.mem_slice = s_slice;
      gather.mem_bank = s.bank_of(stage.address);
      cb.op(gather);
      // PERMUTE at the west SXM: lane l to lane (l + j) mod 320.
      ChainOp permute;
      permute.queue = sxm_queue(
          Hemisphere::west,
          static_cast<int>(i % static_cast<std::size_t>(config_.shape.sxm_per_hemisphere)));
      permute.offset = permute_read - t_permute.skew_cycles;
      const Cycle permute_write = permute_read + t_permute.func_delay_cycles;
      const Cycle scatter_read = permute_write + (q - sxm_pos);
      const int rotated = cb.value(Direction::east, 1, scatter_read, q);
      cb.from(rotated, sxm_pos);
      permute.instr.opcode = Opcode::permute;
      permute.instr.operand_count = 3;
      permute.instr.operands[0] = stream_placeholder();
      permute.operand_value[0] = static_cast<std::int8_t>(rotated);
      permute.instr.operands[1] = stream_placeholder();
      permute.operand_value[1] = static_cast<std::int8_t>(gathered);
      permute.instr.operands[2].kind = OperandKind::symbol;
      permute.instr.operands[2].value = rotate_map(s, j);
      cb.op(permute);
      // SCATTER at slice q, its map arriving there at the same cycle.
      VectorLoc smap;
      smap.group = scatter_map.group;
      smap.address = scatter_map.address + static_cast<std::int32_t>(i);
      const Cycle scatter_offset = scatter_read - t_scatter.skew_cycles;
      const int smap_value = cb.value(cb.direction_from(smap, q), 2, scatter_read, q);
      cb.read(smap, smap_value, 0, 2, q, scatter_read, earliest);
      ChainOp scatter;
      scatter.queue = s.slice_queue(y_slice);
      scatter.offset = scatter_offset;
      scatter.instr.opcode = Opcode::scatter;
      scatter.instr.operand_count = 2;
      scatter.instr.operands[0] = stream_placeholder();
      scatter.operand_value[0] = static_cast<std::int8_t>(rotated);
      scatter.instr.operands[1] = stream_placeholder();
      scatter.operand_value[1] = static_cast<std::int8_t>(smap_value);
      scatter.mem_slice = y_slice;
      scatter.mem_write = true;
      scatter.mem_bank = s.bank_of(result.address);
      scatter.mem_write_delay = t_scatter.skew_cycles + t_scatter.func_delay_cycles;
      cb.op(scatter);
      const auto placed = s.place(chain, earliest);
      done = std::max(done, placed.anchor + scatter_offset + scatter.mem_write_delay);
    }
  }
  Storage out;
  detail::set_geometry(out, x.dtype, Shape{x.columns, x.rows});
  out.vecs.resize(static_cast<std::size_t>(out.rows));
  for (std::int64_t c = 0; c < out.rows; ++c) {
    VectorLoc& loc = out.at(c, 0);
    loc.group = result.group;
    loc.address = result.address + static_cast<std::int32_t>(c);
    loc.ready = done;
    loc.segment = result_segment;
    loc.segment_row = static_cast<std::int32_t>(c);
  }
  out.padding_clean = true;  // lanes R.. come from the staged zero rows
  return out;
}

Storage Lowering::transpose_2d(TspSchedule& s, const Storage& x, const std::string& name) {
  Storage out;
  detail::set_geometry(out, x.dtype, Shape{x.columns, x.rows});
  out.vecs.resize(static_cast<std::size_t>(out.rows * out.tiles));
  const std::int64_t row_blocks = (x.rows + kLanes - 1) / kLanes;
  for (std::int64_t tr = 0; tr < row_blocks; ++tr) {
    for (std::int64_t tc = 0; tc < x.tiles; ++tc) {
      // Block (tr, tc): rows 320 tr.., lane tile tc of x; it becomes rows 320 tc.., tile tr.
      Storage block;
      detail::set_geometry(block, x.dtype,
                           Shape{std::min(kLanes, x.rows - kLanes * tr), x.tile_columns(tc)});
      block.vecs.resize(static_cast<std::size_t>(block.rows));
      for (std::int64_t r = 0; r < block.rows; ++r) block.at(r, 0) = x.at(kLanes * tr + r, tc);
      const Storage y = transpose_block(s, block, name);
      for (std::int64_t c = 0; c < block.columns; ++c) out.at(kLanes * tc + c, tr) = y.at(c, 0);
    }
  }
  out.padding_clean = true;  // every block's lanes beyond its rows are staged zeros
  return out;
}

Storage Lowering::lane_broadcast(TspSchedule& s, const Storage& x, std::int64_t columns,
                                 const std::string& name) {
  // [R, 1] -> [1, R]; that row repeated `columns` times is [columns, R]; transposed: [R, columns].
  const Storage row = transpose_2d(s, x, name);
  Storage repeated;
  detail::set_geometry(repeated, x.dtype, Shape{columns, x.rows});
  repeated.vecs.resize(static_cast<std::size_t>(columns * repeated.tiles));
  for (std::int64_t c = 0; c < columns; ++c) {
    for (std::int64_t t = 0; t < repeated.tiles; ++t) repeated.at(c, t) = row.at(0, t);
  }
  Storage out = transpose_2d(s, repeated, name);
  Shape shape = x.shape;
  shape.back() = columns;
  out.shape = shape;
  return out;
}

// ---- ops ----------------------------------------------------------------------------------------

void Lowering::lower(const Op& op) {
  switch (op.kind) {
    case OpKind::matmul:
      return lower_matmul(op);
    case OpKind::add:
    case OpKind::sub:
    case OpKind::mul:
    case OpKind::min:
    case OpKind::max:
    case OpKind::neg:
    case OpKind::abs:
    case OpKind::relu:
    case OpKind::tanh:
    case OpKind::exp:
    case OpKind::rsqrt:
    case OpKind::cast:
      return lower_elementwise(op);
    case OpKind::reduce:
      return lower_reduce(op);
    case OpKind::transpose:
    case OpKind::reshape:
    case OpKind::slice:
    case OpKind::concat:
      return lower_alias(op);
    case OpKind::all_reduce:
    case OpKind::reduce_scatter:
    case OpKind::all_gather:
    case OpKind::broadcast:
    case OpKind::send:
      return lower_collective(op);
  }
}

void Lowering::lower_elementwise(const Op& op) {
  const Tensor& out_t = graph_.tensor(op.output);
  const Shape out_shape = out_t.local_shape();
  auto& per = storage_[static_cast<std::size_t>(op.output)];
  per.resize(out_t.placement.tsps.size());
  for (std::size_t i = 0; i < out_t.placement.tsps.size(); ++i) {
    TspSchedule& s = sched(out_t.placement.tsps[i]);
    Storage out = new_storage(s, out_t.dtype, out_shape, out_t.name);
    bool clean = true;
    std::vector<const Storage*> ins;
    for (std::int32_t input : op.inputs) {
      const Tensor& in_t = graph_.tensor(input);
      const std::size_t pos =
          static_cast<std::size_t>(in_t.placement.position_of(out_t.placement.tsps[i]));
      const Storage* st = &storage(input, pos);
      if (st->columns != out.columns) {
        if (in_t.producer < 0 && in_t.init) {
          st = &lane_broadcast_constant(input, pos, out.columns);
        } else {
          cleaned_.push_back(lane_broadcast(s, *st, out.columns, in_t.name));
          st = &cleaned_.back();
        }
      }
      clean = clean && st->padding_clean;
      ins.push_back(st);
    }
    const DType in_dtype = ins[0]->dtype;
    Instruction instr;
    if (op.kind == OpKind::cast) {
      instr.opcode = Opcode::cvt;
      instr.dtype = out_t.dtype;
      instr.src_dtype = in_dtype;
      instr.saturate = op.saturate;
    } else {
      instr.opcode = elementwise_opcode(op.kind);
      instr.dtype = in_dtype;
      instr.saturate = op.saturate;
      clean = clean && keeps_zero_padding(op.kind, in_dtype);
    }
    std::vector<std::vector<std::int64_t>> row_maps;
    for (const Storage* st : ins) {
      std::vector<std::int64_t> map(static_cast<std::size_t>(out.rows));
      for (std::int64_t r = 0; r < out.rows; ++r) {
        auto index = row_index(r, out_shape);
        for (std::size_t d = 0; d < index.size(); ++d) {
          if (st->shape[d] == 1) index[d] = 0;
        }
        map[static_cast<std::size_t>(r)] = row_number(index, st->shape);
      }
      row_maps.push_back(std::move(map));
    }
    for (std::int64_t r = 0; r < out.rows; ++r) {
      for (std::int64_t t = 0; t < out.tiles; ++t) {
        std::vector<VxmInput> inputs;
        for (std::size_t k = 0; k < ins.size(); ++k) {
          inputs.push_back(
              {&ins[k]->at(row_maps[k][static_cast<std::size_t>(r)], t), 0, dtype_bytes(in_dtype)});
        }
        vxm_op(s, instr, inputs, dtype_bytes(out_t.dtype), out.at(r, t));
      }
    }
    out.padding_clean = clean;
    per[i] = std::move(out);
  }
}

void Lowering::lower_reduce(const Op& op) {
  const Tensor& in_t = graph_.tensor(op.inputs[0]);
  const Tensor& out_t = graph_.tensor(op.output);
  const Shape in_shape = in_t.local_shape();
  const auto axis = static_cast<std::size_t>(op.axis);
  if (axis + 1 == in_shape.size()) return lower_lane_reduce(op);
  auto& per = storage_[static_cast<std::size_t>(op.output)];
  per.resize(out_t.placement.tsps.size());
  for (std::size_t i = 0; i < out_t.placement.tsps.size(); ++i) {
    TspSchedule& s = sched(out_t.placement.tsps[i]);
    const Storage& x =
        storage(op.inputs[0],
                static_cast<std::size_t>(in_t.placement.position_of(out_t.placement.tsps[i])));
    Storage out = new_storage(s, out_t.dtype, out_t.local_shape(), out_t.name);
    const int width = dtype_bytes(x.dtype);
    Instruction instr;
    instr.opcode = reduce_opcode(op.reduce_fn);
    instr.dtype = x.dtype;
    instr.saturate = op.saturate;
    const std::int64_t n = in_shape[axis];
    for (std::int64_t r = 0; r < out.rows; ++r) {
      auto index = row_index(r, out.shape);
      for (std::int64_t t = 0; t < out.tiles; ++t) {
        // acc = x[0]; acc = op(acc, x[j]) for j = 1 .. n-1: every step a VXM op, in order.
        index[axis] = 0;
        VectorLoc acc_loc = x.at(row_number(index, in_shape), t);
        VectorLoc temp;
        if (n == 1) {
          copy_vector(s, acc_loc, width, out.at(r, t));
          continue;
        }
        for (std::int64_t j = 1; j < n; ++j) {
          index[axis] = j;
          VectorLoc& dst = j + 1 == n ? out.at(r, t) : temp;
          if (j + 1 < n) {
            dst = scratch_vector(s, width);
          }
          const VxmInput inputs[2] = {{&acc_loc, 0, width},
                                      {&x.at(row_number(index, in_shape), t), 0, width}};
          vxm_op(s, instr, inputs, width, dst);
          acc_loc = dst;
        }
      }
    }
    out.padding_clean = x.padding_clean;
    per[i] = std::move(out);
  }
}

// Reduce along the last axis: transpose, fold the rows in ascending order (lane-parallel over the
// original rows), transpose back. acc = x[.., 0]; acc = op(acc, x[.., c]) for c = 1 .. C-1.
void Lowering::lower_lane_reduce(const Op& op) {
  const Tensor& in_t = graph_.tensor(op.inputs[0]);
  const Tensor& out_t = graph_.tensor(op.output);
  auto& per = storage_[static_cast<std::size_t>(op.output)];
  per.resize(out_t.placement.tsps.size());
  for (std::size_t i = 0; i < out_t.placement.tsps.size(); ++i) {
    TspSchedule& s = sched(out_t.placement.tsps[i]);
    const Storage& x =
        storage(op.inputs[0],
                static_cast<std::size_t>(in_t.placement.position_of(out_t.placement.tsps[i])));
    const int width = dtype_bytes(x.dtype);
    if (x.columns == 1) {
      Storage out = new_storage(s, out_t.dtype, out_t.local_shape(), out_t.name);
      for (std::int64_t r = 0; r < x.rows; ++r) copy_vector(s, x.at(r, 0), width, out.at(r, 0));
      per[i] = std::move(out);
      continue;
    }
    const Storage columns = transpose_2d(s, x, out_t.name);  // [C, R]
    Storage folded = new_storage(s, x.dtype, Shape{1, x.rows}, fmt::format("_{}_fold", out_t.name));
    Instruction instr;
    instr.opcode = reduce_opcode(op.reduce_fn);
    instr.dtype = x.dtype;
    instr.saturate = op.saturate;
    for (std::int64_t t = 0; t < columns.tiles; ++t) {
      VectorLoc acc = columns.at(0, t);
      for (std::int64_t c = 1; c < x.columns; ++c) {
        VectorLoc temp;
        VectorLoc& dst = c + 1 == x.columns ? folded.at(0, t) : temp;
        if (c + 1 < x.columns) temp = scratch_vector(s, width);
        const VxmInput inputs[2] = {{&acc, 0, width}, {&columns.at(c, t), 0, width}};
        vxm_op(s, instr, inputs, width, dst);
        acc = dst;
      }
    }
    Storage result = transpose_2d(s, folded, out_t.name);  // [R, 1]
    result.shape = out_t.local_shape();
    per[i] = std::move(result);
  }
}

void Lowering::lower_alias(const Op& op) {
  const Tensor& out_t = graph_.tensor(op.output);
  const Shape out_shape = out_t.local_shape();
  auto& per = storage_[static_cast<std::size_t>(op.output)];
  per.resize(out_t.placement.tsps.size());
  for (std::size_t i = 0; i < out_t.placement.tsps.size(); ++i) {
    const TspId tsp = out_t.placement.tsps[i];
    auto input = [&](std::size_t k) -> const Storage& {
      const Tensor& t = graph_.tensor(op.inputs[k]);
      return storage(op.inputs[k], static_cast<std::size_t>(t.placement.position_of(tsp)));
    };
    Storage out;
    detail::set_geometry(out, out_t.dtype, out_shape);
    out.vecs.resize(static_cast<std::size_t>(out.rows * out.tiles));
    const Storage& x = input(0);
    const std::size_t last = out_shape.size() - 1;
    switch (op.kind) {
      case OpKind::reshape: {
        const bool same_columns = x.columns == out.columns;
        const bool whole_vectors = x.columns % kLanes == 0 && out.columns % kLanes == 0;
        if (!same_columns && !whole_vectors) {
          unsupported(op, fmt::format("reshape from {} to {} (it moves elements between lanes; the "
                                      "last dimension must stay, or both be multiples of 320)",
                                      format_shape(x.shape), format_shape(out_shape)));
        }
        out.vecs = x.vecs;
        out.padding_clean = x.padding_clean;
        break;
      }
      case OpKind::transpose: {
        if (op.perm.back() != static_cast<std::int32_t>(last)) {
          // Swapping the last two axes (leading axes in place): one 2-D transpose per batch.
          const std::size_t rank = out_shape.size();
          bool swap_last_two = rank >= 2 &&
                               op.perm[rank - 1] == static_cast<std::int32_t>(rank - 2) &&
                               op.perm[rank - 2] == static_cast<std::int32_t>(rank - 1);
          for (std::size_t d = 0; d + 2 < rank; ++d) {
            swap_last_two = swap_last_two && op.perm[d] == static_cast<std::int32_t>(d);
          }
          if (!swap_last_two) {
            unsupported(op,
                        "a transpose that moves the last axis other than by swapping the last "
                        "two axes");
          }
          const std::int64_t r_dim = x.shape[rank - 2];
          const std::int64_t c_dim = x.shape[rank - 1];
          const std::int64_t batches = x.rows / r_dim;
          for (std::int64_t b = 0; b < batches; ++b) {
            Storage part;
            detail::set_geometry(part, x.dtype, Shape{r_dim, c_dim});
            part.vecs.assign(x.vecs.begin() + b * r_dim * x.tiles,
                             x.vecs.begin() + (b + 1) * r_dim * x.tiles);
            part.padding_clean = x.padding_clean;
            const Storage y = transpose_2d(sched(tsp), part, out_t.name);
            for (std::int64_t c = 0; c < c_dim; ++c) {
              for (std::int64_t t = 0; t < y.tiles; ++t) out.at(b * c_dim + c, t) = y.at(c, t);
            }
          }
          out.padding_clean = true;
          break;
        }
        for (std::int64_t r = 0; r < out.rows; ++r) {
          const auto oi = row_index(r, out_shape);
          std::vector<std::int64_t> ii(oi.size());
          for (std::size_t d = 0; d < oi.size(); ++d)
            ii[static_cast<std::size_t>(op.perm[d])] = oi[d];
          for (std::int64_t t = 0; t < out.tiles; ++t)
            out.at(r, t) = x.at(row_number(ii, x.shape), t);
        }
        out.padding_clean = x.padding_clean;
        break;
      }
      case OpKind::slice: {
        const auto axis = static_cast<std::size_t>(op.axis);
        if (axis == last) {
          if (op.start % kLanes != 0) {
            unsupported(op, "slice along the last axis from a start that is not a multiple of 320");
          }
          const std::int64_t t0 = op.start / kLanes;
          for (std::int64_t r = 0; r < out.rows; ++r) {
            for (std::int64_t t = 0; t < out.tiles; ++t) out.at(r, t) = x.at(r, t0 + t);
          }
          out.padding_clean = op.end == x.columns ? x.padding_clean : op.end % kLanes == 0;
        } else {
          for (std::int64_t r = 0; r < out.rows; ++r) {
            auto ii = row_index(r, out_shape);
            ii[axis] += op.start;
            for (std::int64_t t = 0; t < out.tiles; ++t)
              out.at(r, t) = x.at(row_number(ii, x.shape), t);
          }
          out.padding_clean = x.padding_clean;
        }
        break;
      }
      case OpKind::concat: {
        const auto axis = static_cast<std::size_t>(op.axis);
        if (axis == last) {
          std::int64_t t0 = 0;
          for (std::size_t k = 0; k < op.inputs.size(); ++k) {
            const Storage& in = input(k);
            if (k + 1 < op.inputs.size() && in.columns % kLanes != 0) {
              unsupported(op,
                          "concat along the last axis of inputs whose width is not a "
                          "multiple of 320 (it moves elements between lanes)");
            }
            for (std::int64_t r = 0; r < out.rows; ++r) {
              for (std::int64_t t = 0; t < in.tiles; ++t) out.at(r, t0 + t) = in.at(r, t);
            }
            t0 += in.tiles;
            out.padding_clean = in.padding_clean;
          }
        } else {
          bool clean = true;
          for (std::int64_t r = 0; r < out.rows; ++r) {
            auto ii = row_index(r, out_shape);
            std::size_t k = 0;
            while (ii[axis] >= input(k).shape[axis]) {
              ii[axis] -= input(k).shape[axis];
              ++k;
            }
            const Storage& in = input(k);
            clean = clean && in.padding_clean;
            for (std::int64_t t = 0; t < out.tiles; ++t)
              out.at(r, t) = in.at(row_number(ii, in.shape), t);
          }
          out.padding_clean = clean;
        }
        break;
      }
      default:
        TSPEMU_ASSERT(false, "unreachable op kind");
    }
    per[i] = std::move(out);
  }
}

// ---- matmul -------------------------------------------------------------------------------------

void Lowering::lower_matmul(const Op& op) {
  const Tensor& a_t = graph_.tensor(op.inputs[0]);
  const Tensor& b_t = graph_.tensor(op.inputs[1]);
  const Tensor& out_t = graph_.tensor(op.output);
  const bool f16 = a_t.dtype == DType::f16;
  const DType acc_dtype = f16 ? DType::f32 : DType::i32;
  const int in_width = dtype_bytes(a_t.dtype);
  auto& per = storage_[static_cast<std::size_t>(op.output)];
  per.resize(out_t.placement.tsps.size());
  const int planes = config_.shape.mxm_planes;
  const int accumulators = config_.shape.mxm_accumulators;
  for (std::size_t i = 0; i < out_t.placement.tsps.size(); ++i) {
    const TspId tsp = out_t.placement.tsps[i];
    TspSchedule& s = sched(tsp);
    const Storage& b =
        storage(op.inputs[1], static_cast<std::size_t>(b_t.placement.position_of(tsp)));
    const Storage& a =
        zero_padded(storage(op.inputs[0], static_cast<std::size_t>(a_t.placement.position_of(tsp))),
                    s, a_t.name);
    const std::int64_t m_rows = a.rows;
    const std::int64_t k_dim = a.columns;
    const std::int64_t k_tiles = a.tiles;
    const std::int64_t n_tiles = b.tiles;
    const Shape out_shape{m_rows, b.columns};
    // Ping-pong partial sums in the two banks of the same slices: chunk c reads buffer (c-1)%2 and
    // writes buffer c%2, so a slice's read and write in one cycle never share a bank.
    const int final_parity = static_cast<int>((k_tiles - 1) % 2);
    std::array<std::optional<Storage>, 2> partial;
    partial[static_cast<std::size_t>(final_parity)] =
        new_storage(s, acc_dtype, out_shape, out_t.name, final_parity);
    if (k_tiles > 1) {
      partial[static_cast<std::size_t>(1 - final_parity)] =
          new_storage(s, acc_dtype, out_shape, fmt::format("_{}_partial", out_t.name),
                      1 - final_parity, &*partial[static_cast<std::size_t>(final_parity)]);
    }
    // Units: one plane per int8 pass, an even/odd plane pair per fp16 pass.
    const int unit_planes = f16 ? 2 : 1;
    const int units = planes / unit_planes;
    const OpTiming& t_lw = s.config().timing.get(Opcode::lw, DType::none);
    const OpTiming& t_iw = s.config().timing.get(Opcode::iw, DType::none);
    const OpTiming& t_abc = s.config().timing.get(Opcode::abc, a_t.dtype);
    const OpTiming& t_acc = s.config().timing.get(Opcode::acc, acc_dtype);
    const OpTiming& t_add = s.config().timing.get(Opcode::add, acc_dtype);
    // The planes' weights persist across matmuls: a new LW must land after the previous IW took
    // its snapshot, and a new IW must land after the last ABC that used the previous weights
    // (however early the list scheduler places this matmul).
    std::vector<PlaneState> unit_state(static_cast<std::size_t>(units));
    for (int u = 0; u < units; ++u) {
      for (int pl = 0; pl < unit_planes; ++pl) {
        const PlaneState& state = planes_[{tsp.value, u * unit_planes + pl}];
        auto& us = unit_state[static_cast<std::size_t>(u)];
        us.last_iw_operand = std::max(us.last_iw_operand, state.last_iw_operand);
        us.last_abc_operand = std::max(us.last_abc_operand, state.last_abc_operand);
      }
    }
    // Waves: up to `units` weight tiles that run at the same time, one per unit. With at least as
    // many column tiles as units, a wave is one K chunk of `units` column tiles (a unit owns whole
    // column tiles: no partial sum waits for another plane); with fewer, consecutive K chunks of a
    // column tile. Within a wave, rows are scheduled interleaved over its tiles, so that every
    // plane gets its share of ports and streams.
    struct TileRef {
      std::int64_t nt = 0;
      std::int64_t kt = 0;
      int unit = 0;
      std::int64_t first_row = 0;  // rows [first_row, end_row) of A pass through this unit
      std::int64_t end_row = 0;
    };
    std::vector<std::vector<TileRef>> waves;
    if (n_tiles >= units) {
      for (std::int64_t g = 0; g < n_tiles; g += units) {
        for (std::int64_t kt = 0; kt < k_tiles; ++kt) {
          std::vector<TileRef> wave;
          for (std::int64_t nt = g; nt < std::min<std::int64_t>(g + units, n_tiles); ++nt) {
            wave.push_back({nt, kt, static_cast<int>(nt - g)});
          }
          waves.push_back(std::move(wave));
        }
      }
    } else {
      std::vector<TileRef> all;
      for (std::int64_t nt = 0; nt < n_tiles; ++nt) {
        for (std::int64_t kt = 0; kt < k_tiles; ++kt) all.push_back({nt, kt, 0});
      }
      for (std::size_t first = 0; first < all.size(); first += static_cast<std::size_t>(units)) {
        std::vector<TileRef> wave;
        const std::size_t end = std::min(all.size(), first + static_cast<std::size_t>(units));
        for (std::size_t j = first; j < end; ++j) {
          all[j].unit = static_cast<int>(j - first);
          wave.push_back(all[j]);
        }
        waves.push_back(std::move(wave));
      }
    }
    // A wave with fewer tiles than units (the last one, typically) would leave planes idle: each
    // of its tiles is loaded into units / tiles units, which share its rows.
    for (auto& wave : waves) {
      const auto w = static_cast<int>(wave.size());
      const int copies = std::max(1, units / w);
      std::vector<TileRef> split;
      for (int ti = 0; ti < w; ++ti) {
        for (int c = 0; c < copies; ++c) {
          TileRef t = wave[static_cast<std::size_t>(ti)];
          t.unit = ti * copies + c;
          t.first_row = m_rows * c / copies;
          t.end_row = m_rows * (c + 1) / copies;
          if (t.first_row < t.end_row) split.push_back(t);
        }
      }
      wave = std::move(split);
    }
    for (const auto& wave : waves) {
      std::vector<Cycle> installed_at;
      for (const TileRef& tile : wave) {
        const std::int64_t nt = tile.nt;
        const std::int64_t kt = tile.kt;
        const int u = tile.unit;
        const int plane0 = u * unit_planes;
        const QueueId w_queue = mxm_queue(QueueKind::mxm_weights, plane0);
        const int mxm_pos = queue_position(w_queue, s.config().shape);
        Cycle& last_iw_operand = unit_state[static_cast<std::size_t>(u)].last_iw_operand;
        Cycle& last_abc_operand = unit_state[static_cast<std::size_t>(u)].last_abc_operand;
        // 1. Weight rows: buffer row i = B row 320 kt + i (zero beyond K), one LW each.
        Cycle last_lw_landing = 0;
        for (int pl = 0; pl < unit_planes; ++pl) {
          const int plane = plane0 + pl;
          for (std::int64_t row = 0; row < kLanes; ++row) {
            const std::int64_t k = kt * kLanes + row;
            const bool real = k < k_dim;
            const VectorLoc& src = real ? b.at(k, nt) : zero_vector(s, static_cast<int>(row % 4));
            Chain chain;
            ChainBuilder cb(s, chain);
            Cycle earliest = last_iw_operand - (t_lw.skew_cycles + t_lw.func_delay_cycles) + 1;
            const int value =
                cb.value(cb.direction_from(src, mxm_pos), 1, t_lw.skew_cycles, mxm_pos);
            cb.read(src, value, real ? pl : 0, 1, mxm_pos, t_lw.skew_cycles, earliest);
            ChainOp lw;
            lw.queue = mxm_queue(QueueKind::mxm_weights, plane);
            lw.instr.opcode = Opcode::lw;
            lw.instr.operand_count = 2;
            lw.instr.operands[0] = detail::integer_operand(row);
            lw.instr.operands[1] = stream_placeholder();
            lw.operand_value[1] = static_cast<std::int8_t>(value);
            cb.op(lw);
            const auto placed = s.place(chain, earliest);
            last_lw_landing = std::max(last_lw_landing,
                                       placed.anchor + t_lw.skew_cycles + t_lw.func_delay_cycles);
          }
        }
        // 2. IW: the buffer is complete at its operand cycle; the old weights stay in use until it
        // lands, which must be after the last ABC that uses them.
        {
          Chain chain;
          for (int pl = 0; pl < unit_planes; ++pl) {
            ChainOp iw;
            iw.queue = mxm_queue(QueueKind::mxm_weights, plane0 + pl);
            iw.occupancy = t_iw.occupancy_cycles;
            iw.instr.opcode = Opcode::iw;
            chain.ops.push_back(iw);
          }
          const Cycle earliest =
              std::max(last_lw_landing - t_iw.skew_cycles,
                       last_abc_operand - (t_iw.skew_cycles + t_iw.func_delay_cycles) + 1);
          const auto placed = s.place(chain, earliest);
          last_iw_operand = placed.anchor + t_iw.skew_cycles;
        }
        installed_at.push_back(last_iw_operand + t_iw.func_delay_cycles);
      }
      // 3. One ABC per row of A, its ACC exactly when the result lands, then the partial sum; rows
      // interleaved over the wave's tiles.
      // (A wave of consecutive K chunks of one column tile is scheduled tile by tile instead: each
      // row's chunk c waits for chunk c - 1 anyway.)
      const bool interleave = n_tiles >= units;
      std::vector<std::pair<std::size_t, std::int64_t>> order;  // (tile of the wave, row)
      if (interleave) {
        for (std::int64_t m = 0; m < m_rows; ++m) {
          for (std::size_t ti = 0; ti < wave.size(); ++ti) {
            if (m >= wave[ti].first_row && m < wave[ti].end_row) order.emplace_back(ti, m);
          }
        }
      } else {
        for (std::size_t ti = 0; ti < wave.size(); ++ti) {
          for (std::int64_t m = wave[ti].first_row; m < wave[ti].end_row; ++m) {
            order.emplace_back(ti, m);
          }
        }
      }
      for (const auto& [ti, m] : order) {
        {
          const std::int64_t nt = wave[ti].nt;
          const std::int64_t kt = wave[ti].kt;
          const int plane0 = wave[ti].unit * unit_planes;
          const int mxm_pos =
              queue_position(mxm_queue(QueueKind::mxm_weights, plane0), s.config().shape);
          Cycle& last_abc_operand =
              unit_state[static_cast<std::size_t>(wave[ti].unit)].last_abc_operand;
          const Cycle installed = installed_at[ti];
          Storage& cur = *partial[static_cast<std::size_t>(kt % 2)];
          Chain chain;
          ChainBuilder cb(s, chain);
          Cycle earliest = installed - t_abc.skew_cycles;
          const VectorLoc& act = a.at(m, kt);
          const int act_value =
              cb.value(cb.direction_from(act, mxm_pos), in_width, t_abc.skew_cycles, mxm_pos);
          cb.read(act, act_value, 0, in_width, mxm_pos, t_abc.skew_cycles, earliest);
          const int acc_index = static_cast<int>(m % accumulators);
          ChainOp abc;
          abc.queue = mxm_queue(QueueKind::mxm_activations, plane0);
          if (f16) abc.also_busy.push_back(mxm_queue(QueueKind::mxm_activations, plane0 + 1));
          abc.instr.opcode = Opcode::abc;
          abc.instr.dtype = a_t.dtype;
          abc.instr.operand_count = 3;
          abc.instr.operands[0] = stream_placeholder();
          abc.operand_value[0] = static_cast<std::int8_t>(act_value);
          abc.instr.operands[1] = detail::integer_operand(acc_index);
          abc.instr.operands[2] = detail::integer_operand(1);  // clear
          cb.op(abc);
          ChainOp acc;
          acc.queue = mxm_queue(QueueKind::mxm_accumulate, plane0);
          acc.offset = t_abc.skew_cycles + t_abc.func_delay_cycles - t_acc.skew_cycles;
          acc.instr.opcode = Opcode::acc;
          acc.instr.dtype = acc_dtype;
          acc.instr.operand_count = 3;
          acc.instr.operands[0] = stream_placeholder();
          acc.instr.operands[1] = detail::integer_operand(acc_index);
          acc.instr.operands[2] = detail::integer_operand(0);  // no clear: the next ABC clears
          const Cycle acc_write = acc.offset + t_acc.skew_cycles + t_acc.func_delay_cycles;
          const int v_pos = cb.vxm_position();
          VectorLoc& dst = cur.at(m, nt);
          Cycle landing = 0;
          if (kt == 0) {
            const Direction dir = mxm_pos == 0 ? Direction::east : Direction::west;
            const int out_value = cb.value(dir, 4, acc_write, mxm_pos);
            cb.from(out_value, mxm_pos);
            acc.operand_value[0] = static_cast<std::int8_t>(out_value);
            cb.op(acc);
            landing = cb.write(dst, out_value, mxm_pos, acc_write);
          } else {
            // acc = add(acc, chunk): the running sum first, this chunk second (graph-format.md).
            const Cycle vxm_offset = acc_write + std::abs(v_pos - mxm_pos) - t_add.skew_cycles;
            const int chunk_value = cb.value(ChainBuilder::direction(mxm_pos, v_pos), 4,
                                             vxm_offset + t_add.skew_cycles, v_pos);
            cb.from(chunk_value, mxm_pos);
            acc.operand_value[0] = static_cast<std::int8_t>(chunk_value);
            cb.op(acc);
            const VectorLoc& prev = partial[static_cast<std::size_t>((kt - 1) % 2)]->at(m, nt);
            const int prev_value =
                cb.value(cb.direction_from(prev, v_pos), 4, vxm_offset + t_add.skew_cycles, v_pos);
            cb.read(prev, prev_value, 0, 4, v_pos, vxm_offset + t_add.skew_cycles, earliest);
            const Direction out_dir =
                s.slice_position(dst.group.slices[0]) > v_pos ? Direction::east : Direction::west;
            const Cycle add_write = vxm_offset + t_add.skew_cycles + t_add.func_delay_cycles;
            const int sum_value = cb.value(out_dir, 4, add_write, v_pos);
            cb.from(sum_value, v_pos);
            ChainOp add;
            add.any_vxm_alu = true;
            add.offset = vxm_offset;
            add.instr.opcode = Opcode::add;
            add.instr.dtype = acc_dtype;
            add.instr.operand_count = 3;
            add.instr.operands[0] = stream_placeholder();
            add.operand_value[0] = static_cast<std::int8_t>(sum_value);
            add.instr.operands[1] = stream_placeholder();
            add.operand_value[1] = static_cast<std::int8_t>(prev_value);
            add.instr.operands[2] = stream_placeholder();
            add.operand_value[2] = static_cast<std::int8_t>(chunk_value);
            cb.op(add);
            landing = cb.write(dst, sum_value, v_pos, add_write);
          }
          const auto placed = s.place(chain, earliest);
          dst.ready = placed.anchor + landing;
          last_abc_operand = std::max(last_abc_operand, placed.anchor + t_abc.skew_cycles);
        }
      }
    }
    for (int u = 0; u < units; ++u) {
      for (int pl = 0; pl < unit_planes; ++pl) {
        PlaneState& state = planes_[{tsp.value, u * unit_planes + pl}];
        state.last_iw_operand = std::max(state.last_iw_operand,
                                         unit_state[static_cast<std::size_t>(u)].last_iw_operand);
        state.last_abc_operand = std::max(state.last_abc_operand,
                                          unit_state[static_cast<std::size_t>(u)].last_abc_operand);
      }
    }
    Storage out = std::move(*partial[static_cast<std::size_t>(final_parity)]);
    out.padding_clean = !f16 && b.padding_clean;
    per[i] = std::move(out);
  }
}

// ---- network ------------------------------------------------------------------------------------

std::pair<LinkId, Cycle> Lowering::soonest_link(TspId a, TspId b) {
  const std::vector<LinkId> links = routing_->next_hop_links(a, b);
  std::pair<LinkId, Cycle> best{links.front(), Cycle{1} << 62};
  for (LinkId l : links) {
    const Link& link = topology_.link(l);
    if (link.far_end(a).tsp != b) continue;
    const Cycle free = link_lanes_[{l.value, link.a.tsp == a}].next_free;
    if (free < best.second) best = {l, free};
  }
  return best;
}

Cycle Lowering::link_free(TspId a, TspId b) {
  return soonest_link(a, b).second;
}

// Minimal routes, the next hop chosen at every step among the equal-cost ones by the link that is
// free soonest (ties: the lowest TSP id), so traffic spreads over parallel paths as links fill.
// A one-hop transfer whose direct link is backed up takes a two-hop detour through a common
// neighbour when that is estimated to arrive sooner (the paper's non-minimal spreading of large
// tensors over several links, decided by volume already scheduled, deterministically).
std::vector<TspId> Lowering::route(TspId src, TspId dst, Cycle ready) {
  if (!routing_) routing_ = std::make_unique<Routing>(topology_);
  std::vector<TspId> path{src};
  TspId at = src;
  while (at != dst) {
    const std::vector<TspId> hops = routing_->next_hops(at, dst);
    TSPEMU_ASSERT(!hops.empty(), "a route between two TSPs");
    TspId best = hops.front();
    Cycle best_free = link_free(at, best);
    for (TspId h : hops) {
      const Cycle free = link_free(at, h);
      if (free < best_free) {
        best_free = free;
        best = h;
      }
    }
    path.push_back(best);
    at = best;
  }
  if (path.size() != 2) return path;
  // Detour estimate: send when the link frees, arrive a worst-case latency later, forward after
  // kForwardCycles (RECEIVE, WRITE, READ, SEND through one chip).
  constexpr Cycle kForwardCycles = 64;
  const Cycle latency =
      topology_.link(routing_->next_hop_links(src, dst).front()).params.latency_max_cycles;
  const Cycle direct = std::max(ready, link_free(src, dst)) + latency;
  Cycle best_arrival = direct;
  TspId via = dst;
  for (TspId c : routing_->neighbours(src)) {
    if (c == dst || routing_->distance(c, dst) != 1) continue;
    const Cycle first = std::max(ready, link_free(src, c)) + latency + kForwardCycles;
    const Cycle arrival = std::max(first, link_free(c, dst)) + latency;
    if (arrival < best_arrival) {
      best_arrival = arrival;
      via = c;
    }
  }
  if (via != dst) return {src, via, dst};
  return path;
}

Cycle Lowering::transfer(const PlaneRef& source, TspId dst_tsp, const VectorLoc& dst,
                         int dst_plane) {
  const std::vector<TspId> path = route(source.tsp, dst_tsp, source.loc.ready);
  TSPEMU_ASSERT(path.size() >= 2, "a transfer needs a route between two TSPs");
  VectorLoc here = source.loc;
  int plane = source.plane;
  Cycle ready = here.ready;
  for (std::size_t hop = 0; hop + 1 < path.size(); ++hop) {
    const TspId a = path[hop];
    const TspId b = path[hop + 1];
    // The least loaded parallel link towards b (the one free soonest; ties: lowest id).
    const LinkId link = soonest_link(a, b).first;
    const Link& l = topology_.link(link);
    const bool forward = l.a.tsp == a;
    const PortId src_port = l.near_end(a).port;
    const PortId dst_port = l.far_end(a).port;
    LinkLane& lane = link_lanes_[{link.value, forward}];
    const Cycle spacing =
        std::max(vector_serialisation_cycles(l.params, topology_.chip().clock_mhz),
                 l.params.latency_max_cycles - l.params.latency_min_cycles + 1);
    // SEND on a.
    TspSchedule& sa = sched(a);
    Cycle send_cycle = 0;
    {
      Chain chain;
      ChainBuilder cb(sa, chain);
      const QueueId port_queue = c2c_queue(src_port.value);
      const int port_pos = queue_position(port_queue, config_.shape);
      const OpTiming& t_send = sa.config().timing.get(Opcode::send, DType::none);
      Cycle earliest = lane.next_free;
      const int value =
          cb.value(cb.direction_from(here, port_pos), 1, t_send.skew_cycles, port_pos);
      here.ready = ready;
      cb.read(here, value, plane, 1, port_pos, t_send.skew_cycles, earliest);
      ChainOp send;
      send.queue = port_queue;
      send.instr.opcode = Opcode::send;
      send.instr.operand_count = 1;
      send.instr.operands[0] = stream_placeholder();
      send.operand_value[0] = static_cast<std::int8_t>(value);
      cb.op(send);
      send_cycle = sa.place(chain, earliest).anchor;
      lane.next_free = send_cycle + spacing;
    }
    // RECEIVE on b, at or after the worst-case arrival, in send order per port.
    TspSchedule& sb = sched(b);
    const bool last_hop = hop + 2 == path.size();
    VectorLoc target = dst;
    int target_plane = dst_plane;
    if (!last_hop) {
      const auto alloc = sb.allocate(1, 1);
      target = VectorLoc{};
      target.group = alloc.group;
      target.address = alloc.address;
      target_plane = 0;
    }
    {
      Chain chain;
      ChainBuilder cb(sb, chain);
      const QueueId port_queue = c2c_queue(dst_port.value);
      const int port_pos = queue_position(port_queue, config_.shape);
      const OpTiming& t_recv = sb.config().timing.get(Opcode::receive, DType::none);
      Cycle& last = last_receive_[{b.value, dst_port.value}];
      const Cycle earliest =
          std::max(send_cycle + l.params.latency_max_cycles - t_recv.skew_cycles, last + 1);
      const Cycle write_offset = t_recv.skew_cycles + t_recv.func_delay_cycles;
      // Only the target plane's slice is written.
      VectorLoc one = target;
      one.group.width = 1;
      one.group.slices[0] = target.group.slices[static_cast<std::size_t>(target_plane)];
      const Direction dir =
          sb.slice_position(one.group.slices[0]) > port_pos ? Direction::east : Direction::west;
      const int value = cb.value(dir, 1, write_offset, port_pos);
      cb.from(value, port_pos);
      ChainOp recv;
      recv.queue = port_queue;
      recv.instr.opcode = Opcode::receive;
      recv.instr.operand_count = 1;
      recv.instr.operands[0] = stream_placeholder();
      recv.operand_value[0] = static_cast<std::int8_t>(value);
      cb.op(recv);
      const Cycle landing = cb.write(one, value, port_pos, write_offset);
      const auto placed = sb.place(chain, earliest);
      last = placed.anchor;
      ready = placed.anchor + landing;
      SendRow row;
      row.src_tsp = a;
      row.src_port = src_port;
      row.send_cycle = send_cycle;
      row.dst_tsp = b;
      row.dst_port = dst_port;
      row.arrival_cycle = send_cycle + l.params.latency_cycles;
      row.receive_cycle = placed.anchor;
      send_rows_.push_back(row);
    }
    here = target;
    plane = target_plane;
  }
  return ready;
}

Cycle Lowering::transfer_vector(TspId src_tsp, const VectorLoc& src, TspId dst_tsp,
                                VectorLoc& dst) {
  Cycle ready = 0;
  for (int k = 0; k < src.group.width; ++k) {
    ready = std::max(ready, transfer(PlaneRef{src_tsp, src, k}, dst_tsp, dst, k));
  }
  dst.ready = ready;
  return ready;
}

void Lowering::lower_collective(const Op& op) {
  const Tensor& in_t = graph_.tensor(op.inputs[0]);
  const Tensor& out_t = graph_.tensor(op.output);
  const auto& in_tsps = in_t.placement.tsps;
  auto& per = storage_[static_cast<std::size_t>(op.output)];
  per.resize(out_t.placement.tsps.size());
  const Shape out_shape = out_t.local_shape();
  switch (op.kind) {
    case OpKind::send:
    case OpKind::broadcast: {
      const Storage& x = storage(op.inputs[0], 0);
      for (std::size_t i = 0; i < out_t.placement.tsps.size(); ++i) {
        const TspId to = out_t.placement.tsps[i];
        if (to == in_tsps[0]) {
          per[i] = x;
          continue;
        }
        Storage out = new_storage(sched(to), out_t.dtype, out_shape, out_t.name);
        for (std::size_t v = 0; v < x.vecs.size(); ++v) {
          transfer_vector(in_tsps[0], x.vecs[v], to, out.vecs[v]);
        }
        out.padding_clean = x.padding_clean;
        per[i] = std::move(out);
      }
      return;
    }
    case OpKind::all_gather: {
      const auto axis = static_cast<std::size_t>(op.axis);
      const Shape in_shape = in_t.local_shape();
      const std::size_t last = in_shape.size() - 1;
      if (axis == last && in_shape[last] % kLanes != 0 && in_tsps.size() > 1) {
        unsupported(op,
                    "all_gather along the last axis of shards whose width is not a multiple "
                    "of 320");
      }
      for (std::size_t i = 0; i < in_tsps.size(); ++i) {
        const TspId tsp = in_tsps[i];
        // Every part lands in one new storage, its own part copied too, so the result is one set
        // of segments, all written.
        Storage out = new_storage(sched(tsp), out_t.dtype, out_shape, out_t.name);
        bool clean = true;
        for (std::int64_t r = 0; r < out.rows; ++r) {
          auto ii = row_index(r, out_shape);
          for (std::int64_t t = 0; t < out.tiles; ++t) {
            std::size_t j = 0;
            std::int64_t src_row = 0;
            std::int64_t src_tile = t;
            if (axis == last) {
              j = static_cast<std::size_t>((t * kLanes) / in_shape[last]);
              src_tile = t - static_cast<std::int64_t>(j) * (in_shape[last] / kLanes);
              src_row = r;
            } else {
              j = static_cast<std::size_t>(ii[axis] / in_shape[axis]);
              auto si = ii;
              si[axis] -= static_cast<std::int64_t>(j) * in_shape[axis];
              src_row = row_number(si, in_shape);
            }
            const Storage& src = storage(op.inputs[0], j);
            clean = clean && src.padding_clean;
            if (j == i) {
              copy_vector(sched(tsp), src.at(src_row, src_tile), dtype_bytes(out_t.dtype),
                          out.at(r, t));
            } else {
              transfer_vector(in_tsps[j], src.at(src_row, src_tile), tsp, out.at(r, t));
            }
          }
        }
        out.padding_clean = clean;
        per[i] = std::move(out);
      }
      return;
    }
    case OpKind::all_reduce:
    case OpKind::reduce_scatter:
      break;
    default:
      TSPEMU_ASSERT(false, "unreachable op kind");
  }
  // all_reduce / reduce_scatter: a left fold in ascending TSP order for every vector, done where
  // the vector's result belongs (reduce_scatter: the part's TSP) or spread over the TSPs
  // (all_reduce), in groups of whole nodes when the TSPs span nodes: the fold passes from node to
  // node over the global links (the 3-stage hierarchical all-reduce: gather within each node, the
  // running fold across nodes, then the result back within each node).
  const std::size_t n = in_tsps.size();
  const Storage& x0 = storage(op.inputs[0], 0);
  const Shape in_shape = in_t.local_shape();
  const int width = dtype_bytes(in_t.dtype);
  Instruction fold;
  fold.opcode = reduce_opcode(op.reduce_fn);
  fold.dtype = in_t.dtype;
  fold.saturate = op.saturate;
  // Groups: consecutive TSPs of one node (TSP ids ascending across groups), else one group.
  std::vector<std::vector<std::size_t>> groups;
  for (std::size_t i = 0; i < n; ++i) {
    const NodeId node = topology_.tsp(in_tsps[i]).node;
    if (groups.empty() || topology_.tsp(in_tsps[groups.back().front()]).node != node) {
      groups.emplace_back();
    }
    groups.back().push_back(i);
  }
  if (op.kind == OpKind::reduce_scatter || n <= 1) {
    groups.assign(1, {});
    for (std::size_t i = 0; i < n; ++i) groups[0].push_back(i);
  }
  // Result storage per TSP (all_reduce: the full shape; reduce_scatter: its part).
  std::vector<Storage> results;
  for (std::size_t i = 0; i < n; ++i) {
    results.push_back(new_storage(sched(in_tsps[i]), out_t.dtype, out_shape, out_t.name));
  }
  std::int64_t part_rows = 0;
  if (op.kind == OpKind::reduce_scatter) {
    const auto axis = static_cast<std::size_t>(op.axis);
    if (axis + 1 == in_shape.size()) {
      unsupported(op, "reduce_scatter along the last axis (lanes)");
    }
    part_rows = out_shape[axis];
  }
  bool clean = true;
  for (std::size_t i = 0; i < n; ++i) clean = clean && storage(op.inputs[0], i).padding_clean;
  // Stage by stage over all vectors (never vector by vector): every stage's transfers of all
  // vectors pipeline over the links, which carry sends in the order they were scheduled.
  struct Fold {
    std::int64_t r = 0, t = 0, part_row = 0;
    std::size_t part = 0;
    std::vector<std::size_t> leaders;
    VectorLoc acc;
    bool has_acc = false;
    std::size_t holder = 0;
    std::vector<VectorLoc> gathered;  // this group's values at its leader, member order
  };
  std::vector<Fold> folds;
  for (std::int64_t r = 0; r < x0.rows; ++r) {
    for (std::int64_t t = 0; t < x0.tiles; ++t) {
      Fold f;
      f.r = r;
      f.t = t;
      f.part_row = r;
      const std::size_t v = static_cast<std::size_t>(r * x0.tiles + t);
      if (op.kind == OpKind::reduce_scatter) {
        const auto axis = static_cast<std::size_t>(op.axis);
        auto ii = row_index(r, in_shape);
        f.part = static_cast<std::size_t>(ii[axis] / part_rows);
        ii[axis] -= static_cast<std::int64_t>(f.part) * part_rows;
        f.part_row = row_number(ii, out_shape);
      }
      for (const auto& g : groups) {
        f.leaders.push_back(op.kind == OpKind::reduce_scatter ? f.part : g[v % g.size()]);
      }
      folds.push_back(std::move(f));
    }
  }
  for (std::size_t gi = 0; gi < groups.size(); ++gi) {
    // (1) Every member's value to the group's leader.
    for (Fold& f : folds) {
      const std::size_t leader = f.leaders[gi];
      TspSchedule& s = sched(in_tsps[leader]);
      f.gathered.clear();
      for (std::size_t member : groups[gi]) {
        const VectorLoc& own = storage(op.inputs[0], member).at(f.r, f.t);
        VectorLoc value = own;
        if (member != leader) {
          value = scratch_vector(s, width);
          transfer_vector(in_tsps[member], own, in_tsps[leader], value);
        }
        f.gathered.push_back(value);
      }
    }
    // (2) The running fold of the previous groups moves to this group's leader.
    for (Fold& f : folds) {
      const std::size_t leader = f.leaders[gi];
      if (!f.has_acc || f.holder == leader) continue;
      VectorLoc moved;
      moved = scratch_vector(sched(in_tsps[leader]), width);
      transfer_vector(in_tsps[f.holder], f.acc, in_tsps[leader], moved);
      f.acc = moved;
      f.holder = leader;
    }
    // (3) The fold over this group's members, in ascending TSP order.
    for (Fold& f : folds) {
      const std::size_t leader = f.leaders[gi];
      TspSchedule& s = sched(in_tsps[leader]);
      for (std::size_t k = 0; k < f.gathered.size(); ++k) {
        if (!f.has_acc) {
          f.acc = f.gathered[k];
          f.has_acc = true;
          f.holder = leader;
          continue;
        }
        const bool final_step = gi + 1 == groups.size() && k + 1 == f.gathered.size();
        VectorLoc next;
        if (!final_step) {
          next = scratch_vector(s, width);
        }
        VectorLoc& dst = final_step ? results[leader].at(f.part_row, f.t) : next;
        const VxmInput inputs[2] = {{&f.acc, 0, width}, {&f.gathered[k], 0, width}};
        vxm_op(s, fold, inputs, width, dst);
        f.acc = dst;
      }
    }
  }
  if (n == 1) {
    // One TSP: the fold is the identity; copy into the result.
    for (Fold& f : folds) {
      copy_vector(sched(in_tsps[0]), f.acc, width, results[0].at(f.r, f.t));
    }
  } else if (op.kind == OpKind::all_reduce) {
    // Distribution: the final holder sends to the other groups' leaders, then every leader to
    // its group.
    for (Fold& f : folds) {
      const VectorLoc final_loc = results[f.holder].at(f.r, f.t);
      for (std::size_t gi = 0; gi < groups.size(); ++gi) {
        const std::size_t leader = f.leaders[gi];
        if (leader != f.holder) {
          transfer_vector(in_tsps[f.holder], final_loc, in_tsps[leader],
                          results[leader].at(f.r, f.t));
        }
      }
    }
    for (Fold& f : folds) {
      for (std::size_t gi = 0; gi < groups.size(); ++gi) {
        const std::size_t leader = f.leaders[gi];
        for (std::size_t member : groups[gi]) {
          if (member == leader) continue;
          transfer_vector(in_tsps[leader], results[leader].at(f.r, f.t), in_tsps[member],
                          results[member].at(f.r, f.t));
        }
      }
    }
  }
  for (std::size_t i = 0; i < n; ++i) {
    results[i].padding_clean = clean;
    per[i] = std::move(results[i]);
  }
}

// ---- driver -------------------------------------------------------------------------------------

CompileOutput Lowering::run() {
  for (const Tensor& t : graph_.tensors) {
    if (t.producer < 0 && t.init) load_initial(t);
  }
  for (const Op& op : graph_.ops) {
    lower(op);
    Cycle finish = 0;
    for (const auto& [id, s] : schedules_) finish = std::max(finish, s->last_active_cycle());
    op_finish_.push_back(finish);
  }
  CompileOutput out;
  out.record.graph = graph_;
  // Output layouts; their segments become declared outputs.
  std::map<std::int32_t, std::vector<bool>> output_segments;
  for (std::int32_t index : graph_.outputs) {
    const Tensor& t = graph_.tensor(index);
    for (std::size_t i = 0; i < t.placement.tsps.size(); ++i) {
      const TspId tsp = t.placement.tsps[i];
      TspSchedule& s = sched(tsp);
      const Storage& st = storage(index, i);
      OutputShardLayout layout;
      layout.tensor = t.name;
      layout.tsp = tsp;
      layout.dtype = t.dtype;
      layout.local_shape = st.shape;
      std::map<std::int32_t, std::int32_t> seg_index;
      for (const VectorLoc& loc : st.vecs) {
        TSPEMU_ASSERT(loc.segment >= 0, "an output vector outside any segment");
        auto [it, fresh] =
            seg_index.emplace(loc.segment, static_cast<std::int32_t>(layout.segments.size()));
        if (fresh) {
          layout.segments.push_back(s.segment(loc.segment).name);
          s.segment(loc.segment).is_output = true;
        }
        layout.vectors.push_back({it->second, loc.segment_row});
      }
      out.record.outputs.push_back(std::move(layout));
    }
  }
  // Programs, TSPs ascending; a TSP of the topology with nothing to do has no program.
  Cycle last = -1;
  for (const auto& [id, s] : schedules_) {
    out.bundle.program.tsps.push_back(s->finish());
    last = std::max(last, s->last_active_cycle());
    out.stats.instructions += s->instruction_count();
    out.stats.abc_plane_cycles += s->abc_plane_cycles();
  }
  out.bundle.program.source_name = graph_.source_name;
  out.bundle.topology_name = topology_.name();
  out.bundle.topology_digest = topology_.digest();
  // Send schedule: receive_instruction = the RECEIVE's index in its C2C queue (which holds the
  // port's SENDs too), rows in (send cycle, source TSP, source port) order.
  std::map<std::tuple<std::int32_t, std::int32_t, Cycle>, std::int64_t> receive_index;
  for (const TspProgram& program : out.bundle.program.tsps) {
    for (const QueueProgram& queue : program.queues) {
      if (queue.queue.kind != QueueKind::c2c) continue;
      for (std::size_t k = 0; k < queue.instructions.size(); ++k) {
        if (queue.instructions[k].opcode != Opcode::receive) continue;
        receive_index[{program.tsp.value, queue.queue.index, queue.instructions[k].issue_cycle}] =
            static_cast<std::int64_t>(k);
      }
    }
  }
  for (SendRow& row : send_rows_) {
    row.receive_instruction =
        receive_index.at({row.dst_tsp.value, row.dst_port.value, row.receive_cycle});
  }
  std::sort(send_rows_.begin(), send_rows_.end(), [](const SendRow& a, const SendRow& b) {
    return std::tie(a.send_cycle, a.src_tsp, a.src_port) <
           std::tie(b.send_cycle, b.src_tsp, b.src_port);
  });
  out.bundle.send_schedule = send_rows_;
  out.stats.predicted_cycles = last + 1;
  out.stats.vectors_sent = static_cast<std::int64_t>(send_rows_.size());
  out.stats.mxm_planes = config_.shape.mxm_planes;
  out.stats.tsps_used = static_cast<std::int64_t>(schedules_.size());
  out.stats.op_finish_cycles = op_finish_;
  out.record.predicted_cycles = out.stats.predicted_cycles;
  out.bundle.attachments.push_back(
      {std::string(kCompiledGraphAttachment), encode_compiled_graph(out.record)});
  return out;
}

}  // namespace

CompileOutput compile_graph(const Graph& graph, const Topology& topology) {
  // The bundle holds every TSP's initial data as literal rows, and its encoding a second copy.
  require_memory(2 * graph_tensor_bytes(graph, true),
                 fmt::format("compiling graph '{}' (the initial data of every TSP, twice: the "
                             "bundle and its encoding)",
                             graph.name));
  return Lowering(graph, topology).run();
}

}  // namespace tspemu
