#include "net/control.hpp"

#include <algorithm>

namespace tspemu {

ControlState ControlState::combined(const ControlState& o) const {
  return ControlState{
      .tsps = tsps + o.tsps,
      .active_tsps = active_tsps + o.active_tsps,
      .vectors_sent = vectors_sent + o.vectors_sent,
      .vectors_received = vectors_received + o.vectors_received,
      .vectors_pending = vectors_pending + o.vectors_pending,
      .last_active_cycle = std::max(last_active_cycle, o.last_active_cycle),
      .next_event_cycle = std::min(next_event_cycle, o.next_event_cycle),
      .flags = flags | o.flags,
  };
}

std::array<std::int64_t, ControlState::kFields> ControlState::to_array() const {
  return {tsps,
          active_tsps,
          vectors_sent,
          vectors_received,
          vectors_pending,
          last_active_cycle,
          next_event_cycle,
          static_cast<std::int64_t>(flags)};
}

ControlState ControlState::from_array(const std::array<std::int64_t, kFields>& f) {
  return ControlState{.tsps = f[0],
                      .active_tsps = f[1],
                      .vectors_sent = f[2],
                      .vectors_received = f[3],
                      .vectors_pending = f[4],
                      .last_active_cycle = f[5],
                      .next_event_cycle = f[6],
                      .flags = static_cast<std::uint64_t>(f[7])};
}

}  // namespace tspemu
