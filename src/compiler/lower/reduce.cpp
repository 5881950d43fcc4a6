// reduce along any axis, in the order docs/graph-format.md defines ("Reductions"): the halving
// tree. While m values remain, h = ceil(m / 2) and value i combines with value i + h for every
// i < m - h (the others keep theirs).
//
// Along a leading axis the values are whole vectors (rows), combined lane by lane on the VXM:
// up to three levels of the tree per chain (lower/vxm_chain.hpp: eight stored rows in, one row
// out, the levels chained through the ALUs), a chain per output row, until one row is left.
//
// Along the last axis the values are the row's 320-lane tiles first, combined the same way (the
// last tile's missing lanes hold the fold's identity, so they leave their partners as they are),
// then the lanes of the one vector left. Lanes move on the SXM: a "trip" sends the vector from
// the VXM to an SXM, which returns it shifted by every offset that up to three levels of the tree
// need (SHIFT on up to eight units at once), and the VXM combines the copies: lane i of level
// k + 1 is op(lane i, lane i + h) of level k, so a copy shifted by d carries lane i + d. Three
// levels cost one trip (about 100 cycles) instead of three. A level whose m is odd starts a trip,
// after lanes >= m of its input are set to the identity, so that its kept lanes meet the identity.
// When at most eight lanes are left, one last trip brings copies shifted by 0 .. m-1 and the VXM
// evaluates lane 0's expression, keep rule included, directly. The result lane is selected
// against zeros, so the output's padding lanes are +0.
#include <fmt/format.h>

#include <algorithm>
#include <functional>
#include <map>
#include <set>

#include "common/error.hpp"
#include "common/numerics/half.hpp"
#include "compiler/lower/context.hpp"
#include "compiler/lower/vxm_chain.hpp"

