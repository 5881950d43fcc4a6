#pragma once
// The network as the transports see it: how many TSPs, which links join them (with their link
// model parameters), the window length, and derived from these the neighbour list of every TSP and
// the most vectors one TSP can put toward one neighbour in one window.
//
// net does not depend on the topology layer's types: the runtime converts the topology's links into
// LinkSpec values. A link is a full-duplex cable between two (TSP, port) ends; vectors may cross it
// in either direction, each direction with its own sequence numbers.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/ids.hpp"
#include "net/in_flight.hpp"
#include "net/link_model.hpp"
#include "net/window.hpp"

namespace tspemu {

struct LinkSpec {
  LinkId id;
  TspId a;
  PortId a_port;
  TspId b;
  PortId b_port;
  LinkModelParams params;
  friend bool operator==(const LinkSpec&, const LinkSpec&) = default;
};

class NetworkLayout {
 public:
  // Validates and indexes. Throws InputError (with a key such as "link[3].b") unless
  // tsp_count >= 1, links[i].id == i for every i (dense ids in topology order), every end names a
  // TSP in [0, tsp_count), no link joins a TSP to itself, every link's parameters are valid,
  // clock_mhz > 0, and window.window_cycles() <= the smallest latency_min_cycles of any link.
  NetworkLayout(std::int64_t tsp_count, std::vector<LinkSpec> links, WindowClock window,
                double clock_mhz);

  // The usual construction: the window is window_cycles(hac_period, min latency_min over links).
  [[nodiscard]] static NetworkLayout with_default_window(std::int64_t tsp_count,
                                                         std::vector<LinkSpec> links,
                                                         Cycle hac_period_cycles, double clock_mhz);

  [[nodiscard]] std::int64_t tsp_count() const { return tsp_count_; }
  [[nodiscard]] std::span<const LinkSpec> links() const { return links_; }
  [[nodiscard]] const LinkSpec& link(LinkId id) const { return links_.at(id.index()); }
  [[nodiscard]] const WindowClock& window() const { return window_; }
  [[nodiscard]] double clock_mhz() const { return clock_mhz_; }
  // Smallest latency_min_cycles over all links; nullopt without links.
  [[nodiscard]] std::optional<Cycle> min_latency_cycles() const { return min_latency_cycles_; }

  // TSPs sharing at least one link with `tsp`, ascending.
  [[nodiscard]] std::span<const TspId> neighbours(TspId tsp) const;
  // Position of `other` in neighbours(tsp), or nullopt.
  [[nodiscard]] std::optional<std::size_t> neighbour_index(TspId tsp, TspId other) const;
  // Most vectors `tsp` can send toward its k-th neighbour in one window: the sum over the links
  // between them of ceil(window_cycles / serialisation_cycles(link)). The compiler guarantees the
  // serialisation spacing, so more than this in one window is a schedule error.
  [[nodiscard]] std::int64_t capacity(TspId tsp, std::size_t neighbour) const;

  // Checks that `v` is a vector `sender` may have put on a link during `window`: v.src == sender,
  // v.link exists and joins (v.src, v.src_port) to (v.dst, v.dst_port), the send cycle lies in the
  // window and the arrival cycle lies after it (the window protocol's invariant). Throws
  // ScheduleError/RuntimeError with tsp and cycle context otherwise.
  void check_outgoing(TspId sender, WindowIndex window, const InFlightVector& v) const;

 private:
  std::int64_t tsp_count_;
  std::vector<LinkSpec> links_;
  WindowClock window_;
  double clock_mhz_;
  std::optional<Cycle> min_latency_cycles_;
  // CSR: neighbours of tsp t are neighbours_[first_[t] .. first_[t+1]), capacity_ alike.
  std::vector<std::size_t> first_;
  std::vector<TspId> neighbours_;
  std::vector<std::int64_t> capacity_;
};

}  // namespace tspemu
