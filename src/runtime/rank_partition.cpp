#include "runtime/rank_partition.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "common/error.hpp"
#include "net/mpi_transport.hpp"

namespace tspemu {

RankPartition partition_tsps(const Topology& topology, int ranks,
                             std::optional<std::int64_t> tsps_per_rank) {
  const auto tsps = static_cast<std::int64_t>(topology.tsp_count());
  if (ranks < 1) throw InputError(fmt::format("a job of {} ranks", ranks));
  if (const auto problem = rank_count_problem(ranks, tsps)) throw InputError(*problem);
  RankPartition out;
  out.rank_of_tsp.resize(static_cast<std::size_t>(tsps));
  if (tsps_per_rank) {
    const std::int64_t k = *tsps_per_rank;
    if (k < 1 || k > tsps) {
      throw InputError(
          fmt::format("--tsps-per-rank {} is out of range 1..{} (the topology's TSPs)", k, tsps));
    }
    const std::int64_t needed = (tsps + k - 1) / k;
    if (needed != ranks) {
      throw InputError(fmt::format(
          "--tsps-per-rank {} splits the topology's {} TSPs over {} ranks, but this job has {}: "
          "start it with `mpirun -n {} ...`",
          k, tsps, needed, ranks, needed));
    }
    for (std::int64_t t = 0; t < tsps; ++t) {
      out.rank_of_tsp[static_cast<std::size_t>(t)] = static_cast<int>(t / k);
    }
    out.unit = fmt::format("blocks of --tsps-per-rank {}", k);
    return out;
  }
  // Units in topology order, each a list of TSPs (racks and nodes list theirs ascending).
  std::vector<std::vector<TspId>> units;
  if (static_cast<std::int64_t>(topology.rack_count()) >= ranks) {
    out.unit = "whole racks";
    for (const RackInfo& rack : topology.racks()) {
      auto& unit = units.emplace_back();
      for (const NodeId n : rack.nodes) {
        const auto& node_tsps = topology.node(n).tsps;
        unit.insert(unit.end(), node_tsps.begin(), node_tsps.end());
      }
    }
  } else if (static_cast<std::int64_t>(topology.node_count()) >= ranks) {
    out.unit = "whole nodes";
    for (const NodeInfo& node : topology.nodes()) units.push_back(node.tsps);
  } else {
    out.unit = "contiguous TSPs";
    for (std::int64_t t = 0; t < tsps; ++t) {
      units.push_back({TspId(static_cast<std::int32_t>(t))});
    }
  }
  const auto count = static_cast<std::int64_t>(units.size());
  for (int r = 0; r < ranks; ++r) {
    for (std::int64_t u = r * count / ranks; u < (r + 1) * count / ranks; ++u) {
      for (const TspId t : units[static_cast<std::size_t>(u)]) out.rank_of_tsp[t.index()] = r;
    }
  }
  return out;
}

std::string describe_partition(const RankPartition& partition, int ranks) {
  std::vector<std::int64_t> per_rank(static_cast<std::size_t>(ranks), 0);
  for (const int r : partition.rank_of_tsp) ++per_rank[static_cast<std::size_t>(r)];
  const auto [lo, hi] = std::minmax_element(per_rank.begin(), per_rank.end());
  const std::string tsps = *lo == *hi ? fmt::format("{}", *lo) : fmt::format("{}..{}", *lo, *hi);
  return fmt::format("{} TSPs on {} rank{}: {} TSP{} per rank, {}", partition.rank_of_tsp.size(),
                     ranks, ranks == 1 ? "" : "s", tsps, *hi == 1 ? "" : "s", partition.unit);
}

}  // namespace tspemu
