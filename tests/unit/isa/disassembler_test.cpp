#include "isa/disassembler.hpp"

#include <gtest/gtest.h>

#include <filesystem>

#include "isa/assembler.hpp"
#include "isa/validate.hpp"

namespace tspemu {
namespace {

const std::filesystem::path kSource(TSPEMU_SOURCE_DIR);

// Every .tsa under programs/ (except the error programs) and the test programs here.
std::vector<std::filesystem::path> round_trip_programs() {
  std::vector<std::filesystem::path> out;
  const auto programs = kSource / "programs";
  if (std::filesystem::exists(programs)) {
    for (const auto& entry : std::filesystem::recursive_directory_iterator(programs)) {
      if (entry.path().extension() != ".tsa") continue;
      if (entry.path().parent_path().filename() == "errors") continue;
      out.push_back(entry.path());
    }
  }
  for (const auto& entry :
       std::filesystem::directory_iterator(kSource / "tests/unit/isa/programs")) {
    if (entry.path().extension() == ".tsa") out.push_back(entry.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

void expect_round_trip(const Program& original, const std::string& what) {
  const std::string text = disassemble(original);
  Program again;
  try {
    again = assemble(text, original.source_name);
  } catch (const InputError& e) {
    FAIL() << what << ": the disassembly does not assemble: " << e.what() << "\n" << text;
  }
  EXPECT_EQ(again, original) << what << "\n" << text;
  // And the text is a fixed point.
  EXPECT_EQ(disassemble(again), text) << what;
  // Timing annotations are comments: the annotated text assembles to the same program.
  DisassembleOptions timing;
  timing.timing = true;
  EXPECT_EQ(assemble(disassemble(original, timing), original.source_name), original) << what;
}

TEST(Disassembler, EveryProgramRoundTrips) {
  const auto programs = round_trip_programs();
  ASSERT_GE(programs.size(), 2U);
  for (const auto& path : programs) {
    SCOPED_TRACE(path.string());
    const Program program = assemble_file(path);
    EXPECT_NO_THROW(validate_program(program, ChipShape{}, path.string()));
    expect_round_trip(program, path.string());
  }
}

TEST(Disassembler, Format) {
  const Program p = assemble(R"(
.map sw [1, 0, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]
.data a dtype=f16 shape=[1,2] at=W3,W4:0x100 init=[1.5, -0]
.queue MEM_W3
    READ 0x100, S0E
    REPEAT 3, 2
.queue SXM_W0
    @4 DISTRIBUTE.i16 S2E, S0E, sw
)",
                             "f.tsa");
  EXPECT_EQ(disassemble(p),
            "; tspemu disassembly of f.tsa\n"
            "\n"
            ".tsp 0\n"
            ".map sw [1, 0, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]\n"
            ".data a dtype=f16 shape=[1,2] at=W3,W4:0x100 init=[1.5, -0]\n"
            ".queue MEM_W3\n"
            "    @0 READ 0x100, S0E\n"
            "    REPEAT 3, 2\n"
            ".queue SXM_W0\n"
            "    @4 DISTRIBUTE.i16 S2E, S0E, sw\n");
}

TEST(Disassembler, TimingAnnotations) {
  const Program p = assemble(R"(
.queue MEM_W3
    READ 0x100, S0E
    REPEAT 5, 2
    NOP 4
    SYNC
    WRITE 0, S1E
.queue VXM0
    @10 ADD.f16 S8E, S0E, #1.5
)",
                             "t.tsa");
  std::vector<TimingOverride> overrides(1);
  overrides[0].name = "ADD_FP";
  overrides[0].skew_cycles = 1;
  const OpTimingTable table = OpTimingTable::with_overrides(overrides);
  DisassembleOptions options;
  options.timing = true;
  options.timing_table = &table;
  EXPECT_EQ(
      disassemble(p, options),
      "; tspemu disassembly of t.tsa\n"
      "\n"
      ".tsp 0\n"
      ".queue MEM_W3\n"
      "    @0 READ 0x100, S0E                      ; issue 0 | operands 0 | result 3 | busy "
      "[0, 1) | sweep done 22\n"
      "    REPEAT 5, 2                             ; repeats READ at 2, 4, ..., 10 (5 times, "
      "every 2)\n"
      "    @11 NOP 4                               ; issue 11 | queue waits until 15\n"
      "    @15 SYNC                                ; issue 15 | parks until a NOTIFY releases "
      "it\n"
      "    WRITE 0x0, S1E                          ; issue at run time (after SYNC or DESKEW)\n"
      ".queue VXM0\n"
      "    @10 ADD.f16 S8E, S0E, #1.5              ; issue 10 | operands 11 | result 15 | busy "
      "[10, 11) | sweep done 34\n");
}

TEST(Disassembler, SingleInstructions) {
  Instruction in;
  in.opcode = Opcode::abc;
  in.dtype = DType::u8;
  in.operand_count = 3;
  in.operands[0].kind = OperandKind::stream;
  in.operands[0].stream = StreamRef{3, Direction::west, 1};
  in.operands[1].kind = OperandKind::integer;
  in.operands[1].value = 2;
  in.operands[2].kind = OperandKind::integer;
  in.operands[2].value = 1;
  EXPECT_EQ(disassemble_instruction(in), "ABC.u8 S3W, acc2, clear");
  in.operands[2].value = 0;
  EXPECT_EQ(disassemble_instruction(in), "ABC.u8 S3W, acc2");
  Instruction p;
  p.opcode = Opcode::permute;
  p.operand_count = 3;
  p.operands[0].kind = OperandKind::stream;
  p.operands[1].kind = OperandKind::stream;
  p.operands[2].kind = OperandKind::symbol;
  p.operands[2].value = 4;
  EXPECT_EQ(disassemble_instruction(p), "PERMUTE S0E, S0E, map#4");
  Instruction bad;
  bad.opcode = static_cast<Opcode>(200);
  EXPECT_EQ(disassemble_instruction(bad), "<opcode 200>");
}

}  // namespace
}  // namespace tspemu
