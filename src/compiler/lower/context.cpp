// The lowering context: helpers, tensor storage, the VXM op chain and the driver.
#include "compiler/lower/context.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>

#include "common/error.hpp"
#include "isa/op_table.hpp"
#include "isa/queue.hpp"
#include "topo/chip_config.hpp"

namespace tspemu::detail {

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

VectorLoc segment_row(const TspSchedule::Allocation& alloc, std::int32_t segment,
                      std::int32_t row) {
  VectorLoc loc;
  loc.group = alloc.group;
  loc.address = alloc.address + row;
  loc.ready = kNotWritten;
  loc.segment = segment;
  loc.segment_row = row;
  return loc;
}

// The initial bytes of loc's row in its segment (columns x dtype bytes, row-major elements); the
// segment becomes literal data, zero-filled, on first use.
std::span<std::uint8_t> literal_row(TspSchedule& s, const VectorLoc& loc) {
  TSPEMU_ASSERT(s.segment_declared(loc.segment), "literal data on rows nothing else used");
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

Lowering::Lowering(const Graph& graph, const Topology& topology, ProgressSink progress,
                   ClockSchedule clock)
    : graph_(graph),
      progress_(std::move(progress)),
      clock_(clock),
      topology_(topology),
      config_(chip_config_from_params(topology.chip())) {
  if (config_.shape.lanes() != kLanes) {
    throw InputError(fmt::format(
        "the compiler lowers to 320-lane chips; topology '{}' has {} superlanes ({} lanes)",
        topology.name(), config_.shape.superlanes, config_.shape.lanes()));
  }
  storage_.resize(graph.tensors.size());
  readers_.resize(graph.tensors.size());
  is_output_.assign(graph.tensors.size(), false);
  for (const Op& op : graph.ops) {
    for (const std::int32_t input : op.inputs) {
      auto& r = readers_[static_cast<std::size_t>(input)];
      if (r.empty() || r.back() != op.index) r.push_back(op.index);
    }
  }
  for (const std::int32_t output : graph.outputs) {
    is_output_[static_cast<std::size_t>(output)] = true;
    output_names_.emplace(graph.tensor(output).name, output);
  }
}

void Lowering::unsupported(const Op& op, const std::string& what) const {
  throw ScheduleError(fmt::format("{}: {} is not supported by the lowering", op.label(), what),
                      ErrorContext{.where = op.where});
}

// ---- storage ----------------------------------------------------------------------------------

Storage Lowering::new_storage(TspSchedule& s, DType dtype, const Shape& shape,
                              const std::string& name, int bank, const Storage* like, RowUse use) {
  // A graph output must survive to the end and be declared data: rows nothing else used, set aside
  // before the first op (preallocate_outputs), so that temporaries cannot use them up.
  if (const auto named = output_names_.find(name); named != output_names_.end()) {
    use = RowUse::pinned;
    const auto it = preallocated_.find({s.tsp().value, named->second});
    if (it != preallocated_.end() && it->second.dtype == dtype && it->second.shape == shape) {
      Storage st = std::move(it->second);
      preallocated_.erase(it);
      return st;
    }
  }
  Storage st;
  detail::set_geometry(st, dtype, shape);
  const int width = dtype_bytes(dtype);
  const std::int64_t stripes = std::min<std::int64_t>(st.rows, detail::kStripeGroups);
  st.vecs.resize(static_cast<std::size_t>(st.rows * st.tiles));
  for (std::int64_t t = 0; t < st.tiles; ++t) {
    for (std::int64_t g = 0; g < stripes; ++g) {
      const auto rows = static_cast<std::int32_t>((st.rows - g + stripes - 1) / stripes);
      const auto alloc = like != nullptr ? s.allocate_like(like->at(g, t).group, rows, bank, use)
                                         : s.allocate(width, rows, bank, {}, use);
      const std::int32_t index =
          s.add_segment(segment_at(s, alloc, fmt::format("{}_t{}_g{}", name, t, g), dtype, rows,
                                   static_cast<std::int32_t>(st.tile_columns(t))));
      for (std::int64_t r = g, row = 0; r < st.rows; r += stripes, ++row) {
        st.at(r, t) = segment_row(alloc, index, static_cast<std::int32_t>(row));
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
    Storage st = streams_weights(index)
                     ? weight_storage(s, tensor.dtype, local, tensor.name)
                     : new_storage(s, tensor.dtype, local, tensor.name, -1, nullptr, RowUse::fresh);
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

const VectorLoc& Lowering::zero_vector(TspSchedule& s, int slice) {
  const auto key = std::make_pair(s.tsp().value, slice);
  auto it = zero_vectors_.find(key);
  if (it != zero_vectors_.end()) return it->second;
  SliceGroup group;
  group.slices[0] = static_cast<std::int16_t>(slice);
  const auto alloc = s.allocate_like(group, 1, -1);
  DataSegment seg = segment_at(s, alloc, fmt::format("_zero{}", slice), DType::i8, 1,
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
  Storage st = new_storage(s, t.dtype, shape, fmt::format("_{}_x{}", t.name, columns), -1, nullptr,
                           RowUse::pinned);
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
  const auto alloc = s.allocate(width, 1, -1, avoid, RowUse::reusable);
  VectorLoc loc;
  loc.group = alloc.group;
  loc.address = alloc.address;
  return loc;
}

const VectorLoc& Lowering::lane_mask(TspSchedule& s, DType dtype, std::int64_t lanes) {
  const int width = dtype_bytes(dtype);
  const auto key = std::make_pair(s.tsp().value, lanes * 8 + width);
  auto it = masks_.find(key);
  if (it == masks_.end()) {
    Storage mask = new_storage(s, dtype, Shape{kLanes}, fmt::format("_mask{}_{}", lanes, width), -1,
                               nullptr, RowUse::pinned);
    VectorLoc& loc = mask.at(0, 0);
    const std::span<std::uint8_t> row = literal_row(s, loc);
    const std::uint64_t one = one_bits(dtype);
    for (std::int64_t c = 0; c < lanes; ++c) {
      for (int k = 0; k < width; ++k) {
        row[static_cast<std::size_t>(c * width + k)] = static_cast<std::uint8_t>(one >> (8 * k));
      }
    }
    loc.ready = 0;
    it = masks_.emplace(key, std::move(mask)).first;
  }
  return it->second.at(0, 0);
}

// A copy of x whose last tile has +0 beyond the last column (SELECT against a lane mask).
const Storage& Lowering::zero_padded(const Storage& x, TspSchedule& s, const std::string& name) {
  if (x.padding_clean || x.columns % kLanes == 0) return x;
  const std::int64_t last = x.tiles - 1;
  const std::int64_t cols = x.tile_columns(last);
  const int width = dtype_bytes(x.dtype);
  const VectorLoc& mask = lane_mask(s, x.dtype, cols);
  Storage out = x;
  Shape tail_shape{x.rows, cols};
  Storage tail =
      new_storage(s, x.dtype, tail_shape, fmt::format("_{}_padded{}", name, temp_counter_++));
  for (std::int64_t r = 0; r < x.rows; ++r) {
    Instruction instr;
    instr.opcode = Opcode::select;
    instr.dtype = x.dtype;
    const VxmInput inputs[3] = {{&mask, 0, width}, {&x.at(r, last), 0, width}, {nullptr, 0, width}};
    vxm_op(s, instr, inputs, width, tail.at(r, 0));
    out.at(r, last) = tail.at(r, 0);
  }
  out.padding_clean = true;
  cleaned_.push_back(std::move(out));
  return cleaned_.back();
}

// ---- driver -------------------------------------------------------------------------------------

CompileOutput Lowering::run() {
  // Progress lines are built only when someone listens.
  const auto progress = [this](const std::function<std::string()>& describe) {
    if (progress_) progress_(describe);
  };
  progress([] { return std::string("placing the initial data"); });
  for (const Tensor& t : graph_.tensors) {
    if (t.producer < 0 && t.init) {
      load_initial(t);
      hold(graph_.find_tensor(t.name));
    }
  }
  preallocate_outputs();
  remaining_readers_.resize(graph_.tensors.size());
  for (std::size_t t = 0; t < graph_.tensors.size(); ++t) {
    remaining_readers_[t] = static_cast<std::int32_t>(readers_[t].size());
  }
  op_finish_.assign(graph_.ops.size(), 0);
  op_start_.assign(graph_.ops.size(), -1);
  std::size_t lowered = 0;
  for (const std::int32_t index : lowering_order()) {
    const Op& op = graph_.ops[static_cast<std::size_t>(index)];
    ++lowered;
    progress([&] {
      return fmt::format("lowering op {} of {}: {}", lowered, graph_.ops.size(), op.label());
    });
    const auto marks = block_marks();
    set_reuse_horizons(op);
    current_op_ = index;
    for (auto& [id, s] : schedules_) {
      s->begin_span();
      s->set_current_op(index);
    }
    lower(op);
    after_lowering(op, marks);
    // The op's own instructions (none for an op fused into its consumer: -1, -1). Schedules
    // created while lowering it started with an empty span.
    Cycle first = TspSchedule::kNoSpan;
    Cycle last = -1;
    for (const auto& [id, s] : schedules_) {
      first = std::min(first, s->span_first());
      last = std::max(last, s->span_last());
    }
    op_start_[static_cast<std::size_t>(index)] = first == TspSchedule::kNoSpan ? -1 : first;
    op_finish_[static_cast<std::size_t>(index)] = last;
  }
  current_op_ = -1;
  for (auto& [id, s] : schedules_) s->set_current_op(-1);
  const std::int64_t deskews = insert_runtime_deskews();
  progress([] { return std::string("writing the programs and the send schedule"); });
  declare_outputs();
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
    InstructionOps& tags = out.record.instruction_ops.emplace_back();
    tags.tsp = TspId(id);
    out.bundle.program.tsps.push_back(s->finish(&tags.queues));
    last = std::max(last, s->last_active_cycle());
    out.stats.instructions += s->instruction_count();
    out.stats.abc_plane_cycles += s->abc_plane_cycles();
    out.stats.sram_peak_bytes =
        std::max(out.stats.sram_peak_bytes, s->sram().peak_rows() * config_.shape.lanes());
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
  out.stats.runtime_deskews = deskews;
  out.stats.op_finish_cycles = op_finish_;
  out.stats.op_start_cycles = op_start_;
  out.stats.sram_bytes_per_tsp =
      std::int64_t{config_.mem_slices()} * config_.shape.mem_rows_per_slice * config_.shape.lanes();
  out.record.predicted_cycles = out.stats.predicted_cycles;
  out.bundle.attachments.push_back(
      {std::string(kCompiledGraphAttachment), encode_compiled_graph(out.record)});
  return out;
}

}  // namespace tspemu::detail
