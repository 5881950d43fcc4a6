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
  // Merged through a second vector, not std::inplace_merge: libstdc++ 12 gives inplace_merge (and
  // stable_sort) a temporary buffer from plain operator new, which ignores alignas(64) of Vector;
  // on a host with AVX-512, -march=native code copies vectors with aligned 64-byte stores and
  // crashes in that buffer. std::vector's allocator honours the alignment.
  incoming_.assign(vectors.begin(), vectors.end());
  std::sort(incoming_.begin(), incoming_.end(), canonical_less);
  merged_.clear();
  merged_.reserve(queue_.size() + incoming_.size());
  std::merge(std::make_move_iterator(queue_.begin()), std::make_move_iterator(queue_.end()),
             std::make_move_iterator(incoming_.begin()), std::make_move_iterator(incoming_.end()),
             std::back_inserter(merged_), canonical_less);
  queue_.swap(merged_);
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
