#pragma once
// Pending work of one TSP by cycle: buckets indexed by cycle modulo a power-of-two size larger than
// the longest span between now and any pending cycle (skew + func_delay + 1), so two pending
// cycles never share a bucket, with a bitset of the busy buckets so the next busy cycle is found by
// word scans instead of a heap. A bucket is any type with a `cycle` member and clear().

#include <bit>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "common/error.hpp"
#include "common/ids.hpp"

namespace tspemu {

template <class Bucket>
class TimingWheel {
 public:
  // Holds pending cycles up to `span_cycles` ahead of the current one.
  explicit TimingWheel(std::int64_t span_cycles)
      : buckets_(
            std::bit_ceil(static_cast<std::uint64_t>(std::max<std::int64_t>(span_cycles, 64)))),
        bits_(buckets_.size() / 64, 0),
        mask_(buckets_.size() - 1) {}

  [[nodiscard]] std::size_t size() const { return buckets_.size(); }
  [[nodiscard]] bool empty() const { return busy_ == 0; }

  // The bucket of `cycle`, claimed (cleared) if it was free.
  Bucket& at(Cycle cycle) {
    const std::size_t i = index(cycle);
    Bucket& b = buckets_[i];
    std::uint64_t& word = bits_[i >> 6];
    const std::uint64_t bit = std::uint64_t{1} << (i & 63);
    if ((word & bit) == 0) {
      word |= bit;
      ++busy_;
      b.clear();
      b.cycle = cycle;
    } else {
      TSPEMU_ASSERT(b.cycle == cycle, "timing wheel collision");
    }
    return b;
  }

  // The bucket of `cycle` if it holds work, else nullptr.
  [[nodiscard]] Bucket* find(Cycle cycle) {
    const std::size_t i = index(cycle);
    if ((bits_[i >> 6] & (std::uint64_t{1} << (i & 63))) == 0) return nullptr;
    return buckets_[i].cycle == cycle ? &buckets_[i] : nullptr;
  }

  void release(Bucket& bucket) {
    const std::size_t i = index(bucket.cycle);
    bits_[i >> 6] &= ~(std::uint64_t{1} << (i & 63));
    --busy_;
    bucket.clear();
  }

  // Checkpoint/restart: the busy buckets (index order) with their work; loading expects a wheel
  // of the same size with nothing pending.
  template <class Archive>
  void save(Archive& archive) const {
    archive(static_cast<std::uint64_t>(buckets_.size()), static_cast<std::uint64_t>(busy_));
    for (std::size_t i = 0; i < buckets_.size(); ++i) {
      if ((bits_[i >> 6] >> (i & 63)) & 1U) archive(static_cast<std::uint64_t>(i), buckets_[i]);
    }
  }
  template <class Archive>
  void load(Archive& archive) {
    std::uint64_t size = 0;
    std::uint64_t busy = 0;
    archive(size, busy);
    if (size != buckets_.size() || busy_ != 0 || busy > size) {
      throw InputError("checkpoint: the timing wheel does not match this chip's op timings");
    }
    for (std::uint64_t k = 0; k < busy; ++k) {
      std::uint64_t i = 0;
      archive(i);
      if (i >= size || ((bits_[i >> 6] >> (i & 63)) & 1U)) {
        throw InputError("checkpoint: a timing wheel bucket is out of range or repeated");
      }
      archive(buckets_[i]);
      bits_[i >> 6] |= std::uint64_t{1} << (i & 63);
      ++busy_;
    }
  }

  // True if `bucket` is one of the wheel's and sits where its cycle belongs.
  [[nodiscard]] bool holds(const Bucket& bucket) const {
    return &bucket >= buckets_.data() && &bucket < buckets_.data() + buckets_.size() &&
           static_cast<std::size_t>(&bucket - buckets_.data()) == index(bucket.cycle);
  }
  // Every busy bucket, in index order (checks of a loaded state).
  template <class F>
  void for_each(F&& f) const {
    for (std::size_t i = 0; i < buckets_.size(); ++i) {
      if ((bits_[i >> 6] >> (i & 63)) & 1U) f(buckets_[i]);
    }
  }

  // The earliest pending cycle after `current` (every pending cycle lies in
  // (current, current + size)), or INT64_MAX.
  [[nodiscard]] Cycle next_after(Cycle current) const {
    if (busy_ == 0) return INT64_MAX;
    // The first busy bucket found scanning circularly from current + 1 is the earliest.
    const std::size_t start = index(current + 1);
    const std::size_t words = bits_.size();
    for (std::size_t k = 0; k <= words; ++k) {
      const std::size_t w = ((start >> 6) + k) % words;
      std::uint64_t bits = bits_[w];
      if (k == 0) bits &= ~std::uint64_t{0} << (start & 63);
      if (bits != 0) {
        const std::size_t i = (w << 6) + static_cast<std::size_t>(std::countr_zero(bits));
        return buckets_[i].cycle;
      }
    }
    return INT64_MAX;
  }

 private:
  [[nodiscard]] std::size_t index(Cycle cycle) const {
    return static_cast<std::size_t>(static_cast<std::uint64_t>(cycle) & mask_);
  }

  std::vector<Bucket> buckets_;
  std::vector<std::uint64_t> bits_;
  std::uint64_t mask_;
  std::size_t busy_ = 0;
};

}  // namespace tspemu
