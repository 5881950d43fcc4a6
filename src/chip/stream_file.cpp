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
  // Two chip crossings of slack: a reader's window is `positions` keys wide, and the rest lets
  // writes run ahead of reads by up to `positions` cycles (see the contract in the header).
  ring_bits_ = std::bit_width(static_cast<unsigned>(2 * positions - 1));
  ring_mask_ = (std::uint64_t{1} << ring_bits_) - 1;
  slots_.resize(static_cast<std::size_t>(2 * streams_) << ring_bits_);
}

bool StreamFile::write(Direction direction, int stream, int position, Cycle cycle,
                       const Vector& value) {
  TSPEMU_ASSERT(stream >= 0 && stream < streams_, "stream index out of range");
  TSPEMU_ASSERT(position >= 0 && position < positions_, "stream position out of range");
  TSPEMU_ASSERT(cycle >= latest_write_cycle_, "stream writes must come in cycle order");
  latest_write_cycle_ = cycle;
  const Cycle key = direction == Direction::east ? cycle - position : cycle + position;
  Slot& slot = slots_[slot_index(direction, stream, key)];
  if (slot.key != key) {
    // The ring slot's previous diagonal has left the chip (header comment): drop it.
    slot.key = key;
    slot.entries.clear();
    slot.values.clear();
  }
  for (const Entry& e : slot.entries) {
    if (e.position == position) return false;  // same diagonal, same position => same cycle
  }
  Entry entry{position, cycle, 0};
  if (mode_ == Mode::data) {
    entry.value_index = static_cast<std::uint32_t>(slot.values.size());
    slot.values.push_back(value);
  }
  slot.entries.push_back(entry);
  return true;
}

StreamFile::Hit StreamFile::read(Direction direction, int stream, int position, Cycle cycle) const {
  TSPEMU_ASSERT(stream >= 0 && stream < streams_, "stream index out of range");
  TSPEMU_ASSERT(position >= 0 && position < positions_, "stream position out of range");
  const bool east = direction == Direction::east;
  const Cycle key = east ? cycle - position : cycle + position;
  const Slot& slot = slots_[slot_index(direction, stream, key)];
  if (slot.key != key) return {};
  // Nearest upstream writer: largest p < q eastward, smallest p > q westward.
  const Entry* best = nullptr;
  for (const Entry& e : slot.entries) {
    const bool upstream = east ? e.position < position : e.position > position;
    if (!upstream) continue;
    if (best == nullptr || (east ? e.position > best->position : e.position < best->position)) {
      best = &e;
    }
  }
  if (best == nullptr) return {};
  const Vector* value = mode_ == Mode::data ? &slot.values[best->value_index] : &kZeroVector;
  return Hit{value, best->position, best->cycle};
}

std::size_t StreamFile::stored_entries() const {
  std::size_t n = 0;
  for (const Slot& slot : slots_) n += slot.entries.size();
  return n;
}

}  // namespace tspemu
