#pragma once
// The cycle-exact, bit-exact model of one TSP running one TspProgram (docs/design.md section 4;
// programs/ISA.md).
//
// Timing. Every queue has a cursor. An instruction issues at its issue_cycle (set by the assembler,
// or -1 = "at the cursor", after SYNC), reads its operands at issue + skew and writes its results
// at issue + skew + func_delay; its unit is busy for [issue, issue + occupancy). Within one cycle
// the engine (1) lands the results due in that cycle (streams, SRAM, ALU registers, accumulators,
// weight buffers, installs), (2) releases SYNCs whose NOTIFY arrives, (3) issues, (4) executes the
// ops whose operand cycle it is: they read state as of the end of step (1), so a result written at
// cycle w is visible to operand reads at cycles >= w (streams: from the next position on, one hop
// per cycle). A result with func_delay 0 lands after step (4) of its own cycle. Idle cycles are
// skipped: the engine jumps to the next cycle at which anything is due.
//
// Parallelism. Step (4)'s ops are independent by construction: they read only state that step (1)
// finished, and write only their own result slots (pool vectors and effect slots reserved for them
// serially before the launch); stream/SRAM/ALU/accumulator updates are applied in step (1) of a
// later cycle, in a fixed order, and MEM port checks run serially after the launch. Three
// unit-local writes happen inside step (4), each touched by exactly one op per cycle because a
// queue issues at most one op per cycle: IW snapshots its plane's weight buffer into that plane's
// staging queue, ACC with `clear` resets its own plane's accumulator after reading it, and the
// first ABC after an install builds that array's kernel layout (chip/mxm.hpp). The engine
// therefore runs them through chip/cycle_executor.hpp: Kokkos::parallel_for over the cycle's ready
// list on Kokkos's default HOST execution space (all engine state is host memory: Serial, OpenMP
// or Threads; with a device backend the host space is still one of those), or in tests the
// threads executor, which ThreadSanitizer checks. Inside the lambda every exception is caught into
// the op's own slot and the first error in ready-list order is rethrown afterwards, so errors are
// deterministic too.
// EngineOptions::shuffle_seed executes each cycle's ready list in a seeded random order: the tests
// require identical digests for several seeds, which is the evidence that any order or parallel
// execution gives the same result (docs/design.md section 4).
//
// Errors: every schedule problem is a ScheduleError with ErrorContext {tsp, cycle, queue,
// instruction, where = the instruction's source line}; messages are listed in engine.cpp.

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "clock/chip_clock.hpp"
#include "common/digest.hpp"
#include "common/ids.hpp"
#include "isa/chip_config.hpp"
#include "isa/program.hpp"

