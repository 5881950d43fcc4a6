// matmul compiled and run (compile_harness.hpp): seeded shape sweeps, int8 extremes.
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

}  // namespace
}  // namespace tspemu
