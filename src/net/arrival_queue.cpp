#include "net/arrival_queue.hpp"

#include <algorithm>
#include <iterator>

namespace tspemu {

void ArrivalQueue::push(std::span<const InFlightVector> vectors) {
  if (vectors.empty()) return;
  if (head_ > 0) {
    queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(head_));
    head_ = 0;
  }
  const auto middle = static_cast<std::ptrdiff_t>(queue_.size());
  queue_.insert(queue_.end(), vectors.begin(), vectors.end());
  std::sort(queue_.begin() + middle, queue_.end(), canonical_less);
  std::inplace_merge(queue_.begin(), queue_.begin() + middle, queue_.end(), canonical_less);
}

void ArrivalQueue::pop_arrived_before(Cycle end_cycle, std::vector<InFlightVector>& out) {
  auto first = queue_.begin() + static_cast<std::ptrdiff_t>(head_);
  auto last = first;
  while (last != queue_.end() && last->arrival_cycle < end_cycle) ++last;
  out.insert(out.end(), std::make_move_iterator(first), std::make_move_iterator(last));
  head_ = static_cast<std::size_t>(last - queue_.begin());
  if (head_ == queue_.size()) {
    queue_.clear();
    head_ = 0;
  }
}

std::optional<Cycle> ArrivalQueue::next_arrival_cycle() const {
  if (empty()) return std::nullopt;
  return queue_[head_].arrival_cycle;
}

}  // namespace tspemu
