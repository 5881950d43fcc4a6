#pragma once
// Vectors a TSP has received but whose arrival cycle lies ahead. An exchange hands over everything
// sent during a window, including vectors due several windows later (links longer than a window);
// the queue keeps them in canonical order across exchanges, so a vector's position never depends on
// which exchange brought it.

#include <cstddef>
#include <optional>
#include <span>
#include <vector>

#include "common/ids.hpp"
#include "net/in_flight.hpp"

namespace tspemu {

class ArrivalQueue {
 public:
  // Adds vectors (any order).
  void push(std::span<const InFlightVector> vectors);

  // Moves every vector with arrival_cycle < end_cycle to the back of `out`, in canonical order.
  void pop_arrived_before(Cycle end_cycle, std::vector<InFlightVector>& out);

  [[nodiscard]] std::size_t size() const { return queue_.size() - head_; }
  [[nodiscard]] bool empty() const { return size() == 0; }
  // Arrival cycle of the next vector, or nullopt if empty.
  [[nodiscard]] std::optional<Cycle> next_arrival_cycle() const;

 private:
  std::vector<InFlightVector> queue_;  // canonical from head_ on
  // Scratch for push(), kept so that their capacity is reused.
  std::vector<InFlightVector> incoming_;
  std::vector<InFlightVector> merged_;
  std::size_t head_ = 0;
};

}  // namespace tspemu
