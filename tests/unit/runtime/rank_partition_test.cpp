// Which rank emulates which TSP when a job has fewer ranks than TSPs (runtime/rank_partition.hpp):
// whole racks, else whole nodes, else contiguous TSPs, dealt out evenly; or --tsps-per-rank blocks.
#include "runtime/rank_partition.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/error.hpp"
#include "topo/loader.hpp"

namespace tspemu {
namespace {

const Topology& topology(const std::string& name) {
  static const Topology node =
      load_topology(std::string(TSPEMU_SOURCE_DIR) + "/topologies/node.toml");
  static const Topology rack =
      load_topology(std::string(TSPEMU_SOURCE_DIR) + "/topologies/rack.toml");
  static const Topology system =
      load_topology(std::string(TSPEMU_SOURCE_DIR) + "/topologies/system-8.toml");
  return name == "node" ? node : name == "rack" ? rack : system;
}

// Ranks of TSPs first .. first + count - 1, or -1 if they differ.
int rank_of_range(const RankPartition& p, int first, int count) {
  const int r = p.rank_of_tsp.at(static_cast<std::size_t>(first));
  for (int t = first; t < first + count; ++t) {
    if (p.rank_of_tsp.at(static_cast<std::size_t>(t)) != r) return -1;
  }
  return r;
}

std::string error_of(const Topology& t, int ranks, std::optional<std::int64_t> per_rank) {
  try {
    (void)partition_tsps(t, ranks, per_rank);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

TEST(RankPartition, OneRankPerTspIsTheIdentity) {
  const RankPartition p = partition_tsps(topology("node"), 8, std::nullopt);
  EXPECT_EQ(p.rank_of_tsp, (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7}));
  EXPECT_EQ(describe_partition(p, 8), "8 TSPs on 8 ranks: 1 TSP per rank, contiguous TSPs");
}

TEST(RankPartition, FewerRanksThanRacksGetWholeRacks) {
  const RankPartition p = partition_tsps(topology("system"), 8, std::nullopt);
  for (int r = 0; r < 8; ++r) EXPECT_EQ(rank_of_range(p, 72 * r, 72), r);
  EXPECT_EQ(describe_partition(p, 8), "576 TSPs on 8 ranks: 72 TSPs per rank, whole racks");
  // 3 ranks over 8 racks: racks 0-1, 2-4, 5-7.
  const RankPartition q = partition_tsps(topology("system"), 3, std::nullopt);
  EXPECT_EQ(rank_of_range(q, 0, 144), 0);
  EXPECT_EQ(rank_of_range(q, 144, 216), 1);
  EXPECT_EQ(rank_of_range(q, 360, 216), 2);
  EXPECT_EQ(describe_partition(q, 3), "576 TSPs on 3 ranks: 144..216 TSPs per rank, whole racks");
}

TEST(RankPartition, MoreRanksThanRacksGetWholeNodes) {
  // A rack's 9 nodes over 2 ranks: nodes 0-3 and 4-8.
  const RankPartition p = partition_tsps(topology("rack"), 2, std::nullopt);
  EXPECT_EQ(rank_of_range(p, 0, 32), 0);
  EXPECT_EQ(rank_of_range(p, 32, 40), 1);
  const RankPartition q = partition_tsps(topology("system"), 72, std::nullopt);
  for (int r = 0; r < 72; ++r) EXPECT_EQ(rank_of_range(q, 8 * r, 8), r);
  EXPECT_EQ(describe_partition(q, 72), "576 TSPs on 72 ranks: 8 TSPs per rank, whole nodes");
}

TEST(RankPartition, MoreRanksThanNodesSplitNodesEvenly) {
  const RankPartition p = partition_tsps(topology("node"), 3, std::nullopt);
  EXPECT_EQ(p.rank_of_tsp, (std::vector<int>{0, 0, 1, 1, 1, 2, 2, 2}));
  EXPECT_EQ(describe_partition(p, 3), "8 TSPs on 3 ranks: 2..3 TSPs per rank, contiguous TSPs");
}

TEST(RankPartition, TspsPerRankGivesFixedBlocks) {
  const RankPartition p = partition_tsps(topology("node"), 3, 3);
  EXPECT_EQ(p.rank_of_tsp, (std::vector<int>{0, 0, 0, 1, 1, 1, 2, 2}));
  EXPECT_EQ(describe_partition(p, 3),
            "8 TSPs on 3 ranks: 2..3 TSPs per rank, blocks of --tsps-per-rank 3");
}

TEST(RankPartition, Errors) {
  EXPECT_EQ(error_of(topology("node"), 9, std::nullopt),
            "the topology has 8 TSPs but this job has 9 ranks: tspemu runs one or more TSPs per "
            "MPI rank, so start it with at most 8 ranks (`mpirun -n 8 ...` or fewer, or `srun "
            "--mpi=pmix -n 8 ...`)");
  EXPECT_EQ(error_of(topology("node"), 2, 3),
            "--tsps-per-rank 3 splits the topology's 8 TSPs over 3 ranks, but this job has 2: "
            "start it with `mpirun -n 3 ...`");
  EXPECT_EQ(error_of(topology("node"), 1, 9),
            "--tsps-per-rank 9 is out of range 1..8 (the topology's TSPs)");
}

}  // namespace
}  // namespace tspemu
