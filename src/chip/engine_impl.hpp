#pragma once
// The engine's internals (chip/engine.hpp is the interface), shared by its files:
//   engine.cpp       construction, issue, the cycle loop, landing, finish
//   engine_mem.cpp   MEM: READ, WRITE, GATHER, SCATTER and the bank-port rules
//   engine_vxm.cpp   VXM: element-wise ops and their operands (streams, ALU registers, immediates)
//   engine_mxm.cpp   MXM: LW, IW, ABC, ACC
//   engine_sxm.cpp   SXM: SHIFT, PERMUTE, DISTRIBUTE, ROTATE, TRANSPOSE
//   engine_c2c.cpp   C2C: SEND, RECEIVE, the ports' buffers
// with the timing wheel (chip/timing_wheel.hpp) and the slot pools (chip/vector_pool.hpp).
//
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

#include <fmt/format.h>

#include <array>
#include <deque>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <queue>
#include <span>
#include <string>
#include <vector>

#include "chip/engine.hpp"
#include "chip/mxm.hpp"
#include "chip/sram.hpp"
#include "chip/stream_file.hpp"
#include "chip/timing_wheel.hpp"
#include "chip/vector_group.hpp"
#include "chip/vector_pool.hpp"
#include "common/error.hpp"
#include "isa/queue.hpp"

namespace tspemu {

// Vectors of an SXM op's element group: its dtype's bytes (1 for none).
[[nodiscard]] inline int group_width(DType t) {
  return t == DType::none ? 1 : dtype_bytes(t);
}

class Engine::Impl {
 public:
  Impl(const TspProgram& program, const ChipConfig& config, EngineOptions options);
  bool run_until(Cycle end_cycle);
  RunResult finish();
  std::vector<C2cSend> take_sends();
  void deliver(PortId port, Cycle arrival_cycle, const Vector& data, TspId src, LinkId link,
               GlobalTime arrival_time_as);
  // Drifting clocks: after a RUNTIME_DESKEW at `cycle`, the buffered vectors due after it land on
  // the cycles the new pause gives them.
  void reconvert_arrivals(Cycle cycle);
  [[nodiscard]] const ChipClock& chip_clock() const { return clock_; }
  [[nodiscard]] bool idle() const { return next_cycle() == INT64_MAX; }
  [[nodiscard]] Cycle last_active_cycle() const { return final_cycle_; }
  [[nodiscard]] Cycle next_event_cycle() const { return next_cycle(); }
  [[nodiscard]] std::int64_t vectors_pending() const { return delivered_ - received_; }
  // Checkpoint/restart (chip/engine_checkpoint.cpp).
  [[nodiscard]] std::vector<std::uint8_t> save_state() const;
  void restore_state(std::span<const std::uint8_t> bytes);

 private:
  // The dynamic state in one archive pass (save and load alike): chip/engine_checkpoint.cpp.
  template <class Archive>
  void state(Archive& archive);
  // After restore_state: what the loaded state would index out of range, or nullptr.
  [[nodiscard]] const char* inconsistency() const;

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
    template <class Archive>
    void serialize(Archive& archive) {
      archive(kind, direction, clear, floating, count, unit, index, vecs, queue, instruction);
    }
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
    template <class Archive>
    void serialize(Archive& archive) {
      archive(queue, instruction, issue, exec, land, address, first_vec, vec_count, first_effect,
              effect_count, acc_slot, effects_used, port_banks);
    }
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
    template <class Archive>
    void serialize(Archive& archive) {
      archive(cycle, exec, lands, free_vecs, free_accs);
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
    template <class Archive>
    void serialize(Archive& archive) {
      archive(busy_until, busy_since, busy_opcode, instructions, busy_cycles);
    }
  };

  struct AluRegister {
    VectorGroup value;
    bool valid = false;
    template <class Archive>
    void serialize(Archive& archive) {
      archive(value.planes, value.count, valid);
    }
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
  // What every unit's rules start from: the op's queue, instruction, operands and position.
  struct OpAt {
    const QueueState& q;
    const Instruction& instr;
    const Operand* ops;
    int position;
  };
  [[nodiscard]] OpAt op_at(const ExecItem& item) const {
    const QueueState& q = queues_[static_cast<std::size_t>(item.queue)];
    const Instruction& instr = instruction_at(item.queue, item.instruction);
    return OpAt{q, instr, instr.operands, q.position};
  }
  [[nodiscard]] Cycle next_cycle() const;
  void schedule(int queue);
  // The timing wheel's span: skew + func_delay of the slowest op, checked against the engine's
  // limit (InputError located at chip.op_timing).
  [[nodiscard]] static std::int64_t wheel_span(const ChipConfig& config);

