// Where the time goes (runtime/profile.hpp): every cycle charged once, to the latest-started active
// op; unit classes summed from a run report.
#include "runtime/profile.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "common/error.hpp"

namespace tspemu {
namespace {

TEST(Profile, EachCycleGoesToTheLatestStartedActiveOp) {
  const std::vector<OpSpan> ops = {{"a", 0, 9}, {"b", 5, 14}, {"fused", -1, -1}, {"c", 20, 24}};
  const auto out = attribute_cycles(ops, 30);
  ASSERT_EQ(out.size(), 3U);
  EXPECT_EQ(out[0].op, "b");  // 5..14
  EXPECT_EQ(out[0].attributed, 10);
  EXPECT_EQ(out[1].op, "a");  // 0..4 (then b started)
  EXPECT_EQ(out[1].attributed, 5);
  EXPECT_EQ(out[2].op, "c");  // 20..24; 15..19 is idle
  EXPECT_EQ(out[2].attributed, 5);
  EXPECT_EQ(out[2].start, 20);
  EXPECT_EQ(out[2].finish, 24);
}

TEST(Profile, NestedAndClippedSpans) {
  // b inside a: a gets the cycles around it; spans past the end are cut at `cycles`.
  const std::vector<OpSpan> ops = {{"a", 0, 99}, {"b", 10, 19}, {"late", 95, 200}};
  const auto out = attribute_cycles(ops, 100);
  Cycle total = 0;
  for (const auto& o : out) total += o.attributed;
  EXPECT_EQ(total, 100);
  EXPECT_EQ(out[0].op, "a");
  EXPECT_EQ(out[0].attributed, 85);  // 0..9, 20..94
  EXPECT_EQ(out[1].op, "b");
  EXPECT_EQ(out[1].attributed, 10);
  EXPECT_EQ(out[2].op, "late");
  EXPECT_EQ(out[2].attributed, 5);  // 95..99
}

// A model card's ops carry their layer: the attribution summed by layer (in layer order, then the
// LM head, then the rest) and by what the ops do (from the kind in their labels).
TEST(Profile, ByLayerAndByPhase) {
  const std::vector<OpSpan> ops = {
      {"op[0] (matmul)", 0, 9, "l0"},        {"op[1] (add 'h')", 10, 14, "l0"},
      {"op[2] (all_reduce)", 15, 19, "l0"},  {"op[3] (broadcast)", 20, 21, "-"},
      {"op[4] (matmul 'q')", 22, 31, "l10"}, {"op[5] (exp)", 32, 33, "l2"},
      {"op[6] (matmul)", 34, 39, "lm_head"}, {"op[7] (cast)", -1, -1, "l2"}};
  const auto attributed = attribute_cycles(ops, 40);
  const auto layers = cycles_by_layer(attributed);
  ASSERT_EQ(layers.size(), 5U);
  EXPECT_EQ(layers[0].name, "l0");
  EXPECT_EQ(layers[0].cycles, 20);
  EXPECT_EQ(layers[0].ops, 3);
  EXPECT_EQ(layers[1].name, "l2");  // numeric order: l2 before l10
  EXPECT_EQ(layers[1].cycles, 2);
  EXPECT_EQ(layers[2].name, "l10");
  EXPECT_EQ(layers[2].cycles, 10);
  EXPECT_EQ(layers[3].name, "lm_head");
  EXPECT_EQ(layers[3].cycles, 6);
  EXPECT_EQ(layers[4].name, "-");
  EXPECT_EQ(layers[4].cycles, 2);
  const auto phases = cycles_by_phase(attributed);
  ASSERT_EQ(phases.size(), 4U);
  EXPECT_EQ(phases[0].name, "matmul");
  EXPECT_EQ(phases[0].cycles, 10 + 10 + 6);
  EXPECT_EQ(phases[1].name, "element-wise");
  EXPECT_EQ(phases[1].cycles, 5 + 2);
  EXPECT_EQ(phases[2].name, "collective");
  EXPECT_EQ(phases[2].cycles, 5);
  EXPECT_EQ(phases[3].name, "pipeline transfer");
  EXPECT_EQ(phases[3].cycles, 2);
  // Graphs that are not models: no layers.
  const std::vector<OpSpan> plain = {{"op[0] (matmul)", 0, 9, ""}};
  EXPECT_TRUE(cycles_by_layer(attribute_cycles(plain, 10)).empty());
}

TEST(Profile, UnitClassesFromARunReport) {
  const auto report = nlohmann::json::parse(R"({"per_tsp": [
    {"units": [{"unit": "MEM_W0", "instructions": 4, "busy_cycles": 4, "utilisation": 0.5},
               {"unit": "VXM3", "instructions": 2, "busy_cycles": 6, "utilisation": 0.25}]},
    {"units": [{"unit": "MEM_E7", "instructions": 2, "busy_cycles": 2, "utilisation": 0.25}]}]})");
  const auto classes = unit_class_busy(report);
  ASSERT_EQ(classes.size(), 6U);
  EXPECT_EQ(classes[0].unit_class, "MEM");
  EXPECT_EQ(classes[0].units, 2);
  EXPECT_EQ(classes[0].instructions, 6);
  EXPECT_EQ(classes[0].busy_cycles, 6);
  EXPECT_DOUBLE_EQ(classes[0].utilisation, 0.375);
  EXPECT_EQ(classes[1].unit_class, "VXM");
  EXPECT_EQ(classes[1].busy_cycles, 6);
  EXPECT_EQ(classes[2].units, 0);  // MXM: none
  EXPECT_THROW((void)unit_class_busy(nlohmann::json::parse(R"({"ops": []})")), InputError);
}

}  // namespace
}  // namespace tspemu
