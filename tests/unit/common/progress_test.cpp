// Progress lines (common/progress.hpp): the first report prints, later ones wait for the interval,
// report_now always prints, and a suppressed line is never even built.
#include "common/progress.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <regex>
#include <string>

namespace tspemu {
namespace {

class Captured {
 public:
  Captured() : file_(open_memstream(&buffer_, &size_)) {}
  ~Captured() {
    std::fclose(file_);
    std::free(buffer_);
  }
  Captured(const Captured&) = delete;
  Captured& operator=(const Captured&) = delete;
  [[nodiscard]] std::FILE* file() const { return file_; }
  [[nodiscard]] std::string text() {
    std::fflush(file_);
    return std::string(buffer_, size_);
  }

 private:
  char* buffer_ = nullptr;
  std::size_t size_ = 0;
  std::FILE* file_;
};

TEST(Progress, FirstReportPrintsThenTheIntervalThrottles) {
  Captured out;
  ProgressPrinter printer("compile", out.file(), 3600.0);
  int built = 0;
  printer.report([&] {
    ++built;
    return std::string("lowering op 1 of 2: matmul 'a'");
  });
  printer.report([&] {
    ++built;
    return std::string("lowering op 2 of 2: add 'b'");
  });
  EXPECT_EQ(built, 1);  // the second line was suppressed before it was built
  printer.report_now("verifying");
  const std::string text = out.text();
  EXPECT_TRUE(std::regex_match(text, std::regex("tspemu: compile: [0-9]+\\.[0-9] s: lowering op 1 "
                                                "of 2: matmul 'a'\n"
                                                "tspemu: compile: [0-9]+\\.[0-9] s: verifying\n")))
      << text;
}

TEST(Progress, ASinkForwardsToThePrinter) {
  Captured out;
  ProgressPrinter printer("run", out.file(), 0.0);
  const ProgressSink sink = printer.sink();
  sink([] { return std::string("window 1"); });
  sink([] { return std::string("window 2"); });
  EXPECT_TRUE(std::regex_match(out.text(), std::regex("tspemu: run: [0-9.]+ s: window 1\n"
                                                      "tspemu: run: [0-9.]+ s: window 2\n")));
}

}  // namespace
}  // namespace tspemu
