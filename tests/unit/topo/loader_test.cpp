// Loading well-formed topologies: defaults, overrides, resolved values, the shipped small files.
#include "topo/loader.hpp"

#include "test_util.hpp"
#include <gtest/gtest.h>

namespace tspemu {
namespace {

TEST(Loader, DefaultsWhenOnlyTspsAreGiven) {
  const Topology t = load_topology_from_string("[[tsp]]\n", "dir/one.toml");
  EXPECT_EQ(t.name(), "one");  // the file's stem
  EXPECT_EQ(t.tsp_count(), 1u);
  EXPECT_EQ(t.node_count(), 1u);
  EXPECT_EQ(t.rack_count(), 1u);
  EXPECT_EQ(t.link_count(), 0u);
  const ChipParams& c = t.chip();
  EXPECT_EQ(c.clock_mhz, 900.0);
  EXPECT_EQ(c.superlanes, 20);
  EXPECT_EQ(c.lanes(), 320);
  EXPECT_EQ(c.streams_per_direction, 32);
  EXPECT_EQ(c.mem_slices_per_hemisphere, 44);
  EXPECT_EQ(c.sram_bytes(), 220LL * 1024 * 1024);  // 220 MiB
  EXPECT_EQ(c.banks_per_slice, 2);
  EXPECT_EQ(c.instruction_queues(), 144);
  EXPECT_EQ(c.mxm_planes, 4);
  EXPECT_EQ(c.vxm_alus_per_lane, 16);
  EXPECT_EQ(c.hac_period_cycles, 256);
  EXPECT_EQ(c.barrier_notify_sync_cycles, 35);
  EXPECT_EQ(c.c2c_ports, 16);
  EXPECT_TRUE(c.op_timing.empty());
  EXPECT_FALSE(t.port_plan().has_value());
  const LinkParams& local = t.link_classes()[0];
  EXPECT_EQ(local.latency_cycles, 217);
  EXPECT_EQ(local.latency_min_cycles, 209);
  EXPECT_EQ(local.latency_max_cycles, 228);
  EXPECT_EQ(local.bandwidth_gbps, 100.0);
  EXPECT_EQ(local.bit_error_rate, 1e-12);
  EXPECT_EQ(local.wire_bytes_per_vector, 328);
  EXPECT_EQ(vector_serialisation_cycles(local, c.clock_mhz), 24);  // 23.6 cycles, rounded up
}

TEST(Loader, ChipTomlSpellsOutTheDefaults) {
  const Topology chip = load_topology(test::topology_path("chip.toml"));
  const Topology minimal = load_topology_from_string("[[tsp]]\n", "chip.toml");
  EXPECT_EQ(chip.name(), "chip");
  EXPECT_EQ(chip.tsp_count(), 1u);
  EXPECT_EQ(chip.digest(), minimal.digest());
}

TEST(Loader, ChipOverridesAndOpTiming) {
  const Topology t = load_topology_from_string(R"(name = "what-if"
[chip]
clock_mhz = 1250
mxm_planes = 2
superlanes = 10
[chip.op_timing.VXM_ADD]
func_delay_cycles = 4
[chip.op_timing."MEM.READ"]
skew_cycles = 0
occupancy_cycles = 2
[[tsp]]
)",
                                               "w.toml");
  EXPECT_EQ(t.name(), "what-if");
  EXPECT_EQ(t.chip().clock_mhz, 1250.0);
  EXPECT_EQ(t.chip().mxm_planes, 2);
  EXPECT_EQ(t.chip().lanes(), 160);
  ASSERT_EQ(t.chip().op_timing.size(), 2u);
  const OpTimingOverride& add = t.chip().op_timing.at("VXM_ADD");
  EXPECT_EQ(add.func_delay_cycles, 4);
  EXPECT_FALSE(add.skew_cycles.has_value());
  EXPECT_FALSE(add.occupancy_cycles.has_value());
  EXPECT_EQ(add.where.to_string(), "w.toml:6:1");  // kept for the ISA layer's name check
  const OpTimingOverride& read = t.chip().op_timing.at("MEM.READ");
  EXPECT_EQ(read.skew_cycles, 0);
  EXPECT_EQ(read.occupancy_cycles, 2);
  EXPECT_NE(t.digest(), load_topology_from_string("[[tsp]]\n", "w.toml").digest());
}

TEST(Loader, LinkValuesResolveFromClassThenLink) {
  const Topology t = load_topology_from_string(R"(
[link_class.global]
latency_cycles = 400
latency_min_cycles = 390
latency_max_cycles = 420
bandwidth_gbps = 50
[[tsp]]
[[tsp]]
[[tsp]]
node = 1
[[link]]
a = { tsp = 0, port = 0 }
b = { tsp = 1, port = 0 }
class = "local"
bit_error_rate = 1e-9
[[link]]
a = { tsp = 1, port = 3 }
b = { tsp = 2, port = 15 }
class = "global"
[[link]]
a = { tsp = 0, port = 1 }
b = { tsp = 2, port = 0 }
class = "global"
latency_cycles = 410
)",
                                               "l.toml");
  ASSERT_EQ(t.link_count(), 3u);
  EXPECT_EQ(t.node_count(), 2u);
  const Link& l0 = t.link(LinkId{0});
  EXPECT_EQ(l0.cls, LinkClass::local);
  EXPECT_EQ(l0.params.latency_cycles, 217);
  EXPECT_EQ(l0.params.bit_error_rate, 1e-9);
  const Link& l1 = t.link(LinkId{1});
  EXPECT_EQ(l1.params.latency_cycles, 400);
  EXPECT_EQ(l1.params.bandwidth_gbps, 50.0);
  EXPECT_EQ(vector_serialisation_cycles(l1.params, 900.0), 48);  // 47.2 -> 48
  EXPECT_EQ(t.link(LinkId{2}).params.latency_cycles, 410);
  EXPECT_EQ(t.link(LinkId{2}).params.latency_max_cycles, 420);
  // Port table.
  EXPECT_EQ(t.link_at(TspId{1}, PortId{3}), LinkId{1});
  EXPECT_EQ(t.link_at(TspId{2}, PortId{15}), LinkId{1});
  EXPECT_FALSE(t.link_at(TspId{2}, PortId{14}).has_value());
  EXPECT_EQ(t.ports_used(TspId{0}), 2);
  EXPECT_EQ(t.link(LinkId{1}).far_end(TspId{2}).tsp, TspId{1});
}

