#pragma once
// Instruction queues: names, the list of queues of a chip, and where each queue's slice sits on the
// east-west axis (programs/ISA.md, "Queues" and "Floorplan").
//
// Names: MEM_W0..MEM_W43, MEM_E0..MEM_E43 (one queue per MEM slice), VXM0..VXM15 (one per ALU),
// SXM_W0..SXM_W13, SXM_E0..SXM_E13, MXM0.W / MXM0.A / MXM0.C .. MXM3.C (weights, activations,
// accumulate of each plane), C2C0..C2C15 (one per port). Canonical QueueIds: hemisphere is
// meaningful for MEM and SXM only; VXM, MXM and C2C queues always carry Hemisphere::west (their
// side follows from the index: mxm_hemisphere(), c2c_hemisphere()).
//
// Floorplan (positions W->E, M = mem_slices_per_hemisphere):
//   MXM_W = 0, SXM_W = 1, MEM_Wi = 1 + (M - i), VXM = M + 2, MEM_Ei = M + 3 + i, SXM_E = 2M + 3,
//   MXM_E = 2M + 4; C2C ports 0..ports/2-1 at position 0, the others at 2M + 4.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "isa/chip_shape.hpp"
#include "isa/opcode.hpp"

namespace tspemu {

[[nodiscard]] constexpr QueueId mem_queue(Hemisphere hemisphere, int slice) {
  return QueueId{QueueKind::mem, hemisphere, static_cast<std::int16_t>(slice)};
}
[[nodiscard]] constexpr QueueId vxm_queue(int alu) {
  return QueueId{QueueKind::vxm, Hemisphere::west, static_cast<std::int16_t>(alu)};
}
// The VXM's ALUs are a 4 x 4 mesh per lane (ALU = 4 x row + rank) of 8 "large" and 8 "small" ALUs
// in a checkerboard: large are 0, 2, 5, 7, 8, 10, 13, 15 (GroqAPI's VXM topology figure). A VXM
// of another size (a "what if" chip) continues the checkerboard row by row.
[[nodiscard]] constexpr bool is_large_alu(int alu) {
  return (alu / 4 + alu % 4) % 2 == 0;
}
[[nodiscard]] constexpr QueueId sxm_queue(Hemisphere hemisphere, int unit) {
  return QueueId{QueueKind::sxm, hemisphere, static_cast<std::int16_t>(unit)};
}
// kind: mxm_weights, mxm_activations or mxm_accumulate.
[[nodiscard]] constexpr QueueId mxm_queue(QueueKind kind, int plane) {
  return QueueId{kind, Hemisphere::west, static_cast<std::int16_t>(plane)};
}
[[nodiscard]] constexpr QueueId c2c_queue(int port) {
  return QueueId{QueueKind::c2c, Hemisphere::west, static_cast<std::int16_t>(port)};
}

[[nodiscard]] constexpr bool is_mxm(QueueKind kind) {
  return kind == QueueKind::mxm_weights || kind == QueueKind::mxm_activations ||
         kind == QueueKind::mxm_accumulate;
}

// "MEM_W12", "VXM3", "SXM_E0", "MXM2.W", "C2C5". Any QueueId prints, in range or not.
[[nodiscard]] std::string queue_name(QueueId queue);

// The inverse of queue_name for the canonical spelling (upper case, no leading zeros). Checks the
// syntax only; queue_exists() checks the index against a chip.
[[nodiscard]] std::optional<QueueId> parse_queue_name(std::string_view name);

// True if the queue is canonical and its index is in range for the chip.
[[nodiscard]] bool queue_exists(QueueId queue, const ChipShape& shape);

// "MEM_W0..MEM_W43": the valid names of queues of the same kind (and hemisphere) as `queue`.
[[nodiscard]] std::string queue_range_text(QueueId queue, const ChipShape& shape);

// Plural description of a queue kind for messages: "MEM queues", "MXM weight queues (MXMp.W)".
[[nodiscard]] std::string queue_kind_description(QueueKind kind);

// Every queue of the chip, sorted by QueueId (144 + 16 C2C = 160 by default).
[[nodiscard]] std::vector<QueueId> all_queues(const ChipShape& shape);

[[nodiscard]] Hemisphere mxm_hemisphere(int plane, const ChipShape& shape);
[[nodiscard]] Hemisphere c2c_hemisphere(int port, const ChipShape& shape);

// Position of a queue's slice on the east-west axis (0 .. shape.position_count()-1).
[[nodiscard]] int queue_position(QueueId queue, const ChipShape& shape);
// The unit at a position, for messages: "MXM_W", "SXM_W", "MEM_W43", "VXM", "MEM_E0", "SXM_E",
// "MXM_E".
[[nodiscard]] std::string position_name(int position, const ChipShape& shape);

}  // namespace tspemu
