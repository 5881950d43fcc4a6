// matmul on the MXM planes (docs/compiler.md, "matmul").
//
// Units: one plane per int8 pass, an even/odd plane pair per fp16 pass (low and high weight
// bytes). A weight tile (320 K-rows x 320 N-columns of B) is loaded into a unit's weight buffer by
// LWs of up to 32 rows each (one row per stream, read from as many different MEM slices in the
// cycles that make them reach the plane together), then installed by IW; the buffer is double
// buffered: the next tile loads while the current one computes, and its IW lands after the last
// ABC that uses the current weights. A plane at the west edge takes its weights on westward
// streams, one at the east edge on eastward ones, so the two hemispheres' planes load at once:
// up to 64 rows of 320 bytes per cycle, the chip's stream bandwidth.
//
// Two ways to sum over K (graph-format.md, "matmul": the chunks' results are added in ascending
// chunk order, each addition rounded to fp32 for fp16; int8 is exact in any order):
//   - in the MXM accumulators (`ABC` without `clear` adds into the accumulator, with exactly that
//     rounding), when A has at most as many rows as a plane has accumulators (matvec, batch-1
//     inference): the chunks of a column tile run on one unit in ascending order, and an ACC reads
//     the sum once. For int8, a unit's chunks of a column tile may be a contiguous part of them
//     only: every unit gets an equal share of the tiles, and the parts are added on the VXM.
//   - through MEM and the VXM otherwise (many rows): every (row, chunk) is an ABC with `clear`
//     and an ACC, and chunk c is added to the running sum of chunks 0..c-1 (ADD.f32 / ADD.i32),
//     the sums alternating between two buffers in the two banks of the same slices.
// An accumulator is never shared in time: every use of one (a chunk's ABCs and its ACC) comes
// after the previous use ended, however early the list scheduler could otherwise place it.
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <map>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include "common/error.hpp"
#include "compiler/lower/context.hpp"
#include "compiler/lower/vxm_chain.hpp"
#include "isa/op_table.hpp"
#include "isa/queue.hpp"

