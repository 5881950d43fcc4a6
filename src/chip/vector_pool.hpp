#pragma once
// Slots for values in flight between an op's execution and its landing (result vectors,
// accumulator lanes): a vector with a free list, indexed by 32-bit ids so an effect names its
// values without pointers that a growing pool would invalidate. Allocation happens only in the
// engine's serial phases; the parallel phase writes only slots reserved for its item.

#include <cstdint>
#include <vector>

namespace tspemu {

template <class T>
class SlotPool {
 public:
  using Id = std::uint32_t;

  [[nodiscard]] Id acquire() {
    if (!free_.empty()) {
      const Id id = free_.back();
      free_.pop_back();
      return id;
    }
    slots_.emplace_back();
    return static_cast<Id>(slots_.size() - 1);
  }
  void release(Id id) { free_.push_back(id); }

  [[nodiscard]] T& operator[](Id id) { return slots_[id]; }
  [[nodiscard]] const T& operator[](Id id) const { return slots_[id]; }
  // Slots ever allocated (the pool's high-water mark).
  [[nodiscard]] std::size_t capacity() const { return slots_.size(); }

  // Checkpoint/restart: slots and free list exactly (effects in flight name slots by id).
  template <class Archive>
  void serialize(Archive& archive) {
    archive(slots_, free_);
  }
  // After loading: every free id names a slot.
  [[nodiscard]] bool consistent() const {
    for (Id id : free_) {
      if (id >= slots_.size()) return false;
    }
    return true;
  }

 private:
  std::vector<T> slots_;
  std::vector<Id> free_;
};

}  // namespace tspemu
