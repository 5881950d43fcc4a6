#pragma once
// The cycles a resource is taken, as disjoint half-open intervals [from, to), adjacent ones
// merged (lower/tsp_schedule.hpp). Memory grows with the number of separate busy runs, not with
// the length of the program, and "when is it next free?" is one lookup: the list scheduler jumps
// over busy runs instead of trying every cycle (issue 12: compile time linear in the work).

#include <cstdint>
#include <iterator>
#include <map>

#include "common/error.hpp"
#include "common/ids.hpp"

namespace tspemu::detail {

class BusyIntervals {
 public:
  // True if no taken cycle lies in [from, to).
  [[nodiscard]] bool free(Cycle from, Cycle to) const {
    auto it = runs_.upper_bound(from);  // first run starting after `from`
    if (it != runs_.begin() && std::prev(it)->second > from) return false;
    return it == runs_.end() || it->first >= to;
  }
  // The smallest c >= from with [c, c + length) free.
  [[nodiscard]] Cycle next_free(Cycle from, Cycle length) const {
    Cycle c = from;
    auto it = runs_.upper_bound(c);
    if (it != runs_.begin() && std::prev(it)->second > c) c = std::prev(it)->second;
    while (it != runs_.end() && it->first < c + length) {
      c = std::max(c, it->second);
      ++it;
    }
    return c;
  }
  // Takes [from, to); the cycles must be free (an overlap would leave overlapping runs, which
  // free() and next_free() do not expect: see cover()).
  void reserve(Cycle from, Cycle to) {
    TSPEMU_ASSERT(free(from, to), "BusyIntervals::reserve of cycles already taken");
    auto next = runs_.lower_bound(from);
    if (next != runs_.begin() && std::prev(next)->second == from) {
      auto prev = std::prev(next);
      prev->second = to;
      if (next != runs_.end() && next->first == to) {
        prev->second = next->second;
        runs_.erase(next);
      }
      return;
    }
    if (next != runs_.end() && next->first == to) {
      const Cycle end = next->second;
      runs_.erase(next);
      runs_.emplace(from, end);
      return;
    }
    runs_.emplace(from, to);
  }
  // Takes [from, to) whether or not some of it is taken already: the union of the runs. For
  // resources several users may mark in the same cycle (two ALU results landing in a cycle in
  // which nothing reads the register).
  void cover(Cycle from, Cycle to) {
    auto it = runs_.upper_bound(from);
    if (it != runs_.begin() && std::prev(it)->second >= from) {
      --it;
      from = it->first;
    }
    while (it != runs_.end() && it->first <= to) {
      to = std::max(to, it->second);
      it = runs_.erase(it);
    }
    runs_.emplace(from, to);
  }
  [[nodiscard]] std::size_t runs() const { return runs_.size(); }

 private:
  std::map<Cycle, Cycle> runs_;  // start -> end
};

}  // namespace tspemu::detail
