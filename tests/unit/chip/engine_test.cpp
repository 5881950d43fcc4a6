// Engine: programs built directly as TspProgram structs (no assembler), exact timing, every
// schedule error with its exact message, determinism under shuffled execution order.
#include "chip/engine.hpp"

#include "checkpoint_roundtrip.hpp"
#include "exact_reference.hpp"
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <bit>
#include <cstring>
#include <functional>
#include <random>
#include <vector>

#include "chip/kokkos_session.hpp"
#include "isa/queue.hpp"

namespace tspemu {
namespace {

constexpr Direction E = Direction::east;
constexpr Direction W = Direction::west;

Operand stream(int index, Direction d, int count = 1) {
  Operand o;
  o.kind = OperandKind::stream;
  o.stream = StreamRef{static_cast<std::int8_t>(index), d, static_cast<std::int8_t>(count)};
  return o;
}
Operand address(std::int64_t v) {
  return Operand{OperandKind::address, {}, v};
}
Operand integer(std::int64_t v) {
  return Operand{OperandKind::integer, {}, v};
}
Operand alu(int k) {
  return Operand{OperandKind::alu, {}, k};
}
Operand imm(std::int64_t bits) {
  return Operand{OperandKind::immediate, {}, bits};
}
Operand none() {
  return Operand{};
}

QueueId mem_w(int i) {
  return mem_queue(Hemisphere::west, i);
}
QueueId mem_e(int i) {
  return mem_queue(Hemisphere::east, i);
}

// Builds a TspProgram; every instruction gets a distinct source line for error locations.
class Builder {
 public:
  Instruction& add(QueueId queue, Opcode opcode, std::vector<Operand> operands, Cycle at = -1,
                   DType dtype = DType::none) {
    Instruction ins;
    ins.opcode = opcode;
    ins.dtype = dtype;
    ins.operand_count = static_cast<std::uint8_t>(operands.size());
    for (std::size_t i = 0; i < operands.size(); ++i) ins.operands[i] = operands[i];
    ins.issue_cycle = at;
    ins.where = SourceLocation{"test.tsa", ++line_, 1};
    QueueProgram& q = queue_for(queue);
    q.instructions.push_back(ins);
    return q.instructions.back();
  }
  DataSegment& data(const std::string& name, DType dtype, int rows, int columns,
                    std::vector<QueueId> slices, int addr) {
    DataSegment d;
    d.name = name;
    d.dtype = dtype;
    d.rows = rows;
    d.columns = columns;
    d.at.slices = std::move(slices);
    d.at.address = addr;
    d.where = SourceLocation{"test.tsa", ++line_, 1};
    program_.data.push_back(d);
    return program_.data.back();
  }
  DataSegment& literal(const std::string& name, DType dtype, int rows, int columns,
                       std::vector<QueueId> slices, int addr, std::vector<std::uint8_t> bytes) {
    DataSegment& d = data(name, dtype, rows, columns, std::move(slices), addr);
    d.init.kind = DataInit::Kind::literal;
    d.init.bytes = std::move(bytes);
    return d;
  }
  DataSegment& region(const std::string& name, DType dtype, int rows, int columns,
                      std::vector<QueueId> slices, int addr) {
    DataSegment& d = data(name, dtype, rows, columns, std::move(slices), addr);
    d.initialized = false;
    d.is_output = true;
    return d;
  }
  TspProgram& program() {
    std::sort(program_.queues.begin(), program_.queues.end(),
              [](const QueueProgram& a, const QueueProgram& b) { return a.queue < b.queue; });
    return program_;
  }

