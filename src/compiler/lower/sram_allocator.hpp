#pragma once
// The SRAM of one TSP as the compiler hands it out (lower/tsp_schedule.hpp owns one). An
// allocation is a block: `rows` consecutive addresses in a group of slices (one per byte plane).
//
// Rows are reused once a block is dead. Placement is not in time order (the list scheduler fills
// earlier gaps), so "dead" is a cycle, not a moment of the compile: every READ and WRITE placed
// into a block is recorded (touch), and when the lowering releases a block its rows become free
// from its last access on. A block later allocated over them carries that cycle as its write floor:
// TspSchedule::place puts every WRITE into it after the floor, so the new data never lands before
// the old data's last use. Constants, initial data and graph outputs take rows nothing else ever
// used (their contents exist from cycle 0, or must survive to the end), so the declared data
// segments of a program never overlap; data on reused rows is not declared (docs/compiler.md,
// "SRAM").
#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "common/ids.hpp"
#include "isa/chip_config.hpp"

namespace tspemu::detail {

inline constexpr int kMaxGroupWidth = 4;

// Global MEM slice numbering: W0..W(M-1) = 0..M-1, E0..E(M-1) = M..2M-1 (ChipConfig::slice_index).
struct SliceGroup {
  std::array<std::int16_t, kMaxGroupWidth> slices{};  // byte plane k in slices[k]
  std::int8_t width = 1;
};

// How an allocation may use the SRAM.
enum class RowUse : std::uint8_t {
  pinned,    // rows nothing used before; never released (constants, caches, graph outputs)
  fresh,     // rows nothing used before; released when dead (initial data, zero-filled areas)
  reusable,  // may take released rows; released when dead (results and temporaries)
};

struct Allocation {
  SliceGroup group;
  std::int32_t address = 0;
  std::int32_t block = -1;
  bool reused = false;  // on rows an earlier block used: no declared data segment may cover them
};

class SramAllocator {
 public:
  SramAllocator(TspId tsp, const ChipConfig& config);

  // `rows` consecutive addresses in `width` distinct slices of one hemisphere, chosen round-robin
  // over the chip so that tensors spread over slices, in bank 0 or 1 if asked for one (else any),
  // in none of the slices `avoid` lists. Throws ScheduleError when the SRAM is full.
  Allocation allocate(int width, std::int32_t rows, int bank, std::span<const std::int16_t> avoid,
                      RowUse use);
  // In the slices of `like` if they have room (ping-pong buffers, weight layouts), else anywhere.
  Allocation allocate_like(const SliceGroup& like, std::int32_t rows, int bank, RowUse use);
  // Released rows whose last access is after `horizon` are taken only when no other rows fit: a
  // write there would have to wait for that cycle. The lowering sets it to when an op's inputs are
  // ready.
  void set_reuse_horizon(Cycle horizon) { horizon_ = horizon; }

  // The live block holding row `address` of `slice`, or -1.
  [[nodiscard]] std::int32_t block_at(int slice, std::int32_t address) const;
  // A READ (at its operand cycle) or WRITE (at its landing cycle) of the block.
  void touch(std::int32_t block, Cycle cycle);
  // A WRITE into the block must land after this cycle.
  [[nodiscard]] Cycle write_floor(std::int32_t block) const;
  [[nodiscard]] bool pinned(std::int32_t block) const;
  [[nodiscard]] bool reused(std::int32_t block) const;
  [[nodiscard]] bool live(std::int32_t block) const;
  // The block's rows become free for reusable allocations from its last access on.
  void release(std::int32_t block);
  // Blocks ever allocated: ids 0 .. blocks() - 1.
  [[nodiscard]] std::int32_t blocks() const { return static_cast<std::int32_t>(blocks_.size()); }
  // Rows in use (summed over slices) now, and at most so far.
  [[nodiscard]] std::int64_t rows_in_use() const { return rows_in_use_; }
  [[nodiscard]] std::int64_t peak_rows() const { return peak_rows_; }

 private:
  struct Block {
    SliceGroup group;
    std::int32_t address = 0;
    std::int32_t rows = 0;
    RowUse use = RowUse::pinned;
    bool reused = false;
    bool live = true;
    Cycle write_floor = kNever;
    Cycle last_access = kNever;
  };
  struct FreeRange {
    std::int32_t end = 0;
    Cycle floor = kNever;  // the last access of the data that was there
  };
  static constexpr Cycle kNever = -(Cycle{1} << 40);

  // The groups allocate() tries, in order: from the cursor round the chip.
  template <class Try>
  bool for_each_group(int width, std::span<const std::int16_t> avoid, Try&& attempt);
  // Bump allocation: rows never used, bank 0 / unbanked from the bottom, bank 1 from the top.
  [[nodiscard]] std::optional<std::int32_t> fresh_rows(const SliceGroup& group, std::int32_t rows,
                                                       int bank);
  // Released rows [a, a + rows) free in every slice of the group, within the bank, whose floor is
  // at most `max_floor`; the lowest such a.
  [[nodiscard]] std::optional<std::int32_t> released_rows(const SliceGroup& group,
                                                          std::int32_t rows, int bank,
                                                          Cycle max_floor) const;
  // Takes [address, address + rows) out of the group's free ranges; returns their highest floor.
  Cycle take_released(const SliceGroup& group, std::int32_t address, std::int32_t rows);
  Allocation make_block(const SliceGroup& group, std::int32_t address, std::int32_t rows,
                        RowUse use, bool reused, Cycle floor);
  [[nodiscard]] std::pair<std::int32_t, std::int32_t> bank_range(int bank) const;

  TspId tsp_;
  ChipConfig config_;
  std::vector<std::array<std::int32_t, 2>> next_free_;       // per slice, per bank end
  std::vector<std::map<std::int32_t, std::int32_t>> owner_;  // per slice: address -> block
  std::vector<std::map<std::int32_t, FreeRange>> released_;  // per slice: start -> range
  std::vector<Block> blocks_;
  int cursor_ = 0;
  Cycle horizon_ = 0;
  std::int64_t rows_in_use_ = 0;
  std::int64_t peak_rows_ = 0;
};

}  // namespace tspemu::detail
