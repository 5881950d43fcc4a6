// libFuzzer target: the topology loader (TOML; topo/loader.hpp). Seeds: topologies/.
#include "fuzz_support.hpp"

#include "topo/loader.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  tspemu::fuzz::accept_or_refuse([&] {
    (void)tspemu::load_topology_from_string(tspemu::fuzz::text_of(data, size), "fuzz.toml");
  });
  return 0;
}
