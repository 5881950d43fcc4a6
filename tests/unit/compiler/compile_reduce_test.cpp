// Reductions compiled and run (compile_harness.hpp).
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

// ---- reductions along axis 0 (and a middle axis)
// --------------------------------------------------

TEST(CompileReduce, Rank2AndRank3) {
  for (const auto& [dtype, lo, hi, sat] :
       {std::tuple{"int8", "-128", "127", true},
        std::tuple{"int32", "-2147483648", "2147483647", true},
        std::tuple{"fp16", "-100.0", "100.0", false}, std::tuple{"fp32", "-1.0", "1.0", false}}) {
    SCOPED_TRACE(dtype);
    std::string text = fmt::format(R"(
[graph]
seed = 51

[[tensor]]
name = "m"
shape = [7, 333]
dtype = "{0}"
placement = {{tsp = 0}}
init = {{recipe = "uniform", lo = {1}, hi = {2}}}

[[tensor]]
name = "t"
shape = [3, 4, 330]
dtype = "{0}"
placement = {{tsp = 0}}
init = {{recipe = "uniform", lo = {1}, hi = {2}}}
)",
                                   dtype, lo, hi);
    std::string names;
    for (const std::string_view op : {"sum", "max", "min"}) {
      text += fmt::format(R"(
[[op]]
kind = "reduce"
inputs = ["m"]
output = "m_{0}"
op = "{0}"
axis = 0

[[op]]
kind = "reduce"
inputs = ["t"]
output = "t0_{0}"
op = "{0}"
axis = 0

[[op]]
kind = "reduce"
inputs = ["t"]
output = "t1_{0}"
op = "{0}"
axis = 1
)",
                          op);
      names += fmt::format("\"m_{0}\", \"t0_{0}\", \"t1_{0}\", ", op);
    }
    if (sat) {
      text += R"(
[[op]]
kind = "reduce"
inputs = ["m"]
output = "m_sat"
op = "sum"
axis = 0
saturate = true

[[op]]
kind = "reduce"
inputs = ["t"]
output = "t_sat"
op = "sum"
axis = 0
saturate = true
)";
      names += "\"m_sat\", \"t_sat\", ";
    }
    names.resize(names.size() - 2);
    text += "\n[outputs]\nnames = [" + names + "]\n";
    compile_and_check(text, chip_topology());
  }
}

// The left fold from x[0]: fp16 [2048, 1, 1] sums to 2048, [1, 1, 2048] to 2050; -0 rows stay -0.
TEST(CompileReduce, Fp16FoldOrder) {
  compile_and_check(R"(
[[tensor]]
name = "x"
shape = [3, 3]
dtype = "fp16"
placement = {tsp = 0}
init = {values = [2048.0, 1.0, -0.0, 1.0, 1.0, -0.0, 1.0, 2048.0, -0.0]}

[[op]]
kind = "reduce"
inputs = ["x"]
output = "s"
op = "sum"
axis = 0

[outputs]
names = ["s"]
)",
                    chip_topology());
}

}  // namespace
}  // namespace tspemu
