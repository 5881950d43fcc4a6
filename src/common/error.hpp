#pragma once
// One error vocabulary for all of tspemu (docs/design.md section 8, STYLE.md habit 5).
//
// - tspemu::Error and its kinds carry a user-facing message plus the context that locates it: a
//   source position (file:line:column) and, for emulation errors, TSP, cycle, queue and
//   instruction.
// - InputError: malformed input (TOML, assembly, bundle, command line). Exit code 2.
// - ScheduleError: a program that is well formed but whose schedule is wrong (a stream read finding
//   nothing, a bank conflict, a late arrival). Exit code 1.
// - RuntimeError: anything else that stops a run (I/O failure, watchdog, rank mismatch). Exit
// code 1.
// - TSPEMU_ASSERT: internal invariants; a failure is a tspemu bug, never a user error.
//
// Library code throws; only the CLI's top level turns an Error into one line on stderr and an exit
// code (and, under MPI, ends the whole job).

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace tspemu {

enum class ErrorKind : std::uint8_t { input, schedule, runtime, internal };

// Exit codes of the tspemu executable, one per ErrorKind family.
inline constexpr int kExitOk = 0;
inline constexpr int kExitRuntimeError = 1;  // schedule, runtime and internal errors
inline constexpr int kExitInputError = 2;    // usage, configuration and malformed input
// Not an error: `tspemu run` stopped on SIGTERM or SIGUSR2 after writing a checkpoint
// (docs/checkpoint.md); `tspemu run --restart DIR` goes on from it.
inline constexpr int kExitStopped = 3;

// A position in a user's file. line/column are 1-based; 0 means "not known".
struct SourceLocation {
  std::string file;
  std::int64_t line = 0;
  std::int64_t column = 0;

  // "file:line:column", "file:line" or "file" depending on what is known; empty if nothing is.
  [[nodiscard]] std::string to_string() const;
  [[nodiscard]] bool known() const { return !file.empty() || line > 0; }
};

// Everything that can locate an error. All fields optional; to_string() prints the known ones.
struct ErrorContext {
  std::optional<SourceLocation> where;  // input position (or the source line of an instruction)
  std::optional<std::int64_t> tsp;
  std::optional<std::int64_t> cycle;
  std::optional<std::string> queue;        // e.g. "MEM_W12"
  std::optional<std::string> instruction;  // disassembled text of the instruction
  std::optional<std::string> key;          // configuration key, e.g. "link[3].latency_cycles"
};

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, std::string message, ErrorContext context = {});

  [[nodiscard]] ErrorKind kind() const noexcept { return kind_; }
  [[nodiscard]] const std::string& message() const noexcept { return message_; }
  [[nodiscard]] const ErrorContext& context() const noexcept { return context_; }
  [[nodiscard]] int exit_code() const noexcept;

  // what() is the full one-line rendering:
  //   "<file>:<line>:<col>: <key>: <message> (tsp 3, cycle 1200, queue MEM_W12: `READ ...`)"
  static std::string render(std::string_view message, const ErrorContext& context);

 private:
  ErrorKind kind_;
  std::string message_;
  ErrorContext context_;
};

class InputError : public Error {
 public:
  explicit InputError(std::string message, ErrorContext context = {})
      : Error(ErrorKind::input, std::move(message), std::move(context)) {}
  InputError(SourceLocation where, std::string message)
      : Error(ErrorKind::input, std::move(message), ErrorContext{.where = std::move(where)}) {}
};

class ScheduleError : public Error {
 public:
  explicit ScheduleError(std::string message, ErrorContext context = {})
      : Error(ErrorKind::schedule, std::move(message), std::move(context)) {}
};

class RuntimeError : public Error {
 public:
  explicit RuntimeError(std::string message, ErrorContext context = {})
      : Error(ErrorKind::runtime, std::move(message), std::move(context)) {}
};

// The one place that writes a fatal error's line on stderr and flushes it:
// "tspemu: error: <text>", or "tspemu: error: [rank R] <text>" when rank >= 0 (under MPI).
// Every command, transport and watchdog ends a job through it.
void write_error_line(std::string_view text, int rank = -1) noexcept;

// What a command reports for an exception that ends it: a tspemu::Error's message and exit code;
// std::bad_alloc as out of memory (common/memory_budget.hpp); anything else as an internal error
// ("... (this is a tspemu bug)"), exit code 1. The one mapping the cli, the run and abort_job use.
struct ErrorReport {
  int exit_code = 0;
  std::string message;
};
[[nodiscard]] ErrorReport report_exception(const std::exception& error);

namespace detail {
[[noreturn]] void assertion_failed(const char* condition, const char* file, int line,
                                   std::string_view message);
}  // namespace detail

}  // namespace tspemu

// Internal invariant. Always checked (the cost is negligible beside emulation work); a failure
// throws Error{internal} naming the condition and tspemu's source position.
#define TSPEMU_ASSERT(condition, message)                                            \
  do {                                                                               \
    if (!(condition)) [[unlikely]] {                                                 \
      ::tspemu::detail::assertion_failed(#condition, __FILE__, __LINE__, (message)); \
    }                                                                                \
  } while (false)
