// Element-wise ops and casts compiled and run (compile_harness.hpp).
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

// ---- element-wise binary ops -------------------------------------------------------------------

constexpr std::string_view kBinaryGraph = R"(
[graph]
seed = 21

[[tensor]]
name = "a"
shape = [5, 333]
dtype = "{dtype}"
placement = {{tsp = 0}}
init = {{recipe = "uniform", lo = {lo}, hi = {hi}}}

[[tensor]]
name = "b"
shape = [5, 333]
dtype = "{dtype}"
placement = {{tsp = 0}}
init = {{recipe = "uniform", lo = {lo}, hi = {hi}}}

[[tensor]]
name = "row"
shape = [1, 333]
dtype = "{dtype}"
placement = {{tsp = 0}}
init = {{recipe = "uniform", lo = {lo}, hi = {hi}}}

[[op]]
kind = "add"
inputs = ["a", "b"]
output = "add"

[[op]]
kind = "sub"
inputs = ["a", "b"]
output = "sub"

[[op]]
kind = "mul"
inputs = ["a", "b"]
output = "mul"

[[op]]
kind = "min"
inputs = ["a", "b"]
output = "min"

[[op]]
kind = "max"
inputs = ["a", "b"]
output = "max"

[[op]]
kind = "add"
inputs = ["a", "row"]
output = "add_row"

[[op]]
kind = "sub"
inputs = ["row", "b"]
output = "row_sub"

[[op]]
kind = "mul"
inputs = ["row", "a"]
output = "row_mul"

[[op]]
kind = "max"
inputs = ["a", "row"]
output = "max_row"

{saturating}
[outputs]
names = ["add", "sub", "mul", "min", "max", "add_row", "row_sub", "row_mul", "max_row"{sat_names}]
)";

constexpr std::string_view kSaturatingOps = R"(
[[op]]
kind = "add"
inputs = ["a", "b"]
output = "add_sat"
saturate = true

[[op]]
kind = "sub"
inputs = ["a", "b"]
output = "sub_sat"
saturate = true

[[op]]
kind = "mul"
inputs = ["a", "b"]
output = "mul_sat"
saturate = true

[[op]]
kind = "sub"
inputs = ["a", "row"]
output = "sub_row_sat"
saturate = true
)";

void binary_ops(std::string_view dtype, std::string_view lo, std::string_view hi) {
  SCOPED_TRACE(std::string(dtype));
  const bool integer = dtype.starts_with("int");
  const std::string text = fmt::format(
      kBinaryGraph, fmt::arg("dtype", dtype), fmt::arg("lo", lo), fmt::arg("hi", hi),
      fmt::arg("saturating", integer ? kSaturatingOps : ""),
      fmt::arg("sat_names",
               integer ? ", \"add_sat\", \"sub_sat\", \"mul_sat\", \"sub_row_sat\"" : ""));
  compile_and_check(text, chip_topology());
}

TEST(CompileElementwise, BinaryInt8) {
  binary_ops("int8", "-128", "127");
}
TEST(CompileElementwise, BinaryInt16) {
  binary_ops("int16", "-32768", "32767");
}
TEST(CompileElementwise, BinaryInt32) {
  binary_ops("int32", "-2147483648", "2147483647");
}
TEST(CompileElementwise, BinaryFp16) {
  binary_ops("fp16", "-60000.0", "60000.0");
}
TEST(CompileElementwise, BinaryFp32) {
  binary_ops("fp32", "-1.0e30", "1.0e30");
}

