// Collectives on an 8-TSP node compiled and run (compile_harness.hpp).
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
#include "topo/loader.hpp"

namespace tspemu {
namespace {

// ---- collectives on an 8-TSP node ---------------------------------------------------------------

TEST(CompileCollective, SendAndBroadcast) {
  compile_and_check(R"(
[graph]
seed = 71

[[tensor]]
name = "x"
shape = [3, 333]
dtype = "fp16"
placement = {tsp = 2}
init = {recipe = "uniform", lo = -1.0, hi = 1.0}

[[tensor]]
name = "y"
shape = [2, 320]
dtype = "int32"
placement = {tsp = 5}
init = {recipe = "uniform", lo = -2147483648, hi = 2147483647}

[[op]]
kind = "send"
inputs = ["x"]
output = "x_on_6"
to = 6

[[op]]
kind = "broadcast"
inputs = ["y"]
output = "y_all"
to = "0..7"

[[op]]
kind = "broadcast"
inputs = ["x"]
output = "x_some"
to = [0, 2, 3]

[outputs]
names = ["x_on_6", "y_all", "x_some"]
)",
                    node_topology());
}

// A pipeline hand-off: a tensor replicated over TSPs 0..3 (as after an all_reduce) moves to the
// next stage's TSPs 4..7 and to one TSP; the copy on TSP 0 crosses the links, and a TSP of `to`
// that holds a copy keeps it.
TEST(CompileCollective, SendAndBroadcastOfAReplicatedTensor) {
  compile_and_check(R"(
[graph]
seed = 74

[[tensor]]
name = "h"
shape = [2, 333]
dtype = "fp32"
placement = {tsps = "0..3"}
init = {recipe = "uniform", lo = -1.0, hi = 1.0}

[[op]]
kind = "add"
inputs = ["h", "h"]
output = "h2"

[[op]]
kind = "broadcast"
inputs = ["h2"]
output = "h_next"
to = "4..7"

[[op]]
kind = "broadcast"
inputs = ["h2"]
output = "h_overlap"
to = [2, 3, 6]

[[op]]
kind = "send"
inputs = ["h2"]
output = "h_on_5"
to = 5

[outputs]
names = ["h_next", "h_overlap", "h_on_5"]
)",
                    node_topology());
}

TEST(CompileCollective, AllGatherAxis0) {
  compile_and_check(R"(
[graph]
seed = 72

[[tensor]]
name = "x"
shape = [2, 333]
dtype = "fp32"
placement = {node = 0, per_tsp = true}
init = {recipe = "uniform", lo = -1.0, hi = 1.0}

[[tensor]]
name = "s"
shape = [16, 320]
dtype = "int8"
placement = {node = 0, split_axis = 0}
init = {recipe = "uniform", lo = -128, hi = 127}

[[op]]
kind = "all_gather"
inputs = ["x"]
output = "gx"
axis = 0

[[op]]
kind = "all_gather"
inputs = ["s"]
output = "gs"
axis = 0

[outputs]
names = ["gx", "gs"]
)",
                    node_topology());
}

TEST(CompileCollective, AllReduceSum) {
  compile_and_check(R"(
[graph]
seed = 73

[[tensor]]
name = "f"
shape = [3, 333]
dtype = "fp32"
placement = {node = 0, per_tsp = true}
init = {recipe = "uniform", lo = -1.0e6, hi = 1.0e6}

[[tensor]]
name = "i"
shape = [2, 321]
dtype = "int32"
placement = {node = 0, per_tsp = true}
init = {recipe = "uniform", lo = -2147483648, hi = 2147483647}

[[op]]
kind = "all_reduce"
inputs = ["f"]
output = "f_sum"
op = "sum"

[[op]]
kind = "all_reduce"
inputs = ["i"]
output = "i_sum"
op = "sum"

[[op]]
kind = "all_reduce"
inputs = ["i"]
output = "i_sat"
op = "sum"
saturate = true

[outputs]
names = ["f_sum", "i_sum", "i_sat"]
)",
                    node_topology());
}

TEST(CompileCollective, ReduceScatterAxis0) {
  compile_and_check(R"(
[graph]
seed = 74

[[tensor]]
name = "f"
shape = [16, 333]
dtype = "fp32"
placement = {node = 0, per_tsp = true}
init = {recipe = "uniform", lo = -1.0, hi = 1.0}

[[tensor]]
name = "i"
shape = [8, 320]
dtype = "int32"
placement = {node = 0, per_tsp = true}
init = {recipe = "uniform", lo = -2147483648, hi = 2147483647}

[[op]]
kind = "reduce_scatter"
inputs = ["f"]
output = "f_rs"
axis = 0

[[op]]
kind = "reduce_scatter"
inputs = ["i"]
output = "i_rs"
axis = 0
saturate = true

[outputs]
names = ["f_rs", "i_rs"]
)",
                    node_topology());
}

