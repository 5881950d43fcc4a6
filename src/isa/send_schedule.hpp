#pragma once
// The send schedule: the contract between compiler and network (docs/design.md section 5). One row
// per vector crossing a link. Empty for a single-TSP program; the compiler fills it and the runtime
// checks it (link serialisation spacing, receive at or after arrival plus worst-case jitter).

#include <cstdint>
#include <vector>

#include "common/ids.hpp"

namespace tspemu {

struct SendRow {
  TspId src_tsp{0};
  PortId src_port{0};
  Cycle send_cycle = 0;  // issue cycle of the SEND on the source TSP's C2C<src_port> queue
  TspId dst_tsp{0};
  PortId dst_port{0};
  Cycle arrival_cycle = 0;  // nominal arrival at the destination port (destination's clock)
  Cycle receive_cycle = 0;  // issue cycle of the RECEIVE that consumes the vector
  // Index of that RECEIVE in the destination TSP's C2C<dst_port> queue
  // (QueueProgram::instructions).
  std::int64_t receive_instruction = 0;

  friend bool operator==(const SendRow&, const SendRow&) = default;
  template <class Archive>
  void serialize(Archive& archive) {
    archive(src_tsp, src_port, send_cycle, dst_tsp, dst_port, arrival_cycle, receive_cycle,
            receive_instruction);
  }
};

using SendSchedule = std::vector<SendRow>;

}  // namespace tspemu
