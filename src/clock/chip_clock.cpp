#include "clock/chip_clock.hpp"

#include <algorithm>

#include "clock/hac.hpp"
#include "common/error.hpp"

namespace tspemu {

ChipClock::ChipClock(const TimeBase* base, TspId tsp, Cycle hac_period_cycles)
    : ideal_(base == nullptr || base->ideal()) {
  TSPEMU_ASSERT(hac_period_cycles > 0, "HAC period must be positive");
  if (!ideal_) {
    period_ = base->period_as(tsp);
    reference_ = base->period_as(TspId{0});
    origin_ = base->origin_as(tsp);
    anchor_time_ = origin_;
  }
  epoch_ = checked_time(hac_period_cycles, reference_, 0);
}

GlobalTime ChipClock::global_of(Cycle cycle) const {
  return checked_time(cycle - anchor_cycle_, period_, anchor_time_);
}

Cycle ChipClock::first_cycle_at_or_after(GlobalTime time) const {
  return anchor_cycle_ + ceil_div(time - anchor_time_, period_);
}

Cycle ChipClock::runtime_deskew(Cycle cycle, Cycle t) {
  ++runtime_deskews_;
  const GlobalTime now = global_of(cycle + 1);
  // Where the HAC says the program should resume: cycle + 1 plus every pause so far, in the
  // reference's cycles, shifted by this chip's residual.
  const GlobalTime expected = checked_time(cycle + 1 + nominal_pause_ + t, reference_, origin_);
  Cycle pause = 0;
  if (expected > now) {
    pause = ceil_div(expected - now, period_);
  } else if (expected < now) {
    ++late_deskews_;
  }
  max_correction_ = std::max(max_correction_, pause > t ? pause - t : t - pause);
  anchor_cycle_ = cycle + 1;
  anchor_time_ = checked_time(pause, period_, now);
  pause_cycles_ += pause;
  nominal_pause_ += t;
  return pause;
}

std::int64_t ChipClock::hac_epoch(Cycle cycle) const {
  return floor_div(global_of(cycle) - origin_, epoch_);
}

std::int64_t ChipClock::sac(Cycle cycle) const {
  return floor_div(hac_epoch(cycle), kSacPeriodEpochs);
}

Cycle ChipClock::deskew_release(Cycle cycle) const {
  // HAC boundaries lie at k x period x reference + origin: TSP 0's epochs, shifted by the residual.
  const std::int64_t k = ceil_div(global_of(cycle) - origin_, epoch_);
  const GlobalTime boundary = checked_time(k, epoch_, origin_);
  return std::max(cycle, first_cycle_at_or_after(boundary));
}

}  // namespace tspemu
