#pragma once
// Global control: the small state every TSP contributes to an agreement (Transport::agree), done
// after the exchange of the last window of every K-th epoch (docs/design.md section 6), never per
// cycle.
//
// Every field combines with an associative, commutative integer operation (sum, max, min, or), so
// the agreed value is exact and independent of the rank count, the reduction tree and the order of
// the ranks.
//
// Termination (docs/network.md): the run is over at the first agreement where finished() holds:
// every TSP is idle and no vector is in flight. Nothing can happen after that point, so the run's
// final cycle is the agreed last_active_cycle, the last cycle at which any TSP did anything, and
// never the cycle of the window or agreement at which the end was detected. It is therefore the
// same for every K, window length and rank count.

#include <array>
#include <cstdint>
#include <limits>

#include "common/ids.hpp"

namespace tspemu {

// ControlState::flags bits (combined with OR).
enum ControlFlag : std::uint64_t {
  kStopRequested = 1U << 0,        // e.g. a user interrupt or a cycle limit: stop at this agreement
  kErrorRaised = 1U << 1,          // a non-fatal error every rank must act on
  kReplayRequested = 1U << 2,      // an uncorrectable link error: replay from the last checkpoint
  kCheckpointRequested = 1U << 3,  // write a checkpoint at this agreement
};

struct ControlState {
  static constexpr Cycle kNever = std::numeric_limits<Cycle>::max();

  // SUM: TSPs whose state went into this value. After agree() it equals the network's TSP count;
  // anything else means a rank contributed the wrong number of TSPs.
  std::int64_t tsps = 0;
  // SUM: TSPs that are not idle. Idle = no instruction left to issue and no issued instruction
  // still to complete (a pending RECEIVE is not idle).
  std::int64_t active_tsps = 0;
  // SUM: vectors put on links since the start of the run.
  std::int64_t vectors_sent = 0;
  // SUM: vectors the transport has handed to receivers since the start of the run. Right after an
  // exchange every vector sent so far has been handed over, so sent == received at agreements.
  std::int64_t vectors_received = 0;
  // SUM: vectors handed over but not yet consumed by a RECEIVE (still in an ArrivalQueue or a C2C
  // buffer).
  std::int64_t vectors_pending = 0;
  // MAX: the last cycle at which the TSP did anything (issued or completed an instruction, sent a
  // vector, or had a vector arrive); -1 if never.
  Cycle last_active_cycle = -1;
  // MIN: the earliest cycle after the current window at which the TSP has something to do (next
  // issue, next completion, next arrival); kNever if nothing. Lets the runtime skip idle windows.
  Cycle next_event_cycle = kNever;
  // OR: ControlFlag bits.
  std::uint64_t flags = 0;

  // The combination of two states (commutative and associative).
  [[nodiscard]] ControlState combined(const ControlState& other) const;

  // Vectors sent but not yet consumed.
  [[nodiscard]] std::int64_t vectors_in_flight() const {
    return (vectors_sent - vectors_received) + vectors_pending;
  }
  // Every TSP idle and nothing in flight: the run is over (see the file comment).
  [[nodiscard]] bool finished() const { return active_tsps == 0 && vectors_in_flight() == 0; }
  // Every TSP idle but vectors wait that no RECEIVE will ever consume: a schedule error the
  // runtime reports (the run can never finish).
  [[nodiscard]] bool stuck() const { return active_tsps == 0 && vectors_in_flight() != 0; }
  [[nodiscard]] bool has(ControlFlag flag) const { return (flags & flag) != 0; }

  // Fixed-size integer form for messages (order of the fields above).
  static constexpr std::size_t kFields = 8;
  [[nodiscard]] std::array<std::int64_t, kFields> to_array() const;
  [[nodiscard]] static ControlState from_array(const std::array<std::int64_t, kFields>& fields);

  friend bool operator==(const ControlState&, const ControlState&) = default;
};

}  // namespace tspemu
