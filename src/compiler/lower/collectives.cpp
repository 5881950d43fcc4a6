// Collectives: send, broadcast, all_gather, all_reduce, reduce_scatter.
#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <limits>
#include <map>
#include <optional>
#include <tuple>
#include <vector>

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
      // The input is on one TSP or replicated (the copy on its first TSP moves); a TSP of `to`
      // that holds a copy already keeps its own.
      const Storage& x = storage(op.inputs[0], 0);
      for (std::size_t i = 0; i < out_t.placement.tsps.size(); ++i) {
        const TspId to = out_t.placement.tsps[i];
        const auto held = std::find(in_tsps.begin(), in_tsps.end(), to);
        if (held != in_tsps.end()) {
          per[i] = storage(op.inputs[0], static_cast<std::size_t>(held - in_tsps.begin()));
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
  lower_tree_collective(op);
}

// all_reduce / reduce_scatter in the tree of docs/graph-format.md ("Collectives"): per vector, the
// participants' values are combined per node (halving tree over its TSPs), the node results per
// rack, the rack results over the racks. Each combination runs at one TSP, its owner, after the
// values it combines have moved there; then (all_reduce) the result travels back down the tree.
// Owners are chosen per vector so that the traffic spreads and the hops stay few:
//   - the top owner d: the part's TSP (reduce_scatter), else participant v mod n, so that every
//     TSP owns an equal share of the vectors and every link of a node's full mesh carries its
//     share;
//   - a rack's owner: d if d is in it, else the rack's participant nearest to d (fewest hops; ties
//     rotate with v);
//   - a node's owner: its rack's owner if in it, else the node's participant nearest to that owner.
// Where a group has one member, its value passes up unchanged. Stage by stage over all vectors
// (never vector by vector): a stage's transfers of all vectors pipeline over the links.
void Lowering::lower_tree_collective(const Op& op) {
  const Tensor& in_t = graph_.tensor(op.inputs[0]);
  const Tensor& out_t = graph_.tensor(op.output);
  const auto& in_tsps = in_t.placement.tsps;
  auto& per = storage_[static_cast<std::size_t>(op.output)];
  const Shape out_shape = out_t.local_shape();
  const std::size_t n = in_tsps.size();
  const Storage& x0 = storage(op.inputs[0], 0);
  const Shape in_shape = in_t.local_shape();
  const int width = dtype_bytes(in_t.dtype);
  Instruction fold;
  fold.opcode = reduce_opcode(op.reduce_fn);
  fold.dtype = in_t.dtype;
  fold.saturate = op.saturate;
  std::int64_t part_rows = 0;
  if (op.kind == OpKind::reduce_scatter) {
    const auto axis = static_cast<std::size_t>(op.axis);
    if (axis + 1 == in_shape.size()) unsupported(op, "reduce_scatter along the last axis (lanes)");
    part_rows = out_shape[axis];
  }
  // The tree: racks ascending, their nodes ascending, their participants ascending (positions).
  CollectiveTree tree;
  for (std::size_t i = 0; i < n; ++i) {
    tree[op.tsp_racks[i]][op.tsp_nodes[i]].push_back(i);
  }
  std::vector<Storage> results;
  for (std::size_t i = 0; i < n; ++i) {
    results.push_back(new_storage(sched(in_tsps[i]), out_t.dtype, out_shape, out_t.name));
  }
  bool clean = true;
  for (std::size_t i = 0; i < n; ++i) clean = clean && storage(op.inputs[0], i).padding_clean;
  // A small all_reduce is latency-bound: every TSP computes the whole tree itself.
  if (op.kind == OpKind::all_reduce && n > 1 &&
      x0.rows * x0.tiles * width <= kReplicatedAllReducePlanes) {
    replicated_all_reduce(op, tree, fold, results);
    per.resize(n);
    for (std::size_t i = 0; i < n; ++i) {
      results[i].padding_clean = clean;
      per[i] = std::move(results[i]);
    }
    return;
  }

  // The participant of `members` nearest to `target` (fewest hops), ties rotating with v.
  auto nearest = [&](const std::vector<std::size_t>& members, std::size_t target, std::size_t v) {
    std::vector<std::size_t> best;
    int best_hops = 1 << 30;
    for (const std::size_t m : members) {
      const int hops = routing().distance(in_tsps[m], in_tsps[target]);
      if (hops < best_hops) best.clear();
      if (hops <= best_hops) {
        best_hops = hops;
        best.push_back(m);
      }
    }
    return best[v % best.size()];
  };
  auto contains = [](const std::vector<std::size_t>& members, std::size_t m) {
    return std::find(members.begin(), members.end(), m) != members.end();
  };

  // Per vector: owners, and the value each group passes up (its location on its owner).
  struct Group {
    std::size_t owner = 0;
    VectorLoc value;
    std::vector<VectorLoc> gathered;  // the children's values at the owner, in tree order
  };
  struct Vec {
    std::int64_t r = 0, t = 0, part_row = 0;
    std::size_t top = 0;
    std::vector<Group> racks;               // tree order
    std::vector<std::vector<Group>> nodes;  // per rack, tree order
  };
  const std::size_t vectors = static_cast<std::size_t>(x0.rows * x0.tiles);
  std::vector<Vec> vecs(vectors);
  for (std::size_t v = 0; v < vectors; ++v) {
    Vec& x = vecs[v];
    x.r = static_cast<std::int64_t>(v) / x0.tiles;
    x.t = static_cast<std::int64_t>(v) % x0.tiles;
    x.part_row = x.r;
    x.top = v % n;
    if (op.kind == OpKind::reduce_scatter) {
      const auto axis = static_cast<std::size_t>(op.axis);
      auto ii = row_index(x.r, in_shape);
      x.top = static_cast<std::size_t>(ii[axis] / part_rows);
      ii[axis] -= static_cast<std::int64_t>(x.top) * part_rows;
      x.part_row = row_number(ii, out_shape);
    }
    for (const auto& [rack, nodes] : tree) {
      std::vector<std::size_t> rack_members;
      for (const auto& [node, members] : nodes) {
        rack_members.insert(rack_members.end(), members.begin(), members.end());
      }
      Group rg;
      rg.owner = contains(rack_members, x.top) ? x.top : nearest(rack_members, x.top, v);
      x.racks.push_back(rg);
      auto& node_groups = x.nodes.emplace_back();
      for (const auto& [node, members] : nodes) {
        Group ng;
        ng.owner = contains(members, rg.owner) ? rg.owner : nearest(members, rg.owner, v);
        node_groups.push_back(ng);
      }
    }
  }
  // Where the final value of vector x lands: its top owner's result.
  auto final_dst = [&](Vec& x) -> VectorLoc& { return results[x.top].at(x.part_row, x.t); };
  // The number of groups with more than one member at each level decides which combination is
  // the last one (it writes the result directly).
  std::size_t racks_count = tree.size();
  bool any_node_combines = false;
  bool any_rack_combines = false;
  for (const auto& [rack, nodes] : tree) {
    any_rack_combines = any_rack_combines || nodes.size() > 1;
    for (const auto& [node, members] : nodes)
      any_node_combines = any_node_combines || members.size() > 1;
  }
  // Moves `value` (on `from`) to `to`, into a scratch vector there (or `dst` if given).
  auto move_to = [&](std::size_t from, const VectorLoc& value, std::size_t to) {
    if (from == to) return value;
    VectorLoc moved = scratch_vector(sched(in_tsps[to]), width);
    transfer_vector(in_tsps[from], value, in_tsps[to], moved);
    return moved;
  };
  // Combines `g.gathered` at g.owner by the halving tree; the result into `dst` if given.
  auto combine = [&](Group& g, VectorLoc* dst) {
    if (g.gathered.size() == 1 && dst == nullptr) {
      g.value = g.gathered[0];
      return;
    }
    if (g.gathered.size() == 1) {
      copy_vector(sched(in_tsps[g.owner]), g.gathered[0], width, *dst);
      g.value = *dst;
      return;
    }
    const auto out = halve_vectors(sched(in_tsps[g.owner]), g.gathered, fold, width, 1, dst);
    g.value = out[0];
  };
  const bool one_tsp = n == 1;
  // (1) Nodes: every participant's value to its node's owner, then the node's combination.
  for (Vec& x : vecs) {
    std::size_t ri = 0;
    for (const auto& [rack, nodes] : tree) {
      std::size_t ni = 0;
      for (const auto& [node, members] : nodes) {
        Group& g = x.nodes[ri][ni++];
        for (const std::size_t m : members) {
          g.gathered.push_back(move_to(m, storage(op.inputs[0], m).at(x.r, x.t), g.owner));
        }
      }
      ++ri;
    }
  }
  for (Vec& x : vecs) {
    for (auto& node_groups : x.nodes) {
      for (Group& g : node_groups) {
        const bool last = !any_rack_combines && racks_count == 1;
        combine(g, last || one_tsp ? &final_dst(x) : nullptr);
      }
    }
  }
  if (!one_tsp) {
    // (2) Racks: node results to the rack's owner, then the rack's combination.
    for (Vec& x : vecs) {
      for (std::size_t ri = 0; ri < x.racks.size(); ++ri) {
        Group& rg = x.racks[ri];
        for (Group& ng : x.nodes[ri]) rg.gathered.push_back(move_to(ng.owner, ng.value, rg.owner));
      }
    }
    for (Vec& x : vecs) {
      for (Group& rg : x.racks) {
        if (rg.gathered.size() == 1) {
          rg.value = rg.gathered[0];
          continue;
        }
        combine(rg, racks_count == 1 ? &final_dst(x) : nullptr);
      }
    }
    // (3) The system: rack results to the top owner, then the last combination.
    if (racks_count > 1) {
      for (Vec& x : vecs) {
        Group top;
        top.owner = x.top;
        for (Group& rg : x.racks) top.gathered.push_back(move_to(rg.owner, rg.value, x.top));
        x.racks.push_back(top);  // kept with the vector until combined
      }
      for (Vec& x : vecs) {
        Group& g = x.racks.back();
        combine(g, &final_dst(x));
        x.racks.pop_back();
      }
    }
  }
  // (4) all_reduce: the result back down the tree, into every participant's result.
  if (op.kind == OpKind::all_reduce && !one_tsp) {
    for (Vec& x : vecs) {
      for (Group& rg : x.racks) {
        if (rg.owner != x.top) {
          transfer_vector(in_tsps[x.top], final_dst(x), in_tsps[rg.owner],
                          results[rg.owner].at(x.r, x.t));
        }
      }
    }
    for (Vec& x : vecs) {
      for (std::size_t ri = 0; ri < x.racks.size(); ++ri) {
        const std::size_t ro = x.racks[ri].owner;
        for (Group& ng : x.nodes[ri]) {
          if (ng.owner != ro) {
            transfer_vector(in_tsps[ro], results[ro].at(x.r, x.t), in_tsps[ng.owner],
                            results[ng.owner].at(x.r, x.t));
          }
        }
      }
    }
    for (Vec& x : vecs) {
      std::size_t ri = 0;
      for (const auto& [rack, nodes] : tree) {
        std::size_t ni = 0;
        for (const auto& [node, members] : nodes) {
          const std::size_t no = x.nodes[ri][ni++].owner;
          for (const std::size_t m : members) {
            if (m == no) continue;
            transfer_vector(in_tsps[no], results[no].at(x.r, x.t), in_tsps[m],
                            results[m].at(x.r, x.t));
          }
        }
        ++ri;
      }
    }
  }
  per.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    results[i].padding_clean = clean;
    per[i] = std::move(results[i]);
  }
}

