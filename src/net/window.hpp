#pragma once
// Lockstep windows (docs/design.md section 6). Emulated time advances in windows of W cycles: every
// TSP finishes window w before any vector sent during window w is delivered, so W must never exceed
// the shortest time a vector can spend on any link, and W divides the HAC period so that epoch
// boundaries (where DESKEW, RUNTIME_DESKEW and HAC exchanges act) are window boundaries.
//
// Window w covers cycles [w * W, (w + 1) * W). Cycle 0 starts window 0 and epoch 0. Negative cycles
// (before the program starts) belong to negative windows (floor division).

#include <cstdint>

#include "common/ids.hpp"

namespace tspemu {

// Index of a lockstep window, 0-based from cycle 0.
using WindowIndex = std::int64_t;

// The window length in cycles: the largest divisor of `hac_period_cycles` that is at most
// `min_link_latency_cycles`.
//
// Pass the smallest latency a vector can ever see, i.e. the minimum over all links of
// latency_min_cycles (the latency with the most negative jitter), NOT the nominal/mean latency: a
// vector sent at the first cycle of window w arrives at w * W + latency_min at the earliest and
// must not be due inside window w, so W <= latency_min. With the ISCA'22 Table 2 intra-node links
// (min 209, mean 217, max 228) and a 256-cycle HAC period both give 128, but a link with mean 130
// and minimum 120 would give 128 from the mean, which breaks the protocol; the minimum gives 64.
//
// Throws InputError if hac_period_cycles < 1 or min_link_latency_cycles < 1. A network without
// links has no latency bound: pass the HAC period itself (the result is then the whole period).
[[nodiscard]] Cycle window_cycles(Cycle hac_period_cycles, Cycle min_link_latency_cycles);

// Index math for windows of a fixed length inside HAC epochs. A value type; cheap to copy.
class WindowClock {
 public:
  // Throws InputError unless window_cycles >= 1 and divides hac_period_cycles.
  WindowClock(Cycle window_cycles, Cycle hac_period_cycles);

  [[nodiscard]] Cycle window_cycles() const { return window_cycles_; }
  [[nodiscard]] Cycle hac_period_cycles() const { return hac_period_cycles_; }
  [[nodiscard]] std::int64_t windows_per_epoch() const {
    return hac_period_cycles_ / window_cycles_;
  }

  // The window containing `cycle` (floor division, so cycle -1 is in window -1).
  [[nodiscard]] WindowIndex window_of(Cycle cycle) const;
  // First cycle of window w, and one past its last cycle.
  [[nodiscard]] Cycle begin(WindowIndex window) const { return window * window_cycles_; }
  [[nodiscard]] Cycle end(WindowIndex window) const { return (window + 1) * window_cycles_; }

  // The HAC epoch containing window w, and whether w is the first window of its epoch.
  [[nodiscard]] std::int64_t epoch_of(WindowIndex window) const;
  [[nodiscard]] bool starts_epoch(WindowIndex window) const;
  // True for the last window of every `epochs`-th epoch (epochs >= 1): the windows after whose
  // exchange a run that agrees "every K epochs" calls Transport::agree.
  [[nodiscard]] bool ends_epoch_group(WindowIndex window, std::int64_t epochs) const;

  friend bool operator==(const WindowClock&, const WindowClock&) = default;

 private:
  Cycle window_cycles_;
  Cycle hac_period_cycles_;
};

}  // namespace tspemu