namespace tspemu::detail {
namespace {

// Levels of the halving tree fused into one chain or one SXM trip (2^3 = 8 inputs or copies: 8
// stored rows or 8 shifted vectors of up to 4 streams fill the 32 streams of a direction).
constexpr int kLevelsPerChain = 3;
// Lanes left for the last trip, which evaluates lane 0 alone from that many shifted copies.
constexpr std::int64_t kFinalLanes = 8;

// x op identity == x bit for bit: +0 would turn -0 into +0, so a float sum's identity is -0.
std::uint64_t identity_bits(ReduceFn fn, DType dtype) {
  switch (fn) {
    case ReduceFn::sum:
      return dtype == DType::f16 ? 0x8000 : dtype == DType::f32 ? 0x80000000 : 0;
    case ReduceFn::max:
      switch (dtype) {
        case DType::f16:
          return 0xfc00;  // -inf
        case DType::f32:
          return 0xff800000;
        case DType::i8:
          return 0x80;
        case DType::i16:
          return 0x8000;
        case DType::i32:
          return 0x80000000;
        default:
          return 0;  // u8: 0 is the least
      }
    case ReduceFn::min:
      switch (dtype) {
        case DType::f16:
          return 0x7c00;  // +inf
        case DType::f32:
          return 0x7f800000;
        case DType::i8:
          return 0x7f;
        case DType::i16:
          return 0x7fff;
        case DType::i32:
          return 0x7fffffff;
        default:
          return 0xff;
      }
  }
  return 0;
}

// m after one level of the halving tree.
std::int64_t halved(std::int64_t m) {
  return (m + 1) / 2;
}

Instruction select_instruction(DType dtype) {
  Instruction select;
  select.opcode = Opcode::select;
  select.dtype = dtype;
  return select;
}

}  // namespace

std::vector<VectorLoc> Lowering::halve_vectors(TspSchedule& s, std::vector<VectorLoc> vectors,
                                               const Instruction& fold, int width, std::size_t keep,
                                               VectorLoc* final_dst) {
  while (vectors.size() > keep) {
    // Up to kLevelsPerChain levels: sizes m[0] = count, m[l + 1] = halved(m[l]).
    std::vector<std::int64_t> m{static_cast<std::int64_t>(vectors.size())};
    while (static_cast<int>(m.size()) <= kLevelsPerChain &&
           m.back() > static_cast<std::int64_t>(keep)) {
      m.push_back(halved(m.back()));
    }
    const int levels = static_cast<int>(m.size()) - 1;
    std::vector<VectorLoc> next(static_cast<std::size_t>(m.back()));
    for (std::int64_t i = 0; i < m.back(); ++i) {
      VxmChain chain;
      std::map<std::int64_t, int> leaves;
      // Value i of level l as a node: level 0 are the stored vectors.
      std::function<int(int, std::int64_t)> value = [&](int l, std::int64_t j) {
        if (l == 0) {
          auto it = leaves.find(j);
          if (it == leaves.end()) {
            it = leaves.emplace(j, chain.leaf(vectors[static_cast<std::size_t>(j)], width)).first;
          }
          return it->second;
        }
        const std::int64_t h = m[static_cast<std::size_t>(l)];
        const std::int64_t below = m[static_cast<std::size_t>(l - 1)];
        if (j >= below - h) return value(l - 1, j);  // no partner: keeps its value
        const int operands[2] = {value(l - 1, j), value(l - 1, j + h)};
        return chain.op(fold, operands, width);
      };
      int root = value(levels, i);
      VectorLoc& dst = final_dst != nullptr && m.back() == 1
                           ? *final_dst
                           : (next[static_cast<std::size_t>(i)] = scratch_vector(s, width));
      if (chain.op_count() == 0) {
        // A lone vector (nothing to combine at these levels): copy it through an ALU.
        Instruction mov;
        mov.opcode = Opcode::mov;
        mov.dtype = width == 1 ? DType::i8 : width == 2 ? DType::i16 : DType::i32;
        const int source[1] = {root};
        root = chain.op(mov, source, width);
      }
      chain.store(root, dst);
      chain.place(s);
      if (&dst != &next[static_cast<std::size_t>(i)]) next[static_cast<std::size_t>(i)] = dst;
    }
    vectors = std::move(next);
  }
  return vectors;
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
    Instruction fold;
    fold.opcode = reduce_opcode(op.reduce_fn);
    fold.dtype = x.dtype;
    fold.saturate = op.saturate;
    const std::int64_t n = in_shape[axis];
    for (std::int64_t r = 0; r < out.rows; ++r) {
      auto index = row_index(r, out.shape);
      for (std::int64_t t = 0; t < out.tiles; ++t) {
        if (n == 1) {
          index[axis] = 0;
          copy_vector(s, x.at(row_number(index, in_shape), t), width, out.at(r, t));
          continue;
        }
        std::vector<VectorLoc> rows;
        for (std::int64_t j = 0; j < n; ++j) {
          index[axis] = j;
          rows.push_back(x.at(row_number(index, in_shape), t));
        }
        halve_vectors(s, std::move(rows), fold, width, 1, &out.at(r, t));
      }
    }
    out.padding_clean = x.padding_clean;
    per[i] = std::move(out);
  }
}

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
    const DType dtype = x.dtype;
    const int width = dtype_bytes(dtype);
    Storage out = new_storage(s, out_t.dtype, out_t.local_shape(), out_t.name);
    Instruction fold;
    fold.opcode = reduce_opcode(op.reduce_fn);
    fold.dtype = dtype;
    fold.saturate = op.saturate;
    const std::uint64_t identity = identity_bits(op.reduce_fn, dtype);
    const std::int64_t last_columns = x.tile_columns(x.tiles - 1);
    const bool partial_last = x.tiles > 1 && last_columns < kLanes;
    constexpr auto kChainTiles = static_cast<std::size_t>(1) << kLevelsPerChain;
    for (std::int64_t r = 0; r < x.rows; ++r) {
      std::vector<VectorLoc> tiles;
      for (std::int64_t t = 0; t < x.tiles; ++t) tiles.push_back(x.at(r, t));
      VxmChain chain;
      // A partial last tile gets the identity in its missing lanes: in this chain when the tiles
      // fit in it, else first, through SRAM.
      auto pad = [&](VxmChain& c, int tile) {
        const int operands[3] = {c.leaf(lane_mask(s, dtype, last_columns), width), tile,
                                 c.immediate(identity)};
        return c.op(select_instruction(dtype), operands, width);
      };
      bool padded = !partial_last;
      if (!padded && tiles.size() > kChainTiles) {
        VxmChain c;
        VectorLoc stored = scratch_vector(s, width);
        c.store(pad(c, c.leaf(tiles.back(), width)), stored);
        c.place(s);
        tiles.back() = stored;
        padded = true;
      }
      tiles = halve_vectors(s, std::move(tiles), fold, width, kChainTiles, nullptr);
      // The tiles left (at most eight) combined in this chain: the tree's last tile levels.
      std::vector<int> values;
      for (const VectorLoc& t : tiles) values.push_back(chain.leaf(t, width));
      if (!padded) values.back() = pad(chain, values.back());
      while (values.size() > 1) {
        const std::size_t count = values.size();
        const auto h = static_cast<std::size_t>(halved(static_cast<std::int64_t>(count)));
        for (std::size_t j = 0; j + h < count; ++j) {
          const int operands[2] = {values[j], values[j + h]};
          values[j] = chain.op(fold, operands, width);
        }
        values.resize(h);
      }
      int v = values[0];
      // The lanes. Rows alternate between the SXMs of the two hemispheres.
      const Hemisphere sxm = r % 2 == 0 ? Hemisphere::west : Hemisphere::east;
      std::int64_t m = std::min<std::int64_t>(x.columns, kLanes);
      while (m > kFinalLanes) {
        if (m % 2 != 0) {
          // Lanes >= m to the identity, so that the kept lanes' partners leave them as they are.
          const int operands[3] = {chain.leaf(lane_mask(s, dtype, m), width), v,
                                   chain.immediate(identity)};
          v = chain.op(select_instruction(dtype), operands, width);
        }
        // This trip's levels: the first (odd or even) and then even ones, down to kFinalLanes.
        std::vector<std::int64_t> halves;
        std::int64_t cur = m;
        do {
          cur = halved(cur);
          halves.push_back(cur);
        } while (static_cast<int>(halves.size()) < kLevelsPerChain && cur > kFinalLanes &&
                 cur % 2 == 0);
        // Offsets each level needs, from the trip's result (offset 0) back to its input.
        std::vector<std::set<std::int64_t>> need(halves.size() + 1);
        need[halves.size()] = {0};
        for (std::size_t l = halves.size(); l-- > 0;) {
          need[l] = need[l + 1];
          for (const std::int64_t d : need[l + 1]) need[l].insert(d + halves[l]);
        }
        std::map<std::int64_t, int> copies;
        for (const std::int64_t d : need[0]) {
          copies[d] = chain.shift(v, static_cast<int>(d), sxm, dtype, width);
        }
        for (std::size_t l = 0; l < halves.size(); ++l) {
          std::map<std::int64_t, int> next;
          for (const std::int64_t d : need[l + 1]) {
            const int operands[2] = {copies.at(d), copies.at(d + halves[l])};
            next[d] = chain.op(fold, operands, width);
          }
          copies = std::move(next);
        }
        v = copies.at(0);
        m = cur;
      }
      if (m > 1) {
        // The last lanes: lane 0's own tree over copies shifted by 0 .. m-1.
        std::vector<int> lanes;
        for (std::int64_t d = 0; d < m; ++d) {
          lanes.push_back(chain.shift(v, static_cast<int>(d), sxm, dtype, width));
        }
        while (lanes.size() > 1) {
          const std::size_t count = lanes.size();
          const auto h = static_cast<std::size_t>(halved(static_cast<std::int64_t>(count)));
          for (std::size_t j = 0; j + h < count; ++j) {
            const int operands[2] = {lanes[j], lanes[j + h]};
            lanes[j] = chain.op(fold, operands, width);
          }
          lanes.resize(h);
        }
        v = lanes[0];
      }
      // Lane 0 is the result; the padding lanes become +0.
      const int operands[3] = {chain.leaf(lane_mask(s, dtype, 1), width), v, chain.immediate(0)};
      chain.store(chain.op(select_instruction(dtype), operands, width), out.at(r, 0));
      chain.place(s);
    }
    out.padding_clean = true;
    per[i] = std::move(out);
  }
}

}  // namespace tspemu::detail