TEST(Loader, PairToml) {
  const Topology t = load_topology(test::topology_path("pair.toml"));
  EXPECT_EQ(t.tsp_count(), 2u);
  ASSERT_EQ(t.link_count(), 1u);
  const Link& l = t.link(LinkId{0});
  EXPECT_EQ(l.a, (Endpoint{TspId{0}, PortId{0}}));
  EXPECT_EQ(l.b, (Endpoint{TspId{1}, PortId{0}}));
  EXPECT_EQ(l.cls, LinkClass::local);
}

TEST(Loader, NodesAndRacksFromTsps) {
  const Topology t = load_topology_from_string(R"(
[[tsp]]
[[tsp]]
node = 1
rack = 1
spare = true
[[tsp]]
node = 2
rack = 1
spare = true
[[tsp]]
node = 1
rack = 1
spare = true
)",
                                               "n.toml");
  ASSERT_EQ(t.node_count(), 3u);
  ASSERT_EQ(t.rack_count(), 2u);
  EXPECT_EQ(t.node(NodeId{1}).tsps, (std::vector<TspId>{TspId{1}, TspId{3}}));
  EXPECT_TRUE(t.node(NodeId{1}).spare);
  EXPECT_FALSE(t.node(NodeId{0}).spare);
  EXPECT_EQ(t.rack(RackId{1}).nodes, (std::vector<NodeId>{NodeId{1}, NodeId{2}}));
  EXPECT_EQ(t.tsp(TspId{3}).rack, RackId{1});
}

TEST(Loader, ResolvedTomlRoundTrips) {
  const Topology t = load_topology_from_string(R"(name = "odd \"name\""
[chip]
c2c_ports = 4
[chip.op_timing.X]
skew_cycles = 3
[link_class.optical]
bit_error_rate = 0.0
[port_plan]
local_ports = 2
global_ports = 2
[[tsp]]
[[tsp]]
[[tsp]]
node = 1
[[link]]
a = { tsp = 1, port = 0 }
b = { tsp = 0, port = 1 }
class = "local"
bandwidth_gbps = 12.5
[[link]]
a = { tsp = 2, port = 3 }
b = { tsp = 0, port = 2 }
class = "optical"
)",
                                               "r.toml");
  const std::string text = topology_to_toml(t);
  const Topology back = load_topology_from_string(text, "resolved.toml");
  EXPECT_EQ(back.digest(), t.digest()) << text;
  EXPECT_EQ(back.name(), t.name());
  EXPECT_EQ(back.link(LinkId{0}).params.bandwidth_gbps, 12.5);
  EXPECT_EQ(back.link(LinkId{1}).params.bit_error_rate, 0.0);
  EXPECT_EQ(back.chip().op_timing.at("X").skew_cycles, 3);
}

TEST(Loader, DigestIgnoresNameAndDescriptionButNotValues) {
  const Topology a = load_topology_from_string("name = \"a\"\n[[tsp]]\n[[tsp]]\n", "a.toml");
  const Topology b =
      load_topology_from_string("name = \"b\"\ndescription = \"x\"\n[[tsp]]\n[[tsp]]\n", "b.toml");
  const Topology c = load_topology_from_string("[[tsp]]\n[[tsp]]\nnode = 1\n", "c.toml");
  const Topology d =
      load_topology_from_string("[chip]\nclock_mhz = 900.5\n[[tsp]]\n[[tsp]]\n", "d.toml");
  EXPECT_EQ(a.digest(), b.digest());
  EXPECT_NE(a.digest(), c.digest());
  EXPECT_NE(a.digest(), d.digest());
}

}  // namespace
}  // namespace tspemu
