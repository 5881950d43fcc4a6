// libFuzzer target: the tensor-graph loader (TOML; compiler/graph_loader.hpp) against the 8-TSP
// node. Seeds: programs/graphs/. Init files are looked up in an empty directory.
#include "fuzz_support.hpp"

#include <filesystem>

#include "compiler/graph_loader.hpp"
#include "topo/loader.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const tspemu::Topology node =
      tspemu::load_topology(std::filesystem::path(TSPEMU_SOURCE_DIR) / "topologies/node.toml");
  static const std::filesystem::path empty = [] {
    const auto dir = std::filesystem::temp_directory_path() / "tspemu_fuzz_graph";
    std::filesystem::create_directories(dir);
    return dir;
  }();
  tspemu::fuzz::accept_or_refuse([&] {
    (void)tspemu::load_graph_from_string(tspemu::fuzz::text_of(data, size), "fuzz.toml", node,
                                         empty);
  });
  return 0;
}
