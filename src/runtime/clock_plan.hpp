#pragma once
// What a machine's clocks ask of a run and of a compiled schedule (docs/clocks.md).
//
// On drifting clocks (a topology with a [clock] table) the HACs are aligned first: the echo and
// parent/child protocol of clock/hac_sync.hpp, with protocol messages drawn by the link model from
// the [clock] seed, so the result is a pure function of the topology that the compiler and every
// run compute alike. Each TSP's program then starts at its residual skew from TSP 0.
//
// The schedule a compile must keep (ClockSchedule) follows from that: with r the spread of the
// residuals (largest minus smallest, over all TSPs), d the spread of the oscillators (ppm, largest
// minus smallest) and a drift budget D = 2 cycles (tspemu's choice: one cycle of drift costs one
// cycle of latency per transfer, and each deskew costs about t cycles of wall time),
//   deskew period N = D / (d x 1e-6) cycles, rounded down to whole HAC epochs (at least one);
//   RUNTIME_DESKEW t = the largest drift of any TSP from TSP 0 over N cycles, rounded up, plus 1;
//   receive margin M = ceil(r + D) + 1 (the last cycle: an arrival is seen at the next cycle edge).
// Between two deskews any two TSPs then stay within r + D < M cycles of each other. Without drift
// (d = 0) no deskew is needed and M = ceil(r) + 1. Ideal clocks need nothing: all zero.

#include <optional>

#include "clock/hac_sync.hpp"
#include "clock/time_base.hpp"
#include "compiler/compile.hpp"
#include "topo/topology.hpp"

namespace tspemu {

inline constexpr double kDriftBudgetCycles = 2.0;

struct ClockPlan {
  TimeBase time_base;                 // origins set to the residuals (ideal: default)
  std::optional<HacSyncResult> sync;  // drifting clocks only
  ClockSchedule schedule;             // what compile_graph must keep
  double ppm_spread_measured = 0;     // d: largest minus smallest drawn ppm
};

// Throws InputError for a disconnected machine (the alignment's spanning tree).
[[nodiscard]] ClockPlan plan_clock(const Topology& topology);

}  // namespace tspemu
