// The lowering's scheduler (compiler/lower/tsp_schedule.hpp) and chain builder
// (compiler/lower/lowering.hpp): every resource rule the engine enforces, placed by hand-built
// chains with exact expected anchors, queues and streams.
#include "compiler/lower/tsp_schedule.hpp"

#include <gtest/gtest.h>

#include <array>
#include <random>
#include <vector>

#include "common/error.hpp"
#include "compiler/lower/busy_intervals.hpp"
#include "compiler/lower/lowering.hpp"
#include "isa/queue.hpp"

namespace tspemu::detail {
namespace {

ChipConfig default_chip() {
  return ChipConfig{};
}

// A chain of one op on `queue` at offset 0.
Chain one_op(QueueId queue, Opcode opcode, int occupancy = 1) {
  Chain chain;
  ChainOp op;
  op.queue = queue;
  op.occupancy = occupancy;
  op.instr.opcode = opcode;
  chain.ops.push_back(op);
  return chain;
}

TEST(BusyIntervals, MergesAndFindsTheNextFreeRun) {
  BusyIntervals b;
  EXPECT_TRUE(b.free(0, 100));
  b.reserve(10, 12);
  b.reserve(12, 15);  // merges with [10, 12)
  b.reserve(20, 21);
  EXPECT_EQ(b.runs(), 2U);
  EXPECT_FALSE(b.free(14, 16));
  EXPECT_TRUE(b.free(15, 20));
  EXPECT_EQ(b.next_free(10, 1), 15);
  EXPECT_EQ(b.next_free(15, 5), 15);  // [15, 20) fits exactly
  EXPECT_EQ(b.next_free(15, 6), 21);  // a run of 6 only after 20
  EXPECT_EQ(b.next_free(3, 8), 21);   // [3, 11) hits 10; [15, 21) hits 20
  b.reserve(15, 20);                  // fills the gap: one run [10, 21)
  EXPECT_EQ(b.runs(), 1U);
  EXPECT_EQ(b.next_free(0, 11), 21);
  EXPECT_EQ(b.next_free(0, 10), 0);
}

// reserve() requires free cycles: the map of runs must never hold overlapping runs. (A second
// reservation of a taken ALU landing cycle once did: free() looked at the one run before a cycle
// only, answered "free" inside [421, 425), and two results met in a register a chained op read:
// silently wrong values, found by the int8 model card llama_small_prefill_int8.)
TEST(BusyIntervals, ReservingTakenCyclesIsABug) {
  BusyIntervals b;
  b.reserve(421, 425);
  EXPECT_THROW(b.reserve(423, 424), Error);
  EXPECT_FALSE(b.free(424, 425));
}

// cover() takes the union, for resources that several users may mark in one cycle.
TEST(BusyIntervals, CoverTakesTheUnion) {
  BusyIntervals b;
  b.cover(421, 425);
  b.cover(423, 424);  // inside
  EXPECT_EQ(b.runs(), 1U);
  EXPECT_FALSE(b.free(424, 425));
  EXPECT_TRUE(b.free(425, 426));
  b.cover(419, 422);  // overlaps the start
  b.cover(425, 427);  // adjacent to the end
  b.cover(430, 431);
  EXPECT_EQ(b.runs(), 2U);
  EXPECT_EQ(b.next_free(419, 1), 427);
  EXPECT_EQ(b.next_free(419, 4), 431);
  b.cover(400, 440);  // swallows both
  EXPECT_EQ(b.runs(), 1U);
  EXPECT_EQ(b.next_free(0, 401), 440);
  EXPECT_EQ(b.next_free(0, 400), 0);
}

// The pages of 4,096 cycles: runs across page boundaries, pages never touched, and questions
// about cycles before 0 (free), against a plain set of taken cycles, over a seeded random mix of
// reservations, covers and questions.
TEST(BusyIntervals, AnswersLikeASetOfTakenCyclesAcrossPages) {
  BusyIntervals b;
  std::vector<bool> taken(50'000, false);  // beyond every question's cycles
  const auto is_free = [&](Cycle from, Cycle to) {
    for (Cycle c = std::max<Cycle>(from, 0); c < to; ++c) {
      if (taken[static_cast<std::size_t>(c)]) return false;
    }
    return true;
  };
  const auto next_free = [&](Cycle from, Cycle length) {
    Cycle c = from;
    while (!is_free(c, c + length)) ++c;
    return c;
  };
  std::mt19937_64 rng(20261208);
  const auto uniform = [&](Cycle lo, Cycle hi) {  // [lo, hi]
    return lo + static_cast<Cycle>(rng() % static_cast<std::uint64_t>(hi - lo + 1));
  };
  // Reservations in pages 0, 2, 3 and 6 only (1, 4, 5 and 7 stay untouched), often right at a page
  // boundary; a few long runs at first (across pages), then many short ones.
  constexpr std::array<Cycle, 4> kPages{0, 2, 3, 6};
  for (int step = 0; step < 6000; ++step) {
    const Cycle page_start = kPages[static_cast<std::size_t>(uniform(0, 3))] * 4096;
    const Cycle offset = step % 5 == 0 ? 0 : step % 5 == 3 ? uniform(4070, 4095) : uniform(0, 4095);
    // The long runs start in page 2 and end before page 4.
    const Cycle from = step < 12 ? 2 * 4096 + uniform(0, 2000) : page_start + offset;
    const Cycle length = step < 12 ? uniform(1, 6000) : uniform(1, 20);
    if (step % 3 == 0) {
      if (is_free(from, from + length)) {
        b.reserve(from, from + length);
      } else {
        EXPECT_THROW(b.reserve(from, from + length), Error);
        b.cover(from, from + length);
      }
      for (Cycle c = from; c < from + length; ++c) taken[static_cast<std::size_t>(c)] = true;
    } else if (step % 3 == 1) {
      const Cycle q = uniform(-100, 33'000);
      const Cycle n = uniform(1, 9000);
      ASSERT_EQ(b.free(q, q + n), is_free(q, q + n)) << "free(" << q << ", " << q + n << ")";
    } else {
      const Cycle q = uniform(-100, 33'000);
      const Cycle n = uniform(1, 300);
      ASSERT_EQ(b.next_free(q, n), next_free(q, n)) << "next_free(" << q << ", " << n << ")";
    }
  }
  std::size_t runs = 0;
  for (std::size_t c = 0; c < taken.size(); ++c) runs += taken[c] && (c == 0 || !taken[c - 1]);
  EXPECT_EQ(b.runs(), runs);
  EXPECT_GT(runs, 100U);  // the mix left many separate runs to answer about
  EXPECT_TRUE(is_free(4096 + 32, 2 * 4096) && is_free(4 * 4096 + 32, 6 * 4096));  // and free pages

  // Single cycles at page edges, seen from untouched pages before them.
  BusyIntervals edges;
  edges.reserve(3 * 4096, 3 * 4096 + 1);
  EXPECT_FALSE(edges.free(4096, 3 * 4096 + 1));
  EXPECT_TRUE(edges.free(4096, 3 * 4096));
  EXPECT_EQ(edges.next_free(3 * 4096 - 5, 6), 3 * 4096 + 1);
  edges.reserve(4095, 4097);  // across the first page boundary
  EXPECT_FALSE(edges.free(4095, 4096));
  EXPECT_FALSE(edges.free(4096, 4097));
  EXPECT_EQ(edges.next_free(-3, 4), -3);  // cycles before 0 are free
  EXPECT_EQ(edges.next_free(4095, 1), 4097);
  EXPECT_EQ(edges.runs(), 2U);
}

TEST(TspSchedule, AQueueIssuesOncePerCycleAndStaysBusyForItsOccupancy) {
  TspSchedule s(TspId{0}, default_chip());
  const QueueId w = mxm_queue(QueueKind::mxm_weights, 0);
  EXPECT_EQ(s.place(one_op(w, Opcode::iw, 8), 5).anchor, 5);
  // The IW keeps MXM0.W busy for 8 cycles: the next op on it waits, an earlier one fits before.
  EXPECT_EQ(s.place(one_op(w, Opcode::lw), 6).anchor, 13);
  EXPECT_EQ(s.place(one_op(w, Opcode::lw), 0).anchor, 0);
  EXPECT_EQ(s.place(one_op(w, Opcode::iw, 8), 0).anchor, 14);  // [1, 9) overlaps [5, 13)
  EXPECT_EQ(s.instruction_count(), 4);
  const TspProgram program = s.finish();
  ASSERT_EQ(program.queues.size(), 1U);
  std::vector<Cycle> issues;
  for (const Instruction& i : program.queues[0].instructions) issues.push_back(i.issue_cycle);
  EXPECT_EQ(issues, (std::vector<Cycle>{0, 5, 13, 14}));  // emitted in issue order
  // finish() moves the instructions out and releases the tables: once only, and no more placing.
  EXPECT_EQ(s.instruction_count(), 4);
  EXPECT_THROW((void)s.finish(), Error);
  EXPECT_THROW((void)s.place(one_op(w, Opcode::lw), 0), Error);
}

// A chain of one op on whichever VXM ALU is free.
Chain any_alu_op(const Instruction& instr) {
  Chain chain;
  ChainOp op;
  op.any_vxm_alu = true;
  op.instr = instr;
  chain.ops.push_back(op);
  return chain;
}

TEST(TspSchedule, AnyVxmAluTakesTheFirstFreeOfSixteen) {
  TspSchedule s(TspId{0}, default_chip());
  const Chain chain = any_alu_op(Instruction{});
  for (int i = 0; i < 16; ++i) {
    const Placement p = s.place(chain, 3);
    EXPECT_EQ(p.anchor, 3);
    EXPECT_EQ(p.op_queue_index[0], s.queue_index(vxm_queue(i)));
  }
  const Placement p = s.place(chain, 3);
  EXPECT_EQ(p.anchor, 4);
  EXPECT_EQ(p.op_queue_index[0], s.queue_index(vxm_queue(0)));
}

TEST(TspSchedule, AnFp32ToFp16CastTakesOnlyTheLargeAlus) {
  TspSchedule s(TspId{0}, default_chip());
  Instruction cvt;
  cvt.opcode = Opcode::cvt;
  cvt.dtype = DType::f16;
  cvt.src_dtype = DType::f32;
  Chain chain = any_alu_op(cvt);
  for (const int alu : {0, 2, 5, 7, 8, 10, 13, 15}) {
    const Placement p = s.place(chain, 3);
    EXPECT_EQ(p.anchor, 3);
    EXPECT_EQ(p.op_queue_index[0], s.queue_index(vxm_queue(alu)));
  }
  // The small ALUs are still free at 3, but a cast from fp32 to fp16 waits for a large one.
  EXPECT_EQ(s.place(chain, 3).anchor, 4);
  chain.ops[0].instr.src_dtype = DType::i32;  // any ALU converts from i32
  const Placement p = s.place(chain, 3);
  EXPECT_EQ(p.anchor, 3);
  EXPECT_EQ(p.op_queue_index[0], s.queue_index(vxm_queue(1)));
}

// A chain with one MEM access on slice `slice` of `bank`.
Chain mem_op(const TspSchedule& s, int slice, bool write, int bank, int write_delay = 1) {
  Chain chain = one_op(s.slice_queue(slice), write ? Opcode::write : Opcode::read);
  ChainOp& op = chain.ops[0];
  op.mem_slice = slice;
  op.mem_write = write;
  op.mem_bank = bank;
  op.mem_write_delay = write_delay;
  return chain;
}

TEST(TspSchedule, MemPortsOneReadAndOneWritePerCycleOnDifferentBanks) {
  TspSchedule s(TspId{0}, default_chip());
  // A READ at cycle 10 (bank 0). A WRITE issued at 9 lands at 10: same cycle, so it must be the
  // other bank; in bank 0 it moves to land at 11 (its queue is free at 10, the port at 11).
  EXPECT_EQ(s.place(mem_op(s, 3, false, 0), 10).anchor, 10);
  EXPECT_EQ(s.place(mem_op(s, 3, true, 1), 9).anchor, 9);
  EXPECT_EQ(s.place(mem_op(s, 3, true, 0), 8).anchor, 8);  // lands at 9: free
  // Lands at 10 or 9 are taken (a write each); issue 9 and 10 are taken on the queue; 11 lands 12.
  EXPECT_EQ(s.place(mem_op(s, 3, true, 0), 8).anchor, 11);
  // A second READ in cycle 10 on another slice is fine; on slice 3 it waits.
  EXPECT_EQ(s.place(mem_op(s, 4, false, 0), 10).anchor, 10);
  EXPECT_EQ(s.place(mem_op(s, 3, false, 1), 10).anchor, 12);  // queue busy 10, 11; 12 free
}

TEST(TspSchedule, StreamValuesOnOneDiagonalMayNotOverlap) {
  ChipConfig chip;
  chip.shape.streams_per_direction = 4;
  TspSchedule s(TspId{0}, chip);
  // A one-stream value from position 10 to 20, eastward, on the anchor's diagonal.
  auto value_chain = [](int from, int to) {
    Chain chain;
    ChainValue v;
    v.direction = Direction::east;
    v.width = 1;
    v.diag_offset = -from;  // written at position `from` in the anchor cycle
    v.from_pos[0] = from;
    v.to_pos[0] = to;
    chain.values.push_back(v);
    return chain;
  };
  for (int i = 0; i < 4; ++i) {
    const Placement p = s.place(value_chain(10, 20), 100);
    EXPECT_EQ(p.anchor, 100);
    EXPECT_EQ(p.value_streams[0], i);  // the four streams, in order
  }
  // A fifth overlapping value waits for the next diagonal.
  EXPECT_EQ(s.place(value_chain(10, 20), 100).anchor, 101);
  // On the same diagonal, a value beyond position 20 does not overlap [10, 20): stream 0.
  const Placement beyond = s.place(value_chain(20, 30), 110);  // diagonal 110 - 20 = 90 = 100 - 10
  EXPECT_EQ(beyond.anchor, 110);
  EXPECT_EQ(beyond.value_streams[0], 0);
}

TEST(TspSchedule, AnEarlierChainOfTheSameFootprintStillFindsEarlierRoom) {
  // The search memo (anchors known not to fit a footprint) must never hide room before them.
  TspSchedule s(TspId{0}, default_chip());
  const QueueId q = vxm_queue(5);
  for (Cycle c = 100; c < 110; ++c) EXPECT_EQ(s.place(one_op(q, Opcode::nop), 100).anchor, c);
  EXPECT_EQ(s.place(one_op(q, Opcode::nop), 0).anchor, 0);
  EXPECT_EQ(s.place(one_op(q, Opcode::nop), 99).anchor, 99);
  EXPECT_EQ(s.place(one_op(q, Opcode::nop), 99).anchor, 110);
}

TEST(ChainBuilder, ReadsArriveAndWritesLandByTheTimingTable) {
  TspSchedule s(TspId{0}, default_chip());
  Chain chain;
  ChainBuilder b(s, chain);
  const int vxm = b.vxm_position();  // 46
  EXPECT_EQ(vxm, 46);
  VectorLoc loc;
  loc.group.width = 2;
  loc.group.slices = {3, 4};  // MEM_W3 (position 42), MEM_W4 (41)
  loc.address = 7;
  loc.ready = 50;
  Cycle earliest = 0;
  const int v = b.value(Direction::east, 2, 0, vxm);
  b.read(loc, v, 0, 2, vxm, 0, earliest);
  // READ: func delay 3; from position 42 the value needs 4 hops: issue at -7; from 41, at -8.
  ASSERT_EQ(chain.ops.size(), 2U);
  EXPECT_EQ(chain.ops[0].offset, -7);
  EXPECT_EQ(chain.ops[1].offset, -8);
  EXPECT_EQ(chain.ops[0].queue, mem_queue(Hemisphere::west, 3));
  EXPECT_EQ(earliest, 58);  // READ of MEM_W4 at anchor - 8 >= ready 50
  // A WRITE to MEM_E2 (position 49) of a value written at the VXM at anchor + 4: 3 hops, lands
  // one cycle after its issue.
  VectorLoc dst;
  dst.group.width = 1;
  dst.group.slices = {static_cast<std::int16_t>(44 + 2)};
  const int out = b.value(Direction::east, 1, 4, vxm);
  b.from(out, vxm);
  EXPECT_EQ(b.write(dst, out, vxm, 4), 8);
  EXPECT_EQ(chain.ops.back().offset, 7);
  const Placement p = s.place(chain, earliest);
  EXPECT_EQ(p.anchor, 58);
}

}  // namespace
}  // namespace tspemu::detail
