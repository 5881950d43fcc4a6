#include "net/transport.hpp"

#include <fmt/format.h>

namespace tspemu {

Outbox::Outbox(const NetworkLayout& layout, TspId tsp)
    : layout_(&layout), tsp_(tsp), buckets_(layout.neighbours(tsp).size()) {}

void Outbox::add(const InFlightVector& vector) {
  if (vector.src != tsp_) {
    throw RuntimeError(fmt::format("vector from TSP {} on link {} was put in the outbox of TSP {}",
                                   vector.src.value, vector.link.value, tsp_.value),
                       ErrorContext{.tsp = tsp_.value, .cycle = vector.send_cycle});
  }
  const auto k = layout_->neighbour_index(tsp_, vector.dst);
  if (!k) {
    throw RuntimeError(fmt::format("vector on link {} is addressed to TSP {}, which shares no "
                                   "link with TSP {}",
                                   vector.link.value, vector.dst.value, tsp_.value),
                       ErrorContext{.tsp = tsp_.value, .cycle = vector.send_cycle});
  }
  buckets_[*k].push_back(vector);
}

std::size_t Outbox::size() const {
  std::size_t n = 0;
  for (const auto& bucket : buckets_) n += bucket.size();
  return n;
}

void Outbox::clear() {
  for (auto& bucket : buckets_) bucket.clear();
}

Transport::Transport(std::shared_ptr<const NetworkLayout> layout)
    : layout_(std::move(layout)), last_window_(0) {
  TSPEMU_ASSERT(layout_ != nullptr, "a transport needs a network layout");
}

Transport::~Transport() = default;

void Transport::check_window_order(WindowIndex window) {
  if (any_window_ && window <= last_window_) {
    throw RuntimeError(
        fmt::format("exchange of window {} after window {}: windows must be "
                    "exchanged in increasing order",
                    window, last_window_));
  }
  any_window_ = true;
  last_window_ = window;
}

bool Transport::message_due(TspId from, TspId to, WindowIndex window) const {
  return plan_ == nullptr || plan_->has_traffic(from, to, window);
}

void Transport::check_outbox(WindowIndex window, const Outbox& outbox) const {
  const TspId tsp = outbox.tsp();
  const auto neighbours = layout_->neighbours(tsp);
  TSPEMU_ASSERT(outbox.neighbour_count() == neighbours.size(),
                "the outbox was made for this layout");
  for (std::size_t k = 0; k < neighbours.size(); ++k) {
    const auto bucket = outbox.to_neighbour(k);
    if (bucket.empty()) continue;
    const auto capacity = layout_->capacity(tsp, k);
    if (static_cast<std::int64_t>(bucket.size()) > capacity) {
      throw ScheduleError(
          fmt::format("TSP {} put {} vectors toward TSP {} in window {} (cycles {}..{}), but its "
                      "links to TSP {} carry at most {} per window at their serialisation rate",
                      tsp.value, bucket.size(), neighbours[k].value, window,
                      layout_->window().begin(window), layout_->window().end(window) - 1,
                      neighbours[k].value, capacity),
          ErrorContext{.tsp = tsp.value, .cycle = bucket.front().send_cycle});
    }
    if (!message_due(tsp, neighbours[k], window)) {
      const InFlightVector& v = bucket.front();
      throw ScheduleError(
          fmt::format("TSP {} sent a vector on link {} to TSP {} at cycle {} (window {}), but "
                      "the exchange plan announces no traffic from TSP {} to TSP {} in that "
                      "window",
                      tsp.value, v.link.value, v.dst.value, v.send_cycle, window, tsp.value,
                      v.dst.value),
          ErrorContext{.tsp = tsp.value, .cycle = v.send_cycle});
    }
    for (const InFlightVector& v : bucket) {
      layout_->check_outgoing(tsp, window, v);
      TSPEMU_ASSERT(v.dst == neighbours[k], "Outbox::add files vectors by destination");
    }
  }
}

void Transport::check_agreed(const ControlState& agreed) const {
  if (agreed.tsps != layout_->tsp_count()) {
    throw RuntimeError(
        fmt::format("the agreement combined the state of {} TSPs, but the network "
                    "has {}: every TSP must contribute exactly once",
                    agreed.tsps, layout_->tsp_count()));
  }
}

}  // namespace tspemu
