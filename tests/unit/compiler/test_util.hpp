#pragma once
// Helpers shared by the compiler tests: topologies, loading graphs from text, reading shards.

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "common/numerics/half.hpp"
#include "compiler/graph_loader.hpp"
#include "compiler/reference_eval.hpp"
#include "topo/loader.hpp"

namespace tspemu::test {

inline std::string source_path(std::string_view relative) {
  return std::string(TSPEMU_SOURCE_DIR) + "/" + std::string(relative);
}

// One TSP, default chip.
inline const Topology& chip_topology() {
  static const Topology t = load_topology_from_string("[[tsp]]\n", "chip.toml");
  return t;
}

// The shipped 8-TSP node.
inline const Topology& node_topology() {
  static const Topology t = load_topology(source_path("topologies/node.toml"));
  return t;
}

inline Graph load(std::string_view text, const Topology& topology = node_topology()) {
  return load_graph_from_string(text, "g.toml", topology);
}

// The full what() of the InputError that loading `text` (as file "g.toml") throws, or a marker.
inline std::string load_error(std::string_view text, const Topology& topology = node_topology()) {
  try {
    (void)load_graph_from_string(text, "g.toml", topology);
  } catch (const InputError& e) {
    return e.what();
  }
  return "<no error>";
}

template <class T>
std::vector<T> values_of(const std::vector<std::uint8_t>& bytes) {
  std::vector<T> v(bytes.size() / sizeof(T));
  if (!bytes.empty()) std::memcpy(v.data(), bytes.data(), bytes.size());
  return v;
}

template <class T>
std::vector<T> values_of(const Shard& shard) {
  return values_of<T>(shard.bytes);
}

inline std::vector<std::uint16_t> half_bits(const Shard& shard) {
  return values_of<std::uint16_t>(shard.bytes);
}

inline std::vector<std::uint32_t> float_bits(const Shard& shard) {
  return values_of<std::uint32_t>(shard.bytes);
}

// Evaluates `text` and returns output `name`.
inline TensorValue eval_output(std::string_view text, std::string_view name,
                               const Topology& topology = node_topology()) {
  const EvalResult r = evaluate(load(text, topology));
  const TensorValue* v = r.find(name);
  if (v == nullptr) throw RuntimeError("test: no output named " + std::string(name));
  return *v;
}

}  // namespace tspemu::test
