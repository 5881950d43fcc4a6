#pragma once
// Which MPI rank emulates which TSP when a job has fewer ranks than the machine has TSPs.
//
// Default: contiguous blocks of the largest unit there are at least as many of as ranks: whole
// racks if the job has at most one rank per rack, else whole nodes if at most one per node, else
// single TSPs; the units are dealt out evenly in topology order (rank r gets units
// floor(r * U / R) .. floor((r + 1) * U / R) - 1). Keeping nodes and racks whole keeps their
// dense intra-node and intra-rack traffic inside a process, where it is a memory copy.
// `--tsps-per-rank K` instead gives rank r the TSPs r * K .. r * K + K - 1 (the last rank fewer),
// and needs a job of exactly ceil(N / K) ranks.
//
// The partition never reaches results: a run's digest is the same for every partition, --local
// and one rank per TSP (tested in tests/e2e/compiler: every node and rack graph at several
// partitions).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "topo/topology.hpp"

namespace tspemu {

struct RankPartition {
  std::vector<int> rank_of_tsp;  // per TSP
  std::string unit;              // "whole racks", "whole nodes", "contiguous TSPs" or "blocks of
                                 // --tsps-per-rank K", for the summary
};

// Throws InputError if the job has more ranks than TSPs, or if tsps_per_rank is < 1 or implies
// another rank count.
[[nodiscard]] RankPartition partition_tsps(const Topology& topology, int ranks,
                                           std::optional<std::int64_t> tsps_per_rank);

// "72 TSPs on 8 ranks: 1 rack (72 TSPs) per rank" and the like.
[[nodiscard]] std::string describe_partition(const RankPartition& partition, int ranks);

}  // namespace tspemu
