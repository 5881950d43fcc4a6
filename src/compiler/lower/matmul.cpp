// matmul on the MXM planes.
#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>

#include "common/error.hpp"
#include "compiler/lower/context.hpp"
#include "isa/op_table.hpp"
#include "isa/queue.hpp"

namespace tspemu::detail {

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

}  // namespace tspemu::detail
