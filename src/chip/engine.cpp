#include "chip/engine.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <span>
#include <type_traits>
#include <utility>

#include "chip/cycle_executor.hpp"
#include "chip/engine_impl.hpp"
#include "chip/kokkos_session.hpp"
#include "common/numerics/float_ops.hpp"
#include "isa/data_init.hpp"
#include "isa/disassembler.hpp"
#include "isa/validate.hpp"

namespace tspemu {

// ---- construction -------------------------------------------------------------------------------

namespace {

int port_window(const ChipConfig& config) {
  int window = 1;
  for (Opcode op : {Opcode::read, Opcode::write, Opcode::gather, Opcode::scatter}) {
    const OpTiming& t = config.timing.get(op, DType::none);
    window = std::max(window, t.func_delay_cycles + 1);
  }
  return window;
}

constexpr int kMaxPortWindow = 4096;

// Per-interval statistics (EngineOptions::stats_interval) keep 48 bytes per interval up to the last
// one used: a bound far above any CSV a user reads, far below what a host holds.
constexpr std::size_t kMaxStatsIntervals = std::size_t{1} << 24;

// Pool vectors and effects an op produces (upper bounds), from its operands alone.
struct Footprint {
  std::uint32_t vecs = 0;
  std::uint32_t effects = 0;
  bool accumulator = false;
};

Footprint footprint(const Instruction& instr) {
  switch (instr.opcode) {
    case Opcode::read:
    case Opcode::write:
    case Opcode::gather:
      return {1, 1};
    case Opcode::scatter:
      return {3, 1};
    case Opcode::lw: {
      const auto n = static_cast<std::uint32_t>(instr.operands[1].stream.count);
      return {n, n};
    }
    case Opcode::iw:
      return {0, 1};
    case Opcode::abc:
      return {0, 1, true};
    case Opcode::acc:
      return {4, 4};
    case Opcode::shift:
    case Opcode::permute:
    case Opcode::distribute: {
      const auto w = static_cast<std::uint32_t>(group_width(instr.dtype));
      return {w, w};
    }
    case Opcode::rotate: {
      const auto n = static_cast<std::uint32_t>(instr.operands[2].value);
      return {n * n, n * n};
    }
    case Opcode::transpose:
      return {16, 16};
    case Opcode::send:
    case Opcode::receive:
    case Opcode::sac:
      return {1, 1};
    default:
      break;
  }
  if (op_info(instr.opcode).unit == Unit::vxm) {
    const auto w = static_cast<std::uint32_t>(dtype_bytes(instr.dtype));
    return {w, w + 1};
  }
  return {};
}

std::uint64_t splitmix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

}  // namespace

Engine::Impl::Impl(const TspProgram& program, const ChipConfig& config, EngineOptions options)
    : program_(program),
      config_(config),
      options_(options),
      streams_(config.positions(), config.shape.streams_per_direction,
               options.timing_only ? StreamFile::Mode::timing_only : StreamFile::Mode::data),
      sram_(config.mem_slices(), config.shape.mem_rows_per_slice, options.timing_only),
      ports_(config.mem_slices(), std::min(port_window(config), kMaxPortWindow)),
      wheel_(wheel_span(config)),
      clock_(options.time_base, program.tsp, options.hac_period_cycles) {
  config_.validate();
  if (port_window(config_) > kMaxPortWindow) {
    throw InputError(
        fmt::format("func_delay_cycles of MEM ops above {} are not supported", kMaxPortWindow - 1),
        ErrorContext{.key = std::string("chip.op_timing")});
  }
  chip_queues_ = all_queues(config_.shape);
  units_.resize(chip_queues_.size());
  planes_.resize(static_cast<std::size_t>(config_.shape.mxm_planes));
  for (MxmPlane& plane : planes_) {
    plane.accumulators.assign(static_cast<std::size_t>(config_.shape.mxm_accumulators),
                              AccumulatorLanes{});
  }
  staged_.resize(planes_.size());
  alus_.resize(static_cast<std::size_t>(config_.shape.vxm_alus));
  port_buffers_.resize(static_cast<std::size_t>(config_.shape.c2c_ports));

  // The engine indexes tables with operand values: check the program's structure first (the same
  // rules the assembler applies; isa/validate.hpp).
  for (const LaneMap& map : program_.maps) {
    if (options_.program_validated) break;
    if (const auto problem = check_lane_map(map, config_.shape)) {
      throw InputError(
          fmt::format("tsp {}, map '{}': {}", program_.tsp.value, map.name, problem->message));
    }
  }
  for (const DataSegment& data : program_.data) {
    if (options_.program_validated) break;
    if (const auto problem = check_data_segment(data, config_.shape)) {
      throw InputError(
          fmt::format("tsp {}, data '{}': {}", program_.tsp.value, data.name, problem->message),
          ErrorContext{.where = data.where});
    }
  }
  queues_.reserve(program_.queues.size());
  for (const QueueProgram& qp : program_.queues) {
    if (!queue_exists(qp.queue, config_.shape)) {
      throw InputError(fmt::format("tsp {}: queue {} does not exist on this chip",
                                   program_.tsp.value, queue_name(qp.queue)));
    }
    for (std::size_t i = 0; i < qp.instructions.size() && !options_.program_validated; ++i) {
      const Instruction& instr = qp.instructions[i];
      if (const auto problem = check_instruction(instr, qp.queue, config_.shape, program_.maps)) {
        throw InputError(fmt::format("tsp {}, queue {}, instruction {}: {}", program_.tsp.value,
                                     queue_name(qp.queue), i, problem->message),
                         ErrorContext{.where = instr.where});
      }
    }
    QueueState q;
    q.id = qp.queue;
    q.name = queue_name(qp.queue);
    q.unit = unit_of(qp.queue);
    q.position = queue_position(qp.queue, config_.shape);
    q.instructions = &qp.instructions;
    q.decoded.reserve(qp.instructions.size());
    for (const Instruction& instr : qp.instructions) {
      const Footprint f = footprint(instr);
      const OpInfo& info = op_info(instr.opcode);
      q.decoded.push_back(
          Decoded{info.unit, config_.timing.of(instr), f.vecs, f.effects, f.accumulator});
    }
    queues_.push_back(std::move(q));
  }
  // Data segments: .data rows are loaded before cycle 0; `zero` rows are declared zero-filled
  // (readable, no pages); .region rows stay uninitialised until written.
  for (const DataSegment& data : program_.data) {
    if (!data.initialized) continue;
    const int planes = dtype_bytes(data.dtype);
    if (static_cast<int>(data.at.slices.size()) != planes) {
      throw InputError(fmt::format("data '{}' names {} slices for {} byte planes", data.name,
                                   data.at.slices.size(), planes),
                       ErrorContext{.where = data.where});
    }
    if (data.init.kind == DataInit::Kind::zero) {
      for (const QueueId& slice : data.at.slices) {
        sram_.declare_zero(config_.slice_index(slice.hemisphere, slice.index), data.at.address,
                           data.rows);
      }
      continue;
    }
    if (options_.timing_only) {
      // No data: the rows only count as written (the same written bits as the stores below).
      for (const QueueId& slice : data.at.slices) {
        sram_.declare_zero(config_.slice_index(slice.hemisphere, slice.index), data.at.address,
                           data.rows);
      }
      continue;
    }
    const std::vector<Vector> vectors = materialize(data);
    for (int k = 0; k < planes; ++k) {
      const QueueId& slice = data.at.slices[static_cast<std::size_t>(k)];
      const int s = config_.slice_index(slice.hemisphere, slice.index);
      for (int r = 0; r < data.rows; ++r) {
        sram_.write(s, data.at.address + r, vectors[static_cast<std::size_t>(k * data.rows + r)]);
      }
    }
  }
  for (std::size_t i = 0; i < queues_.size(); ++i) schedule(static_cast<int>(i));
}

std::int64_t Engine::Impl::wheel_span(const ChipConfig& config) {
  int longest = 0;
  for (std::size_t i = 0; i < timing_keys().size(); ++i) {
    const OpTiming& t = config.timing.row(static_cast<int>(i));
    longest = std::max(longest, t.skew_cycles + t.func_delay_cycles);
  }
  constexpr int kMaxLatency = 1 << 16;
  if (longest >= kMaxLatency) {
    throw InputError(fmt::format("skew_cycles + func_delay_cycles of {} exceeds the engine's limit "
                                 "of {} cycles",
                                 longest, kMaxLatency - 1),
                     ErrorContext{.key = std::string("chip.op_timing")});
  }
  return longest + 2;
}

int Engine::Impl::unit_of(QueueId id) const {
  const auto it = std::lower_bound(chip_queues_.begin(), chip_queues_.end(), id);
  TSPEMU_ASSERT(it != chip_queues_.end() && *it == id, "queue not on the chip");
  return static_cast<int>(it - chip_queues_.begin());
}

ErrorContext Engine::Impl::context(int queue, int index, Cycle cycle) const {
  ErrorContext c;
  c.tsp = program_.tsp.value;
  c.cycle = cycle;
  if (queue >= 0) {
    c.queue = queues_[static_cast<std::size_t>(queue)].name;
    if (index >= 0) {
      const Instruction& instr = instruction_at(queue, index);
      c.instruction = disassemble_instruction(instr, program_.maps);
      if (instr.where.known()) c.where = instr.where;
    }
  }
  return c;
}

Cycle Engine::Impl::next_cycle() const {
  Cycle next = wheel_.next_after(current_);
  if (!ready_.empty()) next = std::min(next, ready_.top().first);
  if (!releases_.empty()) next = std::min(next, releases_.begin()->first);
  return next;
}

// ---- issue ------------------------------------------------------------------------------------

void Engine::Impl::schedule(int queue) {
  QueueState& q = queues_[static_cast<std::size_t>(queue)];
  if (q.parked) return;
  if (q.repeats_left > 0) {
    ready_.emplace(q.next_repeat, queue);
    return;
  }
  if (q.pc >= q.instructions->size()) return;
  const Instruction& instr = (*q.instructions)[q.pc];
  // Queues advance a few instructions at a time, interleaved over hundreds of queues, so the
  // hardware prefetcher loses them and every instruction was a cache miss when it came up (the
  // next one, read by setup_repeat, was 7 % of a timing-only run). Fetch this queue's next ones
  // now.
  for (std::size_t ahead = 1; ahead <= 2 && q.pc + ahead < q.instructions->size(); ++ahead) {
    const auto* next = reinterpret_cast<const char*>(&(*q.instructions)[q.pc + ahead]);
    __builtin_prefetch(next);
    __builtin_prefetch(next + 64);
    __builtin_prefetch(&q.decoded[q.pc + ahead]);
  }
  Cycle t = q.cursor;
  if (instr.issue_cycle >= 0) {
    if (instr.issue_cycle < q.cursor) {
      fail(queue, static_cast<int>(q.pc), q.cursor,
           fmt::format("issue cycle @{} is before the queue's next free cycle {}",
                       instr.issue_cycle, q.cursor));
    }
    t = instr.issue_cycle;
  }
  ready_.emplace(t, queue);
}

void Engine::Impl::release_syncs(Cycle cycle) {
  const auto it = releases_.find(cycle);
  if (it == releases_.end()) return;
  releases_.erase(it);
  last_release_ = cycle;
  if (!parked_.empty()) final_cycle_ = std::max(final_cycle_, cycle);  // a release is activity
  std::vector<int> parked;
  parked.swap(parked_);
  std::sort(parked.begin(), parked.end());
  for (int queue : parked) {
    QueueState& q = queues_[static_cast<std::size_t>(queue)];
    q.parked = false;
    q.cursor = std::max(cycle, q.parked_since + 1);
    schedule(queue);
  }
}

void Engine::Impl::issue(Cycle cycle) {
  while (!ready_.empty() && ready_.top().first == cycle) {
    const int queue = ready_.top().second;
    ready_.pop();
    issue_one(queue, cycle);
  }
}

void Engine::Impl::issue_one(int queue, Cycle cycle) {
  QueueState& q = queues_[static_cast<std::size_t>(queue)];
  final_cycle_ = std::max(final_cycle_, cycle);
  if (q.repeats_left > 0) {
    const std::int64_t address = q.last_address + q.repeat_stride;
    issue_op(queue, q.last_op, cycle, address);
    q.last_issue = cycle;
    q.last_address = address;
    if (--q.repeats_left > 0) {
      q.next_repeat = cycle + q.repeat_spacing;
    } else {
      q.cursor = cycle + 1;
    }
    schedule(queue);
    return;
  }
  const int index = static_cast<int>(q.pc);
  const Instruction& instr = (*q.instructions)[q.pc];
  ++q.pc;
  if (q.decoded[static_cast<std::size_t>(index)].unit == Unit::icu) {
    stats_.instructions_by_opcode[static_cast<std::size_t>(instr.opcode)]++;
  }
  switch (instr.opcode) {
    case Opcode::nop:
      q.cursor = cycle + instr.operands[0].value;
      break;
    case Opcode::sync:
      if (last_release_ == cycle) {
        q.cursor = cycle + 1;  // a NOTIFY arrives this very cycle
      } else {
        q.parked = true;
        q.parked_since = cycle;
        parked_.push_back(queue);
      }
      break;
    case Opcode::notify:
      releases_[cycle + config_.barrier_notify_sync_cycles]++;
      q.cursor = cycle + 1;
      break;
    case Opcode::ifetch:
      q.cursor = cycle + 1;
      break;
    case Opcode::config:
      stats_.config_superlanes = static_cast<int>(instr.operands[0].value);
      q.cursor = cycle + 1;
      break;
    case Opcode::repeat:
      // Reached only if it does not follow a repeatable instruction (setup_repeat consumes the
      // others right after their issue).
      throw InputError("REPEAT must directly follow the non-ICU instruction it repeats",
                       context(queue, index, cycle));
    case Opcode::send:
    case Opcode::receive:
    case Opcode::deskew:
    case Opcode::runtime_deskew:
      if (!options_.network) {
        fail(queue, index, cycle,
             fmt::format("{} needs the network: run the program with `tspemu run`, which "
                         "connects the chip's C2C ports to the topology's links",
                         op_info(instr.opcode).mnemonic));
      }
      if (instr.opcode == Opcode::deskew || instr.opcode == Opcode::runtime_deskew) {
        stats_.instructions_by_opcode[static_cast<std::size_t>(instr.opcode)]++;
        ++units_[static_cast<std::size_t>(q.unit)].instructions;
        // DESKEW waits for the next HAC overflow (or none, on one); RUNTIME_DESKEW pauses the
        // whole chip for t +- the drift since the last one while program time stands still, so
        // its queue goes on at the next cycle (clock/chip_clock.hpp).
        if (instr.opcode == Opcode::deskew) {
          q.cursor = clock_.deskew_release(cycle);
        } else {
          (void)clock_.runtime_deskew(cycle, instr.operands[0].value);
          q.cursor = cycle + 1;
          if (!clock_.ideal()) reconvert_arrivals(cycle);
        }
        break;
      }
      issue_op(queue, index, cycle, 0);
      q.last_op = index;
      q.last_issue = cycle;
      q.last_address = 0;
      q.cursor = cycle + 1;
      setup_repeat(queue);
      break;
    default: {
      std::int64_t address = 0;
      if (instr.opcode == Opcode::read || instr.opcode == Opcode::write) {
        address = instr.operands[0].value;
      }
      issue_op(queue, index, cycle, address);
      q.last_op = index;
      q.last_issue = cycle;
      q.last_address = address;
      q.cursor = cycle + 1;
      setup_repeat(queue);
      break;
    }
  }
  schedule(queue);
}

void Engine::Impl::setup_repeat(int queue) {
  QueueState& q = queues_[static_cast<std::size_t>(queue)];
  if (q.pc >= q.instructions->size()) return;
  const Instruction& instr = (*q.instructions)[q.pc];
  if (instr.opcode != Opcode::repeat) return;
  ++q.pc;
  stats_.instructions_by_opcode[static_cast<std::size_t>(Opcode::repeat)]++;
  const std::int64_t n = instr.operands[0].value;
  const std::int64_t d = instr.operands[1].value;
  if (n < 1 || d < 1) {
    throw InputError("REPEAT needs n >= 1 and d >= 1",
                     context(queue, static_cast<int>(q.pc - 1), q.last_issue));
  }
  q.repeats_left = n;
  q.repeat_spacing = d;
  q.repeat_stride = instr.operand_count > 2 ? instr.operands[2].value : 0;
  q.next_repeat = q.last_issue + d;
}

void Engine::Impl::issue_op(int queue, int index, Cycle cycle, std::int64_t address) {
  QueueState& q = queues_[static_cast<std::size_t>(queue)];
  const Instruction& instr = instruction_at(queue, index);
  const OpTiming& timing = decoded_at(queue, index).timing;
  stats_.instructions_by_opcode[static_cast<std::size_t>(instr.opcode)]++;
  if (options_.stats_interval > 0) {
    const auto interval = static_cast<std::size_t>(cycle / options_.stats_interval);
    if (interval >= kMaxStatsIntervals) {
      throw RuntimeError(fmt::format(
          "tsp {}: an instruction issues in cycle {}, interval {} of --stats-interval {}: more "
          "than "
          "{} intervals; choose a larger interval",
          program_.tsp.value, cycle, interval, options_.stats_interval, kMaxStatsIntervals));
    }
    if (stats_.interval_busy.size() <= interval) stats_.interval_busy.resize(interval + 1);
    stats_.interval_busy[interval][static_cast<std::size_t>(op_info(instr.opcode).unit)] +=
        timing.occupancy_cycles;
  }
  if (options_.trace && cycle >= options_.trace_begin && cycle <= options_.trace_end) {
    stats_.trace.push_back(TraceSlice{q.id, queue, index, instr.opcode, cycle,
                                      cycle + timing.skew_cycles + timing.func_delay_cycles});
  }
  if ((instr.opcode == Opcode::read || instr.opcode == Opcode::write) &&
      (address < 0 || address >= config_.shape.mem_rows_per_slice)) {
    fail(queue, index, cycle,
         fmt::format("{} address {} is out of range 0..{}", op_info(instr.opcode).mnemonic,
                     hex(address), hex(config_.shape.mem_rows_per_slice - 1)));
  }
  // Units: the queue's own, plus plane p+1's activation unit for an fp16 ABC.
  std::array<int, 2> units{q.unit, -1};
  if (instr.opcode == Opcode::abc && instr.dtype == DType::f16) {
    const int plane = q.id.index;
    if (plane % 2 != 0 || plane + 1 >= config_.shape.mxm_planes) {
      fail(queue, index, cycle, "ABC.f16 uses planes p and p+1 (p even)");
    }
    units[1] = unit_of(mxm_queue(QueueKind::mxm_activations, plane + 1));
  }
  for (int u : units) {
    if (u < 0) continue;
    UnitState& unit = units_[static_cast<std::size_t>(u)];
    if (unit.busy_until > cycle) {
      fail(
          queue, index, cycle,
          fmt::format("op issued to a busy unit: {} is busy until cycle {} ({} issued at cycle {})",
                      queue_name(chip_queues_[static_cast<std::size_t>(u)]), unit.busy_until,
                      op_info(unit.busy_opcode).mnemonic, unit.busy_since));
    }
  }
  for (int u : units) {
    if (u < 0) continue;
    UnitState& unit = units_[static_cast<std::size_t>(u)];
    unit.busy_until = cycle + timing.occupancy_cycles;
    unit.busy_since = cycle;
    unit.busy_opcode = instr.opcode;
    unit.busy_cycles += timing.occupancy_cycles;
    if (u == q.unit) ++unit.instructions;
  }
  if (instr.opcode == Opcode::abc) {
    (instr.dtype == DType::f16 ? stats_.mxm_fp16_macs : stats_.mxm_int8_macs) +=
        std::int64_t{kMxmRows} * kMxmColumns;
  }
  ExecItem item;
  item.queue = queue;
  item.instruction = index;
  item.issue = cycle;
  item.exec = cycle + timing.skew_cycles;
  item.land = item.exec + timing.func_delay_cycles;
  item.address = address;
  if (instr.opcode == Opcode::receive) issue_receive(queue, index, item);
  wheel_.at(item.exec).exec.push_back(item);
}

// ---- execute ----------------------------------------------------------------------------------

void Engine::Impl::execute(Cycle cycle, Work& work) {
  std::vector<ExecItem>& items = work.exec;
  if (items.empty()) return;
  // Serial: reserve result vectors and effect slots (no allocation in the parallel phase).
  cycle_vecs_.clear();
  std::uint32_t effects = 0;
  for (ExecItem& item : items) {
    const Decoded& f = decoded_at(item.queue, item.instruction);
    item.first_vec = static_cast<std::uint32_t>(cycle_vecs_.size());
    item.vec_count = f.vecs;
    for (std::uint32_t i = 0; i < f.vecs; ++i) cycle_vecs_.push_back(vectors_.acquire());
    if (f.accumulator) item.acc_slot = accumulators_.acquire();
    item.first_effect = effects;
    item.effect_count = f.effects;
    effects += f.effects;
  }
  cycle_effects_.resize(effects);
  const auto n = static_cast<int>(items.size());
  cycle_errors_.assign(items.size(), nullptr);
  order_.resize(items.size());
  for (int i = 0; i < n; ++i) order_[static_cast<std::size_t>(i)] = i;
  if (options_.shuffle_seed) {
    std::uint64_t state =
        splitmix(*options_.shuffle_seed ^ splitmix(static_cast<std::uint64_t>(cycle)));
    for (int i = n - 1; i > 0; --i) {
      state = splitmix(state);
      const auto j = static_cast<int>(state % static_cast<std::uint64_t>(i + 1));
      std::swap(order_[static_cast<std::size_t>(i)], order_[static_cast<std::size_t>(j)]);
    }
  }
  // Parallel: each op reads state and writes only its own slots (engine.hpp, "Parallelism").
  auto run_one = [&](int i) {
    const auto k = static_cast<std::size_t>(order_[static_cast<std::size_t>(i)]);
    ExecItem& item = items[k];
    try {
      execute_item(item, cycle_effects_.data() + item.first_effect);
    } catch (...) {
      cycle_errors_[k] = std::current_exception();  // this item's own slot
    }
  };
  alone_in_cycle_ = n == 1;  // read-only while ops run: lets a lone op parallelise its lanes
  if (n == 1) {
    run_one(0);  // same work, without the launch overhead
  } else {
    cycle_executor().parallel_for("tspemu::chip::execute", n, run_one);
  }
  // Serial, in ready-list order: errors, MEM ports, then results into their landing cycles.
  for (std::size_t k = 0; k < items.size(); ++k) {
    if (cycle_errors_[k]) std::rethrow_exception(cycle_errors_[k]);
    reserve_ports(items[k]);
  }
  for (ExecItem& item : items) {
    Work& target = item.land == cycle ? work : wheel_.at(item.land);
    for (std::uint32_t e = 0; e < item.effects_used; ++e) {
      target.lands.push_back(cycle_effects_[item.first_effect + e]);
    }
    for (std::uint32_t v = 0; v < item.vec_count; ++v) target.free_vecs.push_back(vec_id(item, v));
    if (instruction_at(item.queue, item.instruction).opcode == Opcode::receive) {
      target.free_vecs.push_back(static_cast<std::uint32_t>(item.address));  // the staged vector
    }
    if (decoded_at(item.queue, item.instruction).accumulator) {
      target.free_accs.push_back(item.acc_slot);
    }
  }
}

const Vector& Engine::Impl::read_stream(const ExecItem& item, int stream, Direction direction,
                                        int position) const {
  const StreamFile::Hit hit = streams_.read(direction, stream, position, item.exec);
  if (!hit) {
    fail(item.queue, item.instruction, item.exec,
         fmt::format("stream {} holds no value at {} in cycle {}", stream_name(stream, direction),
                     position_text(position), item.exec));
  }
  return *hit.value;
}

void Engine::Impl::check_group(const ExecItem& item, const StreamRef& ref, int count,
                               int position) const {
  for (int i = 0; i < count; ++i) (void)read_stream(item, ref.index + i, ref.direction, position);
}

std::shared_ptr<const InstalledWeights> Engine::Impl::timing_only_weights() {
  // One zero array for every engine of the process (16 on a rack run `--local`): timing-only
  // never reads it, and each copy is ~200 KiB of fresh pages to fault in.
  static const std::shared_ptr<const InstalledWeights> zeros =
      std::make_shared<const InstalledWeights>(std::array<Vector, kMxmRows>{});
  return zeros;
}

void Engine::Impl::read_group(const ExecItem& item, const StreamRef& ref, int count, int position,
                              VectorGroup& out) const {
  out.count = count;
  for (int i = 0; i < count; ++i) {
    out.planes[static_cast<std::size_t>(i)] =
        read_stream(item, ref.index + i, ref.direction, position);
  }
}

Engine::Impl::Effect& Engine::Impl::add_effect(ExecItem& item, Effect* effects, Effect::Kind kind) {
  TSPEMU_ASSERT(item.effects_used < item.effect_count, "effect slots");
  Effect& e = effects[item.effects_used++];
  e = Effect{};
  e.kind = kind;
  e.queue = item.queue;
  e.instruction = item.instruction;
  return e;
}

void Engine::Impl::emit_streams(ExecItem& item, Effect* effects, const StreamRef& dst, int count,
                                int position, std::uint32_t first_vec) {
  for (int i = 0; i < count; ++i) {
    Effect& e = add_effect(item, effects, Effect::Kind::stream);
    e.direction = dst.direction;
    e.unit = static_cast<std::int16_t>(dst.index + i);
    e.index = position;
    e.vecs[0] = vec_id(item, first_vec + static_cast<std::uint32_t>(i));
  }
}

void Engine::Impl::execute_item(ExecItem& item, Effect* effects) {
  using Execute = void (Impl::*)(ExecItem&, Effect*);
  // Indexed by Unit (isa/opcode.hpp: icu, mem, vxm, mxm, sxm, c2c); ICU ops never execute.
  static constexpr std::array<Execute, 6> kByUnit{nullptr,
                                                  &Impl::execute_mem,
                                                  &Impl::execute_vxm,
                                                  &Impl::execute_mxm,
                                                  &Impl::execute_sxm,
                                                  &Impl::execute_c2c};
  const Execute rules =
      kByUnit[static_cast<std::size_t>(decoded_at(item.queue, item.instruction).unit)];
  TSPEMU_ASSERT(rules != nullptr, "op without an execution rule");
  (this->*rules)(item, effects);
}

// ---- land -------------------------------------------------------------------------------------

void Engine::Impl::land(Cycle cycle, std::vector<Effect>& effects) {
  if (effects.empty()) return;
  final_cycle_ = std::max(final_cycle_, cycle);
  sweep_final_cycle_ = std::max(sweep_final_cycle_, cycle + config_.shape.superlanes - 1);
  for (const Effect& e : effects) {
    switch (e.kind) {
      case Effect::Kind::stream:
        ++stats_.stream_writes;
        if (!streams_.write(e.direction, e.unit, e.index, cycle, vectors_[e.vecs[0]])) {
          fail(e.queue, e.instruction, cycle,
               fmt::format("two writes to stream {} at {} in cycle {}",
                           stream_name(e.unit, e.direction), position_text(e.index), cycle));
        }
        break;
      case Effect::Kind::sram_row:
        sram_.write(e.unit, e.index, vectors_[e.vecs[0]]);
        break;
      case Effect::Kind::timing_only_write:
        break;
      case Effect::Kind::sram_scatter: {
        const Vector& data = vectors_[e.vecs[0]];
        const Vector& low = vectors_[e.vecs[1]];
        const Vector& high = vectors_[e.vecs[2]];
        for (std::size_t l = 0; l < kVectorBytes; ++l) {
          sram_.write_byte(e.unit, low.bytes[l] | (high.bytes[l] << 8), static_cast<int>(l),
                           data.bytes[l]);
        }
        break;
      }
      case Effect::Kind::alu: {
        AluRegister& reg = alus_[static_cast<std::size_t>(e.unit)];
        reg.valid = true;
        reg.value.count = e.count;
        if (options_.timing_only) break;  // presence only
        for (int i = 0; i < e.count; ++i) {
          reg.value.planes[static_cast<std::size_t>(i)] =
              vectors_[e.vecs[static_cast<std::size_t>(i)]];
        }
        break;
      }
      case Effect::Kind::accumulate: {
        AccumulatorLanes& acc = planes_[static_cast<std::size_t>(e.unit)]
                                    .accumulators[static_cast<std::size_t>(e.index)];
        const AccumulatorLanes& r = accumulators_[e.vecs[0]];
        if (options_.timing_only) break;  // no arithmetic
        if (e.clear) {
          acc = r;
        } else if (e.floating) {
          for (std::size_t n = 0; n < kVectorBytes; ++n) {
            acc[n] = std::bit_cast<std::uint32_t>(
                add_f32(std::bit_cast<float>(acc[n]), std::bit_cast<float>(r[n])));
          }
        } else {
          for (std::size_t n = 0; n < kVectorBytes; ++n) acc[n] += r[n];  // modulo 2^32
        }
        break;
      }
      case Effect::Kind::weight_row: {
        if (options_.timing_only) break;  // no data: IW installs placeholder weights
        auto& buffer = planes_[static_cast<std::size_t>(e.unit)].buffer;
        if (!buffer) buffer = std::make_unique<std::array<Vector, kMxmRows>>();
        (*buffer)[static_cast<std::size_t>(e.index)] = vectors_[e.vecs[0]];
        break;
      }
      case Effect::Kind::c2c_send: {
        const Instruction& instr = instruction_at(e.queue, e.instruction);
        const OpTiming& timing = decoded_at(e.queue, e.instruction).timing;
        sends_.push_back(C2cSend{PortId{e.unit},
                                 cycle - timing.skew_cycles - timing.func_delay_cycles,
                                 vectors_[e.vecs[0]], instr.where});
        break;
      }
      case Effect::Kind::install: {
        auto& staged = staged_[static_cast<std::size_t>(e.unit)];
        TSPEMU_ASSERT(!staged.empty(), "IW without a snapshot");
        planes_[static_cast<std::size_t>(e.unit)].installed =
            staged.front() ? std::make_shared<const InstalledWeights>(*staged.front())
                           : timing_only_weights();
        staged.pop_front();
        break;
      }
    }
  }
}

// ---- the loop ---------------------------------------------------------------------------------

bool Engine::Impl::run_until(Cycle end_cycle) {
  TSPEMU_ASSERT(!finished_, "run_until after finish");
  ensure_kokkos_initialized();
  for (;;) {
    const Cycle cycle = next_cycle();
    if (cycle == INT64_MAX) return false;
    if (cycle >= end_cycle) return true;
    if (cycle > options_.max_cycles) {
      throw RuntimeError(fmt::format("tsp {}: still running at cycle {} (max_cycles {})",
                                     program_.tsp.value, cycle, options_.max_cycles));
    }
    current_ = cycle;
    if (Work* w = wheel_.find(cycle)) {
      land(cycle, w->lands);
      w->lands.clear();
    }
    release_syncs(cycle);
    issue(cycle);
    if (Work* w = wheel_.find(cycle)) {
      execute(cycle, *w);
      // Results with func_delay 0 land after their own cycle's execution.
      land(cycle, w->lands);
      for (std::uint32_t v : w->free_vecs) vectors_.release(v);
      for (std::uint32_t a : w->free_accs) accumulators_.release(a);
      wheel_.release(*w);
    }
  }
}

RunResult Engine::Impl::finish() {
  TSPEMU_ASSERT(!finished_, "finish twice");
  // Issue order within a cycle may follow the shuffle seed: the trace's order must not.
  std::sort(stats_.trace.begin(), stats_.trace.end(), [](const TraceSlice& a, const TraceSlice& b) {
    return std::tie(a.issue, a.queue_index, a.instruction) <
           std::tie(b.issue, b.queue_index, b.instruction);
  });
  TSPEMU_ASSERT(next_cycle() == INT64_MAX, "finish with work left");
  finished_ = true;
  if (!parked_.empty()) {
    const int queue = *std::min_element(parked_.begin(), parked_.end());
    const QueueState& q = queues_[static_cast<std::size_t>(queue)];
    fail(queue, static_cast<int>(q.pc) - 1, q.parked_since,
         fmt::format("SYNC issued at cycle {} was never released (no NOTIFY reached it)",
                     q.parked_since));
  }
  for (std::size_t port = 0; port < port_buffers_.size(); ++port) {
    if (port_buffers_[port].empty()) continue;
    const Buffered& b = port_buffers_[port].front();
    throw ScheduleError(
        fmt::format("{} vector(s) arrived on C2C port {} and were never received (the first from "
                    "TSP {} on link {}, arriving in cycle {})",
                    port_buffers_[port].size(), port, b.src.value, b.link.value, b.arrival),
        ErrorContext{.tsp = program_.tsp.value, .queue = fmt::format("C2C{}", port)});
  }
  RunResult result = std::move(stats_);
  result.final_cycle = final_cycle_;
  result.runtime_deskews = clock_.runtime_deskews();
  result.pause_cycles = clock_.pause_cycles();
  result.max_deskew_correction_cycles = clock_.max_correction_cycles();
  result.late_deskews = clock_.late_deskews();
  result.cycles = final_cycle_ + 1;
  result.sweep_final_cycle = sweep_final_cycle_;
  for (std::size_t u = 0; u < units_.size(); ++u) {
    const UnitState& unit = units_[u];
    if (unit.instructions == 0 && unit.busy_cycles == 0) continue;
    result.units.push_back(UnitStats{chip_queues_[u], queue_name(chip_queues_[u]),
                                     unit.instructions, unit.busy_cycles});
  }
  result.sram_touched_pages = static_cast<std::int64_t>(sram_.touched_pages());
  // Outputs: the declared regions as row-major element bytes.
  for (const DataSegment& data : program_.data) {
    if (!data.is_output) continue;
    const int planes = dtype_bytes(data.dtype);
    std::vector<Vector> vectors(static_cast<std::size_t>(planes * data.rows));
    for (int k = 0; k < planes; ++k) {
      const QueueId& slice = data.at.slices[static_cast<std::size_t>(k)];
      const int s = config_.slice_index(slice.hemisphere, slice.index);
      for (int r = 0; r < data.rows; ++r) {
        const int row = data.at.address + r;
        if (!sram_.read(s, row, vectors[static_cast<std::size_t>(k * data.rows + r)])) {
          throw ScheduleError(fmt::format("output '{}' row {} ({} address {}) was never written",
                                          data.name, r, queue_name(slice), hex(row)),
                              ErrorContext{.where = data.where, .tsp = program_.tsp.value});
        }
      }
    }
    result.outputs.push_back(OutputData{data.name, data.dtype, data.rows, data.columns,
                                        elements_from_vectors(data, vectors)});
  }
  // Digest (XXH3-128, common/digest.hpp), in this exact order:
  //   str("tspemu.chip.v1")
  //   u64(number of outputs); per output in declaration order: str(name), u64(size), bytes
  //   u64(touched pages); per page in ascending (slice, page) order, slices numbered W0..W(M-1)
  //     then E0..E(M-1): u64(slice), u64(page), the page's 16 x 320 bytes (rows ascending)
  //   u64(opcodes up to RUNTIME_DESKEW); per such opcode in enum order: u64(issued count, REPEATs
  //     expanded); then per later opcode (SAC) that issued anything: u64(opcode), u64(count)
  // (str = u64 length + bytes; u64 little-endian.) Opcodes added after the format was fixed are
  // hashed only when used, so a program that does not use them keeps its digest.
  Hasher h;
  h.str("tspemu.chip.v1");
  h.u64(result.outputs.size());
  for (const OutputData& out : result.outputs) {
    h.str(out.name);
    h.u64(out.bytes.size());
    h.bytes(out.bytes);
  }
  h.u64(sram_.touched_pages());
  sram_.for_each_touched_page([&](int slice, int page, std::span<const std::uint8_t> bytes) {
    h.u64(static_cast<std::uint64_t>(slice));
    h.u64(static_cast<std::uint64_t>(page));
    h.bytes(bytes);
  });
  constexpr auto kHashedOpcodes = static_cast<std::size_t>(Opcode::runtime_deskew) + 1;
  h.u64(kHashedOpcodes);
  for (std::size_t i = 0; i < result.instructions_by_opcode.size(); ++i) {
    const std::int64_t count = result.instructions_by_opcode[i];
    if (i < kHashedOpcodes) {
      h.i64(count);
    } else if (count != 0) {
      h.u64(i).i64(count);
    }
  }
  result.digest = h.finish();
  return result;
}

// ---- Engine -------------------------------------------------------------------------------------

Engine::Engine(const TspProgram& program, const ChipConfig& config, EngineOptions options)
    : impl_(std::make_unique<Impl>(program, config, options)) {}

Engine::~Engine() = default;

RunResult Engine::run() {
  impl_->run_until(INT64_MAX);
  return impl_->finish();
}

bool Engine::run_until(Cycle end_cycle) {
  return impl_->run_until(end_cycle);
}

RunResult Engine::finish() {
  return impl_->finish();
}

std::vector<C2cSend> Engine::take_sends() {
  return impl_->take_sends();
}

void Engine::deliver(PortId port, Cycle arrival_cycle, const Vector& data, TspId src, LinkId link,
                     GlobalTime arrival_time_as) {
  impl_->deliver(port, arrival_cycle, data, src, link, arrival_time_as);
}

const ChipClock& Engine::clock() const {
  return impl_->chip_clock();
}

bool Engine::idle() const {
  return impl_->idle();
}
Cycle Engine::last_active_cycle() const {
  return impl_->last_active_cycle();
}
Cycle Engine::next_event_cycle() const {
  return impl_->next_event_cycle();
}
std::int64_t Engine::vectors_pending() const {
  return impl_->vectors_pending();
}

}  // namespace tspemu
