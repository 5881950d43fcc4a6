#include "common/progress.hpp"

#include <unistd.h>

#include <utility>

namespace tspemu {

ProgressPrinter::ProgressPrinter(std::string command, std::FILE* out, double interval_seconds)
    : command_(std::move(command)),
      out_(out),
      interval_seconds_(interval_seconds),
      start_(Clock::now()),
      last_(start_) {}

void ProgressPrinter::report(const std::function<std::string()>& describe) {
  const auto now = Clock::now();
  if (printed_ && std::chrono::duration<double>(now - last_).count() < interval_seconds_) return;
  report_now(describe());
}

void ProgressPrinter::report_now(std::string_view text) {
  const auto now = Clock::now();
  std::fprintf(out_, "tspemu: %s: %.1f s: %.*s\n", command_.c_str(),
               std::chrono::duration<double>(now - start_).count(), static_cast<int>(text.size()),
               text.data());
  std::fflush(out_);
  last_ = now;
  printed_ = true;
}

ProgressSink ProgressPrinter::sink() {
  return [this](const std::function<std::string()>& describe) { report(describe); };
}

bool is_terminal(std::FILE* file) {
  return file != nullptr && isatty(fileno(file)) == 1;
}

}  // namespace tspemu