// Special values: NaN, infinities, signed zeros, subnormals through add/min/max.
TEST(CompileElementwise, Fp16SpecialValues) {
  compile_and_check(R"(
[[tensor]]
name = "a"
shape = [1, 8]
dtype = "fp16"
placement = {tsp = 0}
init = {bits = [0x7c00, 0xfc00, 0x0000, 0x8000, 0x7e01, 0x0001, 0x3c00, 0x7bff]}

[[tensor]]
name = "b"
shape = [1, 8]
dtype = "fp16"
placement = {tsp = 0}
init = {bits = [0xfc00, 0xfc00, 0x8000, 0x0000, 0x3c00, 0x8001, 0x7e00, 0x7bff]}

[[op]]
kind = "add"
inputs = ["a", "b"]
output = "s"

[[op]]
kind = "min"
inputs = ["a", "b"]
output = "lo"

[[op]]
kind = "max"
inputs = ["a", "b"]
output = "hi"

[[op]]
kind = "mul"
inputs = ["a", "b"]
output = "p"

[outputs]
names = ["s", "lo", "hi", "p"]
)",
                    chip_topology());
}

// ---- unary ops, and a matmul that reads exp/neg/rsqrt outputs (padding lanes cleaned)
// ------------

TEST(CompileUnary, FloatUnaryOps) {
  for (const std::string_view dtype : {"fp16", "fp32"}) {
    SCOPED_TRACE(std::string(dtype));
    compile_and_check(fmt::format(R"(
[[tensor]]
name = "x"
shape = [3, 333]
dtype = "{0}"
placement = {{tsp = 0}}
init = {{recipe = "uniform", lo = -8.0, hi = 8.0}}

[[op]]
kind = "neg"
inputs = ["x"]
output = "neg"

[[op]]
kind = "abs"
inputs = ["x"]
output = "abs"

[[op]]
kind = "relu"
inputs = ["x"]
output = "relu"

[[op]]
kind = "tanh"
inputs = ["x"]
output = "tanh"

[[op]]
kind = "exp"
inputs = ["x"]
output = "exp"

[[op]]
kind = "rsqrt"
inputs = ["abs"]
output = "rsqrt"

[outputs]
names = ["neg", "abs", "relu", "tanh", "exp", "rsqrt"]
)",
                                  dtype),
                      chip_topology());
  }
}

TEST(CompileUnary, IntegerUnaryOps) {
  for (const auto& [dtype, lo, hi] :
       {std::tuple{"int8", "-128", "127"}, std::tuple{"int16", "-32768", "32767"},
        std::tuple{"int32", "-2147483648", "2147483647"}}) {
    SCOPED_TRACE(dtype);
    compile_and_check(fmt::format(R"(
[[tensor]]
name = "x"
shape = [4, 321]
dtype = "{0}"
placement = {{tsp = 0}}
init = {{recipe = "uniform", lo = {1}, hi = {2}}}

[[op]]
kind = "neg"
inputs = ["x"]
output = "neg"

[[op]]
kind = "abs"
inputs = ["x"]
output = "abs"

[[op]]
kind = "relu"
inputs = ["x"]
output = "relu"

[outputs]
names = ["neg", "abs", "relu"]
)",
                                  dtype, lo, hi),
                      chip_topology());
  }
}

// exp(+0) = 1, neg(+0) = -0 and rsqrt(+0) = inf in the lanes beyond K: the matmul must not see
// them (K = 100 and 330: one partial vector, and a full one plus a partial one).
TEST(CompileUnary, MatmulAfterExpNegRsqrtCleansPadding) {
  for (const int k : {100, 330}) {
    SCOPED_TRACE(k);
    compile_and_check(fmt::format(R"(
[graph]
seed = 31

[[tensor]]
name = "x"
shape = [3, {0}]
dtype = "fp16"
placement = {{tsp = 0}}
init = {{recipe = "uniform", lo = -2.0, hi = 2.0}}

[[tensor]]
name = "pos"
shape = [3, {0}]
dtype = "fp16"
placement = {{tsp = 0}}
init = {{recipe = "uniform", lo = 0.25, hi = 4.0}}

[[tensor]]
name = "w"
shape = [{0}, 40]
dtype = "fp16"
placement = {{tsp = 0}}
init = {{recipe = "uniform", lo = -1.0, hi = 1.0}}

[[op]]
kind = "exp"
inputs = ["x"]
output = "e"

[[op]]
kind = "neg"
inputs = ["x"]
output = "n"

[[op]]
kind = "rsqrt"
inputs = ["pos"]
output = "r"

[[op]]
kind = "matmul"
inputs = ["e", "w"]
output = "ew"

[[op]]
kind = "matmul"
inputs = ["n", "w"]
output = "nw"

[[op]]
kind = "matmul"
inputs = ["r", "w"]
output = "rw"

[outputs]
names = ["ew", "nw", "rw"]
)",
                                  k),
                      chip_topology());
  }
}

