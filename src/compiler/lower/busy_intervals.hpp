#pragma once
// The cycles a resource is taken (lower/tsp_schedule.hpp): "is [from, to) free?" and "when is it
// next free?" for the list scheduler, which asks them for every op of every chain it tries (tens
// of times per chain placed). Issue 12 made the search jump over busy runs instead of trying every
// cycle; this class makes each question cheap.
//
// Representation: one bit per cycle in pages of 4,096 cycles, allocated when a cycle in them is
// first taken (a page that was never touched reads as free). Both questions are a few word
// operations near `from`: the earlier map of busy runs answered them with a walk down a tree whose
// cache misses were half of a large model's compile time (BERT-Large's layer), and walking the
// runs one by one was no better where a search skips across many of them. The set of taken cycles
// is the same as before, so every answer, and every schedule, is too. Memory: 512 bytes per page
// touched, against 48 bytes per separate busy run before (a queue busy every few cycles has
// hundreds of runs per page). Cycles are >= 0; a question about cycles before 0 finds them free.

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>
#include <memory>
#include <vector>

#include "common/error.hpp"
#include "common/ids.hpp"

namespace tspemu::detail {

class BusyIntervals {
 public:
  // True if no taken cycle lies in [from, to).
  [[nodiscard]] bool free(Cycle from, Cycle to) const { return first_taken(from, to) >= to; }

  // The smallest c >= from with [c, c + length) free.
  [[nodiscard]] Cycle next_free(Cycle from, Cycle length) const {
    Cycle c = from;
    for (;;) {
      c = first_free(c);
      const Cycle taken = first_taken(c, c + length);
      if (taken >= c + length) return c;
      c = taken + 1;
    }
  }

  // Takes [from, to); the cycles must be free (a second reservation of a taken cycle is a
  // scheduler bug: see cover()).
  void reserve(Cycle from, Cycle to) {
    TSPEMU_ASSERT(free(from, to), "BusyIntervals::reserve of cycles already taken");
    cover(from, to);
  }
  // Takes [from, to) whether or not some of it is taken already: the union. For resources several
  // users may mark in the same cycle (two ALU results landing in a cycle in which nothing reads the
  // register).
  void cover(Cycle from, Cycle to) {
    TSPEMU_ASSERT(from >= 0, "BusyIntervals: a cycle before 0");
    for (Cycle c = from; c < to;) {
      const auto p = static_cast<std::size_t>(c / kPageCycles);
      if (p >= pages_.size()) pages_.resize(p + 1);
      if (!pages_[p]) pages_[p] = std::make_unique<Page>();
      const auto w = static_cast<std::size_t>((c % kPageCycles) / 64);
      const auto bit = static_cast<unsigned>(c % 64);
      const Cycle n = std::min<Cycle>(to - c, 64 - bit);  // bits of this word
      const std::uint64_t mask = (n == 64 ? ~std::uint64_t{0} : ((std::uint64_t{1} << n) - 1))
                                 << bit;
      (*pages_[p])[w] |= mask;
      c += n;
    }
  }

  // The number of separate busy runs (maximal sets of consecutive taken cycles).
  [[nodiscard]] std::size_t runs() const {
    std::size_t n = 0;
    bool previous = false;
    for (const auto& page : pages_) {
      for (std::size_t w = 0; w < kPageWords; ++w) {
        const std::uint64_t word = page ? (*page)[w] : 0;
        // A run starts at each taken bit whose predecessor is free.
        const std::uint64_t starts = word & ~((word << 1) | (previous ? 1U : 0U));
        n += static_cast<std::size_t>(std::popcount(starts));
        previous = (word >> 63) != 0;
      }
    }
    return n;
  }

 private:
  static constexpr Cycle kPageCycles = 4096;
  static constexpr std::size_t kPageWords = kPageCycles / 64;
  using Page = std::array<std::uint64_t, kPageWords>;

  // The first taken cycle in [from, limit), or limit.
  [[nodiscard]] Cycle first_taken(Cycle from, Cycle limit) const {
    Cycle c = std::max<Cycle>(from, 0);
    while (c < limit) {
      const auto p = static_cast<std::size_t>(c / kPageCycles);
      if (p >= pages_.size()) return limit;
      if (!pages_[p]) {
        c = static_cast<Cycle>(p + 1) * kPageCycles;
        continue;
      }
      const Page& page = *pages_[p];
      for (auto w = static_cast<std::size_t>((c % kPageCycles) / 64); w < kPageWords && c < limit;
           ++w) {
        const std::uint64_t word = page[w] & (~std::uint64_t{0} << (c % 64));
        if (word != 0) {
          return std::min(limit, c - c % 64 + std::countr_zero(word));
        }
        c = c - c % 64 + 64;
      }
    }
    return limit;
  }

  // The first free cycle >= from.
  [[nodiscard]] Cycle first_free(Cycle from) const {
    if (from < 0) return from;
    Cycle c = from;
    for (;;) {
      const auto p = static_cast<std::size_t>(c / kPageCycles);
      if (p >= pages_.size() || !pages_[p]) return c;
      const Page& page = *pages_[p];
      for (auto w = static_cast<std::size_t>((c % kPageCycles) / 64); w < kPageWords; ++w) {
        const std::uint64_t word = ~page[w] & (~std::uint64_t{0} << (c % 64));
        if (word != 0) return c - c % 64 + std::countr_zero(word);
        c = c - c % 64 + 64;
      }
    }
  }

  std::vector<std::unique_ptr<Page>> pages_;
};

}  // namespace tspemu::detail
