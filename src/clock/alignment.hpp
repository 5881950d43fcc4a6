#pragma once
// Initial program alignment (ISCA'22 section 4; docs/design.md section 7): how the TSPs of a
// machine agree on the cycle at which every program starts, emulated rather than assumed.
//
// The protocol. TSP 0 (the root) DESKEWs to an epoch boundary and transmits a start vector to each
// of its children in a spanning tree. The vector carries the start epoch, E = (root's transmit
// epoch) + h x (floor(L / P) + 1), where h is the tree height, L the worst-case latency of any tree
// link and P the HAC period. A child polls its C2C port at every epoch boundary, RECEIVEs the
// vector at the first boundary at or after its arrival, forwards it to its own children at that
// boundary, and starts at the boundary of epoch E (or, if the vector came later than that, at the
// boundary at which it received it: a late start is what the start skew would show).
//
// Why the cost is the ISCA formula. A vector transmitted at a boundary b over a link whose latency
// is at most L arrives by b + L, and the first boundary at or after that is at most
// b + (floor(L / P) + 1) x P. Each tree level therefore takes at most floor(L / P) + 1 epochs, the
// deepest TSP has received by E, and every TSP starts at E: skew 0 with ideal clocks, whatever the
// jitter draws. The measured cost (the last receive boundary minus the root's transmit boundary) is
// at most the formula; it is smaller when every draw of a level lands in an earlier epoch.
//
// What is emulated. The tree is computed from the topology (breadth-first from TSP 0, ports in
// ascending order, so it is a pure function of the topology). Arrivals come from a caller-supplied
// function, which the runtime binds to the network layer's link model with the run seed
// (runtime/driver.hpp, emulate_run_alignment); this layer does not depend on net. Every rank of an
// MPI job computes the same result without communicating: the protocol's timing is a pure function
// of the topology, the link model and the seed. That is exact for ideal clocks, where every chip's
// HAC overflows at the same global cycles and the only source of timing variation is the link
// jitter, which the link model draws from the counter-based RNG wherever it is evaluated. (With
// oscillator drift, per-chip HAC offsets enter through HacCounter; the same simulation applies.)
//
// All cycles here are GLOBAL cycles counted from reset. The program's cycle 0 is `start_cycle`: the
// runtime numbers program cycles from the aligned start, so adding the alignment changes no
// program's timing or digest.

#include <cstdint>
#include <functional>
#include <vector>

#include "common/ids.hpp"
#include "topo/topology.hpp"

namespace tspemu {

// A breadth-first spanning tree of the machine's links.
struct SpanningTree {
  TspId root;
  // Per TSP (index = TspId): parent TSP and the link to it; the root's are -1.
  std::vector<std::int32_t> parent;
  std::vector<std::int32_t> parent_link;
  std::vector<std::int32_t> depth;  // root 0
  std::vector<TspId> order;         // breadth-first visiting order, root first
  std::int64_t height = 0;          // largest depth
};

// Breadth-first from `root`: a TSP's children are discovered in ascending port order, so the tree
// is deterministic. Throws InputError naming the first TSP (lowest id) that no link path reaches:
// such a TSP could never receive the start vector.
[[nodiscard]] SpanningTree breadth_first_tree(const Topology& topology, TspId root = TspId{0});

// Arrival (global cycle) of a start vector that TSP `from` transmits over `link` at global cycle
// `send_cycle`. Must satisfy arrival - send_cycle in [latency_min, latency_max] of the link for the
// protocol's guarantee to hold; the emulation takes whatever it returns.
using AlignmentArrival = std::function<Cycle(LinkId link, TspId from, Cycle send_cycle)>;

struct AlignmentResult {
  SpanningTree tree;
  Cycle period_cycles = 256;             // HAC period P
  Cycle max_link_latency_cycles = 0;     // L: the largest latency_max_cycles of a tree link
  Cycle formula_cost_cycles = 0;         // (floor(L / P) + 1) x height x P
  Cycle root_transmit_cycle = 0;         // the root's DESKEW boundary
  Cycle start_cycle = 0;                 // announced start: root_transmit_cycle + formula cost
  Cycle cost_cycles = 0;                 // measured: last receive boundary - root_transmit_cycle
  Cycle max_arrival_latency_cycles = 0;  // largest drawn send-to-arrival latency (0: no links)
  Cycle start_skew_cycles = 0;           // max - min of start_cycles
  // Per TSP (index = TspId), global cycles; the root's arrival and receive are its transmit cycle.
  std::vector<Cycle> arrival_cycles;
  std::vector<Cycle> receive_cycles;  // first epoch boundary at or after the arrival
  std::vector<Cycle> start_cycles;    // max(start_cycle, receive cycle)
};

// Emulates the protocol on `topology` (HAC period from its chip parameters, ideal clocks: every
// HAC overflows at global multiples of the period). The root DESKEWs at reset (global cycle 0, an
// epoch boundary, so it does not wait) and transmits there.
[[nodiscard]] AlignmentResult emulate_initial_alignment(const Topology& topology,
                                                        const AlignmentArrival& arrival);

}  // namespace tspemu