// The small all_reduce: at every level of the tree, each child's value spreads to every TSP of its
// group (from the TSPs that hold it, one link at a time: a breadth-first spread, so a node's values
// cross its full mesh once; a rack's node values cross one global link per node pair, then the
// node; a system's rack values one inter-rack link per rack pair, then the rack), and every TSP
// combines its group's values itself, in the tree's order: the same bits everywhere. The critical
// path is one crossing per level instead of a trip up to an owner and back down; the traffic is a
// value per TSP and child instead of a share of it, which only small tensors can afford
// (kReplicatedAllReducePlanes).
void Lowering::replicated_all_reduce(const Op& op, const CollectiveTree& tree,
                                     const Instruction& fold, std::vector<Storage>& results) {
  const Tensor& in_t = graph_.tensor(op.inputs[0]);
  const auto& in_tsps = in_t.placement.tsps;
  const std::size_t n = in_tsps.size();
  const Storage& x0 = storage(op.inputs[0], 0);
  const int width = dtype_bytes(in_t.dtype);
  (void)routing();  // link_free needs the routes
  auto dst_of = [&](std::size_t v, std::size_t m) -> VectorLoc* {
    return &results[m].at(static_cast<std::int64_t>(v) / x0.tiles,
                          static_cast<std::int64_t>(v) % x0.tiles);
  };
  // Participant position of every TSP of the topology (-1: not a participant).
  std::vector<std::int32_t> position_of(topology_.tsp_count(), -1);
  for (std::size_t i = 0; i < n; ++i)
    position_of[in_tsps[i].index()] = static_cast<std::int32_t>(i);
  // One value of one vector: where it is held (position -> its location on that TSP).
  using Held = std::map<std::size_t, VectorLoc>;
  struct Spread {
    Held* value;
    const std::vector<std::size_t>* targets;
    // The final result of this vector (v): received straight into every target's result.
    std::optional<std::size_t> result_vector;
  };
  // Spreads every value to its targets, all values stage by stage (a stage's sends never wait
  // behind a later stage's on a link): in each stage every target one link away from a holder
  // receives from the holder whose vector can arrive soonest; a target no holder is a link away
  // from (a placement with gaps) waits, or, when nothing moves, takes a minimal route from the
  // nearest.
  auto spread = [&](std::vector<Spread> jobs) {
    std::vector<std::vector<std::size_t>> pending(jobs.size());
    for (std::size_t j = 0; j < jobs.size(); ++j) {
      for (const std::size_t t : *jobs[j].targets) {
        if (jobs[j].value->count(t) == 0) pending[j].push_back(t);
      }
    }
    for (bool more = true; more;) {
      more = false;
      std::vector<std::tuple<std::size_t, std::size_t, std::size_t>> moves;  // (job, target, from)
      for (std::size_t j = 0; j < jobs.size(); ++j) {
        std::vector<std::size_t> later;
        bool moved = false;
        for (const std::size_t t : pending[j]) {
          std::size_t best = n;
          Cycle best_at = std::numeric_limits<Cycle>::max();
          // The holders one link away: the target's neighbours that hold the value (a TSP has a
          // dozen neighbours; a value may have thousands of holders). Ascending participant
          // position, so ties go to the lowest, as before.
          for (const TspId nb : routing().neighbours(in_tsps[t])) {
            const std::int32_t h_pos = position_of[nb.index()];
            if (h_pos < 0) continue;
            const auto held = jobs[j].value->find(static_cast<std::size_t>(h_pos));
            if (held == jobs[j].value->end()) continue;
            const std::size_t h = held->first;
            // By estimated arrival: a free optical link to another rack loses to a busier
            // 217-cycle link inside the rack.
            const Cycle at = std::max(held->second.ready, link_free(in_tsps[h], in_tsps[t])) +
                             link_latency_cycles(in_tsps[h], in_tsps[t]);
            if (at < best_at || (at == best_at && h < best)) {
              best = h;
              best_at = at;
            }
          }
          if (best == n) {
            later.push_back(t);
          } else {
            moves.emplace_back(j, t, best);
            moved = true;
          }
        }
        if (!moved && !later.empty()) {
          for (const std::size_t t : later) {
            std::size_t best = jobs[j].value->begin()->first;
            for (const auto& [h, loc] : *jobs[j].value) {
              if (routing().distance(in_tsps[h], in_tsps[t]) <
                  routing().distance(in_tsps[best], in_tsps[t])) {
                best = h;
              }
            }
            moves.emplace_back(j, t, best);
          }
          later.clear();
        }
        pending[j] = std::move(later);
        more = more || !pending[j].empty();
      }
      for (const auto& [j, t, h] : moves) {
        VectorLoc moved = jobs[j].result_vector ? *dst_of(*jobs[j].result_vector, t)
                                                : scratch_vector(sched(in_tsps[t]), width);
        transfer_vector(in_tsps[h], jobs[j].value->at(h), in_tsps[t], moved);
        if (jobs[j].result_vector) *dst_of(*jobs[j].result_vector, t) = moved;
        jobs[j].value->emplace(t, moved);
      }
    }
  };
  // Combines `values` (tree order) on position m: into `dst` if given, else a scratch vector.
  auto combine = [&](std::size_t m, const std::vector<VectorLoc>& values, VectorLoc* dst) {
    if (values.size() == 1) {
      if (dst == nullptr) return values[0];
      copy_vector(sched(in_tsps[m]), values[0], width, *dst);
      return *dst;
    }
    return halve_vectors(sched(in_tsps[m]), values, fold, width, 1, dst)[0];
  };
  // Which level combines last (it writes the results): the system with two racks or more, else
  // the one rack with two nodes or more, else the one node.
  const bool system_combines = tree.size() > 1;
  const bool rack_combines = !system_combines && tree.begin()->second.size() > 1;
  const auto vectors = static_cast<std::size_t>(x0.rows * x0.tiles);
  // Group member lists: per rack, per node; per rack; everyone.
  std::vector<std::vector<std::vector<std::size_t>>> node_members;
  std::vector<std::vector<std::size_t>> rack_members;
  for (const auto& [rack, nodes] : tree) {
    auto& nm = node_members.emplace_back();
    auto& rm = rack_members.emplace_back();
    for (const auto& [node, members] : nodes) {
      nm.push_back(members);
      rm.insert(rm.end(), members.begin(), members.end());
    }
  }
  std::vector<std::size_t> everyone(n);
  for (std::size_t i = 0; i < n; ++i) everyone[i] = i;

  // (1) Nodes: every member's value across its node; each member combines the node's values.
  std::vector<std::vector<std::vector<std::vector<Held>>>> inputs(vectors);  // [v][rack][node][m]
  std::vector<Spread> jobs;
  for (std::size_t v = 0; v < vectors; ++v) {
    const std::int64_t r = static_cast<std::int64_t>(v) / x0.tiles;
    const std::int64_t t = static_cast<std::int64_t>(v) % x0.tiles;
    for (std::size_t ri = 0; ri < node_members.size(); ++ri) {
      auto& per_node = inputs[v].emplace_back();
      for (const auto& members : node_members[ri]) {
        auto& held = per_node.emplace_back();
        for (const std::size_t m : members)
          held.push_back(Held{{m, storage(op.inputs[0], m).at(r, t)}});
      }
    }
  }
  for (std::size_t v = 0; v < vectors; ++v) {
    for (std::size_t ri = 0; ri < node_members.size(); ++ri) {
      for (std::size_t ni = 0; ni < node_members[ri].size(); ++ni) {
        for (Held& h : inputs[v][ri][ni]) {
          jobs.push_back({&h, &node_members[ri][ni], std::nullopt});
        }
      }
    }
  }
  spread(std::move(jobs));
  std::vector<std::vector<std::vector<Held>>> node_value(vectors);  // [v][rack][node]
  for (std::size_t v = 0; v < vectors; ++v) {
    for (std::size_t ri = 0; ri < node_members.size(); ++ri) {
      auto& per_node = node_value[v].emplace_back();
      for (std::size_t ni = 0; ni < node_members[ri].size(); ++ni) {
        Held& value = per_node.emplace_back();
        const bool last = !system_combines && !rack_combines;
        for (const std::size_t m : node_members[ri][ni]) {
          std::vector<VectorLoc> values;
          for (const Held& h : inputs[v][ri][ni]) values.push_back(h.at(m));
          value.emplace(m, combine(m, values, last ? dst_of(v, m) : nullptr));
        }
      }
    }
  }
  if (!system_combines && !rack_combines) return;
  // (2) Racks: every node's value across its rack; each member combines the rack's node values.
  jobs.clear();
  for (std::size_t v = 0; v < vectors; ++v) {
    for (std::size_t ri = 0; ri < node_members.size(); ++ri) {
      if (node_members[ri].size() == 1) continue;  // one node: its value is the rack's
      for (Held& h : node_value[v][ri]) jobs.push_back({&h, &rack_members[ri], std::nullopt});
    }
  }
  spread(std::move(jobs));
  std::vector<std::vector<Held>> rack_value(vectors);  // [v][rack]
  for (std::size_t v = 0; v < vectors; ++v) {
    for (std::size_t ri = 0; ri < node_members.size(); ++ri) {
      Held& value = rack_value[v].emplace_back();
      if (node_members[ri].size() == 1) {
        value = node_value[v][ri][0];
        continue;
      }
      for (const std::size_t m : rack_members[ri]) {
        std::vector<VectorLoc> values;
        for (const Held& h : node_value[v][ri]) values.push_back(h.at(m));
        value.emplace(m, combine(m, values, system_combines ? nullptr : dst_of(v, m)));
      }
    }
  }
  if (!system_combines) return;
  if (tree.size() <= kReplicatedRacks) {
    // (3) The system: every rack's value everywhere; each TSP combines the racks' values.
    jobs.clear();
    for (std::size_t v = 0; v < vectors; ++v) {
      for (Held& h : rack_value[v]) jobs.push_back({&h, &everyone, std::nullopt});
    }
    spread(std::move(jobs));
    for (std::size_t v = 0; v < vectors; ++v) {
      for (std::size_t m = 0; m < n; ++m) {
        std::vector<VectorLoc> values;
        for (const Held& h : rack_value[v]) values.push_back(h.at(m));
        (void)combine(m, values, dst_of(v, m));
      }
    }
    return;
  }
  // (3) Many racks: a value per TSP and rack would be too much traffic. The racks' values go to
  // one TSP per vector (participant v mod n, from each rack's TSP nearest to it), which combines
  // them; the result spreads to every TSP.
  std::vector<Held> final_value(vectors);
  for (std::size_t v = 0; v < vectors; ++v) {
    const std::size_t top = v % n;
    std::vector<VectorLoc> values;
    for (std::size_t ri = 0; ri < rack_value.size(); ++ri) {
      const Held& h = rack_value[v][ri];
      std::size_t from = h.begin()->first;
      for (const auto& [m, loc] : h) {
        if (routing().distance(in_tsps[m], in_tsps[top]) <
            routing().distance(in_tsps[from], in_tsps[top])) {
          from = m;
        }
      }
      if (from == top) {
        values.push_back(h.at(from));
        continue;
      }
      VectorLoc moved = scratch_vector(sched(in_tsps[top]), width);
      transfer_vector(in_tsps[from], h.at(from), in_tsps[top], moved);
      values.push_back(moved);
    }
    final_value[v].emplace(top, combine(top, values, dst_of(v, top)));
  }
  jobs.clear();
  for (std::size_t v = 0; v < vectors; ++v) jobs.push_back({&final_value[v], &everyone, v});
  spread(std::move(jobs));
}

}  // namespace tspemu::detail
