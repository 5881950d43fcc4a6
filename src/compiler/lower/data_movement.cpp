// Data movement: transpose, reshape, slice, concat (aliases where whole vectors stay), lane
// transposes by diagonals, lane broadcasts.
#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>

#include "common/error.hpp"
#include "compiler/lower/context.hpp"
#include "compiler/lower/vxm_chain.hpp"
#include "isa/op_table.hpp"
#include "isa/queue.hpp"

namespace tspemu::detail {

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
    auto alloc = s.allocate(w, rows, 0, avoid, RowUse::fresh);
    if (alloc.address / bank_rows != (alloc.address + rows - 1) / bank_rows) {
      alloc = s.allocate(w, rows, 1, avoid, RowUse::fresh);
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
    const auto alloc = s.allocate(2, rows, -1, west, RowUse::fresh);
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
      gather.mem_address = stage.address;
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
      scatter.mem_address = result.address;
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

// Lane 0 of every row to all 320 lanes, on the SXM: with the other lanes zero, the bitwise OR of
// copies shifted north by 0, 1, .., 7 lanes fills lanes 0..7; of that, shifted by 0, 8, .., 56,
// lanes 0..63; then by 0, 64, .., 256, every lane. Three round trips from the VXM (eight copies
// each, up to 32 streams) instead of two lane transposes; bits are copied, nothing is rounded.
// Every full tile of a row is that one vector; a partial last tile is a copy with +0 beyond the
// last column, so the result's padding stays clean.
Storage Lowering::lane_broadcast(TspSchedule& s, const Storage& x, std::int64_t columns,
                                 const std::string& name) {
  (void)name;
  TSPEMU_ASSERT(x.columns == 1, "a lane broadcast spreads one column");
  const int width = dtype_bytes(x.dtype);
  const DType bits = width == 1 ? DType::i8 : width == 2 ? DType::i16 : DType::i32;
  Storage out;
  Shape shape = x.shape;
  shape.back() = columns;
  detail::set_geometry(out, x.dtype, shape);
  out.vecs.resize(static_cast<std::size_t>(out.rows * out.tiles));
  Instruction bit_or;
  bit_or.opcode = Opcode::bit_or;
  bit_or.dtype = bits;
  for (std::int64_t r = 0; r < x.rows; ++r) {
    VxmChain chain;
    int v = chain.leaf(x.at(r, 0), width);
    if (!x.padding_clean) {
      Instruction select;
      select.opcode = Opcode::select;
      select.dtype = x.dtype;
      const int operands[3] = {chain.leaf(lane_mask(s, x.dtype, 1), width), v, chain.immediate(0)};
      v = chain.op(select, operands, width);
    }
    const Hemisphere sxm = r % 2 == 0 ? Hemisphere::west : Hemisphere::east;
    for (std::int64_t span = 1; span < kLanes; span *= 8) {
      std::vector<int> copies;
      for (std::int64_t k = 0; k < 8 && k * span < kLanes; ++k) {
        copies.push_back(chain.shift(v, -static_cast<int>(k * span), sxm, bits, width));
      }
      while (copies.size() > 1) {
        const std::size_t h = (copies.size() + 1) / 2;
        for (std::size_t j = 0; j + h < copies.size(); ++j) {
          const int operands[2] = {copies[j], copies[j + h]};
          copies[j] = chain.op(bit_or, operands, width);
        }
        copies.resize(h);
      }
      v = copies[0];
    }
    const std::int64_t last_columns = out.tile_columns(out.tiles - 1);
    VectorLoc row;
    if (out.tiles > 1 || last_columns == kLanes) {
      row = scratch_vector(s, width);
      chain.store(v, row);
    }
    VectorLoc tail = row;
    if (last_columns < kLanes) {
      Instruction select;
      select.opcode = Opcode::select;
      select.dtype = x.dtype;
      const int operands[3] = {chain.leaf(lane_mask(s, x.dtype, last_columns), width), v,
                               chain.immediate(0)};
      tail = scratch_vector(s, width);
      chain.store(chain.op(select, operands, width), tail);
    }
    chain.place(s);
    for (std::int64_t t = 0; t < out.tiles; ++t) out.at(r, t) = t + 1 < out.tiles ? row : tail;
  }
  out.padding_clean = true;
  return out;
}

void Lowering::lower_data_movement(const Op& op) {
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

}  // namespace tspemu::detail
