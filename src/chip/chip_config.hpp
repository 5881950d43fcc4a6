#pragma once
// Everything the chip model needs to know about one TSP (DESIGN.md section 4): the ISA-level shape
// (unit counts, streams, SRAM geometry and the floorplan, isa/chip_shape.hpp and isa/queue.hpp),
// the per-opcode timing table (isa/op_table.hpp: defaults plus the topology's [chip.op_timing.*]
// overrides) and the barrier latency. A topology that changes [chip] parameters changes the model
// without code changes; chip_config_from_params() builds a ChipConfig from a topology's [chip].

#include <string>

#include "common/ids.hpp"
#include "isa/chip_shape.hpp"
#include "isa/op_table.hpp"

namespace tspemu {

struct ChipParams;

struct ChipConfig {
  ChipShape shape;
  OpTimingTable timing;
  Cycle barrier_notify_sync_cycles = 35;  // NOTIFY -> release of parked SYNCs (ISCA'20)

  // Throws InputError naming the first inconsistent field.
  void validate() const;

  [[nodiscard]] int positions() const { return shape.position_count(); }
  [[nodiscard]] int mem_slices() const { return 2 * shape.mem_slices_per_hemisphere; }
  // MEM slices numbered W0..W(M-1) = 0..M-1, E0..E(M-1) = M..2M-1 (the digest's order).
  [[nodiscard]] int slice_index(Hemisphere h, int slice) const {
    return (h == Hemisphere::west ? 0 : shape.mem_slices_per_hemisphere) + slice;
  }
  [[nodiscard]] int bank_of(int row) const { return row / shape.rows_per_bank(); }
};

// The [chip] table of a topology as a ChipConfig (shape, timing overrides, barrier latency).
// Throws InputError for parameters the chip model cannot represent and for unknown op_timing
// mnemonics (located at the override's table).
[[nodiscard]] ChipConfig chip_config_from_params(const ChipParams& params);

}  // namespace tspemu
