#include "clock/hac_sync.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "common/error.hpp"
#include "common/mix64.hpp"

namespace tspemu {

__extension__ using I128 = __int128;
namespace {

// Echo samples use sequences [0, 2 x iterations): 2k forward, 2k + 1 back; the alignment's
// exchanges start above them.
constexpr std::uint64_t kAlignmentSequenceBase = std::uint64_t{1} << 40;

LinkLatencyEstimate estimate_link(const Link& link, TspId a, TspId b, std::int64_t iterations,
                                  const ProtocolDelay& delay) {
  LinkLatencyEstimate e{.link = link.id, .a = a, .b = b, .iterations = iterations};
  // Sums of integers (round trips) stay exact; the statistics are computed once at the end.
  std::int64_t sum = 0;
  I128 sum_sq = 0;
  std::int64_t lo = std::numeric_limits<std::int64_t>::max();
  std::int64_t hi = std::numeric_limits<std::int64_t>::min();
  for (std::int64_t k = 0; k < iterations; ++k) {
    const auto s = static_cast<std::uint64_t>(k);
    const std::int64_t round_trip = delay(link.id, a, 2 * s) + delay(link.id, b, 2 * s + 1);
    sum += round_trip;
    sum_sq += static_cast<I128>(round_trip) * round_trip;
    lo = std::min(lo, round_trip);
    hi = std::max(hi, round_trip);
  }
  const double n = static_cast<double>(iterations);
  const double mean_rt = static_cast<double>(sum) / n;
  const double var_rt = static_cast<double>(sum_sq) / n - mean_rt * mean_rt;
  e.min_cycles = static_cast<double>(lo) / 2;
  e.max_cycles = static_cast<double>(hi) / 2;
  e.mean_cycles = mean_rt / 2;
  e.std_cycles = std::sqrt(std::max(0.0, var_rt)) / 2;
  e.estimate_cycles = (sum + iterations) / (2 * iterations);  // round(sum / 2n), sum > 0
  return e;
}

// x mod m in [-m/2, m/2).
std::int64_t wrap(std::int64_t x, std::int64_t m) {
  std::int64_t r = ((x % m) + m) % m;
  return r >= m / 2 ? r - m : r;
}

}  // namespace

HacSyncResult emulate_hac_sync(const Topology& topology, const TimeBase& time_base,
                               const ProtocolDelay& delay) {
  HacSyncResult r;
  r.tree = breadth_first_tree(topology, TspId{0});
  const auto n = topology.tsp_count();
  const ClockParams& clock = topology.clock();
  const Cycle period = topology.chip().hac_period_cycles;

  // 1. Echo on every link. Tree links are echoed by the parent (it is the child that uses the
  // estimate, but the latency is the link's); other links by their lower-numbered end.
  std::vector<Cycle> estimate_by_link(topology.link_count(), 0);
  for (const Link& link : topology.links()) {
    TspId a = link.a.tsp;
    TspId b = link.b.tsp;
    if (r.tree.parent[a.index()] == b.value && r.tree.parent_link[a.index()] == link.id.value) {
      std::swap(a, b);
    } else if (r.tree.parent[b.index()] != a.value && b.value < a.value) {
      std::swap(a, b);
    }
    r.links.push_back(estimate_link(link, a, b, clock.echo_iterations, delay));
    estimate_by_link[link.id.index()] = r.links.back().estimate_cycles;
  }

  // 2. Parent/child alignment, level by level in breadth-first order.
  r.ppm.assign(n, 0.0);
  r.exchanges.assign(n, 0);
  r.initial_error_cycles.assign(n, 0);
  r.residual_as.assign(n, 0);
  r.residual_cycles.assign(n, 0.0);
  for (std::size_t t = 0; t < n; ++t) r.ppm[t] = time_base.ppm(TspId(static_cast<std::int32_t>(t)));
  const GlobalTime reference = time_base.period_as(TspId{0});
  const GlobalTime epoch_as = checked_time(period, reference, 0);
  std::vector<std::int64_t> level_max(static_cast<std::size_t>(r.tree.height) + 1, 0);
  for (const TspId child : r.tree.order) {
    const auto c = child.index();
    if (r.tree.parent[c] < 0) continue;
    const TspId parent(r.tree.parent[c]);
    const LinkId link(r.tree.parent_link[c]);
    const GlobalTime child_period = time_base.period_as(child);
    const GlobalTime child_epoch = checked_time(period, child_period, 0);
    const Cycle estimate = estimate_by_link[link.index()] % period;  // the HAC sees it mod P
    // Power-on: the child's epoch boundaries lie at phase + k x child_epoch, phase drawn from
    // the clock seed anywhere in one epoch.
    const std::uint64_t draw =
        mix64(mix64(clock.seed ^ 0x6861632D70686173ULL) + static_cast<std::uint64_t>(child.value));
    GlobalTime phase = static_cast<GlobalTime>(draw % static_cast<std::uint64_t>(child_epoch));
    const GlobalTime parent_origin = r.residual_as[parent.index()];
    std::int64_t exchanges = 0;
    bool first = true;
    // A block of exchanges, then a correction; bounded so that a pathological configuration
    // (a step too small for the drift) ends with an error instead of spinning.
    constexpr std::int64_t kMaxBlocks = 1 << 20;
    bool converged = false;
    for (std::int64_t block = 0; block < kMaxBlocks && !converged; ++block) {
      std::int64_t error_sum = 0;
      for (std::int64_t i = 0; i < clock.alignment_block_exchanges; ++i, ++exchanges) {
        // The parent transmits its HAC (0) at its epoch boundary `exchanges`.
        const GlobalTime sent = checked_time(exchanges, epoch_as, parent_origin);
        const Cycle d =
            delay(link, parent, kAlignmentSequenceBase + static_cast<std::uint64_t>(exchanges));
        const GlobalTime arrived = sent + time_base.flight_as(d);
        // The child's HAC at the arrival: whole child cycles since its last boundary.
        const GlobalTime since = arrived - phase;
        const std::int64_t hac = ((since % child_epoch) + child_epoch) % child_epoch / child_period;
        const std::int64_t error = wrap(hac - estimate, period);
        if (first) {
          r.initial_error_cycles[c] = error;
          first = false;
        }
        error_sum += error;
      }
      const auto blocks = static_cast<double>(clock.alignment_block_exchanges);
      const auto mean =
          static_cast<std::int64_t>(std::llround(static_cast<double>(error_sum) / blocks));
      if (mean == 0) {
        converged = true;
        break;
      }
      // The HAC reads `mean` cycles too much: its boundaries must come that much later.
      const std::int64_t step =
          std::clamp<std::int64_t>(mean, -clock.alignment_step_cycles, clock.alignment_step_cycles);
      phase += checked_time(step, child_period, 0);
    }
    if (!converged) {
      throw RuntimeError(
          fmt::format("the HAC of TSP {} did not converge to its parent TSP {} in {} "
                      "exchanges ([clock] alignment_step_cycles too small?)",
                      child.value, parent.value, exchanges));
    }
    r.exchanges[c] = exchanges;
    // Residual: the child's boundary nearest the parent's boundary `exchanges`, minus TSP 0's.
    const GlobalTime parent_boundary = checked_time(exchanges, epoch_as, parent_origin);
    const GlobalTime root_boundary = checked_time(exchanges, epoch_as, 0);
    const GlobalTime offset = parent_boundary - phase;
    const std::int64_t k = floor_div(offset + child_epoch / 2, child_epoch);
    const GlobalTime child_boundary = phase + k * child_epoch;
    r.residual_as[c] = child_boundary - root_boundary;
    r.residual_cycles[c] =
        static_cast<double>(r.residual_as[c]) / static_cast<double>(time_base.nominal_period_as());
    auto& lm = level_max[static_cast<std::size_t>(r.tree.depth[c])];
    lm = std::max(lm, exchanges);
    r.max_exchanges = std::max(r.max_exchanges, exchanges);
  }
  for (const std::int64_t m : level_max) r.rounds += m;
  const auto [lo, hi] = std::minmax_element(r.residual_cycles.begin(), r.residual_cycles.end());
  r.residual_spread_cycles = *hi - *lo;
  for (const double x : r.residual_cycles) {
    r.max_abs_residual_cycles = std::max(r.max_abs_residual_cycles, std::fabs(x));
  }
  return r;
}

}  // namespace tspemu
