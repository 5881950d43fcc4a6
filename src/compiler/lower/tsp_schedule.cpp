#include "compiler/lower/tsp_schedule.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <iterator>
#include <limits>
#include <type_traits>

#include "common/error.hpp"
#include "isa/op_table.hpp"
#include "isa/queue.hpp"
#include "isa/validate.hpp"

namespace tspemu::detail {

namespace {

constexpr std::uint8_t kReadUsed = 1U;
constexpr std::uint8_t kReadBank1 = 2U;
constexpr std::uint8_t kWriteUsed = 4U;
constexpr std::uint8_t kWriteBank1 = 8U;
constexpr Cycle kDiagonalBias = 4096;

}  // namespace

TspSchedule::TspSchedule(TspId tsp, const ChipConfig& config)
    : tsp_(tsp), config_(config), queues_(all_queues(config.shape)), sram_(tsp, config) {
  queue_busy_.resize(queues_.size());
  alu_landings_.resize(static_cast<std::size_t>(config.shape.vxm_alus));
  alu_holds_.resize(static_cast<std::size_t>(config.shape.vxm_alus));
  mem_ports_.resize(static_cast<std::size_t>(config_.mem_slices()));
  emitted_.resize(queues_.size());
  emitted_ops_.resize(queues_.size());
  try_heads_.assign(queues_.size() + static_cast<std::size_t>(config_.mem_slices()) +
                        static_cast<std::size_t>(config_.shape.vxm_alus) +
                        2 * static_cast<std::size_t>(config_.shape.streams_per_direction),
                    TryHead{});
  for (const QueueId& q : queues_) queue_stride_ = std::max(queue_stride_, q.index + 1);
  queue_lookup_.assign(static_cast<std::size_t>(kQueueKinds * 2 * queue_stride_), -1);
  for (std::size_t i = 0; i < queues_.size(); ++i) {
    queue_lookup_[lookup_key(queues_[i])] = static_cast<std::int32_t>(i);
  }
}

std::size_t TspSchedule::lookup_key(QueueId queue) const {
  return static_cast<std::size_t>(
      (static_cast<int>(queue.kind) * 2 + static_cast<int>(queue.hemisphere)) * queue_stride_ +
      queue.index);
}

int TspSchedule::queue_index(QueueId queue) const {
  // A table, not a search of queues_: the scheduler asks for every op of every chain it tries.
  TSPEMU_ASSERT(queue.index >= 0 && queue.index < queue_stride_ &&
                    static_cast<int>(queue.kind) < kQueueKinds &&
                    static_cast<int>(queue.hemisphere) < 2,
                "queue of the chip");
  const std::int32_t i = queue_lookup_[lookup_key(queue)];
  TSPEMU_ASSERT(i >= 0, "queue of the chip");
  return i;
}

QueueId TspSchedule::slice_queue(int slice) const {
  const int m = config_.shape.mem_slices_per_hemisphere;
  return slice < m ? mem_queue(Hemisphere::west, slice) : mem_queue(Hemisphere::east, slice - m);
}

int TspSchedule::slice_position(int slice) const {
  return queue_position(slice_queue(slice), config_.shape);
}

// ---- SRAM
// -----------------------------------------------------------------------------------------

std::int32_t TspSchedule::add_lane_map(LaneMap map) {
  maps_.push_back(std::move(map));
  return static_cast<std::int32_t>(maps_.size() - 1);
}

std::int32_t TspSchedule::add_segment(DataSegment segment) {
  const QueueId& first = segment.at.slices.at(0);
  const int slice = config_.slice_index(first.hemisphere, first.index);
  const std::int32_t block = sram_.block_at(slice, segment.at.address);
  declared_.push_back(block < 0 || !sram_.reused(block));
  data_.push_back(std::move(segment));
  return static_cast<std::int32_t>(data_.size() - 1);
}

// ---- reservation tables -------------------------------------------------------------------------

bool TspSchedule::queue_free(int queue_index, Cycle cycle, int occupancy) const {
  return queue_busy_[static_cast<std::size_t>(queue_index)].free(cycle, cycle + occupancy);
}

std::uint8_t TspSchedule::port_bits(int slice, Cycle cycle) const {
  const auto& pages = mem_ports_[static_cast<std::size_t>(slice)];
  const auto p = static_cast<std::size_t>(cycle / kPortPageCycles);
  if (cycle < 0 || p >= pages.size() || !pages[p]) return 0;
  return (*pages[p])[static_cast<std::size_t>(cycle % kPortPageCycles)];
}

bool TspSchedule::mem_free(int slice, Cycle cycle, bool write, int bank) const {
  const std::uint8_t bits = port_bits(slice, cycle);
  if (write) {
    if (bits & kWriteUsed) return false;
    if ((bits & kReadUsed) && ((bits & kReadBank1) != 0) == (bank == 1)) return false;
  } else {
    if (bits & kReadUsed) return false;
    if ((bits & kWriteUsed) && ((bits & kWriteBank1) != 0) == (bank == 1)) return false;
  }
  return true;
}

void TspSchedule::mem_reserve(int slice, Cycle cycle, bool write, int bank) {
  TSPEMU_ASSERT(cycle >= 0, "MEM access before cycle 0");
  auto& pages = mem_ports_[static_cast<std::size_t>(slice)];
  const auto p = static_cast<std::size_t>(cycle / kPortPageCycles);
  if (p >= pages.size()) pages.resize(p + 1);
  if (!pages[p]) pages[p] = std::make_unique<PortPage>();  // zeroed: no port in use
  auto& bits = (*pages[p])[static_cast<std::size_t>(cycle % kPortPageCycles)];
  if (write) {
    bits |= kWriteUsed;
    if (bank == 1) bits |= kWriteBank1;
  } else {
    bits |= kReadUsed;
    if (bank == 1) bits |= kReadBank1;
  }
}

std::uint64_t TspSchedule::diagonal_key(Direction dir, Cycle diag) {
  const auto d = static_cast<std::uint64_t>(diag + kDiagonalBias);
  return (d << 1) | (dir == Direction::west ? 1U : 0U);
}

const TspSchedule::Diagonal* TspSchedule::diagonal(Direction dir, Cycle diag) const {
  const auto it = streams_.find(diagonal_key(dir, diag));
  return it == streams_.end() ? nullptr : &it->second;
}

bool TspSchedule::stream_free(const Diagonal* d, int stream, int lo, int hi) {
  if (d == nullptr || (stream < 64 && ((d->streams >> stream) & 1U) == 0)) return true;
  for (const Diagonal::Run& run : d->runs) {
    if (run.stream == stream && lo < run.hi && run.lo < hi) return false;
  }
  return true;
}

void TspSchedule::stream_reserve(Direction dir, int stream, Cycle diag, int lo, int hi) {
  Diagonal& d = streams_[diagonal_key(dir, diag)];
  if (stream < 64) d.streams |= std::uint64_t{1} << stream;  // beyond: always scanned
  d.runs.push_back(Diagonal::Run{static_cast<std::int16_t>(stream), static_cast<std::int16_t>(lo),
                                 static_cast<std::int16_t>(hi)});
}

// ---- placing
// --------------------------------------------------------------------------------------

namespace {

// Travel coordinate: positions counted along the value's direction, so [from, to) is increasing.
std::pair<int, int> travel_interval(Direction dir, int from, int to, int positions) {
  const int a = dir == Direction::east ? from : positions - 1 - from;
  const int b = dir == Direction::east ? to : positions - 1 - to;
  return {a, std::max(b, a + 1)};
}

}  // namespace

bool TspSchedule::fits(const Chain& chain, Cycle anchor, Placement& out, Cycle& retry) {
  retry = anchor + 1;
  out.anchor = anchor;
  out.op_queue_index.assign(chain.ops.size(), -1);
  out.value_streams.assign(chain.values.size(), -1);
  // What this try has taken so far, per queue, MEM slice and ALU: lists threaded through the
  // scratch arrays, their heads valid only when stamped with this try's generation. A queue, slice
  // or ALU no earlier op of the chain used (the common case) is one comparison; chains of
  // hundreds of ops made scans of everything taken the largest part of a model's compile.
  if (++fit_generation_ == 0) {
    for (auto& h : try_heads_) h = TryHead{};
    fit_generation_ = 1;
  }
  std::vector<Taken>& taken = try_taken_;
  std::vector<MemTaken>& mem_taken = try_mem_taken_;
  std::vector<AluTaken>& alu_taken = try_alu_taken_;
  taken.clear();
  mem_taken.clear();
  alu_taken.clear();
  // Heads: queues at [0, queues), MEM slices after them, then ALUs, then streams.
  const std::size_t slice_heads = queues_.size();
  const std::size_t alu_heads = slice_heads + static_cast<std::size_t>(config_.mem_slices());
  auto head = [&](std::size_t k) -> int {
    const TryHead& h = try_heads_[k];
    return h.generation == fit_generation_ ? h.first : -1;
  };
  auto push_head = [&](std::size_t k, int index) {
    const int previous = head(k);
    try_heads_[k] = TryHead{fit_generation_, index};
    return previous;
  };
  auto clash = [&](int q, Cycle from, Cycle to) {
    for (int i = head(static_cast<std::size_t>(q)); i >= 0;) {
      const Taken& t = taken[static_cast<std::size_t>(i)];
      if (from < t.to && t.from < to) return true;
      i = t.next;
    }
    return false;
  };
  // Adds `entry` to `list` as the newest of head k's entries.
  auto append = [&](auto& list, std::size_t k, auto entry) {
    entry.next = push_head(k, static_cast<int>(list.size()));
    list.push_back(entry);
  };
  auto take = [&](int q, Cycle from, Cycle to) {
    append(taken, static_cast<std::size_t>(q), Taken{from, to, -1});
  };
  // May a VXM op landing at `landing` and holding until `hold_end` use this ALU's register?
  auto register_free = [&](int alu, Cycle landing, Cycle hold_end, bool holds) {
    const auto a = static_cast<std::size_t>(alu);
    if (!alu_holds_[a].free(landing, landing + 1)) return false;
    if (holds && !alu_landings_[a].free(landing, hold_end + 1)) return false;
    for (int i = head(alu_heads + a); i >= 0;) {
      const AluTaken& t = alu_taken[static_cast<std::size_t>(i)];
      if (landing >= t.landing && landing <= t.hold_end) return false;
      if (holds && t.landing >= landing && t.landing <= hold_end) return false;
      i = t.next;
    }
    return true;
  };
  for (std::size_t i = 0; i < chain.ops.size(); ++i) {
    const ChainOp& op = chain.ops[i];
    const Cycle issue = anchor + op.offset;
    if (issue < 0) return false;
    int chosen = -1;
    // Where a busy queue is free again, as an anchor: the search need not try anything sooner.
    auto jump = [&](int q) {
      return queue_busy_[static_cast<std::size_t>(q)].next_free(issue, op.occupancy) - op.offset;
    };
    const bool vxm = op.any_vxm_alu || op.queue.kind == QueueKind::vxm;
    Cycle landing = 0;
    Cycle hold_end = 0;
    if (vxm) {
      const OpTiming& t = config_.timing.of(op.instr);
      landing = issue + t.skew_cycles + t.func_delay_cycles;
      hold_end = op.alu_hold_until >= 0 ? anchor + op.alu_hold_until : landing;
    }
    const bool holds = op.alu_hold_until >= 0;
    if (op.any_vxm_alu) {
      Cycle soonest = std::numeric_limits<Cycle>::max();
      const bool large_only = needs_large_alu(op.instr);
      for (int alu = 0; alu < config_.shape.vxm_alus; ++alu) {
        if (large_only && !is_large_alu(alu)) continue;
        const int q = queue_index(vxm_queue(alu));
        if (!queue_free(q, issue, op.occupancy) || clash(q, issue, issue + op.occupancy)) {
          soonest = std::min(soonest, jump(q));
          continue;
        }
        if (!register_free(alu, landing, hold_end, holds)) {
          soonest = std::min(soonest, anchor + 1);
          continue;
        }
        chosen = q;
        break;
      }
      if (chosen < 0) {
        retry = std::max(retry, soonest);
        return false;
      }
    } else {
      chosen = queue_index(op.queue);
      if (!queue_free(chosen, issue, op.occupancy) || clash(chosen, issue, issue + op.occupancy)) {
        retry = std::max(retry, jump(chosen));
        return false;
      }
      if (vxm && !register_free(op.queue.index, landing, hold_end, holds)) return false;
      for (QueueId extra : op.also_busy) {
        const int q = queue_index(extra);
        if (!queue_free(q, issue, op.occupancy) || clash(q, issue, issue + op.occupancy)) {
          retry = std::max(retry, jump(q));
          return false;
        }
      }
    }
    out.op_queue_index[i] = chosen;
    if (vxm) {
      const auto alu = static_cast<std::size_t>(queues_[static_cast<std::size_t>(chosen)].index);
      append(alu_taken, alu_heads + alu, AluTaken{landing, hold_end, -1});
    }
    take(chosen, issue, issue + op.occupancy);
    for (QueueId extra : op.also_busy) take(queue_index(extra), issue, issue + op.occupancy);
    if (op.mem_slice >= 0) {
      const Cycle cycle = op.mem_write ? issue + op.mem_write_delay : issue;
      if (!mem_free(op.mem_slice, cycle, op.mem_write, op.mem_bank)) {
        // Every anchor that puts this access on a cycle whose port is taken fails alike: the
        // search may go on where the port is next free (MEM ports fail a quarter of the tries).
        Cycle free_cycle = cycle + 1;
        while (!mem_free(op.mem_slice, free_cycle, op.mem_write, op.mem_bank)) ++free_cycle;
        retry = std::max(retry, anchor + (free_cycle - cycle));
        return false;
      }
      const std::size_t slice_head = slice_heads + static_cast<std::size_t>(op.mem_slice);
      for (int m = head(slice_head); m >= 0;) {
        const MemTaken& t = mem_taken[static_cast<std::size_t>(m)];
        if (t.cycle == cycle && (t.write == op.mem_write || t.bank == op.mem_bank)) return false;
        m = t.next;
      }
      append(mem_taken, slice_head, MemTaken{cycle, op.mem_write, op.mem_bank, -1});
    }
  }
  const int positions = config_.positions();
  const int streams = config_.shape.streams_per_direction;
  std::vector<StreamTaken>& stream_taken = try_stream_taken_;
  stream_taken.clear();
  // Heads of (direction, stream) lists after the ALUs' (try_heads_).
  const std::size_t stream_heads = alu_heads + static_cast<std::size_t>(config_.shape.vxm_alus);
  auto stream_head = [&](Direction dir, int stream) {
    return stream_heads + static_cast<std::size_t>((dir == Direction::east ? 0 : streams) + stream);
  };
  for (std::size_t v = 0; v < chain.values.size(); ++v) {
    const ChainValue& value = chain.values[v];
    const Cycle diag = anchor + value.diag_offset;
    const Diagonal* taken_on_diagonal = diagonal(value.direction, diag);
    int found = -1;
    for (int base = 0; base + value.width <= streams && found < 0; base += value.width) {
      bool ok = true;
      for (int k = 0; k < value.width && ok; ++k) {
        const auto [lo, hi] =
            travel_interval(value.direction, value.from_pos[static_cast<std::size_t>(k)],
                            value.to_pos[static_cast<std::size_t>(k)], positions);
        if (!stream_free(taken_on_diagonal, base + k, lo, hi)) ok = false;
        for (int i = head(stream_head(value.direction, base + k)); i >= 0 && ok;) {
          const StreamTaken& t = stream_taken[static_cast<std::size_t>(i)];
          if (t.diag == diag && lo < t.hi && t.lo < hi) ok = false;
          i = t.next;
        }
      }
      if (ok) found = base;
    }
    if (found < 0) return false;
    out.value_streams[v] = found;
    for (int k = 0; k < value.width; ++k) {
      const auto [lo, hi] =
          travel_interval(value.direction, value.from_pos[static_cast<std::size_t>(k)],
                          value.to_pos[static_cast<std::size_t>(k)], positions);
      append(stream_taken, stream_head(value.direction, found + k), StreamTaken{diag, lo, hi, -1});
    }
  }
  return true;
}

void TspSchedule::commit(const Chain& chain, const Placement& placement) {
  const int positions = config_.positions();
  for (std::size_t v = 0; v < chain.values.size(); ++v) {
    const ChainValue& value = chain.values[v];
    const Cycle diag = placement.anchor + value.diag_offset;
    for (int k = 0; k < value.width; ++k) {
      const auto [lo, hi] =
          travel_interval(value.direction, value.from_pos[static_cast<std::size_t>(k)],
                          value.to_pos[static_cast<std::size_t>(k)], positions);
      stream_reserve(value.direction, placement.value_streams[v] + k, diag, lo, hi);
    }
  }
  for (std::size_t i = 0; i < chain.ops.size(); ++i) {
    const ChainOp& op = chain.ops[i];
    const Cycle issue = placement.anchor + op.offset;
    const int q = placement.op_queue_index[i];
    queue_busy_[static_cast<std::size_t>(q)].reserve(issue, issue + op.occupancy);
    for (QueueId extra : op.also_busy) {
      queue_busy_[static_cast<std::size_t>(queue_index(extra))].reserve(issue,
                                                                        issue + op.occupancy);
    }
    if (op.mem_slice >= 0) {
      const Cycle cycle = op.mem_write ? issue + op.mem_write_delay : issue;
      mem_reserve(op.mem_slice, cycle, op.mem_write, op.mem_bank);
      const std::int32_t block = sram_.block_at(op.mem_slice, op.mem_address);
      if (block >= 0) sram_.touch(block, cycle);
    }
    Instruction instr = op.instr;
    instr.issue_cycle = issue;
    const QueueId& queue = queues_[static_cast<std::size_t>(q)];
    if (queue.kind == QueueKind::vxm) {
      const OpTiming& t = config_.timing.of(instr);
      const Cycle landing = issue + t.skew_cycles + t.func_delay_cycles;
      const auto alu = static_cast<std::size_t>(queue.index);
      // Results nobody reads may land in the same cycle: cover(), not reserve() (which requires
      // free cycles; a double reservation once left overlapping runs that hid a later landing
      // from free() and let two results meet in a register a chained op was reading).
      alu_landings_[alu].cover(landing, landing + 1);
      if (op.alu_hold_until >= 0) {
        alu_holds_[alu].reserve(landing, placement.anchor + op.alu_hold_until + 1);
      }
    }
    for (int k = 0; k < kMaxOperands; ++k) {
      const int producer = op.operand_alu_op[static_cast<std::size_t>(k)];
      if (producer >= 0) {
        instr.operands[k].kind = OperandKind::alu;
        instr.operands[k].value =
            queues_[static_cast<std::size_t>(
                        placement.op_queue_index[static_cast<std::size_t>(producer)])]
                .index;
      }
      const int v = op.operand_value[static_cast<std::size_t>(k)];
      if (v < 0) continue;
      instr.operands[k].kind = OperandKind::stream;
      instr.operands[k].stream.index =
          static_cast<std::int8_t>(placement.value_streams[static_cast<std::size_t>(v)] +
                                   op.operand_component[static_cast<std::size_t>(k)]);
      instr.operands[k].stream.direction = chain.values[static_cast<std::size_t>(v)].direction;
    }
    const OpTiming& timing = config_.timing.of(instr);
    last_active_ = std::max(last_active_, issue + timing.skew_cycles + timing.func_delay_cycles);
    span_first_ = std::min(span_first_, issue);
    span_last_ = std::max(span_last_, issue + timing.skew_cycles + timing.func_delay_cycles);
    ++instruction_count_;
    if (instr.opcode == Opcode::abc) abc_plane_cycles_ += instr.dtype == DType::f16 ? 2 : 1;
    emitted_[static_cast<std::size_t>(q)].push_back(Emitted::of(instr));
    emitted_ops_[static_cast<std::size_t>(q)].push_back(current_op_);
  }
}

namespace {

// The resources a chain asks for, relative to its anchor, as bytes (the key of searched_).
std::string footprint(const Chain& chain) {
  std::string key;
  auto put = [&key](std::int64_t v) { key.append(reinterpret_cast<const char*>(&v), sizeof v); };
  for (const ChainOp& op : chain.ops) {
    // Any VXM ALU: -1, or -2 when only a large one will do.
    put(op.any_vxm_alu
            ? (needs_large_alu(op.instr) ? -2 : -1)
            : (static_cast<std::int64_t>(op.queue.kind) << 24) |
                  (static_cast<std::int64_t>(op.queue.hemisphere) << 16) | op.queue.index);
    put(op.offset);
    put(op.occupancy);
    put(op.mem_slice);
    put((op.mem_write ? 1 : 0) | (op.mem_bank << 1) | (op.mem_write_delay << 8));
    put(op.alu_hold_until);
    for (const std::int16_t producer : op.operand_alu_op) put(producer);
    put(static_cast<std::int64_t>(op.also_busy.size()));
    for (const QueueId& q : op.also_busy) {
      put((static_cast<std::int64_t>(q.kind) << 24) |
          (static_cast<std::int64_t>(q.hemisphere) << 16) | q.index);
    }
  }
  put(-2);
  for (const ChainValue& v : chain.values) {
    put((v.direction == Direction::east ? 0 : 1) | (v.width << 1));
    put(v.diag_offset);
    for (int k = 0; k < v.width; ++k) {
      put(v.from_pos[static_cast<std::size_t>(k)]);
      put(v.to_pos[static_cast<std::size_t>(k)]);
    }
  }
  return key;
}

}  // namespace

Cycle TspSchedule::after_write_floors(const Chain& chain, Cycle earliest) const {
  for (const ChainOp& op : chain.ops) {
    if (op.mem_slice < 0 || !op.mem_write) continue;
    const std::int32_t block = sram_.block_at(op.mem_slice, op.mem_address);
    if (block >= 0) {
      earliest =
          std::max(earliest, sram_.write_floor(block) + 1 - (op.offset + op.mem_write_delay));
    }
  }
  return earliest;
}

Placement TspSchedule::place(const Chain& chain, Cycle earliest) {
  TSPEMU_ASSERT(!finished_, "TspSchedule::place after finish");
  Placement placement;
  Cycle anchor = std::max<Cycle>(after_write_floors(chain, earliest), 0);
  for (const ChainOp& op : chain.ops) anchor = std::max(anchor, -op.offset);
  const std::string key = footprint(chain);
  const auto known = searched_.find(key);
  auto skip_known = [&] {
    if (known != searched_.end() && anchor >= known->second.first &&
        anchor < known->second.second) {
      anchor = known->second.second;
    }
  };
  skip_known();
  const Cycle start = anchor;
  // A chain that fits nowhere within a million cycles of its earliest start is structurally
  // impossible (a lowering bug): fail instead of searching forever.
  const Cycle limit = anchor + 1'000'000;
  Cycle retry = anchor;
  while (!fits(chain, anchor, placement, retry)) {
    anchor = retry;
    skip_known();
    if (anchor > limit) {
      throw ScheduleError(fmt::format("compiler bug: a chain of {} instructions finds no free "
                                      "resources on tsp {} within 1000000 cycles of cycle {}",
                                      chain.ops.size(), tsp_.value, limit - 1'000'000),
                          ErrorContext{.tsp = tsp_.value});
    }
  }
  commit(chain, placement);
  // Everything from `start` to here failed (a known range on the way included): remember it,
  // merged with the known range when they touch.
  std::pair<Cycle, Cycle> failed{start, placement.anchor};
  if (known != searched_.end() && known->second.first <= failed.second &&
      failed.first <= known->second.second) {
    failed.first = std::min(failed.first, known->second.first);
  }
  searched_[key] = failed;
  return placement;
}

TspSchedule::Emitted TspSchedule::Emitted::of(const Instruction& instr) {
  TSPEMU_ASSERT(!instr.where.known(), "a compiled instruction with a source location");
  Emitted e;
  e.opcode = instr.opcode;
  e.dtype = instr.dtype;
  e.src_dtype = instr.src_dtype;
  e.saturate = instr.saturate;
  e.operand_count = instr.operand_count;
  std::copy(std::begin(instr.operands), std::end(instr.operands), e.operands.begin());
  e.issue_cycle = instr.issue_cycle;
  return e;
}

Instruction TspSchedule::Emitted::instruction() const {
  Instruction instr;
  instr.opcode = opcode;
  instr.dtype = dtype;
  instr.src_dtype = src_dtype;
  instr.saturate = saturate;
  instr.operand_count = operand_count;
  std::copy(operands.begin(), operands.end(), std::begin(instr.operands));
  instr.issue_cycle = issue_cycle;
  return instr;
}

TspProgram TspSchedule::finish(std::vector<std::vector<std::int32_t>>* ops) {
  TSPEMU_ASSERT(!finished_, "TspSchedule::finish twice");
  finished_ = true;
  // The tables only placing reads: released before the program is built.
  const auto release = [](auto& table) { std::remove_reference_t<decltype(table)>().swap(table); };
  release(queue_busy_);
  release(alu_landings_);
  release(alu_holds_);
  release(mem_ports_);
  release(streams_);
  release(searched_);
  TspProgram program;
  program.tsp = tsp_;
  if (ops != nullptr) ops->clear();
  for (std::size_t q = 0; q < queues_.size(); ++q) {
    if (emitted_[q].empty()) continue;
    // Sorted by issue cycle, emission order among equal cycles; the op tags follow.
    std::vector<std::size_t> order(emitted_[q].size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
      return emitted_[q][a].issue_cycle < emitted_[q][b].issue_cycle;
    });
    QueueProgram queue{queues_[q], {}};
    queue.instructions.reserve(order.size());
    std::vector<std::int32_t> queue_ops;
    queue_ops.reserve(order.size());
    for (const std::size_t i : order) {
      queue.instructions.push_back(emitted_[q][i].instruction());
      queue_ops.push_back(emitted_ops_[q][i]);
    }
    release(emitted_[q]);  // this queue's memory back before the next one's copy
    release(emitted_ops_[q]);
    program.queues.push_back(std::move(queue));
    if (ops != nullptr) ops->push_back(std::move(queue_ops));
  }
  for (std::size_t d = 0; d < data_.size(); ++d) {
    if (declared_[d]) program.data.push_back(std::move(data_[d]));
  }
  release(data_);
  program.maps = std::move(maps_);
  return program;
}

}  // namespace tspemu::detail
