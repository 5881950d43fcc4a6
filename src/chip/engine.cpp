#include "chip/engine.hpp"

#include <Kokkos_Core.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <deque>
#include <exception>
#include <functional>
#include <map>
#include <queue>
#include <span>
#include <type_traits>
#include <utility>

#include "chip/kokkos_session.hpp"
#include "chip/mxm.hpp"
#include "chip/sram.hpp"
#include "chip/stream_file.hpp"
#include "chip/sxm.hpp"
#include "chip/vector_group.hpp"
#include "chip/vxm.hpp"
#include "common/error.hpp"
#include "common/numerics/float_ops.hpp"
#include "isa/data_init.hpp"
#include "isa/disassembler.hpp"
#include "isa/queue.hpp"
#include "isa/validate.hpp"

// Schedule errors (exact texts; tests/unit/chip/engine_test.cpp asserts them):
//   stream S5E holds no value at position 46 (VXM) in cycle 120
//   two writes to stream S5E at position 46 (VXM) in cycle 120
//   MEM bank conflict in cycle 13: MEM_W3 bank 1 is read (READ issued at cycle 13) and written
//     (WRITE issued at cycle 12) in the same cycle
//   MEM port conflict in cycle 13: MEM_W3 has two reads (READ issued at cycle 13, GATHER issued at
//     cycle 10); a slice reads once per cycle            (likewise "two writes ... writes once")
//   op issued to a busy unit: MXM0.W is busy until cycle 108 (IW issued at cycle 100)
//   uninitialised SRAM read: MEM_W3 address 0x11 was never written and is not declared zero-filled
//   GATHER lane 5 address 0x2328 is out of range 0..0x1fff
//   READ address 0x2000 is out of range 0..0x1fff
//   ALU3 holds no result in cycle 20
//   ABC on MXM plane 0: no weights installed (no IW has completed)
//   issue cycle @100 is before the queue's next free cycle 120
//   SYNC issued at cycle 5 was never released (no NOTIFY reached it)
//   SEND needs the network: not supported in a single-TSP run until the multi-TSP runtime lands
//   output 'y' row 3 (MEM_W2 address 0x67) was never written

namespace tspemu {

class Engine::Impl {
 public:
  Impl(const TspProgram& program, const ChipConfig& config, EngineOptions options);
  bool run_until(Cycle end_cycle);
  RunResult finish();
  std::vector<C2cSend> take_sends();
  void deliver(PortId port, Cycle arrival_cycle, const Vector& data, TspId src, LinkId link);
  [[nodiscard]] bool idle() const { return next_cycle() == INT64_MAX; }
  [[nodiscard]] Cycle last_active_cycle() const { return final_cycle_; }
  [[nodiscard]] Cycle next_event_cycle() const { return next_cycle(); }
  [[nodiscard]] std::int64_t vectors_pending() const { return delivered_ - received_; }

 private:
  // ---- types ----------------------------------------------------------------------------------
  struct Effect {
    enum class Kind : std::uint8_t {
      stream,
      sram_row,
      sram_scatter,
      // Timing-only SCATTER: no addresses, nothing written, but its landing is activity (the run
      // ends at the same cycle as the full run).
      timing_only_write,
      alu,
      accumulate,
      weight_row,
      install,
      c2c_send
    };
    Kind kind = Kind::stream;
    Direction direction = Direction::east;
    bool clear = false;
    bool floating = false;
    std::uint8_t count = 0;               // ALU: planes
    std::int16_t unit = 0;                // stream index | slice | ALU | plane
    std::int32_t index = 0;               // position | row | accumulator | weight row
    std::array<std::uint32_t, 4> vecs{};  // pool vectors (accumulate: accumulator pool index)
    std::int32_t queue = 0;               // who produced it, for errors
    std::int32_t instruction = 0;
  };

  struct ExecItem {
    std::int32_t queue = 0;
    std::int32_t instruction = 0;
    Cycle issue = 0;
    Cycle exec = 0;
    Cycle land = 0;
    std::int64_t address = 0;  // READ/WRITE after REPEAT stride
    // Reserved before execution (serial): pool vectors and effect slots.
    std::uint32_t first_vec = 0;
    std::uint32_t vec_count = 0;
    std::uint32_t first_effect = 0;
    std::uint32_t effect_count = 0;
    std::uint32_t acc_slot = 0;
    // Filled by execution.
    std::uint32_t effects_used = 0;
    std::uint32_t port_banks = 0;  // MEM: banks touched (GATHER/SCATTER from the map)
  };

  struct Work {
    Cycle cycle = -1;
    std::vector<ExecItem> exec;
    std::vector<Effect> lands;
    std::vector<std::uint32_t> free_vecs;  // pool vectors to release after landing
    std::vector<std::uint32_t> free_accs;
    [[nodiscard]] bool empty() const { return exec.empty() && lands.empty(); }
    void clear() {
      exec.clear();
      lands.clear();
      free_vecs.clear();
      free_accs.clear();
    }
  };

  // What the engine needs of an instruction besides its operands, decoded once.
  struct Decoded {
    Unit unit = Unit::icu;
    OpTiming timing;
    std::uint32_t vecs = 0;     // pool vectors its result needs
    std::uint32_t effects = 0;  // effects it can produce
    bool accumulator = false;   // an ABC result buffer
  };

