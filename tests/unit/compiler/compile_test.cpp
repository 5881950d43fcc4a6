// The graph compiler end to end (compiler/compile.hpp): graphs compiled in process, their bundles
// run (one TSP: an Engine on the TSP's program; several: the run driver with the in-process
// transport, as `tspemu compile` verifies), and for every graph
//   (1) every declared output is bit-exact against the reference evaluator (check_outputs),
//   (2) the run's cycle count equals the compiler's prediction exactly,
//   (3) a timing-only run takes the same number of cycles.
// Plus the exact messages of what the lowering refuses.
#include "compiler/compile.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "chip/engine.hpp"
#include "chip/kokkos_session.hpp"
#include "common/error.hpp"
#include "compiler/graph_loader.hpp"
#include "compiler/reference_eval.hpp"
#include "net/local_transport.hpp"
#include "runtime/driver.hpp"
#include "runtime/run.hpp"
#include "topo/chip_config.hpp"
#include "topo/loader.hpp"

namespace tspemu {
namespace {

std::string source_path(std::string_view relative) {
  return std::string(TSPEMU_SOURCE_DIR) + "/" + std::string(relative);
}

const Topology& chip_topology() {
  static const Topology t = load_topology(source_path("topologies/chip.toml"));
  return t;
}

const Topology& node_topology() {
  static const Topology t = load_topology(source_path("topologies/node.toml"));
  return t;
}

struct RunOutcome {
  Cycle cycles = 0;
  std::vector<EmulatedOutput> outputs;
};

// Runs a compiled bundle on every TSP of `topology`. One TSP: a lone Engine (no network);
// several: RunDriver + LocalTransport (compile_command.cpp's verification run).
RunOutcome run_compiled(const CompileOutput& out, const Topology& topology, bool timing_only) {
  ensure_kokkos_initialized();
  const ChipConfig chip = chip_config_from_params(topology.chip());
  RunOutcome outcome;
  if (topology.tsp_count() == 1) {
    EXPECT_EQ(out.bundle.program.tsps.size(), 1U);
    EngineOptions options;
    options.timing_only = timing_only;
    options.hac_period_cycles = topology.chip().hac_period_cycles;
    Engine engine(out.bundle.program.tsps.at(0), chip, options);
    const RunResult result = engine.run();
    outcome.cycles = result.cycles;
    if (!timing_only) outcome.outputs = extract_tsp_outputs(out.record, TspId{0}, result.outputs);
    return outcome;
  }
  LocalTransport transport(network_layout_of(topology));
  DriverOptions options;
  options.timing_only = timing_only;
  RunDriver driver(topology, chip, out.bundle, transport, options);
  const DriverOutcome result = driver.run();
  outcome.cycles = result.final_cycle + 1;
  if (!timing_only) {
    for (const TspOutcome& t : result.local) {
      for (auto& o : extract_tsp_outputs(out.record, t.tsp, t.result.outputs)) {
        outcome.outputs.push_back(std::move(o));
      }
    }
  }
  return outcome;
}

// Loads, compiles and runs `text` (as file "g.toml") and checks (1) to (3). Returns the stats.
CompileStats compile_and_check(std::string_view text, const Topology& topology) {
  const Graph graph = load_graph_from_string(text, "g.toml", topology);
  const CompileOutput out = compile_graph(graph, topology);
  EXPECT_EQ(out.record.predicted_cycles, out.stats.predicted_cycles);

  const RunOutcome full = run_compiled(out, topology, false);
  const CheckResult check = check_outputs(out.record, full.outputs);
  EXPECT_TRUE(check.passed) << check.mismatch;
  EXPECT_EQ(check.mismatch, "");
  // Every shard of every declared output was produced and compared.
  std::int64_t shards = 0;
  for (const TensorValue& v : evaluate(graph).outputs) {
    shards += static_cast<std::int64_t>(v.shards.size());
  }
  EXPECT_EQ(check.shards, shards);
  EXPECT_EQ(static_cast<std::int64_t>(full.outputs.size()), shards);

  EXPECT_EQ(full.cycles, out.stats.predicted_cycles);
  const RunOutcome timing = run_compiled(out, topology, true);
  EXPECT_EQ(timing.cycles, out.stats.predicted_cycles);
  return out.stats;
}

// The what() of the ScheduleError compiling `text` throws, or a marker.
std::string compile_error(std::string_view text, const Topology& topology) {
  const Graph graph = load_graph_from_string(text, "g.toml", topology);
  try {
    (void)compile_graph(graph, topology);
  } catch (const ScheduleError& e) {
    return e.what();
  } catch (const Error& e) {
    return std::string("<other error> ") + e.what();
  }
  return "<no error>";
}

// ---- matmul ------------------------------------------------------------------------------------

constexpr std::string_view kMatmulGraph = R"(
[graph]
seed = {seed}

[[tensor]]
name = "a"
shape = [{m}, {k}]
dtype = "{dtype}"
placement = {{tsp = 0}}
init = {{recipe = "uniform", lo = {lo}, hi = {hi}}}

[[tensor]]
name = "b"
shape = [{k}, {n}]
dtype = "{dtype}"
placement = {{tsp = 0}}
init = {{recipe = "uniform", lo = {lo}, hi = {hi}}}

[[op]]
kind = "matmul"
inputs = ["a", "b"]
output = "c"

[outputs]
names = ["c"]
)";

struct MatmulShape {
  std::int64_t m = 0;
  std::int64_t k = 0;
  std::int64_t n = 0;
};

std::uint64_t splitmix64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// A deterministic selection of 16 from K x N x M: K cycles through its list, N and M drawn by
// SplitMix64, so that every value of each list is covered (checked below) without the full cross
// product.
std::vector<MatmulShape> matmul_shapes(std::uint64_t seed) {
  const std::int64_t ks[] = {1, 5, 320, 321, 700};
  const std::int64_t ns[] = {1, 320, 333, 700};
  const std::int64_t ms[] = {1, 3, 17};
  std::vector<MatmulShape> shapes;
  std::uint64_t state = seed;
  for (int i = 0; i < 16; ++i) {
    const std::int64_t k = ks[i % 5];
    // The first four pick N in order so each N is covered; the first three pick M likewise.
    const std::int64_t n = i < 4 ? ns[i] : ns[splitmix64(state) % 4];
    const std::int64_t m = i < 3 ? ms[i] : ms[splitmix64(state) % 3];
    shapes.push_back({m, k, n});
  }
  return shapes;
}

std::string matmul_graph(const MatmulShape& s, std::string_view dtype, std::uint64_t seed) {
  const bool int8 = dtype == "int8";
  return fmt::format(kMatmulGraph, fmt::arg("seed", seed), fmt::arg("m", s.m), fmt::arg("k", s.k),
                     fmt::arg("n", s.n), fmt::arg("dtype", dtype),
                     fmt::arg("lo", int8 ? "-128" : "-2.0"), fmt::arg("hi", int8 ? "127" : "2.0"));
}

void sweep_matmul(std::string_view dtype, std::uint64_t seed) {
  const auto shapes = matmul_shapes(seed);
  for (const MatmulShape& s : shapes) {
    SCOPED_TRACE(fmt::format("{} [{}, {}] x [{}, {}]", dtype, s.m, s.k, s.k, s.n));
    const CompileStats stats = compile_and_check(matmul_graph(s, dtype, seed), chip_topology());
    EXPECT_GT(stats.abc_plane_cycles, 0);
    EXPECT_EQ(stats.mxm_planes, 4);
    EXPECT_EQ(stats.tsps_used, 1);
  }
}

TEST(CompileMatmul, SelectionCoversEveryDimension) {
  for (const std::uint64_t seed : {11U, 12U}) {
    const auto shapes = matmul_shapes(seed);
    for (const std::int64_t k : {1, 5, 320, 321, 700}) {
      EXPECT_TRUE(std::any_of(shapes.begin(), shapes.end(), [&](auto& s) { return s.k == k; }));
    }
    for (const std::int64_t n : {1, 320, 333, 700}) {
      EXPECT_TRUE(std::any_of(shapes.begin(), shapes.end(), [&](auto& s) { return s.n == n; }));
    }
    for (const std::int64_t m : {1, 3, 17}) {
      EXPECT_TRUE(std::any_of(shapes.begin(), shapes.end(), [&](auto& s) { return s.m == m; }));
    }
  }
}

TEST(CompileMatmul, Int8Sweep) {
  sweep_matmul("int8", 11);
}

TEST(CompileMatmul, Fp16Sweep) {
  sweep_matmul("fp16", 12);
}

// Extremes: every product -128 x -128, K = 700 (exact int32 sum 11468800).
TEST(CompileMatmul, Int8Extremes) {
  compile_and_check(R"(
[[tensor]]
name = "a"
shape = [3, 700]
dtype = "int8"
placement = {tsp = 0}
init = {recipe = "uniform", lo = -128, hi = -128}

[[tensor]]
name = "b"
shape = [700, 333]
dtype = "int8"
placement = {tsp = 0}
init = {recipe = "uniform", lo = -128, hi = -127}

[[op]]
kind = "matmul"
inputs = ["a", "b"]
output = "c"

[outputs]
names = ["c"]
)",
                    chip_topology());
}

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
