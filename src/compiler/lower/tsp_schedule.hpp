#pragma once
// One TSP's schedule under construction (issue 6, docs/design.md section 5): the time x space
// reservation tables the list scheduler places instructions into, the SRAM allocator, and the
// instructions and data segments emitted so far.
//
// The scheduler places *chains*: a few instructions on different units whose issue cycles are fixed
// relative to one anchor cycle by the stream travel times and the ISA timing table (a READ at
// position p feeds a VXM op at position 46 exactly 3 + |46 - p| cycles later, and so on).
// place() finds the earliest anchor at which every instruction's queue is free, every MEM access
// keeps the port and bank rules, and every stream value finds a free stream group on its diagonal,
// then reserves all of it at once. Resources modelled, exactly as the engine checks them:
//   - queues: one issue per queue per cycle; a unit stays busy for its occupancy (IW: 8);
//   - MEM slices: one read-type access per cycle (at the operand cycle) and one write-type access
//     per cycle (at the landing cycle), and a read and a write in the same cycle on different
//     banks;
//   - VXM ALU registers: every VXM op's result lands in its ALU's register ("ALUj") at its result
//     cycle. An op whose result other ops of its chain read from that register (ALU chaining)
//     holds it from its landing to the last such read, and no other result may land on that ALU
//     in between; conversely no result may land inside another value's hold;
//   - streams: a value written at position p in cycle w travels one position per cycle along its
//     diagonal (eastward: cycle - position = w - p); it occupies the half-open position interval
//     [p, farthest reader) of that diagonal on its stream, and two values' intervals on the same
//     (direction, stream, diagonal) must be disjoint (a writer inside another value's interval
//     would overwrite it before its reader sees it; a writer at the reader's own position is fine:
//     a value is visible only from the next position on).
// The engine re-checks every one of these rules when the compiler's verification pass runs the
// bundle (compiler/compile.hpp), so a mistake here is caught before a bundle is written.

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/ids.hpp"
#include "compiler/lower/busy_intervals.hpp"
#include "compiler/lower/sram_allocator.hpp"
#include "isa/chip_config.hpp"
#include "isa/program.hpp"

namespace tspemu::detail {

// The widest stream value a chain carries: an LW reads up to 32 consecutive streams.
inline constexpr int kMaxValueWidth = 32;

// A stored vector (all byte planes) and the cycle from which a READ of it may issue.
struct VectorLoc {
  SliceGroup group;
  std::int32_t address = 0;
  Cycle ready = 0;
  std::int32_t segment = -1;  // data segment (index into the TSP's data) holding it
  std::int32_t segment_row = 0;
};

// One instruction of a chain. Stream operands name chain values (their stream is chosen when the
// chain is placed).
struct ChainOp {
  QueueId queue;
  bool any_vxm_alu = false;  // take the first free VXM ALU instead of `queue`
  Cycle offset = 0;          // issue cycle - anchor
  int occupancy = 1;
  Instruction instr;
  std::array<std::int8_t, kMaxOperands> operand_value{-1, -1, -1, -1};
  // Which stream of the value's group the operand names (a READ or WRITE moves one byte plane).
  std::array<std::int8_t, kMaxOperands> operand_component{0, 0, 0, 0};
  // Extra queues kept busy at the same cycles (an fp16 ABC also occupies plane p + 1).
  std::vector<QueueId> also_busy;
  // Operands that read another VXM op's result from its ALU register (ALUj): that op's index in
  // the chain (its ALU is chosen when the chain is placed); -1 otherwise.
  std::array<std::int16_t, kMaxOperands> operand_alu_op{-1, -1, -1, -1};
  // A VXM op read through its ALU register: the last cycle (relative to the anchor) it is read;
  // its register is held from its landing until then. -1: nobody reads the register.
  Cycle alu_hold_until = -1;
  // MEM access: slice (global), read (at offset) or write (landing at offset + write_delay), of
  // the allocation holding row mem_address (the row itself, or a GATHER's/SCATTER's base).
  int mem_slice = -1;
  std::int32_t mem_address = 0;
  bool mem_write = false;
  int mem_bank = 0;
  int mem_write_delay = 1;
};

// A value on a stream group. Component k is written at position from_pos[k] and read as far as
// to_pos[k]; all components share one diagonal: (eastward) write cycle - write position =
// anchor + diag_offset, (westward) write cycle + write position = anchor + diag_offset.
struct ChainValue {
  Direction direction = Direction::east;
  int width = 1;
  Cycle diag_offset = 0;
  std::array<int, kMaxValueWidth> from_pos{};
  std::array<int, kMaxValueWidth> to_pos{};
};

struct Chain {
  std::vector<ChainOp> ops;
  std::vector<ChainValue> values;
};

// Where a placed chain ended up.
struct Placement {
  Cycle anchor = 0;
  std::vector<int> value_streams;   // first stream of each value's group
  std::vector<int> op_queue_index;  // the queue each op went to (VXM ALU chosen)
};

class TspSchedule {
 public:
  TspSchedule(TspId tsp, const ChipConfig& config);

