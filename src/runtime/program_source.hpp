#pragma once
// Loading what `tspemu run` executes: a bundle (.tspb), or an assembly file (.tsa) assembled in
// memory for the run's topology. Either way the result is a Bundle checked against the topology:
// a bundle built for another topology, or a program naming TSPs the topology lacks, is an
// InputError.

#include <filesystem>

#include "isa/bundle.hpp"
#include "isa/chip_shape.hpp"
#include "topo/topology.hpp"

namespace tspemu {

// program_digest: the digest of the program file's bytes (bundle or assembly text) (reports carry
// it so that `tspemu verify` can tell runs of different programs apart).
[[nodiscard]] Bundle load_program_for(const std::filesystem::path& path, const Topology& topology,
                                      const ChipShape& shape, Digest128& program_digest);

}  // namespace tspemu