// ---- casts -------------------------------------------------------------------------------------

// Every target from one source dtype: a wide uniform tensor, and for floats the special values
// (ties, -0, NaN, infinities, out of every integer range).
void casts_from(std::string_view from, std::string_view init, std::string_view specials) {
  SCOPED_TRACE(std::string(from));
  const std::string_view all[] = {"int8", "int16", "int32", "fp16", "fp32"};
  std::string ops;
  std::string names;
  const bool from_int = from.starts_with("int");
  for (const std::string_view to : all) {
    if (to == from) continue;
    ops += fmt::format(R"(
[[op]]
kind = "cast"
inputs = ["a"]
output = "a_{0}"
dtype = "{0}"
)",
                       to);
    names += fmt::format("\"a_{}\", ", to);
    if (!specials.empty()) {
      ops += fmt::format(R"(
[[op]]
kind = "cast"
inputs = ["s"]
output = "s_{0}"
dtype = "{0}"
)",
                         to);
      names += fmt::format("\"s_{}\", ", to);
    }
    if (from_int && to.starts_with("int")) {
      ops += fmt::format(R"(
[[op]]
kind = "cast"
inputs = ["a"]
output = "sat_{0}"
dtype = "{0}"
saturate = true
)",
                         to);
      names += fmt::format("\"sat_{}\", ", to);
    }
  }
  names.resize(names.size() - 2);
  std::string text = fmt::format(R"(
[graph]
seed = 41

[[tensor]]
name = "a"
shape = [3, 333]
dtype = "{}"
placement = {{tsp = 0}}
init = {}
)",
                                 from, init);
  if (!specials.empty()) {
    text += fmt::format(R"(
[[tensor]]
name = "s"
shape = [1, 16]
dtype = "{}"
placement = {{tsp = 0}}
init = {}
)",
                        from, specials);
  }
  text += ops + "\n[outputs]\nnames = [" + names + "]\n";
  compile_and_check(text, chip_topology());
}

TEST(CompileCast, FromInt8) {
  casts_from("int8", R"({recipe = "uniform", lo = -128, hi = 127})", "");
}
TEST(CompileCast, FromInt16) {
  casts_from("int16", R"({recipe = "uniform", lo = -32768, hi = 32767})", "");
}
TEST(CompileCast, FromInt32) {
  casts_from("int32", R"({recipe = "uniform", lo = -2147483648, hi = 2147483647})", "");
}
TEST(CompileCast, FromFp16) {
  casts_from("fp16", R"({recipe = "uniform", lo = -65000.0, hi = 65000.0})",
             "{values = [2.5, -0.5, 0.5, -2.5, 127.5, -128.5, 200.0, -40000.0, nan, inf, -inf, "
             "-0.0, 6.0e-8, 65504.0, 1.5, -1.5]}");
}
TEST(CompileCast, FromFp32) {
  casts_from("fp32", R"({recipe = "uniform", lo = -3.0e9, hi = 3.0e9})",
             "{values = [2.5, -0.5, 0.5, -2.5, 32767.5, -32768.5, 2147483648.0, -3.0e9, nan, inf, "
             "-inf, -0.0, 1.0e-45, 65520.0, 65519.0, 1.0e-8]}");
}

}  // namespace
}  // namespace tspemu
