#include "isa/assembler.hpp"

#include "scratch_dir.hpp"
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "isa/queue.hpp"

namespace tspemu {
namespace {

Program asm_text(std::string_view text, const ChipShape& shape = {}) {
  return assemble(text, "t.tsa", shape);
}

const QueueProgram& queue_of(const Program& p, std::string_view name, std::size_t tsp = 0) {
  for (const QueueProgram& q : p.tsps.at(tsp).queues) {
    if (queue_name(q.queue) == name) return q;
  }
  throw std::runtime_error("no queue " + std::string(name));
}

Operand stream(int index, Direction d, int count = 1) {
  Operand op;
  op.kind = OperandKind::stream;
  op.stream = StreamRef{static_cast<std::int8_t>(index), d, static_cast<std::int8_t>(count)};
  return op;
}
Operand of(OperandKind kind, std::int64_t value) {
  Operand op;
  op.kind = kind;
  op.value = value;
  return op;
}

TEST(Assembler, MemInstructionsAndCursor) {
  const Program p = asm_text(R"(
.queue MEM_W3
    READ 0x100, S0E      ; issues at 0
    READ 257, S2W        # issues at 1
    @10 WRITE 0x0, S4W
    NOP 5
    WRITE 1, S5E         ; 11 + 5 = 16
    REPEAT 3, 2, 1       ; repetitions at 18, 20, 22; queue free at 23
    GATHER S1E, S2E
    SCATTER S3W, S6W
)");
  EXPECT_EQ(p.source_name, "t.tsa");
  ASSERT_EQ(p.tsps.size(), 1U);
  EXPECT_EQ(p.tsps[0].tsp, TspId{0});
  const auto& q = queue_of(p, "MEM_W3").instructions;
  ASSERT_EQ(q.size(), 8U);
  EXPECT_EQ(q[0].opcode, Opcode::read);
  EXPECT_EQ(q[0].operand_count, 2);
  EXPECT_EQ(q[0].operands[0], of(OperandKind::address, 0x100));
  EXPECT_EQ(q[0].operands[1], stream(0, Direction::east));
  EXPECT_EQ(q[0].dtype, DType::none);
  EXPECT_EQ(q[0].where.line, 3);
  EXPECT_EQ(q[0].where.column, 5);
  EXPECT_EQ(q[0].where.file, "t.tsa");
  EXPECT_EQ(q[1].operands[0].value, 257);
  EXPECT_EQ(q[1].operands[1], stream(2, Direction::west));
  std::vector<Cycle> issues;
  for (const auto& in : q) issues.push_back(in.issue_cycle);
  EXPECT_EQ(issues, (std::vector<Cycle>{0, 1, 10, 11, 16, 17, 23, 24}));
  EXPECT_EQ(q[3].operands[0], of(OperandKind::integer, 5));
  EXPECT_EQ(q[5].opcode, Opcode::repeat);
  EXPECT_EQ(q[5].operands[2], of(OperandKind::integer, 1));
  EXPECT_EQ(q[6].opcode, Opcode::gather);
  EXPECT_EQ(q[6].operands[1], stream(2, Direction::east));
}

TEST(Assembler, VxmOperandsTypesAndImmediates) {
  const Program p = asm_text(R"(
.queue VXM5
    ADD.i8 S4E, S0E, S1W
    add.I8.SAT -, ALU3, #-1
    MUL.f16 S2W, S4E, #1.5
    CVT.f32.f16 S8E, #0x3c00
    SELECT.i32 S12W, S16E, ALU15, #-2
    SHR.u8 S0E, S0E, #7
    MOV.f32 -, #-inf
)");
  const auto& q = queue_of(p, "VXM5").instructions;
  ASSERT_EQ(q.size(), 7U);
  EXPECT_EQ(q[0].opcode, Opcode::add);
  EXPECT_EQ(q[0].dtype, DType::i8);
  EXPECT_FALSE(q[0].saturate);
  EXPECT_EQ(q[0].operands[0], stream(4, Direction::east));
  EXPECT_EQ(q[0].operands[2], stream(1, Direction::west));
  EXPECT_TRUE(q[1].saturate);
  EXPECT_EQ(q[1].operands[0].kind, OperandKind::none);
  EXPECT_EQ(q[1].operands[1], of(OperandKind::alu, 3));
  EXPECT_EQ(q[1].operands[2], of(OperandKind::immediate, 0xff));  // zero-extended bit pattern
  EXPECT_EQ(q[2].operands[2], of(OperandKind::immediate, 0x3e00));
  EXPECT_EQ(q[3].dtype, DType::f32);
  EXPECT_EQ(q[3].src_dtype, DType::f16);
  EXPECT_EQ(q[3].operands[1], of(OperandKind::immediate, 0x3c00));  // in the SOURCE type
  EXPECT_EQ(q[4].operand_count, 4);
  EXPECT_EQ(q[4].operands[3], of(OperandKind::immediate, 0xfffffffe));
  EXPECT_EQ(q[5].operands[2], of(OperandKind::immediate, 7));
  EXPECT_EQ(q[6].operands[1], of(OperandKind::immediate, 0xff800000));
}

TEST(Assembler, MxmSxmC2cAndIcu) {
  const Program p = asm_text(R"(
.map rev [15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, -1]
.queue MXM1.W
    LW 288, S0W..S31W
    IW
.queue MXM0.A
    ABC S3W, acc2
    ABC.f16 S4W, acc0, clear
.queue MXM3.C
    ACC S8W, acc1, CLEAR
.queue SXM_E13
    SHIFT S1E, S2W, -5
    SHIFT.f16 S2E, S4W, 319, S6W
    DISTRIBUTE S0W, S1W, rev
    ROTATE S0E..S15E, S16E..S19E, 4
    TRANSPOSE S16W..S31W, S0E..S15E
.queue C2C15
    RECEIVE S0W
    SEND S1E
    DESKEW
    RUNTIME_DESKEW 12
    @40 CONFIG superlanes=20
    NOTIFY
    IFETCH
)");
  const auto& w = queue_of(p, "MXM1.W").instructions;
  EXPECT_EQ(w[0].operands[0], of(OperandKind::integer, 288));
  EXPECT_EQ(w[0].operands[1], stream(0, Direction::west, 32));
  EXPECT_EQ(w[1].operand_count, 0);
  const auto& a = queue_of(p, "MXM0.A").instructions;
  EXPECT_EQ(a[0].dtype, DType::i8);  // the default type is stored
  EXPECT_EQ(a[0].operand_count, 3);
  EXPECT_EQ(a[0].operands[1], of(OperandKind::integer, 2));
  EXPECT_EQ(a[0].operands[2], of(OperandKind::integer, 0));  // no clear
  EXPECT_EQ(a[1].dtype, DType::f16);
  EXPECT_EQ(a[1].operands[2], of(OperandKind::integer, 1));
  const auto& c = queue_of(p, "MXM3.C").instructions;
  EXPECT_EQ(c[0].dtype, DType::i32);
  EXPECT_EQ(c[0].operands[0], stream(8, Direction::west));
  const auto& s = queue_of(p, "SXM_E13").instructions;
  EXPECT_EQ(s[0].dtype, DType::none);
  EXPECT_EQ(s[0].operands[2], of(OperandKind::integer, -5));
  EXPECT_EQ(s[0].operands[3].kind, OperandKind::none);  // no mask
  EXPECT_EQ(s[1].operands[3], stream(6, Direction::west));
  EXPECT_EQ(s[2].operands[2], of(OperandKind::symbol, 0));
  EXPECT_EQ(s[3].operands[0], stream(0, Direction::east, 16));
  EXPECT_EQ(s[3].operands[1], stream(16, Direction::east, 4));
  EXPECT_EQ(s[4].operands[1], stream(0, Direction::east, 16));
  ASSERT_EQ(p.tsps[0].maps.size(), 1U);
  EXPECT_EQ(p.tsps[0].maps[0].lanes.back(), -1);
  const auto& l = queue_of(p, "C2C15").instructions;
  EXPECT_EQ(l[3].operands[0], of(OperandKind::integer, 12));
  // DESKEW and RUNTIME_DESKEW end at run time: the cursor is unknown until the explicit @40.
  std::vector<Cycle> issues;
  for (const auto& in : l) issues.push_back(in.issue_cycle);
  EXPECT_EQ(issues, (std::vector<Cycle>{0, 1, 2, -1, 40, 41, 42}));
  EXPECT_EQ(l[4].operands[0], of(OperandKind::integer, 20));
}

TEST(Assembler, SyncMakesTheCursorUnknownUntilAnExplicitCycle) {
  const Program p = asm_text(R"(
.queue VXM0
    SYNC
    MOV.i8 S0E, S1E
    REPEAT 2, 1
    NOP 3
    MOV.i8 S0E, S1E
    @500 MOV.i8 S0E, S1E
    MOV.i8 S0E, S1E
    REPEAT 3, 4          ; repetitions at 505, 509, 513
    MOV.i8 S0E, S1E
)");
  std::vector<Cycle> issues;
  for (const auto& in : queue_of(p, "VXM0").instructions) issues.push_back(in.issue_cycle);
  EXPECT_EQ(issues, (std::vector<Cycle>{0, -1, -1, -1, -1, 500, 501, 502, 514}));
}

TEST(Assembler, SectionsQueuesAndReopenedBlocks) {
  const Program p = asm_text(R"(
; two TSPs, written out of order
.tsp 3
.queue VXM1
    MOV.i8 S0E, S1E
.tsp 1
.queue MEM_E0
    READ 0, S0W
.queue VXM0
    MOV.i8 S0E, S1E
.queue MEM_E0
    READ 1, S0W        ; continues the queue and its cursor
)");
  ASSERT_EQ(p.tsps.size(), 2U);
  EXPECT_EQ(p.tsps[0].tsp, TspId{1});
  EXPECT_EQ(p.tsps[1].tsp, TspId{3});
  ASSERT_EQ(p.tsps[0].queues.size(), 2U);
  EXPECT_EQ(queue_name(p.tsps[0].queues[0].queue), "MEM_E0");  // sorted by QueueId
  EXPECT_EQ(queue_name(p.tsps[0].queues[1].queue), "VXM0");
  const auto& mem = p.tsps[0].queues[0].instructions;
  ASSERT_EQ(mem.size(), 2U);
  EXPECT_EQ(mem[1].issue_cycle, 1);
}

TEST(Assembler, DataDeclarations) {
  const Program p = asm_text(R"(
.data a dtype=f16 shape=[2,2] at=W3,MEM_W4:0x100 init=[
    1, 1.5,
    -2, inf
]
.data b dtype=i32 shape=[1,320] at=E0,E1,E2,E3:0 init=seeded(seed=0xffffffffffffffff, dist=uniform, lo=-5, hi=5)
.data c dtype=f32 shape=[8] at=E4,E5,E6,E7:8191 init=seeded(hi=1e3, lo=-0.5, seed=3)
.data z dtype=u8 shape=[4,16] at=W0:4 init=zero
.region out dtype=i8 shape=[1,10] at=W0:0
.output out a
)");
  const auto& data = p.tsps[0].data;
  ASSERT_EQ(data.size(), 5U);
  EXPECT_EQ(data[0].name, "a");
  EXPECT_EQ(data[0].dtype, DType::f16);
  EXPECT_EQ(data[0].rows, 2);
  EXPECT_EQ(data[0].columns, 2);
  EXPECT_EQ(data[0].at.slices,
            (std::vector<QueueId>{mem_queue(Hemisphere::west, 3), mem_queue(Hemisphere::west, 4)}));
  EXPECT_EQ(data[0].at.address, 0x100);
  EXPECT_EQ(data[0].init.kind, DataInit::Kind::literal);
  EXPECT_EQ(data[0].init.bytes,
            (std::vector<std::uint8_t>{0x00, 0x3c, 0x00, 0x3e, 0x00, 0xc0, 0x00, 0x7c}));
  EXPECT_TRUE(data[0].is_output);
  EXPECT_EQ(data[0].where.line, 2);
  EXPECT_EQ(data[1].init.kind, DataInit::Kind::seeded_uniform);
  EXPECT_EQ(data[1].init.seed, 0xffffffffffffffffULL);
  EXPECT_EQ(data[1].init.low, -5.0);
  EXPECT_EQ(data[1].init.high, 5.0);
  EXPECT_EQ(data[2].rows, 1);
  EXPECT_EQ(data[2].columns, 8);
  EXPECT_EQ(data[2].at.address, 8191);
  EXPECT_EQ(data[2].init.high, 1000.0);
  EXPECT_EQ(data[3].init.kind, DataInit::Kind::zero);
  EXPECT_TRUE(data[3].initialized);
  EXPECT_FALSE(data[4].initialized);
  EXPECT_TRUE(data[4].is_output);
  EXPECT_FALSE(data[1].is_output);
}

TEST(Assembler, FileAndBytesInit) {
  const testing::ScratchDir dir("tspemu_isa_asm_test");
  {
    std::ofstream out(dir / "w.bin", std::ios::binary);
    const char bytes[] = {1, 2, 3, 4, 5, 6, 7, 8};
    out.write(bytes, sizeof bytes);
  }
  const std::string text =
      ".data w dtype=i16 shape=[2,2] at=W1,W2:0 init=file(\"w.bin\")\n"
      ".data v dtype=i8 shape=[1,3] at=W3:0 init=bytes(\"0aFF10\")\n";
  const Program p = assemble(text, (dir / "prog.tsa").string(), ChipShape{});
  EXPECT_EQ(p.tsps[0].data[0].init.kind, DataInit::Kind::file_bytes);
  EXPECT_EQ(p.tsps[0].data[0].init.bytes, (std::vector<std::uint8_t>{1, 2, 3, 4, 5, 6, 7, 8}));
  EXPECT_EQ(p.tsps[0].data[1].init.bytes, (std::vector<std::uint8_t>{0x0a, 0xff, 0x10}));
}

TEST(Assembler, ChipShapeBoundsOperands) {
  ChipShape small;
  small.streams_per_direction = 8;
  small.mem_slices_per_hemisphere = 2;
  small.mem_rows_per_slice = 16;
  EXPECT_NO_THROW((void)asm_text(".queue MEM_W1\n READ 15, S7E\n", small));
  EXPECT_THROW((void)asm_text(".queue MEM_W2\n READ 0, S0E\n", small), InputError);
  EXPECT_THROW((void)asm_text(".queue MEM_W1\n READ 16, S0E\n", small), InputError);
  EXPECT_THROW((void)asm_text(".queue MEM_W1\n READ 0, S8E\n", small), InputError);
}

TEST(Assembler, EmptyAndCommentOnlyPrograms) {
  const Program p = asm_text("# topology: topologies/chip.toml\n; nothing else\n\n");
  ASSERT_EQ(p.tsps.size(), 1U);
  EXPECT_TRUE(p.tsps[0].queues.empty());
}

}  // namespace
}  // namespace tspemu
