// Routing: hop distances, equal-cost next hops, diameters, checked on small graphs by hand, on the
// rack exhaustively, and against a plain BFS on a 576-TSP system.
#include "topo/routing.hpp"

#include "test_util.hpp"
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <deque>
#include <string>
#include <vector>

#include "topo/generator.hpp"

namespace tspemu {
namespace {

// `n` TSPs (one node each) joined by `edges`; each TSP uses its ports in order.
Topology graph(int n, const std::vector<std::pair<int, int>>& edges) {
  std::string text;
  for (int i = 0; i < n; ++i) text += fmt::format("[[tsp]]\nnode = {}\n", i);
  std::vector<int> next_port(static_cast<std::size_t>(n), 0);
  for (const auto& [a, b] : edges) {
    text += fmt::format(
        "[[link]]\na = {{ tsp = {}, port = {} }}\nb = {{ tsp = {}, port = {} }}\nclass = "
        "\"global\"\n",
        a, next_port[static_cast<std::size_t>(a)]++, b, next_port[static_cast<std::size_t>(b)]++);
  }
  return load_topology_from_string(text, "graph.toml");
}

TspId tsp(int i) {
  return TspId{i};
}

// Every pair: symmetric distances; next hops non-empty, ascending, each one hop closer; the minimal
// path has distance + 1 vertices, each joined to the next.
void expect_minimal_and_symmetric(const Routing& r, std::size_t stride = 1) {
  const auto n = static_cast<int>(r.tsp_count());
  for (int s = 0; s < n; s += static_cast<int>(stride)) {
    for (int d = 0; d < n; ++d) {
      const std::uint8_t dist = r.distance(tsp(s), tsp(d));
      ASSERT_EQ(dist, r.distance(tsp(d), tsp(s))) << s << " " << d;
      const std::vector<TspId> hops = r.next_hops(tsp(s), tsp(d));
      if (s == d || dist == kUnreachable) {
        ASSERT_TRUE(hops.empty());
        continue;
      }
      ASSERT_FALSE(hops.empty()) << s << " " << d;
      for (std::size_t k = 0; k < hops.size(); ++k) {
        ASSERT_EQ(r.distance(hops[k], tsp(d)) + 1, dist);
        if (k > 0) {
          ASSERT_LT(hops[k - 1], hops[k]);
        }
      }
      // And no neighbour outside the set is one hop closer.
      std::size_t closer = 0;
      for (TspId u : r.neighbours(tsp(s))) closer += r.distance(u, tsp(d)) + 1 == dist ? 1 : 0;
      ASSERT_EQ(closer, hops.size());
    }
  }
}

TEST(Routing, LineOfFour) {
  const Topology t = graph(4, {{0, 1}, {1, 2}, {2, 3}});
  const Routing r(t);
  EXPECT_EQ(r.distance(tsp(0), tsp(3)), 3);
  EXPECT_EQ(r.distance(tsp(2), tsp(2)), 0);
  EXPECT_EQ(r.next_hops(tsp(0), tsp(3)), std::vector<TspId>{tsp(1)});
  EXPECT_EQ(r.next_hops(tsp(3), tsp(0)), std::vector<TspId>{tsp(2)});
  EXPECT_EQ(r.minimal_path(tsp(0), tsp(3)), (std::vector<TspId>{tsp(0), tsp(1), tsp(2), tsp(3)}));
  const RoutingStats s = compute_routing_stats(r);
  EXPECT_EQ(s.tsp.diameter, 3);
  EXPECT_EQ(s.tsp.hop_histogram, (std::vector<std::uint64_t>{0, 6, 4, 2}));
  EXPECT_TRUE(s.tsp.connected());
  EXPECT_DOUBLE_EQ(s.tsp.mean_hops, 20.0 / 12.0);
  EXPECT_EQ(s.ecmp_width_histogram, (std::vector<std::uint64_t>{0, 12}));
  // Node level: each TSP is its own node here.
  EXPECT_EQ(s.node.diameter, 3);
  EXPECT_EQ(r.node_distance(NodeId{0}, NodeId{3}), 3);
}

TEST(Routing, RingHasTwoEqualCostRoutesToTheAntipode) {
  const Topology t = graph(6, {{0, 1}, {1, 2}, {2, 3}, {3, 4}, {4, 5}, {5, 0}});
  const Routing r(t);
  EXPECT_EQ(r.distance(tsp(0), tsp(3)), 3);
  EXPECT_EQ(r.next_hops(tsp(0), tsp(3)), (std::vector<TspId>{tsp(1), tsp(5)}));
  EXPECT_EQ(r.next_hop_links(tsp(0), tsp(3)), (std::vector<LinkId>{LinkId{0}, LinkId{5}}));
  const RoutingStats s = compute_routing_stats(r);
  EXPECT_EQ(s.tsp.diameter, 3);
  EXPECT_EQ(s.ecmp_width_histogram, (std::vector<std::uint64_t>{0, 24, 6}));
  EXPECT_EQ(s.next_hop_entries, 36u);
  expect_minimal_and_symmetric(r);
}

TEST(Routing, ParallelLinksAreOneNeighbourButEveryLinkIsAnOption) {
  const Topology t = graph(2, {{0, 1}, {1, 0}});
  const Routing r(t);
  EXPECT_EQ(r.neighbours(tsp(0)).size(), 1u);
  EXPECT_EQ(r.next_hops(tsp(0), tsp(1)), std::vector<TspId>{tsp(1)});
  EXPECT_EQ(r.next_hop_links(tsp(0), tsp(1)), (std::vector<LinkId>{LinkId{0}, LinkId{1}}));
}

TEST(Routing, DisconnectedPairsAreUnreachable) {
  const Topology t = graph(3, {{0, 1}});
  const Routing r(t);
  EXPECT_EQ(r.distance(tsp(0), tsp(2)), kUnreachable);
  EXPECT_TRUE(r.next_hops(tsp(0), tsp(2)).empty());
  EXPECT_TRUE(r.minimal_path(tsp(0), tsp(2)).empty());
  const RoutingStats s = compute_routing_stats(r);
  EXPECT_EQ(s.tsp.diameter, 1);
  EXPECT_EQ(s.tsp.unreachable_pairs, 4u);
  EXPECT_EQ(s.tsp.reachable_pairs, 2u);
  EXPECT_FALSE(s.tsp.connected());
  expect_minimal_and_symmetric(r);
}

TEST(Routing, SingleChip) {
  const Topology t = load_topology(test::topology_path("chip.toml"));
  const Routing r(t);
  const RoutingStats s = compute_routing_stats(r);
  EXPECT_EQ(s.tsp.diameter, 0);
  EXPECT_EQ(s.tsp.reachable_pairs, 0u);
  EXPECT_TRUE(s.tsp.connected());
  EXPECT_EQ(s.node.diameter, 0);
}

TEST(Routing, LongRingCrossesSweepBoundaries) {
  // 130 TSPs: three 64-source sweeps, distances up to 65.
  std::vector<std::pair<int, int>> edges;
  for (int i = 0; i < 130; ++i) edges.emplace_back(i, (i + 1) % 130);
  const Routing r(graph(130, edges));
  for (int s = 0; s < 130; ++s) {
    for (int d = 0; d < 130; ++d) {
      const int around = (d - s + 130) % 130;
      ASSERT_EQ(r.distance(tsp(s), tsp(d)), std::min(around, 130 - around));
    }
  }
  EXPECT_EQ(compute_routing_stats(r).tsp.diameter, 65);
}

TEST(Routing, PathLongerThanTheByteMatrixHoldsIsAnError) {
  std::vector<std::pair<int, int>> edges;
  for (int i = 0; i + 1 < 256; ++i) edges.emplace_back(i, i + 1);
  const Topology t = graph(256, edges);
  try {
    const Routing r(t);
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_STREQ(e.what(),
                 "a shortest path between two TSPs is longer than 254 hops, the most routing "
                 "supports");
  }
}

TEST(Routing, RackDiameterIsThreeAtTspLevelAndOneAtNodeLevel) {
  const Topology t = load_topology(test::topology_path("rack.toml"));
  const Routing r(t);
  const RoutingStats s = compute_routing_stats(r);
  EXPECT_EQ(s.tsp.diameter, 3);  // published: any TSP reaches any other in <= 3 hops
  EXPECT_EQ(s.tsp.hop_histogram, (std::vector<std::uint64_t>{0, 648, 1944, 2520}));
  EXPECT_EQ(s.node.diameter, 1);
  EXPECT_EQ(s.ecmp_width_histogram, (std::vector<std::uint64_t>{0, 2376, 1368, 504, 720, 144}));
  expect_minimal_and_symmetric(r);
  // Within a node every TSP is one hop from every other.
  for (int s2 = 0; s2 < 8; ++s2) {
    for (int d = 0; d < 8; ++d) EXPECT_EQ(r.distance(tsp(s2), tsp(d)), s2 == d ? 0 : 1);
  }
  for (int s2 = 0; s2 < 72; ++s2) {
    for (int d = 0; d < 72; d += 5) {
      const auto path = r.minimal_path(tsp(s2), tsp(d));
      ASSERT_EQ(path.size(), r.distance(tsp(s2), tsp(d)) + 1u);
      for (std::size_t k = 1; k < path.size(); ++k) {
        ASSERT_EQ(r.distance(path[k - 1], path[k]), 1);
      }
    }
  }
}

TEST(Routing, MatchesPlainBfsOnSystem8) {
  const Topology t = load_topology(test::topology_path("system-8.toml"));
  const Routing r(t);
  const std::size_t n = t.tsp_count();
  std::vector<std::vector<int>> adjacency(n);
  for (const Link& l : t.links()) {
    adjacency[l.a.tsp.index()].push_back(l.b.tsp.value);
    adjacency[l.b.tsp.index()].push_back(l.a.tsp.value);
  }
  for (std::size_t s = 0; s < n; ++s) {
    std::vector<int> dist(n, -1);
    std::deque<int> queue{static_cast<int>(s)};
    dist[s] = 0;
    while (!queue.empty()) {
      const int v = queue.front();
      queue.pop_front();
      for (int u : adjacency[static_cast<std::size_t>(v)]) {
        if (dist[static_cast<std::size_t>(u)] >= 0) continue;
        dist[static_cast<std::size_t>(u)] = dist[static_cast<std::size_t>(v)] + 1;
        queue.push_back(u);
      }
    }
    const auto row = r.distances_from(TspId{static_cast<std::int32_t>(s)});
    for (std::size_t d = 0; d < n; ++d) ASSERT_EQ(row[d], dist[d]) << s << " " << d;
  }
  const RoutingStats s = compute_routing_stats(r);
  EXPECT_EQ(s.tsp.diameter, 6);
  EXPECT_EQ(s.node.diameter, 3);
  expect_minimal_and_symmetric(r, 7);
}

}  // namespace
}  // namespace tspemu
