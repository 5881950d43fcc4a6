// The 145-rack, 10,440-TSP system: loads, routes, and has the diameters measured (and documented in
// topologies/README.md). About 2 s in a Debug -O1 build.
#include "test_util.hpp"
#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "topo/routing.hpp"

namespace tspemu {
namespace {

// ctest runs every TEST in its own process, so the expensive part (routing 10,440 TSPs) is one
// TEST that checks everything that needs the routes.
TEST(System145, LoadsWith10440Tsps) {
  const Topology t = load_topology(test::topology_path("system-145.toml"));
  EXPECT_EQ(t.tsp_count(), 10'440u);
  EXPECT_EQ(t.node_count(), 1'305u);
  EXPECT_EQ(t.rack_count(), 145u);
  EXPECT_EQ(t.link_count(), 36'540u + 10'440u + 10'440u);
}

TEST(System145, DiametersAndRoutes) {
  const Topology t = load_topology(test::topology_path("system-145.toml"));
  const Routing routing(t);
  const RoutingStats stats = compute_routing_stats(routing);
  ASSERT_EQ(routing.tsp_count(), 10'440u);
  ASSERT_EQ(routing.node_count(), 1'305u);

  // Node level (nodes are the Dragonfly's virtual routers): source node -> node holding the
  // inter-rack link (one intra-rack hop) -> the other rack -> destination node. The paper's
  // "<= 5 hops" (2 in the source rack + 1 global + 2 in the destination rack) is this path plus
  // the local hop at each end: 3 + 2 = 5.
  EXPECT_EQ(stats.node.diameter, 3);
  EXPECT_TRUE(stats.node.connected());
  EXPECT_EQ(stats.node.hop_histogram, (std::vector<std::uint64_t>{0, 31'320, 361'552, 1'308'848}));

  // TSP level, as measured: the worst case also pays a local hop inside each intermediate node (a
  // link lands on a TSP that is not the one holding the next link): 3 + 1 + 3 = 7.
  EXPECT_EQ(stats.tsp.diameter, 7);
  EXPECT_TRUE(stats.tsp.connected());
  EXPECT_EQ(stats.tsp.hop_histogram,
            (std::vector<std::uint64_t>{0, 114'840, 678'096, 3'638'536, 14'925'044, 37'334'720,
                                        40'469'460, 11'822'464}));
  EXPECT_EQ(stats.tsp.reachable_pairs, 10'440ull * 10'439ull);
  EXPECT_EQ(stats.next_hop_entries, 289'017'552u);

  // Inside every rack the published <= 3 hops holds (checked for three racks).
  for (int rack : {0, 72, 144}) {
    int worst = 0;
    for (int s = rack * 72; s < rack * 72 + 72; ++s) {
      for (int d = rack * 72; d < rack * 72 + 72; ++d) {
        worst = std::max<int>(worst, routing.distance(TspId{s}, TspId{d}));
      }
    }
    EXPECT_EQ(worst, 3) << "rack " << rack;
  }

  // Symmetric and minimal: 41 sources spread over racks and node positions, every destination.
  for (int s = 0; s < 10'440; s += 257) {
    const TspId src{s};
    for (int d = 0; d < 10'440; ++d) {
      const TspId dst{d};
      const std::uint8_t dist = routing.distance(src, dst);
      ASSERT_EQ(dist, routing.distance(dst, src));
      if (s == d) continue;
      const std::vector<TspId> hops = routing.next_hops(src, dst);
      ASSERT_FALSE(hops.empty());
      for (TspId h : hops) ASSERT_EQ(routing.distance(h, dst) + 1, dist);
    }
  }
}

}  // namespace
}  // namespace tspemu
