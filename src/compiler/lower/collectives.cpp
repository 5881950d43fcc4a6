// Collectives: send, broadcast, all_gather, all_reduce, reduce_scatter.
#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>

#include "common/error.hpp"
#include "compiler/lower/context.hpp"
#include "isa/op_table.hpp"
#include "isa/queue.hpp"

namespace tspemu::detail {

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

}  // namespace tspemu::detail