namespace tspemu::detail {

Lowering::PlaneState& Lowering::plane_state(TspId tsp, int plane) {
  PlaneState& p = planes_[{tsp.value, plane}];
  if (p.acc_busy.empty()) {
    p.acc_busy.assign(static_cast<std::size_t>(config_.shape.mxm_accumulators), -(Cycle{1} << 40));
  }
  return p;
}

namespace {

// The MXM units of a matmul on `dtype`: one plane each for int8, an even/odd pair for fp16.
struct MatmulUnits {
  MatmulUnits(DType dtype, int planes)
      : f16(dtype == DType::f16),
        acc_dtype(f16 ? DType::f32 : DType::i32),
        in_width(dtype_bytes(dtype)),
        unit_planes(f16 ? 2 : 1),
        units(planes / unit_planes) {}
  bool f16;
  DType acc_dtype;
  int in_width;
  int unit_planes;
  int units;
};

// ABC of the activation `value` on the unit at plane0 (both planes for fp16) into accumulator
// `acc`, clearing it first or adding to it.
ChainOp abc_op(int plane0, DType dtype, int value, std::int64_t acc, bool clear) {
  ChainOp abc;
  abc.queue = mxm_queue(QueueKind::mxm_activations, plane0);
  if (dtype == DType::f16)
    abc.also_busy.push_back(mxm_queue(QueueKind::mxm_activations, plane0 + 1));
  abc.instr.opcode = Opcode::abc;
  abc.instr.dtype = dtype;
  abc.instr.operand_count = 3;
  abc.instr.operands[0] = stream_placeholder();
  abc.operand_value[0] = static_cast<std::int8_t>(value);
  abc.instr.operands[1] = integer_operand(acc);
  abc.instr.operands[2] = integer_operand(clear ? 1 : 0);
  return abc;
}

// ACC of accumulator `acc` of plane0 (not cleared: the next use's ABC clears) onto `value`.
ChainOp acc_op(int plane0, DType dtype, std::int64_t acc) {
  ChainOp op;
  op.queue = mxm_queue(QueueKind::mxm_accumulate, plane0);
  op.instr.opcode = Opcode::acc;
  op.instr.dtype = dtype;
  op.instr.operand_count = 3;
  op.instr.operands[0] = stream_placeholder();
  op.instr.operands[1] = integer_operand(acc);
  op.instr.operands[2] = integer_operand(0);
  return op;
}

}  // namespace

bool Lowering::streams_weights(std::int32_t tensor) const {
  const Tensor& t = graph_.tensor(tensor);
  if (t.local_shape().size() != 2 || dtype_bytes(t.dtype) > 2) return false;
  if (config_.shape.mem_slices_per_hemisphere < 2) return false;
  const auto& readers = readers_[static_cast<std::size_t>(tensor)];
  return std::any_of(readers.begin(), readers.end(), [&](std::int32_t op) {
    const Op& o = graph_.ops[static_cast<std::size_t>(op)];
    return o.kind == OpKind::matmul && o.inputs[1] == tensor;
  });
}

// The weight layout. A weight tile (chunk kt of column tile nt: rows 320 kt .. 320 kt + 319) is
// loaded into an MXM plane 32 rows per LW, one row per stream, and the rows of one LW must come
// from 32 different slices (one read per slice and cycle). So row i of a chunk lives in slice
// i mod M of its hemisphere (M slices per hemisphere; an fp16 row's high byte in slice
// (i + M/2) mod M, so that both byte planes' LWs find 32 different slices too). The chunks, in
// (column tile, chunk) order, go to the west hemisphere for the first half and the east for the
// second: the planes of each hemisphere load from their own side, 32 westward and 32 eastward
// streams at once, never competing for a slice. Where SRAM is too fragmented for a group, the
// allocator's next free group is used (correct, only slower to load).
Storage Lowering::weight_storage(TspSchedule& s, DType dtype, const Shape& shape,
                                 const std::string& name) {
  Storage st;
  detail::set_geometry(st, dtype, shape);
  st.vecs.resize(static_cast<std::size_t>(st.rows * st.tiles));
  const int width = dtype_bytes(dtype);
  const int m = config_.shape.mem_slices_per_hemisphere;
  const std::int64_t k_tiles = (st.rows + kLanes - 1) / kLanes;
  const std::int64_t west_chunks = (k_tiles * st.tiles + 1) / 2;
  for (std::int64_t nt = 0; nt < st.tiles; ++nt) {
    for (int h = 0; h < 2; ++h) {
      for (int g = 0; g < m; ++g) {
        std::vector<std::int64_t> rows;
        for (std::int64_t kt = 0; kt < k_tiles; ++kt) {
          if ((nt * k_tiles + kt < west_chunks) != (h == 0)) continue;
          for (std::int64_t k = kt * kLanes + g; k < std::min(st.rows, (kt + 1) * kLanes); k += m) {
            rows.push_back(k);
          }
        }
        if (rows.empty()) continue;
        SliceGroup group;
        group.width = static_cast<std::int8_t>(width);
        group.slices[0] = static_cast<std::int16_t>(h * m + g);
        if (width == 2) group.slices[1] = static_cast<std::int16_t>(h * m + (g + m / 2) % m);
        const auto alloc =
            s.allocate_like(group, static_cast<std::int32_t>(rows.size()), -1, RowUse::fresh);
        const std::int32_t index = s.add_segment(
            segment_at(s, alloc, fmt::format("{}_t{}_{}{}", name, nt, h == 0 ? 'w' : 'e', g), dtype,
                       static_cast<std::int32_t>(rows.size()),
                       static_cast<std::int32_t>(st.tile_columns(nt))));
        for (std::size_t j = 0; j < rows.size(); ++j) {
          st.at(rows[j], nt) = segment_row(alloc, index, static_cast<std::int32_t>(j));
        }
      }
    }
  }
  return st;
}

Cycle Lowering::install_weights(TspSchedule& s, const Storage& b, std::int64_t k_dim,
                                std::int64_t kt, std::int64_t nt, int plane0, bool f16,
                                int max_lw_rows) {
  const int unit_planes = f16 ? 2 : 1;
  const OpTiming& t_lw = s.config().timing.get(Opcode::lw, DType::none);
  const OpTiming& t_iw = s.config().timing.get(Opcode::iw, DType::none);
  // A plane's new weights may land only after the unit's last ABC with the old ones.
  Cycle last_abc_operand = -(Cycle{1} << 40);
  for (int pl = 0; pl < unit_planes; ++pl) {
    last_abc_operand =
        std::max(last_abc_operand, plane_state(s.tsp(), plane0 + pl).last_abc_operand);
  }
  // int8: rows beyond K need no load (their activation lanes are 0, and 0 x w = 0 exactly
  // whatever the buffer holds); fp16: they must be +0 x +0, so +0 rows are loaded there.
  const std::int64_t real_rows = std::min(kLanes, k_dim - kt * kLanes);
  const std::int64_t rows = f16 ? kLanes : real_rows;
  const std::int64_t lw_rows = max_lw_rows;
  Cycle installed = 0;
  // Plane by plane: an fp16 unit's low plane installs (IW keeps its weight queue busy) while the
  // high plane's rows stream in.
  for (int pl = 0; pl < unit_planes; ++pl) {
    const int plane = plane0 + pl;
    const int mxm_pos = queue_position(mxm_queue(QueueKind::mxm_weights, plane), s.config().shape);
    PlaneState& state = plane_state(s.tsp(), plane);
    // The source of buffer row i: byte plane pl of B's row, or a zero row, in the slice that row
    // would have in the chunk's hemisphere (weight_storage), so that LWs of zero rows read from
    // 32 different slices on the side the plane loads from.
    const int m = config_.shape.mem_slices_per_hemisphere;
    const int side = b.at(kt * kLanes, nt).group.slices[static_cast<std::size_t>(pl)] / m;
    auto source = [&](std::int64_t i, int& plane_of) -> const VectorLoc& {
      if (i < real_rows) {
        plane_of = pl;
        return b.at(kt * kLanes + i, nt);
      }
      plane_of = 0;
      return zero_vector(s, side * m + static_cast<int>((i + pl * (m / 2)) % m));
    };
    Cycle last_lw_landing = 0;
    for (std::int64_t first = 0; first < rows;) {
      // One LW: up to 32 consecutive rows, read from different slices, arriving from one side.
      auto slice_of = [&](std::int64_t i) {
        int p = 0;
        const VectorLoc& src = source(i, p);
        return static_cast<int>(src.group.slices[static_cast<std::size_t>(p)]);
      };
      const Direction direction =
          ChainBuilder::direction(s.slice_position(slice_of(first)), mxm_pos);
      std::set<int> slices;
      std::int64_t end = first;
      while (end < rows && end - first < lw_rows) {
        const int slice = slice_of(end);
        if (!slices.insert(slice).second ||
            ChainBuilder::direction(s.slice_position(slice), mxm_pos) != direction) {
          break;
        }
        ++end;
      }
      const auto n = static_cast<int>(end - first);
      Chain chain;
      ChainBuilder cb(s, chain);
      // The rows land after the previous IW took its snapshot of the buffer.
      Cycle earliest = state.last_iw_operand - (t_lw.skew_cycles + t_lw.func_delay_cycles) + 1;
      const int value = cb.value(direction, n, t_lw.skew_cycles, mxm_pos);
      for (std::int64_t i = first; i < end; ++i) {
        int p = 0;
        const VectorLoc& src = source(i, p);
        cb.read_plane(src, p, value, static_cast<int>(i - first), mxm_pos, t_lw.skew_cycles,
                      earliest);
      }
      ChainOp lw;
      lw.queue = mxm_queue(QueueKind::mxm_weights, plane);
      lw.instr.opcode = Opcode::lw;
      lw.instr.operand_count = 2;
      lw.instr.operands[0] = integer_operand(first);
      lw.instr.operands[1] = stream_placeholder();
      lw.instr.operands[1].stream.count = static_cast<std::int8_t>(n);
      lw.operand_value[1] = static_cast<std::int8_t>(value);
      cb.op(lw);
      const Placement placed = s.place(chain, earliest);
      last_lw_landing =
          std::max(last_lw_landing, placed.anchor + t_lw.skew_cycles + t_lw.func_delay_cycles);
      first = end;
    }
    // IW: the buffer is complete at its operand cycle; the old weights stay in use until it
    // lands, which must be after the last ABC that uses them.
    Chain chain;
    ChainOp iw;
    iw.queue = mxm_queue(QueueKind::mxm_weights, plane);
    iw.occupancy = t_iw.occupancy_cycles;
    iw.instr.opcode = Opcode::iw;
    chain.ops.push_back(iw);
    const Cycle earliest =
        std::max(last_lw_landing - t_iw.skew_cycles,
                 last_abc_operand - (t_iw.skew_cycles + t_iw.func_delay_cycles) + 1);
    const Placement placed = s.place(chain, earliest);
    state.last_iw_operand = placed.anchor + t_iw.skew_cycles;
    installed = std::max(installed, placed.anchor + t_iw.skew_cycles + t_iw.func_delay_cycles);
  }
  return installed;
}

void Lowering::lower_matmul(const Op& op) {
  const Tensor& a_t = graph_.tensor(op.inputs[0]);
  const Tensor& b_t = graph_.tensor(op.inputs[1]);
  const Tensor& out_t = graph_.tensor(op.output);
  auto& per = storage_[static_cast<std::size_t>(op.output)];
  per.resize(out_t.placement.tsps.size());
  for (std::size_t i = 0; i < out_t.placement.tsps.size(); ++i) {
    const TspId tsp = out_t.placement.tsps[i];
    TspSchedule& s = sched(tsp);
    const Storage& b =
        storage(op.inputs[1], static_cast<std::size_t>(b_t.placement.position_of(tsp)));
    const Storage& a =
        zero_padded(storage(op.inputs[0], static_cast<std::size_t>(a_t.placement.position_of(tsp))),
                    s, a_t.name);
    Storage out = a.rows <= config_.shape.mxm_accumulators ? matmul_in_accumulators(s, a, b, out_t)
                                                           : matmul_through_vxm(s, a, b, out_t);
    out.padding_clean = a_t.dtype != DType::f16 && b.padding_clean;
    per[i] = std::move(out);
  }
}

Storage Lowering::matmul_in_accumulators(TspSchedule& s, const Storage& a, const Storage& b,
                                         const Tensor& out_t) {
  const MatmulUnits mu(a.dtype, config_.shape.mxm_planes);
  const bool f16 = mu.f16;
  const DType acc_dtype = mu.acc_dtype;
  const int in_width = mu.in_width;
  const int unit_planes = mu.unit_planes;
  const int units = mu.units;
  const std::int64_t m_rows = a.rows;
  const std::int64_t k_tiles = a.tiles;
  const std::int64_t n_tiles = b.tiles;
  const OpTiming& t_abc = s.config().timing.get(Opcode::abc, a.dtype);
  const OpTiming& t_acc = s.config().timing.get(Opcode::acc, acc_dtype);
  Storage out = new_storage(s, acc_dtype, Shape{m_rows, b.columns}, out_t.name);

  // Which units do which chunks. A chunk goes to a unit of the hemisphere its weights are stored
  // in (weight_storage splits the chunks evenly), each of that hemisphere's units taking an equal
  // run of its chunks in (column tile, chunk) order. A run is a segment per column tile: its
  // chunks accumulate in one accumulator and an ACC reads the segment's sum.
  struct Segment {
    std::int64_t nt = 0;
    std::int64_t kt_begin = 0;
    std::int64_t kt_end = 0;
  };
  const int west_slices = config_.shape.mem_slices_per_hemisphere;
  std::array<std::vector<int>, 2> side_units;
  for (int u = 0; u < units; ++u) {
    const int pos =
        queue_position(mxm_queue(QueueKind::mxm_weights, u * unit_planes), s.config().shape);
    side_units[pos == 0 ? 0 : 1].push_back(u);
  }
  std::array<std::vector<std::pair<std::int64_t, std::int64_t>>, 2> side_chunks;
  for (std::int64_t nt = 0; nt < n_tiles; ++nt) {
    for (std::int64_t kt = 0; kt < k_tiles; ++kt) {
      int side = b.at(kt * kLanes, nt).group.slices[0] < west_slices ? 0 : 1;
      if (side_units[static_cast<std::size_t>(side)].empty()) side = 1 - side;
      side_chunks[static_cast<std::size_t>(side)].emplace_back(nt, kt);
    }
  }
  std::vector<std::vector<Segment>> work(static_cast<std::size_t>(units));
  for (int side = 0; side < 2; ++side) {
    const auto& chunks = side_chunks[static_cast<std::size_t>(side)];
    const auto& su = side_units[static_cast<std::size_t>(side)];
    const auto n = static_cast<std::int64_t>(chunks.size());
    const auto count = static_cast<std::int64_t>(su.size());
    for (std::int64_t j = 0; j < count; ++j) {
      auto& w = work[static_cast<std::size_t>(su[static_cast<std::size_t>(j)])];
      for (std::int64_t c = n * j / count; c < n * (j + 1) / count; ++c) {
        const auto [nt, kt] = chunks[static_cast<std::size_t>(c)];
        if (!w.empty() && w.back().nt == nt && w.back().kt_end == kt) {
          ++w.back().kt_end;
        } else {
          w.push_back({nt, kt, kt + 1});
        }
      }
    }
  }
  // fp16 adds a column tile's chunks in ascending order, each addition rounded to fp32: a segment
  // that does not start the column tile cannot accumulate (its first chunk must be added to the
  // sum of all earlier ones), so it becomes single chunks, added to the running sum on the VXM in
  // order. int8 is exact in any order: segments accumulate, and their sums are added.
  std::vector<std::int64_t> segments_of(static_cast<std::size_t>(n_tiles), 0);
  for (auto& w : work) {
    if (f16) {
      std::vector<Segment> split;
      for (const Segment& seg : w) {
        if (seg.kt_begin == 0) {
          split.push_back(seg);
        } else {
          for (std::int64_t kt = seg.kt_begin; kt < seg.kt_end; ++kt) {
            split.push_back({seg.nt, kt, kt + 1});
          }
        }
      }
      w = std::move(split);
    }
    for (const Segment& seg : w) ++segments_of[static_cast<std::size_t>(seg.nt)];
  }
  // Column tiles split between segments first: their sums are added on the VXM once all parts
  // are in, which then overlaps the remaining loads instead of trailing the last one.
  for (auto& w : work) {
    std::stable_partition(w.begin(), w.end(), [&](const Segment& seg) {
      return segments_of[static_cast<std::size_t>(seg.nt)] > 1;
    });
  }
  // Consecutive segments of a unit use different accumulators where there are enough (rows x
  // segments in flight): a segment's first ABC need not wait for the previous segment's ACC.
  const std::int64_t acc_sets = std::max<std::int64_t>(1, config_.shape.mxm_accumulators / m_rows);
  // The segments' sums of column tiles with more than one segment: (row, column tile) ->
  // (first chunk, sum).
  std::map<std::pair<std::int64_t, std::int64_t>, std::vector<std::pair<std::int64_t, VectorLoc>>>
      parts;
  // Round robin over the units, one chunk each, so that they load and compute side by side.
  std::vector<std::size_t> segment(static_cast<std::size_t>(units), 0);
  std::vector<std::int64_t> chunk(static_cast<std::size_t>(units), -1);
  for (bool more = true; more;) {
    more = false;
    for (int u = 0; u < units; ++u) {
      const auto& w = work[static_cast<std::size_t>(u)];
      std::size_t& si = segment[static_cast<std::size_t>(u)];
      if (si >= w.size()) continue;
      more = true;
      const Segment& seg = w[si];
      std::int64_t& kt = chunk[static_cast<std::size_t>(u)];
      if (kt < 0) kt = seg.kt_begin;
      const int plane0 = u * unit_planes;
      const int mxm_pos =
          queue_position(mxm_queue(QueueKind::mxm_weights, plane0), s.config().shape);
      const Cycle installed =
          install_weights(s, b, a.columns, kt, seg.nt, plane0, f16, kMaxValueWidth);
      PlaneState& state = plane_state(s.tsp(), plane0);
      const std::int64_t acc_base = m_rows * (static_cast<std::int64_t>(si) % acc_sets);
      for (std::int64_t m = 0; m < m_rows; ++m) {
        Chain chain;
        ChainBuilder cb(s, chain);
        Cycle& busy = state.acc_busy[static_cast<std::size_t>(acc_base + m)];
        // A chunk's ABC lands after the accumulator's previous use (for a segment's first chunk,
        // the previous segment's ACC; for the others, the previous chunk's ABC).
        Cycle earliest = std::max(installed - t_abc.skew_cycles,
                                  busy - (t_abc.skew_cycles + t_abc.func_delay_cycles) + 1);
        const VectorLoc& act = a.at(m, kt);
        const int act_value =
            cb.value(cb.direction_from(act, mxm_pos), in_width, t_abc.skew_cycles, mxm_pos);
        cb.read(act, act_value, 0, in_width, mxm_pos, t_abc.skew_cycles, earliest);
        // The segment's first chunk clears the accumulator, the others add to it.
        cb.op(abc_op(plane0, a.dtype, act_value, acc_base + m, kt == seg.kt_begin));
        const Placement placed = s.place(chain, earliest);
        busy = placed.anchor + t_abc.skew_cycles + t_abc.func_delay_cycles;
        for (int pl = 0; pl < unit_planes; ++pl) {
          Cycle& last = plane_state(s.tsp(), plane0 + pl).last_abc_operand;
          last = std::max(last, placed.anchor + t_abc.skew_cycles);
        }
      }
      if (++kt < seg.kt_end) continue;
      // The segment's sums: an ACC per row in the cycle its last chunk lands.
      const bool whole = segments_of[static_cast<std::size_t>(seg.nt)] == 1;
      for (std::int64_t m = 0; m < m_rows; ++m) {
        Cycle& busy = state.acc_busy[static_cast<std::size_t>(acc_base + m)];
        Chain chain;
        ChainBuilder cb(s, chain);
        ChainOp acc = acc_op(plane0, acc_dtype, acc_base + m);
        const Cycle acc_write = t_acc.skew_cycles + t_acc.func_delay_cycles;
        VectorLoc part;
        VectorLoc& dst = whole ? out.at(m, seg.nt) : (part = scratch_vector(s, 4));
        const Direction dir = mxm_pos == 0 ? Direction::east : Direction::west;
        const int value = cb.value(dir, 4, acc_write, mxm_pos);
        cb.from(value, mxm_pos);
        acc.operand_value[0] = static_cast<std::int8_t>(value);
        cb.op(acc);
        const Cycle landing = cb.write(dst, value, mxm_pos, acc_write);
        const Placement placed = s.place(chain, busy - t_acc.skew_cycles);
        dst.ready = placed.anchor + landing;
        busy = placed.anchor + t_acc.skew_cycles;
        if (!whole) parts[{m, seg.nt}].emplace_back(seg.kt_begin, dst);
      }
      ++si;
      kt = -1;
    }
  }
  // Column tiles with several segments: their sums added in chunk order (graph-format.md,
  // "matmul"), one VXM chain per row.
  for (auto& [key, list] : parts) {
    std::sort(list.begin(), list.end(),
              [](const auto& x, const auto& y) { return x.first < y.first; });
    VxmChain chain;
    Instruction add;
    add.opcode = Opcode::add;
    add.dtype = acc_dtype;
    int sum = chain.leaf(list[0].second, 4);
    for (std::size_t j = 1; j < list.size(); ++j) {
      const int operands[2] = {sum, chain.leaf(list[j].second, 4)};
      sum = chain.op(add, operands, 4);
    }
    chain.store(sum, out.at(key.first, key.second));
    chain.place(s);
  }
  return out;
}

Storage Lowering::matmul_through_vxm(TspSchedule& s, const Storage& a, const Storage& b,
                                     const Tensor& out_t) {
  const MatmulUnits mu(a.dtype, config_.shape.mxm_planes);
  const int accumulators = config_.shape.mxm_accumulators;
  const std::int64_t m_rows = a.rows;
  const std::int64_t k_tiles = a.tiles;
  const std::int64_t n_tiles = b.tiles;
  const Shape out_shape{m_rows, b.columns};
  const OpTiming& t_abc = s.config().timing.get(Opcode::abc, a.dtype);
  const OpTiming& t_acc = s.config().timing.get(Opcode::acc, mu.acc_dtype);
  const OpTiming& t_add = s.config().timing.get(Opcode::add, mu.acc_dtype);
  // Ping-pong partial sums in the two banks of the same slices: chunk c reads buffer (c-1)%2 and
  // writes buffer c%2, so a slice's read and write in one cycle never share a bank.
  const int final_parity = static_cast<int>((k_tiles - 1) % 2);
  std::array<std::optional<Storage>, 2> partial;
  partial[static_cast<std::size_t>(final_parity)] =
      new_storage(s, mu.acc_dtype, out_shape, out_t.name, final_parity);
  if (k_tiles > 1) {
    partial[static_cast<std::size_t>(1 - final_parity)] =
        new_storage(s, mu.acc_dtype, out_shape, fmt::format("_{}_partial", out_t.name),
                    1 - final_parity, &*partial[static_cast<std::size_t>(final_parity)]);
  }
  // Each unit's accumulators: when earlier matmuls last used them.
  std::vector<std::vector<Cycle>> entry_busy;
  for (int u = 0; u < mu.units; ++u)
    entry_busy.push_back(plane_state(s.tsp(), u * mu.unit_planes).acc_busy);
  // Waves: up to `mu.units` weight tiles that run at the same time, one per unit. With at least as
  // many column tiles as mu.units, a wave is one K chunk of `mu.units` column tiles (a unit owns
  // whole column tiles: no partial sum waits for another plane); with fewer, consecutive K chunks
  // of a column tile. Within a wave, rows are scheduled interleaved over its tiles, so that every
  // plane gets its share of ports and streams.
  struct TileRef {
    std::int64_t nt = 0;
    std::int64_t kt = 0;
    int unit = 0;
    std::int64_t first_row = 0;  // rows [first_row, end_row) of A pass through this unit
    std::int64_t end_row = 0;
  };
  std::vector<std::vector<TileRef>> waves;
  if (n_tiles >= mu.units) {
    for (std::int64_t g = 0; g < n_tiles; g += mu.units) {
      for (std::int64_t kt = 0; kt < k_tiles; ++kt) {
        std::vector<TileRef> wave;
        for (std::int64_t nt = g; nt < std::min<std::int64_t>(g + mu.units, n_tiles); ++nt) {
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
    for (std::size_t first = 0; first < all.size(); first += static_cast<std::size_t>(mu.units)) {
      std::vector<TileRef> wave;
      const std::size_t end = std::min(all.size(), first + static_cast<std::size_t>(mu.units));
      for (std::size_t j = first; j < end; ++j) {
        all[j].unit = static_cast<int>(j - first);
        wave.push_back(all[j]);
      }
      waves.push_back(std::move(wave));
    }
  }
  // A wave with fewer tiles than mu.units (the last one, typically) would leave planes idle: each
  // of its tiles is loaded into mu.units / tiles mu.units, which share its rows.
  for (auto& wave : waves) {
    const auto w = static_cast<int>(wave.size());
    const int copies = std::max(1, mu.units / w);
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
      const int plane0 = u * mu.unit_planes;
      installed_at.push_back(
          install_weights(s, b, a.columns, kt, nt, plane0, mu.f16, kThroughVxmLwRows));
    }
    // 3. One ABC per row of A, its ACC exactly when the result lands, then the partial sum; rows
    // interleaved over the wave's tiles.
    // (A wave of consecutive K chunks of one column tile is scheduled tile by tile instead: each
    // row's chunk c waits for chunk c - 1 anyway.)
    const bool interleave = n_tiles >= mu.units;
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
        const int plane0 = wave[ti].unit * mu.unit_planes;
        const int mxm_pos =
            queue_position(mxm_queue(QueueKind::mxm_weights, plane0), s.config().shape);
        PlaneState& state = plane_state(s.tsp(), plane0);
        const Cycle installed = installed_at[ti];
        Storage& cur = *partial[static_cast<std::size_t>(kt % 2)];
        Chain chain;
        ChainBuilder cb(s, chain);
        Cycle earliest = installed - t_abc.skew_cycles;
        const VectorLoc& act = a.at(m, kt);
        const int act_value =
            cb.value(cb.direction_from(act, mxm_pos), mu.in_width, t_abc.skew_cycles, mxm_pos);
        cb.read(act, act_value, 0, mu.in_width, mxm_pos, t_abc.skew_cycles, earliest);
        const int acc_index = static_cast<int>(m % accumulators);
        // Every ABC here clears and its ACC reads in the cycle it lands: an accumulator holds
        // nothing from one cycle to the next, and one plane's ABCs land in different cycles.
        // So they only keep clear of earlier matmuls' uses (which may hold an accumulator over
        // many cycles), not of each other.
        const auto a_index = static_cast<std::size_t>(acc_index);
        earliest = std::max(earliest, entry_busy[static_cast<std::size_t>(wave[ti].unit)][a_index] -
                                          (t_abc.skew_cycles + t_abc.func_delay_cycles) + 1);
        cb.op(abc_op(plane0, a.dtype, act_value, acc_index, true));
        ChainOp acc = acc_op(plane0, mu.acc_dtype, acc_index);
        acc.offset = t_abc.skew_cycles + t_abc.func_delay_cycles - t_acc.skew_cycles;
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
          add.instr.dtype = mu.acc_dtype;
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
        Cycle& busy = state.acc_busy[a_index];
        busy = std::max(busy, placed.anchor + acc.offset + t_acc.skew_cycles);
        state.last_abc_operand =
            std::max(state.last_abc_operand, placed.anchor + t_abc.skew_cycles);
        if (mu.f16) {
          PlaneState& high = plane_state(s.tsp(), plane0 + 1);
          high.last_abc_operand = std::max(high.last_abc_operand, state.last_abc_operand);
        }
      }
    }
  }
  return std::move(*partial[static_cast<std::size_t>(final_parity)]);
}

}  // namespace tspemu::detail
