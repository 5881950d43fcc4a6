// Loads a topology through the installed library: proves headers, libraries and the package's
// dependency lookups are all usable from outside the build tree.
#include <cstdio>

#include "topo/loader.hpp"

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  const tspemu::Topology topology = tspemu::load_topology(argv[1]);
  std::printf("consumer: %zu tsps, digest %s\n", topology.tsps().size(),
              topology.digest().hex().c_str());
  return 0;
}
