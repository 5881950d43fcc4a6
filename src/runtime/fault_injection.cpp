#include "runtime/fault_injection.hpp"

#include <fmt/format.h>
#include <signal.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdlib>
#include <utility>

#include "common/error.hpp"

namespace tspemu {
namespace {

constexpr std::string_view kVariable = "TSPEMU_INJECT_FAULT";

constexpr std::array<std::pair<std::string_view, FaultPhase>, 7> kPhases{{
    {"init", FaultPhase::init},
    {"setup", FaultPhase::setup},
    {"bind", FaultPhase::bind},
    {"run", FaultPhase::run},
    {"gather", FaultPhase::gather},
    {"result", FaultPhase::result},
    {"finalize", FaultPhase::finalize},
}};

[[noreturn]] void malformed(std::string_view text) {
  throw InputError(fmt::format(
      "{}='{}': expected ACTION@PHASE:RANK with ACTION stop or kill and PHASE one of init, setup, "
      "bind, run, gather, result, finalize or a window number (e.g. stop@setup:3, kill@12:1), "
      "term, usr1 or usr2 at a window number (e.g. term@12:0), or corrupt@WINDOW:RANK (e.g. "
      "corrupt@2:1)",
      kVariable, text));
}

// A whole decimal integer (nothing before or after it, not empty).
template <class T>
bool parse_whole(std::string_view text, T& out) {
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return !text.empty() && ec == std::errc{} && end == text.data() + text.size();
}

std::optional<int> launcher_rank() {
  for (const char* name : {"OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK"}) {
    const char* value = std::getenv(name);
    if (value == nullptr) continue;
    int rank = 0;
    if (parse_whole(value, rank)) return rank;
  }
  return std::nullopt;
}

// The signal a stop, kill or signal action sends the process itself.
int signal_of(FaultAction action) {
  switch (action) {
    case FaultAction::stop:
      return SIGSTOP;
    case FaultAction::term:
      return SIGTERM;
    case FaultAction::usr1:
      return SIGUSR1;
    case FaultAction::usr2:
      return SIGUSR2;
    default:
      return SIGKILL;
  }
}

}  // namespace

std::optional<InjectedFault> parse_injected_fault(std::string_view text) {
  if (text.empty()) return std::nullopt;
  const auto at = text.find('@');
  const auto colon = text.rfind(':');
  if (at == std::string_view::npos || colon == std::string_view::npos || colon < at) {
    malformed(text);
  }
  InjectedFault fault;
  const std::string_view action = text.substr(0, at);
  const std::string_view where = text.substr(at + 1, colon - at - 1);
  if (action == "corrupt") {
    fault.action = FaultAction::corrupt;
    if (!parse_whole(where, fault.window) || fault.window < 0) malformed(text);
  } else {
    constexpr std::array<std::pair<std::string_view, FaultAction>, 5> kActions{{
        {"stop", FaultAction::stop},
        {"kill", FaultAction::kill},
        {"term", FaultAction::term},
        {"usr1", FaultAction::usr1},
        {"usr2", FaultAction::usr2},
    }};
    const auto known = std::find_if(kActions.begin(), kActions.end(),
                                    [&](const auto& a) { return a.first == action; });
    if (known == kActions.end()) malformed(text);
    fault.action = known->second;
    const auto phase = std::find_if(kPhases.begin(), kPhases.end(),
                                    [&](const auto& p) { return p.first == where; });
    if (phase != kPhases.end()) {
      fault.phase = phase->second;
    } else if (parse_whole(where, fault.window) && fault.window >= 0) {
      fault.phase = FaultPhase::window;
    } else {
      malformed(text);
    }
    const bool signal = fault.action != FaultAction::stop && fault.action != FaultAction::kill;
    if (signal && fault.phase != FaultPhase::window) malformed(text);
  }
  if (!parse_whole(text.substr(colon + 1), fault.rank) || fault.rank < 0) malformed(text);
  return fault;
}

std::optional<InjectedFault> injected_fault_from_environment() {
  const char* value = std::getenv(std::string(kVariable).c_str());
  return value == nullptr ? std::nullopt : parse_injected_fault(value);
}

std::optional<std::int64_t> corrupt_window_of_this_rank(const std::optional<InjectedFault>& fault) {
  if (!fault || fault->action != FaultAction::corrupt || launcher_rank() != fault->rank) {
    return std::nullopt;
  }
  return fault->window;
}

std::function<void(std::int64_t)> window_fault_hook(const std::optional<InjectedFault>& fault) {
  // Window faults act in --local runs too, as rank 0.
  if (!fault || fault->phase != FaultPhase::window || launcher_rank().value_or(0) != fault->rank) {
    return {};
  }
  return [signal = signal_of(fault->action), first = fault->window,
          done = false](std::int64_t window) mutable {
    if (done || window < first) return;
    done = true;
    ::raise(signal);
  };
}

void reach_fault_point(const std::optional<InjectedFault>& fault, FaultPhase phase) {
  if (!fault || fault->action == FaultAction::corrupt || fault->phase != phase ||
      launcher_rank() != fault->rank) {
    return;
  }
  ::raise(signal_of(fault->action));
}

}  // namespace tspemu
