// The compiler's SRAM allocator (compiler/lower/sram_allocator.hpp) and the write floors the
// scheduler keeps for reused rows (TspSchedule::place): exact addresses, floors and placements.
#include "compiler/lower/sram_allocator.hpp"

#include <gtest/gtest.h>

#include <string>

#include "common/error.hpp"
#include "compiler/lower/lowering.hpp"
#include "compiler/lower/tsp_schedule.hpp"
#include "isa/queue.hpp"

namespace tspemu::detail {
namespace {

constexpr int kSlices = 88;  // the default chip: 44 slices per hemisphere
constexpr int kRows = 8192;  // rows per slice

TEST(SramAllocator, FreshBlocksGoRoundTheChipAndNeverOverlap) {
  SramAllocator sram(TspId{0}, ChipConfig{});
  const Allocation a = sram.allocate(2, 10, -1, {}, RowUse::reusable);
  const Allocation b = sram.allocate(2, 10, -1, {}, RowUse::reusable);
  EXPECT_EQ(a.group.slices[0], 0);
  EXPECT_EQ(a.group.slices[1], 1);
  EXPECT_EQ(b.group.slices[0], 2);  // the cursor moved on
  EXPECT_FALSE(a.reused);
  EXPECT_EQ(sram.block_at(1, 9), a.block);
  EXPECT_EQ(sram.block_at(1, 10), -1);
  EXPECT_EQ(sram.block_at(2, 0), b.block);
  EXPECT_EQ(sram.rows_in_use(), 40);
  // A group never straddles the hemispheres: from slice 43, a 2-slice group starts at 44.
  for (int i = 4; i < 43; ++i) (void)sram.allocate(1, 1, -1, {}, RowUse::pinned);
  const Allocation c = sram.allocate(2, 1, -1, {}, RowUse::pinned);
  EXPECT_EQ(c.group.slices[0], 44);
  // Bank 1 is taken from the top of the slice.
  const Allocation d = sram.allocate(1, 5, 1, {}, RowUse::pinned);
  EXPECT_EQ(d.address, kRows - 5);
}

TEST(SramAllocator, ReleasedRowsAreReusedWithTheLastAccessAsTheirWriteFloor) {
  SramAllocator sram(TspId{0}, ChipConfig{});
  const Allocation a = sram.allocate(1, 16, -1, {}, RowUse::reusable);
  sram.touch(a.block, 100);
  sram.touch(a.block, 40);  // the latest access counts
  sram.release(a.block);
  EXPECT_FALSE(sram.live(a.block));
  EXPECT_EQ(sram.block_at(0, 0), -1);
  EXPECT_EQ(sram.rows_in_use(), 0);
  EXPECT_EQ(sram.peak_rows(), 16);
  sram.set_reuse_horizon(100);
  // The next reusable allocation takes them: same slice, same rows, floor 100.
  const Allocation b = sram.allocate(1, 8, -1, {}, RowUse::reusable);
  EXPECT_TRUE(b.reused);
  EXPECT_EQ(b.group.slices[0], 0);
  EXPECT_EQ(b.address, 0);
  EXPECT_EQ(sram.write_floor(b.block), 100);
  EXPECT_TRUE(sram.reused(b.block));
  // The rest of the released range, [8, 16), is still free with the same floor.
  const Allocation c = sram.allocate(1, 8, -1, {}, RowUse::reusable);
  EXPECT_TRUE(c.reused);
  EXPECT_EQ(c.address, 8);
  // A block released untouched keeps the floor it inherited.
  sram.release(c.block);
  const Allocation d = sram.allocate(1, 8, -1, {}, RowUse::reusable);
  EXPECT_EQ(d.address, 8);
  EXPECT_EQ(sram.write_floor(d.block), 100);
}

TEST(SramAllocator, RowsReleasedAfterTheHorizonWaitUntilNothingElseFits) {
  ChipConfig small;
  small.shape.mem_rows_per_slice = 32;  // 16 rows per bank
  SramAllocator sram(TspId{0}, small);
  const Allocation a = sram.allocate(1, 32, -1, {}, RowUse::reusable);
  sram.touch(a.block, 500);
  sram.release(a.block);
  sram.set_reuse_horizon(200);
  // Released at 500, needed from 200: fresh rows are taken while there are any (slices 1..87).
  for (int i = 1; i < kSlices; ++i) {
    const Allocation fresh = sram.allocate(1, 32, -1, {}, RowUse::reusable);
    EXPECT_FALSE(fresh.reused);
    EXPECT_EQ(fresh.group.slices[0], i);
  }
  // Then the late rows: a write there lands after cycle 500.
  const Allocation late = sram.allocate(1, 32, -1, {}, RowUse::reusable);
  EXPECT_TRUE(late.reused);
  EXPECT_EQ(late.group.slices[0], 0);
  EXPECT_EQ(sram.write_floor(late.block), 500);
}

TEST(SramAllocator, PinnedAndFreshBlocksOnlyTakeRowsNothingUsed) {
  ChipConfig small;
  small.shape.mem_rows_per_slice = 32;
  SramAllocator sram(TspId{0}, small);
  std::vector<Allocation> all;
  for (int i = 0; i < kSlices; ++i) all.push_back(sram.allocate(1, 32, -1, {}, RowUse::reusable));
  sram.release(all[5].block);
  // Constants and initial data exist from cycle 0: released rows are no use to them.
  try {
    (void)sram.allocate(1, 1, -1, {}, RowUse::fresh);
    FAIL() << "no error";
  } catch (const ScheduleError& e) {
    EXPECT_EQ(std::string(e.what()),
              "SRAM is full on tsp 0: no 1 slice(s) have 1 free rows left (2784 rows of 2816 in "
              "use) (tsp 0)");
  }
  EXPECT_THROW((void)sram.allocate(1, 1, -1, {}, RowUse::pinned), ScheduleError);
  EXPECT_TRUE(sram.allocate(1, 32, -1, {}, RowUse::reusable).reused);
}

TEST(SramAllocator, AdjacentReleasedRangesServeOneBlockWithTheLaterFloor) {
  SramAllocator sram(TspId{0}, ChipConfig{});
  const Allocation a = sram.allocate(1, 4, -1, {}, RowUse::reusable);
  const Allocation b = sram.allocate_like(a.group, 4, -1, RowUse::reusable);
  ASSERT_EQ(b.address, 4);
  sram.touch(a.block, 10);
  sram.touch(b.block, 30);
  sram.release(a.block);
  sram.release(b.block);
  sram.set_reuse_horizon(50);
  const Allocation c = sram.allocate_like(a.group, 8, -1, RowUse::reusable);
  EXPECT_TRUE(c.reused);
  EXPECT_EQ(c.address, 0);
  EXPECT_EQ(sram.write_floor(c.block), 30);
}

TEST(SramAllocator, WideGroupsNeedTheSameRowsFreeInEverySlice) {
  SramAllocator sram(TspId{0}, ChipConfig{});
  // Slice 0 rows [0, 8) and slice 1 rows [4, 12) released: a 2-slice group fits at [4, 8) only.
  const Allocation a = sram.allocate(1, 8, -1, {}, RowUse::reusable);
  SliceGroup one;
  one.slices[0] = 1;
  const Allocation pad = sram.allocate_like(one, 4, -1, RowUse::pinned);
  const Allocation b = sram.allocate_like(one, 8, -1, RowUse::reusable);
  ASSERT_EQ(pad.address, 0);
  ASSERT_EQ(b.address, 4);
  sram.release(a.block);
  sram.release(b.block);
  SliceGroup pair;
  pair.width = 2;
  pair.slices = {0, 1, 0, 0};
  const Allocation c = sram.allocate_like(pair, 4, -1, RowUse::reusable);
  EXPECT_TRUE(c.reused);
  EXPECT_EQ(c.address, 4);
  // Five rows do not fit in the overlap: they come from fresh rows above.
  const Allocation d = sram.allocate_like(pair, 5, -1, RowUse::reusable);
  EXPECT_FALSE(d.reused);
  EXPECT_EQ(d.address, 12);
  // Bank 1 requests never take bank-0 rows.
  EXPECT_EQ(sram.allocate_like(pair, 2, 1, RowUse::reusable).address, kRows - 2);
}

// A chain that writes one vector into `loc` (its value made by an op on VXM ALU 0).
Chain write_chain(const TspSchedule& s, const VectorLoc& loc) {
  Chain chain;
  ChainBuilder cb(const_cast<TspSchedule&>(s), chain);
  const int v_pos = cb.vxm_position();
  const int value =
      cb.value(ChainBuilder::direction(v_pos, s.slice_position(loc.group.slices[0])), 1, 0, v_pos);
  cb.from(value, v_pos);
  ChainOp mov;
  mov.queue = vxm_queue(0);
  mov.instr.opcode = Opcode::mov;
  mov.instr.operand_count = 2;
  mov.instr.operands[0] = stream_placeholder();
  mov.operand_value[0] = static_cast<std::int8_t>(value);
  mov.instr.operands[1] = immediate_operand(0);
  cb.op(mov);
  (void)cb.write(loc, value, v_pos, 2);
  return chain;
}

TEST(TspSchedule, WritesIntoReusedRowsLandAfterTheirWriteFloor) {
  TspSchedule s(TspId{0}, ChipConfig{});
  const Allocation a = s.allocate(1, 1, -1, {}, RowUse::reusable);
  VectorLoc loc;
  loc.group = a.group;
  loc.address = a.address;
  // A segment over fresh rows is declared; one over reused rows is bookkeeping only.
  DataSegment seg;
  seg.name = "old";
  seg.rows = 1;
  seg.columns = 320;
  seg.at.slices = {s.slice_queue(a.group.slices[0])};
  seg.at.address = a.address;
  EXPECT_TRUE(s.segment_declared(s.add_segment(seg)));
  // The first write lands at cycle 0 + its latency; touching records it.
  const Placement first = s.place(write_chain(s, loc), 0);
  EXPECT_EQ(first.anchor, 0);
  s.sram().touch(a.block, 300);  // a READ of the old data at 300
  s.sram().release(a.block);
  s.sram().set_reuse_horizon(1000);
  const Allocation b = s.allocate(1, 1, -1, {}, RowUse::reusable);
  ASSERT_TRUE(b.reused);
  // The same write chain now waits: its WRITE lands at 301, the first cycle after the floor.
  const Chain chain = write_chain(s, loc);
  const ChainOp& write = chain.ops.back();
  const Placement second = s.place(chain, 0);
  EXPECT_EQ(second.anchor + write.offset + write.mem_write_delay, 301);
  seg.name = "new";
  EXPECT_FALSE(s.segment_declared(s.add_segment(seg)));
  const TspProgram program = s.finish();
  ASSERT_EQ(program.data.size(), 1U);
  EXPECT_EQ(program.data[0].name, "old");
}

}  // namespace
}  // namespace tspemu::detail
