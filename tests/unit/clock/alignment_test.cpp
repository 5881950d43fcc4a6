#include "clock/alignment.hpp"

#include <gtest/gtest.h>

#include <string>

#include "clock/hac.hpp"
#include "common/error.hpp"
#include "runtime/driver.hpp"
#include "topo/loader.hpp"

namespace tspemu {
namespace {

Topology machine(const std::string& stem) {
  return load_topology(std::string(TSPEMU_SOURCE_DIR) + "/topologies/" + stem + ".toml");
}

// A chain 0 - 1 - 2 - 3 of links with latency 300 (jitter range 250..600): three levels, and
// floor(600 / 256) + 1 = 3 epochs per level.
Topology chain() {
  std::string text = "name = \"chain\"\n";
  for (int t = 0; t < 4; ++t) text += "[[tsp]]\nnode = 0\nrack = 0\n";
  for (int l = 0; l < 3; ++l) {
    text += "[[link]]\na = { tsp = " + std::to_string(l) +
            ", port = 1 }\nb = { tsp = " + std::to_string(l + 1) +
            ", port = 0 }\nclass = \"local\"\nlatency_cycles = 300\nlatency_min_cycles = 250\n"
            "latency_max_cycles = 600\n";
  }
  return load_topology_from_string(text, "chain.toml");
}

AlignmentArrival fixed_latency(Cycle latency) {
  return [latency](LinkId, TspId, Cycle send) { return send + latency; };
}

TEST(SpanningTree, NodeIsAStarAroundTspZero) {
  const SpanningTree tree = breadth_first_tree(machine("node"));
  EXPECT_EQ(tree.height, 1);
  ASSERT_EQ(tree.order.size(), 8U);
  for (int t = 1; t < 8; ++t) {
    EXPECT_EQ(tree.order[static_cast<std::size_t>(t)], TspId{t});
    EXPECT_EQ(tree.parent[static_cast<std::size_t>(t)], 0);
    EXPECT_EQ(tree.depth[static_cast<std::size_t>(t)], 1);
  }
  EXPECT_EQ(tree.parent[0], -1);
  EXPECT_EQ(tree.parent_link[0], -1);
}

TEST(SpanningTree, RackIsThreeLevelsLowestPortFirst) {
  // Values from an independent breadth-first search over `tspemu topo rack.toml --resolved`.
  const SpanningTree tree = breadth_first_tree(machine("rack"));
  EXPECT_EQ(tree.height, 3);
  ASSERT_EQ(tree.parent.size(), 72U);
  // TSP 0's local ports 0..6 reach 1..7, then its global ports 7 and 8 nodes 1 and 5.
  EXPECT_EQ(tree.parent[7], 0);
  EXPECT_EQ(tree.parent[8], 0);
  EXPECT_EQ(tree.parent_link[8], 252);
  EXPECT_EQ(tree.parent[40], 0);
  EXPECT_EQ(tree.parent_link[40], 260);
  // Depth 2 through a local link of node 1, depth 3 through another node's global link.
  EXPECT_EQ(tree.parent[10], 8);
  EXPECT_EQ(tree.parent_link[10], 29);
  EXPECT_EQ(tree.parent[34], 48);
  EXPECT_EQ(tree.depth[34], 3);
  EXPECT_EQ(tree.parent[71], 64);
  EXPECT_EQ(tree.parent_link[71], 230);
  EXPECT_EQ(tree.order.front(), TspId{0});
}

TEST(SpanningTree, UnreachableTspIsAnInputError) {
  const Topology topology = load_topology_from_string(
      "name = \"split\"\n[[tsp]]\nnode = 0\nrack = 0\n[[tsp]]\nnode = 0\nrack = 0\n"
      "[[tsp]]\nnode = 0\nrack = 0\n[[link]]\na = { tsp = 0, port = 0 }\n"
      "b = { tsp = 1, port = 0 }\nclass = \"local\"\n",
      "split.toml");
  try {
    (void)breadth_first_tree(topology);
    FAIL() << "expected an InputError";
  } catch (const InputError& e) {
    EXPECT_STREQ(e.what(),
                 "topology 'split': no chain of links joins TSP 2 to TSP 0 (1 of 3 TSPs are "
                 "unreachable), so initial program alignment cannot send it the start vector");
  }
}

TEST(Alignment, SingleTspCostsNothing) {
  const AlignmentResult r = emulate_initial_alignment(machine("chip"), fixed_latency(217));
  EXPECT_EQ(r.tree.height, 0);
  EXPECT_EQ(r.max_link_latency_cycles, 0);
  EXPECT_EQ(r.formula_cost_cycles, 0);
  EXPECT_EQ(r.cost_cycles, 0);
  EXPECT_EQ(r.start_cycle, 0);
  EXPECT_EQ(r.start_skew_cycles, 0);
}

TEST(Alignment, WorstCaseLatencyCostsExactlyTheFormula) {
  // Each level: transmit at a boundary b, arrive at b + 600, RECEIVE at the next boundary b + 768.
  const AlignmentResult r = emulate_initial_alignment(chain(), fixed_latency(600));
  EXPECT_EQ(r.tree.height, 3);
  EXPECT_EQ(r.max_link_latency_cycles, 600);
  EXPECT_EQ(r.formula_cost_cycles, 3 * 3 * 256);
  EXPECT_EQ(r.formula_cost_cycles, alignment_cost_cycles(600, 3, 256));
  EXPECT_EQ(r.root_transmit_cycle, 0);
  EXPECT_EQ(r.arrival_cycles, (std::vector<Cycle>{0, 600, 1368, 2136}));
  EXPECT_EQ(r.receive_cycles, (std::vector<Cycle>{0, 768, 1536, 2304}));
  EXPECT_EQ(r.cost_cycles, 2304);
  EXPECT_EQ(r.start_cycle, 2304);
  EXPECT_EQ(r.start_cycles, (std::vector<Cycle>(4, 2304)));
  EXPECT_EQ(r.start_skew_cycles, 0);
  EXPECT_EQ(r.max_arrival_latency_cycles, 600);
}

TEST(Alignment, FastLinksFinishEarlyButEveryTspStillStartsTogether) {
  const AlignmentResult r = emulate_initial_alignment(chain(), fixed_latency(250));
  EXPECT_EQ(r.receive_cycles, (std::vector<Cycle>{0, 256, 512, 768}));
  EXPECT_EQ(r.cost_cycles, 768);           // measured: one epoch per level
  EXPECT_EQ(r.formula_cost_cycles, 2304);  // budgeted: three
  EXPECT_EQ(r.start_cycles, (std::vector<Cycle>(4, 2304)));
  EXPECT_EQ(r.start_skew_cycles, 0);
}

TEST(Alignment, ArrivalOnABoundaryIsReceivedThere) {
  // The child polls at boundaries; a RECEIVE in the arrival cycle itself finds the vector.
  const AlignmentResult r = emulate_initial_alignment(chain(), fixed_latency(512));
  EXPECT_EQ(r.receive_cycles, (std::vector<Cycle>{0, 512, 1024, 1536}));
  EXPECT_EQ(r.cost_cycles, 1536);
  EXPECT_EQ(r.start_skew_cycles, 0);
}

TEST(Alignment, ALinkSlowerThanItsWorstCaseShowsAsStartSkew) {
  // Emulated, not assumed: if the last link took 1000 cycles (beyond its declared 600), TSP 3
  // would learn the start epoch after it had passed and start one epoch late.
  const AlignmentResult r = emulate_initial_alignment(chain(), [](LinkId link, TspId, Cycle send) {
    return send + (link.value == 2 ? 1000 : 600);
  });
  EXPECT_EQ(r.receive_cycles, (std::vector<Cycle>{0, 768, 1536, 2560}));
  EXPECT_EQ(r.start_cycles, (std::vector<Cycle>{2304, 2304, 2304, 2560}));
  EXPECT_EQ(r.start_skew_cycles, 256);
  EXPECT_EQ(r.cost_cycles, 2560);
}

TEST(Alignment, ArrivalFunctionSeesTreeLinksParentsAndBoundaries) {
  std::vector<std::string> calls;
  (void)emulate_initial_alignment(chain(), [&](LinkId link, TspId from, Cycle send) {
    calls.push_back(std::to_string(link.value) + ":" + std::to_string(from.value) + "@" +
                    std::to_string(send));
    return send + 300;
  });
  EXPECT_EQ(calls, (std::vector<std::string>{"0:0@0", "1:1@512", "2:2@1024"}));
}

// ---- with the link model (runtime/driver.hpp): exact values for the example machines ----------
// Expected arrivals come from an independent Python re-implementation of the link model
// (tests/unit/net/link_model_reference.py's formulas) with sequence 2^63, over the same tree.

TEST(RunAlignment, PairWithTheLinkModel) {
  const AlignmentResult r = emulate_run_alignment(machine("pair"), 1);
  EXPECT_EQ(r.tree.height, 1);
  EXPECT_EQ(r.max_link_latency_cycles, 228);
  EXPECT_EQ(r.arrival_cycles, (std::vector<Cycle>{0, 214}));
  EXPECT_EQ(r.receive_cycles, (std::vector<Cycle>{0, 256}));
  EXPECT_EQ(r.cost_cycles, 256);
  EXPECT_EQ(r.formula_cost_cycles, 256);
  EXPECT_EQ(r.start_cycle, 256);
  EXPECT_EQ(r.start_skew_cycles, 0);
  EXPECT_EQ(r.max_arrival_latency_cycles, 214);
  EXPECT_EQ(emulate_run_alignment(machine("pair"), 7).arrival_cycles[1], 222);
}

TEST(RunAlignment, NodeWithTheLinkModel) {
  const AlignmentResult r = emulate_run_alignment(machine("node"), 1);
  EXPECT_EQ(r.tree.height, 1);
  EXPECT_EQ(r.arrival_cycles, (std::vector<Cycle>{0, 214, 227, 225, 212, 215, 209, 222}));
  EXPECT_EQ(r.cost_cycles, 256);
  EXPECT_EQ(r.formula_cost_cycles, 256);
  EXPECT_EQ(r.start_skew_cycles, 0);
  EXPECT_EQ(r.max_arrival_latency_cycles, 227);
  const AlignmentResult r7 = emulate_run_alignment(machine("node"), 7);
  EXPECT_EQ(r7.arrival_cycles, (std::vector<Cycle>{0, 222, 214, 220, 225, 210, 225, 220}));
}

TEST(RunAlignment, RackWithTheLinkModel) {
  for (const std::uint64_t seed : {1U, 7U}) {
    const AlignmentResult r = emulate_run_alignment(machine("rack"), seed);
    EXPECT_EQ(r.tree.height, 3);
    EXPECT_EQ(r.max_link_latency_cycles, 228);
    EXPECT_EQ(r.formula_cost_cycles, 768);
    EXPECT_EQ(r.cost_cycles, 768);
    EXPECT_EQ(r.start_cycle, 768);
    EXPECT_EQ(r.start_skew_cycles, 0);
    EXPECT_EQ(r.max_arrival_latency_cycles, 228);
    EXPECT_EQ(r.arrival_cycles[71], seed == 1 ? 724 : 734);
    EXPECT_EQ(r.receive_cycles[71], 768);
  }
}

}  // namespace
}  // namespace tspemu
