#include "common/atomic_file.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/error.hpp"

namespace tspemu {
namespace {

std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(AtomicFile, WritesAndReplacesWithoutLeavingTemporaries) {
  const auto dir = std::filesystem::temp_directory_path() / "tspemu_atomic_file_test";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  write_file_atomically(dir / "report.json", std::string_view("first"));
  write_file_atomically(dir / "report.json", std::string_view("second"));
  EXPECT_EQ(slurp(dir / "report.json"), "second");
  int entries = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir)) ++entries;
  EXPECT_EQ(entries, 1);
  std::filesystem::remove_all(dir);
}

TEST(AtomicFile, FailureNamesThePathAndLeavesNothing) {
  try {
    write_file_atomically("/nonexistent-dir/x/report.json", std::string_view("data"));
    FAIL() << "expected RuntimeError";
  } catch (const RuntimeError& e) {
    EXPECT_NE(std::string(e.what()).find("cannot write '/nonexistent-dir/x/report.json'"),
              std::string::npos);
  }
}

}  // namespace
}  // namespace tspemu
