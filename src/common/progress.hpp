#pragma once
// Progress lines for long commands (a 10,440-TSP compile takes half a minute): what the command is
// doing, on stderr, at most one line per interval, so a user sees it working and where it is.
// Wall-clock time decides only WHEN a line is printed: nothing here reaches a result, a report or
// a digest.
//
//   tspemu: compile: 12.4 s: lowering op 3 of 20 (matmul 'partial')

#include <chrono>
#include <cstdio>
#include <functional>
#include <string>
#include <string_view>

namespace tspemu {

// Where a library reports its phases; empty: nobody listens. The text is built only if someone
// listens (the callable receives a function that builds it).
using ProgressSink = std::function<void(const std::function<std::string()>& describe)>;

class ProgressPrinter {
 public:
  // `command` names the lines ("compile"); `out` is usually stderr.
  ProgressPrinter(std::string command, std::FILE* out, double interval_seconds = 1.0);

  // Prints "tspemu: <command>: <elapsed> s: <describe()>" if the last line is at least an
  // interval old (the first call always prints).
  void report(const std::function<std::string()>& describe);
  // The same, whatever the time since the last line (phase changes that matter).
  void report_now(std::string_view text);

  [[nodiscard]] ProgressSink sink();

 private:
  using Clock = std::chrono::steady_clock;
  std::string command_;
  std::FILE* out_;
  double interval_seconds_;
  Clock::time_point start_;
  Clock::time_point last_;
  bool printed_ = false;
};

// True if `file` is a terminal (progress is on by default only then).
[[nodiscard]] bool is_terminal(std::FILE* file);

}  // namespace tspemu
