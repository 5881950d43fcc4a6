#pragma once
// The one place where a chip's local cycles and global (emulated wall) time meet.
//
// Ideal mode (this issue): every chip's cycle is the same global cycle, so both conversions are the
// identity. Drift mode (later) gives each oscillator a seeded ppm offset and keeps global time in
// integer femtoseconds; a send then converts sender-local cycle -> global time -> receiver-local
// cycle here, and nowhere else.

#include "common/ids.hpp"

namespace tspemu {

class TimeBase {
 public:
  TimeBase() = default;

  // Global cycle at which `tsp` reaches local cycle `local`.
  [[nodiscard]] Cycle to_global(TspId /*tsp*/, Cycle local) const { return local; }
  // Local cycle of `tsp` at global cycle `global` (the last local cycle that began at or before
  // it).
  [[nodiscard]] Cycle to_local(TspId /*tsp*/, Cycle global) const { return global; }
  // A vector sent by `from` at its local cycle `send_local` that spends `flight_cycles` on the wire
  // arrives at this local cycle of `to`.
  [[nodiscard]] Cycle arrival_local(TspId from, Cycle send_local, Cycle flight_cycles,
                                    TspId to) const {
    return to_local(to, to_global(from, send_local) + flight_cycles);
  }
  [[nodiscard]] bool ideal() const { return true; }
};

}  // namespace tspemu