  [[nodiscard]] TspId tsp() const { return tsp_; }
  [[nodiscard]] const ChipConfig& config() const { return config_; }

  // Position of a global MEM slice, and its queue.
  [[nodiscard]] int slice_position(int slice) const;
  [[nodiscard]] QueueId slice_queue(int slice) const;
  [[nodiscard]] int bank_of(std::int32_t address) const { return config_.bank_of(address); }

  // ---- SRAM (lower/sram_allocator.hpp) ----
  using Allocation = detail::Allocation;
  // Slices in `avoid` are not used (an operand that must be read in the same cycle as another).
  Allocation allocate(int width, std::int32_t rows, int bank = -1,
                      std::span<const std::int16_t> avoid = {}, RowUse use = RowUse::pinned) {
    return sram_.allocate(width, rows, bank, avoid, use);
  }
  // The same slices as `like` when they have room (ping-pong buffers, weight layouts).
  Allocation allocate_like(const SliceGroup& like, std::int32_t rows, int bank,
                           RowUse use = RowUse::pinned) {
    return sram_.allocate_like(like, rows, bank, use);
  }
  [[nodiscard]] SramAllocator& sram() { return sram_; }
  [[nodiscard]] const SramAllocator& sram() const { return sram_; }
  // The live allocation holding a stored vector, or -1 (lower/sram_allocator.hpp).
  [[nodiscard]] std::int32_t block_of(const VectorLoc& loc) const {
    return sram_.block_at(loc.group.slices[0], loc.address);
  }

  // Adds a lane map (PERMUTE/DISTRIBUTE); returns its index in the program's maps.
  std::int32_t add_lane_map(LaneMap map);
  // Adds a data segment; returns its index. A segment over reused rows (an earlier allocation's)
  // is kept for the compiler's bookkeeping but not declared in the program: declared data never
  // overlaps.
  std::int32_t add_segment(DataSegment segment);
  [[nodiscard]] bool segment_declared(std::int32_t index) const {
    return declared_.at(static_cast<std::size_t>(index));
  }
  [[nodiscard]] DataSegment& segment(std::int32_t index) {
    return data_.at(static_cast<std::size_t>(index));
  }

  // ---- placing ----
  // Earliest anchor >= earliest at which the chain fits; reserves it and emits its instructions.
  Placement place(const Chain& chain, Cycle earliest);
  // True if the queue issues nothing in [cycle, cycle + occupancy).
  [[nodiscard]] bool queue_free(int queue_index, Cycle cycle, int occupancy) const;
  [[nodiscard]] int queue_index(QueueId queue) const;

  // The last cycle at which anything happens: max over emitted instructions of the issue cycle and
  // the result-landing cycle. -1 if nothing was emitted.
  [[nodiscard]] Cycle last_active_cycle() const { return last_active_; }
  // The instructions emitted since begin_span(): the first one's issue cycle and the last cycle
  // any of them is active (first > last: none).
  void begin_span() {
    span_first_ = kNoSpan;
    span_last_ = -1;
  }
  [[nodiscard]] Cycle span_first() const { return span_first_; }
  [[nodiscard]] Cycle span_last() const { return span_last_; }
  static constexpr Cycle kNoSpan = Cycle{1} << 62;
  [[nodiscard]] std::int64_t instruction_count() const { return instruction_count_; }
  [[nodiscard]] std::int64_t abc_plane_cycles() const { return abc_plane_cycles_; }

  // The program: queues sorted by QueueId, instructions by issue cycle. With `ops`, also the graph
  // op each instruction was lowered from (set_current_op), aligned with the program's queues and
  // instructions. Once only: the instructions move into the program and the reservation tables
  // are released (a model's compile held every instruction twice here, its peak memory); the
  // counters and the SRAM's figures stay readable, placing is refused.
  [[nodiscard]] TspProgram finish(std::vector<std::vector<std::int32_t>>* ops = nullptr);
  // Instructions placed from now on were lowered from graph op `op` (-1: none).
  void set_current_op(std::int32_t op) { current_op_ = op; }

 private:
  // The earliest anchor >= earliest at which every WRITE of the chain lands after the write floor
  // of the allocation it writes (lower/sram_allocator.hpp).
  [[nodiscard]] Cycle after_write_floors(const Chain& chain, Cycle earliest) const;
  // True if the chain fits at `anchor`. Otherwise `retry` is the smallest anchor that could (a busy
  // queue's next free cycle minus the op's offset; anchor + 1 for ports and streams): every anchor
  // before it fails on the same resource, so the search may jump there.
  bool fits(const Chain& chain, Cycle anchor, Placement& out, Cycle& retry);
  void commit(const Chain& chain, const Placement& placement);
  [[nodiscard]] bool mem_free(int slice, Cycle cycle, bool write, int bank) const;
  void mem_reserve(int slice, Cycle cycle, bool write, int bank);
  // The values on one (direction, diagonal), all streams: a search asks about every stream group
  // of a diagonal in turn, so one lookup serves them all, and `streams` answers the common case
  // (nothing on that stream) without a scan.
  struct Diagonal {
    struct Run {
      std::int16_t stream;
      std::int16_t lo;  // travel positions [lo, hi)
      std::int16_t hi;
    };
    std::uint64_t streams = 0;  // bit s (s < 64): some run is on stream s
    std::vector<Run> runs;
  };
  [[nodiscard]] static std::uint64_t diagonal_key(Direction dir, Cycle diag);
  [[nodiscard]] const Diagonal* diagonal(Direction dir, Cycle diag) const;  // nullptr: nothing
  [[nodiscard]] static bool stream_free(const Diagonal* d, int stream, int lo, int hi);
  void stream_reserve(Direction dir, int stream, Cycle diag, int lo, int hi);

