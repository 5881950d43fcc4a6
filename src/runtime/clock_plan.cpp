#include "runtime/clock_plan.hpp"

#include <algorithm>
#include <cmath>

#include "runtime/driver.hpp"

namespace tspemu {

ClockPlan plan_clock(const Topology& topology) {
  ClockPlan plan;
  plan.time_base = TimeBase(topology);
  if (plan.time_base.ideal()) return plan;
  plan.sync = emulate_run_hac_sync(topology, plan.time_base);
  plan.time_base.set_origins(plan.sync->residual_as);

  const auto [lo, hi] = std::minmax_element(plan.sync->ppm.begin(), plan.sync->ppm.end());
  plan.ppm_spread_measured = *hi - *lo;
  double from_reference = 0;  // the largest |ppm_i - ppm_0|
  for (const double p : plan.sync->ppm) {
    from_reference = std::max(from_reference, std::fabs(p - plan.sync->ppm.front()));
  }
  const double residual = plan.sync->residual_spread_cycles;
  ClockSchedule& s = plan.schedule;
  if (plan.ppm_spread_measured <= 0) {
    s.receive_margin_cycles = static_cast<Cycle>(std::ceil(residual)) + 1;
    return plan;
  }
  const Cycle epoch = topology.chip().hac_period_cycles;
  const double cycles = kDriftBudgetCycles / (plan.ppm_spread_measured * 1e-6);
  s.deskew_period_cycles = std::max<Cycle>(epoch, static_cast<Cycle>(cycles) / epoch * epoch);
  s.deskew_t_cycles = static_cast<Cycle>(std::ceil(from_reference * 1e-6 *
                                                   static_cast<double>(s.deskew_period_cycles))) +
                      1;
  s.receive_margin_cycles = static_cast<Cycle>(std::ceil(residual + kDriftBudgetCycles)) + 1;
  return plan;
}

}  // namespace tspemu
