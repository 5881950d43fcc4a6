#pragma once
// A fresh directory for one test's files, removed when the test ends. CTest runs the tests of a
// binary as separate processes in parallel (`ctest -j`), so a fixed name under /tmp is shared by
// concurrent tests and one test's clean-up deletes another's files: every test gets its own
// (mkdtemp: unique even across processes).

#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <system_error>

namespace tspemu::testing {

class ScratchDir {
 public:
  // prefix: a readable part of the name ("tspemu_check_test").
  explicit ScratchDir(const std::string& prefix) {
    std::string pattern = (std::filesystem::temp_directory_path() / (prefix + ".XXXXXX")).string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      throw std::runtime_error("ScratchDir: mkdtemp failed for " + pattern);
    }
    path_ = pattern;
  }
  ~ScratchDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  [[nodiscard]] const std::filesystem::path& path() const { return path_; }
  [[nodiscard]] std::filesystem::path operator/(const std::string& name) const {
    return path_ / name;
  }

 private:
  std::filesystem::path path_;
};

}  // namespace tspemu::testing
