// SRAM lifetimes: which allocations a tensor keeps alive, and when they are released
// (lower/sram_allocator.hpp says how released rows are reused safely; docs/compiler.md, "SRAM").
//
// A live tensor holds the blocks its vectors are in (a reshape or slice may hold its input's
// blocks too). A tensor dies when the last op reading it has been lowered, unless it is a graph
// output; a block no live tensor holds is released. Blocks an op allocated that its result does not
// hold (staging copies, partial sums, fold temporaries) are released as soon as the op is lowered:
// every access to them has been placed by then. Pinned blocks (constants and caches) never are.
#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "common/error.hpp"
#include "compiler/lower/context.hpp"

namespace tspemu::detail {

std::set<std::pair<std::int32_t, std::int32_t>> Lowering::blocks_of(std::int32_t tensor) {
  std::set<std::pair<std::int32_t, std::int32_t>> blocks;
  const auto& per = storage_[static_cast<std::size_t>(tensor)];
  const Tensor& t = graph_.tensor(tensor);
  for (std::size_t i = 0; i < per.size(); ++i) {
    if (!per[i]) continue;
    const TspSchedule& s = sched(t.placement.tsps[i]);
    for (const VectorLoc& loc : per[i]->vecs) {
      const std::int32_t block = s.block_of(loc);
      if (block >= 0) blocks.emplace(s.tsp().value, block);
    }
  }
  return blocks;
}

void Lowering::hold(std::int32_t tensor) {
  for (const auto& key : blocks_of(tensor)) ++block_refs_[key];
}

void Lowering::drop(std::int32_t tensor) {
  for (const auto& key : blocks_of(tensor)) {
    auto it = block_refs_.find(key);
    TSPEMU_ASSERT(it != block_refs_.end(), "a dropped tensor held its blocks");
    if (--it->second > 0) continue;
    block_refs_.erase(it);
    SramAllocator& sram = sched(TspId{key.first}).sram();
    if (sram.live(key.second) && !sram.pinned(key.second)) sram.release(key.second);
  }
}

std::vector<std::int32_t> Lowering::completed_by(const Op& op) const {
  std::vector<std::int32_t> ops{op.index};
  for (std::size_t i = 0; i < ops.size(); ++i) {
    for (const std::int32_t input : graph_.ops[static_cast<std::size_t>(ops[i])].inputs) {
      const std::int32_t producer = graph_.tensor(input).producer;
      if (producer >= 0 && fused_into_consumer(graph_.ops[static_cast<std::size_t>(producer)]) &&
          std::find(ops.begin(), ops.end(), producer) == ops.end()) {
        ops.push_back(producer);
      }
    }
  }
  return ops;
}

std::map<std::int32_t, std::int32_t> Lowering::block_marks() const {
  std::map<std::int32_t, std::int32_t> marks;
  for (const auto& [id, s] : schedules_) marks[id] = s->sram().blocks();
  return marks;
}

void Lowering::set_reuse_horizons(const Op& op) {
  // The op's inputs are complete by then: rows released earlier never hold back its writes. (Its
  // first writes may come earlier, pipelined behind its inputs' first rows; a write into rows
  // released later than that waits, which costs a chain of streaming ops about 1 % of its cycles
  // and keeps the SRAM they need at two tensors.)
  Cycle horizon = 0;
  for (const std::int32_t o : completed_by(op)) {
    for (const std::int32_t input : graph_.ops[static_cast<std::size_t>(o)].inputs) {
      for (const auto& st : storage_[static_cast<std::size_t>(input)]) {
        if (!st) continue;
        for (const VectorLoc& loc : st->vecs) {
          if (loc.ready < kNotWritten) horizon = std::max(horizon, loc.ready);
        }
      }
    }
  }
  for (auto& [id, s] : schedules_) s->sram().set_reuse_horizon(horizon);
}

void Lowering::after_lowering(const Op& op, const std::map<std::int32_t, std::int32_t>& marks) {
  if (fused_into_consumer(op)) {
    return;  // lowered with its consumer
  }
  const auto out = static_cast<std::size_t>(op.output);
  hold(op.output);
  for (const std::int32_t o : completed_by(op)) {
    std::vector<std::int32_t> inputs = graph_.ops[static_cast<std::size_t>(o)].inputs;
    std::sort(inputs.begin(), inputs.end());
    inputs.erase(std::unique(inputs.begin(), inputs.end()), inputs.end());
    for (const std::int32_t input : inputs) {
      const auto in = static_cast<std::size_t>(input);
      if (storage_[in].empty()) continue;  // a fused intermediate: never stored
      if (--remaining_readers_[in] == 0 && !is_output_[in]) drop(input);
    }
  }
  if (readers_[out].empty() && !is_output_[out]) drop(op.output);
  // What the op allocated and its result does not hold.
  for (auto& [id, s] : schedules_) {
    const auto mark = marks.find(id);
    SramAllocator& sram = s->sram();
    for (std::int32_t b = mark == marks.end() ? 0 : mark->second; b < sram.blocks(); ++b) {
      if (sram.live(b) && !sram.pinned(b) && block_refs_.count({id, b}) == 0) sram.release(b);
    }
  }
}

void Lowering::preallocate_outputs() {
  for (const std::int32_t index : graph_.outputs) {
    const Tensor& t = graph_.tensor(index);
    if (t.producer < 0) continue;
    for (const TspId tsp : t.placement.tsps) {
      preallocated_.emplace(
          std::make_pair(tsp.value, index),
          new_storage(sched(tsp), t.dtype, t.local_shape(), t.name, -1, nullptr, RowUse::pinned));
    }
  }
}

void Lowering::declare_outputs() {
  for (const std::int32_t index : graph_.outputs) {
    const Tensor& t = graph_.tensor(index);
    for (std::size_t i = 0; i < t.placement.tsps.size(); ++i) {
      TspSchedule& s = sched(t.placement.tsps[i]);
      Storage& st = storage(index, i);
      const bool declared = std::all_of(st.vecs.begin(), st.vecs.end(), [&](const VectorLoc& v) {
        return v.segment >= 0 && s.segment_declared(v.segment);
      });
      if (declared) continue;
      // An output that took over rows of a temporary (a reshape of one, say): copied to rows of
      // its own, which the program declares.
      Storage copy = new_storage(s, st.dtype, st.shape, fmt::format("{}_out", t.name), -1, nullptr,
                                 RowUse::pinned);
      copy.padding_clean = st.padding_clean;
      for (std::size_t v = 0; v < st.vecs.size(); ++v) {
        copy_vector(s, st.vecs[v], dtype_bytes(st.dtype), copy.vecs[v]);
      }
      st = std::move(copy);
    }
  }
}

}  // namespace tspemu::detail