 private:
  QueueProgram& queue_for(QueueId id) {
    for (QueueProgram& q : program_.queues) {
      if (q.queue == id) return q;
    }
    program_.queues.push_back(QueueProgram{id, {}});
    return program_.queues.back();
  }
  TspProgram program_;
  std::int64_t line_ = 0;
};

RunResult run(Builder& b, EngineOptions options = {}) {
  Engine engine(b.program(), ChipConfig{}, options);
  return engine.run();
}

// Runs and expects a ScheduleError with exactly this message; returns it for context checks.
ScheduleError run_error(Builder& b, const std::string& message) {
  try {
    (void)run(b);
  } catch (const ScheduleError& e) {
    EXPECT_EQ(e.message(), message);
    return e;
  }
  ADD_FAILURE() << "no ScheduleError; expected: " << message;
  return ScheduleError("none");
}

std::vector<std::uint8_t> bytes_of(std::initializer_list<int> values) {
  std::vector<std::uint8_t> out;
  for (int v : values) out.push_back(static_cast<std::uint8_t>(v));
  return out;
}

// a (MEM_W1, position 44) + b (MEM_E1, position 48) in VXM0 (46) -> c (MEM_W2, 43).
//   READ @0 lands at 3; both reach the VXM at 5; ADD @5 lands at 7 on S1W; MEM_W2 sees it at
//   7 + 3 = 10; WRITE @10 stores at 11.
void vector_add(Builder& b, Cycle add_at = 5, Cycle write_at = 10) {
  b.literal("a", DType::i8, 1, 4, {mem_w(1)}, 0, bytes_of({1, 2, 3, 127}));
  b.literal("bb", DType::i8, 1, 4, {mem_e(1)}, 0, bytes_of({10, 20, 30, 1}));
  b.region("c", DType::i8, 1, 4, {mem_w(2)}, 0);
  b.add(mem_w(1), Opcode::read, {address(0), stream(0, E)}, 0);
  b.add(mem_e(1), Opcode::read, {address(0), stream(0, W)}, 0);
  b.add(vxm_queue(0), Opcode::add, {stream(1, W), stream(0, E), stream(0, W)}, add_at, DType::i8);
  b.add(mem_w(2), Opcode::write, {address(0), stream(1, W)}, write_at);
}

TEST(Engine, VectorAddThroughStreamsWithExactTiming) {
  Builder b;
  vector_add(b);
  const RunResult r = run(b);
  ASSERT_EQ(r.outputs.size(), 1U);
  EXPECT_EQ(r.outputs[0].name, "c");
  EXPECT_EQ(r.outputs[0].bytes, bytes_of({11, 22, 33, 0x80}));
  EXPECT_EQ(r.final_cycle, 11);  // the WRITE's store
  EXPECT_EQ(r.cycles, 12);
  EXPECT_EQ(r.sweep_final_cycle, 11 + 19);
  EXPECT_EQ(r.instructions_by_opcode[static_cast<std::size_t>(Opcode::read)], 2);
  EXPECT_EQ(r.instructions_by_opcode[static_cast<std::size_t>(Opcode::add)], 1);
  EXPECT_EQ(r.stream_writes, 3);
  EXPECT_EQ(r.units.size(), 4U);
}

TEST(Engine, ASmallerChipHasFewerPositions) {
  ChipConfig config;
  config.shape.mem_slices_per_hemisphere = 8;  // VXM at position 10
  Builder b;
  vector_add(b, 4);
  try {
    Engine engine(b.program(), config);
    (void)engine.run();
    ADD_FAILURE() << "no error";
  } catch (const ScheduleError& e) {
    EXPECT_EQ(e.message(), "stream S0E holds no value at position 10 (VXM) in cycle 4");
  }
  Builder c;
  vector_add(c);
  Engine engine(c.program(), config);
  EXPECT_EQ(engine.run().outputs[0].bytes, bytes_of({11, 22, 33, 0x80}));
}

TEST(Engine, OneCycleEarlyOrLateFindsNoValue) {
  {
    Builder b;
    vector_add(b, 4);
    const ScheduleError e =
        run_error(b, "stream S0E holds no value at position 46 (VXM) in cycle 4");
    EXPECT_EQ(e.context().queue, "VXM0");
    EXPECT_EQ(e.context().cycle, 4);
    EXPECT_EQ(e.context().tsp, 0);
    EXPECT_EQ(e.context().instruction, "ADD.i8 S1W, S0E, S0W");
    ASSERT_TRUE(e.context().where.has_value());
    EXPECT_EQ(e.context().where->line, 6);
    EXPECT_EQ(std::string(e.what()),
              "test.tsa:6:1: stream S0E holds no value at position 46 (VXM) in cycle 4 (tsp 0, "
              "cycle 4, queue VXM0: `ADD.i8 S1W, S0E, S0W`)");
  }
  {
    Builder b;
    vector_add(b, 6);
    run_error(b, "stream S0E holds no value at position 46 (VXM) in cycle 6");
  }
  {
    Builder b;
    vector_add(b, 5, 11);
    run_error(b, "stream S1W holds no value at position 43 (MEM_W2) in cycle 11");
  }
}

TEST(Engine, TwoWritesToOneStreamPositionInOneCycle) {
  Builder b;
  vector_add(b);
  b.add(vxm_queue(1), Opcode::sub, {stream(1, W), stream(0, E), stream(0, W)}, 5, DType::i8);
  const ScheduleError e = run_error(b, "two writes to stream S1W at position 46 (VXM) in cycle 7");
  EXPECT_EQ(e.context().queue, "VXM1");
  EXPECT_EQ(e.context().cycle, 7);
}

TEST(Engine, AluChaining) {
  Builder b;
  b.literal("a", DType::i8, 1, 2, {mem_w(1)}, 0, bytes_of({3, 4}));
  b.literal("bb", DType::i8, 1, 2, {mem_e(1)}, 0, bytes_of({5, 6}));
  b.region("c", DType::i8, 1, 2, {mem_w(2)}, 0);
  b.add(mem_w(1), Opcode::read, {address(0), stream(0, E)}, 0);
  b.add(mem_e(1), Opcode::read, {address(0), stream(0, W)}, 0);
  // ALU0 = a + b (no stream), available at 7; ALU1 = ALU0 * 3 onto S1W at 9; MEM_W2 sees it at 12.
  b.add(vxm_queue(0), Opcode::add, {none(), stream(0, E), stream(0, W)}, 5, DType::i8);
  b.add(vxm_queue(1), Opcode::mul, {stream(1, W), alu(0), imm(3)}, 7, DType::i8);
  b.add(mem_w(2), Opcode::write, {address(0), stream(1, W)}, 12);
  const RunResult r = run(b);
  EXPECT_EQ(r.outputs[0].bytes, bytes_of({24, 30}));
  EXPECT_EQ(r.stream_writes, 3);
}

// Checkpoints at every cycle (chip/engine.hpp, save_state): an ALU register read cycles after it
// landed, a SYNC parked across the split and released after it, and a strided REPEAT under way.
TEST(Engine, CheckpointsAtEveryCycleKeepAluRegistersSyncsAndRepeats) {
  Builder chain;
  chain.literal("a", DType::i8, 1, 2, {mem_w(1)}, 0, bytes_of({3, 4}));
  chain.literal("bb", DType::i8, 1, 2, {mem_e(1)}, 0, bytes_of({5, 6}));
  chain.region("c", DType::i8, 1, 2, {mem_w(2)}, 0);
  chain.add(mem_w(1), Opcode::read, {address(0), stream(0, E)}, 0);
  chain.add(mem_e(1), Opcode::read, {address(0), stream(0, W)}, 0);
  // ALU0 = a + b from 7 on; ALU1 = ALU0 * 3 issued at 11 onto S1W at 13; MEM_W2 sees it at 16.
  chain.add(vxm_queue(0), Opcode::add, {none(), stream(0, E), stream(0, W)}, 5, DType::i8);
  chain.add(vxm_queue(1), Opcode::mul, {stream(1, W), alu(0), imm(3)}, 11, DType::i8);
  chain.add(mem_w(2), Opcode::write, {address(0), stream(1, W)}, 16);
  EXPECT_EQ(testing::expect_resumes_at_every_cycle(chain.program(), ChipConfig{}, {}, "chain")
                .outputs[0]
                .bytes,
            bytes_of({24, 30}));

  Builder sync;
  sync.literal("a", DType::i8, 4, 1, {mem_w(1)}, 0, bytes_of({1, 2, 3, 4}));
  sync.add(mem_w(1), Opcode::sync, {}, 0);
  sync.add(mem_w(1), Opcode::read, {address(0), stream(0, E)});  // released at 45
  sync.add(mem_w(1), Opcode::repeat, {integer(3), integer(2), integer(1)});
  sync.add(vxm_queue(0), Opcode::notify, {}, 10);
  sync.add(mem_w(0), Opcode::sync, {}, 40);
  sync.add(mem_w(0), Opcode::nop, {integer(4)});
  sync.add(mem_w(0), Opcode::write, {address(5), stream(0, E)});
  sync.add(mem_w(0), Opcode::repeat, {integer(3), integer(2), integer(1)});
  sync.region("out", DType::i8, 4, 1, {mem_w(0)}, 5);
  EngineOptions traced;
  traced.trace = true;
  EXPECT_EQ(testing::expect_resumes_at_every_cycle(sync.program(), ChipConfig{}, traced, "sync")
                .outputs[0]
                .bytes,
            bytes_of({1, 2, 3, 4}));
}

// Interval statistics are bounded (2^24 intervals): a run whose last issue lies beyond them is a
// located runtime error naming the fix, not an allocation of gigabytes.
TEST(Engine, IntervalStatisticsBeyondTheirBoundAreAnError) {
  Builder b;
  b.literal("a", DType::i8, 1, 1, {mem_w(1)}, 0, bytes_of({1}));
  b.add(mem_w(1), Opcode::read, {address(0), stream(0, E)}, 0);
  b.add(mem_w(1), Opcode::read, {address(0), stream(0, E)}, (Cycle{1} << 24) + 5);
  EngineOptions options;
  options.stats_interval = 1;
  try {
    (void)run(b, options);
    FAIL() << "no error";
  } catch (const RuntimeError& e) {
    EXPECT_EQ(e.message(),
              "tsp 0: an instruction issues in cycle 16777221, interval 16777221 of "
              "--stats-interval 1: more than 16777216 intervals; choose a larger interval");
  }
  options.stats_interval = 2;
  EXPECT_EQ(run(b, options).final_cycle, (Cycle{1} << 24) + 8);  // the READ lands 3 cycles later
}

TEST(Engine, AluWithoutResult) {
  Builder b;
  b.add(vxm_queue(1), Opcode::mov, {stream(1, W), alu(0)}, 6, DType::i8);
  run_error(b, "ALU0 holds no result in cycle 6");
}

// MEM_W3 (position 42) puts a vector on S2E at 3; MEM_W1 (44) sees it from cycle 5.
void bank_setup(Builder& b) {
  b.literal("x", DType::i8, 1, 1, {mem_w(3)}, 0, bytes_of({9}));
  b.literal("y", DType::i8, 1, 1, {mem_w(1)}, 2, bytes_of({8}));
  b.literal("z", DType::i8, 1, 1, {mem_w(1)}, 0x1002, bytes_of({7}));
  b.add(mem_w(3), Opcode::read, {address(0), stream(2, E)}, 0);
}

TEST(Engine, MemBankConflict) {
  Builder b;
  bank_setup(b);
  // WRITE @5 stores at 6 (bank 0); READ @6 reads bank 0 at 6.
  b.add(mem_w(1), Opcode::write, {address(1), stream(2, E)}, 5);
  b.add(mem_w(1), Opcode::read, {address(2), stream(0, E)}, 6);
  const ScheduleError e =
      run_error(b,
                "MEM bank conflict in cycle 6: MEM_W1 bank 0 is read (READ issued "
                "at cycle 6) and written (WRITE issued at cycle 5) in the same "
                "cycle");
  EXPECT_EQ(e.context().queue, "MEM_W1");
}

TEST(Engine, ReadAndWriteOnDifferentBanksInOneCycle) {
  Builder b;
  bank_setup(b);
  b.add(mem_w(1), Opcode::write, {address(1), stream(2, E)}, 5);
  b.add(mem_w(1), Opcode::read, {address(0x1002), stream(0, E)}, 6);
  const RunResult r = run(b);
  EXPECT_EQ(r.final_cycle, 9);
}

// GATHER on MEM_W1 (position 44) with a map arriving on S2E/S3E at cycle 5; SCATTER of the result
// on MEM_E1 (48) with a second copy of the map arriving at 13; PERMUTE on SXM_W0 (1).
void gather_scatter_permute(Builder& b) {
  std::vector<std::uint8_t> table(4 * 320);
  for (std::size_t i = 0; i < table.size(); ++i) table[i] = static_cast<std::uint8_t>(i * 7 + 1);
  b.literal("table", DType::i8, 4, 320, {mem_w(1)}, 0, table);
  std::vector<std::uint8_t> low(320);
  for (std::size_t l = 0; l < 320; ++l) low[l] = static_cast<std::uint8_t>(l % 4);
  b.literal("map_low", DType::i8, 1, 320, {mem_w(3)}, 0, low);
  b.literal("map_high", DType::i8, 1, 320, {mem_w(2)}, 0, std::vector<std::uint8_t>(320, 0));
  b.add(mem_w(3), Opcode::read, {address(0), stream(2, E)}, 0);      // (42, 3) -> 44 at 5
  b.add(mem_w(3), Opcode::read, {address(0), stream(2, E)}, 4);      // (42, 7) -> 48 at 13
  b.add(mem_w(2), Opcode::read, {address(0), stream(3, E)}, 1);      // (43, 4) -> 44 at 5
  b.add(mem_w(2), Opcode::read, {address(0), stream(3, E)}, 5);      // (43, 8) -> 48 at 13
  b.add(mem_w(1), Opcode::gather, {stream(0, E), stream(2, E)}, 5);  // lands (44, 9)
  b.add(mem_w(0), Opcode::write, {address(0x10), stream(0, E)}, 10);
  b.region("g", DType::i8, 1, 320, {mem_w(0)}, 0x10);
  b.add(mem_e(1), Opcode::scatter, {stream(0, E), stream(2, E)}, 13);  // S0E reaches 48 at 13
  b.region("s", DType::i8, 4, 320, {mem_e(1)}, 0);
  // PERMUTE: MEM_W43 (2) READs table row 1 onto S5W at 0: position 1 at 4; the result leaves
  // eastward at 7 and MEM_W43 stores it at 8.
  b.add(mem_w(43), Opcode::read, {address(0x40), stream(5, W)}, 0);
  b.literal("row", DType::i8, 1, 320, {mem_w(43)}, 0x40,
            std::vector<std::uint8_t>(table.begin() + 320, table.begin() + 640));
  Operand map;
  map.kind = OperandKind::symbol;
  map.value = 0;
  b.add(sxm_queue(Hemisphere::west, 0), Opcode::permute, {stream(6, E), stream(5, W), map}, 4);
  b.add(mem_w(43), Opcode::write, {address(0x20), stream(6, E)}, 8);
  b.region("p", DType::i8, 1, 320, {mem_w(43)}, 0x20);
  LaneMap reverse;
  reverse.name = "reverse";
  for (int l = 0; l < 320; ++l) reverse.lanes.push_back(static_cast<std::int16_t>(319 - l));
  b.program().maps.push_back(reverse);
}

TEST(Engine, GatherScatterPermuteThroughStreams) {
  Builder b;
  gather_scatter_permute(b);
  const RunResult r = run(b);
  ASSERT_EQ(r.outputs.size(), 3U);
  auto table = [](std::size_t row, std::size_t lane) {
    return static_cast<std::uint8_t>((row * 320 + lane) * 7 + 1);
  };
  for (std::size_t l = 0; l < 320; ++l) {
    ASSERT_EQ(r.outputs[0].bytes[l], table(l % 4, l)) << "gather lane " << l;
    for (std::size_t row = 0; row < 4; ++row) {
      ASSERT_EQ(r.outputs[1].bytes[row * 320 + l], row == l % 4 ? table(l % 4, l) : 0)
          << "scatter row " << row << " lane " << l;
    }
    ASSERT_EQ(r.outputs[2].bytes[l], table(1, 319 - l)) << "permute lane " << l;
  }
  EXPECT_EQ(r.final_cycle, 15);  // the SCATTER's store
}

TEST(Engine, TwoReadsOfOneSliceInOneCycle) {
  // With READ's skew at 1 (a topology override), a READ issued at 5 and a GATHER issued at 6 both
  // read MEM_W1 in cycle 6.
  ChipConfig config;
  TimingOverride o;
  o.name = "READ";
  o.skew_cycles = 1;
  config.timing = OpTimingTable::with_overrides(std::span<const TimingOverride>(&o, 1));
  Builder c;  // all-zero data: the GATHER map points at row 0
  c.data("zeros", DType::i8, 8, 320, {mem_w(1)}, 0);
  c.data("map", DType::i8, 1, 320, {mem_w(3)}, 0);
  c.data("map2", DType::i8, 1, 320, {mem_w(2)}, 0);
  c.add(mem_w(3), Opcode::read, {address(0), stream(2, E)}, 0);      // skew 1: (42, 4) -> 44 at 6
  c.add(mem_w(2), Opcode::read, {address(0), stream(3, E)}, 1);      // (43, 5) -> 44 at 6
  c.add(mem_w(1), Opcode::read, {address(1), stream(0, E)}, 5);      // reads MEM_W1 at 6
  c.add(mem_w(1), Opcode::gather, {stream(4, E), stream(2, E)}, 6);  // reads MEM_W1 at 6
  Engine engine(c.program(), config);
  try {
    (void)engine.run();
    ADD_FAILURE() << "no error";
  } catch (const ScheduleError& e) {
    EXPECT_EQ(e.message(),
              "MEM port conflict in cycle 6: MEM_W1 has two reads (GATHER issued at cycle 6, READ "
              "issued at cycle 5); a slice reads once per cycle");
  }
}

TEST(Engine, BusyUnit) {
  Builder b;
  b.add(mxm_queue(QueueKind::mxm_weights, 0), Opcode::iw, {}, 100);
  b.add(mxm_queue(QueueKind::mxm_weights, 0), Opcode::lw, {integer(0), stream(0, W)}, 101);
  const ScheduleError e = run_error(
      b, "op issued to a busy unit: MXM0.W is busy until cycle 108 (IW issued at cycle 100)");
  EXPECT_EQ(e.context().cycle, 101);
  EXPECT_EQ(e.context().queue, "MXM0.W");
}

TEST(Engine, UninitialisedSramRead) {
  {
    Builder b;
    b.add(mem_w(1), Opcode::read, {address(0x11), stream(0, E)}, 0);
    run_error(b,
              "uninitialised SRAM read: MEM_W1 address 0x11 was never written and is not declared "
              "zero-filled");
  }
  {
    Builder b;
    b.data("zeros", DType::i8, 32, 320, {mem_w(1)}, 0);  // init zero: readable, no pages
    b.add(mem_w(1), Opcode::read, {address(0x11), stream(0, E)}, 0);
    const RunResult r = run(b);
    EXPECT_EQ(r.final_cycle, 3);
    EXPECT_EQ(r.sram_touched_pages, 0);
  }
  {
    Builder b;  // a .region is not readable before it is written
    b.region("out", DType::i8, 1, 1, {mem_w(1)}, 0);
    b.add(mem_w(1), Opcode::read, {address(0), stream(0, E)}, 0);
    run_error(b,
              "uninitialised SRAM read: MEM_W1 address 0x0 was never written and is not declared "
              "zero-filled");
  }
  {
    Builder b;  // an output nobody wrote
    b.region("out", DType::i8, 2, 1, {mem_w(1)}, 7);
    try {
      (void)run(b);
      ADD_FAILURE() << "no error";
    } catch (const ScheduleError& e) {
      EXPECT_EQ(e.message(), "output 'out' row 0 (MEM_W1 address 0x7) was never written");
    }
  }
}

// A lone engine (no EngineOptions::network) has no links: C2C ops are a clear error. `tspemu run`
// always connects the network; tests/e2e covers SEND/RECEIVE/DESKEW there.
TEST(Engine, NetworkOpsNeedTheNetwork) {
  Builder b;
  b.add(c2c_queue(3), Opcode::send, {stream(0, W)}, 2);
  const ScheduleError e = run_error(b,
                                    "SEND needs the network: run the program with `tspemu run`, "
                                    "which connects the chip's C2C ports to the topology's links");
  EXPECT_EQ(e.context().queue, "C2C3");
  Builder d;
  d.add(c2c_queue(0), Opcode::deskew, {}, 0);
  run_error(d,
            "DESKEW needs the network: run the program with `tspemu run`, which connects the "
            "chip's C2C ports to the topology's links");
}

TEST(Engine, SyncTiming) {
  Builder b;
  b.literal("a", DType::i8, 1, 1, {mem_w(1)}, 0, bytes_of({1}));
  b.add(mem_w(1), Opcode::sync, {}, 0);
  b.add(mem_w(1), Opcode::read, {address(0), stream(0, E)});  // released at 45: issues at 45
  b.add(vxm_queue(0), Opcode::notify, {}, 10);
  // MEM_W0 (position 45) parks at 40 and is released at 45 too; it then waits 4 cycles (NOP 4)
  // and stores the READ's value, which reaches position 45 at 45 + 3 + 1 = 49.
  b.add(mem_w(0), Opcode::sync, {}, 40);
  b.add(mem_w(0), Opcode::nop, {integer(4)});
  b.add(mem_w(0), Opcode::write, {address(5), stream(0, E)});
  b.region("out", DType::i8, 1, 1, {mem_w(0)}, 5);
  const RunResult r = run(b);
  EXPECT_EQ(r.outputs[0].bytes, bytes_of({1}));
  EXPECT_EQ(r.final_cycle, 50);
  EXPECT_EQ(r.instructions_by_opcode[static_cast<std::size_t>(Opcode::sync)], 2);
  EXPECT_EQ(r.instructions_by_opcode[static_cast<std::size_t>(Opcode::nop)], 1);
}

TEST(Engine, SyncAtTheReleaseCycleIsReleased) {
  Builder b;
  b.add(vxm_queue(0), Opcode::notify, {}, 0);
  b.add(vxm_queue(1), Opcode::sync, {}, 35);
  b.add(vxm_queue(1), Opcode::ifetch, {});
  EXPECT_EQ(run(b).final_cycle, 36);
}

TEST(Engine, SyncNeverReleased) {
  Builder b;
  b.add(vxm_queue(0), Opcode::notify, {}, 0);
  b.add(vxm_queue(1), Opcode::sync, {}, 36);  // after the only release
  const ScheduleError e =
      run_error(b, "SYNC issued at cycle 36 was never released (no NOTIFY reached it)");
  EXPECT_EQ(e.context().queue, "VXM1");
}

TEST(Engine, ExplicitIssueCycleBeforeTheCursorAfterSync) {
  Builder b;
  b.add(vxm_queue(0), Opcode::notify, {}, 0);
  b.add(vxm_queue(1), Opcode::sync, {}, 1);
  b.add(vxm_queue(1), Opcode::ifetch, {}, 20);  // the release comes at 35
  run_error(b, "issue cycle @20 is before the queue's next free cycle 35");
}

TEST(Engine, RepeatWithStride) {
  Builder b;
  b.literal("src", DType::i8, 4, 2, {mem_w(1)}, 0, bytes_of({1, 2, 3, 4, 5, 6, 7, 8}));
  b.region("dst", DType::i8, 4, 2, {mem_w(0)}, 10);
  // READs at 0, 2, 4, 6 (rows 0..3) land at 3, 5, 7, 9 at position 44; MEM_W0 (45) sees them at
  // 4, 6, 8, 10, where its WRITEs (rows 10..13) take them.
  b.add(mem_w(1), Opcode::read, {address(0), stream(0, E)}, 0);
  b.add(mem_w(1), Opcode::repeat, {integer(3), integer(2), integer(1)});
  b.add(mem_w(0), Opcode::write, {address(10), stream(0, E)}, 4);
  b.add(mem_w(0), Opcode::repeat, {integer(3), integer(2), integer(1)});
  b.add(mem_w(0), Opcode::ifetch, {});  // the queue is free again at 10 + 1
  const RunResult r = run(b);
  EXPECT_EQ(r.outputs[0].bytes, bytes_of({1, 2, 3, 4, 5, 6, 7, 8}));
  EXPECT_EQ(r.final_cycle, 11);
  EXPECT_EQ(r.instructions_by_opcode[static_cast<std::size_t>(Opcode::read)], 4);
  EXPECT_EQ(r.instructions_by_opcode[static_cast<std::size_t>(Opcode::write)], 4);
  EXPECT_EQ(r.instructions_by_opcode[static_cast<std::size_t>(Opcode::repeat)], 2);
  EXPECT_EQ(r.instructions_by_opcode[static_cast<std::size_t>(Opcode::ifetch)], 1);
}

TEST(Engine, RepeatStrideLeavingTheSlice) {
  Builder b;
  b.data("zeros", DType::i8, 8192, 320, {mem_w(1)}, 0);
  b.add(mem_w(1), Opcode::read, {address(8190), stream(0, E)}, 0);
  b.add(mem_w(1), Opcode::repeat, {integer(3), integer(1), integer(1)});
  run_error(b, "READ address 0x2000 is out of range 0..0x1fff");
}

TEST(Engine, ZeroFunctionalDelayLandsAfterItsOwnCycle) {
  // skew/func_delay overrides come from the topology; here func_delay 0 for READ.
  Builder b;
  b.literal("a", DType::i8, 1, 1, {mem_w(1)}, 0, bytes_of({5}));
  b.region("out", DType::i8, 1, 1, {mem_w(0)}, 0);
  b.add(mem_w(1), Opcode::read, {address(0), stream(0, E)}, 0);
  b.add(mem_w(0), Opcode::write, {address(0), stream(0, E)}, 1);
  ChipConfig config;
  TimingOverride o;
  o.name = "READ";
  o.func_delay_cycles = 0;
  config.timing = OpTimingTable::with_overrides(std::span<const TimingOverride>(&o, 1));
  Engine engine(b.program(), config);
  const RunResult r = engine.run();
  EXPECT_EQ(r.outputs[0].bytes, bytes_of({5}));
  EXPECT_EQ(r.final_cycle, 2);
}

// ---- MXM end to end ---------------------------------------------------------------------------

// Weights W[k][n] (row k in `weights`, 320 rows) reach MXM plane `plane` (west) through LW: MEM
// slice `slice` (position 45 - slice) READs row k at cycle k onto S<s>W; it reaches position 0 at
// k + 3 + (45 - slice); LW k, S<s>W issues then. Returns the cycle after the last LW.
Cycle load_plane(Builder& b, int plane, int slice, int s, int base_address) {
  const Cycle travel = 3 + (45 - slice);
  b.add(mem_w(slice), Opcode::read, {address(base_address), stream(s, W)}, 0);
  b.add(mem_w(slice), Opcode::repeat, {integer(319), integer(1), integer(1)});
  for (int k = 0; k < 320; ++k) {
    b.add(mxm_queue(QueueKind::mxm_weights, plane), Opcode::lw, {integer(k), stream(s, W)},
          k + travel);
  }
  return 320 + travel;
}

// acc0 of plane 0 (SG4 on S4E..S7E from position 0 at `at` + 2) into MEM_W43..W40 (positions
// 2..5) at address 0x300.
void store_accumulator(Builder& b, Cycle at, DType dtype) {
  b.add(mxm_queue(QueueKind::mxm_accumulate, 0), Opcode::acc,
        {stream(4, E), integer(0), integer(0)}, at, dtype);
  for (int k = 0; k < 4; ++k) {
    b.add(mem_w(43 - k), Opcode::write, {address(0x300), stream(4 + k, E)}, at + 2 + 2 + k);
  }
  b.region("y", dtype, 1, 320, {mem_w(43), mem_w(42), mem_w(41), mem_w(40)}, 0x300);
}

TEST(Engine, MxmInt8MatvecEndToEnd) {
  std::mt19937_64 rng(11);
  std::vector<std::uint8_t> w(320 * 320);
  std::vector<std::uint8_t> a(320);
  for (auto& x : w) x = static_cast<std::uint8_t>(rng());
  for (auto& x : a) x = static_cast<std::uint8_t>(rng());
  Builder b;
  b.literal("w", DType::i8, 320, 320, {mem_w(43)}, 0, w);
  b.literal("a", DType::i8, 1, 320, {mem_w(42)}, 0x1000, a);
  const Cycle loaded = load_plane(b, 0, 43, 0, 0);                      // MEM_W43 = position 2
  b.add(mxm_queue(QueueKind::mxm_weights, 0), Opcode::iw, {}, loaded);  // installed at +8
  // Activation: MEM_W42 (position 3) READ at loaded + 2 lands at +5, reaches position 0 at +8.
  b.add(mem_w(42), Opcode::read, {address(0x1000), stream(1, W)}, loaded + 2);
  b.add(mxm_queue(QueueKind::mxm_activations, 0), Opcode::abc,
        {stream(1, W), integer(0), integer(1)}, loaded + 8, DType::i8);
  store_accumulator(b, loaded + 28, DType::i32);
  const RunResult r = run(b);
  ASSERT_EQ(r.outputs.size(), 1U);
  const auto& y = r.outputs[0].bytes;
  ASSERT_EQ(y.size(), 320U * 4);
  for (int n = 0; n < 320; ++n) {
    std::int64_t sum = 0;
    for (int k = 0; k < 320; ++k) {
      sum += std::int64_t{static_cast<std::int8_t>(a[static_cast<std::size_t>(k)])} *
             static_cast<std::int8_t>(w[static_cast<std::size_t>(k * 320 + n)]);
    }
    std::int32_t got = 0;
    std::memcpy(&got, &y[static_cast<std::size_t>(n) * 4], 4);
    ASSERT_EQ(got, static_cast<std::int32_t>(sum)) << n;
  }
  EXPECT_EQ(r.mxm_int8_macs, 102400);
}

TEST(Engine, MxmAbcBeforeInstallIsAnError) {
  Builder b;
  b.literal("a", DType::i8, 1, 320, {mem_w(42)}, 0, std::vector<std::uint8_t>(320, 1));
  b.add(mem_w(42), Opcode::read, {address(0), stream(1, W)}, 0);
  b.add(mxm_queue(QueueKind::mxm_activations, 0), Opcode::abc,
        {stream(1, W), integer(0), integer(0)}, 6, DType::i8);
  run_error(b, "ABC on MXM plane 0: no weights installed (no IW has completed)");
}

TEST(Engine, MxmFp16MatvecEndToEnd) {
  std::mt19937_64 rng(12);
  auto random_half = [&] {
    for (;;) {
      const auto h = static_cast<std::uint16_t>(rng());
      if (((h >> 10) & 0x1f) < 20) return h;
    }
  };
  std::vector<std::uint16_t> w(320 * 320);
  std::vector<std::uint16_t> a(320);
  for (auto& x : w) x = random_half();
  for (auto& x : a) x = random_half();
  std::vector<std::uint8_t> w_bytes(w.size() * 2);
  std::memcpy(w_bytes.data(), w.data(), w_bytes.size());
  std::vector<std::uint8_t> a_bytes(a.size() * 2);
  std::memcpy(a_bytes.data(), a.data(), a_bytes.size());
  Builder b;
  // Low bytes in MEM_W43 (position 2) -> plane 0 via S0W; high bytes in MEM_W41 (4) -> plane 1 via
  // S2W; the same READ schedule, so plane 1's LWs run 2 cycles later.
  b.literal("w", DType::f16, 320, 320, {mem_w(43), mem_w(41)}, 0, w_bytes);
  b.literal("a", DType::f16, 1, 320, {mem_w(42), mem_w(40)}, 0x1000, a_bytes);
  load_plane(b, 0, 43, 0, 0);
  const Cycle loaded = load_plane(b, 1, 41, 2, 0);
  b.add(mxm_queue(QueueKind::mxm_weights, 0), Opcode::iw, {}, loaded);
  b.add(mxm_queue(QueueKind::mxm_weights, 1), Opcode::iw, {}, loaded);
  // SG2 S2W/S3W: low plane from MEM_W42 (position 3), high from MEM_W40 (5): both reach 0 at +8.
  b.add(mem_w(42), Opcode::read, {address(0x1000), stream(2, W)}, loaded + 2);
  b.add(mem_w(40), Opcode::read, {address(0x1000), stream(3, W)}, loaded);
  b.add(mxm_queue(QueueKind::mxm_activations, 0), Opcode::abc,
        {stream(2, W), integer(0), integer(1)}, loaded + 8, DType::f16);
  store_accumulator(b, loaded + 28, DType::f32);
  const RunResult r = run(b);
  const auto& y = r.outputs[0].bytes;
  std::vector<Half> ah(320);
  for (int k = 0; k < 320; ++k)
    ah[static_cast<std::size_t>(k)] = Half{a[static_cast<std::size_t>(k)]};
  for (int n = 0; n < 320; ++n) {
    std::vector<Half> column(320);
    for (int k = 0; k < 320; ++k) {
      column[static_cast<std::size_t>(k)] = Half{w[static_cast<std::size_t>(k * 320 + n)]};
    }
    // acc (cleared) = dot: +0 + dot in f32 is the dot itself (a -0 dot becomes -0 too: clear sets).
    const std::uint32_t expected = test::reference_dot_bits(ah, column);
    std::uint32_t got = 0;
    std::memcpy(&got, &y[static_cast<std::size_t>(n) * 4], 4);
    ASSERT_EQ(got, expected) << n;
  }
  EXPECT_EQ(r.mxm_fp16_macs, 102400);
  // The partner plane's activation unit was busy too.
  bool partner_busy = false;
  for (const UnitStats& u : r.units) partner_busy |= (u.name == "MXM1.A" && u.busy_cycles == 1);
  EXPECT_TRUE(partner_busy);
}

// ---- determinism --------------------------------------------------------------------------------

// Many ops per cycle: 40 slices copy rows through streams while the VXM's ALUs combine streams.
void busy_program(Builder& b) {
  std::mt19937_64 rng(5);
  for (int i = 0; i < 20; ++i) {
    std::vector<std::uint8_t> bytes(8 * 320);
    for (auto& x : bytes) x = static_cast<std::uint8_t>(rng());
    b.literal(fmt::format("src{}", i), DType::i8, 8, 320, {mem_w(i)}, 0, bytes);
    b.literal(fmt::format("srce{}", i), DType::i8, 8, 320, {mem_e(i)}, 0, bytes);
  }
  for (int i = 0; i < 20; ++i) {
    // MEM_Wi READs rows 0..7 onto S<i>E every cycle from 0; MEM_Ei onto S<i>W.
    b.add(mem_w(i), Opcode::read, {address(0), stream(i, E)}, 0);
    b.add(mem_w(i), Opcode::repeat, {integer(7), integer(1), integer(1)});
    b.add(mem_e(i), Opcode::read, {address(0), stream(i, W)}, 0);
    b.add(mem_e(i), Opcode::repeat, {integer(7), integer(1), integer(1)});
  }
  // VXM (46): MEM_Wi is at 45 - i, so row r of slice i arrives at 3 + r + 1 + i.
  for (int k = 0; k < 16; ++k) {
    const int i = k;
    const Cycle at = 3 + 1 + i;
    b.add(vxm_queue(k), Opcode::add, {stream(20 + (k % 12), E), stream(i, E), stream(i, W)}, at,
          DType::i8);
    b.add(vxm_queue(k), Opcode::repeat, {integer(7), integer(1), integer(0)});
  }
  // The sums flow east; MEM_E30.. store some of them.
  for (int k = 0; k < 12; ++k) {
    const int slice = 25 + k;
    const Cycle arrive = 3 + 1 + k + 2 + (slice + 1);  // VXM (46) to MEM_E<slice> (47 + slice)
    b.add(mem_e(slice), Opcode::write, {address(100), stream(20 + k, E)}, arrive);
    b.add(mem_e(slice), Opcode::repeat, {integer(7), integer(1), integer(1)});
    b.region(fmt::format("sum{}", k), DType::i8, 8, 320, {mem_e(slice)}, 100);
  }
}

TEST(Engine, ShuffledExecutionOrderGivesIdenticalDigests) {
  Builder b;
  busy_program(b);
  const RunResult reference = run(b);
  EXPECT_EQ(reference.outputs.size(), 12U);
  for (std::uint64_t seed : {1ULL, 2ULL, 3ULL, 0xdeadbeefULL, 12345ULL}) {
    EngineOptions options;
    options.shuffle_seed = seed;
    const RunResult shuffled = run(b, options);
    EXPECT_EQ(shuffled.digest, reference.digest) << seed;
    EXPECT_EQ(shuffled.final_cycle, reference.final_cycle);
  }
  // The digest sees the data: a different source gives a different digest.
  Builder c;
  busy_program(c);
  c.program().data[0].init.bytes[5] ^= 1;
  EXPECT_NE(run(c).digest, reference.digest);
}

TEST(Engine, WindowedRunEqualsWholeRun) {
  Builder b;
  busy_program(b);
  const RunResult whole = run(b);
  Engine engine(b.program(), ChipConfig{});
  Cycle end = 0;
  while (engine.run_until(end += 7)) {
  }
  const RunResult windowed = engine.finish();
  EXPECT_EQ(windowed.digest, whole.digest);
  EXPECT_EQ(windowed.final_cycle, whole.final_cycle);
}

TEST(Engine, TimingOnlyKeepsTimingWithoutData) {
  Builder b;
  vector_add(b);
  EngineOptions options;
  options.timing_only = true;
  const RunResult r = run(b, options);
  EXPECT_EQ(r.final_cycle, 11);
  EXPECT_EQ(r.sram_touched_pages, 0);
  EXPECT_EQ(r.outputs[0].bytes, bytes_of({0, 0, 0, 0}));
}

TEST(Engine, MalformedProgramsAreInputErrors) {
  Builder b;
  b.add(mxm_queue(QueueKind::mxm_activations, 0), Opcode::abc, {stream(1, W), integer(0)}, 0,
        DType::i8);
  try {
    (void)run(b);
    ADD_FAILURE() << "no error";
  } catch (const InputError& e) {
    EXPECT_EQ(e.message(),
              "tsp 0, queue MXM0.A, instruction 0: ABC has 2 operands, the op table says 3");
    EXPECT_EQ(e.context().where->line, 1);
  }
}

TEST(Engine, ConfigAndIfetchAreTimingOnly) {
  Builder b;
  Instruction& config = b.add(vxm_queue(2), Opcode::config, {integer(10)}, 3);
  config.operands[0].kind = OperandKind::integer;
  b.add(vxm_queue(2), Opcode::ifetch, {});
  const RunResult r = run(b);
  EXPECT_EQ(r.config_superlanes, 10);
  EXPECT_EQ(r.final_cycle, 4);
  EXPECT_EQ(r.sweep_final_cycle, -1);  // no results
  EXPECT_TRUE(r.units.empty());        // ICU ops occupy no unit
}

TEST(Engine, IdleCyclesAreSkippedAndTheWatchdogStopsRunawayPrograms) {
  Builder b;
  b.add(vxm_queue(0), Opcode::nop, {integer(1'000'000'000)}, 0);
  b.add(vxm_queue(0), Opcode::ifetch, {});
  b.add(vxm_queue(1), Opcode::notify, {}, 0);  // arrives at 35 with nobody parked: no activity
  EXPECT_EQ(run(b).final_cycle, 1'000'000'000);
  EngineOptions options;
  options.max_cycles = 1000;
  try {
    (void)run(b, options);
    ADD_FAILURE() << "no error";
  } catch (const RuntimeError& e) {
    EXPECT_EQ(e.message(), "tsp 0: still running at cycle 1000000000 (max_cycles 1000)");
  }
}

TEST(Engine, EmptyProgram) {
  Builder b;
  const RunResult r = run(b);
  EXPECT_EQ(r.final_cycle, -1);
  EXPECT_EQ(r.cycles, 0);
}

TEST(KokkosSession, InitialisesOnceAndTolerantOfExistingInitialisation) {
  ensure_kokkos_initialized();
  const KokkosSession second;  // already initialised by the engine runs: does not own
  EXPECT_FALSE(second.owns());
}

}  // namespace
}  // namespace tspemu

namespace tspemu {
namespace {

// SAC (docs/clocks.md): the software aligned counter, HAC epochs / 16 since the program's start,
// as an int64 in lanes 0..7 of the vector it puts on its stream (at the port, position 0, one cycle
// after issue like RECEIVE; MEM_W1 at position 44 sees it 44 cycles later). No network needed.
TEST(Engine, SacReadsEpochsOverSixteen) {
  Builder b;
  b.region("t", DType::i8, 3, 8, {mem_w(1)}, 0);
  const Cycle at[] = {0, 5000, 70000};  // epochs 0, 19 and 273: SAC 0, 1 and 17
  for (int k = 0; k < 3; ++k) {
    b.add(c2c_queue(0), Opcode::sac, {stream(1, E)}, at[k]);
    b.add(mem_w(1), Opcode::write, {address(k), stream(1, E)}, at[k] + 1 + 44);
  }
  const RunResult r = run(b);
  ASSERT_EQ(r.outputs.size(), 1U);
  std::vector<std::uint8_t> expected(24, 0);
  expected[8] = 1;
  expected[16] = 17;
  EXPECT_EQ(r.outputs[0].bytes, expected);
  EXPECT_EQ(r.instructions_by_opcode[static_cast<std::size_t>(Opcode::sac)], 3);
}

}  // namespace
}  // namespace tspemu
