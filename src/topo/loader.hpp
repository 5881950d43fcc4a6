#pragma once
// Loading a topology TOML (format: topologies/README.md, which lists every key with type, default,
// unit and range). Strict: an unknown key, a wrong type, a value out of range, a port used twice, a
// link to a missing TSP or to a port the chip does not have, a self-loop, inconsistent node/rack
// membership: each throws InputError located at file:line:column with the dotted key, e.g.
//   rack.toml:12:18: link_class.local.latency_cycles: value -3 is out of range [1, 1000000000]
//   rack.toml:9:1: unknown key 'latncy_cycles' in [link_class.local] (did you mean ...?)

#include <filesystem>
#include <string>
#include <string_view>

#include "topo/topology.hpp"

namespace tspemu {

// Reads and validates a topology file. Errors name the path as given.
[[nodiscard]] Topology load_topology(const std::filesystem::path& path);

// The same from text; `name_for_errors` stands for the file in messages, and its stem is the
// topology's name unless the text sets `name`.
[[nodiscard]] Topology load_topology_from_string(std::string_view text,
                                                 const std::string& name_for_errors);

// The explicit, fully resolved form of a topology (every chip parameter, class defaults, every TSP
// and link with the values that differ from its class): what a run writes next to its results.
// Loading it gives a topology with the same digest.
[[nodiscard]] std::string topology_to_toml(const Topology& topology);

}  // namespace tspemu
