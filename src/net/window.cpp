#include "net/window.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "common/error.hpp"

namespace tspemu {
namespace {

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  const std::int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

}  // namespace

Cycle window_cycles(Cycle hac_period_cycles, Cycle min_link_latency_cycles) {
  if (hac_period_cycles < 1) {
    throw InputError(
        fmt::format("HAC period of {} cycles: it must be at least 1 cycle", hac_period_cycles));
  }
  if (min_link_latency_cycles < 1) {
    throw InputError(fmt::format(
        "smallest link latency of {} cycles: the lockstep window protocol needs every link "
        "latency (latency_min_cycles) to be at least 1 cycle",
        min_link_latency_cycles));
  }
  for (Cycle w = std::min(hac_period_cycles, min_link_latency_cycles); w > 1; --w) {
    if (hac_period_cycles % w == 0) return w;
  }
  return 1;
}

WindowClock::WindowClock(Cycle window_cycles, Cycle hac_period_cycles)
    : window_cycles_(window_cycles), hac_period_cycles_(hac_period_cycles) {
  if (window_cycles < 1 || hac_period_cycles < 1 || hac_period_cycles % window_cycles != 0) {
    throw InputError(fmt::format(
        "window of {} cycles: it must be at least 1 cycle and divide the HAC period of {} cycles",
        window_cycles, hac_period_cycles));
  }
}

WindowIndex WindowClock::window_of(Cycle cycle) const {
  return floor_div(cycle, window_cycles_);
}

std::int64_t WindowClock::epoch_of(WindowIndex window) const {
  return floor_div(window, windows_per_epoch());
}

bool WindowClock::starts_epoch(WindowIndex window) const {
  return window - epoch_of(window) * windows_per_epoch() == 0;
}

bool WindowClock::ends_epoch_group(WindowIndex window, std::int64_t epochs) const {
  TSPEMU_ASSERT(epochs >= 1, "an agreement interval is at least one epoch");
  const std::int64_t group_windows = epochs * windows_per_epoch();
  return window - floor_div(window, group_windows) * group_windows == group_windows - 1;
}

}  // namespace tspemu
