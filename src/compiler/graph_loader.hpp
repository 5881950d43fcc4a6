#pragma once
// Loading a tensor graph (.toml; format and every message: docs/graph-format.md). Strict: unknown
// keys, ops or dtypes, wrong types, shape or dtype mismatches, a placement on a TSP (node, rack)
// the topology lacks, a dtype an op does not support, duplicate names, a tensor used before the op
// that produces it, cycles: each throws InputError located at file:line:column with the dotted
// key, e.g.
//   g.toml:14:10: op[1].inputs: matmul inner dimensions differ: 'a' is [64, 700], 'b' is [640, 400]
//   g.toml:6:13: tensor[0].placement.tsp: tsp 9 is not in topology 'node' (TSPs 0..7)

#include <filesystem>
#include <string>
#include <string_view>

#include "compiler/graph.hpp"
#include "topo/topology.hpp"

namespace tspemu {

// Reads and validates a graph file against `topology` (placements must name its TSPs). `init =
// {file = ...}` paths are relative to the graph file's directory. Errors name the path as given.
[[nodiscard]] Graph load_graph(const std::filesystem::path& path, const Topology& topology);

// The same from text; `name_for_errors` stands for the file in messages (and its stem is the
// graph's name unless [graph] name is set); init files are looked up relative to `base_dir`.
[[nodiscard]] Graph load_graph_from_string(std::string_view text,
                                           const std::string& name_for_errors,
                                           const Topology& topology,
                                           const std::filesystem::path& base_dir = {});

}  // namespace tspemu