// all_reduce with max and min, fp16 and int8.
TEST(CompileCollective, AllReduceMaxMin) {
  compile_and_check(R"(
[graph]
seed = 75

[[tensor]]
name = "h"
shape = [2, 333]
dtype = "fp16"
placement = {node = 0, per_tsp = true}
init = {recipe = "uniform", lo = -100.0, hi = 100.0}

[[tensor]]
name = "b"
shape = [1, 320]
dtype = "int8"
placement = {node = 0, per_tsp = true}
init = {recipe = "uniform", lo = -128, hi = 127}

[[op]]
kind = "all_reduce"
inputs = ["h"]
output = "h_max"
op = "max"

[[op]]
kind = "all_reduce"
inputs = ["b"]
output = "b_min"
op = "min"

[[op]]
kind = "all_reduce"
inputs = ["b"]
output = "b_sat"
op = "sum"
saturate = true

[outputs]
names = ["h_max", "b_min", "b_sat"]
)",
                    node_topology());
}

// Distributed matmuls: B split by columns (no reduction), and K split with an all_reduce of the
// int32 partial products.
TEST(CompileCollective, SplitMatmuls) {
  compile_and_check(R"(
[graph]
seed = 76

[[tensor]]
name = "a"
shape = [3, 100]
dtype = "fp16"
placement = {node = 0}
init = {recipe = "uniform", lo = -1.0, hi = 1.0}

[[tensor]]
name = "b"
shape = [100, 2560]
dtype = "fp16"
placement = {node = 0, split_axis = 1}
init = {recipe = "uniform", lo = -1.0, hi = 1.0}

[[tensor]]
name = "x"
shape = [5, 640]
dtype = "int8"
placement = {node = 0, split_axis = 1}
init = {recipe = "uniform", lo = -128, hi = 127}

[[tensor]]
name = "w"
shape = [640, 333]
dtype = "int8"
placement = {node = 0, split_axis = 0}
init = {recipe = "uniform", lo = -128, hi = 127}

[[op]]
kind = "matmul"
inputs = ["a", "b"]
output = "cols"

[[op]]
kind = "matmul"
inputs = ["x", "w"]
output = "partial"

[[op]]
kind = "all_reduce"
inputs = ["partial"]
output = "y"

[outputs]
names = ["cols", "y"]
)",
                    node_topology());
}

// The hierarchical all_reduce over a rack's 72 TSPs.
TEST(CompileCollective, RackAllReduce) {
  static const Topology rack = load_topology(source_path("topologies/rack.toml"));
  compile_and_check(R"(
[graph]
seed = 77

[[tensor]]
name = "x"
shape = [1, 320]
dtype = "fp32"
placement = {rack = 0, per_tsp = true}
init = {recipe = "uniform", lo = -1.0, hi = 1.0}

[[op]]
kind = "all_reduce"
inputs = ["x"]
output = "sum"

[outputs]
names = ["sum"]
)",
                    rack);
}

// Compute on received tensors: send, then an op on the receiver; replicated elementwise over a
// TSP subset; all_gather along the last axis of 320-wide shards.
TEST(CompileCollective, ComputeAfterMoving) {
  compile_and_check(R"(
[graph]
seed = 78

[[tensor]]
name = "x"
shape = [2, 333]
dtype = "fp32"
placement = {tsp = 1}
init = {recipe = "uniform", lo = -1.0, hi = 1.0}

[[tensor]]
name = "r"
shape = [2, 333]
dtype = "fp32"
placement = {tsps = [4, 7]}
init = {recipe = "uniform", lo = -1.0, hi = 1.0}

[[tensor]]
name = "g"
shape = [2, 320]
dtype = "int16"
placement = {node = 0, per_tsp = true}
init = {recipe = "uniform", lo = -32768, hi = 32767}

[[op]]
kind = "exp"
inputs = ["x"]
output = "ex"

[[op]]
kind = "send"
inputs = ["ex"]
output = "ex7"
to = 7

[[op]]
kind = "tanh"
inputs = ["ex7"]
output = "t7"

[[op]]
kind = "mul"
inputs = ["r", "r"]
output = "rr"

[[op]]
kind = "all_gather"
inputs = ["g"]
output = "gg"
axis = 1

[outputs]
names = ["t7", "rr", "gg"]
)",
                    node_topology());
}

}  // namespace
}  // namespace tspemu