  // ---- the cycle's steps ----------------------------------------------------------------------
  void land(Cycle cycle, std::vector<Effect>& effects);
  void release_syncs(Cycle cycle);
  void issue(Cycle cycle);
  void issue_one(int queue, Cycle cycle);
  void issue_op(int queue, int index, Cycle cycle, std::int64_t address);
  void setup_repeat(int queue);
  void execute(Cycle cycle, Work& work);
  // Dispatches by the op's unit to its rules (chip/engine_<unit>.cpp).
  void execute_item(ExecItem& item, Effect* effects);
  void execute_mem(ExecItem& item, Effect* effects);
  void execute_vxm(ExecItem& item, Effect* effects);
  void execute_mxm(ExecItem& item, Effect* effects);
  void execute_sxm(ExecItem& item, Effect* effects);
  void execute_c2c(ExecItem& item, Effect* effects);
  void reserve_ports(const ExecItem& item);

  // ---- op execution (parallel phase: reads shared state, writes only the item's slots) --------
  [[nodiscard]] const Vector& read_stream(const ExecItem& item, int stream, Direction direction,
                                          int position) const;
  void read_group(const ExecItem& item, const StreamRef& ref, int count, int position,
                  VectorGroup& out) const;
  void read_value(const ExecItem& item, const Operand& operand, int count, VectorGroup& out) const;
  // Timing-only: the same checks as read_group / read_value (a stream that holds a value, a valid
  // ALU register), without copying anything.
  void check_group(const ExecItem& item, const StreamRef& ref, int count, int position) const;
  void check_value(const ExecItem& item, const Operand& operand, int count) const;
  // The ALU's register, or the "holds no result" ScheduleError.
  [[nodiscard]] const AluRegister& alu_result(const ExecItem& item, std::int64_t alu) const;
  // Timing-only: the weights an IW installs (none: only that an install happened matters).
  [[nodiscard]] static std::shared_ptr<const InstalledWeights> timing_only_weights();
  [[nodiscard]] Vector& vec(const ExecItem& item, std::uint32_t i) {
    return vectors_[cycle_vecs_[item.first_vec + i]];
  }
  [[nodiscard]] std::uint32_t vec_id(const ExecItem& item, std::uint32_t i) const {
    return cycle_vecs_[item.first_vec + i];
  }
  Effect& add_effect(ExecItem& item, Effect* effects, Effect::Kind kind);
  void emit_streams(ExecItem& item, Effect* effects, const StreamRef& dst, int count, int position,
                    std::uint32_t first_vec);
  // A VXM op's `count` result planes (already in its pool vectors) to its destination stream and
  // its ALU's register.
  void emit_vxm_result(ExecItem& item, Effect* effects, int count);

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

  // Pending work by cycle (chip/timing_wheel.hpp): executions and landings.
  TimingWheel<Work> wheel_;
  using HeapEntry = std::pair<Cycle, int>;
  std::priority_queue<HeapEntry, std::vector<HeapEntry>, std::greater<>> ready_;
  std::map<Cycle, int> releases_;  // NOTIFY arrival cycle -> count
  std::vector<int> parked_;

  // Values between an op's execution and its landing (chip/vector_pool.hpp).
  SlotPool<Vector> vectors_;
  SlotPool<AccumulatorLanes> accumulators_;
  std::vector<std::uint32_t> cycle_vecs_;  // this cycle's reserved pool vectors, by item
  std::vector<Effect> cycle_effects_;
  std::vector<int> order_;
  std::vector<std::exception_ptr> cycle_errors_;  // by item index; kept apart so items stay trivial

  // C2C ports: vectors delivered by the runtime, in arrival order, until a RECEIVE takes them.
  struct Buffered {
    Cycle arrival = 0;
    GlobalTime arrival_time_as = 0;  // drifting clocks only
    Vector data;
    TspId src;
    LinkId link;
    template <class Archive>
    void serialize(Archive& archive) {
      archive(arrival, arrival_time_as, data, src, link);
    }
  };
  std::vector<std::deque<Buffered>> port_buffers_;
  ChipClock clock_;
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

}  // namespace tspemu