  struct QueueState {
    QueueId id;
    std::string name;
    int unit = 0;      // index into units_
    int position = 0;  // on the east-west axis
    const std::vector<Instruction>* instructions = nullptr;
    std::vector<Decoded> decoded;  // parallel to *instructions
    std::size_t pc = 0;
    Cycle cursor = 0;
    bool parked = false;
    Cycle parked_since = 0;
    // REPEAT in progress
    std::int64_t repeats_left = 0;
    Cycle repeat_spacing = 0;
    std::int64_t repeat_stride = 0;
    Cycle next_repeat = 0;
    // The last non-ICU instruction issued (what REPEAT repeats)
    int last_op = -1;
    Cycle last_issue = -1;
    std::int64_t last_address = 0;
  };

  struct UnitState {
    Cycle busy_until = 0;
    Cycle busy_since = 0;
    Opcode busy_opcode = Opcode::nop;
    std::int64_t instructions = 0;
    std::int64_t busy_cycles = 0;
  };

  struct AluRegister {
    VectorGroup value;
    bool valid = false;
  };

  // ---- helpers --------------------------------------------------------------------------------
  [[nodiscard]] const Instruction& instruction_at(int queue, int index) const {
    return (
        *queues_[static_cast<std::size_t>(queue)].instructions)[static_cast<std::size_t>(index)];
  }
  [[nodiscard]] ErrorContext context(int queue, int index, Cycle cycle) const;
  [[noreturn]] void fail(int queue, int index, Cycle cycle, std::string message) const {
    throw ScheduleError(std::move(message), context(queue, index, cycle));
  }
  [[nodiscard]] std::string stream_name(int index, Direction d) const {
    return fmt::format("S{}{}", index, d == Direction::east ? 'E' : 'W');
  }
  [[nodiscard]] std::string position_text(int position) const {
    return fmt::format("position {} ({})", position, position_name(position, config_.shape));
  }
  [[nodiscard]] std::string hex(std::int64_t v) const { return fmt::format("{:#x}", v); }
  [[nodiscard]] const Decoded& decoded_at(int queue, int index) const {
    return queues_[static_cast<std::size_t>(queue)].decoded[static_cast<std::size_t>(index)];
  }
  [[nodiscard]] int unit_of(QueueId id) const;
  Work& work_at(Cycle cycle);
  [[nodiscard]] Work* find_work(Cycle cycle);
  void release_work(Work& work);
  [[nodiscard]] Cycle next_cycle() const;
  void schedule(int queue);
  std::uint32_t alloc_vec();
  std::uint32_t alloc_acc();

  // ---- the cycle's steps ----------------------------------------------------------------------
  void land(Cycle cycle, std::vector<Effect>& effects);
  void release_syncs(Cycle cycle);
  void issue(Cycle cycle);
  void issue_one(int queue, Cycle cycle);
  void issue_op(int queue, int index, Cycle cycle, std::int64_t address);
  void setup_repeat(int queue);
  void execute(Cycle cycle, Work& work);
  void execute_item(ExecItem& item, Effect* effects);
  void reserve_ports(const ExecItem& item);

  // ---- op execution (parallel phase: reads shared state, writes only the item's slots) --------
  [[nodiscard]] const Vector& read_stream(const ExecItem& item, int stream, Direction direction,
                                          int position) const;
  void read_group(const ExecItem& item, const StreamRef& ref, int count, int position,
                  VectorGroup& out) const;
  void read_value(const ExecItem& item, const Operand& operand, int count, VectorGroup& out) const;
  [[nodiscard]] Vector& vec(const ExecItem& item, std::uint32_t i) {
    return pool_[cycle_vecs_[item.first_vec + i]];
  }
  [[nodiscard]] std::uint32_t vec_id(const ExecItem& item, std::uint32_t i) const {
    return cycle_vecs_[item.first_vec + i];
  }
  Effect& add_effect(ExecItem& item, Effect* effects, Effect::Kind kind);
  void emit_streams(ExecItem& item, Effect* effects, const StreamRef& dst, int count, int position,
                    std::uint32_t first_vec);

  // ---- state ----------------------------------------------------------------------------------
  const TspProgram& program_;
  ChipConfig config_;
  EngineOptions options_;
  std::vector<QueueState> queues_;
  std::vector<QueueId> chip_queues_;  // all_queues(shape): unit i is chip_queues_[i]
  std::vector<UnitState> units_;
  StreamFile streams_;
  Sram sram_;
  BankPorts ports_;
  std::vector<MxmPlane> planes_;
  std::vector<std::deque<std::unique_ptr<std::array<Vector, kMxmRows>>>> staged_;  // per plane
  std::vector<AluRegister> alus_;

  // Pending work by cycle: a timing wheel of buckets indexed by cycle modulo its size (a power of
  // two above the longest skew + func_delay, so pending cycles never collide), with a bitset of
  // the busy buckets to find the next busy cycle by word scans.
  std::vector<Work> wheel_;
  std::vector<std::uint64_t> wheel_bits_;
  std::uint64_t wheel_mask_ = 0;
  std::size_t wheel_busy_ = 0;
  using HeapEntry = std::pair<Cycle, int>;
  std::priority_queue<HeapEntry, std::vector<HeapEntry>, std::greater<>> ready_;
  std::map<Cycle, int> releases_;  // NOTIFY arrival cycle -> count
  std::vector<int> parked_;

