#pragma once
// HAC and SAC: the per-chip counters of the ISCA'22 synchronisation scheme
// (docs/references.md 3.2).
//
// The HAC (hardware aligned counter) free-runs with a short period (256 cycles) and is aligned
// across chips; its overflow marks an *epoch boundary*. DESKEW stalls issue until the next
// overflow, and the emulator's lockstep windows are aligned to epochs (docs/design.md section 6).
// The SAC (software aligned counter) is a coarser counter that software resynchronises to the HAC
// on sync instructions.
//
// All functions take a chip's LOCAL cycle; conversions to and from global time live in
// clock/time_base.hpp only.

#include "common/error.hpp"
#include "common/ids.hpp"

namespace tspemu {

class HacCounter {
 public:
  // period_cycles: HAC period ([chip] hac_period_cycles, 256 by default); offset_cycles: the value
  // of the counter at local cycle 0 after alignment (0 on an ideally aligned machine).
  explicit HacCounter(Cycle period_cycles, Cycle offset_cycles = 0)
      : period_(period_cycles), offset_(offset_cycles) {
    TSPEMU_ASSERT(period_cycles > 0, "HAC period must be positive");
  }

  [[nodiscard]] Cycle period_cycles() const { return period_; }

  // Counter value at `local` (0 .. period-1).
  [[nodiscard]] Cycle value(Cycle local) const { return floor_mod(local + offset_, period_); }

  // Epoch index: how many overflows happened up to and including `local`.
  [[nodiscard]] Cycle epoch(Cycle local) const { return floor_div(local + offset_, period_); }

  // First epoch boundary (counter == 0) at or after `local`: where DESKEW issued at `local`
  // releases its queue. A DESKEW exactly on a boundary does not wait.
  [[nodiscard]] Cycle next_boundary(Cycle local) const {
    const Cycle v = value(local);
    return v == 0 ? local : local + (period_ - v);
  }

  // First boundary strictly after `local`.
  [[nodiscard]] Cycle boundary_after(Cycle local) const { return next_boundary(local + 1); }

 private:
  static Cycle floor_div(Cycle a, Cycle b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }
  static Cycle floor_mod(Cycle a, Cycle b) { return a - floor_div(a, b) * b; }

  Cycle period_;
  Cycle offset_;
};

// The SAC ticks once per `sac_divider` HAC epochs; software reads it to agree on coarse time
// (US10824188). Value at a local cycle on an aligned chip. The SAC instruction reads it with
// kSacPeriodEpochs (tspemu's choice: the published material gives no period).
inline constexpr Cycle kSacPeriodEpochs = 16;
[[nodiscard]] inline Cycle sac_value(const HacCounter& hac, Cycle local, Cycle sac_divider_epochs) {
  TSPEMU_ASSERT(sac_divider_epochs > 0, "SAC divider must be positive");
  const Cycle e = hac.epoch(local);
  return e >= 0 ? e / sac_divider_epochs : -((-e + sac_divider_epochs - 1) / sac_divider_epochs);
}

// Initial program alignment cost of the ISCA'22 scheme: each level of the spanning tree costs one
// transmit at an epoch boundary plus waiting for the first boundary after arrival, i.e.
// floor(L / period) + 1 epochs for a link of latency L; a tree of height h costs h times that.
// Returned in cycles (epochs x period).
[[nodiscard]] inline Cycle alignment_cost_cycles(Cycle max_link_latency_cycles, Cycle tree_height,
                                                 Cycle period_cycles) {
  TSPEMU_ASSERT(max_link_latency_cycles >= 0 && tree_height >= 0 && period_cycles > 0,
                "alignment cost needs non-negative latency and height");
  return (max_link_latency_cycles / period_cycles + 1) * tree_height * period_cycles;
}

}  // namespace tspemu
