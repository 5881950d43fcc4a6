#include "chip/stream_file.hpp"

#include <bit>

#include "common/error.hpp"

namespace tspemu {

namespace {
const Vector kZeroVector{};
}  // namespace

StreamFile::StreamFile(int positions, int streams_per_direction, Mode mode)
    : positions_(positions), streams_(streams_per_direction), mode_(mode) {
  TSPEMU_ASSERT(positions >= 1 && streams_per_direction >= 1, "stream file needs positions");
  // A reader's window is `positions` keys wide; a quarter more lets writes run ahead of reads by
  // that much (the engine writes at most in the cycle it reads: see the contract in the header).
  // 128 slots for the 97 positions of a 44-slice chip.
  ring_bits_ = std::bit_width(static_cast<unsigned>(positions + positions / 4));
  ring_mask_ = (std::uint64_t{1} << ring_bits_) - 1;
  rings_.resize(static_cast<std::size_t>(2 * streams_));
}

bool StreamFile::write(Direction direction, int stream, int position, Cycle cycle,
                       const Vector& value) {
  TSPEMU_ASSERT(stream >= 0 && stream < streams_, "stream index out of range");
  TSPEMU_ASSERT(position >= 0 && position < positions_, "stream position out of range");
  TSPEMU_ASSERT(cycle >= latest_write_cycle_, "stream writes must come in cycle order");
  latest_write_cycle_ = cycle;
  const Cycle key = direction == Direction::east ? cycle - position : cycle + position;
  std::vector<Slot>& ring = rings_[ring_index(direction, stream)];
  if (ring.empty()) ring.resize(std::size_t{1} << ring_bits_);
  Slot& slot = ring[slot_in_ring(key)];
  if (slot.key != key) {
    // The ring slot's previous diagonal has left the chip (header comment): drop it.
    for (std::int32_t e = slot.head; e >= 0;) {
      const Entry& entry = entries_[static_cast<std::size_t>(e)];
      if (mode_ == Mode::data) free_values_.push_back(entry.value_index);
      free_entries_.push_back(e);
      --live_entries_;
      e = entry.next;
    }
    slot.key = key;
    slot.head = -1;
  }
  for (std::int32_t e = slot.head; e >= 0; e = entries_[static_cast<std::size_t>(e)].next) {
    // Same diagonal, same position: same cycle.
    if (entries_[static_cast<std::size_t>(e)].position == position) return false;
  }
  Entry entry{position, slot.head, cycle, 0};
  if (mode_ == Mode::data) {
    if (free_values_.empty()) {
      entry.value_index = static_cast<std::uint32_t>(values_.size());
      values_.push_back(value);
    } else {
      entry.value_index = free_values_.back();
      free_values_.pop_back();
      values_[entry.value_index] = value;
    }
  }
  std::int32_t index = 0;
  if (free_entries_.empty()) {
    index = static_cast<std::int32_t>(entries_.size());
    entries_.push_back(entry);
  } else {
    index = free_entries_.back();
    free_entries_.pop_back();
    entries_[static_cast<std::size_t>(index)] = entry;
  }
  slot.head = index;
  ++live_entries_;
  return true;
}

StreamFile::Hit StreamFile::read(Direction direction, int stream, int position, Cycle cycle) const {
  TSPEMU_ASSERT(stream >= 0 && stream < streams_, "stream index out of range");
  TSPEMU_ASSERT(position >= 0 && position < positions_, "stream position out of range");
  const bool east = direction == Direction::east;
  const Cycle key = east ? cycle - position : cycle + position;
  const std::vector<Slot>& ring = rings_[ring_index(direction, stream)];
  if (ring.empty()) return {};
  const Slot& slot = ring[slot_in_ring(key)];
  if (slot.key != key) return {};
  // Nearest upstream writer: largest p < q eastward, smallest p > q westward.
  const Entry* best = nullptr;
  for (std::int32_t i = slot.head; i >= 0; i = entries_[static_cast<std::size_t>(i)].next) {
    const Entry& e = entries_[static_cast<std::size_t>(i)];
    const bool upstream = east ? e.position < position : e.position > position;
    if (!upstream) continue;
    if (best == nullptr || (east ? e.position > best->position : e.position < best->position)) {
      best = &e;
    }
  }
  if (best == nullptr) return {};
  const Vector* value = mode_ == Mode::data ? &values_[best->value_index] : &kZeroVector;
  return Hit{value, best->position, best->cycle};
}

bool StreamFile::consistent() const {
  const auto entry_ok = [&](std::int32_t e) {
    return e >= -1 && e < static_cast<std::int64_t>(entries_.size());
  };
  if (rings_.size() != static_cast<std::size_t>(2 * streams_)) return false;
  for (const auto& ring : rings_) {
    if (!ring.empty() && ring.size() != std::size_t{1} << ring_bits_) return false;
    for (const Slot& slot : ring) {
      if (!entry_ok(slot.head)) return false;
    }
  }
  for (const Entry& e : entries_) {
    if (!entry_ok(e.next) || e.position < 0 || e.position >= positions_) return false;
    if (mode_ == Mode::data && e.value_index >= values_.size()) return false;
  }
  for (std::int32_t e : free_entries_) {
    if (e < 0 || !entry_ok(e)) return false;
  }
  for (std::uint32_t v : free_values_) {
    if (v >= values_.size()) return false;
  }
  return live_entries_ <= entries_.size();
}

std::size_t StreamFile::stored_entries() const {
  return live_entries_;
}

std::size_t StreamFile::ring_slots() const {
  std::size_t n = 0;
  for (const auto& ring : rings_) n += ring.size();
  return n;
}

}  // namespace tspemu