  std::vector<Vector> pool_;
  std::vector<std::uint32_t> free_pool_;
  std::vector<AccumulatorLanes> acc_pool_;
  std::vector<std::uint32_t> free_acc_pool_;
  std::vector<std::uint32_t> cycle_vecs_;  // this cycle's reserved pool vectors, by item
  std::vector<Effect> cycle_effects_;
  std::vector<int> order_;
  std::vector<std::exception_ptr> cycle_errors_;  // by item index; kept apart so items stay trivial

  // C2C ports: vectors delivered by the runtime, in arrival order, until a RECEIVE takes them.
  struct Buffered {
    Cycle arrival = 0;
    Vector data;
    TspId src;
    LinkId link;
  };
  std::vector<std::deque<Buffered>> port_buffers_;
  std::vector<C2cSend> sends_;
  std::int64_t delivered_ = 0;
  std::int64_t received_ = 0;
  void issue_receive(int queue, int index, ExecItem& item);

  bool alone_in_cycle_ = false;  // the executing op is the only one of its cycle (no outer launch)
  Cycle final_cycle_ = -1;
  Cycle current_ = -1;
  Cycle last_release_ = -1;
  Cycle sweep_final_cycle_ = -1;  // cycle of the latest NOTIFY arrival (a SYNC issued then passes)
  RunResult stats_;
  bool finished_ = false;
};

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

// Pool vectors and effects an op produces (upper bounds), from its operands alone.
struct Footprint {
  std::uint32_t vecs = 0;
  std::uint32_t effects = 0;
  bool accumulator = false;
};

int group_width(DType t) {
  return t == DType::none ? 1 : dtype_bytes(t);
}

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
      ports_(config.mem_slices(), std::min(port_window(config), kMaxPortWindow)) {
  config_.validate();
  if (port_window(config_) > kMaxPortWindow) {
    throw InputError(
        fmt::format("func_delay_cycles of MEM ops above {} are not supported", kMaxPortWindow - 1),
        ErrorContext{.key = std::string("chip.op_timing")});
  }
  int longest = 0;
  for (std::size_t i = 0; i < timing_keys().size(); ++i) {
    const OpTiming& t = config_.timing.row(static_cast<int>(i));
    longest = std::max(longest, t.skew_cycles + t.func_delay_cycles);
  }
  constexpr int kMaxLatency = 1 << 16;
  if (longest >= kMaxLatency) {
    throw InputError(fmt::format("skew_cycles + func_delay_cycles of {} exceeds the engine's limit "
                                 "of {} cycles",
                                 longest, kMaxLatency - 1),
                     ErrorContext{.key = std::string("chip.op_timing")});
  }
  const auto wheel = std::bit_ceil(static_cast<std::uint64_t>(std::max(longest + 2, 64)));
  wheel_.resize(wheel);
  wheel_bits_.assign(wheel / 64, 0);
  wheel_mask_ = wheel - 1;
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

Engine::Impl::Work& Engine::Impl::work_at(Cycle cycle) {
  const auto i = static_cast<std::size_t>(static_cast<std::uint64_t>(cycle) & wheel_mask_);
  Work& w = wheel_[i];
  std::uint64_t& word = wheel_bits_[i >> 6];
  const std::uint64_t bit = std::uint64_t{1} << (i & 63);
  if ((word & bit) == 0) {
    word |= bit;
    ++wheel_busy_;
    w.clear();
    w.cycle = cycle;
  } else {
    TSPEMU_ASSERT(w.cycle == cycle, "timing wheel collision");
  }
  return w;
}

Engine::Impl::Work* Engine::Impl::find_work(Cycle cycle) {
  const auto i = static_cast<std::size_t>(static_cast<std::uint64_t>(cycle) & wheel_mask_);
  if ((wheel_bits_[i >> 6] & (std::uint64_t{1} << (i & 63))) == 0) return nullptr;
  return wheel_[i].cycle == cycle ? &wheel_[i] : nullptr;
}

void Engine::Impl::release_work(Work& work) {
  const auto i = static_cast<std::size_t>(static_cast<std::uint64_t>(work.cycle) & wheel_mask_);
  wheel_bits_[i >> 6] &= ~(std::uint64_t{1} << (i & 63));
  --wheel_busy_;
  work.clear();
}

Cycle Engine::Impl::next_cycle() const {
  Cycle next = INT64_MAX;
  if (!ready_.empty()) next = std::min(next, ready_.top().first);
  if (wheel_busy_ > 0) {
    // Every pending cycle lies in (current_, current_ + wheel size): the first busy bucket found
    // scanning circularly from current_ + 1 is the earliest.
    const std::size_t size = wheel_.size();
    const std::size_t start =
        static_cast<std::size_t>(static_cast<std::uint64_t>(current_ + 1) & wheel_mask_);
    const std::size_t words = wheel_bits_.size();
    for (std::size_t k = 0; k <= words; ++k) {
      const std::size_t w = ((start >> 6) + k) % words;
      std::uint64_t bits = wheel_bits_[w];
      if (k == 0) bits &= ~std::uint64_t{0} << (start & 63);
      if (bits != 0) {
        const std::size_t i = (w << 6) + static_cast<std::size_t>(std::countr_zero(bits));
        TSPEMU_ASSERT(i < size, "wheel index");
        next = std::min(next, wheel_[i].cycle);
        break;
      }
    }
  }
  if (!releases_.empty()) next = std::min(next, releases_.begin()->first);
  return next;
}

std::uint32_t Engine::Impl::alloc_vec() {
  if (!free_pool_.empty()) {
    const std::uint32_t v = free_pool_.back();
    free_pool_.pop_back();
    return v;
  }
  pool_.emplace_back();
  return static_cast<std::uint32_t>(pool_.size() - 1);
}

std::uint32_t Engine::Impl::alloc_acc() {
  if (!free_acc_pool_.empty()) {
    const std::uint32_t v = free_acc_pool_.back();
    free_acc_pool_.pop_back();
    return v;
  }
  acc_pool_.emplace_back();
  return static_cast<std::uint32_t>(acc_pool_.size() - 1);
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
        const Cycle period = options_.hac_period_cycles;
        q.cursor = instr.opcode == Opcode::deskew
                       ? (cycle + period - 1) / period * period  // next HAC overflow (or now)
                       : cycle + 1 + instr.operands[0].value;    // ideal clocks: exactly t
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
  work_at(item.exec).exec.push_back(item);
}

// RECEIVE takes the oldest vector of its port, which must have arrived by its operand cycle. It
// is taken here, in the serial issue phase (a port has one queue, so no two RECEIVEs race), and
// parked in a pool vector that execute_item puts on the stream.
void Engine::Impl::issue_receive(int queue, int index, ExecItem& item) {
  const QueueState& q = queues_[static_cast<std::size_t>(queue)];
  const int port = q.id.index;
  auto& buffer = port_buffers_[static_cast<std::size_t>(port)];
  // The port's occupancy only grows until this RECEIVE: its peak is what has arrived by now.
  std::int64_t waiting = 0;
  for (const Buffered& b : buffer) waiting += b.arrival <= item.exec ? 1 : 0;
  if (waiting > options_.c2c_buffer_vectors) {
    fail(queue, index, item.exec,
         fmt::format("C2C port {} buffer overflow: {} vectors arrived and wait for a RECEIVE by "
                     "cycle {} (capacity {})",
                     port, waiting, item.exec, options_.c2c_buffer_vectors));
  }
  if (buffer.empty()) {
    fail(queue, index, item.exec,
         fmt::format("late arrival: RECEIVE on C2C port {} in cycle {} finds no vector (none has "
                     "arrived on this port yet)",
                     port, item.exec));
  }
  const Buffered& front = buffer.front();
  if (front.arrival > item.exec) {
    fail(queue, index, item.exec,
         fmt::format("late arrival: RECEIVE on C2C port {} in cycle {}, but the vector from TSP {} "
                     "on link {} arrives in cycle {}",
                     port, item.exec, front.src.value, front.link.value, front.arrival));
  }
  const std::uint32_t staged = alloc_vec();
  pool_[staged] = front.data;
  item.address = staged;
  buffer.pop_front();
  ++received_;
}

std::vector<C2cSend> Engine::Impl::take_sends() {
  std::vector<C2cSend> out;
  out.swap(sends_);
  // (send_cycle, port) is unique (a port's queue issues at most one SEND per cycle), so std::sort
  // gives the one order. Not std::stable_sort: libstdc++ 12 gives it a temporary buffer that
  // ignores alignas(64) of Vector, and -march=native code for AVX-512 hosts then crashes in it.
  std::sort(out.begin(), out.end(), [](const C2cSend& a, const C2cSend& b) {
    return a.send_cycle != b.send_cycle ? a.send_cycle < b.send_cycle : a.port < b.port;
  });
  return out;
}

void Engine::Impl::deliver(PortId port, Cycle arrival_cycle, const Vector& data, TspId src,
                           LinkId link) {
  if (port.value < 0 || port.index() >= port_buffers_.size()) {
    throw RuntimeError(fmt::format("tsp {}: vector delivered to C2C port {}, which does not exist",
                                   program_.tsp.value, port.value));
  }
  if (arrival_cycle <= current_) {
    throw RuntimeError(fmt::format(
        "tsp {}: vector for C2C port {} arriving in cycle {} was delivered after the engine ran "
        "cycle {} (window longer than the link latency?)",
        program_.tsp.value, port.value, arrival_cycle, current_));
  }
  auto& buffer = port_buffers_[port.index()];
  Buffered b{arrival_cycle, data, src, link};
  // Arrival order; equal arrivals keep delivery order (the transport's canonical order).
  const auto at = std::upper_bound(buffer.begin(), buffer.end(), arrival_cycle,
                                   [](Cycle a, const Buffered& x) { return a < x.arrival; });
  buffer.insert(at, std::move(b));
  ++delivered_;
  // An arrival is activity of this chip (docs/network.md: the run's final cycle covers it).
  final_cycle_ = std::max(final_cycle_, arrival_cycle);
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
    for (std::uint32_t i = 0; i < f.vecs; ++i) cycle_vecs_.push_back(alloc_vec());
    if (f.accumulator) item.acc_slot = alloc_acc();
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
    Kokkos::parallel_for(
        "tspemu::chip::execute",
        Kokkos::RangePolicy<Kokkos::DefaultHostExecutionSpace, Kokkos::IndexType<int>>(0, n),
        run_one);
    Kokkos::DefaultHostExecutionSpace().fence();
  }
  // Serial, in ready-list order: errors, MEM ports, then results into their landing cycles.
  for (std::size_t k = 0; k < items.size(); ++k) {
    if (cycle_errors_[k]) std::rethrow_exception(cycle_errors_[k]);
    reserve_ports(items[k]);
  }
  for (ExecItem& item : items) {
    Work& target = item.land == cycle ? work : work_at(item.land);
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

void Engine::Impl::reserve_ports(const ExecItem& item) {
  if (decoded_at(item.queue, item.instruction).unit != Unit::mem) return;
  const Instruction& instr = instruction_at(item.queue, item.instruction);
  const QueueState& q = queues_[static_cast<std::size_t>(item.queue)];
  const int slice = config_.slice_index(q.id.hemisphere, q.id.index);
  const bool is_read = instr.opcode == Opcode::read || instr.opcode == Opcode::gather;
  const Cycle access = is_read ? item.exec : item.land;
  std::uint32_t banks = item.port_banks;
  if (instr.opcode == Opcode::read || instr.opcode == Opcode::write) {
    banks = 1U << config_.bank_of(static_cast<int>(item.address));
  }
  // Owner: (issue cycle, opcode, queue) packed for the message about the earlier access.
  const std::int64_t owner =
      ((item.issue * 256) + static_cast<int>(instr.opcode)) * 65536 + item.queue;
  const auto conflict = ports_.reserve(
      slice, access, is_read ? BankPorts::Access::read : BankPorts::Access::write, banks, owner);
  if (!conflict) return;
  const Cycle other_issue = conflict.owner / 65536 / 256;
  const auto other_op = static_cast<Opcode>((conflict.owner / 65536) % 256);
  const std::string_view mine = op_info(instr.opcode).mnemonic;
  const std::string_view other = op_info(other_op).mnemonic;
  using Kind = BankPorts::Conflict::Kind;
  std::string message;
  if (conflict.kind == Kind::same_bank) {
    const std::uint32_t common = banks;
    int bank = 0;
    while (bank < 31 && ((common >> bank) & 1U) == 0) ++bank;
    const auto read_part = is_read
                               ? fmt::format("read ({} issued at cycle {})", mine, item.issue)
                               : fmt::format("read ({} issued at cycle {})", other, other_issue);
    const auto write_part = is_read
                                ? fmt::format("written ({} issued at cycle {})", other, other_issue)
                                : fmt::format("written ({} issued at cycle {})", mine, item.issue);
    message =
        fmt::format("MEM bank conflict in cycle {}: {} bank {} is {} and {} in the same cycle",
                    access, q.name, bank, read_part, write_part);
  } else {
    const bool reads = conflict.kind == Kind::second_read;
    message = fmt::format(
        "MEM port conflict in cycle {}: {} has two {} ({} issued at cycle {}, {} issued at cycle "
        "{}); a slice {} once per cycle",
        access, q.name, reads ? "reads" : "writes", mine, item.issue, other, other_issue,
        reads ? "reads" : "writes");
  }
  fail(item.queue, item.instruction, access, message);
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

void Engine::Impl::read_group(const ExecItem& item, const StreamRef& ref, int count, int position,
                              VectorGroup& out) const {
  out.count = count;
  for (int i = 0; i < count; ++i) {
    out.planes[static_cast<std::size_t>(i)] =
        read_stream(item, ref.index + i, ref.direction, position);
  }
}

void Engine::Impl::read_value(const ExecItem& item, const Operand& operand, int count,
                              VectorGroup& out) const {
  switch (operand.kind) {
    case OperandKind::stream:
      read_group(item, operand.stream, count,
                 queues_[static_cast<std::size_t>(item.queue)].position, out);
      return;
    case OperandKind::alu: {
      const AluRegister& reg = alus_[static_cast<std::size_t>(operand.value)];
      if (!reg.valid) {
        fail(item.queue, item.instruction, item.exec,
             fmt::format("ALU{} holds no result in cycle {}", operand.value, item.exec));
      }
      out = reg.value;
      for (int i = out.count; i < count; ++i) out.planes[static_cast<std::size_t>(i)] = Vector{};
      out.count = count;
      return;
    }
    case OperandKind::immediate:
      out = VectorGroup::broadcast(static_cast<std::uint32_t>(operand.value), count);
      return;
    default:
      TSPEMU_ASSERT(false, "VXM operand kind");
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
  const QueueState& q = queues_[static_cast<std::size_t>(item.queue)];
  const Instruction& instr = instruction_at(item.queue, item.instruction);
  const Operand* ops = instr.operands;
  const int position = q.position;
  switch (instr.opcode) {
    // ---- MEM ----
    case Opcode::read: {
      const int slice = config_.slice_index(q.id.hemisphere, q.id.index);
      const int row = static_cast<int>(item.address);
      if (!sram_.read(slice, row, vec(item, 0))) {
        fail(item.queue, item.instruction, item.exec,
             fmt::format("uninitialised SRAM read: {} address {} was never written and is not "
                         "declared zero-filled",
                         q.name, hex(row)));
      }
      emit_streams(item, effects, ops[1].stream, 1, position, 0);
      return;
    }
    case Opcode::write: {
      vec(item, 0) = read_stream(item, ops[1].stream.index, ops[1].stream.direction, position);
      Effect& e = add_effect(item, effects, Effect::Kind::sram_row);
      e.unit = static_cast<std::int16_t>(config_.slice_index(q.id.hemisphere, q.id.index));
      e.index = static_cast<std::int32_t>(item.address);
      e.vecs[0] = vec_id(item, 0);
      return;
    }
    case Opcode::gather:
    case Opcode::scatter: {
      const int slice = config_.slice_index(q.id.hemisphere, q.id.index);
      const Vector& map_low =
          read_stream(item, ops[1].stream.index, ops[1].stream.direction, position);
      const Vector& map_high =
          read_stream(item, ops[1].stream.index + 1, ops[1].stream.direction, position);
      const bool gather = instr.opcode == Opcode::gather;
      const Vector* data =
          gather ? nullptr
                 : &read_stream(item, ops[0].stream.index, ops[0].stream.direction, position);
      Vector& out = vec(item, 0);
      if (options_.timing_only) {
        // The map's addresses are data, and a timing-only run has none: the stream reads above
        // are checked, but the per-lane address, bank and initialisation checks need a full run
        // (programs/ISA.md, "Timing-only runs").
        item.port_banks = 0;
        if (gather) {
          out = Vector{};
          emit_streams(item, effects, ops[0].stream, 1, position, 0);
        } else {
          add_effect(item, effects, Effect::Kind::timing_only_write);
        }
        return;
      }
      std::uint32_t banks = 0;
      for (std::size_t l = 0; l < kVectorBytes; ++l) {
        const int row = map_low.bytes[l] | (map_high.bytes[l] << 8);
        if (row >= config_.shape.mem_rows_per_slice) {
          fail(item.queue, item.instruction, item.exec,
               fmt::format("{} lane {} address {} is out of range 0..{}",
                           op_info(instr.opcode).mnemonic, l, hex(row),
                           hex(config_.shape.mem_rows_per_slice - 1)));
        }
        banks |= 1U << config_.bank_of(row);
        if (gather) {
          if (!sram_.initialised(slice, row)) {
            fail(item.queue, item.instruction, item.exec,
                 fmt::format("uninitialised SRAM read: {} address {} was never written and is "
                             "not declared zero-filled",
                             q.name, hex(row)));
          }
          const Vector* source = sram_.find_row(slice, row);
          out.bytes[l] = source != nullptr ? source->bytes[l] : 0;
        }
      }
      item.port_banks = banks;
      if (gather) {
        emit_streams(item, effects, ops[0].stream, 1, position, 0);
      } else {
        out = *data;
        vec(item, 1) = map_low;
        vec(item, 2) = map_high;
        Effect& e = add_effect(item, effects, Effect::Kind::sram_scatter);
        e.unit = static_cast<std::int16_t>(slice);
        e.vecs = {vec_id(item, 0), vec_id(item, 1), vec_id(item, 2), 0};
      }
      return;
    }
    // ---- MXM ----
    case Opcode::lw: {
      const StreamRef& src = ops[1].stream;
      for (int i = 0; i < src.count; ++i) {
        vec(item, static_cast<std::uint32_t>(i)) =
            read_stream(item, src.index + i, src.direction, position);
        Effect& e = add_effect(item, effects, Effect::Kind::weight_row);
        e.unit = q.id.index;
        e.index = static_cast<std::int32_t>(ops[0].value + i);
        e.vecs[0] = vec_id(item, static_cast<std::uint32_t>(i));
      }
      return;
    }
    case Opcode::iw: {
      // The buffer as of the operand cycle; installed when IW completes (double-buffered). Only
      // this plane's weight unit touches its staging queue in this phase.
      auto& staged = staged_[static_cast<std::size_t>(q.id.index)];
      const auto& buffer = planes_[static_cast<std::size_t>(q.id.index)].buffer;
      staged.push_back(buffer ? std::make_unique<std::array<Vector, kMxmRows>>(*buffer)
                              : std::make_unique<std::array<Vector, kMxmRows>>());
      Effect& e = add_effect(item, effects, Effect::Kind::install);
      e.unit = q.id.index;
      return;
    }
    case Opcode::abc: {
      const int plane = q.id.index;
      const bool f16 = instr.dtype == DType::f16;
      const MxmPlane& p = planes_[static_cast<std::size_t>(plane)];
      for (int pl : {plane, plane + 1}) {
        if (pl == plane + 1 && !f16) break;
        if (!planes_[static_cast<std::size_t>(pl)].installed) {
          fail(item.queue, item.instruction, item.exec,
               fmt::format("ABC on MXM plane {}: no weights installed (no IW has completed)", pl));
        }
      }
      AccumulatorLanes& out = acc_pool_[item.acc_slot];
      const StreamRef& a = ops[0].stream;
      if (options_.timing_only) {
        out.fill(0);  // timing-only: no arithmetic (the operands were checked above)
        (void)read_stream(item, a.index, a.direction, position);
        if (f16) (void)read_stream(item, a.index + 1, a.direction, position);
      } else if (f16) {
        const Vector& low = read_stream(item, a.index, a.direction, position);
        const Vector& high = read_stream(item, a.index + 1, a.direction, position);
        std::array<float, kMxmColumns> dots;
        p.installed->matvec_f16(*planes_[static_cast<std::size_t>(plane + 1)].installed, low, high,
                                dots, alone_in_cycle_);
        for (std::size_t n = 0; n < kMxmColumns; ++n)
          out[n] = std::bit_cast<std::uint32_t>(dots[n]);
      } else {
        const Vector& act = read_stream(item, a.index, a.direction, position);
        std::span<std::int32_t, kMxmColumns> dst(reinterpret_cast<std::int32_t*>(out.data()),
                                                 kMxmColumns);
        p.installed->matvec_int8(act, instr.dtype != DType::u8, dst);
      }
      Effect& e = add_effect(item, effects, Effect::Kind::accumulate);
      e.unit = static_cast<std::int16_t>(plane);
      e.index = static_cast<std::int32_t>(ops[1].value);
      e.clear = instr.operand_count > 2 && ops[2].value != 0;
      e.floating = f16;
      e.vecs[0] = item.acc_slot;
      return;
    }
    case Opcode::acc: {
      // Read (and, with clear, reset) the accumulator at the operand cycle. Only this plane's ACC
      // touches its accumulators in this phase: ABC results are added in the landing step.
      MxmPlane& p = planes_[static_cast<std::size_t>(q.id.index)];
      AccumulatorLanes& acc = p.accumulators[static_cast<std::size_t>(ops[1].value)];
      for (std::uint32_t b = 0; b < 4; ++b) {
        Vector& plane_bytes = vec(item, b);
        for (std::size_t n = 0; n < kVectorBytes; ++n) {
          plane_bytes.bytes[n] = static_cast<std::uint8_t>(acc[n] >> (8 * b));
        }
      }
      if (instr.operand_count > 2 && ops[2].value != 0) acc.fill(0);
      emit_streams(item, effects, ops[0].stream, 4, position, 0);
      return;
    }
    // ---- SXM ----
    case Opcode::shift:
    case Opcode::permute:
    case Opcode::distribute: {
      const int w = group_width(instr.dtype);
      VectorGroup src;
      read_group(item, ops[1].stream, w, position, src);
      std::array<bool, kVectorBytes> mask{};
      const bool masked = instr.opcode == Opcode::shift && instr.operand_count > 3 &&
                          ops[3].kind == OperandKind::stream;
      if (masked) {
        VectorGroup m;
        read_group(item, ops[3].stream, w, position, m);
        for (std::size_t l = 0; l < kVectorBytes; ++l) mask[l] = m.element(l) != 0;
      }
      for (int i = 0; i < w; ++i) {
        const Vector& in = src.planes[static_cast<std::size_t>(i)];
        Vector& out = vec(item, static_cast<std::uint32_t>(i));
        if (instr.opcode == Opcode::shift) {
          const int n = static_cast<int>(ops[2].value);
          out = masked ? sxm_shift_select(in, n, mask) : sxm_shift(in, n);
        } else {
          const auto& lanes = program_.maps[static_cast<std::size_t>(ops[2].value)].lanes;
          out =
              instr.opcode == Opcode::permute ? sxm_permute(in, lanes) : sxm_distribute(in, lanes);
        }
      }
      emit_streams(item, effects, ops[0].stream, w, position, 0);
      return;
    }
    case Opcode::rotate: {
      const int n = static_cast<int>(ops[2].value);
      std::array<Vector, 4> in;
      for (int j = 0; j < n; ++j) {
        in[static_cast<std::size_t>(j)] =
            read_stream(item, ops[1].stream.index + j, ops[1].stream.direction, position);
      }
      std::array<Vector, 16> out;
      sxm_rotate(std::span<const Vector>(in.data(), static_cast<std::size_t>(n)), n,
                 std::span<Vector>(out.data(), static_cast<std::size_t>(n * n)));
      for (int i = 0; i < n * n; ++i)
        vec(item, static_cast<std::uint32_t>(i)) = out[static_cast<std::size_t>(i)];
      emit_streams(item, effects, ops[0].stream, n * n, position, 0);
      return;
    }
    case Opcode::transpose: {
      std::array<Vector, 16> in;
      for (int j = 0; j < 16; ++j) {
        in[static_cast<std::size_t>(j)] =
            read_stream(item, ops[1].stream.index + j, ops[1].stream.direction, position);
      }
      std::array<Vector, 16> out;
      sxm_transpose(in, out);
      for (std::uint32_t i = 0; i < 16; ++i) vec(item, i) = out[i];
      emit_streams(item, effects, ops[0].stream, 16, position, 0);
      return;
    }
    // ---- C2C ----
    case Opcode::send: {
      // The vector passing the port's position now goes on the link when the SEND completes.
      vec(item, 0) = read_stream(item, ops[0].stream.index, ops[0].stream.direction, position);
      Effect& e = add_effect(item, effects, Effect::Kind::c2c_send);
      e.unit = static_cast<std::int16_t>(q.id.index);
      e.vecs[0] = vec_id(item, 0);
      return;
    }
    case Opcode::receive:
      vec(item, 0) = pool_[static_cast<std::size_t>(item.address)];  // taken at issue
      emit_streams(item, effects, ops[0].stream, 1, position, 0);
      return;
    default:
      break;
  }
  // ---- VXM ----
  TSPEMU_ASSERT(op_info(instr.opcode).unit == Unit::vxm, "op without an execution rule");
  const VxmOp op{instr.opcode, instr.dtype, instr.src_dtype, instr.saturate};
  const int operand_count = vxm_operand_count(instr.opcode);
  std::array<VectorGroup, 3> values;
  std::array<const VectorGroup*, 3> pointers{};
  for (int i = 0; i < operand_count; ++i) {
    const DType t = instr.opcode == Opcode::cvt ? instr.src_dtype : instr.dtype;
    read_value(item, ops[1 + i], dtype_bytes(t), values[static_cast<std::size_t>(i)]);
    pointers[static_cast<std::size_t>(i)] = &values[static_cast<std::size_t>(i)];
  }
  VectorGroup result;
  if (options_.timing_only) {
    // No arithmetic: the operands were read (and checked) above; the result's planes carry no
    // data, only their count matters to the streams they go to.
    result.count = dtype_bytes(op.dtype);
  } else {
    result = vxm_compute(op, std::span<const VectorGroup* const>(
                                 pointers.data(), static_cast<std::size_t>(operand_count)));
  }
  for (int i = 0; i < result.count; ++i) {
    vec(item, static_cast<std::uint32_t>(i)) = result.planes[static_cast<std::size_t>(i)];
  }
  if (ops[0].kind == OperandKind::stream) {
    emit_streams(item, effects, ops[0].stream, result.count, position, 0);
  }
  Effect& e = add_effect(item, effects, Effect::Kind::alu);
  e.unit = q.id.index;
  e.count = static_cast<std::uint8_t>(result.count);
  for (int i = 0; i < result.count; ++i) {
    e.vecs[static_cast<std::size_t>(i)] = vec_id(item, static_cast<std::uint32_t>(i));
  }
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
        if (!streams_.write(e.direction, e.unit, e.index, cycle, pool_[e.vecs[0]])) {
          fail(e.queue, e.instruction, cycle,
               fmt::format("two writes to stream {} at {} in cycle {}",
                           stream_name(e.unit, e.direction), position_text(e.index), cycle));
        }
        break;
      case Effect::Kind::sram_row:
        sram_.write(e.unit, e.index, pool_[e.vecs[0]]);
        break;
      case Effect::Kind::timing_only_write:
        break;
      case Effect::Kind::sram_scatter: {
        const Vector& data = pool_[e.vecs[0]];
        const Vector& low = pool_[e.vecs[1]];
        const Vector& high = pool_[e.vecs[2]];
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
        for (int i = 0; i < e.count; ++i) {
          reg.value.planes[static_cast<std::size_t>(i)] =
              pool_[e.vecs[static_cast<std::size_t>(i)]];
        }
        break;
      }
      case Effect::Kind::accumulate: {
        AccumulatorLanes& acc = planes_[static_cast<std::size_t>(e.unit)]
                                    .accumulators[static_cast<std::size_t>(e.index)];
        const AccumulatorLanes& r = acc_pool_[e.vecs[0]];
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
        auto& buffer = planes_[static_cast<std::size_t>(e.unit)].buffer;
        if (!buffer) buffer = std::make_unique<std::array<Vector, kMxmRows>>();
        (*buffer)[static_cast<std::size_t>(e.index)] = pool_[e.vecs[0]];
        break;
      }
      case Effect::Kind::c2c_send: {
        const Instruction& instr = instruction_at(e.queue, e.instruction);
        const OpTiming& timing = decoded_at(e.queue, e.instruction).timing;
        sends_.push_back(C2cSend{PortId{e.unit},
                                 cycle - timing.skew_cycles - timing.func_delay_cycles,
                                 pool_[e.vecs[0]], instr.where});
        break;
      }
      case Effect::Kind::install: {
        auto& staged = staged_[static_cast<std::size_t>(e.unit)];
        TSPEMU_ASSERT(!staged.empty(), "IW without a snapshot");
        planes_[static_cast<std::size_t>(e.unit)].installed =
            std::make_shared<const InstalledWeights>(*staged.front());
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
    if (Work* w = find_work(cycle)) {
      land(cycle, w->lands);
      w->lands.clear();
    }
    release_syncs(cycle);
    issue(cycle);
    if (Work* w = find_work(cycle)) {
      execute(cycle, *w);
      // Results with func_delay 0 land after their own cycle's execution.
      land(cycle, w->lands);
      for (std::uint32_t v : w->free_vecs) free_pool_.push_back(v);
      for (std::uint32_t a : w->free_accs) free_acc_pool_.push_back(a);
      release_work(*w);
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
  //   u64(kOpcodeCount); per opcode in enum order: u64(issued count, REPEATs expanded)
  // (str = u64 length + bytes; u64 little-endian.)
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
  h.u64(kOpcodeCount);
  for (std::int64_t count : result.instructions_by_opcode) h.i64(count);
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

void Engine::deliver(PortId port, Cycle arrival_cycle, const Vector& data, TspId src, LinkId link) {
  impl_->deliver(port, arrival_cycle, data, src, link);
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
