// Every assembler error, with its exact located message. The programs in programs/asm/errors/ each
// state their error in a `# expect-error: <line>:<column>: <message>` header; the CLI tests
// (tests/unit/isa/CMakeLists.txt) check the same text through `tspemu asm`.
#include "scratch_dir.hpp"
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "isa/assembler.hpp"

namespace tspemu {
namespace {

const std::filesystem::path kErrorDir =
    std::filesystem::path(TSPEMU_SOURCE_DIR) / "programs/asm/errors";

std::string error_of(std::string_view text, const std::string& file = "e.tsa",
                     const ChipShape& shape = {}) {
  try {
    (void)assemble(text, file, shape);
  } catch (const InputError& e) {
    return e.what();
  }
  return "(no error)";
}

std::string expected_header(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::string line;
  const std::string prefix = "# expect-error: ";
  while (std::getline(in, line)) {
    if (line.rfind(prefix, 0) == 0) return line.substr(prefix.size());
  }
  return {};
}

TEST(AssemblerErrors, EveryErrorProgramGivesItsExactMessage) {
  std::vector<std::filesystem::path> programs;
  for (const auto& entry : std::filesystem::directory_iterator(kErrorDir)) {
    if (entry.path().extension() == ".tsa") programs.push_back(entry.path());
  }
  std::sort(programs.begin(), programs.end());
  ASSERT_GE(programs.size(), 100U);
  for (const auto& path : programs) {
    const std::string expected = expected_header(path);
    ASSERT_FALSE(expected.empty()) << path << " has no # expect-error: header";
    std::string actual = "(no error)";
    try {
      (void)assemble_file(path);
    } catch (const InputError& e) {
      actual = e.what();
    }
    EXPECT_EQ(actual, path.string() + ":" + expected) << path;
  }
}

TEST(AssemblerErrors, MessagesThatCannotLiveInErrorPrograms) {
  // Quotes in these messages would not survive the CTest command line, so they are checked here.
  EXPECT_EQ(error_of(".data a dtype=i8 shape=[1,4] at=W0:0 init=file(x)\n"),
            "e.tsa:1:43: init=file needs one quoted path: init=file(\"weights.bin\")");
  EXPECT_EQ(error_of(".data a dtype=i8 shape=[1,4] at=W0:0 init=bytes(1)\n"),
            "e.tsa:1:43: init=bytes needs one quoted hex string: init=bytes(\"00ff...\")");
  EXPECT_EQ(error_of(".data a dtype=i8 shape=[1,4] at=W0:0 init=seeded\n"),
            "e.tsa:1:43: seeded needs arguments: seeded(seed=7, dist=uniform, lo=-8, hi=8)");
  const testing::ScratchDir dir("tspemu_isa_missing");
  const std::string file = (dir / "p.tsa").string();
  EXPECT_EQ(error_of(".data a dtype=i8 shape=[1,4] at=W0:0 init=file(\"nope.bin\")\n", file),
            file + ":1:48: cannot read file 'nope.bin' (" + (dir / "nope.bin").string() +
                "): No such file or directory");
}

TEST(AssemblerErrors, InlineCases) {
  EXPECT_EQ(
      error_of(".queue VXM0\n  ADD.i8 S0E, S1E, S2E\n  @1 ADD.i8 S0E, S1E, S2E\n  @1 NOP 1\n"),
      "e.tsa:4:3: issue cycle @1 is before the queue's next free cycle 2");
  EXPECT_EQ(error_of(".queue VXM0\n  ADD.i8.sat.sat S0E, S1E, S2E\n"),
            "e.tsa:2:3: '.sat' given twice");
  EXPECT_EQ(error_of(".queue VXM0\n  ADD.sat.i8 S0E, S1E, S2E\n"),
            "e.tsa:2:3: type suffix '.i8' after '.sat' (write ADD.<type>.sat)");
  EXPECT_EQ(error_of(".queue VXM0\n  CVT.i8.i16.i32 S0E, S4E\n"),
            "e.tsa:2:3: too many type suffixes on CVT");
  EXPECT_EQ(error_of(".queue VXM0\n  MOV.i8 S0E, S1E..S2E\n"),
            "e.tsa:2:15: operand 2 of MOV (a) must be one stream group such as S4E, got the range "
            "'S1E..S2E'");
  EXPECT_EQ(error_of(".queue VXM0\n  MOV.i8 S0E, S99999E\n"),
            "e.tsa:2:15: operand 2 of MOV (a) must be a stream such as S4E, ALU<k> or an "
            "#immediate, got 'S99999E'");
  EXPECT_EQ(error_of(".queue MEM_W0\n  READ 0, S200E\n"),
            "e.tsa:2:11: stream S200E out of range S0E..S31E");
  EXPECT_EQ(error_of(".queue MXM0.W\n  LW 0, S30W..S40W\n"),
            "e.tsa:2:9: stream S40W out of range S0W..S31W");
  EXPECT_EQ(error_of(".queue SXM_W0\n  SHIFT S0E, S1E, 1, #3\n"),
            "e.tsa:2:22: operand 4 of SHIFT (Smask) must be a stream such as S4E, got '#3'");
  EXPECT_EQ(error_of(".queue MXM0.A\n  ABC S0W, acc0, keep\n"),
            "e.tsa:2:18: operand 3 of ABC (clear) must be the keyword clear, got 'keep'");
  EXPECT_EQ(error_of(".queue VXM0\n  CONFIG lanes=3\n"),
            "e.tsa:2:10: operand 1 of CONFIG (superlanes=n) must be superlanes=<n>, got 'lanes=3'");
  EXPECT_EQ(error_of(".tsp\n"), "e.tsa:1:1: .tsp needs a TSP number, e.g. .tsp 0");
  EXPECT_EQ(error_of(".queue\n"), "e.tsa:1:1: .queue needs a queue name, e.g. .queue MEM_W0");
  EXPECT_EQ(error_of(".output\n"),
            "e.tsa:1:1: .output needs the names of .data or .region declarations");
  EXPECT_EQ(error_of("\x01"), "e.tsa:1:1: unexpected byte 0x01");
  // A chip shape the layer cannot work with is reported before anything else.
  ChipShape bad;
  bad.streams_per_direction = 30;
  EXPECT_EQ(error_of("", "e.tsa", bad),
            "chip shape: streams_per_direction = 30: must be a multiple of 4 in 4..124");
}

TEST(AssemblerErrors, MissingFile) {
  try {
    (void)assemble_file("/nonexistent/dir/x.tsa");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_STREQ(e.what(),
                 "/nonexistent/dir/x.tsa: cannot read assembly file: No such file or directory");
  }
}

}  // namespace
}  // namespace tspemu
