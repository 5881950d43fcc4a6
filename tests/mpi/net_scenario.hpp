#pragma once
// Synthetic network traffic for the net layer's tests and benchmarks: small networks (ring, full
// mesh, the 72-TSP rack pattern), random traffic from the counter RNG, and a driver that runs it
// window by window over any Transport. Everything is a pure function of the scenario, so a rank can
// compute what it must receive without asking anyone, and every transport must give the same
// digests.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/digest.hpp"
#include "net/control.hpp"
#include "net/exchange_plan.hpp"
#include "net/in_flight.hpp"
#include "net/network_layout.hpp"
#include "net/transport.hpp"

namespace tspemu::net_test {

inline constexpr Cycle kHacPeriodCycles = 256;
inline constexpr double kClockMhz = 900.0;

// Intra-node link (ISCA'22 Table 2) and a long inter-node link that spans several windows and
// sees bit errors.
[[nodiscard]] LinkModelParams local_link();
[[nodiscard]] LinkModelParams long_link();

// TSP i port 0 -- TSP i+1 port 1 for every i (no links for 1 TSP; two parallel links for 2).
[[nodiscard]] std::vector<LinkSpec> ring_links(int tsps);
// One link per pair; odd-numbered links are long_link().
[[nodiscard]] std::vector<LinkSpec> mesh_links(int tsps);
// `nodes` nodes of 8 TSPs (1..9): a full mesh inside each node (7 local links per TSP, ports 0..6)
// and 4 long global links between every pair of nodes, spread so that with 9 nodes every TSP has
// 4 global links to 4 different nodes (ports 7..10): 11 neighbours, as in a GroqRack.
[[nodiscard]] std::vector<LinkSpec> rack_links(int nodes);

struct Scenario {
  std::string name;
  std::shared_ptr<const NetworkLayout> layout;
  std::uint64_t seed = 1;
  WindowIndex windows = 100;            // windows with traffic (0 .. windows-1)
  int max_vectors_per_direction = 2;    // per link direction per window: 0 .. this many
  int traffic_percent = 100;            // chance (in %) that a link direction carries traffic
  std::int64_t agree_every_epochs = 1;  // agreement after the last window of every K-th epoch
};

[[nodiscard]] Scenario ring_scenario(int tsps, WindowIndex windows, std::uint64_t seed);
[[nodiscard]] Scenario mesh_scenario(int tsps, WindowIndex windows, std::uint64_t seed);
[[nodiscard]] Scenario rack_scenario(int nodes, WindowIndex windows, std::uint64_t seed);

// Vectors `src` sends on link `link` (toward its other end) in `window`, with their sequence
// numbers counted from `first_sequence`; appended to `out`, stamped by the link model.
// Returns how many.
int direction_traffic(const Scenario& scenario, const LinkSpec& link, TspId src, WindowIndex window,
                      std::uint64_t first_sequence, std::vector<InFlightVector>& out);
// Number of vectors only (cheap; same value as direction_traffic returns).
[[nodiscard]] int direction_count(const Scenario& scenario, LinkId link, TspId src,
                                  WindowIndex window);

// The plan that matches the scenario's traffic exactly.
[[nodiscard]] std::shared_ptr<const ExchangePlan> make_plan(const Scenario& scenario);

struct RunOptions {
  bool verify_expected = true;    // compare every delivery with the locally computed expectation
  bool run_to_completion = true;  // keep exchanging until an agreement says finished()
  WindowIndex window_limit = 100000;
};

struct RunOutcome {
  // Per local TSP (transport.local_tsps() order): digest of the deliveries of every exchange and of
  // the vectors consumed from its ArrivalQueue, in order.
  std::vector<Digest128> tsp_digests;
  std::int64_t vectors_delivered = 0;  // over the local TSPs
  std::int64_t corrected = 0;
  std::int64_t uncorrectable = 0;
  Cycle final_cycle = -1;       // agreed last_active_cycle at the end (run_to_completion)
  WindowIndex windows_run = 0;  // including the windows after the traffic ended
  ControlState last_agreement;
  std::string problem;  // empty, or the first deviation from the expectation
};

// Runs the scenario on `transport` (its local TSPs). Throws what the transport throws.
[[nodiscard]] RunOutcome run_scenario(Transport& transport, const Scenario& scenario,
                                      const RunOptions& options = {});

// Digest over per-TSP digests in TSP order.
[[nodiscard]] Digest128 combine_digests(const std::vector<Digest128>& per_tsp);

}  // namespace tspemu::net_test
