#pragma once
// Which windows carry traffic between which TSPs: the static send schedule seen at window
// granularity. It lets transports elide empty messages (docs/design.md section 6): in window w, TSP
// a sends a message to neighbour b iff has_traffic(a, b, w), and b expects one iff the same holds.
// Both ends derive the plan from the same send schedule, so they agree without communicating.
//
// Without a plan every neighbour pair exchanges one (possibly empty) message per window. With one,
// a vector the plan does not announce is a ScheduleError (the send schedule and the program
// disagree); an announced message may still be empty. Results are identical either way.

#include <cstddef>
#include <map>
#include <utility>
#include <vector>

#include "common/ids.hpp"
#include "net/window.hpp"

namespace tspemu {

class ExchangePlan {
 public:
  // Announces that `from` may put vectors toward neighbour `to` during `window` (one call per
  // send-schedule row is fine; duplicates are merged).
  void add(TspId from, TspId to, WindowIndex window);

  [[nodiscard]] bool has_traffic(TspId from, TspId to, WindowIndex window) const;

  // Number of (from, to, window) triples announced.
  [[nodiscard]] std::size_t size() const;

 private:
  // Per ordered pair, its windows. Kept sorted and unique lazily (mutable: add() is the only
  // writer and happens before any query in practice; queries sort on first use).
  mutable std::map<std::pair<std::int32_t, std::int32_t>, std::vector<WindowIndex>> windows_;
  mutable bool sorted_ = true;
  void normalise() const;
};

}  // namespace tspemu
