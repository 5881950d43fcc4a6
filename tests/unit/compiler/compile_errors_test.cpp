// What the lowering refuses, with exact messages, and the lane ops it accepts
// (compile_harness.hpp).
#include "compile_harness.hpp"
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "compiler/compile.hpp"
#include "compiler/graph_loader.hpp"
#include "compiler/reference_eval.hpp"

namespace tspemu {
namespace {

// ---- what the lowering refuses: exact messages
// ---------------------------------------------------

// A graph on tsp 0 of `topology` with tensor `a` ([shape] dtype, zeros; per_tsp over the node on
// a multi-TSP topology) and one op `a` -> `b` with the given extra keys.
std::string one_op_graph(std::string_view shape, std::string_view dtype, std::string_view kind,
                         std::string_view keys, bool per_tsp = false) {
  return fmt::format(R"(
[[tensor]]
name = "a"
shape = {}
dtype = "{}"
placement = {}
init = {{recipe = "zero"}}

[[op]]
kind = "{}"
inputs = ["a"]
output = "b"
{}

[outputs]
names = ["b"]
)",
                     shape, dtype, per_tsp ? "{node = 0, per_tsp = true}" : "{tsp = 0}", kind,
                     keys);
}

TEST(CompileErrors, ReshapeAcrossLanes) {
  EXPECT_EQ(
      compile_error(one_op_graph("[4, 6]", "fp16", "reshape", "shape = [6, 4]"), chip_topology()),
      "g.toml:9:1: op[0] (reshape): reshape from [4, 6] to [6, 4] (it moves elements between "
      "lanes; the last dimension must stay, or both be multiples of 320) is not supported by the "
      "lowering");
}

// Lane moves larger than one 320 x 320 block go block by block (they were refused before the
// tiled transpose): wide, tall and batched shards of seeded data, bit-exact and with predicted ==
// emulated cycles.
std::string lane_op_graph(std::string_view shape, std::string_view dtype, std::string_view op) {
  const bool floating = dtype == "fp16" || dtype == "fp32";
  return fmt::format(R"(
[[tensor]]
name = "a"
shape = {}
dtype = "{}"
placement = {{tsp = 0}}
init = {{recipe = "uniform", lo = {}, hi = {}}}

[[op]]
inputs = ["a"]
output = "b"
{}

[outputs]
names = ["b"]
)",
                     shape, dtype, floating ? "-2.0" : "-50", floating ? "2.0" : "50", op);
}

TEST(CompileChain, ReduceAlongTheLastAxisOfWideAndTallShards) {
  compile_and_check(lane_op_graph("[2, 333]", "fp32", "kind = \"reduce\"\nop = \"sum\"\naxis = 1"),
                    chip_topology());
  compile_and_check(lane_op_graph("[330, 7]", "int16", "kind = \"reduce\"\nop = \"max\"\naxis = 1"),
                    chip_topology());
}

TEST(CompileChain, TransposeOfTheLastAxisOfWideTallAndBatchedShards) {
  compile_and_check(lane_op_graph("[2, 400]", "int8", "kind = \"transpose\""), chip_topology());
  compile_and_check(lane_op_graph("[333, 5]", "fp16", "kind = \"transpose\""), chip_topology());
  compile_and_check(lane_op_graph("[2, 3, 4]", "fp32", "kind = \"transpose\"\nperm = [0, 2, 1]"),
                    chip_topology());
}

TEST(CompileErrors, SliceAlongTheLastAxisFromAnUnalignedStart) {
  EXPECT_EQ(
      compile_error(one_op_graph("[2, 400]", "int16", "slice", "axis = 1\nstart = 5\nend = 400"),
                    chip_topology()),
      "g.toml:9:1: op[0] (slice): slice along the last axis from a start that is not a multiple of "
      "320 is not supported by the lowering");
}

TEST(CompileErrors, ConcatAlongTheLastAxisOfNarrowInputs) {
  EXPECT_EQ(compile_error(R"(
[[tensor]]
name = "a"
shape = [2, 100]
dtype = "fp16"
placement = {tsp = 0}
init = {recipe = "zero"}

[[op]]
kind = "concat"
inputs = ["a", "a"]
output = "b"
axis = 1

[outputs]
names = ["b"]
)",
                          chip_topology()),
            "g.toml:9:1: op[0] (concat): concat along the last axis of inputs whose width is not a "
            "multiple of 320 (it moves elements between lanes) is not supported by the lowering");
}

TEST(CompileErrors, AllGatherAlongTheLastAxisOfNarrowShards) {
  EXPECT_EQ(compile_error(one_op_graph("[2, 100]", "fp32", "all_gather", "axis = 1", true),
                          node_topology()),
            "g.toml:9:1: op[0] (all_gather): all_gather along the last axis of shards whose width "
            "is not a multiple of 320 is not supported by the lowering");
}

TEST(CompileErrors, ReduceScatterAlongTheLastAxis) {
  EXPECT_EQ(compile_error(one_op_graph("[2, 2560]", "fp32", "reduce_scatter", "axis = 1", true),
                          node_topology()),
            "g.toml:9:1: op[0] (reduce_scatter): reduce_scatter along the last axis (lanes) is not "
            "supported by the lowering");
}

}  // namespace
}  // namespace tspemu