  TspId tsp_;
  ChipConfig config_;
  std::vector<QueueId> queues_;  // all_queues(shape)
  // queue_index() as a table: (kind, hemisphere, index) -> index into queues_, or -1.
  [[nodiscard]] std::size_t lookup_key(QueueId queue) const;
  static constexpr int kQueueKinds = static_cast<int>(QueueKind::c2c) + 1;
  int queue_stride_ = 0;
  std::vector<std::int32_t> queue_lookup_;
  // fits()'s scratch (lower/tsp_schedule.cpp): what the current try has taken, as lists per queue,
  // MEM slice, ALU and stream whose heads count only when stamped with the try's generation.
  struct Taken {
    Cycle from;
    Cycle to;
    int next;  // the queue's previous entry, or -1
  };
  struct MemTaken {
    Cycle cycle;
    bool write;
    int bank;
    int next;
  };
  struct AluTaken {
    Cycle landing;
    Cycle hold_end;  // = landing if nothing holds the register
    int next;
  };
  struct StreamTaken {
    Cycle diag;
    int lo;  // travel positions [lo, hi)
    int hi;
    int next;  // the (direction, stream)'s previous entry, or -1
  };
  struct TryHead {
    std::uint32_t generation = 0;
    int first = -1;
  };
  std::vector<Taken> try_taken_;
  std::vector<MemTaken> try_mem_taken_;
  std::vector<AluTaken> try_alu_taken_;
  std::vector<StreamTaken> try_stream_taken_;
  std::vector<TryHead> try_heads_;  // queues, then MEM slices, ALUs, (direction, stream)s
  std::uint32_t fit_generation_ = 0;
  std::vector<BusyIntervals> queue_busy_;  // [queue]
  // Per VXM ALU: cycles at which a result lands in its register, and the holds [landing, last
  // read] of chained values.
  std::vector<BusyIntervals> alu_landings_;
  std::vector<BusyIntervals> alu_holds_;
  // Per slice, per cycle, its ports in use: bit 0 read used, bit 1 read bank, bit 2 write used,
  // bit 3 write bank. In pages of 4,096 cycles, allocated when a cycle in them is first used: a
  // hash map of used cycles was a quarter of a large model's compile time.
  static constexpr Cycle kPortPageCycles = 4096;
  using PortPage = std::array<std::uint8_t, kPortPageCycles>;
  std::vector<std::vector<std::unique_ptr<PortPage>>> mem_ports_;
  [[nodiscard]] std::uint8_t port_bits(int slice, Cycle cycle) const;
  std::unordered_map<std::uint64_t, Diagonal> streams_;  // by diagonal_key
  // Per chain footprint (its queues, offsets, MEM accesses and stream values, as bytes), anchors
  // [first, second) known not to fit it: a search tried them all, then placed a chain of that
  // footprint at `second`. Reservations are never removed, so they still do not fit, and a search
  // that reaches `first` continues at `second`. The list scheduler places thousands of alike chains
  // (a tensor's rows share a few slice groups); without this each would retry the whole filled
  // schedule, and compile time would grow as the square of the vectors (issue 12). Placements are
  // exactly those of a plain search from `earliest`.
  std::unordered_map<std::string, std::pair<Cycle, Cycle>> searched_;
  SramAllocator sram_;
  // An emitted instruction without its source location (a compiled instruction has none): 80
  // bytes instead of an Instruction's 128, which is most of a large model's compile memory.
  struct Emitted {
    Opcode opcode = Opcode::nop;
    DType dtype = DType::none;
    DType src_dtype = DType::none;
    bool saturate = false;
    std::uint8_t operand_count = 0;
    std::array<Operand, kMaxOperands> operands{};
    Cycle issue_cycle = -1;
    [[nodiscard]] static Emitted of(const Instruction& instr);
    [[nodiscard]] Instruction instruction() const;
  };
  std::vector<std::vector<Emitted>> emitted_;           // per queue index
  std::vector<std::vector<std::int32_t>> emitted_ops_;  // per queue index: each one's graph op
  std::int32_t current_op_ = -1;
  std::vector<DataSegment> data_;
  std::vector<bool> declared_;  // per segment
  std::vector<LaneMap> maps_;
  Cycle last_active_ = -1;
  Cycle span_first_ = kNoSpan;
  Cycle span_last_ = -1;
  std::int64_t instruction_count_ = 0;
  std::int64_t abc_plane_cycles_ = 0;
  bool finished_ = false;
};

}  // namespace tspemu::detail
