#pragma once
// One chip's clock during a run (docs/clocks.md): the map between its PROGRAM cycles (what the
// engine counts, what the compiler scheduled) and global time.
//
// Program cycles advance with the chip's oscillator, except during a RUNTIME_DESKEW pause: the
// whole chip stops issuing and nothing in flight moves (program time stands still) while its
// oscillator runs on for t +- delta local cycles. The pause ends when the chip's HAC, which tracks
// TSP 0's within the alignment residual, reaches the time the program expects: the cycle after
// the RUNTIME_DESKEW at the reference time (program cycle + 1 + every pause's t so far), counted in
// TSP 0's cycles. A fast chip therefore pauses longer than t and a slow one shorter, and after the
// pause every chip is back at its aligned place whatever it drifted since the previous one. A chip
// late by more than t cannot wait a negative time: it pauses 0 and stays late (counted).
//
// Ideal clocks make the map the identity (period = nominal, origin 0): a RUNTIME_DESKEW then
// pauses exactly t cycles, and DESKEW releases at the next multiple of the HAC period.

#include <cstdint>

#include "clock/time_base.hpp"
#include "common/ids.hpp"

namespace tspemu {

class ChipClock {
 public:
  ChipClock() = default;
  // Reads `base` once (null: ideal clocks, nominal period 1); it need not outlive the clock.
  ChipClock(const TimeBase* base, TspId tsp, Cycle hac_period_cycles);

  [[nodiscard]] bool ideal() const { return ideal_; }
  // Global time at which program cycle `cycle` begins (cycles after the last pause).
  [[nodiscard]] GlobalTime global_of(Cycle cycle) const;
  // The first program cycle that begins at or after `time` (at or after the last pause).
  [[nodiscard]] Cycle first_cycle_at_or_after(GlobalTime time) const;

  // RUNTIME_DESKEW t issued at program cycle `cycle`: inserts the pause before cycle + 1 and
  // returns its length in local cycles.
  Cycle runtime_deskew(Cycle cycle, Cycle t);
  // DESKEW issued at program cycle `cycle`: the program cycle at which the next HAC overflow (or
  // this cycle, if it is one) is reached.
  [[nodiscard]] Cycle deskew_release(Cycle cycle) const;

  // The aligned HAC's epoch count at program cycle `cycle` (TSP 0's epochs since its program
  // start, shifted by this chip's residual; pauses included), and the SAC derived from it
  // (clock/hac.hpp kSacPeriodEpochs): the same on every chip at the same global time.
  [[nodiscard]] std::int64_t hac_epoch(Cycle cycle) const;
  [[nodiscard]] std::int64_t sac(Cycle cycle) const;

  [[nodiscard]] Cycle pause_cycles() const { return pause_cycles_; }  // local cycles
  [[nodiscard]] std::int64_t runtime_deskews() const { return runtime_deskews_; }
  [[nodiscard]] std::int64_t late_deskews() const { return late_deskews_; }
  // The largest |pause - t| so far: the drift a RUNTIME_DESKEW corrected, in local cycles.
  [[nodiscard]] Cycle max_correction_cycles() const { return max_correction_; }

  // Checkpoint/restart: the whole map with its pauses.
  template <class Archive>
  void serialize(Archive& archive) {
    archive(ideal_, period_, reference_, origin_, epoch_, anchor_cycle_, anchor_time_,
            pause_cycles_, nominal_pause_, runtime_deskews_, late_deskews_, max_correction_);
  }
  // After loading: the time base of construction (the same chip's periods and epoch).
  [[nodiscard]] bool same_time_base(const ChipClock& built) const {
    return ideal_ == built.ideal_ && period_ == built.period_ && reference_ == built.reference_ &&
           origin_ == built.origin_ && epoch_ == built.epoch_;
  }

 private:
  bool ideal_ = true;
  GlobalTime period_ = 1;     // this chip's cycle
  GlobalTime reference_ = 1;  // TSP 0's cycle: the HAC reference
  GlobalTime origin_ = 0;     // this chip's HAC residual (its program start)
  GlobalTime epoch_ = 256;    // one HAC epoch: the HAC period in TSP 0's cycles
  Cycle anchor_cycle_ = 0;    // the map is anchor_time_ + (cycle - anchor_cycle_) x period_
  GlobalTime anchor_time_ = 0;
  Cycle pause_cycles_ = 0;
  Cycle nominal_pause_ = 0;
  std::int64_t runtime_deskews_ = 0;
  std::int64_t late_deskews_ = 0;
  Cycle max_correction_ = 0;
};

}  // namespace tspemu