namespace tspemu {

struct EngineOptions {
  // Execute each cycle's ready ops in an order shuffled by (seed, cycle) instead of ready-list
  // order. Results must not change (that is what the option tests).
  std::optional<std::uint64_t> shuffle_seed;
  // Keep presence but no data in streams and SRAM and skip the MXM kernels (docs/design.md section
  // 10: timing-only runs). Values read are zeros; outputs are zeros and the SRAM part of the digest
  // is empty; timing, schedule errors and counts are those of the full run.
  bool timing_only = false;
  // Stop with a RuntimeError if the program is still running at this cycle (a watchdog against
  // programs that NOP forever). Default: no limit below 2^62.
  Cycle max_cycles = Cycle{1} << 62;
  // Multi-TSP run: SEND/RECEIVE/DESKEW/RUNTIME_DESKEW execute (the runtime moves the vectors);
  // without it they are a clear error (a lone engine has no links).
  bool network = false;
  // HAC period ([chip] hac_period_cycles): DESKEW stalls its queue to the next multiple (ideal
  // clocks: every chip's HAC overflows at the same global cycles).
  Cycle hac_period_cycles = 256;
  // Drifting clocks (clock/time_base.hpp; null: ideal): the run's time base, read when the engine
  // is built. The engine keeps its chip's ChipClock: RUNTIME_DESKEW pauses by t +- the drift,
  // DESKEW waits for the aligned HAC, and arrivals (deliver's global time) land on this chip's
  // cycles.
  const TimeBase* time_base = nullptr;
  // Vectors one C2C port can hold between arrival and RECEIVE (tspemu's choice; the hardware's
  // shallow clock-domain-crossing buffers are unpublished). More waiting is a schedule error.
  int c2c_buffer_vectors = kC2cPortBufferVectors;
  // The program came from a bundle reader, which checked every lane map, data segment and
  // instruction with the same rules (isa/validate.hpp): the engine skips repeating those checks.
  // Leave false for programs built any other way.
  bool program_validated = false;
  // Record a TraceSlice per executed non-ICU instruction (each REPEAT iteration its own) whose
  // issue cycle lies in [trace_begin, trace_end] (RunResult::trace; runtime/trace.hpp writes it).
  bool trace = false;
  Cycle trace_begin = 0;
  Cycle trace_end = Cycle{1} << 62;
  // > 0: RunResult::interval_busy sums, per interval of this many cycles and per unit class, the
  // busy cycles (occupancy) of the instructions issued in it.
  Cycle stats_interval = 0;
};

// One executed instruction for a timeline: its queue (and position in the program's queue list),
// its index in that queue, and the cycles from issue until its result lands
// (issue + skew + functional delay).
struct TraceSlice {
  QueueId queue;
  std::int32_t queue_index = 0;
  std::int32_t instruction = 0;
  Opcode opcode = Opcode::nop;
  Cycle issue = 0;
  Cycle end = 0;
  template <class Archive>
  void serialize(Archive& archive) {
    archive(queue, queue_index, instruction, opcode, issue, end);
  }
};

// A vector a SEND put on a C2C port, for the runtime to carry over the port's link.
struct C2cSend {
  PortId port;
  Cycle send_cycle = 0;  // the SEND's issue cycle
  Vector data;
  SourceLocation where;  // the SEND's source line, for network errors
};

// Issued instructions and busy cycles of one unit (a queue's functional unit).
struct UnitStats {
  QueueId queue;
  std::string name;               // "MEM_W3", "MXM0.A"
  std::int64_t instructions = 0;  // issued non-ICU instructions (each REPEAT iteration counts)
  std::int64_t busy_cycles = 0;   // sum of occupancy of those instructions
};

struct OutputData {
  std::string name;
  DType dtype = DType::i8;
  std::int32_t rows = 0;
  std::int32_t columns = 0;
  std::vector<std::uint8_t> bytes;  // row-major elements, little-endian (isa/data_init.hpp)
};

struct RunResult {
  // The run's final cycle: the last cycle at which anything happened (an issue or a result write),
  // never the end of a window; -1 if the program does nothing. cycles = final_cycle + 1.
  Cycle final_cycle = -1;
  Cycle cycles = 0;
  // Report only (docs/design.md section 4, "Superlane stagger"): the cycle at which the last
  // result's superlane sweep ends in hardware, last result cycle + superlanes - 1; -1 if no result.
  Cycle sweep_final_cycle = -1;
  std::array<std::int64_t, kOpcodeCount> instructions_by_opcode{};  // issued, REPEATs expanded
  std::vector<UnitStats> units;     // units that issued anything, in QueueId order
  std::vector<OutputData> outputs;  // declared outputs, in declaration order
  std::int64_t mxm_int8_macs = 0;   // 320 x 320 per int8 ABC
  std::int64_t mxm_fp16_macs = 0;   // 320 x 320 per fp16 ABC
  std::int64_t stream_writes = 0;   // vectors put on streams (one per stream of a group)
  std::int64_t sram_touched_pages = 0;
  int config_superlanes = 0;      // last CONFIG superlanes=n (0: none issued)
  std::vector<TraceSlice> trace;  // with EngineOptions::trace: by (issue, queue, instruction)
  // RUNTIME_DESKEW (clock/chip_clock.hpp): pauses, their total in local cycles (program cycles
  // stand still meanwhile), the largest drift one corrected, and pauses that came too late.
  std::int64_t runtime_deskews = 0;
  Cycle pause_cycles = 0;
  Cycle max_deskew_correction_cycles = 0;
  std::int64_t late_deskews = 0;
  // With EngineOptions::stats_interval: [interval][Unit] busy cycles (index = Unit's value).
  std::vector<std::array<std::int64_t, 6>> interval_busy;
  Digest128 digest;  // engine.cpp documents the exact byte order
};

class Engine {
 public:
  // The program must outlive the engine. It is checked against config.shape with the assembler's
  // rules (isa/validate.hpp: check_instruction, check_lane_map, check_data_segment); a problem is
  // an InputError "tsp 0, queue MXM0.A, instruction 3: <rule>". Data segments are loaded into SRAM
  // here: .data rows written, `zero` rows declared zero-filled (no pages), .region rows left
  // uninitialised.
  Engine(const TspProgram& program, const ChipConfig& config, EngineOptions options = {});
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Runs to completion (every queue done, every result landed) and returns the result.
  [[nodiscard]] RunResult run();

  // Runs every cycle < end_cycle; returns false once nothing is left to do. For windowed drivers.
  bool run_until(Cycle end_cycle);
  // Completion checks (parked SYNCs), outputs and digest; call once nothing is left to do.
  [[nodiscard]] RunResult finish();

  // ---- network (EngineOptions::network) ----
  // SENDs executed since the last call, in (send cycle, port) order.
  [[nodiscard]] std::vector<C2cSend> take_sends();
  // A vector arriving on `port` at `arrival_cycle` (from TSP `src` over `link`); RECEIVE takes
  // vectors in arrival order. Must be delivered before the engine runs its arrival cycle.
  // On drifting clocks arrival_time_as (global time) decides the arrival cycle on this chip.
  void deliver(PortId port, Cycle arrival_cycle, const Vector& data, TspId src, LinkId link,
               GlobalTime arrival_time_as = 0);
  // This chip's clock (the runtime stamps sent vectors with it).
  [[nodiscard]] const ChipClock& clock() const;
  // Nothing left to issue or land (run_until would return false at once).
  [[nodiscard]] bool idle() const;
  // The last cycle at which anything happened (-1: nothing yet).
  [[nodiscard]] Cycle last_active_cycle() const;
  // The next cycle with work; INT64_MAX if none.
  [[nodiscard]] Cycle next_event_cycle() const;
  // Vectors delivered and not yet taken by a RECEIVE.
  [[nodiscard]] std::int64_t vectors_pending() const;

  // ---- checkpoint/restart (docs/checkpoint.md) ----
  // The engine's whole dynamic state between two run_until calls (after take_sends): queues,
  // units, streams, SRAM, MXM, ALUs, the timing wheel and its values in flight, C2C buffers, the
  // clock and the statistics so far. restore_state, on an engine built from the same program,
  // chip and options (and nothing run yet), resumes exactly there: the rest of the run, its
  // result and digest are those of the uninterrupted run. A state that does not fit the program
  // (another program, chip or format) is an InputError naming what differs.
  [[nodiscard]] std::vector<std::uint8_t> save_state() const;
  void restore_state(std::span<const std::uint8_t> bytes);

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tspemu
