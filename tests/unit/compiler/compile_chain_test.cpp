// Chains of ops compiled and run (compile_harness.hpp).
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

// ---- op chains
// -----------------------------------------------------------------------------------

// An MLP-like chain: matmul, cast of the fp32 result to fp16, row-broadcast bias, relu, a second
// matmul with K = 333 (the cast/add/relu outputs' padding lanes feed the MXM).
TEST(CompileChain, TwoLayerMlp) {
  compile_and_check(R"(
[graph]
seed = 81

[[tensor]]
name = "x"
shape = [17, 321]
dtype = "fp16"
placement = {tsp = 0}
init = {recipe = "uniform", lo = -1.0, hi = 1.0}

[[tensor]]
name = "w1"
shape = [321, 333]
dtype = "fp16"
placement = {tsp = 0}
init = {recipe = "uniform", lo = -0.25, hi = 0.25}

[[tensor]]
name = "b1"
shape = [1, 333]
dtype = "fp16"
placement = {tsp = 0}
init = {recipe = "uniform", lo = -0.5, hi = 0.5}

[[tensor]]
name = "w2"
shape = [333, 7]
dtype = "fp16"
placement = {tsp = 0}
init = {recipe = "uniform", lo = -0.25, hi = 0.25}

[[op]]
kind = "matmul"
inputs = ["x", "w1"]
output = "h32"

[[op]]
kind = "cast"
inputs = ["h32"]
output = "h16"
dtype = "fp16"

[[op]]
kind = "add"
inputs = ["h16", "b1"]
output = "hb"

[[op]]
kind = "relu"
inputs = ["hb"]
output = "hr"

[[op]]
kind = "matmul"
inputs = ["hr", "w2"]
output = "y"

[outputs]
names = ["h32", "hr", "y"]
)",
                    chip_topology());
}

// Softmax along axis 1 built from exp/rsqrt as docs/graph-format.md writes it, on a narrow
// [S, S] score matrix (reduce and broadcast along the last axis of a small shard).
TEST(CompileChain, SoftmaxWithoutADivide) {
  compile_and_check(R"(
[graph]
seed = 82

[[tensor]]
name = "s"
shape = [6, 6]
dtype = "fp16"
placement = {tsp = 0}
init = {recipe = "uniform", lo = -4.0, hi = 4.0}

[[op]]
kind = "reduce"
inputs = ["s"]
output = "m"
op = "max"
axis = 1

[[op]]
kind = "sub"
inputs = ["s", "m"]
output = "d"

[[op]]
kind = "exp"
inputs = ["d"]
output = "e"

[[op]]
kind = "reduce"
inputs = ["e"]
output = "z"
op = "sum"
axis = 1

[[op]]
kind = "rsqrt"
inputs = ["z"]
output = "r"

[[op]]
kind = "mul"
inputs = ["r", "r"]
output = "r2"

[[op]]
kind = "mul"
inputs = ["e", "r2"]
output = "p"

[outputs]
names = ["m", "z", "p"]
)",
                    chip_topology());
}

// Rank-3 broadcasting in the middle axis.
TEST(CompileChain, Rank3Broadcast) {
  compile_and_check(R"(
[graph]
seed = 83

[[tensor]]
name = "a"
shape = [2, 3, 333]
dtype = "int16"
placement = {tsp = 0}
init = {recipe = "uniform", lo = -32768, hi = 32767}

[[tensor]]
name = "b"
shape = [2, 1, 333]
dtype = "int16"
placement = {tsp = 0}
init = {recipe = "uniform", lo = -32768, hi = 32767}

[[op]]
kind = "add"
inputs = ["a", "b"]
output = "ab"
saturate = true

[[op]]
kind = "max"
inputs = ["b", "a"]
output = "ba"

[outputs]
names = ["ab", "ba"]
)",
                    chip_topology());
}

// A small 2-D transpose of the last axis (GATHER / PERMUTE / SCATTER), followed by an op so that
// the SCATTER is not the run's last activity (see the disabled test below).
TEST(CompileChain, SmallTransposeThenCompute) {
  for (const std::string_view dtype : {"int8", "fp16", "fp32"}) {
    SCOPED_TRACE(std::string(dtype));
    compile_and_check(fmt::format(R"(
[graph]
seed = 84

[[tensor]]
name = "t"
shape = [5, 100]
dtype = "{}"
placement = {{tsp = 0}}
init = {{recipe = "uniform", lo = -100, hi = 100}}

[[op]]
kind = "transpose"
inputs = ["t"]
output = "tt"

[[op]]
kind = "abs"
inputs = ["tt"]
output = "a"

[outputs]
names = ["tt", "a"]
)",
                                  dtype),
                      chip_topology());
  }
}

// A SCATTER as the program's last activity: a timing-only run must end at the same cycle as the
// full run (the engine once dropped the timing-only SCATTER's landing, ending 2 cycles early).
TEST(CompileChain, TransposeOfTheLastAxisAsTheLastOp) {
  compile_and_check(R"(
[[tensor]]
name = "t"
shape = [1, 1]
dtype = "int8"
placement = {tsp = 0}
init = {recipe = "uniform", lo = -1, hi = 1}

[[op]]
kind = "transpose"
inputs = ["t"]
output = "tt"

[outputs]
names = ["tt"]
)",
                    chip_topology());
}

// The same through a reduce along the last axis (it transposes through SCATTER).
TEST(CompileChain, ReduceAlongTheLastAxisAsTheLastOp) {
  compile_and_check(R"(
[[tensor]]
name = "s"
shape = [6, 100]
dtype = "fp32"
placement = {tsp = 0}
init = {recipe = "uniform", lo = -4.0, hi = 4.0}

[[op]]
kind = "reduce"
inputs = ["s"]
output = "m"
op = "sum"
axis = 1

[outputs]
names = ["m"]
)",
                    chip_topology());
}

}  // namespace
}  // namespace tspemu
