// Drifting clocks (docs/clocks.md): the time base, a chip's clock with RUNTIME_DESKEW pauses and
// DESKEW, the bell-shaped jitter, the [clock] table, and the HAC protocol's exact results for the
// shipped drifting topologies with the link model the runtime binds.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "clock/chip_clock.hpp"
#include "clock/hac_sync.hpp"
#include "clock/time_base.hpp"
#include "common/error.hpp"
#include "net/link_model.hpp"
#include "runtime/driver.hpp"
#include "topo/loader.hpp"

namespace tspemu {
namespace {

Topology machine(const std::string& stem) {
  return load_topology(std::string(TSPEMU_SOURCE_DIR) + "/topologies/" + stem + ".toml");
}

Topology pair_with_clock(const std::string& clock_table) {
  return load_topology_from_string(
      "[[tsp]]\nnode = 0\nrack = 0\n[[tsp]]\nnode = 0\nrack = 0\n[[link]]\na = { tsp = 0, port = "
      "0 }\nb = { tsp = 1, port = 0 }\nclass = \"local\"\n" +
          clock_table,
      "pair.toml");
}

TEST(ChipClock, IdealClocksPauseExactlyTAndDeskewToTheNextBoundary) {
  ChipClock clock(nullptr, TspId{0}, 256);
  EXPECT_TRUE(clock.ideal());
  EXPECT_EQ(clock.global_of(1234), 1234);
  EXPECT_EQ(clock.deskew_release(300), 512);
  EXPECT_EQ(clock.deskew_release(512), 512);  // on a boundary: no wait
  EXPECT_EQ(clock.runtime_deskew(999, 8), 8);
  // Program time stood still for 8 cycles: cycle 1000 begins at global 1008.
  EXPECT_EQ(clock.global_of(1000), 1008);
  EXPECT_EQ(clock.first_cycle_at_or_after(1008), 1000);
  EXPECT_EQ(clock.pause_cycles(), 8);
  EXPECT_EQ(clock.max_correction_cycles(), 0);
}

TEST(ChipClock, SacCountsSixteenEpochsAndSeesPauses) {
  ChipClock clock(nullptr, TspId{0}, 256);
  EXPECT_EQ(clock.hac_epoch(255), 0);
  EXPECT_EQ(clock.hac_epoch(256), 1);
  EXPECT_EQ(clock.sac(4095), 0);
  EXPECT_EQ(clock.sac(4096), 1);
  // A pause of 256 cycles is an epoch of the HAC that program cycles do not see.
  (void)clock.runtime_deskew(99, 256);
  EXPECT_EQ(clock.hac_epoch(100), 1);
  EXPECT_EQ(clock.sac(4096 - 256), 1);
}

TEST(ChipClock, AFastChipPausesLongerAndASlowOneShorter) {
  const Topology topology = pair_with_clock("[clock]\nppm_spread = 1000\nseed = 3\n");
  TimeBase base(topology);
  ASSERT_FALSE(base.ideal());
  const double p0 = base.ppm(TspId{0});
  const double p1 = base.ppm(TspId{1});
  ASSERT_NE(p0, p1);
  ChipClock c0(&base, TspId{0}, 256);
  ChipClock c1(&base, TspId{1}, 256);
  // After 100,000 cycles the chips are |p0 - p1| x 0.1 cycles apart; a pause of t = 200 brings the
  // program back to TSP 0's time: both resume cycle 100,000 at (almost) the same global time.
  const Cycle pause0 = c0.runtime_deskew(99'999, 200);
  const Cycle pause1 = c1.runtime_deskew(99'999, 200);
  EXPECT_EQ(pause0, 200);                                  // the reference itself
  const double drift_cycles = (p1 - p0) * 1e-6 * 100'000;  // TSP 1 faster: it waits longer
  EXPECT_NEAR(static_cast<double>(pause1 - pause0), drift_cycles, 1.0);
  const double gap = static_cast<double>(c1.global_of(100'000) - c0.global_of(100'000)) /
                     static_cast<double>(base.nominal_period_as());
  EXPECT_LT(std::fabs(gap), 1.0);
}

TEST(ChipClock, ALateChipCannotWaitANegativeTime) {
  const Topology topology = pair_with_clock("[clock]\nppm_spread = 1000\nseed = 3\n");
  TimeBase base(topology);
  // The slower of the two, late by ~0.1 % after 10^6 cycles, with t = 0: it pauses 0 and counts it.
  const TspId slow = base.ppm(TspId{0}) < base.ppm(TspId{1}) ? TspId{0} : TspId{1};
  if (slow.value == 0) GTEST_SKIP() << "TSP 0 is the reference: it is never late";
  ChipClock clock(&base, slow, 256);
  EXPECT_EQ(clock.runtime_deskew(1'000'000, 0), 0);
  EXPECT_EQ(clock.late_deskews(), 1);
}

TEST(TimeBase, PeriodsFollowThePpmOffsetsAndConversionsRoundTrip) {
  const Topology topology = pair_with_clock("[clock]\nppm_spread = 100\nseed = 9\n");
  const TimeBase base(topology);
  EXPECT_EQ(base.nominal_period_as(), 1'111'111'111);
  for (const TspId t : {TspId{0}, TspId{1}}) {
    EXPECT_LE(std::fabs(base.ppm(t)), 100.0);
    EXPECT_EQ(base.ppm(t), TimeBase::draw_ppm(9, t, 100.0));
    const double expected = 1e12 / (900.0 * (1 + base.ppm(t) * 1e-6));
    EXPECT_NEAR(static_cast<double>(base.period_as(t)), expected, 0.5);
    for (const Cycle c : {Cycle{0}, Cycle{1}, Cycle{123'456'789}}) {
      EXPECT_EQ(base.first_local_at_or_after(t, base.to_global(t, c)), c);
      EXPECT_EQ(base.first_local_at_or_after(t, base.to_global(t, c) + 1), c + 1);
    }
  }
  EXPECT_THROW((void)checked_time(Cycle{1} << 40, Cycle{1} << 30, 0), RuntimeError);
}

TEST(ClockTable, ValuesAndErrorsAreLocated) {
  const Topology t = pair_with_clock(
      "[clock]\nppm_spread = 25.5\nseed = 4\necho_iterations = 10\nalignment_step_cycles = 2\n");
  EXPECT_TRUE(t.clock().present);
  EXPECT_EQ(t.clock().ppm_spread, 25.5);
  EXPECT_EQ(t.clock().seed, 4U);
  EXPECT_EQ(t.clock().echo_iterations, 10);
  EXPECT_EQ(t.clock().alignment_step_cycles, 2);
  EXPECT_FALSE(pair_with_clock("").clock().present);
  // The clock is not part of the digest: one bundle runs on ideal and drifting clocks.
  EXPECT_EQ(t.digest(), pair_with_clock("").digest());
  try {
    (void)pair_with_clock("[clock]\nppm_spread = 2000\n");
    FAIL() << "accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("pair.toml:"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("ppm_spread"), std::string::npos) << e.what();
  }
  try {
    (void)pair_with_clock("[clock]\nppm = 20\n");
    FAIL() << "accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("unknown key 'ppm'"), std::string::npos) << e.what();
  }
}

TEST(LinkModel, BellShapedJitterStaysInRangeWithTheAskedSpread) {
  LinkModelParams p;
  p.jitter_std_cycles = 4.0;
  double sum = 0;
  double sum_sq = 0;
  Cycle lo = 100;
  Cycle hi = -100;
  constexpr int kDraws = 200'000;
  for (int s = 0; s < kDraws; ++s) {
    const Cycle j = jitter_cycles(p, 1, LinkId{0}, TspId{0}, static_cast<std::uint64_t>(s));
    sum += static_cast<double>(j);
    sum_sq += static_cast<double>(j * j);
    lo = std::min(lo, j);
    hi = std::max(hi, j);
  }
  EXPECT_EQ(lo, -8);  // clipped to the link's range 209..228 around 217
  EXPECT_EQ(hi, 11);
  const double mean = sum / kDraws;
  const double std = std::sqrt(sum_sq / kDraws - mean * mean);
  EXPECT_NEAR(mean, 0.1, 0.1);
  EXPECT_NEAR(std, 3.8, 0.2);  // 4 less what the clip at -8 (2 sigma) removes
  // The draws are a pure function of the key: the same again.
  EXPECT_EQ(jitter_cycles(p, 1, LinkId{3}, TspId{2}, 77),
            jitter_cycles(p, 1, LinkId{3}, TspId{2}, 77));
}

// The emulated ISCA'22 Table 2: the 7 links of TSP 0 in topologies/node-drift.toml, 100,000
// echoes each (published: min 209-211, mean 216.27-217.35, max 225-228, std 2.63-2.93).
TEST(HacSync, NodeDriftReproducesTable2) {
  const Topology node = machine("node-drift");
  TimeBase base(node);
  const HacSyncResult r = emulate_run_hac_sync(node, base);
  int links_of_0 = 0;
  for (const LinkLatencyEstimate& e : r.links) {
    if (e.a.value != 0) continue;
    ++links_of_0;
    EXPECT_EQ(e.iterations, 100'000);
    EXPECT_EQ(e.min_cycles, 209.0);
    EXPECT_GE(e.max_cycles, 227.0);
    EXPECT_LE(e.max_cycles, 228.0);
    EXPECT_NEAR(e.mean_cycles, 217.0, 0.1);
    EXPECT_NEAR(e.std_cycles, 2.78, 0.05);
    EXPECT_EQ(e.estimate_cycles, 217);
  }
  EXPECT_EQ(links_of_0, 7);
  // Every child converged to within two cycles of TSP 0 (one tree level: the HAC's whole-cycle
  // reading and the rounded estimate each leave up to about a cycle).
  EXPECT_NEAR(r.max_abs_residual_cycles, 1.658, 0.001);
  EXPECT_EQ(r.max_exchanges, 304);
  // A pure function of topology and seeds.
  const HacSyncResult again = emulate_run_hac_sync(node, base);
  EXPECT_EQ(again.residual_as, r.residual_as);
  EXPECT_EQ(again.exchanges, r.exchanges);
}

TEST(HacSync, RackConvergesWithExactIterationsAndResiduals) {
  const Topology rack = machine("rack-drift");
  TimeBase base(rack);
  const HacSyncResult r = emulate_run_hac_sync(rack, base);
  EXPECT_EQ(r.tree.height, 3);
  EXPECT_EQ(r.max_exchanges, 496);
  EXPECT_EQ(r.rounds, 1200);
  EXPECT_NEAR(r.max_abs_residual_cycles, 4.353, 0.001);
  EXPECT_NEAR(r.residual_spread_cycles, 6.410, 0.001);
  EXPECT_EQ(r.residual_as[0], 0);
}

}  // namespace
}  // namespace tspemu
