#include "topo/routing.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <bit>

#include "common/error.hpp"
#include "common/memory_budget.hpp"

namespace tspemu {
namespace {

// Hop counts between all pairs of an undirected graph given as CSR (offsets, adjacency), n x n
// bytes. Bit-parallel BFS: one sweep runs 64 sources at once, bit i of a vertex's mask standing for
// source base + i; a level ORs the neighbours' frontier masks. Since the graph is undirected, the
// distance from source s to v is stored in row v (column s), which keeps each write burst inside
// one 64-byte span of a row.
template <class Id>
std::vector<std::uint8_t> all_pairs_hops(std::size_t n, const std::vector<std::size_t>& offsets,
                                         const std::vector<Id>& adjacency, std::string_view what) {
  std::vector<std::uint8_t> dist(n * n, kUnreachable);
  std::vector<std::uint64_t> visited(n);
  std::vector<std::uint64_t> frontier(n);
  std::vector<std::uint64_t> next(n);
  for (std::size_t base = 0; base < n; base += 64) {
    const std::size_t width = std::min<std::size_t>(64, n - base);
    std::fill(visited.begin(), visited.end(), 0);
    std::fill(frontier.begin(), frontier.end(), 0);
    for (std::size_t i = 0; i < width; ++i) {
      frontier[base + i] = visited[base + i] = std::uint64_t{1} << i;
      dist[(base + i) * n + base + i] = 0;
    }
    for (int level = 1;; ++level) {
      bool any = false;
      for (std::size_t v = 0; v < n; ++v) {
        std::uint64_t reached = 0;
        for (std::size_t k = offsets[v]; k < offsets[v + 1]; ++k) {
          reached |= frontier[adjacency[k].index()];
        }
        reached &= ~visited[v];
        next[v] = reached;
        any = any || reached != 0;
      }
      if (!any) break;
      if (level > kMaxRoutedHops) {
        throw InputError(
            fmt::format("a shortest path between two {} is longer than {} hops, the "
                        "most routing supports",
                        what, kMaxRoutedHops));
      }
      for (std::size_t v = 0; v < n; ++v) {
        std::uint64_t bits = next[v];
        if (bits == 0) continue;
        visited[v] |= bits;
        std::uint8_t* row = dist.data() + v * n + base;
        while (bits != 0) {
          row[std::countr_zero(bits)] = static_cast<std::uint8_t>(level);
          bits &= bits - 1;
        }
      }
      frontier.swap(next);
    }
  }
  return dist;
}

// CSR of distinct neighbours from an edge list (both directions), each row sorted.
template <class Id>
void build_csr(std::size_t n, const std::vector<std::pair<std::size_t, std::size_t>>& edges,
               std::vector<std::size_t>& offsets, std::vector<Id>& adjacency) {
  std::vector<std::vector<std::size_t>> rows(n);
  for (const auto& [a, b] : edges) {
    rows[a].push_back(b);
    rows[b].push_back(a);
  }
  offsets.assign(n + 1, 0);
  adjacency.clear();
  for (std::size_t v = 0; v < n; ++v) {
    std::sort(rows[v].begin(), rows[v].end());
    rows[v].erase(std::unique(rows[v].begin(), rows[v].end()), rows[v].end());
    for (std::size_t u : rows[v]) adjacency.push_back(Id{static_cast<std::int32_t>(u)});
    offsets[v + 1] = adjacency.size();
  }
}

HopStats hop_stats(const std::array<std::uint64_t, 256>& counts, std::size_t n) {
  HopStats s;
  std::uint64_t hop_sum = 0;
  for (int h = 1; h <= kMaxRoutedHops; ++h) {
    const std::uint64_t c = counts[static_cast<std::size_t>(h)];
    if (c == 0) continue;
    s.diameter = h;
    s.reachable_pairs += c;
    hop_sum += c * static_cast<std::uint64_t>(h);
  }
  s.hop_histogram.assign(static_cast<std::size_t>(s.diameter) + 1, 0);
  for (int h = 1; h <= s.diameter; ++h) {
    s.hop_histogram[static_cast<std::size_t>(h)] = counts[static_cast<std::size_t>(h)];
  }
  s.unreachable_pairs = counts[kUnreachable];
  TSPEMU_ASSERT(counts[0] == n, "each vertex is at distance 0 from itself only");
  if (s.reachable_pairs > 0) {
    s.mean_hops = static_cast<double>(hop_sum) / static_cast<double>(s.reachable_pairs);
  }
  return s;
}

}  // namespace

Routing::Routing(const Topology& topology)
    : tsp_count_(topology.tsp_count()), node_count_(topology.node_count()) {
  // The byte matrices dominate; refuse up front what cannot fit rather than fail half-way.
  const std::uint64_t matrices =
      std::uint64_t{tsp_count_} * tsp_count_ + std::uint64_t{node_count_} * node_count_;
  require_memory(matrices, fmt::format("routing topology '{}' ({} TSPs: an all-pairs hop matrix)",
                                       topology.name(), tsp_count_));
  // Incident links per TSP, in LinkId order (a counting sort over the link list).
  link_offsets_.assign(tsp_count_ + 1, 0);
  for (const Link& l : topology.links()) {
    ++link_offsets_[l.a.tsp.index() + 1];
    ++link_offsets_[l.b.tsp.index() + 1];
  }
  for (std::size_t v = 0; v < tsp_count_; ++v) link_offsets_[v + 1] += link_offsets_[v];
  incident_.resize(link_offsets_[tsp_count_]);
  std::vector<std::size_t> fill(link_offsets_.begin(), link_offsets_.end() - 1);
  std::vector<std::pair<std::size_t, std::size_t>> tsp_edges;
  std::vector<std::pair<std::size_t, std::size_t>> node_edges;
  tsp_edges.reserve(topology.link_count());
  for (const Link& l : topology.links()) {
    incident_[fill[l.a.tsp.index()]++] = {l.id, l.b.tsp};
    incident_[fill[l.b.tsp.index()]++] = {l.id, l.a.tsp};
    tsp_edges.emplace_back(l.a.tsp.index(), l.b.tsp.index());
    const NodeId na = topology.tsp(l.a.tsp).node;
    const NodeId nb = topology.tsp(l.b.tsp).node;
    if (na != nb) node_edges.emplace_back(na.index(), nb.index());
  }
  build_csr(tsp_count_, tsp_edges, offsets_, adjacency_);
  build_csr(node_count_, node_edges, node_offsets_, node_adjacency_);
  dist_ = all_pairs_hops(tsp_count_, offsets_, adjacency_, "TSPs");
  node_dist_ = all_pairs_hops(node_count_, node_offsets_, node_adjacency_, "nodes");
}

std::vector<TspId> Routing::next_hops(TspId s, TspId d) const {
  std::vector<TspId> hops;
  const std::uint8_t to_go = distance(s, d);
  if (to_go == 0 || to_go == kUnreachable) return hops;
  for (TspId u : neighbours(s)) {
    if (distance(u, d) + 1 == to_go) hops.push_back(u);
  }
  return hops;
}

std::vector<LinkId> Routing::next_hop_links(TspId s, TspId d) const {
  std::vector<LinkId> links;
  const std::uint8_t to_go = distance(s, d);
  if (to_go == 0 || to_go == kUnreachable) return links;
  for (std::size_t k = link_offsets_[s.index()]; k < link_offsets_[s.index() + 1]; ++k) {
    if (distance(incident_[k].neighbour, d) + 1 == to_go) links.push_back(incident_[k].link);
  }
  return links;
}

std::vector<TspId> Routing::minimal_path(TspId s, TspId d) const {
  std::vector<TspId> path;
  if (distance(s, d) == kUnreachable) return path;
  path.push_back(s);
  while (s != d) {
    s = next_hops(s, d).front();
    path.push_back(s);
  }
  return path;
}

RoutingStats compute_routing_stats(const Routing& routing) {
  RoutingStats stats;
  const std::size_t n = routing.tsp_count();
  std::array<std::uint64_t, 256> hop_counts{};
  std::array<std::uint64_t, 256> width_counts{};
  std::vector<std::uint8_t> width(n);
  for (std::size_t s = 0; s < n; ++s) {
    const std::uint8_t* row_s = routing.distances_from(TspId{static_cast<std::int32_t>(s)}).data();
    std::fill(width.begin(), width.end(), 0);
    std::uint8_t* w = width.data();
    for (TspId u : routing.neighbours(TspId{static_cast<std::int32_t>(s)})) {
      const std::uint8_t* row_u = routing.distances_from(u).data();
      // u is a next hop of s toward d iff dist(u, d) + 1 == dist(s, d). In 8-bit arithmetic an
      // unreachable d (255 + 1 = 0 != 255) and d == s (1 + 1 != 0) never match, so they end with
      // width 0 and every reachable d != s with width >= 1.
      for (std::size_t d = 0; d < n; ++d) {
        w[d] = static_cast<std::uint8_t>(
            w[d] + (static_cast<std::uint8_t>(row_u[d] + 1) == row_s[d] ? 1 : 0));
      }
    }
    for (std::size_t d = 0; d < n; ++d) {
      ++hop_counts[row_s[d]];
      ++width_counts[w[d]];
    }
  }
  stats.tsp = hop_stats(hop_counts, n);
  std::size_t max_width = 0;
  for (std::size_t k = 1; k < width_counts.size(); ++k) {
    if (width_counts[k] != 0) max_width = k;
    stats.next_hop_entries += width_counts[k] * k;
  }
  stats.ecmp_width_histogram.assign(
      width_counts.begin(), width_counts.begin() + static_cast<std::ptrdiff_t>(max_width) + 1);
  TSPEMU_ASSERT(width_counts[0] == n + stats.tsp.unreachable_pairs,
                "every reachable pair s != d has a next hop");
  stats.ecmp_width_histogram[0] = 0;  // s == d and unreachable pairs

  const std::size_t nodes = routing.node_count();
  std::array<std::uint64_t, 256> node_counts{};
  for (std::size_t a = 0; a < nodes; ++a) {
    for (std::uint8_t h : routing.node_distances_from(NodeId{static_cast<std::int32_t>(a)})) {
      ++node_counts[h];
    }
  }
  stats.node = hop_stats(node_counts, nodes);
  return stats;
}

}  // namespace tspemu
