#include "clock/time_base.hpp"

#include <fmt/format.h>

#include <cmath>
#include <limits>

#include "common/error.hpp"
#include "common/mix64.hpp"

namespace tspemu {

__extension__ using I128 = __int128;
GlobalTime checked_time(std::int64_t a, std::int64_t b, std::int64_t c) {
  const I128 v = static_cast<I128>(a) * b + c;
  if (v > std::numeric_limits<std::int64_t>::max() ||
      v < std::numeric_limits<std::int64_t>::min()) {
    throw RuntimeError(
        fmt::format("global time overflows at {} x {} as: drifting clocks count attoseconds in 64 "
                    "bits, 9.2 s of emulated time",
                    a, b));
  }
  return static_cast<GlobalTime>(v);
}

std::int64_t ceil_div(std::int64_t a, std::int64_t b) {
  TSPEMU_ASSERT(b > 0, "ceil_div needs a positive divisor");
  return a >= 0 ? (a + b - 1) / b : -((-a) / b);
}

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  TSPEMU_ASSERT(b > 0, "floor_div needs a positive divisor");
  return a >= 0 ? a / b : -((-a + b - 1) / b);
}

double TimeBase::draw_ppm(std::uint64_t seed, TspId tsp, double spread) {
  const std::uint64_t r =
      mix64(mix64(seed ^ 0x636C6F636B707069ULL) + static_cast<std::uint64_t>(tsp.value));
  const double u = static_cast<double>(r >> 11) / 9007199254740992.0;  // [0, 1)
  return spread * (2.0 * u - 1.0);
}

TimeBase::TimeBase(const Topology& topology) {
  const auto n = topology.tsp_count();
  nominal_period_as_ = std::llround(1e12 / topology.chip().clock_mhz);
  ideal_ = !topology.clock().present;
  ppm_.assign(n, 0.0);
  period_as_.assign(n, nominal_period_as_);
  origin_as_.assign(n, 0);
  if (ideal_) return;
  for (std::size_t i = 0; i < n; ++i) {
    const TspId tsp(static_cast<std::int32_t>(i));
    ppm_[i] = draw_ppm(topology.clock().seed, tsp, topology.clock().ppm_spread);
    // A faster oscillator has a shorter cycle.
    period_as_[i] = std::llround(1e12 / (topology.chip().clock_mhz * (1.0 + ppm_[i] * 1e-6)));
  }
}

void TimeBase::set_origins(std::vector<GlobalTime> origins_as) {
  TSPEMU_ASSERT(origins_as.size() == period_as_.size(), "one origin per TSP");
  origin_as_ = std::move(origins_as);
}

GlobalTime TimeBase::flight_as(Cycle nominal_cycles) const {
  return checked_time(nominal_cycles, nominal_period_as_, 0);
}

GlobalTime TimeBase::to_global(TspId tsp, Cycle local) const {
  return checked_time(local, period_as(tsp), origin_as(tsp));
}

Cycle TimeBase::first_local_at_or_after(TspId tsp, GlobalTime time) const {
  return ceil_div(time - origin_as(tsp), period_as(tsp));
}

}  // namespace tspemu
