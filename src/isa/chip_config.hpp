#pragma once
// Everything the chip model, the assembler's checks and the compiler need to know about one TSP
// (docs/design.md section 4): the ISA-level shape (unit counts, streams, SRAM geometry and the
// floorplan, isa/chip_shape.hpp and isa/queue.hpp), the per-opcode timing table (isa/op_table.hpp:
// defaults plus the topology's [chip.op_timing.*] overrides) and the barrier latency. A topology
// that changes [chip] parameters changes the model without code changes: topo/chip_config.hpp
// builds a ChipConfig from a topology's [chip] table. It lives in the ISA layer so that the
// compiler, which needs only this of the chip, does not depend on the chip model (or on Kokkos).

#include <string>

#include "common/ids.hpp"
#include "isa/chip_shape.hpp"
#include "isa/op_table.hpp"

namespace tspemu {

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

}  // namespace tspemu
