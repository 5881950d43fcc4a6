// common/input_file.hpp: bounded reads (issue 10, items 7 and 9).
#include "common/input_file.hpp"

#include "scratch_dir.hpp"
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

namespace tspemu {
namespace {

namespace fs = std::filesystem;

std::string error_of(const fs::path& path, std::uint64_t limit) {
  try {
    (void)read_input_file(path, limit, "topology file");
  } catch (const InputError& e) {
    return e.what();
  }
  return "no error";
}

TEST(InputFile, ReadsAWholeFile) {
  const testing::ScratchDir dir("tspemu_input_file");
  std::ofstream(dir / "t.toml") << "name = \"t\"\n";
  const CommandInputs command;
  EXPECT_EQ(read_input_file(dir / "t.toml", 1024, "topology file"), "name = \"t\"\n");
  EXPECT_TRUE(is_input_file(dir / "t.toml"));
  EXPECT_FALSE(is_input_file(dir / "other.toml"));
}

TEST(InputFile, DirectoryIsRefused) {
  // Was: `tspemu topo DIR` said "the topology has no TSPs".
  const testing::ScratchDir dir("tspemu_input_file");
  EXPECT_EQ(error_of(dir.path(), 1024),
            dir.path().string() + ": cannot read topology file: it is a directory");
}

TEST(InputFile, EndlessDeviceStopsAtTheLimit) {
  // Was: `tspemu topo /dev/zero` read until memory ran out.
  EXPECT_EQ(error_of("/dev/zero", 4096),
            "/dev/zero: cannot read topology file: it holds more than 4 KiB (the limit for a "
            "topology file)");
}

TEST(InputFile, LargeRegularFileIsRefusedFromItsSize) {
  const testing::ScratchDir dir("tspemu_input_file");
  {
    std::ofstream out(dir / "big.toml");
    out << std::string(5000, '#');
  }
  EXPECT_EQ(error_of(dir / "big.toml", 4096),
            (dir / "big.toml").string() +
                ": cannot read topology file: it holds more than 4 KiB (the limit for a topology "
                "file)");
  const InputBytes in = read_input_bytes(dir / "big.toml", 4096, "data file");
  EXPECT_TRUE(in.regular);
  EXPECT_EQ(in.size, 5000U);
  EXPECT_TRUE(in.bytes.empty());  // refused from the size, nothing read
}

TEST(InputFile, PipeIsReadToItsEnd) {
  const testing::ScratchDir dir("tspemu_input_file");
  const fs::path fifo = dir / "pipe";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  std::thread writer([&] { std::ofstream(fifo) << "abc"; });
  const InputBytes in = read_input_bytes(fifo, 2, "data file");
  writer.join();
  EXPECT_FALSE(in.regular);
  EXPECT_EQ(in.size, 3U);  // limit + 1: it kept going
  EXPECT_TRUE(in.exceeds(2));
}

TEST(InputFile, MissingFileKeepsTheReason) {
  try {
    (void)read_input_file("/nonexistent/x.toml", 10, "graph file");
    FAIL() << "no error";
  } catch (const InputFileError& e) {
    EXPECT_STREQ(e.what(),
                 "/nonexistent/x.toml: cannot read graph file: No such file or directory");
    EXPECT_EQ(e.reason(), "No such file or directory");
  }
}

}  // namespace
}  // namespace tspemu
