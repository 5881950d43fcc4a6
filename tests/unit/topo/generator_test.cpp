// Generated machines: counts, the documented port assignment, balance, spare nodes, and equality
// with explicit descriptions.
#include "topo/generator.hpp"

#include "test_util.hpp"
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <utility>

namespace tspemu {
namespace {

std::map<LinkClass, std::size_t> links_by_class(const Topology& t) {
  std::map<LinkClass, std::size_t> counts;
  for (const Link& l : t.links()) ++counts[l.cls];
  return counts;
}

// Free ports among the global ports of the port plan, over all TSPs.
std::int64_t free_global_ports(const Topology& t) {
  std::int64_t free = 0;
  const PortPlan& plan = *t.port_plan();
  for (const TspInfo& tsp : t.tsps()) {
    for (std::int64_t p = plan.local_ports; p < plan.local_ports + plan.global_ports; ++p) {
      free += t.link_at(tsp.id, PortId{static_cast<std::int32_t>(p)}).has_value() ? 0 : 1;
    }
  }
  return free;
}

TEST(Generator, NodeIsAFullMeshOf28LocalLinks) {
  const Topology t = load_topology(test::topology_path("node.toml"));
  EXPECT_EQ(t.tsp_count(), 8u);
  EXPECT_EQ(t.node_count(), 1u);
  EXPECT_EQ(t.link_count(), 28u);
  EXPECT_EQ(links_by_class(t)[LinkClass::local], 28u);
  EXPECT_EQ(t.port_plan(), (PortPlan{7, 4}));
  std::set<std::pair<int, int>> pairs;
  for (const Link& l : t.links()) {
    const int i = l.a.tsp.value;
    const int j = l.b.tsp.value;
    ASSERT_LT(i, j);
    // TSP i reaches TSP j on port (j < i ? j : j - 1).
    EXPECT_EQ(l.a.port.value, j - 1);
    EXPECT_EQ(l.b.port.value, i);
    pairs.emplace(i, j);
  }
  EXPECT_EQ(pairs.size(), 28u);
  for (const TspInfo& tsp : t.tsps()) {
    EXPECT_EQ(t.ports_used(tsp.id), 7);
    for (int p = 0; p < 7; ++p) EXPECT_TRUE(t.link_at(tsp.id, PortId{p}).has_value());
  }
  EXPECT_EQ(free_global_ports(t), 32);  // 4 global ports per TSP left free
}

TEST(Generator, RackCountsAndBalance) {
  const Topology t = load_topology(test::topology_path("rack.toml"));
  EXPECT_EQ(t.tsp_count(), 72u);
  EXPECT_EQ(t.node_count(), 9u);
  EXPECT_EQ(t.rack_count(), 1u);
  auto by_class = links_by_class(t);
  EXPECT_EQ(by_class[LinkClass::local], 252u);  // 9 nodes x 28
  EXPECT_EQ(by_class[LinkClass::global], 72u);  // C(9,2) = 36 node pairs x 2
  EXPECT_EQ(by_class[LinkClass::optical], 0u);
  EXPECT_EQ(free_global_ports(t), 144);  // of 288; left for other racks
  // Every node pair doubly connected, the two links on different TSPs at both ends.
  std::map<std::pair<int, int>, std::vector<const Link*>> node_pairs;
  for (const Link& l : t.links()) {
    if (l.cls != LinkClass::global) continue;
    const int na = t.tsp(l.a.tsp).node.value;
    const int nb = t.tsp(l.b.tsp).node.value;
    ASSERT_NE(na, nb);
    node_pairs[{std::min(na, nb), std::max(na, nb)}].push_back(&l);
    // Global links only on global ports.
    EXPECT_GE(l.a.port.value, 7);
    EXPECT_LE(l.a.port.value, 10);
    EXPECT_GE(l.b.port.value, 7);
    EXPECT_LE(l.b.port.value, 10);
  }
  EXPECT_EQ(node_pairs.size(), 36u);
  for (const auto& [pair, links] : node_pairs) {
    ASSERT_EQ(links.size(), 2u);
    EXPECT_NE(links[0]->a.tsp, links[1]->a.tsp);
    EXPECT_NE(links[0]->b.tsp, links[1]->b.tsp);
  }
  // Each TSP: 7 local + 2 intra-rack global links, on ports 0..8; ports 9 and 10 free.
  for (const TspInfo& tsp : t.tsps()) {
    EXPECT_EQ(t.ports_used(tsp.id), 9);
    EXPECT_TRUE(t.link_at(tsp.id, PortId{8}).has_value());
    EXPECT_FALSE(t.link_at(tsp.id, PortId{9}).has_value());
    EXPECT_FALSE(t.link_at(tsp.id, PortId{10}).has_value());
  }
  // Node 8 is the spare.
  for (const NodeInfo& node : t.nodes()) EXPECT_EQ(node.spare, node.id.value == 8);
  EXPECT_TRUE(t.tsp(TspId{64}).spare);
  EXPECT_FALSE(t.tsp(TspId{63}).spare);
}

TEST(Generator, System145CountsAndOneLinkPerRackPair) {
  const Topology t = load_topology(test::topology_path("system-145.toml"));
  EXPECT_EQ(t.tsp_count(), 10'440u);
  EXPECT_EQ(t.node_count(), 1'305u);
  EXPECT_EQ(t.rack_count(), 145u);
  auto by_class = links_by_class(t);
  EXPECT_EQ(by_class[LinkClass::local], 36'540u);    // 1,305 nodes x 28
  EXPECT_EQ(by_class[LinkClass::global], 10'440u);   // 145 racks x 72
  EXPECT_EQ(by_class[LinkClass::optical], 10'440u);  // C(145, 2) rack pairs x 1
  EXPECT_EQ(free_global_ports(t), 0);
  std::vector<int> rack_pair_links(145 * 145, 0);
  for (const Link& l : t.links()) {
    if (l.cls != LinkClass::optical) continue;
    const int ra = t.tsp(l.a.tsp).rack.value;
    const int rb = t.tsp(l.b.tsp).rack.value;
    ASSERT_NE(ra, rb);
    ++rack_pair_links[static_cast<std::size_t>(std::min(ra, rb) * 145 + std::max(ra, rb))];
  }
  for (int r = 0; r < 145; ++r) {
    for (int q = r + 1; q < 145; ++q) {
      ASSERT_EQ(rack_pair_links[static_cast<std::size_t>(r * 145 + q)], 1) << r << "-" << q;
    }
  }
  for (const TspInfo& tsp : t.tsps()) ASSERT_EQ(t.ports_used(tsp.id), 11);
  EXPECT_EQ(t.node(NodeId{8}).spare, true);
  EXPECT_EQ(t.node(NodeId{9}).spare, false);
  // The documented inter-rack rule: rack 3's link to rack 100 is on TSP (99 mod 72) = 27,
  // port 9 + 99 / 72 = 10, of rack 3.
  const auto link = t.link_at(TspId{3 * 72 + 27}, PortId{10});
  ASSERT_TRUE(link.has_value());
  EXPECT_EQ(t.tsp(t.link(*link).far_end(TspId{3 * 72 + 27}).tsp).rack, RackId{100});
}

TEST(Generator, System8UsesTwentyLinksPerRackPair) {
  const Topology t = load_topology(test::topology_path("system-8.toml"));
  EXPECT_EQ(t.tsp_count(), 576u);
  EXPECT_EQ(links_by_class(t)[LinkClass::optical], 28u * 20u);
  EXPECT_EQ(free_global_ports(t), 8 * 4);
}

TEST(Generator, DeterministicAndEqualToItsResolvedForm) {
  const Topology a = load_topology(test::topology_path("rack.toml"));
  const Topology b = load_topology(test::topology_path("rack.toml"));
  EXPECT_EQ(a.digest(), b.digest());
  const Topology explicit_form = load_topology_from_string(topology_to_toml(a), "rack-resolved");
  EXPECT_EQ(explicit_form.digest(), a.digest());
  ASSERT_EQ(explicit_form.link_count(), a.link_count());
  for (std::size_t i = 0; i < a.link_count(); ++i) {
    const Link& x = a.links()[i];
    const Link& y = explicit_form.links()[i];
    ASSERT_EQ(x.a, y.a);
    ASSERT_EQ(x.b, y.b);
    ASSERT_EQ(x.cls, y.cls);
    ASSERT_EQ(x.params, y.params);
  }
}

TEST(Generator, NodeTomlEqualsAHandWrittenNode) {
  // The documented rule, written out the way a user would: 8 TSPs, TSP i to TSP j on port j - 1
  // (at i) and port i (at j), plus the port plan the generator declares.
  std::string text = "[port_plan]\nlocal_ports = 7\nglobal_ports = 4\n";
  for (int i = 0; i < 8; ++i) text += "[[tsp]]\n";
  for (int i = 0; i < 8; ++i) {
    for (int j = i + 1; j < 8; ++j) {
      text += fmt::format(
          "[[link]]\na = {{ tsp = {}, port = {} }}\nb = {{ tsp = {}, port = {} }}\n"
          "class = \"local\"\n",
          i, j - 1, j, i);
    }
  }
  const Topology hand = load_topology_from_string(text, "hand.toml");
  const Topology generated = load_topology(test::topology_path("node.toml"));
  EXPECT_EQ(hand.digest(), generated.digest());
}

TEST(Generator, GoldenDigestOfNodeToml) {
  // Changes only when the node's description changes: a chip default, a link-class default, the
  // port rule, or the digest's serialisation (then bump "tspemu.topology.v1" in topology.cpp).
  EXPECT_EQ(load_topology(test::topology_path("node.toml")).digest().hex(),
            "cc0838409aebbc2fafcc0805acdae27d");
}

TEST(Generator, ProgrammaticUseAndFitErrors) {
  GeneratorParams p;
  p.kind = GeneratorKind::rack;
  p.nodes_per_rack = 3;
  p.links_per_node_pair = 1;
  const Topology t = generate_topology("small-rack", p);
  EXPECT_EQ(t.tsp_count(), 24u);
  EXPECT_EQ(t.link_count(), 3u * 28u + 3u);

  p.kind = GeneratorKind::dragonfly;
  p.nodes_per_rack = 9;
  p.links_per_node_pair = 2;
  p.racks = 146;
  try {
    (void)generate_topology("too-big", p);
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_STREQ(e.what(),
                 "generator.racks: each rack needs (racks - 1) x links_per_rack_pair = 145 global "
                 "ports for inter-rack links but has only 144 left after its intra-rack links");
  }
  ChipParams small_chip;
  small_chip.c2c_ports = 8;
  p.kind = GeneratorKind::node;
  const auto problem = check_generator_fit(p, small_chip);
  ASSERT_TRUE(problem.has_value());
  EXPECT_EQ(problem->key, "global_ports_per_tsp");
}

TEST(Generator, LinkClassOverridesReachGeneratedLinks) {
  const Topology t = load_topology_from_string(R"(
[link_class.optical]
latency_cycles = 900
latency_min_cycles = 880
latency_max_cycles = 950
[generator]
kind = "dragonfly"
racks = 3
inter_rack_class = "optical"
)",
                                               "df.toml");
  const auto by_class = links_by_class(t);
  EXPECT_EQ(by_class.at(LinkClass::local), 3u * 252u);
  EXPECT_EQ(by_class.at(LinkClass::global), 3u * 72u);
  EXPECT_EQ(by_class.at(LinkClass::optical), 3u);
  EXPECT_EQ(t.links().back().params.latency_cycles, 900);
  EXPECT_EQ(t.links().front().params.latency_cycles, 217);
}

TEST(Generator, InterRackLinksHaveThePublishedPerHopLatency) {
  // 722 ns per hop (ISCA'22) at the chip's clock, with the intra-node jitter spread around it; the
  // links inside racks keep the intra-node figures. Only multi-rack machines: a lone rack's global
  // links have no published latency.
  const Topology t = load_topology_from_string(R"(
[generator]
kind = "dragonfly"
racks = 3
)",
                                               "df.toml");
  const Link& inter = t.links().back();
  EXPECT_EQ(inter.cls, LinkClass::optical);
  EXPECT_EQ(inter.params.latency_cycles, 650);
  EXPECT_EQ(inter.params.latency_min_cycles, 642);
  EXPECT_EQ(inter.params.latency_max_cycles, 661);
  for (const Link& l : t.links()) {
    if (l.cls != LinkClass::optical) {
      EXPECT_EQ(l.params.latency_cycles, 217);
    }
  }
  const Topology ghz = load_topology_from_string(R"(
[chip]
clock_mhz = 1000.0
[generator]
kind = "dragonfly"
racks = 2
)",
                                                 "df.toml");
  EXPECT_EQ(ghz.links().back().params.latency_cycles, 722);
  // A file's own class table wins key by key.
  const Topology mine = load_topology_from_string(R"(
[link_class.optical]
latency_min_cycles = 600
[generator]
kind = "dragonfly"
racks = 2
)",
                                                  "df.toml");
  EXPECT_EQ(mine.links().back().params.latency_min_cycles, 600);
  EXPECT_EQ(mine.links().back().params.latency_cycles, 650);
  // With inter_rack_class = "global" the inter-rack links are global links: 217.
  const Topology global = load_topology_from_string(R"(
[generator]
kind = "dragonfly"
racks = 2
inter_rack_class = "global"
)",
                                                    "df.toml");
  EXPECT_EQ(global.links().back().params.latency_cycles, 217);
  // A lone rack: every class at the intra-node figures.
  const Topology rack = load_topology_from_string("[generator]\nkind = \"rack\"\n", "r.toml");
  EXPECT_EQ(rack.link_classes()[static_cast<std::size_t>(LinkClass::optical)].latency_cycles, 217);
}

}  // namespace
}  // namespace tspemu
