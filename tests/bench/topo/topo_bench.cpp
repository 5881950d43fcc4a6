// Time to generate, validate and route the 10,440-TSP system (topologies/system-145.toml), in
// parts and together. Target (issue 2): a few seconds on one core. Run with a Release build:
//   cmake -S . -B build/topo-rel -G Ninja -DCMAKE_BUILD_TYPE=Release
//   cmake --build build/topo-rel --target topo_bench && build/topo-rel/tests/bench/topo/topo_bench
#include <benchmark/benchmark.h>

#include <string>

#include "topo/loader.hpp"
#include "topo/routing.hpp"
#include "topo/summary.hpp"

namespace tspemu {
namespace {

const std::string kSystem = std::string(TSPEMU_SOURCE_DIR) + "/topologies/system-145.toml";

// Parse the TOML, expand the generator, validate and assemble (ports, nodes, racks, digest).
void BM_LoadSystem145(benchmark::State& state) {
  for (auto _ : state) {
    Topology t = load_topology(kSystem);
    benchmark::DoNotOptimize(t);
  }
}
BENCHMARK(BM_LoadSystem145)->Unit(benchmark::kMillisecond);

// All-pairs hop distances, TSP and node level (bit-parallel BFS).
void BM_RouteSystem145(benchmark::State& state) {
  const Topology t = load_topology(kSystem);
  for (auto _ : state) {
    Routing r(t);
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_RouteSystem145)->Unit(benchmark::kMillisecond);

// Hop and equal-cost-next-hop histograms over all 109 M ordered pairs.
void BM_RoutingStatsSystem145(benchmark::State& state) {
  const Topology t = load_topology(kSystem);
  const Routing r(t);
  for (auto _ : state) {
    RoutingStats s = compute_routing_stats(r);
    benchmark::DoNotOptimize(s);
  }
}
BENCHMARK(BM_RoutingStatsSystem145)->Unit(benchmark::kMillisecond);

// Everything `tspemu topo topologies/system-145.toml` does before printing.
void BM_GenerateValidateRouteSystem145(benchmark::State& state) {
  for (auto _ : state) {
    const Topology t = load_topology(kSystem);
    const Routing r(t);
    TopologySummary s = summarize(t, r);
    benchmark::DoNotOptimize(s);
  }
}
BENCHMARK(BM_GenerateValidateRouteSystem145)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace tspemu
