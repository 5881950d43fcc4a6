#pragma once
// Minimal routes over a topology: all-pairs hop distances, the equal-cost next hops between any two
// TSPs, and the same at node level (nodes as the Dragonfly's virtual routers). Computed once here
// and reused by the compiler (placement, send schedules) and the runtime (reports).
//
// Cost: an n x n byte matrix of hop counts (10,440 TSPs: 109 MB), filled by bit-parallel BFS, 64
// sources per sweep (well under a second for 10,440 TSPs on one core in a release build). Next hops
// are derived from the matrix on demand: neighbour u of s is a next hop toward d iff
// dist(u, d) == dist(s, d) - 1, so no per-pair tables are stored.
//
// Links are full duplex, so the graph is undirected and dist(s, d) == dist(d, s). Several links
// between the same two TSPs count as one edge for distances; next_hop_links() lists each of them.

#include <cstdint>
#include <span>
#include <vector>

#include "common/ids.hpp"
#include "topo/topology.hpp"

namespace tspemu {

// distance() of two TSPs (or nodes) in different components.
inline constexpr std::uint8_t kUnreachable = 255;
// Longest path the byte matrix can hold; a longer one is an InputError at construction.
inline constexpr int kMaxRoutedHops = 254;

class Routing {
 public:
  // Computes all-pairs distances for TSPs and for nodes. Throws InputError if a shortest path is
  // longer than kMaxRoutedHops.
  explicit Routing(const Topology& topology);

  [[nodiscard]] std::size_t tsp_count() const { return tsp_count_; }
  [[nodiscard]] std::size_t node_count() const { return node_count_; }

  // Hops from s to d (0 if s == d), or kUnreachable.
  [[nodiscard]] std::uint8_t distance(TspId s, TspId d) const {
    return dist_[s.index() * tsp_count_ + d.index()];
  }
  // Row s of the matrix: distance(s, d) for every d.
  [[nodiscard]] std::span<const std::uint8_t> distances_from(TspId s) const {
    return {dist_.data() + s.index() * tsp_count_, tsp_count_};
  }
  // Distinct TSPs joined to s by at least one link, ascending.
  [[nodiscard]] std::span<const TspId> neighbours(TspId s) const {
    return {adjacency_.data() + offsets_[s.index()], offsets_[s.index() + 1] - offsets_[s.index()]};
  }

  // The equal-cost next hops from s toward d on minimal routes, ascending; empty if s == d or d is
  // unreachable.
  [[nodiscard]] std::vector<TspId> next_hops(TspId s, TspId d) const;
  // The links of s that lead to those next hops (every parallel link), by ascending LinkId.
  [[nodiscard]] std::vector<LinkId> next_hop_links(TspId s, TspId d) const;
  // One minimal route s .. d (both included), taking the lowest-numbered next hop at each step;
  // empty if d is unreachable.
  [[nodiscard]] std::vector<TspId> minimal_path(TspId s, TspId d) const;

  // Node level: nodes are vertices, joined when any link joins TSPs of the two nodes.
  [[nodiscard]] std::uint8_t node_distance(NodeId a, NodeId b) const {
    return node_dist_[a.index() * node_count_ + b.index()];
  }
  [[nodiscard]] std::span<const std::uint8_t> node_distances_from(NodeId a) const {
    return {node_dist_.data() + a.index() * node_count_, node_count_};
  }
  [[nodiscard]] std::span<const NodeId> node_neighbours(NodeId a) const {
    return {node_adjacency_.data() + node_offsets_[a.index()],
            node_offsets_[a.index() + 1] - node_offsets_[a.index()]};
  }

 private:
  struct IncidentLink {
    LinkId link;
    TspId neighbour;
  };

  std::size_t tsp_count_ = 0;
  std::vector<std::size_t> offsets_;  // CSR over distinct neighbours
  std::vector<TspId> adjacency_;
  std::vector<std::size_t> link_offsets_;  // CSR over incident links, by LinkId
  std::vector<IncidentLink> incident_;
  std::vector<std::uint8_t> dist_;  // tsp_count_^2, row-major

  std::size_t node_count_ = 0;
  std::vector<std::size_t> node_offsets_;
  std::vector<NodeId> node_adjacency_;
  std::vector<std::uint8_t> node_dist_;
};

// Hop-count statistics of one level (TSP or node) over ordered pairs (s, d), s != d.
struct HopStats {
  int diameter = 0;  // longest shortest path among reachable pairs (0 for a single vertex)
  // hop_histogram[h] = ordered pairs at distance h; hop_histogram[0] is always 0 (s == d excluded).
  std::vector<std::uint64_t> hop_histogram;
  std::uint64_t reachable_pairs = 0;
  std::uint64_t unreachable_pairs = 0;
  double mean_hops = 0.0;  // over reachable pairs; 0 if there are none
  [[nodiscard]] bool connected() const { return unreachable_pairs == 0; }
};

struct RoutingStats {
  HopStats tsp;
  HopStats node;
  // ecmp_width_histogram[w] = reachable ordered TSP pairs with w equal-cost next hops.
  std::vector<std::uint64_t> ecmp_width_histogram;
  // Sum of the widths: the entries of a full equal-cost routing table (next-hop TSPs).
  std::uint64_t next_hop_entries = 0;
};

// One pass over the matrix, row by row (the inner loops are byte compares and adds over a row,
// which the compiler vectorises).
[[nodiscard]] RoutingStats compute_routing_stats(const Routing& routing);

}  // namespace tspemu
