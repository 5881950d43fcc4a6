#pragma once
// The HAC synchronisation protocol on drifting clocks (ISCA'22 section 3; docs/clocks.md):
// link latency estimation by echo, then parent/child alignment of every HAC along the spanning
// tree rooted at TSP 0. Emulated, not assumed: the latencies come from the link model (bound by the
// runtime, as for the initial alignment), the HACs' power-on phases and the oscillators from the
// [clock] seed. A pure function of the topology and the seeds: every rank computes the same result
// without communicating.
//
// Echo. TSP a puts its HAC value on the link; b reflects it at once; a subtracts the value from its
// HAC on return. That is the round trip modulo the HAC period; the link's latency range (one
// period wide at most) resolves the multiple, and half of it is one sample of the one-way latency.
// Repeated echo_iterations times per link, each sample from fresh jitter draws; the estimate is
// the mean, rounded to a cycle.
//
// Parent/child. After its parent has converged, a child receives the parent's HAC at every epoch
// boundary (value 0 there), compares its own HAC at the arrival with the estimated latency, and
// after each block of alignment_block_exchanges exchanges moves its HAC by the block's mean error,
// rounded and limited to alignment_step_cycles (the rate limit keeps one bad draw from yanking it).
// It has converged after the first block whose rounded mean error is 0. Its residual skew is the
// time between its epoch boundary and TSP 0's, which the runtime uses as its program start. During
// the run the HAC keeps tracking its parent the same way; the drift it must follow (0.026 cycles
// per epoch at 100 ppm) is far below one correction step, so the residual is kept constant.

#include <cstdint>
#include <functional>
#include <vector>

#include "clock/alignment.hpp"
#include "clock/time_base.hpp"
#include "common/ids.hpp"
#include "topo/topology.hpp"

namespace tspemu {

// One-way latency, in nominal cycles, of the `sequence`-th protocol message TSP `from` sends on
// `link` (the runtime binds it to the link model with its own random stream).
using ProtocolDelay = std::function<Cycle(LinkId link, TspId from, std::uint64_t sequence)>;

struct LinkLatencyEstimate {
  LinkId link;
  TspId a;  // the TSP that echoes (the parent on tree links; the lower-numbered end otherwise)
  TspId b;
  std::int64_t iterations = 0;
  double min_cycles = 0;
  double mean_cycles = 0;
  double max_cycles = 0;
  double std_cycles = 0;      // population standard deviation of the samples
  Cycle estimate_cycles = 0;  // round(mean): what the alignment uses
};

struct HacSyncResult {
  SpanningTree tree;
  std::vector<LinkLatencyEstimate> links;  // every link, in link order
  // Per TSP (index = TspId); the root's are 0.
  std::vector<double> ppm;
  std::vector<std::int64_t> exchanges;      // parent/child exchanges until converged
  std::vector<Cycle> initial_error_cycles;  // the power-on phase error it had to correct
  std::vector<GlobalTime> residual_as;      // epoch boundary minus TSP 0's (the program origin)
  std::vector<double> residual_cycles;      // the same in nominal cycles
  std::int64_t max_exchanges = 0;           // the slowest TSP's convergence
  std::int64_t rounds = 0;                  // tree levels converge one after another: sum of each
                                            // level's slowest, in epochs
  double max_abs_residual_cycles = 0;
  double residual_spread_cycles = 0;  // max - min residual over all TSPs
};

// Throws InputError (from breadth_first_tree) for a disconnected machine.
[[nodiscard]] HacSyncResult emulate_hac_sync(const Topology& topology, const TimeBase& time_base,
                                             const ProtocolDelay& delay);

}  // namespace tspemu
