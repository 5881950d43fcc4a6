// Checkpoint/restart of one engine (chip/engine.hpp, save_state and restore_state;
// docs/checkpoint.md): every member that changes while the program runs goes through one archive
// pass, Engine::Impl::state, used for saving and loading alike so that the two cannot disagree on
// the order. What the engine derives from the program, chip and options at construction (queue
// names and positions, decoded timings, data segments' initial contents) is not saved: restore
// runs on an engine built from the same inputs and overwrites what the run has changed since.
//
// Layout (cereal, the bundle archives' byte layout: integers little-endian, sizes as u64):
//   u64 magic "tspeng01", u32 format version, i32 TSP, u64 queues, u64 instructions,
//   u8 timing_only, then the state pass, then u64 magic again (a truncated file fails there).

#include <cereal/types/array.hpp>
#include <cereal/types/deque.hpp>
#include <cereal/types/map.hpp>
#include <cereal/types/memory.hpp>
#include <cereal/types/utility.hpp>
#include <cereal/types/vector.hpp>

#include "chip/engine_impl.hpp"
#include "isa/bundle_archive.hpp"

namespace tspemu {

namespace {

constexpr std::uint64_t kEngineStateMagic = 0x31306765'6e657073ULL;  // "speneg01" little-endian
constexpr std::uint32_t kEngineStateVersion = 1;

// How an MXM plane's installed weights are saved: none yet, the timing-only placeholder every
// engine of the process shares, or the 320 rows themselves.
enum class InstalledKind : std::uint8_t { none, timing_only, rows };

}  // namespace

template <class Archive>
void Engine::Impl::state(Archive& archive) {
  for (QueueState& q : queues_) {
    archive(q.pc, q.cursor, q.parked, q.parked_since, q.repeats_left, q.repeat_spacing,
            q.repeat_stride, q.next_repeat, q.last_op, q.last_issue, q.last_address);
  }
  archive(units_, streams_, sram_, ports_);
  for (MxmPlane& plane : planes_) archive(plane.buffer, plane.accumulators);
  archive(staged_, alus_, wheel_, releases_, parked_, vectors_, accumulators_, port_buffers_,
          clock_, delivered_, received_, final_cycle_, current_, last_release_, sweep_final_cycle_);
  archive(stats_.instructions_by_opcode, stats_.mxm_int8_macs, stats_.mxm_fp16_macs,
          stats_.stream_writes, stats_.config_superlanes, stats_.trace, stats_.interval_busy);
}

std::vector<std::uint8_t> Engine::Impl::save_state() const {
  TSPEMU_ASSERT(!finished_, "save_state after finish");
  TSPEMU_ASSERT(sends_.empty(), "save_state with sends not taken");
  std::vector<std::uint8_t> bytes;
  detail::BundleOutputArchive archive(bytes);
  std::uint64_t instructions = 0;
  for (const QueueState& q : queues_) instructions += q.instructions->size();
  archive(kEngineStateMagic, kEngineStateVersion, program_.tsp.value,
          static_cast<std::uint64_t>(queues_.size()), instructions, options_.timing_only);
  // The archive pass is shared with loading, hence not const; saving only reads.
  const_cast<Impl*>(this)->state(archive);
  for (const MxmPlane& plane : planes_) {
    if (!plane.installed) {
      archive(InstalledKind::none);
    } else if (plane.installed == timing_only_weights()) {
      archive(InstalledKind::timing_only);
    } else {
      archive(InstalledKind::rows, plane.installed->rows());
    }
  }
  // The ready list in pop order: a heap rebuilt from it pops the same (cycle, queue) pairs.
  auto ready = ready_;
  std::vector<HeapEntry> entries;
  for (; !ready.empty(); ready.pop()) entries.push_back(ready.top());
  archive(entries, kEngineStateMagic);
  return bytes;
}

void Engine::Impl::restore_state(std::span<const std::uint8_t> bytes) {
  TSPEMU_ASSERT(current_ == -1 && final_cycle_ == -1, "restore_state on an engine that ran");
  auto mismatch = [&](const std::string& what) {
    return InputError(
        fmt::format("tsp {}: the checkpointed engine state {}", program_.tsp.value, what));
  };
  try {
    detail::BoundedInputArchive archive(bytes);
    std::uint64_t magic = 0;
    std::uint32_t version = 0;
    std::int32_t tsp = 0;
    std::uint64_t queues = 0;
    std::uint64_t instructions = 0;
    bool timing_only = false;
    archive(magic, version);
    if (magic != kEngineStateMagic) throw mismatch("is not an engine state");
    if (version != kEngineStateVersion) {
      throw mismatch(fmt::format("has format version {}; this tspemu reads version {}", version,
                                 kEngineStateVersion));
    }
    archive(tsp, queues, instructions, timing_only);
    std::uint64_t mine = 0;
    for (const QueueState& q : queues_) mine += q.instructions->size();
    if (tsp != program_.tsp.value || queues != queues_.size() || instructions != mine) {
      throw mismatch(
          fmt::format("belongs to TSP {} with {} queues and {} instructions, not to "
                      "this program ({} queues, {} instructions)",
                      tsp, queues, instructions, queues_.size(), mine));
    }
    if (timing_only != options_.timing_only) {
      throw mismatch(timing_only ? "is of a timing-only run" : "is of a run with data");
    }
    // Construction declared the data segments; the state has every row's bits as they are now.
    wheel_ = TimingWheel<Work>(wheel_span(config_));
    const ChipClock built_clock = clock_;
    const std::size_t sizes[] = {units_.size(), staged_.size(), alus_.size(), port_buffers_.size()};
    state(archive);
    const std::size_t loaded[] = {units_.size(), staged_.size(), alus_.size(),
                                  port_buffers_.size()};
    if (!std::equal(std::begin(sizes), std::end(sizes), std::begin(loaded)) ||
        !clock_.same_time_base(built_clock)) {
      throw mismatch("is of another chip (units, MXM planes, ALUs, C2C ports or clock differ)");
    }
    for (MxmPlane& plane : planes_) {
      InstalledKind kind = InstalledKind::none;
      archive(kind);
      if (kind == InstalledKind::timing_only) {
        plane.installed = timing_only_weights();
      } else if (kind == InstalledKind::rows) {
        std::array<Vector, kMxmRows> rows;
        archive(rows);
        plane.installed = std::make_shared<const InstalledWeights>(rows);
      } else if (kind != InstalledKind::none) {
        throw mismatch("has an unknown kind of MXM weights");
      }
    }
    std::vector<HeapEntry> entries;
    archive(entries, magic);
    if (magic != kEngineStateMagic || archive.remaining() != 0) {
      throw mismatch("does not end where its format says");
    }
    ready_ = {};
    for (const HeapEntry& e : entries) {
      if (e.second < 0 || static_cast<std::size_t>(e.second) >= queues_.size()) {
        throw mismatch("names a queue this program does not have");
      }
      if (e.first <= current_) throw mismatch("has an issue in a cycle already run");
      ready_.push(e);
    }
    if (const char* problem = inconsistency())
      throw mismatch(fmt::format("is inconsistent: {}", problem));
  } catch (const detail::PayloadError& e) {
    throw mismatch(fmt::format("is malformed: {}", e.message));
  }
}

// What a restored state would index out of range, or nullptr. A state that passed its checksum was
// written by save_state; this keeps one that was not (edited by hand, another build) from
// crashing the engine: every index the engine follows without a check is checked here once.
const char* Engine::Impl::inconsistency() const {
  const auto queue_ok = [&](std::int64_t q) {
    return q >= 0 && static_cast<std::size_t>(q) < queues_.size();
  };
  const auto instruction_ok = [&](std::int64_t q, std::int64_t i) {
    return queue_ok(q) && i >= 0 &&
           static_cast<std::size_t>(i) < queues_[static_cast<std::size_t>(q)].instructions->size();
  };
  for (std::size_t q = 0; q < queues_.size(); ++q) {
    const QueueState& s = queues_[q];
    if (s.pc > s.instructions->size()) return "a queue's program counter is past its end";
    if (s.last_op != -1 && !instruction_ok(static_cast<std::int64_t>(q), s.last_op)) {
      return "a queue's last instruction does not exist";
    }
    if (s.repeats_left > 0 && (s.last_op < 0 || s.repeat_spacing < 1)) {
      return "a REPEAT has nothing to repeat";
    }
  }
  for (int q : parked_) {
    if (!queue_ok(q) || !queues_[static_cast<std::size_t>(q)].parked) return "a parked queue";
  }
  if (!streams_.consistent()) return "the stream file";
  if (!sram_.consistent()) return "the SRAM";
  if (!ports_.consistent()) return "the MEM port reservations";
  if (!vectors_.consistent() || !accumulators_.consistent()) return "the value pools";
  for (const MxmPlane& plane : planes_) {
    if (plane.accumulators.size() != static_cast<std::size_t>(config_.shape.mxm_accumulators)) {
      return "an MXM plane's accumulators";
    }
  }
  for (const AluRegister& alu : alus_) {
    if (alu.value.count != 1 && alu.value.count != 2 && alu.value.count != 4) {
      return "an ALU register's width";
    }
  }
  const auto vec_ok = [&](std::uint32_t v) { return v < vectors_.capacity(); };
  const int streams = config_.shape.streams_per_direction;
  const int positions = config_.positions();
  const std::size_t planes = planes_.size();
  const char* problem = nullptr;
  wheel_.for_each([&](const Work& w) {
    if (w.cycle <= current_ || w.cycle - current_ >= static_cast<Cycle>(wheel_.size()) ||
        !wheel_.holds(w)) {
      problem = "a timing wheel bucket's cycle";
    }
    for (const ExecItem& item : w.exec) {
      if (!instruction_ok(item.queue, item.instruction)) {
        problem = "an operation in flight";
      } else if (instruction_at(item.queue, item.instruction).opcode == Opcode::receive &&
                 (item.address < 0 || !vec_ok(static_cast<std::uint32_t>(item.address)))) {
        problem = "a received value in flight";
      }
    }
    for (const Effect& e : w.lands) {
      bool ok = instruction_ok(e.queue, e.instruction);
      const auto unit = static_cast<std::size_t>(e.unit);
      switch (e.kind) {
        case Effect::Kind::stream:
          ok = ok && e.unit >= 0 && e.unit < streams && e.index >= 0 && e.index < positions &&
               vec_ok(e.vecs[0]);
          break;
        case Effect::Kind::sram_row:
          ok = ok && e.unit >= 0 && e.unit < config_.mem_slices() && e.index >= 0 &&
               e.index < config_.shape.mem_rows_per_slice && vec_ok(e.vecs[0]);
          break;
        case Effect::Kind::sram_scatter:
          ok = ok && e.unit >= 0 && e.unit < config_.mem_slices() && vec_ok(e.vecs[0]) &&
               vec_ok(e.vecs[1]) && vec_ok(e.vecs[2]);
          break;
        case Effect::Kind::timing_only_write:
          break;
        case Effect::Kind::alu:
          ok = ok && unit < alus_.size() && e.count >= 1 && e.count <= 4;
          for (int i = 0; ok && i < e.count; ++i) ok = vec_ok(e.vecs[static_cast<std::size_t>(i)]);
          break;
        case Effect::Kind::accumulate:
          ok = ok && unit < planes && e.index >= 0 &&
               static_cast<std::size_t>(e.index) < planes_[unit].accumulators.size() &&
               e.vecs[0] < accumulators_.capacity();
          break;
        case Effect::Kind::weight_row:
          ok = ok && unit < planes && e.index >= 0 && e.index < kMxmRows && vec_ok(e.vecs[0]);
          break;
        case Effect::Kind::install:
          ok = ok && unit < planes && !staged_[unit].empty();
          break;
        case Effect::Kind::c2c_send:
          ok = ok && unit < port_buffers_.size() && vec_ok(e.vecs[0]);
          break;
        default:
          ok = false;
      }
      if (!ok) problem = "a result in flight";
    }
    for (std::uint32_t v : w.free_vecs) {
      if (!vec_ok(v)) problem = "a value in flight";
    }
    for (std::uint32_t a : w.free_accs) {
      if (a >= accumulators_.capacity()) problem = "an accumulator in flight";
    }
  });
  return problem;
}

std::vector<std::uint8_t> Engine::save_state() const {
  return impl_->save_state();
}

void Engine::restore_state(std::span<const std::uint8_t> bytes) {
  impl_->restore_state(bytes);
}

}  // namespace tspemu
