#pragma once
// The one place where a chip's cycles and global (emulated wall) time meet (docs/clocks.md).
//
// Ideal clocks (a topology without a [clock] table): every chip's cycle is the global cycle and
// nothing here is consulted. Drifting clocks: TSP i's oscillator runs at clock_mhz x (1 + ppm_i x
// 1e-6), ppm_i drawn once per TSP from the [clock] seed, so one cycle of TSP i lasts period_i
// attoseconds (an integer: 1,111,111,111 as at 900 MHz, 1 ppm is about 1,111 as). Global time is
// an integer count of attoseconds whose 0 is TSP 0's program start; TSP i's program starts at its
// origin (the residual skew of its HAC alignment). Every conversion is exact integer arithmetic,
// so it is the same on every rank, host and partition. Link latencies are counted in nominal
// cycles (clock_mhz), the unit the link model and Table 2 use.

#include <cstdint>
#include <vector>

#include "common/ids.hpp"
#include "topo/topology.hpp"

namespace tspemu {

// Attoseconds of global time; 2^63 as is 9.2 s of emulated time (8.3 x 10^9 cycles at 900 MHz).
using GlobalTime = std::int64_t;

class TimeBase {
 public:
  TimeBase() = default;  // ideal clocks
  // From the topology's [clock] table (ideal if it has none); origins all 0 until set.
  explicit TimeBase(const Topology& topology);

  [[nodiscard]] bool ideal() const { return ideal_; }
  [[nodiscard]] GlobalTime nominal_period_as() const { return nominal_period_as_; }
  [[nodiscard]] double ppm(TspId tsp) const { return ppm_.at(tsp.index()); }
  [[nodiscard]] GlobalTime period_as(TspId tsp) const { return period_as_.at(tsp.index()); }
  [[nodiscard]] GlobalTime origin_as(TspId tsp) const { return origin_as_.at(tsp.index()); }
  // The alignment's residual skews (clock/hac_sync.hpp), one per TSP.
  void set_origins(std::vector<GlobalTime> origins_as);

  // Nominal cycles (a link latency) as global time.
  [[nodiscard]] GlobalTime flight_as(Cycle nominal_cycles) const;
  // Global time at which `tsp` begins its local cycle `local` (counted from its program start).
  [[nodiscard]] GlobalTime to_global(TspId tsp, Cycle local) const;
  // The first local cycle of `tsp` that begins at or after `time` (a vector arriving mid-cycle is
  // seen at the next cycle edge).
  [[nodiscard]] Cycle first_local_at_or_after(TspId tsp, GlobalTime time) const;

  // The ppm offset TSP `tsp` draws from the clock seed: uniform over [-spread, spread].
  [[nodiscard]] static double draw_ppm(std::uint64_t seed, TspId tsp, double spread);

 private:
  bool ideal_ = true;
  GlobalTime nominal_period_as_ = 1'111'111'111;
  std::vector<double> ppm_;
  std::vector<GlobalTime> period_as_;
  std::vector<GlobalTime> origin_as_;
};

// a x b + c in attoseconds, or a RuntimeError naming what overflowed (programs longer than
// 9.2 s of emulated time on drifting clocks).
[[nodiscard]] GlobalTime checked_time(std::int64_t a, std::int64_t b, std::int64_t c);
// ceil(a / b) and floor(a / b) for b > 0, any sign of a.
[[nodiscard]] std::int64_t ceil_div(std::int64_t a, std::int64_t b);
[[nodiscard]] std::int64_t floor_div(std::int64_t a, std::int64_t b);

}  // namespace tspemu
