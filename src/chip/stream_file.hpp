#pragma once
// The stream registers of one TSP as diagonals in (position, cycle) (docs/design.md section 4,
// "Streams are diagonals"; programs/ISA.md, "Streams").
//
// A value written on eastward stream s at position p in cycle t is seen by a reader at position
// q > p in cycle t + (q - p), unless a write on the same diagonal nearer to q (p < p' < q) has
// overwritten it; westward mirrors this (q < p, cycle t + (p - q)). A writer never sees its own
// write (the stream register is registered), and a value falls off the chip after the last
// position. So a read is a lookup on one diagonal (key t - p eastward, t + p westward) instead of
// shifting 64 streams x positions x 320 bytes every cycle.
//
// Storage: per stream a ring of diagonals indexed by key modulo a power of two > 1.25 x positions.
// Every diagonal a reader can still reach lies in a window of `positions` consecutive keys, so a
// ring slot is reused (and its old diagonal dropped) only after that diagonal has left the chip:
// memory is bounded by streams x ring x writers-per-diagonal, whatever the run length. Reads and
// writes cost O(writers on the diagonal), in practice O(1).
//
// Contract (what the engine guarantees): writes come in non-decreasing cycle order, and a read at
// cycle t never happens after a write at a cycle later than t + (ring - positions). The engine
// lands every write at its own cycle before reading at that cycle, which satisfies both.
//
// Threads: const member functions may run concurrently with each other; writes may not run
// concurrently with anything.

#include <cstdint>
#include <vector>

#include "common/ids.hpp"
#include "common/vector.hpp"
#include "isa/opcode.hpp"

namespace tspemu {

class StreamFile {
 public:
  // timing_only keeps presence (who wrote when) but no bytes: every hit reads as a zero vector.
  enum class Mode : std::uint8_t { data, timing_only };

  // What a read found: the value (nullptr if the stream holds nothing there) and its writer.
  struct Hit {
    const Vector* value = nullptr;
    int writer_position = -1;
    Cycle write_cycle = -1;
    [[nodiscard]] explicit operator bool() const { return value != nullptr; }
  };

  StreamFile(int positions, int streams_per_direction, Mode mode = Mode::data);

  // false if this stream already received a write at this position in this cycle (the caller
  // reports the ScheduleError; the first value is kept). position must be in [0, positions).
  [[nodiscard]] bool write(Direction direction, int stream, int position, Cycle cycle,
                           const Vector& value);

  // The value the stream register at (position, cycle) holds for a unit reading it.
  [[nodiscard]] Hit read(Direction direction, int stream, int position, Cycle cycle) const;

  [[nodiscard]] int positions() const { return positions_; }
  [[nodiscard]] int streams_per_direction() const { return streams_; }
  [[nodiscard]] Mode mode() const { return mode_; }
  // Diagonal entries currently stored (live or not yet reused): bounded, see the header comment.
  [[nodiscard]] std::size_t stored_entries() const;
  // Ring slots allocated (streams written so far x ring size): with stored_entries(), what the
  // stream file holds.
  [[nodiscard]] std::size_t ring_slots() const;

  // Checkpoint/restart (chip/engine_checkpoint.cpp): every stored diagonal, exactly. Loading into
  // a file of the same shape and mode.
  template <class Archive>
  void serialize(Archive& archive) {
    archive(latest_write_cycle_, rings_, entries_, free_entries_, values_, free_values_,
            live_entries_);
  }
  // After loading: every ring, list link and value index in range (a state that passed its
  // checksum but was not written by save).
  [[nodiscard]] bool consistent() const;

 private:
  // A diagonal's writers are a list of entries in one arena for the whole file (a slot is 16
  // bytes, most diagonals have one writer); entries and values of a dropped diagonal go back to
  // free lists, so both arenas stay bounded by what is live.
  struct Entry {
    std::int32_t position = 0;
    std::int32_t next = -1;  // the next writer of the diagonal, or -1
    Cycle cycle = 0;
    std::uint32_t value_index = 0;  // into values_ (data mode)
    template <class Archive>
    void serialize(Archive& archive) {
      archive(position, next, cycle, value_index);
    }
  };
  struct Slot {
    Cycle key = kNoKey;
    std::int32_t head = -1;  // first writer, or -1
    template <class Archive>
    void serialize(Archive& archive) {
      archive(key, head);
    }
  };
  static constexpr Cycle kNoKey = INT64_MIN;

  // The ring of one (direction, stream); allocated on the stream's first write, so that a TSP
  // that uses a few streams (a collective, a timing-only run of a large machine) keeps a few
  // rings, not 64.
  [[nodiscard]] std::size_t ring_index(Direction direction, int stream) const {
    const auto d = static_cast<std::size_t>(direction == Direction::east ? 0 : 1);
    return d * static_cast<std::size_t>(streams_) + static_cast<std::size_t>(stream);
  }
  [[nodiscard]] std::size_t slot_in_ring(Cycle key) const {
    return static_cast<std::size_t>(static_cast<std::uint64_t>(key) & ring_mask_);
  }

  int positions_;
  int streams_;
  Mode mode_;
  int ring_bits_;
  std::uint64_t ring_mask_;
  Cycle latest_write_cycle_ = INT64_MIN;
  std::vector<std::vector<Slot>> rings_;  // per (direction, stream); empty until written
  std::vector<Entry> entries_;
  std::vector<std::int32_t> free_entries_;
  std::vector<Vector> values_;
  std::vector<std::uint32_t> free_values_;
  std::size_t live_entries_ = 0;
};

}  // namespace tspemu
