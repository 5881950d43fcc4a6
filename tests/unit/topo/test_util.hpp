#pragma once
// Helpers shared by the topology tests.

#include <string>
#include <string_view>

#include "common/error.hpp"
#include "topo/loader.hpp"

namespace tspemu::test {

// The shipped topology file `name` (e.g. "rack.toml").
inline std::string topology_path(std::string_view name) {
  return std::string(TSPEMU_SOURCE_DIR) + "/topologies/" + std::string(name);
}

// The full what() of the InputError that loading `text` (as file "t.toml") throws, or a marker.
inline std::string load_error(std::string_view text) {
  try {
    (void)load_topology_from_string(text, "t.toml");
  } catch (const InputError& e) {
    return e.what();
  }
  return "<no error>";
}

}  // namespace tspemu::test
