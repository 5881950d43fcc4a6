// What `tspemu topo` prints, as JSON and as text.
#include "topo/summary.hpp"

#include "test_util.hpp"
#include <gtest/gtest.h>

namespace tspemu {
namespace {

TEST(Summary, RackJson) {
  const Topology t = load_topology(test::topology_path("rack.toml"));
  const Routing r(t);
  const nlohmann::ordered_json j = summary_to_json(summarize(t, r));
  EXPECT_EQ(j["name"], "rack");
  EXPECT_EQ(j["digest"], t.digest().hex());
  EXPECT_EQ(j["tsps"], 72);
  EXPECT_EQ(j["nodes"], 9);
  EXPECT_EQ(j["spare_nodes"], 1);
  EXPECT_EQ(j["racks"], 1);
  EXPECT_EQ(j["links"], 324);
  EXPECT_EQ(j["links_by_class"]["local"], 252);
  EXPECT_EQ(j["links_by_class"]["global"], 72);
  EXPECT_EQ(j["links_by_class"]["optical"], 0);
  EXPECT_EQ(j["c2c_ports"], 16);
  ASSERT_EQ(j["ports_used_per_tsp"].size(), 17u);
  EXPECT_EQ(j["ports_used_per_tsp"][9], 72);
  EXPECT_EQ(j["port_plan"]["global_free"], 144);
  EXPECT_EQ(j["port_plan"]["global_used"], 144);
  EXPECT_EQ(j["port_plan"]["local_free"], 0);
  EXPECT_EQ(j["diameter"], 3);
  EXPECT_EQ(j["hop_histogram"], nlohmann::ordered_json({0, 648, 1944, 2520}));
  EXPECT_EQ(j["connected"], true);
  EXPECT_EQ(j["node_diameter"], 1);
  EXPECT_EQ(j["routing"]["reachable_pairs"], 5112);
  EXPECT_EQ(j["routing"]["ecmp_width_min"], 1);
  EXPECT_EQ(j["routing"]["ecmp_width_max"], 5);
  EXPECT_EQ(j["routing"]["next_hop_entries"], 10224);
}

TEST(Summary, ChipJsonHasNoPortPlanAndNoPairs) {
  const Topology t = load_topology(test::topology_path("chip.toml"));
  const nlohmann::ordered_json j = summary_to_json(summarize(t, Routing(t)));
  EXPECT_EQ(j["tsps"], 1);
  EXPECT_EQ(j["links"], 0);
  EXPECT_EQ(j["diameter"], 0);
  EXPECT_TRUE(j["port_plan"].is_null());
  EXPECT_EQ(j["routing"]["ecmp_width_max"], 0);
}

TEST(Summary, RackText) {
  const Topology t = load_topology(test::topology_path("rack.toml"));
  const std::string text = summary_to_text(summarize(t, Routing(t)));
  EXPECT_NE(text.find("TSPs       72 in 9 nodes (1 spare) in 1 rack\n"), std::string::npos) << text;
  EXPECT_NE(text.find("links      324: 252 local, 72 global, 0 optical\n"), std::string::npos);
  EXPECT_NE(text.find("ports used per TSP: 9 on 72 TSPs\n"), std::string::npos);
  EXPECT_NE(text.find("global ports 144 used, 144 free\n"), std::string::npos);
  EXPECT_NE(text.find("diameter   3 hops between TSPs (mean 2.366); 1 hop between nodes"),
            std::string::npos);
}

}  // namespace
}  // namespace tspemu
