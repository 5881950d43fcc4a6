#pragma once
// The machine's oscillators and the HAC alignment protocol's knobs: the topology's `[clock]`
// table (topologies/README.md; docs/clocks.md explains the model).
//
// Absent table: ideal clocks (every TSP's cycle is the global cycle), which is what every run did
// before drift was modelled. The table is not part of the topology digest: oscillators belong to
// the machine a program runs on, not to what it was compiled for, so one bundle runs on ideal and
// on drifting clocks (its receive margins decide whether it survives the drift).

#include <cstdint>

namespace tspemu {

struct ClockParams {
  bool present = false;  // a [clock] table was given (ideal clocks otherwise)
  // Each TSP's oscillator runs at clock_mhz x (1 + ppm x 1e-6), ppm drawn uniformly (seeded per
  // TSP) from [-ppm_spread, +ppm_spread]. Crystal oscillators are specified to tens of ppm.
  double ppm_spread = 0.0;
  std::uint64_t seed = 1;  // draws the ppm offsets and the HACs' power-on phases
  // HAC link latency estimation: echoes per link direction (ISCA'22 Table 2 used 100,000).
  std::int64_t echo_iterations = 1000;
  // Parent/child HAC alignment: the child averages its error over this many exchanges (one per
  // epoch) and then corrects its HAC by at most alignment_step_cycles (rate limited).
  std::int64_t alignment_block_exchanges = 16;
  std::int64_t alignment_step_cycles = 8;

  friend bool operator==(const ClockParams&, const ClockParams&) = default;
};

// Limits the loader enforces.
inline constexpr double kMaxPpmSpread = 1000.0;  // 0.1 %: far beyond any crystal
inline constexpr std::int64_t kMaxEchoIterations = 10'000'000;

}  // namespace tspemu
