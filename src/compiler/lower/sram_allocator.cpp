#include "compiler/lower/sram_allocator.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <iterator>
#include <limits>

#include "common/error.hpp"

namespace tspemu::detail {

SramAllocator::SramAllocator(TspId tsp, const ChipConfig& config) : tsp_(tsp), config_(config) {
  const auto slices = static_cast<std::size_t>(config_.mem_slices());
  next_free_.assign(slices, {0, config_.shape.mem_rows_per_slice});
  owner_.resize(slices);
  released_.resize(slices);
}

std::pair<std::int32_t, std::int32_t> SramAllocator::bank_range(int bank) const {
  const std::int32_t bank_rows = config_.shape.rows_per_bank();
  if (bank == 0) return {0, bank_rows};
  if (bank == 1) return {bank_rows, config_.shape.mem_rows_per_slice};
  return {0, config_.shape.mem_rows_per_slice};
}

template <class Try>
bool SramAllocator::for_each_group(int width, std::span<const std::int16_t> avoid, Try&& attempt) {
  const int slices = config_.mem_slices();
  const int m = config_.shape.mem_slices_per_hemisphere;
  for (int a = 0; a < slices; ++a) {
    const int first = (cursor_ + a) % slices;
    // A group stays in one hemisphere: its byte planes travel together, in one direction, to or
    // from the VXM between the hemispheres.
    if (first / m != (first + width - 1) / m || first + width > slices) continue;
    SliceGroup group;
    group.width = static_cast<std::int8_t>(width);
    bool avoided = false;
    for (int k = 0; k < width; ++k) {
      group.slices[static_cast<std::size_t>(k)] = static_cast<std::int16_t>(first + k);
      avoided = avoided || std::find(avoid.begin(), avoid.end(), first + k) != avoid.end();
    }
    if (avoided) continue;
    if (attempt(group)) {
      cursor_ = (first + width) % slices;
      return true;
    }
  }
  return false;
}

Allocation SramAllocator::allocate(int width, std::int32_t rows, int bank,
                                   std::span<const std::int16_t> avoid, RowUse use) {
  TSPEMU_ASSERT(width >= 1 && width <= kMaxGroupWidth && rows >= 1, "allocation size");
  Allocation out;
  auto reuse = [&](Cycle max_floor) {
    return for_each_group(width, avoid, [&](const SliceGroup& group) {
      const auto address = released_rows(group, rows, bank, max_floor);
      if (!address) return false;
      const Cycle floor = take_released(group, *address, rows);
      out = make_block(group, *address, rows, use, true, floor);
      return true;
    });
  };
  // Reusable: released rows free by the time the op can start, then rows never used, then
  // released rows whatever their floor.
  if (use == RowUse::reusable && reuse(horizon_)) return out;
  const bool fresh = for_each_group(width, avoid, [&](const SliceGroup& group) {
    const auto address = fresh_rows(group, rows, bank);
    if (!address) return false;
    out = make_block(group, *address, rows, use, false, kNever);
    return true;
  });
  if (fresh) return out;
  if (use == RowUse::reusable && reuse(std::numeric_limits<Cycle>::max())) return out;
  if (bank != -1) return allocate(width, rows, -1, avoid, use);
  throw ScheduleError(
      fmt::format("SRAM is full on tsp {}: no {} slice(s) have {} free rows left ({} rows of {} "
                  "in use)",
                  tsp_.value, width, rows, rows_in_use_,
                  std::int64_t{config_.mem_slices()} * config_.shape.mem_rows_per_slice),
      ErrorContext{.tsp = tsp_.value});
}

Allocation SramAllocator::allocate_like(const SliceGroup& like, std::int32_t rows, int bank,
                                        RowUse use) {
  if (use == RowUse::reusable) {
    if (const auto address = released_rows(like, rows, bank, horizon_)) {
      const Cycle floor = take_released(like, *address, rows);
      return make_block(like, *address, rows, use, true, floor);
    }
  }
  if (const auto address = fresh_rows(like, rows, bank)) {
    return make_block(like, *address, rows, use, false, kNever);
  }
  return allocate(like.width, rows, bank, {}, use);
}

std::optional<std::int32_t> SramAllocator::fresh_rows(const SliceGroup& group, std::int32_t rows,
                                                      int bank) {
  const std::int32_t bank_rows = config_.shape.rows_per_bank();
  std::int32_t low = 0;
  std::int32_t high = config_.shape.mem_rows_per_slice;
  for (int k = 0; k < group.width; ++k) {
    const auto& s = next_free_[static_cast<std::size_t>(group.slices[static_cast<std::size_t>(k)])];
    low = std::max(low, s[0]);
    high = std::min(high, s[1]);
  }
  std::optional<std::int32_t> address;
  if (bank == 1) {
    if (high - rows >= std::max(low, bank_rows)) address = high - rows;
  } else if (bank == 0) {
    if (low + rows <= std::min(high, bank_rows)) address = low;
  } else if (low + rows <= high) {
    address = low;
  }
  if (!address) return std::nullopt;
  for (int k = 0; k < group.width; ++k) {
    auto& s = next_free_[static_cast<std::size_t>(group.slices[static_cast<std::size_t>(k)])];
    if (bank == 1) {
      s[1] = *address;
    } else {
      s[0] = *address + rows;
    }
  }
  return address;
}

std::optional<std::int32_t> SramAllocator::released_rows(const SliceGroup& group, std::int32_t rows,
                                                         int bank, Cycle max_floor) const {
  const auto [lo, hi] = bank_range(bank);
  // The lowest a >= lo such that, in every slice, adjacent free ranges with floors <= max_floor
  // cover [a, a + rows). A slice that does not moves a past the gap or the late range.
  std::int32_t a = lo;
  while (a + rows <= hi) {
    bool all = true;
    for (int k = 0; k < group.width && all; ++k) {
      const auto& ranges =
          released_[static_cast<std::size_t>(group.slices[static_cast<std::size_t>(k)])];
      auto it = ranges.upper_bound(a);
      if (it == ranges.begin() || std::prev(it)->second.end <= a) {
        all = false;
        if (it == ranges.end()) return std::nullopt;
        a = it->first;
        break;
      }
      --it;
      while (true) {
        if (it->second.floor > max_floor) {
          all = false;
          a = it->second.end;
          break;
        }
        if (it->second.end >= a + rows) break;
        auto next = std::next(it);
        if (next == ranges.end()) return std::nullopt;
        if (next->first != it->second.end) {
          all = false;
          a = next->first;
          break;
        }
        it = next;
      }
    }
    if (all) return a;
  }
  return std::nullopt;
}

Cycle SramAllocator::take_released(const SliceGroup& group, std::int32_t address,
                                   std::int32_t rows) {
  Cycle floor = kNever;
  const std::int32_t end = address + rows;
  for (int k = 0; k < group.width; ++k) {
    auto& ranges = released_[static_cast<std::size_t>(group.slices[static_cast<std::size_t>(k)])];
    auto it = std::prev(ranges.upper_bound(address));
    while (it != ranges.end() && it->first < end) {
      const std::int32_t start = it->first;
      const FreeRange range = it->second;
      floor = std::max(floor, range.floor);
      it = ranges.erase(it);
      if (start < address) ranges.emplace(start, FreeRange{address, range.floor});
      if (end < range.end) ranges.emplace(end, FreeRange{range.end, range.floor});
    }
  }
  return floor;
}

Allocation SramAllocator::make_block(const SliceGroup& group, std::int32_t address,
                                     std::int32_t rows, RowUse use, bool reused, Cycle floor) {
  const auto id = static_cast<std::int32_t>(blocks_.size());
  blocks_.push_back(Block{.group = group,
                          .address = address,
                          .rows = rows,
                          .use = use,
                          .reused = reused,
                          .write_floor = floor});
  for (int k = 0; k < group.width; ++k) {
    owner_[static_cast<std::size_t>(group.slices[static_cast<std::size_t>(k)])].emplace(address,
                                                                                        id);
  }
  rows_in_use_ += std::int64_t{rows} * group.width;
  peak_rows_ = std::max(peak_rows_, rows_in_use_);
  return {group, address, id, reused};
}

std::int32_t SramAllocator::block_at(int slice, std::int32_t address) const {
  const auto& owners = owner_[static_cast<std::size_t>(slice)];
  auto it = owners.upper_bound(address);
  if (it == owners.begin()) return -1;
  --it;
  const Block& b = blocks_[static_cast<std::size_t>(it->second)];
  return address < b.address + b.rows ? it->second : -1;
}

void SramAllocator::touch(std::int32_t block, Cycle cycle) {
  Block& b = blocks_[static_cast<std::size_t>(block)];
  // Every access to a block is placed before the lowering releases it (lower/lifetimes.cpp); one
  // placed later would not move the release floor, and new data could land under it.
  TSPEMU_ASSERT(b.live, "an access placed into a released SRAM block");
  b.last_access = std::max(b.last_access, cycle);
}

Cycle SramAllocator::write_floor(std::int32_t block) const {
  return blocks_[static_cast<std::size_t>(block)].write_floor;
}

bool SramAllocator::pinned(std::int32_t block) const {
  return blocks_[static_cast<std::size_t>(block)].use == RowUse::pinned;
}

bool SramAllocator::reused(std::int32_t block) const {
  return blocks_[static_cast<std::size_t>(block)].reused;
}

bool SramAllocator::live(std::int32_t block) const {
  return blocks_[static_cast<std::size_t>(block)].live;
}

void SramAllocator::release(std::int32_t block) {
  Block& b = blocks_[static_cast<std::size_t>(block)];
  TSPEMU_ASSERT(b.live && b.use != RowUse::pinned, "only a live, unpinned block is released");
  b.live = false;
  // Until its last access the rows still hold this block's data (or, never touched, its
  // predecessor's: the floor it inherited).
  const Cycle floor = std::max(b.last_access, b.write_floor);
  for (int k = 0; k < b.group.width; ++k) {
    const auto slice = static_cast<std::size_t>(b.group.slices[static_cast<std::size_t>(k)]);
    owner_[slice].erase(b.address);
    auto& ranges = released_[slice];
    std::int32_t start = b.address;
    FreeRange range{b.address + b.rows, floor};
    // Merged with free neighbours of the same floor (a merged range takes the later floor, which
    // would hold back writes into the earlier part).
    auto next = ranges.lower_bound(start);
    if (next != ranges.end() && next->first == range.end && next->second.floor == floor) {
      range.end = next->second.end;
      next = ranges.erase(next);
    }
    if (next != ranges.begin() && std::prev(next)->second.end == start &&
        std::prev(next)->second.floor == floor) {
      auto prev = std::prev(next);
      start = prev->first;
      ranges.erase(prev);
    }
    ranges.emplace(start, range);
  }
  rows_in_use_ -= std::int64_t{b.rows} * b.group.width;
}

}  // namespace tspemu::detail
