#include "common/error.hpp"

#include <fmt/format.h>

#include <cstdio>
#include <new>

#include "common/memory_budget.hpp"

namespace tspemu {

std::string SourceLocation::to_string() const {
  if (line <= 0) return file;
  if (column <= 0) return fmt::format("{}:{}", file.empty() ? "<input>" : file, line);
  return fmt::format("{}:{}:{}", file.empty() ? "<input>" : file, line, column);
}

Error::Error(ErrorKind kind, std::string message, ErrorContext context)
    : std::runtime_error(render(message, context)),
      kind_(kind),
      message_(std::move(message)),
      context_(std::move(context)) {}

int Error::exit_code() const noexcept {
  return kind_ == ErrorKind::input ? kExitInputError : kExitRuntimeError;
}

std::string Error::render(std::string_view message, const ErrorContext& context) {
  std::string out;
  if (context.where && context.where->known()) out += context.where->to_string() + ": ";
  if (context.key) out += *context.key + ": ";
  out += message;
  std::string emulation;
  auto add = [&emulation](const std::string& part) {
    if (!emulation.empty()) emulation += ", ";
    emulation += part;
  };
  if (context.tsp) add(fmt::format("tsp {}", *context.tsp));
  if (context.cycle) add(fmt::format("cycle {}", *context.cycle));
  if (context.queue) add(fmt::format("queue {}", *context.queue));
  if (context.instruction) {
    emulation += emulation.empty() ? "" : ": ";
    emulation += fmt::format("`{}`", *context.instruction);
  }
  if (!emulation.empty()) out += " (" + emulation + ")";
  return out;
}

namespace detail {
void assertion_failed(const char* condition, const char* file, int line, std::string_view message) {
  throw Error(
      ErrorKind::internal,
      fmt::format("internal error: assertion `{}` failed at {}:{}: {} (this is a tspemu bug)",
                  condition, file, line, message));
}
}  // namespace detail

ErrorReport report_exception(const std::exception& error) {
  if (const auto* e = dynamic_cast<const Error*>(&error)) return {e->exit_code(), e->what()};
  if (dynamic_cast<const std::bad_alloc*>(&error) != nullptr) {
    return {kExitRuntimeError, out_of_memory_message()};
  }
  return {kExitRuntimeError,
          fmt::format("internal error: {} (this is a tspemu bug)", error.what())};
}

void write_error_line(std::string_view text, int rank) noexcept {
  if (rank >= 0) {
    std::fprintf(stderr, "tspemu: error: [rank %d] %.*s\n", rank, static_cast<int>(text.size()),
                 text.data());
  } else {
    std::fprintf(stderr, "tspemu: error: %.*s\n", static_cast<int>(text.size()), text.data());
  }
  std::fflush(stderr);
}

}  // namespace tspemu
