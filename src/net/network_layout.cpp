#include "net/network_layout.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <limits>
#include <map>
#include <utility>

#include "common/error.hpp"

namespace tspemu {
namespace {

std::string link_key(std::size_t index) {
  return fmt::format("link[{}]", index);
}

}  // namespace

NetworkLayout::NetworkLayout(std::int64_t tsp_count, std::vector<LinkSpec> links,
                             WindowClock window, double clock_mhz)
    : tsp_count_(tsp_count), links_(std::move(links)), window_(window), clock_mhz_(clock_mhz) {
  if (tsp_count_ < 1 || tsp_count_ > std::numeric_limits<std::int32_t>::max()) {
    throw InputError(fmt::format("network of {} TSPs: it needs at least one", tsp_count_));
  }
  if (!(clock_mhz_ > 0)) {
    throw InputError(fmt::format("chip clock of {} MHz: it must be positive", clock_mhz_));
  }
  // Per ordered pair (from, to): the capacity sum. std::map: deterministic iteration order.
  std::map<std::pair<std::int32_t, std::int32_t>, std::int64_t> pair_capacity;
  for (std::size_t i = 0; i < links_.size(); ++i) {
    const LinkSpec& l = links_[i];
    const std::string key = link_key(i);
    if (l.id.index() != i) {
      throw InputError(
          fmt::format("link id {} at position {}: link ids must be 0, 1, 2, ... in order",
                      l.id.value, i),
          ErrorContext{.key = key + ".id"});
    }
    for (const auto& [end, name] : {std::pair{l.a, ".a"}, std::pair{l.b, ".b"}}) {
      if (end.value < 0 || end.value >= tsp_count_) {
        throw InputError(fmt::format("TSP {} does not exist (the network has TSPs 0..{})",
                                     end.value, tsp_count_ - 1),
                         ErrorContext{.key = key + name});
      }
    }
    if (l.a == l.b) {
      throw InputError(fmt::format("the link joins TSP {} to itself", l.a.value),
                       ErrorContext{.key = key});
    }
    validate_link_model_params(l.params, key);
    min_latency_cycles_ = std::min(min_latency_cycles_.value_or(l.params.latency_min_cycles),
                                   l.params.latency_min_cycles);
    const Cycle serial = serialisation_cycles(l.params.bandwidth_gbps, clock_mhz_);
    const std::int64_t per_window = (window_.window_cycles() + serial - 1) / serial;
    pair_capacity[{l.a.value, l.b.value}] += per_window;
    pair_capacity[{l.b.value, l.a.value}] += per_window;
  }
  if (min_latency_cycles_ && window_.window_cycles() > *min_latency_cycles_) {
    throw InputError(fmt::format(
        "window of {} cycles is longer than the smallest link latency ({} cycles): a vector "
        "could be due inside the window it was sent in",
        window_.window_cycles(), *min_latency_cycles_));
  }
  first_.assign(static_cast<std::size_t>(tsp_count_) + 1, 0);
  for (const auto& [pair, capacity] : pair_capacity) {
    ++first_[static_cast<std::size_t>(pair.first) + 1];
  }
  for (std::size_t t = 0; t < static_cast<std::size_t>(tsp_count_); ++t) first_[t + 1] += first_[t];
  neighbours_.reserve(pair_capacity.size());
  capacity_.reserve(pair_capacity.size());
  for (const auto& [pair, capacity] : pair_capacity) {  // ordered by (from, to): CSR order
    neighbours_.emplace_back(pair.second);
    capacity_.push_back(capacity);
  }
}

NetworkLayout NetworkLayout::with_default_window(std::int64_t tsp_count,
                                                 std::vector<LinkSpec> links,
                                                 Cycle hac_period_cycles, double clock_mhz) {
  Cycle min_latency = hac_period_cycles;
  for (const LinkSpec& l : links) {
    min_latency = std::min(min_latency, l.params.latency_min_cycles);
  }
  const WindowClock window(window_cycles(hac_period_cycles, min_latency), hac_period_cycles);
  return NetworkLayout(tsp_count, std::move(links), window, clock_mhz);
}

std::span<const TspId> NetworkLayout::neighbours(TspId tsp) const {
  TSPEMU_ASSERT(tsp.value >= 0 && tsp.value < tsp_count_, "TSP id inside the network");
  const std::size_t t = tsp.index();
  return std::span<const TspId>(neighbours_).subspan(first_[t], first_[t + 1] - first_[t]);
}

std::optional<std::size_t> NetworkLayout::neighbour_index(TspId tsp, TspId other) const {
  const auto list = neighbours(tsp);
  const auto it = std::lower_bound(list.begin(), list.end(), other);
  if (it == list.end() || *it != other) return std::nullopt;
  return static_cast<std::size_t>(it - list.begin());
}

std::int64_t NetworkLayout::capacity(TspId tsp, std::size_t neighbour) const {
  TSPEMU_ASSERT(neighbour < neighbours(tsp).size(), "neighbour index inside the list");
  return capacity_[first_[tsp.index()] + neighbour];
}

void NetworkLayout::check_outgoing(TspId sender, WindowIndex window,
                                   const InFlightVector& v) const {
  const ErrorContext where{.tsp = sender.value, .cycle = v.send_cycle};
  if (v.src != sender) {
    throw RuntimeError(fmt::format("vector from TSP {} on link {} was handed to the transport "
                                   "as sent by TSP {}",
                                   v.src.value, v.link.value, sender.value),
                       where);
  }
  if (v.link.value < 0 || v.link.index() >= links_.size()) {
    throw RuntimeError(fmt::format("vector names link {}, but the network has links 0..{}",
                                   v.link.value, static_cast<std::int64_t>(links_.size()) - 1),
                       where);
  }
  const LinkSpec& l = links_[v.link.index()];
  const bool forward =
      v.src == l.a && v.src_port == l.a_port && v.dst == l.b && v.dst_port == l.b_port;
  const bool backward =
      v.src == l.b && v.src_port == l.b_port && v.dst == l.a && v.dst_port == l.a_port;
  if (!forward && !backward) {
    throw RuntimeError(
        fmt::format("vector from TSP {} port {} to TSP {} port {} does not travel link {}, which "
                    "joins TSP {} port {} and TSP {} port {}",
                    v.src.value, v.src_port.value, v.dst.value, v.dst_port.value, v.link.value,
                    l.a.value, l.a_port.value, l.b.value, l.b_port.value),
        where);
  }
  const Cycle begin = window_.begin(window);
  const Cycle end = window_.end(window);
  // A SEND hands its vector over when its result lands (issue + func_delay), so a SEND issued in
  // the last cycles of the previous window is handed over in this one; its arrival must still lie
  // beyond this window (the receiver has run this window's cycles already).
  if (v.send_cycle < begin - window_.window_cycles() || v.send_cycle >= end) {
    throw RuntimeError(fmt::format("vector on link {} sent at cycle {} was handed over in window "
                                   "{} (cycles {}..{})",
                                   v.link.value, v.send_cycle, window, begin, end - 1),
                       where);
  }
  if (v.arrival_cycle < end) {
    throw RuntimeError(
        fmt::format("vector on link {} sent at cycle {} arrives at cycle {}, inside "
                    "window {} (cycles {}..{}) in which it was handed over",
                    v.link.value, v.send_cycle, v.arrival_cycle, window, begin, end - 1),
        where);
  }
  const Cycle earliest = v.send_cycle + l.params.latency_min_cycles;
  const Cycle latest = v.send_cycle + l.params.latency_max_cycles;
  if (v.arrival_cycle < earliest || v.arrival_cycle > latest) {
    throw RuntimeError(fmt::format("vector on link {} sent at cycle {} is stamped to arrive at "
                                   "cycle {}, outside the link's latency range {}..{}",
                                   v.link.value, v.send_cycle, v.arrival_cycle, earliest, latest),
                       where);
  }
  // Implied by the two checks above and the constructor's window <= min latency; kept because
  // it is the protocol's invariant.
  TSPEMU_ASSERT(v.arrival_cycle >= end, "a vector is never due in the window it was sent in");
}

}  // namespace tspemu
