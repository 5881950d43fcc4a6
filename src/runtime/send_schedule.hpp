#pragma once
// The send schedule (docs/design.md section 5): one row per vector crossing a link, the contract
// between whoever wrote the program (the compiler, or a person writing assembly) and the network.
//
// derive_send_schedule() builds it for an assembly program on a topology: every SEND (REPEATs
// expanded) on a C2C port with a link becomes a row with its issue cycle, the far end of the link,
// the nominal arrival (send + latency_cycles), and the RECEIVE that will take it: the k-th vector
// sent into a port is taken by the k-th RECEIVE of that port's queue (-1 if there is none: the run
// then ends with the "never received" error). A program whose SENDs or RECEIVEs issue after a SYNC
// or DESKEW has no static schedule; derivation returns an empty one and runs are unchecked.
//
// SendScheduleIndex is what the runtime checks traffic with: every vector a TSP puts on a link must
// be the row the schedule announced (same send cycle, same destination). Arrivals are checked at
// the receiving RECEIVE by the engine ("late arrival", with both TSPs, the link and the cycles).

#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "isa/program.hpp"
#include "isa/send_schedule.hpp"
#include "topo/topology.hpp"

namespace tspemu {

[[nodiscard]] SendSchedule derive_send_schedule(const Program& program, const Topology& topology);

class SendScheduleIndex {
 public:
  explicit SendScheduleIndex(const SendSchedule& schedule);
  [[nodiscard]] bool empty() const { return ports_.empty(); }
  // The row of the k-th vector (0-based) sent from (tsp, port), or nullptr.
  [[nodiscard]] const SendRow* find(TspId tsp, PortId port, std::int64_t k) const;
  // How many rows the schedule has for (tsp, port).
  [[nodiscard]] std::int64_t rows_for(TspId tsp, PortId port) const;

 private:
  // Per (tsp, port), its rows in send order: the k-th vector's row is element k (one lookup of the
  // port per SEND, then an index).
  std::map<std::pair<std::int32_t, std::int32_t>, std::vector<const SendRow*>> ports_;
};

}  // namespace tspemu
