// Data movement compiled and run (compile_harness.hpp), and the harness itself.
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
#include "runtime/run.hpp"

namespace tspemu {
namespace {

// ---- data movement that keeps the last axis -----------------------------------------------------

TEST(CompileMovement, ReshapeSliceConcatTranspose) {
  compile_and_check(R"(
[graph]
seed = 61

[[tensor]]
name = "a"
shape = [2, 3, 333]
dtype = "fp16"
placement = {tsp = 0}
init = {recipe = "uniform", lo = -4.0, hi = 4.0}

[[tensor]]
name = "b"
shape = [4, 640]
dtype = "int32"
placement = {tsp = 0}
init = {recipe = "uniform", lo = -1000, hi = 1000}

[[tensor]]
name = "c"
shape = [2, 640]
dtype = "int32"
placement = {tsp = 0}
init = {recipe = "uniform", lo = -1000, hi = 1000}

[[op]]
kind = "reshape"
inputs = ["a"]
output = "flat"
shape = [6, 333]

[[op]]
kind = "reshape"
inputs = ["flat"]
output = "back"
shape = [3, 2, 333]

[[op]]
kind = "transpose"
inputs = ["a"]
output = "swapped"
perm = [1, 0, 2]

[[op]]
kind = "slice"
inputs = ["a"]
output = "mid"
axis = 1
start = 1
end = 3

[[op]]
kind = "slice"
inputs = ["flat"]
output = "rows"
axis = 0
start = 2
end = 5

[[op]]
kind = "slice"
inputs = ["b"]
output = "tail"
axis = 1
start = 320
end = 500

[[op]]
kind = "concat"
inputs = ["b", "c", "b"]
output = "tall"
axis = 0

[[op]]
kind = "concat"
inputs = ["c", "c"]
output = "wide"
axis = 1

[outputs]
names = ["flat", "back", "swapped", "mid", "rows", "tail", "tall", "wide"]
)",
                    chip_topology());
}

// The same moves on computed tensors, and computing on moved ones.
TEST(CompileMovement, OfComputedTensors) {
  const CompileStats stats = compile_and_check(R"(
[graph]
seed = 62

[[tensor]]
name = "a"
shape = [2, 3, 333]
dtype = "fp16"
placement = {tsp = 0}
init = {recipe = "uniform", lo = -4.0, hi = 4.0}

[[tensor]]
name = "b"
shape = [3, 640]
dtype = "int32"
placement = {tsp = 0}
init = {recipe = "uniform", lo = -1000, hi = 1000}

[[op]]
kind = "neg"
inputs = ["a"]
output = "na"

[[op]]
kind = "reshape"
inputs = ["na"]
output = "flat"
shape = [6, 333]

[[op]]
kind = "transpose"
inputs = ["na"]
output = "swapped"
perm = [1, 0, 2]

[[op]]
kind = "slice"
inputs = ["swapped"]
output = "mid"
axis = 0
start = 1
end = 2

[[op]]
kind = "concat"
inputs = ["na", "a"]
output = "both"
axis = 0

[[op]]
kind = "add"
inputs = ["both", "both"]
output = "twice"

[[op]]
kind = "abs"
inputs = ["b"]
output = "ab"

[[op]]
kind = "slice"
inputs = ["ab"]
output = "right"
axis = 1
start = 320
end = 640

[[op]]
kind = "concat"
inputs = ["right", "ab"]
output = "wide"
axis = 1

[[op]]
kind = "sub"
inputs = ["wide", "wide"]
output = "zero"

[outputs]
names = ["flat", "swapped", "mid", "both", "twice", "right", "wide", "zero"]
)",
                                               chip_topology());
  EXPECT_GT(stats.predicted_cycles, 0);
}

// The harness itself: a changed output byte makes check_outputs fail with the first difference.
TEST(CompileHarness, ACorruptedOutputFailsTheCheck) {
  const Graph graph = load_graph_from_string(R"(
[[tensor]]
name = "a"
shape = [2, 3]
dtype = "int8"
placement = {tsp = 0}
init = {values = [1, 2, 3, 4, 5, 6]}

[[op]]
kind = "add"
inputs = ["a", "a"]
output = "b"

[outputs]
names = ["b"]
)",
                                             "g.toml", chip_topology());
  const CompileOutput out = compile_graph(graph, chip_topology());
  RunOutcome run = run_compiled(out, chip_topology(), false);
  ASSERT_EQ(run.outputs.size(), 1U);
  EXPECT_EQ(run.outputs[0].bytes, (std::vector<std::uint8_t>{2, 4, 6, 8, 10, 12}));
  EXPECT_TRUE(check_outputs(out.record, run.outputs).passed);
  run.outputs[0].bytes[4] = 11;
  const CheckResult check = check_outputs(out.record, run.outputs);
  EXPECT_FALSE(check.passed);
  EXPECT_EQ(check.mismatch,
            "output 'b' element [1, 1] on tsp 0: expected 0x0a (10), got 0x0b (11)");
}

}  // namespace
}  // namespace tspemu
